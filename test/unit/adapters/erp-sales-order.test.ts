import { describe, expect, it } from 'vitest';
import { ContractViolation } from '../../../contracts/validation.ts';
import {
  DISTRIBUTION_CHANNELS,
  type ErpSalesOrder,
  erpOrderId,
  SHIPPING_CONDITIONS,
  salesOrderSizeViolation,
  toCanonicalOrder,
} from '../../../lambdas/adapters/erp/sales-order.ts';
import { type Edits, edited, REMOVE } from '../contracts/payload-edits.ts';

/** A sales order as the ERP exports it: SAP-style codes, decimals as strings, YYYYMMDD dates. */
function erpSalesOrder(): ErpSalesOrder {
  return {
    SalesOrder: '4500012345',
    SoldToParty: '0001000427',
    CustomerName: 'Northwind Traders B.V.',
    CustomerGroup: 'PREF',
    Segment: 'MID',
    PaymentTerms: 'NET30',
    CompleteDelivery: '',
    DistributionChannel: '10',
    ShippingCondition: '01',
    RequestedDeliveryDate: '20250307',
    CreationDateTime: '2025-03-03T09:30:00Z',
    Currency: 'EUR',
    PurchaseOrderByCustomer: 'PO-88123',
    Plant: 'DC-ROTTERDAM',
    ShipTo: {
      Name: 'Northwind Receiving',
      Street: '12 Harbour Road',
      Street2: 'Dock 4',
      City: 'Rotterdam',
      Region: 'ZH',
      PostalCode: '3011 AA',
      Country: 'NL',
      Email: 'receiving@northwind.example',
      Phone: '+31 10 123 4567',
    },
    Items: [
      {
        ItemNo: '10',
        Material: 'MAT-100200',
        Description: 'Stretch film 23 micron',
        Quantity: '12.000',
        Unit: 'RL',
        NetPrice: '18.4500',
        Cost: '11.2000',
        Hazmat: false,
      },
      {
        ItemNo: '20',
        Material: 'MAT-300400',
        Quantity: '3',
        Unit: 'PAL',
        NetPrice: '240.125',
        Cost: '180.5',
        DropShip: true,
        Oversize: true,
      },
    ],
  };
}

function convert(edits: Edits = {}) {
  return toCanonicalOrder(edited(erpSalesOrder(), edits));
}

function rulesOf(edits: Edits): { path: string; rule: string }[] {
  const result = convert(edits);
  if (result.ok) throw new Error('expected the ERP sales order to be rejected');
  return result.error.violations.map(({ path, rule }) => ({ path, rule }));
}

