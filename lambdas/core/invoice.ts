import { InvalidInputError } from './errors.ts';
import { toCents } from './money.ts';
import { parseInstant as parseInstantOf } from './time.ts';

export interface InvoiceOrderLine {
  lineNo: number;
  sku: string;
  quantity: number;
  /** Major units; up to 4 decimals (ERP unit prices). */
  unitPrice: number;
}

export interface InvoiceOrder {
  orderId: string;
  customerId: string;
  /** ISO 4217, e.g. USD. */
  currency: string;
  /** NET<days> (NET0-NET999), CIA, COD or PREPAID; case and surrounding spaces are ignored. */
  paymentTerms: string;
  lines: readonly InvoiceOrderLine[];
  /** Sales tax on the invoice subtotal, in percent (8.25 = 8.25%). Default 0. */
  taxRatePct?: number | undefined;
}

export interface LineQuantity {
  lineNo: number;
  quantity: number;
}

export interface ProofOfShipment {
  carrier: string;
  trackingNumber: string;
}

/** What shipment.confirmed carries that invoicing needs. */
export interface ShipmentConfirmation {
  shipmentId: string;
  orderId: string;
  /** ISO 8601 datetime with a zone designator. */
  shippedAt: string;
  proofOfShipment: ProofOfShipment | undefined;
  lines: readonly LineQuantity[];
}

/** An invoice already posted for the order; an `Invoice` fits as it is. */
export interface InvoiceRecord {
  invoiceId: string;
  shipmentId: string;
  lines: readonly LineQuantity[];
}

export interface BuildInvoiceInput {
  order: InvoiceOrder;
  shipment: ShipmentConfirmation;
  /** Every invoice already posted for this order. */
  alreadyInvoiced: readonly InvoiceRecord[];
  /** ISO 8601 datetime with a zone designator. */
  issuedAt: string;
}

export interface InvoiceLine {
  lineNo: number;
  sku: string;
  quantity: number;
  unitPrice: number;
  /** quantity x unitPrice, rounded to cents. */
  amount: number;
}

export interface Invoice {
  /** `INV-${shipmentId}`: one invoice per shipment, whatever the number of deliveries of the event. */
  invoiceId: string;
  /** Equal to invoiceId; the key the ERP posting and the invoice.issued event are deduplicated on. */
  idempotencyKey: string;
  orderId: string;
  customerId: string;
  shipmentId: string;
  /** ISO instant (UTC). */
  shippedAt: string;
  proofOfShipment: ProofOfShipment;
  currency: string;
  /** Normalised (upper case, trimmed). */
  paymentTerms: string;
  taxRatePct: number;
  /** In lineNo order, one per order line shipped. */
  lines: InvoiceLine[];
  subtotal: number;
  tax: number;
  total: number;
  /** ISO instant (UTC). */
  issuedAt: string;
  /** YYYY-MM-DD. */
  dueDate: string;
}

export type BuildInvoiceResult =
  | { kind: 'invoice'; invoice: Invoice }
  /** The shipment already has an invoice: nothing new is issued (a redelivered shipment.confirmed). */
  | { kind: 'duplicate'; invoiceId: string };

export interface LineInvoicingStatus {
  lineNo: number;
  sku: string;
  ordered: number;
  invoiced: number;
  remaining: number;
}

export interface InvoicingStatus {
  orderId: string;
  /** In lineNo order. */
  lines: LineInvoicingStatus[];
  /** Every line invoiced in full: the order can be closed. */
  fullyInvoiced: boolean;
}

/** The input is malformed (a missing field, a bad number or date, unknown payment terms...). */
export class InvalidInvoiceInput extends InvalidInputError {
  override name = 'InvalidInvoiceInput';
}

/** Invoicing is triggered by proof of shipment; without it nothing is invoiced. */
export class ProofOfShipmentMissing extends InvalidInputError {
  override name = 'ProofOfShipmentMissing';
}

/** The shipment belongs to a different order than the one being invoiced. */
export class ShipmentOrderMismatch extends InvalidInputError {
  override name = 'ShipmentOrderMismatch';
}

/** A shipped or invoiced line number does not exist on the order. */
export class LineNotOnOrder extends InvalidInputError {
  override name = 'LineNotOnOrder';
}

