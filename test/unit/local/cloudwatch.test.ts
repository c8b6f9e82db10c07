import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../local/clock/clock.ts';
import { CloudWatchService, statistic } from '../../../local/cloudwatch/cloudwatch-service.ts';
import { CloudModel } from '../../../local/template/model.ts';

const START = new Date('2030-01-01T00:00:00.000Z');

/** A one-stack assembly holding the given alarms. */
function modelWith(alarms: Record<string, Record<string, unknown>>): CloudModel {
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
      Resources: Object.fromEntries(
        Object.entries(alarms).map(([id, p]) => [id, { Type: 'AWS::CloudWatch::Alarm', Properties: p }]),
      ),
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
