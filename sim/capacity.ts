import { AWS_QUOTAS, type AwsQuota, QUOTAS_AS_OF, QUOTAS_REGION, type QuotaId } from './aws-quotas.ts';
import { alignTable, DEFAULT_MULTIPLIERS } from './cost.ts';
import type { AwsUsage } from './usage.ts';

/**
 * The capacity plan: the run's peaks (sim/usage.ts) at each volume multiplier against the default quotas of
 * sim/aws-quotas.ts. A quota is close at 80 % of its default and binds at 100 %; every quota that is close
 * or binds at some multiplier gets one remedy specific to Handoff's architecture.
 *
 * Rates scale linearly with volume (peak × multiplier), and so do open executions. That is conservative for
 * DynamoDB's hottest partition when its key is per order (more orders spread over more keys) and exact when
 * it is shared (a day, stage or shard key).
 */

export const CLOSE_PERCENT = 80;
export const BINDS_PERCENT = 100;

export type Verdict = 'ok' | 'close' | 'binds';

export interface CapacityOptions {
  /** @default [1, 10, 100] */
  readonly multipliers?: readonly number[];
  /**
   * Entries per PutEvents request the publishers achieve. @default 1: each entry its own request (a state
   * machine's PutEvents task and a function publishing one event), the conservative reading.
   */
  readonly putEventsEntriesPerRequest?: number;
}

export interface QuotaLevel {
  readonly multiplier: number;
  /** Demand at this volume, in the quota's unit. */
  readonly demand: number;
  readonly utilisationPercent: number;
  readonly verdict: Verdict;
  /** For a token bucket exceeded at this volume: seconds the full bucket absorbs the excess. */
  readonly burstSeconds?: number;
}

export interface CapacityRow {
  readonly id: QuotaId;
  readonly quota: AwsQuota;
  /** What the demand is. */
  readonly demandBasis: string;
  /** The table, key or function the demand is about, where one is named. */
  readonly subject?: string;
  /** True when the demand is estimated rather than measured by the meter. */
  readonly estimated: boolean;
  readonly levels: readonly QuotaLevel[];
  /** The worst verdict over the multipliers. */
  readonly verdict: Verdict;
  /** 'ok', 'close at 10×', 'binds at 100×', 'close at 10×, binds at 100×'. */
  readonly summary: string;
  /** One sentence, present exactly when the quota is close or binds at some multiplier. */
  readonly remedy?: string;
}

export interface CapacityPlan {
  readonly region: string;
  readonly quotasAsOf: string;
  readonly peakWindowSeconds: number;
  readonly multipliers: readonly number[];
  readonly rows: readonly CapacityRow[];
  /** The rows that are close or bind, in table order. */
  readonly attention: readonly CapacityRow[];
}

interface Demand {
  readonly id: QuotaId;
  readonly basis: string;
  /** Demand at 1×. */
  readonly base: number;
  readonly subject?: string;
  readonly estimated?: boolean;
}

export function verdictOf(utilisationPercent: number): Verdict {
  if (utilisationPercent >= BINDS_PERCENT) return 'binds';
  if (utilisationPercent >= CLOSE_PERCENT) return 'close';
  return 'ok';
}

