import type { CanonicalOrder } from '../../contracts/order.ts';
import type { OrderStage } from '../../contracts/vocabulary.ts';
import type { VendorConfirmation, VendorShipNotice } from '../adapters/vendor/vendor-client.ts';
import { shipNoticeToShipmentConfirmed } from '../adapters/vendor/vendor-client.ts';
import type { AllocatedLine } from '../core/allocation.ts';
import { priorityScore } from '../core/priority.ts';
import type {
  AllocatedShipment,
  CanonicalEvent,
  Clock,
  DropShipOrders,
  EventPublisher,
  ExceptionRepository,
  OrderRecord,
  OwnedException,
  PurchasingPort,
  RecordedPurchaseOrder,
  VendorSourcing,
  VendorSourcingPort,
} from '../ports/index.ts';
import { IllegalStageTransition, OrderNotFound, UnsourcedDropShipLine } from '../shared/errors.ts';
import { idempotencyKey, orderExceptionId } from '../shared/ids.ts';
import { addHours, exceptionRaisedEvent } from './exceptions.ts';

/**
 * The drop-ship path's step: every line ships direct from its vendor. Lines are grouped by the vendor the
 * ERP item master names, one purchase order goes to each vendor (idempotency key per order and vendor),
 * and the vendors' acknowledgements decide: all confirmed in time → the order is handed to the vendors
 * (`allocated`, then `released`); a rejected line or a date past the promise → an exception for customer
 * service. Nothing waits for the goods: each vendor's ASN later becomes `shipment.confirmed`
 * (`confirmVendorShipment`), which starts the post-shipment workflow from `released`.
 */

export interface DropShipDeps {
  readonly orders: DropShipOrders;
  readonly sourcing: VendorSourcingPort;
  readonly vendors: PurchasingPort;
  readonly exceptions: ExceptionRepository;
  readonly events: EventPublisher;
  readonly clock: Clock;
}

export interface VendorOrderSummary {
  readonly vendorId: string;
  readonly purchaseOrderNumber: string;
  readonly vendorOrderRef: string;
  readonly status: VendorConfirmation['status'];
  readonly shipDate: string | null;
}

/** What the path's Choice routes on (`outcome`). */
export interface DropShipResult {
  readonly outcome: 'handed-to-vendor' | 'vendor-exception';
  readonly purchaseOrders: readonly VendorOrderSummary[];
  /** The customer-service exception; null when handed to the vendors (so the ResultSelector finds it). */
  readonly exceptionId: string | null;
  readonly reasonCodes: readonly string[];
}

/** One vendor's share of the order. */
export interface VendorGroup {
  readonly vendorId: string;
  readonly lines: readonly CanonicalOrder['lines'][number][];
}

export interface RejectedVendorLine {
  readonly vendorId: string;
  readonly lineNo: number;
  readonly sku: string;
  readonly quantity: number;
  readonly acceptedQuantity: number;
  readonly reason: string;
}

export interface LateVendorOrder {
  readonly vendorId: string;
  readonly purchaseOrderNumber: string;
  /** When the vendor can deliver (or ship, when it gave no delivery date). */
  readonly date: string;
}

export interface VendorVerdict {
  readonly outcome: DropShipResult['outcome'];
  readonly rejected: readonly RejectedVendorLine[];
  readonly late: readonly LateVendorOrder[];
  readonly reasonCodes: readonly string[];
  /** The latest ship date the vendors confirmed (YYYY-MM-DD), or null when none did. */
  readonly shipBy: string | null;
}

/** Customer service answers a vendor exception within this many hours. */
export const VENDOR_EXCEPTION_SLA_HOURS = 4;

export const vendorExceptionId = (orderId: string) => orderExceptionId(orderId, 'VENDOR', 'VENDOR');

/** The buyer's purchase-order number for one vendor's share of an order. */
export const purchaseOrderNumber = (orderId: string, vendorId: string) => `${orderId}-${vendorId}`;

/**
 * Groups the order's lines by the vendor that ships them, vendors in name order (so the purchase orders
 * go out in the same order on every retry). Every line must be drop-shipped and its item must name a
 * vendor [UnsourcedDropShipLine]. Pure.
 */
