import { describe, expect, it } from 'vitest';
import type { ShortLine, StockPosition } from '../../../lambdas/core/allocation.ts';
import {
  type BackorderLine,
  type BackorderPriority,
  type BackorderRule,
  backorderIdFor,
  type CreateBackordersInput,
  createBackorderLines,
  InvalidBackorderInput,
  type ReevaluateBackordersInput,
  reevaluateBackorders,
  sweepAgedBackorders,
} from '../../../lambdas/core/backorder.ts';
import { DomainError } from '../../../lambdas/core/errors.ts';

const SKU = 'SKU-A';
const NOW = '2025-03-10T12:00:00.000Z';
const PARTIAL_OK: BackorderRule = { maxAgeDays: 30, onAged: 'cancel', allowPartialFill: true };
const COMPLETE_ONLY: BackorderRule = { maxAgeDays: 30, onAged: 'cancel', allowPartialFill: false };

function pos(onHand: number, reserved = 0, safetyStock = 0): StockPosition {
  return { onHand, reserved, safetyStock };
}

/** An open backorder created on 1 March that ages out on 31 March unless overridden. */
function backorder(orderId: string, quantity: number, overrides: Partial<BackorderLine> = {}): BackorderLine {
  return {
    backorderId: backorderIdFor(orderId, 1),
    orderId,
    lineNo: 1,
    sku: SKU,
    quantity,
    createdAt: '2025-03-01T00:00:00.000Z',
    status: 'open',
    cancelAfter: '2025-03-31T00:00:00.000Z',
    ...overrides,
  };
}

function priority(priorityScore: number, promiseDate = '2025-03-20'): BackorderPriority {
  return { priorityScore, promiseDate };
}

/**
 * Re-evaluation input for the given backorders: every order gets the partial-fill rule and priority 300
 * unless listed in `rules` / `priorities`. Stock is at SITE-1 (the receiving site) unless `positions` says.
 */
function reevaluation(
  backorders: BackorderLine[],
  overrides: Partial<ReevaluateBackordersInput> = {},
): ReevaluateBackordersInput {
  const orderIds = [...new Set(backorders.map((b) => b.orderId))];
  return {
    received: { sku: SKU, siteId: 'SITE-1', quantity: 10 },
    backorders,
    positions: { 'SITE-1': pos(10) },
    now: NOW,
    ...overrides,
    rules: { ...Object.fromEntries(orderIds.map((id) => [id, PARTIAL_OK])), ...overrides.rules },
    priorities: { ...Object.fromEntries(orderIds.map((id) => [id, priority(300)])), ...overrides.priorities },
  };
}

function creation(overrides: Partial<CreateBackordersInput> = {}): CreateBackordersInput {
  return {
    orderId: 'ORD-1',
    shortLines: [{ lineNo: 1, sku: SKU, shortBy: 4 }],
    createdAt: '2025-03-01T09:30:00Z',
    rule: PARTIAL_OK,
    ...overrides,
  };
}

function captureError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to throw');
}

