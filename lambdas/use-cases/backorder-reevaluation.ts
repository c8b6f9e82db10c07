import * as z from 'zod/mini';
import { EVENT_CATALOGUE, type EventDetail } from '../../contracts/events.ts';
import type { CanonicalOrder } from '../../contracts/order.ts';
import type { OrderStage } from '../../contracts/vocabulary.ts';
import { type AllocatedLine, allocateSingleSite } from '../core/allocation.ts';
import {
  type BackorderFill,
  type BackorderLine,
  type BackorderPriority,
  type BackorderRule,
  createBackorderLines,
  reevaluateBackorders,
  sweepAgedBackorders,
} from '../core/backorder.ts';
import { priorityScore } from '../core/priority.ts';
import { decideRelease } from '../core/release.ts';
import type {
  AllocatedShipment,
  BackorderAgedNotice,
  BackorderBook,
  BackorderFillRecord,
  BackorderNotices,
  BackorderRecord,
  BackorderRules,
  CanonicalEvent,
  Clock,
  EventPublisher,
  InventoryPort,
  OrderRecord,
  OrderRepository,
  ReceiptPlan,
  SiteLogistics,
  WarehousePort,
} from '../ports/index.ts';
import { HandoffError, InvalidStepInput, OrderNotFound, PartnerRejected } from '../shared/errors.ts';
import { idempotencyKey } from '../shared/ids.ts';

/**
 * Backorder re-evaluation: when the WMS announces a receipt of a sku, the open backorders for that sku are
 * planned against available-to-promise (core reevaluateBackorders), each planned fill is reserved at the WMS
 * and recorded, an order whose backorders are all filled goes back to `allocated`, and aged backorders are
 * cancelled or notified once (core sweepAgedBackorders).
 */

// ---------------------------------------------------------------------------------------------------
// The inbound event
// ---------------------------------------------------------------------------------------------------

/** Safe inside an idempotency key and a DynamoDB key: the WMS receipt message's id. */
const ReceiptId = z.string().check(z.regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$/));

/**
 * The canonical `inventory.received` detail as re-evaluation accepts it: the catalogue's schema, with the
 * receipt id held to ReceiptId (the catalogue takes any 1-80 characters).
 */
export const InventoryReceivedDetail = z.strictObject({
  ...EVENT_CATALOGUE['inventory.received'].detail.shape,
  receiptId: ReceiptId,
});
export type InventoryReceivedDetail = EventDetail<'inventory.received'>;

/** What re-evaluation reads of a receipt. */
export type StockReceipt = Pick<
  InventoryReceivedDetail,
  'receiptId' | 'sku' | 'siteId' | 'quantity' | 'occurredAt'
>;

// ---------------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------------

export class BackorderNotFound extends HandoffError {
  override readonly name = 'BackorderNotFound';
  readonly retryable = false;
  constructor(readonly backorderId: string) {
    super(`backorder ${backorderId} has no record in the backorder book`);
  }
}

/** For the BackorderBook adapter: another writer changed the backorder first. Retrying re-reads it. */
export class ConcurrentBackorderUpdate extends HandoffError {
  override readonly name = 'ConcurrentBackorderUpdate';
  readonly retryable = true;
  constructor(readonly backorderId: string) {
    super(`backorder ${backorderId} changed while it was being updated`);
  }
}

// ---------------------------------------------------------------------------------------------------
// Rules and priorities
// ---------------------------------------------------------------------------------------------------

/** Whole days a backorder stays open when the customer has no rule on record. */
export const DEFAULT_BACKORDER_MAX_AGE_DAYS = 30;

/**
 * The rule for a customer with none on record, derived from the order's terms: ship-complete customers get
 * complete-only fills, ship-partial customers partial fills of at least one unit. An aged backorder is never
 * cancelled by default: the customer is told once and the backorder stays open.
 */
export function defaultBackorderRule(order: CanonicalOrder): BackorderRule {
  return {
    maxAgeDays: DEFAULT_BACKORDER_MAX_AGE_DAYS,
    onAged: 'notify-and-keep',
    allowPartialFill: order.customer.terms.fulfilment === 'ship-partial',
    minFillQuantity: 1,
  };
}

/** Same score the router gives the order (service level + customer priority); promise date from the order. */
export function backorderPriority(order: CanonicalOrder): BackorderPriority {
  return {
    priorityScore: priorityScore(order.serviceLevel, order.customer.priority),
    promiseDate: order.promiseDate,
  };
}

/** Looks up each customer's rule once per call, falling back to the default for the order's terms. */
function ruleResolver(rules: BackorderRules): (order: CanonicalOrder) => Promise<BackorderRule> {
  const byCustomer = new Map<string, Promise<BackorderRule | undefined>>();
  return async (order) => {
    let lookup = byCustomer.get(order.customer.id);
    if (!lookup) {
      lookup = rules.ruleFor(order.customer.id);
      byCustomer.set(order.customer.id, lookup);
    }
    return (await lookup) ?? defaultBackorderRule(order);
  };
}

