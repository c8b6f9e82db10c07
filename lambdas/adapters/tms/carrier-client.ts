import { createHmac, timingSafeEqual } from 'node:crypto';
import * as z from 'zod/mini';
import { type EventDetail, parseDetail } from '../../../contracts/events.ts';
import { OrderId } from '../../../contracts/order.ts';
import { safeText } from '../../../contracts/text.ts';
import { ContractViolation, type FieldViolation, parseWith } from '../../../contracts/validation.ts';
import type { ServiceLevel } from '../../../contracts/vocabulary.ts';
import type { CanonicalEvent } from '../../ports/index.ts';
import { PartnerContractBroken } from '../../shared/errors.ts';
import { idempotencyKey } from '../../shared/ids.ts';
import { PartnerClient, type PartnerClientOptions } from '../http/partner-client.ts';

export interface CarrierClientConfig extends Omit<PartnerClientOptions, 'partner' | 'headers'> {
  /** TMS API token, from configuration (a secret), sent as `authorization: Bearer <token>`. */
  readonly bearerToken: string;
}

export interface ShipmentPiece {
  readonly weightKg: number;
  readonly lengthCm: number;
  readonly widthCm: number;
  readonly heightCm: number;
}

/** What a carrier needs to know about one shipment, in Handoff's terms. */
export interface ShipmentSpec {
  readonly orderId: string;
  readonly siteId: string;
  readonly shipFromCountry: string;
  readonly shipTo: { readonly postalCode: string; readonly country: string };
  readonly pieces: readonly ShipmentPiece[];
  readonly hazmat: boolean;
  /** When the goods are ready at the dock (ISO date-time); each carrier's cut-off decides the pickup date. */
  readonly readyAt: string;
}

export interface CarrierRate {
  /** The carrier's SCAC. */
  readonly carrier: string;
  readonly carrierName: string;
  /** The carrier's service code, as it must be booked. */
  readonly service: string;
  readonly serviceLevel: ServiceLevel;
  readonly mode: 'parcel' | 'ltl';
  readonly amount: number;
  readonly currency: string;
  readonly transitDays: number;
  readonly cutoffHourUtc: number;
  readonly pickupDate: string;
  readonly estimatedDelivery: string;
}

export type CarrierDeclineReason = 'hazmat-not-accepted' | 'oversize' | 'overweight' | 'other';

export interface RateShopResult {
  readonly quoteId: string;
  /** Cheapest first. Services whose class Handoff has no service level for are left out. */
  readonly rates: readonly CarrierRate[];
  readonly declined: readonly { readonly carrier: string; readonly reason: CarrierDeclineReason }[];
}

export interface CarrierBooking {
  readonly bookingRef: string;
  readonly carrier: string;
  readonly service: string;
  readonly trackingNumber: string;
  readonly pickupDate: string;
  readonly estimatedDelivery: string;
  readonly amount: number;
  readonly currency: string;
}

/** Canonical tracking status of one carrier scan. */
export type TrackingStatus = 'picked-up' | 'in-transit' | 'delivered' | 'exception' | 'unknown';

/** A carrier tracking webhook, parsed and in Handoff's terms. */
export interface CarrierTrackingEvent {
  readonly eventId: string;
  readonly bookingRef: string;
  readonly trackingNumber: string;
  readonly carrier: string;
  readonly orderId: string;
  readonly shipmentId: string;
  readonly status: TrackingStatus;
  /** The carrier's own status code (X12 214 style), kept for the audit trail. */
  readonly carrierStatusCode: string;
  readonly occurredAt: string;
  readonly revisedEstimatedDelivery?: string;
  readonly signedBy?: string;
  readonly exceptionReason?: string;
}

/** What Handoff knows about a shipment that a carrier scan does not carry. */
export interface TrackedShipment {
  readonly orderId: string;
  readonly shipmentId: string;
  readonly siteId: string;
  readonly lines: readonly { readonly lineNo: number; readonly sku: string; readonly quantity: number }[];
  readonly partial: boolean;
}

export type ShipmentEvent = CanonicalEvent<'shipment.confirmed'> | CanonicalEvent<'shipment.delivered'>;

