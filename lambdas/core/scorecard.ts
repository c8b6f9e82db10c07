import { EVENT_CATALOGUE, EVENT_NAMES, type EventName } from '../../contracts/events.ts';
import { InvalidInputError } from './errors.ts';
import type {
  CountedKey,
  Distribution,
  GroupedPercentiles,
  Percentiles,
  ProcessEvent,
  Rate,
  Scorecard,
  ScorecardWindow,
  SeriesPoint,
  TeamAdherence,
} from './scorecard-model.ts';
import {
  alarmsDue,
  applyChange,
  cancelClock,
  clockChanges,
  DEFAULT_SLA_POLICY,
  elapsedSeconds,
  type OrderSlaAttributes,
  type SlaClock,
  type SlaPolicy,
  targetFor,
  workingSecondsBetween,
} from './sla.ts';
import { isOneOf, OWNER_TEAMS, SLA_STAGES, type SlaStage } from './vocabulary.ts';

/**
 * The process-intelligence scorecard, computed from the process log (one compact record per canonical
 * event). Pure: no I/O, no clock — "now" is passed in.
 *
 * Reading the log
 * - Events are de-duplicated by `id` (a redelivery), then sorted by occurredAt (then publishedAt, then id),
 *   so arrival order never matters. Events whose occurredAt is not an instant are dropped.
 * - An entity announced twice under different event ids (a retried publish) counts once, the earliest:
 *   one order.received and one order.accepted per order (a redelivered sales order may announce both
 *   again), one shipment.confirmed per order+shipmentId, one invoice.issued per invoiceId, one
 *   allocation.confirmed per reservationId, one exception.raised/resolved per exceptionId, one
 *   inventory.received per receiptId.
 * - `asOf` = the earlier of window.to and options.now: events at or after it are ignored. `generatedAt` is
 *   options.now, else window.to. `events` counts the distinct business events that occurred in [from,
 *   asOf): after the rule above, so a fact announced twice counts once and the figure does not depend on
 *   whether a redelivery overtook the first delivery.
 *
 * Scope
 * - Orders of the window: order.received with from ≤ occurredAt < asOf. Order-scoped measures (cycle
 *   time, allocation accuracy, shipping, backorders, SLA) follow these orders through every event of
 *   theirs before asOf, even after the window's end events of older orders are ignored.
 * - Time-scoped measures count what happened in [from, asOf) whatever the order: exceptions raised,
 *   integration failures, manual resolutions, inventory receipts. Queue depth also uses exceptions raised
 *   before the window that are still open in it.
 *
 * Numbers
 * - Durations are whole seconds (rounded); rates are fractions rounded to 4 decimals, null when nothing
 *   was measured.
 * - Percentiles are nearest-rank: the value at rank ⌈p·n⌉ (1-based) of the ascending measurements, so
 *   always an observed value; null when n = 0.
 * - Grouped percentiles (channel, segment, facility) and team lists are sorted by key. CountedKey lists
 *   are sorted by count (descending), then key; backorder ageing keeps its buckets' age order.
 */

export class InvalidScorecardInput extends InvalidInputError {
  override name = 'InvalidScorecardInput';
}

// ---------------------------------------------------------------------------------------------------------
// Projection: the event as the process log keeps it
// ---------------------------------------------------------------------------------------------------------

/** Lines listed per event: enough to compare quantities line by line on ordinary orders, small on big ones. */
export const MAX_LISTED_LINES = 25;
const MAX_TEXT = 80;
const MAX_REASON_CODES = 3;

type Data = Record<string, unknown>;

const isRecord = (value: unknown): value is Data =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const recordOf = (value: unknown): Data => (isRecord(value) ? value : {});
const text = (value: unknown, max = MAX_TEXT): string | undefined =>
  typeof value === 'string' && value.length > 0 ? value.slice(0, max) : undefined;
const numeric = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isFinite(value) ? value : undefined;
const flag = (value: unknown): boolean | undefined => (typeof value === 'boolean' ? value : undefined);

function reasonCodes(value: unknown): string[] | undefined {
  if (!Array.isArray(value)) return undefined;
  return value
    .map((code) => text(code, 60))
    .filter((code): code is string => code !== undefined)
    .slice(0, MAX_REASON_CODES);
}

/** Drops absent fields, so a record carries only what was read. */
function compact(fields: Data): Data {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));
}

/**
 * An event's lines as `lines` (up to MAX_LISTED_LINES [lineNo, quantity] pairs, in the event's order),
 * `lineCount` (well-formed lines in all) and `quantity` (their total): a big order's lines are summarised,
 * and `lineCount > lines.length` says the list was capped.
 */
function lineSummary(value: unknown): Data {
  if (!Array.isArray(value)) return {};
  const lines: [number, number][] = [];
  let lineCount = 0;
  let quantity = 0;
  for (const line of value) {
    const lineNo = numeric(recordOf(line).lineNo);
    const lineQuantity = numeric(recordOf(line).quantity);
    if (lineNo === undefined || lineQuantity === undefined) continue;
    lineCount++;
    quantity += lineQuantity;
    if (lines.length < MAX_LISTED_LINES) lines.push([lineNo, lineQuantity]);
  }
  return { lines, lineCount, quantity };
}