// ---------------------------------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------------------------------

/** Stages after allocation: the order ships what it has, and a fill is a follow-on reservation. */
const FOLLOW_ON_STAGES: readonly OrderStage[] = [
  'allocated',
  'release-deferred',
  'released',
  'shipped',
  'delivered',
  'invoiced',
];

function canTakeStock(stage: OrderStage): boolean {
  return stage === 'backordered' || FOLLOW_ON_STAGES.includes(stage);
}

/** The WMS reserves all or nothing and answers 409 when a facility cannot cover a line. */
function isInsufficientStock(error: unknown): boolean {
  return error instanceof PartnerRejected && error.status === 409;
}

async function loadOrders(
  orderIds: Iterable<string>,
  orders: OrderRepository,
): Promise<Map<string, OrderRecord | undefined>> {
  const ids = [...new Set(orderIds)];
  const records = await Promise.all(ids.map((id) => orders.get(id)));
  return new Map(ids.map((id, i) => [id, records[i]]));
}

function envelope(orderId: string, occurredAt: string) {
  return { schemaVersion: 1 as const, orderId, correlationId: orderId, occurredAt };
}

function fillLine(backorder: Pick<BackorderLine, 'lineNo' | 'sku'>, quantity: number): AllocatedLine {
  return { lineNo: backorder.lineNo, sku: backorder.sku, quantity };
}

// ---------------------------------------------------------------------------------------------------
// 1. Re-evaluate on receipt
// ---------------------------------------------------------------------------------------------------

export interface ReevaluateDeps {
  readonly orders: OrderRepository;
  readonly backorders: BackorderBook;
  readonly rules: BackorderRules;
  readonly inventory: InventoryPort;
  readonly clock: Clock;
}

/** One Map item: a planned fill and the receipt it comes from. */
export interface FillInstruction extends BackorderFill {
  readonly receiptId: string;
}

export interface ReevaluationResult {
  readonly receiptId: string;
  readonly sku: string;
  readonly siteId: string;
  readonly fillCount: number;
  /** In service order; the workflow's Map runs one ReserveAndRecordFill per item. */
  readonly fills: readonly FillInstruction[];
  readonly stillOpen: number;
  readonly skipped: number;
  /** True when the receipt was evaluated before (a redelivery): the stored plan is returned unchanged. */
  readonly replayed: boolean;
}

function toReevaluationResult(plan: ReceiptPlan, replayed: boolean): ReevaluationResult {
  return {
    receiptId: plan.receiptId,
    sku: plan.sku,
    siteId: plan.siteId,
    fillCount: plan.fills.length,
    fills: plan.fills.map((fill) => ({ ...fill, receiptId: plan.receiptId })),
    stillOpen: plan.stillOpen.length,
    skipped: Object.keys(plan.skipped).length,
    replayed,
  };
}

/**
 * Plans what a receipt fills. Open backorders of the received sku whose order can take stock (backordered, or
 * past allocation for a follow-on shipment) are served by the core against available-to-promise at every
 * site, each under its customer's rule (BackorderRules, else the default from the order's terms). No side
 * effect but the stored plan: a redelivered receipt gets the first plan back and reserves nothing new.
 */
export async function reevaluateOnReceipt(
  receipt: StockReceipt,
  deps: ReevaluateDeps,
): Promise<ReevaluationResult> {
  const earlier = await deps.backorders.findPlan(receipt.receiptId);
  if (earlier) return toReevaluationResult(earlier, true);

  const now = deps.clock.now().toISOString();
  const open = await deps.backorders.listOpenBySku(receipt.sku);
  const records = await loadOrders(
    open.map((b) => b.orderId),
    deps.orders,
  );
  const candidates: BackorderRecord[] = [];
  const skipped: Record<string, string> = {};
  for (const backorder of open) {
    const record = records.get(backorder.orderId);
    if (!record) skipped[backorder.backorderId] = 'ORDER_NOT_FOUND';
    else if (!canTakeStock(record.stage)) skipped[backorder.backorderId] = `ORDER_STAGE:${record.stage}`;
    else candidates.push(backorder);
  }

  const rules: Record<string, BackorderRule> = {};
  const priorities: Record<string, BackorderPriority> = {};
  const ruleFor = ruleResolver(deps.rules);
  let country: string | undefined;
  for (const backorder of candidates) {
    const record = records.get(backorder.orderId);
    if (!record || Object.hasOwn(rules, record.orderId)) continue;
    rules[record.orderId] = await ruleFor(record.order);
    priorities[record.orderId] = backorderPriority(record.order);
    country ??= record.order.shipTo.country;
  }

  let evaluation: Pick<ReceiptPlan, 'fills' | 'stillOpen' | 'reasonCodes'> = {
    fills: [],
    stillOpen: [],
    reasonCodes: {},
  };
  if (candidates.length > 0 && country !== undefined) {
    // Positions do not depend on the ship-to country; the port asks for one, so any candidate's will do.
    const snapshot = await deps.inventory.getStock([receipt.sku], country);
    evaluation = reevaluateBackorders({
      received: { sku: receipt.sku, siteId: receipt.siteId, quantity: receipt.quantity },
      backorders: candidates,
      positions: Object.fromEntries(snapshot.sites.map((site) => [site.siteId, site.items[receipt.sku]])),
      rules,
      priorities,
      now,
    });
  }
  const { plan, stored } = await deps.backorders.savePlanIfAbsent({
    receiptId: receipt.receiptId,
    sku: receipt.sku,
    siteId: receipt.siteId,
    quantity: receipt.quantity,
    evaluatedAt: now,
    fills: evaluation.fills,
    stillOpen: evaluation.stillOpen,
    reasonCodes: evaluation.reasonCodes,
    skipped,
  });
  // Told by the store, not by comparing instants: two deliveries of the receipt can be evaluated at the same
  // instant (always, on a frozen virtual clock), and the second must still say it replayed the first.
  return toReevaluationResult(plan, !stored);
}