describe('createBackorderLines', () => {
  it('creates one open backorder per short line with an id derived from order and line', () => {
    const lines = createBackorderLines(
      creation({
        shortLines: [
          { lineNo: 3, sku: 'SKU-C', shortBy: 2 },
          { lineNo: 1, sku: 'SKU-A', shortBy: 4 },
        ],
        rule: { ...PARTIAL_OK, maxAgeDays: 14 },
      }),
    );
    expect(lines).toEqual([
      {
        backorderId: 'ORD-1-BO-1',
        orderId: 'ORD-1',
        lineNo: 1,
        sku: 'SKU-A',
        quantity: 4,
        createdAt: '2025-03-01T09:30:00.000Z',
        status: 'open',
        cancelAfter: '2025-03-15T09:30:00.000Z',
      },
      {
        backorderId: 'ORD-1-BO-3',
        orderId: 'ORD-1',
        lineNo: 3,
        sku: 'SKU-C',
        quantity: 2,
        createdAt: '2025-03-01T09:30:00.000Z',
        status: 'open',
        cancelAfter: '2025-03-15T09:30:00.000Z',
      },
    ]);
  });

  it('yields identical lines when the same shortage is processed again (redelivery creates nothing new)', () => {
    expect(createBackorderLines(creation())).toEqual(createBackorderLines(creation()));
    expect(createBackorderLines(creation())[0]?.backorderId).toBe(backorderIdFor('ORD-1', 1));
  });

  it('accepts the short lines of an allocation plan as they are', () => {
    const short: ShortLine[] = [{ lineNo: 2, sku: SKU, requested: 10, available: 3, shortBy: 7 }];
    const [line] = createBackorderLines(creation({ shortLines: short }));
    expect(line).toMatchObject({ backorderId: 'ORD-1-BO-2', lineNo: 2, quantity: 7 });
  });

  it('normalises createdAt to UTC and ages by whole 24-hour days, across month ends', () => {
    const [line] = createBackorderLines(
      creation({ createdAt: '2025-02-28T23:00:00-02:00', rule: { ...PARTIAL_OK, maxAgeDays: 1 } }),
    );
    expect(line?.createdAt).toBe('2025-03-01T01:00:00.000Z');
    expect(line?.cancelAfter).toBe('2025-03-02T01:00:00.000Z');
  });

  it.each([
    [{ shortLines: [{ lineNo: 1, sku: SKU, shortBy: 0 }] }, 'shortLines[0].shortBy', /positive integer/],
    [{ shortLines: [{ lineNo: 1, sku: SKU, shortBy: -2 }] }, 'shortLines[0].shortBy', /positive integer/],
    [{ shortLines: [{ lineNo: 1, sku: SKU, shortBy: 1.5 }] }, 'shortLines[0].shortBy', /positive integer/],
    [{ shortLines: [{ lineNo: 0, sku: SKU, shortBy: 1 }] }, 'shortLines[0].lineNo', /positive integer/],
    [{ shortLines: [{ lineNo: 1, sku: '', shortBy: 1 }] }, 'shortLines[0].sku', /non-empty/],
    [{ shortLines: [] }, 'shortLines', /at least one line/],
    [{ orderId: '' }, 'orderId', /non-empty/],
    [{ rule: { ...PARTIAL_OK, maxAgeDays: 0 } }, 'rule.maxAgeDays', /positive integer/],
    [{ rule: { ...PARTIAL_OK, maxAgeDays: 2.5 } }, 'rule.maxAgeDays', /positive integer/],
    [{ rule: { ...PARTIAL_OK, minFillQuantity: 0 } }, 'rule.minFillQuantity', /positive integer/],
    [
      { rule: { ...PARTIAL_OK, onAged: 'escalate' as BackorderRule['onAged'] } },
      'rule.onAged',
      /must be one of cancel, notify-and-keep/,
    ],
    [{ createdAt: '2025-03-01T09:30:00' }, 'createdAt', /zone designator/],
    [{ createdAt: '2025-02-30T09:30:00Z' }, 'createdAt', /real date/],
    [{ createdAt: 'yesterday' }, 'createdAt', /ISO 8601/],
  ] as const)('rejects %j naming %s', (overrides, field, rule) => {
    const error = captureError(() => createBackorderLines(creation(overrides)));
    expect(error).toBeInstanceOf(InvalidBackorderInput);
    expect(error).toMatchObject({ name: 'InvalidBackorderInput', field, retryable: false });
    expect((error as InvalidBackorderInput).rule).toMatch(rule);
  });

  it('rejects a line number used twice, naming the second occurrence', () => {
    const error = captureError(() =>
      createBackorderLines(
        creation({
          shortLines: [
            { lineNo: 1, sku: SKU, shortBy: 1 },
            { lineNo: 1, sku: 'SKU-B', shortBy: 2 },
          ],
        }),
      ),
    );
    expect(error).toMatchObject({ field: 'shortLines[1].lineNo' });
    expect((error as InvalidBackorderInput).rule).toMatch(/unique/);
  });

  it('raises a permanent domain error whose message carries the field and the rule', () => {
    const error = captureError(() =>
      createBackorderLines(creation({ rule: { ...PARTIAL_OK, maxAgeDays: 0 } })),
    );
    expect(error).toBeInstanceOf(DomainError);
    expect((error as Error).message).toBe('rule.maxAgeDays must be a positive integer (got 0)');
  });
});