export function planCapacity(usage: AwsUsage, options: CapacityOptions = {}): CapacityPlan {
  const multipliers = [...new Set(options.multipliers ?? DEFAULT_MULTIPLIERS)].sort((a, b) => a - b);
  for (const m of multipliers) {
    if (!(m > 0)) throw new RangeError(`volume multipliers must be positive (got ${m})`);
  }
  const entriesPerRequest = options.putEventsEntriesPerRequest ?? 1;
  if (!(entriesPerRequest >= 1 && entriesPerRequest <= 10)) {
    throw new RangeError(`PutEvents carries 1 to 10 entries per request (got ${entriesPerRequest})`);
  }

  const { peaks } = usage;
  const hot = peaks.dynamodbHottestPartition;
  const hotKey = `${hot.table} partition key ${hot.partitionKey}`;
  const tables = busiestTables(usage);
  const demands: Demand[] = [
    {
      id: 'sfnStandardStartExecution',
      basis: 'peak Standard StartExecution per second',
      base: peaks.standardStartExecutionPerSecond,
    },
    {
      id: 'sfnStandardStateTransitions',
      basis: 'peak Standard state transitions per second',
      base: peaks.standardTransitionsPerSecond,
    },
    {
      id: 'sfnOpenExecutions',
      basis: 'most Standard executions open at once',
      base: peaks.openStandardExecutions,
    },
    {
      id: 'sfnExpressStartExecution',
      basis: 'peak Express StartExecution per second',
      base: peaks.expressStartExecutionPerSecond,
    },
    {
      id: 'eventBridgePutEvents',
      basis:
        entriesPerRequest === 1
          ? 'peak PutEvents entries per second, one entry per request'
          : `peak PutEvents entries per second ÷ ${entriesPerRequest} entries per request`,
      base: peaks.putEventsEntriesPerSecond / entriesPerRequest,
    },
    {
      id: 'eventBridgeInvocations',
      basis: 'peak rule target invocations per second',
      base: peaks.ruleInvocationsPerSecond,
    },
    {
      id: 'lambdaConcurrentExecutions',
      basis: 'peak concurrent executions (invocations/s × mean duration)',
      base: peaks.lambdaConcurrency,
    },
    {
      id: 'dynamodbPartitionWrite',
      basis: 'hottest partition, write units per second',
      base: hot.writeUnitsPerSecond,
      subject: hotKey,
    },
    {
      id: 'dynamodbPartitionRead',
      basis: 'hottest partition, read units per second',
      base: hot.readUnitsPerSecond,
      subject: hotKey,
    },
    {
      id: 'dynamodbTableWrite',
      basis: "busiest table's write units per second: its mean rate × the run's Lambda peak/mean ratio",
      base: tables.write.rate,
      ...(tables.write.table === undefined ? {} : { subject: tables.write.table }),
      estimated: true,
    },
    {
      id: 'dynamodbTableRead',
      basis: "busiest table's read units per second: its mean rate × the run's Lambda peak/mean ratio",
      base: tables.read.rate,
      ...(tables.read.table === undefined ? {} : { subject: tables.read.table }),
      estimated: true,
    },
  ];

  const rows = demands.map((d) => row(d, multipliers, usage));
  return {
    region: QUOTAS_REGION,
    quotasAsOf: QUOTAS_AS_OF,
    peakWindowSeconds: peaks.peakWindowSeconds,
    multipliers,
    rows,
    attention: rows.filter((r) => r.verdict !== 'ok'),
  };
}

function row(demand: Demand, multipliers: readonly number[], usage: AwsUsage): CapacityRow {
  const quota: AwsQuota = AWS_QUOTAS[demand.id];
  const levels = multipliers.map((multiplier): QuotaLevel => {
    const value = demand.base * multiplier;
    const utilisationPercent = (value * 100) / quota.value;
    const verdict = verdictOf(utilisationPercent);
    const excess = value - quota.value;
    return {
      multiplier,
      demand: value,
      utilisationPercent,
      verdict,
      ...(quota.bucket !== undefined && excess > 0 ? { burstSeconds: quota.bucket / excess } : {}),
    };
  });
  const firstClose = levels.find((l) => l.verdict === 'close');
  const firstBinding = levels.find((l) => l.verdict === 'binds');
  const verdict: Verdict = firstBinding ? 'binds' : firstClose ? 'close' : 'ok';
  const parts: string[] = [];
  if (firstClose && (!firstBinding || firstClose.multiplier < firstBinding.multiplier)) {
    parts.push(`close at ${multiplierText(firstClose.multiplier)}`);
  }
  if (firstBinding) parts.push(`binds at ${multiplierText(firstBinding.multiplier)}`);
  const worst = firstBinding ?? firstClose;
  const base: Omit<CapacityRow, 'remedy'> = {
    id: demand.id,
    quota,
    demandBasis: demand.basis,
    ...(demand.subject === undefined ? {} : { subject: demand.subject }),
    estimated: demand.estimated ?? false,
    levels,
    verdict,
    summary: parts.length > 0 ? parts.join(', ') : 'ok',
  };
  // The remedy is sized for the highest volume planned, the worst case the plan shows.
  const top = levels[levels.length - 1];
  return worst && top ? { ...base, remedy: remedyFor(demand, quota, worst, top, usage) } : base;
}

