import * as z from 'zod/mini';
import {
  EventFeed,
  fromCents,
  json,
  type PartnerEnvironment,
  problem,
  type Route,
  refuse,
  type SandboxPartner,
  Sequences,
  signWebhook,
  toCents,
  validBody,
} from './framework.ts';

/** The TMS's own service classes; each carrier sells its services under its own codes. */
export type ServiceClass = 'OVERNIGHT' | 'TWO_DAY' | 'GROUND' | 'DEFERRED';

export interface CarrierService {
  readonly code: string;
  readonly serviceClass: ServiceClass;
  /** Business days from pickup to delivery. */
  readonly transitDays: number;
  readonly baseCharge: string;
  readonly perKg: string;
}

/** How a carrier's tracking behaves after booking. */
export type CarrierBehaviour = 'on-time' | 'late' | 'lost-tracking';

export interface Carrier {
  readonly scac: string;
  readonly name: string;
  readonly mode: 'PARCEL' | 'LTL';
  /** Bookings ready after this hour (UTC) are picked up the next business day. */
  readonly cutoffHourUtc: number;
  readonly hazmat: boolean;
  readonly hazmatSurcharge: string;
  readonly maxPieceWeightKg: number;
  /** Longest side a piece may have; longer is oversize for this carrier. */
  readonly maxPieceLengthCm: number;
  readonly services: readonly CarrierService[];
  /** on-time: picked up, in transit, delivered on the promised date; late: a delay notice then delivery
   * `lateByHours` after the promise; lost-tracking: the pickup scan and then silence. */
  behaviour: CarrierBehaviour;
  lateByHours: number;
}

/** X12 214-style shipment status codes the TMS forwards from carriers. */
export const TRACKING_STATUS = {
  AF: 'Carrier departed pick-up location with shipment',
  X6: 'En route to delivery location',
  SD: 'Shipment delayed',
  D1: 'Completed unloading at delivery location',
} as const;
export type TrackingStatusCode = keyof typeof TRACKING_STATUS;

export interface TrackingEventBody {
  readonly eventId: string;
  readonly bookingId: string;
  readonly trackingNumber: string;
  readonly scac: string;
  readonly shipperReference: string;
  readonly shipmentReference: string;
  readonly statusCode: TrackingStatusCode;
  readonly statusDescription: string;
  readonly occurredAt: string;
  readonly location: {
    readonly locationCode?: string;
    readonly postalCode?: string;
    readonly country: string;
  };
  readonly estimatedDeliveryDate?: string;
  readonly proofOfDelivery?: { readonly signedBy: string };
  readonly exceptionReason?: string;
}

/** A webhook the TMS would POST: the raw body exactly as signed, and its headers. */
export interface TrackingWebhook {
  readonly eventId: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export interface TmsBooking {
  readonly bookingId: string;
  readonly scac: string;
  readonly serviceCode: string;
  readonly trackingNumber: string;
  readonly shipperReference: string;
  readonly shipmentReference: string;
  readonly pickupDate: string;
  readonly estimatedDeliveryDate: string;
  readonly charge: { readonly amount: string; readonly currency: string };
  readonly status: 'BOOKED';
  readonly bookedAt: string;
  /** Status codes scheduled for this booking, in order, per the carrier's behaviour at booking time. */
  readonly trackingPlan: readonly TrackingStatusCode[];
}

const Piece = z.object({
  weightKg: z.number().check(z.gt(0)),
  lengthCm: z.number().check(z.gt(0)),
  widthCm: z.number().check(z.gt(0)),
  heightCm: z.number().check(z.gt(0)),
});

const Shipment = {
  origin: z.object({ locationCode: z.string().check(z.minLength(1)), country: z.string() }),
  destination: z.object({ postalCode: z.string().check(z.minLength(1)), country: z.string() }),
  readyAt: z.iso.datetime(),
  pieces: z.array(Piece).check(z.minLength(1)),
  hazmat: z.boolean(),
};

const RateRequest = z.object({
  shipperReference: z.string().check(z.minLength(1)),
  ...Shipment,
  serviceClass: z.optional(z.enum(['OVERNIGHT', 'TWO_DAY', 'GROUND', 'DEFERRED'])),
});

const BookingRequest = z.object({
  shipperReference: z.string().check(z.minLength(1)),
  shipmentReference: z.string().check(z.minLength(1)),
  scac: z.string().check(z.regex(/^[A-Z]{2,4}$/)),
  serviceCode: z.string().check(z.minLength(1)),
  ...Shipment,
});
type ShipmentRequest = z.output<typeof RateRequest> | z.output<typeof BookingRequest>;

const DAY = 86_400_000;
const HOUR = 3_600_000;

function isoDate(t: number): string {
  return new Date(t).toISOString().slice(0, 10);
}

/** Midnight UTC of the next weekday on or after `t`'s day. */
function businessDayOnOrAfter(t: number): number {
  let day = Math.floor(t / DAY) * DAY;
  while ([0, 6].includes(new Date(day).getUTCDay())) day += DAY;
  return day;
}

function addBusinessDays(day: number, n: number): number {
  let d = day;
  for (let left = n; left > 0; ) {
    d += DAY;
    if (![0, 6].includes(new Date(d).getUTCDay())) left -= 1;
  }
  return d;
}

/** Why a carrier cannot take this shipment, or undefined when it can. */
function declineReason(carrier: Carrier, shipment: ShipmentRequest): string | undefined {
  if (shipment.hazmat && !carrier.hazmat) return 'HAZMAT_NOT_ACCEPTED';
  if (shipment.pieces.some((p) => Math.max(p.lengthCm, p.widthCm, p.heightCm) > carrier.maxPieceLengthCm))
    return 'PIECE_TOO_LONG';
  if (shipment.pieces.some((p) => p.weightKg > carrier.maxPieceWeightKg)) return 'PIECE_TOO_HEAVY';
  return undefined;
}

/**
 * The external TMS in front of the carriers: rates per carrier and service with cut-offs and handling
 * restrictions, idempotent bookings, and a tracking feed of signed webhooks-to-be, scheduled on the
 * sandbox clock per the carrier's behaviour knob and collected with `drainWebhooks()`.
 */
export class TmsSandbox implements SandboxPartner {
  readonly name = 'tms' as const;
  readonly carriers = new Map<string, Carrier>();
  readonly bookings: TmsBooking[] = [];
  /** Tracking webhooks; set `webhooks.knobs` for duplicated, late or out-of-order delivery. */
  readonly webhooks: EventFeed<TrackingWebhook>;
  private readonly ids = new Sequences();

