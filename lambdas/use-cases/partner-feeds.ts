import * as z from 'zod/mini';
import { MAX_EVENT_ENTRY_BYTES, parseDetail } from '../../contracts/events.ts';
import { type FieldViolation, parseWith } from '../../contracts/validation.ts';
import type {
  Clock,
  EventPublisher,
  ExceptionRepository,
  ItemReferencePort,
  OwnedException,
} from '../ports/index.ts';
import { idempotencyKey, sha256 } from '../shared/ids.ts';
import { addHours, exceptionRaisedEvent, keptViolations } from './exceptions.ts';

/**
 * Messages partners push at Handoff (the WMS's inventory feed, vendors' ship notices): each is mapped to a
 * canonical event, or, when it cannot be, kept whole as an integration exception the integration team
 * owns. A message is never dropped and never retried forever: SQS retries only what failed transiently.
 */

export interface FeedQuarantineDeps {
  readonly exceptions: ExceptionRepository;
  readonly events: EventPublisher;
  readonly clock: Clock;
}

/** Hours the integration team has to look at a partner message Handoff could not use. */
export const FEED_QUARANTINE_SLA_HOURS = 4;

/**
 * The violation of a message larger than `maxBytes` (on the document, path ''), naming the limit and why it
 * is there; undefined when it fits.
 */
export function oversize(rawBody: string, maxBytes: number, why: string): FieldViolation | undefined {
  const bytes = Buffer.byteLength(rawBody);
  if (bytes <= maxBytes) return undefined;
  return { path: '', rule: `maxBytes:${maxBytes}`, message: `is ${bytes} bytes, over the limit: ${why}` };
}

export interface FeedRejection {
  /** Which feed: `wms.inventory`, `vendor.asn`, … */
  readonly feed: string;
  /** The message exactly as received. */
  readonly rawBody: string;
  /** The order the message names, when it names one Handoff can file it under. */
  readonly orderId?: string;
  readonly reasonCode: string;
  readonly violations: readonly FieldViolation[];
  readonly recommendedAction: string;
  /** More for the operator (e.g. the status a webhook was answered with). */
  readonly context?: Readonly<Record<string, unknown>>;
}

/**
 * Keeps a partner message Handoff cannot use as an open integration exception, once per distinct message
 * (a redelivery finds the same exception), and announces it with `exception.raised`.
 */
export async function quarantineFeedMessage(
  rejection: FeedRejection,
  deps: FeedQuarantineDeps,
): Promise<{ readonly exceptionId: string; readonly alreadyQuarantined: boolean }> {
  const now = deps.clock.now();
  const occurredAt = now.toISOString();
  const digest = sha256(`${rejection.feed}|${rejection.rawBody}`);
  const exceptionId = `EXC-FEED-${digest.slice(0, 24)}`;
  // Filed under the order it names, or under the message itself (an id the order-id rules accept).
  const orderId =
    rejection.orderId ??
    `FEED-${rejection.feed.replace(/[^A-Za-z0-9]+/g, '-').slice(0, 40)}-${digest.slice(0, 16)}`;
  const kept = keptViolations(rejection.violations);
  const exception: OwnedException = {
    exceptionId,
    type: 'integration-failure',
    ownerTeam: 'integration',
    priority: 'high',
    state: 'open',
    stage: 'received',
    orderId,
    correlationId: orderId,
    raisedAt: occurredAt,
    slaDueAt: addHours(now, FEED_QUARANTINE_SLA_HOURS),
    recommendedAction: rejection.recommendedAction,
    reasonCodes: [rejection.reasonCode],
    violations: kept.violations,
    context: {
      source: rejection.feed,
      // Whole: once the message is acknowledged the exception is its only copy (the exception repository
      // stores a payload too large for the record beside it).
      payload: rejection.rawBody,
      payloadBytes: Buffer.byteLength(rejection.rawBody),
      payloadSha256: digest,
      violationCount: kept.violationCount,
      ...rejection.context,
    },
    audit: [
      {
        at: occurredAt,
        actor: `handoff:${rejection.feed}`,
        action: 'quarantined',
        why: kept.violations
          .slice(0, 10)
          .map((v) => `${v.path || '(root)'} ${v.rule}`)
          .join('; ')
          .slice(0, 500),
      },
    ],
  };
  const { created } = await deps.exceptions.raiseIfAbsent(exception);
  await deps.events.publish([exceptionRaisedEvent(exception, occurredAt)]);
  return { exceptionId, alreadyQuarantined: !created };
}

