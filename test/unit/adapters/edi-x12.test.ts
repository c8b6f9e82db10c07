import { readFileSync } from 'node:fs';
import { X12Interchange, X12Parser, X12QueryEngine, type X12Transaction } from 'node-x12';
import { describe, expect, it } from 'vitest';
import type { CanonicalOrder } from '../../../contracts/order.ts';
import { ORDER_ID_PATTERN } from '../../../contracts/order.ts';
import {
  type Parse850Options,
  type PurchaseOrderReference,
  parsePurchaseOrder850,
  type TradingPartnerProfile,
} from '../../../lambdas/adapters/edi/x12-850.ts';
import {
  build810,
  build855,
  build856,
  EdiDocumentInvalid,
  functionalAcknowledgment997,
  type OutboundEnvelope,
} from '../../../lambdas/adapters/edi/x12-outbound.ts';
import { interchange850 } from '../../fixtures/hostile/edi.ts';

const fixture = (name: string) =>
  readFileSync(new URL(`../../fixtures/edi/${name}`, import.meta.url), 'utf8');

const OPTIONS: Parse850Options = {
  tradingPartners: {
    RETAILCO: {
      customerId: 'CUST-RETAILCO',
      customerName: 'RetailCo Stores',
      segment: 'enterprise',
      priority: 'key-account',
      paymentTerms: 'NET30',
      fulfilment: 'ship-partial',
      currency: 'USD',
      uomMap: { CA: 'CS' },
      buyerItems: { '100200301': 'SKU-2002' },
    },
    // A DUNS-identified partner (ISA05 01) that sends no CUR: its profile currency applies.
    '123456789': {
      customerId: 'CUST-AZHOME',
      segment: 'mid-market',
      priority: 'preferred',
      paymentTerms: 'NET45',
      fulfilment: 'ship-complete',
      currency: 'CAD',
    },
  },
  catalogue: {
    'SKU-1001': { unitCost: 7.1, upc: '012345678905' },
    'SKU-2002': { unitCost: 18.75 },
    'SKU-3003': { unitCost: 2.4, upc: '012345678912' },
    'SKU-4004': { unitCost: 61.5 },
  },
  now: new Date('2025-03-04T18:00:00Z'),
};

/** An in-place edit of one segment, so segment counts stay right unless the test means otherwise. */
function edit(document: string, from: string, to: string): string {
  expect(document).toContain(from);
  return document.replace(from, to);
}

function parsedOk(raw: string) {
  const result = parsePurchaseOrder850(raw, OPTIONS);
  if (!result.ok) throw new Error(`expected success, got ${JSON.stringify(result.rejection)}`);
  return result;
}

function rejected(raw: string, options: Parse850Options = OPTIONS) {
  const result = parsePurchaseOrder850(raw, options);
  if (result.ok) throw new Error('expected a rejection');
  return result.rejection;
}

