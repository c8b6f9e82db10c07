import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { readX12Envelope, x12Interchange } from '../../../local/partners/edi.ts';
import { PartnerSandbox } from '../../../local/partners/sandbox.ts';
import { samplePurchaseOrder850, seedSandbox } from '../../../local/partners/seed.ts';

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
  options: { body?: unknown; key?: string; text?: string; contentType?: string } = {},
): Promise<Answer> {
  const headers: Record<string, string> = {};
  let payload: string | undefined;
  if (options.text !== undefined) {
    payload = options.text;
    headers['content-type'] = options.contentType ?? 'application/edi-x12';
  } else if (options.body !== undefined) {
    payload = JSON.stringify(options.body);
    headers['content-type'] = 'application/json';
  }
  if (options.key) headers['idempotency-key'] = options.key;
  const res = await fetch(`${sandbox.baseUrl}${path}`, {
    method,
    headers,
    ...(payload !== undefined ? { body: payload } : {}),
  });
  const text = await res.text();
  const json = res.headers.get('content-type')?.startsWith('application/json');
  return { status: res.status, headers: res.headers, body: text && json ? JSON.parse(text) : { text } };
}

const START = new Date('2026-11-23T09:00:00Z');
const clock = new TestClock(START);
const sandbox = new PartnerSandbox({ clock });

beforeAll(() => sandbox.start());
afterAll(() => sandbox.stop());
beforeEach(() => {
  clock.current = START;
  sandbox.reset();
  seedSandbox(sandbox);
});

describe('CRM sandbox', () => {
  const notification = (overrides: Record<string, unknown> = {}) => ({
    accountNumber: 'C-1001',
    channel: 'email',
    templateId: 'order-shipped',
    orderReference: 'ERP-SO-1',
    mergeFields: { trackingNumber: 'FXNX0000000001' },
    ...overrides,
  });

  it('queues a notification to the account’s contact point for its channel, once per key', async () => {
    const first = await call(sandbox, 'POST', '/crm/notifications', {
      body: notification(),
      key: 'ERP-SO-1:notify',
    });
    const again = await call(sandbox, 'POST', '/crm/notifications', {
      body: notification(),
      key: 'ERP-SO-1:notify',
    });
    const sms = await call(sandbox, 'POST', '/crm/notifications', { body: notification({ channel: 'sms' }) });
    expect(sms.status).toBe(202);

    expect(first.status).toBe(202);
    expect(first.body).toEqual({ messageId: 'MSG-000001', status: 'queued' });
    expect(again.body).toEqual(first.body);
    expect(sandbox.crm.messages.map((m) => [m.channel, m.recipient])).toEqual([
      ['email', 'purchasing@northwind-hardware.example'],
      ['sms', '+16145550101'],
    ]);
    const listed = await call(sandbox, 'GET', '/crm/notifications?orderReference=ERP-SO-1');
    expect(listed.body.messages).toHaveLength(2);
  });

  it('refuses a channel the account has no contact for, an unknown account, and a bad template id', async () => {
    const noPhone = await call(sandbox, 'POST', '/crm/notifications', {
      body: notification({ accountNumber: 'C-3003', channel: 'sms' }),
    });
    const unknown = await call(sandbox, 'POST', '/crm/notifications', {
      body: notification({ accountNumber: 'X' }),
    });
    const badTemplate = await call(sandbox, 'POST', '/crm/notifications', {
      body: notification({ templateId: 'Order Shipped!' }),
    });

    expect([noPhone.status, noPhone.body.code]).toEqual([422, 'NO_CONTACT_POINT']);
    expect([unknown.status, unknown.body.code]).toEqual([422, 'INVALID_ACCOUNT']);
    expect(badTemplate.status).toBe(400);
    expect(sandbox.crm.messages).toHaveLength(0);
  });

  it('opens a case and answers { id, success, errors } like the CRM’s REST API; GET reads it back', async () => {
    const opened = await call(sandbox, 'POST', '/crm/cases', {
      key: 'ERP-SO-1:case:carrier-failure',
      body: {
        AccountNumber: 'C-2002',
        Subject: 'Shipment ERP-SO-1 lost in transit',
        Description: 'No scan since pickup',
        Priority: 'High',
        Type: 'Delivery Issue',
        Origin: 'Handoff',
        OrderReference__c: 'ERP-SO-1',
      },
    });
    const read = await call(sandbox, 'GET', `/crm/cases/${String(opened.body.id)}`);

    expect(opened.status).toBe(201);
    expect(opened.body).toEqual({ id: '500HND000000001', success: true, errors: [] });
    expect(read.body).toMatchObject({
      CaseNumber: '00000001',
      Status: 'New',
      Priority: 'High',
      OrderReference__c: 'ERP-SO-1',
      CreatedDate: '2026-11-23T09:00:00.000Z',
    });
    expect((await call(sandbox, 'GET', '/crm/cases?orderReference=ERP-SO-1')).body.records).toHaveLength(1);
    expect((await call(sandbox, 'GET', '/crm/cases/500HND999')).status).toBe(404);
  });
});

