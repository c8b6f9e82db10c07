import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PartnerSandbox } from '../../../local/partners/sandbox.ts';
import { seedSandbox } from '../../../local/partners/seed.ts';
import type { TrackingEventBody, TrackingWebhook } from '../../../local/partners/tms.ts';

class TestClock {
  constructor(public current: Date) {}
  now(): Date {
    return new Date(this.current);
  }
}

interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Record<string, unknown>;
}

async function call(
  sandbox: PartnerSandbox,
  method: string,
  path: string,
  options: { body?: unknown; key?: string } = {},
): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (options.key) headers['idempotency-key'] = options.key;
  const res = await fetch(`${sandbox.baseUrl}${path}`, {
    method,
    headers,
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : {} };
}

const MONDAY_9 = new Date('2026-11-23T09:00:00Z');
const SECRET = 'whsec-test-1';
const clock = new TestClock(MONDAY_9);
const sandbox = new PartnerSandbox({ clock, webhookSecret: SECRET });

beforeAll(() => sandbox.start());
afterAll(() => sandbox.stop());
beforeEach(() => {
  clock.current = MONDAY_9;
  sandbox.reset();
  seedSandbox(sandbox);
});

const box = { weightKg: 12, lengthCm: 40, widthCm: 30, heightCm: 30 };

function shipment(overrides: Record<string, unknown> = {}) {
  return {
    shipperReference: 'ERP-SO-100001',
    origin: { locationCode: 'DC-EAST', country: 'US' },
    destination: { postalCode: '43004', country: 'US' },
    readyAt: MONDAY_9.toISOString(),
    pieces: [box],
    hazmat: false,
    ...overrides,
  };
}

interface RateRow {
  scac: string;
  serviceCode: string;
  serviceClass: string;
  charge: { amount: string };
  pickupDate: string;
  estimatedDeliveryDate: string;
}

async function rates(overrides: Record<string, unknown> = {}) {
  const answer = await call(sandbox, 'POST', '/tms/rates', { body: shipment(overrides) });
  return {
    status: answer.status,
    rates: answer.body.rates as RateRow[],
    declined: answer.body.declined as { scac: string; reasonCode: string }[],
  };
}

function book(scac: string, serviceCode: string, overrides: Record<string, unknown> = {}, key?: string) {
  return call(sandbox, 'POST', '/tms/bookings', {
    ...(key ? { key } : {}),
    body: { ...shipment(overrides), shipmentReference: 'SHP-1', scac, serviceCode },
  });
}

function at(iso: string): TrackingEventBody[] {
  clock.current = new Date(iso);
  return sandbox.tms
    .drainWebhooks()
    .map((hook: TrackingWebhook) => JSON.parse(hook.body) as TrackingEventBody);
}

