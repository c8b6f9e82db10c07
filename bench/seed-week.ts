/**
 * A week of a distributor's orders in the local cloud's tables, for the operator-CLI benchmark and the
 * no-scan test: orders in a realistic mix of stages, their owned exceptions and their SLA clocks.
 *
 * Nothing is shaped by hand. Orders are ERP sales orders mapped by the ERP adapter; their stage moves follow
 * the lifecycle's allowed transitions; the SLA clocks are what the real tracker and detector use cases make
 * of those moves (run against in-memory ports, the detector at each instant an alarm falls due, so jeopardies,
 * breaches and the breach exceptions are the product's own). Every item is written with the DynamoDB
 * adapters' item mappers (`orderItem`, `exceptionItem`, `clockItem`): the real keys, index attributes and
 * shards, through BatchWriteItem with a few requests in flight.
 */
import { type AttributeValue, BatchWriteItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { CanonicalOrder } from '../contracts/order.ts';
import { FULFILMENT_PATHS, type OrderStage } from '../contracts/vocabulary.ts';
import { exceptionItem } from '../lambdas/adapters/aws/dynamo-exception-repository.ts';
import { orderItem } from '../lambdas/adapters/aws/dynamo-order-repository.ts';
import { clockItem, DynamoSlaClockStore } from '../lambdas/adapters/aws/dynamo-sla-clock-store.ts';
import { toCanonicalOrder } from '../lambdas/adapters/erp/sales-order.ts';
import { canTransition } from '../lambdas/core/order-lifecycle.ts';
import { DEFAULT_SLA_POLICY, type SlaClock, type SlaPolicy } from '../lambdas/core/sla.ts';
import type {
  ExceptionRepository,
  OrderRecord,
  OrderRepository,
  OwnedException,
  SlaAlarmKind,
  SlaClockStore,
  StageHistoryEntry,
  StoredClock,
} from '../lambdas/ports/index.ts';
import { ConcurrentClockUpdate } from '../lambdas/shared/errors.ts';
import { orderExceptionId, sha256 } from '../lambdas/shared/ids.ts';
import { creditHoldExceptionId } from '../lambdas/use-cases/check-credit.ts';
import { vendorExceptionId } from '../lambdas/use-cases/drop-ship.ts';
import { clockKey, detectSlaAlarms, type SlaDeps, trackSlaClocks } from '../lambdas/use-cases/sla-clocks.ts';
import { sampleOrders } from '../local/demo/sample-orders.ts';
import { type Random, random } from '../sim/random.ts';

export interface WeekTables {
  readonly orders: string;
  readonly exceptions: string;
  readonly slaClocks: string;
}

export interface WeekOptions {
  /** Orders received over the week. */
  readonly orders: number;
  /** The end of the week: the local cloud's "now". */
  readonly now: Date;
  /** @default 7 */
  readonly days?: number;
  /** Orders stuck for hours to days in a non-terminal stage. @default 1.2% of the orders */
  readonly stalled?: number;
  /** BatchWriteItem requests in flight. @default 8 */
  readonly concurrency?: number;
  /** @default 20261203 */
  readonly seed?: number;
  readonly policy?: SlaPolicy;
}

export interface SeededWeek {
  readonly orders: number;
  readonly exceptions: number;
  readonly openExceptions: number;
  readonly clocks: number;
  /** Orders by current stage. */
  readonly stages: Readonly<Record<string, number>>;
  /** Exceptions by `<type> <state>`. */
  readonly exceptionKinds: Readonly<Record<string, number>>;
  /** Time to build the week in memory, and to write it. */
  readonly buildMs: number;
  readonly writeMs: number;
  readonly writeRequests: number;
  /** Orders worth showing: a closed one with exceptions and clocks, and a stalled credit hold. */
  readonly examples: { readonly closedWithExceptions: string; readonly stalled: string };
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

type Stall = 'credit-hold' | 'backordered' | 'allocated' | 'released' | 'exception';
/** Where stalled orders stop, in turn: every kind from the fifth stalled order on, holds and releases most. */
const STALLS: readonly Stall[] = [
  'credit-hold',
  'released',
  'allocated',
  'backordered',
  'exception',
  'credit-hold',
  'released',
  'credit-hold',
  'released',
  'allocated',
];

interface Step extends StageHistoryEntry {
  readonly shipmentId?: string;
}

interface Raised {
  readonly exception: OwnedException;
  /** When a person (or a redrive) resolved it, if they did. */
  readonly resolvedAt?: number;
  readonly resolution?: { outcome: 'release' | 'reject'; decidedBy: string; reason: string; tier: number };
  /** Whether the order lists it (`exceptionIds`): the workflow's exceptions, not the SLA detector's. */
  readonly onOrder: boolean;
}

/** The SLA events a stage move announces (those the clocks listen to). */
const CLOCK_EVENT: Partial<Record<OrderStage, string>> = {
  received: 'order.received',
  accepted: 'order.accepted',
  'credit-approved': 'credit.approved',
  allocated: 'allocation.confirmed',
  released: 'warehouse.released',
  shipped: 'shipment.confirmed',
  invoiced: 'invoice.issued',
  closed: 'order.closed',
  rejected: 'order.rejected',
};

const FINANCE = ['jo.finance', 'sam.credit', 'ana.credit'];
const SERVICE = ['lee.service', 'kim.service'];
const INTEGRATION = ['ops.oncall', 'ravi.integration'];

/** One order's week: its stage moves up to `now` and the exceptions raised on the way. */
class Story {
  readonly steps: Step[] = [];
  readonly raised: Raised[] = [];
  at: number;
  /** Whether the order stopped moving: time ran out, or it stalled. */
  ended = false;

  constructor(
    readonly orderId: string,
    readonly now: number,
    start: number,
  ) {
    this.at = start;
  }

  get stage(): OrderStage {
    return this.steps.at(-1)?.stage ?? 'received';
  }

  /** Moves the order `afterMs` later; false (and the story ends) when that is after now. */
  move(stage: OrderStage, afterMs: number, reasonCodes: string[], shipmentId?: string): boolean {
    if (this.ended) return false;
    if (this.steps.length > 0 && !canTransition(this.stage, stage)) {
      throw new Error(`seed: ${this.orderId} cannot move ${this.stage} → ${stage}`);
    }
    const at = this.at + Math.round(afterMs);
    if (at > this.now) {
      this.ended = true;
      return false;
    }
    this.at = at;
    this.steps.push({ stage, at: iso(at), reasonCodes, ...(shipmentId ? { shipmentId } : {}) });
    return true;
  }

  raise(raised: Raised): void {
    this.raised.push(raised);
  }
}

const iso = (ms: number) => new Date(ms).toISOString();

/** ERP sales orders of the sample set, varied by channel, service level, segment and customer. */
function erpOrder(rng: Random, templates: readonly Record<string, unknown>[], n: number, at: number) {
  const body = {
    ...rng.pick(templates),
    SalesOrder: String(4_500_000_000 + n),
    SoldToParty: `C-${String(1000 + Math.floor(rng.next() * 900))}`,
    DistributionChannel: rng.weighted([
      ['10', 70],
      ['20', 20],
      ['30', 10],
    ]),
    ShippingCondition: rng.weighted([
      ['01', 75],
      ['04', 10],
      ['02', 10],
      ['03', 5],
    ]),
    Segment: rng.weighted([
      ['MID', 50],
      ['ENT', 20],
      ['SMB', 25],
      ['B2C', 5],
    ]),
    CreationDateTime: iso(at).replace(/\.\d{3}Z$/, 'Z'),
    RequestedDeliveryDate: iso(at + Math.round(rng.between(3, 8)) * DAY)
      .slice(0, 10)
      .replace(/-/g, ''),
  };
  const mapped = toCanonicalOrder(body);
  if (!mapped.ok) throw new Error(`seed: sample order ${body.SalesOrder} does not map`);
  return mapped.value;
}

function exception(
  story: Story,
  order: CanonicalOrder,
  fields: Pick<
    OwnedException,
    'type' | 'ownerTeam' | 'priority' | 'recommendedAction' | 'reasonCodes' | 'context' | 'exceptionId'
  > & { slaHours: number; actor: string },
): OwnedException {
  const raisedAt = iso(story.at);
  const { slaHours, actor, ...rest } = fields;
  return {
    ...rest,
    state: 'open',
    stage: story.stage,
    orderId: order.orderId,
    correlationId: order.orderId,
    raisedAt,
    slaDueAt: iso(story.at + slaHours * HOUR),
    audit: [{ at: raisedAt, actor, action: 'raised', why: fields.reasonCodes.join(', ') }],
  };
}

/** The order's week: received at `start`, moving on as the paths do, unless it stalls in `stall`. */
function tell(rng: Random, order: CanonicalOrder, start: number, now: number, stall?: Stall): Story {
  const story = new Story(order.orderId, now, start);
  const nextDay = order.serviceLevel === 'next-day' || order.serviceLevel === 'expedited';
  story.move('received', 0, ['ERP_SALES_ORDER']);
  if (!story.move('accepted', rng.between(1, 3) * MINUTE, ['DEFAULT_STANDARD'])) return story;

  const value = order.lines.reduce((sum, line) => sum + line.quantity * line.unitPrice, 0);
  if (stall === 'credit-hold' || rng.chance(0.03)) {
    if (!story.move('credit-hold', rng.between(1, 2) * MINUTE, ['OVER_CREDIT_LIMIT'])) return story;
    const limit = Math.round(rng.between(5_000, 50_000));
    const hold = exception(story, order, {
      exceptionId: creditHoldExceptionId(order.orderId),
      type: 'credit-hold',
      ownerTeam: 'finance',
      priority: order.customer.priority === 'key-account' ? 'high' : 'normal',
      recommendedAction: `Customer ${order.customer.id} would be over its credit limit by ${Math.round(value)} ${order.currency}: release if payment is confirmed, else reject.`,
      reasonCodes: ['OVER_CREDIT_LIMIT'],
      context: {
        ladder: 'standard-finance-hold',
        orderValue: value,
        currency: order.currency,
        customerId: order.customer.id,
        creditLimit: limit,
        exposure: limit - Math.round(value / 2),
        exposureAfterOrder: limit + Math.round(value / 2),
        headroomAfterOrder: -Math.round(value / 2),
      },
      slaHours: 4,
      actor: 'handoff:credit-check',
    });
    const decidedAfter = stall === 'credit-hold' ? Number.POSITIVE_INFINITY : rng.between(0.3, 6) * HOUR;
    const rejected = rng.chance(0.1);
    story.raise({
      exception: {
        ...hold,
        awaiting: {
          tier: 1,
          role: 'credit-controller',
          taskToken: `token-${order.orderId}`,
          since: hold.raisedAt,
        },
      },
      onOrder: true,
      ...(Number.isFinite(decidedAfter)
        ? {
            resolvedAt: story.at + decidedAfter,
            resolution: {
              outcome: rejected ? 'reject' : 'release',
              decidedBy: rng.pick(FINANCE),
              reason: rejected ? 'No payment plan agreed' : 'Payment received',
              tier: 1,
            },
          }
        : {}),
    });
    if (stall === 'credit-hold') return story;
    if (rejected) {
      story.move('rejected', decidedAfter, ['CREDIT_REJECTED_BY_REVIEW']);
      return story;
    }
    if (!story.move('credit-approved', decidedAfter, ['CREDIT_RELEASED_BY_REVIEW'])) return story;
  } else if (rng.chance(0.01)) {
    story.move('rejected', rng.between(1, 2) * MINUTE, ['ACCOUNT_CLOSED']);
    return story;
  } else if (!story.move('credit-approved', rng.between(1, 2) * MINUTE, ['WITHIN_LIMIT'])) return story;

  const lines = order.lines.map((l) => ({ lineNo: l.lineNo, sku: l.sku, quantity: l.quantity }));
  const vendorShort = (stall === 'exception' && rng.chance(0.5)) || rng.chance(0.004);
  if (vendorShort) {
    if (!story.move('exception', rng.between(2, 10) * MINUTE, ['VENDOR_CANNOT_CONFIRM'])) return story;
    const short = exception(story, order, {
      exceptionId: vendorExceptionId(order.orderId),
      type: 'shortage',
      ownerTeam: 'customer-service',
      priority: order.customer.priority === 'key-account' ? 'high' : 'normal',
      recommendedAction: `The vendor cannot confirm ${order.orderId} by its promise date: offer a substitute, agree a new date or cancel.`,
      reasonCodes: ['VENDOR_CANNOT_CONFIRM'],
      context: { promiseDate: order.promiseDate, rejectedLines: lines.slice(0, 1) },
      slaHours: 8,
      actor: 'handoff:drop-ship',
    });
    const after = stall === 'exception' ? Number.POSITIVE_INFINITY : rng.between(2, 24) * HOUR;
    story.raise({
      exception: short,
      onOrder: true,
      ...(Number.isFinite(after)
        ? {
            resolvedAt: story.at + after,
            resolution: {
              outcome: 'release',
              decidedBy: rng.pick(SERVICE),
              reason: 'New date agreed',
              tier: 1,
            },
          }
        : {}),
    });
    if (stall === 'exception' || !story.move('allocated', after, ['VENDOR_DATE_AGREED'])) return story;
  } else if (stall === 'backordered' || rng.chance(0.012)) {
    if (!story.move('backordered', rng.between(1, 3) * MINUTE, ['NO_STOCK_AT_ANY_SITE'])) return story;
    if (stall === 'backordered') return story;
    if (!story.move('allocated', rng.between(1, 3) * DAY, ['RECEIPT_FILLS_BACKORDER'])) return story;
  } else if (!story.move('allocated', rng.between(1, 3) * MINUTE, ['PREFERRED_SITE_FILLS_ORDER']))
    return story;
  if (stall === 'allocated') return story;

  const wave = nextDay ? rng.between(10, 60) * MINUTE : rng.between(0.5, 8) * HOUR;
  if (stall === 'exception' || rng.chance(0.008)) {
    if (!story.move('exception', rng.between(1, 5) * MINUTE, ['STEP_FAILED:ReleaseToWarehouse']))
      return story;
    const failure = exception(story, order, {
      exceptionId: orderExceptionId(
        order.orderId,
        sha256(`ReleaseToWarehouse|PartnerUnavailable|${order.orderId}`).slice(0, 12),
        'STEP',
      ),
      type: 'integration-failure',
      ownerTeam: 'integration',
      priority: 'high',
      recommendedAction:
        'The partner system did not answer after retries: check its status, then redrive the order.',
      reasonCodes: ['STEP_FAILED:ReleaseToWarehouse'],
      context: {
        failedStep: 'ReleaseToWarehouse',
        error: 'PartnerUnavailable',
        cause: 'WMS answered 503 Service Unavailable after 3 attempts',
        stageAtFailure: 'allocated',
      },
      slaHours: 2,
      actor: 'handoff:step-failure',
    });
    const after = stall === 'exception' ? Number.POSITIVE_INFINITY : rng.between(0.5, 6) * HOUR;
    story.raise({
      exception: failure,
      onOrder: true,
      ...(Number.isFinite(after)
        ? {
            resolvedAt: story.at + after,
            resolution: { outcome: 'release', decidedBy: rng.pick(INTEGRATION), reason: 'Redriven', tier: 0 },
          }
        : {}),
    });
    if (stall === 'exception' || !story.move('released', after, ['REDRIVEN'])) return story;
  } else if (!story.move('released', wave, ['SHIPS_TODAY_BEFORE_CUTOFF'])) return story;
  if (stall === 'released') return story;

  const shipmentId = `SHP-${order.orderId.slice(4)}-1`;
  const shipped = (nextDay ? rng.between(1, 6) : rng.between(2, 20)) * HOUR;
  if (
    !story.move(
      'shipped',
      shipped,
      [`SHIPMENT_CONFIRMED:${shipmentId}`, 'SHIPMENT_COMPLETES_RELEASE'],
      shipmentId,
    )
  )
    return story;
  if (
    !story.move(
      'invoiced',
      rng.between(10, 60) * MINUTE,
      [`INVOICE_ISSUED:INV-${order.orderId.slice(4)}`],
      shipmentId,
    )
  )
    return story;
  story.move('closed', rng.between(1, 3) * MINUTE, ['FULLY_INVOICED']);
  return story;
}

/** An SLA clock store in memory, for one order: what the tracker and detector would have written. */
class MemoryClockStore implements SlaClockStore {
  readonly stored = new Map<
    string,
    StoredClock & { readonly dueAt: Date | undefined; readonly writtenAt: Date }
  >();

  async clocksOf(): Promise<StoredClock[]> {
    return [...this.stored.values()].map(({ clock, version, outbox }) => ({ clock, version, outbox }));
  }

  async save(
    clock: SlaClock,
    state: { readonly outbox: readonly SlaAlarmKind[]; readonly dueAt?: Date },
    expectedVersion: number,
    now: Date,
  ): Promise<StoredClock> {
    const key = clockKey(clock.stage, clock.instance);
    if ((this.stored.get(key)?.version ?? 0) !== expectedVersion)
      throw new ConcurrentClockUpdate(clock.orderId, key);
    const saved = { clock, version: expectedVersion + 1, outbox: [...state.outbox] };
    this.stored.set(key, { ...saved, dueAt: state.dueAt, writtenAt: now });
    return saved;
  }

  async *dueClocks(_since: Date, now: Date): AsyncGenerator<StoredClock> {
    for (const { clock, version, outbox, dueAt } of [...this.stored.values()]) {
      if (dueAt && dueAt.getTime() <= now.getTime()) yield { clock, version, outbox };
    }
  }

  /** The earliest instant the detector must look at one of the clocks. */
  nextDue(): number | undefined {
    const due = [...this.stored.values()].flatMap((s) => (s.dueAt ? [s.dueAt.getTime()] : []));
    return due.length ? Math.min(...due) : undefined;
  }

  async checkpoint(): Promise<Date | undefined> {
    return undefined;
  }

  async setCheckpoint(): Promise<void> {}
}

const unsupported = async (): Promise<never> => {
  throw new Error('seed: not used by SLA tracking');
};

/**
 * The order's clocks as the tracker makes them from its stage moves, with the detector run (every minute,
 * as deployed) whenever one of them falls due before the next move and before now. Breach exceptions the
 * detector raises are collected.
 */
async function trackClocks(
  record: OrderRecord,
  steps: readonly Step[],
  now: number,
  policy: SlaPolicy,
): Promise<{ store: MemoryClockStore; breaches: OwnedException[] }> {
  const store = new MemoryClockStore();
  const breaches: OwnedException[] = [];
  let at = Date.parse(record.receivedAt);
  const orders: OrderRepository = {
    get: async () => {
      const stage = steps.filter((s) => Date.parse(s.at) <= at).at(-1)?.stage ?? 'received';
      return { ...record, stage };
    },
    createIfAbsent: unsupported,
    annotate: unsupported,
    transition: unsupported,
  };
  const exceptions: ExceptionRepository = {
    raiseIfAbsent: async (e) => {
      if (breaches.some((b) => b.exceptionId === e.exceptionId)) return { created: false };
      breaches.push(e);
      return { created: true };
    },
    get: unsupported,
    awaitDecision: unsupported,
    resolve: unsupported,
  };
  const deps: SlaDeps = {
    clocks: store,
    orders,
    exceptions,
    events: { publish: async () => undefined },
    clock: { now: () => new Date(at) },
    policy,
  };
  const detectUntil = async (until: number) => {
    for (let runs = 0; runs < 50; runs++) {
      const due = store.nextDue();
      if (due === undefined || due > until) return;
      // The detector runs on the minute.
      at = Math.max(at, Math.ceil(due / MINUTE) * MINUTE);
      if (at > until) return;
      await detectSlaAlarms(deps);
    }
  };
  for (const step of steps) {
    const name = CLOCK_EVENT[step.stage];
    if (!name) continue;
    const stepAt = Date.parse(step.at);
    await detectUntil(stepAt);
    at = stepAt;
    await trackSlaClocks(
      {
        name,
        detail: {
          orderId: record.orderId,
          occurredAt: step.at,
          ...(step.shipmentId ? { shipmentId: step.shipmentId } : {}),
        },
      },
      deps,
    );
  }
  await detectUntil(now);
  return { store, breaches };
}

/** Builds the week in memory, then writes it; returns what was written. */
export async function seedWeek(
  client: DynamoDBClient,
  tables: WeekTables,
  options: WeekOptions,
): Promise<SeededWeek> {
  const started = performance.now();
  const rng = random(options.seed ?? 20_261_203);
  const now = options.now.getTime();
  const days = options.days ?? 7;
  const policy = options.policy ?? DEFAULT_SLA_POLICY;
  const stalledCount = options.stalled ?? Math.round(options.orders * 0.012);
  const templates = sampleOrders(options.now, 'SEED')
    .map((s) => s.body)
    .filter((body) => toCanonicalOrder(body).ok);

  const orderItems: Record<string, AttributeValue>[] = [];
  const exceptionItems: Record<string, AttributeValue>[] = [];
  const clockItems: Record<string, AttributeValue>[] = [];
  const stages: Record<string, number> = {};
  const exceptionKinds: Record<string, number> = {};
  let openExceptions = 0;
  const examples = { closedWithExceptions: '', stalled: '' };
  let bestClosed = 0;

  const addException = (e: OwnedException) => {
    exceptionItems.push(exceptionItem(e));
    const kind = `${e.type} ${e.state}`;
    exceptionKinds[kind] = (exceptionKinds[kind] ?? 0) + 1;
    if (e.state === 'open') openExceptions += 1;
  };

  for (let n = 0; n < options.orders; n++) {
    const stall = n < stalledCount ? STALLS[n % STALLS.length] : undefined;
    // Stalled orders are older than a few hours; the rest arrive evenly over the week.
    const receivedAt = Math.floor(
      stall ? now - rng.between(8 * HOUR, (days - 1) * DAY) : now - rng.next() * days * DAY,
    );
    const order = erpOrder(rng, templates, n, receivedAt);
    const story = tell(rng, order, receivedAt, now, stall);
    const last = story.steps.at(-1);
    const path = rng.weighted(FULFILMENT_PATHS.slice(0, 3).map((p, i) => [p, [80, 15, 5][i] ?? 1] as const));
    const accepted = story.steps.some((s) => s.stage === 'accepted');
    const onOrder = story.raised.filter((r) => r.onOrder).map((r) => r.exception.exceptionId);
    const record: OrderRecord = {
      orderId: order.orderId,
      order,
      stage: story.stage,
      version: story.steps.length,
      payloadHash: sha256(JSON.stringify(order)),
      receivedAt: iso(receivedAt),
      updatedAt: last?.at ?? iso(receivedAt),
      stageHistory: story.steps.map(({ stage, at, reasonCodes }) => ({ stage, at, reasonCodes })),
      ...(accepted ? { path, executionName: order.orderId } : {}),
      ...(onOrder.length ? { exceptionIds: onOrder } : {}),
    };
    orderItems.push(orderItem(record));
    stages[record.stage] = (stages[record.stage] ?? 0) + 1;

    for (const r of story.raised) {
      const resolved = r.resolvedAt !== undefined && r.resolvedAt <= now && r.resolution;
      const { awaiting: _awaiting, ...settled } = r.exception;
      addException(
        resolved
          ? {
              ...settled,
              state: 'resolved',
              resolution: { ...r.resolution, decidedAt: iso(r.resolvedAt ?? now) },
              audit: [
                ...r.exception.audit,
                {
                  at: iso(r.resolvedAt ?? now),
                  actor: r.resolution.decidedBy,
                  action: r.resolution.outcome === 'release' ? 'released' : 'rejected',
                  why: r.resolution.reason,
                },
              ],
            }
          : r.exception,
      );
    }

    const { store, breaches } = await trackClocks(record, story.steps, now, policy);
    for (const saved of store.stored.values()) {
      clockItems.push(
        clockItem(
          saved.clock,
          { outbox: saved.outbox, ...(saved.dueAt ? { dueAt: saved.dueAt } : {}) },
          saved.version,
          saved.writtenAt,
        ),
      );
    }
    for (const breach of breaches) {
      // The owner team closes a breach once the order has moved past the stage.
      const clock = [...store.stored.values()].find((s) =>
        breach.reasonCodes.includes(`SLA_STAGE:${s.clock.stage}`),
      )?.clock;
      const endedAt = clock?.stoppedAt ?? clock?.cancelledAt;
      const closedAt = endedAt ? Date.parse(endedAt) + rng.between(5, 60) * MINUTE : undefined;
      addException(
        closedAt !== undefined && closedAt <= now
          ? {
              ...breach,
              state: 'resolved',
              resolution: {
                outcome: 'release',
                decidedBy: `${breach.ownerTeam}.lead`,
                decidedAt: iso(closedAt),
                reason: 'Order moved on',
                tier: 1,
              },
              audit: [
                ...breach.audit,
                {
                  at: iso(closedAt),
                  actor: `${breach.ownerTeam}.lead`,
                  action: 'released',
                  why: 'Order moved on',
                },
              ],
            }
          : breach,
      );
    }
    const exceptionsOfOrder = story.raised.length + breaches.length;
    if (record.stage === 'closed' && exceptionsOfOrder > bestClosed && store.stored.size >= 4) {
      bestClosed = exceptionsOfOrder;
      examples.closedWithExceptions = record.orderId;
    }
    if (stall === 'credit-hold' && !examples.stalled) examples.stalled = record.orderId;
  }

  // Messages that reached the ingress DLQ: integration exceptions keeping the payload, most redriven.
  const dlqMessages = Math.max(1, Math.round(options.orders / 1000));
  for (let i = 0; i < dlqMessages; i++) {
    const body = JSON.stringify({ ...rng.pick(templates), SalesOrder: `DLQ-${i}` });
    const raisedAt = now - rng.next() * days * DAY;
    const messageId = sha256(`dlq|${i}`).slice(0, 32);
    const raised: OwnedException = {
      exceptionId: `EXC-DLQ-${sha256(`ErpIngressDlq|${messageId}`).slice(0, 24)}`,
      type: 'integration-failure',
      ownerTeam: 'integration',
      priority: 'high',
      state: 'open',
      stage: 'received',
      orderId: `ERP-DLQ-${i}`,
      correlationId: `ERP-DLQ-${i}`,
      raisedAt: iso(raisedAt),
      slaDueAt: iso(raisedAt + 4 * HOUR),
      recommendedAction:
        'ERP sales orders: this one reached ErpIngressDlq. Read the kept payload and cause, fix the data or the partner, then run `handoff dlq redrive --queue ErpIngressDlq`.',
      reasonCodes: ['DEAD_LETTER', 'DLQ:ErpIngressDlq'],
      context: { queue: 'ErpIngressDlq', messageId, receiveCount: 5, payload: body },
      audit: [
        {
          at: iso(raisedAt),
          actor: 'handoff:dead-letter-intake',
          action: 'raised',
          why: `message ${messageId}`,
        },
      ],
    };
    const redrivenAt = raisedAt + rng.between(1, 8) * HOUR;
    addException(
      redrivenAt <= now && rng.chance(0.8)
        ? {
            ...raised,
            state: 'resolved',
            resolution: {
              outcome: 'release',
              decidedBy: 'ops.oncall',
              decidedAt: iso(redrivenAt),
              reason: 'redriven from ErpIngressDlq',
              tier: 0,
            },
            audit: [
              ...raised.audit,
              {
                at: iso(redrivenAt),
                actor: 'ops.oncall',
                action: 'redriven',
                why: 'redriven from ErpIngressDlq',
              },
            ],
          }
        : raised,
    );
  }
  const buildMs = performance.now() - started;

  const writing = performance.now();
  const requests = [
    ...batches(tables.orders, orderItems),
    ...batches(tables.exceptions, exceptionItems),
    ...batches(tables.slaClocks, clockItems),
  ];
  await inParallel(requests, options.concurrency ?? 8, (request) => writeBatch(client, request));
  // The detector has run up to now: its checkpoint, written as it writes it.
  await new DynamoSlaClockStore(client, tables.slaClocks).setCheckpoint(
    new Date(Math.floor(now / MINUTE) * MINUTE),
  );
  return {
    orders: orderItems.length,
    exceptions: exceptionItems.length,
    openExceptions,
    clocks: clockItems.length,
    stages,
    exceptionKinds,
    buildMs,
    writeMs: performance.now() - writing,
    writeRequests: requests.length,
    examples,
  };
}

type WriteRequests = Record<string, { PutRequest: { Item: Record<string, AttributeValue> } }[]>;

function batches(table: string, items: readonly Record<string, AttributeValue>[]): WriteRequests[] {
  const out: WriteRequests[] = [];
  for (let i = 0; i < items.length; i += 25) {
    out.push({ [table]: items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } })) });
  }
  return out;
}

/** Writes one batch, again for its unprocessed items, and again when a kept-alive socket was closed under it. */
async function writeBatch(client: DynamoDBClient, request: WriteRequests): Promise<void> {
  let pending: WriteRequests | undefined = request;
  let dropped = 0;
  for (let attempt = 0; pending && Object.keys(pending).length > 0; attempt++) {
    if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 20 * 2 ** attempt)));
    try {
      const { UnprocessedItems }: { UnprocessedItems?: Record<string, unknown[]> } = await client.send(
        new BatchWriteItemCommand({ RequestItems: pending }),
      );
      pending = UnprocessedItems as WriteRequests | undefined;
    } catch (error) {
      // DynamoDB Local closes connections left idle while the week was built; the SDK does not resend.
      const code = (error as { code?: string }).code;
      if ((code !== 'ECONNRESET' && code !== 'EPIPE') || ++dropped > 3) throw error;
    }
  }
}

async function inParallel<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const item = items[next++] as T;
        await work(item);
      }
    }),
  );
}
