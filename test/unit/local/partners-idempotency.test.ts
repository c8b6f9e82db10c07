import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PartnerSandbox } from '../../../local/partners/sandbox.ts';
import { seedSandbox } from '../../../local/partners/seed.ts';

class TestClock {
  constructor(public current: Date) {}
  now(): Date {
    return new Date(this.current);
  }
  advance(ms: number): void {
    this.current = new Date(this.current.getTime() + ms);
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
  options: { body?: unknown; key?: string; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...options.headers };
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

const clock = new TestClock(new Date('2026-11-23T09:00:00Z'));
const sandbox = new PartnerSandbox({ clock, idempotencyWindowMs: 60 * 60_000 });

beforeAll(() => sandbox.start());
afterAll(() => sandbox.stop());
beforeEach(() => {
  clock.current = new Date('2026-11-23T09:00:00Z');
  sandbox.reset();
  sandbox.credentials.clear();
  seedSandbox(sandbox);
});

const invoice = (overrides: Record<string, unknown> = {}) => ({
  orderId: 'ERP-SO-100001',
  customerId: 'C-1001',
  shipmentId: 'SHP-1',
  currency: 'USD',
  lines: [
    { lineNo: 10, sku: 'WIDGET-100', quantity: 40 },
    { lineNo: 20, sku: 'BOLT-M8', quantity: 500 },
  ],
  ...overrides,
});

describe('partner sandbox idempotency (Stripe-style)', () => {
  it('replays the first answer for the same key and body, flagged idempotent-replayed, acting once', async () => {
    const first = await call(sandbox, 'POST', '/erp/invoices', {
      body: invoice(),
      key: 'ERP-SO-100001:invoice',
    });
    const again = await call(sandbox, 'POST', '/erp/invoices', {
      body: invoice(),
      key: 'ERP-SO-100001:invoice',
    });

    expect(first.status).toBe(201);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toEqual(first.body);
    expect(sandbox.erp.invoices).toHaveLength(1);
  });

  it('treats the same parameters in another key order as the same request', async () => {
    const body = invoice();
    await call(sandbox, 'POST', '/erp/invoices', { body, key: 'k-1' });
    const reordered = Object.fromEntries(Object.entries(body).reverse());
    const again = await call(sandbox, 'POST', '/erp/invoices', { body: reordered, key: 'k-1' });

    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(sandbox.erp.invoices).toHaveLength(1);
  });

  it('answers 422 naming the key and route when a key comes back with a different body, and does nothing', async () => {
    await call(sandbox, 'POST', '/erp/invoices', { body: invoice(), key: 'ERP-SO-100001:invoice' });
    const changed = await call(sandbox, 'POST', '/erp/invoices', {
      body: invoice({ shipmentId: 'SHP-2' }),
      key: 'ERP-SO-100001:invoice',
    });

    expect(changed.status).toBe(422);
    expect(changed.body).toMatchObject({
      code: 'idempotency_key_reused',
      idempotencyKey: 'ERP-SO-100001:invoice',
      firstUsedFor: 'POST /erp/invoices',
    });
    expect(String(changed.body.message)).toContain('different parameters');
    expect(sandbox.erp.invoices).toHaveLength(1);
  });

  it('answers 422 when a key first used on one route is sent to another route of the partner', async () => {
    await call(sandbox, 'POST', '/finance/holds', {
      body: { customerId: 'C-1001', reason: 'review', placedBy: 'ops' },
      key: 'shared-key',
    });
    const other = await call(sandbox, 'POST', '/finance/holds/HLD-000001/release', {
      body: { releasedBy: 'ops', reason: 'ok' },
      key: 'shared-key',
    });

    expect(other.status).toBe(422);
    expect(String(other.body.message)).toContain('first used for POST /finance/holds');
  });

  it('scopes keys per partner: the same key at two partners is two requests', async () => {
    const erp = await call(sandbox, 'POST', '/erp/invoices', { body: invoice(), key: 'ORD-1:stage' });
    const crm = await call(sandbox, 'POST', '/crm/cases', {
      body: {
        AccountNumber: 'C-1001',
        Subject: 'Late',
        Description: '',
        Priority: 'High',
        Type: 'Delivery Issue',
        Origin: 'Handoff',
        OrderReference__c: 'ORD-1',
      },
      key: 'ORD-1:stage',
    });
    expect([erp.status, crm.status]).toEqual([201, 201]);
  });

  it('forgets a key once the window has passed on the sandbox clock, so the request acts again', async () => {
    const first = await call(sandbox, 'POST', '/erp/invoices', { body: invoice(), key: 'k-window' });
    clock.advance(59 * 60_000);
    const within = await call(sandbox, 'POST', '/erp/invoices', { body: invoice(), key: 'k-window' });
    clock.advance(60_000);
    const after = await call(sandbox, 'POST', '/erp/invoices', { body: invoice(), key: 'k-window' });

    expect(within.body.invoiceId).toBe(first.body.invoiceId);
    expect(after.headers.get('idempotent-replayed')).toBeNull();
    expect(after.body.invoiceId).not.toBe(first.body.invoiceId);
    expect(sandbox.erp.invoices).toHaveLength(2);
  });

  it('does not remember refusals: a 409 for lack of stock can be retried with its key once stock arrives', async () => {
    const reservation = {
      orderReference: 'ERP-SO-9',
      facilityCode: 'DC-WEST',
      lines: [{ lineNumber: 1, itemCode: 'PUMP-220', quantity: 20 }],
    };
    const refused = await call(sandbox, 'POST', '/wms/reservations', {
      body: reservation,
      key: 'ERP-SO-9:allocation',
    });
    sandbox.wms.receive('PUMP-220', 'DC-WEST', 30);
    const retried = await call(sandbox, 'POST', '/wms/reservations', {
      body: reservation,
      key: 'ERP-SO-9:allocation',
    });

    expect(refused.status).toBe(409);
    expect(retried.status).toBe(201);
    expect(retried.headers.get('idempotent-replayed')).toBeNull();
  });

  it('replays a snapshot: a hold released later still replays as first placed', async () => {
    const placed = await call(sandbox, 'POST', '/finance/holds', {
      body: { customerId: 'C-1001', reason: 'review', placedBy: 'ops' },
      key: 'ERP-SO-1:credit-hold',
    });
    await call(sandbox, 'POST', `/finance/holds/${String(placed.body.holdId)}/release`, {
      body: { releasedBy: 'ops', reason: 'paid' },
      key: 'ERP-SO-1:credit-release',
    });
    const replay = await call(sandbox, 'POST', '/finance/holds', {
      body: { customerId: 'C-1001', reason: 'review', placedBy: 'ops' },
      key: 'ERP-SO-1:credit-hold',
    });

    expect(replay.body).toMatchObject({ holdId: placed.body.holdId, status: 'ACTIVE' });
  });

  it('acts on every request that carries no key', async () => {
    await call(sandbox, 'POST', '/erp/invoices', { body: invoice() });
    await call(sandbox, 'POST', '/erp/invoices', { body: invoice() });
    expect(sandbox.erp.invoices.map((i) => i.invoiceId)).toEqual(['INV-000001', 'INV-000002']);
  });
});

describe('partner sandbox authentication', () => {
  it('lets any caller in when a partner has no credential configured', async () => {
    const answer = await call(sandbox, 'GET', '/erp/customers/C-1001/credit-segment');
    expect(answer.status).toBe(200);
  });

  it('requires the configured bearer token: 401 with www-authenticate when missing or wrong', async () => {
    sandbox.credentials.set('tms', { bearerToken: 'tms-token-1' });
    const path = '/tms/bookings/BK-000001';

    const missing = await call(sandbox, 'GET', path);
    const wrong = await call(sandbox, 'GET', path, { headers: { authorization: 'Bearer tms-token-2' } });
    const right = await call(sandbox, 'GET', path, { headers: { authorization: 'Bearer tms-token-1' } });

    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toBe('Bearer realm="tms"');
    expect(missing.body).toMatchObject({ code: 'unauthorized' });
    expect(wrong.status).toBe(401);
    expect(right.status).toBe(404);
  });

  it('requires the configured x-api-key, and a bearer token is no substitute', async () => {
    sandbox.credentials.set('finance', { apiKey: 'fin-key' });
    const path = '/finance/customers/C-1001/exposure';

    expect((await call(sandbox, 'GET', path)).status).toBe(401);
    expect((await call(sandbox, 'GET', path, { headers: { authorization: 'Bearer fin-key' } })).status).toBe(
      401,
    );
    expect((await call(sandbox, 'GET', path, { headers: { 'x-api-key': 'fin-keyX' } })).status).toBe(401);
    expect((await call(sandbox, 'GET', path, { headers: { 'x-api-key': 'fin-key' } })).status).toBe(200);
  });

  it('takes credentials from the constructor and keeps them across reset()', async () => {
    const guarded = new PartnerSandbox({ credentials: { crm: { bearerToken: 'crm-secret' } } });
    await guarded.start();
    try {
      seedSandbox(guarded);
      guarded.reset();
      expect((await call(guarded, 'GET', '/crm/cases')).status).toBe(401);
      expect((await call(guarded, 'GET', '/erp/items')).status).toBe(200);
    } finally {
      await guarded.stop();
    }
  });

  it('records refused calls too, so tests can see what a caller sent', async () => {
    sandbox.credentials.set('crm', { bearerToken: 't' });
    await call(sandbox, 'POST', '/crm/notifications', { body: { a: 1 }, key: 'k' });
    expect(sandbox.callsTo('POST', '/crm/notifications')).toEqual([
      { method: 'POST', path: '/crm/notifications', idempotencyKey: 'k', body: { a: 1 } },
    ]);
  });
});