describe('parsePurchaseOrder850: good interchanges', () => {
  it('maps a two-PO interchange (~ * > with newlines) to two canonical orders', () => {
    const result = parsedOk(fixture('850-two-purchase-orders.edi'));

    expect(result.control).toEqual({ isa13: '000004521', gs06: '4521', st02: ['0001', '0002'] });
    expect(result.orders).toHaveLength(2);
    const [first, second] = result.orders as [CanonicalOrder, CanonicalOrder];

    expect(first.orderId).toBe('EDI-CUST-RETAILCO-4500012345');
    expect(first.orderId).toMatch(ORDER_ID_PATTERN);
    expect(first.source).toEqual({ system: 'edi', reference: '4500012345' });
    expect(first.channel).toBe('retail-replenishment');
    expect(first.serviceLevel).toBe('standard');
    expect(first.customer).toEqual({
      id: 'CUST-RETAILCO',
      name: 'RetailCo Stores',
      segment: 'enterprise',
      priority: 'key-account',
      terms: { paymentTerms: 'NET30', fulfilment: 'ship-partial' },
    });
    expect(first.customerPo).toBe('4500012345');
    // The N1*BY buying party is skipped; the N1*ST loop (N3 two lines, N4, PER TE/EM) is the ship-to.
    expect(first.shipTo).toEqual({
      name: 'RETAILCO DC 6094',
      line1: '1200 DISTRIBUTION WAY',
      line2: 'DOCK 7',
      city: 'BENTONVILLE',
      region: 'AR',
      postalCode: '72712',
      country: 'US',
      email: 'dc6094@retailco.example',
      phone: '4795550199',
    });
    expect(first.currency).toBe('USD');
    expect(first.orderedAt).toBe('2025-03-03T00:00:00Z');
    expect(first.promiseDate).toBe('2025-03-10');
    expect(first.lines).toEqual([
      {
        lineNo: 1,
        sku: 'SKU-1001',
        description: 'STRETCH FILM 23 MICRON',
        quantity: 24,
        uom: 'EA',
        unitPrice: 12.5,
        unitCost: 7.1,
      },
      {
        lineNo: 2,
        sku: 'SKU-2002',
        description: 'PALLET WRAP CASE OF 4',
        quantity: 6,
        uom: 'CS', // partner CA mapped through uomMap
        unitPrice: 48.25,
        unitCost: 18.75,
      },
    ]);

    expect(second.orderId).toBe('EDI-CUST-RETAILCO-4500012346');
    expect(second.shipTo).toEqual({
      name: 'RETAILCO STORE 1187',
      line1: '45 MARKET STREET',
      city: 'SPRINGFIELD',
      region: 'IL',
      postalCode: '62701',
      country: 'US',
    });
    expect(second.promiseDate).toBe('2025-03-12');
    // Line 1 names the item by UPC only (resolved through the catalogue), line 2 by buyer part number only.
    expect(second.lines).toEqual([
      { lineNo: 1, sku: 'SKU-3003', quantity: 10, uom: 'CS', unitPrice: 3.9999, unitCost: 2.4 },
      { lineNo: 2, sku: 'SKU-2002', quantity: 5, uom: 'EA', unitPrice: 20, unitCost: 18.75 },
    ]);
  });

  it('keeps the partner identifiers the outbound documents echo back', () => {
    const { references } = parsedOk(fixture('850-two-purchase-orders.edi'));
    expect(references[0]).toEqual({
      orderId: 'EDI-CUST-RETAILCO-4500012345',
      transactionSet: '0001',
      poNumber: '4500012345',
      poDate: '20250303',
      shipToLocation: { qualifier: '92', code: '6094' },
      lines: [
        {
          lineNo: 1,
          assignedId: '1',
          uom: 'EA',
          productIds: { BP: '100200300', VP: 'SKU-1001', UP: '012345678905' },
        },
        { lineNo: 2, assignedId: '2', uom: 'CA', productIds: { BP: '100200301', VP: 'SKU-2002' } },
      ],
    });
    expect(references[1]?.lines.map((l) => l.assignedId)).toEqual(['001', '002']);
  });

  it('reads the delimiters from the ISA: | elements, ^ sub-elements, newline terminators', () => {
    const result = parsedOk(fixture('850-pipe-delimited.edi'));
    expect(result.control).toEqual({ isa13: '000000077', gs06: '77', st02: ['000000101'] });
    const [order] = result.orders as [CanonicalOrder];
    // '/' is not allowed in an order id, so it becomes '-'; the PO number itself is kept as sent.
    expect(order.orderId).toBe('EDI-CUST-AZHOME-HG-2025-0042');
    expect(order.source.reference).toBe('HG-2025/0042');
    expect(order.customerPo).toBe('HG-2025/0042');
    expect(order.customer.id).toBe('CUST-AZHOME');
    expect(order.currency).toBe('CAD');
    // '~' and '*' are data under this delimiter set.
    expect(order.shipTo).toEqual({
      name: 'A~Z HOME *OUTLET 12',
      line1: '881 QUEEN ST W',
      city: 'TORONTO',
      region: 'ON',
      postalCode: 'M6J 1G5',
      country: 'CA',
      email: 'receiving.0012@azhome.example',
    });
    expect(order.promiseDate).toBe('2025-03-14');
    expect(order.lines).toEqual([
      {
        lineNo: 1,
        sku: 'SKU-4004',
        description: 'TABLE LAMP*BRASS~FINISH',
        quantity: 3,
        uom: 'EA',
        unitPrice: 129.99,
        unitCost: 61.5,
      },
    ]);
  });
});

