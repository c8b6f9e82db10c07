import * as z from 'zod/mini';
import { type EventDetail, MAX_EVENT_ENTRY_BYTES, parseDetail } from '../../../contracts/events.ts';
import { MAX_ORDER_LINES, OrderId, type ShipTo, SiteId, Sku } from '../../../contracts/order.ts';
import { safeText } from '../../../contracts/text.ts';
import { type FieldViolation, parseWith } from '../../../contracts/validation.ts';
import type { CanonicalEvent } from '../../ports/index.ts';
import { PartnerContractBroken } from '../../shared/errors.ts';
import { idempotencyKey } from '../../shared/ids.ts';
import type { PartnerClient } from '../http/partner-client.ts';

/** One line of a purchase order, in Handoff's terms (the customer order's line number and SKU). */
export interface PurchaseOrderLine {
  readonly lineNo: number;
  readonly sku: string;
  readonly quantity: number;
  /** What the distributor pays the vendor per unit, major units. */
  readonly unitCost: number;
}

/** A purchase order to one drop-ship vendor for the lines of one customer order it supplies. */
export interface PurchaseOrder {
  /** The buyer's purchase-order number: the vendor recognises a resent order by it. */
  readonly purchaseOrderNumber: string;
  readonly vendorId: string;
  readonly orderId: string;
  readonly currency: string;
  /** The customer's promise date (YYYY-MM-DD): the vendor ships direct and says when it can deliver. */
  readonly requestedDeliveryDate: string;
  readonly shipTo: ShipTo;
  readonly lines: readonly PurchaseOrderLine[];
  /** Per order and vendor, so a retried step places the order once. */
  readonly idempotencyKey: string;
}

/** How the vendor answered one line. */
export type ConfirmedLineStatus = 'accepted' | 'rescheduled' | 'rejected';

export interface ConfirmedLine {
  readonly lineNo: number;
  readonly sku: string;
  readonly quantity: number;
  readonly acceptedQuantity: number;
  readonly status: ConfirmedLineStatus;
  /** YYYY-MM-DD the vendor will ship the line; null for a rejected line. */
  readonly shipDate: string | null;
  /** The vendor's reason code for a rejection, e.g. OUT_OF_STOCK. */
  readonly reason: string | null;
}

/** The vendor's acknowledgement of a purchase order, in Handoff's terms. */
export interface VendorConfirmation {
  readonly vendorId: string;
  readonly purchaseOrderNumber: string;
  /** The vendor's own order number (its confirmation reference). */
  readonly vendorOrderRef: string;
  readonly status: 'accepted' | 'accepted-with-changes' | 'rejected';
  readonly lines: readonly ConfirmedLine[];
  /** YYYY-MM-DD; null when every line was rejected. */
  readonly shipDate: string | null;
  readonly estimatedDelivery: string | null;
}

/** A vendor advance ship notice, parsed and in Handoff's terms. */
export interface VendorShipNotice {
  /** The vendor's ASN number: the shipment id of the drop-shipped goods. */
  readonly shipNoticeId: string;
  readonly vendorId: string;
  readonly purchaseOrderNumber: string;
  readonly vendorOrderRef: string;
  readonly orderId: string;
  readonly shippedAt: string;
  readonly carrier: string;
  readonly trackingNumber: string;
  readonly lines: readonly { readonly lineNo: number; readonly sku: string; readonly quantity: number }[];
}

const IsoDay = z.iso.date();
const Text = z.string().check(z.minLength(1));
const LINE_STATUS: Readonly<Record<string, ConfirmedLineStatus>> = {
  IA: 'accepted',
  DR: 'rescheduled',
  IR: 'rejected',
};
const PO_STATUS: Readonly<Record<string, VendorConfirmation['status']>> = {
  AD: 'accepted',
  AC: 'accepted-with-changes',
  RD: 'rejected',
};

/** The vendor's purchase-order document (X12 855-style acknowledgement), in its own field names. */
const VendorPurchaseOrder = z.looseObject({
  vendorOrderNumber: Text,
  purchaseOrderNumber: Text,
  vendorCode: Text,
  status: z.string(),
  acknowledgement: z.looseObject({ type: z.enum(['AD', 'AC', 'RD']) }),
  scheduledShipDate: z.nullable(IsoDay),
  estimatedDeliveryDate: z.nullable(IsoDay),
  lines: z.array(
    z.looseObject({
      lineNumber: z.int().check(z.gte(1)),
      itemCode: Text,
      quantityOrdered: z.int().check(z.gt(0)),
      quantityAccepted: z.int().check(z.gte(0)),
      status: z.enum(['IA', 'IR', 'DR']),
      scheduledShipDate: z.nullable(IsoDay),
      reasonCode: z.nullable(z.string()),
    }),
  ),
});