/** Invoicing would take a line past its ordered quantity, counting every invoice for the order. */
export class OverInvoicing extends InvalidInputError {
  override name = 'OverInvoicing';
}

const MS_PER_DAY = 86_400_000;
const CURRENCY_RE = /^[A-Z]{3}$/;
const NET_TERMS_RE = /^NET(\d{1,3})$/;
const DUE_ON_ISSUE_TERMS = ['CIA', 'COD', 'PREPAID'] as const;

export function invoiceIdFor(shipmentId: string): string {
  return `INV-${shipmentId}`;
}

function parseInstant(field: string, value: unknown): number {
  return parseInstantOf(field, value, (f, rule) => new InvalidInvoiceInput(f, rule));
}

function requireText(field: string, value: unknown): asserts value is string {
  if (typeof value !== 'string' || value.trim().length === 0) {
    throw new InvalidInvoiceInput(field, 'must be a non-empty string');
  }
}

function requirePositiveInteger(field: string, value: unknown): asserts value is number {
  if (!Number.isInteger(value) || (value as number) < 1) {
    throw new InvalidInvoiceInput(field, `must be a positive integer (got ${String(value)})`);
  }
}

function requireLines(field: string, lines: unknown): asserts lines is readonly LineQuantity[] {
  if (!Array.isArray(lines) || lines.length === 0) {
    throw new InvalidInvoiceInput(field, 'must contain at least one line');
  }
  lines.forEach((line: Partial<LineQuantity>, i) => {
    requirePositiveInteger(`${field}[${i}].lineNo`, line.lineNo);
    requirePositiveInteger(`${field}[${i}].quantity`, line.quantity);
  });
}

/** Order lines by lineNo (validated: unique positive lineNo, sku, positive integer quantity, price >= 0). */
function orderLinesByNo(lines: readonly InvoiceOrderLine[]): Map<number, InvoiceOrderLine> {
  if (!Array.isArray(lines) || lines.length === 0) {
    throw new InvalidInvoiceInput('order.lines', 'must contain at least one line');
  }
  const byNo = new Map<number, InvoiceOrderLine>();
  lines.forEach((line, i) => {
    const field = `order.lines[${i}]`;
    requirePositiveInteger(`${field}.lineNo`, line.lineNo);
    if (byNo.has(line.lineNo)) {
      throw new InvalidInvoiceInput(
        `${field}.lineNo`,
        `must be unique (${line.lineNo} appears more than once)`,
      );
    }
    requireText(`${field}.sku`, line.sku);
    requirePositiveInteger(`${field}.quantity`, line.quantity);
    if (typeof line.unitPrice !== 'number' || !Number.isFinite(line.unitPrice) || line.unitPrice < 0) {
      throw new InvalidInvoiceInput(
        `${field}.unitPrice`,
        `must be a finite number >= 0 (got ${String(line.unitPrice)})`,
      );
    }
    byNo.set(line.lineNo, line);
  });
  return byNo;
}

function requireInvoiceRecords(field: string, records: readonly InvoiceRecord[]): void {
  if (!Array.isArray(records)) throw new InvalidInvoiceInput(field, 'must be an array');
  const seen = new Set<string>();
  records.forEach((record, i) => {
    requireText(`${field}[${i}].invoiceId`, record.invoiceId);
    if (seen.has(record.invoiceId)) {
      throw new InvalidInvoiceInput(
        `${field}[${i}].invoiceId`,
        `must be unique (${record.invoiceId} appears more than once)`,
      );
    }
    seen.add(record.invoiceId);
    requireText(`${field}[${i}].shipmentId`, record.shipmentId);
    requireLines(`${field}[${i}].lines`, record.lines);
  });
}

/** Quantity already invoiced per order line, across every invoice for the order. */
function invoicedPerLine(
  field: string,
  orderLines: ReadonlyMap<number, InvoiceOrderLine>,
  records: readonly InvoiceRecord[],
): Map<number, number> {
  const invoiced = new Map<number, number>();
  records.forEach((record, i) => {
    record.lines.forEach((line, j) => {
      if (!orderLines.has(line.lineNo)) {
        throw new LineNotOnOrder(
          `${field}[${i}].lines[${j}].lineNo`,
          `must be a line on the order (got ${line.lineNo})`,
        );
      }
      invoiced.set(line.lineNo, (invoiced.get(line.lineNo) ?? 0) + line.quantity);
    });
  });
  return invoiced;
}