describe('parsePurchaseOrder850: malformed fixtures', () => {
  it.each([
    {
      file: '850-se-count-wrong.edi',
      error: {
        code: 'SEGMENT_COUNT_MISMATCH',
        segment: 'SE',
        element: 'SE01',
        position: 18,
        rule: 'count:segments',
        transactionSet: '0001',
        value: '17',
      },
    },
    {
      file: '850-ctt-mismatch.edi',
      error: {
        code: 'LINE_COUNT_MISMATCH',
        segment: 'CTT',
        element: 'CTT01',
        position: 16,
        rule: 'count:PO1',
        transactionSet: '0001',
        value: '3',
      },
    },
    {
      file: '850-unknown-sender.edi',
      error: {
        code: 'UNKNOWN_TRADING_PARTNER',
        segment: 'ISA',
        element: 'ISA06',
        rule: 'knownTradingPartner',
        value: 'SHADYMART',
      },
    },
    {
      file: '850-non-numeric-quantity.edi',
      error: {
        code: 'INVALID_ELEMENT',
        segment: 'PO1',
        element: 'PO102',
        position: 14,
        rule: 'type:number',
        transactionSet: '0001',
        value: '1O',
      },
    },
    {
      file: '850-missing-ship-to.edi',
      error: {
        code: 'MISSING_SEGMENT',
        segment: 'N1',
        element: 'N101',
        position: 5, // where the ship-to loop was expected: before the first PO1
        rule: 'required:N101=ST',
        transactionSet: '0002',
      },
    },
    {
      file: '850-cancel-purpose.edi',
      error: {
        code: 'UNSUPPORTED_PURPOSE',
        segment: 'BEG',
        element: 'BEG01',
        position: 2,
        rule: 'oneOf:00',
        transactionSet: '0001',
        value: '01',
      },
    },
    {
      file: '850-unknown-sku.edi',
      error: {
        code: 'UNKNOWN_ITEM',
        segment: 'PO1',
        element: 'PO107',
        position: 9,
        rule: 'knownItem',
        transactionSet: '0002',
        value: 'SKU-9999',
      },
    },
    {
      file: '850-iea-control-mismatch.edi',
      error: {
        code: 'CONTROL_NUMBER_MISMATCH',
        segment: 'IEA',
        element: 'IEA02',
        rule: 'equals:ISA13',
        value: '000004522',
      },
    },
  ])('$file is rejected with exactly $error.code at $error.element', ({ file, error }) => {
    const rejection = rejected(fixture(file));
    expect(rejection.code).toBe(error.code);
    // Precise: one finding, nothing echoed twice from the canonical contract.
    expect(rejection.errors).toHaveLength(1);
    expect(rejection.errors[0]).toMatchObject(error);
    expect(rejection.errors[0]?.message).toBeTruthy();
  });

  it('names the cancelled PO and says why a cancellation cannot create an order', () => {
    const [error] = rejected(fixture('850-cancel-purpose.edi')).errors;
    expect(error?.message).toMatch(/BEG01 01 \(cancellation\) of PO 4500012345 cannot create an order/);
  });

  it('names the PO1 line and the ids sent for an unknown item', () => {
    const [error] = rejected(fixture('850-unknown-sku.edi')).errors;
    expect(error?.message).toBe('PO1 line 002 names no item in the catalogue (VP SKU-9999)');
  });

  it('reports every missing trailer of a truncated interchange', () => {
    const rejection = rejected(fixture('850-truncated.edi'));
    expect(rejection.code).toBe('MALFORMED_ENVELOPE');
    expect(rejection.errors.map((e) => [e.code, e.segment, e.element, e.rule])).toEqual([
      ['MALFORMED_ENVELOPE', 'SE', 'SE01', 'required'],
      ['MALFORMED_ENVELOPE', 'GE', 'GE01', 'required'],
      ['MALFORMED_ENVELOPE', 'IEA', 'IEA01', 'required'],
    ]);
    expect(rejection.errors[0]?.transactionSet).toBe('0002');
    expect(rejection.control).toMatchObject({ isa13: '000004521', gs06: '4521', st02: ['0001', '0002'] });
  });

  it('rejects a document too short to hold an ISA', () => {
    const rejection = rejected(fixture('850-two-purchase-orders.edi').slice(0, 60));
    expect(rejection.errors).toEqual([
      expect.objectContaining({ code: 'MALFORMED_ENVELOPE', element: 'ISA01' }),
    ]);
  });
});