describe('ERP sales order → canonical order', () => {
  it('maps a realistic ERP sales order onto the canonical order', () => {
    const result = convert();
    if (!result.ok) throw result.error;
    expect(result.value).toEqual({
      orderId: 'ERP-4500012345',
      source: { system: 'erp', reference: '4500012345' },
      channel: 'wholesale',
      serviceLevel: 'standard',
      customer: {
        id: '0001000427',
        name: 'Northwind Traders B.V.',
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
        {
          lineNo: 10,
          sku: 'MAT-100200',
          description: 'Stretch film 23 micron',
          quantity: 12,
          uom: 'RL',
          unitPrice: 18.45,
          unitCost: 11.2,
        },
        {
          lineNo: 20,
          sku: 'MAT-300400',
          quantity: 3,
          uom: 'PAL',
          unitPrice: 240.125,
          unitCost: 180.5,
          dropShip: true,
          oversize: true,
        },
      ],
    });
  });

  it('prefixes the sales-order number with ERP- to form the order id', () => {
    expect(erpOrderId('4500012345')).toBe('ERP-4500012345');
    const result = convert({ SalesOrder: '0090001234' });
    expect(result.ok && result.value.orderId).toBe('ERP-0090001234');
    expect(result.ok && result.value.source).toEqual({ system: 'erp', reference: '0090001234' });
  });

  it.each([
    ['10', 'wholesale'],
    ['20', 'retail-replenishment'],
    ['30', 'direct-to-customer'],
  ])('maps distribution channel %s to channel %s', (code, channel) => {
    expect(DISTRIBUTION_CHANNELS[code]).toBe(channel);
    const result = convert({ DistributionChannel: code });
    expect(result.ok && result.value.channel).toBe(channel);
  });

  it.each([
    ['01', 'standard'],
    ['02', 'expedited'],
    ['03', 'next-day'],
    ['04', 'economy'],
  ])('maps shipping condition %s to service level %s', (code, serviceLevel) => {
    expect(SHIPPING_CONDITIONS[code]).toBe(serviceLevel);
    const result = convert({ ShippingCondition: code });
    expect(result.ok && result.value.serviceLevel).toBe(serviceLevel);
  });

  it.each([
    ['STD', 'standard'],
    ['PREF', 'preferred'],
    ['KEY', 'key-account'],
  ])('maps customer group %s to priority %s', (group, priority) => {
    const result = convert({ CustomerGroup: group });
    expect(result.ok && result.value.customer.priority).toBe(priority);
  });

  it.each([
    ['ENT', 'enterprise'],
    ['MID', 'mid-market'],
    ['SMB', 'small-business'],
    ['B2C', 'consumer'],
  ])('maps segment %s to %s', (segment, expected) => {
    const result = convert({ Segment: segment });
    expect(result.ok && result.value.customer.segment).toBe(expected);
  });

  it.each([
    ['X', 'ship-complete'],
    ['', 'ship-partial'],
  ])('maps complete-delivery flag %j to fulfilment terms %s', (flag, fulfilment) => {
    const result = convert({ CompleteDelivery: flag });
    expect(result.ok && result.value.customer.terms.fulfilment).toBe(fulfilment);
  });

  it.each(['CIA', 'COD', 'PREPAID', 'NET7', 'NET120'])('passes payment terms %s through', (terms) => {
    const result = convert({ PaymentTerms: terms });
    expect(result.ok && result.value.customer.terms.paymentTerms).toBe(terms);
  });

  it('converts decimal strings to numbers and YYYYMMDD to an ISO date', () => {
    const result = convert({
      'Items[0].Quantity': '1000000.000000',
      'Items[0].NetPrice': '0.0001',
      'Items[0].Cost': '000.10',
      RequestedDeliveryDate: '20251231',
    });
    if (!result.ok) throw result.error;
    expect(result.value.lines[0]).toMatchObject({ quantity: 1_000_000, unitPrice: 0.0001, unitCost: 0.1 });
    expect(result.value.promiseDate).toBe('2025-12-31');
  });

  it('omits optional canonical fields the ERP left out or sent empty', () => {
    const result = convert({
      CustomerName: REMOVE,
      PurchaseOrderByCustomer: '',
      Plant: REMOVE,
      'ShipTo.Street2': '',
      'ShipTo.Region': REMOVE,
      'ShipTo.Email': REMOVE,
      'ShipTo.Phone': REMOVE,
      'Items[0].Description': '',
      'Items[1].DropShip': false,
      'Items[1].Oversize': REMOVE,
    });
    if (!result.ok) throw result.error;
    expect(result.value.customer).not.toHaveProperty('name');
    expect(result.value).not.toHaveProperty('customerPo');
    expect(result.value).not.toHaveProperty('requestedSiteId');
    expect(Object.keys(result.value.shipTo).sort()).toEqual([
      'city',
      'country',
      'line1',
      'name',
      'postalCode',
    ]);
    expect(result.value.lines[0]).not.toHaveProperty('description');
    expect(result.value.lines[1]).not.toHaveProperty('dropShip');
    expect(result.value.lines[1]).not.toHaveProperty('oversize');
  });

  it('accepts a requested delivery date on the day the order was created', () => {
    expect(convert({ RequestedDeliveryDate: '20250303' }).ok).toBe(true);
  });

  describe('rejects with the ERP field path an operator would correct', () => {
    const cases: [string, Edits, { path: string; rule: string }][] = [
      [
        'a fractional quantity',
        { 'Items[1].Quantity': '2.500' },
        { path: 'Items[1].Quantity', rule: 'positiveWholeUnits' },
      ],
      [
        'an unknown distribution channel',
        { DistributionChannel: '40' },
        { path: 'DistributionChannel', rule: 'oneOf:10|20|30' },
      ],
      [
        'an unknown shipping condition',
        { ShippingCondition: '05' },
        { path: 'ShippingCondition', rule: 'oneOf:01|02|03|04' },
      ],
      [
        'an unknown customer group',
        { CustomerGroup: 'VIP' },
        { path: 'CustomerGroup', rule: 'oneOf:STD|PREF|KEY' },
      ],
      [
        'a requested delivery date before the creation date',
        { RequestedDeliveryDate: '20250302' },
        { path: 'RequestedDeliveryDate', rule: 'notBefore:orderedAt' },
      ],
      [
        'an impossible requested delivery date',
        { RequestedDeliveryDate: '20250431' },
        { path: 'RequestedDeliveryDate', rule: 'format:date' },
      ],
      [
        'a requested delivery date not in YYYYMMDD form',
        { RequestedDeliveryDate: '2025-03-07' },
        { path: 'RequestedDeliveryDate', rule: 'pattern:/^[0-9]{8}$/' },
      ],
      ['a duplicate item number', { 'Items[1].ItemNo': '10' }, { path: 'Items[1].ItemNo', rule: 'unique' }],
      [
        'an item number that only differs by leading zeros',
        { 'Items[1].ItemNo': '000010' },
        { path: 'Items[1].ItemNo', rule: 'unique' },
      ],
      ['an unknown header field', { SalesOffice: '1000' }, { path: 'SalesOffice', rule: 'unknownField' }],
      ['an unknown item field', { 'Items[0].Batch': 'B1' }, { path: 'Items[0].Batch', rule: 'unknownField' }],
      ['a missing ship-to city', { 'ShipTo.City': REMOVE }, { path: 'ShipTo.City', rule: 'required' }],
      [
        'a ship-to email the canonical contract rejects',
        { 'ShipTo.Email': 'receiving-at-northwind' },
        { path: 'ShipTo.Email', rule: 'format:email' },
      ],
      [
        'a material number the canonical SKU rules reject',
        { 'Items[0].Material': 'MAT 100' },
        { path: 'Items[0].Material', rule: 'pattern:/^[A-Za-z0-9][A-Za-z0-9._/-]*$/' },
      ],
      [
        'a net price with more than 4 decimals',
        { 'Items[0].NetPrice': '18.45001' },
        { path: 'Items[0].NetPrice', rule: 'maxDecimals:4' },
      ],
      [
        'a negative cost',
        { 'Items[1].Cost': '-180.5' },
        { path: 'Items[1].Cost', rule: 'pattern:/^\\d{1,12}(\\.\\d{1,6})?$/' },
      ],
      [
        'a quantity above the canonical maximum',
        { 'Items[0].Quantity': '1000001' },
        { path: 'Items[0].Quantity', rule: '<=1000000' },
      ],
      ['item number 0', { 'Items[0].ItemNo': '0' }, { path: 'Items[0].ItemNo', rule: '>=1' }],
      [
        'a creation timestamp without an offset',
        { CreationDateTime: '2025-03-03T09:30:00' },
        { path: 'CreationDateTime', rule: 'format:datetime' },
      ],
      ['no items', { Items: [] }, { path: 'Items', rule: 'minItems:1' }],
    ];

    it.each(cases)('%s', (_label, edits, expected) => {
      expect(rulesOf(edits)).toEqual([expected]);
    });
  });

  it('reports a zero quantity once, as positiveWholeUnits', () => {
    expect(rulesOf({ 'Items[0].Quantity': '0.000' })).toEqual([
      { path: 'Items[0].Quantity', rule: 'positiveWholeUnits' },
    ]);
  });

  it('names the unit in the whole-units message', () => {
    const result = convert({ 'Items[1].Quantity': '2.500' });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.violations[0]?.message).toBe('must be a whole number of PAL greater than 0');
  });

  it('reports several shape errors in one ContractViolation named after the ERP contract', () => {
    const result = convert({
      DistributionChannel: '99',
      'ShipTo.City': REMOVE,
      'Items[0].Batch': 'B1',
      SalesOffice: '1000',
    });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error).toBeInstanceOf(ContractViolation);
    expect(result.error.name).toBe('ContractViolation');
    expect(result.error.retryable).toBe(false);
    expect(result.error.contract).toBe('ERP sales order');
    expect(result.error.violations.map(({ path, rule }) => ({ path, rule }))).toEqual(
      expect.arrayContaining([
        { path: 'DistributionChannel', rule: 'oneOf:10|20|30' },
        { path: 'ShipTo.City', rule: 'required' },
        { path: 'Items[0].Batch', rule: 'unknownField' },
        { path: 'SalesOffice', rule: 'unknownField' },
      ]),
    );
    expect(result.error.violations).toHaveLength(4);
  });

  it('reports several business-rule errors in one result, all in ERP field names', () => {
    expect(
      rulesOf({
        'Items[1].ItemNo': '10',
        RequestedDeliveryDate: '20250228',
        'ShipTo.Email': 'nope',
        'Items[0].NetPrice': '1.123456',
      }),
    ).toEqual(
      expect.arrayContaining([
        { path: 'Items[1].ItemNo', rule: 'unique' },
        { path: 'RequestedDeliveryDate', rule: 'notBefore:orderedAt' },
        { path: 'ShipTo.Email', rule: 'format:email' },
        { path: 'Items[0].NetPrice', rule: 'maxDecimals:4' },
      ]),
    );
  });

  it('reports a fractional quantity together with the duplicate item and the early delivery date', () => {
    const found = rulesOf({
      'Items[1].Quantity': '2.500',
      'Items[1].ItemNo': '10',
      RequestedDeliveryDate: '20250228',
    });
    expect(found).toEqual(
      expect.arrayContaining([
        { path: 'Items[1].Quantity', rule: 'positiveWholeUnits' },
        { path: 'Items[1].ItemNo', rule: 'unique' },
        { path: 'RequestedDeliveryDate', rule: 'notBefore:orderedAt' },
      ]),
    );
    expect(found).toHaveLength(3);
  });

  it('reports business-rule errors together with shape errors of the same order', () => {
    const found = rulesOf({
      SalesOffice: '1000',
      'Items[1].ItemNo': '10',
      RequestedDeliveryDate: '20250228',
    });
    expect(found).toEqual(
      expect.arrayContaining([
        { path: 'SalesOffice', rule: 'unknownField' },
        { path: 'Items[1].ItemNo', rule: 'unique' },
        { path: 'RequestedDeliveryDate', rule: 'notBefore:orderedAt' },
      ]),
    );
  });

  it('never leaks canonical field names into an ERP rejection', () => {
    const result = convert({
      'Items[1].ItemNo': '10',
      RequestedDeliveryDate: '20250228',
      CreationDateTime: '2025-03-03T09:30:00Z',
      'ShipTo.Email': 'nope',
      'ShipTo.PostalCode': '#',
      'Items[0].Material': 'bad sku',
      'Items[0].Cost': '0.123456',
    });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    for (const { path } of result.error.violations) {
      expect(path).toMatch(
        /^(SalesOrder|SoldToParty|RequestedDeliveryDate|CreationDateTime|ShipTo\.[A-Z]|Items\[)/,
      );
      expect(path).not.toMatch(/lines|shipTo|promiseDate|orderedAt|\.sku|unitCost/);
    }
    expect(result.error.message).not.toMatch(/invalid input|too small|too big|unrecognized key/i);
  });

  it('rejects a payload that is not an object at all', () => {
    expect(toCanonicalOrder(null)).toMatchObject({
      ok: false,
      error: { name: 'ContractViolation', violations: [{ path: '', rule: 'type:object' }] },
    });
  });
});