/**
 * The vendor's advance ship notice. Fields the vendor adds beyond these are ignored (a tolerant reader: vendors
 * add fields without telling us) and never carried on; the ones Handoff uses are held to what they become in
 * shipment.confirmed and its idempotency key, and to what can be looked up safely (the buyer reference is an
 * order id), so a hostile notice is refused here, by field and rule, before anything is read or published.
 */
export const AdvanceShipNotice = z.looseObject({
  /** Becomes the shipment id and part of the event's idempotency key. */
  asnNumber: z.string().check(z.regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$/)),
  messageType: z.literal('ADVANCE_SHIP_NOTICE'),
  /** Becomes the shipping site of shipment.confirmed. */
  vendorCode: SiteId,
  purchaseOrderNumber: safeText(120),
  vendorOrderNumber: safeText(120),
  /** The order the goods are for: Handoff's order id. */
  buyerReference: OrderId,
  shippedAt: z.iso.datetime({ offset: true }),
  carrier: z.looseObject({
    scac: z.string().check(z.regex(/^[A-Z0-9]{2,4}$/)),
    trackingNumber: safeText(80),
  }),
  lines: z
    .array(
      z.looseObject({
        lineNumber: z.int().check(z.gte(1), z.lte(9999)),
        itemCode: Sku,
        quantityShipped: z.int().check(z.gt(0), z.lte(1_000_000)),
      }),
    )
    .check(z.minLength(1), z.maxLength(MAX_ORDER_LINES)),
});

/**
 * The largest ship notice Handoff takes: its shipment.confirmed carries the lines and must fit one 256 KB
 * EventBridge entry.
 */
export const MAX_SHIP_NOTICE_BYTES = MAX_EVENT_ENTRY_BYTES;

function contractOrThrow<S extends z.ZodMiniType>(what: string, schema: S, body: unknown): z.output<S> {
  const parsed = parseWith(what, schema, body);
  if (!parsed.ok) throw new PartnerContractBroken('vendor', parsed.error.message);
  return parsed.value;
}

/** Money as the vendor writes it: a decimal string, cents unless the cost has finer digits. */
function decimal(amount: number): string {
  return Number.isInteger(Math.round(amount * 10_000) / 100) ? amount.toFixed(2) : amount.toFixed(4);
}

function toConfirmation(body: unknown): VendorConfirmation {
  const po = contractOrThrow('vendor purchase order', VendorPurchaseOrder, body);
  return {
    vendorId: po.vendorCode,
    purchaseOrderNumber: po.purchaseOrderNumber,
    vendorOrderRef: po.vendorOrderNumber,
    status: PO_STATUS[po.acknowledgement.type] ?? 'rejected',
    lines: po.lines.map((line) => ({
      lineNo: line.lineNumber,
      sku: line.itemCode,
      quantity: line.quantityOrdered,
      acceptedQuantity: line.quantityAccepted,
      status: LINE_STATUS[line.status] ?? 'rejected',
      shipDate: line.scheduledShipDate,
      reason: line.reasonCode,
    })),
    shipDate: po.scheduledShipDate,
    estimatedDelivery: po.estimatedDeliveryDate,
  };
}

/**
 * Drop-ship vendor adapter: purchase orders out, acknowledgements and advance ship notices back, in
 * canonical terms. The vendor's field names and its 855/856-style codes stay in this module.
 */
export class VendorClient {
  constructor(private readonly http: PartnerClient) {}

  /** Places one purchase order and returns the vendor's acknowledgement; a resend answers the first one. */
  async placePurchaseOrder(order: PurchaseOrder): Promise<VendorConfirmation> {
    const { shipTo } = order;
    const body = await this.http.request({
      method: 'POST',
      path: '/purchase-orders',
      idempotencyKey: order.idempotencyKey,
      body: {
        purchaseOrderNumber: order.purchaseOrderNumber,
        vendorCode: order.vendorId,
        buyerReference: order.orderId,
        currency: order.currency,
        requestedDeliveryDate: order.requestedDeliveryDate,
        shipTo: {
          name: shipTo.name,
          address1: shipTo.line1,
          ...(shipTo.line2 !== undefined ? { address2: shipTo.line2 } : {}),
          city: shipTo.city,
          ...(shipTo.region !== undefined ? { state: shipTo.region } : {}),
          postalCode: shipTo.postalCode,
          country: shipTo.country,
          ...(shipTo.phone !== undefined ? { phone: shipTo.phone } : {}),
        },
        lines: order.lines.map((line) => ({
          lineNumber: line.lineNo,
          itemCode: line.sku,
          quantity: line.quantity,
          unitCost: decimal(line.unitCost),
        })),
      },
    });
    const confirmation = toConfirmation(body);
    if (confirmation.purchaseOrderNumber !== order.purchaseOrderNumber) {
      throw new PartnerContractBroken(
        'vendor',
        `acknowledged purchase order ${confirmation.purchaseOrderNumber}, not ${order.purchaseOrderNumber}`,
      );
    }
    const unanswered = order.lines.filter(
      (line) => !confirmation.lines.some((l) => l.lineNo === line.lineNo && l.sku === line.sku),
    );
    if (unanswered.length > 0) {
      throw new PartnerContractBroken(
        'vendor',
        `acknowledgement of ${order.purchaseOrderNumber} leaves out line(s) ${unanswered.map((l) => l.lineNo).join(', ')}`,
      );
    }
    return confirmation;
  }