  constructor(
    private readonly env: PartnerEnvironment,
    /** The secret tracking webhooks are signed with (the receiver is configured with the same). */
    public webhookSecret: string,
  ) {
    this.webhooks = new EventFeed('tms.webhooks', env);
  }

  readonly routes: readonly Route[] = [
    {
      method: 'POST',
      pattern: '/tms/rates',
      handle: ({ body }) => json(200, this.rate(validBody('TMS rate request', RateRequest, body))),
    },
    {
      method: 'POST',
      pattern: '/tms/bookings',
      idempotent: true,
      handle: ({ body }) => {
        const { trackingPlan: _, ...booking } = this.book(
          validBody('TMS booking request', BookingRequest, body),
        );
        return json(201, booking);
      },
    },
    {
      method: 'GET',
      pattern: '/tms/bookings/:bookingId',
      handle: ({ params }) => {
        const booking = this.bookings.find((b) => b.bookingId === params.bookingId);
        return booking ? json(200, booking) : problem(404, 'not_found', `no booking ${params.bookingId}`);
      },
    },
  ];

  /** Sets how a carrier's shipments track from the next booking on. */
  setBehaviour(scac: string, behaviour: CarrierBehaviour, lateByHours?: number): void {
    const carrier = this.carriers.get(scac);
    if (!carrier) throw new RangeError(`no carrier ${scac} in the TMS`);
    carrier.behaviour = behaviour;
    if (lateByHours !== undefined) carrier.lateByHours = lateByHours;
  }

  /** Tracking webhooks due now on the sandbox clock, with the feed's knobs applied. */
  drainWebhooks(): TrackingWebhook[] {
    return this.webhooks.drain();
  }

  private schedule(carrier: Carrier, service: CarrierService, readyAt: string) {
    const ready = Date.parse(readyAt);
    let pickupDay = businessDayOnOrAfter(ready);
    if (
      pickupDay === Math.floor(ready / DAY) * DAY &&
      new Date(ready).getUTCHours() >= carrier.cutoffHourUtc
    ) {
      pickupDay = businessDayOnOrAfter(pickupDay + DAY);
    }
    const deliveryDay = addBusinessDays(pickupDay, service.transitDays);
    return {
      pickupAt: pickupDay + carrier.cutoffHourUtc * HOUR,
      pickupDate: isoDate(pickupDay),
      deliveryAt: deliveryDay + 14 * HOUR,
      estimatedDeliveryDate: isoDate(deliveryDay),
    };
  }

  private charge(carrier: Carrier, service: CarrierService, shipment: ShipmentRequest): string {
    const weight = shipment.pieces.reduce((sum, p) => sum + p.weightKg, 0);
    const cents =
      toCents(service.baseCharge) +
      Math.round(toCents(service.perKg) * weight) +
      (shipment.hazmat ? toCents(carrier.hazmatSurcharge) : 0);
    return fromCents(cents);
  }

