import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { OWNER_TEAMS, SLA_STAGES } from '../../contracts/vocabulary.ts';
import { DEFAULT_OLDEST_OPEN_EXCEPTION_HOURS } from '../../lib/constructs/observability.ts';
import { buildTestApp, type CfnResource, listOf, Renderer, withoutHash } from './support.ts';

/**
 * The CloudWatch side of SLAs and exceptions: an error-rate alarm per partner system, an oldest-open-exception
 * alarm per owner team, and the scorecard dashboard, read from the synthesized stateless stack.
 */
let template: Template;
let renderer: Renderer;

beforeAll(() => {
  const handoff = buildTestApp();
  template = Template.fromStack(handoff.stateless);
  renderer = new Renderer(Template.fromStack(handoff.stateful));
});

const PARTNERS = ['erp', 'wms', 'tms', 'crm', 'finance', 'edi', 'vendor'];
const ALERTS = '<stateful:OperationsAlerts>';

/** The alarm whose construct id (less CDK's hash) is this, e.g. `ObservabilityAdapterErrorRateerp`. */
function alarm(from: Template, id: string): Record<string, unknown> {
  const found = Object.entries(from.findResources('AWS::CloudWatch::Alarm')).filter(
    ([logicalId]) => withoutHash(logicalId) === id,
  );
  expect(found.map(([logicalId]) => logicalId)).toHaveLength(1);
  return (found[0]?.[1] as CfnResource | undefined)?.Properties ?? {};
}

const dimensionsOf = (value: unknown) =>
  Object.fromEntries(listOf<{ Name: string; Value: string }>(value as never).map((d) => [d.Name, d.Value]));

describe('adapter error-rate alarms', () => {
  it.each(PARTNERS)('%s alarms above 5 %% failed calls over 5 minutes, with at least 10 calls', (partner) => {
    const props = alarm(template, `ObservabilityAdapterErrorRate${partner}`);
    expect(props).toMatchObject({
      Threshold: 5,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
    });
    const metrics = props.Metrics as {
      Id: string;
      Expression?: string;
      ReturnData?: boolean;
      MetricStat?: {
        Metric: { Namespace: string; MetricName: string; Dimensions: unknown };
        Period: number;
        Stat: string;
      };
    }[];
    const returned = metrics.filter((m) => m.ReturnData !== false);
    expect(returned).toEqual([
      expect.objectContaining({ Expression: 'IF(calls >= 10, 100 * failures / calls, 0)' }),
    ]);
    const reads = Object.fromEntries(
      metrics
        .filter((m) => m.MetricStat)
        .map((m) => [
          m.Id,
          {
            namespace: m.MetricStat?.Metric.Namespace,
            metric: m.MetricStat?.Metric.MetricName,
            dimensions: dimensionsOf(m.MetricStat?.Metric.Dimensions),
            stat: m.MetricStat?.Stat,
            period: m.MetricStat?.Period,
          },
        ]),
    );
    const adapterError = {
      namespace: 'Handoff',
      metric: 'AdapterError',
      dimensions: { Adapter: partner, service: 'handoff-adapters' },
      period: 300,
    };
    expect(reads).toEqual({
      calls: { ...adapterError, stat: 'SampleCount' },
      failures: { ...adapterError, stat: 'Sum' },
    });
  });

  it('notify operations on alarm and on recovery', () => {
    for (const partner of PARTNERS) {
      const props = alarm(template, `ObservabilityAdapterErrorRate${partner}`);
      expect(listOf(props.AlarmActions).map((a) => renderer.render(a))).toEqual([ALERTS]);
      expect(listOf(props.OKActions).map((a) => renderer.render(a))).toEqual([ALERTS]);
    }
  });
});

