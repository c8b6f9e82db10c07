import type { EventDetail } from '../../contracts/events.ts';
import type { OrderStage } from '../../contracts/vocabulary.ts';
import {
  buildInvoice,
  type InvoiceOrder,
  type InvoiceRecord,
  invoicingStatus,
  ProofOfShipmentMissing,
} from '../core/invoice.ts';
import {
  type NotificationChannel,
  type NotificationOrder,
  type NotificationSkipReason,
  planNotification,
} from '../core/notifications.ts';
import { canTransition } from '../core/order-lifecycle.ts';
import type {
  Clock,
  CustomerNotifier,
  EventPublisher,
  ExceptionRepository,
  InvoicePosting,
  OrderRecord,
  OrderRepository,
  OwnedException,
  RecordedInvoice,
  RecordedShipment,
  ShipmentLedger,
  ShipmentLedgerEntries,
} from '../ports/index.ts';
import { IllegalStageTransition, OrderNotFound, ShipmentNotRecorded } from '../shared/errors.ts';
import { idempotencyKey } from '../shared/ids.ts';
import { resolvedEvent } from './human-decision.ts';

/**
 * The post-shipment workflow: a `shipment.confirmed` (proof of shipment, possibly partial) is recorded on
 * the order, invoiced through the ERP, told to the customer, and the order is closed once every ordered
 * quantity is invoiced. Each step is idempotent on the shipment id, so a redelivered event, an Express
 * execution started twice (asynchronous Express is at-least-once) or a retried step changes nothing twice.
 */

export interface PostShipmentDeps {
  readonly orders: OrderRepository;
  readonly ledger: ShipmentLedger;
  readonly invoices: InvoicePosting;
  readonly notifier: CustomerNotifier;
  readonly events: EventPublisher;
  /** The order's open step failures a confirmed shipment answers (see `recordShipment`). */
  readonly exceptions: ExceptionRepository;
  readonly clock: Clock;
}

export type ShipmentConfirmedDetail = EventDetail<'shipment.confirmed'>;

export interface ShipmentKey {
  readonly orderId: string;
  readonly shipmentId: string;
}

export interface RecordShipmentResult extends ShipmentKey {
  readonly stage: OrderStage;
  /** True when this shipment was already on the order: a redelivered or repeated event. */
  readonly alreadyRecorded: boolean;
  /** Step-failure exceptions this shipment answered and resolved (an order parked after its release). */
  readonly resolvedExceptions?: readonly string[];
}

export interface InvoiceShipmentResult extends ShipmentKey {
  readonly invoiceId: string;
  /** False when the shipment already had its invoice: nothing was posted or announced again. */
  readonly issued: boolean;
  readonly stage: OrderStage;
  /** When issued: Handoff's total and the amount the ERP posted (they differ when a price has sub-cent digits or tax applies). */
  readonly total?: number;
  readonly erpAmount?: number;
}

export interface NotifyShipmentResult extends ShipmentKey {
  readonly notificationId: string;
  readonly notified: boolean;
  /** Why nothing was sent now: the recorded skip reason, or ALREADY_SENT for a repeat. */
  readonly reason?: NotificationSkipReason;
  readonly channel?: 'email' | 'sms';
}

export type CloseOutcome = 'closed' | 'awaiting-shipments';

export interface CloseIfCompleteResult {
  readonly orderId: string;
  readonly outcome: CloseOutcome;
  readonly stage: OrderStage;
  /** Order lines with quantity still to ship and invoice (0 once closed). */
  readonly linesOutstanding: number;
}

/** Stages in which a new invoice may be issued for a recorded shipment. */
const INVOICEABLE_IN: readonly OrderStage[] = ['shipped', 'delivered', 'invoiced'];
/** Stages a fully invoiced order is closed from (`shipped` means a shipment still awaits its invoice). */
const CLOSABLE_FROM: readonly OrderStage[] = ['invoiced', 'delivered'];

export const SHIPPED_NOTIFICATION_TEMPLATE = 'order-shipped';

