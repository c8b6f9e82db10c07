import { JSEDINotation, X12Generator } from 'node-x12';
import type { CanonicalOrder, OrderLine } from '../../../contracts/order.ts';
import { HandoffError } from '../../shared/errors.ts';
import type { EdiError, InterchangeControl, Parse850Result, PurchaseOrderReference } from './x12-850.ts';

/**
 * Canonical order events → X12 855 (PO acknowledgment), 856 (ship notice), 810 (invoice) and 997
 * (functional acknowledgment). Control numbers and timestamps are inputs, never drawn here, so rebuilding a
 * document for a redelivered event yields the same bytes; node-x12's generator computes SE01/GE01/IEA01,
 * pads the ISA and re-parses the result strictly before it is returned.
 */

/** The builder was given an input it cannot express as valid X12. Permanent: fix the input. */
export class EdiDocumentInvalid extends HandoffError {
  override readonly name = 'EdiDocumentInvalid';
  readonly retryable = false;
}

export interface X12Party {
  /** ISA05/ISA07 id qualifier, e.g. 'ZZ' (mutually defined), '01' (DUNS), '14' (DUNS + suffix). */
  readonly qualifier: string;
  /** ISA06/ISA08, at most 15 characters. */
  readonly id: string;
}

export interface OutboundEnvelope {
  /** Handoff's interchange id. */
  readonly sender: X12Party;
  /** The trading partner's interchange id (the ISA06 its 850 came from). */
  readonly receiver: X12Party;
  /** GS02/GS03. @default sender.id / receiver.id */
  readonly applicationSender?: string;
  readonly applicationReceiver?: string;
  /** @default 'P' */
  readonly usage?: 'P' | 'T';
  /** @default `*`, `~`, `>` */
  readonly delimiters?: {
    readonly element?: string;
    readonly segment?: string;
    readonly subElement?: string;
  };
  /** A line break after each segment terminator, as many partners' translators prefer. @default false */
  readonly newlineAfterSegment?: boolean;
}

/** ISA13, GS06 and ST02 of the document to build. */
export interface ControlNumbers {
  readonly interchange: number;
  readonly group: number;
  readonly transaction: number;
}

export interface OutboundDocument {
  readonly x12: string;
  readonly control: InterchangeControl;
  /** Derived from order, document type and business key: the same document always has the same key. */
  readonly idempotencyKey: string;
}

interface DocumentBase {
  readonly envelope: OutboundEnvelope;
  readonly controlNumbers: ControlNumbers;
  /** ISA09/ISA10 and GS04/GS05. @default the document's own business timestamp */
  readonly preparedAt?: string;
}

interface EchoesPartnerIds {
  readonly order: CanonicalOrder;
  /** From `parsePurchaseOrder850`: lets the document echo PO101, BP/UP item ids and the ship-to code. */
  readonly reference?: PurchaseOrderReference;
}

export type LineAckStatus = 'accepted' | 'backordered' | 'rejected';

export interface PurchaseOrderAck extends DocumentBase, EchoesPartnerIds {
  readonly acknowledgedAt: string;
  /**
   * One entry per order line, or several to split a line (accept 20, backorder 4). Quantities default to
   * the ordered quantity and must add up to it.
   */
  readonly lines: readonly {
    readonly lineNo: number;
    readonly status: LineAckStatus;
    readonly quantity?: number;
    /** YYYY-MM-DD, sent as ACK04 068 (current schedule ship). */
    readonly scheduledShipDate?: string;
  }[];
}

export interface ShipNotice extends DocumentBase, EchoesPartnerIds {
  readonly shipmentId: string;
  /** Standard Carrier Alpha Code, 2-4 letters. */
  readonly carrierScac: string;
  readonly trackingNumber: string;
  readonly billOfLading?: string;
  readonly shippedAt: string;
  /** YYYY-MM-DD. */
  readonly estimatedDelivery?: string;
  readonly packages?: {
    readonly count: number;
    readonly grossWeight?: number;
    readonly weightUnit?: 'LB' | 'KG';
  };
  readonly lines: readonly { readonly lineNo: number; readonly quantity: number }[];
}