describe('reevaluateBackorders: service order', () => {
  it('serves the highest priority score first, wherever it sits in the input', () => {
    const low = backorder('ORD-LOW', 6);
    const high = backorder('ORD-HIGH', 6);
    const result = reevaluateBackorders(
      reevaluation([low, high], { priorities: { 'ORD-LOW': priority(300), 'ORD-HIGH': priority(800) } }),
    );
    expect(result.fills).toEqual([
      {
        backorderId: 'ORD-HIGH-BO-1',
        orderId: 'ORD-HIGH',
        lineNo: 1,
        sku: SKU,
        siteId: 'SITE-1',
        quantity: 6,
        complete: true,
        remaining: 0,
      },
      {
        backorderId: 'ORD-LOW-BO-1',
        orderId: 'ORD-LOW',
        lineNo: 1,
        sku: SKU,
        siteId: 'SITE-1',
        quantity: 4,
        complete: false,
        remaining: 2,
      },
    ]);
    expect(result.stillOpen).toEqual(['ORD-LOW-BO-1']);
    expect(result.reasonCodes).toEqual({
      'ORD-HIGH-BO-1': ['FILLED_COMPLETE'],
      'ORD-LOW-BO-1': ['FILLED_PARTIAL'],
    });
  });

  it('breaks priority ties by promise date, then creation time, then backorder id', () => {
    const backorders = [
      backorder('ORD-E', 1, { createdAt: '2025-03-02T00:00:00Z' }),
      backorder('ORD-D', 1, { createdAt: '2025-03-02T00:00:00Z' }),
      backorder('ORD-C', 1, { createdAt: '2025-03-01T00:00:00Z' }),
      backorder('ORD-B', 1),
      backorder('ORD-A', 1),
    ];
    const result = reevaluateBackorders(
      reevaluation(backorders, {
        priorities: {
          'ORD-A': priority(900, '2025-03-25'),
          'ORD-B': priority(500, '2025-03-12'),
          'ORD-C': priority(500, '2025-03-15'),
          'ORD-D': priority(500, '2025-03-15'),
          'ORD-E': priority(500, '2025-03-15'),
        },
      }),
    );
    expect(result.fills.map((f) => f.orderId)).toEqual(['ORD-A', 'ORD-B', 'ORD-C', 'ORD-D', 'ORD-E']);
    expect(result.stillOpen).toEqual([]);
  });

  it('compares creation instants, not their text, when zones differ', () => {
    // 09:00+02:00 is 07:00Z, earlier than 08:00Z even though it sorts later as text.
    const result = reevaluateBackorders(
      reevaluation(
        [
          backorder('ORD-A', 5, { createdAt: '2025-03-01T08:00:00Z' }),
          backorder('ORD-B', 5, { createdAt: '2025-03-01T09:00:00+02:00' }),
        ],
        { positions: { 'SITE-1': pos(5) } },
      ),
    );
    expect(result.fills.map((f) => f.orderId)).toEqual(['ORD-B']);
  });

  it('gives the same result whatever the order of the input backorders', () => {
    const backorders = ['A', 'B', 'C', 'D'].map((o, i) => backorder(`ORD-${o}`, 3 + i));
    const priorities = { 'ORD-A': priority(100), 'ORD-B': priority(700), 'ORD-C': priority(400) };
    const forward = reevaluateBackorders(reevaluation(backorders, { priorities }));
    const reversed = reevaluateBackorders(reevaluation([...backorders].reverse(), { priorities }));
    expect(reversed).toEqual(forward);
  });
});