const PROJECTIONS: { readonly [N in EventName]: (detail: Data) => Data } = {
  'order.received': (d) => {
    const order = recordOf(d.order);
    const customer = recordOf(order.customer);
    return {
      channel: text(order.channel),
      segment: text(customer.segment),
      serviceLevel: text(order.serviceLevel),
      lineCount: Array.isArray(order.lines) ? order.lines.length : undefined,
      requestedSiteId: text(order.requestedSiteId),
    };
  },
  'order.accepted': (d) => ({ path: text(d.path), reasonCodes: reasonCodes(d.reasonCodes) }),
  'order.rejected': (d) => ({ stage: text(d.stage), reasonCodes: reasonCodes(d.reasonCodes) }),
  'credit.hold.placed': (d) => ({
    exceptionId: text(d.exceptionId),
    reasonCodes: reasonCodes(d.reasonCodes),
  }),
  'credit.approved': (d) => ({ approvedBy: text(d.approvedBy, 120) }),
  'credit.hold.released': (d) => ({ exceptionId: text(d.exceptionId), releasedBy: text(d.releasedBy, 120) }),
  'allocation.confirmed': (d) => ({
    siteId: text(d.siteId),
    reservationId: text(d.reservationId),
    partial: flag(d.partial),
    ...lineSummary(d.lines),
  }),
  'allocation.shortage': (d) => ({
    siteId: text(d.siteId),
    terms: text(d.terms),
    shortLineCount: Array.isArray(d.shortLines) ? d.shortLines.length : undefined,
  }),
  'substitution.proposed': (d) => ({ lineNo: numeric(d.lineNo), requiresApproval: flag(d.requiresApproval) }),
  'substitution.decided': (d) => ({ lineNo: numeric(d.lineNo), decision: text(d.decision) }),
  'backorder.created': (d) => ({ expectedAt: text(d.expectedAt), ...lineSummary(d.lines) }),
  'backorder.filled': (d) => ({ siteId: text(d.siteId), ...lineSummary(d.lines) }),
  'backorder.aged': (d) => ({
    backorderId: text(d.backorderId),
    lineNo: numeric(d.lineNo),
    outstandingQuantity: numeric(d.outstandingQuantity),
    action: text(d.action),
    orderCancelled: flag(d.orderCancelled),
  }),
  'inventory.received': (d) => ({
    receiptId: text(d.receiptId),
    siteId: text(d.siteId),
    sku: text(d.sku, 64),
    quantity: numeric(d.quantity),
  }),
  'release.deferred': (d) => ({ releaseAt: text(d.releaseAt, 30) }),
  'warehouse.released': (d) => ({ siteId: text(d.siteId), shipBy: text(d.shipBy, 10) }),
  'shipment.booked': (d) => ({
    shipmentId: text(d.shipmentId),
    siteId: text(d.siteId),
    carrier: text(d.carrier),
  }),
  'shipment.confirmed': (d) => ({
    shipmentId: text(d.shipmentId),
    siteId: text(d.siteId),
    shippedAt: text(d.shippedAt, 40),
    partial: flag(d.partial),
    ...lineSummary(d.lines),
  }),
  'shipment.delivered': (d) => ({ shipmentId: text(d.shipmentId), deliveredAt: text(d.deliveredAt, 40) }),
  'invoice.issued': (d) => ({ invoiceId: text(d.invoiceId), shipmentId: text(d.shipmentId) }),
  'exception.raised': (d) => ({
    exceptionId: text(d.exceptionId),
    type: text(d.type),
    ownerTeam: text(d.ownerTeam),
    priority: text(d.priority),
    stage: text(d.stage),
    reasonCodes: reasonCodes(d.reasonCodes),
  }),
  'exception.escalated': (d) => ({
    exceptionId: text(d.exceptionId),
    tier: numeric(d.tier),
    ownerTeam: text(d.ownerTeam),
  }),
  'exception.resolved': (d) => ({
    exceptionId: text(d.exceptionId),
    resolution: text(d.resolution),
    resolvedBy: text(d.resolvedBy, 120),
  }),
  'sla.jeopardy': (d) => ({
    stage: text(d.stage),
    ownerTeam: text(d.ownerTeam),
    targetSeconds: numeric(d.targetSeconds),
    elapsedSeconds: numeric(d.elapsedSeconds),
  }),
  'sla.breached': (d) => ({
    stage: text(d.stage),
    ownerTeam: text(d.ownerTeam),
    targetSeconds: numeric(d.targetSeconds),
    overrunSeconds: numeric(d.overrunSeconds),
  }),
  'order.closed': (d) => ({ outcome: text(d.outcome), path: text(d.path) }),
};

/**
 * The fields of a detail the scorecard (and the SLA clocks it rebuilds) reads, and nothing else. Never
 * throws: a malformed detail yields whichever fields could be read.
 */
export function projectDetail(name: EventName, detail: unknown): Readonly<Record<string, unknown>> {
  return compact(PROJECTIONS[name](recordOf(detail)));
}

const KNOWN_EVENTS = new Set<string>(Object.keys(EVENT_CATALOGUE));

/** `order.received.v1` → `order.received`; undefined for a detail type Handoff does not publish. */
function eventNameOf(detailType: unknown): EventName | undefined {
  if (typeof detailType !== 'string') return undefined;
  const name = detailType.replace(/\.v\d+$/, '');
  return KNOWN_EVENTS.has(name) ? (name as EventName) : undefined;
}

const isInstant = (value: unknown): value is string =>
  typeof value === 'string' && !Number.isNaN(Date.parse(value));

/**
 * An event of the fulfilment bus as the process log records it. Undefined for an unknown detail type;
 * otherwise a record even when the detail is malformed (missing orderId → '', missing or unreadable
 * occurredAt → the envelope's time), so one odd event never stops the recorder.
 */
