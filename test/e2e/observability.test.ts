import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../local/clock/clock.ts';
import type { LocalCloud } from '../../local/cloud.ts';
import type { LocalAlarm } from '../../local/cloudwatch/cloudwatch-service.ts';
import { sampleOrders } from '../../local/demo/sample-orders.ts';
import { quiet, runToEnd } from '../support/faults.ts';
import { queueNamed, startTestCloud, type TestCloud, until } from '../support/test-cloud.ts';

/**
 * The CloudWatch side of SLAs and exceptions on the real synthesized stack: an ERP outage in the partner
 * sandbox puts the ERP adapter's error-rate alarm in ALARM; a credit hold left open past finance's 4 hours
 * puts finance's oldest-open-exception alarm in ALARM (the detector publishes the age every minute), and
 * deciding it returns the alarm to OK; the stack's dashboard is served to the AWS CLI, references resolved.
 * The clock starts on a Saturday night in Chicago, so no business-hours SLA breaches add exceptions.
 */
const START = new Date('2026-11-28T09:00:00.000Z');
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const clock = new VirtualClock(START);
let world: TestCloud;
let cloud: LocalCloud;

beforeAll(async () => {
  world = await startTestCloud({ clock, context: { 'handoff:slaDetectorMinutes': 1 } });
  cloud = world.cloud;
});

afterAll(async () => {
  await world?.stop();
});

const alarmNamed = (id: string): LocalAlarm => {
  const alarm = cloud.cloudwatch.alarms.find((a) =>
    new RegExp(`^Observability${id}[0-9A-F]{8}$`).test(a.resource.logicalId),
  );
  if (!alarm) throw new Error(`no alarm ${id}`);
  return alarm;
};
const adapterAlarm = (partner: string) => alarmNamed(`AdapterErrorRate${partner}`);
const oldestAlarm = (team: string) => alarmNamed(`OldestOpenException${team.replace('-', '')}`);

const functionNamed = (prefix: string) =>
  [...cloud.lambda.functions.values()].find((f) => f.resource.logicalId.startsWith(prefix))?.name ?? '';
const tableNamed = (prefix: string) =>
  cloud.tables.find((t) => t.resource.logicalId.startsWith(prefix))?.name ?? '';

async function send(body: unknown): Promise<void> {
  await world.sqs.send(
    new SendMessageCommand({
      QueueUrl: queueNamed(cloud, 'ErpIngressQueue').url,
      MessageBody: JSON.stringify(body),
    }),
  );
}

const execution = (orderId: string) =>
  until(`the execution of ${orderId}`, () =>
    [...cloud.sfn.executions.values()].find((e) => e.name === orderId),
  );

async function minutesPass(minutes: number): Promise<void> {
  for (let i = 0; i < minutes; i++) {
    await clock.advance(MINUTE);
    await quiet(cloud);
  }
}

const aws = (...args: string[]) =>
  promisify(execFile)('aws', ['--endpoint-url', cloud.endpoint, '--region', 'us-east-1', ...args], {
    env: { ...process.env, AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'x' },
    encoding: 'utf8',
  });