/** Per table, its mean rate over the window scaled by the run's burstiness (Lambda peak ÷ Lambda mean). */
function busiestTables(usage: AwsUsage): {
  write: { table?: string; rate: number };
  read: { table?: string; rate: number };
} {
  const seconds = usage.window.seconds;
  const meanInvocations = seconds > 0 ? usage.lambda.requests / seconds : 0;
  const burst =
    meanInvocations > 0 ? Math.max(1, usage.peaks.lambdaInvocationsPerSecond / meanInvocations) : 1;
  const hot = usage.peaks.dynamodbHottestPartition;
  let write: { table?: string; rate: number } = { rate: 0 };
  let read: { table?: string; rate: number } = { rate: 0 };
  for (const [table, units] of Object.entries(usage.dynamodb.byTable)) {
    const mean = (n: number) => (seconds > 0 ? (n / seconds) * burst : 0);
    // A table is at least as busy as its hottest partition.
    const writeRate = Math.max(
      mean(units.writeRequestUnits),
      table === hot.table ? hot.writeUnitsPerSecond : 0,
    );
    const readRate = Math.max(mean(units.readRequestUnits), table === hot.table ? hot.readUnitsPerSecond : 0);
    if (writeRate > write.rate) write = { table, rate: writeRate };
    if (readRate > read.rate) read = { table, rate: readRate };
  }
  return { write, read };
}

function remedyFor(
  demand: Demand,
  quota: AwsQuota,
  worst: QuotaLevel,
  top: QuotaLevel,
  usage: AwsUsage,
): string {
  const at = multiplierText(worst.multiplier);
  const need = `${count(top.demand)} ${quota.unit} at ${multiplierText(top.multiplier)}`;
  const bucket =
    top.burstSeconds === undefined
      ? ''
      : ` (its ${count(quota.bucket ?? 0)}-token bucket absorbs only ${count(top.burstSeconds, 1)} s of that)`;
  const hot = usage.peaks.dynamodbHottestPartition;
  switch (demand.id) {
    case 'sfnStandardStartExecution':
      return `Buffer path starts behind the ingress queues: cap the ErpIngressQueue and EdiInboundQueue event sources' maximum concurrency (and OrderRouter's reserved concurrency) so starts drain below ${count(quota.value)} per second against ${need}${bucket}, and request a StartExecution refill-rate increase before ${at} volume.`;
    case 'sfnStandardStateTransitions':
      return `Move each path's synchronous credit → allocate → release burst into an Express child workflow (Express transitions are neither throttled nor billed per transition), leaving the Standard parent only its waits and callbacks, and request a StateTransition refill-rate increase for ${need}${bucket}.`;
    case 'sfnOpenExecutions':
      return `Executions already end at the warehouse handoff (post-shipment runs as Express), so what stays open is orders waiting on credit decisions, stock or release windows: request a Maximum open executions increase (it goes to millions) ahead of ${at} volume for ${need}.`;
    case 'sfnExpressStartExecution':
      return `Have the shipment.confirmed rule feed the post-shipment workflow through an SQS queue drained by a Lambda with a maximum concurrency, and request an Express StartExecution increase for ${need}.`;
    case 'eventBridgePutEvents':
      return `Publish each step's events together (EventBridgePublisher already sends up to 10 entries per PutEvents call) and request a PutEvents throttle increase for ${need}.`;
    case 'eventBridgeInvocations':
      return `Invocations over the limit are delayed, not lost: request an Invocations throttle increase for ${need}, and cut the fan-out of every canonical event to ProcessRecorder and SlaTracker by giving each one SQS queue target drained in batches.`;
    case 'lambdaConcurrentExecutions':
      return `Request a Concurrent executions increase for ${need}, and give ErpOrderIngress, EdiReplenishment and OrderRouter reserved concurrency so partner-bound step functions (CheckCredit, AllocateStock) cannot starve order intake.`;
    case 'dynamodbPartitionWrite': {
      // Enough keys that each stays under the close threshold at the highest volume planned.
      const shards = Math.max(2, Math.ceil(top.demand / ((quota.value * CLOSE_PERCENT) / 100)));
      return `Write-shard ${hot.table}'s key ${hot.partitionKey} (${need}): spread its writes over ${shards} keys with a suffix #0…#${shards - 1} from a hash of the order id (where the key already carries a shard, multiply the shard count by ${shards}) and query every shard on read.`;
    }
    case 'dynamodbPartitionRead':
      return `Spread or cache the reads of ${hot.table}'s key ${hot.partitionKey} (${need}): use eventually consistent reads (half the units), cache the item in the reading function, or write it under several suffixed keys and let each reader pick one.`;
    case 'dynamodbTableWrite':
    case 'dynamodbTableRead': {
      const which = demand.id === 'dynamodbTableWrite' ? 'write' : 'read';
      return `Request a Table-level ${which} throughput limit increase for ${demand.subject ?? 'the busiest table'} (${need}, estimated) and pre-warm it with warm throughput, since on-demand serves only double its previous peak at once.`;
    }
  }
}

