import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../local/clock/clock.ts';
import { InstantGate } from '../../../local/clock/instant-gate.ts';
import { PartnerSandbox } from '../../../local/partners/sandbox.ts';
import { seedSandbox } from '../../../local/partners/seed.ts';

const START = new Date('2026-11-23T21:00:00Z');

/** An instant whose other work the test switches on and off. */
function instant() {
  const state = { busy: false, activity: 0 };
  return { state, activity: { busy: () => state.busy, activity: () => state.activity } };
}

const realMs = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('InstantGate', () => {
  it('decides nothing while the instant is busy, then the whole batch in key order', async () => {
    const clock = new VirtualClock(START);
    const { state, activity } = instant();
    const gate = new InstantGate(clock, activity);
    const decided: string[] = [];
    state.busy = true;
    const answers = ['order-c', 'order-a', 'order-b'].map((key) =>
      gate.hold(key, () => {
        decided.push(key);
        return key.toUpperCase();
      }),
    );
    await realMs(20);
    expect(decided).toEqual([]);
    expect(clock.held).toBe(3);

    state.busy = false;
    expect(await Promise.all(answers)).toEqual(['ORDER-C', 'ORDER-A', 'ORDER-B']);
    expect(decided).toEqual(['order-a', 'order-b', 'order-c']);
    expect(clock.held).toBe(0);
    expect([gate.batches, gate.decided, gate.forced]).toEqual([1, 3, 0]);
  });

  it('waits while anything still happens, and while paused', async () => {
    const clock = new VirtualClock(START);
    const { state, activity } = instant();
    const gate = new InstantGate(clock, activity);
    gate.paused = true;
    let done = false;
    void gate.hold('k', () => {
      done = true;
    });
    await realMs(15);
    expect(done).toBe(false);
    gate.paused = false;
    // Something happens on every turn of the event loop: never quiet.
    let ticking = true;
    const tick = () => {
      state.activity += 1;
      if (ticking) setImmediate(tick);
    };
    tick();
    await realMs(15);
    expect(done).toBe(false);
    ticking = false;
    await realMs(15);
    expect(done).toBe(true);
  });

  it('rejects the held request whose decision throws, and decides the rest', async () => {
    const clock = new VirtualClock(START);
    const gate = new InstantGate(clock, instant().activity);
    const failing = gate.hold('a', () => {
      throw new Error('refused');
    });
    const fine = gate.hold('b', () => 'ok');
    await expect(failing).rejects.toThrow('refused');
    expect(await fine).toBe('ok');
    expect(clock.held).toBe(0);
  });

  it('is not forced while paused (a step still putting work in), and counts its limit from the unpause', async () => {
    const clock = new VirtualClock(START);
    const { state, activity } = instant();
    const gate = new InstantGate(clock, activity, { limitMs: 20, ceilingMs: 10_000 });
    gate.paused = true;
    state.busy = true;
    let done = false;
    const answer = gate.hold('k', () => {
      done = true;
      return 'decided';
    });
    await realMs(60);
    expect(done).toBe(false);
    gate.paused = false;
    state.busy = false;
    expect(await answer).toBe('decided');
    expect([gate.batches, gate.forced]).toEqual([1, 0]);
  });

  it('still decides by its ceiling if a pause never ends', async () => {
    const clock = new VirtualClock(START);
    const gate = new InstantGate(clock, instant().activity, { limitMs: 1_000, ceilingMs: 20 });
    gate.paused = true;
    expect(await gate.hold('k', () => 'late')).toBe('late');
    expect(gate.forced).toBe(1);
  });

  it('waits past its stall limit while the work of the instant goes on, and decides in order once it ends', async () => {
    const clock = new VirtualClock(START);
    const { state, activity } = instant();
    const gate = new InstantGate(clock, activity, { limitMs: 20, ceilingMs: 10_000 });
    state.busy = true;
    // A long instant that keeps moving (a cut-off's shipments worked through): new activity every 5 ms.
    const working = setInterval(() => {
      state.activity += 1;
    }, 5);
    const decided: string[] = [];
    const answers = ['b', 'a'].map((key) => gate.hold(key, () => decided.push(key)));
    await realMs(100);
    expect(decided).toEqual([]);
    clearInterval(working);
    state.busy = false;
    await Promise.all(answers);
    expect(decided).toEqual(['a', 'b']);
    expect([gate.batches, gate.forced]).toEqual([1, 0]);
  });

  it('decides by its ceiling an instant that never stops moving, and counts it', async () => {
    const clock = new VirtualClock(START);
    const { state, activity } = instant();
    const gate = new InstantGate(clock, activity, { limitMs: 1_000, ceilingMs: 30 });
    state.busy = true;
    const working = setInterval(() => {
      state.activity += 1;
    }, 5);
    try {
      expect(await gate.hold('k', () => 'late')).toBe('late');
      expect(gate.forced).toBe(1);
    } finally {
      clearInterval(working);
    }
  });

  it('decides a batch by its stall limit if the instant stays busy with nothing new, and counts it', async () => {
    const clock = new VirtualClock(START);
    const { state, activity } = instant();
    state.busy = true;
    const gate = new InstantGate(clock, activity, { limitMs: 20 });
    expect(await gate.hold('k', () => 'late')).toBe('late');
    expect(gate.forced).toBe(1);
  });

  it('holds time still: a settle that waits for held work does not let the clock move past the batch', async () => {
    const clock = new VirtualClock(START);
    const { state, activity } = instant();
    state.busy = true;
    const gate = new InstantGate(clock, activity);
    clock.settle = async () => {
      while (clock.held > 0) await realMs(1);
    };
    let decidedAt: Date | undefined;
    const held = gate.hold('k', () => {
      decidedAt = clock.now();
    });
    const advanced = clock.advance(60_000);
    await realMs(10);
    state.busy = false;
    await Promise.all([held, advanced]);
    expect(decidedAt).toEqual(START);
    expect(clock.now().getTime()).toBe(START.getTime() + 60_000);
  });
});