describe('adapter error rate', () => {
  it('stays OK while partners answer, and no calls is not an alarm', async () => {
    await cloud.evaluateAlarmsNow();
    for (const partner of ['erp', 'wms', 'tms', 'crm', 'finance', 'edi', 'vendor']) {
      expect([partner, adapterAlarm(partner).state]).toEqual([partner, 'OK']);
    }
  });

  it('an ERP outage fails every credit check: the ERP adapter alarms, the WMS one does not', async () => {
    // The credit API is down; the item master (which the ingress reads once and caches) still answers.
    world.sandbox.faults.set('GET /erp/customers', { errorRate: 1, errorStatuses: [503] });
    for (const run of ['OBS1', 'OBS2', 'OBS3']) {
      const sample = sampleOrders(clock.now(), run).find((o) => o.label.startsWith('wholesale order'));
      await send(sample?.body);
      // Each credit check fails after its retries; the path retries the step 4 times, then raises an
      // integration exception: 5 failed ERP calls per order.
      await runToEnd(cloud, clock, await execution(`ERP-${String(sample?.body.SalesOrder)}`));
    }
    world.sandbox.faults.delete('GET /erp/customers');
    expect(clock.now().getTime() - START.getTime()).toBeLessThan(5 * MINUTE); // one 5-minute period

    await cloud.evaluateAlarmsNow();
    const erp = adapterAlarm('erp');
    expect(erp.state).toBe('ALARM');
    expect(erp.stateReason).toContain('GreaterThanThreshold 5');
    expect(adapterAlarm('wms').state).toBe('OK');
    const [rate] = cloud.cloudwatch.metricData(erp.queries, START.getTime(), START.getTime() + 5 * MINUTE);
    // 15 failed credit calls beside the item master's one successful read: 15 of 16.
    expect(rate?.values).toEqual([93.75]);
    expect(cloud.cloudwatch.notifications).toContainEqual(
      expect.objectContaining({ alarmName: erp.name, newState: 'ALARM' }),
    );

    // The AWS CLI sees the metric-math alarm as CloudWatch describes one.
    const { stdout } = await aws('cloudwatch', 'describe-alarms', '--alarm-names', erp.name);
    const [described] = JSON.parse(stdout).MetricAlarms as Record<string, unknown>[];
    expect(described).toMatchObject({
      StateValue: 'ALARM',
      Threshold: 5,
      ComparisonOperator: 'GreaterThanThreshold',
    });
    expect(
      ((described?.Metrics ?? []) as { Id: string; Expression?: string }[]).map((m) => m.Expression ?? m.Id),
    ).toEqual(['IF(calls >= 10, 100 * failures / calls, 0)', 'calls', 'failures']);
  }, 180_000);

  it('counts the integration exceptions the failures raised, by team and by the stage they were raised at', () => {
    const dimensionSets = cloud.cloudwatch
      .listMetrics({ Namespace: 'Handoff', MetricName: 'ExceptionsRaised' })
      .map((m) => Object.fromEntries(m.Dimensions.map((d) => [d.Name, d.Value])));
    expect(dimensionSets).toContainEqual({ service: 'handoff-exceptions', OwnerTeam: 'integration' });
    expect(dimensionSets).toContainEqual({ service: 'handoff-exceptions', Stage: expect.any(String) });
    expect(dimensionSets).toContainEqual({
      service: 'handoff-exceptions',
      OwnerTeam: 'integration',
      Stage: expect.any(String),
    });
  });
});

describe('oldest open exception', () => {
  let exceptionId = '';

  it('a fresh credit hold leaves finance’s alarm OK', async () => {
    const sample = sampleOrders(clock.now(), 'OBSHOLD').find((o) =>
      o.label.includes('close to its credit limit'),
    );
    const orderId = `ERP-${String(sample?.body.SalesOrder)}`;
    exceptionId = `EXC-${orderId}-CREDIT`;
    await send(sample?.body);
    const path = await execution(orderId);
    await until('the order waits on the credit controller', () =>
      path.statesEntered.includes('AwaitCreditControllerDecision') ? true : undefined,
    );
    await quiet(cloud);
    await minutesPass(2);
    await cloud.evaluateAlarmsNow();
    expect(oldestAlarm('finance').state).toBe('OK');
  }, 120_000);

  it('past 4 hours open, finance alarms (and integration, whose step failures are still open past 2)', async () => {
    await clock.advance(4 * HOUR + 10 * MINUTE);
    await quiet(cloud);
    await cloud.evaluateAlarmsNow();
    const states = Object.fromEntries(
      ['finance', 'customer-service', 'warehouse', 'logistics', 'integration'].map((team) => [
        team,
        oldestAlarm(team).state,
      ]),
    );
    expect(states).toEqual({
      finance: 'ALARM',
      'customer-service': 'OK',
      warehouse: 'OK',
      logistics: 'OK',
      integration: 'ALARM',
    });
    // The age the detector published last is the hold's age then (it runs every minute).
    const { Item: held } = await cloud.dynamodb.documents.send(
      new GetCommand({ TableName: tableNamed('ExceptionsTable'), Key: { pk: exceptionId } }),
    );
    expect(held).toMatchObject({ state: 'open', ownerTeam: 'finance' });
    const age = (clock.now().getTime() - Date.parse(String(held?.raisedAt))) / 1000;
    const [published] = cloud.cloudwatch.metricData(
      oldestAlarm('finance').queries,
      clock.now().getTime() - 5 * MINUTE,
      clock.now().getTime() + 1,
    );
    const maximum = Math.max(...(published?.values ?? []));
    expect(maximum).toBeGreaterThan(4 * 3600);
    expect(maximum).toBeLessThanOrEqual(age);
    expect(age - maximum).toBeLessThan(5 * 60 + 60);
  }, 180_000);

  it('deciding the hold takes it out of the open queue: finance returns to OK, integration stays', async () => {
    const answer = await cloud.lambda.invoke(functionNamed('DecideException'), {
      exceptionId,
      outcome: 'release',
      decidedBy: 'pat.creditmanager',
      reason: 'Seasonal uplift agreed in October.',
    });
    expect(answer).toMatchObject({ outcome: 'release', tier: 2 });
    await quiet(cloud);
    // The alarm reads the maximum over 5 minutes: once the period holding the old age has passed.
    await minutesPass(6);
    await cloud.evaluateAlarmsNow();
    expect(oldestAlarm('finance').state).toBe('OK');
    expect(oldestAlarm('integration').state).toBe('ALARM');
    expect(oldestAlarm('finance').history.map((h) => h.to)).toEqual(['OK', 'ALARM', 'OK']);
    // The decision's recovery time: raised → decided, a little over 4 hours.
    const [recovery] = cloud.cloudwatch.metricData(
      [
        {
          id: 'recovery',
          returnData: true,
          namespace: 'Handoff',
          metricName: 'ExceptionRecoverySeconds',
          dimensions: [
            { Name: 'OwnerTeam', Value: 'finance' },
            { Name: 'service', Value: 'handoff-exceptions' },
          ],
          statistic: 'Maximum',
          periodSeconds: 24 * 3600,
        },
      ],
      START.getTime() - 24 * HOUR,
      clock.now().getTime() + 1,
    );
    expect(recovery?.values).toHaveLength(1);
    expect(recovery?.values[0]).toBeGreaterThan(4 * 3600);
    expect(recovery?.values[0]).toBeLessThan(5 * 3600);
  }, 180_000);
});