describe('parsePurchaseOrder850: rules found on edited documents', () => {
  const good = fixture('850-two-purchase-orders.edi');

  it('checks GE01 against the transaction sets in the group', () => {
    const rejection = rejected(edit(good, 'GE*2*4521~', 'GE*3*4521~'));
    expect(rejection.errors).toEqual([
      expect.objectContaining({
        code: 'CONTROL_COUNT_MISMATCH',
        segment: 'GE',
        element: 'GE01',
        rule: 'count:ST',
      }),
    ]);
  });

  it('checks SE02 against ST02', () => {
    const rejection = rejected(edit(good, 'SE*11*0002~', 'SE*11*0003~'));
    expect(rejection.errors).toEqual([
      expect.objectContaining({
        code: 'CONTROL_NUMBER_MISMATCH',
        element: 'SE02',
        position: 11,
        transactionSet: '0002',
      }),
    ]);
  });

  it('checks the ISA is fixed-width before trusting its delimiters', () => {
    const rejection = rejected(edit(good, '*ZZ*RETAILCO       *', '*ZZ*RETAILCO*'));
    expect(rejection.errors).toEqual([
      expect.objectContaining({
        code: 'MALFORMED_ENVELOPE',
        segment: 'ISA',
        element: 'ISA06',
        rule: 'fixedLength:15',
      }),
    ]);
  });

  it('refuses a test interchange unless the gateway is in test mode', () => {
    const testInterchange = edit(good, '*0*P*>~', '*0*T*>~');
    expect(rejected(testInterchange).errors).toEqual([
      expect.objectContaining({ code: 'INVALID_ELEMENT', element: 'ISA15', rule: 'oneOf:P', value: 'T' }),
    ]);
    expect(parsePurchaseOrder850(testInterchange, { ...OPTIONS, usage: 'T' }).ok).toBe(true);
  });

  it('only accepts 850 transaction sets', () => {
    const rejection = rejected(edit(good, 'ST*850*0002~', 'ST*860*0002~'));
    expect(rejection.errors).toEqual([
      expect.objectContaining({
        code: 'UNSUPPORTED_TRANSACTION',
        element: 'ST01',
        position: 1,
        value: '860',
      }),
    ]);
  });

  it('checks the CTT02 hash total against the PO102 quantities', () => {
    const rejection = rejected(edit(good, 'CTT*2*30~', 'CTT*2*31~'));
    expect(rejection.errors).toEqual([
      expect.objectContaining({
        code: 'LINE_COUNT_MISMATCH',
        element: 'CTT02',
        position: 16,
        rule: 'sum:PO102',
      }),
    ]);
  });

  it('requires the DTM 002 delivery-requested date', () => {
    const rejection = rejected(edit(good, 'DTM*002*20250312~', 'DTM*010*20250312~'));
    expect(rejection.errors).toEqual([
      expect.objectContaining({
        code: 'MISSING_SEGMENT',
        segment: 'DTM',
        element: 'DTM01',
        position: 8,
        rule: 'required:DTM01=002',
        transactionSet: '0002',
      }),
    ]);
  });

  it('refuses a fractional quantity as a whole-units rule on PO102', () => {
    const rejection = rejected(edit(good, 'PO1*002*5*EA*20**', 'PO1*002*2.5*EA*20**'));
    expect(rejection.errors).toEqual([
      expect.objectContaining({ element: 'PO102', position: 9, rule: 'positiveWholeUnits', value: '2.5' }),
    ]);
  });

  it('rejects a UPC that names a different item than the vendor part number', () => {
    const rejection = rejected(edit(good, 'VP*SKU-1001*UP*012345678905~', 'VP*SKU-1001*UP*012345678912~'));
    expect(rejection.errors).toEqual([
      expect.objectContaining({
        code: 'INVALID_ELEMENT',
        element: 'PO111',
        position: 12,
        rule: 'sameItemAs:VP',
      }),
    ]);
  });

  it('translates canonical contract violations back to X12 segment, position and element', () => {
    const raw = edit(
      edit(good, 'N4*SPRINGFIELD*IL*62701*US~', 'N4*SPRINGFIELD*IL*62701*USA~'),
      'PO1*002*5*EA*20**',
      'PO1*002*5*EA*20.00001**',
    );
    const rejection = rejected(raw);
    expect(rejection.errors).toEqual([
      expect.objectContaining({
        code: 'INVALID_ELEMENT',
        segment: 'N4',
        element: 'N404',
        position: 7,
        rule: 'pattern:/^[A-Z]{2}$/',
        canonicalPath: 'shipTo.country',
        transactionSet: '0002',
      }),
      expect.objectContaining({
        code: 'INVALID_ELEMENT',
        segment: 'PO1',
        element: 'PO104',
        position: 9,
        rule: 'maxDecimals:4',
        canonicalPath: 'lines[1].unitPrice',
      }),
    ]);
  });

  it('refuses a PO dated after it was received', () => {
    const rejection = rejected(good, { ...OPTIONS, now: new Date('2025-03-01T00:00:00Z') });
    expect(rejection.errors.map((e) => [e.element, e.rule, e.transactionSet])).toEqual([
      ['BEG05', 'notAfter:receivedAt', '0001'],
      ['BEG05', 'notAfter:receivedAt', '0002'],
    ]);
  });

  it('lists the errors of every transaction set at once', () => {
    const raw = edit(
      edit(good, 'BEG*00*SA*4500012345**20250303~', 'BEG*01*SA*4500012345**20250303~'),
      'PO1*002*5*EA*20**BP*100200301~',
      'PO1*002*5*EA*20**VP*SKU-9999~',
    );
    expect(rejected(raw).errors.map((e) => [e.transactionSet, e.code])).toEqual([
      ['0001', 'UNSUPPORTED_PURPOSE'],
      ['0002', 'UNKNOWN_ITEM'],
    ]);
  });
});