describe('reevaluateBackorders: partial fills and minimum fill quantity', () => {
  it('fills only completely when the rule forbids partial fills, passing the stock to the next backorder', () => {
    const result = reevaluateBackorders(
      reevaluation([backorder('ORD-BIG', 12), backorder('ORD-SMALL', 3)], {
        rules: { 'ORD-BIG': COMPLETE_ONLY },
        priorities: { 'ORD-BIG': priority(900) },
      }),
    );
    expect(result.fills).toHaveLength(1);
    expect(result.fills[0]).toMatchObject({ orderId: 'ORD-SMALL', quantity: 3, complete: true });
    expect(result.reasonCodes['ORD-BIG-BO-1']).toEqual(['PARTIAL_FILL_NOT_ALLOWED']);
    expect(result.stillOpen).toEqual(['ORD-BIG-BO-1']);
  });

  it('fills a complete-only backorder once the stock covers all of it', () => {
    const result = reevaluateBackorders(
      reevaluation([backorder('ORD-1', 10)], { rules: { 'ORD-1': COMPLETE_ONLY } }),
    );
    expect(result.fills).toMatchObject([{ quantity: 10, complete: true, remaining: 0 }]);
    expect(result.stillOpen).toEqual([]);
  });

  it('fills part of a backorder that allows partial fills and leaves the rest open', () => {
    const result = reevaluateBackorders(reevaluation([backorder('ORD-1', 25)]));
    expect(result.fills).toMatchObject([{ quantity: 10, complete: false, remaining: 15 }]);
    expect(result.stillOpen).toEqual(['ORD-1-BO-1']);
    expect(result.reasonCodes['ORD-1-BO-1']).toEqual(['FILLED_PARTIAL']);
  });

  it('skips a partial fill smaller than the rule minimum', () => {
    const result = reevaluateBackorders(
      reevaluation([backorder('ORD-1', 25)], { rules: { 'ORD-1': { ...PARTIAL_OK, minFillQuantity: 11 } } }),
    );
    expect(result.fills).toEqual([]);
    expect(result.reasonCodes['ORD-1-BO-1']).toEqual(['BELOW_MIN_FILL_QUANTITY']);
  });

  it('makes a partial fill exactly at the rule minimum', () => {
    const result = reevaluateBackorders(
      reevaluation([backorder('ORD-1', 25)], { rules: { 'ORD-1': { ...PARTIAL_OK, minFillQuantity: 10 } } }),
    );
    expect(result.fills).toMatchObject([{ quantity: 10, complete: false }]);
  });

  it('always completes a backorder whose remainder is below the minimum fill', () => {
    const result = reevaluateBackorders(
      reevaluation([backorder('ORD-1', 3)], { rules: { 'ORD-1': { ...PARTIAL_OK, minFillQuantity: 5 } } }),
    );
    expect(result.fills).toMatchObject([{ quantity: 3, complete: true }]);
  });
});

