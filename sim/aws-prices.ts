/**
 * THE price table of the cost model (sim/cost.ts): AWS list prices, us-east-1, on-demand, in US dollars.
 * This file is the only place to update a price: the cost model reads every figure from here.
 *
 * Taken 2026-12-03 from the public pricing pages cited on each line (values as current for 2026; the
 * archive and replay lines were cross-checked against a March 2026 us-east-1 price summary). AWS changes
 * prices without notice: re-read the source of a line before relying on it, then change the value and
 * `PRICES_AS_OF` together.
 *
 * Deliberately NOT included, so the figures are conservative and scale linearly with volume:
 * - Free tiers of any kind (Lambda's 1 M requests and 400,000 GB-s, Step Functions' 4,000 transitions,
 *   SQS's 1 M requests, DynamoDB's 25 GB, CloudWatch's 10 alarms, 10 metrics, 3 dashboards and 5 GB of
 *   logs, KMS's 20,000 requests): every unit is charged from the first.
 * - Volume tiers: the first (dearest) tier is used throughout (Express and Lambda duration get cheaper
 *   past their first tier; custom metrics past 10,000).
 * - Per-request charges the meter does not count: KMS requests ($0.03 per 10,000), Secrets Manager API
 *   calls ($0.05 per 10,000), X-Ray traces (the functions are traced), CloudWatch PutMetricData and Logs
 *   Insights queries, DynamoDB Streams reads (free for Lambda triggers anyway), data transfer, tax and any
 *   support plan.
 * - Savings Plans, reserved capacity and private pricing.
 *
 * Storage lines are priced per GB-month of what was stored; GB means 2^30 bytes, as AWS bills storage.
 */

/** One billable unit's list price: `usd` for every `per` units of `unit`. */
export interface Price {
  readonly usd: number;
  readonly per: number;
  /** The unit counted (singular), e.g. 'state transition', 'GB-second'. */
  readonly unit: string;
  readonly source: string;
  /** What the price assumes (tier, class, architecture). */
  readonly note?: string;
}

export const PRICES_REGION = 'us-east-1';
/** When the prices below were taken from their sources. */
export const PRICES_AS_OF = '2026-12-03';
/** AWS bills storage and data by the binary gigabyte. */
export const BYTES_PER_GB = 2 ** 30;

const SFN = 'https://aws.amazon.com/step-functions/pricing/';
const LAMBDA = 'https://aws.amazon.com/lambda/pricing/';
const EVENTBRIDGE = 'https://aws.amazon.com/eventbridge/pricing/';
const DYNAMODB = 'https://aws.amazon.com/dynamodb/pricing/on-demand/';
const SQS = 'https://aws.amazon.com/sqs/pricing/';
const CLOUDWATCH = 'https://aws.amazon.com/cloudwatch/pricing/';
const SECRETS = 'https://aws.amazon.com/secrets-manager/pricing/';
const KMS = 'https://aws.amazon.com/kms/pricing/';