const SERVICE_LEVEL_BY_CLASS: Readonly<Record<string, ServiceLevel>> = {
  OVERNIGHT: 'next-day',
  TWO_DAY: 'expedited',
  GROUND: 'standard',
  DEFERRED: 'economy',
};
const CLASS_BY_SERVICE_LEVEL: Readonly<Record<ServiceLevel, string>> = {
  'next-day': 'OVERNIGHT',
  expedited: 'TWO_DAY',
  standard: 'GROUND',
  economy: 'DEFERRED',
};
const DECLINE_REASONS: Readonly<Record<string, CarrierDeclineReason>> = {
  HAZMAT_NOT_ACCEPTED: 'hazmat-not-accepted',
  PIECE_TOO_LONG: 'oversize',
  PIECE_TOO_HEAVY: 'overweight',
};

/** X12 214 shipment status codes carriers send, by what they mean for the order. */
const STATUS_BY_CODE: Readonly<Record<string, TrackingStatus>> = {
  AF: 'picked-up', // carrier departed pick-up location with shipment
  CP: 'picked-up', // completed loading at pick-up location
  X6: 'in-transit', // en route to delivery location
  X4: 'in-transit', // arrived at terminal location
  P1: 'in-transit', // departed terminal location
  X1: 'in-transit', // arrived at delivery location
  AG: 'in-transit', // estimated delivery
  D1: 'delivered', // completed unloading at delivery location
  SD: 'exception', // shipment delayed
  A9: 'exception', // shipment damaged
  AP: 'exception', // delivery not completed
  A7: 'exception', // refused by consignee
};

const Decimal = z.string().check(z.regex(/^\d{1,12}(\.\d{1,4})?$/));
const IsoDay = z.iso.date();

const TmsRates = z.looseObject({
  quoteId: z.string().check(z.minLength(1)),
  rates: z.array(
    z.looseObject({
      scac: z.string().check(z.regex(/^[A-Z]{2,4}$/)),
      carrierName: z.string(),
      mode: z.enum(['PARCEL', 'LTL']),
      serviceCode: z.string().check(z.minLength(1)),
      serviceClass: z.string(),
      charge: z.looseObject({ amount: Decimal, currency: z.string().check(z.regex(/^[A-Z]{3}$/)) }),
      transitDays: z.int().check(z.gte(0)),
      cutoffUtc: z.string().check(z.regex(/^([01]\d|2[0-3]):[0-5]\d$/)),
      pickupDate: IsoDay,
      estimatedDeliveryDate: IsoDay,
    }),
  ),
  declined: z.array(z.looseObject({ scac: z.string(), reasonCode: z.string() })),
});

const TmsBooking = z.looseObject({
  bookingId: z.string().check(z.minLength(1)),
  scac: z.string().check(z.minLength(1)),
  serviceCode: z.string().check(z.minLength(1)),
  trackingNumber: z.string().check(z.minLength(1)),
  pickupDate: IsoDay,
  estimatedDeliveryDate: IsoDay,
  charge: z.looseObject({ amount: Decimal, currency: z.string() }),
});

/**
 * The TMS's tracking webhook. Fields it adds beyond these are ignored (a tolerant reader) and never carried on;
 * the ones Handoff uses are held to what they become (the order id it looks up, the shipment id and carrier of
 * shipment.* and their idempotency keys, texts an operator reads), so a hostile body is refused by field and
 * rule before anything is read or published.
 */
const TmsTrackingWebhook = z.looseObject({
  eventId: z.string().check(z.regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,79}$/)),
  bookingId: safeText(80),
  trackingNumber: safeText(80),
  /** SCAC: 2 to 4 letters (digits tolerated). */
  scac: z.string().check(z.regex(/^[A-Z0-9]{2,4}$/)),
  /** The order Handoff booked the shipment for: Handoff's order id. */
  shipperReference: OrderId,
  /** The shipment id Handoff booked under: part of the event's idempotency key. */
  shipmentReference: z.string().check(z.regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$/)),
  statusCode: z.string().check(z.regex(/^[A-Z0-9]{2}$/)),
  occurredAt: z.iso.datetime({ offset: true }),
  estimatedDeliveryDate: z.optional(IsoDay),
  proofOfDelivery: z.optional(z.looseObject({ signedBy: safeText(120) })),
  exceptionReason: z.optional(safeText(500)),
});

/** The largest tracking webhook Handoff reads: one scan is well under 2 KB. */
export const MAX_TRACKING_WEBHOOK_BYTES = 64 * 1024;

function contractOrThrow<S extends z.ZodMiniType>(what: string, schema: S, body: unknown): z.output<S> {
  const parsed = parseWith(what, schema, body);
  if (!parsed.ok) throw new PartnerContractBroken('tms', parsed.error.message);
  return parsed.value;
}