  private rate(request: z.output<typeof RateRequest>) {
    const rates = [];
    const declined = [];
    for (const carrier of this.carriers.values()) {
      const reason = declineReason(carrier, request);
      if (reason) {
        declined.push({ scac: carrier.scac, reasonCode: reason });
        continue;
      }
      for (const service of carrier.services) {
        if (request.serviceClass && service.serviceClass !== request.serviceClass) continue;
        const when = this.schedule(carrier, service, request.readyAt);
        rates.push({
          scac: carrier.scac,
          carrierName: carrier.name,
          mode: carrier.mode,
          serviceCode: service.code,
          serviceClass: service.serviceClass,
          charge: { amount: this.charge(carrier, service, request), currency: 'USD' },
          transitDays: service.transitDays,
          cutoffUtc: `${String(carrier.cutoffHourUtc).padStart(2, '0')}:00`,
          pickupDate: when.pickupDate,
          estimatedDeliveryDate: when.estimatedDeliveryDate,
        });
      }
    }
    rates.sort((a, b) => toCents(a.charge.amount) - toCents(b.charge.amount));
    return { quoteId: this.ids.next('Q-'), rates, declined };
  }

  private book(request: z.output<typeof BookingRequest>): TmsBooking {
    const carrier = this.carriers.get(request.scac);
    const service = carrier?.services.find((s) => s.code === request.serviceCode);
    if (!carrier || !service) {
      refuse(422, 'unknown_service', `carrier ${request.scac} has no service ${request.serviceCode}`);
    }
    const reason = declineReason(carrier, request);
    if (reason) {
      refuse(422, 'shipment_not_accepted', `${carrier.name} cannot carry this shipment: ${reason}`, {
        reasonCode: reason,
      });
    }
    const when = this.schedule(carrier, service, request.readyAt);
    const plan: TrackingStatusCode[] =
      carrier.behaviour === 'lost-tracking'
        ? ['AF']
        : carrier.behaviour === 'late'
          ? ['AF', 'X6', 'SD', 'D1']
          : ['AF', 'X6', 'D1'];
    const booking: TmsBooking = {
      bookingId: this.ids.next('BK-'),
      scac: carrier.scac,
      serviceCode: service.code,
      trackingNumber: this.ids.next(carrier.scac, 10),
      shipperReference: request.shipperReference,
      shipmentReference: request.shipmentReference,
      pickupDate: when.pickupDate,
      estimatedDeliveryDate: when.estimatedDeliveryDate,
      charge: { amount: this.charge(carrier, service, request), currency: 'USD' },
      status: 'BOOKED',
      bookedAt: this.env.clock.now().toISOString(),
      trackingPlan: plan,
    };
    this.bookings.push(booking);

    const lateDeliveryAt = when.deliveryAt + carrier.lateByHours * HOUR;
    const at: Record<TrackingStatusCode, number> = {
      AF: when.pickupAt,
      X6: when.pickupAt + 8 * HOUR,
      SD: when.deliveryAt - 4 * HOUR,
      D1: carrier.behaviour === 'late' ? lateDeliveryAt : when.deliveryAt,
    };
    for (const code of plan) {
      this.emitTracking(booking, code, at[code], request, {
        ...(code === 'SD'
          ? { exceptionReason: 'WEATHER', estimatedDeliveryDate: isoDate(lateDeliveryAt) }
          : {}),
        ...(code === 'D1' ? { proofOfDelivery: { signedBy: 'RECEIVING DOCK' } } : {}),
      });
    }
    return booking;
  }

  private emitTracking(
    booking: TmsBooking,
    statusCode: TrackingStatusCode,
    at: number,
    request: z.output<typeof BookingRequest>,
    extra: Partial<TrackingEventBody>,
  ): void {
    const body: TrackingEventBody = {
      eventId: this.ids.next('TRK-'),
      bookingId: booking.bookingId,
      trackingNumber: booking.trackingNumber,
      scac: booking.scac,
      shipperReference: booking.shipperReference,
      shipmentReference: booking.shipmentReference,
      statusCode,
      statusDescription: TRACKING_STATUS[statusCode],
      occurredAt: new Date(at).toISOString(),
      location:
        statusCode === 'AF'
          ? { locationCode: request.origin.locationCode, country: request.origin.country }
          : { postalCode: request.destination.postalCode, country: request.destination.country },
      ...extra,
    };
    const raw = JSON.stringify(body);
    this.webhooks.emit(
      {
        eventId: body.eventId,
        headers: {
          'content-type': 'application/json',
          'x-tms-event-id': body.eventId,
          'x-handoff-signature': signWebhook(this.webhookSecret, raw),
        },
        body: raw,
      },
      new Date(at),
      `${booking.shipperReference}|${booking.shipmentReference}|${statusCode}|${at}`,
    );
  }

  reset(): void {
    this.carriers.clear();
    this.bookings.length = 0;
    this.webhooks.clear();
    this.ids.reset();
  }
}