export const AWS_PRICES = {
  // Usage-based lines: priced from the meter's AwsUsage.
  sfnStandardTransition: {
    usd: 0.025,
    per: 1_000,
    unit: 'state transition',
    source: SFN,
    note: 'Standard workflows, billed per state transition (retries included).',
  },
  sfnExpressRequest: {
    usd: 1.0,
    per: 1_000_000,
    unit: 'request',
    source: SFN,
    note: 'Express workflows, per execution started.',
  },
  sfnExpressGbSecond: {
    usd: 0.00001667,
    per: 1,
    unit: 'GB-second',
    source: SFN,
    note: 'Express duration, first tier (first 1,000 GB-hours a month); 64 MB minimum, 100 ms steps.',
  },
  lambdaRequest: { usd: 0.2, per: 1_000_000, unit: 'request', source: LAMBDA },
  lambdaArmGbSecond: {
    usd: 0.0000133334,
    per: 1,
    unit: 'GB-second',
    source: LAMBDA,
    note: 'Arm (arm64, every Handoff function), first tier (first 7.5 billion GB-seconds a month).',
  },
  eventBridgeCustomEvent: {
    usd: 1.0,
    per: 1_000_000,
    unit: 'event',
    source: EVENTBRIDGE,
    note: 'Custom events put on a bus; each 64 KB chunk of a payload is one event. Rule deliveries to AWS targets are free.',
  },
  eventBridgeArchiveProcessing: {
    usd: 0.1,
    per: 1,
    unit: 'GB',
    source: EVENTBRIDGE,
    note: 'Archive: per GB of events archived.',
  },
  eventBridgeArchiveStorage: {
    usd: 0.023,
    per: 1,
    unit: 'GB-month',
    source: EVENTBRIDGE,
    note: 'Archive storage (the fulfilment archive keeps 400 days).',
  },
  eventBridgeReplayEvent: {
    usd: 1.0,
    per: 1_000_000,
    unit: 'event',
    source: EVENTBRIDGE,
    note: 'Replayed events are charged as custom events.',
  },
  dynamodbWriteRequestUnit: {
    usd: 0.625,
    per: 1_000_000,
    unit: 'write request unit',
    source: DYNAMODB,
    note: 'On-demand, Standard table class, after the November 2024 price reduction.',
  },
  dynamodbReadRequestUnit: {
    usd: 0.125,
    per: 1_000_000,
    unit: 'read request unit',
    source: DYNAMODB,
    note: 'On-demand, Standard table class, after the November 2024 price reduction.',
  },
  dynamodbStorage: {
    usd: 0.25,
    per: 1,
    unit: 'GB-month',
    source: DYNAMODB,
    note: 'Standard table class (the 25 GB free tier is not applied).',
  },
  dynamodbPitr: {
    usd: 0.2,
    per: 1,
    unit: 'GB-month',
    source: DYNAMODB,
    note: 'Point-in-time recovery (continuous backups) on table size; every Handoff table has PITR on.',
  },
  sqsStandardRequest: {
    usd: 0.4,
    per: 1_000_000,
    unit: 'request',
    source: SQS,
    note: 'Standard queues; each 64 KB chunk of a payload is one request.',
  },
  logsIngestion: {
    usd: 0.5,
    per: 1,
    unit: 'GB',
    source: CLOUDWATCH,
    note: 'CloudWatch Logs Standard class ingestion (functions and state machines).',
  },
  logsStorage: {
    usd: 0.03,
    per: 1,
    unit: 'GB-month',
    source: CLOUDWATCH,
    note: 'Logs storage (AWS bills compressed bytes; the model bills ingested bytes, which overstates it). Log groups keep one month.',
  },

  // Fixed monthly lines: priced from the resources the synthesized template defines.
  cloudWatchAlarmMetric: {
    usd: 0.1,
    per: 1,
    unit: 'alarm metric-month',
    source: CLOUDWATCH,
    note: 'Standard-resolution alarm, per metric it evaluates: a metric-math alarm is charged once per metric in its expression.',
  },
  cloudWatchDashboard: {
    usd: 3.0,
    per: 1,
    unit: 'dashboard-month',
    source: CLOUDWATCH,
    note: 'The 3 free dashboards are not applied.',
  },
  cloudWatchCustomMetric: {
    usd: 0.3,
    per: 1,
    unit: 'metric-month',
    source: CLOUDWATCH,
    note: 'First tier (first 10,000 metrics); EMF metrics count as custom metrics.',
  },
  secretsManagerSecret: {
    usd: 0.4,
    per: 1,
    unit: 'secret-month',
    source: SECRETS,
    note: 'API calls ($0.05 per 10,000) not included.',
  },
  kmsCustomerManagedKey: {
    usd: 1.0,
    per: 1,
    unit: 'key-month',
    source: KMS,
    note: 'Customer managed key; requests ($0.03 per 10,000) not included.',
  },
} as const satisfies Record<string, Price>;

export type PriceId = keyof typeof AWS_PRICES;

/** The price of one unit (e.g. $0.000025 per state transition). */
export function unitPrice(price: Price): number {
  return price.usd / price.per;
}
