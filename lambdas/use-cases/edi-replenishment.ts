import type { EventDetail } from '../../contracts/events.ts';
import type { CanonicalOrder } from '../../contracts/order.ts';
import { ORDER_ID_PATTERN } from '../../contracts/order.ts';
import { textFindings } from '../../contracts/text.ts';
import type { FieldViolation } from '../../contracts/validation.ts';
import type { OwnerTeam } from '../../contracts/vocabulary.ts';
import {
  type EdiError,
  type EdiRejectionCode,
  type Parse850Result,
  type PurchaseOrderReference,
  parsePurchaseOrder850,
} from '../adapters/edi/x12-850.ts';
import {
  build810,
  build855,
  build856,
  type ControlNumbers,
  functionalAcknowledgment997,
  type OutboundDocument,
  type OutboundEnvelope,
  type PurchaseOrderAck,
  type X12Party,
} from '../adapters/edi/x12-outbound.ts';
import { toCents } from '../core/money.ts';
import type {
  CanonicalEvent,
  Catalogue,
  Clock,
  ControlNumberPort,
  EdiGateway,
  EdiPurchaseOrder,
  EdiPurchaseOrderStore,
  EventPublisher,
  ExceptionRepository,
  OrderRecord,
  OrderRepository,
  OwnedException,
  TradingPartner,
  TradingPartnerDirectory,
} from '../ports/index.ts';
import {
  ConfigurationError,
  EdiInvoiceMismatch,
  IllegalStageTransition,
  NotAnEdiOrder,
  OrderNotFound,
  PurchaseOrderReferenceMissing,
  TradingPartnerNotConfigured,
} from '../shared/errors.ts';
import { sha256 } from '../shared/ids.ts';
import {
  addHours,
  exceptionRaisedEvent,
  keptPayload,
  keptViolations,
  MAX_VIOLATIONS_KEPT,
  violationsForEvent,
} from './exceptions.ts';

/**
 * EDI retail replenishment: X12 850 purchase orders in (canonical orders, or a rejected interchange answered
 * with a 997 and kept as an owned exception), the 855 acknowledgment of what was allocated, and the 856 ship
 * notice and 810 invoice after shipment. Every outbound document is rebuilt byte for byte on a retry: its
 * control number and preparation time come from one reservation per partner and document, and the gateway
 * recognises the repeat by the document's idempotency key.
 */

export interface EdiDeps {
  readonly orders: OrderRepository;
  readonly exceptions: ExceptionRepository;
  readonly events: EventPublisher;
  readonly clock: Clock;
  readonly partners: TradingPartnerDirectory;
  readonly catalogue: Catalogue;
  readonly purchaseOrders: EdiPurchaseOrderStore;
  readonly controlNumbers: ControlNumberPort;
  readonly gateway: EdiGateway;
  /** Handoff's own interchange id: ISA05/ISA06 of what it sends. */
  readonly interchangeId: X12Party;
  /** ISA15 accepted on 850s and written on outbound documents; 'T' only in a partner test setup. @default 'P' */
  readonly usage?: 'P' | 'T';
}

/** What the outbound documents need: no exception table, no bus. */
export type OutboundDeps = Pick<
  EdiDeps,
  | 'orders'
  | 'clock'
  | 'partners'
  | 'purchaseOrders'
  | 'controlNumbers'
  | 'gateway'
  | 'interchangeId'
  | 'usage'
>;

/** The 997 answering an interchange: sent, or why not. */
export type FunctionalAckResult =
  | {
      readonly sent: true;
      readonly controlNumber: number;
      readonly acceptanceId: string;
      readonly idempotencyKey: string;
    }
  | { readonly sent: false; readonly reason: string };

export type PurchaseOrderOutcome =
  | { readonly kind: 'received'; readonly orderId: string }
  | { readonly kind: 'duplicate'; readonly orderId: string; readonly republished: boolean }
  | {
      readonly kind: 'quarantined';
      readonly orderId: string;
      readonly exceptionId: string;
      readonly alreadyQuarantined: boolean;
    };

export type Ingest850Outcome =
  | {
      readonly kind: 'accepted';
      readonly partnerId: string;
      /** ISA13 of the interchange. */
      readonly interchange: string;
      readonly purchaseOrders: readonly PurchaseOrderOutcome[];
      readonly acknowledgment: FunctionalAckResult;
    }
  | {
      readonly kind: 'rejected';
      /** The interchange the rejection is filed under: `EDI-IC-<sender>-<ISA13>`, or UNIDENTIFIED-<hash>. */
      readonly orderId: string;
      readonly exceptionId: string;
      readonly code: EdiRejectionCode;
      readonly errors: readonly EdiError[];
      readonly acknowledgment: FunctionalAckResult;
      readonly alreadyQuarantined: boolean;
    };