/** The reason code that ties a `shipped` stage entry to its shipment: how a repeat is recognised. */
export const shipmentReasonCode = (shipmentId: string) => `SHIPMENT_CONFIRMED:${shipmentId}`;

async function load(orderId: string, orders: OrderRepository): Promise<OrderRecord> {
  const record = await orders.get(orderId);
  if (!record) throw new OrderNotFound(orderId);
  return record;
}

function envelope(orderId: string, key: string, now: Date) {
  return {
    schemaVersion: 1 as const,
    orderId,
    correlationId: orderId,
    idempotencyKey: key,
    occurredAt: now.toISOString(),
  };
}

function findShipment(entries: ShipmentLedgerEntries, key: ShipmentKey): RecordedShipment {
  const shipment = entries.shipments.find((s) => s.shipmentId === key.shipmentId);
  if (!shipment) throw new ShipmentNotRecorded(key.orderId, key.shipmentId);
  return shipment;
}

/** The order's lines as invoiced: a line reserved as an approved substitute is charged as that SKU, at its price. */
function toInvoiceOrder(record: OrderRecord): InvoiceOrder {
  const { order } = record;
  const substituted = new Map((record.allocation?.substitutions ?? []).map((s) => [s.lineNo, s]));
  return {
    orderId: record.orderId,
    customerId: order.customer.id,
    currency: order.currency,
    paymentTerms: order.customer.terms.paymentTerms,
    lines: order.lines.map(({ lineNo, sku, quantity, unitPrice }) => {
      const substitute = substituted.get(lineNo);
      return substitute
        ? { lineNo, sku: substitute.substituteSku, quantity, unitPrice: substitute.unitPrice }
        : { lineNo, sku, quantity, unitPrice };
    }),
  };
}

function toInvoiceRecords(invoices: readonly RecordedInvoice[]): InvoiceRecord[] {
  return invoices.map((invoice) => ({
    invoiceId: invoice.invoiceId,
    shipmentId: invoice.shipmentId,
    lines: invoice.lines.map(({ lineNo, quantity }) => ({ lineNo, quantity })),
  }));
}

/** Every shipment recorded on the order has its invoice. */
function everyShipmentInvoiced(entries: ShipmentLedgerEntries): boolean {
  const invoiced = new Set(entries.invoices.map((invoice) => invoice.shipmentId));
  return entries.shipments.every((shipment) => invoiced.has(shipment.shipmentId));
}

/** The order was marked invoiced after its most recent shipment (so there is nothing to move). */
function invoicedSinceLastShipment(record: OrderRecord): boolean {
  const history = record.stageHistory;
  const last = (stage: OrderStage) => history.findLastIndex((entry) => entry.stage === stage);
  return last('invoiced') > last('shipped');
}

/**
 * Records a confirmed shipment on the order and moves it to `shipped` (the first shipment from
 * `released`, a further partial one from `shipped` or `invoiced`).
 *
 * An order parked in `exception` by a failed step after its stock was allocated (typically a release that
 * reached the warehouse while its answer did not: a timeout, a 5xx after commit) is shipped too: the
 * warehouse's confirmation is the proof that the release got there, and refusing it would leave goods on a
 * truck with no invoice. The step failures it answers (integration exceptions raised while the order was
 * allocated, release-deferred or released) are resolved as `resolved` by `handoff:shipment-confirmation`,
 * naming the shipment, and announced; any other open exception on the order stays with its owner.
 *
 * Refuses a shipment without proof (carrier and tracking number) [ProofOfShipmentMissing] and a shipment
 * for an order that is not released (or parked after allocation), or already closed [IllegalStageTransition].
 * A repeat of a shipment already recorded changes nothing; the stage entry carries
 * `SHIPMENT_CONFIRMED:<shipmentId>`, so a retry after the stage moved but before the ledger write finishes the
 * write without a second stage move, and re-announces any resolution a crash left unannounced.
 */
