import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ErpInvoiceClient, toErpDecimal } from '../../../lambdas/adapters/erp/invoice-client.ts';
import { PartnerClient } from '../../../lambdas/adapters/http/partner-client.ts';
import { buildInvoice, type Invoice, type InvoiceOrderLine } from '../../../lambdas/core/invoice.ts';
import {
  PartnerContractBroken,
  PartnerRejected,
  PartnerUnavailable,
} from '../../../lambdas/shared/errors.ts';
import { PartnerSandbox } from '../../../local/partners/sandbox.ts';
import { seedSandbox } from '../../../local/partners/seed.ts';
import { sendJson, TestHttpServer } from '../../support/http-server.ts';

const sandbox = new PartnerSandbox();

beforeAll(() => sandbox.start());
afterAll(() => sandbox.stop());
beforeEach(() => {
  sandbox.reset();
  seedSandbox(sandbox);
});

function erpAt(baseUrl: string): ErpInvoiceClient {
  return new ErpInvoiceClient(
    new PartnerClient({
      partner: 'erp',
      baseUrl,
      timeoutMs: 1000,
      maxAttempts: 2,
      sleep: async () => {},
      random: () => 0,
    }),
  );
}

const erp = () => erpAt(`${sandbox.baseUrl}/erp`);

const ORDER_LINES: readonly InvoiceOrderLine[] = [
  { lineNo: 1, sku: 'WIDGET-100', quantity: 10, unitPrice: 12.5 },
  { lineNo: 2, sku: 'BOLT-M8', quantity: 100, unitPrice: 0.42 },
];

/** The canonical invoice of one shipment, built by the core rules as the use case does. */
function invoiceFor(
  options: {
    customerId?: string;
    shipmentId?: string;
    lines?: readonly InvoiceOrderLine[];
    shipped?: { lineNo: number; quantity: number }[];
  } = {},
): Invoice {
  const result = buildInvoice({
    order: {
      orderId: 'ERP-SO-200001',
      customerId: options.customerId ?? 'C-1001',
      currency: 'USD',
      paymentTerms: 'NET30',
      lines: options.lines ?? ORDER_LINES,
    },
    shipment: {
      shipmentId: options.shipmentId ?? 'SHP-1',
      orderId: 'ERP-SO-200001',
      shippedAt: '2025-03-10T14:00:00Z',
      proofOfShipment: { carrier: 'PCPT', trackingNumber: '1Z999AA10123456784' },
      lines: options.shipped ?? [
        { lineNo: 1, quantity: 10 },
        { lineNo: 2, quantity: 100 },
      ],
    },
    alreadyInvoiced: [],
    issuedAt: '2025-03-10T15:00:00Z',
  });
  if (result.kind !== 'invoice') throw new Error('expected a new invoice');
  return result.invoice;
}

async function failureOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected the call to fail, but it succeeded');
    },
    (error: unknown) => error,
  );
}