export interface Invoice extends DocumentBase, EchoesPartnerIds {
  readonly invoiceId: string;
  readonly issuedAt: string;
  /** NET<days>, CIA, COD or PREPAID. @default the order's customer payment terms */
  readonly terms?: string;
  readonly shippedAt?: string;
  readonly lines: readonly {
    readonly lineNo: number;
    readonly quantity: number;
    readonly unitPrice: number;
    /** quantity × unitPrice, rounded to cents. */
    readonly amount: number;
  }[];
  /** Sum of line amounts, in major units with at most 2 decimals (TDS01 carries cents). */
  readonly total: number;
}

export interface FunctionalAckInput extends DocumentBase {
  /** What `parsePurchaseOrder850` returned for the interchange being acknowledged. */
  readonly outcome: Parse850Result;
}

// X12 4010 maximum lengths of the free-text and id elements written here.
const MAX = {
  name: 60,
  address: 55,
  city: 30,
  region: 2,
  postal: 15,
  id: 30,
  po: 22,
  description: 80,
} as const;
const VERSION = '004010';

type Segment = readonly [tag: string, elements: readonly string[]];

function invalid(message: string): never {
  throw new EdiDocumentInvalid(message);
}

/** `2025-03-04T14:15:00Z` → CCYYMMDD and HHMM in UTC. */
function stamp(iso: string, field: string): { date: string; time: string } {
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) invalid(`${field} '${iso}' is not an ISO date-time`);
  const text = at.toISOString();
  return { date: text.slice(0, 10).replaceAll('-', ''), time: text.slice(11, 16).replace(':', '') };
}

function isoDate(date: string, field: string): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) invalid(`${field} '${date}' is not YYYY-MM-DD`);
  return date.replaceAll('-', '');
}

/** X12 R (decimal) element: no exponent, no trailing zeros, at most 4 decimals. */
function decimal(n: number): string {
  return String(Number(n.toFixed(4)));
}

function controlNumber(n: number, field: string): string {
  if (!Number.isInteger(n) || n < 1 || n > 999_999_999) invalid(`${field} must be an integer 1-999999999`);
  return String(n);
}

function outboundDelimiters(envelope: OutboundEnvelope) {
  const element = envelope.delimiters?.element ?? '*';
  const segment = envelope.delimiters?.segment ?? '~';
  const subElement = envelope.delimiters?.subElement ?? '>';
  if (
    new Set([element, segment, subElement]).size !== 3 ||
    [element, segment, subElement].some((d) => d.length !== 1)
  ) {
    invalid('element, segment and sub-element delimiters must be three different single characters');
  }
  return { element, segment, subElement };
}

function generate(
  base: DocumentBase,
  businessAt: string,
  functionalId: string,
  transactionSetId: string,
  segments: readonly Segment[],
): { x12: string; control: InterchangeControl } {
  const { envelope, controlNumbers } = base;
  const delimiters = outboundDelimiters(envelope);
  // Free text may carry any delimiter (a partner's own `~` in a store name); it becomes a space.
  const forbidden = new Set([delimiters.element, delimiters.segment, delimiters.subElement]);
  const clean = (elements: readonly string[]) =>
    elements.map((e) => [...e].map((c) => (forbidden.has(c) ? ' ' : c)).join(''));
  for (const [role, party] of [
    ['sender', envelope.sender],
    ['receiver', envelope.receiver],
  ] as const) {
    if (!/^[A-Z0-9]{2}$/.test(party.qualifier)) invalid(`${role} qualifier must be 2 characters`);
    // GS02/GS03 default to these ids and need at least 2 characters.
    if (party.id.length < 2 || party.id.length > 15) invalid(`${role} id must be 2-15 characters`);
  }
  const isa13 = controlNumber(controlNumbers.interchange, 'controlNumbers.interchange').padStart(9, '0');
  const gs06 = controlNumber(controlNumbers.group, 'controlNumbers.group');
  const st02 = controlNumber(controlNumbers.transaction, 'controlNumbers.transaction').padStart(4, '0');
  const { date, time } = stamp(base.preparedAt ?? businessAt, 'preparedAt');
  const options = {
    elementDelimiter: delimiters.element,
    segmentTerminator: delimiters.segment,
    subElementDelimiter: delimiters.subElement,
    endOfLine: '\n',
    format: envelope.newlineAfterSegment ?? false,
  };
  const jsen = new JSEDINotation(
    [
      '00',
      '',
      '00',
      '',
      envelope.sender.qualifier,
      envelope.sender.id,
      envelope.receiver.qualifier,
      envelope.receiver.id,
      date.slice(2),
      time,
      'U',
      '00401',
      isa13,
      '0',
      envelope.usage ?? 'P',
      delimiters.subElement,
    ],
    options,
  );
  const group = jsen.addFunctionalGroup([
    functionalId,
    envelope.applicationSender ?? envelope.sender.id,
    envelope.applicationReceiver ?? envelope.receiver.id,
    date,
    time,
    gs06,
    'X',
    VERSION,
  ]);
  const transaction = group.addTransaction([transactionSetId, st02]);
  for (const [tag, elements] of segments) {
    // Trailing empty elements are dropped, as X12 requires.
    const trimmed = [...clean(elements)];
    while (trimmed.length > 0 && trimmed.at(-1) === '') trimmed.pop();
    transaction.addSegment(tag, trimmed);
  }
  try {
    // toString() re-parses the generated interchange in strict mode, so a count or control-number slip throws.
    return { x12: new X12Generator(jsen, options).toString(), control: { isa13, gs06, st02: [st02] } };
  } catch (error) {
    return invalid(`generated ${transactionSetId} is not valid X12: ${(error as Error).message}`);
  }
}

