import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../local/clock/clock.ts';
import { CloudWatchService, statistic } from '../../../local/cloudwatch/cloudwatch-service.ts';
import { evaluateExpression, parseExpression } from '../../../local/cloudwatch/metric-math.ts';
import { CloudModel } from '../../../local/template/model.ts';

const START = new Date('2030-01-01T00:00:00.000Z');

/** A one-stack assembly holding the given alarms. */
function modelWith(
  alarms: Record<string, Record<string, unknown>>,
  dashboards: Record<string, Record<string, unknown>> = {},
): CloudModel {
  const dir = mkdtempSync(join(tmpdir(), 'cw-'));
  writeFileSync(
    join(dir, 'manifest.json'),
    JSON.stringify({
      artifacts: { S: { type: 'aws:cloudformation:stack', properties: { templateFile: 'S.json' } } },
    }),
  );
  writeFileSync(
    join(dir, 'S.json'),
    JSON.stringify({
      Resources: Object.fromEntries([
        ...Object.entries(alarms).map(([id, p]) => [id, { Type: 'AWS::CloudWatch::Alarm', Properties: p }]),
        ...Object.entries(dashboards).map(([id, p]) => [
          id,
          { Type: 'AWS::CloudWatch::Dashboard', Properties: p },
        ]),
      ]),
    }),
  );
  return new CloudModel(dir, { sqsQueueUrl: (name) => `http://q/${name}` });
}

const breaches = {
  Namespace: 'Handoff',
  MetricName: 'SlaBreaches',
  Dimensions: [{ Name: 'team', Value: 'finance' }],
  Statistic: 'Sum',
  Period: 60,
  EvaluationPeriods: 3,
  DatapointsToAlarm: 2,
  Threshold: 0,
  ComparisonOperator: 'GreaterThanThreshold',
  TreatMissingData: 'notBreaching',
  AlarmActions: ['arn:aws:sns:us-east-1:000000000000:alerts'],
  OKActions: ['arn:aws:sns:us-east-1:000000000000:alerts'],
};

describe('CloudWatch: metrics', () => {
  it('reads Embedded Metric Format lines, one datapoint per metric and dimension set', () => {
    const cw = new CloudWatchService(modelWith({}), new VirtualClock(START));
    const line = JSON.stringify({
      _aws: {
        Timestamp: START.getTime(),
        CloudWatchMetrics: [
          {
            Namespace: 'Handoff',
            Dimensions: [['team'], []],
            Metrics: [{ Name: 'SlaBreaches', Unit: 'Count' }],
          },
        ],
      },
      team: 'finance',
      SlaBreaches: 2,
    });
    expect(cw.ingestLog(line)).toBe(2);
    expect(cw.ingestLog('{"level":"INFO","message":"not a metric"}')).toBe(0);
    expect(cw.listMetrics({ Namespace: 'Handoff' })).toEqual([
      { Namespace: 'Handoff', MetricName: 'SlaBreaches', Dimensions: [{ Name: 'team', Value: 'finance' }] },
      { Namespace: 'Handoff', MetricName: 'SlaBreaches', Dimensions: [] },
    ]);
  });

  it('computes each statistic per period', () => {
    expect(statistic([1, 2, 6], 'Sum')).toBe(9);
    expect(statistic([1, 2, 6], 'Average')).toBe(3);
    expect(statistic([1, 2, 6], 'Maximum')).toBe(6);
    expect(statistic([1, 2, 6], 'Minimum')).toBe(1);
    expect(statistic([1, 2, 6], 'SampleCount')).toBe(3);
    expect(statistic([], 'Sum')).toBeUndefined();
  });
});