describe('toCanonicalOrder: limits of the bus and of text', () => {
  const wideLine = (n: number) => ({
    ItemNo: String(n * 10).padStart(6, '0'),
    Material: 'WIDGET-100',
    Description: '東'.repeat(200),
    Quantity: '1',
    Unit: 'EA',
    NetPrice: '1.00',
    Cost: '0.50',
  });

  it('refuses 500 lines whose order.received would be over the 256 KB EventBridge entry, on the document', () => {
    const result = toCanonicalOrder({
      ...erpSalesOrder(),
      Items: Array.from({ length: 500 }, (_, i) => wideLine(i + 1)),
    });

    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.violations).toEqual([
      {
        path: '',
        rule: 'maxBytes:262144',
        message: expect.stringContaining('256 KB EventBridge entry limit'),
      },
    ]);
  });

  it('takes 300 such lines: the event fits', () => {
    expect(
      toCanonicalOrder({ ...erpSalesOrder(), Items: Array.from({ length: 300 }, (_, i) => wideLine(i + 1)) })
        .ok,
    ).toBe(true);
  });

  it('composes NFD text and refuses controls, naming the ERP field', () => {
    const composed = toCanonicalOrder({ ...erpSalesOrder(), CustomerName: 'Mu\u0308ller' });
    expect(composed.ok && composed.value.customer.name).toBe('M\u00fcller');
    const refused = toCanonicalOrder({ ...erpSalesOrder(), CustomerName: 'M\u202Euller' });
    expect(refused.ok ? [] : refused.error.violations).toEqual([
      expect.objectContaining({ path: 'CustomerName', rule: 'noBidiControls' }),
    ]);
  });
});

describe('salesOrderSizeViolation', () => {
  it('names the 256 KB limit of EventBridge and Step Functions for a message over it, and nothing under it', () => {
    expect(salesOrderSizeViolation('x'.repeat(256 * 1024))).toBeUndefined();
    expect(salesOrderSizeViolation('é'.repeat(128 * 1024 + 1))).toEqual({
      path: '',
      rule: 'maxBytes:262144',
      message: expect.stringMatching(
        /^is 262146 bytes, over the 256 KB limit of an EventBridge event and a Step Functions payload/,
      ),
    });
  });
});