// ---------------------------------------------------------------------------------------------------
// 2. Fill one backorder
// ---------------------------------------------------------------------------------------------------

export interface FillDeps {
  readonly orders: OrderRepository;
  readonly backorders: BackorderBook;
  readonly rules: BackorderRules;
  readonly inventory: InventoryPort;
  /** Releases a follow-on fill of an order already handed to the warehouse. */
  readonly warehouse: WarehousePort;
  readonly events: EventPublisher;
  readonly clock: Clock;
}

export type FillOutcome =
  /** Units reserved at the WMS and recorded (now or on an earlier attempt). */
  | 'reserved'
  /** The WMS refused the reservation (409): the backorder stays open with the reason. */
  | 'left-open'
  /** The backorder was filled, cancelled or shrunk by someone else since the plan: nothing to do. */
  | 'superseded'
  /** The order cannot take stock now (e.g. in exception or closed): the backorder is left as it is. */
  | 'skipped';

export interface FillResult {
  readonly orderId: string;
  readonly backorderId: string;
  readonly outcome: FillOutcome;
  /** Units reserved by this receipt for this backorder (0 unless reserved). */
  readonly quantity: number;
  /** Units the backorder still waits for. */
  readonly remaining: number;
  /** True when the order is back at allocated (all its backorders filled) and waits for its warehouse release. */
  readonly releaseOrder: boolean;
  readonly reasonCodes: readonly string[];
}

/** The WMS key of one receipt's fill of one backorder: a retried step or a redelivered receipt replays it. */
export function fillReservationKey(backorderId: string, receiptId: string): string {
  return idempotencyKey(backorderId, 'fill', receiptId);
}

/** Receipt id of the fills of held lines: lines never backordered nor reserved (see fillHeldLines). */
const HELD_LINES_RECEIPT = 'HELD-LINES';

/**
 * Claims, reserves and confirms one fill. The claim is taken first so two receipts cannot fill the same units;
 * the reservation then carries the backorder + receipt key, so a retry after a lost answer replays it.
 */
async function reserveFill(
  backorder: BackorderRecord,
  fill: { receiptId: string; siteId: string; quantity: number },
  deps: Pick<FillDeps, 'backorders' | 'inventory' | 'clock'>,
): Promise<
  | { readonly kind: 'reserved'; readonly backorder: BackorderRecord; readonly fill: ReservedFill['fill'] }
  | { readonly kind: 'left-open'; readonly backorder: BackorderRecord }
  | { readonly kind: 'superseded'; readonly backorder: BackorderRecord }
> {
  let current = backorder;
  let claim = current.fills.find((f) => f.receiptId === fill.receiptId);
  if (!claim) {
    const quantity = Math.min(fill.quantity, current.status === 'open' ? current.quantity : 0);
    if (quantity <= 0) return { kind: 'superseded', backorder: current };
    const claimed = await deps.backorders.claimFill(current.backorderId, {
      receiptId: fill.receiptId,
      siteId: fill.siteId,
      quantity,
      claimedAt: deps.clock.now().toISOString(),
    });
    current = claimed.backorder;
    claim = current.fills.find((f) => f.receiptId === fill.receiptId);
    if (!claimed.claimed || !claim) return { kind: 'superseded', backorder: current };
  }
  if (claim.status === 'reserved' && claim.reservationId !== undefined) {
    return { kind: 'reserved', backorder: current, fill: { ...claim, reservationId: claim.reservationId } };
  }

  let reservationId: string;
  try {
    ({ reservationId } = await deps.inventory.reserve({
      orderId: current.orderId,
      siteId: claim.siteId,
      lines: [fillLine(current, claim.quantity)],
      idempotencyKey: fillReservationKey(current.backorderId, fill.receiptId),
    }));
  } catch (error) {
    if (!isInsufficientStock(error)) throw error;
    const reopened = await deps.backorders.releaseClaim(current.backorderId, fill.receiptId, [
      'INSUFFICIENT_STOCK_AT_RESERVE',
    ]);
    return { kind: 'left-open', backorder: reopened };
  }
  current = await deps.backorders.confirmFill(current.backorderId, fill.receiptId, {
    reservationId,
    reservedAt: deps.clock.now().toISOString(),
  });
  return { kind: 'reserved', backorder: current, fill: { ...claim, status: 'reserved', reservationId } };
}

