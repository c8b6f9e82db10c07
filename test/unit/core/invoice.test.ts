import { describe, expect, it } from 'vitest';
import { DomainError } from '../../../lambdas/core/errors.ts';
import {
  type BuildInvoiceInput,
  type BuildInvoiceResult,
  buildInvoice,
  InvalidInvoiceInput,
  type Invoice,
  type InvoiceOrder,
  invoiceIdFor,
  invoicingStatus,
  LineNotOnOrder,
  OverInvoicing,
  ProofOfShipmentMissing,
  type ShipmentConfirmation,
  ShipmentOrderMismatch,
} from '../../../lambdas/core/invoice.ts';
import { orderValue } from '../../../lambdas/core/money.ts';

const ISSUED_AT = '2025-03-10T15:00:00Z';

/** Two lines: 10 x 12.50 and 4 x 7.25 = 154.00 before tax, NET30, no tax. */
function order(overrides: Partial<InvoiceOrder> = {}): InvoiceOrder {
  return {
    orderId: 'ORD-1',
    customerId: 'CUST-1',
    currency: 'USD',
    paymentTerms: 'NET30',
    lines: [
      { lineNo: 1, sku: 'SKU-A', quantity: 10, unitPrice: 12.5 },
      { lineNo: 2, sku: 'SKU-B', quantity: 4, unitPrice: 7.25 },
    ],
    ...overrides,
  };
}

/** The whole order in one shipment, with proof. */
function shipment(overrides: Partial<ShipmentConfirmation> = {}): ShipmentConfirmation {
  return {
    shipmentId: 'SHP-1',
    orderId: 'ORD-1',
    shippedAt: '2025-03-10T09:00:00Z',
    proofOfShipment: { carrier: 'UPS', trackingNumber: '1Z999AA10123456784' },
    lines: [
      { lineNo: 1, quantity: 10 },
      { lineNo: 2, quantity: 4 },
    ],
    ...overrides,
  };
}

function input(overrides: Partial<BuildInvoiceInput> = {}): BuildInvoiceInput {
  return { order: order(), shipment: shipment(), alreadyInvoiced: [], issuedAt: ISSUED_AT, ...overrides };
}

function invoiceOf(result: BuildInvoiceResult): Invoice {
  if (result.kind !== 'invoice') throw new Error(`expected an invoice, got ${result.kind}`);
  return result.invoice;
}

function captureError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to throw');
}

describe('buildInvoice: a full shipment', () => {
  it('invoices every shipped line with amounts, totals and an id derived from the shipment', () => {
    const result = buildInvoice(input());
    expect(result).toEqual({
      kind: 'invoice',
      invoice: {
        invoiceId: 'INV-SHP-1',
        idempotencyKey: 'INV-SHP-1',
        orderId: 'ORD-1',
        customerId: 'CUST-1',
        shipmentId: 'SHP-1',
        shippedAt: '2025-03-10T09:00:00.000Z',
        proofOfShipment: { carrier: 'UPS', trackingNumber: '1Z999AA10123456784' },
        currency: 'USD',
        paymentTerms: 'NET30',
        taxRatePct: 0,
        lines: [
          { lineNo: 1, sku: 'SKU-A', quantity: 10, unitPrice: 12.5, amount: 125 },
          { lineNo: 2, sku: 'SKU-B', quantity: 4, unitPrice: 7.25, amount: 29 },
        ],
        subtotal: 154,
        tax: 0,
        total: 154,
        issuedAt: '2025-03-10T15:00:00.000Z',
        dueDate: '2025-04-09',
      },
    });
  });

  it('yields the same invoice id every time the same shipment is invoiced', () => {
    expect(invoiceOf(buildInvoice(input())).invoiceId).toBe(invoiceIdFor('SHP-1'));
    expect(buildInvoice(input())).toEqual(buildInvoice(input()));
  });

  it('sums a line shipped in several parcels into one invoice line, in lineNo order', () => {
    const invoice = invoiceOf(
      buildInvoice(
        input({
          shipment: shipment({
            lines: [
              { lineNo: 2, quantity: 1 },
              { lineNo: 1, quantity: 3 },
              { lineNo: 1, quantity: 2 },
            ],
          }),
        }),
      ),
    );
    expect(invoice.lines.map((l) => [l.lineNo, l.quantity, l.amount])).toEqual([
      [1, 5, 62.5],
      [2, 1, 7.25],
    ]);
    expect(invoice.subtotal).toBe(69.75);
  });
});

