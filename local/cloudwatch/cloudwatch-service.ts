import type { LocalClock } from '../clock/clock.ts';
import type { CloudModel, TemplateResource } from '../template/model.ts';
import { UnsupportedTemplateFeature } from '../template/model.ts';
import {
  type Expression,
  evaluateExpression,
  MetricMathError,
  parseExpression,
  queryIds,
} from './metric-math.ts';

export interface Dimension {
  readonly Name: string;
  readonly Value: string;
}

export interface Datapoint {
  readonly namespace: string;
  readonly name: string;
  readonly dimensions: readonly Dimension[];
  readonly value: number;
  readonly unit: string;
  readonly at: number;
}

export type Statistic = 'SampleCount' | 'Average' | 'Sum' | 'Minimum' | 'Maximum';
export type AlarmState = 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';

const STATISTICS: readonly string[] = ['SampleCount', 'Average', 'Sum', 'Minimum', 'Maximum'];

/** A query of GetMetricData or of a metric-math alarm that reads one metric's statistic per period. */
export interface MetricStatQuery {
  readonly id: string;
  readonly label?: string;
  readonly returnData: boolean;
  readonly namespace: string;
  readonly metricName: string;
  readonly dimensions: readonly Dimension[];
  readonly statistic: Statistic;
  readonly periodSeconds: number;
}

/** A metric-math query: an expression over the other queries' values, period by period. */
export interface ExpressionQuery {
  readonly id: string;
  readonly label?: string;
  readonly returnData: boolean;
  readonly expression: string;
  readonly parsed: Expression;
}

export type MetricQuery = MetricStatQuery | ExpressionQuery;

export const isExpression = (query: MetricQuery): query is ExpressionQuery => 'expression' in query;

export interface LocalAlarm {
  readonly resource: TemplateResource;
  readonly name: string;
  readonly arn: string;
  readonly description: string;
  /** The metric of a threshold alarm on one metric; '' (and no dimensions) for a metric-math alarm. */
  readonly namespace: string;
  readonly metricName: string;
  readonly dimensions: readonly Dimension[];
  /** Undefined for a metric-math alarm: each of its queries has its own. */
  readonly statistic: Statistic | undefined;
  /**
   * What the alarm evaluates, period by period: the one query that returns data (its only metric for a
   * threshold alarm; the expression of a metric-math alarm, with the queries it reads).
   */
  readonly queries: readonly MetricQuery[];
  /** True for a metric-math alarm (the template gave `Metrics`). */
  readonly math: boolean;
  readonly periodSeconds: number;
  readonly evaluationPeriods: number;
  readonly datapointsToAlarm: number;
  readonly threshold: number;
  readonly comparison: string;
  readonly treatMissingData: 'missing' | 'notBreaching' | 'breaching' | 'ignore';
  readonly alarmActions: readonly string[];
  readonly okActions: readonly string[];
  state: AlarmState;
  stateReason: string;
  stateUpdatedAt: Date;
  readonly history: { at: Date; from: AlarmState; to: AlarmState; reason: string }[];
}

export interface AlarmNotification {
  readonly alarmName: string;
  readonly topicArn: string;
  readonly newState: AlarmState;
  readonly reason: string;
  readonly at: Date;
}

/** A dashboard of the templates, as GetDashboard returns it. */
export interface LocalDashboard {
  readonly resource: TemplateResource;
  readonly name: string;
  readonly arn: string;
  /** The DashboardBody JSON with every reference resolved to the local cloud's names. */
  readonly body: string;
  readonly lastModified: Date;
}

/** A metric the local cloud samples itself when an alarm asks for it (e.g. SQS queue depth). */
export type MetricSampler = (
  namespace: string,
  name: string,
  dimensions: readonly Dimension[],
) => Promise<number | undefined>;

const key = (namespace: string, name: string, dimensions: readonly Dimension[]) =>
  `${namespace}|${name}|${[...dimensions]
    .sort((a, b) => a.Name.localeCompare(b.Name))
    .map((d) => `${d.Name}=${d.Value}`)
    .join(',')}`;

const COMPARE: Record<string, (value: number, threshold: number) => boolean> = {
  GreaterThanThreshold: (v, t) => v > t,
  GreaterThanOrEqualToThreshold: (v, t) => v >= t,
  LessThanThreshold: (v, t) => v < t,
  LessThanOrEqualToThreshold: (v, t) => v <= t,
};

