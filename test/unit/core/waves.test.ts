import { describe, expect, it } from 'vitest';
import { DomainError } from '../../../lambdas/core/errors.ts';
import {
  InvalidWavePlanInput,
  planWaves,
  type WaveCandidate,
  type WavePolicy,
} from '../../../lambdas/core/waves.ts';

const NOW = '2025-03-10T08:00:00Z';

/** Waves every 30 minutes from 08:00Z; a wave needs 60 minutes before the carrier cut-off. */
const POLICY: WavePolicy = {
  maxOrdersPerWave: 10,
  maxLinesPerWave: 100,
  waveIntervalMinutes: 30,
  pickLeadMinutes: 60,
};

/** A standard-priority standard-service order at DC-EAST with a 17:00Z cut-off: plenty of slack. */
function order(orderId: string, overrides: Partial<WaveCandidate> = {}): WaveCandidate {
  return {
    orderId,
    siteId: 'DC-EAST',
    carrier: 'UPS',
    serviceLevel: 'standard',
    promiseDate: '2025-03-14',
    customerPriority: 'standard',
    priorityScore: 300,
    carrierCutoff: '2025-03-10T17:00:00Z',
    lineCount: 1,
    ...overrides,
  };
}

function plan(orders: WaveCandidate[], policy: Partial<WavePolicy> = {}, now = NOW) {
  return planWaves({ orders, now, policy: { ...POLICY, ...policy } });
}

/** Order ids in the sequence they are picked: wave by wave, in order within each wave. */
function pickSequence(orders: WaveCandidate[]): string[] {
  return plan(orders).waves.flatMap((wave) => wave.orderIds);
}

function captureError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to throw');
}

describe('planWaves: priority order within a site', () => {
  it('puts next-day ahead of expedited ahead of standard ahead of economy', () => {
    const orders = [
      order('A', { serviceLevel: 'economy' }),
      order('B', { serviceLevel: 'standard' }),
      order('C', { serviceLevel: 'expedited' }),
      order('D', { serviceLevel: 'next-day' }),
    ];
    expect(pickSequence(orders)).toEqual(['D', 'C', 'B', 'A']);
  });

  it('orders the same service level by promise date, earliest first', () => {
    const orders = [order('A', { promiseDate: '2025-03-15' }), order('B', { promiseDate: '2025-03-12' })];
    expect(pickSequence(orders)).toEqual(['B', 'A']);
  });

  it('lets service level outrank an earlier promise date', () => {
    const orders = [
      order('A', { serviceLevel: 'standard', promiseDate: '2025-03-11' }),
      order('B', { serviceLevel: 'expedited', promiseDate: '2025-03-13' }),
    ];
    expect(pickSequence(orders)).toEqual(['B', 'A']);
  });

  it('orders the same service level and promise date by customer priority', () => {
    const orders = [
      order('A', { customerPriority: 'standard' }),
      order('B', { customerPriority: 'preferred' }),
      order('C', { customerPriority: 'key-account' }),
    ];
    expect(pickSequence(orders)).toEqual(['C', 'B', 'A']);
  });

  it('lets an earlier promise date outrank customer priority', () => {
    const orders = [
      order('A', { customerPriority: 'key-account', promiseDate: '2025-03-14' }),
      order('B', { customerPriority: 'standard', promiseDate: '2025-03-13' }),
    ];
    expect(pickSequence(orders)).toEqual(['B', 'A']);
  });

  it('then by carrier cut-off, earliest first, comparing instants across zones', () => {
    const orders = [
      order('A', { carrierCutoff: '2025-03-10T16:00:00Z' }),
      // 15:30Z written in +01:00.
      order('B', { carrierCutoff: '2025-03-10T16:30:00+01:00' }),
    ];
    expect(pickSequence(orders)).toEqual(['B', 'A']);
  });

  it('breaks a full tie by order id, whatever the input order', () => {
    expect(pickSequence([order('ORD-2'), order('ORD-10'), order('ORD-1')])).toEqual([
      'ORD-1',
      'ORD-10',
      'ORD-2',
    ]);
  });

  it('does not reorder by priorityScore: the explicit keys decide', () => {
    const orders = [order('A', { priorityScore: 1_000 }), order('B', { priorityScore: 0 })];
    expect(pickSequence(orders)).toEqual(['A', 'B']);
    expect(pickSequence([order('A', { priorityScore: 0 }), order('B', { priorityScore: 1_000 })])).toEqual([
      'A',
      'B',
    ]);
  });
});