describe('reevaluateBackorders: available-to-promise', () => {
  it('never promises reserved units or safety stock, and says when safety stock held a fill back', () => {
    // on hand 10, 2 reserved, 3 safety stock: 5 available to promise.
    const positions = { 'SITE-1': pos(10, 2, 3) };
    const completeOnly = reevaluateBackorders(
      reevaluation([backorder('ORD-1', 6)], { positions, rules: { 'ORD-1': COMPLETE_ONLY } }),
    );
    expect(completeOnly.fills).toEqual([]);
    expect(completeOnly.reasonCodes['ORD-1-BO-1']).toEqual([
      'PARTIAL_FILL_NOT_ALLOWED',
      'SAFETY_STOCK_PROTECTED',
    ]);

    const partial = reevaluateBackorders(reevaluation([backorder('ORD-1', 6)], { positions }));
    expect(partial.fills).toMatchObject([{ quantity: 5, complete: false, remaining: 1 }]);
    expect(partial.reasonCodes['ORD-1-BO-1']).toEqual(['FILLED_PARTIAL', 'SAFETY_STOCK_PROTECTED']);
  });

  it('reports no stock when nothing is available to promise at any site', () => {
    const result = reevaluateBackorders(
      reevaluation([backorder('ORD-1', 2)], { positions: { 'SITE-1': pos(4, 4), 'SITE-2': undefined } }),
    );
    expect(result.fills).toEqual([]);
    expect(result.stillOpen).toEqual(['ORD-1-BO-1']);
    expect(result.reasonCodes['ORD-1-BO-1']).toEqual(['NO_STOCK_AVAILABLE']);
  });

  it('draws from the receiving site first, then covers a backorder completely from another site', () => {
    const result = reevaluateBackorders(
      reevaluation([backorder('ORD-A', 4), backorder('ORD-B', 6)], {
        received: { sku: SKU, siteId: 'SITE-2', quantity: 5 },
        positions: { 'SITE-1': pos(8), 'SITE-2': pos(5) },
        priorities: { 'ORD-A': priority(900) },
      }),
    );
    expect(result.fills.map((f) => [f.orderId, f.siteId, f.quantity])).toEqual([
      ['ORD-A', 'SITE-2', 4],
      ['ORD-B', 'SITE-1', 6],
    ]);
  });

  it('fills a partial backorder from the site with the most stock left when none covers it', () => {
    const result = reevaluateBackorders(
      reevaluation([backorder('ORD-1', 20)], { positions: { 'SITE-1': pos(3), 'SITE-2': pos(7) } }),
    );
    expect(result.fills).toMatchObject([{ siteId: 'SITE-2', quantity: 7, remaining: 13 }]);
  });

  it('never allocates more than is available across many backorders and sites', () => {
    const positions = { 'SITE-1': pos(23, 4, 2), 'SITE-2': pos(17, 0, 5), 'SITE-3': pos(9, 9, 0) };
    const backorders = Array.from({ length: 30 }, (_, i) =>
      backorder(`ORD-${String(i).padStart(2, '0')}`, 1 + ((i * 7) % 9)),
    );
    const rules = Object.fromEntries(
      backorders.map((b, i) => [
        b.orderId,
        i % 3 === 0 ? COMPLETE_ONLY : { ...PARTIAL_OK, minFillQuantity: 1 + (i % 4) },
      ]),
    );
    const priorities = Object.fromEntries(backorders.map((b, i) => [b.orderId, priority((i * 37) % 500)]));
    const result = reevaluateBackorders(reevaluation(backorders, { positions, rules, priorities }));

    const bySite = new Map<string, number>();
    for (const fill of result.fills) bySite.set(fill.siteId, (bySite.get(fill.siteId) ?? 0) + fill.quantity);
    expect(bySite.get('SITE-1') ?? 0).toBeLessThanOrEqual(17);
    expect(bySite.get('SITE-2') ?? 0).toBeLessThanOrEqual(12);
    expect(bySite.has('SITE-3')).toBe(false);
    // Demand far exceeds the 29 units available, so every one of them is used rather than left idle.
    expect([...bySite.values()].reduce((a, b) => a + b, 0)).toBe(29);

    for (const fill of result.fills) {
      const line = backorders.find((b) => b.backorderId === fill.backorderId);
      expect(fill.quantity).toBeGreaterThan(0);
      expect(fill.quantity + fill.remaining).toBe(line?.quantity);
      expect(fill.complete).toBe(fill.remaining === 0);
    }
    expect(new Set(result.fills.map((f) => f.backorderId)).size).toBe(result.fills.length);
    expect(Object.keys(result.reasonCodes)).toHaveLength(30);
    const completed = result.fills.filter((f) => f.complete).map((f) => f.backorderId);
    expect(result.stillOpen).toHaveLength(30 - completed.length);
    expect(result.stillOpen.some((id) => completed.includes(id))).toBe(false);
  });
});

