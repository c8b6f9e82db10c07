import { describe, expect, it } from 'vitest';
import { AWS_QUOTAS, type QuotaId } from '../../../sim/aws-quotas.ts';
import { type CapacityPlan, formatCapacityPlan, planCapacity, verdictOf } from '../../../sim/capacity.ts';
import type { AwsUsage, UsagePeaks } from '../../../sim/usage.ts';

/**
 * One virtual day. Peaks, and what they are at 1× / 10× / 100× against the us-east-1 defaults:
 *   StartExecution (Standard)   4/s   → 4, 40, 400 of 300/s        = 1.33 %, 13.3 %, 133.3 % (binds at 100× only)
 *   StateTransition (Standard)  130/s → 130, 1,300, 13,000 of 1,500 = 8.67 %, 86.7 %, 866.7 % (close at 10×, binds at 100×)
 *   open executions             5,000 → 500,000 of 1,000,000 at 100× = 50 % (ok)
 *   Express StartExecution      1/s   → 100 of 6,000 at 100×        (ok)
 *   PutEvents entries           20/s  → 2,000 of 10,000 at 100×     = 20 % (ok)
 *   rule invocations            40/s  → 4,000 of 18,750 at 100×     = 21.3 % (ok)
 *   Lambda concurrency          9     → 900 of 1,000 at 100×        = 90 % (close at 100×)
 *   hottest partition writes    12/s  → 1,200 of 1,000 at 100×      = 120 % (binds at 100×)
 *   hottest partition reads     1/s   → 100 of 3,000 at 100×        (ok)
 */
const PEAKS: UsagePeaks = {
  peakWindowSeconds: 60,
  standardStartExecutionPerSecond: 4,
  standardTransitionsPerSecond: 130,
  openStandardExecutions: 5_000,
  expressStartExecutionPerSecond: 1,
  putEventsEntriesPerSecond: 20,
  ruleInvocationsPerSecond: 40,
  lambdaInvocationsPerSecond: 10,
  lambdaConcurrency: 9,
  dynamodbHottestPartition: {
    table: 'ProcessLogTable',
    partitionKey: 'LOG#2026-12-01#3',
    writeUnitsPerSecond: 12,
    readUnitsPerSecond: 1,
  },
  sqsRequestsPerSecond: 5,
};

const USAGE: AwsUsage = {
  window: { from: '2026-12-01T00:00:00.000Z', to: '2026-12-02T00:00:00.000Z', seconds: 86_400 },
  orders: 2_000,
  stepFunctions: {
    standardExecutions: 2_000,
    standardTransitions: 16_000,
    standardTransitionsByMachine: {},
    expressRequests: 1_000,
    expressGbSeconds: 1_000,
  },
  // 86,400 invocations in 86,400 s: a mean of 1/s against a peak of 10/s, a burst factor of 10.
  lambda: { requests: 86_400, gbSeconds: 3_000, byFunction: {} },
  eventBridge: {
    events: 10_000,
    invocations: 30_000,
    archivedEvents: 0,
    archivedBytes: 0,
    replayedEvents: 0,
  },
  dynamodb: {
    readRequestUnits: 80_000,
    writeRequestUnits: 40_000,
    storedBytes: 0,
    byTable: {
      OrdersTable: { readRequestUnits: 60_000, writeRequestUnits: 20_000, storedBytes: 0 },
      ProcessLogTable: { readRequestUnits: 20_000, writeRequestUnits: 20_000, storedBytes: 0 },
    },
  },
  sqs: { requests: 10_000 },
  logs: { bytesIngested: 0 },
  peaks: PEAKS,
};

function rowOf(plan: CapacityPlan, id: QuotaId) {
  const row = plan.rows.find((r) => r.id === id);
  if (!row) throw new Error(`no row ${id}`);
  return row;
}

function utilisations(plan: CapacityPlan, id: QuotaId): number[] {
  return rowOf(plan, id).levels.map((l) => l.utilisationPercent);
}

/** Matches percentages to 1e-9. */
function near(values: number[]) {
  return values.map((v) => expect.closeTo(v, 9));
}

function verdicts(plan: CapacityPlan, id: QuotaId): string[] {
  return rowOf(plan, id).levels.map((l) => l.verdict);
}