describe('finance sandbox', () => {
  it('reports exposure: open AR, overdue, unapplied cash, status and active holds', async () => {
    const keyAccount = await call(sandbox, 'GET', '/finance/customers/C-2002/exposure');
    const overdue = await call(sandbox, 'GET', '/finance/customers/C-4004/exposure');
    const closed = await call(sandbox, 'GET', '/finance/customers/C-5005/exposure');

    expect(keyAccount.body).toEqual({
      customerId: 'C-2002',
      currency: 'USD',
      creditLimit: '250000.00',
      openReceivables: '90000.00',
      overdueReceivables: '0.00',
      oldestOverdueDays: 0,
      unappliedCash: '4500.00',
      openOrders: '40000.00',
      paymentTerms: 'NET30',
      accountStatus: 'ACTIVE',
      activeHolds: [],
      asOf: '2026-11-23T09:00:00.000Z',
    });
    expect(overdue.body).toMatchObject({
      overdueReceivables: '2400.00',
      oldestOverdueDays: 47,
      accountStatus: 'ON_HOLD',
      activeHolds: [expect.objectContaining({ holdId: 'HLD-000001' })],
    });
    expect(closed.body.accountStatus).toBe('CLOSED');
    expect((await call(sandbox, 'GET', '/finance/customers/C-9/exposure')).status).toBe(404);
  });

  it('keeps a customer on hold until every hold is released; releasing twice is a 409', async () => {
    const second = await call(sandbox, 'POST', '/finance/holds', {
      key: 'ERP-SO-7:credit-hold',
      body: { customerId: 'C-6006', reason: 'Over limit', orderReference: 'ERP-SO-7', placedBy: 'handoff' },
    });
    const status = async () =>
      (await call(sandbox, 'GET', '/finance/customers/C-6006/exposure')).body.accountStatus;

    expect(second.status).toBe(201);
    expect(second.body).toMatchObject({ holdId: 'HLD-000003', status: 'ACTIVE', orderReference: 'ERP-SO-7' });
    const release = (holdId: string, key: string) =>
      call(sandbox, 'POST', `/finance/holds/${holdId}/release`, {
        key,
        body: { releasedBy: 'ar.manager', reason: 'Replacement funds cleared' },
      });

    expect((await release('HLD-000002', 'r-1')).body).toMatchObject({
      status: 'RELEASED',
      releasedBy: 'ar.manager',
      releasedAt: '2026-11-23T09:00:00.000Z',
    });
    expect(await status()).toBe('ON_HOLD');
    await release('HLD-000003', 'r-2');
    expect(await status()).toBe('ACTIVE');

    const twice = await release('HLD-000003', 'r-3');
    expect(twice.status).toBe(409);
    expect(twice.body.code).toBe('hold_not_active');
    expect((await release('HLD-000003', 'r-2')).status).toBe(200);
    expect((await release('HLD-404', 'r-4')).status).toBe(404);
    const listed = await call(sandbox, 'GET', '/finance/holds?customerId=C-6006&status=RELEASED');
    expect((listed.body.holds as unknown[]).length).toBe(2);
  });

  it('refuses a hold for a customer finance does not know with 404', async () => {
    const answer = await call(sandbox, 'POST', '/finance/holds', {
      body: { customerId: 'C-0', reason: 'x', placedBy: 'y' },
    });
    expect(answer.status).toBe(404);
  });
});

