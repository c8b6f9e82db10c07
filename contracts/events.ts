import * as z from 'zod/mini';
import { CanonicalOrder, CurrencyCode, IsoDate, IsoDateTime, Money, OrderId, SiteId, Sku } from './order.ts';
import { type FieldViolation, type ParseResult, parseWith } from './validation.ts';
import {
  EXCEPTION_PRIORITIES,
  EXCEPTION_TYPES,
  FULFILMENT_PATHS,
  FULFILMENT_TERMS,
  ORDER_STAGES,
  OWNER_TEAMS,
  SLA_STAGES,
} from './vocabulary.ts';

export const SCHEMA_VERSION = 1;

/** EventBridge `source` per producing domain. */
export const EVENT_SOURCES = {
  orders: 'handoff.orders',
  credit: 'handoff.credit',
  inventory: 'handoff.inventory',
  warehouse: 'handoff.warehouse',
  shipping: 'handoff.shipping',
  billing: 'handoff.billing',
  exceptions: 'handoff.exceptions',
  sla: 'handoff.sla',
} as const;
export type EventSource = (typeof EVENT_SOURCES)[keyof typeof EVENT_SOURCES];

const text = (max: number) => z.string().check(z.minLength(1), z.maxLength(max));
const ReasonCode = z.string().check(z.regex(/^[A-Z][A-Z0-9_]*(:[A-Za-z0-9._-]+)?$/));
const Count = z.int().check(z.gte(0));
const Quantity = z.int().check(z.gt(0));
const Actor = text(120);