describe('buildInvoice: partial shipments', () => {
  it('invoices each of two partial shipments once, together summing to the order', () => {
    const first = invoiceOf(
      buildInvoice(
        input({
          shipment: shipment({
            shipmentId: 'SHP-1',
            lines: [
              { lineNo: 1, quantity: 6 },
              { lineNo: 2, quantity: 4 },
            ],
          }),
        }),
      ),
    );
    const second = invoiceOf(
      buildInvoice(
        input({
          shipment: shipment({ shipmentId: 'SHP-2', lines: [{ lineNo: 1, quantity: 4 }] }),
          alreadyInvoiced: [first],
          issuedAt: '2025-03-12T10:00:00Z',
        }),
      ),
    );

    expect(first.invoiceId).toBe('INV-SHP-1');
    expect(first.total).toBe(104);
    expect(second.invoiceId).toBe('INV-SHP-2');
    expect(second.lines).toEqual([{ lineNo: 1, sku: 'SKU-A', quantity: 4, unitPrice: 12.5, amount: 50 }]);
    expect(second.dueDate).toBe('2025-04-11');
    expect(first.total + second.total).toBe(orderValue(order().lines));

    const status = invoicingStatus(order(), [first, second]);
    expect(status.fullyInvoiced).toBe(true);
  });

  it('returns the existing invoice id instead of a new invoice when the shipment is redelivered', () => {
    const first = invoiceOf(buildInvoice(input()));
    const redelivered = buildInvoice(input({ alreadyInvoiced: [first], issuedAt: '2025-03-11T08:00:00Z' }));
    expect(redelivered).toEqual({ kind: 'duplicate', invoiceId: 'INV-SHP-1' });
  });

  it('recognises the shipment by its id even when its invoice was numbered another way', () => {
    const legacy = { invoiceId: 'ERP-000123', shipmentId: 'SHP-1', lines: [{ lineNo: 1, quantity: 10 }] };
    expect(buildInvoice(input({ alreadyInvoiced: [legacy] }))).toEqual({
      kind: 'duplicate',
      invoiceId: 'ERP-000123',
    });
  });

  it('reports a redelivery as a duplicate, not as over-invoicing, even when the order is now fully invoiced', () => {
    const first = invoiceOf(buildInvoice(input()));
    expect(buildInvoice(input({ alreadyInvoiced: [first] })).kind).toBe('duplicate');
  });
});

