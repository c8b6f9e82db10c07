import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { OWNER_TEAMS, type OwnerTeam, SLA_STAGES } from '../../contracts/vocabulary.ts';
import {
  ADAPTER_ERROR_METRIC,
  ADAPTER_METRICS_SERVICE,
} from '../../lambdas/adapters/aws/powertools-adapter-metrics.ts';
import { EXCEPTION_METRICS_SERVICE } from '../../lambdas/adapters/aws/powertools-exception-metrics.ts';
import { METRICS_NAMESPACE, SLA_METRICS_SERVICE } from '../../lambdas/adapters/aws/powertools-sla-metrics.ts';
import type { SlaPolicy } from '../../lambdas/core/sla.ts';
import type { FulfilmentPath } from './fulfilment-path.ts';

/**
 * Hours after which a team's oldest open exception is late: the SLA the team is given on its exceptions.
 * Finance: the credit controller's 4 hours on a hold (past it, the hold has escalated). Customer service:
 * 4 hours on quarantined orders, EDI and vendor exceptions. Warehouse and logistics: 2 hours on SLA-breach
 * exceptions. Integration: 2 hours on a failed workflow step (an order standing still), the shortest of its
 * SLAs (dead letters and feed quarantines have 4).
 */
export const DEFAULT_OLDEST_OPEN_EXCEPTION_HOURS: Readonly<Record<OwnerTeam, number>> = {
  finance: 4,
  'customer-service': 4,
  warehouse: 2,
  logistics: 2,
  integration: 2,
};

/** The context key that overrides any team's hours, e.g. `-c handoff:oldestOpenExceptionHours='{"finance":6}'`. */
export const OLDEST_OPEN_EXCEPTION_HOURS_CONTEXT = 'handoff:oldestOpenExceptionHours';

export interface NamedQueue {
  /** The construct id operators know the queue by (`handoff dlq` names DLQs so). */
  readonly name: string;
  readonly queue: sqs.IQueue;
}

export interface ObservabilityProps {
  /** The partner systems whose adapter calls are measured (the `Adapter` dimension): erp, wms, … */
  readonly adapters: readonly string[];
  /** Every workflow: their failed executions are charted (each already alarms on them). */
  readonly workflows: readonly FulfilmentPath[];
  /** The dead-letter queues: depth per queue. */
  readonly deadLetterQueues: readonly NamedQueue[];
  /** The inbound work queues (ERP, EDI, WMS, vendor): depth and age of the oldest message. */
  readonly workQueues: readonly NamedQueue[];
  /** The SLA policy the stack runs: the shipment-confirmation target drawn on its chart. */
  readonly slaPolicy: SlaPolicy;
  /** Minutes between SLA detector runs, which publish the oldest-open-exception ages. */
  readonly slaDetectorMinutes: number;
  /** @default `Handoff-<stage>`, the stage from the `handoff:stage` context (`dev`) */
  readonly dashboardName?: string;
  /**
   * Hours after which each team's oldest open exception alarms.
   * @default DEFAULT_OLDEST_OPEN_EXCEPTION_HOURS, with any team overridden by the `handoff:oldestOpenExceptionHours` context
   */
  readonly oldestOpenExceptionHours?: Readonly<Record<OwnerTeam, number>>;
  /** An adapter alarms above this share of failed calls over 5 minutes. @default 5 (%) */
  readonly adapterErrorRatePercent?: number;
  /** …and only with at least this many calls in those 5 minutes: two failures of three calls are noise. @default 10 */
  readonly adapterAlarmMinimumCalls?: number;
}

const ADAPTER_PERIOD = Duration.minutes(5);
const TREND_PERIOD = Duration.hours(1);

const slaMetric = (metricName: string, statistic: string, dimensions: Record<string, string> = {}) =>
  new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensionsMap: { service: SLA_METRICS_SERVICE, ...dimensions },
    statistic,
    period: TREND_PERIOD,
  });

const exceptionMetric = (metricName: string, statistic: string, dimensions: Record<string, string>) =>
  new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensionsMap: { service: EXCEPTION_METRICS_SERVICE, ...dimensions },
    statistic,
    period: TREND_PERIOD,
  });

/** `AdapterError` of one partner system: SampleCount is its calls, Sum its failed calls. */
const adapterMetric = (adapter: string, statistic: 'SampleCount' | 'Sum') =>
  new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName: ADAPTER_ERROR_METRIC,
    dimensionsMap: { service: ADAPTER_METRICS_SERVICE, Adapter: adapter },
    statistic,
    period: ADAPTER_PERIOD,
  });