describe('ERP invoice client: posting', () => {
  it('posts the invoice in ERP terms with the invoice id as Idempotency-Key and maps the answer back', async () => {
    const posted = await erp().postInvoice(invoiceFor());

    expect(sandbox.callsTo('POST', '/erp/invoices')).toEqual([
      {
        method: 'POST',
        path: '/erp/invoices',
        idempotencyKey: 'INV-SHP-1',
        body: {
          orderId: 'ERP-SO-200001',
          customerId: 'C-1001',
          shipmentId: 'SHP-1',
          currency: 'USD',
          lines: [
            { lineNo: 1, sku: 'WIDGET-100', quantity: 10, unitPrice: '12.50' },
            { lineNo: 2, sku: 'BOLT-M8', quantity: 100, unitPrice: '0.42' },
          ],
        },
      },
    ]);
    const [stored] = sandbox.erp.invoices;
    expect(posted).toEqual({
      invoiceId: 'INV-SHP-1',
      erpInvoiceId: stored?.invoiceId,
      amount: 167,
      currency: 'USD',
      postedAt: stored?.postedAt,
      dueDate: stored?.dueDate,
    });
    expect(posted.erpInvoiceId).toMatch(/^INV-/);
  });

  it("raises the customer's receivables in the ERP by the posted amount", async () => {
    const before = Number(sandbox.credit.get('C-1001')?.ReceivablesAmount);
    await erp().postInvoice(invoiceFor());
    expect(Number(sandbox.credit.get('C-1001')?.ReceivablesAmount)).toBeCloseTo(before + 167, 2);
  });

  it("sends the order's unit price, not the item master's list price", async () => {
    const discounted = [{ lineNo: 1, sku: 'WIDGET-100', quantity: 10, unitPrice: 11.75 }];
    const posted = await erp().postInvoice(
      invoiceFor({ lines: discounted, shipped: [{ lineNo: 1, quantity: 4 }] }),
    );
    expect(sandbox.erp.invoices[0]?.lines[0]).toMatchObject({ unitPrice: '11.75', amount: '47.00' });
    expect(posted.amount).toBe(47);
  });

  it('reports the amount the ERP posted when a price has sub-cent digits (the ERP prices to the cent)', async () => {
    const fine = [{ lineNo: 1, sku: 'NUT-M8', quantity: 1000, unitPrice: 0.1234 }];
    const invoice = invoiceFor({ lines: fine, shipped: [{ lineNo: 1, quantity: 1000 }] });
    const posted = await erp().postInvoice(invoice);
    expect(sandbox.callsTo('POST', '/erp/invoices')[0]?.body).toMatchObject({
      lines: [{ unitPrice: '0.1234' }],
    });
    expect(invoice.total).toBe(123.4);
    expect(posted.amount).toBe(120);
  });
});

describe('ERP invoice client: idempotent replay', () => {
  it('a repeated posting of the same invoice is one ERP invoice and the same document number', async () => {
    const invoice = invoiceFor();
    const first = await erp().postInvoice(invoice);
    const again = await erp().postInvoice(invoice);

    expect(again).toEqual(first);
    expect(sandbox.erp.invoices).toHaveLength(1);
    expect(sandbox.callsTo('POST', '/erp/invoices').map((call) => call.idempotencyKey)).toEqual([
      'INV-SHP-1',
      'INV-SHP-1',
    ]);
  });

  it('an answer lost after the ERP committed is recovered by the retry: one invoice, the committed answer', async () => {
    sandbox.faults.set('POST /erp/invoices', { errorRate: 1, errorStatuses: [503], failAfterCommit: true });
    const posted = await erp().postInvoice(invoiceFor());

    expect(sandbox.callsTo('POST', '/erp/invoices')).toHaveLength(2);
    expect(sandbox.erp.invoices).toHaveLength(1);
    expect(posted.erpInvoiceId).toBe(sandbox.erp.invoices[0]?.invoiceId);
  });

  it('each shipment is its own invoice', async () => {
    await erp().postInvoice(invoiceFor({ shipmentId: 'SHP-1', shipped: [{ lineNo: 1, quantity: 4 }] }));
    await erp().postInvoice(invoiceFor({ shipmentId: 'SHP-2', shipped: [{ lineNo: 1, quantity: 6 }] }));
    expect(sandbox.erp.invoices.map((i) => i.shipmentId)).toEqual(['SHP-1', 'SHP-2']);
  });
});