export interface DocumentSent {
  readonly kind: 'sent';
  readonly orderId: string;
  readonly documentType: '855' | '856' | '810';
  readonly partnerId: string;
  readonly controlNumber: number;
  readonly acceptanceId: string;
  readonly idempotencyKey: string;
}

export interface AcknowledgmentResult extends DocumentSent {
  readonly documentType: '855';
  /** BAK02: AD every line accepted as ordered, RD every line rejected, AC anything else. */
  readonly acknowledgmentType: 'AD' | 'AC' | 'RD';
  /** Units per ACK status. */
  readonly accepted: number;
  readonly backordered: number;
  readonly rejected: number;
}

export type AfterShipmentOutcome =
  | (DocumentSent & { readonly documentType: '856' | '810'; readonly documentNumber: string })
  | { readonly kind: 'ignored'; readonly orderId: string; readonly reason: 'NOT_AN_EDI_ORDER' };

export type ShipmentConfirmedDetail = EventDetail<'shipment.confirmed'>;
export type InvoiceIssuedDetail = EventDetail<'invoice.issued'>;

/** A person corrects (or has the partner correct) a rejected purchase order within this many hours. */
export const EDI_QUARANTINE_SLA_HOURS = 4;
/** X12 4010 BIG02 and BSN02 lengths: longer Handoff ids are replaced by a number derived from the control number. */
const MAX_INVOICE_NUMBER = 22;
const MAX_SHIPMENT_ID = 30;

/** Findings about the envelope or the partner set-up: the integration team's, not customer service's. */
const INTEGRATION_FINDINGS: ReadonlySet<EdiRejectionCode> = new Set([
  'MALFORMED_ENVELOPE',
  'CONTROL_NUMBER_MISMATCH',
  'CONTROL_COUNT_MISMATCH',
  'SEGMENT_COUNT_MISMATCH',
  'UNKNOWN_TRADING_PARTNER',
  'PARTNER_PROFILE_INVALID',
  'UNSUPPORTED_TRANSACTION',
]);

/** The interchange, group and transaction-set envelope: what the partner's translator writes, not its buyer. */
const ENVELOPE_SEGMENTS: ReadonlySet<string> = new Set(['ISA', 'GS', 'GE', 'IEA', 'ST', 'SE']);