// Outbound ---------------------------------------------------------------------------------------------

const ENVELOPE: OutboundEnvelope = {
  sender: { qualifier: 'ZZ', id: 'HANDOFFDIST' },
  receiver: { qualifier: 'ZZ', id: 'RETAILCO' },
  newlineAfterSegment: true,
};

function purchaseOrder(index = 0): { order: CanonicalOrder; reference: PurchaseOrderReference } {
  const result = parsedOk(fixture('850-two-purchase-orders.edi'));
  const order = result.orders[index];
  const reference = result.references[index];
  if (!order || !reference) throw new Error('fixture has no such order');
  return { order, reference };
}

/** Strict parse: node-x12 throws on a wrong SE01/GE01/IEA01 or a control number mismatch. */
function parseStrict(x12: string): { interchange: X12Interchange; transaction: X12Transaction } {
  const parsed = new X12Parser(true).parse(x12);
  if (!(parsed instanceof X12Interchange)) throw new Error('expected one interchange');
  const transaction = parsed.functionalGroups[0]?.transactions[0];
  if (!transaction || parsed.functionalGroups.length !== 1) throw new Error('expected one group');
  return { interchange: parsed, transaction };
}

const rows = (transaction: X12Transaction, tag: string) =>
  transaction.segments.filter((s) => s.tag === tag).map((s) => s.elements.map((e) => e.value));

/** Envelope facts every outbound document must satisfy. */
function expectEnvelope(
  x12: string,
  expected: { gs01: string; st01: string; isa13: string; gs06: string; st02: string },
) {
  const { interchange, transaction } = parseStrict(x12);
  const group = interchange.functionalGroups[0];
  expect(x12.length).toBeGreaterThan(106);
  expect(x12.indexOf('GS*')).toBe(107); // 106-character ISA, then the newline
  expect(x12.slice(90, 99)).toBe(expected.isa13);
  expect(interchange.header.valueOf(6)).toBe('HANDOFFDIST    ');
  expect(interchange.header.valueOf(8)).toBe('RETAILCO       ');
  expect(interchange.trailer.valueOf(1)).toBe('1');
  expect(x12.trimEnd().endsWith(`IEA*1*${expected.isa13}~`)).toBe(true);
  expect(group?.header.valueOf(1)).toBe(expected.gs01);
  expect(group?.header.valueOf(6)).toBe(expected.gs06);
  expect(group?.header.valueOf(8)).toBe('004010');
  expect(group?.trailer.valueOf(1)).toBe('1');
  expect(group?.trailer.valueOf(2)).toBe(expected.gs06);
  expect(transaction.header.valueOf(1)).toBe(expected.st01);
  expect(transaction.header.valueOf(2)).toBe(expected.st02);
  expect(transaction.trailer.valueOf(1)).toBe(String(transaction.segments.length + 2));
  expect(transaction.trailer.valueOf(2)).toBe(expected.st02);
  return { interchange, transaction };
}

