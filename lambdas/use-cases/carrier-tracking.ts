import {
  type CarrierTrackingEvent,
  parseTrackingWebhook,
  trackingEventToShipmentEvent,
  verifyTrackingWebhook,
} from '../adapters/tms/carrier-client.ts';
import type { Clock, EventPublisher, OrderRepository } from '../ports/index.ts';
import { PartnerContractBroken } from '../shared/errors.ts';

export interface TrackingDeps {
  readonly orders: OrderRepository;
  readonly events: EventPublisher;
  readonly clock: Clock;
  /** The shared secret carriers sign webhooks with (from a secret store at deploy time). */
  readonly secret: string;
}

/** What the webhook endpoint answers the carrier. */
export interface WebhookAnswer {
  readonly status: 202 | 400 | 401 | 422;
  readonly body: {
    readonly outcome: 'published' | 'recorded' | 'unauthenticated' | 'malformed' | 'unknown-shipment';
    readonly event?: string;
    readonly message?: string;
  };
}

/**
 * A carrier's tracking webhook: the signature is checked on the raw bytes before anything is parsed
 * (401 otherwise, nothing done); a pick-up scan becomes `shipment.confirmed` (proof of shipment, which starts
 * invoicing) and a delivery `shipment.delivered`. Other scans are acknowledged and left to the carrier
 * record. A shipment Handoff never booked is refused with 422, so the carrier's retries and alerts take over
 * rather than the event vanishing. Duplicated webhooks publish the same idempotency key, which consumers
 * de-duplicate.
 */
export async function handleTrackingWebhook(
  request: { readonly rawBody: string; readonly signature: string | undefined },
  deps: TrackingDeps,
): Promise<WebhookAnswer> {
  if (!verifyTrackingWebhook(request.rawBody, request.signature, deps.secret)) {
    return { status: 401, body: { outcome: 'unauthenticated', message: 'signature missing or invalid' } };
  }
  let event: CarrierTrackingEvent;
  try {
    event = parseTrackingWebhook(request.rawBody);
  } catch (error) {
    if (error instanceof PartnerContractBroken) {
      return { status: 400, body: { outcome: 'malformed', message: error.message } };
    }
    throw error;
  }
  const record = await deps.orders.get(event.orderId);
  const booking = record?.booking;
  const allocation = record?.allocation;
  if (!record || !booking || !allocation?.siteId || booking.trackingNumber !== event.trackingNumber) {
    return {
      status: 422,
      body: {
        outcome: 'unknown-shipment',
        message: `no booking of order ${event.orderId} with tracking number ${event.trackingNumber}`,
      },
    };
  }
  const shipmentEvent = trackingEventToShipmentEvent(event, {
    orderId: record.orderId,
    shipmentId: event.shipmentId,
    siteId: allocation.siteId,
    lines: allocation.allocated,
    partial: allocation.status === 'partial',
  });
  if (!shipmentEvent) return { status: 202, body: { outcome: 'recorded' } };
  await deps.events.publish([shipmentEvent]);
  return { status: 202, body: { outcome: 'published', event: shipmentEvent.name } };
}