describe('planCapacity', () => {
  const plan = planCapacity(USAGE);

  it('plans every quota of the table at 1×, 10× and 100×', () => {
    expect(plan.multipliers).toEqual([1, 10, 100]);
    expect(plan.rows.map((r) => r.id).sort()).toEqual(Object.keys(AWS_QUOTAS).sort());
    expect(plan.region).toBe('us-east-1');
    expect(plan.peakWindowSeconds).toBe(60);
  });

  it('uses the documented us-east-1 defaults', () => {
    expect(rowOf(plan, 'sfnStandardStartExecution').quota).toMatchObject({ value: 300, bucket: 1_300 });
    expect(rowOf(plan, 'sfnStandardStateTransitions').quota).toMatchObject({ value: 1_500, bucket: 5_000 });
    expect(rowOf(plan, 'sfnOpenExecutions').quota.value).toBe(1_000_000);
    expect(rowOf(plan, 'eventBridgePutEvents').quota.value).toBe(10_000);
    expect(rowOf(plan, 'eventBridgeInvocations').quota.value).toBe(18_750);
    expect(rowOf(plan, 'lambdaConcurrentExecutions').quota.value).toBe(1_000);
    expect(rowOf(plan, 'dynamodbPartitionWrite').quota).toMatchObject({ value: 1_000, adjustable: false });
    expect(rowOf(plan, 'dynamodbPartitionRead').quota).toMatchObject({ value: 3_000, adjustable: false });
    expect(rowOf(plan, 'dynamodbTableWrite').quota.value).toBe(40_000);
  });

  it('reports StartExecution as binding at 100× only: 1.33 %, 13.3 %, 133.3 %', () => {
    const row = rowOf(plan, 'sfnStandardStartExecution');
    expect(row.levels.map((l) => l.demand)).toEqual([4, 40, 400]);
    const [u1, u10, u100] = utilisations(plan, 'sfnStandardStartExecution');
    expect(u1).toBeCloseTo(400 / 300, 10);
    expect(u10).toBeCloseTo(4_000 / 300, 10);
    expect(u100).toBeCloseTo(40_000 / 300, 10);
    expect(verdicts(plan, 'sfnStandardStartExecution')).toEqual(['ok', 'ok', 'binds']);
    expect(row.verdict).toBe('binds');
    expect(row.summary).toBe('binds at 100×');
    // 1,300 tokens / (400 − 300) per second = 13 s of burst.
    expect(row.levels[2]?.burstSeconds).toBeCloseTo(13, 10);
    expect(row.levels[1]?.burstSeconds).toBeUndefined();
  });

  it('reports state transitions as close at 10× and binding at 100×', () => {
    const row = rowOf(plan, 'sfnStandardStateTransitions');
    const [u1, u10, u100] = utilisations(plan, 'sfnStandardStateTransitions');
    // 130 / 1,500 = 8.67 %; 1,300 / 1,500 = 86.7 %; 13,000 / 1,500 = 866.7 %.
    expect(u1).toBeCloseTo(8.6667, 3);
    expect(u10).toBeCloseTo(86.6667, 3);
    expect(u100).toBeCloseTo(866.6667, 3);
    expect(verdicts(plan, 'sfnStandardStateTransitions')).toEqual(['ok', 'close', 'binds']);
    expect(row.summary).toBe('close at 10×, binds at 100×');
  });

  it('scales open executions and leaves them ok at 50 %', () => {
    const row = rowOf(plan, 'sfnOpenExecutions');
    expect(row.levels.map((l) => l.demand)).toEqual([5_000, 50_000, 500_000]);
    expect(utilisations(plan, 'sfnOpenExecutions')).toEqual(near([0.5, 5, 50]));
    expect(row.verdict).toBe('ok');
    expect(row.summary).toBe('ok');
  });

  it('reports Lambda concurrency as close (90 %) at 100×, not binding', () => {
    const row = rowOf(plan, 'lambdaConcurrentExecutions');
    expect(utilisations(plan, 'lambdaConcurrentExecutions')).toEqual(near([0.9, 9, 90]));
    expect(verdicts(plan, 'lambdaConcurrentExecutions')).toEqual(['ok', 'ok', 'close']);
    expect(row.summary).toBe('close at 100×');
  });

  it("names the hottest partition's table and key and reports it binding at 100×", () => {
    const row = rowOf(plan, 'dynamodbPartitionWrite');
    expect(row.subject).toBe('ProcessLogTable partition key LOG#2026-12-01#3');
    // 12 × 100 = 1,200 WCU/s against 1,000: 120 %.
    expect(row.levels.map((l) => l.demand)).toEqual([12, 120, 1_200]);
    expect(utilisations(plan, 'dynamodbPartitionWrite')).toEqual(near([1.2, 12, 120]));
    expect(row.summary).toBe('binds at 100×');
    // ceil(1,200 / 800) = 2 keys keep each under 80 %.
    expect(row.remedy).toContain("ProcessLogTable's key LOG#2026-12-01#3");
    expect(row.remedy).toContain('over 2 keys');
    expect(rowOf(plan, 'dynamodbPartitionRead').verdict).toBe('ok');
  });

  it('counts PutEvents as one request per entry unless told the batching', () => {
    expect(rowOf(plan, 'eventBridgePutEvents').levels.map((l) => l.demand)).toEqual([20, 200, 2_000]);
    const batched = planCapacity(USAGE, { putEventsEntriesPerRequest: 10 });
    expect(rowOf(batched, 'eventBridgePutEvents').levels.map((l) => l.demand)).toEqual([2, 20, 200]);
    expect(() => planCapacity(USAGE, { putEventsEntriesPerRequest: 11 })).toThrow(RangeError);
  });

  it("estimates each table's peak from its mean rate and the run's Lambda burst factor", () => {
    // Writes: ProcessLogTable 20,000 / 86,400 × 10 = 2.31/s, but its hottest partition alone takes 12/s.
    const write = rowOf(plan, 'dynamodbTableWrite');
    expect(write).toMatchObject({ subject: 'ProcessLogTable', estimated: true, verdict: 'ok' });
    expect(write.levels[0]?.demand).toBe(12);
    // Reads: OrdersTable 60,000 / 86,400 × 10 = 6.94/s is the busiest.
    const read = rowOf(plan, 'dynamodbTableRead');
    expect(read.subject).toBe('OrdersTable');
    expect(read.levels[0]?.demand).toBeCloseTo((60_000 / 86_400) * 10, 10);
  });

  it('gives a remedy exactly for the quotas that bind or are close', () => {
    expect(plan.attention.map((r) => r.id)).toEqual([
      'sfnStandardStartExecution',
      'sfnStandardStateTransitions',
      'lambdaConcurrentExecutions',
      'dynamodbPartitionWrite',
    ]);
    for (const row of plan.rows) {
      if (row.verdict === 'ok') expect(row.remedy, row.id).toBeUndefined();
      else expect(row.remedy, row.id).toMatch(/\.$/);
    }
    expect(rowOf(plan, 'sfnStandardStartExecution').remedy).toContain('ErpIngressQueue');
    expect(rowOf(plan, 'sfnStandardStateTransitions').remedy).toContain('Express child workflow');
    expect(rowOf(plan, 'lambdaConcurrentExecutions').remedy).toContain('reserved concurrency');
  });

  it('takes other multipliers, sorted, and says where a quota first binds', () => {
    const other = planCapacity(USAGE, { multipliers: [50, 1, 5] });
    expect(other.multipliers).toEqual([1, 5, 50]);
    // StartExecution: 4 × 50 = 200 of 300: 66.7 %, ok.
    expect(rowOf(other, 'sfnStandardStartExecution').verdict).toBe('ok');
    // Transitions: 650 (43.3 %) at 5×, 6,500 (433 %) at 50×.
    expect(rowOf(other, 'sfnStandardStateTransitions').summary).toBe('binds at 50×');
  });

  it('draws the verdict lines at 80 % and 100 %', () => {
    expect(verdictOf(79.99)).toBe('ok');
    expect(verdictOf(80)).toBe('close');
    expect(verdictOf(99.99)).toBe('close');
    expect(verdictOf(100)).toBe('binds');
  });
});