describe('VirtualClock.sleepInFlight', () => {
  it('counts the sleeper as asleep until its time comes', async () => {
    const clock = new VirtualClock(START);
    const sleeping = clock.sleepInFlight(5000);
    expect(clock.asleep).toBe(1);
    await clock.advance(5000);
    await sleeping;
    expect(clock.asleep).toBe(0);
  });
});

describe('the sandbox behind a gate', () => {
  const clock = new VirtualClock(START);
  const { state, activity } = instant();
  let release: (() => void) | undefined;
  const sandbox = new PartnerSandbox({
    clock,
    seed: 3,
    // The latency knob's wait, released by the test.
    sleep: () =>
      new Promise<void>((resolve) => {
        release = resolve;
      }),
  });
  const gate = new InstantGate(clock, activity);

  beforeAll(() => sandbox.start());
  afterAll(() => sandbox.stop());
  beforeEach(() => {
    sandbox.reset();
    seedSandbox(sandbox);
    sandbox.gate = undefined;
    state.busy = false;
  });

  const reserve = (orderReference: string, quantity: number) =>
    fetch(`${sandbox.baseUrl}/wms/reservations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': `${orderReference}:allocation` },
      body: JSON.stringify({
        orderReference,
        facilityCode: 'DC-EAST',
        lines: [{ lineNumber: 1, itemCode: 'PUMP-220', quantity }],
      }),
    }).then((res) => res.status);

  it('gives the last units of one instant to the same order whichever request arrived first', async () => {
    // DC-EAST has 32 PUMP-220 free: two orders of 20 cannot both have them.
    sandbox.gate = gate;
    state.busy = true;
    const late = reserve('ERP-SO-B', 20);
    await realMs(10);
    const early = reserve('ERP-SO-A', 20);
    await realMs(10);
    expect(sandbox.wms.reservations).toHaveLength(0);
    state.busy = false;

    expect(await Promise.all([early, late])).toEqual([201, 409]);
    expect(sandbox.wms.reservations.map((r) => r.orderReference)).toEqual(['ERP-SO-A']);
  });

  it('without a gate decides in arrival order', async () => {
    expect(await reserve('ERP-SO-B', 20)).toBe(201);
    expect(await reserve('ERP-SO-A', 20)).toBe(409);
  });

  it('does a slowed request’s work as it arrives and holds back only the answer', async () => {
    sandbox.faults.set('wms', { latencyMs: 5000 });
    const answer = reserve('ERP-SO-A', 20);
    while (!release) await realMs(1);
    // The caller is still waiting, and the stock is already committed at the instant it asked.
    expect(sandbox.wms.reservations.map((r) => [r.orderReference, r.createdAt])).toEqual([
      ['ERP-SO-A', START.toISOString()],
    ]);
    release();
    expect(await answer).toBe(201);
  });
});
