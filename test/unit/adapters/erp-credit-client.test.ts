import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErpCreditClient } from '../../../lambdas/adapters/erp/credit-client.ts';
import { PartnerClient } from '../../../lambdas/adapters/http/partner-client.ts';
import { PartnerContractBroken, PartnerUnavailable } from '../../../lambdas/shared/errors.ts';
import { sendJson, sendText, TestHttpServer } from '../../support/http-server.ts';
import { type Edits, edited, REMOVE } from '../contracts/payload-edits.ts';

const server = new TestHttpServer();
beforeAll(() => server.start());
afterAll(() => server.stop());

function creditClient(): ErpCreditClient {
  return new ErpCreditClient(
    new PartnerClient({
      partner: 'erp',
      baseUrl: `${server.baseUrl}/sap/opu/odata/credit`,
      timeoutMs: 1000,
      maxAttempts: 2,
      sleep: async () => {},
      random: () => 0,
    }),
  );
}

/** The ERP's FSCM-style credit segment answer, in the ERP's field names. */
function creditSegment(edits: Edits = {}): unknown {
  return edited(
    {
      Customer: '0001000427',
      CreditSegment: '1000',
      CreditLimitAmount: '250000.00',
      ReceivablesAmount: '81234.5600',
      OpenOrdersAmount: '12000.1',
      OverdueAmount: '0.00',
      OldestOverdueDays: 0,
      CreditBlocked: false,
      AccountClosed: false,
      PaymentTerms: 'NET30',
      RiskClass: 'B',
    },
    edits,
  );
}

function answerWith(body: unknown, status = 200): void {
  server.respondWith((_req, res) => sendJson(res, status, body));
}

describe('ERP credit client', () => {
  it('asks for the customer credit segment and maps it to a CreditProfile', async () => {
    answerWith(creditSegment());
    const profile = await creditClient().getCreditProfile('0001000427');
    expect(profile).toEqual({
      customerId: '0001000427',
      accountStatus: 'active',
      creditLimit: 250000,
      openArBalance: 81234.56,
      openOrderValue: 12000.1,
      overdueAmount: 0,
      oldestOverdueDays: 0,
      paymentTerms: 'NET30',
    });
    expect(server.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'GET /sap/opu/odata/credit/customers/0001000427/credit-segment',
    ]);
  });

  it('percent-encodes the customer id into the path', async () => {
    answerWith(creditSegment({ Customer: 'ACME/EU 1' }));
    const profile = await creditClient().getCreditProfile('ACME/EU 1');
    expect(profile?.customerId).toBe('ACME/EU 1');
    expect(server.requests[0]?.path).toBe('/sap/opu/odata/credit/customers/ACME%2FEU%201/credit-segment');
  });

  it('maps a credit block to account status on-hold', async () => {
    answerWith(creditSegment({ CreditBlocked: true, OverdueAmount: '1500.25', OldestOverdueDays: 47 }));
    const profile = await creditClient().getCreditProfile('0001000427');
    expect(profile).toMatchObject({
      accountStatus: 'on-hold',
      overdueAmount: 1500.25,
      oldestOverdueDays: 47,
    });
  });

  it('maps a closed account to closed, even when it is also credit-blocked', async () => {
    answerWith(creditSegment({ AccountClosed: true }));
    expect((await creditClient().getCreditProfile('C'))?.accountStatus).toBe('closed');
    answerWith(creditSegment({ AccountClosed: true, CreditBlocked: true }));
    expect((await creditClient().getCreditProfile('C'))?.accountStatus).toBe('closed');
  });

  it('passes the ERP payment terms through', async () => {
    answerWith(creditSegment({ PaymentTerms: 'CIA' }));
    expect((await creditClient().getCreditProfile('C'))?.paymentTerms).toBe('CIA');
  });

  it('returns undefined when the ERP does not know the customer (404)', async () => {
    server.respondWith((_req, res) => sendJson(res, 404, { error: { code: 'CUSTOMER_NOT_FOUND' } }));
    await expect(creditClient().getCreditProfile('nobody')).resolves.toBeUndefined();
  });

  it.each<[string, Edits, string]>([
    ['an amount with a thousands separator', { CreditLimitAmount: '250,000.00' }, 'CreditLimitAmount'],
    ['an amount sent as a number', { ReceivablesAmount: 81234.56 }, 'ReceivablesAmount'],
    ['an amount with 5 decimals', { OpenOrdersAmount: '1.00001' }, 'OpenOrdersAmount'],
    ['a negative overdue amount', { OverdueAmount: '-5.00' }, 'OverdueAmount'],
    ['a fractional day count', { OldestOverdueDays: 2.5 }, 'OldestOverdueDays'],
    ['a block flag sent as X', { CreditBlocked: 'X' }, 'CreditBlocked'],
    ['a missing closed flag', { AccountClosed: REMOVE }, 'AccountClosed'],
    ['missing payment terms', { PaymentTerms: REMOVE }, 'PaymentTerms'],
  ])('rejects %s as PartnerContractBroken naming the field', async (_label, edits, field) => {
    answerWith(creditSegment(edits));
    const error = await creditClient()
      .getCreditProfile('0001000427')
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(PartnerContractBroken);
    expect(error).toMatchObject({ name: 'PartnerContractBroken', retryable: false, partner: 'erp' });
    expect((error as Error).message).toContain('ERP credit segment is invalid');
    expect((error as Error).message).toContain(field);
  });

  it.each([
    ['an array', []],
    ['a string', 'OK'],
  ])('rejects %s instead of a credit segment as PartnerContractBroken', async (_label, body) => {
    answerWith(body);
    await expect(creditClient().getCreditProfile('C')).rejects.toBeInstanceOf(PartnerContractBroken);
  });

  it('rejects a non-JSON answer as PartnerContractBroken', async () => {
    server.respondWith((_req, res) => sendText(res, 200, 'Service temporarily redirected'));
    await expect(creditClient().getCreditProfile('C')).rejects.toMatchObject({
      name: 'PartnerContractBroken',
    });
  });

  it('lets a persistent ERP outage surface as a retryable PartnerUnavailable', async () => {
    answerWith({ message: 'down' }, 503);
    const error = await creditClient()
      .getCreditProfile('C')
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(PartnerUnavailable);
    expect(error).toMatchObject({ retryable: true, status: 503 });
    expect(server.requests).toHaveLength(2);
  });
});