describe('formatCapacityPlan', () => {
  it('tabulates quota, default and peaks, then one remedy per binding or close quota', () => {
    const text = formatCapacityPlan(planCapacity(USAGE));
    expect(text).toContain('us-east-1');
    expect(text).toMatch(
      /StartExecution API action throttling \(Standard\)\s+300\/s\s+4 \(1\.3 %\)\s+40 \(13\.3 %\)\s+400 \(133\.3 %\)\s+binds at 100×/,
    );
    expect(text).toMatch(/StateTransition throttling \(Standard\)\s+1,500\/s.*close at 10×, binds at 100×/);
    expect(text).toMatch(/Maximum open executions per account\s+1,000,000.*500,000 \(50\.0 %\)\s+ok/);
    expect(text).toContain('Per-partition write throughput: ProcessLogTable partition key LOG#2026-12-01#3');
    const remedies = text.split('\n').filter((line) => line.startsWith('- '));
    expect(remedies).toHaveLength(4);
    expect(remedies[0]).toContain('StartExecution API action throttling (Standard) (binds at 100×):');
    expect(remedies[2]).toContain('Concurrent executions (close at 100×):');
    expect(remedies[3]).toContain('Per-partition write throughput (binds at 100×):');
    expect(text).not.toContain('\u001b[');
  });

  it('says so when nothing is close', () => {
    const calm = planCapacity({
      ...USAGE,
      peaks: {
        ...PEAKS,
        standardStartExecutionPerSecond: 1,
        standardTransitionsPerSecond: 1,
        lambdaConcurrency: 1,
        dynamodbHottestPartition: { ...PEAKS.dynamodbHottestPartition, writeUnitsPerSecond: 1 },
      },
    });
    expect(calm.attention).toEqual([]);
    expect(formatCapacityPlan(calm)).toContain('No quota is close at 100×.');
  });
});
