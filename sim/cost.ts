import {
  AWS_PRICES,
  BYTES_PER_GB,
  PRICES_AS_OF,
  PRICES_REGION,
  type Price,
  type PriceId,
  unitPrice,
} from './aws-prices.ts';
import type { AwsUsage } from './usage.ts';

/**
 * The cost model: prices one run's AwsUsage with the list prices of sim/aws-prices.ts. Pure arithmetic in
 * floating dollars; nothing is rounded until `formatCost` displays it.
 *
 * - Variable lines are what the run used, priced per unit. Storage lines bill what the run stored for one
 *   month (the month it was written in): data kept longer costs that again for every further month.
 * - The variable cost per 1,000 orders is the run's variable cost / orders × 1,000, also broken down by
 *   service so the dominant one shows.
 * - The monthly projection scales the run to a month (30.42 days) from its virtual window, multiplies by each
 *   volume multiplier, and adds the fixed monthly resources once per month at every volume.
 */

/** The cost model's target: variable AWS cost per 1,000 orders, in dollars. */
export const COST_TARGET_PER_1000_ORDERS = 0.15;
export const DAYS_PER_MONTH = 30.42;
export const SECONDS_PER_MONTH = DAYS_PER_MONTH * 86_400;
export const DEFAULT_MULTIPLIERS: readonly number[] = [1, 10, 100];

/** Resources billed by the month whatever the volume, counted from the synthesized template. */
export interface FixedResources {
  /** Standard alarms on one metric each. */
  readonly alarms: number;
  /** Metrics used by metric-math alarms, summed over those alarms (each is billed as one alarm metric). */
  readonly metricMathAlarmMetrics: number;
  readonly dashboards: number;
  readonly customMetrics: number;
  readonly secrets: number;
  readonly kmsKeys: number;
}

export const NO_FIXED_RESOURCES: FixedResources = {
  alarms: 0,
  metricMathAlarmMetrics: 0,
  dashboards: 0,
  customMetrics: 0,
  secrets: 0,
  kmsKeys: 0,
};

export interface CostOptions {
  /** Omitted: no fixed monthly lines (the monthly figures are then variable cost only). */
  readonly fixed?: FixedResources;
  /** Volume multipliers of the monthly projection. @default [1, 10, 100] */
  readonly multipliers?: readonly number[];
}

export type CostService =
  | 'Step Functions Standard'
  | 'Step Functions Express'
  | 'Lambda'
  | 'EventBridge'
  | 'DynamoDB'
  | 'SQS'
  | 'CloudWatch Logs';

export type FixedService = 'CloudWatch' | 'Secrets Manager' | 'KMS';

/** One usage-priced line of the run. */
export interface CostLine {
  readonly id: PriceId;
  readonly service: CostService;
  readonly item: string;
  readonly quantity: number;
  /** Unit of `quantity` (e.g. 'transitions', 'GB-s'). */
  readonly unit: string;
  /** Dollars per one unit of `quantity`. */
  readonly unitPrice: number;
  readonly price: Price;
  /** Cost of the run, in dollars. */
  readonly cost: number;
  readonly per1000Orders: number;
}

/** One fixed monthly line. */
export interface FixedCostLine {
  readonly id: PriceId;
  readonly service: FixedService;
  readonly item: string;
  readonly quantity: number;
  readonly unit: string;
  readonly unitPrice: number;
  readonly price: Price;
  readonly monthlyCost: number;
}

export interface ServiceShare {
  readonly service: CostService;
  readonly cost: number;
  readonly per1000Orders: number;
  /** Fraction of the variable cost (0..1). */
  readonly share: number;
}

/** Standard transitions and their cost per path (state machine). */
export interface PathCost {
  readonly machine: string;
  readonly executions: number;
  readonly transitions: number;
  readonly transitionsPerExecution: number;
  readonly costPer1000Executions: number;
}

export interface MonthlyProjection {
  readonly multiplier: number;
  readonly orders: number;
  readonly variableCost: number;
  readonly fixedCost: number;
  readonly totalCost: number;
  /** Total (fixed included) / orders × 1,000. */
  readonly allInPer1000Orders: number;
  /** Each service's variable cost for the month. */
  readonly byService: readonly { readonly service: CostService; readonly cost: number }[];
}

export interface CostTargetVerdict {
  readonly target: number;
  readonly met: boolean;
  /** Dollars per 1,000 orders above the target (0 when met). */
  readonly missedBy: number;
  readonly biggest: ServiceShare;
}