const text = (value: string | undefined, max: number) => (value ?? '').trim().slice(0, max);

function orderLine(order: CanonicalOrder, lineNo: number, document: string): OrderLine {
  return (
    order.lines.find((l) => l.lineNo === lineNo) ??
    invalid(`${document}: order ${order.orderId} has no line ${lineNo}`)
  );
}

/**
 * PO101 and the unit of measure as the partner sent them, then our SKU as VP and the partner's own item
 * ids echoed back: retailers match documents to their PO lines by these, not by our SKU.
 */
function partnerLine(line: OrderLine, reference: PurchaseOrderReference | undefined) {
  const partner = reference?.lines.find((l) => l.lineNo === line.lineNo);
  const ids: string[] = ['VP', line.sku];
  for (const qualifier of ['BP', 'UP'] as const) {
    const id = partner?.productIds[qualifier];
    if (id) ids.push(qualifier, id);
  }
  return { assignedId: partner?.assignedId ?? String(line.lineNo), uom: partner?.uom ?? line.uom, ids };
}

function shipToLoop(order: CanonicalOrder, reference: PurchaseOrderReference | undefined): Segment[] {
  const { shipTo } = order;
  const location = reference?.shipToLocation;
  return [
    ['N1', ['ST', text(shipTo.name, MAX.name), ...(location ? [location.qualifier, location.code] : [])]],
    ['N3', [text(shipTo.line1, MAX.address), text(shipTo.line2, MAX.address)]],
    [
      'N4',
      [
        text(shipTo.city, MAX.city),
        // N402 is a 2-character state/province code: a longer region name is left out, not cut.
        (shipTo.region ?? '').length <= MAX.region ? text(shipTo.region, MAX.region) : '',
        text(shipTo.postalCode, MAX.postal),
        shipTo.country,
      ],
    ],
  ];
}

function poNumber(order: CanonicalOrder, reference: PurchaseOrderReference | undefined): string {
  return text(reference?.poNumber ?? order.customerPo ?? order.source.reference, MAX.po);
}

function poDate(order: CanonicalOrder, reference: PurchaseOrderReference | undefined): string {
  return reference?.poDate ?? order.orderedAt.slice(0, 10).replaceAll('-', '');
}

function positiveWhole(n: number, field: string): string {
  if (!Number.isInteger(n) || n <= 0) invalid(`${field} must be a whole number greater than 0`);
  return String(n);
}

const ACK_CODES: Readonly<Record<LineAckStatus, string>> = {
  accepted: 'IA',
  backordered: 'IB',
  rejected: 'IR',
};

