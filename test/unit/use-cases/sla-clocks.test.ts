import { beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_SLA_POLICY, parseSlaPolicy, type SlaClock } from '../../../lambdas/core/sla.ts';
import type {
  CanonicalEvent,
  EventPublisher,
  ExceptionRepository,
  OrderRecord,
  OrderRepository,
  OwnedException,
  SlaAlarmKind,
  SlaClockStore,
  SlaMetrics,
  StoredClock,
} from '../../../lambdas/ports/index.ts';
import { ConcurrentClockUpdate } from '../../../lambdas/shared/errors.ts';
import {
  clockKey,
  detectSlaAlarms,
  type SlaDeps,
  trackSlaClocks,
} from '../../../lambdas/use-cases/sla-clocks.ts';

// ---------------------------------------------------------------------------------------------------------
// Fakes with the semantics of the DynamoDB clock store: versioned conditional writes, a sparse due index
// bucketed by minute (never in the past), a forward-only checkpoint.
// ---------------------------------------------------------------------------------------------------------

class MemoryClockStore implements SlaClockStore {
  readonly items = new Map<string, StoredClock & { dueAt?: number; bucket?: number }>();
  private mark: Date | undefined;
  writes = 0;

  async clocksOf(orderId: string) {
    return [...this.items.values()].filter((s) => s.clock.orderId === orderId).map(strip);
  }

  async save(
    clock: SlaClock,
    state: { outbox: readonly SlaAlarmKind[]; dueAt?: Date },
    expectedVersion: number,
    now: Date,
  ) {
    const key = `${clock.orderId}|${clockKey(clock.stage, clock.instance)}`;
    const current = this.items.get(key);
    if ((current?.version ?? 0) !== expectedVersion) throw new ConcurrentClockUpdate(clock.orderId, key);
    const due = state.dueAt?.getTime();
    const stored = {
      clock: structuredClone(clock),
      version: expectedVersion + 1,
      outbox: [...state.outbox],
      ...(due !== undefined ? { dueAt: due, bucket: minute(Math.max(due, now.getTime())) } : {}),
    };
    this.items.set(key, stored);
    this.writes += 1;
    return strip(stored);
  }

  async *dueClocks(since: Date, now: Date) {
    for (const item of [...this.items.values()]) {
      if (item.dueAt === undefined || item.bucket === undefined) continue;
      if (item.bucket >= minute(since.getTime()) && item.dueAt <= now.getTime()) yield strip(item);
    }
  }

  async checkpoint() {
    return this.mark;
  }

  async setCheckpoint(at: Date) {
    if (!this.mark || at > this.mark) this.mark = at;
  }