export function toProcessEvent(envelope: {
  readonly id: string;
  readonly time: string;
  readonly 'detail-type': string;
  readonly detail: unknown;
}): ProcessEvent | undefined {
  const name = eventNameOf(envelope['detail-type']);
  if (!name) return undefined;
  const detail = recordOf(envelope.detail);
  return {
    id: envelope.id,
    name,
    orderId: text(detail.orderId) ?? '',
    occurredAt: isInstant(detail.occurredAt) ? detail.occurredAt : envelope.time,
    publishedAt: envelope.time,
    data: projectDetail(name, detail),
  };
}

// ---------------------------------------------------------------------------------------------------------
// Reading the log
// ---------------------------------------------------------------------------------------------------------

interface LogEvent extends ProcessEvent {
  /** occurredAt, epoch ms. */
  readonly at: number;
  /** publishedAt, epoch ms (0 when unreadable). */
  readonly publishedMs: number;
}

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
const ms = (iso: string) => Date.parse(iso);
const seconds = (fromMs: number, toMs: number) => Math.max(0, Math.round((toMs - fromMs) / 1000));
const round4 = (value: number) => Math.round(value * 10_000) / 10_000;

const str = (event: ProcessEvent, field: string): string | undefined => text(event.data[field], 200);
const num = (event: ProcessEvent, field: string): number | undefined => numeric(event.data[field]);

/** The listed [lineNo, quantity] pairs of a projected event, and whether the list was capped. */
function listedLines(event: ProcessEvent): { lines: [number, number][]; capped: boolean; quantity: number } {
  const raw = event.data.lines;
  const lines = (Array.isArray(raw) ? raw : []).filter(
    (pair): pair is [number, number] =>
      Array.isArray(pair) && numeric(pair[0]) !== undefined && numeric(pair[1]) !== undefined,
  );
  const lineCount = num(event, 'lineCount') ?? lines.length;
  const listedQuantity = lines.reduce((sum, [, quantity]) => sum + quantity, 0);
  return { lines, capped: lineCount > lines.length, quantity: num(event, 'quantity') ?? listedQuantity };
}

/** The identity of the business fact an event announces, when it has one (see "Reading the log"). */
function naturalKey(event: ProcessEvent): string | undefined {
  const key = (field: string) => {
    const value = str(event, field);
    return value === undefined ? undefined : `${event.name}|${value}`;
  };
  switch (event.name) {
    case 'order.received':
    case 'order.accepted':
    // An order ends once: a close or rejection announced again (a retried step republishes under the same key,
    // or two split-shipment workflows both find the order fully invoiced at one instant) is the same fact.
    case 'order.rejected':
    case 'order.closed':
      return `${event.name}|${event.orderId}`;
    case 'shipment.confirmed': {
      const shipment = str(event, 'shipmentId');
      return shipment === undefined ? undefined : `${event.name}|${event.orderId}|${shipment}`;
    }
    case 'invoice.issued':
      return key('invoiceId');
    case 'allocation.confirmed':
      return key('reservationId');
    case 'exception.raised':
    case 'exception.resolved':
      return key('exceptionId');
    case 'inventory.received':
      return key('receiptId');
    default:
      return undefined;
  }
}

const compareText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const LIFECYCLE = new Map<string, number>(EVENT_NAMES.map((name, i) => [name, i]));
const lifecycleRank = (name: string) => LIFECYCLE.get(name) ?? LIFECYCLE.size;

function readLog(events: readonly ProcessEvent[], asOfMs: number): LogEvent[] {
  const byId = new Map<string, LogEvent>();
  for (const event of events) {
    const at = ms(event.occurredAt);
    if (Number.isNaN(at) || at >= asOfMs) continue;
    // A redelivery is the same event: keep its first publication, whatever order the copies arrive in.
    const publishedMs = ms(event.publishedAt) || 0;
    const kept = byId.get(event.id);
    if (kept && publishedMs >= kept.publishedMs) continue;
    byId.set(event.id, { ...event, at, publishedMs });
  }
  // Events of one instant in an order that does not depend on which was published first: by their place in
  // an order's life (the catalogue's order: received before accepted, raised before escalated and
  // resolved), then by site (a split order's releases and shipments of one instant), then by id.
  const sorted = [...byId.values()].sort(
    (a, b) =>
      a.at - b.at ||
      a.publishedMs - b.publishedMs ||
      lifecycleRank(a.name) - lifecycleRank(b.name) ||
      compareText(str(a, 'siteId') ?? '', str(b, 'siteId') ?? '') ||
      compareText(a.id, b.id),
  );
  const seen = new Set<string>();
  return sorted.filter((event) => {
    const key = naturalKey(event);
    if (key === undefined) return true;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

interface OrderFacts {
  readonly orderId: string;
  readonly receivedAt: number;
  readonly channel: string;
  readonly segment: string;
  readonly sla: OrderSlaAttributes;
  /** Every event of the order before asOf, in time order. */
  readonly events: readonly LogEvent[];
}

const UNKNOWN = 'unknown';

function ordersOf(log: readonly LogEvent[], fromMs: number): OrderFacts[] {
  const received = log.filter((e) => e.name === 'order.received' && e.at >= fromMs && e.orderId !== '');
  const byOrder = new Map<string, LogEvent[]>(received.map((e) => [e.orderId, []]));
  for (const event of log) byOrder.get(event.orderId)?.push(event);
  return received.map((e) => {
    const channel = str(e, 'channel') ?? UNKNOWN;
    const segment = str(e, 'segment') ?? UNKNOWN;
    return {
      orderId: e.orderId,
      receivedAt: e.at,
      channel,
      segment,
      // An unknown value matches no override, so the stage's default target applies.
      sla: { channel, segment, serviceLevel: str(e, 'serviceLevel') ?? UNKNOWN } as OrderSlaAttributes,
      events: byOrder.get(e.orderId) ?? [],
    };
  });
}

// ---------------------------------------------------------------------------------------------------------
// Statistics
// ---------------------------------------------------------------------------------------------------------

/** Nearest rank: the ⌈p·n⌉-th smallest (p in percent, so the rank is computed in integers). */
function nearestRank(sorted: readonly number[], percent: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.max(1, Math.ceil((percent * sorted.length) / 100));
  return sorted[rank - 1] ?? null;
}

function percentiles(values: readonly number[]): Percentiles {
  const sorted = [...values].sort((a, b) => a - b);
  return { count: sorted.length, p50Seconds: nearestRank(sorted, 50), p90Seconds: nearestRank(sorted, 90) };
}

function grouped(measurements: readonly { key: string; value: number | undefined }[]): GroupedPercentiles[] {
  const groups = new Map<string, number[]>();
  for (const { key, value } of measurements) {
    const values = groups.get(key) ?? [];
    if (value !== undefined) values.push(value);
    groups.set(key, values);
  }
  return [...groups.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, values]) => ({ key, ...percentiles(values) }));
}

function rate(measured: number, hits: number): Rate {
  return { measured, hits, rate: measured === 0 ? null : round4(hits / measured) };
}

const perOrderOf = (count: number, orders: number) => (orders === 0 ? null : round4(count / orders));

function counted(keys: readonly string[], orders: number): CountedKey[] {
  const counts = new Map<string, number>();
  for (const key of keys) counts.set(key, (counts.get(key) ?? 0) + 1);
  return [...counts.entries()]
    .sort(([a, x], [b, y]) => y - x || (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, count]) => ({ key, count, perOrder: perOrderOf(count, orders) }));
}