  /** The vendor's current view of a purchase order; undefined when the vendor does not know it. */
  async getPurchaseOrder(
    purchaseOrderNumber: string,
  ): Promise<(VendorConfirmation & { readonly shipped: boolean }) | undefined> {
    const body = await this.http.request({
      method: 'GET',
      path: `/purchase-orders/${encodeURIComponent(purchaseOrderNumber)}`,
    });
    if (body === undefined) return undefined;
    const status = (body as { status?: unknown } | null)?.status;
    return { ...toConfirmation(body), shipped: status === 'SHIPPED' };
  }
}

/** Parses a vendor ASN message; one that breaks the vendor's contract is PartnerContractBroken. */
export function parseShipNotice(message: unknown): VendorShipNotice {
  return shipNoticeOf(contractOrThrow('vendor advance ship notice', AdvanceShipNotice, message));
}

/**
 * A vendor ASN checked against the vendor contract, keeping every field violation (path and rule) so the
 * caller can quarantine it; `parseShipNotice` throws instead.
 */
export function tryParseShipNotice(
  message: unknown,
):
  | { readonly ok: true; readonly notice: VendorShipNotice }
  | { readonly ok: false; readonly violations: readonly FieldViolation[] } {
  const parsed = parseWith('vendor advance ship notice', AdvanceShipNotice, message);
  return parsed.ok
    ? { ok: true, notice: shipNoticeOf(parsed.value) }
    : { ok: false, violations: parsed.error.violations };
}

function shipNoticeOf(asn: z.output<typeof AdvanceShipNotice>): VendorShipNotice {
  return {
    shipNoticeId: asn.asnNumber,
    vendorId: asn.vendorCode,
    purchaseOrderNumber: asn.purchaseOrderNumber,
    vendorOrderRef: asn.vendorOrderNumber,
    orderId: asn.buyerReference,
    shippedAt: new Date(asn.shippedAt).toISOString(),
    carrier: asn.carrier.scac,
    trackingNumber: asn.carrier.trackingNumber,
    lines: asn.lines.map((line) => ({
      lineNo: line.lineNumber,
      sku: line.itemCode,
      quantity: line.quantityShipped,
    })),
  };
}

/**
 * The `shipment.confirmed` an ASN means: proof of shipment from the vendor's dock (the vendor is the
 * shipping site), which starts the post-shipment workflow. `partial` says whether the order has more to
 * ship (other vendors' lines, or quantities this notice does not cover); the caller knows the order. The
 * idempotency key is per order and ASN, so a redelivered notice collapses downstream. Throws
 * ContractViolation when the notice cannot make a valid event.
 */
export function shipNoticeToShipmentConfirmed(
  notice: VendorShipNotice,
  context: { readonly partial: boolean },
): CanonicalEvent<'shipment.confirmed'> {
  const detail: EventDetail<'shipment.confirmed'> = {
    schemaVersion: 1,
    orderId: notice.orderId,
    correlationId: notice.orderId,
    idempotencyKey: idempotencyKey(notice.orderId, 'shipment.confirmed', notice.shipNoticeId),
    occurredAt: notice.shippedAt,
    shipmentId: notice.shipNoticeId,
    siteId: notice.vendorId,
    carrier: notice.carrier,
    trackingNumber: notice.trackingNumber,
    shippedAt: notice.shippedAt,
    lines: notice.lines.map(({ lineNo, sku, quantity }) => ({ lineNo, sku, quantity })),
    partial: context.partial,
  };
  const parsed = parseDetail('shipment.confirmed', detail);
  if (!parsed.ok) throw parsed.error;
  return { name: 'shipment.confirmed', detail: parsed.value };
}