describe('oldest open exception alarms', () => {
  it.each(OWNER_TEAMS)(
    "%s alarms when its oldest open exception is older than the team's exception SLA",
    (team) => {
      const props = alarm(template, `ObservabilityOldestOpenException${team.replace('-', '')}`);
      expect(props).toMatchObject({
        Namespace: 'Handoff',
        MetricName: 'OldestOpenExceptionAgeSeconds',
        Statistic: 'Maximum',
        Period: 300,
        Threshold: DEFAULT_OLDEST_OPEN_EXCEPTION_HOURS[team] * 3600,
        ComparisonOperator: 'GreaterThanThreshold',
        EvaluationPeriods: 1,
        // No datapoint means the detector did not run: keep the state rather than call it OK.
        TreatMissingData: 'ignore',
      });
      expect(dimensionsOf(props.Dimensions)).toEqual({ OwnerTeam: team, service: 'handoff-exceptions' });
      expect(listOf(props.AlarmActions).map((a) => renderer.render(a))).toEqual([ALERTS]);
    },
  );

  it('finance alarms after 4 hours, integration after 2', () => {
    expect(alarm(template, 'ObservabilityOldestOpenExceptionfinance').Threshold).toBe(4 * 3600);
    expect(alarm(template, 'ObservabilityOldestOpenExceptionintegration').Threshold).toBe(2 * 3600);
  });

  it('takes any team’s hours from context, and a period no shorter than the detector’s', () => {
    const tuned = Template.fromStack(
      buildTestApp({
        'handoff:oldestOpenExceptionHours': '{"finance":6,"integration":0.5}',
        'handoff:slaDetectorMinutes': 15,
      }).stateless,
    );
    expect(alarm(tuned, 'ObservabilityOldestOpenExceptionfinance')).toMatchObject({
      Threshold: 21600,
      Period: 900,
    });
    expect(alarm(tuned, 'ObservabilityOldestOpenExceptionintegration').Threshold).toBe(1800);
    expect(alarm(tuned, 'ObservabilityOldestOpenExceptionlogistics').Threshold).toBe(7200);
  });

  it('refuses hours for a team that does not exist, naming it', () => {
    expect(() => buildTestApp({ 'handoff:oldestOpenExceptionHours': { accounts: 3 } })).toThrow(
      /handoff:oldestOpenExceptionHours\.accounts is not an owner team/,
    );
    expect(() => buildTestApp({ 'handoff:oldestOpenExceptionHours': { finance: -1 } })).toThrow(
      /finance must be a positive number of hours/,
    );
  });
});

interface Widget {
  readonly type: string;
  readonly width: number;
  readonly properties: {
    readonly title?: string;
    readonly markdown?: string;
    readonly metrics?: readonly (readonly unknown[])[];
  };
}

/** A metric line of a graph: namespace, name, dimensions and options, or a math expression. */
interface Line {
  readonly namespace?: string;
  readonly metric?: string;
  readonly dimensions: Record<string, string>;
  readonly options: Record<string, unknown>;
}

function linesOf(widget: Widget | undefined): Line[] {
  return (widget?.properties.metrics ?? []).map((row) => {
    const last = row[row.length - 1];
    const options = typeof last === 'object' && last !== null ? (last as Record<string, unknown>) : {};
    if (typeof row[0] !== 'string') return { dimensions: {}, options };
    const pairs = row.slice(2).filter((part) => typeof part === 'string') as string[];
    const dimensions: Record<string, string> = {};
    for (let i = 0; i + 1 < pairs.length; i += 2) dimensions[pairs[i] as string] = pairs[i + 1] as string;
    return { namespace: row[0], metric: String(row[1]), dimensions, options };
  });
}

