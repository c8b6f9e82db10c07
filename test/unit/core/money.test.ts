import { describe, expect, it } from 'vitest';
import { marginPct, orderCost, orderValue, roundMoney, toCents } from '../../../lambdas/core/money.ts';

describe('roundMoney', () => {
  it('rounds to two decimals without binary float drift (1.005 -> 1.01, 2.675 -> 2.68)', () => {
    expect(roundMoney(1.005)).toBe(1.01);
    expect(roundMoney(2.675)).toBe(2.68);
    expect(roundMoney(0.1 + 0.2)).toBe(0.3);
  });

  it('rounds halves away from zero for negative amounts', () => {
    expect(roundMoney(-1.005)).toBe(-1.01);
    expect(roundMoney(-2.344)).toBe(-2.34);
  });

  it('never returns negative zero for amounts that round to nothing', () => {
    expect(Object.is(roundMoney(-0.001), 0)).toBe(true);
  });

  it('leaves amounts that are already whole cents unchanged', () => {
    expect(roundMoney(12.5)).toBe(12.5);
    expect(roundMoney(1234567.89)).toBe(1234567.89);
  });
});

describe('toCents', () => {
  it('converts major units to integer cents', () => {
    expect(toCents(12.5)).toBe(1250);
    expect(toCents(0.07)).toBe(7);
    expect(toCents(-3.335)).toBe(-334);
  });
});

describe('orderValue', () => {
  it('sums quantity x unit price over all lines in exact cents (0.1 + 0.2 is 0.3)', () => {
    expect(
      orderValue([
        { quantity: 1, unitPrice: 0.1 },
        { quantity: 1, unitPrice: 0.2 },
      ]),
    ).toBe(0.3);
    expect(
      orderValue([
        { quantity: 3, unitPrice: 12.5 },
        { quantity: 10, unitPrice: 4.99 },
      ]),
    ).toBe(87.4);
  });

  it('rounds each line extension to cents before summing', () => {
    // Each line is 0.004 -> 0.00; summing unrounded first would give 0.012 -> 0.01.
    expect(
      orderValue([
        { quantity: 1, unitPrice: 0.004 },
        { quantity: 1, unitPrice: 0.004 },
        { quantity: 1, unitPrice: 0.004 },
      ]),
    ).toBe(0);
    expect(orderValue([{ quantity: 1000, unitPrice: 0.0125 }])).toBe(12.5);
  });

  it('is 0 for an order without lines', () => {
    expect(orderValue([])).toBe(0);
  });
});

describe('orderCost', () => {
  it('sums quantity x unit cost over all lines in exact cents', () => {
    expect(
      orderCost([
        { quantity: 2, unitCost: 0.1 },
        { quantity: 1, unitCost: 0.2 },
        { quantity: 7, unitCost: 1.15 },
      ]),
    ).toBe(8.45);
    expect(orderCost([])).toBe(0);
  });

  it('ignores price fields: only unit cost counts', () => {
    expect(
      orderCost([{ quantity: 2, unitCost: 3, unitPrice: 100 } as { quantity: number; unitCost: number }]),
    ).toBe(6);
  });
});

describe('marginPct', () => {
  it('is 0 when the order value is 0, whatever the cost', () => {
    expect(marginPct(0, 0)).toBe(0);
    expect(marginPct(0, 50)).toBe(0);
  });

  it('is (value - cost) / value x 100', () => {
    expect(marginPct(100, 75)).toBe(25);
    expect(marginPct(200, 0)).toBe(100);
  });

  it('rounds to two decimals', () => {
    expect(marginPct(3, 2)).toBe(33.33);
    expect(marginPct(3, 1)).toBe(66.67);
  });

  it('is negative when the order is sold below cost', () => {
    expect(marginPct(100, 120)).toBe(-20);
  });
});
