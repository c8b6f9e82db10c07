import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CarrierClient } from '../../../lambdas/adapters/tms/carrier-client.ts';
import type { OrderRecord, OrderRepository } from '../../../lambdas/ports/index.ts';
import { handleTrackingWebhook } from '../../../lambdas/use-cases/carrier-tracking.ts';
import { PartnerSandbox } from '../../../local/partners/sandbox.ts';
import { seedSandbox } from '../../../local/partners/seed.ts';
import { RecordingPublisher } from '../../support/recording-publisher.ts';

/** Real signed webhooks from the TMS sandbox, through the use case, against one booked order. */
const MONDAY_9 = new Date('2026-11-23T09:00:00Z');
const SECRET = 'carrier-webhook-secret-for-tests';
const clock = {
  current: MONDAY_9,
  now() {
    return new Date(this.current);
  },
};
const sandbox = new PartnerSandbox({ clock, webhookSecret: SECRET });
let events: RecordingPublisher;
let record: OrderRecord;
const orders = {
  get: async (orderId: string) => (orderId === record.orderId ? record : undefined),
} as unknown as OrderRepository;

beforeAll(() => sandbox.start());
afterAll(() => sandbox.stop());
beforeEach(() => {
  clock.current = MONDAY_9;
  sandbox.reset();
  seedSandbox(sandbox);
  events = new RecordingPublisher();
});

/** Books order ERP-T-1 with the premium carrier and returns the webhooks the carrier sends by Wednesday. */
async function bookedAndTracked(behaviour: 'on-time' | 'lost-tracking' = 'on-time') {
  sandbox.tms.setBehaviour('FXNX', behaviour);
  const booking = await new CarrierClient({ baseUrl: `${sandbox.baseUrl}/tms`, bearerToken: '' }).book({
    orderId: 'ERP-T-1',
    siteId: 'DC-EAST',
    shipFromCountry: 'US',
    shipTo: { postalCode: '43004', country: 'US' },
    pieces: [{ weightKg: 8, lengthCm: 40, widthCm: 30, heightCm: 30 }],
    hazmat: false,
    readyAt: MONDAY_9.toISOString(),
    shipmentId: 'ERP-T-1-S1',
    carrier: 'FXNX',
    service: 'FX-PRIORITY-OVERNIGHT',
    idempotencyKey: 'ERP-T-1:booking',
  });
  record = {
    orderId: 'ERP-T-1',
    stage: 'released',
    allocation: {
      status: 'full',
      siteId: 'DC-EAST',
      allocated: [{ lineNo: 10, sku: 'WIDGET-100', quantity: 20 }],
      short: [],
    },
    booking: {
      carrier: booking.carrier,
      service: booking.service,
      serviceLevel: 'next-day',
      bookingId: booking.bookingRef,
      trackingNumber: booking.trackingNumber,
      pickupDate: booking.pickupDate,
    },
  } as unknown as OrderRecord;
  clock.current = new Date('2026-11-25T18:00:00Z');
  return sandbox.tms.drainWebhooks();
}

const deps = () => ({ orders, events, clock, secret: SECRET });
const signatureOf = (hook: { headers: Readonly<Record<string, string>> }) =>
  hook.headers['x-handoff-signature'];

describe('carrier tracking webhooks', () => {
  it('turns the pick-up scan into shipment.confirmed and the delivery into shipment.delivered', async () => {
    const hooks = await bookedAndTracked();
    const answers = [];
    for (const hook of hooks) {
      answers.push(await handleTrackingWebhook({ rawBody: hook.body, signature: signatureOf(hook) }, deps()));
    }
    expect(answers.every((a) => a.status === 202)).toBe(true);
    expect(events.namesFor('ERP-T-1')).toEqual(['shipment.confirmed', 'shipment.delivered']);
    expect(events.detailOf('ERP-T-1', 'shipment.confirmed')).toMatchObject({
      shipmentId: 'ERP-T-1-S1',
      siteId: 'DC-EAST',
      carrier: 'FXNX',
      lines: [{ lineNo: 10, sku: 'WIDGET-100', quantity: 20 }],
      partial: false,
    });
  });

  it('refuses a tampered body, a wrong secret and a missing signature with 401, publishing nothing', async () => {
    const [hook] = await bookedAndTracked();
    if (!hook) throw new Error('no webhook');
    const tampered = hook.body.replace('ERP-T-1', 'ERP-T-2');
    for (const request of [
      { rawBody: tampered, signature: signatureOf(hook) },
      { rawBody: hook.body, signature: undefined },
    ]) {
      expect((await handleTrackingWebhook(request, deps())).status).toBe(401);
    }
    const wrongSecret = await handleTrackingWebhook(
      { rawBody: hook.body, signature: signatureOf(hook) },
      { ...deps(), secret: 'another-secret' },
    );
    expect(wrongSecret.status).toBe(401);
    expect(events.all).toHaveLength(0);
  });

  it('refuses a shipment Handoff never booked with 422, so the carrier keeps retrying and alerting', async () => {
    const [hook] = await bookedAndTracked();
    if (!hook) throw new Error('no webhook');
    record = { ...record, booking: undefined } as unknown as OrderRecord;
    const answer = await handleTrackingWebhook({ rawBody: hook.body, signature: signatureOf(hook) }, deps());
    expect(answer).toMatchObject({ status: 422, body: { outcome: 'unknown-shipment' } });
    expect(events.all).toHaveLength(0);
  });

  it('publishes the same idempotency key for a duplicated webhook', async () => {
    const [hook] = await bookedAndTracked();
    if (!hook) throw new Error('no webhook');
    for (let i = 0; i < 2; i++) {
      await handleTrackingWebhook({ rawBody: hook.body, signature: signatureOf(hook) }, deps());
    }
    const keys = events.all.map((e) => e.detail.idempotencyKey);
    expect(keys).toHaveLength(2);
    expect(new Set(keys).size).toBe(1);
  });

  it('sends nothing after pick-up when the carrier loses tracking', async () => {
    const hooks = await bookedAndTracked('lost-tracking');
    for (const hook of hooks) {
      await handleTrackingWebhook({ rawBody: hook.body, signature: signatureOf(hook) }, deps());
    }
    expect(events.namesFor('ERP-T-1')).toEqual(['shipment.confirmed']);
  });
});