/** Days after the issue date the invoice falls due: NETn -> n; CIA, COD, PREPAID -> 0. */
function daysUntilDue(terms: string): number {
  const net = NET_TERMS_RE.exec(terms);
  if (net !== null) return Number(net[1]);
  if ((DUE_ON_ISSUE_TERMS as readonly string[]).includes(terms)) return 0;
  throw new InvalidInvoiceInput(
    'order.paymentTerms',
    `must be NET<days> (up to 3 digits), ${DUE_ON_ISSUE_TERMS.join(', ')} (got ${terms})`,
  );
}

/**
 * Builds the invoice for one confirmed shipment of an order.
 *
 * Checks, in order: the input is well formed; the shipment belongs to the order [ShipmentOrderMismatch];
 * the shipment is not invoiced yet (otherwise `{ kind: 'duplicate' }` with the existing invoice id, so
 * a redelivered shipment.confirmed is harmless); proof of shipment is present [ProofOfShipmentMissing];
 * every shipped line is on the order [LineNotOnOrder]; no line is invoiced past its ordered quantity,
 * counting every earlier invoice [OverInvoicing].
 *
 * Money is integer cents: each line is quantity x unitPrice rounded to cents, tax is the subtotal x rate
 * rounded once (half away from zero). A line shipped in several parcels (repeated lineNo) is summed into
 * one invoice line. The due date is the issue date (UTC calendar day) plus the NET days, or the issue
 * date itself for CIA, COD and PREPAID.
 */