describe('buildInvoice: refusals', () => {
  it('refuses a shipment without proof of shipment', () => {
    const error = captureError(() =>
      buildInvoice(input({ shipment: shipment({ proofOfShipment: undefined }) })),
    );
    expect(error).toBeInstanceOf(ProofOfShipmentMissing);
    expect(error).toBeInstanceOf(DomainError);
    expect(error).toMatchObject({
      name: 'ProofOfShipmentMissing',
      field: 'shipment.proofOfShipment',
      retryable: false,
    });
    expect((error as Error).message).toBe(
      'shipment.proofOfShipment is required before a shipment is invoiced',
    );
  });

  it('refuses proof of shipment without a tracking number', () => {
    const error = captureError(() =>
      buildInvoice(
        input({ shipment: shipment({ proofOfShipment: { carrier: 'UPS', trackingNumber: ' ' } }) }),
      ),
    );
    expect(error).toMatchObject({
      name: 'ProofOfShipmentMissing',
      field: 'shipment.proofOfShipment.trackingNumber',
    });
  });

  it('refuses a shipment that belongs to another order', () => {
    const error = captureError(() => buildInvoice(input({ shipment: shipment({ orderId: 'ORD-2' }) })));
    expect(error).toBeInstanceOf(ShipmentOrderMismatch);
    expect(error).toMatchObject({
      name: 'ShipmentOrderMismatch',
      field: 'shipment.orderId',
      retryable: false,
    });
    expect((error as ShipmentOrderMismatch).rule).toBe('must be the invoiced order ORD-1 (got ORD-2)');
  });

  it('refuses a shipment line that is not on the order', () => {
    const error = captureError(() =>
      buildInvoice(
        input({
          shipment: shipment({
            lines: [
              { lineNo: 1, quantity: 1 },
              { lineNo: 9, quantity: 1 },
            ],
          }),
        }),
      ),
    );
    expect(error).toBeInstanceOf(LineNotOnOrder);
    expect(error).toMatchObject({
      name: 'LineNotOnOrder',
      field: 'shipment.lines[1].lineNo',
      retryable: false,
    });
  });

  it('refuses to invoice more than was ordered across all invoices for a line', () => {
    const earlier = { invoiceId: 'INV-SHP-0', shipmentId: 'SHP-0', lines: [{ lineNo: 2, quantity: 3 }] };
    const error = captureError(() =>
      buildInvoice(
        input({
          shipment: shipment({
            lines: [
              { lineNo: 1, quantity: 10 },
              { lineNo: 2, quantity: 2 },
            ],
          }),
          alreadyInvoiced: [earlier],
        }),
      ),
    );
    expect(error).toBeInstanceOf(OverInvoicing);
    expect(error).toMatchObject({
      name: 'OverInvoicing',
      field: 'shipment.lines[1].quantity',
      retryable: false,
    });
    expect((error as OverInvoicing).rule).toBe(
      'must not invoice line 2 past its ordered quantity 4 (3 already invoiced, 2 on this shipment)',
    );
  });

  it('refuses a single shipment whose parcels together exceed the ordered quantity', () => {
    const parcels = [
      { lineNo: 2, quantity: 3 },
      { lineNo: 2, quantity: 2 },
    ];
    const error = captureError(() => buildInvoice(input({ shipment: shipment({ lines: parcels }) })));
    expect(error).toMatchObject({ name: 'OverInvoicing', field: 'shipment.lines[0].quantity' });
  });

  it('invoices a line exactly up to its ordered quantity', () => {
    const earlier = { invoiceId: 'INV-SHP-0', shipmentId: 'SHP-0', lines: [{ lineNo: 2, quantity: 3 }] };
    const invoice = invoiceOf(
      buildInvoice(
        input({ shipment: shipment({ lines: [{ lineNo: 2, quantity: 1 }] }), alreadyInvoiced: [earlier] }),
      ),
    );
    expect(invoice.lines).toMatchObject([{ lineNo: 2, quantity: 1 }]);
  });
});

describe('buildInvoice: due dates by payment terms', () => {
  it.each([
    ['NET30', ISSUED_AT, '2025-04-09'],
    ['NET15', '2024-02-15T10:00:00Z', '2024-03-01'],
    ['NET60', '2025-12-15T10:00:00Z', '2026-02-13'],
    ['NET0', ISSUED_AT, '2025-03-10'],
    [' net45 ', ISSUED_AT, '2025-04-24'],
    ['CIA', ISSUED_AT, '2025-03-10'],
    ['COD', ISSUED_AT, '2025-03-10'],
    ['PREPAID', ISSUED_AT, '2025-03-10'],
  ])('%s issued %s is due %s', (paymentTerms, issuedAt, dueDate) => {
    const invoice = invoiceOf(buildInvoice(input({ order: order({ paymentTerms }), issuedAt })));
    expect(invoice.dueDate).toBe(dueDate);
    expect(invoice.paymentTerms).toBe(paymentTerms.trim().toUpperCase());
  });

  it('counts from the UTC calendar day of the issue instant', () => {
    // 21:00 at -05:00 is 02:00Z the next day.
    const invoice = invoiceOf(
      buildInvoice(input({ order: order({ paymentTerms: 'NET30' }), issuedAt: '2025-03-10T21:00:00-05:00' })),
    );
    expect(invoice.issuedAt).toBe('2025-03-11T02:00:00.000Z');
    expect(invoice.dueDate).toBe('2025-04-10');
  });

  it.each(['NET', 'NET1000', 'EOM', 'NET-5', ''])('rejects payment terms %j', (paymentTerms) => {
    const error = captureError(() => buildInvoice(input({ order: order({ paymentTerms }) })));
    expect(error).toMatchObject({ name: 'InvalidInvoiceInput', field: 'order.paymentTerms' });
  });
});