/** A fill the WMS confirmed, with the backorder line it belongs to. */
interface ReservedFill {
  readonly backorder: BackorderRecord;
  readonly fill: BackorderFillRecord & { readonly reservationId: string };
}

function reservedFills(backorders: readonly BackorderRecord[]): ReservedFill[] {
  return backorders.flatMap((backorder) =>
    backorder.fills.flatMap((fill) =>
      fill.status === 'reserved' && fill.reservationId !== undefined
        ? [{ backorder, fill: { ...fill, reservationId: fill.reservationId } }]
        : [],
    ),
  );
}

function allocationConfirmed(
  orderId: string,
  reserved: ReservedFill,
  partial: boolean,
  occurredAt: string,
): CanonicalEvent<'allocation.confirmed'> {
  const { backorder, fill } = reserved;
  return {
    name: 'allocation.confirmed',
    detail: {
      ...envelope(orderId, occurredAt),
      idempotencyKey: idempotencyKey(
        orderId,
        'allocation',
        `backorder:${backorder.lineNo}:${fill.receiptId}`,
      ),
      siteId: fill.siteId,
      lines: [fillLine(backorder, fill.quantity)],
      partial,
      reservationId: fill.reservationId,
    },
  };
}

/** One shipment per facility; several reservations at one facility ship together. */
function shipmentsOf(
  fills: readonly ReservedFill[],
  logistics: readonly SiteLogistics[],
  order: CanonicalOrder,
) {
  const bySite = new Map<string, ReservedFill[]>();
  for (const reserved of fills) {
    bySite.set(reserved.fill.siteId, [...(bySite.get(reserved.fill.siteId) ?? []), reserved]);
  }
  return [...bySite.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([siteId, atSite]): AllocatedShipment => {
      const quantities = new Map<number, AllocatedLine>();
      for (const { backorder, fill } of atSite) {
        const line = quantities.get(backorder.lineNo);
        quantities.set(backorder.lineNo, fillLine(backorder, (line?.quantity ?? 0) + fill.quantity));
      }
      const site = logistics.find((l) => l.siteId === siteId);
      const transitDays = site?.transitDays[order.serviceLevel];
      return {
        siteId,
        lines: [...quantities.values()].sort((a, b) => a.lineNo - b.lineNo),
        reservationId: [...new Set(atSite.map(({ fill }) => fill.reservationId))].join(','),
        ...(site ? { cutoffHourUtc: site.cutoffHourUtc } : {}),
        ...(transitDays !== undefined ? { transitDays } : {}),
      };
    });
}

/** True when the order's allocation was made from these fills (a retry after the order moved on). */
function allocatedFromFills(record: OrderRecord, reservationId: string): boolean {
  return (record.allocation?.shipments ?? []).some((s) => s.reservationId.split(',').includes(reservationId));
}

/**
 * Lines of a backordered order that were neither reserved nor backordered: under ship-complete terms
 * allocation backorders only the short lines and reserves nothing, so the lines that were in stock are held
 * nowhere. Read from the allocation on the order, so every retry finds the same lines.
 */
function heldLineNos(record: OrderRecord): Set<number> {
  const { allocation } = record;
  if (!allocation) return new Set();
  const accounted = new Set([...allocation.short, ...allocation.allocated].map((line) => line.lineNo));
  return new Set(record.order.lines.filter((line) => !accounted.has(line.lineNo)).map((line) => line.lineNo));
}

/**
 * Held lines become backorders (backorder.created) and are filled at once, all from one site that covers them
 * completely, so the order can ship complete. Lines no site covers wait for a receipt like any backorder.
 */