/** 855: BAK02 AD when every line is accepted as ordered, RD when every line is rejected, AC otherwise. */
export function build855(ack: PurchaseOrderAck): OutboundDocument {
  const { order, reference } = ack;
  const acknowledged = stamp(ack.acknowledgedAt, 'acknowledgedAt');
  const detail: Segment[] = [];
  for (const line of order.lines) {
    const entries = ack.lines.filter((l) => l.lineNo === line.lineNo);
    if (entries.length === 0)
      invalid(`855: line ${line.lineNo} of order ${order.orderId} is not acknowledged`);
    if (entries.length > 1 && entries.some((e) => e.quantity === undefined)) {
      invalid(`855: line ${line.lineNo} is split, so every part needs a quantity`);
    }
    const total = entries.reduce((sum, e) => sum + (e.quantity ?? line.quantity), 0);
    if (total !== line.quantity) {
      invalid(`855: line ${line.lineNo} acknowledges ${total} of ${line.quantity} ordered`);
    }
    const { assignedId, uom, ids } = partnerLine(line, reference);
    detail.push(['PO1', [assignedId, String(line.quantity), uom, decimal(line.unitPrice), '', ...ids]]);
    for (const entry of entries) {
      detail.push([
        'ACK',
        [
          ACK_CODES[entry.status],
          positiveWhole(entry.quantity ?? line.quantity, `855 line ${line.lineNo} quantity`),
          uom,
          ...(entry.scheduledShipDate ? ['068', isoDate(entry.scheduledShipDate, 'scheduledShipDate')] : []),
        ],
      ]);
    }
  }
  for (const entry of ack.lines) orderLine(order, entry.lineNo, '855');
  const statuses = new Set(ack.lines.map((l) => l.status));
  const ackType =
    statuses.size === 1 && statuses.has('accepted')
      ? 'AD'
      : statuses.size === 1 && statuses.has('rejected')
        ? 'RD'
        : 'AC';
  const segments: Segment[] = [
    [
      'BAK',
      [
        '00',
        ackType,
        poNumber(order, reference),
        poDate(order, reference),
        '',
        '',
        '',
        order.orderId.length <= MAX.id ? order.orderId : '',
        acknowledged.date,
      ],
    ],
    ...shipToLoop(order, reference).slice(0, 1),
    ...detail,
    ['CTT', [String(order.lines.length)]],
  ];
  const built = generate(ack, ack.acknowledgedAt, 'PR', '855', segments);
  return { ...built, idempotencyKey: `edi-855:${order.orderId}:${built.control.st02[0]}` };
}

/** 856 in the Shipment / Order / Item hierarchy (BSN05 0004); CTT01 counts the HL segments. */
export function build856(asn: ShipNotice): OutboundDocument {
  const { order, reference } = asn;
  if (!/^[A-Z]{2,4}$/.test(asn.carrierScac))
    invalid(`856: carrier SCAC '${asn.carrierScac}' must be 2-4 letters`);
  if (!asn.shipmentId || asn.shipmentId.length > MAX.id) invalid('856: shipmentId must be 1-30 characters');
  if (!asn.trackingNumber || asn.trackingNumber.length > MAX.id) {
    invalid('856: trackingNumber must be 1-30 characters');
  }
  if (asn.lines.length === 0) invalid('856: a ship notice needs at least one shipped line');
  const shipped = stamp(asn.shippedAt, 'shippedAt');
  const shipment: Segment[] = [['HL', ['1', '', 'S']]];
  if (asn.packages) {
    const { count, grossWeight, weightUnit } = asn.packages;
    shipment.push([
      'TD1',
      [
        'CTN25',
        positiveWhole(count, '856 packages.count'),
        '',
        '',
        '',
        ...(grossWeight !== undefined ? ['G', decimal(grossWeight), weightUnit ?? 'LB'] : []),
      ],
    ]);
  }
  shipment.push(['TD5', ['', '2', asn.carrierScac]]);
  if (asn.billOfLading) shipment.push(['REF', ['BM', text(asn.billOfLading, MAX.id)]]);
  shipment.push(['REF', ['CN', asn.trackingNumber]]);
  shipment.push(['DTM', ['011', shipped.date, shipped.time]]);
  if (asn.estimatedDelivery)
    shipment.push(['DTM', ['017', isoDate(asn.estimatedDelivery, 'estimatedDelivery')]]);
  shipment.push(...shipToLoop(order, reference));
  const orderLevel: Segment[] = [
    ['HL', ['2', '1', 'O']],
    ['PRF', [poNumber(order, reference), '', '', poDate(order, reference)]],
  ];
  const items: Segment[] = [];
  asn.lines.forEach((shippedLine, index) => {
    const line = orderLine(order, shippedLine.lineNo, '856');
    const quantity = positiveWhole(shippedLine.quantity, `856 line ${line.lineNo} quantity`);
    if (shippedLine.quantity > line.quantity) {
      invalid(`856: line ${line.lineNo} ships ${shippedLine.quantity} but ${line.quantity} were ordered`);
    }
    const { assignedId, uom, ids } = partnerLine(line, reference);
    items.push(['HL', [String(index + 3), '2', 'I']]);
    items.push(['LIN', [assignedId, ...ids]]);
    items.push(['SN1', [assignedId, quantity, uom]]);
  });
  const hierarchicalLevels = 2 + asn.lines.length;
  const segments: Segment[] = [
    ['BSN', ['00', asn.shipmentId, shipped.date, shipped.time, '0004']],
    ...shipment,
    ...orderLevel,
    ...items,
    ['CTT', [String(hierarchicalLevels)]],
  ];
  const built = generate(asn, asn.shippedAt, 'SH', '856', segments);
  return { ...built, idempotencyKey: `edi-856:${order.orderId}:${asn.shipmentId}` };
}