function count(value: number, digits = 0): string {
  const shown = digits === 0 && value > 0 && value < 10 ? 1 : digits;
  return value.toLocaleString('en-US', { minimumFractionDigits: 0, maximumFractionDigits: shown });
}

function multiplierText(m: number): string {
  return `${m.toLocaleString('en-US', { maximumFractionDigits: 2 })}×`;
}

function levelText(level: QuotaLevel): string {
  const percent = level.utilisationPercent.toLocaleString('en-US', {
    minimumFractionDigits: 1,
    maximumFractionDigits: 1,
  });
  return `${count(level.demand)} (${percent} %)`;
}

/** Text table: quota, default, peak and utilisation at each multiplier, verdict; then the remedies. */
export function formatCapacityPlan(plan: CapacityPlan): string {
  const out: string[] = [];
  out.push(
    `Capacity against default quotas, ${plan.region} as of ${plan.quotasAsOf} (peaks over ${count(plan.peakWindowSeconds)} s of virtual time; close ≥ ${CLOSE_PERCENT} %, binds ≥ ${BINDS_PERCENT} %)`,
  );
  out.push('');
  const header = [
    'quota',
    'default',
    ...plan.multipliers.map((m) => `peak at ${multiplierText(m)}`),
    'verdict',
  ];
  const body = plan.rows.map((r) => [
    `${r.quota.service}: ${r.quota.name}${r.estimated ? ' (est.)' : ''}`,
    `${count(r.quota.value)}${r.quota.unit.includes('second') ? '/s' : ''}`,
    ...r.levels.map(levelText),
    r.summary,
  ]);
  out.push(...alignTable([header, ...body], `lr${'r'.repeat(plan.multipliers.length)}l`));
  const subjects = plan.rows.filter((r) => r.subject !== undefined);
  if (subjects.length > 0) {
    out.push('');
    for (const r of subjects) out.push(`${r.quota.name}: ${r.subject}`);
  }
  out.push('');
  if (plan.attention.length === 0) {
    out.push(`No quota is close at ${multiplierText(plan.multipliers[plan.multipliers.length - 1] ?? 1)}.`);
  } else {
    out.push('Remedies:');
    for (const r of plan.attention)
      out.push(`- ${r.quota.service} ${r.quota.name} (${r.summary}): ${r.remedy}`);
  }
  return out.join('\n');
}
