import { describe, expect, it } from 'vitest';
import { type AWS_PRICES, BYTES_PER_GB } from '../../../sim/aws-prices.ts';
import {
  COST_TARGET_PER_1000_ORDERS,
  type CostEstimate,
  estimateCost,
  type FixedResources,
  formatCost,
} from '../../../sim/cost.ts';
import type { AwsUsage } from '../../../sim/usage.ts';

const GB = BYTES_PER_GB;

/**
 * 2,000 orders over one virtual day (86,400 s), round numbers. Hand-computed run costs:
 *   Step Functions Standard  16,000 transitions × $0.025/1,000          = $0.40
 *   Step Functions Express    1,000 requests × $1.00/1M                 = $0.001
 *                             1,000 GB-s × $0.00001667                  = $0.01667
 *   Lambda                   20,000 requests × $0.20/1M                 = $0.004
 *                             3,000 GB-s × $0.0000133334                = $0.0400002
 *   EventBridge              10,000 events × $1.00/1M                   = $0.01
 *                             archive 1/16 GB × $0.10/GB                = $0.00625
 *                             archive storage 1/16 GB × $0.023/GB-month = $0.0014375
 *                             2,000 replayed × $1.00/1M                 = $0.002
 *   DynamoDB                 40,000 WRU × $0.625/1M                     = $0.025
 *                            80,000 RRU × $0.125/1M                     = $0.01
 *                             storage 1/16 GB × $0.25/GB-month          = $0.015625
 *                             PITR 1/16 GB × $0.20/GB-month             = $0.0125
 *   SQS                      10,000 requests × $0.40/1M                 = $0.004
 *   CloudWatch Logs           1/4 GB × $0.50/GB                         = $0.125
 *                             storage 1/4 GB × $0.03/GB-month           = $0.0075
 *   variable total                                                      = $0.6809827
 *   per 1,000 orders: $0.6809827 / 2,000 × 1,000                        = $0.34049135
 */
const USAGE: AwsUsage = {
  window: { from: '2026-12-01T00:00:00.000Z', to: '2026-12-02T00:00:00.000Z', seconds: 86_400 },
  orders: 2_000,
  stepFunctions: {
    standardExecutions: 2_000,
    standardTransitions: 16_000,
    standardTransitionsByMachine: {
      'standard-single-site': { executions: 1_500, transitions: 10_500 },
      'multi-site-split': { executions: 500, transitions: 5_500 },
    },
    expressRequests: 1_000,
    expressGbSeconds: 1_000,
  },
  lambda: { requests: 20_000, gbSeconds: 3_000, byFunction: {} },
  eventBridge: {
    events: 10_000,
    invocations: 30_000,
    archivedEvents: 10_000,
    archivedBytes: GB / 16,
    replayedEvents: 2_000,
  },
  dynamodb: { readRequestUnits: 80_000, writeRequestUnits: 40_000, storedBytes: GB / 16, byTable: {} },
  sqs: { requests: 10_000 },
  logs: { bytesIngested: GB / 4 },
  peaks: {
    peakWindowSeconds: 60,
    standardStartExecutionPerSecond: 1,
    standardTransitionsPerSecond: 8,
    openStandardExecutions: 100,
    expressStartExecutionPerSecond: 1,
    putEventsEntriesPerSecond: 5,
    ruleInvocationsPerSecond: 15,
    lambdaInvocationsPerSecond: 10,
    lambdaConcurrency: 2,
    dynamodbHottestPartition: {
      table: 'OrdersTable',
      partitionKey: 'ORDER#1',
      writeUnitsPerSecond: 1,
      readUnitsPerSecond: 1,
    },
    sqsRequestsPerSecond: 1,
  },
};

/** 20 + 6 alarm metrics × $0.10 = $2.60; 1 dashboard × $3 = $3; 30 metrics × $0.30 = $9; 2 secrets × $0.40 = $0.80; 1 key × $1 = $1: $16.40 a month. */
const FIXED: FixedResources = {
  alarms: 20,
  metricMathAlarmMetrics: 6,
  dashboards: 1,
  customMetrics: 30,
  secrets: 2,
  kmsKeys: 1,
};

const VARIABLE = 0.6809827;
const FIXED_MONTHLY = 16.4;