describe('EDI gateway sandbox', () => {
  const asn = (controlNumber = 42) =>
    x12Interchange({
      sender: 'HANDOFFDIST',
      receiver: 'LAKESHOREHC',
      controlNumber,
      functionalId: 'SH',
      transactionSet: '856',
      at: START,
      body: [
        ['BSN', '00', 'SHP-1', '20261123', '0900'],
        ['HL', '1', '', 'S'],
      ],
    });

  it('builds interchanges its own reader accepts, including the sample 850', () => {
    const po = readX12Envelope(samplePurchaseOrder850({ poNumber: 'PO-5531', at: START }));
    expect(po).toEqual({
      ok: true,
      value: {
        sender: 'LAKESHOREHC',
        receiver: 'HANDOFFDIST',
        interchangeControlNumber: '000000001',
        functionalId: 'PO',
        transactionSets: [{ code: '850', controlNumber: '0001' }],
      },
    });
    expect(asn().split('~\n')[0]).toHaveLength(105);
  });

  it('accepts an outbound X12 document with an acceptance id, once per key, and records it', async () => {
    const first = await call(sandbox, 'POST', '/edi/outbound', { text: asn(), key: 'ERP-SO-1:asn' });
    const again = await call(sandbox, 'POST', '/edi/outbound', { text: asn(), key: 'ERP-SO-1:asn' });
    const changed = await call(sandbox, 'POST', '/edi/outbound', { text: asn(43), key: 'ERP-SO-1:asn' });

    expect(first.status).toBe(202);
    expect(first.body).toEqual({
      acceptanceId: 'EDI-ACC-000001',
      sender: 'HANDOFFDIST',
      receiver: 'LAKESHOREHC',
      interchangeControlNumber: '000000042',
      functionalId: 'SH',
      transactionSets: [{ code: '856', controlNumber: '0042' }],
      receivedAt: '2026-11-23T09:00:00.000Z',
      status: 'ACCEPTED',
    });
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(changed.status).toBe(422);
    expect(sandbox.edi.outbound).toHaveLength(1);
    expect(sandbox.callsTo('POST', '/edi/outbound')[0]?.body).toBe(asn());
    const stored = await call(sandbox, 'GET', '/edi/outbound/EDI-ACC-000001');
    expect(stored.headers.get('content-type')).toBe('application/edi-x12');
    expect(stored.body.text).toBe(asn());
  });

  it('refuses a document that is not sent as application/edi-x12 (415) or whose envelope is broken (400)', async () => {
    const json = await call(sandbox, 'POST', '/edi/outbound', { text: asn(), contentType: 'text/plain' });
    const miscounted = await call(sandbox, 'POST', '/edi/outbound', {
      text: asn().replace('SE*4*', 'SE*5*'),
    });
    const truncated = await call(sandbox, 'POST', '/edi/outbound', { text: asn().split('GE*')[0] ?? '' });

    expect(json.status).toBe(415);
    expect(miscounted.status).toBe(400);
    expect(miscounted.body.errors).toEqual(['SE01 says 5 segments, transaction set 0042 has 4']);
    expect(truncated.status).toBe(400);
    expect(truncated.body.errors).toEqual(
      expect.arrayContaining(['interchange does not end with IEA', 'functional group GS/GE missing']),
    );
    expect(sandbox.edi.outbound).toHaveLength(0);
  });

  it('holds inbound 850s in a mailbox the local cloud drains, with the feed knobs applied', () => {
    const first = sandbox.edi.putInbound(samplePurchaseOrder850({ poNumber: 'PO-1', at: START }));
    sandbox.edi.inbound.knobs = { lateRate: 1, lateByMs: 30 * 60_000 };
    sandbox.edi.putInbound(samplePurchaseOrder850({ poNumber: 'PO-2', at: START, controlNumber: 2 }));
    sandbox.edi.putInbound('not x12 at all');

    expect(first).toMatchObject({
      documentId: 'EDI-IN-000001',
      sender: 'LAKESHOREHC',
      transactionSet: '850',
    });
    expect(sandbox.edi.drainInbound().map((d) => d.documentId)).toEqual(['EDI-IN-000001']);
    clock.advance(30 * 60_000);
    const late = sandbox.edi.drainInbound();
    expect(late.map((d) => [d.documentId, d.sender])).toEqual([
      ['EDI-IN-000002', 'LAKESHOREHC'],
      ['EDI-IN-000003', null],
    ]);
    expect(late[0]?.text).toContain('BEG*00*SA*PO-2');
  });
});
