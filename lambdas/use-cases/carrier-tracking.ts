import { ORDER_ID_PATTERN } from '../../contracts/order.ts';
import { ContractViolation, type FieldViolation } from '../../contracts/validation.ts';
import {
  MAX_TRACKING_WEBHOOK_BYTES,
  type ShipmentEvent,
  trackingEventToShipmentEvent,
  tryParseTrackingWebhook,
  verifyTrackingWebhook,
} from '../adapters/tms/carrier-client.ts';
import type {
  Clock,
  DeliveryLedger,
  EventPublisher,
  ExceptionRepository,
  OrderRepository,
} from '../ports/index.ts';
import { sha256 } from '../shared/ids.ts';
import { quarantineFeedMessage } from './partner-feeds.ts';

export interface TrackingDeps {
  readonly orders: OrderRepository;
  readonly events: EventPublisher;
  readonly clock: Clock;
  /** The shared secret carriers sign webhooks with (from a secret store at deploy time). */
  readonly secret: string;
  /** Where an authentic webhook Handoff refuses is kept: the TMS does not resend what was answered 4xx. */
  readonly exceptions: ExceptionRepository;
  /** Tracking events already acted on: the TMS delivers at least once. */
  readonly deliveries?: DeliveryLedger;
}

/** What the webhook endpoint answers the carrier. */
export interface WebhookAnswer {
  readonly status: 202 | 400 | 401 | 413 | 422;
  readonly body: {
    readonly outcome:
      | 'published'
      | 'duplicate'
      | 'recorded'
      | 'unauthenticated'
      | 'malformed'
      | 'too-large'
      | 'unknown-shipment';
    readonly event?: string;
    readonly message?: string;
    /** Why it was refused: the field (`path`, '' for the whole body) and the rule it breaks. */
    readonly violations?: readonly FieldViolation[];
    /** The owned exception an authentic refused webhook is kept under. */
    readonly exceptionId?: string;
    /** A refused webhook sent again: it is the exception already kept, not a second one. */
    readonly alreadyQuarantined?: boolean;
  };
}

/** The feed name refused webhooks are quarantined under (`handoff:tms.tracking` in the audit trail). */
export const TRACKING_FEED = 'tms.tracking';
/** What is kept of a webhook over the size limit: its start. */
const MAX_KEPT_OVERSIZE_BYTES = 64 * 1024;

/**
 * A carrier's tracking webhook. The signature is checked on the raw bytes before anything else: without a
 * valid one the answer is 401 and nothing is kept or published (an unauthenticated body is not the TMS's, and
 * storing whatever anyone POSTs would be a way to fill the exception table). An authentic body is then held to
 * the TMS contract: over 64 KB (413), not UTF-8, not JSON or not a tracking update (400, every field and
 * rule), or about a shipment Handoff never booked (422). The TMS does not resend what was answered 4xx, so
 * every authentic refusal is also quarantined: an open integration exception keeping the body, filed under
 * the order it names when it names one; nothing else is published for it (no shipment.* event).
 *
 * Accepted: a pick-up scan becomes `shipment.confirmed` (proof of shipment, which starts invoicing) and a
 * delivery `shipment.delivered`. Other scans are acknowledged and left to the carrier record. Duplicated
 * webhooks publish the same idempotency key, which consumers de-duplicate.
 */
