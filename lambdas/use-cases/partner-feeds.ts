import * as z from 'zod/mini';
import { parseDetail } from '../../contracts/events.ts';
import { type FieldViolation, parseWith } from '../../contracts/validation.ts';
import type { Clock, EventPublisher, ExceptionRepository, OwnedException } from '../ports/index.ts';
import { sha256 } from '../shared/ids.ts';
import { addHours, exceptionRaisedEvent } from './exceptions.ts';

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

/** The longest payload an exception keeps verbatim (DynamoDB items stop at 400 KB). */
const MAX_KEPT_PAYLOAD = 64_000;

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
    violations: rejection.violations,
    context: {
      source: rejection.feed,
      payload: rejection.rawBody.slice(0, MAX_KEPT_PAYLOAD),
      payloadBytes: Buffer.byteLength(rejection.rawBody),
      payloadSha256: digest,
    },
    audit: [
      {
        at: occurredAt,
        actor: `handoff:${rejection.feed}`,
        action: 'quarantined',
        why: rejection.violations.map((v) => `${v.path || '(root)'} ${v.rule}`).join('; '),
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

export interface WmsFeedDeps extends FeedQuarantineDeps {}

export type WmsFeedOutcome =
  | { readonly kind: 'announced'; readonly receiptId: string; readonly sku: string; readonly siteId: string }
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
  if (!json) return quarantine('WMS_MESSAGE_NOT_JSON', notJson(rawBody));
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
  await deps.events.publish([{ name: 'inventory.received', detail: detail.value }]);
  return { kind: 'announced', receiptId, sku: message.itemCode, siteId: message.facilityCode };
}