describe('TMS sandbox: rates', () => {
  it('rates every service of the four carriers, cheapest first, with pickup and delivery dates', async () => {
    const { rates: rows, declined } = await rates();

    expect(declined).toEqual([]);
    expect(rows.map((r) => [r.scac, r.serviceCode, r.charge.amount])).toEqual([
      ['PCPT', 'PP-SAVER', '12.44'],
      ['PCPT', 'PP-GROUND', '16.40'],
      ['FXNX', 'FX-2DAY', '37.20'],
      ['FXNX', 'FX-PRIORITY-OVERNIGHT', '63.20'],
      ['RDGL', 'RL-ECONOMY', '121.12'],
      ['RDGL', 'RL-STANDARD', '148.84'],
      ['HZMT', 'HZ-STANDARD', '193.92'],
      ['HZMT', 'HZ-EXPEDITE', '271.96'],
    ]);
    expect(rows.find((r) => r.serviceCode === 'FX-PRIORITY-OVERNIGHT')).toMatchObject({
      serviceClass: 'OVERNIGHT',
      pickupDate: '2026-11-23',
      estimatedDeliveryDate: '2026-11-24',
    });
  });

  it('honours each carrier’s cut-off: ready at 17:30 is picked up today only by the 18:00 carrier', async () => {
    const { rates: rows } = await rates({ readyAt: '2026-11-23T17:30:00Z' });
    const pickup = Object.fromEntries(rows.map((r) => [r.scac, r.pickupDate]));
    expect(pickup).toEqual({
      FXNX: '2026-11-23',
      PCPT: '2026-11-24',
      RDGL: '2026-11-24',
      HZMT: '2026-11-24',
    });
  });

  it('rolls a pickup after Friday’s cut-off or on a weekend to Monday and counts business days in transit', async () => {
    const friday = await rates({ readyAt: '2026-11-27T19:00:00Z', serviceClass: 'OVERNIGHT' });
    const saturday = await rates({ readyAt: '2026-11-28T08:00:00Z', serviceClass: 'GROUND' });

    expect(friday.rates.map((r) => [r.scac, r.pickupDate, r.estimatedDeliveryDate])).toEqual([
      ['FXNX', '2026-11-30', '2026-12-01'],
    ]);
    expect(saturday.rates.map((r) => [r.serviceCode, r.pickupDate, r.estimatedDeliveryDate])).toEqual([
      ['PP-GROUND', '2026-11-30', '2026-12-03'],
      ['RL-STANDARD', '2026-11-30', '2026-12-03'],
      ['HZ-STANDARD', '2026-11-30', '2026-12-04'],
    ]);
  });

  it('offers hazmat only to the hazmat carrier, with its surcharge, and says why the others declined', async () => {
    const { rates: rows, declined } = await rates({ hazmat: true });

    expect(rows.map((r) => [r.serviceCode, r.charge.amount])).toEqual([
      ['HZ-STANDARD', '238.92'],
      ['HZ-EXPEDITE', '316.96'],
    ]);
    expect(declined).toEqual([
      { scac: 'FXNX', reasonCode: 'HAZMAT_NOT_ACCEPTED' },
      { scac: 'PCPT', reasonCode: 'HAZMAT_NOT_ACCEPTED' },
      { scac: 'RDGL', reasonCode: 'HAZMAT_NOT_ACCEPTED' },
    ]);
  });

  it('keeps oversize and overweight pieces off the parcel carriers', async () => {
    const long = await rates({ pieces: [{ weightKg: 62, lengthCm: 160, widthCm: 20, heightCm: 20 }] });
    const heavy = await rates({ pieces: [{ weightKg: 118, lengthCm: 120, widthCm: 55, heightCm: 60 }] });

    expect(long.declined).toEqual([
      { scac: 'FXNX', reasonCode: 'PIECE_TOO_LONG' },
      { scac: 'PCPT', reasonCode: 'PIECE_TOO_LONG' },
    ]);
    expect(heavy.declined.map((d) => d.reasonCode)).toEqual(['PIECE_TOO_HEAVY', 'PIECE_TOO_HEAVY']);
    expect(new Set(long.rates.map((r) => r.scac))).toEqual(new Set(['RDGL', 'HZMT']));
  });
});

describe('TMS sandbox: bookings', () => {
  it('books once per idempotency key and answers with booking id, tracking number and dates', async () => {
    const first = await book('FXNX', 'FX-2DAY', {}, 'ERP-SO-100001:shipment');
    const again = await book('FXNX', 'FX-2DAY', {}, 'ERP-SO-100001:shipment');

    expect(first.status).toBe(201);
    expect(first.body).toEqual({
      bookingId: 'BK-000001',
      scac: 'FXNX',
      serviceCode: 'FX-2DAY',
      trackingNumber: 'FXNX0000000001',
      shipperReference: 'ERP-SO-100001',
      shipmentReference: 'SHP-1',
      pickupDate: '2026-11-23',
      estimatedDeliveryDate: '2026-11-25',
      charge: { amount: '37.20', currency: 'USD' },
      status: 'BOOKED',
      bookedAt: '2026-11-23T09:00:00.000Z',
    });
    expect(again.body).toEqual(first.body);
    expect(sandbox.tms.bookings).toHaveLength(1);
    expect(sandbox.tms.webhooks.size).toBe(3);
    expect((await call(sandbox, 'GET', '/tms/bookings/BK-000001')).body).toMatchObject({
      trackingPlan: ['AF', 'X6', 'D1'],
    });
  });

  it('refuses an unknown service and a shipment the carrier cannot carry with 422', async () => {
    const unknown = await book('FXNX', 'FX-TELEPORT');
    const hazmat = await book('FXNX', 'FX-2DAY', { hazmat: true });

    expect(unknown.status).toBe(422);
    expect(unknown.body).toMatchObject({ code: 'unknown_service' });
    expect(hazmat.status).toBe(422);
    expect(hazmat.body).toMatchObject({ code: 'shipment_not_accepted', reasonCode: 'HAZMAT_NOT_ACCEPTED' });
    expect(sandbox.tms.bookings).toHaveLength(0);
  });
});