export function buildInvoice(input: BuildInvoiceInput): BuildInvoiceResult {
  const { order, shipment } = input;
  requireText('order.orderId', order.orderId);
  requireText('order.customerId', order.customerId);
  if (typeof order.currency !== 'string' || !CURRENCY_RE.test(order.currency)) {
    throw new InvalidInvoiceInput(
      'order.currency',
      `must be a 3-letter ISO 4217 code, e.g. USD (got ${String(order.currency)})`,
    );
  }
  if (typeof order.paymentTerms !== 'string') {
    throw new InvalidInvoiceInput('order.paymentTerms', 'must be a string');
  }
  const paymentTerms = order.paymentTerms.trim().toUpperCase();
  const dueInDays = daysUntilDue(paymentTerms);
  const taxRatePct = order.taxRatePct ?? 0;
  if (typeof taxRatePct !== 'number' || !Number.isFinite(taxRatePct) || taxRatePct < 0 || taxRatePct > 100) {
    throw new InvalidInvoiceInput(
      'order.taxRatePct',
      `must be a number between 0 and 100 (got ${String(order.taxRatePct)})`,
    );
  }
  const orderLines = orderLinesByNo(order.lines);

  requireText('shipment.shipmentId', shipment.shipmentId);
  requireText('shipment.orderId', shipment.orderId);
  const shippedAtMs = parseInstant('shipment.shippedAt', shipment.shippedAt);
  requireLines('shipment.lines', shipment.lines);
  requireInvoiceRecords('alreadyInvoiced', input.alreadyInvoiced);
  const issuedAtMs = parseInstant('issuedAt', input.issuedAt);

  if (shipment.orderId !== order.orderId) {
    throw new ShipmentOrderMismatch(
      'shipment.orderId',
      `must be the invoiced order ${order.orderId} (got ${shipment.orderId})`,
    );
  }

  const invoiceId = invoiceIdFor(shipment.shipmentId);
  const existing = input.alreadyInvoiced.find(
    (record) => record.shipmentId === shipment.shipmentId || record.invoiceId === invoiceId,
  );
  if (existing !== undefined) return { kind: 'duplicate', invoiceId: existing.invoiceId };

  const proof = shipment.proofOfShipment;
  if (proof === undefined || proof === null) {
    throw new ProofOfShipmentMissing('shipment.proofOfShipment', 'is required before a shipment is invoiced');
  }
  for (const k of ['carrier', 'trackingNumber'] as const) {
    if (typeof proof[k] !== 'string' || proof[k].trim().length === 0) {
      throw new ProofOfShipmentMissing(`shipment.proofOfShipment.${k}`, 'must be a non-empty string');
    }
  }

  const shipped = new Map<number, { quantity: number; field: string }>();
  shipment.lines.forEach((line, i) => {
    if (!orderLines.has(line.lineNo)) {
      throw new LineNotOnOrder(
        `shipment.lines[${i}].lineNo`,
        `must be a line on order ${order.orderId} (got ${line.lineNo})`,
      );
    }
    const merged = shipped.get(line.lineNo);
    if (merged === undefined)
      shipped.set(line.lineNo, { quantity: line.quantity, field: `shipment.lines[${i}]` });
    else merged.quantity += line.quantity;
  });

  const invoicedSoFar = invoicedPerLine('alreadyInvoiced', orderLines, input.alreadyInvoiced);
  const lines: InvoiceLine[] = [];
  let subtotalCents = 0;
  for (const [lineNo, { quantity, field }] of [...shipped].sort(([a], [b]) => a - b)) {
    const orderLine = orderLines.get(lineNo);
    if (orderLine === undefined) continue; // unreachable: checked above
    const before = invoicedSoFar.get(lineNo) ?? 0;
    if (before + quantity > orderLine.quantity) {
      throw new OverInvoicing(
        `${field}.quantity`,
        `must not invoice line ${lineNo} past its ordered quantity ${orderLine.quantity} ` +
          `(${before} already invoiced, ${quantity} on this shipment)`,
      );
    }
    const amountCents = toCents(quantity * orderLine.unitPrice);
    subtotalCents += amountCents;
    lines.push({
      lineNo,
      sku: orderLine.sku,
      quantity,
      unitPrice: orderLine.unitPrice,
      amount: amountCents / 100,
    });
  }

  const taxCents = toCents((subtotalCents * taxRatePct) / 10_000);
  const issueDay = Math.floor(issuedAtMs / MS_PER_DAY);
  return {
    kind: 'invoice',
    invoice: {
      invoiceId,
      idempotencyKey: invoiceId,
      orderId: order.orderId,
      customerId: order.customerId,
      shipmentId: shipment.shipmentId,
      shippedAt: new Date(shippedAtMs).toISOString(),
      proofOfShipment: { carrier: proof.carrier, trackingNumber: proof.trackingNumber },
      currency: order.currency,
      paymentTerms,
      taxRatePct,
      lines,
      subtotal: subtotalCents / 100,
      tax: taxCents / 100,
      total: (subtotalCents + taxCents) / 100,
      issuedAt: new Date(issuedAtMs).toISOString(),
      dueDate: new Date((issueDay + dueInDays) * MS_PER_DAY).toISOString().slice(0, 10),
    },
  };
}

/**
 * Ordered, invoiced and remaining quantity per order line across the given invoices, and whether the
 * order is fully invoiced (and so can be closed). An invoice total past the ordered quantity cannot
 * come from buildInvoice, so it is reported as OverInvoicing rather than hidden in a negative remainder.
 */
export function invoicingStatus(
  order: Pick<InvoiceOrder, 'orderId' | 'lines'>,
  invoices: readonly InvoiceRecord[],
): InvoicingStatus {
  requireText('order.orderId', order.orderId);
  const orderLines = orderLinesByNo(order.lines);
  requireInvoiceRecords('invoices', invoices);
  const invoiced = invoicedPerLine('invoices', orderLines, invoices);

  const lines = [...orderLines.values()]
    .sort((a, b) => a.lineNo - b.lineNo)
    .map((line): LineInvoicingStatus => {
      const done = invoiced.get(line.lineNo) ?? 0;
      if (done > line.quantity) {
        throw new OverInvoicing(
          'invoices',
          `must not invoice line ${line.lineNo} past its ordered quantity ${line.quantity} (${done} invoiced)`,
        );
      }
      return {
        lineNo: line.lineNo,
        sku: line.sku,
        ordered: line.quantity,
        invoiced: done,
        remaining: line.quantity - done,
      };
    });
  return { orderId: order.orderId, lines, fullyInvoiced: lines.every((line) => line.remaining === 0) };
}