export function groupLinesByVendor(
  orderId: string,
  lines: CanonicalOrder['lines'],
  sourcing: ReadonlyMap<string, VendorSourcing>,
): VendorGroup[] {
  const groups = new Map<string, CanonicalOrder['lines'][number][]>();
  for (const line of lines) {
    if (line.dropShip !== true) {
      throw new UnsourcedDropShipLine(orderId, line.lineNo, line.sku, 'is not a drop-ship line');
    }
    const source = sourcing.get(line.sku);
    if (!source) {
      throw new UnsourcedDropShipLine(orderId, line.lineNo, line.sku, 'is not in the ERP item master');
    }
    if (source.supplyType !== 'drop-ship' || !source.vendorId) {
      throw new UnsourcedDropShipLine(
        orderId,
        line.lineNo,
        line.sku,
        'has no drop-ship vendor in the ERP item master',
      );
    }
    groups.set(source.vendorId, [...(groups.get(source.vendorId) ?? []), line]);
  }
  return [...groups]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([vendorId, vendorLines]) => ({ vendorId, lines: vendorLines }));
}

/**
 * Judges the vendors' acknowledgements against the order: every line must be accepted in full by the
 * vendor it went to, and every vendor must deliver by the promise date. A rescheduled date that still
 * meets the promise is accepted. Pure.
 */
export function judgeVendorConfirmations(
  order: Pick<CanonicalOrder, 'lines' | 'promiseDate'>,
  purchaseOrders: readonly VendorConfirmation[],
): VendorVerdict {
  const rejected: RejectedVendorLine[] = [];
  for (const line of order.lines) {
    const po = purchaseOrders.find((p) => p.lines.some((l) => l.lineNo === line.lineNo));
    const confirmed = po?.lines.find((l) => l.lineNo === line.lineNo);
    if (!po || !confirmed) {
      // The vendor adapter refuses an acknowledgement that leaves out a line, so this is a line no
      // purchase order carried.
      rejected.push({
        vendorId: 'unknown',
        lineNo: line.lineNo,
        sku: line.sku,
        quantity: line.quantity,
        acceptedQuantity: 0,
        reason: 'NOT_ACKNOWLEDGED',
      });
    } else if (confirmed.status === 'rejected' || confirmed.acceptedQuantity < line.quantity) {
      rejected.push({
        vendorId: po.vendorId,
        lineNo: line.lineNo,
        sku: line.sku,
        quantity: line.quantity,
        acceptedQuantity: confirmed.status === 'rejected' ? 0 : confirmed.acceptedQuantity,
        reason: confirmed.reason ?? (confirmed.status === 'rejected' ? 'REJECTED' : 'SHORT_ACCEPTED'),
      });
    }
  }
  const late: LateVendorOrder[] = purchaseOrders.flatMap((po) => {
    const date = po.estimatedDelivery ?? po.shipDate;
    return po.status !== 'rejected' && date !== null && date > order.promiseDate
      ? [{ vendorId: po.vendorId, purchaseOrderNumber: po.purchaseOrderNumber, date }]
      : [];
  });
  const shipDates = purchaseOrders.flatMap((po) => (po.shipDate ? [po.shipDate] : [])).sort();
  const shipBy = shipDates.at(-1) ?? null;
  if (rejected.length > 0 || late.length > 0) {
    return {
      outcome: 'vendor-exception',
      rejected,
      late,
      shipBy,
      reasonCodes: [
        ...rejected.map((line) => `VENDOR_REJECTED_LINE:${line.lineNo}`),
        ...late.map((po) => `VENDOR_DATE_PAST_PROMISE:${po.vendorId}`),
      ],
    };
  }
  return {
    outcome: 'handed-to-vendor',
    rejected,
    late,
    shipBy,
    reasonCodes: purchaseOrders.flatMap((po) => [
      `PURCHASE_ORDER_CONFIRMED:${po.vendorId}`,
      ...(po.lines.some((line) => line.status === 'rescheduled')
        ? [`VENDOR_RESCHEDULED_WITHIN_PROMISE:${po.vendorId}`]
        : []),
    ]),
  };
}