export async function recordShipment(
  detail: ShipmentConfirmedDetail,
  deps: Pick<PostShipmentDeps, 'orders' | 'ledger' | 'exceptions' | 'events' | 'clock'>,
): Promise<RecordShipmentResult> {
  for (const field of ['carrier', 'trackingNumber'] as const) {
    if (typeof detail[field] !== 'string' || detail[field].trim() === '') {
      throw new ProofOfShipmentMissing(
        `shipment.${field}`,
        'must be a non-empty string: a shipment is recorded on proof of shipment',
      );
    }
  }
  const { orderId, shipmentId } = detail;
  let record = await load(orderId, deps.orders);
  const reason = shipmentReasonCode(shipmentId);
  const stageMoved = record.stageHistory.some((entry) => entry.reasonCodes.includes(reason));
  let reconciles = stageMoved && movedFromException(record, reason);
  if (!stageMoved) {
    const parked = record.stage === 'exception';
    if (!canTransition(record.stage, 'shipped') || (parked && !wasAllocated(record))) {
      throw new IllegalStageTransition(orderId, record.stage, 'shipped');
    }
    reconciles = parked;
    record = await deps.orders.transition(record, 'shipped', [
      reason,
      detail.partial ? 'PARTIAL_SHIPMENT' : 'SHIPMENT_COMPLETES_RELEASE',
      ...(parked ? [SHIPMENT_RECONCILES_EXCEPTION] : []),
    ]);
  }
  const { recorded } = await deps.ledger.recordShipment(orderId, {
    shipmentId,
    siteId: detail.siteId,
    carrier: detail.carrier,
    trackingNumber: detail.trackingNumber,
    shippedAt: detail.shippedAt,
    lines: detail.lines.map(({ lineNo, sku, quantity }) => ({ lineNo, sku, quantity })),
    partial: detail.partial,
    recordedAt: deps.clock.now().toISOString(),
  });
  const resolvedExceptions = reconciles ? await resolveAnsweredFailures(record, shipmentId, deps) : [];
  // The ledger's conditional write is the one authority: of any number of runs for one shipment, exactly one
  // records it, and every other run is the absorbed duplicate, even one that raced the winner to the stage move.
  return {
    orderId,
    shipmentId,
    stage: record.stage,
    alreadyRecorded: !recorded,
    ...(resolvedExceptions.length > 0 ? { resolvedExceptions } : {}),
  };
}

/** Reason code on a `shipped` entry that left `exception` (see `recordShipment`). */
export const SHIPMENT_RECONCILES_EXCEPTION = 'SHIPMENT_RECONCILES_EXCEPTION';
/** Who resolves the step failures a confirmed shipment answers. */
export const SHIPMENT_CONFIRMATION_ACTOR = 'handoff:shipment-confirmation';
/** Stages at which a failed step is answered by the order shipping: the warehouse had the release. */
const ANSWERED_AT: readonly OrderStage[] = ['allocated', 'release-deferred', 'released'];

function wasAllocated(record: OrderRecord): boolean {
  return record.stageHistory.some((entry) => entry.stage === 'allocated');
}

function movedFromException(record: OrderRecord, reason: string): boolean {
  return record.stageHistory.some(
    (entry) =>
      entry.reasonCodes.includes(reason) && entry.reasonCodes.includes(SHIPMENT_RECONCILES_EXCEPTION),
  );
}

/**
 * Resolves (once) and announces (every run: consumers dedupe by key) each open step failure on the order
 * that the shipment answers; one already resolved by this shipment is announced again, in case the crash
 * came between the two.
 */
