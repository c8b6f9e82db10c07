import type { LocalClock } from '../clock/clock.ts';
import type { CloudModel, TemplateResource } from '../template/model.ts';
import { UnsupportedTemplateFeature } from '../template/model.ts';

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

export interface LocalAlarm {
  readonly resource: TemplateResource;
  readonly name: string;
  readonly arn: string;
  readonly description: string;
  readonly namespace: string;
  readonly metricName: string;
  readonly dimensions: readonly Dimension[];
  readonly statistic: Statistic;
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
 * services, and the template's threshold alarms evaluated on the clock the way CloudWatch does (periods,
 * evaluation periods, datapoints to alarm, missing-data treatment), with alarm and OK actions recorded.
 */
export class CloudWatchService {
  readonly alarms: LocalAlarm[] = [];
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
  }

  private loadAlarm(resource: TemplateResource): LocalAlarm {
    const p = this.model.resolvedProperties(resource);
    const id = `${resource.stack}/${resource.logicalId}`;
    if (p.Metrics !== undefined) throw new UnsupportedTemplateFeature(id, 'metric-math alarms');
    if (p.ExtendedStatistic !== undefined)
      throw new UnsupportedTemplateFeature(id, 'percentile (ExtendedStatistic) alarms');
    const comparison = String(p.ComparisonOperator);
    if (!COMPARE[comparison]) throw new UnsupportedTemplateFeature(id, `ComparisonOperator ${comparison}`);
    const evaluationPeriods = Number(p.EvaluationPeriods ?? 1);
    const name = this.model.physicalName(resource);
    return {
      resource,
      name,
      arn: this.model.arn(resource),
      description: String(p.AlarmDescription ?? ''),
      namespace: String(p.Namespace),
      metricName: String(p.MetricName),
      dimensions: ((p.Dimensions as Dimension[] | undefined) ?? []).map((d) => ({
        Name: String(d.Name),
        Value: String(d.Value),
      })),
      statistic: (p.Statistic ?? 'Average') as Statistic,
      periodSeconds: Number(p.Period ?? 60),
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

  /** Evaluates every alarm now; returns the alarms whose state changed. */
  async evaluate(): Promise<LocalAlarm[]> {
    const now = this.clock.now().getTime();
    const changed: LocalAlarm[] = [];
    for (const alarm of this.alarms) {
      const sampler = this.samplers.find((s) => s.namespace === alarm.namespace);
      if (sampler) {
        const value = await sampler.sampler(alarm.namespace, alarm.metricName, alarm.dimensions);
        if (value !== undefined)
          this.put({
            namespace: alarm.namespace,
            name: alarm.metricName,
            dimensions: alarm.dimensions,
            value,
            unit: 'Count',
          });
      }
      const periodMs = alarm.periodSeconds * 1000;
      const end = Math.floor(now / periodMs) * periodMs + periodMs;
      const start = end - alarm.evaluationPeriods * periodMs;
      const { timestamps, values } = this.statistics(
        alarm.namespace,
        alarm.metricName,
        alarm.dimensions,
        alarm.statistic,
        alarm.periodSeconds,
        start,
        end,
      );
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
