import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CarrierClient } from '../../../lambdas/adapters/tms/carrier-client.ts';
import type {
  ExceptionRepository,
  OrderRecord,
  OrderRepository,
  OwnedException,
} from '../../../lambdas/ports/index.ts';
import { handleTrackingWebhook } from '../../../lambdas/use-cases/carrier-tracking.ts';
import { PartnerSandbox } from '../../../local/partners/sandbox.ts';
import { seedSandbox } from '../../../local/partners/seed.ts';
import { carrierWebhookCases } from '../../fixtures/hostile/carrier-webhook.ts';
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

/** Idempotent on exception id, as the DynamoDB exception table is. */
class InMemoryExceptions {
  readonly items = new Map<string, OwnedException>();
  async raiseIfAbsent(exception: OwnedException) {
    if (this.items.has(exception.exceptionId)) return { created: false };
    this.items.set(exception.exceptionId, exception);
    return { created: true };
  }
}
let exceptions: InMemoryExceptions;
beforeEach(() => {
  exceptions = new InMemoryExceptions();
});

const deps = () => ({
  orders,
  events,
  clock,
  secret: SECRET,
  exceptions: exceptions as unknown as ExceptionRepository,
});
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

  it('answers a redelivered scan as a duplicate and announces it once', async () => {
    const [pickup] = await bookedAndTracked();
    if (!pickup) throw new Error('no webhook');
    const seen = new Set<string>();
    const deliveries = {
      seen: async (orderId: string, source: string, id: string) => seen.has(`${orderId}|${source}|${id}`),
      record: async (orderId: string, source: string, id: string) => {
        const key = `${orderId}|${source}|${id}`;
        const first = !seen.has(key);
        seen.add(key);
        return { first };
      },
    };
    const request = { rawBody: pickup.body, signature: signatureOf(pickup) };
    const first = await handleTrackingWebhook(request, { ...deps(), deliveries });
    const again = await handleTrackingWebhook(request, { ...deps(), deliveries });
    expect(first.body.outcome).toBe('published');
    expect(again).toMatchObject({ status: 202, body: { outcome: 'duplicate' } });
    expect(events.namesFor('ERP-T-1')).toEqual(['shipment.confirmed']);
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
    expect(wrongSecret.body.violations).toEqual([
      expect.objectContaining({ path: 'headers.x-handoff-signature', rule: 'hmacSha256' }),
    ]);
    // Nothing unauthenticated is kept or published.
    expect(events.all).toHaveLength(0);
    expect(exceptions.items.size).toBe(0);
  });

  it('refuses a shipment Handoff never booked with 422, so the carrier keeps retrying and alerting', async () => {
    const [hook] = await bookedAndTracked();
    if (!hook) throw new Error('no webhook');
    record = { ...record, booking: undefined } as unknown as OrderRecord;
    const answer = await handleTrackingWebhook({ rawBody: hook.body, signature: signatureOf(hook) }, deps());
    expect(answer).toMatchObject({
      status: 422,
      body: {
        outcome: 'unknown-shipment',
        violations: [expect.objectContaining({ path: 'trackingNumber', rule: 'bookedShipment' })],
      },
    });
    // The TMS does not resend a refused webhook: it is kept as integration's exception, with the body.
    const [kept] = [...exceptions.items.values()];
    expect(kept).toMatchObject({
      exceptionId: answer.body.exceptionId,
      type: 'integration-failure',
      ownerTeam: 'integration',
      orderId: 'ERP-T-1',
      reasonCodes: ['TMS_WEBHOOK_UNKNOWN_SHIPMENT'],
      context: { source: 'tms.tracking', payload: hook.body, answeredStatus: 422 },
    });
    expect(events.all.map((e) => e.name)).toEqual(['exception.raised']);
    expect(answer.body.alreadyQuarantined).toBe(false);

    // Sent again, it is recognised as the webhook already kept: the same exception, none raised twice.
    const again = await handleTrackingWebhook({ rawBody: hook.body, signature: signatureOf(hook) }, deps());
    expect(again).toMatchObject({
      status: 422,
      body: { exceptionId: answer.body.exceptionId, alreadyQuarantined: true },
    });
    expect(exceptions.items.size).toBe(1);
    // Announced again under the same key (a retried quarantine re-announces; consumers de-duplicate).
    expect(new Set(events.all.map((e) => `${e.name} ${e.detail.idempotencyKey}`)).size).toBe(1);
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

describe('hostile webhooks: authentic but refused, kept as owned exceptions', () => {
  const sign = (raw: Buffer | string) => `sha256=${createHmac('sha256', SECRET).update(raw).digest('hex')}`;
  const scan = (overrides: Record<string, unknown> = {}) => ({
    eventId: 'TRK-900',
    bookingId: 'BK-900',
    trackingNumber: 'FXNX0000000900',
    scac: 'FXNX',
    shipperReference: 'ERP-T-1',
    shipmentReference: 'ERP-T-1-S1',
    statusCode: 'AF',
    occurredAt: '2026-11-24T09:00:00Z',
    ...overrides,
  });

  async function refused(rawBody: Buffer | string) {
    await bookedAndTracked();
    const answer = await handleTrackingWebhook({ rawBody, signature: sign(rawBody) }, deps());
    const kept = [...exceptions.items.values()];
    expect(kept).toHaveLength(1);
    expect(kept[0]).toMatchObject({
      exceptionId: answer.body.exceptionId,
      type: 'integration-failure',
      ownerTeam: 'integration',
      state: 'open',
      context: { source: 'tms.tracking', answeredStatus: answer.status },
    });
    // Nothing but the exception's announcement: no shipment event.
    expect(events.all.map((e) => e.name)).toEqual(['exception.raised']);
    return { answer, exception: kept[0] as OwnedException };
  }

  it.each([
    ['a body that is not JSON', '{"eventId": "TRK-1", ', '', 'json'],
    [
      'a status code that is not a string',
      JSON.stringify(scan({ statusCode: 5 })),
      'statusCode',
      'type:string',
    ],
    [
      'a missing tracking number',
      JSON.stringify(scan({ trackingNumber: undefined })),
      'trackingNumber',
      'required',
    ],
    [
      'a shipper reference that is no order id',
      JSON.stringify(scan({ shipperReference: 'ERP T\u0000' })),
      'shipperReference',
      'pattern:',
    ],
    [
      'an exception reason with a right-to-left override',
      JSON.stringify(scan({ statusCode: 'SD', exceptionReason: 'WEATHER\u202Eyaled' })),
      'exceptionReason',
      'noBidiControls',
    ],
    ['a SCAC of 41 characters', JSON.stringify(scan({ scac: 'X'.repeat(41) })), 'scac', 'pattern:'],
  ])('%s: 400 naming the field and rule, kept with the body', async (_what, raw, path, rule) => {
    const { answer, exception } = await refused(raw);
    expect(answer.status).toBe(400);
    expect(answer.body.outcome).toBe('malformed');
    expect(answer.body.violations).toContainEqual(
      expect.objectContaining({ path, rule: expect.stringContaining(rule) }),
    );
    expect(exception.context.payload).toBe(raw);
  });

  it('a body that is not UTF-8: 400 utf8, kept base64 as sent', async () => {
    const raw = Buffer.concat([
      Buffer.from('{"eventId":"TRK-'),
      Buffer.from([0xff, 0xfe]),
      Buffer.from('"}'),
    ]);
    const { answer, exception } = await refused(raw);
    expect(answer).toMatchObject({ status: 400, body: { violations: [{ path: '', rule: 'utf8' }] } });
    expect(exception.context).toMatchObject({ payload: raw.toString('base64'), payloadEncoding: 'base64' });
  });

  it('a body over 64 KB: 413 naming the limit, its start kept', async () => {
    const raw = JSON.stringify(scan({ exceptionReason: 'x'.repeat(300 * 1024) }));
    const { answer, exception } = await refused(raw);
    expect(answer).toMatchObject({
      status: 413,
      body: { outcome: 'too-large', violations: [{ path: '', rule: 'maxBytes:65536' }] },
    });
    expect(exception.context).toMatchObject({ payloadTruncated: true, payloadBytes: Buffer.byteLength(raw) });
    expect(String(exception.context.payload)).toHaveLength(64 * 1024);
  });

  it('an order Handoff does not have: 422 knownOrder, filed under the order named', async () => {
    const raw = JSON.stringify(scan({ shipperReference: 'ERP-NOPE-1' }));
    const { answer, exception } = await refused(raw);
    expect(answer).toMatchObject({
      status: 422,
      body: { violations: [{ path: 'shipperReference', rule: 'knownOrder' }] },
    });
    expect(exception.orderId).toBe('ERP-NOPE-1');
  });

  it('the same refused webhook twice is one exception', async () => {
    await bookedAndTracked();
    const raw = '{"eventId": 7}';
    const first = await handleTrackingWebhook({ rawBody: raw, signature: sign(raw) }, deps());
    const second = await handleTrackingWebhook({ rawBody: raw, signature: sign(raw) }, deps());
    expect(second.body.exceptionId).toBe(first.body.exceptionId);
    expect(exceptions.items.size).toBe(1);
  });
});

describe('the hostile webhook corpus (test/fixtures/hostile/carrier-webhook.ts), case by case', () => {
  const hmac = (key: string, raw: Buffer) => `sha256=${createHmac('sha256', key).update(raw).digest('hex')}`;

  it.each(carrierWebhookCases().map((c) => [c.name, c] as const))('%s', async (_name, hostile) => {
    const { input, expect: expected } = hostile;
    const raw = input.base64 ? Buffer.from(input.body, 'base64') : Buffer.from(input.body, 'utf8');
    const signature = {
      valid: hmac(SECRET, raw),
      none: undefined,
      forged: `sha256=${'0'.repeat(64)}`,
      'other-key': hmac('not-the-shared-key', raw),
      'other-body': hmac(SECRET, Buffer.concat([raw, Buffer.from(' ')])),
    }[input.signature];

    const answer = await handleTrackingWebhook({ rawBody: raw, signature }, deps());

    expect(answer.status).toBe(expected.status);
    expect(answer.body.violations).toContainEqual(
      expect.objectContaining({ path: expected.path, rule: expect.stringContaining(expected.rule) }),
    );
    const kept = [...exceptions.items.values()];
    if (!expected.owner) {
      expect(kept).toEqual([]);
      expect(events.all).toEqual([]);
      return;
    }
    expect(kept).toHaveLength(1);
    expect(kept[0]).toMatchObject({ ownerTeam: expected.owner, type: expected.type, state: 'open' });
    expect(events.all.map((e) => e.name)).toEqual(['exception.raised']);
  });
});
