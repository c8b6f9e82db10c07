import { type OrderStage, OWNER_TEAMS, type OwnerTeam, type SlaStage } from '../../contracts/vocabulary.ts';
import {
  alarmsDue,
  applyChange,
  type ClockChange,
  type ClockEvent,
  cancelClock,
  clockChanges,
  clockState,
  elapsedSeconds,
  nextAlarm,
  type SlaAlarm,
  type SlaClock,
  type SlaPolicy,
  targetFor,
} from '../core/sla.ts';
import type {
  CanonicalEvent,
  Clock,
  EventPublisher,
  ExceptionMetrics,
  ExceptionRepository,
  OpenExceptionQueues,
  OrderRecord,
  OrderRepository,
  OwnedException,
  SlaAlarmKind,
  SlaClockStore,
  SlaMetrics,
  StoredClock,
} from '../ports/index.ts';
import { ConcurrentClockUpdate, OrderNotFound } from '../shared/errors.ts';
import { sha256 } from '../shared/ids.ts';
import { addHours, exceptionRaisedEvent } from './exceptions.ts';

/**
 * SLA tracking. The tracker applies each canonical event's clock changes (start, stop, pause, resume,
 * cancel) to the order's stage clocks; the detector, every minute, reads the clocks whose next alarm is
 * due (by time bucket, never a scan) and raises `sla.jeopardy` and `sla.breached`. Each alarm is claimed
 * with a conditional write before it is announced, so it is raised once per clock however many trackers
 * and detectors see it; a claim whose announcement did not happen (a crash between the two) is announced
 * by the next run, under the same idempotency key.
 */
export interface SlaDeps {
  readonly clocks: SlaClockStore;
  readonly orders: OrderRepository;
  readonly exceptions: ExceptionRepository;
  readonly events: EventPublisher;
  readonly clock: Clock;
  readonly policy: SlaPolicy;
  readonly metrics?: SlaMetrics;
}

/** Optimistic attempts of read-apply-write before giving up with ConcurrentClockUpdate (retryable). */
const MAX_ATTEMPTS = 5;
/** A claimed alarm not announced after this long is taken to be orphaned, and announced by whoever sees it. */
const ORPHANED_CLAIM_MS = 60_000;
/** Hours the owner team has to act on a breach exception. */
const BREACH_EXCEPTION_SLA_HOURS = 2;

export const clockKey = (stage: SlaStage, instance: string) => (instance ? `${stage}#${instance}` : stage);

export interface TrackOutcome {
  readonly orderId: string;
  readonly changed: readonly string[];
  readonly alarms: readonly string[];
}

/** Applies one canonical event to its order's SLA clocks. Safe to run twice and in any order. */
export async function trackSlaClocks(
  event: ClockEvent & { readonly detail: { readonly orderId: string } },
  deps: SlaDeps,
): Promise<TrackOutcome> {
  const orderId = event.detail.orderId;
  const changes = clockChanges(event);
  if (changes.length === 0) return { orderId, changed: [], alarms: [] };
  for (let attempt = 1; ; attempt++) {
    try {
      return await trackOnce(orderId, changes, deps);
    } catch (error) {
      if (!(error instanceof ConcurrentClockUpdate) || attempt >= MAX_ATTEMPTS) throw error;
    }
  }
}