function isPermanent(error: unknown): boolean {
  return error instanceof Error && (error as { retryable?: unknown }).retryable === false;
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

type KeptInterchange = ReturnType<typeof keptPayload> & { readonly payloadIsQueueMessage?: true };

/**
 * What an exception keeps of an interchange: its X12 text, as the partner's EDI team reads and resends it; or,
 * when that text is not well-formed Unicode (a gateway document can carry a lone surrogate, escaped, that no
 * store after the edge could keep as text), the queue message exactly as delivered.
 */
function keptInterchange(rawX12: string, message: string): KeptInterchange {
  if (!textFindings(rawX12).some((finding) => finding.rule === 'wellFormedUnicode'))
    return keptPayload(rawX12);
  return { ...keptPayload(message), payloadIsQueueMessage: true };
}

/** Most EDI findings an exception keeps in its context (its violations are capped the same way). */
const MAX_ERRORS_KEPT = MAX_VIOLATIONS_KEPT;

/** The findings as the exception keeps them: at most MAX_ERRORS_KEPT, long texts and values clipped. */
function keptErrors(errors: readonly EdiError[]): EdiError[] {
  return errors.slice(0, MAX_ERRORS_KEPT).map((error) => ({
    ...error,
    message: clip(error.message, 500),
    ...(error.value !== undefined ? { value: clip(error.value, 200) } : {}),
  }));
}

function envelopeFor(
  partner: TradingPartner,
  deps: Pick<EdiDeps, 'interchangeId' | 'usage'>,
): OutboundEnvelope {
  return {
    sender: deps.interchangeId,
    receiver: partner.interchange,
    ...(partner.applicationId ? { applicationReceiver: partner.applicationId } : {}),
    usage: deps.usage ?? 'P',
    ...partner.layout,
  };
}

/** One transaction set per interchange: the reserved number is ISA13, GS06 and ST02 alike. */
const numbered = (n: number): ControlNumbers => ({ interchange: n, group: n, transaction: n });

function partnerForCustomer(
  partners: ReadonlyMap<string, TradingPartner>,
  customerId: string,
): TradingPartner | undefined {
  return [...partners.values()].find((partner) => partner.profile.customerId === customerId);
}

/** An EDI finding as a field violation: `ST[0002].PO1[9].PO107` names the set, segment position and element. */
function toViolation(error: EdiError): FieldViolation {
  const set = error.transactionSet !== undefined ? `ST[${error.transactionSet}].` : '';
  const at = error.position !== undefined ? `[${error.position}]` : '';
  return { path: `${set}${error.segment}${at}.${error.element}`, rule: error.rule, message: error.message };
}

/** The id a rejected interchange is filed under: sender and ISA13 when the envelope could be read. */
function interchangeOrderId(senderId: string | undefined, isa13: string | undefined, hash: string): string {
  if (senderId && isa13) {
    const candidate = `EDI-IC-${senderId.replace(/[^A-Za-z0-9_-]+/g, '-')}-${isa13}`.slice(0, 80);
    if (ORDER_ID_PATTERN.test(candidate)) return candidate;
  }
  return `UNIDENTIFIED-${hash.slice(0, 16)}`;
}

/**
 * The 997 for an interchange, to the partner it came from. The reservation is keyed by ISA13 and GS06, so a
 * redelivered interchange gets the same 997 (same number, same bytes, same key). A permanent failure to send
 * (the builder or the gateway refusing) is reported, not thrown; an outage is thrown so the queue retries.
 */
async function sendFunctionalAck(
  outcome: Parse850Result,
  partner: TradingPartner,
  control: { readonly isa13: string; readonly gs06: string },
  deps: OutboundDeps,
): Promise<FunctionalAckResult> {
  const reservation = await deps.controlNumbers.reserve(
    partner.interchange.id,
    `997:${control.isa13}:${control.gs06}`,
    deps.clock.now(),
  );
  try {
    const document = functionalAcknowledgment997({
      envelope: envelopeFor(partner, deps),
      controlNumbers: numbered(reservation.controlNumber),
      preparedAt: reservation.reservedAt,
      outcome,
    });
    const { acceptanceId } = await deps.gateway.send(document);
    return {
      sent: true,
      controlNumber: reservation.controlNumber,
      acceptanceId,
      idempotencyKey: document.idempotencyKey,
    };
  } catch (error) {
    if (!isPermanent(error)) throw error;
    return { sent: false, reason: `${(error as Error).name}: ${(error as Error).message}` };
  }
}

/**
 * X12 850 interchange in: every purchase order becomes an order record at `received` with `order.received`
 * (the router sends channel retail-replenishment from source edi to the edi-retail-replenishment path), its
 * partner identifiers are kept for the outbound documents, and the interchange is answered with a 997.
 *
 * A broken interchange creates nothing: all its errors (segment, position, element) go into one owned
 * exception — integration's for envelope and partner set-up, customer service's for the PO content — with
 * `order.rejected` and `exception.raised`, and the partner gets a rejecting 997 when it is known and the
 * functional group could be read. Safe to run twice on the same message.
 */
export async function ingest850(
  rawX12: string,
  deps: EdiDeps,
  /** The queue message as received, when it wraps the interchange (the gateway's JSON). */
  message: string = rawX12,
): Promise<Ingest850Outcome> {
  const now = deps.clock.now();
  const [partners, catalogue] = await Promise.all([deps.partners.all(), deps.catalogue.items()]);
  const parsed = parsePurchaseOrder850(rawX12, {
    tradingPartners: Object.fromEntries([...partners].map(([id, partner]) => [id, partner.profile])),
    catalogue,
    now,
    usage: deps.usage ?? 'P',
  });
  if (!parsed.ok) return rejectInterchange(rawX12, message, parsed, partners, deps);

  const customerId = parsed.orders[0]?.customer.id;
  const partner = customerId !== undefined ? partnerForCustomer(partners, customerId) : undefined;
  if (!partner) {
    throw new ConfigurationError(`no trading partner profile names customer ${customerId ?? '(none)'}`);
  }
  const partnerId = partner.interchange.id;
  const control = { isa13: parsed.control.isa13, gs06: parsed.control.gs06 };
  const purchaseOrders: PurchaseOrderOutcome[] = [];
  const announcements: CanonicalEvent<'order.received'>[] = [];
  for (const [index, order] of parsed.orders.entries()) {
    const reference = parsed.references[index];
    if (!reference) throw new Error(`parser returned no reference for order ${order.orderId}`);
    const received = await receivePurchaseOrder(
      order,
      { reference, partnerId, control, kept: keptInterchange(rawX12, message) },
      deps,
    );
    purchaseOrders.push(received.outcome);
    if (received.announce) announcements.push(received.announce);
  }
  // After the orders exist (an accepting 997 never precedes the orders it accepts) and before they are
  // announced (the path's 855 never precedes the 997). A crash before the announcement leaves the orders
  // at `received`; the redelivered interchange announces them then.
  const acknowledgment = await sendFunctionalAck(parsed, partner, control, deps);
  if (!acknowledgment.sent) await raiseUnsentAcknowledgment(partnerId, control, acknowledgment.reason, deps);
  if (announcements.length > 0) await deps.events.publish(announcements);
  return { kind: 'accepted', partnerId, interchange: control.isa13, purchaseOrders, acknowledgment };
}

async function receivePurchaseOrder(
  order: CanonicalOrder,
  source: {
    readonly reference: PurchaseOrderReference;
    readonly partnerId: string;
    readonly control: { readonly isa13: string; readonly gs06: string };
    /** What an exception about it keeps of the interchange it came in. */
    readonly kept: KeptInterchange;
  },
  deps: EdiDeps,
): Promise<{ readonly outcome: PurchaseOrderOutcome; readonly announce?: CanonicalEvent<'order.received'> }> {
  const occurredAt = deps.clock.now().toISOString();
  // The PO's content, not the interchange's: a PO re-sent in a new interchange (new ISA13) is the same PO.
  const hash = sha256(JSON.stringify(order));
  // Kept before the order exists, so no order.received consumer can find an EDI order without it.
  await deps.purchaseOrders.putIfAbsent({
    orderId: order.orderId,
    partnerId: source.partnerId,
    reference: source.reference,
    interchange: source.control,
    receivedAt: occurredAt,
  });
  const record: OrderRecord = {
    orderId: order.orderId,
    order,
    stage: 'received',
    version: 1,
    payloadHash: hash,
    receivedAt: occurredAt,
    updatedAt: occurredAt,
    stageHistory: [
      {
        stage: 'received',
        at: occurredAt,
        reasonCodes: [
          'EDI_850_PURCHASE_ORDER',
          `EDI_INTERCHANGE:${source.partnerId}-${source.control.isa13}`,
        ],
      },
    ],
  };
  const created = await deps.orders.createIfAbsent(record);
  if (created.created) {
    return {
      outcome: { kind: 'received', orderId: order.orderId },
      announce: orderReceived(record, occurredAt),
    };
  }
  const existing = created.existing;
  if (existing.payloadHash !== hash) {
    return { outcome: await quarantineChangedPurchaseOrder(existing, order, source.kept, deps) };
  }
  // The first delivery may have died between the write and the announcement: announce again while the
  // order has not moved on. Consumers recognise the repeat by its idempotency key.
  const republish = existing.stage === 'received';
  return {
    outcome: { kind: 'duplicate', orderId: existing.orderId, republished: republish },
    ...(republish ? { announce: orderReceived(existing, occurredAt) } : {}),
  };
}

function orderReceived(record: OrderRecord, occurredAt: string): CanonicalEvent<'order.received'> {
  return {
    name: 'order.received',
    detail: {
      schemaVersion: 1,
      orderId: record.orderId,
      correlationId: record.orderId,
      idempotencyKey: `${record.orderId}:received`,
      occurredAt,
      order: record.order,
    },
  };
}

/**
 * The same PO number arrived again with other content: a change must come as an 860 or through customer
 * service. The live order is not rejected, only this change to it: the exception is announced, no
 * order.rejected under the order's id.
 */
async function quarantineChangedPurchaseOrder(
  existing: OrderRecord,
  order: CanonicalOrder,
  kept: KeptInterchange,
  deps: EdiDeps,
): Promise<PurchaseOrderOutcome> {
  const now = deps.clock.now();
  const occurredAt = now.toISOString();
  const content = JSON.stringify(order);
  const exceptionId = `EXC-EDI-${sha256(`${existing.orderId}|${sha256(content)}`).slice(0, 24)}`;
  const violations: FieldViolation[] = [
    {
      path: 'BEG.BEG03',
      rule: 'changedAfterReceipt',
      message: `PO ${order.customerPo ?? order.source.reference} was already received on ${existing.receivedAt} with different content; a change must come as an 860 or through customer service`,
    },
  ];
  const exception: OwnedException = {
    exceptionId,
    type: 'validation',
    ownerTeam: 'customer-service',
    priority: 'high',
    state: 'open',
    stage: 'received',
    orderId: existing.orderId,
    correlationId: existing.orderId,
    raisedAt: occurredAt,
    slaDueAt: addHours(now, EDI_QUARANTINE_SLA_HOURS),
    recommendedAction: `Compare the re-sent PO with order ${existing.orderId} (now ${existing.stage}) and amend the order with the retailer's buyer; the re-sent version created nothing.`,
    reasonCodes: ['EDI_PO_CHANGED_AFTER_RECEIPT'],
    violations,
    context: {
      source: 'edi',
      resentOrder: content,
      stageOfExistingOrder: existing.stage,
      // The interchange it came in: acknowledged, so the exception is its only copy.
      ...kept,
    },
    audit: [
      {
        at: occurredAt,
        actor: 'handoff:edi-850-ingress',
        action: 'quarantined',
        why: 'PO changed after receipt',
      },
    ],
  };
  const { created } = await deps.exceptions.raiseIfAbsent(exception);
  await deps.events.publish([exceptionRaisedEvent(exception, occurredAt)]);
  return { kind: 'quarantined', orderId: existing.orderId, exceptionId, alreadyQuarantined: !created };
}

function rejectedEvent(
  exception: OwnedException,
  violations: readonly FieldViolation[],
  occurredAt: string,
): CanonicalEvent<'order.rejected'> {
  return {
    name: 'order.rejected',
    detail: {
      schemaVersion: 1,
      orderId: exception.orderId,
      correlationId: exception.correlationId,
      idempotencyKey: `${exception.exceptionId}:rejected`,
      occurredAt,
      stage: 'received',
      reasonCodes: [...exception.reasonCodes],
      violations: violationsForEvent(violations),
      exceptionId: exception.exceptionId,
    },
  };
}

async function rejectInterchange(
  rawX12: string,
  message: string,
  outcome: Parse850Result & { readonly ok: false },
  partners: ReadonlyMap<string, TradingPartner>,
  deps: EdiDeps,
): Promise<Ingest850Outcome> {
  const rejection = outcome.rejection;
  const now = deps.clock.now();
  const occurredAt = now.toISOString();
  const hash = sha256(rawX12);
  const control = rejection.control;
  const senderId = control?.senderId;
  const partner = senderId !== undefined ? partners.get(senderId) : undefined;
  const acknowledgment: FunctionalAckResult = !partner
    ? {
        sent: false,
        reason: senderId
          ? `sender ${senderId} has no trading partner profile: nothing is sent to an unknown party`
          : 'the ISA could not be read: there is no sender to answer',
      }
    : !control?.gs06
      ? { sent: false, reason: 'the functional group could not be read: only a TA1 could answer it' }
      : await sendFunctionalAck(outcome, partner, { isa13: control.isa13 ?? '', gs06: control.gs06 }, deps);

  const orderId = interchangeOrderId(senderId, control?.isa13, hash);
  const exceptionId = `EXC-EDI-${hash.slice(0, 24)}`;
  const codes = [...new Set(rejection.errors.map((e) => e.code))];
  // Envelope findings (the ISA15 usage indicator too) are partner set-up: the integration team's. A PO too
  // large to announce is the buyer's to split: customer service's.
  const ownerTeam: OwnerTeam = rejection.errors.some(
    (e) =>
      INTEGRATION_FINDINGS.has(e.code) ||
      (ENVELOPE_SEGMENTS.has(e.segment) && e.code !== 'DOCUMENT_TOO_LARGE'),
  )
    ? 'integration'
    : 'customer-service';
  const violations = rejection.errors.map(toViolation);
  const kept = keptViolations(violations);
  const where = [...new Set(violations.map((v) => v.path))].slice(0, 6).join(', ');
  const answered = acknowledgment.sent
    ? 'a rejecting 997 was sent'
    : `no 997 was sent (${acknowledgment.reason})`;
  const recommendedAction =
    ownerTeam === 'integration'
      ? `Interchange ${control?.isa13 ?? '(unread)'} from ${senderId ?? 'an unknown sender'} was refused (${codes.join(', ')}); ${answered}. Check the partner set-up or ask their EDI team to fix and resend; nothing was created.`
      : `Purchase orders in interchange ${control?.isa13 ?? ''} from ${senderId ?? ''} were refused at ${where}; ${answered}. Ask the retailer's buyer to correct and resend the PO; nothing was created.`;
  const exception: OwnedException = {
    exceptionId,
    type: 'validation',
    ownerTeam,
    priority: 'high',
    state: 'open',
    stage: 'received',
    orderId,
    correlationId: orderId,
    raisedAt: occurredAt,
    slaDueAt: addHours(now, EDI_QUARANTINE_SLA_HOURS),
    recommendedAction: clip(recommendedAction, 500),
    reasonCodes: ['EDI_INTERCHANGE_REJECTED', ...codes.map((code) => `EDI_FINDING:${code}`)],
    violations: kept.violations,
    context: {
      source: 'edi',
      senderId,
      interchange: control,
      errors: keptErrors(rejection.errors),
      violationCount: kept.violationCount,
      acknowledgment,
      // Once the message is acknowledged, the exception is the interchange's only copy.
      ...keptInterchange(rawX12, message),
    },
    audit: [
      {
        at: occurredAt,
        actor: 'handoff:edi-850-ingress',
        action: 'quarantined',
        why: `interchange rejected: ${codes.join(', ')}`,
      },
    ],
  };
  const { created } = await deps.exceptions.raiseIfAbsent(exception);
  await deps.events.publish([
    rejectedEvent(exception, violations, occurredAt),
    exceptionRaisedEvent(exception, occurredAt),
  ]);
  return {
    kind: 'rejected',
    orderId,
    exceptionId,
    code: rejection.code,
    errors: keptErrors(rejection.errors),
    acknowledgment,
    alreadyQuarantined: !created,
  };
}

/** The orders exist but the partner will not get its 997: integration resends it before the partner chases. */
async function raiseUnsentAcknowledgment(
  partnerId: string,
  control: { readonly isa13: string; readonly gs06: string },
  reason: string,
  deps: EdiDeps,
): Promise<void> {
  const now = deps.clock.now();
  const occurredAt = now.toISOString();
  const orderId = interchangeOrderId(partnerId, control.isa13, sha256(`${partnerId}|${control.isa13}`));
  const exception: OwnedException = {
    exceptionId: `EXC-EDI-997-${sha256(`${partnerId}|${control.isa13}|${control.gs06}`).slice(0, 20)}`,
    type: 'integration-failure',
    ownerTeam: 'integration',
    priority: 'high',
    state: 'open',
    stage: 'received',
    orderId,
    correlationId: orderId,
    raisedAt: occurredAt,
    slaDueAt: addHours(now, EDI_QUARANTINE_SLA_HOURS),
    recommendedAction: clip(
      `The accepting 997 for interchange ${control.isa13} from ${partnerId} could not be sent (${reason}). The orders were created; fix the cause and resend the 997.`,
      500,
    ),
    reasonCodes: ['EDI_997_NOT_SENT'],
    context: { source: 'edi', partnerId, interchange: control, reason },
    audit: [{ at: occurredAt, actor: 'handoff:edi-850-ingress', action: 'raised', why: reason }],
  };
  await deps.exceptions.raiseIfAbsent(exception);
  await deps.events.publish([exceptionRaisedEvent(exception, occurredAt)]);
}

interface EdiOrder {
  readonly record: OrderRecord;
  readonly purchaseOrder: EdiPurchaseOrder;
  readonly partner: TradingPartner;
}

async function loadRecord(orderId: string, deps: Pick<OutboundDeps, 'orders'>): Promise<OrderRecord> {
  const record = await deps.orders.get(orderId);
  if (!record) throw new OrderNotFound(orderId);
  return record;
}

async function ediContext(record: OrderRecord, deps: OutboundDeps): Promise<EdiOrder> {
  const purchaseOrder = await deps.purchaseOrders.get(record.orderId);
  if (!purchaseOrder) throw new PurchaseOrderReferenceMissing(record.orderId);
  const partner = (await deps.partners.all()).get(purchaseOrder.partnerId);
  if (!partner) throw new TradingPartnerNotConfigured(record.orderId, purchaseOrder.partnerId);
  return { record, purchaseOrder, partner };
}

async function send(
  edi: EdiOrder,
  documentType: DocumentSent['documentType'],
  document: OutboundDocument,
  controlNumber: number,
  deps: OutboundDeps,
): Promise<DocumentSent> {
  const { acceptanceId } = await deps.gateway.send(document);
  return {
    kind: 'sent',
    orderId: edi.record.orderId,
    documentType,
    partnerId: edi.partner.interchange.id,
    controlNumber,
    acceptanceId,
    idempotencyKey: document.idempotencyKey,
  };
}

/**
 * The 855 lines: each order line accepted for what the single site reserved and backordered for the rest
 * (a ship-complete backorder backorders every line); every line rejected when the order was rejected.
 */
type AckLine = PurchaseOrderAck['lines'][number];

function acknowledgedLines(record: OrderRecord): AckLine[] {
  const { order, allocation } = record;
  if (allocation) {
    const reserved = new Map<number, number>();
    for (const line of allocation.allocated) {
      reserved.set(line.lineNo, (reserved.get(line.lineNo) ?? 0) + line.quantity);
    }
    return order.lines.flatMap((line): AckLine[] => {
      const accepted = Math.min(line.quantity, reserved.get(line.lineNo) ?? 0);
      if (accepted === line.quantity) return [{ lineNo: line.lineNo, status: 'accepted' }];
      if (accepted === 0) return [{ lineNo: line.lineNo, status: 'backordered' }];
      return [
        { lineNo: line.lineNo, status: 'accepted', quantity: accepted },
        { lineNo: line.lineNo, status: 'backordered', quantity: line.quantity - accepted },
      ];
    });
  }
  if (record.stage === 'rejected' || record.stageHistory.some((entry) => entry.stage === 'rejected')) {
    return order.lines.map((line): AckLine => ({ lineNo: line.lineNo, status: 'rejected' }));
  }
  throw new IllegalStageTransition(record.orderId, record.stage, 'acknowledged (855)');
}

/**
 * The 855 PO acknowledgment, sent to the partner once the order's fate is known: after single-site
 * allocation (what was reserved is accepted, the rest backordered) or after a credit rejection (every line
 * rejected). Idempotent: the reservation `855:<orderId>` fixes the control number and acknowledgment time, so
 * a retry sends the same document under the same key (`edi-855:<orderId>:<ST02>`).
 */
export async function acknowledgePurchaseOrder(
  orderId: string,
  deps: OutboundDeps,
): Promise<AcknowledgmentResult> {
  const record = await loadRecord(orderId, deps);
  if (record.order.source.system !== 'edi') throw new NotAnEdiOrder(orderId, record.order.source.system);
  const lines = acknowledgedLines(record);
  const edi = await ediContext(record, deps);
  const reservation = await deps.controlNumbers.reserve(
    edi.partner.interchange.id,
    `855:${orderId}`,
    deps.clock.now(),
  );
  const document = build855({
    envelope: envelopeFor(edi.partner, deps),
    controlNumbers: numbered(reservation.controlNumber),
    preparedAt: reservation.reservedAt,
    order: record.order,
    reference: edi.purchaseOrder.reference,
    acknowledgedAt: reservation.reservedAt,
    lines,
  });
  const sent = await send(edi, '855', document, reservation.controlNumber, deps);

  const units = { accepted: 0, backordered: 0, rejected: 0 };
  for (const entry of lines) {
    const ordered = record.order.lines.find((line) => line.lineNo === entry.lineNo)?.quantity ?? 0;
    units[entry.status] += entry.quantity ?? ordered;
  }
  const statuses = new Set(lines.map((line) => line.status));
  const only = statuses.size === 1 ? [...statuses][0] : undefined;
  const acknowledgmentType = only === 'accepted' ? 'AD' : only === 'rejected' ? 'RD' : 'AC';
  return { ...sent, documentType: '855', acknowledgmentType, ...units };
}

/** Order lines shipped or invoiced, summed per line (a line may ship in several parcels), in line order. */
function perLine(
  lines: readonly { lineNo: number; quantity: number }[],
): { lineNo: number; quantity: number }[] {
  const sums = new Map<number, number>();
  for (const line of lines) sums.set(line.lineNo, (sums.get(line.lineNo) ?? 0) + line.quantity);
  return [...sums].sort(([a], [b]) => a - b).map(([lineNo, quantity]) => ({ lineNo, quantity }));
}

/**
 * The 856 advance ship notice for a confirmed shipment of an EDI order (`shipment.confirmed` detail); any
 * other order is ignored. Carrier SCAC and tracking number from the event, the partner's PO line ids echoed.
 * Idempotent on `856:<orderId>:<shipmentId>`; BSN02 is the shipment id, or `ASN<control number>` when the id
 * is longer than X12 allows.
 */
export async function sendAdvanceShipNotice(
  detail: ShipmentConfirmedDetail,
  deps: OutboundDeps,
): Promise<AfterShipmentOutcome> {
  const record = await loadRecord(detail.orderId, deps);
  if (record.order.source.system !== 'edi') {
    return { kind: 'ignored', orderId: detail.orderId, reason: 'NOT_AN_EDI_ORDER' };
  }
  const edi = await ediContext(record, deps);
  const reservation = await deps.controlNumbers.reserve(
    edi.partner.interchange.id,
    `856:${detail.orderId}:${detail.shipmentId}`,
    deps.clock.now(),
  );
  const documentNumber =
    detail.shipmentId.length <= MAX_SHIPMENT_ID
      ? detail.shipmentId
      : `ASN${String(reservation.controlNumber).padStart(9, '0')}`;
  const document = build856({
    envelope: envelopeFor(edi.partner, deps),
    controlNumbers: numbered(reservation.controlNumber),
    preparedAt: reservation.reservedAt,
    order: record.order,
    reference: edi.purchaseOrder.reference,
    shipmentId: documentNumber,
    carrierScac: detail.carrier,
    trackingNumber: detail.trackingNumber,
    shippedAt: detail.shippedAt,
    lines: perLine(detail.lines),
  });
  const sent = await send(edi, '856', document, reservation.controlNumber, deps);
  return { ...sent, documentType: '856', documentNumber };
}

/**
 * The 810 invoice for an issued invoice of an EDI order (`invoice.issued` detail); any other order is
 * ignored. Lines at the order's unit prices; the total must be the invoice's amount, or the invoice (a tax,
 * another currency) cannot be an 810 of these lines [EdiInvoiceMismatch]. Idempotent on
 * `810:<orderId>:<invoiceId>`; BIG02 is the invoice id, or `IN<control number>` when it is longer than 22
 * characters (the reservation keeps the mapping back to the invoice id).
 */
export async function sendEdiInvoice(
  detail: InvoiceIssuedDetail,
  deps: OutboundDeps,
): Promise<AfterShipmentOutcome> {
  const record = await loadRecord(detail.orderId, deps);
  if (record.order.source.system !== 'edi') {
    return { kind: 'ignored', orderId: detail.orderId, reason: 'NOT_AN_EDI_ORDER' };
  }
  const { order } = record;
  if (detail.currency !== order.currency) {
    throw new EdiInvoiceMismatch(
      detail.orderId,
      detail.invoiceId,
      `invoiced in ${detail.currency}, ordered in ${order.currency}`,
    );
  }
  const lines = perLine(detail.lines).map(({ lineNo, quantity }) => {
    const ordered = order.lines.find((line) => line.lineNo === lineNo);
    if (!ordered)
      throw new EdiInvoiceMismatch(detail.orderId, detail.invoiceId, `line ${lineNo} is not on the order`);
    return {
      lineNo,
      quantity,
      unitPrice: ordered.unitPrice,
      amount: toCents(quantity * ordered.unitPrice) / 100,
    };
  });
  const totalCents = lines.reduce((sum, line) => sum + toCents(line.amount), 0);
  if (totalCents !== toCents(detail.amount)) {
    throw new EdiInvoiceMismatch(
      detail.orderId,
      detail.invoiceId,
      `the lines at the order's prices come to ${(totalCents / 100).toFixed(2)}, the invoice to ${detail.amount.toFixed(2)}`,
    );
  }
  const edi = await ediContext(record, deps);
  const reservation = await deps.controlNumbers.reserve(
    edi.partner.interchange.id,
    `810:${detail.orderId}:${detail.invoiceId}`,
    deps.clock.now(),
  );
  const documentNumber =
    detail.invoiceId.length <= MAX_INVOICE_NUMBER
      ? detail.invoiceId
      : `IN${String(reservation.controlNumber).padStart(9, '0')}`;
  const document = build810({
    envelope: envelopeFor(edi.partner, deps),
    controlNumbers: numbered(reservation.controlNumber),
    preparedAt: reservation.reservedAt,
    order,
    reference: edi.purchaseOrder.reference,
    invoiceId: documentNumber,
    issuedAt: detail.occurredAt,
    lines,
    total: totalCents / 100,
  });
  const sent = await send(edi, '810', document, reservation.controlNumber, deps);
  return { ...sent, documentType: '810', documentNumber };
}