describe('ERP invoice client: refusals and outages', () => {
  it.each([
    ['an unknown customer', 'C-9999', 'unknown_customer'],
    ['a closed account', 'C-5005', 'account_closed'],
  ])('maps a 422 for %s to PartnerRejected', async (_label, customerId, code) => {
    const error = await failureOf(erp().postInvoice(invoiceFor({ customerId })));

    expect(error).toBeInstanceOf(PartnerRejected);
    expect(error).toMatchObject({ name: 'PartnerRejected', partner: 'erp', status: 422, retryable: false });
    expect((error as Error).message).toContain(code);
    expect(sandbox.erp.invoices).toHaveLength(0);
    expect(sandbox.callsTo('POST', '/erp/invoices')).toHaveLength(1);
  });

  it('maps a 422 for an invoice id reused with a different body to PartnerRejected', async () => {
    await erp().postInvoice(invoiceFor({ shipped: [{ lineNo: 1, quantity: 4 }] }));
    const error = await failureOf(erp().postInvoice(invoiceFor({ shipped: [{ lineNo: 1, quantity: 5 }] })));

    expect(error).toMatchObject({ name: 'PartnerRejected', status: 422 });
    expect((error as Error).message).toContain('idempotency_key_reused');
    expect(sandbox.erp.invoices).toHaveLength(1);
  });

  it('retries a 503 once and posts one invoice', async () => {
    sandbox.failNext.set('POST /erp/invoices', 1);
    await erp().postInvoice(invoiceFor());
    expect(sandbox.callsTo('POST', '/erp/invoices')).toHaveLength(2);
    expect(sandbox.erp.invoices).toHaveLength(1);
  });

  it('surfaces a persistent outage as a retryable PartnerUnavailable', async () => {
    sandbox.failNext.set('POST /erp/invoices', 5);
    const error = await failureOf(erp().postInvoice(invoiceFor()));

    expect(error).toBeInstanceOf(PartnerUnavailable);
    expect(error).toMatchObject({ name: 'PartnerUnavailable', retryable: true, status: 503 });
    expect(sandbox.erp.invoices).toHaveLength(0);
  });
});

describe('ERP invoice client: answers of the wrong shape', () => {
  const server = new TestHttpServer();
  beforeAll(() => server.start());
  afterAll(() => server.stop());

  const answer = {
    invoiceId: 'INV-77',
    orderId: 'ERP-SO-200001',
    customerId: 'C-1001',
    shipmentId: 'SHP-1',
    currency: 'USD',
    lines: [{ lineNo: 1, sku: 'WIDGET-100', quantity: 10, unitPrice: '12.50', amount: '125.00' }],
    amount: '167.00',
    postedAt: '2025-03-10T15:00:01.000Z',
    dueDate: '2025-04-09',
    status: 'POSTED',
  };

  it.each<[string, Record<string, unknown>, string]>([
    ['an amount sent as a number', { amount: 167 }, 'amount'],
    ['a status other than POSTED', { status: 'PARKED' }, 'status'],
    ['a missing document number', { invoiceId: undefined }, 'invoiceId'],
  ])('rejects %s as PartnerContractBroken naming the field', async (_label, edits, field) => {
    server.respondWith((_req, res) => sendJson(res, 201, { ...answer, ...edits }));
    const error = await failureOf(erpAt(server.baseUrl).postInvoice(invoiceFor()));

    expect(error).toBeInstanceOf(PartnerContractBroken);
    expect((error as Error).message).toContain('ERP posted invoice is invalid');
    expect((error as Error).message).toContain(field);
  });

  it('rejects an answer about another shipment as PartnerContractBroken', async () => {
    server.respondWith((_req, res) => sendJson(res, 201, { ...answer, shipmentId: 'SHP-9' }));
    const error = await failureOf(erpAt(server.baseUrl).postInvoice(invoiceFor()));

    expect(error).toMatchObject({ name: 'PartnerContractBroken', partner: 'erp' });
    expect((error as Error).message).toContain('SHP-9');
  });
});

describe('toErpDecimal', () => {
  it.each([
    [12.5, '12.50'],
    [3, '3.00'],
    [0.42, '0.42'],
    [1.234, '1.234'],
    [0.0125, '0.0125'],
    [1895, '1895.00'],
  ])('writes %s as %s', (amount, text) => {
    expect(toErpDecimal(amount)).toBe(text);
  });
});