describe('the scorecard dashboard', () => {
  let dashboard: Record<string, unknown>;
  let widgets: Widget[];
  const titled = (start: string) => widgets.find((w) => w.properties.title?.startsWith(start));

  beforeAll(() => {
    const dashboards = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
    expect(dashboards).toHaveLength(1);
    dashboard = (dashboards[0] as CfnResource).Properties ?? {};
    widgets = (JSON.parse(renderer.render(dashboard.DashboardBody)) as { widgets: Widget[] }).widgets;
  });

  it('is named from the stage', () => {
    expect(dashboard.DashboardName).toBe('Handoff-dev');
    const prod = Template.fromStack(buildTestApp({ 'handoff:stage': 'prod' }).stateless);
    const names = Object.values(prod.findResources('AWS::CloudWatch::Dashboard')).map(
      (d) => (d as CfnResource).Properties?.DashboardName,
    );
    expect(names).toEqual(['Handoff-prod']);
  });

  it('opens with a text widget explaining each figure and pointing to `handoff scorecard`', () => {
    const [text] = widgets;
    expect(text?.type).toBe('text');
    for (const figure of [
      'Order-to-release',
      'SLA adherence',
      'Stage cycle time',
      'Shipment-confirmation timeliness',
      'Exceptions raised',
      'Oldest open exception',
      'Adapter error rate',
      'Queue depth',
      'Failed executions',
    ]) {
      expect(text?.properties.markdown).toContain(figure);
    }
    expect(text?.properties.markdown).toContain('`handoff scorecard`');
  });

  it('charts order-to-release and each stage cycle time at p50 and p90', () => {
    expect(linesOf(titled('Order-to-release')).map((l) => [l.metric, l.options.stat])).toEqual([
      ['OrderToReleaseSeconds', 'p50'],
      ['OrderToReleaseSeconds', 'p90'],
    ]);
    for (const stat of ['p50', 'p90']) {
      const lines = linesOf(titled(`Stage cycle time by stage, ${stat}`));
      expect(lines.map((l) => l.dimensions.Stage)).toEqual([...SLA_STAGES]);
      expect(new Set(lines.map((l) => `${l.metric} ${String(l.options.stat)}`))).toEqual(
        new Set([`StageCycleSeconds ${stat}`]),
      );
    }
  });

  it('charts SLA adherence (StageWithinTarget average) and breaches and jeopardies per team', () => {
    const adherence = linesOf(titled('SLA adherence by team'));
    expect(adherence.map((l) => l.dimensions.OwnerTeam)).toEqual([...OWNER_TEAMS]);
    expect(adherence.every((l) => l.metric === 'StageWithinTarget' && l.options.stat === undefined)).toBe(
      true,
    );
    const alarms = linesOf(titled('SLA breaches and jeopardies'));
    expect(alarms.map((l) => `${l.metric}:${l.dimensions.OwnerTeam}`).sort()).toEqual(
      OWNER_TEAMS.flatMap((team) => [`SlaBreaches:${team}`, `SlaJeopardy:${team}`]).sort(),
    );
  });

  it('charts shipment-confirmation timeliness against its target', () => {
    const widget = titled('Shipment-confirmation timeliness');
    expect(linesOf(widget).map((l) => [l.metric, l.dimensions.Stage ?? l.dimensions.OwnerTeam])).toEqual([
      ['StageCycleSeconds', 'release-to-ship-confirmation'],
      ['StageCycleSeconds', 'release-to-ship-confirmation'],
      ['SlaBreaches', 'logistics'],
    ]);
    expect(JSON.stringify(widget)).toContain('"value":86400');
  });

  it('charts exceptions raised by team, and by stage and team', () => {
    const byTeam = linesOf(titled('Exceptions raised by team'));
    expect(byTeam.map((l) => [l.metric, l.dimensions.OwnerTeam, l.options.stat])).toEqual(
      OWNER_TEAMS.map((team) => ['ExceptionsRaised', team, 'Sum']),
    );
    const [search] = linesOf(titled('Exceptions raised by stage and team'));
    expect(search?.options.expression).toContain(
      '{Handoff,OwnerTeam,Stage,service} MetricName="ExceptionsRaised"',
    );
  });

  it('charts each team’s oldest open exception age with the alarm thresholds', () => {
    const widget = titled('Oldest open exception age');
    expect(linesOf(widget).map((l) => [l.metric, l.dimensions.OwnerTeam])).toEqual(
      OWNER_TEAMS.map((team) => ['OldestOpenExceptionAgeSeconds', team]),
    );
    expect(JSON.stringify(widget)).toContain('"value":7200');
    expect(JSON.stringify(widget)).toContain('"value":14400');
  });

  it('charts the adapter error rate per partner system, failures and recovery time', () => {
    const rates = linesOf(titled('Adapter error rate')).filter((l) => l.options.expression);
    expect(rates.map((l) => l.options.label)).toEqual(PARTNERS);
    expect(rates[0]?.options.expression).toBe('100 * failures_erp / calls_erp');
    const integration = linesOf(titled('Integration failures and recovery'));
    expect(integration.filter((l) => l.metric === 'AdapterError').map((l) => l.dimensions.Adapter)).toEqual(
      PARTNERS,
    );
    expect(
      integration
        .filter((l) => l.metric === 'ExceptionRecoverySeconds')
        .map((l) => [l.dimensions.OwnerTeam, l.options.stat]),
    ).toEqual([
      ['integration', 'p50'],
      ['integration', 'p90'],
    ]);
  });

  it('charts the depth of every DLQ and the inbound queues, and failed executions per path', () => {
    const dlqs = linesOf(titled('Queue depth: dead-letter queues'));
    expect(dlqs.map((l) => l.dimensions.QueueName)).toEqual(
      [
        'ErpIngressDlq',
        'FunctionFailureDlq',
        'RuleTargetDlq',
        'EdiInboundDlq',
        'WmsEventsDlq',
        'VendorAsnDlq',
      ].map((queue) => `<stateful:${queue}.QueueName>`),
    );
    expect(new Set(dlqs.map((l) => l.metric))).toEqual(new Set(['ApproximateNumberOfMessagesVisible']));
    const inbound = linesOf(titled('Queue depth and age: inbound work queues'));
    expect(new Set(inbound.map((l) => l.dimensions.QueueName))).toEqual(
      new Set(
        ['ErpIngressQueue', 'EdiInboundQueue', 'WmsEventsQueue', 'VendorAsnQueue'].map(
          (queue) => `<stateful:${queue}.QueueName>`,
        ),
      ),
    );
    const failed = linesOf(titled('Failed executions by path'));
    expect(failed.map((l) => l.options.label)).toEqual([
      'standard-single-site',
      'multi-site-split',
      'expedited',
      'drop-ship',
      'edi-retail-replenishment',
      'backorder-reevaluation',
      'post-shipment',
    ]);
    expect(failed.every((l) => l.metric === 'ExecutionsFailed' && l.options.stat === 'Sum')).toBe(true);
  });
});