describe('reevaluateBackorders: aged backorders', () => {
  it('leaves a backorder past cancelAfter for the ageing sweep and gives its stock to the next one', () => {
    const aged = backorder('ORD-OLD', 5, { cancelAfter: '2025-03-09T00:00:00Z' });
    const result = reevaluateBackorders(
      reevaluation([aged, backorder('ORD-NEW', 10)], { priorities: { 'ORD-OLD': priority(999) } }),
    );
    expect(result.fills).toMatchObject([{ orderId: 'ORD-NEW', quantity: 10, complete: true }]);
    expect(result.reasonCodes['ORD-OLD-BO-1']).toEqual(['AGED_OUT']);
    expect(result.stillOpen).toEqual(['ORD-OLD-BO-1']);
  });

  it('treats a backorder as aged from the exact cancelAfter instant', () => {
    const atCutoff = reevaluateBackorders(reevaluation([backorder('ORD-1', 1, { cancelAfter: NOW })]));
    expect(atCutoff.reasonCodes['ORD-1-BO-1']).toEqual(['AGED_OUT']);
    const justBefore = reevaluateBackorders(
      reevaluation([backorder('ORD-1', 1, { cancelAfter: '2025-03-10T12:00:00.001Z' })]),
    );
    expect(justBefore.reasonCodes['ORD-1-BO-1']).toEqual(['FILLED_COMPLETE']);
  });
});

describe('reevaluateBackorders: invalid input', () => {
  const one = [backorder('ORD-1', 2)];

  it.each([
    [{ received: { sku: SKU, siteId: 'SITE-1', quantity: 0 } }, 'received.quantity', /positive integer/],
    [{ now: '2025-03-10 12:00' }, 'now', /ISO 8601/],
    [{ positions: { 'SITE-1': pos(-1) } }, 'positions["SITE-1"].onHand', /integer >= 0/],
    [{ priorities: { 'ORD-1': priority(300, '2025-02-30') } }, 'priorities["ORD-1"].promiseDate', /real/],
    [{ priorities: { 'ORD-1': priority(Number.NaN) } }, 'priorities["ORD-1"].priorityScore', /finite/],
    [{ rules: { 'ORD-1': { ...PARTIAL_OK, maxAgeDays: 0 } } }, 'rules["ORD-1"].maxAgeDays', /positive/],
  ] as const)('rejects %j naming %s', (overrides, field, rule) => {
    const error = captureError(() => reevaluateBackorders(reevaluation(one, overrides)));
    expect(error).toMatchObject({ name: 'InvalidBackorderInput', field, retryable: false });
    expect((error as InvalidBackorderInput).rule).toMatch(rule);
  });

  it('rejects a backorder whose order has no rule, even when the order id names an Object member', () => {
    const input = reevaluation([backorder('constructor', 2)]);
    const error = captureError(() => reevaluateBackorders({ ...input, rules: {} }));
    expect(error).toMatchObject({ field: 'rules["constructor"]' });
    expect((error as InvalidBackorderInput).rule).toMatch(/must be defined/);
  });

  it('rejects a backorder whose order has no priority', () => {
    const input = reevaluation(one);
    expect(() => reevaluateBackorders({ ...input, priorities: {} })).toThrow(
      /^priorities\["ORD-1"\] must be defined/,
    );
  });

  it.each([
    [{ quantity: 0 }, 'backorders[0].quantity'],
    [{ sku: 'SKU-B' }, 'backorders[0].sku'],
    [{ status: 'filled' as const }, 'backorders[0].status'],
    [{ createdAt: '2025-03-01' }, 'backorders[0].createdAt'],
    [{ cancelAfter: '2025-13-01T00:00:00Z' }, 'backorders[0].cancelAfter'],
    [{ notifiedAt: 'soon' }, 'backorders[0].notifiedAt'],
  ])('rejects a backorder line with %j', (overrides, field) => {
    const error = captureError(() => reevaluateBackorders(reevaluation([backorder('ORD-1', 2, overrides)])));
    expect(error).toMatchObject({ name: 'InvalidBackorderInput', field });
  });

  it('rejects the same backorder listed twice', () => {
    const error = captureError(() =>
      reevaluateBackorders(reevaluation([backorder('ORD-1', 2), backorder('ORD-1', 2)])),
    );
    expect(error).toMatchObject({ field: 'backorders[1].backorderId' });
  });
});