describe('TMS sandbox: tracking behaviours per carrier', () => {
  it('an on-time carrier scans pickup at cut-off, in transit overnight and delivery on the promised date', async () => {
    await book('FXNX', 'FX-2DAY');

    expect(at('2026-11-23T17:59:59Z')).toEqual([]);
    expect(at('2026-11-23T18:00:00Z')).toEqual([
      expect.objectContaining({
        statusCode: 'AF',
        occurredAt: '2026-11-23T18:00:00.000Z',
        location: { locationCode: 'DC-EAST', country: 'US' },
        trackingNumber: 'FXNX0000000001',
        shipperReference: 'ERP-SO-100001',
        shipmentReference: 'SHP-1',
      }),
    ]);
    expect(at('2026-11-24T02:00:00Z').map((e) => e.statusCode)).toEqual(['X6']);
    expect(at('2026-11-25T14:00:00Z')).toEqual([
      expect.objectContaining({
        statusCode: 'D1',
        occurredAt: '2026-11-25T14:00:00.000Z',
        proofOfDelivery: { signedBy: 'RECEIVING DOCK' },
      }),
    ]);
  });

  it('a late carrier sends a delay notice with a revised date, then delivers lateByHours after the promise', async () => {
    sandbox.tms.setBehaviour('PCPT', 'late', 48);
    await book('PCPT', 'PP-GROUND');

    const scans = at('2026-12-31T00:00:00Z');
    expect(scans.map((e) => [e.statusCode, e.occurredAt])).toEqual([
      ['AF', '2026-11-23T17:00:00.000Z'],
      ['X6', '2026-11-24T01:00:00.000Z'],
      ['SD', '2026-11-26T10:00:00.000Z'],
      ['D1', '2026-11-28T14:00:00.000Z'],
    ]);
    expect(scans[2]).toMatchObject({ exceptionReason: 'WEATHER', estimatedDeliveryDate: '2026-11-28' });
  });

  it('a carrier that loses tracking sends the pickup scan and then nothing, ever', async () => {
    sandbox.tms.setBehaviour('RDGL', 'lost-tracking');
    await book('RDGL', 'RL-STANDARD');

    expect(at('2026-11-23T16:00:00Z').map((e) => e.statusCode)).toEqual(['AF']);
    expect(at('2027-06-01T00:00:00Z')).toEqual([]);
    expect(sandbox.tms.webhooks.size).toBe(0);
  });

  it('signs each webhook body with the configured secret: x-handoff-signature sha256=<hmac hex>', async () => {
    await book('FXNX', 'FX-2DAY');
    clock.current = new Date('2026-11-30T00:00:00Z');
    const hooks = sandbox.tms.drainWebhooks();

    expect(hooks).toHaveLength(3);
    for (const hook of hooks) {
      const expected = createHmac('sha256', SECRET).update(hook.body).digest('hex');
      expect(hook.headers['x-handoff-signature']).toBe(`sha256=${expected}`);
      expect(hook.headers['x-tms-event-id']).toBe(hook.eventId);
    }
  });

  it('only changes behaviour for later bookings and refuses unknown carriers', async () => {
    await book('HZMT', 'HZ-STANDARD');
    sandbox.tms.setBehaviour('HZMT', 'lost-tracking');
    expect(at('2027-01-01T00:00:00Z').map((e) => e.statusCode)).toEqual(['AF', 'X6', 'D1']);
    expect(() => sandbox.tms.setBehaviour('NOPE', 'late')).toThrow('no carrier NOPE');
  });
});