function lineCost(estimate: CostEstimate, id: keyof typeof AWS_PRICES): number {
  const line = estimate.lines.find((l) => l.id === id);
  if (!line) throw new Error(`no line ${id}`);
  return line.cost;
}

function serviceShare(estimate: CostEstimate, service: string) {
  const share = estimate.per1000ByService.find((s) => s.service === service);
  if (!share) throw new Error(`no service ${service}`);
  return share;
}

describe('estimateCost: line items', () => {
  const estimate = estimateCost(USAGE, { fixed: FIXED });

  it('prices every usage line at the list price', () => {
    expect(lineCost(estimate, 'sfnStandardTransition')).toBeCloseTo(0.4, 10);
    expect(lineCost(estimate, 'sfnExpressRequest')).toBeCloseTo(0.001, 10);
    expect(lineCost(estimate, 'sfnExpressGbSecond')).toBeCloseTo(0.01667, 10);
    expect(lineCost(estimate, 'lambdaRequest')).toBeCloseTo(0.004, 10);
    expect(lineCost(estimate, 'lambdaArmGbSecond')).toBeCloseTo(0.0400002, 10);
    expect(lineCost(estimate, 'eventBridgeCustomEvent')).toBeCloseTo(0.01, 10);
    expect(lineCost(estimate, 'eventBridgeArchiveProcessing')).toBeCloseTo(0.00625, 10);
    expect(lineCost(estimate, 'eventBridgeArchiveStorage')).toBeCloseTo(0.0014375, 10);
    expect(lineCost(estimate, 'eventBridgeReplayEvent')).toBeCloseTo(0.002, 10);
    expect(lineCost(estimate, 'dynamodbWriteRequestUnit')).toBeCloseTo(0.025, 10);
    expect(lineCost(estimate, 'dynamodbReadRequestUnit')).toBeCloseTo(0.01, 10);
    expect(lineCost(estimate, 'dynamodbStorage')).toBeCloseTo(0.015625, 10);
    expect(lineCost(estimate, 'dynamodbPitr')).toBeCloseTo(0.0125, 10);
    expect(lineCost(estimate, 'sqsStandardRequest')).toBeCloseTo(0.004, 10);
    expect(lineCost(estimate, 'logsIngestion')).toBeCloseTo(0.125, 10);
    expect(lineCost(estimate, 'logsStorage')).toBeCloseTo(0.0075, 10);
  });

  it('gives each line its quantity, unit and unit price', () => {
    const transitions = estimate.lines.find((l) => l.id === 'sfnStandardTransition');
    expect(transitions).toMatchObject({
      service: 'Step Functions Standard',
      quantity: 16_000,
      unit: 'transitions',
    });
    // $0.025 per 1,000 = $0.000025 per transition.
    expect(transitions?.unitPrice).toBeCloseTo(0.000025, 12);
    // Storage in GB of 2^30 bytes: 2^30 / 16 bytes = 0.0625 GB.
    expect(estimate.lines.find((l) => l.id === 'dynamodbStorage')?.quantity).toBe(0.0625);
  });

  it('sums the variable cost and divides it per 1,000 orders', () => {
    expect(estimate.variableCost).toBeCloseTo(VARIABLE, 10);
    // $0.6809827 / 2,000 orders × 1,000.
    expect(estimate.per1000Orders).toBeCloseTo(0.34049135, 10);
    // 16,000 transitions × $0.000025 = $0.40 over 2,000 orders: $0.20 per 1,000 (8 transitions an order).
    expect(estimate.lines.find((l) => l.id === 'sfnStandardTransition')?.per1000Orders).toBeCloseTo(0.2, 10);
  });

  it('breaks the per-1,000 figure down by service, largest first', () => {
    expect(estimate.per1000ByService.map((s) => s.service)).toEqual([
      'Step Functions Standard', // $0.40      → $0.20 per 1,000
      'CloudWatch Logs', //         $0.1325    → $0.06625
      'DynamoDB', //                $0.063125  → $0.0315625
      'Lambda', //                  $0.0440002 → $0.0220001
      'EventBridge', //             $0.0196875 → $0.00984375
      'Step Functions Express', //  $0.01767   → $0.008835
      'SQS', //                     $0.004     → $0.002
    ]);
    expect(serviceShare(estimate, 'Step Functions Standard').per1000Orders).toBeCloseTo(0.2, 10);
    expect(serviceShare(estimate, 'CloudWatch Logs').per1000Orders).toBeCloseTo(0.06625, 10);
    expect(serviceShare(estimate, 'DynamoDB').per1000Orders).toBeCloseTo(0.0315625, 10);
    expect(serviceShare(estimate, 'Step Functions Standard').share).toBeCloseTo(0.4 / VARIABLE, 10);
    const total = estimate.per1000ByService.reduce((a, s) => a + s.per1000Orders, 0);
    expect(total).toBeCloseTo(estimate.per1000Orders, 10);
  });

  it('gives the Standard transitions and their cost per path', () => {
    expect(estimate.perPath).toEqual([
      // 7 transitions × $0.000025 × 1,000 = $0.175 per 1,000 executions.
      expect.objectContaining({ machine: 'standard-single-site', transitionsPerExecution: 7 }),
      // 11 transitions × $0.000025 × 1,000 = $0.275.
      expect.objectContaining({ machine: 'multi-site-split', transitionsPerExecution: 11 }),
    ]);
    expect(estimate.perPath[0]?.costPer1000Executions).toBeCloseTo(0.175, 10);
    expect(estimate.perPath[1]?.costPer1000Executions).toBeCloseTo(0.275, 10);
  });
});

