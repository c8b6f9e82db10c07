import { X12Interchange, X12Parser, type X12Segment, type X12Transaction } from 'node-x12';
import { oversizeOrderViolation } from '../../../contracts/events.ts';
import { type CanonicalOrder, parseCanonicalOrder } from '../../../contracts/order.ts';
import type { FieldViolation } from '../../../contracts/validation.ts';
import type {
  CustomerPriority,
  CustomerSegment,
  FulfilmentTerms,
  ServiceLevel,
} from '../../../contracts/vocabulary.ts';

/**
 * X12 850 purchase order → canonical orders. The node-x12 parser tokenises the interchange with the
 * delimiters the ISA header declares (element separator at ISA position 4, sub-element separator ISA16,
 * segment terminator after ISA16) and builds the ISA/GS/ST object model; this adapter checks the envelope,
 * maps each transaction set and reports every broken rule with the X12 segment, position and element, so
 * a rejection can be answered with a 997 and read by the partner's EDI team.
 */

export type EdiRejectionCode =
  | 'MALFORMED_ENVELOPE'
  | 'CONTROL_NUMBER_MISMATCH'
  | 'CONTROL_COUNT_MISMATCH'
  | 'SEGMENT_COUNT_MISMATCH'
  | 'DUPLICATE_DOCUMENT'
  | 'UNKNOWN_TRADING_PARTNER'
  | 'PARTNER_PROFILE_INVALID'
  | 'UNSUPPORTED_TRANSACTION'
  | 'UNSUPPORTED_PURPOSE'
  | 'UNSUPPORTED_SEGMENT'
  | 'MISSING_SEGMENT'
  | 'INVALID_ELEMENT'
  | 'UNKNOWN_ITEM'
  | 'LINE_COUNT_MISMATCH'
  /** The purchase order would make an order.received over the 256 KB EventBridge entry limit. */
  | 'DOCUMENT_TOO_LARGE';

export interface EdiError {
  readonly code: EdiRejectionCode;
  /** Segment tag, e.g. 'PO1'. */
  readonly segment: string;
  /**
   * Ordinal of the segment in its transaction set (ST = 1), as a 997 AK302 reports it. For a missing
   * segment, the position of the segment found where it was expected. Absent for envelope segments
   * (ISA, GS, GE, IEA), which sit outside any transaction set.
   */
  readonly position?: number;
  /** Element reference, e.g. 'PO102'. */
  readonly element: string;
  readonly rule: string;
  readonly message: string;
  /** ST02 of the transaction set the error is in. */
  readonly transactionSet?: string;
  /** The offending value as received, for the 997 AK404 and for the operator. */
  readonly value?: string;
  /** The canonical order field the error was found on, when the canonical contract found it. */
  readonly canonicalPath?: string;
}

export interface InterchangeControl {
  /** ISA13, nine digits. */
  readonly isa13: string;
  readonly gs06: string;
  readonly st02: readonly string[];
}

export interface EdiRejection {
  /** The code of the first error; each error carries its own. */
  readonly code: EdiRejectionCode;
  readonly errors: readonly EdiError[];
  /** As far as the envelope could be read; a 997 needs it. */
  readonly control?: Partial<InterchangeControl> & { readonly senderId?: string; readonly gs01?: string };
}

/** What Handoff knows about a trading partner, keyed by its ISA06 interchange sender id. */
export interface TradingPartnerProfile {
  readonly customerId: string;
  readonly customerName?: string;
  readonly segment: CustomerSegment;
  readonly priority: CustomerPriority;
  readonly paymentTerms: string;
  readonly fulfilment: FulfilmentTerms;
  /** Used when the PO carries no CUR segment. */
  readonly currency: string;
  /** @default 'standard' */
  readonly serviceLevel?: ServiceLevel;
  /** Partner unit-of-measure code → Handoff's, e.g. `{ CA: 'CS' }`. Unmapped codes pass through. */
  readonly uomMap?: Readonly<Record<string, string>>;
  /** The partner's own item numbers (PO1 qualifier BP) → Handoff SKU. */
  readonly buyerItems?: Readonly<Record<string, string>>;
  /** Country for ship-to addresses whose N4 omits N404 (US retailers often do). */
  readonly defaultCountry?: string;
}

export interface CatalogueItem {
  readonly unitCost: number;
  /** 12-digit UPC, so a PO1 that names the item only by UP resolves to this SKU. */
  readonly upc?: string;
}

export interface Parse850Options {
  readonly tradingPartners: Readonly<Record<string, TradingPartnerProfile>>;
  /** Handoff SKU → cost; an 850 carries prices, never our cost. */
  readonly catalogue: Readonly<Record<string, CatalogueItem>>;
  /** Receipt time: a PO dated more than a day after it is refused as mis-keyed. @default new Date() */
  readonly now?: Date;
  /** ISA15 this gateway accepts; a test interchange must not create real orders. @default 'P' */
  readonly usage?: 'P' | 'T';
}

/**
 * Partner identifiers the canonical order has no field for but the 855/856/810 must echo back: the
 * PO1 assigned id, the buyer's and UPC item numbers, and the ship-to location code.
 */