describe('the dashboard', () => {
  it('is served to the AWS CLI with the template’s body, every reference resolved to local names', async () => {
    const listed = JSON.parse((await aws('cloudwatch', 'list-dashboards')).stdout) as {
      DashboardEntries: { DashboardName: string; DashboardArn: string; Size: number }[];
    };
    expect(listed.DashboardEntries).toEqual([
      expect.objectContaining({
        DashboardName: 'Handoff-dev',
        DashboardArn: 'arn:aws:cloudwatch::000000000000:dashboard/Handoff-dev',
      }),
    ]);
    const got = JSON.parse(
      (await aws('cloudwatch', 'get-dashboard', '--dashboard-name', 'Handoff-dev')).stdout,
    ) as {
      DashboardName: string;
      DashboardBody: string;
    };
    expect(got.DashboardName).toBe('Handoff-dev');
    expect(Buffer.byteLength(got.DashboardBody)).toBe(listed.DashboardEntries[0]?.Size);
    const body = JSON.parse(got.DashboardBody) as {
      widgets: { properties: { title?: string; metrics?: unknown[][] } }[];
    };
    const titles = body.widgets.map((w) => w.properties.title).filter(Boolean);
    expect(titles).toEqual(
      expect.arrayContaining([
        expect.stringContaining('SLA adherence by team'),
        expect.stringContaining('Oldest open exception age'),
        expect.stringContaining('Adapter error rate'),
        expect.stringContaining('Queue depth: dead-letter queues'),
        expect.stringContaining('Failed executions by path'),
      ]),
    );
    const dlqs = body.widgets.find((w) => w.properties.title?.startsWith('Queue depth: dead-letter queues'));
    expect(dlqs?.properties.metrics?.map((m) => m[3])).toContain(
      queueNamed(cloud, 'FunctionFailureDlq').name,
    );
    const failed = body.widgets.find((w) => w.properties.title?.startsWith('Failed executions by path'));
    const machineArns = [...cloud.sfn.machines.values()].map((m) => m.arn);
    for (const metric of failed?.properties.metrics ?? []) expect(machineArns).toContain(metric[3]);
  }, 60_000);

  it('answers an unknown dashboard as CloudWatch does', async () => {
    const failure = await aws('cloudwatch', 'get-dashboard', '--dashboard-name', 'Handoff-nope').catch(
      (error: { stderr: string }) => error,
    );
    expect(String((failure as { stderr?: string }).stderr)).toContain('ResourceNotFound');
  }, 60_000);
});
