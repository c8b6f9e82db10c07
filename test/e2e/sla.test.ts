import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../local/clock/clock.ts';
import type { LocalCloud } from '../../local/cloud.ts';
import { sampleOrders } from '../../local/demo/sample-orders.ts';
import { quiet } from '../support/faults.ts';
import { queueNamed, startTestCloud, type TestCloud, until } from '../support/test-cloud.ts';

/**
 * SLA clocks on the real synthesized stack: the tracker follows the order's events into stage clocks in
 * DynamoDB, the one-minute detector raises jeopardy and breach as virtual time passes, each exactly once,
 * the breach becomes logistics' owned exception, and the team's breach alarm goes off. The stack gets a
 * tight policy through context (as `-c handoff:slaPolicy=…` would), so minutes stand for a day.
 */
const START = new Date('2026-12-03T15:00:00.000Z'); // a Thursday, 09:00 in Chicago
const MINUTE = 60_000;
const clock = new VirtualClock(START);
let world: TestCloud;
let cloud: LocalCloud;

const POLICY = {
  jeopardyFraction: 0.5,
  stages: { 'release-to-ship-confirmation': { targetMinutes: 20, overrides: [] } },
};

beforeAll(async () => {
  world = await startTestCloud({
    clock,
    context: { 'handoff:slaPolicy': POLICY, 'handoff:slaDetectorMinutes': 1 },
  });
  cloud = world.cloud;
});

afterAll(async () => {
  await world?.stop();
});

const tableNamed = (prefix: string) =>
  cloud.tables.find((t) => t.resource.logicalId.startsWith(prefix))?.name ?? '';

async function clocksOf(orderId: string) {
  const { Items = [] } = await cloud.dynamodb.documents.send(
    new QueryCommand({
      TableName: tableNamed('SlaClocksTable'),
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': `ORDER#${orderId}` },
    }),
  );
  return Object.fromEntries(
    Items.map((item) => [
      String(item.stage),
      item as { clock: Record<string, unknown>; dueAt?: string; outbox: string[] },
    ]),
  );
}

const eventsOf = (orderId: string, detailType: string) =>
  (cloud.events.archives[0]?.events ?? [])
    .map((e) => e.event)
    .filter((e) => (e.detail as { orderId?: string }).orderId === orderId && e['detail-type'] === detailType)
    .map((e) => e.detail as Record<string, unknown>);

async function minutesPass(minutes: number) {
  for (let i = 0; i < minutes; i++) {
    await clock.advance(MINUTE);
    await quiet(cloud);
  }
}

const detectorName = () =>
  [...cloud.lambda.functions.values()].find((f) => f.resource.logicalId.startsWith('SlaDetectorFunction'))
    ?.name ?? '';

