import { describe, expect, it } from 'vitest';
import { MAX_ORDER_LINES, parseCanonicalOrder } from '../../../contracts/order.ts';
import { ContractViolation, type FieldViolation } from '../../../contracts/validation.ts';
import { line, validOrder } from './canonical-order.fixture.ts';
import { type Edits, edited, REMOVE } from './payload-edits.ts';

function broken(edits: Edits): unknown {
  return edited(validOrder(), edits);
}

function parse(input: unknown) {
  return parseCanonicalOrder(input);
}

function violationsOf(input: unknown): FieldViolation[] {
  const result = parse(input);
  if (result.ok) throw new Error('expected the order to be rejected, but it parsed');
  return [...result.error.violations];
}

function rulesOf(input: unknown): { path: string; rule: string }[] {
  return violationsOf(input).map(({ path, rule }) => ({ path, rule }));
}

describe('canonical order contract', () => {
  it('accepts a complete, valid order and returns it unchanged', () => {
    const result = parse(validOrder());
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.value).toEqual(validOrder());
  });

  it('accepts an order with only the required fields', () => {
    const minimal = broken({
      customerPo: REMOVE,
      requestedSiteId: REMOVE,
      'customer.name': REMOVE,
      'shipTo.line2': REMOVE,
      'shipTo.region': REMOVE,
      'shipTo.email': REMOVE,
      'shipTo.phone': REMOVE,
      lines: [{ lineNo: 1, sku: 'A', quantity: 1, uom: 'EA', unitPrice: 0, unitCost: 0 }],
    });
    expect(parse(minimal).ok).toBe(true);
  });

  it('accepts a promise date on the same calendar day as the order', () => {
    expect(parse(broken({ promiseDate: '2025-03-03' })).ok).toBe(true);
  });

  it(`accepts exactly ${MAX_ORDER_LINES} lines`, () => {
    const lines = Array.from({ length: MAX_ORDER_LINES }, (_, i) => line(i + 1));
    expect(parse(broken({ lines })).ok).toBe(true);
  });

  it('accepts money with exactly 4 decimals', () => {
    expect(parse(broken({ 'lines[0].unitPrice': 1234.5678, 'lines[0].unitCost': 0.0001 })).ok).toBe(true);
  });

  describe('rejects each broken field with its exact path and rule', () => {
    const cases: [string, Edits, { path: string; rule: string }][] = [
      ['a zero quantity', { 'lines[0].quantity': 0 }, { path: 'lines[0].quantity', rule: '>0' }],
      ['a negative quantity', { 'lines[1].quantity': -3 }, { path: 'lines[1].quantity', rule: '>0' }],
      [
        'a fractional quantity',
        { 'lines[0].quantity': 1.5 },
        { path: 'lines[0].quantity', rule: 'type:int' },
      ],
      [
        'a quantity sent as a string',
        { 'lines[0].quantity': '2' },
        { path: 'lines[0].quantity', rule: 'type:number' },
      ],
      [
        'an unknown field on a line',
        { 'lines[1].extra': true },
        { path: 'lines[1].extra', rule: 'unknownField' },
      ],
      ['an unknown top-level field', { notes: 'rush' }, { path: 'notes', rule: 'unknownField' }],
      ['a lower-case currency', { currency: 'eur' }, { path: 'currency', rule: 'pattern:/^[A-Z]{3}$/' }],
      [
        'a country name instead of an ISO code',
        { 'shipTo.country': 'Netherlands' },
        { path: 'shipTo.country', rule: 'pattern:/^[A-Z]{2}$/' },
      ],
      ['a duplicate line number', { 'lines[1].lineNo': 1 }, { path: 'lines[1].lineNo', rule: 'unique' }],
      [
        'a promise date before the order date',
        { promiseDate: '2025-03-02' },
        { path: 'promiseDate', rule: 'notBefore:orderedAt' },
      ],
      [
        'a unit price with 5 decimals',
        { 'lines[0].unitPrice': 1.23456 },
        { path: 'lines[0].unitPrice', rule: 'maxDecimals:4' },
      ],
      [
        'a unit cost with 5 decimals',
        { 'lines[1].unitCost': 0.00001 },
        { path: 'lines[1].unitCost', rule: 'maxDecimals:4' },
      ],
      ['a negative unit price', { 'lines[0].unitPrice': -1 }, { path: 'lines[0].unitPrice', rule: '>=0' }],
      [
        'an unknown channel',
        { channel: 'mail-order' },
        { path: 'channel', rule: 'oneOf:wholesale|retail-replenishment|direct-to-customer' },
      ],
      [
        'an unknown service level',
        { serviceLevel: 'same-day' },
        { path: 'serviceLevel', rule: 'oneOf:economy|standard|expedited|next-day' },
      ],
      [
        'an unknown source system',
        { 'source.system': 'fax' },
        { path: 'source.system', rule: 'oneOf:erp|edi|portal|ecommerce' },
      ],
      ['a missing ship-to city', { 'shipTo.city': REMOVE }, { path: 'shipTo.city', rule: 'required' }],
      ['an empty ship-to name', { 'shipTo.name': '' }, { path: 'shipTo.name', rule: 'minLength:1' }],
      ['no lines at all', { lines: [] }, { path: 'lines', rule: 'minItems:1' }],
      [
        'an order id that is not a safe execution name',
        { orderId: 'ORD 1' },
        { path: 'orderId', rule: 'pattern:/^[A-Za-z0-9][A-Za-z0-9_-]{0,79}$/' },
      ],
      [
        'an order timestamp without an offset',
        { orderedAt: '2025-03-03T09:30:00' },
        { path: 'orderedAt', rule: 'format:datetime' },
      ],
      [
        'an impossible promise date',
        { promiseDate: '2025-04-31' },
        { path: 'promiseDate', rule: 'format:date' },
      ],
      [
        'a malformed email',
        { 'shipTo.email': 'receiving-at-northwind' },
        { path: 'shipTo.email', rule: 'format:email' },
      ],
      [
        'unknown payment terms',
        { 'customer.terms.paymentTerms': 'NET' },
        { path: 'customer.terms.paymentTerms', rule: 'pattern:/^(NET[0-9]{1,3}|CIA|COD|PREPAID)$/' },
      ],
      [
        'a customer PO longer than 40 characters',
        { customerPo: 'P'.repeat(41) },
        { path: 'customerPo', rule: 'maxLength:40' },
      ],
    ];

    it.each(cases)('%s', (_label, edits, expected) => {
      expect(rulesOf(broken(edits))).toEqual([expected]);
    });
  });

  it(`rejects more than ${MAX_ORDER_LINES} lines with maxItems:${MAX_ORDER_LINES}`, () => {
    const lines = Array.from({ length: MAX_ORDER_LINES + 1 }, (_, i) => line(i + 1));
    expect(rulesOf(broken({ lines }))).toEqual([{ path: 'lines', rule: `maxItems:${MAX_ORDER_LINES}` }]);
  });

  it('reports a missing enum field as required, like every other missing field', () => {
    expect(rulesOf(broken({ 'customer.terms.fulfilment': REMOVE }))).toEqual([
      { path: 'customer.terms.fulfilment', rule: 'required' },
    ]);
  });

  it('reports every broken field of one payload in one ContractViolation', () => {
    const result = parse(
      broken({
        'lines[0].quantity': 0,
        'lines[1].extra': 'x',
        'lines[1].lineNo': 1,
        currency: 'euro',
        'shipTo.country': 'nl',
        'shipTo.city': REMOVE,
        'lines[0].unitPrice': 9.99999,
      }),
    );
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error).toBeInstanceOf(ContractViolation);
    expect(result.error.contract).toBe('canonical order');
    const found = result.error.violations.map(({ path, rule }) => ({ path, rule }));
    expect(found).toEqual(
      expect.arrayContaining([
        { path: 'lines[0].quantity', rule: '>0' },
        { path: 'lines[1].extra', rule: 'unknownField' },
        { path: 'lines[1].lineNo', rule: 'unique' },
        { path: 'currency', rule: 'pattern:/^[A-Z]{3}$/' },
        { path: 'shipTo.country', rule: 'pattern:/^[A-Z]{2}$/' },
        { path: 'shipTo.city', rule: 'required' },
        { path: 'lines[0].unitPrice', rule: 'maxDecimals:4' },
      ]),
    );
    expect(found).toHaveLength(7);
  });

  it('reports the cross-field date rule together with unrelated field errors', () => {
    const found = rulesOf(
      broken({
        promiseDate: '2025-03-01',
        currency: 'eur',
        'lines[0].quantity': 0,
        'shipTo.country': 'Netherlands',
        'lines[1].surprise': 1,
      }),
    );
    expect(found).toEqual(
      expect.arrayContaining([
        { path: 'promiseDate', rule: 'notBefore:orderedAt' },
        { path: 'currency', rule: 'pattern:/^[A-Z]{3}$/' },
        { path: 'lines[0].quantity', rule: '>0' },
        { path: 'shipTo.country', rule: 'pattern:/^[A-Z]{2}$/' },
        { path: 'lines[1].surprise', rule: 'unknownField' },
      ]),
    );
    expect(found).toHaveLength(5);
  });

  it('reports the cross-field rules even when a whole-number field holds a fraction', () => {
    const found = rulesOf(
      broken({ 'lines[0].quantity': 2.5, 'lines[1].lineNo': 1, promiseDate: '2025-03-01' }),
    );
    expect(found).toEqual(
      expect.arrayContaining([
        { path: 'lines[0].quantity', rule: 'type:int' },
        { path: 'lines[1].lineNo', rule: 'unique' },
        { path: 'promiseDate', rule: 'notBefore:orderedAt' },
      ]),
    );
  });

  it('compares the promise date with the calendar date of the order timestamp as written', () => {
    const lateEvening = '2025-03-07T23:30:00-05:00';
    expect(parse(broken({ orderedAt: lateEvening, promiseDate: '2025-03-07' })).ok).toBe(true);
    expect(rulesOf(broken({ orderedAt: lateEvening, promiseDate: '2025-03-06' }))).toEqual([
      { path: 'promiseDate', rule: 'notBefore:orderedAt' },
    ]);
  });

  it.each([
    ['null', null, 'type:object'],
    ['a string', 'order', 'type:object'],
    ['a number', 42, 'type:object'],
    ['nothing', undefined, 'required'],
  ])('reports %s instead of an order at the root', (_label, payload, rule) => {
    expect(rulesOf(payload)).toEqual([{ path: '', rule }]);
  });

  it('rejects with a permanent error named ContractViolation', () => {
    const result = parse(broken({ currency: 'eur' }));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error).toBeInstanceOf(Error);
    expect(result.error.name).toBe('ContractViolation');
    expect(result.error.retryable).toBe(false);
    expect(result.error.message).toBe(
      'canonical order is invalid: currency must match /^[A-Z]{3}$/ [pattern:/^[A-Z]{3}$/]',
    );
  });

  it('never passes the validation library wording through to the caller', () => {
    const payload = broken({
      'lines[0].quantity': '2',
      'lines[1].quantity': 0,
      'lines[1].unknown': true,
      'lines[2]': line(1),
      'lines[0].unitPrice': 0.123456,
      channel: 'fax',
      currency: 'eur',
      orderedAt: 'yesterday',
      'shipTo.email': 'nope',
      'shipTo.city': REMOVE,
      'customer.name': '',
      customerPo: 'x'.repeat(41),
    });
    const result = parse(payload);
    if (result.ok) throw new Error('expected a rejection');
    expect(result.error.violations.length).toBeGreaterThanOrEqual(10);
    const libraryWording =
      /invalid input|invalid option|too small|too big|unrecognized key|invalid string|received/i;
    expect(result.error.message).not.toMatch(libraryWording);
    for (const violation of result.error.violations) {
      expect(violation.message).not.toMatch(libraryWording);
      expect(violation.rule).not.toMatch(/^(custom|invalid)$/);
    }
  });
});