export interface CostEstimate {
  readonly region: string;
  readonly pricesAsOf: string;
  readonly window: { readonly seconds: number; readonly days: number; readonly monthsCovered: number };
  readonly orders: number;
  readonly lines: readonly CostLine[];
  readonly variableCost: number;
  readonly per1000Orders: number;
  /** Largest first. */
  readonly per1000ByService: readonly ServiceShare[];
  readonly perPath: readonly PathCost[];
  readonly fixedGiven: boolean;
  readonly fixedLines: readonly FixedCostLine[];
  readonly fixedMonthlyCost: number;
  /** Months in a month of the run's volume: SECONDS_PER_MONTH / window seconds. */
  readonly monthScale: number;
  readonly monthly: readonly MonthlyProjection[];
  readonly target: CostTargetVerdict;
}

const SERVICE_ORDER: readonly CostService[] = [
  'Step Functions Standard',
  'Step Functions Express',
  'Lambda',
  'EventBridge',
  'DynamoDB',
  'SQS',
  'CloudWatch Logs',
];

function gb(bytes: number): number {
  return bytes / BYTES_PER_GB;
}

export function estimateCost(usage: AwsUsage, options: CostOptions = {}): CostEstimate {
  if (!(usage.orders > 0))
    throw new RangeError(`estimateCost needs at least one order (got ${usage.orders})`);
  if (!(usage.window.seconds > 0)) {
    throw new RangeError(`estimateCost needs a positive window (got ${usage.window.seconds} s)`);
  }
  const multipliers = options.multipliers ?? DEFAULT_MULTIPLIERS;
  for (const m of multipliers) {
    if (!(m > 0)) throw new RangeError(`volume multipliers must be positive (got ${m})`);
  }
  const perOrder = 1_000 / usage.orders;

  const line = (
    id: PriceId,
    service: CostService,
    item: string,
    quantity: number,
    unit: string,
  ): CostLine => {
    const price: Price = AWS_PRICES[id];
    const each = unitPrice(price);
    const cost = quantity * each;
    return {
      id,
      service,
      item,
      quantity,
      unit,
      unitPrice: each,
      price,
      cost,
      per1000Orders: cost * perOrder,
    };
  };
  const { stepFunctions: sfn, lambda, eventBridge: eb, dynamodb: ddb, sqs, logs } = usage;
  const lines: CostLine[] = [
    line(
      'sfnStandardTransition',
      'Step Functions Standard',
      'state transitions',
      sfn.standardTransitions,
      'transitions',
    ),
    line('sfnExpressRequest', 'Step Functions Express', 'requests', sfn.expressRequests, 'requests'),
    line('sfnExpressGbSecond', 'Step Functions Express', 'duration', sfn.expressGbSeconds, 'GB-s'),
    line('lambdaRequest', 'Lambda', 'requests', lambda.requests, 'requests'),
    line('lambdaArmGbSecond', 'Lambda', 'duration (arm64)', lambda.gbSeconds, 'GB-s'),
    line('eventBridgeCustomEvent', 'EventBridge', 'custom events', eb.events, 'events'),
    line('eventBridgeArchiveProcessing', 'EventBridge', 'archive processing', gb(eb.archivedBytes), 'GB'),
    line('eventBridgeArchiveStorage', 'EventBridge', 'archive storage', gb(eb.archivedBytes), 'GB-mo'),
    line('eventBridgeReplayEvent', 'EventBridge', 'replayed events', eb.replayedEvents, 'events'),
    line('dynamodbWriteRequestUnit', 'DynamoDB', 'write request units', ddb.writeRequestUnits, 'WRU'),
    line('dynamodbReadRequestUnit', 'DynamoDB', 'read request units', ddb.readRequestUnits, 'RRU'),
    line('dynamodbStorage', 'DynamoDB', 'storage', gb(ddb.storedBytes), 'GB-mo'),
    line('dynamodbPitr', 'DynamoDB', 'point-in-time recovery', gb(ddb.storedBytes), 'GB-mo'),
    line('sqsStandardRequest', 'SQS', 'requests', sqs.requests, 'requests'),
    line('logsIngestion', 'CloudWatch Logs', 'ingestion', gb(logs.bytesIngested), 'GB'),
    line('logsStorage', 'CloudWatch Logs', 'storage', gb(logs.bytesIngested), 'GB-mo'),
  ];
  const variableCost = sum(lines.map((l) => l.cost));
  const per1000Orders = variableCost * perOrder;

  const byService = SERVICE_ORDER.map((service) => {
    const cost = sum(lines.filter((l) => l.service === service).map((l) => l.cost));
    return {
      service,
      cost,
      per1000Orders: cost * perOrder,
      share: variableCost > 0 ? cost / variableCost : 0,
    };
  });
  const per1000ByService = [...byService].sort((a, b) => b.cost - a.cost);

  const transitionPrice = unitPrice(AWS_PRICES.sfnStandardTransition);
  const perPath = Object.entries(sfn.standardTransitionsByMachine)
    .map(([machine, { executions, transitions }]) => {
      const perExecution = executions > 0 ? transitions / executions : 0;
      return {
        machine,
        executions,
        transitions,
        transitionsPerExecution: perExecution,
        costPer1000Executions: perExecution * transitionPrice * 1_000,
      };
    })
    .sort((a, b) => b.transitions - a.transitions || a.machine.localeCompare(b.machine));

  const fixed = options.fixed ?? NO_FIXED_RESOURCES;
  const fixedLine = (id: PriceId, service: FixedService, item: string, quantity: number, unit: string) => {
    const price: Price = AWS_PRICES[id];
    const each = unitPrice(price);
    return { id, service, item, quantity, unit, unitPrice: each, price, monthlyCost: quantity * each };
  };
  const fixedLines: FixedCostLine[] = [
    fixedLine(
      'cloudWatchAlarmMetric',
      'CloudWatch',
      `alarm metrics (${fixed.alarms} alarms + ${fixed.metricMathAlarmMetrics} in metric math)`,
      fixed.alarms + fixed.metricMathAlarmMetrics,
      'metrics',
    ),
    fixedLine('cloudWatchDashboard', 'CloudWatch', 'dashboards', fixed.dashboards, 'dashboards'),
    fixedLine('cloudWatchCustomMetric', 'CloudWatch', 'custom metrics', fixed.customMetrics, 'metrics'),
    fixedLine('secretsManagerSecret', 'Secrets Manager', 'secrets', fixed.secrets, 'secrets'),
    fixedLine('kmsCustomerManagedKey', 'KMS', 'customer managed keys', fixed.kmsKeys, 'keys'),
  ];
  const fixedMonthlyCost = sum(fixedLines.map((l) => l.monthlyCost));

  const monthScale = SECONDS_PER_MONTH / usage.window.seconds;
  const monthly = multipliers.map((multiplier): MonthlyProjection => {
    const scale = monthScale * multiplier;
    const orders = usage.orders * scale;
    const variable = variableCost * scale;
    const totalCost = variable + fixedMonthlyCost;
    return {
      multiplier,
      orders,
      variableCost: variable,
      fixedCost: fixedMonthlyCost,
      totalCost,
      allInPer1000Orders: (totalCost / orders) * 1_000,
      byService: byService.map(({ service, cost }) => ({ service, cost: cost * scale })),
    };
  });

  const biggest = per1000ByService[0] ?? {
    service: 'Step Functions Standard' as const,
    cost: 0,
    per1000Orders: 0,
    share: 0,
  };
  const met = per1000Orders <= COST_TARGET_PER_1000_ORDERS;
  return {
    region: PRICES_REGION,
    pricesAsOf: PRICES_AS_OF,
    window: {
      seconds: usage.window.seconds,
      days: usage.window.seconds / 86_400,
      monthsCovered: usage.window.seconds / SECONDS_PER_MONTH,
    },
    orders: usage.orders,
    lines,
    variableCost,
    per1000Orders,
    per1000ByService,
    perPath,
    fixedGiven: options.fixed !== undefined,
    fixedLines,
    fixedMonthlyCost,
    monthScale,
    monthly,
    target: {
      target: COST_TARGET_PER_1000_ORDERS,
      met,
      missedBy: met ? 0 : per1000Orders - COST_TARGET_PER_1000_ORDERS,
      biggest,
    },
  };
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

// ---------------------------------------------------------------------------------------------------------
// Text

function fixedDigits(value: number, digits: number): string {
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** `$1,234.5678`, rounded for display only. */
export function usd(value: number, digits: number): string {
  const text = fixedDigits(Math.abs(value), digits);
  return value < 0 ? `-$${text}` : `$${text}`;
}

function quantityText(quantity: number, unit: string): string {
  const digits = Number.isInteger(quantity) ? 0 : quantity >= 100 ? 1 : 4;
  return `${fixedDigits(quantity, digits)} ${unit}`;
}

/** `$0.025/1,000`, `$1.00/1M`, `$0.00001667/GB-second`: the list price as its page gives it. */
function priceText(price: Price): string {
  const amount = `$${price.usd.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 10 })}`;
  if (price.per === 1) return `${amount}/${price.unit}`;
  return `${amount}/${price.per === 1_000_000 ? '1M' : fixedDigits(price.per, 0)}`;
}

function percent(fraction: number): string {
  return `${fixedDigits(fraction * 100, 1)} %`;
}

function multiplierText(m: number): string {
  return `${m.toLocaleString('en-US', { maximumFractionDigits: 2 })}×`;
}

/** Pads cells into aligned columns: `align` gives 'l' or 'r' per column (missing: 'r'). */
export function alignTable(rows: readonly (readonly string[])[], align = 'l'): string[] {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length);
    });
  }
  return rows.map((row) =>
    row
      .map((cell, i) => {
        const width = widths[i] ?? cell.length;
        return align[i] === 'l' ? cell.padEnd(width) : cell.padStart(width);
      })
      .join('  ')
      .trimEnd(),
  );
}