/** Index of the first datapoint at or after `at` in a time-ordered list. */
function firstAtOrAfter(points: readonly Datapoint[], at: number): number {
  let low = 0;
  let high = points.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if ((points[mid]?.at ?? 0) < at) low = mid + 1;
    else high = mid;
  }
  return low;
}

export function statistic(values: readonly number[], stat: Statistic): number | undefined {
  if (values.length === 0) return undefined;
  switch (stat) {
    case 'SampleCount':
      return values.length;
    case 'Sum':
      return values.reduce((a, b) => a + b, 0);
    case 'Average':
      return values.reduce((a, b) => a + b, 0) / values.length;
    case 'Minimum':
      return Math.min(...values);
    case 'Maximum':
      return Math.max(...values);
  }
}

/**
 * CloudWatch for the local cloud: metrics from Embedded Metric Format log lines and from the emulated
 * services; the template's alarms, on one metric or on metric math, evaluated on the clock the way
 * CloudWatch does (periods, evaluation periods, datapoints to alarm, missing-data treatment), with alarm
 * and OK actions recorded; and the template's dashboards, served as deployed.
 */
export class CloudWatchService {
  readonly alarms: LocalAlarm[] = [];
  readonly dashboards: LocalDashboard[] = [];
  readonly notifications: AlarmNotification[] = [];
  private readonly series = new Map<string, Datapoint[]>();
  private readonly samplers: { namespace: string; sampler: MetricSampler }[] = [];
  private readonly stopping = new AbortController();
  private ticking: Promise<void> | undefined;
  onNotify: ((notification: AlarmNotification) => Promise<void> | void) | undefined;

  constructor(
    private readonly model: CloudModel,
    private readonly clock: LocalClock,
  ) {
    for (const resource of model.ofType('AWS::CloudWatch::Alarm')) this.alarms.push(this.loadAlarm(resource));
    for (const resource of model.ofType('AWS::CloudWatch::Dashboard'))
      this.dashboards.push(this.loadDashboard(resource));
  }