function summaries(purchaseOrders: readonly RecordedPurchaseOrder[]): VendorOrderSummary[] {
  return purchaseOrders.map((po) => ({
    vendorId: po.vendorId,
    purchaseOrderNumber: po.purchaseOrderNumber,
    vendorOrderRef: po.vendorOrderRef,
    status: po.status,
    shipDate: po.shipDate,
  }));
}

/** The lines a vendor accepted, as the allocation keeps them. */
function acceptedLines(po: VendorConfirmation): AllocatedLine[] {
  return po.lines
    .filter((line) => line.status !== 'rejected' && line.acceptedQuantity > 0)
    .map((line) => ({ lineNo: line.lineNo, sku: line.sku, quantity: line.acceptedQuantity }));
}

function vendorShipments(purchaseOrders: readonly RecordedPurchaseOrder[]): AllocatedShipment[] {
  return purchaseOrders.map((po) => ({
    siteId: po.vendorId,
    lines: acceptedLines(po),
    reservationId: po.vendorOrderRef,
  }));
}

/**
 * Places the order's purchase orders and hands it to its vendors, or parks it with customer service.
 *
 * Each vendor's acknowledgement is recorded on the order as it arrives, so a retry after one vendor
 * answered and another was unavailable places only the missing one (and a redrive days later, past any
 * idempotency window, does not order twice). A step retried after the order moved returns what was
 * decided and re-announces it (consumers de-duplicate by idempotency key).
 */
export async function placeVendorOrders(orderId: string, deps: DropShipDeps): Promise<DropShipResult> {
  let record = await deps.orders.get(orderId);
  if (!record) throw new OrderNotFound(orderId);
  const exceptionId = vendorExceptionId(orderId);
  const placed = record.purchaseOrders ?? [];
  if (placed.length > 0) {
    if (record.stage === 'allocated' || record.stage === 'released') return handToVendors(record, deps);
    if (record.stage === 'exception' && record.exceptionIds?.includes(exceptionId)) {
      return parkWithCustomerService(record, deps);
    }
  }
  if (record.stage !== 'credit-approved')
    throw new IllegalStageTransition(orderId, record.stage, 'allocated');

  const { order } = record;
  const sourcing = await deps.sourcing.getVendorSourcing([...new Set(order.lines.map((line) => line.sku))]);
  for (const group of groupLinesByVendor(orderId, order.lines, sourcing)) {
    if (placed.some((po) => po.vendorId === group.vendorId)) continue;
    const confirmation = await deps.vendors.placePurchaseOrder({
      purchaseOrderNumber: purchaseOrderNumber(orderId, group.vendorId),
      vendorId: group.vendorId,
      orderId,
      currency: order.currency,
      requestedDeliveryDate: order.promiseDate,
      shipTo: order.shipTo,
      lines: group.lines.map(({ lineNo, sku, quantity, unitCost }) => ({ lineNo, sku, quantity, unitCost })),
      idempotencyKey: idempotencyKey(orderId, 'purchase-order', group.vendorId),
    });
    record = await deps.orders.annotate(record, {
      purchaseOrders: [
        ...(record.purchaseOrders ?? []),
        { ...confirmation, placedAt: deps.clock.now().toISOString() },
      ],
    });
  }
  const verdict = judgeVendorConfirmations(order, record.purchaseOrders ?? []);
  return verdict.outcome === 'handed-to-vendor'
    ? handToVendors(record, deps)
    : parkWithCustomerService(record, deps);
}