/** The violations of a message body that is not JSON at all. */
export function notJson(rawBody: string): FieldViolation[] {
  return [
    {
      path: '',
      rule: 'json',
      message: `the message is not JSON (${Buffer.byteLength(rawBody)} bytes, starting ${JSON.stringify(rawBody.slice(0, 40))})`,
    },
  ];
}

/** Parses a JSON body; `undefined` when it is not JSON. */
export function jsonOf(rawBody: string): { readonly value: unknown } | undefined {
  try {
    return { value: JSON.parse(rawBody) };
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------------------
// WMS inventory feed
// ---------------------------------------------------------------------------------------------------------

const Code = z.string().check(z.minLength(1), z.maxLength(64));
const Count = z.int().check(z.gte(0));

/** The WMS's outbound message when goods are put away: one per receipt line. */
export const WmsInventoryMessage = z.looseObject({
  eventId: z.string().check(z.minLength(1), z.maxLength(80), z.regex(/^[A-Za-z0-9][A-Za-z0-9_-]*$/)),
  eventType: z.string().check(z.minLength(1)),
  occurredAt: z.iso.datetime({ offset: true }),
  facilityCode: Code,
  itemCode: Code,
  quantity: z.int().check(z.gt(0)),
  onHand: Count,
  committed: Count,
});

/** The WMS's ship confirmation: a warehouse order left the dock with the carrier the warehouse chose. */
export const WmsShipmentMessage = z.looseObject({
  eventId: z.string().check(z.minLength(1), z.maxLength(80), z.regex(/^[A-Za-z0-9][A-Za-z0-9_-]*$/)),
  eventType: z.literal('order.shipped'),
  occurredAt: z.iso.datetime({ offset: true }),
  facilityCode: Code,
  orderReference: Code,
  shipmentNumber: Code,
  carrierCode: z.string().check(z.minLength(1), z.maxLength(40)),
  trackingNumber: z.string().check(z.minLength(1), z.maxLength(80)),
  lines: z
    .array(
      z.looseObject({
        lineNumber: z.int().check(z.gte(1)),
        itemCode: Code,
        quantity: z.int().check(z.gt(0)),
      }),
    )
    .check(z.minLength(1), z.maxLength(1000)),
  complete: z.boolean(),
});

export interface WmsFeedDeps extends FeedQuarantineDeps {
  /** The ERP item master: a receipt of an item it does not know is quarantined, not announced. */
  readonly items: ItemReferencePort;
}

/**
 * The largest WMS message Handoff takes: what it becomes (inventory.received, shipment.confirmed with its
 * lines) must fit one 256 KB EventBridge entry. A put-away is a few hundred bytes.
 */
export const MAX_WMS_MESSAGE_BYTES = MAX_EVENT_ENTRY_BYTES;

export type WmsFeedOutcome =
  | { readonly kind: 'announced'; readonly receiptId: string; readonly sku: string; readonly siteId: string }
  | { readonly kind: 'shipped'; readonly orderId: string; readonly shipmentId: string }
  | { readonly kind: 'ignored'; readonly eventType: string }
  | { readonly kind: 'quarantined'; readonly exceptionId: string; readonly alreadyQuarantined: boolean };

/** WMS message types that say nothing Handoff acts on (the feed carries more than receipts). */
const KNOWN_IGNORED = new Set(['inventory.adjusted', 'inventory.counted', 'order.picked', 'order.packed']);

/**
 * One WMS message: a put-away becomes `inventory.received` (which re-evaluates the SKU's backorders); a
 * message Handoff cannot read is quarantined. The receipt id is the WMS event id, so a redelivered message
 * carries the same idempotency key and collapses downstream.
 */
export async function announceWmsMessage(rawBody: string, deps: WmsFeedDeps): Promise<WmsFeedOutcome> {
  const json = jsonOf(rawBody);
  const quarantine = async (reasonCode: string, violations: readonly FieldViolation[]) => ({
    kind: 'quarantined' as const,
    ...(await quarantineFeedMessage(
      {
        feed: 'wms.inventory',
        rawBody,
        reasonCode,
        violations,
        recommendedAction:
          'Check the message with the WMS team; once corrected, have the WMS resend it (backorders of the item wait for it).',
      },
      deps,
    )),
  });
  const tooLarge = oversize(
    rawBody,
    MAX_WMS_MESSAGE_BYTES,
    'what a WMS message becomes must fit one 256 KB EventBridge event',
  );
  if (tooLarge) return quarantine('WMS_MESSAGE_TOO_LARGE', [tooLarge]);
  if (!json) return quarantine('WMS_MESSAGE_NOT_JSON', notJson(rawBody));
  if ((json.value as { eventType?: unknown } | null)?.eventType === 'order.shipped') {
    return confirmWarehouseShipment(json.value, quarantine, deps);
  }
  const parsed = parseWith('WMS inventory message', WmsInventoryMessage, json.value);
  if (!parsed.ok) return quarantine('WMS_MESSAGE_INVALID', parsed.error.violations);
  const message = parsed.value;
  if (message.eventType !== 'inventory.received') {
    if (KNOWN_IGNORED.has(message.eventType)) return { kind: 'ignored', eventType: message.eventType };
    return quarantine('WMS_MESSAGE_UNKNOWN_TYPE', [
      {
        path: 'eventType',
        rule: 'enum',
        message: `must be inventory.received or one of ${[...KNOWN_IGNORED].join(', ')} (got ${message.eventType})`,
      },
    ]);
  }
  const receiptId = message.eventId;
  // Checked against the canonical contract here, so a receipt the bus would carry wrongly is quarantined
  // with the WMS field names rather than failing the consumers.
  const detail = parseDetail('inventory.received', {
    schemaVersion: 1,
    orderId: receiptId,
    correlationId: receiptId,
    idempotencyKey: `${receiptId}:inventory:received`,
    occurredAt: new Date(message.occurredAt).toISOString(),
    receiptId,
    sku: message.itemCode,
    siteId: message.facilityCode,
    quantity: message.quantity,
    onHand: message.onHand,
    reserved: message.committed,
  });
  if (!detail.ok) {
    const wmsName: Record<string, string> = {
      sku: 'itemCode',
      siteId: 'facilityCode',
      reserved: 'committed',
    };
    return quarantine(
      'WMS_MESSAGE_INVALID',
      detail.error.violations.map((v) => ({ ...v, path: wmsName[v.path] ?? v.path })),
    );
  }
  // A receipt of an item the ERP does not know would re-evaluate backorders nobody can have.
  if ((await deps.items.unknownSkus([message.itemCode])).length > 0) {
    return quarantine('WMS_MESSAGE_UNKNOWN_ITEM', [
      {
        path: 'itemCode',
        rule: 'knownItem',
        message: `names no item in the ERP item master (${message.itemCode})`,
      },
    ]);
  }
  await deps.events.publish([{ name: 'inventory.received', detail: detail.value }]);
  return { kind: 'announced', receiptId, sku: message.itemCode, siteId: message.facilityCode };
}

/**
 * A WMS ship confirmation becomes `shipment.confirmed` (proof of shipment, which starts invoicing). The
 * shipment id is the WMS's shipment number, so a redelivered confirmation carries the same idempotency key
 * and is recorded and invoiced once; the post-shipment workflow checks it against the order. `partial`
 * says the warehouse order did not ship whole.
 */
async function confirmWarehouseShipment(
  value: unknown,
  quarantine: (reasonCode: string, violations: readonly FieldViolation[]) => Promise<WmsFeedOutcome>,
  deps: WmsFeedDeps,
): Promise<WmsFeedOutcome> {
  const parsed = parseWith('WMS ship confirmation', WmsShipmentMessage, value);
  if (!parsed.ok) return quarantine('WMS_SHIPMENT_INVALID', parsed.error.violations);
  const message = parsed.value;
  const orderId = message.orderReference;
  const shippedAt = new Date(message.occurredAt).toISOString();
  const detail = parseDetail('shipment.confirmed', {
    schemaVersion: 1,
    orderId,
    correlationId: orderId,
    idempotencyKey: idempotencyKey(orderId, 'shipment.confirmed', message.shipmentNumber),
    occurredAt: shippedAt,
    shipmentId: message.shipmentNumber,
    siteId: message.facilityCode,
    carrier: message.carrierCode,
    trackingNumber: message.trackingNumber,
    shippedAt,
    lines: message.lines.map((line) => ({
      lineNo: line.lineNumber,
      sku: line.itemCode,
      quantity: line.quantity,
    })),
    partial: !message.complete,
  });
  if (!detail.ok) {
    const wmsName: Record<string, string> = {
      orderId: 'orderReference',
      siteId: 'facilityCode',
      shipmentId: 'shipmentNumber',
    };
    return quarantine(
      'WMS_SHIPMENT_INVALID',
      detail.error.violations.map((v) => ({
        ...v,
        path:
          wmsName[v.path] ??
          v.path
            .replace(/^lines(\[\d+\]|\.\d+)\.lineNo$/, 'lines$1.lineNumber')
            .replace(/^lines(\[\d+\]|\.\d+)\.sku$/, 'lines$1.itemCode'),
      })),
    );
  }
  await deps.events.publish([{ name: 'shipment.confirmed', detail: detail.value }]);
  return { kind: 'shipped', orderId, shipmentId: message.shipmentNumber };
}