describe('build855', () => {
  const { order, reference } = purchaseOrder();
  const ack = {
    envelope: ENVELOPE,
    controlNumbers: { interchange: 901, group: 901, transaction: 1 },
    order,
    reference,
    acknowledgedAt: '2025-03-04T14:15:00Z',
    lines: [
      { lineNo: 1, status: 'accepted' as const },
      { lineNo: 2, status: 'accepted' as const, quantity: 4 },
      { lineNo: 2, status: 'backordered' as const, quantity: 2, scheduledShipDate: '2025-03-12' },
    ],
  };

  it('acknowledges each PO1 with ACK lines, echoing the partner ids, inside a valid envelope', () => {
    const document = build855(ack);
    expect(document.control).toEqual({ isa13: '000000901', gs06: '901', st02: ['0001'] });
    expect(document.idempotencyKey).toBe('edi-855:EDI-CUST-RETAILCO-4500012345:0001');
    const { transaction } = expectEnvelope(document.x12, {
      gs01: 'PR',
      st01: '855',
      isa13: '000000901',
      gs06: '901',
      st02: '0001',
    });
    expect(rows(transaction, 'BAK')).toEqual([
      ['00', 'AC', '4500012345', '20250303', '', '', '', 'EDI-CUST-RETAILCO-4500012345', '20250304'],
    ]);
    expect(rows(transaction, 'N1')).toEqual([['ST', 'RETAILCO DC 6094', '92', '6094']]);
    expect(rows(transaction, 'PO1')).toEqual([
      ['1', '24', 'EA', '12.5', '', 'VP', 'SKU-1001', 'BP', '100200300', 'UP', '012345678905'],
      ['2', '6', 'CA', '48.25', '', 'VP', 'SKU-2002', 'BP', '100200301'],
    ]);
    expect(rows(transaction, 'ACK')).toEqual([
      ['IA', '24', 'EA'],
      ['IA', '4', 'CA'],
      ['IB', '2', 'CA', '068', '20250312'],
    ]);
    expect(rows(transaction, 'CTT')).toEqual([['2']]);
    expect(transaction.trailer.valueOf(1)).toBe('10');
  });

  it('is deterministic: the same input builds the same bytes', () => {
    expect(build855(ack).x12).toBe(build855(ack).x12);
  });

  it('answers AD when every line is accepted as ordered and RD when every line is rejected', () => {
    const all = (status: 'accepted' | 'rejected') => order.lines.map((l) => ({ lineNo: l.lineNo, status }));
    const bak02 = (x12: string) => new X12QueryEngine(false).querySingle(x12, 'BAK02').value;
    expect(bak02(build855({ ...ack, lines: all('accepted') }).x12)).toBe('AD');
    expect(bak02(build855({ ...ack, lines: all('rejected') }).x12)).toBe('RD');
    const ackCodes = new X12QueryEngine(false).query(
      build855({ ...ack, lines: all('rejected') }).x12,
      'ACK01',
    );
    expect(ackCodes.map((r) => r.value)).toEqual(['IR', 'IR']);
  });

  it('refuses an acknowledgment whose quantities do not add up to the order line', () => {
    const lines = [
      { lineNo: 1, status: 'accepted' as const },
      { lineNo: 2, status: 'accepted' as const, quantity: 4 },
    ];
    expect(() => build855({ ...ack, lines })).toThrow(EdiDocumentInvalid);
    expect(() => build855({ ...ack, lines })).toThrow('line 2 acknowledges 4 of 6 ordered');
    expect(() => build855({ ...ack, lines: [{ lineNo: 1, status: 'accepted' }] })).toThrow(
      'line 2 of order EDI-CUST-RETAILCO-4500012345 is not acknowledged',
    );
  });
});

describe('build856', () => {
  const { order, reference } = purchaseOrder();
  const asn = {
    envelope: ENVELOPE,
    controlNumbers: { interchange: 902, group: 902, transaction: 7 },
    order,
    reference,
    shipmentId: 'SHP-000318',
    carrierScac: 'UPSN',
    trackingNumber: '1Z999AA10123456784',
    shippedAt: '2025-03-06T16:40:00Z',
    packages: { count: 3, grossWeight: 84.5 },
    lines: [
      { lineNo: 1, quantity: 24 },
      { lineNo: 2, quantity: 4 },
    ],
  };

  it('builds the shipment / order / item hierarchy with carrier, tracking and counts', () => {
    const document = build856(asn);
    expect(document.idempotencyKey).toBe('edi-856:EDI-CUST-RETAILCO-4500012345:SHP-000318');
    const { transaction } = expectEnvelope(document.x12, {
      gs01: 'SH',
      st01: '856',
      isa13: '000000902',
      gs06: '902',
      st02: '0007',
    });
    expect(rows(transaction, 'BSN')).toEqual([['00', 'SHP-000318', '20250306', '1640', '0004']]);
    expect(rows(transaction, 'HL')).toEqual([
      ['1', '', 'S'],
      ['2', '1', 'O'],
      ['3', '2', 'I'],
      ['4', '2', 'I'],
    ]);
    expect(rows(transaction, 'TD1')).toEqual([['CTN25', '3', '', '', '', 'G', '84.5', 'LB']]);
    expect(rows(transaction, 'TD5')).toEqual([['', '2', 'UPSN']]);
    expect(rows(transaction, 'REF')).toEqual([['CN', '1Z999AA10123456784']]);
    expect(rows(transaction, 'DTM')).toEqual([['011', '20250306', '1640']]);
    expect(rows(transaction, 'N1')).toEqual([['ST', 'RETAILCO DC 6094', '92', '6094']]);
    expect(rows(transaction, 'PRF')).toEqual([['4500012345', '', '', '20250303']]);
    expect(rows(transaction, 'LIN')).toEqual([
      ['1', 'VP', 'SKU-1001', 'BP', '100200300', 'UP', '012345678905'],
      ['2', 'VP', 'SKU-2002', 'BP', '100200301'],
    ]);
    expect(rows(transaction, 'SN1')).toEqual([
      ['1', '24', 'EA'],
      ['2', '4', 'CA'],
    ]);
    expect(rows(transaction, 'CTT')).toEqual([['4']]);
    expect(transaction.trailer.valueOf(1)).toBe('20');
  });

  it('refuses to ship more than was ordered, or an unknown line', () => {
    expect(() => build856({ ...asn, lines: [{ lineNo: 2, quantity: 7 }] })).toThrow(
      'line 2 ships 7 but 6 were ordered',
    );
    expect(() => build856({ ...asn, lines: [{ lineNo: 9, quantity: 1 }] })).toThrow(EdiDocumentInvalid);
    expect(() => build856({ ...asn, carrierScac: 'ups' })).toThrow(EdiDocumentInvalid);
  });
});

