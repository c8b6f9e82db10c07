import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseDetail } from '../../../contracts/events.ts';
import {
  CarrierClient,
  type CarrierClientConfig,
  type CarrierTrackingEvent,
  parseTrackingWebhook,
  type ShipmentSpec,
  type TrackedShipment,
  trackingEventToShipmentEvent,
  verifyTrackingWebhook,
} from '../../../lambdas/adapters/tms/carrier-client.ts';
import {
  PartnerContractBroken,
  PartnerRejected,
  PartnerUnavailable,
} from '../../../lambdas/shared/errors.ts';
import { PartnerSandbox } from '../../../local/partners/sandbox.ts';
import { seedSandbox } from '../../../local/partners/seed.ts';

class TestClock {
  constructor(public current: Date) {}
  now(): Date {
    return new Date(this.current);
  }
}

const MONDAY_9 = new Date('2026-11-23T09:00:00Z');
const TOKEN = 'tms-token-for-tests';
const SECRET = 'tms-webhook-secret-for-tests';
const clock = new TestClock(MONDAY_9);
const sandbox = new PartnerSandbox({
  clock,
  webhookSecret: SECRET,
  credentials: { tms: { bearerToken: TOKEN } },
});

beforeAll(() => sandbox.start());
afterAll(() => sandbox.stop());
beforeEach(() => {
  clock.current = MONDAY_9;
  sandbox.reset();
  seedSandbox(sandbox);
});

function carriers(overrides: Partial<CarrierClientConfig> = {}): CarrierClient {
  return new CarrierClient({
    baseUrl: `${sandbox.baseUrl}/tms`,
    bearerToken: TOKEN,
    timeoutMs: 1000,
    maxAttempts: 2,
    sleep: async () => {},
    random: () => 0,
    ...overrides,
  });
}

async function failureOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected the call to fail, but it succeeded');
    },
    (error: unknown) => error,
  );
}

const shipment: ShipmentSpec = {
  orderId: 'ERP-SO-100001',
  siteId: 'DC-EAST',
  shipFromCountry: 'US',
  shipTo: { postalCode: '43004', country: 'US' },
  pieces: [{ weightKg: 12, lengthCm: 40, widthCm: 30, heightCm: 30 }],
  hazmat: false,
  readyAt: MONDAY_9.toISOString(),
};

const tracked: TrackedShipment = {
  orderId: 'ERP-SO-100001',
  shipmentId: 'SHP-1',
  siteId: 'DC-EAST',
  lines: [
    { lineNo: 10, sku: 'WIDGET-100', quantity: 40 },
    { lineNo: 20, sku: 'BOLT-M8', quantity: 500 },
  ],
  partial: false,
};

async function bookAndCollect(scac: string, service: string, until: string) {
  await carriers().book({ ...shipment, shipmentId: 'SHP-1', carrier: scac, service, idempotencyKey: 'k' });
  clock.current = new Date(until);
  return sandbox.tms.drainWebhooks();
}

