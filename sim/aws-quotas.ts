/**
 * Default AWS service quotas the capacity plan (sim/capacity.ts) compares the run's peaks with: us-east-1,
 * taken 2026-12-03 from the documentation cited on each line. This file is the only place to update them.
 *
 * `name` is the quota as AWS documents it: the Service Quotas name where it has one (EventBridge, Lambda,
 * DynamoDB tables), the row of the quota tables in the Step Functions guide, and for DynamoDB's
 * per-partition limits (a hard limit of the storage engine, not a Service Quotas entry) the guide's wording.
 * `adjustable` says whether a quota increase can be requested.
 * Throttles given as token buckets compare the peak with the refill rate (the sustained rate); the bucket
 * only absorbs a burst for `bucket / (peak − refill)` seconds.
 */

export interface AwsQuota {
  readonly service: string;
  readonly name: string;
  /** The figure the peak is compared with (a refill rate for a token bucket). */
  readonly value: number;
  readonly unit: string;
  /** Token bucket size, where the quota is a token bucket. */
  readonly bucket?: number;
  readonly adjustable: boolean;
  readonly source: string;
  readonly note?: string;
}

export const QUOTAS_REGION = 'us-east-1';
/** When the quotas below were taken from their sources. */
export const QUOTAS_AS_OF = '2026-12-03';

const SFN = 'https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html';
const EVENTBRIDGE = 'https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html';
const LAMBDA = 'https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html';
const DYNAMODB_QUOTAS = 'https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html';
const DYNAMODB_PARTITIONS =
  'https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-design.html';

export const AWS_QUOTAS = {
  sfnStandardStartExecution: {
    service: 'Step Functions',
    name: 'StartExecution API action throttling (Standard)',
    value: 300,
    unit: 'per second',
    bucket: 1_300,
    adjustable: true,
    source: SFN,
    note: 'Token bucket: 1,300 tokens, refilled at 300 per second in us-east-1, us-west-2 and eu-west-1 (800/150 elsewhere). Per account and Region, shared by every state machine.',
  },
  sfnExpressStartExecution: {
    service: 'Step Functions',
    name: 'StartExecution API action throttling (Express)',
    value: 6_000,
    unit: 'per second',
    bucket: 6_000,
    adjustable: true,
    source: SFN,
    note: 'Token bucket: 6,000 tokens refilled at 6,000 per second.',
  },
  sfnStandardStateTransitions: {
    service: 'Step Functions',
    name: 'StateTransition throttling (Standard)',
    value: 1_500,
    unit: 'per second',
    bucket: 5_000,
    adjustable: true,
    source: SFN,
    note: 'Token bucket: 5,000 tokens refilled at 1,500 per second in us-east-1, us-west-2 and eu-west-1 (800/500 elsewhere); reported as ExecutionThrottled. New accounts start lower and AWS raises them with usage. Express transitions are not throttled.',
  },
  sfnOpenExecutions: {
    service: 'Step Functions',
    name: 'Maximum open executions per account',
    value: 1_000_000,
    unit: 'executions',
    adjustable: true,
    source: SFN,
    note: 'Standard executions RUNNING at once, per account and Region; beyond it StartExecution fails with ExecutionLimitExceeded. Express executions do not count.',
  },
  eventBridgePutEvents: {
    service: 'EventBridge',
    name: 'PutEvents throttle limit in transactions per second',
    value: 10_000,
    unit: 'requests per second',
    adjustable: true,
    source: EVENTBRIDGE,
    note: 'Per account and Region, all buses together. A request carries up to 10 entries, so entries per second may be up to 10× this.',
  },
  eventBridgeInvocations: {
    service: 'EventBridge',
    name: 'Invocations throttle limit in transactions per second',
    value: 18_750,
    unit: 'per second',
    adjustable: true,
    source: EVENTBRIDGE,
    note: 'One invocation is one event delivered to one rule target; invocations over the limit are delayed and retried, not dropped.',
  },
  lambdaConcurrentExecutions: {
    service: 'Lambda',
    name: 'Concurrent executions',
    value: 1_000,
    unit: 'executions',
    adjustable: true,
    source: LAMBDA,
    note: 'Per account and Region, shared by every function (reserved concurrency is carved out of it).',
  },
  dynamodbPartitionWrite: {
    service: 'DynamoDB',
    name: 'Per-partition write throughput',
    value: 1_000,
    unit: 'write units per second',
    adjustable: false,
    source: DYNAMODB_PARTITIONS,
    note: 'A single partition serves at most 1,000 write units per second whatever the table capacity; adaptive capacity can split a hot partition by sort key, but never one item.',
  },
  dynamodbPartitionRead: {
    service: 'DynamoDB',
    name: 'Per-partition read throughput',
    value: 3_000,
    unit: 'read units per second',
    adjustable: false,
    source: DYNAMODB_PARTITIONS,
    note: 'A single partition serves at most 3,000 read units per second (an eventually consistent read of up to 4 KB is half a unit).',
  },
  dynamodbTableWrite: {
    service: 'DynamoDB',
    name: 'Table-level write throughput limit',
    value: 40_000,
    unit: 'write request units per second',
    adjustable: true,
    source: DYNAMODB_QUOTAS,
    note: 'Per on-demand table (and each of its GSIs). On-demand also serves only up to double the previous peak at once: pre-warm with warm throughput before a step change.',
  },
  dynamodbTableRead: {
    service: 'DynamoDB',
    name: 'Table-level read throughput limit',
    value: 40_000,
    unit: 'read request units per second',
    adjustable: true,
    source: DYNAMODB_QUOTAS,
    note: 'Per on-demand table (and each of its GSIs). On-demand also serves only up to double the previous peak at once: pre-warm with warm throughput before a step change.',
  },
} as const satisfies Record<string, AwsQuota>;

export type QuotaId = keyof typeof AWS_QUOTAS;