describe('build810', () => {
  const { order, reference } = purchaseOrder();
  const invoice = {
    envelope: ENVELOPE,
    controlNumbers: { interchange: 903, group: 903, transaction: 1 },
    order,
    reference,
    invoiceId: 'INV-2025-00077',
    issuedAt: '2025-03-06T17:00:00Z',
    lines: [
      { lineNo: 1, quantity: 24, unitPrice: 12.5, amount: 300 },
      { lineNo: 2, quantity: 4, unitPrice: 48.25, amount: 193 },
    ],
    total: 493,
  };

  it('builds BIG, terms, IT1 lines and the TDS total in cents', () => {
    const document = build810(invoice);
    expect(document.idempotencyKey).toBe('edi-810:EDI-CUST-RETAILCO-4500012345:INV-2025-00077');
    const { transaction } = expectEnvelope(document.x12, {
      gs01: 'IN',
      st01: '810',
      isa13: '000000903',
      gs06: '903',
      st02: '0001',
    });
    expect(rows(transaction, 'BIG')).toEqual([['20250306', 'INV-2025-00077', '20250303', '4500012345']]);
    expect(rows(transaction, 'CUR')).toEqual([['SE', 'USD']]);
    expect(rows(transaction, 'ITD')).toEqual([['01', '3', '', '', '', '', '30']]);
    expect(rows(transaction, 'IT1')).toEqual([
      ['1', '24', 'EA', '12.5', '', 'VP', 'SKU-1001', 'BP', '100200300', 'UP', '012345678905'],
      ['2', '4', 'CA', '48.25', '', 'VP', 'SKU-2002', 'BP', '100200301'],
    ]);
    expect(rows(transaction, 'PID').map((r) => r[4])).toEqual([
      'STRETCH FILM 23 MICRON',
      'PALLET WRAP CASE OF 4',
    ]);
    expect(rows(transaction, 'TDS')).toEqual([['49300']]);
    expect(rows(transaction, 'CTT')).toEqual([['2']]);
  });

  it('refuses amounts that are not quantity × price and totals that are not their sum', () => {
    const badLine = [{ lineNo: 1, quantity: 24, unitPrice: 12.5, amount: 299.99 }];
    expect(() => build810({ ...invoice, lines: badLine, total: 299.99 })).toThrow('is not 24 × 12.5');
    expect(() => build810({ ...invoice, total: 493.01 })).toThrow(
      'is not the sum of the line amounts (493.00)',
    );
  });

  it('writes free text that contains a delimiter as a space, and honours other delimiter sets', () => {
    const azHome = parsedOk(fixture('850-pipe-delimited.edi'));
    const [order850] = azHome.orders as [CanonicalOrder];
    const document = build810({
      ...invoice,
      envelope: { ...ENVELOPE, receiver: { qualifier: '01', id: '123456789' } },
      order: order850,
      reference: azHome.references[0],
      lines: [{ lineNo: 1, quantity: 3, unitPrice: 129.99, amount: 389.97 }],
      total: 389.97,
    });
    const { transaction } = parseStrict(document.x12);
    expect(rows(transaction, 'N1')).toEqual([['ST', 'A Z HOME  OUTLET 12', '92', '0012']]);
    expect(rows(transaction, 'PID')[0]?.[4]).toBe('TABLE LAMP BRASS FINISH');
    expect(rows(transaction, 'ITD')).toEqual([['01', '3', '', '', '', '', '45']]);

    const piped = build810({
      ...invoice,
      envelope: {
        ...ENVELOPE,
        delimiters: { element: '|', segment: '\n', subElement: '^' },
        newlineAfterSegment: false,
      },
    });
    const reparsed = parseStrict(piped.x12);
    expect(piped.x12.charAt(3)).toBe('|');
    expect(piped.x12.charAt(104)).toBe('^');
    expect(piped.x12.charAt(105)).toBe('\n');
    expect(rows(reparsed.transaction, 'TDS')).toEqual([['49300']]);
  });
});