async function resolveAnsweredFailures(
  record: OrderRecord,
  shipmentId: string,
  deps: Pick<PostShipmentDeps, 'exceptions' | 'events' | 'clock'>,
): Promise<string[]> {
  const why = `the warehouse confirmed shipment ${shipmentId}: the release had reached it`;
  const resolved: OwnedException[] = [];
  for (const exceptionId of record.exceptionIds ?? []) {
    const exception = await deps.exceptions.get(exceptionId);
    if (!exception || !answeredByShipment(exception)) continue;
    if (exception.resolution) {
      if (
        exception.resolution.decidedBy === SHIPMENT_CONFIRMATION_ACTOR &&
        exception.resolution.reason === why
      ) {
        resolved.push(exception);
      }
      continue;
    }
    const decidedAt = deps.clock.now().toISOString();
    const written = await deps.exceptions.resolve(
      exception,
      {
        outcome: 'approve',
        closedAs: 'resolved',
        decidedBy: SHIPMENT_CONFIRMATION_ACTOR,
        decidedAt,
        reason: why,
        tier: 0,
      },
      { at: decidedAt, actor: SHIPMENT_CONFIRMATION_ACTOR, action: 'resolved', why },
    );
    // A person who decided first keeps the decision; there is nothing of ours to announce.
    if (written.resolved) resolved.push(written.exception);
  }
  if (resolved.length > 0) {
    await deps.events.publish(
      resolved.map((exception) =>
        resolvedEvent(exception, exception.resolution as NonNullable<OwnedException['resolution']>),
      ),
    );
  }
  return resolved.map((exception) => exception.exceptionId);
}

function answeredByShipment(exception: OwnedException): boolean {
  return (
    exception.type === 'integration-failure' &&
    ANSWERED_AT.includes(exception.stage) &&
    exception.reasonCodes.some((code) => code.startsWith('STEP_FAILED:'))
  );
}

/**
 * Invoices one recorded shipment: builds the invoice with the core rules (proof of shipment, no
 * over-invoicing, `INV-<shipmentId>`), posts it to the ERP with the invoice id as idempotency key,
 * announces `invoice.issued`, records it, and moves the order to `invoiced` once every recorded shipment
 * has its invoice.
 *
 * The event is published before the invoice is recorded: a crash between the two re-posts (the ERP
 * replays the same key) and re-announces (same idempotency key) on retry instead of losing the event. A
 * shipment already invoiced posts and announces nothing; only a stage move still owed is made.
 */
export async function invoiceShipment(
  key: ShipmentKey,
  deps: Pick<PostShipmentDeps, 'orders' | 'ledger' | 'invoices' | 'events' | 'clock'>,
): Promise<InvoiceShipmentResult> {
  let record = await load(key.orderId, deps.orders);
  let entries = await deps.ledger.entries(key.orderId);
  const shipment = findShipment(entries, key);
  const now = deps.clock.now();
  const built = buildInvoice({
    order: toInvoiceOrder(record),
    shipment: {
      shipmentId: shipment.shipmentId,
      orderId: key.orderId,
      shippedAt: shipment.shippedAt,
      proofOfShipment: { carrier: shipment.carrier, trackingNumber: shipment.trackingNumber },
      lines: shipment.lines.map(({ lineNo, quantity }) => ({ lineNo, quantity })),
    },
    alreadyInvoiced: toInvoiceRecords(entries.invoices),
    issuedAt: now.toISOString(),
  });

  let invoiceId: string;
  let amounts: { total: number; erpAmount: number } | undefined;
  if (built.kind === 'duplicate') {
    invoiceId = built.invoiceId;
  } else {
    const { invoice } = built;
    invoiceId = invoice.invoiceId;
    if (!INVOICEABLE_IN.includes(record.stage)) {
      throw new IllegalStageTransition(key.orderId, record.stage, 'invoiced');
    }
    const posted = await deps.invoices.postInvoice(invoice);
    const lines = invoice.lines.map(({ lineNo, sku, quantity }) => ({ lineNo, sku, quantity }));
    await deps.events.publish([
      {
        name: 'invoice.issued',
        detail: {
          ...envelope(key.orderId, invoice.idempotencyKey, now),
          invoiceId: invoice.invoiceId,
          shipmentId: invoice.shipmentId,
          amount: invoice.total,
          currency: invoice.currency,
          lines,
        },
      },
    ]);
    const recordedInvoice: RecordedInvoice = {
      invoiceId: invoice.invoiceId,
      shipmentId: invoice.shipmentId,
      erpInvoiceId: posted.erpInvoiceId,
      lines,
      currency: invoice.currency,
      total: invoice.total,
      erpAmount: posted.amount,
      issuedAt: invoice.issuedAt,
      dueDate: posted.dueDate,
    };
    await deps.ledger.recordInvoice(key.orderId, recordedInvoice);
    // Read the ledger again: another shipment of this order may have been invoiced side by side since the
    // first read (two confirmations in one cut-off). Each invoicer writes before it reads, so at least one
    // sees every invoice and moves the order; with the first read both could see the other's missing.
    entries = await deps.ledger.entries(key.orderId);
    amounts = { total: invoice.total, erpAmount: posted.amount };
  }

  if (
    everyShipmentInvoiced(entries) &&
    (record.stage === 'shipped' || record.stage === 'delivered') &&
    !invoicedSinceLastShipment(record)
  ) {
    record = await deps.orders.transition(record, 'invoiced', [`INVOICE_ISSUED:${invoiceId}`]);
  }
  return { ...key, invoiceId, issued: built.kind === 'invoice', stage: record.stage, ...amounts };
}