describe('planWaves: sites and capacity', () => {
  it('plans each site separately, each starting its first wave now', () => {
    const result = plan([
      order('W1', { siteId: 'DC-WEST' }),
      order('E1', { siteId: 'DC-EAST' }),
      order('W2', { siteId: 'DC-WEST', serviceLevel: 'next-day' }),
    ]);
    expect(result.waves.map((w) => [w.siteId, w.releaseAt, w.orderIds])).toEqual([
      ['DC-EAST', '2025-03-10T08:00:00.000Z', ['E1']],
      ['DC-WEST', '2025-03-10T08:00:00.000Z', ['W2', 'W1']],
    ]);
  });

  it('splits by maxOrdersPerWave, releasing a wave every interval', () => {
    const result = plan(
      ['A', 'B', 'C', 'D', 'E'].map((id) => order(id)),
      { maxOrdersPerWave: 2 },
    );
    expect(result.waves.map((w) => w.orderIds)).toEqual([['A', 'B'], ['C', 'D'], ['E']]);
    expect(result.waves.map((w) => w.releaseAt)).toEqual([
      '2025-03-10T08:00:00.000Z',
      '2025-03-10T08:30:00.000Z',
      '2025-03-10T09:00:00.000Z',
    ]);
  });

  it('splits by maxLinesPerWave without splitting an order, and totals the lines', () => {
    const orders = [order('A', { lineCount: 8 }), order('B', { lineCount: 8 }), order('C', { lineCount: 8 })];
    const result = plan(orders, { maxLinesPerWave: 20 });
    expect(result.waves.map((w) => [w.orderIds, w.lineCount])).toEqual([
      [['A', 'B'], 16],
      [['C'], 8],
    ]);
  });

  it('lets a smaller lower-priority order use room left in an earlier wave (first fit)', () => {
    const orders = [
      order('A', { lineCount: 15 }),
      order('B', { lineCount: 10 }),
      order('C', { lineCount: 5 }),
    ];
    const result = plan(orders, { maxLinesPerWave: 20 });
    expect(result.waves.map((w) => w.orderIds)).toEqual([['A', 'C'], ['B']]);
  });

  it('gives an order with more lines than a wave allows a wave of its own, marked oversized', () => {
    const orders = [
      order('BIG', { lineCount: 30, serviceLevel: 'next-day' }),
      order('SMALL', { lineCount: 1 }),
    ];
    const result = plan(orders, { maxLinesPerWave: 20 });
    expect(result.waves.map((w) => [w.orderIds, w.lineCount, w.oversized])).toEqual([
      [['BIG'], 30, true],
      [['SMALL'], 1, false],
    ]);
  });

  it('lists each wave’s distinct carriers, sorted', () => {
    const orders = [
      order('A', { carrier: 'UPS' }),
      order('B', { carrier: 'DHL' }),
      order('C', { carrier: 'UPS' }),
    ];
    expect(plan(orders).waves[0]?.carriers).toEqual(['DHL', 'UPS']);
  });

  it('returns no waves for no orders', () => {
    expect(plan([])).toEqual({ waves: [], atRisk: [], pulledForward: [] });
  });
});

describe('planWaves: deterministic wave ids', () => {
  it('builds ids from site, compact release time and wave number', () => {
    const result = plan([order('A'), order('B'), order('C', { siteId: 'DC-WEST' })], { maxOrdersPerWave: 1 });
    expect(result.waves.map((w) => w.waveId)).toEqual([
      'DC-EAST-20250310T080000Z-1',
      'DC-EAST-20250310T083000Z-2',
      'DC-WEST-20250310T080000Z-1',
    ]);
  });

  it('normalises now to UTC for release times and ids', () => {
    const result = plan([order('A')], {}, '2025-03-10T09:00:00+01:00');
    expect(result.waves[0]).toMatchObject({
      releaseAt: '2025-03-10T08:00:00.000Z',
      waveId: 'DC-EAST-20250310T080000Z-1',
    });
  });

  it('produces the same plan for the same orders in any input order', () => {
    const orders = [
      order('A', { siteId: 'DC-WEST' }),
      order('B', { serviceLevel: 'next-day' }),
      order('C', { lineCount: 7 }),
      order('D', { carrierCutoff: '2025-03-10T09:45:00Z', serviceLevel: 'economy' }),
    ];
    const forward = plan(orders, { maxOrdersPerWave: 1 });
    expect(plan([...orders].reverse(), { maxOrdersPerWave: 1 })).toEqual(forward);
  });
});