export async function handleTrackingWebhook(
  request: { readonly rawBody: string | Buffer; readonly signature: string | undefined },
  deps: TrackingDeps,
): Promise<WebhookAnswer> {
  const bytes = typeof request.rawBody === 'string' ? Buffer.from(request.rawBody, 'utf8') : request.rawBody;
  if (!verifyTrackingWebhook(bytes, request.signature, deps.secret)) {
    return {
      status: 401,
      body: {
        outcome: 'unauthenticated',
        message: 'signature missing or invalid',
        violations: [
          {
            path: 'headers.x-handoff-signature',
            rule: 'hmacSha256',
            message: 'must be sha256=<hex HMAC-SHA256 of the raw body under the shared webhook key>',
          },
        ],
      },
    };
  }
  const refuse = async (
    status: 400 | 413 | 422,
    outcome: 'malformed' | 'too-large' | 'unknown-shipment',
    reasonCode: string,
    violations: readonly FieldViolation[],
    kept: {
      readonly rawBody: string;
      readonly orderId?: string;
      readonly encoding?: 'base64';
      readonly truncatedFrom?: Buffer;
    },
  ): Promise<WebhookAnswer> => {
    const { exceptionId, alreadyQuarantined } = await quarantineFeedMessage(
      {
        feed: TRACKING_FEED,
        rawBody: kept.rawBody,
        reasonCode,
        violations,
        ...(kept.orderId ? { orderId: kept.orderId } : {}),
        recommendedAction: `The TMS's tracking webhook was refused with ${status} and will not be resent: check it with the TMS team, then record the scan on the order by hand or have the TMS send a corrected webhook.`,
        context: {
          answeredStatus: status,
          ...(kept.encoding ? { payloadEncoding: kept.encoding } : {}),
          ...(kept.truncatedFrom
            ? {
                payloadTruncated: true,
                payloadBytes: kept.truncatedFrom.length,
                payloadSha256: sha256(kept.truncatedFrom),
              }
            : {}),
        },
      },
      deps,
    );
    const message = violations
      .slice(0, 5)
      .map((v) => `${v.path || '(body)'} ${v.message} [${v.rule}]`)
      .join('; ');
    return {
      status,
      body: { outcome, message, violations: violations.slice(0, 20), exceptionId, alreadyQuarantined },
    };
  };

  if (bytes.length > MAX_TRACKING_WEBHOOK_BYTES) {
    const violation: FieldViolation = {
      path: '',
      rule: `maxBytes:${MAX_TRACKING_WEBHOOK_BYTES}`,
      message: `is ${bytes.length} bytes, over the limit: a tracking update is under 2 KB; Handoff reads at most 64 KB`,
    };
    // Authentic but absurd: its start is kept (with its real size and digest), not megabytes of it.
    return refuse(413, 'too-large', 'TMS_WEBHOOK_TOO_LARGE', [violation], {
      rawBody: bytes.subarray(0, MAX_KEPT_OVERSIZE_BYTES).toString('utf8'),
      truncatedFrom: bytes,
    });
  }
  let rawBody: string;
  try {
    rawBody = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return refuse(
      400,
      'malformed',
      'TMS_WEBHOOK_INVALID',
      [{ path: '', rule: 'utf8', message: 'is not valid UTF-8' }],
      { rawBody: bytes.toString('base64'), encoding: 'base64' },
    );
  }
  const parsed = tryParseTrackingWebhook(rawBody);
  if (!parsed.ok) {
    return refuse(400, 'malformed', 'TMS_WEBHOOK_INVALID', parsed.violations, {
      rawBody,
      ...orderNamedIn(rawBody),
    });
  }
  const event = parsed.event;
  const record = await deps.orders.get(event.orderId);
  const booking = record?.booking;
  const allocation = record?.allocation;
  if (!record || !booking || !allocation?.siteId || booking.trackingNumber !== event.trackingNumber) {
    const [path, rule, message] = !record
      ? ['shipperReference', 'knownOrder', `names no order in Handoff (${event.orderId})`]
      : ['trackingNumber', 'bookedShipment', `is not a shipment Handoff booked for order ${event.orderId}`];
    return refuse(422, 'unknown-shipment', 'TMS_WEBHOOK_UNKNOWN_SHIPMENT', [{ path, rule, message }], {
      rawBody,
      orderId: event.orderId,
    });
  }
  let shipmentEvent: ShipmentEvent | undefined;
  try {
    shipmentEvent = trackingEventToShipmentEvent(event, {
      orderId: record.orderId,
      shipmentId: event.shipmentId,
      siteId: allocation.siteId,
      lines: allocation.allocated,
      partial: allocation.status === 'partial',
    });
  } catch (error) {
    if (!(error instanceof ContractViolation)) throw error;
    // The scan cannot make a valid shipment event for this booking (e.g. the order's lines do not).
    return refuse(422, 'malformed', 'TMS_WEBHOOK_INVALID', error.violations, {
      rawBody,
      orderId: event.orderId,
    });
  }
  // A redelivered scan is acknowledged and not announced again. Recorded after the publish, so a publish
  // that fails leaves the TMS's retry free to succeed.
  if (deps.deliveries && (await deps.deliveries.seen(record.orderId, 'tms', event.eventId))) {
    return {
      status: 202,
      body: { outcome: 'duplicate', message: `tracking event ${event.eventId} was already received` },
    };
  }
  if (shipmentEvent) await deps.events.publish([shipmentEvent]);
  await deps.deliveries?.record(record.orderId, 'tms', event.eventId, deps.clock.now().toISOString());
  if (!shipmentEvent) return { status: 202, body: { outcome: 'recorded' } };
  return { status: 202, body: { outcome: 'published', event: shipmentEvent.name } };
}

/** The order an unreadable webhook names, when its shipperReference can be read and is an order id. */
function orderNamedIn(rawBody: string): { readonly orderId?: string } {
  try {
    const reference = (JSON.parse(rawBody) as { shipperReference?: unknown } | null)?.shipperReference;
    return typeof reference === 'string' && ORDER_ID_PATTERN.test(reference) ? { orderId: reference } : {};
  } catch {
    return {};
  }
}