/** Metric-math ids start with a lower-case letter and hold letters, digits and underscores only. */
const mathId = (text: string) => text.replace(/[^A-Za-z0-9]/g, '_').toLowerCase();

/**
 * What operations watch beyond the per-path and per-queue alarms: an error-rate alarm per partner system,
 * an oldest-open-exception alarm per owner team, and the scorecard dashboard (cycle times, exception rates,
 * SLA adherence, shipment-confirmation timeliness, integration failures and recovery, queue depth).
 */
export class Observability extends Construct {
  public readonly adapterErrorRateAlarms: Readonly<Record<string, cloudwatch.Alarm>>;
  public readonly oldestOpenExceptionAlarms: Readonly<Record<OwnerTeam, cloudwatch.Alarm>>;
  public readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);
    const errorRate = props.adapterErrorRatePercent ?? 5;
    const minimumCalls = props.adapterAlarmMinimumCalls ?? 10;
    const hours = props.oldestOpenExceptionHours ?? oldestOpenExceptionHours(this);

    this.adapterErrorRateAlarms = Object.fromEntries(
      props.adapters.map((adapter) => [
        adapter,
        new cloudwatch.Alarm(this, `AdapterErrorRate-${adapter}`, {
          alarmDescription: `${adapter}: more than ${errorRate} % of its calls failed over 5 minutes (at least ${minimumCalls} calls): outages, timeouts, broken contracts or refused credentials. Check the partner's status and the integration exceptions.`,
          metric: new cloudwatch.MathExpression({
            expression: `IF(calls >= ${minimumCalls}, 100 * failures / calls, 0)`,
            usingMetrics: {
              calls: adapterMetric(adapter, 'SampleCount'),
              failures: adapterMetric(adapter, 'Sum'),
            },
            label: `${adapter} adapter error rate (%)`,
            period: ADAPTER_PERIOD,
          }),
          threshold: errorRate,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
          evaluationPeriods: 1,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        }),
      ]),
    );

    // The detector publishes each team's age every run: one period holds at least one run.
    const agePeriod = Duration.minutes(Math.max(5, props.slaDetectorMinutes));
    const oldestAge = (team: OwnerTeam, period: Duration) =>
      new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName: 'OldestOpenExceptionAgeSeconds',
        dimensionsMap: { service: EXCEPTION_METRICS_SERVICE, OwnerTeam: team },
        statistic: 'Maximum',
        period,
      });
    this.oldestOpenExceptionAlarms = Object.fromEntries(
      OWNER_TEAMS.map((team) => [
        team,
        new cloudwatch.Alarm(this, `OldestOpenException-${team}`, {
          alarmDescription: `${team}: an exception has been open for more than ${hours[team]} hours, past the team's exception SLA: \`handoff exceptions list --team ${team}\` lists its open exceptions.`,
          metric: oldestAge(team, agePeriod),
          threshold: hours[team] * 3600,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
          evaluationPeriods: 1,
          // No datapoint means no detector run, not an empty queue (that is published as 0): the alarm keeps
          // its state, and the detector's failures reach the function-failure DLQ and its alarm.
          treatMissingData: cloudwatch.TreatMissingData.IGNORE,
        }),
      ]),
    ) as Record<OwnerTeam, cloudwatch.Alarm>;

    const stage = String(this.node.tryGetContext('handoff:stage') ?? 'dev');
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: props.dashboardName ?? `Handoff-${stage}`,
      defaultInterval: Duration.days(7),
    });
    const graph = (title: string, options: Omit<cloudwatch.GraphWidgetProps, 'title'>) =>
      new cloudwatch.GraphWidget({ title, width: 12, height: 6, ...options });
    const byTeam = (metric: (team: OwnerTeam) => cloudwatch.IMetric) => OWNER_TEAMS.map(metric);
    const shipTarget = props.slaPolicy.stages['release-to-ship-confirmation'].targetMinutes;

    this.dashboard.addWidgets(
      new cloudwatch.TextWidget({
        width: 24,
        height: 7,
        markdown: explanation(hours, errorRate, minimumCalls),
      }),
    );
    this.dashboard.addWidgets(
      graph('Order-to-release cycle time (capture → warehouse release), p50 and p90', {
        left: ['p50', 'p90'].map((statistic) =>
          slaMetric('OrderToReleaseSeconds', statistic).with({ label: `order to release ${statistic}` }),
        ),
        leftYAxis: { label: 'seconds', showUnits: false, min: 0 },
      }),
      graph('SLA adherence by team: share of stages within target', {
        left: byTeam((team) =>
          slaMetric('StageWithinTarget', 'Average', { OwnerTeam: team }).with({ label: team }),
        ),
        leftYAxis: { label: 'within target (1 = all)', showUnits: false, min: 0, max: 1 },
      }),
    );
    this.dashboard.addWidgets(
      ...(['p50', 'p90'] as const).map((statistic) =>
        graph(`Stage cycle time by stage, ${statistic}`, {
          left: SLA_STAGES.map((slaStage) =>
            slaMetric('StageCycleSeconds', statistic, { Stage: slaStage }).with({ label: slaStage }),
          ),
          leftYAxis: { label: 'seconds', showUnits: false, min: 0 },
        }),
      ),
    );
    this.dashboard.addWidgets(
      graph('Shipment-confirmation timeliness: release → ship confirmation', {
        left: ['p50', 'p90'].map((statistic) =>
          slaMetric('StageCycleSeconds', statistic, { Stage: 'release-to-ship-confirmation' }).with({
            label: `release to ship confirmation ${statistic}`,
          }),
        ),
        right: [
          slaMetric('SlaBreaches', 'Sum', { OwnerTeam: 'logistics' }).with({ label: 'logistics breaches' }),
        ],
        leftAnnotations: [{ value: shipTarget * 60, label: `target ${shipTarget} min (default)` }],
        leftYAxis: { label: 'seconds', showUnits: false, min: 0 },
      }),
      graph('SLA breaches and jeopardies by team', {
        left: byTeam((team) =>
          slaMetric('SlaBreaches', 'Sum', { OwnerTeam: team }).with({ label: `${team} breaches` }),
        ),
        right: byTeam((team) =>
          slaMetric('SlaJeopardy', 'Sum', { OwnerTeam: team }).with({ label: `${team} jeopardies` }),
        ),
      }),
    );
    this.dashboard.addWidgets(
      graph('Exceptions raised by team', {
        left: byTeam((team) =>
          exceptionMetric('ExceptionsRaised', 'Sum', { OwnerTeam: team }).with({ label: team }),
        ),
        stacked: true,
      }),
      graph('Exceptions raised by stage and team (the order stage each was raised at)', {
        left: [
          new cloudwatch.MathExpression({
            expression: `SEARCH('{${METRICS_NAMESPACE},OwnerTeam,Stage,service} MetricName="ExceptionsRaised"', 'Sum', 3600)`,
            label: '',
            usingMetrics: {},
            period: TREND_PERIOD,
          }),
        ],
        stacked: true,
      }),
    );
    this.dashboard.addWidgets(
      graph('Oldest open exception age by team (each team alarms past its exception SLA)', {
        left: byTeam((team) => oldestAge(team, agePeriod).with({ label: team })),
        leftAnnotations: [...new Set(Object.values(hours))].map((h) => ({
          value: h * 3600,
          label: `${h} h: ${OWNER_TEAMS.filter((team) => hours[team] === h).join(', ')}`,
        })),
        leftYAxis: { label: 'seconds', showUnits: false, min: 0 },
      }),
      graph('Exception recovery time by team (raised → decided), p90', {
        left: byTeam((team) =>
          exceptionMetric('ExceptionRecoverySeconds', 'p90', { OwnerTeam: team }).with({ label: team }),
        ),
        leftYAxis: { label: 'seconds', showUnits: false, min: 0 },
      }),
    );
    this.dashboard.addWidgets(
      graph('Adapter error rate by partner system (%)', {
        left: props.adapters.map(
          (adapter) =>
            new cloudwatch.MathExpression({
              expression: `100 * failures_${mathId(adapter)} / calls_${mathId(adapter)}`,
              usingMetrics: {
                [`calls_${mathId(adapter)}`]: adapterMetric(adapter, 'SampleCount'),
                [`failures_${mathId(adapter)}`]: adapterMetric(adapter, 'Sum'),
              },
              label: adapter,
              period: ADAPTER_PERIOD,
            }),
        ),
        leftAnnotations: [{ value: errorRate, label: `alarm above ${errorRate} %` }],
        leftYAxis: { label: '%', showUnits: false, min: 0, max: 100 },
      }),
      graph(
        'Integration failures and recovery: failed partner calls, integration exceptions, time to decide',
        {
          left: [
            ...props.adapters.map((adapter) =>
              adapterMetric(adapter, 'Sum').with({ label: `${adapter} failed calls` }),
            ),
            exceptionMetric('ExceptionsRaised', 'Sum', { OwnerTeam: 'integration' }).with({
              label: 'integration exceptions raised',
              period: ADAPTER_PERIOD,
            }),
          ],
          right: ['p50', 'p90'].map((statistic) =>
            exceptionMetric('ExceptionRecoverySeconds', statistic, { OwnerTeam: 'integration' }).with({
              label: `integration recovery ${statistic} (s)`,
            }),
          ),
        },
      ),
    );
    this.dashboard.addWidgets(
      graph('Queue depth: dead-letter queues (each message is an integration exception)', {
        left: props.deadLetterQueues.map(({ name, queue }) =>
          queue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', label: name }),
        ),
        stacked: true,
      }),
      graph('Queue depth and age: inbound work queues', {
        left: props.workQueues.map(({ name, queue }) =>
          queue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', label: `${name} depth` }),
        ),
        right: props.workQueues.map(({ name, queue }) =>
          queue.metricApproximateAgeOfOldestMessage({ statistic: 'Maximum', label: `${name} oldest (s)` }),
        ),
      }),
    );
    this.dashboard.addWidgets(
      graph('Failed executions by path (each alarms on its own)', {
        left: props.workflows.map((workflow) =>
          workflow.stateMachine.metricFailed({ statistic: 'Sum', label: workflow.path }),
        ),
        stacked: true,
        width: 24,
      }),
    );
  }
}