describe('carrier client: rates', () => {
  it('maps TMS rates to canonical service levels and amounts, cheapest first', async () => {
    const quote = await carriers().rate(shipment);

    expect(quote.quoteId).toBe('Q-000001');
    expect(quote.declined).toEqual([]);
    expect(quote.rates.map((r) => [r.carrier, r.service, r.serviceLevel, r.amount])).toEqual([
      ['PCPT', 'PP-SAVER', 'economy', 12.44],
      ['PCPT', 'PP-GROUND', 'standard', 16.4],
      ['FXNX', 'FX-2DAY', 'expedited', 37.2],
      ['FXNX', 'FX-PRIORITY-OVERNIGHT', 'next-day', 63.2],
      ['RDGL', 'RL-ECONOMY', 'economy', 121.12],
      ['RDGL', 'RL-STANDARD', 'standard', 148.84],
      ['HZMT', 'HZ-STANDARD', 'standard', 193.92],
      ['HZMT', 'HZ-EXPEDITE', 'expedited', 271.96],
    ]);
    expect(quote.rates[3]).toEqual({
      carrier: 'FXNX',
      carrierName: 'Falcon Express',
      service: 'FX-PRIORITY-OVERNIGHT',
      serviceLevel: 'next-day',
      mode: 'parcel',
      amount: 63.2,
      currency: 'USD',
      transitDays: 1,
      cutoffHourUtc: 18,
      pickupDate: '2026-11-23',
      estimatedDelivery: '2026-11-24',
    });
  });

  it('asks the TMS for one service level in its own class and sends the shipment in TMS terms', async () => {
    const quote = await carriers().rate({ ...shipment, serviceLevel: 'next-day' });

    expect(quote.rates.map((r) => r.service)).toEqual(['FX-PRIORITY-OVERNIGHT']);
    expect(sandbox.callsTo('POST', '/tms/rates')[0]?.body).toEqual({
      shipperReference: 'ERP-SO-100001',
      origin: { locationCode: 'DC-EAST', country: 'US' },
      destination: { postalCode: '43004', country: 'US' },
      readyAt: '2026-11-23T09:00:00.000Z',
      pieces: [{ weightKg: 12, lengthCm: 40, widthCm: 30, heightCm: 30 }],
      hazmat: false,
      serviceClass: 'OVERNIGHT',
    });
  });

  it('says in canonical terms why carriers declined hazmat and oversize freight', async () => {
    const hazmat = await carriers().rate({ ...shipment, hazmat: true });
    const oversize = await carriers().rate({
      ...shipment,
      pieces: [{ weightKg: 62, lengthCm: 160, widthCm: 20, heightCm: 20 }],
    });
    const heavy = await carriers().rate({
      ...shipment,
      pieces: [{ weightKg: 118, lengthCm: 120, widthCm: 55, heightCm: 60 }],
    });

    expect(hazmat.declined.map((d) => d.reason)).toEqual([
      'hazmat-not-accepted',
      'hazmat-not-accepted',
      'hazmat-not-accepted',
    ]);
    expect(new Set(hazmat.rates.map((r) => r.carrier))).toEqual(new Set(['HZMT']));
    expect(oversize.declined).toEqual([
      { carrier: 'FXNX', reason: 'oversize' },
      { carrier: 'PCPT', reason: 'oversize' },
    ]);
    expect(heavy.declined.map((d) => d.reason)).toEqual(['overweight', 'overweight']);
  });
});

describe('carrier client: bookings', () => {
  it('books with the caller’s idempotency key and bearer credential and maps the booking', async () => {
    const booking = await carriers().book({
      ...shipment,
      shipmentId: 'SHP-1',
      carrier: 'FXNX',
      service: 'FX-2DAY',
      idempotencyKey: 'ERP-SO-100001:shipment-booking',
    });

    expect(booking).toEqual({
      bookingRef: 'BK-000001',
      carrier: 'FXNX',
      service: 'FX-2DAY',
      trackingNumber: 'FXNX0000000001',
      pickupDate: '2026-11-23',
      estimatedDelivery: '2026-11-25',
      amount: 37.2,
      currency: 'USD',
    });
    expect(sandbox.callsTo('POST', '/tms/bookings')).toEqual([
      expect.objectContaining({
        idempotencyKey: 'ERP-SO-100001:shipment-booking',
        body: expect.objectContaining({ shipmentReference: 'SHP-1', scac: 'FXNX', serviceCode: 'FX-2DAY' }),
      }),
    ]);
  });

  it('books once however often the same request is retried with its key', async () => {
    const request = {
      ...shipment,
      shipmentId: 'SHP-1',
      carrier: 'PCPT',
      service: 'PP-GROUND',
      idempotencyKey: 'k-1',
    };
    const first = await carriers().book(request);
    const again = await carriers().book(request);

    expect(again).toEqual(first);
    expect(sandbox.tms.bookings).toHaveLength(1);
  });

  it('a booking whose answer timed out took effect; the retry with the same key gets that booking', async () => {
    sandbox.faults.set('POST /tms/bookings', { latencyMs: 150 });
    const request = {
      ...shipment,
      shipmentId: 'SHP-1',
      carrier: 'FXNX',
      service: 'FX-2DAY',
      idempotencyKey: 'k-2',
    };
    const timedOut = await failureOf(carriers({ timeoutMs: 50, maxAttempts: 1 }).book(request));
    await new Promise((resolve) => setTimeout(resolve, 200));
    sandbox.faults.clear();
    const retried = await carriers().book(request);

    expect(timedOut).toBeInstanceOf(PartnerUnavailable);
    expect(retried.bookingRef).toBe('BK-000001');
    expect(sandbox.tms.bookings).toHaveLength(1);
  });

  it('throws PartnerRejected, without retrying, when the TMS refuses the booking (422)', async () => {
    const error = await failureOf(
      carriers().book({
        ...shipment,
        hazmat: true,
        shipmentId: 'S',
        carrier: 'FXNX',
        service: 'FX-2DAY',
        idempotencyKey: 'k',
      }),
    );

    expect(error).toBeInstanceOf(PartnerRejected);
    expect(error).toMatchObject({ status: 422, retryable: false });
    expect(String((error as Error).message)).toContain('HAZMAT_NOT_ACCEPTED');
    expect(sandbox.callsTo('POST', '/tms/bookings')).toHaveLength(1);
  });

  it('throws PartnerRejected (401) with a wrong credential', async () => {
    const error = await failureOf(carriers({ bearerToken: 'stale-token' }).rate(shipment));
    expect(error).toBeInstanceOf(PartnerRejected);
    expect(error).toMatchObject({ status: 401 });
  });

  it('throws PartnerUnavailable after its attempts when the TMS answers 5xx', async () => {
    sandbox.faults.set('tms', { errorRate: 1, errorStatuses: [503] });
    const error = await failureOf(carriers({ maxAttempts: 3 }).rate(shipment));

    expect(error).toBeInstanceOf(PartnerUnavailable);
    expect(error).toMatchObject({ status: 503, retryable: true });
    expect(sandbox.callsTo('POST', '/tms/rates')).toHaveLength(3);
  });

  it('throws PartnerUnavailable during a TMS outage window', async () => {
    sandbox.faults.set('tms', { outages: [{ from: MONDAY_9, to: '2026-11-23T10:00:00Z' }] });
    expect(await failureOf(carriers().rate(shipment))).toBeInstanceOf(PartnerUnavailable);
  });
});