/** The verdict against COST_TARGET_PER_1000_ORDERS, in one line. */
export function costVerdictLine(estimate: CostEstimate): string {
  const { target, met, missedBy, biggest } = estimate.target;
  const head = `Target ${usd(target, 4)} per 1,000 orders: `;
  const result = met
    ? `met at ${usd(estimate.per1000Orders, 4)}`
    : `missed by ${usd(missedBy, 4)} (${usd(estimate.per1000Orders, 4)})`;
  return `${head}${result}; biggest contributor ${biggest.service} ${usd(biggest.per1000Orders, 4)} (${percent(biggest.share)}).`;
}

/** A compact plain-text report: line items, per-1,000-orders by service, monthly projection, target verdict. */
export function formatCost(estimate: CostEstimate): string {
  const out: string[] = [];
  out.push(
    `AWS cost, ${estimate.region} on-demand list prices as of ${estimate.pricesAsOf} (free tiers not applied)`,
  );
  out.push(
    `Run: ${fixedDigits(estimate.orders, 0)} orders over ${fixedDigits(estimate.window.days, 2)} days of virtual time`,
  );
  out.push('');
  out.push(
    ...alignTable(
      [
        ['service', 'item', 'quantity', 'unit price', 'run cost', 'per 1,000 orders'],
        ...estimate.lines.map((l) => [
          l.service,
          l.item,
          quantityText(l.quantity, l.unit),
          priceText(l.price),
          usd(l.cost, 4),
          usd(l.per1000Orders, 4),
        ]),
        ['variable total', '', '', '', usd(estimate.variableCost, 4), usd(estimate.per1000Orders, 4)],
      ],
      'll',
    ),
  );
  out.push('');
  out.push('Per 1,000 orders by service:');
  out.push(
    ...alignTable(
      estimate.per1000ByService.map((s) => [`  ${s.service}`, usd(s.per1000Orders, 4), percent(s.share)]),
    ),
  );
  if (estimate.perPath.length > 0) {
    out.push('');
    out.push('Standard transitions by path:');
    out.push(
      ...alignTable(
        estimate.perPath.map((p) => [
          `  ${p.machine}`,
          `${fixedDigits(p.executions, 0)} executions`,
          `${fixedDigits(p.transitionsPerExecution, 1)} transitions each`,
          `${usd(p.costPer1000Executions, 4)} per 1,000`,
        ]),
      ),
    );
  }
  out.push('');
  out.push(
    estimate.fixedGiven
      ? `Monthly (${DAYS_PER_MONTH} days; fixed resources added once a month):`
      : `Monthly (${DAYS_PER_MONTH} days; fixed resources not given, variable cost only):`,
  );
  out.push(
    ...alignTable([
      ['  volume', 'orders/month', 'variable', 'fixed', 'total', 'all-in per 1,000'],
      ...estimate.monthly.map((m) => [
        `  ${multiplierText(m.multiplier)}`,
        fixedDigits(m.orders, 0),
        usd(m.variableCost, 2),
        usd(m.fixedCost, 2),
        usd(m.totalCost, 2),
        usd(m.allInPer1000Orders, 4),
      ]),
    ]),
  );
  if (estimate.fixedGiven) {
    out.push('Fixed monthly:');
    out.push(
      ...alignTable(
        estimate.fixedLines.map((l) => [
          `  ${l.service}`,
          l.item,
          `${fixedDigits(l.quantity, 0)} × ${priceText(l.price)}`,
          usd(l.monthlyCost, 2),
        ]),
        'll',
      ),
    );
  }
  out.push('');
  out.push(costVerdictLine(estimate));
  return out.join('\n');
}