/** The text widget: what each figure is, where it comes from, and where the full scorecard is. */
function explanation(
  hours: Readonly<Record<OwnerTeam, number>>,
  errorRate: number,
  minimumCalls: number,
): string {
  const thresholds = OWNER_TEAMS.map((team) => `${team} ${hours[team]} h`).join(', ');
  return [
    '# Handoff scorecard',
    '',
    'The scorecard figures as CloudWatch metrics (namespace `Handoff`). For the full scorecard, with exception',
    'rates per 100 orders and the week-on-week view, run `handoff scorecard` (or `handoff report` for HTML).',
    '',
    '- **Order-to-release cycle time**: capture to warehouse release per order (SLA tracker), p50/p90.',
    '- **SLA adherence**: share of stage clocks stopped within target, per owner team (1 = all).',
    '- **Stage cycle time**: each stage clock, capture → invoice, p50/p90 (business hours where the stage uses them).',
    '- **Shipment-confirmation timeliness**: release → ship confirmation against its target; logistics breaches.',
    '- **Exceptions raised**: every owned exception when created, by owner team and by the order stage it was raised at.',
    `- **Oldest open exception**: each team's oldest open exception, every SLA detector run; alarms past ${thresholds}.`,
    '- **Exception recovery**: raised → decided, for the exceptions people decide.',
    `- **Adapter error rate**: failed partner calls (after retries) per system; alarms above ${errorRate} % with at least ${minimumCalls} calls in 5 minutes.`,
    '- **Queue depth**: DLQ depth (each message becomes an integration exception), inbound queue depth and age.',
    '- **Failed executions**: per fulfilment path; a failure left an order without an owned exception.',
  ].join('\n');
}