/** All confirmed: `allocated` (supply committed at the vendors), then `released` (handed to them). */
async function handToVendors(initial: OrderRecord, deps: DropShipDeps): Promise<DropShipResult> {
  let record = initial;
  const { orderId, order } = record;
  const purchaseOrders = record.purchaseOrders ?? [];
  const verdict = judgeVendorConfirmations(order, purchaseOrders);
  const shipments = vendorShipments(purchaseOrders);
  const [first] = shipments;
  const now = deps.clock.now();
  if (record.stage === 'credit-approved' && first) {
    record = await deps.orders.transition(record, 'allocated', verdict.reasonCodes, {
      allocation: {
        status: 'full',
        siteId: first.siteId,
        allocated: shipments.flatMap((shipment) => shipment.lines),
        short: [],
        reservationId: first.reservationId,
        shipments,
      },
    });
  }
  if (record.stage === 'allocated') {
    record = await deps.orders.transition(record, 'released', ['HANDED_TO_VENDOR'], {
      release: {
        action: 'release',
        releaseAt: now.toISOString(),
        shipBy: verdict.shipBy ?? order.promiseDate,
        priority: priorityScore(order.serviceLevel, order.customer.priority),
        releaseId: purchaseOrders.map((po) => po.vendorOrderRef).join(','),
      },
    });
  }
  await deps.events.publish(
    shipments.map(
      (shipment): CanonicalEvent => ({
        name: 'allocation.confirmed',
        detail: {
          schemaVersion: 1,
          orderId,
          correlationId: orderId,
          idempotencyKey: idempotencyKey(orderId, 'allocation', `confirmed:${shipment.siteId}`),
          occurredAt: now.toISOString(),
          siteId: shipment.siteId,
          lines: [...shipment.lines],
          partial: shipments.length > 1,
          reservationId: shipment.reservationId,
        },
      }),
    ),
  );
  // Handed to each vendor's warehouse: the allocation→release clock stops, the ship-confirmation clock
  // (the vendor's ASN) starts. Announced after the allocation, so consumers see them in order.
  const release = record.release;
  if (release) {
    await deps.events.publish(
      shipments.map(
        (shipment): CanonicalEvent => ({
          name: 'warehouse.released',
          detail: {
            schemaVersion: 1,
            orderId,
            correlationId: orderId,
            idempotencyKey: idempotencyKey(orderId, 'release', shipment.siteId),
            occurredAt: now.toISOString(),
            siteId: shipment.siteId,
            releaseId: shipment.reservationId,
            priority: release.priority,
            shipBy: release.shipBy,
            lines: [...shipment.lines],
            reasonCodes: ['HANDED_TO_VENDOR'],
          },
        }),
      ),
    );
  }
  return {
    outcome: 'handed-to-vendor',
    purchaseOrders: summaries(purchaseOrders),
    exceptionId: null,
    reasonCodes: verdict.reasonCodes,
  };
}

function recommendedAction(record: OrderRecord, verdict: VendorVerdict): string {
  const { order } = record;
  const advice = [
    ...verdict.rejected.map(
      (line) =>
        `${line.vendorId} rejected line ${line.lineNo} (${line.quantity} × ${line.sku}, ${line.reason}): offer a substitute or another vendor, or cancel the line`,
    ),
    ...verdict.late.map(
      (po) =>
        `${po.vendorId} can deliver ${po.purchaseOrderNumber} by ${po.date}, after the promise date ${order.promiseDate}: agree the new date with the customer or cancel the purchase order`,
    ),
  ];
  const terms =
    order.customer.terms.fulfilment === 'ship-complete'
      ? 'The customer takes complete shipments only.'
      : 'The customer accepts partial shipments.';
  return `${advice.join('; ')}. ${terms}`;
}

/**
 * A vendor could not confirm the order as promised: customer service owns it (offer a substitute, agree a
 * date, or cancel), the order is marked `exception` and `exception.raised` is announced. Idempotent: the
 * exception id is fixed per order, so a retry raises nothing twice.
 */
async function parkWithCustomerService(record: OrderRecord, deps: DropShipDeps): Promise<DropShipResult> {
  const { orderId, order } = record;
  const purchaseOrders = record.purchaseOrders ?? [];
  const verdict = judgeVendorConfirmations(order, purchaseOrders);
  const now = deps.clock.now();
  const raisedAt = now.toISOString();
  const exceptionId = vendorExceptionId(orderId);
  const exception: OwnedException = {
    exceptionId,
    type: 'shortage',
    ownerTeam: 'customer-service',
    priority: order.customer.priority === 'key-account' ? 'high' : 'normal',
    state: 'open',
    stage: 'credit-approved',
    orderId,
    correlationId: orderId,
    raisedAt,
    slaDueAt: addHours(now, VENDOR_EXCEPTION_SLA_HOURS),
    recommendedAction: recommendedAction(record, verdict),
    reasonCodes: verdict.reasonCodes,
    context: {
      promiseDate: order.promiseDate,
      terms: order.customer.terms.fulfilment,
      rejectedLines: verdict.rejected,
      lateVendors: verdict.late,
      purchaseOrders: summaries(purchaseOrders),
    },
    audit: [
      { at: raisedAt, actor: 'handoff:drop-ship', action: 'raised', why: verdict.reasonCodes.join(', ') },
    ],
  };
  await deps.exceptions.raiseIfAbsent(exception);
  if (record.stage === 'credit-approved') {
    await deps.orders.transition(record, 'exception', verdict.reasonCodes, { addExceptionId: exceptionId });
  }
  await deps.events.publish([exceptionRaisedEvent(exception, raisedAt)]);
  return {
    outcome: 'vendor-exception',
    purchaseOrders: summaries(purchaseOrders),
    exceptionId,
    reasonCodes: verdict.reasonCodes,
  };
}