async function fillHeldLines(
  record: OrderRecord,
  held: ReadonlySet<number>,
  deps: FillDeps,
): Promise<readonly string[]> {
  let backorders = await deps.backorders.listForOrder(record.orderId);
  const missing = record.order.lines.filter(
    (line) => held.has(line.lineNo) && !backorders.some((b) => b.lineNo === line.lineNo),
  );
  if (missing.length > 0) {
    const now = deps.clock.now().toISOString();
    const lines = createBackorderLines({
      orderId: record.orderId,
      shortLines: missing.map((line) => ({ lineNo: line.lineNo, sku: line.sku, shortBy: line.quantity })),
      createdAt: now,
      rule: await ruleResolver(deps.rules)(record.order),
    });
    await deps.backorders.createIfAbsent(lines);
    await deps.events.publish([
      {
        name: 'backorder.created',
        detail: {
          ...envelope(record.orderId, now),
          idempotencyKey: idempotencyKey(record.orderId, 'backorder', 'created:held-lines'),
          lines: lines.map((line) => fillLine(line, line.quantity)),
        },
      },
    ]);
    backorders = await deps.backorders.listForOrder(record.orderId);
  }

  const heldClaim = (b: BackorderRecord) =>
    b.fills.some((f) => f.receiptId === HELD_LINES_RECEIPT && f.status === 'claimed');
  const untouched = (b: BackorderRecord) => b.status === 'open' && b.fills.length === 0;
  const toFill = backorders.filter((b) => held.has(b.lineNo) && (heldClaim(b) || untouched(b)));
  if (toFill.length === 0) return [];
  // A claim from an earlier attempt fixes the site, so a retry sends the WMS the same request.
  let siteId = toFill.flatMap((b) => b.fills).find((f) => f.receiptId === HELD_LINES_RECEIPT)?.siteId;
  if (siteId === undefined) {
    const snapshot = await deps.inventory.getStock(
      toFill.map((b) => b.sku),
      record.order.shipTo.country,
    );
    const plan = allocateSingleSite({
      lines: toFill.map((b) => ({ lineNo: b.lineNo, sku: b.sku, quantity: b.quantity })),
      sites: snapshot.sites,
      terms: 'ship-complete',
      preferredSiteId: record.order.requestedSiteId,
    });
    if (plan.status !== 'full' || plan.siteId === null) return ['HELD_LINES_AWAIT_STOCK'];
    siteId = plan.siteId;
  }
  const reasonCodes = ['HELD_LINES_BACKORDERED'];
  for (const backorder of toFill) {
    const fill = { receiptId: HELD_LINES_RECEIPT, siteId, quantity: backorder.quantity };
    const outcome = await reserveFill(backorder, fill, deps);
    if (outcome.kind !== 'reserved') reasonCodes.push(`HELD_LINE_NOT_RESERVED:${backorder.lineNo}`);
  }
  return reasonCodes;
}

/**
 * After a fill on a backordered order: when every backorder of the order is filled and reserved, the order goes
 * back to `allocated` with one shipment per facility, and allocation.confirmed is published per reservation.
 */
async function settleBackorderedOrder(
  record: OrderRecord,
  deps: FillDeps,
): Promise<{ readonly allocated: boolean; readonly reasonCodes: readonly string[] }> {
  const held = heldLineNos(record);
  const reasonCodes = held.size > 0 ? [...(await fillHeldLines(record, held, deps))] : [];
  const backorders = await deps.backorders.listForOrder(record.orderId);
  const waiting = backorders.filter(
    (b) => b.status === 'open' || b.fills.some((f) => f.status === 'claimed'),
  );
  const reserved = reservedFills(backorders);
  if (waiting.length > 0 || reserved.length === 0) {
    return { allocated: false, reasonCodes: [...reasonCodes, 'AWAITING_OTHER_BACKORDERS'] };
  }

  const snapshot = await deps.inventory.getStock(
    [...new Set(reserved.map(({ backorder }) => backorder.sku))],
    record.order.shipTo.country,
  );
  const shipments = shipmentsOf(reserved, snapshot.logistics, record.order);
  const [first] = shipments;
  if (!first) return { allocated: false, reasonCodes };
  const transitionReasons = ['BACKORDER_FILLED', ...(held.size > 0 ? ['HELD_LINES_RESERVED'] : [])];
  await deps.orders.transition(record, 'allocated', transitionReasons, {
    allocation: {
      status: 'full',
      siteId: first.siteId,
      allocated: shipments.flatMap((shipment) => shipment.lines),
      short: [],
      reservationId: first.reservationId,
      ...(first.cutoffHourUtc !== undefined ? { cutoffHourUtc: first.cutoffHourUtc } : {}),
      ...(first.transitDays !== undefined ? { transitDays: first.transitDays } : {}),
      shipments,
    },
  });
  const occurredAt = deps.clock.now().toISOString();
  await deps.events.publish(
    reserved.map((fill) => allocationConfirmed(record.orderId, fill, reserved.length > 1, occurredAt)),
  );
  return { allocated: true, reasonCodes: transitionReasons };
}

/**
 * Reserves one planned fill at the WMS and records it. Idempotent per backorder and receipt: the WMS key is
 * backorderId + receiptId and the book refuses a second claim for the same receipt, so a retried step or a
 * redelivered receipt reserves nothing twice. A 409 from the WMS (stock gone since the plan) reopens the
 * backorder with INSUFFICIENT_STOCK_AT_RESERVE instead of failing the step.
 *
 * Every reserved fill publishes backorder.filled (partial quantities for a partial fill). On a backordered
 * order, the last fill moves the order to allocated and publishes allocation.confirmed per reservation; on an
 * order already past allocation (ship-partial: the rest shipped) the fill is a follow-on reservation and is
 * announced with allocation.confirmed (partial) without changing the order's stage.
 */