describe('CloudWatch: threshold alarms', () => {
  it('needs DatapointsToAlarm breaching periods out of EvaluationPeriods, then notifies, then recovers', async () => {
    const clock = new VirtualClock(START);
    const cw = new CloudWatchService(modelWith({ Breaches: breaches }), clock);
    const notified: string[] = [];
    cw.onNotify = (n) => {
      notified.push(n.newState);
    };
    const breach = () =>
      cw.put({
        namespace: 'Handoff',
        name: 'SlaBreaches',
        dimensions: breaches.Dimensions,
        value: 1,
        unit: 'Count',
      });

    await cw.evaluate();
    expect(cw.alarms[0]?.state).toBe('OK'); // notBreaching: missing data counts as good
    breach();
    await cw.evaluate();
    expect(cw.alarms[0]?.state).toBe('OK'); // 1 of 3, DatapointsToAlarm 2
    await clock.advance(60_000);
    breach();
    await cw.evaluate();
    expect(cw.alarms[0]?.state).toBe('ALARM');
    expect(cw.alarms[0]?.stateReason).toContain('2 of 3 datapoints GreaterThanThreshold 0');
    await clock.advance(3 * 60_000);
    await cw.evaluate();
    expect(cw.alarms[0]?.state).toBe('OK');
    // OK actions fire on every transition into OK, including the first one out of INSUFFICIENT_DATA.
    expect(notified).toEqual(['OK', 'ALARM', 'OK']);
    expect(cw.alarms[0]?.history.map((h) => `${h.from}→${h.to}`)).toEqual([
      'INSUFFICIENT_DATA→OK',
      'OK→ALARM',
      'ALARM→OK',
    ]);
  });

  it('stays INSUFFICIENT_DATA without datapoints when missing data is "missing"', async () => {
    const cw = new CloudWatchService(
      modelWith({ Breaches: { ...breaches, TreatMissingData: 'missing' } }),
      new VirtualClock(START),
    );
    await cw.evaluate();
    expect(cw.alarms[0]?.state).toBe('INSUFFICIENT_DATA');
  });

  it('samples a metric it does not receive (SQS depth) when evaluating', async () => {
    const cw = new CloudWatchService(
      modelWith({
        Depth: {
          Namespace: 'AWS/SQS',
          MetricName: 'ApproximateNumberOfMessagesVisible',
          Dimensions: [{ Name: 'QueueName', Value: 'dlq' }],
          Statistic: 'Maximum',
          Period: 60,
          EvaluationPeriods: 1,
          Threshold: 0,
          ComparisonOperator: 'GreaterThanThreshold',
        },
      }),
      new VirtualClock(START),
    );
    cw.addSampler('AWS/SQS', async (_ns, _name, dimensions) => (dimensions[0]?.Value === 'dlq' ? 3 : 0));
    await cw.evaluate();
    expect(cw.alarms[0]?.state).toBe('ALARM');
  });

  it('refuses alarms it cannot evaluate faithfully, naming the alarm and the feature', () => {
    expect(
      () =>
        new CloudWatchService(
          modelWith({ P99: { ...breaches, ExtendedStatistic: 'p99' } }),
          new VirtualClock(START),
        ),
    ).toThrow(/S\/P99: percentile \(ExtendedStatistic\) alarms/);
    expect(
      () => new CloudWatchService(modelWith({ Math: { ...breaches, Metrics: [] } }), new VirtualClock(START)),
    ).toThrow(/metric-math alarms/);
  });
});

/** The adapter error-rate alarm's shape: failed calls over calls, once there are enough calls. */
const errorRate = {
  ComparisonOperator: 'GreaterThanThreshold',
  EvaluationPeriods: 1,
  Threshold: 5,
  TreatMissingData: 'notBreaching',
  Metrics: [
    { Id: 'expr_1', Expression: 'IF(calls >= 10, 100 * failures / calls, 0)', Label: 'erp error rate' },
    ...(['SampleCount', 'Sum'] as const).map((stat) => ({
      Id: stat === 'Sum' ? 'failures' : 'calls',
      ReturnData: false,
      MetricStat: {
        Metric: {
          Namespace: 'Handoff',
          MetricName: 'AdapterError',
          Dimensions: [{ Name: 'Adapter', Value: 'erp' }],
        },
        Period: 300,
        Stat: stat,
      },
    })),
  ],
};

describe('CloudWatch: metric math', () => {
  const value = (text: string, values: Record<string, number> = {}) =>
    evaluateExpression(parseExpression(text), (id) => values[id]);

  it('computes arithmetic, comparisons, logic and IF with their usual precedence', () => {
    expect(value('1 + 2 * 3')).toBe(7);
    expect(value('(1 + 2) * 3')).toBe(9);
    expect(value('-a / 4', { a: 2 })).toBe(-0.5);
    expect(value('a >= 10 AND b < 1', { a: 10, b: 0 })).toBe(1);
    expect(value('a > 10 || !b', { a: 1, b: 0 })).toBe(1);
    expect(value('IF(calls >= 10, 100 * failures / calls, 0)', { calls: 20, failures: 3 })).toBe(15);
    expect(value('IF(calls >= 10, 100 * failures / calls, 0)', { calls: 4, failures: 4 })).toBe(0);
  });

  it('has no value where a query has none, or where it divides by zero', () => {
    expect(value('failures / calls', { failures: 1 })).toBeUndefined();
    expect(value('failures / calls', { failures: 1, calls: 0 })).toBeUndefined();
  });

  it('refuses functions it does not evaluate, naming them', () => {
    expect(() => parseExpression('FILL(m1, 0)')).toThrow(/function FILL/);
    expect(() => parseExpression("SEARCH('{Handoff}', 'Sum', 300)")).toThrow(/function SEARCH/);
    expect(() => parseExpression('m1 +')).toThrow(/ends early/);
  });
});