/**
 * Where an order may take a vendor's ship notice: handed to the vendor, or past it (a second vendor's notice,
 * or a repeat of one already recorded, which the post-shipment workflow recognises).
 */
const SHIPPABLE_STAGES: readonly OrderStage[] = ['released', 'shipped', 'delivered', 'invoiced', 'closed'];

export interface ShipNoticeDeps {
  readonly orders: Pick<DropShipOrders, 'get'>;
  readonly events: EventPublisher;
}

export type ShipNoticeOutcome =
  | { readonly outcome: 'published'; readonly shipmentId: string; readonly partial: boolean }
  | {
      readonly outcome: 'refused';
      readonly reason:
        | 'unknown-order'
        | 'order-not-released'
        | 'unknown-purchase-order'
        | 'line-not-on-purchase-order';
      readonly message: string;
    };

/**
 * A vendor's advance ship notice, outside the path: checked against the purchase order recorded on the
 * order, then announced as `shipment.confirmed` (partial when the order has more to ship). A notice for an
 * order or purchase order Handoff never placed, or for a line that was not on it, is refused rather than
 * invoiced. So is a notice for an order Handoff has not handed to the vendor (parked with customer service
 * because the vendor's date missed the promise, say): the vendor shipped anyway, and whether the customer
 * takes the late goods is the open exception's decision, not the post-shipment workflow's.
 */
export async function confirmVendorShipment(
  notice: VendorShipNotice,
  deps: ShipNoticeDeps,
): Promise<ShipNoticeOutcome> {
  const record = await deps.orders.get(notice.orderId);
  if (!record) {
    return { outcome: 'refused', reason: 'unknown-order', message: `no order ${notice.orderId}` };
  }
  if (!SHIPPABLE_STAGES.includes(record.stage)) {
    const parkedBy = record.exceptionIds?.length ? ` (open: ${record.exceptionIds.join(', ')})` : '';
    return {
      outcome: 'refused',
      reason: 'order-not-released',
      message: `order ${notice.orderId} is ${record.stage}${parkedBy}, not released to the vendor: nothing ships on it until that is settled`,
    };
  }
  const po = record.purchaseOrders?.find(
    (p) => p.purchaseOrderNumber === notice.purchaseOrderNumber && p.vendorId === notice.vendorId,
  );
  if (!po) {
    return {
      outcome: 'refused',
      reason: 'unknown-purchase-order',
      message: `order ${notice.orderId} has no purchase order ${notice.purchaseOrderNumber} with ${notice.vendorId}`,
    };
  }
  const stray = notice.lines.find(
    (line) =>
      !po.lines.some((l) => l.lineNo === line.lineNo && l.sku === line.sku && l.status !== 'rejected'),
  );
  if (stray) {
    return {
      outcome: 'refused',
      reason: 'line-not-on-purchase-order',
      message: `line ${stray.lineNo} (${stray.sku}) is not an accepted line of ${notice.purchaseOrderNumber}`,
    };
  }
  const shipped = (lineNo: number) =>
    notice.lines.filter((line) => line.lineNo === lineNo).reduce((sum, line) => sum + line.quantity, 0);
  const partial = record.order.lines.some((line) => shipped(line.lineNo) < line.quantity);
  await deps.events.publish([shipNoticeToShipmentConfirmed(notice, { partial })]);
  return { outcome: 'published', shipmentId: notice.shipNoticeId, partial };
}