describe('planWaves: carrier cut-off', () => {
  it('does not flag an order whose wave is ready exactly at the cut-off', () => {
    // Wave 1 at 08:00 + 60 min lead = 09:00.
    const result = plan([order('A', { carrierCutoff: '2025-03-10T09:00:00Z' })]);
    expect(result.atRisk).toEqual([]);
    expect(result.waves[0]?.cutoffRisk).toEqual([]);
  });

  it('pulls an order that would miss its cut-off into an earlier wave, ahead of orders with slack', () => {
    // One order per wave: 08:00, 08:30, 09:00. C must be released by 08:45 (cut-off 09:45 - 60 min).
    const orders = [
      order('A', { serviceLevel: 'next-day' }),
      order('B', { serviceLevel: 'next-day' }),
      order('C', { serviceLevel: 'economy', carrierCutoff: '2025-03-10T09:45:00Z' }),
    ];
    const result = plan(orders, { maxOrdersPerWave: 1 });
    expect(result.waves.map((w) => w.orderIds)).toEqual([['C'], ['A'], ['B']]);
    expect(result.pulledForward).toEqual(['C']);
    expect(result.atRisk).toEqual([]);
  });

  it('does not pull an order forward when its natural wave already makes the cut-off', () => {
    const orders = [
      order('A', { serviceLevel: 'next-day' }),
      order('C', { serviceLevel: 'economy', carrierCutoff: '2025-03-10T09:30:00Z' }),
    ];
    const result = plan(orders, { maxOrdersPerWave: 1 });
    expect(result.waves.map((w) => w.orderIds)).toEqual([['A'], ['C']]);
    expect(result.pulledForward).toEqual([]);
  });

  it('never pushes an order past its own cut-off to make room: the tighter cut-off goes first', () => {
    // D must go in the 08:00 wave; C by 08:30; A has slack. Pulling C to 08:00 alone would make D miss.
    const orders = [
      order('A', { serviceLevel: 'next-day' }),
      order('D', { serviceLevel: 'next-day', carrierCutoff: '2025-03-10T09:05:00Z' }),
      order('C', { serviceLevel: 'economy', carrierCutoff: '2025-03-10T09:45:00Z' }),
    ];
    const result = plan(orders, { maxOrdersPerWave: 1 });
    expect(result.waves.map((w) => w.orderIds)).toEqual([['D'], ['C'], ['A']]);
    expect(result.pulledForward).toEqual(['C']);
    expect(result.atRisk).toEqual([]);
  });

  it('pulls forward on line capacity too, moving orders with slack back', () => {
    // 15 + 15 + 6 lines, 20 per wave: C's natural wave is the third (09:00), but it must go at 08:00.
    const orders = [
      order('A', { serviceLevel: 'next-day', lineCount: 15 }),
      order('B', { serviceLevel: 'next-day', lineCount: 15 }),
      order('C', { serviceLevel: 'economy', lineCount: 6, carrierCutoff: '2025-03-10T09:00:00Z' }),
    ];
    const result = plan(orders, { maxLinesPerWave: 20 });
    expect(result.waves.map((w) => [w.orderIds, w.lineCount])).toEqual([
      [['C'], 6],
      [['A'], 15],
      [['B'], 15],
    ]);
    expect(result.pulledForward).toEqual(['C']);
    expect(result.atRisk).toEqual([]);
  });

  it('flags an order whose cut-off is before even the first wave can be ready, without moving it', () => {
    const orders = [
      order('A', { serviceLevel: 'next-day' }),
      order('LATE', { serviceLevel: 'economy', carrierCutoff: '2025-03-10T08:59:00Z' }),
    ];
    const result = plan(orders, { maxOrdersPerWave: 1 });
    expect(result.waves.map((w) => w.orderIds)).toEqual([['A'], ['LATE']]);
    expect(result.atRisk).toEqual([
      {
        orderId: 'LATE',
        siteId: 'DC-EAST',
        waveId: 'DC-EAST-20250310T083000Z-2',
        reason: 'CUTOFF_BEFORE_FIRST_WAVE',
      },
    ]);
    expect(result.waves[1]?.cutoffRisk).toEqual(['LATE']);
    expect(result.pulledForward).toEqual([]);
  });

  it('flags the order that loses when there is not enough wave room before a shared cut-off', () => {
    // Both must be in the 08:00 wave; only one fits. The key account keeps the place.
    const cutoff = '2025-03-10T09:10:00Z';
    const orders = [
      order('STD', { customerPriority: 'standard', carrierCutoff: cutoff }),
      order('KEY', { customerPriority: 'key-account', carrierCutoff: cutoff }),
    ];
    const result = plan(orders, { maxOrdersPerWave: 1 });
    expect(result.waves.map((w) => w.orderIds)).toEqual([['KEY'], ['STD']]);
    expect(result.atRisk).toEqual([
      {
        orderId: 'STD',
        siteId: 'DC-EAST',
        waveId: 'DC-EAST-20250310T083000Z-2',
        reason: 'NO_WAVE_CAPACITY_BEFORE_CUTOFF',
      },
    ]);
    expect(result.waves[0]?.cutoffRisk).toEqual([]);
    expect(result.waves[1]?.cutoffRisk).toEqual(['STD']);
  });

  it('applies the pick lead time to the cut-off check', () => {
    const orders = [order('A', { carrierCutoff: '2025-03-10T08:20:00Z' })];
    expect(plan(orders, { pickLeadMinutes: 20 }).atRisk).toEqual([]);
    expect(plan(orders, { pickLeadMinutes: 21 }).atRisk.map((r) => r.reason)).toEqual([
      'CUTOFF_BEFORE_FIRST_WAVE',
    ]);
  });
});