describe('CloudWatch: metric-math alarms', () => {
  const call = (cw: CloudWatchService, failed: boolean) =>
    cw.put({
      namespace: 'Handoff',
      name: 'AdapterError',
      dimensions: [{ Name: 'Adapter', Value: 'erp' }],
      value: failed ? 1 : 0,
      unit: 'Count',
    });

  it('alarms on the expression: a high error rate with enough calls, not with too few', async () => {
    const clock = new VirtualClock(START);
    const cw = new CloudWatchService(modelWith({ ErrorRate: errorRate }), clock);
    await cw.evaluate();
    expect(cw.alarms[0]?.state).toBe('OK'); // no calls: missing data is not breaching
    for (let i = 0; i < 5; i++) call(cw, true);
    await cw.evaluate();
    expect(cw.alarms[0]?.state).toBe('OK'); // 100 % of 5 calls: under the 10-call floor
    for (let i = 0; i < 15; i++) call(cw, i === 0);
    await cw.evaluate();
    expect(cw.alarms[0]?.state).toBe('ALARM'); // 6 of 20 = 30 %
    expect(cw.alarms[0]?.stateReason).toContain('GreaterThanThreshold 5');
    await clock.advance(5 * 60_000);
    for (let i = 0; i < 40; i++) call(cw, i === 0);
    await cw.evaluate();
    expect(cw.alarms[0]?.state).toBe('OK'); // 1 of 40 = 2.5 % in the new period
  });

  it('describes its queries, and GetMetricData computes the same expression', () => {
    const cw = new CloudWatchService(modelWith({ ErrorRate: errorRate }), new VirtualClock(START));
    const alarm = cw.alarms[0];
    expect(alarm).toMatchObject({ math: true, metricName: '', periodSeconds: 300 });
    expect(alarm?.queries.map((q) => q.id)).toEqual(['expr_1', 'calls', 'failures']);
    for (let i = 0; i < 10; i++) call(cw, i < 2);
    const [rate] = cw.metricData(alarm?.queries ?? [], START.getTime(), START.getTime() + 300_000);
    expect(rate).toMatchObject({ id: 'expr_1', label: 'erp error rate', values: [20] });
  });

  it('refuses metric-math alarms it cannot evaluate, naming the alarm and why', () => {
    const refused = (metrics: unknown[]) => () =>
      new CloudWatchService(modelWith({ Math: { ...errorRate, Metrics: metrics } }), new VirtualClock(START));
    const [expression, calls, failures] = errorRate.Metrics as Record<string, unknown>[];
    expect(refused([{ ...expression, Expression: 'FILL(calls, 0)' }, calls, failures])).toThrow(
      /S\/Math: metric math using function FILL/,
    );
    expect(refused([expression, calls])).toThrow(/reading an unknown query \(expr_1 reads failures\)/);
    expect(refused([expression, { ...calls, ReturnData: true }, failures])).toThrow(/exactly one query/);
    expect(
      refused([
        expression,
        calls,
        { ...failures, MetricStat: { ...(failures?.MetricStat as object), Stat: 'p90' } },
      ]),
    ).toThrow(/the p90 statistic/);
  });
});

describe('CloudWatch: dashboards', () => {
  it('serves each template dashboard by name with its body, as deployed', () => {
    const body = JSON.stringify({ widgets: [{ type: 'text', properties: { markdown: '# Handoff' } }] });
    const cw = new CloudWatchService(
      modelWith(
        {},
        { Board: { DashboardName: 'Handoff-dev', DashboardBody: body }, Unnamed: { DashboardBody: body } },
      ),
      new VirtualClock(START),
    );
    expect(cw.dashboards.map((d) => [d.name, d.arn, d.body])).toEqual([
      ['Handoff-dev', 'arn:aws:cloudwatch::000000000000:dashboard/Handoff-dev', body],
      ['S-Unnamed', 'arn:aws:cloudwatch::000000000000:dashboard/S-Unnamed', body],
    ]);
  });

  it('refuses a body that is not a JSON object', () => {
    expect(
      () => new CloudWatchService(modelWith({}, { Board: { DashboardBody: '[1' } }), new VirtualClock(START)),
    ).toThrow(/S\/Board: a DashboardBody that is not a JSON object/);
  });
});