export interface PurchaseOrderReference {
  readonly orderId: string;
  readonly transactionSet: string;
  readonly poNumber: string;
  /** BEG05, CCYYMMDD. */
  readonly poDate: string;
  readonly shipToLocation?: { readonly qualifier: string; readonly code: string };
  readonly lines: readonly {
    readonly lineNo: number;
    /** PO101 as sent (e.g. '001'). */
    readonly assignedId: string;
    /** PO103 as sent, before the partner's UOM map was applied. */
    readonly uom: string;
    /** Qualifier → id, e.g. `{ BP: '100200300', UP: '012345678905' }`. */
    readonly productIds: Readonly<Record<string, string>>;
  }[];
}

export type Parse850Result =
  | {
      readonly ok: true;
      readonly orders: CanonicalOrder[];
      readonly control: InterchangeControl;
      readonly references: PurchaseOrderReference[];
    }
  | { readonly ok: false; readonly rejection: EdiRejection };

const ISA_LENGTH = 106;
const ISA_WIDTHS = [2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1, 1] as const;
const PRODUCT_ID_QUALIFIERS = ['VP', 'UP', 'BP'] as const;
type ProductIdQualifier = (typeof PRODUCT_ID_QUALIFIERS)[number];
const PURPOSES: Readonly<Record<string, string>> = {
  '00': 'original',
  '01': 'cancellation',
  '04': 'change',
  '05': 'replace',
  '06': 'confirmation',
  '07': 'duplicate',
  '22': 'information copy',
};

const elementRef = (tag: string, index: number) => `${tag}${String(index).padStart(2, '0')}`;
/** 'PO102' → 'PO1'. */
const tagOf = (element: string) => element.replace(/\d{2}$/, '');

/** An element's value, trimmed; '' when absent (node-x12 answers null at runtime). */
function value(segment: X12Segment, index: number): string {
  const raw: unknown = segment.valueOf(index);
  return typeof raw === 'string' ? raw.trim() : '';
}

function finding(
  code: EdiRejectionCode,
  element: string,
  rule: string,
  message: string,
  where: { position?: number; transactionSet?: string; value?: string } = {},
): EdiError {
  return {
    code,
    segment: tagOf(element),
    ...(where.position !== undefined ? { position: where.position } : {}),
    element,
    rule,
    message,
    ...(where.transactionSet !== undefined ? { transactionSet: where.transactionSet } : {}),
    ...(where.value !== undefined ? { value: where.value } : {}),
  };
}

function rejection(errors: EdiError[], control?: EdiRejection['control']): Parse850Result {
  const code = errors[0]?.code ?? 'MALFORMED_ENVELOPE';
  return { ok: false, rejection: { code, errors, ...(control ? { control } : {}) } };
}