async function trackOnce(
  orderId: string,
  changes: ReturnType<typeof clockChanges>,
  deps: SlaDeps,
): Promise<TrackOutcome> {
  const stored = new Map((await deps.clocks.clocksOf(orderId)).map((s) => [keyOf(s.clock), s]));
  const updated = new Map<string, SlaClock>();
  let order: OrderRecord | undefined;
  const current = (key: string) => updated.get(key) ?? stored.get(key)?.clock;
  for (const change of changes) {
    if (change.action === 'cancel-all') {
      for (const key of new Set([...stored.keys(), ...updated.keys()])) {
        const clock = current(key);
        const cancelled = clock && cancelClock(clock, change.at);
        if (cancelled && cancelled !== clock) updated.set(key, cancelled);
      }
      continue;
    }
    const key = clockKey(change.stage, change.instance);
    const existing = current(key);
    // A pause or a resume creates the clock: the events that pause and resume (release.deferred,
    // substitution.proposed and .decided) follow their stage's start in every path, and may be tracked
    // before it (or a resume before its pause) when delivery is out of order.
    if (!existing && change.action === 'stop' && !isLateStopWorthKeeping(change, stored)) continue;
    // A clock keeps the target it started with: the order is read only to start a new one.
    let target = existing?.target;
    if (!target) {
      order ??= await loadOrder(orderId, deps);
      target = targetFor(deps.policy, change.stage, {
        channel: order.order.channel,
        serviceLevel: order.order.serviceLevel,
        segment: order.order.customer.segment,
      });
    }
    let next = applyChange(existing, change, { orderId, target });
    // A resume that neither closed nor awaits a pause (a stage that does not pause) makes no clock.
    if (!existing && change.action === 'resume' && next.pauses.length === 0) continue;
    // A clock first created after the order closed (its closing tracked before this event, at the same
    // instant or out of order) is cancelled as the closing would have cancelled it.
    const ended = !existing && order ? endedAt(order) : undefined;
    if (ended) next = cancelClock(next, ended);
    if (next !== existing) updated.set(key, next);
  }
  const alarms: string[] = [];
  const changed: string[] = [];
  for (const [key, clock] of updated) {
    const before = stored.get(key);
    if (before && JSON.stringify(before.clock) === JSON.stringify(clock)) continue;
    changed.push(key);
    const raised = await settle(clock, before?.version ?? 0, before?.outbox ?? [], deps);
    alarms.push(...raised.map((kind) => `${key}:${kind}`));
    // Completed now (started and stopped, in either order), and not before: reported once.
    if (completed(clock) && !completed(before?.clock)) {
      const seconds = elapsedSeconds(clock, deps.policy.businessCalendar, deps.clock.now());
      deps.metrics?.stageCompleted(
        clock.stage,
        clock.target.ownerTeam,
        seconds,
        seconds <= clock.target.targetSeconds,
      );
      const capturedAt = current(clockKey('capture-to-accept', ''))?.startedAt;
      if (clock.stage === 'allocation-to-release' && clock.stoppedAt && capturedAt) {
        // Order-to-release on the wall clock, capture to release: the scorecard's headline cycle time.
        deps.metrics?.orderReleased(
          Math.max(0, (Date.parse(clock.stoppedAt) - Date.parse(capturedAt)) / 1000),
        );
      }
    }
  }
  return { orderId, changed, alarms };
}

/**
 * A stop for a clock with no start is kept only when a start may still arrive (its starting event is late):
 * always when the event is the one that ends the stage (every path starts the stage it ends, so the outcome
 * does not depend on which of two events of one instant is tracked first); an earlier stage it only sweeps
 * up, once the order has any clock. Otherwise a stage the path never ran would leave an empty clock.
 */
function isLateStopWorthKeeping(
  change: Extract<ClockChange, { action: 'stop' }>,
  stored: ReadonlyMap<string, StoredClock>,
): boolean {
  return change.ends === true || change.stage === 'capture-to-accept' || stored.size > 0;
}

const completed = (clock: SlaClock | undefined): clock is SlaClock & { startedAt: string } =>
  !!clock?.startedAt && clockState(clock) === 'stopped';

/** When the order was rejected or closed, if it was. */
function endedAt(order: OrderRecord): string | undefined {
  return order.stageHistory.find((entry) => entry.stage === 'rejected' || entry.stage === 'closed')?.at;
}

function keyOf(clock: SlaClock): string {
  return clockKey(clock.stage, clock.instance);
}

async function loadOrder(orderId: string, deps: SlaDeps): Promise<OrderRecord> {
  const order = await deps.orders.get(orderId);
  if (!order) throw new OrderNotFound(orderId);
  return order;
}

/**
 * Claims the alarms the clock owes now (in the same conditional write as its change), announces them, then
 * clears the outbox. Returns the alarms this call claimed.
 */