function toTmsShipment(spec: ShipmentSpec) {
  return {
    origin: { locationCode: spec.siteId, country: spec.shipFromCountry },
    destination: { postalCode: spec.shipTo.postalCode, country: spec.shipTo.country },
    readyAt: spec.readyAt,
    pieces: spec.pieces.map((p) => ({
      weightKg: p.weightKg,
      lengthCm: p.lengthCm,
      widthCm: p.widthCm,
      heightCm: p.heightCm,
    })),
    hazmat: spec.hazmat,
  };
}

/**
 * TMS adapter: rate shopping across carriers and idempotent bookings, in canonical terms. Carrier service
 * classes map to Handoff service levels here and nowhere else.
 */
export class CarrierClient {
  private readonly http: PartnerClient;

  constructor(config: CarrierClientConfig) {
    const { bearerToken, ...options } = config;
    this.http = new PartnerClient({
      ...options,
      partner: 'tms',
      headers: { authorization: `Bearer ${bearerToken}` },
    });
  }

  async rate(query: ShipmentSpec & { readonly serviceLevel?: ServiceLevel }): Promise<RateShopResult> {
    const body = await this.http.request({
      method: 'POST',
      path: '/rates',
      body: {
        shipperReference: query.orderId,
        ...toTmsShipment(query),
        ...(query.serviceLevel ? { serviceClass: CLASS_BY_SERVICE_LEVEL[query.serviceLevel] } : {}),
      },
    });
    const answer = contractOrThrow('TMS rates', TmsRates, body);
    const rates = answer.rates.flatMap((rate): CarrierRate[] => {
      const serviceLevel = SERVICE_LEVEL_BY_CLASS[rate.serviceClass];
      if (!serviceLevel) return [];
      return [
        {
          carrier: rate.scac,
          carrierName: rate.carrierName,
          service: rate.serviceCode,
          serviceLevel,
          mode: rate.mode === 'LTL' ? 'ltl' : 'parcel',
          amount: Number(rate.charge.amount),
          currency: rate.charge.currency,
          transitDays: rate.transitDays,
          cutoffHourUtc: Number(rate.cutoffUtc.slice(0, 2)),
          pickupDate: rate.pickupDate,
          estimatedDelivery: rate.estimatedDeliveryDate,
        },
      ];
    });
    return {
      quoteId: answer.quoteId,
      rates: rates.sort((a, b) => a.amount - b.amount),
      declined: answer.declined.map((d) => ({
        carrier: d.scac,
        reason: DECLINE_REASONS[d.reasonCode] ?? 'other',
      })),
    };
  }

  /** Books a rated service. `idempotencyKey` comes from the caller (order id + stage), so a retry books once. */
  async book(
    request: ShipmentSpec & {
      readonly shipmentId: string;
      readonly carrier: string;
      readonly service: string;
      readonly idempotencyKey: string;
    },
  ): Promise<CarrierBooking> {
    const body = await this.http.request({
      method: 'POST',
      path: '/bookings',
      idempotencyKey: request.idempotencyKey,
      body: {
        shipperReference: request.orderId,
        shipmentReference: request.shipmentId,
        scac: request.carrier,
        serviceCode: request.service,
        ...toTmsShipment(request),
      },
    });
    const booking = contractOrThrow('TMS booking', TmsBooking, body);
    return {
      bookingRef: booking.bookingId,
      carrier: booking.scac,
      service: booking.serviceCode,
      trackingNumber: booking.trackingNumber,
      pickupDate: booking.pickupDate,
      estimatedDelivery: booking.estimatedDeliveryDate,
      amount: Number(booking.charge.amount),
      currency: booking.charge.currency,
    };
  }
}

/**
 * True only when `signatureHeader` is `sha256=<hex>` and the hex is the HMAC-SHA256 of the raw body under
 * `secret`. Compared in constant time; verify before parsing, on the bytes exactly as received.
 */
export function verifyTrackingWebhook(
  rawBody: string | Buffer,
  signatureHeader: string | undefined,
  secret: string,
): boolean {
  const match = /^sha256=([0-9a-f]{64})$/i.exec(signatureHeader?.trim() ?? '');
  if (!match?.[1] || secret === '') return false;
  const expected = createHmac('sha256', secret).update(rawBody).digest();
  const presented = Buffer.from(match[1], 'hex');
  return presented.length === expected.length && timingSafeEqual(presented, expected);
}