  private loadDashboard(resource: TemplateResource): LocalDashboard {
    const p = this.model.resolvedProperties(resource);
    const body = String(p.DashboardBody ?? '');
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      parsed = undefined;
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new UnsupportedTemplateFeature(
        `${resource.stack}/${resource.logicalId}`,
        'a DashboardBody that is not a JSON object',
      );
    }
    const name = p.DashboardName === undefined ? this.model.physicalName(resource) : String(p.DashboardName);
    return {
      resource,
      name,
      // Dashboards are global: no region in the ARN.
      arn: `arn:aws:cloudwatch::${this.model.account}:dashboard/${name}`,
      body,
      lastModified: this.clock.now(),
    };
  }

  private loadAlarm(resource: TemplateResource): LocalAlarm {
    const p = this.model.resolvedProperties(resource);
    const id = `${resource.stack}/${resource.logicalId}`;
    if (p.ExtendedStatistic !== undefined)
      throw new UnsupportedTemplateFeature(id, 'percentile (ExtendedStatistic) alarms');
    const comparison = String(p.ComparisonOperator);
    if (!COMPARE[comparison]) throw new UnsupportedTemplateFeature(id, `ComparisonOperator ${comparison}`);
    const evaluationPeriods = Number(p.EvaluationPeriods ?? 1);
    const name = this.model.physicalName(resource);
    const math = p.Metrics !== undefined;
    const single = math
      ? undefined
      : metricStatQuery(id, {
          Id: 'm1',
          MetricStat: {
            Metric: { Namespace: p.Namespace, MetricName: p.MetricName, Dimensions: p.Dimensions },
            Period: p.Period ?? 60,
            Stat: p.Statistic ?? 'Average',
          },
        });
    const queries = single ? [single] : metricMathQueries(id, p.Metrics);
    const stats = queries.filter((q): q is MetricStatQuery => !isExpression(q));
    return {
      resource,
      name,
      arn: this.model.arn(resource),
      description: String(p.AlarmDescription ?? ''),
      namespace: single?.namespace ?? '',
      metricName: single?.metricName ?? '',
      dimensions: single?.dimensions ?? [],
      statistic: single?.statistic,
      queries,
      math,
      periodSeconds: stats[0]?.periodSeconds ?? 60,
      evaluationPeriods,
      datapointsToAlarm: Number(p.DatapointsToAlarm ?? evaluationPeriods),
      threshold: Number(p.Threshold),
      comparison,
      treatMissingData: (p.TreatMissingData ?? 'missing') as LocalAlarm['treatMissingData'],
      alarmActions: ((p.AlarmActions as string[] | undefined) ?? []).map(String),
      okActions: ((p.OKActions as string[] | undefined) ?? []).map(String),
      state: 'INSUFFICIENT_DATA',
      stateReason: 'Unchecked: Initial alarm creation',
      stateUpdatedAt: this.clock.now(),
      history: [],
    };
  }

  /** Registers a sampler for a namespace whose metrics are read on demand (e.g. AWS/SQS). */
  addSampler(namespace: string, sampler: MetricSampler): void {
    this.samplers.push({ namespace, sampler });
  }

  put(datapoint: Omit<Datapoint, 'at'> & { at?: number }): void {
    const at = datapoint.at ?? this.clock.now().getTime();
    const k = key(datapoint.namespace, datapoint.name, datapoint.dimensions);
    let list = this.series.get(k);
    if (!list) {
      list = [];
      this.series.set(k, list);
    }
    // Kept in time order (EMF may carry earlier timestamps), so a window is found by binary search.
    const point = { ...datapoint, at };
    if (list.length === 0 || (list[list.length - 1]?.at ?? 0) <= at) list.push(point);
    else list.splice(firstAtOrAfter(list, at), 0, point);
  }

  /**
   * Reads Embedded Metric Format from a log line (Powertools Metrics writes it); other lines are ignored.
   * `loggedAt`, when given, is when the line was written on the local clock: it stands for the EMF
   * Timestamp, which a handler takes from the real time even while the local cloud runs a virtual clock.
   */
  ingestLog(text: string, loggedAt?: number): number {
    if (!text.startsWith('{') || !text.includes('"_aws"')) return 0;
    let doc: Record<string, unknown>;
    try {
      doc = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return 0;
    }
    const aws = doc._aws as
      | {
          Timestamp?: number;
          CloudWatchMetrics?: {
            Namespace: string;
            Dimensions: string[][];
            Metrics: { Name: string; Unit?: string }[];
          }[];
        }
      | undefined;
    let count = 0;
    for (const directive of aws?.CloudWatchMetrics ?? []) {
      for (const dimensionSet of directive.Dimensions.length ? directive.Dimensions : [[]]) {
        const dimensions = dimensionSet.map((name) => ({ Name: name, Value: String(doc[name] ?? '') }));
        for (const metric of directive.Metrics) {
          const raw = doc[metric.Name];
          for (const value of Array.isArray(raw) ? raw : [raw]) {
            if (typeof value !== 'number') continue;
            this.put({
              namespace: directive.Namespace,
              name: metric.Name,
              dimensions,
              value,
              unit: metric.Unit ?? 'None',
              ...(loggedAt !== undefined ? { at: loggedAt } : aws?.Timestamp ? { at: aws.Timestamp } : {}),
            });
            count += 1;
          }
        }
      }
    }
    return count;
  }

  /** ListMetrics. */
  listMetrics(
    filter: { Namespace?: string; MetricName?: string } = {},
  ): { Namespace: string; MetricName: string; Dimensions: Dimension[] }[] {
    return [...this.series.values()]
      .map((points) => points[0])
      .filter((p): p is Datapoint => p !== undefined)
      .filter(
        (p) =>
          (!filter.Namespace || p.namespace === filter.Namespace) &&
          (!filter.MetricName || p.name === filter.MetricName),
      )
      .map((p) => ({ Namespace: p.namespace, MetricName: p.name, Dimensions: [...p.dimensions] }));
  }

  /** The statistic of a metric per period in [start, end): GetMetricData's MetricStat. */
  statistics(
    namespace: string,
    name: string,
    dimensions: readonly Dimension[],
    stat: Statistic,
    periodSeconds: number,
    start: number,
    end: number,
  ): { timestamps: number[]; values: number[] } {
    const points = this.series.get(key(namespace, name, dimensions)) ?? [];
    const periodMs = periodSeconds * 1000;
    const timestamps: number[] = [];
    const values: number[] = [];
    for (let from = Math.floor(start / periodMs) * periodMs; from < end; from += periodMs) {
      const first = firstAtOrAfter(points, from);
      const last = firstAtOrAfter(points, from + periodMs);
      const value = statistic(
        points.slice(first, last).map((p) => p.value),
        stat,
      );
      if (value === undefined) continue;
      timestamps.push(from);
      values.push(value);
    }
    return { timestamps, values };
  }

  /**
   * GetMetricData: each query's values per period in [start, end), metric stats and metric math alike
   * (an expression's periods are those of the metrics it reads). Only the queries that return data.
   */
  metricData(
    queries: readonly MetricQuery[],
    start: number,
    end: number,
  ): { id: string; label: string; timestamps: number[]; values: number[] }[] {
    const values = this.queryValues(queries, start, end);
    return queries
      .filter((q) => q.returnData)
      .map((q) => {
        const series = [...(values.get(q.id) ?? new Map<number, number>())].sort(([a], [b]) => a - b);
        return {
          id: q.id,
          label: q.label ?? (isExpression(q) ? q.expression : q.metricName),
          timestamps: series.map(([at]) => at),
          values: series.map(([, value]) => value),
        };
      });
  }

  /** Every query's value by period start: metric stats read, expressions computed on them. */
  private queryValues(
    queries: readonly MetricQuery[],
    start: number,
    end: number,
  ): Map<string, Map<number, number>> {
    const values = new Map<string, Map<number, number>>();
    const periods = new Set<number>();
    for (const q of queries) {
      if (isExpression(q)) continue;
      const { timestamps, values: stats } = this.statistics(
        q.namespace,
        q.metricName,
        q.dimensions,
        q.statistic,
        q.periodSeconds,
        start,
        end,
      );
      values.set(q.id, new Map(timestamps.map((at, i) => [at, stats[i] ?? 0])));
      for (const at of timestamps) periods.add(at);
    }
    const expressions = new Map(queries.filter(isExpression).map((q) => [q.id, q]));
    const valueAt = (id: string, at: number, depth: number): number | undefined => {
      const expression = expressions.get(id);
      if (!expression) return values.get(id)?.get(at);
      if (depth > expressions.size) return undefined; // a cycle: CloudWatch refuses these at PutMetricAlarm
      return evaluateExpression(expression.parsed, (ref) => valueAt(ref, at, depth + 1));
    };
    for (const expression of expressions.values()) {
      const series = new Map<number, number>();
      for (const at of periods) {
        const value = valueAt(expression.id, at, 0);
        if (value !== undefined) series.set(at, value);
      }
      values.set(expression.id, series);
    }
    return values;
  }

  /** Puts a fresh sample of each queried metric the local cloud reads on demand (e.g. SQS depth). */
  private async sample(queries: readonly MetricQuery[]): Promise<void> {
    for (const q of queries) {
      if (isExpression(q)) continue;
      const sampler = this.samplers.find((s) => s.namespace === q.namespace);
      if (!sampler) continue;
      const value = await sampler.sampler(q.namespace, q.metricName, q.dimensions);
      if (value !== undefined)
        this.put({
          namespace: q.namespace,
          name: q.metricName,
          dimensions: q.dimensions,
          value,
          unit: 'Count',
        });
    }
  }

  /** Evaluates every alarm now; returns the alarms whose state changed. */
  async evaluate(): Promise<LocalAlarm[]> {
    const now = this.clock.now().getTime();
    const changed: LocalAlarm[] = [];
    for (const alarm of this.alarms) {
      await this.sample(alarm.queries);
      const periodMs = alarm.periodSeconds * 1000;
      const end = Math.floor(now / periodMs) * periodMs + periodMs;
      const start = end - alarm.evaluationPeriods * periodMs;
      const [returned] = this.metricData(alarm.queries, start, end);
      const timestamps = returned?.timestamps ?? [];
      const values = returned?.values ?? [];
      const compare = COMPARE[alarm.comparison] ?? (() => false);
      let breaching = 0;
      let present = 0;
      for (let i = 0; i < alarm.evaluationPeriods; i++) {
        const from = start + i * periodMs;
        const index = timestamps.indexOf(from);
        if (index >= 0) {
          present += 1;
          if (compare(values[index] ?? 0, alarm.threshold)) breaching += 1;
        } else if (alarm.treatMissingData === 'breaching') {
          breaching += 1;
          present += 1;
        } else if (alarm.treatMissingData === 'notBreaching') {
          present += 1;
        }
      }
      let next: AlarmState;
      let reason: string;
      if (breaching >= alarm.datapointsToAlarm) {
        next = 'ALARM';
        reason = `Threshold Crossed: ${breaching} of ${alarm.evaluationPeriods} datapoints ${alarm.comparison} ${alarm.threshold}`;
      } else if (present === 0) {
        if (alarm.treatMissingData === 'ignore') continue;
        next = 'INSUFFICIENT_DATA';
        reason = 'Insufficient Data: no datapoints in the evaluation range';
      } else {
        next = 'OK';
        reason = `Threshold not crossed: ${breaching} of ${alarm.evaluationPeriods} datapoints breaching`;
      }
      if (next === alarm.state) continue;
      alarm.history.push({ at: new Date(now), from: alarm.state, to: next, reason });
      alarm.state = next;
      alarm.stateReason = reason;
      alarm.stateUpdatedAt = new Date(now);
      changed.push(alarm);
      const actions = next === 'ALARM' ? alarm.alarmActions : next === 'OK' ? alarm.okActions : [];
      for (const topicArn of actions) {
        const notification = { alarmName: alarm.name, topicArn, newState: next, reason, at: new Date(now) };
        this.notifications.push(notification);
        await this.onNotify?.(notification);
      }
    }
    return changed;
  }

  /** Evaluates the alarms every `intervalMs` of the clock (CloudWatch evaluates about once a minute). */
  start(intervalMs = 60_000): void {
    this.ticking = (async () => {
      while (!this.stopping.signal.aborted) {
        await this.clock.sleep(intervalMs, this.stopping.signal).catch(() => undefined);
        if (!this.stopping.signal.aborted) await this.evaluate().catch(() => undefined);
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    await this.ticking;
  }
}

const str = (value: unknown): string => (value === undefined || value === null ? '' : String(value));

/** One `MetricStat` query of a template or a GetMetricData request; percentiles are refused. */
export function metricStatQuery(where: string, raw: Record<string, unknown>): MetricStatQuery {
  const stat = (raw.MetricStat ?? {}) as Record<string, unknown>;
  const metric = (stat.Metric ?? {}) as Record<string, unknown>;
  const statistic = str(stat.Stat);
  if (!STATISTICS.includes(statistic)) {
    throw new UnsupportedTemplateFeature(
      where,
      `the ${statistic || 'missing'} statistic (percentiles and others)`,
    );
  }
  return {
    id: str(raw.Id),
    ...(raw.Label !== undefined ? { label: str(raw.Label) } : {}),
    returnData: raw.ReturnData === undefined ? true : raw.ReturnData === true || raw.ReturnData === 'true',
    namespace: str(metric.Namespace),
    metricName: str(metric.MetricName),
    dimensions: ((metric.Dimensions as Record<string, unknown>[] | undefined) ?? []).map((d) => ({
      Name: str(d.Name),
      Value: str(d.Value),
    })),
    statistic: statistic as Statistic,
    periodSeconds: Number(stat.Period ?? 60),
  };
}

/** One query of a template or a GetMetricData request: a metric stat, or an expression over the others. */
export function metricQuery(where: string, raw: Record<string, unknown>): MetricQuery {
  if (raw.Expression === undefined) return metricStatQuery(where, raw);
  const expression = str(raw.Expression);
  let parsed: Expression;
  try {
    parsed = parseExpression(expression);
  } catch (error) {
    if (error instanceof MetricMathError) {
      throw new UnsupportedTemplateFeature(where, `metric math using ${error.message}`);
    }
    throw error;
  }
  return {
    id: str(raw.Id),
    ...(raw.Label !== undefined ? { label: str(raw.Label) } : {}),
    returnData: raw.ReturnData === undefined ? true : raw.ReturnData === true || raw.ReturnData === 'true',
    expression,
    parsed,
  };
}

/**
 * A metric-math alarm's `Metrics`, checked as CloudWatch checks them: one query returns data, every id an
 * expression reads is a query of the alarm, and every metric is read over the same period.
 */
function metricMathQueries(where: string, raw: unknown): MetricQuery[] {
  const queries = ((raw as Record<string, unknown>[] | undefined) ?? []).map((q) => metricQuery(where, q));
  const fail = (why: string): never => {
    throw new UnsupportedTemplateFeature(where, `metric-math alarms ${why}`);
  };
  if (queries.filter((q) => q.returnData).length !== 1) fail('without exactly one query returning data');
  const ids = new Set(queries.map((q) => q.id));
  for (const q of queries.filter(isExpression)) {
    for (const id of queryIds(q.parsed))
      if (!ids.has(id)) fail(`reading an unknown query (${q.id} reads ${id})`);
  }
  const periods = new Set(
    queries.filter((q) => !isExpression(q)).map((q) => (q as MetricStatQuery).periodSeconds),
  );
  if (periods.size !== 1) fail('reading their metrics over different periods');
  return queries;
}