describe('estimateCost: monthly projection', () => {
  const estimate = estimateCost(USAGE, { fixed: FIXED });

  it('prices the fixed resources by the month', () => {
    expect(estimate.fixedLines.map((l) => [l.id, l.quantity, l.monthlyCost])).toEqual([
      ['cloudWatchAlarmMetric', 26, expect.closeTo(2.6, 10)],
      ['cloudWatchDashboard', 1, expect.closeTo(3, 10)],
      ['cloudWatchCustomMetric', 30, expect.closeTo(9, 10)],
      ['secretsManagerSecret', 2, expect.closeTo(0.8, 10)],
      ['kmsCustomerManagedKey', 1, expect.closeTo(1, 10)],
    ]);
    expect(estimate.fixedMonthlyCost).toBeCloseTo(FIXED_MONTHLY, 10);
  });

  it('scales a one-day run to 30.42 days and adds the fixed cost once at every volume', () => {
    // One day → 30.42 days: × 30.42. Variable: $0.6809827 × 30.42 = $20.715493734.
    expect(estimate.monthScale).toBeCloseTo(30.42, 10);
    expect(estimate.monthly.map((m) => m.multiplier)).toEqual([1, 10, 100]);
    const [one, ten, hundred] = estimate.monthly;
    // 1×: 60,840 orders; $20.715493734 + $16.40 = $37.115493734; all-in $37.115493734 / 60.84 = $0.61005.
    expect(one?.orders).toBeCloseTo(60_840, 6);
    expect(one?.variableCost).toBeCloseTo(20.715493734, 8);
    expect(one?.fixedCost).toBeCloseTo(16.4, 10);
    expect(one?.totalCost).toBeCloseTo(37.115493734, 8);
    expect(one?.allInPer1000Orders).toBeCloseTo(0.61005085, 6);
    // 10×: $207.15493734 + $16.40 = $223.55493734.
    expect(ten?.orders).toBeCloseTo(608_400, 6);
    expect(ten?.totalCost).toBeCloseTo(223.55493734, 7);
    // 100×: $2,071.5493734 + $16.40 = $2,087.9493734 (fixed added once, not 100 times).
    expect(hundred?.orders).toBeCloseTo(6_084_000, 4);
    expect(hundred?.variableCost).toBeCloseTo(2_071.5493734, 6);
    expect(hundred?.totalCost).toBeCloseTo(2_087.9493734, 6);
    // Step Functions Standard for the month at 100×: $0.40 × 30.42 × 100 = $1,216.80.
    expect(hundred?.byService.find((s) => s.service === 'Step Functions Standard')?.cost).toBeCloseTo(
      1_216.8,
      6,
    );
  });

  it('projects a week-long run to the month by its window and takes other multipliers', () => {
    // The same usage over 7 days: × 30.42 / 7; at 2×: $0.6809827 × 30.42 / 7 × 2 = $5.918712495.
    const week = estimateCost(
      { ...USAGE, window: { ...USAGE.window, seconds: 7 * 86_400 } },
      { multipliers: [2] },
    );
    expect(week.monthly).toHaveLength(1);
    expect(week.monthly[0]?.variableCost).toBeCloseTo(5.918712495, 8);
    // No fixed resources given: the month is variable cost only.
    expect(week.fixedGiven).toBe(false);
    expect(week.monthly[0]?.totalCost).toBeCloseTo(5.918712495, 8);
    // The per-1,000 figure does not depend on the window.
    expect(week.per1000Orders).toBeCloseTo(0.34049135, 10);
  });

  it('refuses a run without orders or time', () => {
    expect(() => estimateCost({ ...USAGE, orders: 0 })).toThrow(RangeError);
    expect(() => estimateCost({ ...USAGE, window: { ...USAGE.window, seconds: 0 } })).toThrow(RangeError);
    expect(() => estimateCost(USAGE, { multipliers: [0] })).toThrow(RangeError);
  });
});