describe('tracking webhooks: signature', () => {
  it('accepts a webhook exactly as the TMS signed it', async () => {
    const [hook] = await bookAndCollect('FXNX', 'FX-2DAY', '2026-11-23T18:00:00Z');
    if (!hook) throw new Error('no webhook');
    expect(verifyTrackingWebhook(hook.body, hook.headers['x-handoff-signature'], SECRET)).toBe(true);
    expect(verifyTrackingWebhook(Buffer.from(hook.body), hook.headers['x-handoff-signature'], SECRET)).toBe(
      true,
    );
  });

  it('rejects a tampered body, a wrong secret, a missing or malformed header', async () => {
    const [hook] = await bookAndCollect('FXNX', 'FX-2DAY', '2026-11-23T18:00:00Z');
    if (!hook) throw new Error('no webhook');
    const signature = hook.headers['x-handoff-signature'] ?? '';
    const tampered = hook.body.replace('"statusCode":"AF"', '"statusCode":"D1"');

    expect(tampered).not.toBe(hook.body);
    expect(verifyTrackingWebhook(tampered, signature, SECRET)).toBe(false);
    expect(verifyTrackingWebhook(`${hook.body} `, signature, SECRET)).toBe(false);
    expect(verifyTrackingWebhook(hook.body, signature, 'another-secret')).toBe(false);
    expect(verifyTrackingWebhook(hook.body, signature, '')).toBe(false);
    expect(verifyTrackingWebhook(hook.body, undefined, SECRET)).toBe(false);
    expect(verifyTrackingWebhook(hook.body, '', SECRET)).toBe(false);
    expect(verifyTrackingWebhook(hook.body, signature.replace('sha256=', ''), SECRET)).toBe(false);
    expect(verifyTrackingWebhook(hook.body, signature.slice(0, -2), SECRET)).toBe(false);
    expect(verifyTrackingWebhook(hook.body, signature.replace('sha256=', 'sha1='), SECRET)).toBe(false);
  });
});