/** CCYYMMDD → YYYY-MM-DD when it is a real calendar date. */
function x12Date(raw: string): string | undefined {
  if (!/^\d{8}$/.test(raw)) return undefined;
  const iso = `${raw.slice(0, 4)}-${raw.slice(4, 6)}-${raw.slice(6, 8)}`;
  const date = new Date(`${iso}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === iso ? iso : undefined;
}

/** X12 R (decimal) element: optional sign, digits, optional point. */
function x12Decimal(raw: string): number | undefined {
  return /^-?(\d+\.?\d*|\.\d+)$/.test(raw) ? Number(raw) : undefined;
}

/** `EDI-<PO number>`, with anything ORDER_ID_PATTERN refuses turned into '-'. */
export function ediOrderId(customerId: string, poNumber: string): string {
  // PO numbers are the retailer's own: two retailers can send the same one, so the customer is part of the id.
  const safe = (text: string) => text.replace(/[^A-Za-z0-9_-]+/g, '-').replace(/^[-_]+/, '');
  return `EDI-${safe(customerId)}-${safe(poNumber)}`.slice(0, 80);
}

/**
 * The ISA is fixed-width: 16 elements of fixed length, 106 characters with the terminator. node-x12 reads
 * the delimiters from fixed offsets and would mis-tokenise a short header, so it is checked first.
 */
function checkIsa(raw: string): { errors: EdiError[]; elements: string[] } {
  if (!raw.startsWith('ISA') || raw.length < ISA_LENGTH) {
    const message = `an interchange must start with a ${ISA_LENGTH}-character ISA segment`;
    return { errors: [finding('MALFORMED_ENVELOPE', 'ISA01', 'required', message)], elements: [] };
  }
  // ISA01..ISA15, then ISA16 followed by the segment terminator and the rest of the document.
  const parts = raw.slice(4).split(raw.charAt(3), ISA_WIDTHS.length);
  const elements = [...parts.slice(0, -1), (parts.at(-1) ?? '').charAt(0)];
  if (parts.length !== ISA_WIDTHS.length) {
    const message = `ISA must have 16 fixed-width elements (${ISA_LENGTH} characters); found ${parts.length}`;
    return {
      errors: [finding('MALFORMED_ENVELOPE', 'ISA16', `fixedLength:${ISA_LENGTH}`, message)],
      elements,
    };
  }
  const errors = ISA_WIDTHS.flatMap((width, index) => {
    const found = elements[index] ?? '';
    if (found.length === width) return [];
    const message = `must be exactly ${width} characters (space-padded); found ${found.length}`;
    return [finding('MALFORMED_ENVELOPE', elementRef('ISA', index + 1), `fixedLength:${width}`, message)];
  });
  if (errors.length === 0 && !/^\d{9}$/.test(elements[12] ?? '')) {
    const message = 'interchange control number must be nine digits';
    errors.push(finding('MALFORMED_ENVELOPE', 'ISA13', 'pattern:^\\d{9}$', message, { value: elements[12] }));
  }
  return { errors, elements };
}

function parseInterchange(raw: string): { interchange?: X12Interchange; diagnostics: string[] } {
  // A parser instance keeps the last interchange between calls, so each document gets its own.
  const parser = new X12Parser(false);
  try {
    const parsed = parser.parse(raw);
    const diagnostics = parser.diagnostics.map((d) => d.message.replace(/^X12 Standard: /, ''));
    return parsed instanceof X12Interchange ? { interchange: parsed, diagnostics } : { diagnostics };
  } catch (error) {
    return { diagnostics: [error instanceof Error ? error.message : String(error)] };
  }
}

/** Trailers present, control numbers and counts agreeing, one group of 850s, one interchange. */
function envelopeErrors(interchange: X12Interchange, raw: string, diagnostics: string[]): EdiError[] {
  const errors: EdiError[] = [];
  for (const diagnostic of diagnostics) {
    // Count and control-number findings are re-derived below with their element; the rest are structural.
    if (diagnostic.includes('does not match')) continue;
    const tag = /(\w+) segment cannot appear outside/.exec(diagnostic)?.[1] ?? 'ISA';
    errors.push(finding('MALFORMED_ENVELOPE', `${tag}01`, 'structure', diagnostic));
  }
  const separator = raw.charAt(3);
  const rest = raw.slice(ISA_LENGTH).split(raw.charAt(ISA_LENGTH - 1));
  if (rest.some((s) => s.trimStart().startsWith(`ISA${separator}`))) {
    const message = 'one interchange per document: concatenated interchanges must be sent separately';
    errors.push(finding('MALFORMED_ENVELOPE', 'ISA13', 'maxOccurs:1', message));
  }
  const groups = interchange.functionalGroups;
  if (groups.length !== 1) {
    const message = `the interchange must carry exactly one functional group of purchase orders; found ${groups.length}`;
    errors.push(
      finding('MALFORMED_ENVELOPE', 'GS01', groups.length === 0 ? 'required' : 'maxOccurs:1', message),
    );
  }
  for (const group of groups) {
    const gs01 = value(group.header, 1);
    const gs06 = value(group.header, 6);
    if (gs01 !== 'PO') {
      const message = `functional identifier must be PO (purchase orders); found '${gs01}'`;
      errors.push(finding('UNSUPPORTED_TRANSACTION', 'GS01', 'oneOf:PO', message, { value: gs01 }));
    }
    const seen = new Set<string>();
    for (const tx of group.transactions) errors.push(...transactionEnvelopeErrors(tx, seen, gs06));
    // node-x12 leaves a trailer unset when the document ends before it.
    const trailer = group.trailer as X12Segment | undefined;
    if (!trailer) {
      const message = `functional group ${gs06} has no GE trailer: the document is truncated`;
      errors.push(finding('MALFORMED_ENVELOPE', 'GE01', 'required', message));
      continue;
    }
    const [ge01, ge02] = [value(trailer, 1), value(trailer, 2)];
    if (ge01 !== String(group.transactions.length)) {
      const message = `GE01 says ${ge01} transaction sets but group ${gs06} has ${group.transactions.length}`;
      errors.push(finding('CONTROL_COUNT_MISMATCH', 'GE01', 'count:ST', message, { value: ge01 }));
    }
    if (ge02 !== gs06) {
      const message = `GE02 ${ge02} does not match GS06 ${gs06}`;
      errors.push(finding('CONTROL_NUMBER_MISMATCH', 'GE02', 'equals:GS06', message, { value: ge02 }));
    }
  }
  const trailer = interchange.trailer as X12Segment | undefined;
  if (!trailer) {
    const message = 'the interchange has no IEA trailer: the document is truncated';
    return [...errors, finding('MALFORMED_ENVELOPE', 'IEA01', 'required', message)];
  }
  const [iea01, iea02] = [value(trailer, 1), value(trailer, 2)];
  if (iea01 !== String(groups.length)) {
    const message = `IEA01 says ${iea01} functional groups but the interchange has ${groups.length}`;
    errors.push(finding('CONTROL_COUNT_MISMATCH', 'IEA01', 'count:GS', message, { value: iea01 }));
  }
  // node-x12 normalises ISA13 and IEA02 to integers, so leading zeros cause no false mismatch.
  const isa13 = value(interchange.header, 13);
  if (iea02 !== isa13) {
    const [sent, expected] = [iea02.padStart(9, '0'), isa13.padStart(9, '0')];
    const message = `IEA02 ${sent} does not match ISA13 ${expected}`;
    errors.push(finding('CONTROL_NUMBER_MISMATCH', 'IEA02', 'equals:ISA13', message, { value: sent }));
  }
  return errors;
}

function transactionEnvelopeErrors(tx: X12Transaction, seen: Set<string>, gs06: string): EdiError[] {
  const errors: EdiError[] = [];
  const [st01, st02] = [value(tx.header, 1), value(tx.header, 2)];
  const set = { transactionSet: st02 };
  if (st01 !== '850') {
    const message = `transaction set ${st02} is a ${st01}; only 850 purchase orders are accepted here`;
    errors.push(
      finding('UNSUPPORTED_TRANSACTION', 'ST01', 'oneOf:850', message, { ...set, position: 1, value: st01 }),
    );
  }
  if (seen.has(st02)) {
    const message = `transaction set control number ${st02} is used twice in group ${gs06}`;
    errors.push(
      finding('DUPLICATE_DOCUMENT', 'ST02', 'unique', message, { ...set, position: 1, value: st02 }),
    );
  }
  seen.add(st02);
  const count = tx.segments.length + 2;
  const at = { ...set, position: count };
  const trailer = tx.trailer as X12Segment | undefined;
  if (!trailer) {
    const message = `transaction set ${st02} has no SE trailer: the document is truncated`;
    return [...errors, finding('MALFORMED_ENVELOPE', 'SE01', 'required', message, at)];
  }
  const [se01, se02] = [value(trailer, 1), value(trailer, 2)];
  if (se01 !== String(count)) {
    const message = `SE01 says ${se01} segments but transaction set ${st02} has ${count} (ST to SE inclusive)`;
    errors.push(finding('SEGMENT_COUNT_MISMATCH', 'SE01', 'count:segments', message, { ...at, value: se01 }));
  }
  if (se02 !== st02) {
    const message = `SE02 ${se02} does not match ST02 ${st02}`;
    errors.push(finding('CONTROL_NUMBER_MISMATCH', 'SE02', 'equals:ST02', message, { ...at, value: se02 }));
  }
  return errors;
}

interface Located {
  readonly segment: X12Segment;
  readonly position: number;
}

/** Collects one transaction set's findings, each stamped with its ST02. */
class Findings {
  readonly errors: EdiError[] = [];
  constructor(readonly transactionSet: string) {}
  add(
    code: EdiRejectionCode,
    position: number,
    element: string,
    rule: string,
    message: string,
    found?: string,
  ) {
    const where = {
      position,
      transactionSet: this.transactionSet,
      ...(found !== undefined ? { value: found } : {}),
    };
    this.errors.push(finding(code, element, rule, message, where));
  }
}

interface Header {
  readonly beg: Located;
  readonly poNumber: string;
  readonly poDateRaw: string;
  readonly poDate?: string;
  readonly cur?: Located;
  readonly dtm?: Located;
  readonly promiseDate?: string;
}

/** BEG (purpose, PO number, PO date), CUR and the DTM 002 delivery-requested date. */
function readHeader(
  header: Located[],
  detailStart: number,
  now: Date,
  findings: Findings,
): Header | undefined {
  const beg = header.find((s) => s.segment.tag === 'BEG');
  if (!beg) {
    findings.add('MISSING_SEGMENT', 2, 'BEG01', 'required', 'an 850 must begin with BEG');
    return undefined;
  }
  const at = beg.position;
  const [purpose, poNumber, poDateRaw] = [
    value(beg.segment, 1),
    value(beg.segment, 3),
    value(beg.segment, 5),
  ];
  if (purpose !== '00') {
    const name = PURPOSES[purpose];
    const message =
      purpose === '01'
        ? `BEG01 01 (cancellation) of PO ${poNumber} cannot create an order and is not applied automatically: send changes and cancellations as an 860 or through the agreed cancellation procedure`
        : `BEG01 ${purpose || '(empty)'}${name ? ` (${name})` : ''} is not accepted: only 00 (original) purchase orders create orders`;
    findings.add('UNSUPPORTED_PURPOSE', at, 'BEG01', 'oneOf:00', message, purpose);
    return undefined;
  }
  if (!poNumber)
    findings.add('INVALID_ELEMENT', at, 'BEG03', 'required', 'purchase order number is required');
  const poDate = x12Date(poDateRaw);
  if (!poDate) {
    findings.add(
      'INVALID_ELEMENT',
      at,
      'BEG05',
      'format:CCYYMMDD',
      'PO date must be a CCYYMMDD date',
      poDateRaw,
    );
  } else if (new Date(`${poDate}T00:00:00Z`).getTime() > now.getTime() + 86_400_000) {
    const message = `PO date ${poDate} is after the interchange was received (${now.toISOString().slice(0, 10)})`;
    findings.add('INVALID_ELEMENT', at, 'BEG05', 'notAfter:receivedAt', message, poDateRaw);
  }
  const cur = header.find((s) => s.segment.tag === 'CUR');
  const dtm = header.find((s) => s.segment.tag === 'DTM' && value(s.segment, 1) === '002');
  let promiseDate: string | undefined;
  if (!dtm) {
    const message = 'a DTM with qualifier 002 (delivery requested) is required before the PO1 lines';
    findings.add('MISSING_SEGMENT', detailStart, 'DTM01', 'required:DTM01=002', message);
  } else {
    promiseDate = x12Date(value(dtm.segment, 2));
    if (!promiseDate) {
      const message = 'delivery requested date must be a CCYYMMDD date';
      findings.add(
        'INVALID_ELEMENT',
        dtm.position,
        'DTM02',
        'format:CCYYMMDD',
        message,
        value(dtm.segment, 2),
      );
    }
  }
  return {
    beg,
    poNumber,
    poDateRaw,
    ...(poDate ? { poDate } : {}),
    ...(cur ? { cur } : {}),
    ...(dtm ? { dtm } : {}),
    ...(promiseDate ? { promiseDate } : {}),
  };
}

interface ShipToLoop {
  readonly n1?: Located;
  readonly n3?: Located;
  readonly n4?: Located;
  readonly per?: Located;
  /** PER element carrying the phone number / e-mail address (qualifier TE / EM before it). */
  readonly phoneElement?: string;
  readonly emailElement?: string;
}

/** The header N1 loop with N101 = ST: N1 then its N2/N3/N4/PER/REF until the next N1. */
function readShipTo(header: Located[], detailStart: number, findings: Findings): ShipToLoop {
  const loops: Located[][] = [];
  for (const located of header) {
    if (located.segment.tag === 'N1') loops.push([located]);
    else if (['N2', 'N3', 'N4', 'PER', 'REF'].includes(located.segment.tag)) loops.at(-1)?.push(located);
  }
  const shipToLoops = loops.filter((loop) => loop[0] && value(loop[0].segment, 1) === 'ST');
  const [loop = [], second] = shipToLoops;
  const n1 = loop[0];
  if (!n1) {
    const message = 'the ship-to party (an N1 loop with N101 = ST) is required before the PO1 lines';
    findings.add('MISSING_SEGMENT', detailStart, 'N101', 'required:N101=ST', message);
    return {};
  }
  if (second?.[0]) {
    const message = 'only one header ship-to (N1*ST) is allowed';
    findings.add('INVALID_ELEMENT', second[0].position, 'N101', 'maxOccurs:1', message, 'ST');
  }
  const n3 = loop.find((s) => s.segment.tag === 'N3');
  const n4 = loop.find((s) => s.segment.tag === 'N4');
  const per = loop.find((s) => s.segment.tag === 'PER');
  if (!n3)
    findings.add('MISSING_SEGMENT', detailStart, 'N301', 'required', 'the ship-to loop needs an N3 address');
  if (!n4) {
    findings.add(
      'MISSING_SEGMENT',
      detailStart,
      'N401',
      'required',
      'the ship-to loop needs an N4 city/postal code',
    );
  }
  let phoneElement: string | undefined;
  let emailElement: string | undefined;
  for (const qualifierIndex of per ? [3, 5, 7] : []) {
    const qualifier = per ? value(per.segment, qualifierIndex) : '';
    const element = elementRef('PER', qualifierIndex + 1);
    if (qualifier === 'TE') phoneElement ??= element;
    if (qualifier === 'EM') emailElement ??= element;
  }
  return {
    n1,
    ...(n3 ? { n3 } : {}),
    ...(n4 ? { n4 } : {}),
    ...(per ? { per } : {}),
    ...(phoneElement ? { phoneElement } : {}),
    ...(emailElement ? { emailElement } : {}),
  };
}

interface PoLine {
  readonly po1: Located;
  readonly pid?: Located;
  readonly lineNo: number;
  readonly assignedId: string;
  readonly quantity?: number;
  readonly uom: string;
  readonly unitPrice?: number;
  readonly sku?: string;
  /** Element carrying the id the SKU was resolved from (or the first id sent). */
  readonly skuElement: string;
  readonly productIds: Record<string, string>;
}

interface ItemResolver {
  readonly catalogue: Readonly<Record<string, CatalogueItem>>;
  readonly byUpc: ReadonlyMap<string, string>;
  readonly buyerItems: Readonly<Record<string, string>>;
}

/** PO1: quantity, unit, price and the item, resolved VP (our SKU) → UP (UPC) → BP (buyer's item). */
function readPo1(located: Located, ordinal: number, items: ItemResolver, findings: Findings): PoLine {
  const { segment, position: at } = located;
  const assignedId = value(segment, 1);
  const lineNo = /^\d{1,4}$/.test(assignedId) && Number(assignedId) > 0 ? Number(assignedId) : ordinal;
  const [quantityRaw, uom, priceRaw] = [value(segment, 2), value(segment, 3), value(segment, 4)];
  const quantity = x12Decimal(quantityRaw);
  if (quantity === undefined) {
    const [rule, message] = quantityRaw
      ? ['type:number', `quantity ordered '${quantityRaw}' is not a number`]
      : ['required', 'quantity ordered is required'];
    findings.add('INVALID_ELEMENT', at, 'PO102', rule, message, quantityRaw);
  } else if (!Number.isInteger(quantity) || quantity <= 0) {
    const message = `quantity ordered must be a whole number greater than 0; found ${quantityRaw}`;
    findings.add('INVALID_ELEMENT', at, 'PO102', 'positiveWholeUnits', message, quantityRaw);
  }
  if (!uom) findings.add('INVALID_ELEMENT', at, 'PO103', 'required', 'unit of measure is required');
  const unitPrice = x12Decimal(priceRaw);
  if (unitPrice === undefined) {
    const [rule, message] = priceRaw
      ? ['type:number', `unit price '${priceRaw}' is not a number`]
      : ['required', 'unit price is required'];
    findings.add('INVALID_ELEMENT', at, 'PO104', rule, message, priceRaw);
  }

  const productIds: Record<string, string> = {};
  const idElements: Partial<Record<ProductIdQualifier, string>> = {};
  for (let index = 6; index <= 24; index += 2) {
    const [qualifier, id] = [value(segment, index), value(segment, index + 1)];
    if (!qualifier || !id || productIds[qualifier] !== undefined) continue;
    productIds[qualifier] = id;
    const known = PRODUCT_ID_QUALIFIERS.find((q) => q === qualifier);
    if (known) idElements[known] = elementRef('PO1', index + 1);
  }
  const resolvers: Record<ProductIdQualifier, (id: string) => string | undefined> = {
    VP: (id) => (items.catalogue[id] ? id : undefined),
    UP: (id) => items.byUpc.get(id) ?? (items.catalogue[id] ? id : undefined),
    BP: (id) => items.buyerItems[id],
  };
  const sent = PRODUCT_ID_QUALIFIERS.filter((q) => productIds[q] !== undefined);
  const resolved = sent.flatMap((qualifier) => {
    const sku = resolvers[qualifier](productIds[qualifier] ?? '');
    return sku ? [{ qualifier, sku }] : [];
  });
  const [first] = sent;
  const [chosen] = resolved;
  const skuElement = idElements[chosen?.qualifier ?? first ?? 'VP'] ?? 'PO107';
  if (!first) {
    const message = 'a product id qualified VP (vendor part), UP (UPC) or BP (buyer part) is required';
    findings.add('INVALID_ELEMENT', at, 'PO107', 'required:VP|UP|BP', message);
  } else if (!chosen) {
    const ids = sent.map((q) => `${q} ${productIds[q]}`).join(', ');
    const message = `PO1 line ${assignedId || ordinal} names no item in the catalogue (${ids})`;
    findings.add('UNKNOWN_ITEM', at, skuElement, 'knownItem', message, productIds[first]);
  } else {
    const conflict = resolved.find((r) => r.sku !== chosen.sku);
    if (conflict) {
      const message = `${conflict.qualifier} ${productIds[conflict.qualifier]} is item ${conflict.sku} but ${chosen.qualifier} ${productIds[chosen.qualifier]} is item ${chosen.sku}`;
      const element = idElements[conflict.qualifier] ?? skuElement;
      findings.add(
        'INVALID_ELEMENT',
        at,
        element,
        `sameItemAs:${chosen.qualifier}`,
        message,
        productIds[conflict.qualifier],
      );
    }
  }
  const sku = chosen?.sku ?? (first ? productIds[first] : undefined);
  return {
    po1: located,
    lineNo,
    assignedId,
    ...(quantity !== undefined ? { quantity } : {}),
    uom,
    ...(unitPrice !== undefined ? { unitPrice } : {}),
    ...(sku !== undefined ? { sku } : {}),
    skuElement,
    productIds,
  };
}

/** Detail area: PO1 loops (PO1, then PID, REF, DTM, … until the next PO1), closed by CTT. */
function readDetail(
  detail: Located[],
  detailStart: number,
  items: ItemResolver,
  findings: Findings,
): PoLine[] {
  const lines: PoLine[] = [];
  let ctt: Located | undefined;
  for (const located of detail) {
    const { segment, position } = located;
    const current = lines.at(-1);
    if (segment.tag === 'PO1') lines.push(readPo1(located, lines.length + 1, items, findings));
    else if (segment.tag === 'PID' && current && !current.pid && !ctt)
      lines[lines.length - 1] = { ...current, pid: located };
    else if (segment.tag === 'CTT') ctt ??= located;
    else if (segment.tag === 'SDQ' || (segment.tag === 'N1' && value(segment, 1) === 'ST')) {
      const message =
        'line-level ship-to (store distribution) is not supported: send one PO per ship-to location';
      findings.add('UNSUPPORTED_SEGMENT', position, `${segment.tag}01`, 'headerShipToOnly', message);
    }
  }
  if (lines.length === 0) {
    findings.add('MISSING_SEGMENT', detailStart, 'PO101', 'required', 'an 850 needs at least one PO1 line');
  }
  if (!ctt) return lines;
  const [ctt01, ctt02] = [value(ctt.segment, 1), value(ctt.segment, 2)];
  if (ctt01 !== String(lines.length)) {
    const message = `CTT01 says ${ctt01} line items but transaction set ${findings.transactionSet} has ${lines.length} PO1 segments`;
    findings.add('LINE_COUNT_MISMATCH', ctt.position, 'CTT01', 'count:PO1', message, ctt01);
  }
  const quantities = lines.map((l) => l.quantity);
  if (ctt02 && quantities.every((q) => q !== undefined)) {
    const sum = quantities.reduce((total: number, q) => total + (q ?? 0), 0);
    if (Math.abs((x12Decimal(ctt02) ?? Number.NaN) - sum) > 1e-9) {
      const message = `CTT02 hash total ${ctt02} does not equal the sum of PO102 quantities (${sum})`;
      findings.add('LINE_COUNT_MISMATCH', ctt.position, 'CTT02', 'sum:PO102', message, ctt02);
    }
  }
  return lines;
}

interface X12Location {
  readonly element: string;
  readonly position: number;
  /** False when the segment itself is absent: the position is then where it was expected. */
  readonly present: boolean;
}

/** Where a canonical field came from, so a contract violation is reported in X12 terms. */
function locate(
  path: string,
  header: Header,
  shipTo: ShipToLoop,
  lines: PoLine[],
  detailStart: number,
): X12Location {
  const at = (located: Located | undefined, element: string): X12Location =>
    located
      ? { element, position: located.position, present: true }
      : { element, position: detailStart, present: false };
  const linePath = /^lines\[(\d+)\]\.(\w+)$/.exec(path);
  if (linePath) {
    const line = lines[Number(linePath[1])];
    const field = linePath[2] ?? '';
    if (!line) return at(undefined, 'PO101');
    if (field === 'description') return at(line.pid, 'PID05');
    const po1Elements: Record<string, string> = {
      lineNo: 'PO101',
      quantity: 'PO102',
      uom: 'PO103',
      unitPrice: 'PO104',
    };
    return at(line.po1, po1Elements[field] ?? line.skuElement);
  }
  if (/^lines(\[\d+\])?$/.test(path)) return at(lines[0]?.po1, 'PO101');
  const contact = (element: string | undefined) =>
    shipTo.per && element ? at(shipTo.per, element) : at(shipTo.n1, 'N101');
  const table: Record<string, () => X12Location> = {
    orderId: () => at(header.beg, 'BEG03'),
    'source.reference': () => at(header.beg, 'BEG03'),
    customerPo: () => at(header.beg, 'BEG03'),
    orderedAt: () => at(header.beg, 'BEG05'),
    promiseDate: () => at(header.dtm, 'DTM02'),
    currency: () => at(header.cur, 'CUR02'),
    'shipTo.name': () => at(shipTo.n1, 'N102'),
    'shipTo.line1': () => at(shipTo.n3, 'N301'),
    'shipTo.line2': () => at(shipTo.n3, 'N302'),
    'shipTo.city': () => at(shipTo.n4, 'N401'),
    'shipTo.region': () => at(shipTo.n4, 'N402'),
    'shipTo.postalCode': () => at(shipTo.n4, 'N403'),
    'shipTo.country': () => at(shipTo.n4, 'N404'),
    'shipTo.phone': () => contact(shipTo.phoneElement),
    'shipTo.email': () => contact(shipTo.emailElement),
  };
  return table[path]?.() ?? at(header.beg, 'BEG03');
}

interface TransactionOutcome {
  readonly errors: EdiError[];
  readonly order?: CanonicalOrder;
  readonly reference?: PurchaseOrderReference;
}

function readPurchaseOrder(
  tx: X12Transaction,
  partner: TradingPartnerProfile,
  items: ItemResolver,
  now: Date,
): TransactionOutcome {
  const findings = new Findings(value(tx.header, 2));
  const segments: Located[] = tx.segments.map((segment, index) => ({ segment, position: index + 2 }));
  const detailIndex = segments.findIndex((s) => ['PO1', 'CTT', 'AMT'].includes(s.segment.tag));
  const headerArea = detailIndex === -1 ? segments : segments.slice(0, detailIndex);
  const detailArea = detailIndex === -1 ? [] : segments.slice(detailIndex);
  const detailStart = detailArea[0]?.position ?? segments.length + 2;

  const header = readHeader(headerArea, detailStart, now, findings);
  // Without an original BEG there is no order to read; the rest would only be noise.
  if (!header) return { errors: findings.errors };
  const shipTo = readShipTo(headerArea, detailStart, findings);
  const lines = readDetail(detailArea, detailStart, items, findings);

  const { n1, n3, n4, per } = shipTo;
  const element = (located: Located | undefined, index: number) =>
    located ? value(located.segment, index) : '';
  const optional = (key: string, text: string | undefined) => (text ? { [key]: text } : {});
  const elementAt = (ref: string | undefined) => (ref ? element(per, Number(ref.slice(3))) : undefined);
  const orderId = ediOrderId(partner.customerId, header.poNumber);
  const candidate = {
    orderId,
    source: { system: 'edi', reference: header.poNumber },
    channel: 'retail-replenishment',
    serviceLevel: partner.serviceLevel ?? 'standard',
    customer: {
      id: partner.customerId,
      ...optional('name', partner.customerName),
      segment: partner.segment,
      priority: partner.priority,
      terms: { paymentTerms: partner.paymentTerms, fulfilment: partner.fulfilment },
    },
    customerPo: header.poNumber,
    shipTo: {
      name: n1 ? element(n1, 2) : undefined,
      line1: n3 ? element(n3, 1) : undefined,
      ...optional('line2', element(n3, 2)),
      city: n4 ? element(n4, 1) : undefined,
      ...optional('region', element(n4, 2)),
      postalCode: n4 ? element(n4, 3) : undefined,
      country: element(n4, 4) || partner.defaultCountry,
      ...optional('email', elementAt(shipTo.emailElement)),
      ...optional('phone', elementAt(shipTo.phoneElement)),
    },
    currency: element(header.cur, 2) || partner.currency,
    orderedAt: header.poDate ? `${header.poDate}T00:00:00Z` : undefined,
    promiseDate: header.promiseDate,
    lines: lines.map((line) => ({
      lineNo: line.lineNo,
      sku: line.sku,
      ...optional('description', element(line.pid, 5)),
      quantity: line.quantity ?? Number.NaN,
      uom: partner.uomMap?.[line.uom] ?? line.uom,
      unitPrice: line.unitPrice ?? Number.NaN,
      unitCost: line.sku !== undefined ? items.catalogue[line.sku]?.unitCost : undefined,
    })),
  };

  const canonical = parseCanonicalOrder(candidate);
  if (!canonical.ok) {
    // The X12-level finding is the more precise one; its canonical echo is dropped. A missing segment
    // covers every element the contract then finds missing in it.
    const covered = new Set<string>();
    const remember = (e: EdiError) => {
      covered.add(`${e.position}|${e.element}`);
      if (e.code === 'MISSING_SEGMENT') covered.add(`${e.position}|${e.segment}`);
    };
    findings.errors.forEach(remember);
    for (const violation of canonical.error.violations) {
      // Without the ship-to loop every address field is missing; the missing N1 already says so.
      if (!n1 && violation.path.startsWith('shipTo.')) continue;
      const error = fromViolation(
        violation,
        locate(violation.path, header, shipTo, lines, detailStart),
        findings.transactionSet,
        partner,
      );
      const key = `${error.position}|${error.element}`;
      if (
        covered.has(key) ||
        (error.code === 'MISSING_SEGMENT' && covered.has(`${error.position}|${error.segment}`))
      )
        continue;
      remember(error);
      findings.errors.push(error);
    }
  }
  if (findings.errors.length > 0 || !canonical.ok) return { errors: findings.errors };
  const [qualifier, code] = [element(n1, 3), element(n1, 4)];
  return {
    errors: [],
    order: canonical.value,
    reference: {
      orderId,
      transactionSet: findings.transactionSet,
      poNumber: header.poNumber,
      poDate: header.poDateRaw,
      ...(qualifier && code ? { shipToLocation: { qualifier, code } } : {}),
      lines: lines.map((l) => ({
        lineNo: l.lineNo,
        assignedId: l.assignedId,
        uom: l.uom,
        productIds: l.productIds,
      })),
    },
  };
}

function fromViolation(
  violation: FieldViolation,
  where: X12Location,
  transactionSet: string,
  partner: TradingPartnerProfile,
): EdiError {
  if (/^(customer|serviceLevel|channel)/.test(violation.path)) {
    const message = `trading partner profile for customer ${partner.customerId}: ${violation.path} ${violation.message}`;
    return {
      ...finding('PARTNER_PROFILE_INVALID', 'ISA06', violation.rule, message, { transactionSet }),
      canonicalPath: violation.path,
    };
  }
  const isCost = /^lines\[\d+\]\.unitCost$/.test(violation.path);
  const code = isCost ? 'UNKNOWN_ITEM' : where.present ? 'INVALID_ELEMENT' : 'MISSING_SEGMENT';
  const message = isCost
    ? `the catalogue has no usable unit cost for this item: ${violation.message}`
    : `${where.element} ${violation.message}`;
  return {
    ...finding(code, where.element, violation.rule, message, { position: where.position, transactionSet }),
    canonicalPath: violation.path,
  };
}

/**
 * Parses an X12 interchange of one or more 850 purchase orders into canonical orders. All or nothing: one
 * broken transaction set rejects the interchange, listing every error found in every set, so the partner
 * corrects and resends once.
 */
export function parsePurchaseOrder850(raw: string, options: Parse850Options): Parse850Result {
  const document = raw.replace(/^\uFEFF/, '').trimStart();
  const isa = checkIsa(document);
  if (isa.errors.length > 0) return rejection(isa.errors);
  const senderId = (isa.elements[5] ?? '').trim();
  const isa13 = isa.elements[12] ?? '';

  const { interchange, diagnostics } = parseInterchange(document);
  if (!interchange) {
    const message = `the interchange could not be read with the delimiters its ISA declares: ${diagnostics.join('; ') || 'no segments'}`;
    return rejection([finding('MALFORMED_ENVELOPE', 'ISA16', 'structure', message)], { isa13, senderId });
  }
  const [group] = interchange.functionalGroups;
  const control = {
    isa13,
    senderId,
    ...(group ? { gs01: value(group.header, 1), gs06: value(group.header, 6) } : {}),
    st02: group?.transactions.map((tx) => value(tx.header, 2)) ?? [],
  };
  const envelope = envelopeErrors(interchange, document, diagnostics);
  const usage = options.usage ?? 'P';
  const isa15 = isa.elements[14] ?? '';
  if (isa15 !== usage) {
    const message = `usage indicator ${isa15} is not accepted by this gateway (expects ${usage})`;
    envelope.push(finding('INVALID_ELEMENT', 'ISA15', `oneOf:${usage}`, message, { value: isa15 }));
  }
  if (envelope.length > 0 || !group) return rejection(envelope, control);

  const partner = options.tradingPartners[senderId];
  if (!partner) {
    const message = `interchange sender ${isa.elements[4] ?? ''}/${senderId} has no trading partner profile`;
    const error = finding('UNKNOWN_TRADING_PARTNER', 'ISA06', 'knownTradingPartner', message, {
      value: senderId,
    });
    return rejection([error], control);
  }

  const items: ItemResolver = {
    catalogue: options.catalogue,
    byUpc: new Map(
      Object.entries(options.catalogue).flatMap(([sku, item]) => (item.upc ? [[item.upc, sku]] : [])),
    ),
    buyerItems: partner.buyerItems ?? {},
  };
  const now = options.now ?? new Date();
  const errors: EdiError[] = [];
  const orders: CanonicalOrder[] = [];
  const references: PurchaseOrderReference[] = [];
  const setByOrderId = new Map<string, string>();
  for (const tx of group.transactions) {
    const { errors: found, order, reference } = readPurchaseOrder(tx, partner, items, now);
    errors.push(...found);
    if (!order || !reference) continue;
    const earlier = setByOrderId.get(order.orderId);
    if (earlier !== undefined) {
      const message = `PO ${reference.poNumber} is also in transaction set ${earlier}`;
      const where = { position: 2, transactionSet: reference.transactionSet, value: reference.poNumber };
      errors.push(finding('DUPLICATE_DOCUMENT', 'BEG03', 'unique', message, where));
      continue;
    }
    setByOrderId.set(order.orderId, reference.transactionSet);
    const oversize = oversizeOrderViolation(order);
    if (oversize) {
      // Reported on the ST: the whole transaction set is what makes the order too large to announce.
      const where = { position: 1, transactionSet: reference.transactionSet };
      errors.push(
        finding(
          'DOCUMENT_TOO_LARGE',
          'ST01',
          oversize.rule,
          `PO ${reference.poNumber} ${oversize.message}`,
          where,
        ),
      );
      continue;
    }
    orders.push(order);
    references.push(reference);
  }
  if (errors.length > 0) return rejection(errors, control);
  return { ok: true, orders, control: { isa13, gs06: control.gs06 ?? '', st02: control.st02 }, references };
}