function termsSegment(terms: string): Segment {
  const net = /^NET(\d{1,3})$/.exec(terms);
  if (net) return ['ITD', ['01', '3', '', '', '', '', net[1] ?? '']];
  if (!/^(CIA|COD|PREPAID)$/.test(terms))
    invalid(`810: payment terms '${terms}' are not NET<days>, CIA, COD or PREPAID`);
  // ITD12 free-form description: these terms have no net-days form.
  return ['ITD', ['01', '3', '', '', '', '', '', '', '', '', '', terms]];
}

/** 810: TDS01 carries the total in cents (N2); every amount is checked against quantity × price. */
export function build810(invoice: Invoice): OutboundDocument {
  const { order, reference } = invoice;
  if (!invoice.invoiceId || invoice.invoiceId.length > MAX.po)
    invalid('810: invoiceId must be 1-22 characters');
  if (invoice.lines.length === 0) invalid('810: an invoice needs at least one line');
  const issued = stamp(invoice.issuedAt, 'issuedAt');
  const cents = (n: number) => Math.round(n * 100);
  const detail: Segment[] = [];
  let sumCents = 0;
  for (const invoiced of invoice.lines) {
    const line = orderLine(order, invoiced.lineNo, '810');
    const quantity = positiveWhole(invoiced.quantity, `810 line ${line.lineNo} quantity`);
    if (Math.abs(invoiced.amount * 100 - cents(invoiced.amount)) > 1e-6) {
      invalid(`810: line ${line.lineNo} amount ${invoiced.amount} has more than 2 decimals`);
    }
    if (cents(invoiced.amount) !== cents(invoiced.quantity * invoiced.unitPrice)) {
      invalid(
        `810: line ${line.lineNo} amount ${invoiced.amount} is not ${invoiced.quantity} × ${invoiced.unitPrice}`,
      );
    }
    sumCents += cents(invoiced.amount);
    const { assignedId, uom, ids } = partnerLine(line, reference);
    detail.push(['IT1', [assignedId, quantity, uom, decimal(invoiced.unitPrice), '', ...ids]]);
    if (line.description) detail.push(['PID', ['F', '', '', '', text(line.description, MAX.description)]]);
  }
  if (Math.abs(invoice.total * 100 - cents(invoice.total)) > 1e-6) {
    invalid(`810: total ${invoice.total} has more than 2 decimals`);
  }
  if (cents(invoice.total) !== sumCents) {
    invalid(
      `810: total ${invoice.total} is not the sum of the line amounts (${(sumCents / 100).toFixed(2)})`,
    );
  }
  const segments: Segment[] = [
    ['BIG', [issued.date, invoice.invoiceId, poDate(order, reference), poNumber(order, reference)]],
    ['CUR', ['SE', order.currency]],
    ...shipToLoop(order, reference),
    termsSegment(invoice.terms ?? order.customer.terms.paymentTerms),
    ...(invoice.shippedAt ? [['DTM', ['011', stamp(invoice.shippedAt, 'shippedAt').date]] as const] : []),
    ...detail,
    ['TDS', [String(sumCents)]],
    ['CTT', [String(invoice.lines.length)]],
  ];
  const built = generate(invoice, invoice.issuedAt, 'IN', '810', segments);
  return { ...built, idempotencyKey: `edi-810:${order.orderId}:${invoice.invoiceId}` };
}

