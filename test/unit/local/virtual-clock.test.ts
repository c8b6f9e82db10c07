import { describe, expect, it } from 'vitest';
import { realClock, VirtualClock } from '../../../local/clock/clock.ts';

const START = new Date('2030-06-01T12:00:00.000Z');
const T0 = START.getTime();

/** Lets every promise continuation queued so far run, however many microtask turns it takes. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

describe('VirtualClock: time', async () => {
  it('starts at the given time and stands still until advanced', async () => {
    const clock = new VirtualClock(START);
    expect(clock.now()).toEqual(START);
    void clock.sleep(1000);
    await settle();
    expect(clock.now()).toEqual(START);
    await clock.advance(250);
    expect(clock.now().getTime()).toBe(T0 + 250);
  });

  it('returns a fresh Date each time, so callers cannot move the clock', async () => {
    const clock = new VirtualClock(START);
    clock.now().setTime(0);
    expect(clock.now()).toEqual(START);
  });

  it('never moves backwards', async () => {
    const clock = new VirtualClock(START);
    await clock.advance(1000);
    await clock.advanceTo(T0);
    expect(clock.now().getTime()).toBe(T0 + 1000);
    await clock.advance(-500);
    expect(clock.now().getTime()).toBe(T0 + 1000);
  });
});

describe('VirtualClock: sleep and advance', async () => {
  it('wakes a sleeper only once its time has come', async () => {
    const clock = new VirtualClock(START);
    let woke = false;
    void clock.sleep(1000).then(() => {
      woke = true;
    });
    await clock.advance(999);
    await settle();
    expect(woke).toBe(false);
    await clock.advance(1);
    await settle();
    expect(woke).toBe(true);
  });

  it('wakes sleepers in time order, whatever order they slept in, and same-time ones in sleep order', async () => {
    const clock = new VirtualClock(START);
    const woke: string[] = [];
    for (const [name, ms] of [
      ['c', 300],
      ['a', 100],
      ['b1', 200],
      ['d', 5000],
      ['b2', 200],
    ] as const) {
      void clock.sleep(ms).then(() => woke.push(name));
    }
    await clock.advance(300);
    await settle();
    expect(woke).toEqual(['a', 'b1', 'b2', 'c']);
    expect(clock.nextWakeUp()).toBe(T0 + 5000);
  });

  it('measures a sleep from the time it started', async () => {
    const clock = new VirtualClock(START);
    await clock.advance(1000);
    let woke = false;
    void clock.sleep(500).then(() => {
      woke = true;
    });
    expect(clock.nextWakeUp()).toBe(T0 + 1500);
    await clock.advanceTo(T0 + 1499);
    await settle();
    expect(woke).toBe(false);
    await clock.advanceTo(T0 + 1500);
    await settle();
    expect(woke).toBe(true);
  });

  it('treats a zero or negative sleep as due now', async () => {
    const clock = new VirtualClock(START);
    let woke = 0;
    void clock.sleep(0).then(() => woke++);
    void clock.sleep(-50).then(() => woke++);
    expect(clock.nextWakeUp()).toBe(T0);
    await clock.advance(0);
    await settle();
    expect(woke).toBe(2);
    expect(clock.now()).toEqual(START);
  });

  it('advanceTo jumps to the target time once the due sleepers are woken', async () => {
    const clock = new VirtualClock(START);
    const sleeps = [clock.sleep(10), clock.sleep(20)];
    await clock.advanceTo(T0 + 60_000);
    await Promise.all(sleeps);
    expect(clock.now().getTime()).toBe(T0 + 60_000);
    expect(clock.nextWakeUp()).toBeUndefined();
  });

  // The contract the brief and the class comment give: advanceTo wakes sleepers in order and sets now() to
  // each sleeper's time. Sleepers are resolved synchronously but run their continuations only after
  // advanceTo has returned, when now() is already the target time, so none of them sees its own time.
  it('lets each woken sleeper see now() at its own wake-up time', async () => {
    const clock = new VirtualClock(START);
    const seen: [string, number][] = [];
    for (const [name, ms] of [
      ['late', 300],
      ['early', 100],
      ['middle', 200],
    ] as const) {
      void clock.sleep(ms).then(() => seen.push([name, clock.now().getTime() - T0]));
    }
    await clock.advanceTo(T0 + 1000);
    await settle();
    expect(seen).toEqual([
      ['early', 100],
      ['middle', 200],
      ['late', 300],
    ]);
  });

  // Same root cause, as a schedule sees it: a loop sleeping 100 ms at a time (a rate() rule, a poller, a
  // retry backoff) runs once per advance(), however far the clock is advanced.
  it('runs every wake-up of a repeating sleeper that falls within one advance', async () => {
    const clock = new VirtualClock(START);
    const ticks: number[] = [];
    const stop = new AbortController();
    void (async () => {
      while (!stop.signal.aborted) {
        await clock.sleep(100, stop.signal).catch(() => undefined);
        if (!stop.signal.aborted) ticks.push(clock.now().getTime() - T0);
      }
    })();
    await clock.advance(300);
    await settle();
    stop.abort();
    expect(ticks).toEqual([100, 200, 300]);
  });
});

describe('VirtualClock: abort', async () => {
  it('rejects at once, without sleeping, when the signal is already aborted', async () => {
    const clock = new VirtualClock(START);
    const reason = new Error('stopped');
    await expect(clock.sleep(100, AbortSignal.abort(reason))).rejects.toBe(reason);
    expect(clock.nextWakeUp()).toBeUndefined();
  });

  it('rejects a sleeper with the abort reason and removes it from the wake-ups', async () => {
    const clock = new VirtualClock(START);
    const controller = new AbortController();
    const woke: string[] = [];
    const aborted = clock.sleep(100, controller.signal).then(
      () => woke.push('aborted one woke'),
      (reason: unknown) => reason,
    );
    void clock.sleep(200).then(() => woke.push('other'));
    expect(clock.nextWakeUp()).toBe(T0 + 100);
    const reason = new Error('shutdown');
    controller.abort(reason);
    expect(await aborted).toBe(reason);
    expect(clock.nextWakeUp()).toBe(T0 + 200);
    await clock.advance(1000);
    await settle();
    expect(woke).toEqual(['other']);
  });

  it('ignores an abort after the sleeper has woken', async () => {
    const clock = new VirtualClock(START);
    const controller = new AbortController();
    const sleeping = clock.sleep(100, controller.signal);
    await clock.advance(100);
    await expect(sleeping).resolves.toBeUndefined();
    controller.abort();
    expect(clock.nextWakeUp()).toBeUndefined();
  });
});

describe('VirtualClock: nextWakeUp', async () => {
  it('is undefined with no sleepers, then the earliest pending wake-up as sleepers come and go', async () => {
    const clock = new VirtualClock(START);
    expect(clock.nextWakeUp()).toBeUndefined();
    void clock.sleep(500);
    expect(clock.nextWakeUp()).toBe(T0 + 500);
    void clock.sleep(50);
    expect(clock.nextWakeUp()).toBe(T0 + 50);
    await clock.advance(50);
    expect(clock.nextWakeUp()).toBe(T0 + 500);
    await clock.advanceTo(clock.nextWakeUp() ?? 0);
    expect(clock.nextWakeUp()).toBeUndefined();
    expect(clock.now().getTime()).toBe(T0 + 500);
  });
});

describe('realClock', async () => {
  it('tells the real time and rejects an aborted sleep with the reason', async () => {
    const before = Date.now();
    const now = realClock.now().getTime();
    expect(now).toBeGreaterThanOrEqual(before);
    expect(now).toBeLessThanOrEqual(Date.now());
    const controller = new AbortController();
    const sleeping = realClock.sleep(60_000, controller.signal);
    const reason = new Error('stop');
    controller.abort(reason);
    await expect(sleeping).rejects.toBe(reason);
    await expect(realClock.sleep(10, AbortSignal.abort(reason))).rejects.toBe(reason);
  });
});

describe('the real clock', () => {
  it('sleeps past what one timer holds without firing early (a 90-day execution timeout)', async () => {
    const controller = new AbortController();
    let woke = false;
    const long = realClock.sleep(90 * 86_400_000, controller.signal).then(
      () => {
        woke = true;
      },
      () => undefined,
    );
    await realClock.sleep(50);
    expect(woke).toBe(false);
    controller.abort();
    await long;
    expect(woke).toBe(false);
  });
});

describe('VirtualClock: settling after wake-ups', () => {
  it('wakes every sleeper due at one instant before settling once, and settles between instants', async () => {
    const clock = new VirtualClock(START);
    const log: string[] = [];
    clock.settle = async () => {
      log.push(`settle@${clock.now().getTime() - T0}`);
    };
    for (const [name, ms] of [
      ['cut-off-1', 100],
      ['retry', 250],
      ['cut-off-2', 100],
      ['cut-off-3', 100],
    ] as const) {
      void clock.sleep(ms).then(() => log.push(`${name}@${clock.now().getTime() - T0}`));
    }
    await clock.advance(1000);
    expect(log).toEqual([
      'settle@0',
      'cut-off-1@100',
      'cut-off-2@100',
      'cut-off-3@100',
      'settle@100',
      'retry@250',
      'settle@250',
    ]);
  });

  // An invocation that has written its effect but not yet returned when a test (or the simulation) jumps
  // the clock: without the first settle its own timeout, due sooner than the jump's end, woke first and
  // failed it, and the workflow retried it past the jump (human-decision.test.ts under CI load).
  it('lets work in flight at the current instant finish before time moves at all', async () => {
    const clock = new VirtualClock(START);
    const log: string[] = [];
    let inFlight: Promise<void> | undefined = realClock.sleep(30).then(() => {
      log.push(`invocation returned@${clock.now().getTime() - T0}`);
      inFlight = undefined;
    });
    clock.settle = async () => {
      await inFlight;
    };
    void clock.sleep(3_000).then(() => log.push(`its timeout@${clock.now().getTime() - T0}`));
    await clock.advance(4 * 3_600_000);
    expect(log).toEqual(['invocation returned@0', 'its timeout@3000']);
  });

  it('does not settle when an advance neither moves time nor wakes anyone', async () => {
    const clock = new VirtualClock(START);
    let settles = 0;
    clock.settle = async () => {
      settles++;
    };
    void clock.sleep(500);
    await clock.advance(0);
    expect(settles).toBe(0);
    await clock.advance(100);
    expect(settles).toBe(1);
  });

  it('lets work woken together overlap: the settle waits for all of it, not one after the other', async () => {
    const clock = new VirtualClock(START);
    const running = new Set<number>();
    let most = 0;
    const work: Promise<void>[] = [];
    clock.settle = () => Promise.all(work).then(() => undefined);
    for (let i = 0; i < 5; i++) {
      void clock.sleep(60_000).then(() => {
        running.add(i);
        most = Math.max(most, running.size);
        work.push(realClock.sleep(20).then(() => void running.delete(i)));
      });
    }
    await clock.advance(60_000);
    expect(most).toBe(5);
    expect(running.size).toBe(0);
  });
});

describe('VirtualClock: a wake window', () => {
  it('wakes the sleepers due within the window of the earliest one together, all at the latest one’s time', async () => {
    const clock = new VirtualClock(START);
    clock.wakeWindowMs = 1000;
    const log: string[] = [];
    clock.settle = async () => {
      log.push(`settle@${clock.now().getTime() - T0}`);
    };
    for (const [name, ms] of [
      ['retry-a', 1200],
      ['retry-b', 2000],
      ['retry-c', 2300],
      ['retry-d', 2200],
    ] as const) {
      void clock.sleep(ms).then(() => log.push(`${name}@${clock.now().getTime() - T0}`));
    }
    await clock.advance(2250);
    // a opens a window to 2200 (b and d join it), and all three see its end, whichever runs first; c, due
    // after the target, waits for a later advance.
    expect(log).toEqual(['settle@0', 'retry-a@2200', 'retry-b@2200', 'retry-d@2200', 'settle@2200']);
    await clock.advance(1000);
    expect(log.slice(5)).toEqual(['settle@2250', 'retry-c@2300', 'settle@2300']);
  });
});