export async function fillBackorder(fill: FillInstruction, deps: FillDeps): Promise<FillResult> {
  const record = await deps.orders.get(fill.orderId);
  if (!record) throw new OrderNotFound(fill.orderId);
  const backorder = await deps.backorders.get(fill.backorderId);
  if (!backorder) throw new BackorderNotFound(fill.backorderId);
  if (backorder.orderId !== fill.orderId || backorder.sku !== fill.sku) {
    throw new InvalidStepInput(
      'fill',
      `does not match backorder ${backorder.backorderId} (order or sku differs)`,
    );
  }
  const result = (
    outcome: FillOutcome,
    current: BackorderRecord,
    extra: { quantity?: number; releaseOrder?: boolean; reasonCodes: readonly string[] },
  ): FillResult => ({
    orderId: fill.orderId,
    backorderId: fill.backorderId,
    outcome,
    quantity: extra.quantity ?? 0,
    remaining: current.status === 'cancelled' ? 0 : current.quantity,
    releaseOrder: extra.releaseOrder ?? false,
    reasonCodes: extra.reasonCodes,
  });

  const alreadyClaimed = backorder.fills.some((f) => f.receiptId === fill.receiptId);
  if (!alreadyClaimed && !canTakeStock(record.stage)) {
    return result('skipped', backorder, { reasonCodes: [`ORDER_STAGE:${record.stage}`] });
  }
  const reservation = await reserveFill(backorder, fill, deps);
  if (reservation.kind === 'left-open') {
    return result('left-open', reservation.backorder, { reasonCodes: ['INSUFFICIENT_STOCK_AT_RESERVE'] });
  }
  if (reservation.kind === 'superseded') {
    return result('superseded', reservation.backorder, {
      reasonCodes: ['BACKORDER_CHANGED_SINCE_EVALUATION'],
    });
  }

  const claim = reservation.fill;
  const reserved: ReservedFill = { backorder: reservation.backorder, fill: claim };
  const occurredAt = deps.clock.now().toISOString();
  const complete = reservation.backorder.status === 'filled';
  const events: CanonicalEvent[] = [
    {
      name: 'backorder.filled',
      detail: {
        ...envelope(fill.orderId, occurredAt),
        idempotencyKey: idempotencyKey(
          fill.orderId,
          'backorder',
          `filled:${reservation.backorder.lineNo}:${fill.receiptId}`,
        ),
        siteId: claim.siteId,
        lines: [fillLine(reservation.backorder, claim.quantity)],
      },
    },
  ];
  const fillReasons = [complete ? 'FILLED_COMPLETE' : 'FILLED_PARTIAL'];

  if (record.stage === 'backordered') {
    await deps.events.publish(events);
    const settled = await settleBackorderedOrder(record, deps);
    return result('reserved', reservation.backorder, {
      quantity: claim.quantity,
      releaseOrder: settled.allocated,
      reasonCodes: [...fillReasons, ...settled.reasonCodes],
    });
  }
  if (allocatedFromFills(record, reserved.fill.reservationId)) {
    // A retry after this fill already moved the order to allocated: announce again (same keys), release next.
    const backorders = await deps.backorders.listForOrder(fill.orderId);
    const all = reservedFills(backorders);
    await deps.events.publish([
      ...events,
      ...all.map((r) => allocationConfirmed(fill.orderId, r, all.length > 1, occurredAt)),
    ]);
    return result('reserved', reservation.backorder, {
      quantity: claim.quantity,
      releaseOrder: record.stage === 'allocated' || record.stage === 'release-deferred',
      reasonCodes: [...fillReasons, 'BACKORDER_FILLED'],
    });
  }
  events.push(allocationConfirmed(fill.orderId, reserved, true, occurredAt));
  await deps.events.publish(events);
  const placed = await placeFollowOn(record, reserved, deps);
  return result('reserved', reservation.backorder, {
    quantity: claim.quantity,
    reasonCodes: [...fillReasons, 'FOLLOW_ON_RESERVATION', placed],
  });
}

/** Stages in which the order's own warehouse release is still to come. */
const BEFORE_RELEASE: readonly OrderStage[] = ['allocated', 'release-deferred'];

/**
 * A follow-on reservation is goods held for the order at the WMS; left there, the order waits for them
 * forever (invoiced for what shipped, never closed). Before the order's own release, the fill joins the
 * allocation, so that release hands it to the warehouse with the rest (a further facility makes it a
 * split release). After it, the fill is released at once as a warehouse order of its own, keyed by line and
 * receipt so a retried step releases nothing twice, and announced with `warehouse.released`.
 */