/** AK304 segment syntax error and AK403 element syntax error codes for a rejection finding. */
function syntaxCodes(error: EdiError): { segment: string; element?: string } {
  if (error.code === 'MISSING_SEGMENT') return { segment: '3' };
  if (error.code === 'UNSUPPORTED_SEGMENT') return { segment: '2' };
  if (error.rule === 'required' || error.rule.startsWith('required:')) return { segment: '8', element: '1' };
  if (error.rule.startsWith('format:CCYYMMDD')) return { segment: '8', element: '8' };
  if (error.rule.startsWith('type:') || error.rule.startsWith('pattern:'))
    return { segment: '8', element: '6' };
  if (error.rule.startsWith('maxLength:')) return { segment: '8', element: '5' };
  return { segment: '8', element: '7' };
}

/** AK5 transaction set error codes for findings about the set's own envelope. */
function setLevelCode(error: EdiError): string | undefined {
  if (error.segment === 'SE' && error.rule === 'required') return '2';
  if (error.code === 'CONTROL_NUMBER_MISMATCH' && error.segment === 'SE') return '3';
  if (error.code === 'SEGMENT_COUNT_MISMATCH') return '4';
  if (error.code === 'UNSUPPORTED_TRANSACTION') return '1';
  if (error.code === 'DUPLICATE_DOCUMENT' && error.segment === 'ST') return '23';
  return undefined;
}

/**
 * 997 for an 850 interchange. Accepted: AK5 A per set, AK9 A. Rejected: the interchange was refused as a
 * whole, so every set is AK5 R; sets with findings carry AK3/AK4 detail (segment, position, element), and
 * group trailer findings become AK9 codes. Findings about the ISA itself need a TA1, not a 997.
 */
export function functionalAcknowledgment997(input: FunctionalAckInput): OutboundDocument {
  const { outcome } = input;
  const control = outcome.ok ? outcome.control : outcome.rejection.control;
  const gs06 = control?.gs06;
  const sets = control?.st02 ?? [];
  if (!gs06)
    invalid('997: the interchange has no readable functional group to acknowledge; answer with a TA1');
  const errors = outcome.ok ? [] : outcome.rejection.errors;
  const segments: Segment[] = [['AK1', ['PO', gs06]]];
  for (const st02 of sets) {
    segments.push(['AK2', ['850', st02]]);
    const own = errors.filter((e) => e.transactionSet === st02);
    const setCodes = new Set<string>();
    for (const error of own) {
      const setCode = setLevelCode(error);
      if (setCode) {
        setCodes.add(setCode);
        continue;
      }
      if (error.position === undefined) continue;
      const codes = syntaxCodes(error);
      segments.push(['AK3', [error.segment, String(error.position), '', codes.segment]]);
      if (codes.element) {
        const elementPosition = String(Number(error.element.slice(error.segment.length)));
        segments.push(['AK4', [elementPosition, '', codes.element, text(error.value, 99)]]);
      }
      setCodes.add('5');
    }
    segments.push(['AK5', [outcome.ok ? 'A' : 'R', ...[...setCodes].slice(0, 5)]]);
  }
  const groupCodes = errors
    .filter((e) => e.segment === 'GE')
    .map((e) => (e.rule === 'required' ? '3' : e.code === 'CONTROL_NUMBER_MISMATCH' ? '4' : '5'));
  const accepted = outcome.ok ? sets.length : 0;
  segments.push([
    'AK9',
    [
      outcome.ok ? 'A' : 'R',
      String(sets.length),
      String(sets.length),
      String(accepted),
      ...groupCodes.slice(0, 5),
    ],
  ]);
  const preparedAt = input.preparedAt ?? invalid('997: preparedAt is required');
  const built = generate(input, preparedAt, 'FA', '997', segments);
  return {
    ...built,
    idempotencyKey: `edi-997:${input.envelope.receiver.id}:${control?.isa13 ?? ''}:${gs06}`,
  };
}