/** The default hours, with the teams the `handoff:oldestOpenExceptionHours` context names overridden. */
function oldestOpenExceptionHours(scope: Construct): Record<OwnerTeam, number> {
  const raw = scope.node.tryGetContext(OLDEST_OPEN_EXCEPTION_HOURS_CONTEXT) as unknown;
  if (raw === undefined) return { ...DEFAULT_OLDEST_OPEN_EXCEPTION_HOURS };
  const value = typeof raw === 'string' ? (JSON.parse(raw) as unknown) : raw;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error(`${OLDEST_OPEN_EXCEPTION_HOURS_CONTEXT} must be an object of hours by owner team`);
  }
  const hours = { ...DEFAULT_OLDEST_OPEN_EXCEPTION_HOURS };
  for (const [team, h] of Object.entries(value)) {
    if (!(OWNER_TEAMS as readonly string[]).includes(team)) {
      throw new Error(
        `${OLDEST_OPEN_EXCEPTION_HOURS_CONTEXT}.${team} is not an owner team (${OWNER_TEAMS.join(', ')})`,
      );
    }
    if (typeof h !== 'number' || !(h > 0)) {
      throw new Error(`${OLDEST_OPEN_EXCEPTION_HOURS_CONTEXT}.${team} must be a positive number of hours`);
    }
    hours[team as OwnerTeam] = h;
  }
  return hours;
}