  get(orderId: string, stage: string, instance = '') {
    return this.items.get(`${orderId}|${instance ? `${stage}#${instance}` : stage}`);
  }
}

const minute = (ms: number) => Math.floor(ms / 60_000) * 60_000;
const strip = (s: StoredClock): StoredClock => ({ clock: s.clock, version: s.version, outbox: s.outbox });

class Orders implements OrderRepository {
  readonly records = new Map<string, OrderRecord>();
  add(
    orderId: string,
    over: Partial<Record<'channel' | 'serviceLevel' | 'segment', string>> = {},
    stageHistory: { stage: string; at: string }[] = [],
  ) {
    this.records.set(orderId, {
      orderId,
      stage: stageHistory.at(-1)?.stage ?? 'accepted',
      stageHistory: stageHistory.map((entry) => ({ ...entry, reasonCodes: [] })),
      order: {
        channel: over.channel ?? 'wholesale',
        serviceLevel: over.serviceLevel ?? 'standard',
        customer: { segment: over.segment ?? 'mid-market' },
      },
    } as unknown as OrderRecord);
  }
  async get(orderId: string) {
    return this.records.get(orderId);
  }
  createIfAbsent(): never {
    throw new Error('not used');
  }
  annotate(): never {
    throw new Error('not used');
  }
  transition(): never {
    throw new Error('not used');
  }
}

class Exceptions implements ExceptionRepository {
  readonly items = new Map<string, OwnedException>();
  async raiseIfAbsent(exception: OwnedException) {
    if (this.items.has(exception.exceptionId)) return { created: false };
    this.items.set(exception.exceptionId, exception);
    return { created: true };
  }
  async get(id: string) {
    return this.items.get(id);
  }
  awaitDecision(): never {
    throw new Error('not used');
  }
  resolve(): never {
    throw new Error('not used');
  }
}

class Events implements EventPublisher {
  readonly all: CanonicalEvent[] = [];
  failNext = 0;
  /** Runs while an alarm is being announced (what another invocation does meanwhile). */
  duringPublish: (() => Promise<void>) | undefined;
  async publish(events: readonly CanonicalEvent[]) {
    if (this.failNext > 0) {
      this.failNext -= 1;
      throw new Error('EventBridge unavailable');
    }
    const during = this.duringPublish;
    this.duringPublish = undefined;
    await during?.();
    this.all.push(...events);
  }
  named(name: string) {
    return this.all.filter((e) => e.name === name);
  }
}

class Metrics implements SlaMetrics {
  readonly alarms: string[] = [];
  readonly completed: { stage: string; seconds: number; withinTarget: boolean }[] = [];
  alarm(kind: SlaAlarmKind, stage: string, team: string) {
    this.alarms.push(`${kind}:${stage}:${team}`);
  }
  stageCompleted(stage: string, _team: string, seconds: number, withinTarget: boolean) {
    this.completed.push({ stage, seconds, withinTarget });
  }
  readonly released: number[] = [];
  orderReleased(seconds: number) {
    this.released.push(seconds);
  }
}

let now: Date;
let store: MemoryClockStore;
let orders: Orders;
let exceptions: Exceptions;
let events: Events;
let metrics: Metrics;
let deps: SlaDeps;

beforeEach(() => {
  now = new Date('2026-12-03T10:00:00.000Z'); // a Thursday, 04:00 in Chicago
  store = new MemoryClockStore();
  orders = new Orders();
  exceptions = new Exceptions();
  events = new Events();
  metrics = new Metrics();
  deps = {
    clocks: store,
    orders,
    exceptions,
    events,
    metrics,
    clock: { now: () => now },
    policy: DEFAULT_SLA_POLICY,
  };
  orders.add('ERP-1');
});

const at = (iso: string) => {
  now = new Date(iso);
};
const event = (name: string, occurredAt: string, extra: Record<string, unknown> = {}, orderId = 'ERP-1') => ({
  name,
  detail: { orderId, occurredAt, ...extra },
});

describe('tracking clocks from canonical events', () => {
  it('starts, stops and hands over the stage clocks as the order moves', async () => {
    await trackSlaClocks(event('order.received', '2026-12-03T10:00:00.000Z'), deps);
    at('2026-12-03T10:02:00.000Z');
    await trackSlaClocks(event('order.accepted', '2026-12-03T10:02:00.000Z'), deps);
    const capture = store.get('ERP-1', 'capture-to-accept');
    expect(capture?.clock).toMatchObject({
      startedAt: '2026-12-03T10:00:00.000Z',
      stoppedAt: '2026-12-03T10:02:00.000Z',
      target: { ownerTeam: 'integration', targetSeconds: 15 * 60 },
    });
    expect(store.get('ERP-1', 'accept-to-credit-decision')?.clock.startedAt).toBe('2026-12-03T10:02:00.000Z');
    expect(metrics.completed).toEqual([{ stage: 'capture-to-accept', seconds: 120, withinTarget: true }]);
  });

  it('reports order-to-release once, capture to release on the wall clock', async () => {
    await trackSlaClocks(event('order.received', '2026-12-03T10:00:00.000Z'), deps);
    await trackSlaClocks(event('order.accepted', '2026-12-03T10:02:00.000Z'), deps);
    await trackSlaClocks(event('credit.approved', '2026-12-03T10:05:00.000Z'), deps);
    await trackSlaClocks(event('allocation.confirmed', '2026-12-03T10:10:00.000Z'), deps);
    expect(metrics.released).toEqual([]);
    at('2026-12-03T11:30:00.000Z');
    const released = event('warehouse.released', '2026-12-03T11:30:00.000Z');
    await trackSlaClocks(released, deps);
    await trackSlaClocks(released, deps);
    expect(metrics.released).toEqual([90 * 60]);
  });

  it('picks the target from the order: a next-day order gets the fast credit lane', async () => {
    orders.add('ERP-2', { serviceLevel: 'next-day' });
    await trackSlaClocks(event('order.accepted', '2026-12-03T10:00:00.000Z', {}, 'ERP-2'), deps);
    expect(store.get('ERP-2', 'accept-to-credit-decision')?.clock.target).toMatchObject({
      ownerTeam: 'finance',
      targetSeconds: 3600,
      calendar: 'business',
    });
  });

  it('is idempotent: a redelivered event writes nothing', async () => {
    const received = event('order.received', '2026-12-03T10:00:00.000Z');
    await trackSlaClocks(received, deps);
    const writes = store.writes;
    expect((await trackSlaClocks(received, deps)).changed).toEqual([]);
    expect(store.writes).toBe(writes);
  });

  it('completes a clock whose stop arrived before its start', async () => {
    await trackSlaClocks(event('order.accepted', '2026-12-03T10:05:00.000Z'), deps);
    await trackSlaClocks(event('order.received', '2026-12-03T10:00:00.000Z'), deps);
    expect(store.get('ERP-1', 'capture-to-accept')?.clock).toMatchObject({
      startedAt: '2026-12-03T10:00:00.000Z',
      stoppedAt: '2026-12-03T10:05:00.000Z',
    });
  });

  it('pauses allocation while the customer decides on a substitute', async () => {
    await trackSlaClocks(event('credit.hold.released', '2026-12-03T10:00:00.000Z', {}), deps);
    await trackSlaClocks(
      event('substitution.proposed', '2026-12-03T10:10:00.000Z', { requiresApproval: true, lineNo: 1 }),
      deps,
    );
    expect(store.get('ERP-1', 'credit-to-allocation')?.clock.pauses).toHaveLength(1);
    // Paused: nothing due, out of the detector's index.
    at('2026-12-03T14:00:00.000Z');
    expect((await detectSlaAlarms(deps)).raised).toEqual([]);
    await trackSlaClocks(event('substitution.decided', '2026-12-03T14:00:00.000Z', { lineNo: 1 }), deps);
    // 10 min before the pause; jeopardy (45 min) is 35 min after the resume.
    at('2026-12-03T14:35:00.000Z');
    expect((await detectSlaAlarms(deps)).raised).toEqual(['ERP-1:credit-to-allocation:jeopardy']);
  });

  it('cancels the running clocks of a rejected order, leaving finished ones', async () => {
    await trackSlaClocks(event('order.received', '2026-12-03T10:00:00.000Z'), deps);
    await trackSlaClocks(event('order.accepted', '2026-12-03T10:01:00.000Z'), deps);
    await trackSlaClocks(event('order.rejected', '2026-12-03T10:30:00.000Z'), deps);
    expect(store.get('ERP-1', 'capture-to-accept')?.clock.cancelledAt).toBeUndefined();
    expect(store.get('ERP-1', 'accept-to-credit-decision')?.clock.cancelledAt).toBe(
      '2026-12-03T10:30:00.000Z',
    );
    at('2026-12-04T10:00:00.000Z');
    expect((await detectSlaAlarms(deps)).raised).toEqual([]);
  });

  it('raises the breach of a clock that stopped late, when the stop arrives', async () => {
    await trackSlaClocks(event('order.received', '2026-12-03T10:00:00.000Z'), deps);
    at('2026-12-03T10:40:00.000Z');
    const outcome = await trackSlaClocks(event('order.accepted', '2026-12-03T10:40:00.000Z'), deps);
    expect(outcome.alarms).toEqual(['capture-to-accept:breach']);
    expect(events.named('sla.breached')[0]?.detail).toMatchObject({
      stage: 'capture-to-accept',
      ownerTeam: 'integration',
      overrunSeconds: 25 * 60,
      targetSeconds: 15 * 60,
    });
    expect(metrics.completed).toEqual([
      { stage: 'capture-to-accept', seconds: 40 * 60, withinTarget: false },
    ]);
  });
});

describe('events of one instant, tracked in any order', () => {
  // An order received, accepted, approved, allocated and deferred to its release window in one minute: the
  // workflow publishes them together and the tracker may see them in any order (each its own invocation).
  const instant = '2026-12-03T10:00:00.000Z';
  const names = [
    'order.received',
    'order.accepted',
    'credit.approved',
    'allocation.confirmed',
    'release.deferred',
  ];
  const sequences = [
    names,
    [...names].reverse(),
    ['release.deferred', 'order.received', 'allocation.confirmed', 'credit.approved', 'order.accepted'],
    ['credit.approved', 'release.deferred', 'order.accepted', 'allocation.confirmed', 'order.received'],
  ];

  async function clocksAfter(sequence: readonly string[]) {
    store = new MemoryClockStore();
    deps = { ...deps, clocks: store };
    at(instant);
    for (const name of sequence) await trackSlaClocks(event(name, instant), deps);
    // Well past every target but the deferred release's: nothing may be due.
    at('2026-12-04T10:00:00.000Z');
    const raised = (await detectSlaAlarms(deps)).raised;
    const clocks = [...store.items.values()]
      .map((s) => s.clock)
      .sort((a, b) => (a.stage < b.stage ? -1 : 1))
      .map(({ stage, startedAt, stoppedAt, pauses }) => ({ stage, startedAt, stoppedAt, pauses }));
    return { raised, clocks };
  }

  it('gives the same clocks and the same alarms (none) in every order', async () => {
    const first = await clocksAfter(sequences[0] as string[]);
    expect(first.raised).toEqual([]);
    expect(first.clocks.find((c) => c.stage === 'allocation-to-release')).toEqual({
      stage: 'allocation-to-release',
      startedAt: instant,
      stoppedAt: undefined,
      pauses: [{ from: instant, reason: 'future-dated: waiting for its release window' }],
    });
    expect(first.clocks.filter((c) => c.stoppedAt === instant).map((c) => c.stage)).toEqual([
      'accept-to-credit-decision',
      'capture-to-accept',
      'credit-to-allocation',
    ]);
    for (const sequence of sequences.slice(1)) expect(await clocksAfter(sequence)).toEqual(first);
  });

  it('announces a breach once when another event of the order writes the clock while it is announced', async () => {
    // The invoice comes 9 h after a 17:00 ship confirmation (4 h target): the stop owes the breach at once.
    await trackSlaClocks(event('shipment.confirmed', '2026-12-03T17:00:00.000Z', { shipmentId: 'S1' }), deps);
    at('2026-12-04T02:00:00.000Z');
    // While the breach is published, another invocation writes the clock (carrying the claim forward in
    // its outbox, as every writer does): the announcer's clearing save loses the version race.
    events.duringPublish = async () => {
      const current = store.get('ERP-1', 'ship-confirmation-to-invoice', 'S1');
      if (!current) throw new Error('no clock');
      await store.save(current.clock, { outbox: current.outbox }, current.version, now);
    };
    await trackSlaClocks(event('invoice.issued', '2026-12-04T02:00:00.000Z', { shipmentId: 'S1' }), deps);
    expect(store.get('ERP-1', 'ship-confirmation-to-invoice', 'S1')?.outbox).toEqual([]);
    at('2026-12-04T02:15:00.000Z');
    await detectSlaAlarms(deps);
    expect(events.named('sla.breached').map((e) => e.detail.idempotencyKey)).toEqual([
      'sla:ERP-1:ship-confirmation-to-invoice#S1:breached',
    ]);
  });

  it('cancels the clocks of a rejected order even when the rejection is tracked before them', async () => {
    // Credit declined at the instant the order arrived: received, accepted and rejected in one instant.
    orders.add('ERP-R', {}, [
      { stage: 'received', at: instant },
      { stage: 'accepted', at: instant },
      { stage: 'rejected', at: instant },
    ]);
    at(instant);
    for (const name of ['order.rejected', 'order.accepted', 'order.received'])
      await trackSlaClocks(event(name, instant, {}, 'ERP-R'), deps);
    expect(store.get('ERP-R', 'accept-to-credit-decision')?.clock.cancelledAt).toBe(instant);
    // A day later nothing is due for the rejected order.
    at('2026-12-04T10:00:00.000Z');
    expect((await detectSlaAlarms(deps)).raised).toEqual([]);
  });

  it('cancels, not breaches, a clock whose start was tracked side by side with the rejection', async () => {
    // Credit declined at the instant the order was accepted. The tracker of order.accepted reads the order
    // before the rejection is written and saves its clock after the tracker of order.rejected found none.
    const accepted = [
      { stage: 'received', at: instant },
      { stage: 'accepted', at: instant },
    ];
    orders.add('ERP-S', {}, accepted);
    const beforeRejection = await orders.get('ERP-S');
    orders.add('ERP-S', {}, [...accepted, { stage: 'rejected', at: instant }]);
    at(instant);
    await trackSlaClocks(event('order.rejected', instant, {}, 'ERP-S'), deps);
    const staleOrders = Object.assign(Object.create(orders) as Orders, { get: async () => beforeRejection });
    await trackSlaClocks(event('order.accepted', instant, {}, 'ERP-S'), { ...deps, orders: staleOrders });
    expect(store.get('ERP-S', 'accept-to-credit-decision')?.clock.cancelledAt).toBeUndefined();
    await detectSlaAlarms(deps);

    // When its first alarm falls due, the detector finds the order rejected: the clock is cancelled as of
    // the rejection, and nothing is announced or raised, then or later.
    at('2026-12-04T10:00:00.000Z');
    expect((await detectSlaAlarms(deps)).raised).toEqual([]);
    expect(store.get('ERP-S', 'accept-to-credit-decision')?.clock.cancelledAt).toBe(instant);
    at('2026-12-05T10:00:00.000Z');
    expect((await detectSlaAlarms(deps)).raised).toEqual([]);
    expect(events.all.filter((e) => e.detail.orderId === 'ERP-S')).toEqual([]);
    expect([...exceptions.items.values()].filter((e) => e.orderId === 'ERP-S')).toEqual([]);
  });

  it('still raises the alarm of a clock whose order is open when it falls due', async () => {
    await trackSlaClocks(event('order.accepted', instant), deps);
    await detectSlaAlarms(deps);
    at('2026-12-04T10:00:00.000Z');
    expect((await detectSlaAlarms(deps)).raised).toEqual(['ERP-1:accept-to-credit-decision:breach']);
    expect(events.named('exception.raised')).toHaveLength(1);
  });

  it('reports a stage completed once when its stop was tracked before its start', async () => {
    at('2026-12-03T10:05:00.000Z');
    await trackSlaClocks(event('order.accepted', '2026-12-03T10:05:00.000Z'), deps);
    expect(metrics.completed).toEqual([]);
    await trackSlaClocks(event('order.received', '2026-12-03T10:00:00.000Z'), deps);
    await trackSlaClocks(event('order.received', '2026-12-03T10:00:00.000Z'), deps);
    expect(metrics.completed).toEqual([{ stage: 'capture-to-accept', seconds: 300, withinTarget: true }]);
  });

  it('keeps a release that ends allocation before its start, and completes it when the start comes', async () => {
    at(instant);
    await trackSlaClocks(event('warehouse.released', '2026-12-03T11:00:00.000Z'), deps);
    // No clock of the order existed: the swept-up earlier stages leave nothing, the one it ends is kept.
    expect(store.get('ERP-1', 'allocation-to-release')?.clock.stoppedAt).toBe('2026-12-03T11:00:00.000Z');
    expect(store.get('ERP-1', 'credit-to-allocation')).toBeUndefined();
    await trackSlaClocks(event('allocation.confirmed', instant), deps);
    expect(store.get('ERP-1', 'allocation-to-release')?.clock).toMatchObject({
      startedAt: instant,
      stoppedAt: '2026-12-03T11:00:00.000Z',
    });
  });
});

describe('the detector', () => {
  beforeEach(async () => {
    await trackSlaClocks(event('order.received', '2026-12-03T10:00:00.000Z'), deps);
  });

  it('raises jeopardy at the fraction, then the breach with its overrun, owner team and an exception', async () => {
    at('2026-12-03T10:12:00.000Z');
    expect((await detectSlaAlarms(deps)).raised).toEqual(['ERP-1:capture-to-accept:jeopardy']);
    expect(events.named('sla.jeopardy')[0]?.detail).toMatchObject({
      orderId: 'ERP-1',
      stage: 'capture-to-accept',
      ownerTeam: 'integration',
      elapsedSeconds: 12 * 60,
      targetSeconds: 15 * 60,
      dueAt: '2026-12-03T10:15:00.000Z',
      idempotencyKey: 'sla:ERP-1:capture-to-accept:jeopardy',
    });
    at('2026-12-03T10:17:00.000Z');
    expect((await detectSlaAlarms(deps)).raised).toEqual(['ERP-1:capture-to-accept:breach']);
    expect(events.named('sla.breached')[0]?.detail).toMatchObject({ overrunSeconds: 120 });
    const [exception] = exceptions.items.values();
    expect(exception).toMatchObject({
      type: 'sla-breach',
      ownerTeam: 'integration',
      state: 'open',
      reasonCodes: ['SLA_BREACHED', 'SLA_STAGE:capture-to-accept'],
    });
    expect(exception?.recommendedAction).toContain('ingress DLQ');
    expect(events.named('exception.raised')).toHaveLength(1);
    expect(metrics.alarms).toEqual([
      'jeopardy:capture-to-accept:integration',
      'breach:capture-to-accept:integration',
    ]);
    expect(store.get('ERP-1', 'capture-to-accept')?.dueAt).toBeUndefined();
  });

  it('names the stage the order held as the instant began, not a move at the breach instant', async () => {
    orders.add('ERP-1', {}, [
      { stage: 'received', at: '2026-12-03T10:00:00.000Z' },
      { stage: 'exception', at: '2026-12-03T10:05:00.000Z' },
    ]);
    const raisedAt = '2026-12-03T10:17:00.000Z';
    at(raisedAt);
    const record = orders.records.get('ERP-1') as OrderRecord;
    // The order moves at the very instant the detector runs; whichever lands first, the stage is the same.
    orders.records.set('ERP-1', {
      ...record,
      stage: 'accepted',
      stageHistory: [...record.stageHistory, { stage: 'accepted', at: raisedAt, reasonCodes: [] }],
    });
    expect((await detectSlaAlarms(deps)).raised).toEqual(['ERP-1:capture-to-accept:breach']);
    expect([...exceptions.items.values()][0]?.stage).toBe('exception');
  });

  it('raises each alarm once when the detector runs twice', async () => {
    at('2026-12-03T10:12:00.000Z');
    await detectSlaAlarms(deps);
    await detectSlaAlarms(deps);
    at('2026-12-03T10:20:00.000Z');
    await detectSlaAlarms(deps);
    await detectSlaAlarms(deps);
    expect(events.named('sla.jeopardy')).toHaveLength(1);
    expect(events.named('sla.breached')).toHaveLength(1);
  });

  it('raises each alarm once when two detectors run at the same time', async () => {
    at('2026-12-03T10:20:00.000Z');
    await Promise.all([detectSlaAlarms(deps), detectSlaAlarms(deps), detectSlaAlarms(deps)]);
    // Late detection: the clock is past its target, so only the breach is owed.
    expect(events.named('sla.jeopardy')).toHaveLength(0);
    expect(events.named('sla.breached')).toHaveLength(1);
    expect(exceptions.items.size).toBe(1);
  });

  it('announces a claimed alarm whose publish failed on a later run, under the same key', async () => {
    at('2026-12-03T10:12:00.000Z');
    events.failNext = 1;
    await expect(detectSlaAlarms(deps)).rejects.toThrow('EventBridge unavailable');
    expect(store.get('ERP-1', 'capture-to-accept')?.outbox).toEqual(['jeopardy']);
    // Not yet orphaned: a run within the minute leaves it to its claimer.
    at('2026-12-03T10:12:30.000Z');
    // (claimed at 10:12:00)
    await detectSlaAlarms(deps);
    expect(events.named('sla.jeopardy')).toHaveLength(0);
    at('2026-12-03T10:13:30.000Z');
    await detectSlaAlarms(deps);
    expect(events.named('sla.jeopardy').map((e) => e.detail.idempotencyKey)).toEqual([
      'sla:ERP-1:capture-to-accept:jeopardy',
    ]);
    expect(store.get('ERP-1', 'capture-to-accept')?.outbox).toEqual([]);
  });

  it('reads only the clocks that are due', async () => {
    orders.add('ERP-LATER', { channel: 'retail-replenishment' }); // 30-minute target
    await trackSlaClocks(event('order.received', '2026-12-03T10:00:00.000Z', {}, 'ERP-LATER'), deps);
    at('2026-12-03T10:12:00.000Z');
    const run = await detectSlaAlarms(deps);
    expect(run.examined).toBe(1);
    expect(run.raised).toEqual(['ERP-1:capture-to-accept:jeopardy']);
  });

  it('counts business hours for finance: a hold accepted out of hours is not in jeopardy overnight', async () => {
    await trackSlaClocks(event('order.accepted', '2026-12-03T10:00:00.000Z'), deps); // 04:00 Chicago
    at('2026-12-03T15:59:00.000Z'); // 09:59 Chicago: 2 h 59 min of office time
    await detectSlaAlarms(deps);
    expect(
      events
        .named('sla.jeopardy')
        .filter((e) => (e.detail as { stage?: string }).stage === 'accept-to-credit-decision'),
    ).toHaveLength(0);
    at('2026-12-03T16:00:00.000Z'); // 10:00 Chicago: 3 h = 75 % of 4 h
    await detectSlaAlarms(deps);
    expect(
      events
        .named('sla.jeopardy')
        .filter((e) => (e.detail as { stage?: string }).stage === 'accept-to-credit-decision'),
    ).toHaveLength(1);
  });

  it('uses the configured jeopardy fraction', async () => {
    deps = { ...deps, policy: parseSlaPolicy({ jeopardyFraction: 0.5 }) };
    orders.add('ERP-3');
    await trackSlaClocks(event('order.received', '2026-12-03T10:00:00.000Z', {}, 'ERP-3'), deps);
    at('2026-12-03T10:08:00.000Z');
    expect((await detectSlaAlarms(deps)).raised).toContain('ERP-3:capture-to-accept:jeopardy');
  });
});