/** Fields every canonical event's `detail` carries, whatever its type. */
export const envelopeShape = {
  schemaVersion: z.literal(SCHEMA_VERSION),
  orderId: OrderId,
  /** Ties together everything one order causes across systems; Handoff uses the order id. */
  correlationId: text(128),
  /** Stable per order and stage, so a redelivered event or a retried side effect is recognised. */
  idempotencyKey: z.string().check(z.minLength(1), z.maxLength(200), z.regex(/^[A-Za-z0-9:_.#-]+$/)),
  occurredAt: IsoDateTime,
};

const LineQuantity = z.strictObject({ lineNo: z.int().check(z.gte(1)), sku: Sku, quantity: Quantity });
const ShortLine = z.strictObject({
  lineNo: z.int().check(z.gte(1)),
  sku: Sku,
  requested: Quantity,
  available: Count,
  shortBy: Quantity,
});
const FieldViolationShape = z.strictObject({
  path: z.string().check(z.maxLength(300)),
  rule: text(200),
  message: text(500),
});

function defineEvent<const Name extends string, const Shape extends z.core.$ZodLooseShape>(
  name: Name,
  source: EventSource,
  description: string,
  shape: Shape,
) {
  const detail = z.strictObject({ ...envelopeShape, ...shape });
  return { name, source, detailType: `${name}.v${SCHEMA_VERSION}` as const, description, detail };
}

export const EVENT_CATALOGUE = {
  'order.received': defineEvent(
    'order.received',
    EVENT_SOURCES.orders,
    'An order arrived from its source system, passed validation and is now a canonical order.',
    { order: CanonicalOrder },
  ),
  'order.accepted': defineEvent(
    'order.accepted',
    EVENT_SOURCES.orders,
    'The router classified the order and started its fulfilment path.',
    {
      path: z.enum(FULFILMENT_PATHS),
      reasonCodes: z.array(ReasonCode),
      priorityScore: z.int().check(z.gte(0), z.lte(1000)),
      executionName: text(80),
    },
  ),
  'order.rejected': defineEvent(
    'order.rejected',
    EVENT_SOURCES.orders,
    'The order cannot be fulfilled as submitted; reasons name the field and rule or the business rule.',
    {
      stage: z.enum(ORDER_STAGES),
      reasonCodes: z.array(ReasonCode),
      violations: z.optional(z.array(FieldViolationShape)),
      exceptionId: z.optional(text(80)),
    },
  ),
  'credit.hold.placed': defineEvent(
    'credit.hold.placed',
    EVENT_SOURCES.credit,
    'Credit check held the order for finance review.',
    {
      reasonCodes: z.array(ReasonCode).check(z.minLength(1)),
      orderValue: Money,
      exposure: Money,
      creditLimit: Money,
      currency: CurrencyCode,
      exceptionId: text(80),
    },
  ),
  'credit.approved': defineEvent(
    'credit.approved',
    EVENT_SOURCES.credit,
    'Credit check approved the order without review: an auto-approve band covered it; who and why are recorded.',
    {
      reasonCodes: z.array(ReasonCode).check(z.minLength(1)),
      approvedBy: Actor,
      orderValue: Money,
      currency: CurrencyCode,
    },
  ),
  'credit.hold.released': defineEvent(
    'credit.hold.released',
    EVENT_SOURCES.credit,
    'Finance released a credit hold; who, when and why are recorded.',
    { releasedBy: Actor, reason: text(500), exceptionId: text(80) },
  ),
  'allocation.confirmed': defineEvent(
    'allocation.confirmed',
    EVENT_SOURCES.inventory,
    'Stock was reserved at a site for all or part of the order.',
    {
      siteId: SiteId,
      lines: z.array(LineQuantity).check(z.minLength(1)),
      partial: z.boolean(),
      reservationId: text(80),
    },
  ),
  'allocation.shortage': defineEvent(
    'allocation.shortage',
    EVENT_SOURCES.inventory,
    'Available-to-promise stock does not cover the order.',
    {
      siteId: z.nullable(SiteId),
      shortLines: z.array(ShortLine).check(z.minLength(1)),
      terms: z.enum(FULFILMENT_TERMS),
      reasonCodes: z.array(ReasonCode),
    },
  ),
  'substitution.proposed': defineEvent(
    'substitution.proposed',
    EVENT_SOURCES.inventory,
    'A substitute item is proposed for a short line under the customer rules and margin threshold.',
    {
      lineNo: z.int().check(z.gte(1)),
      originalSku: Sku,
      substituteSku: Sku,
      quantity: Quantity,
      marginPct: z.number(),
      requiresApproval: z.boolean(),
      reasonCodes: z.array(ReasonCode),
    },
  ),
  'substitution.decided': defineEvent(
    'substitution.decided',
    EVENT_SOURCES.inventory,
    'A substitution proposal was approved or rejected.',
    {
      lineNo: z.int().check(z.gte(1)),
      substituteSku: Sku,
      decision: z.enum(['approved', 'rejected']),
      decidedBy: Actor,
      reason: text(500),
    },
  ),
  'backorder.created': defineEvent(
    'backorder.created',
    EVENT_SOURCES.inventory,
    'Lines that could not be allocated were put on backorder.',
    { lines: z.array(LineQuantity).check(z.minLength(1)), expectedAt: z.optional(IsoDate) },
  ),
  'backorder.filled': defineEvent(
    'backorder.filled',
    EVENT_SOURCES.inventory,
    'Backordered lines were allocated after stock arrived.',
    { siteId: SiteId, lines: z.array(LineQuantity).check(z.minLength(1)) },
  ),
  /**
   * The WMS adapter maps its message (eventId, facilityCode, itemCode, quantity, onHand, committed,
   * occurredAt) onto these fields. A receipt concerns no order, yet every detail carries the envelope:
   * `orderId` and `correlationId` hold the receipt id, `idempotencyKey` is `${receiptId}:inventory:received`,
   * `occurredAt` is when goods were put away.
   */
  'inventory.received': defineEvent(
    'inventory.received',
    EVENT_SOURCES.inventory,
    'Goods were put away at a facility (one receipt line). A receipt belongs to no order: orderId and correlationId carry the receipt id.',
    {
      /** The WMS message id (`eventId`): one receipt line; duplicates of the message carry the same id. */
      receiptId: text(80),
      sku: Sku,
      /** The receiving facility (`facilityCode`). */
      siteId: SiteId,
      quantity: Quantity,
      /** Stock position after the receipt, as the WMS reported it (informational; stock is re-read). */
      onHand: Count,
      reserved: Count,
    },
  ),
  'backorder.aged': defineEvent(
    'backorder.aged',
    EVENT_SOURCES.inventory,
    "A backorder passed the customer's maximum age: cancelled (with its order when nothing else is left), or kept open and the customer told once.",
    {
      backorderId: text(80),
      lineNo: z.int().check(z.gte(1)),
      sku: Sku,
      outstandingQuantity: Count,
      cancelAfter: IsoDateTime,
      action: z.enum(['cancelled', 'kept-open']),
      orderCancelled: z.boolean(),
      reservationIds: z.array(text(80)),
      reasonCodes: z.array(ReasonCode),
    },
  ),
  'release.deferred': defineEvent(
    'release.deferred',
    EVENT_SOURCES.warehouse,
    'A future-dated order waits for its release window: nobody is late until it opens.',
    { releaseAt: IsoDateTime, shipBy: IsoDate, reasonCodes: z.array(ReasonCode) },
  ),
  'warehouse.released': defineEvent(
    'warehouse.released',
    EVENT_SOURCES.warehouse,
    'The order was handed to the warehouse for picking, with its priority.',
    {
      siteId: SiteId,
      releaseId: text(80),
      priority: z.int().check(z.gte(0), z.lte(1000)),
      shipBy: IsoDate,
      lines: z.array(LineQuantity).check(z.minLength(1)),
      reasonCodes: z.array(ReasonCode),
    },
  ),
  'shipment.booked': defineEvent(
    'shipment.booked',
    EVENT_SOURCES.shipping,
    'A carrier booking exists for a shipment of the order.',
    { shipmentId: text(80), siteId: SiteId, carrier: text(40), service: text(40), bookingRef: text(80) },
  ),
  'shipment.confirmed': defineEvent(
    'shipment.confirmed',
    EVENT_SOURCES.shipping,
    'Goods left the site: proof of shipment, possibly partial.',
    {
      shipmentId: text(80),
      siteId: SiteId,
      carrier: text(40),
      trackingNumber: text(80),
      shippedAt: IsoDateTime,
      lines: z.array(LineQuantity).check(z.minLength(1)),
      partial: z.boolean(),
    },
  ),
  'shipment.delivered': defineEvent(
    'shipment.delivered',
    EVENT_SOURCES.shipping,
    'The carrier reported delivery.',
    { shipmentId: text(80), deliveredAt: IsoDateTime, proofOfDelivery: z.optional(text(200)) },
  ),
  'invoice.issued': defineEvent(
    'invoice.issued',
    EVENT_SOURCES.billing,
    'An invoice was posted for a confirmed shipment.',
    {
      invoiceId: text(80),
      shipmentId: text(80),
      amount: Money,
      currency: CurrencyCode,
      lines: z.array(LineQuantity).check(z.minLength(1)),
    },
  ),
  'exception.raised': defineEvent(
    'exception.raised',
    EVENT_SOURCES.exceptions,
    'Work for a person: an owned exception with SLA and recommended action.',
    {
      exceptionId: text(80),
      type: z.enum(EXCEPTION_TYPES),
      ownerTeam: z.enum(OWNER_TEAMS),
      priority: z.enum(EXCEPTION_PRIORITIES),
      stage: z.enum(ORDER_STAGES),
      slaDueAt: IsoDateTime,
      recommendedAction: text(500),
      reasonCodes: z.array(ReasonCode),
    },
  ),
  'exception.escalated': defineEvent(
    'exception.escalated',
    EVENT_SOURCES.exceptions,
    'Nobody decided within the SLA: the exception moved up its escalation ladder to the next tier.',
    {
      exceptionId: text(80),
      type: z.enum(EXCEPTION_TYPES),
      tier: z.int().check(z.gte(2), z.lte(9)),
      ownerTeam: z.enum(OWNER_TEAMS),
      role: text(80),
      priority: z.enum(EXCEPTION_PRIORITIES),
      slaDueAt: IsoDateTime,
      recommendedAction: text(500),
    },
  ),
  'exception.resolved': defineEvent(
    'exception.resolved',
    EVENT_SOURCES.exceptions,
    'An owned exception was decided or closed.',
    {
      exceptionId: text(80),
      resolution: z.enum(['approved', 'rejected', 'overridden', 'resolved', 'cancelled']),
      resolvedBy: Actor,
      reason: text(500),
    },
  ),
  'sla.jeopardy': defineEvent(
    'sla.jeopardy',
    EVENT_SOURCES.sla,
    'A stage clock passed its jeopardy fraction of the target.',
    {
      stage: z.enum(SLA_STAGES),
      ownerTeam: z.enum(OWNER_TEAMS),
      startedAt: IsoDateTime,
      dueAt: IsoDateTime,
      elapsedSeconds: Count,
      targetSeconds: Count,
    },
  ),
  'sla.breached': defineEvent('sla.breached', EVENT_SOURCES.sla, 'A stage clock passed its target.', {
    stage: z.enum(SLA_STAGES),
    ownerTeam: z.enum(OWNER_TEAMS),
    startedAt: IsoDateTime,
    dueAt: IsoDateTime,
    overrunSeconds: Count,
    targetSeconds: Count,
  }),
  'order.closed': defineEvent('order.closed', EVENT_SOURCES.orders, 'The order reached a terminal outcome.', {
    outcome: z.enum(['fulfilled', 'partially-fulfilled', 'cancelled', 'rejected']),
    path: z.optional(z.enum(FULFILMENT_PATHS)),
  }),
} as const;

export type EventCatalogue = typeof EVENT_CATALOGUE;
export type EventName = keyof EventCatalogue;
export type EventDetail<N extends EventName> = z.infer<EventCatalogue[N]['detail']>;
export type DetailType = EventCatalogue[EventName]['detailType'];

export const EVENT_NAMES = Object.keys(EVENT_CATALOGUE) as EventName[];

const byDetailType = new Map<string, EventCatalogue[EventName]>(
  Object.values(EVENT_CATALOGUE).map((definition) => [definition.detailType, definition]),
);

export function eventDefinition<N extends EventName>(name: N): EventCatalogue[N] {
  return EVENT_CATALOGUE[name];
}

/** Validates a detail against its contract; every failing field in one ContractViolation. */
export function parseDetail<N extends EventName>(name: N, detail: unknown): ParseResult<EventDetail<N>> {
  const definition = EVENT_CATALOGUE[name];
  return parseWith(definition.detailType, definition.detail, detail) as ParseResult<EventDetail<N>>;
}

/** The shape EventBridge delivers to rule targets (the fields Handoff relies on). */
export interface EventBridgeEnvelope {
  readonly source: string;
  readonly 'detail-type': string;
  readonly detail: unknown;
}

const Envelope = z.looseObject({ source: z.string(), 'detail-type': z.string(), detail: z.unknown() });

/** Identifies and validates a delivered event by its `detail-type`, checking its `source` matches. */
export function parseEvent(event: unknown): ParseResult<{
  name: EventName;
  source: EventSource;
  detail: EventDetail<EventName>;
}> {
  const envelope = parseWith('EventBridge event', Envelope, event);
  if (!envelope.ok) return envelope;
  const detailType = envelope.value['detail-type'];
  const definition = byDetailType.get(detailType);
  if (!definition) {
    return parseWith(
      'EventBridge event',
      z.custom<never>(() => false, {
        path: ['detail-type'],
        message: `is not a Handoff event (known: ${[...byDetailType.keys()].join(', ')})`,
        params: { rule: 'knownDetailType' },
      }),
      event,
    );
  }
  if (envelope.value.source !== definition.source) {
    return parseWith(
      'EventBridge event',
      z.custom<never>(() => false, {
        path: ['source'],
        message: `must be ${definition.source} for ${detailType}`,
        params: { rule: `equals:${definition.source}` },
      }),
      event,
    );
  }
  const detail = parseWith(detailType, definition.detail, envelope.value.detail);
  if (!detail.ok) return detail;
  return {
    ok: true,
    value: {
      name: definition.name,
      source: definition.source,
      detail: detail.value as EventDetail<EventName>,
    },
  };
}

/** A PutEvents entry for a validated detail. Throws ContractViolation when the detail breaks its contract. */
export function toPutEventsEntry<N extends EventName>(
  name: N,
  detail: EventDetail<N>,
  eventBusName: string,
): { Source: string; DetailType: string; Detail: string; EventBusName: string } {
  const parsed = parseDetail(name, detail);
  if (!parsed.ok) throw parsed.error;
  const definition = EVENT_CATALOGUE[name];
  return {
    Source: definition.source,
    DetailType: definition.detailType,
    Detail: JSON.stringify(parsed.value),
    EventBusName: eventBusName,
  };
}

/**
 * 256 KB: the PutEvents entry limit, and a Step Functions payload's too. A canonical event that would be larger
 * can never be published, so what would produce one is refused at the ingress, naming this limit.
 */
export const MAX_EVENT_ENTRY_BYTES = 256 * 1024;

/** The size EventBridge counts for a PutEvents entry of this event: source, detail-type and detail, in UTF-8 bytes. */
export function eventEntryBytes(name: EventName, detail: unknown): number {
  const definition = EVENT_CATALOGUE[name];
  return (
    Buffer.byteLength(definition.source) +
    Buffer.byteLength(definition.detailType) +
    Buffer.byteLength(JSON.stringify(detail))
  );
}

/**
 * The violation of an order too large for its `order.received` (which carries the whole order), reported on the
 * document (path ''); undefined when it fits. The envelope is counted as the ingresses write it.
 */
export function oversizeOrderViolation(order: CanonicalOrder): FieldViolation | undefined {
  const bytes = eventEntryBytes('order.received', {
    schemaVersion: SCHEMA_VERSION,
    orderId: order.orderId,
    correlationId: order.orderId,
    idempotencyKey: `${order.orderId}:received`,
    occurredAt: '2000-01-01T00:00:00.000Z',
    order,
  });
  if (bytes <= MAX_EVENT_ENTRY_BYTES) return undefined;
  return {
    path: '',
    rule: `maxBytes:${MAX_EVENT_ENTRY_BYTES}`,
    message: `makes an order.received of ${bytes} bytes, over the 256 KB EventBridge entry limit (the event carries the whole order): split the order or shorten its texts`,
  };
}

export { CanonicalOrder, IsoDate, IsoDateTime };