async function placeFollowOn(record: OrderRecord, reserved: ReservedFill, deps: FillDeps): Promise<string> {
  const { backorder, fill } = reserved;
  const line = fillLine(backorder, fill.quantity);
  const { allocation } = record;
  if (BEFORE_RELEASE.includes(record.stage) && allocation) {
    const base: readonly AllocatedShipment[] = allocation.shipments?.length
      ? allocation.shipments
      : allocation.siteId
        ? [
            {
              siteId: allocation.siteId,
              lines: allocation.allocated,
              reservationId: allocation.reservationId ?? '',
              ...(allocation.cutoffHourUtc !== undefined ? { cutoffHourUtc: allocation.cutoffHourUtc } : {}),
              ...(allocation.transitDays !== undefined ? { transitDays: allocation.transitDays } : {}),
            },
          ]
        : [];
    const atSite = base.find((s) => s.siteId === fill.siteId);
    const shipments = atSite
      ? base.map((s) =>
          s === atSite
            ? {
                ...s,
                lines: mergeLines(s.lines, line),
                reservationId: `${s.reservationId},${fill.reservationId}`,
              }
            : s,
        )
      : [...base, { siteId: fill.siteId, lines: [line], reservationId: fill.reservationId }];
    const [first] = shipments;
    await deps.orders.annotate(record, {
      allocation: {
        ...allocation,
        siteId: first?.siteId ?? fill.siteId,
        allocated: mergeLines(allocation.allocated, line),
        shipments,
      },
    });
    return 'FOLLOW_ON_JOINS_RELEASE';
  }
  const { order } = record;
  const key = idempotencyKey(record.orderId, 'release', `backorder:${backorder.lineNo}:${fill.receiptId}`);
  const now = deps.clock.now();
  const decided =
    record.release ??
    decideRelease({
      serviceLevel: order.serviceLevel,
      customerPriority: order.customer.priority,
      promiseDate: order.promiseDate,
      now: now.toISOString(),
      transitDays: 0,
      siteCutoffHourUtc: 23,
    });
  const { releaseId } = await deps.warehouse.release({
    orderId: record.orderId,
    siteId: fill.siteId,
    lines: [line],
    priority: decided.priority,
    shipBy: decided.shipBy,
    serviceLevel: order.serviceLevel,
    idempotencyKey: key,
  });
  await deps.events.publish([
    {
      name: 'warehouse.released',
      detail: {
        ...envelope(record.orderId, now.toISOString()),
        idempotencyKey: key,
        siteId: fill.siteId,
        releaseId,
        priority: decided.priority,
        shipBy: decided.shipBy,
        lines: [line],
        reasonCodes: ['FOLLOW_ON_RELEASE'],
      },
    },
  ]);
  return 'FOLLOW_ON_RELEASED';
}

/** Lines with a fill added: the same line number sums its quantities. */
function mergeLines(lines: readonly AllocatedLine[], added: AllocatedLine): AllocatedLine[] {
  const same = lines.find((l) => l.lineNo === added.lineNo);
  return same
    ? lines.map((l) => (l === same ? { ...l, quantity: l.quantity + added.quantity } : l))
    : [...lines, added];
}

// ---------------------------------------------------------------------------------------------------
// 3. Ageing sweep
// ---------------------------------------------------------------------------------------------------

export interface SweepDeps {
  readonly orders: OrderRepository;
  readonly backorders: BackorderBook;
  readonly rules: BackorderRules;
  readonly events: EventPublisher;
  readonly notices: BackorderNotices;
  readonly clock: Clock;
}

export interface SweepResult {
  /** Orders closed (cancelled) because their backorder aged out under a cancel rule. */
  readonly cancelledOrders: readonly string[];
  /** Backorders cancelled, with or without their order. */
  readonly cancelledBackorders: readonly string[];
  /** Backorders whose customer was told, once, that they aged (the backorder stays open). */
  readonly notified: readonly string[];
  /** Not yet aged, or aged and already notified. */
  readonly kept: number;
  /** Left for the next sweep: a fill is in flight, or the order has no record. */
  readonly deferred: readonly string[];
}

const AGED_OUT = 'BACKORDER_AGED_OUT';

/** An order cancelled by an earlier run of this sweep that stopped before its backorders were cancelled. */
function closedByAgeing(record: OrderRecord): boolean {
  return record.stage === 'closed' && (record.stageHistory.at(-1)?.reasonCodes.includes(AGED_OUT) ?? false);
}

function agedNotice(
  backorder: BackorderRecord,
  action: BackorderAgedNotice['action'],
  orderCancelled: boolean,
  occurredAt: string,
): BackorderAgedNotice {
  return {
    orderId: backorder.orderId,
    backorderId: backorder.backorderId,
    lineNo: backorder.lineNo,
    sku: backorder.sku,
    outstandingQuantity: backorder.status === 'open' ? backorder.quantity : 0,
    cancelAfter: backorder.cancelAfter,
    action,
    orderCancelled,
    reservationIds: orderCancelled
      ? backorder.fills.flatMap((f) => (f.reservationId !== undefined ? [f.reservationId] : []))
      : [],
    reasonCodes: [AGED_OUT],
    occurredAt,
    idempotencyKey: idempotencyKey(backorder.backorderId, 'aged', action),
  };
}

/**
 * The ageing sweep (scheduled for every sku, and after each receipt for the received sku). Per the customer's
 * rule an aged backorder is cancelled, or its customer is told once and it stays open (notifiedAt is recorded
 * after the notice, so a retry repeats the notice with the same idempotency key but never a second one later).
 *
 * Cancelling: a backordered order has shipped nothing, so it is one unit and the whole order is cancelled
 * (backordered → closed, BACKORDER_AGED_OUT, order.closed with outcome cancelled) with all its open
 * backorders. An order past allocation keeps its stage: only the aged backorder line is cancelled. Every
 * cancellation and notification is announced through BackorderNotices. Backorders with a fill in flight are
 * left for the next sweep.
 */