describe('sweepAgedBackorders', () => {
  const rules = {
    'ORD-CANCEL': { ...PARTIAL_OK, onAged: 'cancel' as const },
    'ORD-NOTIFY': { ...PARTIAL_OK, onAged: 'notify-and-keep' as const },
  };
  const agedAt = '2025-03-05T00:00:00.000Z';

  it('cancels an aged backorder when the customer rule says cancel', () => {
    const sweep = sweepAgedBackorders([backorder('ORD-CANCEL', 2, { cancelAfter: agedAt })], rules, NOW);
    expect(sweep).toEqual({
      cancel: [
        { backorderId: 'ORD-CANCEL-BO-1', orderId: 'ORD-CANCEL', cancelAfter: agedAt, reason: 'AGED_OUT' },
      ],
      notify: [],
      keep: [],
    });
  });

  it('keeps an aged notify-and-keep backorder and flags one notification stamped with now', () => {
    const sweep = sweepAgedBackorders([backorder('ORD-NOTIFY', 2, { cancelAfter: agedAt })], rules, NOW);
    expect(sweep.cancel).toEqual([]);
    expect(sweep.keep).toEqual([]);
    expect(sweep.notify).toEqual([
      {
        backorderId: 'ORD-NOTIFY-BO-1',
        orderId: 'ORD-NOTIFY',
        cancelAfter: agedAt,
        reason: 'AGED_OUT',
        notifiedAt: NOW,
      },
    ]);
  });

  it('does not notify again once notifiedAt is recorded', () => {
    const line = backorder('ORD-NOTIFY', 2, { cancelAfter: agedAt });
    const first = sweepAgedBackorders([line], rules, NOW);
    const notifiedAt = first.notify[0]?.notifiedAt;
    const second = sweepAgedBackorders([{ ...line, notifiedAt }], rules, '2025-03-11T12:00:00Z');
    expect(second.notify).toEqual([]);
    expect(second.cancel).toEqual([]);
    expect(second.keep).toMatchObject([
      { backorderId: 'ORD-NOTIFY-BO-1', reason: 'AGED_OUT_ALREADY_NOTIFIED' },
    ]);
  });

  it('keeps backorders that have not aged, whatever their rule, and ages them from the exact instant', () => {
    const sweep = sweepAgedBackorders(
      [
        backorder('ORD-CANCEL', 2, { cancelAfter: '2025-03-10T12:00:00.001Z' }),
        backorder('ORD-NOTIFY', 2, { cancelAfter: NOW }),
      ],
      rules,
      NOW,
    );
    expect(sweep.keep).toMatchObject([{ orderId: 'ORD-CANCEL', reason: 'NOT_YET_AGED' }]);
    expect(sweep.notify).toMatchObject([{ orderId: 'ORD-NOTIFY' }]);
  });

  it('puts every backorder in exactly one list, oldest cancelAfter first', () => {
    const lines = [
      backorder('ORD-CANCEL', 1, {
        backorderId: 'ORD-CANCEL-BO-2',
        lineNo: 2,
        cancelAfter: '2025-03-08T00:00:00Z',
      }),
      backorder('ORD-CANCEL', 1, { cancelAfter: '2025-03-02T00:00:00Z' }),
      backorder('ORD-NOTIFY', 1),
    ];
    const sweep = sweepAgedBackorders(lines, rules, NOW);
    expect(sweep.cancel.map((e) => e.backorderId)).toEqual(['ORD-CANCEL-BO-1', 'ORD-CANCEL-BO-2']);
    expect(sweep.keep.map((e) => e.backorderId)).toEqual(['ORD-NOTIFY-BO-1']);
    expect(sweep.notify).toEqual([]);
  });

  it('rejects a backorder whose order has no rule, and a bad now', () => {
    expect(() => sweepAgedBackorders([backorder('ORD-OTHER', 1)], rules, NOW)).toThrow(
      /^rules\["ORD-OTHER"\] must be defined/,
    );
    const error = captureError(() => sweepAgedBackorders([], rules, '2025-03-10'));
    expect(error).toMatchObject({ name: 'InvalidBackorderInput', field: 'now' });
  });
});