function notificationOrder(record: OrderRecord): NotificationOrder {
  const { order } = record;
  return {
    orderId: record.orderId,
    channel: order.channel,
    customerId: order.customer.id,
    ...(order.customerPo !== undefined ? { customerPo: order.customerPo } : {}),
    contact: {
      ...(order.shipTo.email !== undefined ? { email: order.shipTo.email } : {}),
      ...(order.shipTo.phone !== undefined ? { phone: order.shipTo.phone } : {}),
    },
  };
}

function isCrmChannel(channel: NotificationChannel): channel is 'email' | 'sms' {
  return channel === 'email' || channel === 'sms';
}

/**
 * Tells the customer a shipment left, once per shipment. The core plans the message (channel, recipient,
 * wording, opt-outs); the CRM sends it with the notification id as idempotency key. No usable contact, an
 * opt-out or an EDI partner's own documents are not failures: the skip and its reason are recorded. A CRM
 * refusal surfaces as its named error (PartnerRejected) and nothing is recorded, so a redrive tries again.
 */
export async function notifyShipment(
  key: ShipmentKey,
  deps: Pick<PostShipmentDeps, 'orders' | 'ledger' | 'notifier' | 'clock'>,
): Promise<NotifyShipmentResult> {
  const record = await load(key.orderId, deps.orders);
  const entries = await deps.ledger.entries(key.orderId);
  const shipment = findShipment(entries, key);
  const productLines = new Map(record.order.lines.map((line) => [line.lineNo, line]));
  const plan = planNotification({
    milestone: 'shipped',
    order: notificationOrder(record),
    details: {
      shipmentId: shipment.shipmentId,
      carrier: shipment.carrier,
      trackingNumber: shipment.trackingNumber,
      lines: shipment.lines.map((line) => {
        // The order's description names the ordered SKU: a substitute ships without it.
        const ordered = productLines.get(line.lineNo);
        const description = ordered?.sku === line.sku ? ordered.description : undefined;
        return { sku: line.sku, quantity: line.quantity, ...(description ? { description } : {}) };
      }),
    },
    alreadySent: entries.notifications.map((n) => n.notificationId),
  });

  const decided = entries.notifications.find((n) => n.notificationId === plan.notificationId);
  if (decided) {
    return {
      ...key,
      notificationId: decided.notificationId,
      notified: false,
      reason: decided.outcome === 'skipped' ? decided.reason : 'ALREADY_SENT',
    };
  }
  const at = deps.clock.now().toISOString();
  if (!plan.send || !isCrmChannel(plan.channel)) {
    // An 'edi' plan is the 856 advance ship notice, which the EDI adapter sends, not the CRM.
    const reason: NotificationSkipReason = plan.send ? 'COVERED_BY_EDI' : plan.reason;
    await deps.ledger.recordNotification(key.orderId, {
      notificationId: plan.notificationId,
      shipmentId: key.shipmentId,
      outcome: 'skipped',
      reason,
      at,
    });
    return { ...key, notificationId: plan.notificationId, notified: false, reason };
  }
  const { messageId } = await deps.notifier.notify({
    orderId: key.orderId,
    customerId: record.order.customer.id,
    channel: plan.channel,
    template: SHIPPED_NOTIFICATION_TEMPLATE,
    data: {
      recipient: plan.recipient,
      subject: plan.subject,
      body: plan.body,
      shipmentId: shipment.shipmentId,
      carrier: shipment.carrier,
      trackingNumber: shipment.trackingNumber,
    },
    idempotencyKey: plan.notificationId,
  });
  await deps.ledger.recordNotification(key.orderId, {
    notificationId: plan.notificationId,
    shipmentId: key.shipmentId,
    outcome: 'sent',
    channel: plan.channel,
    messageId,
    at,
  });
  return { ...key, notificationId: plan.notificationId, notified: true, channel: plan.channel };
}