describe('tracking webhooks: canonical shipment events', () => {
  it('maps pickup to shipment.confirmed and delivery to shipment.delivered, valid against the contracts', async () => {
    const hooks = await bookAndCollect('FXNX', 'FX-2DAY', '2026-11-30T00:00:00Z');
    const scans = hooks.map((h) => parseTrackingWebhook(h.body));
    const events = scans.map((scan) => trackingEventToShipmentEvent(scan, tracked));

    expect(scans.map((s) => [s.carrierStatusCode, s.status])).toEqual([
      ['AF', 'picked-up'],
      ['X6', 'in-transit'],
      ['D1', 'delivered'],
    ]);
    expect(events[0]).toEqual({
      name: 'shipment.confirmed',
      detail: {
        schemaVersion: 1,
        orderId: 'ERP-SO-100001',
        correlationId: 'ERP-SO-100001',
        idempotencyKey: 'ERP-SO-100001:shipment.confirmed:SHP-1',
        occurredAt: '2026-11-23T18:00:00.000Z',
        shipmentId: 'SHP-1',
        siteId: 'DC-EAST',
        carrier: 'FXNX',
        trackingNumber: 'FXNX0000000001',
        shippedAt: '2026-11-23T18:00:00.000Z',
        lines: tracked.lines,
        partial: false,
      },
    });
    expect(events[1]).toBeUndefined();
    expect(events[2]).toEqual({
      name: 'shipment.delivered',
      detail: {
        schemaVersion: 1,
        orderId: 'ERP-SO-100001',
        correlationId: 'ERP-SO-100001',
        idempotencyKey: 'ERP-SO-100001:shipment.delivered:SHP-1',
        occurredAt: '2026-11-25T14:00:00.000Z',
        shipmentId: 'SHP-1',
        deliveredAt: '2026-11-25T14:00:00.000Z',
        proofOfDelivery: 'signed by RECEIVING DOCK',
      },
    });
    for (const event of events) {
      if (event) expect(parseDetail(event.name, event.detail).ok).toBe(true);
    }
  });

  it('gives a late carrier’s delay notice no shipment event, but keeps the revised date on the scan', async () => {
    sandbox.tms.setBehaviour('PCPT', 'late', 48);
    const scans = (await bookAndCollect('PCPT', 'PP-GROUND', '2026-12-31T00:00:00Z')).map((h) =>
      parseTrackingWebhook(h.body),
    );
    const delay = scans.find((s) => s.status === 'exception');

    expect(delay).toMatchObject({
      carrierStatusCode: 'SD',
      revisedEstimatedDelivery: '2026-11-28',
      exceptionReason: 'WEATHER',
    });
    expect(trackingEventToShipmentEvent(delay as CarrierTrackingEvent, tracked)).toBeUndefined();
    expect(scans.map((s) => trackingEventToShipmentEvent(s, tracked)?.name)).toEqual([
      'shipment.confirmed',
      undefined,
      undefined,
      'shipment.delivered',
    ]);
  });

  it('a carrier that loses tracking yields the confirmation and never a delivery', async () => {
    sandbox.tms.setBehaviour('RDGL', 'lost-tracking');
    const hooks = await bookAndCollect('RDGL', 'RL-STANDARD', '2027-03-01T00:00:00Z');
    expect(
      hooks.map((h) => trackingEventToShipmentEvent(parseTrackingWebhook(h.body), tracked)?.name),
    ).toEqual(['shipment.confirmed']);
  });

  it('duplicated webhooks map to events with the same idempotency key, so they collapse downstream', async () => {
    sandbox.tms.webhooks.knobs = { duplicateRate: 1 };
    const hooks = await bookAndCollect('FXNX', 'FX-2DAY', '2026-11-23T18:00:00Z');
    const keys = hooks.map(
      (h) => trackingEventToShipmentEvent(parseTrackingWebhook(h.body), tracked)?.detail.idempotencyKey,
    );
    expect(keys).toEqual([
      'ERP-SO-100001:shipment.confirmed:SHP-1',
      'ERP-SO-100001:shipment.confirmed:SHP-1',
    ]);
  });

  it('treats an unknown status code as unknown, and a body that breaks the contract as PartnerContractBroken', () => {
    const scan = parseTrackingWebhook(
      JSON.stringify({
        eventId: 'E',
        bookingId: 'B',
        trackingNumber: 'T',
        scac: 'FXNX',
        shipperReference: 'ERP-SO-1',
        shipmentReference: 'SHP-1',
        statusCode: 'ZZ',
        occurredAt: '2026-11-23T18:00:00+01:00',
      }),
    );
    expect(scan).toMatchObject({ status: 'unknown', occurredAt: '2026-11-23T17:00:00.000Z' });
    expect(trackingEventToShipmentEvent(scan, tracked)).toBeUndefined();
    expect(() => parseTrackingWebhook('not json')).toThrow(PartnerContractBroken);
    expect(() => parseTrackingWebhook(JSON.stringify({ eventId: 'E', statusCode: 'AF' }))).toThrow(
      PartnerContractBroken,
    );
  });

  it('refuses to build a confirmation with no lines (the contract requires at least one)', async () => {
    const [hook] = await bookAndCollect('FXNX', 'FX-2DAY', '2026-11-23T18:00:00Z');
    if (!hook) throw new Error('no webhook');
    expect(() =>
      trackingEventToShipmentEvent(parseTrackingWebhook(hook.body), { ...tracked, lines: [] }),
    ).toThrow(/lines/);
  });
});