describe('buildInvoice: money in integer cents', () => {
  it('taxes 3 x 19.99 at 8.25% as 59.97 + 4.95 = 64.92', () => {
    const invoice = invoiceOf(
      buildInvoice(
        input({
          order: order({
            lines: [{ lineNo: 1, sku: 'SKU-A', quantity: 3, unitPrice: 19.99 }],
            taxRatePct: 8.25,
          }),
          shipment: shipment({ lines: [{ lineNo: 1, quantity: 3 }] }),
        }),
      ),
    );
    expect(invoice.lines[0]?.amount).toBe(59.97);
    expect(invoice.subtotal).toBe(59.97);
    expect(invoice.tax).toBe(4.95);
    expect(invoice.total).toBe(64.92);
    expect(invoice.taxRatePct).toBe(8.25);
  });

  it('rounds a half cent of tax away from zero', () => {
    // 10.10 x 5% = 0.505
    const invoice = invoiceOf(
      buildInvoice(
        input({
          order: order({ lines: [{ lineNo: 1, sku: 'SKU-A', quantity: 1, unitPrice: 10.1 }], taxRatePct: 5 }),
          shipment: shipment({ lines: [{ lineNo: 1, quantity: 1 }] }),
        }),
      ),
    );
    expect(invoice.tax).toBe(0.51);
    expect(invoice.total).toBe(10.61);
  });

  it('rounds each line to cents before summing, so totals do not drift', () => {
    const invoice = invoiceOf(
      buildInvoice(
        input({
          order: order({
            lines: [
              { lineNo: 1, sku: 'SKU-A', quantity: 3, unitPrice: 0.1 },
              { lineNo: 2, sku: 'SKU-B', quantity: 1, unitPrice: 0.005 },
              { lineNo: 3, sku: 'SKU-C', quantity: 1, unitPrice: 0.005 },
            ],
          }),
          shipment: shipment({
            lines: [
              { lineNo: 1, quantity: 3 },
              { lineNo: 2, quantity: 1 },
              { lineNo: 3, quantity: 1 },
            ],
          }),
        }),
      ),
    );
    // 3 x 0.1 is 0.30000000000000004 in floating point; each half cent rounds up on its own line.
    expect(invoice.lines.map((l) => l.amount)).toEqual([0.3, 0.01, 0.01]);
    expect(invoice.subtotal).toBe(0.32);
    expect(invoice.total).toBe(0.32);
  });
});

describe('buildInvoice: invalid input names the field', () => {
  it.each([
    [{ order: order({ currency: 'usd' }) }, 'order.currency', /3-letter ISO 4217/],
    [{ order: order({ customerId: '' }) }, 'order.customerId', /non-empty/],
    [{ order: order({ taxRatePct: -1 }) }, 'order.taxRatePct', /between 0 and 100/],
    [{ order: order({ taxRatePct: 101 }) }, 'order.taxRatePct', /between 0 and 100/],
    [{ order: order({ lines: [] }) }, 'order.lines', /at least one line/],
    [
      { order: order({ lines: [{ lineNo: 1, sku: 'SKU-A', quantity: 0, unitPrice: 1 }] }) },
      'order.lines[0].quantity',
      /positive integer/,
    ],
    [
      { order: order({ lines: [{ lineNo: 1, sku: 'SKU-A', quantity: 1, unitPrice: -1 }] }) },
      'order.lines[0].unitPrice',
      />= 0/,
    ],
    [
      {
        order: order({
          lines: [
            { lineNo: 1, sku: 'SKU-A', quantity: 1, unitPrice: 1 },
            { lineNo: 1, sku: 'SKU-B', quantity: 1, unitPrice: 1 },
          ],
        }),
      },
      'order.lines[1].lineNo',
      /unique/,
    ],
    [{ shipment: shipment({ lines: [] }) }, 'shipment.lines', /at least one line/],
    [
      { shipment: shipment({ lines: [{ lineNo: 1, quantity: 0 }] }) },
      'shipment.lines[0].quantity',
      /positive/,
    ],
    [
      { shipment: shipment({ lines: [{ lineNo: 1, quantity: -2 }] }) },
      'shipment.lines[0].quantity',
      /positive/,
    ],
    [{ shipment: shipment({ shipmentId: '' }) }, 'shipment.shipmentId', /non-empty/],
    [{ shipment: shipment({ shippedAt: '2025-03-10' }) }, 'shipment.shippedAt', /ISO 8601/],
    [{ issuedAt: '2025-03-10T15:00:00' }, 'issuedAt', /zone designator/],
    [{ issuedAt: '2025-02-29T15:00:00Z' }, 'issuedAt', /real date/],
    [
      {
        alreadyInvoiced: [
          { invoiceId: 'INV-A', shipmentId: 'SHP-A', lines: [{ lineNo: 1, quantity: 1 }] },
          { invoiceId: 'INV-A', shipmentId: 'SHP-B', lines: [{ lineNo: 1, quantity: 1 }] },
        ],
      },
      'alreadyInvoiced[1].invoiceId',
      /unique/,
    ],
  ] as const)('rejects %j naming %s', (overrides, field, rule) => {
    const error = captureError(() => buildInvoice(input(overrides)));
    expect(error).toBeInstanceOf(InvalidInvoiceInput);
    expect(error).toMatchObject({ name: 'InvalidInvoiceInput', field, retryable: false });
    expect((error as InvalidInvoiceInput).rule).toMatch(rule);
  });

  it('rejects an earlier invoice for a line the order does not have', () => {
    const stray = { invoiceId: 'INV-SHP-0', shipmentId: 'SHP-0', lines: [{ lineNo: 7, quantity: 1 }] };
    const error = captureError(() => buildInvoice(input({ alreadyInvoiced: [stray] })));
    expect(error).toMatchObject({ name: 'LineNotOnOrder', field: 'alreadyInvoiced[0].lines[0].lineNo' });
  });
});

