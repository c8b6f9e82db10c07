import type { CanonicalOrder, OrderLine } from '../../../contracts/order.ts';

/** A valid order line; `overrides` replaces individual fields. */
export function line(lineNo: number, overrides: Partial<OrderLine> = {}): OrderLine {
  return {
    lineNo,
    sku: `SKU-${lineNo}`,
    quantity: 2,
    uom: 'EA',
    unitPrice: 12.5,
    unitCost: 7.25,
    ...overrides,
  };
}

/** A canonical order that satisfies every rule; tests break one or more fields of a fresh copy. */
export function validOrder(): CanonicalOrder {
  return {
    orderId: 'ERP-4500012345',
    source: { system: 'erp', reference: '4500012345' },
    channel: 'wholesale',
    serviceLevel: 'standard',
    customer: {
      id: 'CUST-0042',
      name: 'Northwind Traders',
      segment: 'mid-market',
      priority: 'preferred',
      terms: { paymentTerms: 'NET30', fulfilment: 'ship-partial' },
    },
    customerPo: 'PO-88123',
    shipTo: {
      name: 'Northwind Receiving',
      line1: '12 Harbour Road',
      line2: 'Dock 4',
      city: 'Rotterdam',
      region: 'ZH',
      postalCode: '3011 AA',
      country: 'NL',
      email: 'receiving@northwind.example',
      phone: '+31 10 123 4567',
    },
    currency: 'EUR',
    orderedAt: '2025-03-03T09:30:00Z',
    promiseDate: '2025-03-07',
    requestedSiteId: 'DC-ROTTERDAM',
    lines: [
      line(1, { description: 'Pallet wrap', hazmat: false }),
      line(2, { quantity: 40, unitPrice: 0.0125 }),
    ],
  };
}