async function settle(
  clock: SlaClock,
  version: number,
  outbox: readonly SlaAlarmKind[],
  deps: SlaDeps,
): Promise<SlaAlarmKind[]> {
  const now = deps.clock.now();
  const calendar = deps.policy.businessCalendar;
  const owed = alarmsDue(clock, calendar, now);
  let claimed = clock;
  for (const alarm of owed) {
    claimed =
      alarm.kind === 'jeopardy'
        ? { ...claimed, jeopardyRaisedAt: now.toISOString() }
        : { ...claimed, breachedAt: now.toISOString() };
  }
  const mine = owed.map((a) => a.kind);
  // Orphaned claims (announced by nobody for a minute) are ours to announce too.
  const orphaned = outbox.filter((kind) => {
    const at = kind === 'jeopardy' ? clock.jeopardyRaisedAt : clock.breachedAt;
    return at !== undefined && now.getTime() - Date.parse(at) >= ORPHANED_CLAIM_MS;
  });
  const pending = [...new Set([...outbox, ...mine])];
  const saved = await deps.clocks.save(
    claimed,
    { outbox: pending, ...dueAtOf(claimed, pending, now, deps) },
    version,
    now,
  );
  const toAnnounce = [...new Set([...orphaned, ...mine])];
  if (toAnnounce.length === 0) return [];
  await announce(claimed, toAnnounce, owed, deps);
  for (const kind of mine) deps.metrics?.alarm(kind, clock.stage, clock.target.ownerTeam);
  const remaining = pending.filter((kind) => !toAnnounce.includes(kind));
  try {
    await deps.clocks.save(
      claimed,
      { outbox: remaining, ...dueAtOf(claimed, remaining, now, deps) },
      saved.version,
      now,
    );
  } catch (error) {
    if (!(error instanceof ConcurrentClockUpdate)) throw error;
    await clearAnnounced(claimed, toAnnounce, now, deps);
  }
  return mine;
}

/**
 * Someone else wrote the clock between our claim and clearing it from the outbox (another event of the
 * order tracked at the same instant): clears what was announced from the clock as it now stands, so the
 * detector does not announce it a second time. If it keeps losing, the entry stays and the detector
 * announces it again later, under the same key.
 */
async function clearAnnounced(
  clock: SlaClock,
  announced: readonly SlaAlarmKind[],
  now: Date,
  deps: SlaDeps,
): Promise<void> {
  const key = keyOf(clock);
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const current = (await deps.clocks.clocksOf(clock.orderId)).find((s) => keyOf(s.clock) === key);
    if (!current?.outbox.some((kind) => announced.includes(kind))) return;
    const outbox = current.outbox.filter((kind) => !announced.includes(kind));
    try {
      await deps.clocks.save(
        current.clock,
        { outbox, ...dueAtOf(current.clock, outbox, now, deps) },
        current.version,
        now,
      );
      return;
    } catch (error) {
      if (!(error instanceof ConcurrentClockUpdate)) throw error;
    }
  }
}

function dueAtOf(
  clock: SlaClock,
  outbox: readonly SlaAlarmKind[],
  now: Date,
  deps: SlaDeps,
): { dueAt?: Date } {
  if (outbox.length > 0) return { dueAt: now };
  const next = nextAlarm(clock, deps.policy.businessCalendar);
  return next ? { dueAt: next.at } : {};
}

async function announce(
  clock: SlaClock,
  kinds: readonly SlaAlarmKind[],
  owed: readonly SlaAlarm[],
  deps: SlaDeps,
): Promise<void> {
  const now = deps.clock.now();
  const calendar = deps.policy.businessCalendar;
  const occurredAt = now.toISOString();
  const key = keyOf(clock);
  const base = {
    schemaVersion: 1 as const,
    orderId: clock.orderId,
    correlationId: clock.orderId,
    occurredAt,
    stage: clock.stage,
    ownerTeam: clock.target.ownerTeam,
    startedAt: clock.startedAt ?? occurredAt,
    targetSeconds: clock.target.targetSeconds,
  };
  const dueAt =
    owed[0]?.dueAt ??
    new Date(Date.parse(clock.startedAt ?? occurredAt) + clock.target.targetSeconds * 1000).toISOString();
  const elapsed = elapsedSeconds(clock, calendar, now);
  const events: CanonicalEvent[] = [];
  for (const kind of kinds) {
    if (kind === 'jeopardy') {
      events.push({
        name: 'sla.jeopardy',
        detail: {
          ...base,
          idempotencyKey: `sla:${clock.orderId}:${key}:jeopardy`,
          dueAt,
          elapsedSeconds: elapsed,
        },
      });
    } else {
      const overrunSeconds = Math.max(0, elapsed - clock.target.targetSeconds);
      events.push({
        name: 'sla.breached',
        detail: { ...base, idempotencyKey: `sla:${clock.orderId}:${key}:breached`, dueAt, overrunSeconds },
      });
      const exception = await breachException(clock, overrunSeconds, now, deps);
      await deps.exceptions.raiseIfAbsent(exception);
      events.push(exceptionRaisedEvent(exception, occurredAt));
    }
  }
  await deps.events.publish(events);
}