describe('planWaves: input validation', () => {
  function errorFor(input: {
    orders?: WaveCandidate[];
    now?: string;
    policy?: Partial<WavePolicy>;
  }): unknown {
    return captureError(() =>
      planWaves({
        orders: input.orders ?? [order('A')],
        now: input.now ?? NOW,
        policy: { ...POLICY, ...input.policy },
      }),
    );
  }

  it('rejects a policy with no room for orders, naming the field', () => {
    const error = errorFor({ policy: { maxOrdersPerWave: 0 } });
    expect(error).toBeInstanceOf(InvalidWavePlanInput);
    expect(error).toBeInstanceOf(DomainError);
    expect(error).toMatchObject({
      name: 'InvalidWavePlanInput',
      field: 'policy.maxOrdersPerWave',
      retryable: false,
    });
  });

  it.each([
    ['policy.maxLinesPerWave', { maxLinesPerWave: 0 }],
    ['policy.waveIntervalMinutes', { waveIntervalMinutes: 0 }],
    ['policy.waveIntervalMinutes', { waveIntervalMinutes: 7.5 }],
    ['policy.pickLeadMinutes', { pickLeadMinutes: -1 }],
  ])('rejects a bad %s', (field, policy) => {
    expect(errorFor({ policy })).toMatchObject({ field });
  });

  it('rejects a now without a zone designator', () => {
    expect(errorFor({ now: '2025-03-10T08:00:00' })).toMatchObject({ field: 'now' });
  });

  it.each([
    ['orders[1].carrierCutoff', { carrierCutoff: '2025-03-10 17:00' }],
    ['orders[1].carrierCutoff', { carrierCutoff: '2025-02-29T17:00:00Z' }],
    ['orders[1].promiseDate', { promiseDate: '2025-02-30' }],
    ['orders[1].promiseDate', { promiseDate: '14/03/2025' }],
    ['orders[1].lineCount', { lineCount: 0 }],
    ['orders[1].serviceLevel', { serviceLevel: 'overnight' as WaveCandidate['serviceLevel'] }],
    ['orders[1].customerPriority', { customerPriority: 'vip' as WaveCandidate['customerPriority'] }],
    ['orders[1].siteId', { siteId: ' ' }],
    ['orders[1].priorityScore', { priorityScore: Number.NaN }],
  ])('rejects a bad %s', (field, overrides) => {
    expect(errorFor({ orders: [order('A'), order('B', overrides)] })).toMatchObject({ field });
  });

  it('rejects an order id that appears twice', () => {
    const error = errorFor({ orders: [order('A'), order('A', { siteId: 'DC-WEST' })] });
    expect(error).toMatchObject({ field: 'orders[1].orderId' });
    expect((error as Error).message).toMatch(/must be unique/);
  });
});