describe('functionalAcknowledgment997', () => {
  const envelope = { envelope: ENVELOPE, preparedAt: '2025-03-04T09:31:00Z' };

  it('accepts every transaction set of an accepted interchange', () => {
    const outcome = parsePurchaseOrder850(fixture('850-two-purchase-orders.edi'), OPTIONS);
    const document = functionalAcknowledgment997({
      ...envelope,
      controlNumbers: { interchange: 904, group: 904, transaction: 1 },
      outcome,
    });
    const { transaction } = expectEnvelope(document.x12, {
      gs01: 'FA',
      st01: '997',
      isa13: '000000904',
      gs06: '904',
      st02: '0001',
    });
    expect(rows(transaction, 'AK1')).toEqual([['PO', '4521']]);
    expect(rows(transaction, 'AK2')).toEqual([
      ['850', '0001'],
      ['850', '0002'],
    ]);
    expect(rows(transaction, 'AK5')).toEqual([['A'], ['A']]);
    expect(rows(transaction, 'AK9')).toEqual([['A', '2', '2', '2']]);
    expect(document.idempotencyKey).toBe('edi-997:RETAILCO:000004521:4521');
  });

  it('points the partner at the segment, position and element of each finding', () => {
    const outcome = parsePurchaseOrder850(fixture('850-non-numeric-quantity.edi'), OPTIONS);
    const document = functionalAcknowledgment997({
      ...envelope,
      controlNumbers: { interchange: 905, group: 905, transaction: 1 },
      outcome,
    });
    const { transaction } = parseStrict(document.x12);
    expect(transaction.segments.map((s) => [s.tag, ...s.elements.map((e) => e.value)])).toEqual([
      ['AK1', 'PO', '4521'],
      ['AK2', '850', '0001'],
      ['AK3', 'PO1', '14', '', '8'],
      ['AK4', '2', '', '6', '1O'],
      ['AK5', 'R', '5'],
      ['AK2', '850', '0002'],
      ['AK5', 'R'],
      ['AK9', 'R', '2', '2', '0'],
    ]);
  });

  it('reports a transaction set count error as AK5 code 4', () => {
    const outcome = parsePurchaseOrder850(fixture('850-se-count-wrong.edi'), OPTIONS);
    const document = functionalAcknowledgment997({
      ...envelope,
      controlNumbers: { interchange: 906, group: 906, transaction: 1 },
      outcome,
    });
    expect(rows(parseStrict(document.x12).transaction, 'AK5')).toEqual([['R', '4'], ['R']]);
  });
});

describe('parsePurchaseOrder850: a PO too large to announce', () => {
  it('refuses a PO whose order.received would be over 256 KB, on its ST, for customer service to split', () => {
    const now = new Date('2026-11-23T09:00:00Z');
    const raw = interchange850(now, {
      control: 4242,
      po: 'PO-HUGE',
      lines: Array.from({ length: 500 }, () => ({ sku: 'SKU-1001', quantity: '1', price: '9.99' })),
      body: (body) =>
        body.flatMap((s) => (s[0] === 'PO1' ? [s, ['PID', 'F', '', '', '', '東'.repeat(200)]] : [s])),
    });
    const result = parsePurchaseOrder850(raw, {
      ...OPTIONS,
      tradingPartners: {
        LAKESHOREHC: { ...(OPTIONS.tradingPartners.RETAILCO as TradingPartnerProfile), defaultCountry: 'US' },
      },
      now,
    });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.rejection.errors).toEqual([
      expect.objectContaining({
        code: 'DOCUMENT_TOO_LARGE',
        segment: 'ST',
        element: 'ST01',
        position: 1,
        transactionSet: '4242',
        rule: 'maxBytes:262144',
      }),
    ]);
  });
});