describe('estimateCost: target', () => {
  it('misses $0.15 per 1,000 by $0.19049135 and names Step Functions Standard', () => {
    const estimate = estimateCost(USAGE);
    expect(COST_TARGET_PER_1000_ORDERS).toBe(0.15);
    expect(estimate.target.met).toBe(false);
    // $0.34049135 − $0.15.
    expect(estimate.target.missedBy).toBeCloseTo(0.19049135, 10);
    expect(estimate.target.biggest.service).toBe('Step Functions Standard');
  });

  it('is met with 4 transitions an order and nothing else billed', () => {
    const quiet: AwsUsage = {
      ...USAGE,
      stepFunctions: {
        ...USAGE.stepFunctions,
        standardTransitions: 8_000,
        expressRequests: 0,
        expressGbSeconds: 0,
      },
      lambda: { requests: 0, gbSeconds: 0, byFunction: {} },
      eventBridge: { events: 0, invocations: 0, archivedEvents: 0, archivedBytes: 0, replayedEvents: 0 },
      dynamodb: { readRequestUnits: 0, writeRequestUnits: 0, storedBytes: 0, byTable: {} },
      sqs: { requests: 0 },
      logs: { bytesIngested: 0 },
    };
    // 8,000 × $0.000025 = $0.20 over 2,000 orders: $0.10 per 1,000.
    const estimate = estimateCost(quiet);
    expect(estimate.per1000Orders).toBeCloseTo(0.1, 10);
    expect(estimate.target).toMatchObject({ met: true, missedBy: 0 });
    expect(estimate.target.biggest).toMatchObject({ service: 'Step Functions Standard', share: 1 });
  });
});

describe('formatCost', () => {
  it('shows the lines, the per-1,000 figures, the monthly lines and the verdict', () => {
    const text = formatCost(estimateCost(USAGE, { fixed: FIXED }));
    expect(text).toContain('us-east-1');
    expect(text).toContain('free tiers not applied');
    expect(text).toMatch(
      /Step Functions Standard\s+state transitions\s+16,000 transitions\s+\$0\.025\/1,000\s+\$0\.4000\s+\$0\.2000/,
    );
    expect(text).toMatch(/variable total\s+\$0\.6810\s+\$0\.3405/);
    expect(text).toMatch(/1×\s+60,840\s+\$20\.72\s+\$16\.40\s+\$37\.12/);
    expect(text).toMatch(/10×\s+608,400\s+\$207\.15\s+\$16\.40\s+\$223\.55/);
    expect(text).toMatch(/100×\s+6,084,000\s+\$2,071\.55\s+\$16\.40\s+\$2,087\.95/);
    expect(text).toContain('Target $0.1500 per 1,000 orders: missed by $0.1905 ($0.3405)');
    expect(text).toContain('biggest contributor Step Functions Standard $0.2000');
    // Plain text: no ANSI colour.
    expect(text).not.toContain('\u001b[');
  });

  it('says when fixed resources were not given and when the target is met', () => {
    const text = formatCost(
      estimateCost({
        ...USAGE,
        stepFunctions: { ...USAGE.stepFunctions, standardTransitions: 2_000 },
        logs: { bytesIngested: 0 },
      }),
    );
    expect(text).toContain('fixed resources not given');
    expect(text).toContain('Target $0.1500 per 1,000 orders: met at');
  });
});