const ACTIONS: Record<SlaStage, (orderId: string, instance: string) => string> = {
  'capture-to-accept': (id) =>
    `Order ${id} is not accepted yet: check the ingress DLQ and the router's integration exceptions, then redrive.`,
  'accept-to-credit-decision': (id) =>
    `Decide the credit hold on order ${id} now, or escalate it to the credit manager.`,
  'credit-to-allocation': (id) =>
    `Allocate order ${id}: approve a substitute, split it across facilities or backorder the short lines.`,
  'allocation-to-release': (id) =>
    `Release order ${id} in the next wave, or re-plan the wave to make its cut-off.`,
  'release-to-ship-confirmation': (id) =>
    `Chase the pick, pack and carrier pick-up of order ${id} with the warehouse and the carrier.`,
  'ship-confirmation-to-invoice': (id, shipment) =>
    `Post the invoice for shipment ${shipment || '(unknown)'} of order ${id}: check the ERP invoice interface.`,
};

/**
 * Where the order stood as this instant began: a move at the same instant (the invoice posted as the
 * detector runs, the late confirmation whose arrival started an overdue clock) is left out, so the breach
 * names the same stage whichever of the two was handled first.
 */
function stageBefore(order: OrderRecord, now: Date): OrderStage {
  const instant = now.getTime();
  let stage: OrderStage | undefined;
  for (const entry of order.stageHistory) if (Date.parse(entry.at) < instant) stage = entry.stage;
  return stage ?? order.stageHistory[0]?.stage ?? order.stage;
}

async function breachException(
  clock: SlaClock,
  overrunSeconds: number,
  now: Date,
  deps: SlaDeps,
): Promise<OwnedException> {
  const key = keyOf(clock);
  const order = await deps.orders.get(clock.orderId);
  const occurredAt = now.toISOString();
  const minutes = Math.round(clock.target.targetSeconds / 60);
  return {
    exceptionId: `EXC-SLA-${sha256(`${clock.orderId}|${key}`).slice(0, 24)}`,
    type: 'sla-breach',
    ownerTeam: clock.target.ownerTeam,
    priority: 'high',
    state: 'open',
    stage: order ? stageBefore(order, now) : 'received',
    orderId: clock.orderId,
    correlationId: clock.orderId,
    raisedAt: occurredAt,
    slaDueAt: addHours(now, BREACH_EXCEPTION_SLA_HOURS),
    recommendedAction: ACTIONS[clock.stage](clock.orderId, clock.instance),
    reasonCodes: ['SLA_BREACHED', `SLA_STAGE:${clock.stage}`],
    context: {
      stage: clock.stage,
      instance: clock.instance,
      targetMinutes: minutes,
      overrunSeconds,
      startedAt: clock.startedAt,
      pauses: clock.pauses,
      calendar: clock.target.calendar,
    },
    audit: [
      {
        at: occurredAt,
        actor: 'handoff:sla-detector',
        action: 'raised',
        why: `${clock.stage} passed its ${minutes}-minute target by ${Math.round(overrunSeconds / 60)} min`,
      },
    ],
  };
}

export interface DetectOutcome {
  readonly examined: number;
  readonly raised: readonly string[];
  readonly from: string;
  readonly to: string;
}

/**
 * After a gap (the detector was down), looks back at most this far: older buckets were read by earlier runs
 * or belong to an outage longer than a day, which the DLQ and failed-invocation alarms will have reported.
 */
const MAX_LOOKBACK_MS = 24 * 3_600_000;
/**
 * The very first run (no checkpoint yet) looks back this far only: clocks are bucketed no earlier than the
 * time they were saved, so only clocks saved before the detector's first run could be older.
 */