/** Parses a (verified) tracking webhook body; a body that breaks the TMS contract is PartnerContractBroken. */
export function parseTrackingWebhook(rawBody: string | Buffer): CarrierTrackingEvent {
  const parsed = tryParseTrackingWebhook(rawBody.toString());
  if (!parsed.ok) {
    if (parsed.violations[0]?.rule === 'json') {
      throw new PartnerContractBroken('tms', 'tracking webhook body is not JSON');
    }
    throw new PartnerContractBroken(
      'tms',
      new ContractViolation('TMS tracking webhook', parsed.violations).message,
    );
  }
  return parsed.event;
}

/**
 * A (verified) tracking webhook body checked against the TMS contract, keeping every field violation (path
 * and rule) for the answer to the TMS and the quarantine; `parseTrackingWebhook` throws instead.
 */
export function tryParseTrackingWebhook(
  rawBody: string,
):
  | { readonly ok: true; readonly event: CarrierTrackingEvent }
  | { readonly ok: false; readonly violations: readonly FieldViolation[] } {
  let json: unknown;
  try {
    json = JSON.parse(rawBody);
  } catch (error) {
    const reason = error instanceof Error ? error.message : 'unparseable';
    return { ok: false, violations: [{ path: '', rule: 'json', message: `is not valid JSON (${reason})` }] };
  }
  const parsed = parseWith('TMS tracking webhook', TmsTrackingWebhook, json);
  if (!parsed.ok) return { ok: false, violations: parsed.error.violations };
  const hook = parsed.value;
  return {
    ok: true,
    event: {
      eventId: hook.eventId,
      bookingRef: hook.bookingId,
      trackingNumber: hook.trackingNumber,
      carrier: hook.scac,
      orderId: hook.shipperReference,
      shipmentId: hook.shipmentReference,
      status: STATUS_BY_CODE[hook.statusCode] ?? 'unknown',
      carrierStatusCode: hook.statusCode,
      occurredAt: new Date(hook.occurredAt).toISOString(),
      ...(hook.estimatedDeliveryDate ? { revisedEstimatedDelivery: hook.estimatedDeliveryDate } : {}),
      ...(hook.proofOfDelivery ? { signedBy: hook.proofOfDelivery.signedBy } : {}),
      ...(hook.exceptionReason ? { exceptionReason: hook.exceptionReason } : {}),
    },
  };
}

/**
 * The canonical event a carrier scan means: picked up → `shipment.confirmed` (proof of shipment), delivered
 * → `shipment.delivered`. In-transit scans, exceptions and unknown codes have no shipment event (undefined):
 * the caller records them, and exceptions feed the carrier-failure queue. The idempotency key is per order,
 * shipment and event, so duplicated webhooks and repeated scans of the same milestone collapse downstream.
 * Throws ContractViolation when `shipment` cannot make a valid event (e.g. no lines).
 */
export function trackingEventToShipmentEvent(
  event: CarrierTrackingEvent,
  shipment: TrackedShipment,
): ShipmentEvent | undefined {
  const envelope = (name: string) => ({
    schemaVersion: 1 as const,
    orderId: shipment.orderId,
    correlationId: shipment.orderId,
    idempotencyKey: idempotencyKey(shipment.orderId, name, shipment.shipmentId),
    occurredAt: event.occurredAt,
  });
  if (event.status === 'picked-up') {
    const detail: EventDetail<'shipment.confirmed'> = {
      ...envelope('shipment.confirmed'),
      shipmentId: shipment.shipmentId,
      siteId: shipment.siteId,
      carrier: event.carrier,
      trackingNumber: event.trackingNumber,
      shippedAt: event.occurredAt,
      lines: shipment.lines.map(({ lineNo, sku, quantity }) => ({ lineNo, sku, quantity })),
      partial: shipment.partial,
    };
    const parsed = parseDetail('shipment.confirmed', detail);
    if (!parsed.ok) throw parsed.error;
    return { name: 'shipment.confirmed', detail: parsed.value };
  }
  if (event.status === 'delivered') {
    const detail: EventDetail<'shipment.delivered'> = {
      ...envelope('shipment.delivered'),
      shipmentId: shipment.shipmentId,
      deliveredAt: event.occurredAt,
      ...(event.signedBy ? { proofOfDelivery: `signed by ${event.signedBy}` } : {}),
    };
    const parsed = parseDetail('shipment.delivered', detail);
    if (!parsed.ok) throw parsed.error;
    return { name: 'shipment.delivered', detail: parsed.value };
  }
  return undefined;
}