/**
 * Closes the order when every ordered quantity is invoiced, counting every invoice on the order.
 * Complete means the quantities the customer ordered, not the ones allocated: a ship-partial order whose
 * remainder is backordered stays `invoiced`, awaiting the shipments that fill the backorder.
 *
 * `order.closed` (outcome fulfilled) is published before the stage moves, so a retry after a crash
 * between the two re-announces (same idempotency key) rather than losing it; a repeat on a closed order
 * does nothing. Fully invoiced and still `shipped` with every shipment invoiced (another shipment's
 * workflow has not yet moved the order) moves it to `invoiced` first. Fully invoiced but in a stage that
 * cannot close (a shipment still awaiting its invoice, an exception) is an IllegalStageTransition for a
 * person to look at.
 */
export async function closeIfComplete(
  orderId: string,
  deps: Pick<PostShipmentDeps, 'orders' | 'ledger' | 'events' | 'clock'>,
): Promise<CloseIfCompleteResult> {
  let record = await load(orderId, deps.orders);
  if (record.stage === 'closed') {
    return { orderId, outcome: 'closed', stage: 'closed', linesOutstanding: 0 };
  }
  const entries = await deps.ledger.entries(orderId);
  const status = invoicingStatus(toInvoiceOrder(record), toInvoiceRecords(entries.invoices));
  const linesOutstanding = status.lines.filter((line) => line.remaining > 0).length;
  if (!status.fullyInvoiced) {
    return { orderId, outcome: 'awaiting-shipments', stage: record.stage, linesOutstanding };
  }
  if (record.stage === 'shipped' && everyShipmentInvoiced(entries)) {
    // Every shipment has its invoice, but the order has not moved on yet: two shipments confirmed in one
    // instant, and the other workflow recorded its invoice and has not yet made the move (or saw this one's
    // invoice missing). Make it here, so closing does not depend on which of the two gets there first; the
    // other's stale move then fails as ConcurrentOrderUpdate and its retry finds the order moved.
    const last = entries.invoices.at(-1)?.invoiceId;
    record = await deps.orders.transition(record, 'invoiced', [
      `INVOICE_ISSUED:${last}`,
      'ALL_SHIPMENTS_INVOICED',
    ]);
  }
  if (!CLOSABLE_FROM.includes(record.stage) || !canTransition(record.stage, 'closed')) {
    throw new IllegalStageTransition(orderId, record.stage, 'closed');
  }
  const now = deps.clock.now();
  await deps.events.publish([
    {
      name: 'order.closed',
      detail: {
        ...envelope(orderId, idempotencyKey(orderId, 'closed'), now),
        outcome: 'fulfilled',
        ...(record.path !== undefined ? { path: record.path } : {}),
      },
    },
  ]);
  const closed = await deps.orders.transition(record, 'closed', ['FULLY_INVOICED']);
  return { orderId, outcome: 'closed', stage: closed.stage, linesOutstanding: 0 };
}