describe('invoicingStatus', () => {
  it('reports ordered, invoiced and remaining per line, and that nothing is fully invoiced yet', () => {
    const invoices = [
      { invoiceId: 'INV-SHP-1', shipmentId: 'SHP-1', lines: [{ lineNo: 1, quantity: 6 }] },
      {
        invoiceId: 'INV-SHP-2',
        shipmentId: 'SHP-2',
        lines: [
          { lineNo: 1, quantity: 1 },
          { lineNo: 2, quantity: 4 },
        ],
      },
    ];
    expect(invoicingStatus(order(), invoices)).toEqual({
      orderId: 'ORD-1',
      lines: [
        { lineNo: 1, sku: 'SKU-A', ordered: 10, invoiced: 7, remaining: 3 },
        { lineNo: 2, sku: 'SKU-B', ordered: 4, invoiced: 4, remaining: 0 },
      ],
      fullyInvoiced: false,
    });
  });

  it('reports an order with no invoices as wholly remaining', () => {
    const status = invoicingStatus(order(), []);
    expect(status.lines.map((l) => l.remaining)).toEqual([10, 4]);
    expect(status.fullyInvoiced).toBe(false);
  });

  it('reports the order fully invoiced, so it can close, once every line is invoiced in full', () => {
    const invoice = invoiceOf(buildInvoice(input()));
    const status = invoicingStatus(order(), [invoice]);
    expect(status.fullyInvoiced).toBe(true);
    expect(status.lines.every((l) => l.invoiced === l.ordered && l.remaining === 0)).toBe(true);
  });

  it('raises OverInvoicing instead of a negative remainder when the invoices exceed the order', () => {
    const invoices = [
      { invoiceId: 'INV-1', shipmentId: 'SHP-1', lines: [{ lineNo: 2, quantity: 3 }] },
      { invoiceId: 'INV-2', shipmentId: 'SHP-2', lines: [{ lineNo: 2, quantity: 2 }] },
    ];
    const error = captureError(() => invoicingStatus(order(), invoices));
    expect(error).toMatchObject({ name: 'OverInvoicing', field: 'invoices', retryable: false });
    expect((error as OverInvoicing).rule).toMatch(/line 2 past its ordered quantity 4 \(5 invoiced\)/);
  });

  it('rejects an invoice line that is not on the order, and the same invoice counted twice', () => {
    const stray = { invoiceId: 'INV-1', shipmentId: 'SHP-1', lines: [{ lineNo: 3, quantity: 1 }] };
    expect(captureError(() => invoicingStatus(order(), [stray]))).toMatchObject({
      name: 'LineNotOnOrder',
      field: 'invoices[0].lines[0].lineNo',
    });
    const once = { invoiceId: 'INV-1', shipmentId: 'SHP-1', lines: [{ lineNo: 1, quantity: 1 }] };
    expect(captureError(() => invoicingStatus(order(), [once, once]))).toMatchObject({
      name: 'InvalidInvoiceInput',
      field: 'invoices[1].invoiceId',
    });
  });
});