const FIRST_RUN_LOOKBACK_MS = 15 * 60_000;

/**
 * One detector run: every clock due by now, from where the last run reached; each owed alarm is
 * claimed and announced once. Safe to run concurrently and twice.
 */
export async function detectSlaAlarms(deps: SlaDeps): Promise<DetectOutcome> {
  const now = deps.clock.now();
  const last = await deps.clocks.checkpoint();
  const since = new Date(
    last ? Math.max(last.getTime(), now.getTime() - MAX_LOOKBACK_MS) : now.getTime() - FIRST_RUN_LOOKBACK_MS,
  );
  let examined = 0;
  const raised: string[] = [];
  for await (const due of deps.clocks.dueClocks(since, now)) {
    examined += 1;
    for (let attempt = 1; ; attempt++) {
      try {
        const fresh =
          attempt === 1
            ? due
            : (await deps.clocks.clocksOf(due.clock.orderId)).find(
                (s) => keyOf(s.clock) === keyOf(due.clock),
              );
        if (!fresh) break;
        if (await cancelledAsEnded(fresh, now, deps)) break;
        const kinds = await settle(fresh.clock, fresh.version, fresh.outbox, deps);
        raised.push(...kinds.map((k) => `${fresh.clock.orderId}:${keyOf(fresh.clock)}:${k}`));
        break;
      } catch (error) {
        if (!(error instanceof ConcurrentClockUpdate) || attempt >= MAX_ATTEMPTS) throw error;
      }
    }
  }
  // The bucket holding `now` is read again next time (the store reads whole buckets, due by then): clocks
  // due later in it are still there.
  const reached = new Date(Math.floor(now.getTime() / 60_000) * 60_000);
  await deps.clocks.setCheckpoint(reached);
  return { examined, raised, from: since.toISOString(), to: now.toISOString() };
}

/**
 * A clock about to raise an alarm for an order that has since been rejected or closed is cancelled instead:
 * the order's ending cancels its clocks, but a clock whose start was tracked side by side with the ending
 * (the start read the order before it ended, the ending found no clock yet to cancel) is saved after it and
 * would run on into a false breach. The order is read only when an alarm is owed and none is pending.
 */
async function cancelledAsEnded(due: StoredClock, now: Date, deps: SlaDeps): Promise<boolean> {
  if (due.outbox.length > 0 || alarmsDue(due.clock, deps.policy.businessCalendar, now).length === 0) {
    return false;
  }
  const order = await deps.orders.get(due.clock.orderId);
  const ended = order && endedAt(order);
  if (!ended) return false;
  const cancelled = cancelClock(due.clock, ended);
  if (cancelled === due.clock) return false;
  await deps.clocks.save(cancelled, { outbox: [], ...dueAtOf(cancelled, [], now, deps) }, due.version, now);
  return true;
}

/** What the oldest-open-exception figures need: each team's queue of open exceptions, and where to report. */
export interface ExceptionAgeDeps {
  readonly queues: OpenExceptionQueues;
  readonly metrics: Pick<ExceptionMetrics, 'oldestOpen'>;
  readonly clock: Clock;
}

/**
 * Part of every detector run: for each owner team, how long its oldest open exception has been open, in
 * seconds (0 for an empty queue, as an empty SQS queue's oldest message is 0 s old), published for the team's
 * alarm. One read per team, oldest first, Limit 1: the cost does not grow with the number of exceptions.
 */
export async function measureOldestOpenExceptions(
  deps: ExceptionAgeDeps,
): Promise<Record<OwnerTeam, number>> {
  const now = deps.clock.now().getTime();
  const ages = await Promise.all(
    OWNER_TEAMS.map(async (team) => {
      const raisedAt = await deps.queues.oldestOpenRaisedAt(team);
      const age = raisedAt ? Math.max(0, Math.floor((now - Date.parse(raisedAt)) / 1000)) : 0;
      return [team, Number.isFinite(age) ? age : 0] as const;
    }),
  );
  for (const [team, age] of ages) deps.metrics.oldestOpen(team, age);
  return Object.fromEntries(ages) as Record<OwnerTeam, number>;
}