describe('SLA clocks, jeopardy and breach', () => {
  let orderId = '';

  it('times each stage from the canonical events, and leaves release → ship confirmation running', async () => {
    const sample = sampleOrders(clock.now(), 'SLA1').find((o) => o.label.startsWith('wholesale order'));
    orderId = `ERP-${String(sample?.body.SalesOrder)}`;
    await world.sqs.send(
      new SendMessageCommand({
        QueueUrl: queueNamed(cloud, 'ErpIngressQueue').url,
        MessageBody: JSON.stringify(sample?.body),
      }),
    );
    await until('the order is handed to the warehouse', () =>
      [...cloud.sfn.executions.values()].find((e) => e.name === orderId && e.status === 'SUCCEEDED'),
    );
    await quiet(cloud);
    const clocks = await until('the release clock', async () => {
      const all = await clocksOf(orderId);
      return all['release-to-ship-confirmation'] ? all : undefined;
    });
    expect(clocks['capture-to-accept']?.clock).toMatchObject({
      stoppedAt: expect.any(String),
      target: { ownerTeam: 'integration', targetSeconds: 15 * 60 },
    });
    expect(clocks['allocation-to-release']?.clock).toMatchObject({
      startedAt: expect.any(String),
      stoppedAt: expect.any(String),
      target: { ownerTeam: 'warehouse' },
    });
    const release = clocks['release-to-ship-confirmation'];
    expect(release?.clock).toMatchObject({
      startedAt: START.toISOString(),
      target: { ownerTeam: 'logistics', targetSeconds: 20 * 60, jeopardySeconds: 10 * 60 },
    });
    expect(release?.clock.stoppedAt).toBeUndefined();
    // Due for the detector at the jeopardy mark, read from the due-bucket index.
    expect(release?.dueAt).toBe(new Date(START.getTime() + 10 * MINUTE).toISOString());
  }, 120_000);

  it('raises sla.jeopardy once at half the target, as the detector runs every minute', async () => {
    await minutesPass(9);
    expect(eventsOf(orderId, 'sla.jeopardy.v1')).toEqual([]);
    await minutesPass(3);
    expect(eventsOf(orderId, 'sla.jeopardy.v1')).toEqual([
      expect.objectContaining({
        stage: 'release-to-ship-confirmation',
        ownerTeam: 'logistics',
        targetSeconds: 1200,
        idempotencyKey: `sla:${orderId}:release-to-ship-confirmation:jeopardy`,
      }),
    ]);
  }, 120_000);

  it('raises sla.breached once at the target, with the overrun, as logistics’ exception and alarm', async () => {
    await minutesPass(10);
    const [breach, ...more] = eventsOf(orderId, 'sla.breached.v1');
    expect(more).toEqual([]);
    expect(breach).toMatchObject({
      stage: 'release-to-ship-confirmation',
      ownerTeam: 'logistics',
      targetSeconds: 1200,
      dueAt: new Date(START.getTime() + 20 * MINUTE).toISOString(),
    });
    expect(Number(breach?.overrunSeconds)).toBeGreaterThan(0);
    expect(Number(breach?.overrunSeconds)).toBeLessThanOrEqual(60);

    const raised = eventsOf(orderId, 'exception.raised.v1').filter((e) => e.type === 'sla-breach');
    expect(raised).toHaveLength(1);
    const { Item: exception } = await cloud.dynamodb.documents.send(
      new GetCommand({ TableName: tableNamed('ExceptionsTable'), Key: { pk: raised[0]?.exceptionId } }),
    );
    expect(exception).toMatchObject({
      type: 'sla-breach',
      ownerTeam: 'logistics',
      state: 'open',
      reasonCodes: ['SLA_BREACHED', 'SLA_STAGE:release-to-ship-confirmation'],
    });
    expect(String(exception?.recommendedAction)).toContain('carrier pick-up');

    // The breach metric (EMF, from the detector's log) trips logistics' alarm and only logistics'.
    await cloud.evaluateAlarmsNow();
    const states = Object.fromEntries(
      cloud.cloudwatch.alarms
        .filter((a) => a.metricName === 'SlaBreaches')
        .map((a) => [a.dimensions.find((d) => d.Name === 'OwnerTeam')?.Value, a.state]),
    );
    expect(states).toEqual({
      finance: 'OK',
      'customer-service': 'OK',
      warehouse: 'OK',
      logistics: 'ALARM',
      integration: 'OK',
    });
  }, 120_000);

  it('raises nothing more when the detector runs again, twice, at once', async () => {
    const before = cloud.events.archives[0]?.events.length ?? 0;
    await Promise.all([cloud.lambda.invoke(detectorName(), {}), cloud.lambda.invoke(detectorName(), {})]);
    await minutesPass(5);
    expect(eventsOf(orderId, 'sla.breached.v1')).toHaveLength(1);
    expect(eventsOf(orderId, 'sla.jeopardy.v1')).toHaveLength(1);
    const after = (cloud.events.archives[0]?.events ?? []).slice(before);
    expect(after.filter((e) => String(e.event['detail-type']).startsWith('sla.'))).toEqual([]);
    const release = (await clocksOf(orderId))['release-to-ship-confirmation'];
    expect(release?.outbox).toEqual([]);
    expect(release?.dueAt).toBeUndefined();
  }, 120_000);

  it('keeps time through a four-hour jump of the virtual clock: each alarm on time, once', async () => {
    const sample = sampleOrders(clock.now(), 'SLA2').find((o) => o.label.startsWith('wholesale order'));
    const second = `ERP-${String(sample?.body.SalesOrder)}`;
    await world.sqs.send(
      new SendMessageCommand({
        QueueUrl: queueNamed(cloud, 'ErpIngressQueue').url,
        MessageBody: JSON.stringify(sample?.body),
      }),
    );
    await until('the second order is handed to the warehouse', () =>
      [...cloud.sfn.executions.values()].find((e) => e.name === second && e.status === 'SUCCEEDED'),
    );
    await quiet(cloud);
    // 240 schedule ticks in one jump: each minute's run finishes at its own instant, so jeopardy and
    // breach are raised on time, once each, as if the four hours had passed in real time.
    await clock.advance(240 * MINUTE);
    await quiet(cloud);
    expect(eventsOf(second, 'sla.jeopardy.v1')).toHaveLength(1);
    const [breach, ...more] = eventsOf(second, 'sla.breached.v1');
    expect(more).toEqual([]);
    expect(Number(breach?.overrunSeconds)).toBeLessThanOrEqual(60);
  }, 120_000);
});