/** Cycle-time histogram edges: a bucket holds (previous edge, edge]; the last, open bucket has no edge. */
export const CYCLE_TIME_EDGES: readonly { readonly upperSeconds: number; readonly label: string }[] = [
  { upperSeconds: 15 * 60, label: '≤15m' },
  { upperSeconds: 3600, label: '≤1h' },
  { upperSeconds: 4 * 3600, label: '≤4h' },
  { upperSeconds: 8 * 3600, label: '≤8h' },
  { upperSeconds: 86_400, label: '≤1d' },
  { upperSeconds: 2 * 86_400, label: '≤2d' },
];
const OPEN_BUCKET_LABEL = '>2d';

/**
 * `upperSeconds` lists the closed buckets' edges; `labels` and `counts` have one more entry, the open
 * bucket above the last edge.
 */
function distribution(values: readonly number[]): Distribution {
  const counts = new Array<number>(CYCLE_TIME_EDGES.length + 1).fill(0);
  for (const value of values) {
    const index = CYCLE_TIME_EDGES.findIndex((edge) => value <= edge.upperSeconds);
    const bucket = index === -1 ? CYCLE_TIME_EDGES.length : index;
    counts[bucket] = (counts[bucket] ?? 0) + 1;
  }
  return {
    upperSeconds: CYCLE_TIME_EDGES.map((edge) => edge.upperSeconds),
    labels: [...CYCLE_TIME_EDGES.map((edge) => edge.label), OPEN_BUCKET_LABEL],
    counts,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Measures
// ---------------------------------------------------------------------------------------------------------

/**
 * Order-to-release cycle time: per order of the window that was released before asOf, order.received
 * occurredAt → the first warehouse.released occurredAt (wall-clock seconds). Grouped by the order's
 * channel and customer segment (orders not yet released count in their group's key with no measurement),
 * and by facility = siteId of that first release.
 */
function orderToRelease(orders: readonly OrderFacts[]): Scorecard['orderToRelease'] {
  const measured = orders.map((order) => {
    const release = order.events.find((e) => e.name === 'warehouse.released');
    return {
      order,
      facility: release ? (str(release, 'siteId') ?? UNKNOWN) : undefined,
      value: release ? seconds(order.receivedAt, release.at) : undefined,
    };
  });
  const values = measured.flatMap((m) => (m.value === undefined ? [] : [m.value]));
  return {
    overall: percentiles(values),
    byChannel: grouped(measured.map((m) => ({ key: m.order.channel, value: m.value }))),
    bySegment: grouped(measured.map((m) => ({ key: m.order.segment, value: m.value }))),
    byFacility: grouped(
      measured.flatMap((m) => (m.facility === undefined ? [] : [{ key: m.facility, value: m.value }])),
    ),
    distribution: distribution(values),
  };
}

/**
 * Allocation accuracy, over the window's orders with at least one shipment.confirmed: each allocated line
 * (a lineNo in the order's allocation.confirmed and backorder.filled events) is measured once and hits when
 * the quantity shipped for it (sum over the order's shipment.confirmed lines) equals the quantity allocated
 * (sum over those events). When an event's line list was capped in the log (more than MAX_LISTED_LINES
 * lines), the order is compared in aggregate: its allocated lines (the events' line counts) all hit when
 * total shipped equals total allocated, none otherwise.
 */
function allocationAccuracy(orders: readonly OrderFacts[]): Rate {
  let measured = 0;
  let hits = 0;
  for (const order of orders) {
    const allocated = new Map<number, number>();
    const shipped = new Map<number, number>();
    let capped = false;
    let shipments = 0;
    let allocatedLines = 0;
    let allocatedTotal = 0;
    let shippedTotal = 0;
    for (const event of order.events) {
      const isAllocation = event.name === 'allocation.confirmed' || event.name === 'backorder.filled';
      if (!isAllocation && event.name !== 'shipment.confirmed') continue;
      const listed = listedLines(event);
      capped ||= listed.capped;
      const into = isAllocation ? allocated : shipped;
      for (const [lineNo, quantity] of listed.lines) into.set(lineNo, (into.get(lineNo) ?? 0) + quantity);
      if (isAllocation) {
        allocatedLines += num(event, 'lineCount') ?? listed.lines.length;
        allocatedTotal += listed.quantity;
      } else {
        shipments++;
        shippedTotal += listed.quantity;
      }
    }
    if (shipments === 0) continue;
    if (capped) {
      measured += allocatedLines;
      if (allocatedTotal === shippedTotal) hits += allocatedLines;
      continue;
    }
    for (const [lineNo, quantity] of allocated) {
      measured++;
      if (shipped.get(lineNo) === quantity) hits++;
    }
  }
  return rate(measured, hits);
}

/**
 * Shipping, over the window's orders:
 * - confirmationOnTime: each shipment.confirmed whose order has a warehouse.released with a shipBy (the
 *   release from the shipment's site, else the order's first release) is measured; it hits when the date
 *   of its shippedAt (as written, in its own offset) is on or before that shipBy.
 * - invoiceAligned: each invoice.issued is measured; it hits when a shipment.confirmed of the order for
 *   its shipmentId occurred at or before it (proof of shipment) AND the confirmation→invoice time, counted
 *   on the stage's calendar, is within the ship-confirmation-to-invoice target for the order's channel,
 *   service level and segment. Invoices with no such proof are `invoicedWithoutProof`.
 * - confirmationToInvoice: wall-clock seconds from that confirmation to the invoice, for invoices with proof.
 */
function shipping(orders: readonly OrderFacts[], policy: SlaPolicy): Scorecard['shipping'] {
  let onTimeMeasured = 0;
  let onTimeHits = 0;
  let invoices = 0;
  let aligned = 0;
  let withoutProof = 0;
  const toInvoice: number[] = [];
  for (const order of orders) {
    const releases = order.events.filter((e) => e.name === 'warehouse.released');
    const shipments = order.events.filter((e) => e.name === 'shipment.confirmed');
    for (const shipment of shipments) {
      const release = releases.find((r) => str(r, 'siteId') === str(shipment, 'siteId')) ?? releases[0];
      const shipBy = release ? str(release, 'shipBy') : undefined;
      const shippedOn = str(shipment, 'shippedAt')?.slice(0, 10);
      if (shipBy === undefined || shippedOn === undefined) continue;
      onTimeMeasured++;
      if (shippedOn <= shipBy) onTimeHits++;
    }
    const target = targetFor(policy, 'ship-confirmation-to-invoice', order.sla);
    for (const invoice of order.events.filter((e) => e.name === 'invoice.issued')) {
      invoices++;
      const shipmentId = str(invoice, 'shipmentId');
      const proof = shipments.find((s) => str(s, 'shipmentId') === shipmentId && s.at <= invoice.at);
      if (shipmentId === undefined || !proof) {
        withoutProof++;
        continue;
      }
      toInvoice.push(seconds(proof.at, invoice.at));
      const worked = workingSecondsBetween(target.calendar, policy.businessCalendar, proof.at, invoice.at);
      if (worked <= target.targetSeconds) aligned++;
    }
  }
  return {
    confirmationOnTime: rate(onTimeMeasured, onTimeHits),
    invoiceAligned: rate(invoices, aligned),
    invoicedWithoutProof: withoutProof,
    confirmationToInvoice: percentiles(toInvoice),
  };
}

/** Actors named `handoff:…` are Handoff itself (automation, the SLA fallback); anyone else is a person. */
export const SYSTEM_ACTOR_PREFIX = 'handoff:';

/**
 * Integration, over [from, asOf):
 * - failures: exception.raised of type integration-failure (any order, including unidentified messages);
 *   failuresPerDay = failures / the days from `from` to asOf.
 * - recovered / recoveryTime: those failures with an exception.resolved (same exceptionId) before asOf;
 *   raised occurredAt → resolved occurredAt.
 * - manualInterventions: exception.resolved (any type) in the window whose resolvedBy is a person: present
 *   and not a system actor (see SYSTEM_ACTOR_PREFIX).
 */
function integration(log: readonly LogEvent[], fromMs: number, asOfMs: number): Scorecard['integration'] {
  const resolvedAt = new Map<string, number>();
  for (const e of log) {
    const id = str(e, 'exceptionId');
    if (e.name === 'exception.resolved' && id !== undefined) resolvedAt.set(id, e.at);
  }
  const failures = log.filter(
    (e) => e.name === 'exception.raised' && e.at >= fromMs && str(e, 'type') === 'integration-failure',
  );
  const recoveries = failures.flatMap((failure) => {
    const resolved = resolvedAt.get(str(failure, 'exceptionId') ?? '');
    return resolved === undefined ? [] : [seconds(failure.at, resolved)];
  });
  const manual = log.filter((e) => {
    const by = str(e, 'resolvedBy');
    return (
      e.name === 'exception.resolved' &&
      e.at >= fromMs &&
      by !== undefined &&
      !by.startsWith(SYSTEM_ACTOR_PREFIX)
    );
  });
  const days = (asOfMs - fromMs) / DAY_MS;
  return {
    failures: failures.length,
    failuresPerDay: days > 0 ? round4(failures.length / days) : null,
    recovered: recoveries.length,
    recoveryTime: percentiles(recoveries),
    manualInterventions: manual.length,
  };
}

/**
 * Exceptions raised in [from, asOf) (any order), by stage, by root cause (exception type) and by owning
 * team at raising; perOrder = count / orders of the window. Missing fields count under `unknown`.
 */
function exceptions(log: readonly LogEvent[], fromMs: number, orders: number): Scorecard['exceptions'] {
  const raised = log.filter((e) => e.name === 'exception.raised' && e.at >= fromMs);
  const keys = (field: string) => raised.map((e) => str(e, field) ?? UNKNOWN);
  return {
    total: raised.length,
    perOrder: perOrderOf(raised.length, orders),
    byStage: counted(keys('stage'), orders),
    byCause: counted(keys('type'), orders),
    byTeam: counted(keys('ownerTeam'), orders),
  };
}

export const BACKORDER_AGE_BUCKETS: readonly { readonly key: string; readonly upToDays: number }[] = [
  { key: '0-2d', upToDays: 2 },
  { key: '2-7d', upToDays: 7 },
  { key: '7-14d', upToDays: 14 },
  { key: '>14d', upToDays: Number.POSITIVE_INFINITY },
];

/**
 * Backorders of the window's orders, one per order line (as Handoff keys them, `${orderId}-BO-${lineNo}`):
 * - created: lines in the orders' backorder.created events (a line backordered again counts once, from
 *   its first creation);
 * - filled: backordered lines whose backorder.filled quantities reached the backordered quantity;
 * - cancelled: lines a backorder.aged with action `cancelled` closed before they were filled;
 * - openAging: the rest, by age at asOf (asOf − creation) in days: (0, 2], (2, 7], (7, 14], over 14;
 *   every bucket is listed, in age order; perOrder = count / orders.
 * - partialShipment: orders with at least one shipment.confirmed are measured; one hits when it shipped in
 *   more than one shipment or any confirmation was flagged partial.
 */
function backorders(orders: readonly OrderFacts[], asOfMs: number): Scorecard['backorders'] {
  let created = 0;
  let filled = 0;
  let cancelled = 0;
  const openAges: number[] = [];
  let shippedOrders = 0;
  let partialOrders = 0;
  for (const order of orders) {
    const lines = new Map<number, { createdAt: number; quantity: number; filled: number; status: string }>();
    const shipmentIds = new Set<string>();
    let flaggedPartial = false;
    for (const event of order.events) {
      if (event.name === 'backorder.created') {
        for (const [lineNo, quantity] of listedLines(event).lines) {
          if (!lines.has(lineNo))
            lines.set(lineNo, { createdAt: event.at, quantity, filled: 0, status: 'open' });
        }
      } else if (event.name === 'backorder.filled') {
        for (const [lineNo, quantity] of listedLines(event).lines) {
          const line = lines.get(lineNo);
          if (line?.status !== 'open') continue;
          line.filled += quantity;
          if (line.filled >= line.quantity) line.status = 'filled';
        }
      } else if (event.name === 'backorder.aged' && str(event, 'action') === 'cancelled') {
        const line = lines.get(num(event, 'lineNo') ?? Number.NaN);
        if (line && line.status === 'open') line.status = 'cancelled';
      } else if (event.name === 'shipment.confirmed') {
        shipmentIds.add(str(event, 'shipmentId') ?? event.id);
        flaggedPartial ||= event.data.partial === true;
      }
    }
    for (const line of lines.values()) {
      created++;
      if (line.status === 'filled') filled++;
      else if (line.status === 'cancelled') cancelled++;
      else openAges.push((asOfMs - line.createdAt) / DAY_MS);
    }
    if (shipmentIds.size > 0) {
      shippedOrders++;
      if (shipmentIds.size > 1 || flaggedPartial) partialOrders++;
    }
  }
  const openAging = BACKORDER_AGE_BUCKETS.map((bucket, index) => {
    const lower = BACKORDER_AGE_BUCKETS[index - 1]?.upToDays ?? Number.NEGATIVE_INFINITY;
    const count = openAges.filter((age) => age > lower && age <= bucket.upToDays).length;
    return { key: bucket.key, count, perOrder: perOrderOf(count, orders.length) };
  });
  return { created, filled, cancelled, openAging, partialShipment: rate(shippedOrders, partialOrders) };
}

interface Tally {
  measured: number;
  hits: number;
  breaches: number;
  jeopardies: number;
}

const dayStart = (atMs: number) => Math.floor(atMs / DAY_MS) * DAY_MS;

/** The SLA stage of an sla.* event, when it names one. */
function slaStageOf(event: ProcessEvent): SlaStage | undefined {
  const stage = str(event, 'stage');
  return isOneOf(SLA_STAGES, stage) ? stage : undefined;
}

/**
 * The stage clocks of one order, rebuilt from its events with the SLA tracker's own rules (clockChanges,
 * applyChange, cancelClock in sla.ts) and its targets for the order's channel, service level and segment.
 */
function rebuildClocks(order: OrderFacts, policy: SlaPolicy): SlaClock[] {
  const clocks = new Map<string, SlaClock>();
  let ended: string | undefined;
  for (const event of order.events) {
    const changes = clockChanges({
      name: event.name,
      detail: {
        occurredAt: new Date(event.at).toISOString(),
        shipmentId: str(event, 'shipmentId'),
        requiresApproval: flag(event.data.requiresApproval),
        lineNo: num(event, 'lineNo'),
        outcome: str(event, 'outcome'),
        partial: flag(event.data.partial),
      },
    });
    for (const change of changes) {
      if (change.action === 'cancel-all') {
        for (const [key, clock] of clocks) clocks.set(key, cancelClock(clock, change.at));
        ended ??= change.at;
        continue;
      }
      const key = `${change.stage}#${change.instance}`;
      const seed = { orderId: order.orderId, target: targetFor(policy, change.stage, order.sla) };
      const existing = clocks.get(key);
      const next = applyChange(existing, change, seed);
      // A clock first seen after the order closed is cancelled as the closing would have (as the tracker does).
      clocks.set(key, !existing && ended ? cancelClock(next, ended) : next);
    }
  }
  return [...clocks.values()];
}

/**
 * SLA adherence per owning team (the stage's owner in the policy), over the stage clocks of the window's
 * orders rebuilt from their events up to asOf:
 * - a clock is breached when an sla.breached event exists for its order and stage, or its elapsed time
 *   (on the stage's calendar, less pauses) at its stop, cancellation or asOf exceeds its target (the
 *   detector may have been behind);
 * - it is measured when it stopped or breached: running clocks still within target, cancelled ones that
 *   never breached, and clocks stopped before they started (an invoice before its proof of shipment,
 *   reported by shipping.invoicedWithoutProof) are not;
 * - it hits when it stopped and did not breach; rate = hits / measured;
 * - an sla.breached for a clock the log cannot rebuild (its start is missing) is one measured miss;
 * - breaches = breached clocks; jeopardies = sla.jeopardy events of the window's orders (team from the
 *   event, else the stage's owner).
 * overTime buckets each measured clock on the UTC day it was measured: its stop, else its breach event,
 * else when it fell due, else its cancellation; one point per day from `from`'s day to asOf's, a team's
 * value null on a day it had nothing measured.
 */
function slaAdherence(
  orders: readonly OrderFacts[],
  policy: SlaPolicy,
  fromMs: number,
  asOfMs: number,
): Scorecard['sla'] {
  const tallies = new Map<string, Tally>();
  const daily = new Map<number, Map<string, { measured: number; hits: number }>>();
  const tally = (team: string) => {
    const found = tallies.get(team);
    if (found) return found;
    const fresh: Tally = { measured: 0, hits: 0, breaches: 0, jeopardies: 0 };
    tallies.set(team, fresh);
    return fresh;
  };
  const measure = (team: string, atMs: number, hit: boolean, breached: boolean) => {
    const t = tally(team);
    t.measured++;
    if (hit) t.hits++;
    if (breached) t.breaches++;
    const day = daily.get(dayStart(atMs)) ?? new Map<string, { measured: number; hits: number }>();
    const cell = day.get(team) ?? { measured: 0, hits: 0 };
    cell.measured++;
    if (hit) cell.hits++;
    day.set(team, cell);
    daily.set(dayStart(atMs), day);
  };
  for (const stage of SLA_STAGES) tally(policy.stages[stage].ownerTeam);

  const asOf = new Date(asOfMs);
  for (const order of orders) {
    const breachEvents = new Map<SlaStage, LogEvent>();
    for (const event of order.events) {
      const stage = slaStageOf(event);
      if (stage === undefined) continue;
      if (event.name === 'sla.breached' && !breachEvents.has(stage)) breachEvents.set(stage, event);
      if (event.name === 'sla.jeopardy')
        tally(str(event, 'ownerTeam') ?? policy.stages[stage].ownerTeam).jeopardies++;
    }
    const rebuilt = new Set<SlaStage>();
    for (const clock of rebuildClocks(order, policy)) {
      if (!clock.startedAt) continue;
      const startedAt = ms(clock.startedAt);
      const stoppedAt = clock.stoppedAt === undefined ? undefined : ms(clock.stoppedAt);
      if (stoppedAt !== undefined && stoppedAt < startedAt) continue;
      rebuilt.add(clock.stage);
      const breachEvent = breachEvents.get(clock.stage);
      const overTarget = elapsedSeconds(clock, policy.businessCalendar, asOf) > clock.target.targetSeconds;
      const breached = breachEvent !== undefined || overTarget;
      if (stoppedAt === undefined && !breached) continue;
      const fellDue = () => {
        const due = alarmsDue(clock, policy.businessCalendar, asOf).find((alarm) => alarm.kind === 'breach');
        return due ? ms(due.dueAt) : asOfMs;
      };
      const measuredAt =
        stoppedAt ?? breachEvent?.at ?? (clock.cancelledAt ? ms(clock.cancelledAt) : fellDue());
      measure(clock.target.ownerTeam, measuredAt, stoppedAt !== undefined && !breached, breached);
    }
    for (const [stage, event] of breachEvents) {
      if (!rebuilt.has(stage))
        measure(str(event, 'ownerTeam') ?? policy.stages[stage].ownerTeam, event.at, false, true);
    }
  }

  const teams = [...tallies.keys()].sort();
  const byTeam: TeamAdherence[] = teams.map((team) => {
    const t = tally(team);
    return { team, ...rate(t.measured, t.hits), breaches: t.breaches, jeopardies: t.jeopardies };
  });
  const overTime: SeriesPoint[] = [];
  for (let day = dayStart(fromMs); day < asOfMs; day += DAY_MS) {
    const cells = daily.get(day);
    overTime.push({
      bucketStart: new Date(day).toISOString(),
      values: Object.fromEntries(
        teams.map((team) => {
          const cell = cells?.get(team);
          return [team, cell ? rate(cell.measured, cell.hits).rate : null];
        }),
      ),
    });
  }
  return { byTeam, overTime };
}

/** At most this many queue-depth points (a year of hours): a longer series is a mistaken request. */
const MAX_BUCKETS = 9000;

/**
 * Queue depth: exceptions open per owning team at the end of each bucket (UTC hours or days, the first
 * aligned at or before `from`, the last ending at asOf). An exception is open at instant t when it was
 * raised before t and not resolved before t; its team is the last ownerTeam its exception.raised or
 * exception.escalated gave it before t. Every owner team is listed, 0 when its queue is empty. Uses every
 * exception in the log, also those raised before the window.
 */
function queueDepth(
  log: readonly LogEvent[],
  fromMs: number,
  asOfMs: number,
  bucket: 'hour' | 'day',
): SeriesPoint[] {
  const size = bucket === 'hour' ? HOUR_MS : DAY_MS;
  const first = Math.floor(fromMs / size) * size;
  if ((asOfMs - first) / size > MAX_BUCKETS) {
    throw new InvalidScorecardInput('bucket', `gives more than ${MAX_BUCKETS} points for this window`);
  }
  const transitions = log.filter(
    (e) =>
      (e.name === 'exception.raised' ||
        e.name === 'exception.escalated' ||
        e.name === 'exception.resolved') &&
      str(e, 'exceptionId') !== undefined,
  );
  const teams = new Set<string>(OWNER_TEAMS);
  for (const e of transitions) {
    const team = str(e, 'ownerTeam');
    if (team !== undefined) teams.add(team);
  }
  const open = new Map<string, string>();
  const resolved = new Set<string>();
  const points: SeriesPoint[] = [];
  let next = 0;
  for (let start = first; start < asOfMs; start += size) {
    const end = Math.min(start + size, asOfMs);
    for (let e = transitions[next]; e !== undefined && e.at < end; e = transitions[++next]) {
      const id = str(e, 'exceptionId') as string;
      if (e.name === 'exception.resolved') {
        resolved.add(id);
        open.delete(id);
      } else if (!resolved.has(id) && (e.name === 'exception.raised' || open.has(id))) {
        open.set(id, str(e, 'ownerTeam') ?? open.get(id) ?? UNKNOWN);
      }
    }
    const depth = Object.fromEntries([...teams].sort().map((team) => [team, 0]));
    for (const team of open.values()) depth[team] = (depth[team] ?? 0) + 1;
    points.push({ bucketStart: new Date(start).toISOString(), values: depth });
  }
  return points;
}

/**
 * ERP↔WMS inventory-sync latency: per inventory.received that occurred in [from, asOf), the hand-off time
 * from put-away (occurredAt) to the bus (publishedAt), in seconds (0 when the clocks disagree the wrong way).
 */
function inventorySyncLatency(log: readonly LogEvent[], fromMs: number): Percentiles {
  return percentiles(
    log
      .filter((e) => e.name === 'inventory.received' && e.at >= fromMs && !Number.isNaN(ms(e.publishedAt)))
      .map((e) => seconds(e.at, ms(e.publishedAt))),
  );
}

// ---------------------------------------------------------------------------------------------------------
// The scorecard
// ---------------------------------------------------------------------------------------------------------

export interface ScorecardOptions {
  /** "Now": measures stop here when it falls inside the window. @default window.to */
  readonly now?: string;
  /** Targets and owner teams. @default DEFAULT_SLA_POLICY */
  readonly slaPolicy?: SlaPolicy;
  /** Queue-depth buckets. @default 'hour' for a window of two days or less, else 'day' */
  readonly bucket?: 'hour' | 'day';
}

function instantOf(field: string, value: string | undefined): number {
  const at = value === undefined ? Number.NaN : ms(value);
  if (Number.isNaN(at)) throw new InvalidScorecardInput(field, `must be an ISO 8601 instant (got ${value})`);
  return at;
}

/** Every figure of the scorecard for the window, from the process log's events (see the definitions above). */
export function computeScorecard(
  events: readonly ProcessEvent[],
  window: ScorecardWindow,
  options: ScorecardOptions = {},
): Scorecard {
  const fromMs = instantOf('window.from', window.from);
  const toMs = instantOf('window.to', window.to);
  if (toMs <= fromMs)
    throw new InvalidScorecardInput('window.to', `must be after window.from (${window.from})`);
  const nowMs = options.now === undefined ? toMs : instantOf('now', options.now);
  const asOfMs = Math.max(fromMs, Math.min(toMs, nowMs));
  const policy = options.slaPolicy ?? DEFAULT_SLA_POLICY;
  const bucket = options.bucket ?? (toMs - fromMs <= 2 * DAY_MS ? 'hour' : 'day');

  const log = readLog(events, asOfMs);
  const orders = ordersOf(log, fromMs);
  return {
    window,
    generatedAt: options.now ?? window.to,
    orders: orders.length,
    events: log.filter((e) => e.at >= fromMs).length,
    orderToRelease: orderToRelease(orders),
    allocation: {
      accuracy: allocationAccuracy(orders),
      inventorySyncLatency: inventorySyncLatency(log, fromMs),
    },
    exceptions: exceptions(log, fromMs, orders.length),
    shipping: shipping(orders, policy),
    integration: integration(log, fromMs, asOfMs),
    backorders: backorders(orders, asOfMs),
    sla: slaAdherence(orders, policy, fromMs, asOfMs),
    queueDepth: queueDepth(log, fromMs, asOfMs, bucket),
  };
}
