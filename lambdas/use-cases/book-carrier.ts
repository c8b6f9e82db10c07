import type { CarrierRate, ShipmentSpec } from '../adapters/tms/carrier-client.ts';
import type { ServiceLevel } from '../core/vocabulary.ts';
import type { CarrierPort, Clock, EventPublisher, ItemMasterPort, OrderRepository } from '../ports/index.ts';
import { HandoffError, IllegalStageTransition, OrderNotFound } from '../shared/errors.ts';
import { idempotencyKey } from '../shared/ids.ts';

export interface BookingDeps {
  readonly orders: OrderRepository;
  readonly carrier: CarrierPort;
  readonly items: ItemMasterPort;
  readonly events: EventPublisher;
  readonly clock: Clock;
  /** Where the distributor's facilities are. @default 'US' */
  readonly shipFromCountry?: string;
}

export interface BookingResult {
  readonly carrier: string;
  readonly service: string;
  readonly serviceLevel: ServiceLevel;
  readonly bookingId: string;
  readonly estimatedDelivery: string;
  readonly meetsPromise: boolean;
}

/** No carrier offers a premium service that can take this freight (hazmat, oversize, overweight). */
export class NoPremiumCarrier extends HandoffError {
  override readonly name = 'NoPremiumCarrier';
  readonly retryable = false;
  constructor(
    readonly orderId: string,
    readonly declined: readonly { carrier: string; reason: string }[],
  ) {
    super(
      `no premium carrier can take order ${orderId}: ${declined.map((d) => `${d.carrier} ${d.reason}`).join(', ') || 'no premium service offered'}`,
    );
  }
}

/** Premium service levels a request may be served with, fastest last. */
const PREMIUM: Readonly<Record<ServiceLevel, readonly ServiceLevel[]>> = {
  'next-day': ['next-day'],
  expedited: ['expedited', 'next-day'],
  standard: ['expedited', 'next-day'],
  economy: ['expedited', 'next-day'],
};

/**
 * Chooses among premium rates: first those that deliver by the promise date, then the cheapest, then the
 * earliest delivery. Pure, so the choice is tested on its own.
 */
export function choosePremiumRate(
  rates: readonly CarrierRate[],
  serviceLevel: ServiceLevel,
  promiseDate: string,
): { rate: CarrierRate; meetsPromise: boolean } | undefined {
  const eligible = rates.filter((rate) => PREMIUM[serviceLevel].includes(rate.serviceLevel));
  const ranked = [...eligible].sort((a, b) => {
    const aMeets = a.estimatedDelivery.slice(0, 10) <= promiseDate;
    const bMeets = b.estimatedDelivery.slice(0, 10) <= promiseDate;
    if (aMeets !== bMeets) return aMeets ? -1 : 1;
    if (a.amount !== b.amount) return a.amount - b.amount;
    return a.estimatedDelivery < b.estimatedDelivery ? -1 : a.estimatedDelivery > b.estimatedDelivery ? 1 : 0;
  });
  const [rate] = ranked;
  return rate ? { rate, meetsPromise: rate.estimatedDelivery.slice(0, 10) <= promiseDate } : undefined;
}

/**
 * The expedited path's premium carrier: rates the allocated shipment (weights and dimensions from the item
 * master), books the best premium service with an idempotency key, records the booking on the order and
 * announces shipment.booked. A retried step returns the recorded booking.
 */
export async function bookPremiumCarrier(orderId: string, deps: BookingDeps): Promise<BookingResult> {
  const record = await deps.orders.get(orderId);
  if (!record) throw new OrderNotFound(orderId);
  const recorded = record.booking;
  if (recorded) {
    return {
      carrier: recorded.carrier,
      service: recorded.service,
      serviceLevel: recorded.serviceLevel,
      bookingId: recorded.bookingId,
      estimatedDelivery: recorded.estimatedDelivery ?? '',
      meetsPromise: (recorded.estimatedDelivery ?? '').slice(0, 10) <= record.order.promiseDate,
    };
  }
  const allocation = record.allocation;
  if (record.stage !== 'allocated' || !allocation?.siteId) {
    throw new IllegalStageTransition(orderId, record.stage, 'booked');
  }
  const { order } = record;
  const physicals = await deps.items.getPhysicals(allocation.allocated.map((line) => line.sku));
  const pieces = allocation.allocated.flatMap((line) => {
    const item = physicals.get(line.sku);
    // An item the master does not know ships as a standard carton rather than blocking the expedite.
    const piece = item
      ? { weightKg: item.weightKg, lengthCm: item.lengthCm, widthCm: item.widthCm, heightCm: item.heightCm }
      : { weightKg: 5, lengthCm: 40, widthCm: 30, heightCm: 30 };
    return [{ ...piece, weightKg: Math.round(piece.weightKg * line.quantity * 100) / 100 }];
  });
  const spec: ShipmentSpec = {
    orderId,
    siteId: allocation.siteId,
    shipFromCountry: deps.shipFromCountry ?? 'US',
    shipTo: { postalCode: order.shipTo.postalCode, country: order.shipTo.country },
    pieces,
    hazmat: order.lines.some((line) => line.hazmat === true) || [...physicals.values()].some((i) => i.hazmat),
    readyAt: deps.clock.now().toISOString(),
  };
  const quote = await deps.carrier.rate(spec);
  const choice = choosePremiumRate(quote.rates, order.serviceLevel, order.promiseDate);
  if (!choice) throw new NoPremiumCarrier(orderId, quote.declined);
  const shipmentId = `${orderId}-S1`;
  const booking = await deps.carrier.book({
    ...spec,
    shipmentId,
    carrier: choice.rate.carrier,
    service: choice.rate.service,
    idempotencyKey: idempotencyKey(orderId, 'booking'),
  });
  await deps.orders.annotate(record, {
    booking: {
      carrier: booking.carrier,
      service: booking.service,
      serviceLevel: choice.rate.serviceLevel,
      bookingId: booking.bookingRef,
      trackingNumber: booking.trackingNumber,
      pickupDate: booking.pickupDate,
      estimatedDelivery: booking.estimatedDelivery,
      charge: booking.amount,
    },
  });
  await deps.events.publish([
    {
      name: 'shipment.booked',
      detail: {
        schemaVersion: 1,
        orderId,
        correlationId: orderId,
        idempotencyKey: idempotencyKey(orderId, 'booking'),
        occurredAt: deps.clock.now().toISOString(),
        shipmentId,
        siteId: allocation.siteId,
        carrier: booking.carrier,
        service: booking.service,
        bookingRef: booking.bookingRef,
      },
    },
  ]);
  return {
    carrier: booking.carrier,
    service: booking.service,
    serviceLevel: choice.rate.serviceLevel,
    bookingId: booking.bookingRef,
    estimatedDelivery: booking.estimatedDelivery,
    meetsPromise: choice.meetsPromise,
  };
}