export async function sweepAged(
  now: Date,
  deps: SweepDeps,
  scope: { readonly sku?: string } = {},
): Promise<SweepResult> {
  const at = now.toISOString();
  const candidates =
    scope.sku !== undefined
      ? await deps.backorders.listOpenBySku(scope.sku)
      : await deps.backorders.listOpenAgedBy(at);
  const records = await loadOrders(
    candidates.map((b) => b.orderId),
    deps.orders,
  );
  const deferred: string[] = [];
  const settled: BackorderRecord[] = [];
  const rules: Record<string, BackorderRule> = {};
  const ruleFor = ruleResolver(deps.rules);
  for (const backorder of candidates) {
    const record = records.get(backorder.orderId);
    if (!record || backorder.fills.some((f) => f.status === 'claimed')) {
      deferred.push(backorder.backorderId);
      continue;
    }
    rules[record.orderId] ??= await ruleFor(record.order);
    settled.push(backorder);
  }
  const plan = sweepAgedBackorders(settled, rules, at);
  const byId = new Map(settled.map((b) => [b.backorderId, b]));

  const cancelledOrders: string[] = [];
  const cancelledBackorders: string[] = [];
  const cancelByOrder = new Map<string, BackorderRecord[]>();
  for (const entry of plan.cancel) {
    const backorder = byId.get(entry.backorderId);
    if (backorder) cancelByOrder.set(entry.orderId, [...(cancelByOrder.get(entry.orderId) ?? []), backorder]);
  }
  for (const [orderId, aged] of cancelByOrder) {
    const record = records.get(orderId);
    if (!record) continue;
    let toCancel = aged;
    const wholeOrder = record.stage === 'backordered' || closedByAgeing(record);
    if (wholeOrder) {
      const all = await deps.backorders.listForOrder(orderId);
      if (all.some((b) => b.fills.some((f) => f.status === 'claimed'))) {
        deferred.push(...aged.map((b) => b.backorderId));
        continue;
      }
      // Filled lines go with the order: their reservations are listed on the notices, to return to stock.
      toCancel = all.filter((b) => b.status !== 'cancelled');
      if (record.stage === 'backordered') {
        await deps.orders.transition(record, 'closed', [AGED_OUT]);
      }
      await deps.events.publish([
        {
          name: 'order.closed',
          detail: {
            ...envelope(orderId, at),
            idempotencyKey: idempotencyKey(orderId, 'closed', 'backorder-aged-out'),
            outcome: 'cancelled',
            ...(record.path ? { path: record.path } : {}),
          },
        },
      ]);
      cancelledOrders.push(orderId);
    }
    await deps.notices.agedOut(toCancel.map((b) => agedNotice(b, 'cancelled', wholeOrder, at)));
    for (const backorder of toCancel) {
      await deps.backorders.cancel(backorder.backorderId, { cancelledAt: at, reasonCodes: [AGED_OUT] });
      cancelledBackorders.push(backorder.backorderId);
    }
  }

  const notified: string[] = [];
  for (const entry of plan.notify) {
    const backorder = byId.get(entry.backorderId);
    if (!backorder) continue;
    await deps.notices.agedOut([agedNotice(backorder, 'kept-open', false, at)]);
    if (await deps.backorders.markNotified(entry.backorderId, entry.notifiedAt))
      notified.push(entry.backorderId);
  }
  return { cancelledOrders, cancelledBackorders, notified, kept: plan.keep.length, deferred };
}

// ---------------------------------------------------------------------------------------------------
// 4. Record backorders (backorder.created consumer)
// ---------------------------------------------------------------------------------------------------

export interface RecordDeps {
  readonly orders: OrderRepository;
  readonly backorders: BackorderBook;
  readonly rules: BackorderRules;
}

/**
 * Opens the backorder lines a `backorder.created` event announces, under the customer's rule (its maxAgeDays
 * fixes cancelAfter). Ids are `${orderId}-BO-${lineNo}`, so a redelivered event creates nothing new.
 */
export async function recordBackorders(
  created: {
    readonly orderId: string;
    readonly occurredAt: string;
    readonly lines: readonly { lineNo: number; sku: string; quantity: number }[];
  },
  deps: RecordDeps,
): Promise<{ readonly backorderIds: readonly string[]; readonly created: readonly string[] }> {
  const record = await deps.orders.get(created.orderId);
  if (!record) throw new OrderNotFound(created.orderId);
  const rule = await ruleResolver(deps.rules)(record.order);
  const lines = createBackorderLines({
    orderId: created.orderId,
    shortLines: created.lines.map((line) => ({ lineNo: line.lineNo, sku: line.sku, shortBy: line.quantity })),
    createdAt: created.occurredAt,
    rule,
  });
  const createdIds = await deps.backorders.createIfAbsent(lines);
  return { backorderIds: lines.map((line) => line.backorderId), created: createdIds };
}
