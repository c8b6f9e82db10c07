import { SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../local/clock/clock.ts';
import type { LocalCloud } from '../../local/cloud.ts';
import { sampleOrders } from '../../local/demo/sample-orders.ts';
import type { LocalExecution } from '../../local/stepfunctions/sfn-service.ts';
import { startTestCloud, TEST_CREDENTIALS, type TestCloud, until } from '../support/test-cloud.ts';

/**
 * The human-decision pattern on the real synthesized stack: a credit hold waits on the credit controller
 * with a 4-hour SLA, escalates to the credit manager (2 hours), and past both is declined by the fallback.
 * Virtual time drives the SLAs; decisions go through the DecideException function as an operator's would.
 */
const START = new Date('2026-11-23T09:00:00.000Z');
const HOUR = 3_600_000;
const clock = new VirtualClock(START);
let world: TestCloud;
let cloud: LocalCloud;
let sfn: SFNClient;

beforeAll(async () => {
  world = await startTestCloud({ clock });
  cloud = world.cloud;
  sfn = new SFNClient({ endpoint: cloud.endpoint, region: 'us-east-1', credentials: TEST_CREDENTIALS });
});

afterAll(async () => {
  sfn?.destroy();
  await world?.stop();
});

const functionNamed = (prefix: string) =>
  [...cloud.lambda.functions.values()].find((f) => f.resource.logicalId.startsWith(prefix))?.name ?? '';
const tableNamed = (prefix: string) =>
  cloud.tables.find((t) => t.resource.logicalId.startsWith(prefix))?.name ?? '';

async function exception(exceptionId: string): Promise<Record<string, unknown> | undefined> {
  const { Item } = await cloud.dynamodb.documents.send(
    new GetCommand({ TableName: tableNamed('ExceptionsTable'), Key: { pk: exceptionId } }),
  );
  return Item;
}

async function order(orderId: string): Promise<Record<string, unknown> | undefined> {
  const { Item } = await cloud.dynamodb.documents.send(
    new GetCommand({ TableName: tableNamed('OrdersTable'), Key: { pk: orderId, sk: 'ORDER' } }),
  );
  return Item;
}

const eventsAbout = (orderId: string) =>
  (cloud.events.archives[0]?.events ?? [])
    .filter((e) => (e.event.detail as { orderId?: string }).orderId === orderId)
    .map((e) => e.event['detail-type']);

/** Sends the sample order of a customer near its credit limit and waits until it waits on `tier`. */
async function heldOrder(
  runId: string,
): Promise<{ orderId: string; exceptionId: string; execution: LocalExecution }> {
  const sample = sampleOrders(clock.now(), runId).find((o) => o.label.includes('close to its credit limit'));
  const queue = [...cloud.sqs.queues.values()].find((q) =>
    q.resource.logicalId.startsWith('ErpIngressQueue'),
  );
  await world.sqs.send(
    new SendMessageCommand({ QueueUrl: queue?.url, MessageBody: JSON.stringify(sample?.body) }),
  );
  const orderId = `ERP-${runId}-3`;
  const exceptionId = `EXC-${orderId}-CREDIT`;
  const execution = await until('the order waits on the credit controller', () =>
    [...cloud.sfn.executions.values()].find(
      (e) => e.name === orderId && e.statesEntered.includes('AwaitCreditControllerDecision'),
    ),
  );
  await until('the exception holds the tier-1 token', async () =>
    (await exception(exceptionId))?.awaiting ? true : undefined,
  );
  return { orderId, exceptionId, execution };
}

async function decide(input: Record<string, unknown>): Promise<unknown> {
  return cloud.lambda.invoke(functionNamed('DecideException'), input);
}

describe('credit hold: human decision with escalation', () => {
  it('escalates to the credit manager when the controller SLA passes, and ships once the manager releases', async () => {
    const { orderId, exceptionId, execution } = await heldOrder('HD1');
    const held = await exception(exceptionId);
    const tier1Token = String((held?.awaiting as { taskToken?: string } | undefined)?.taskToken);
    expect(await exception(exceptionId)).toMatchObject({
      ownerTeam: 'finance',
      priority: 'normal',
      slaDueAt: new Date(clock.now().getTime() + 4 * HOUR).toISOString(),
      awaiting: { tier: 1, role: 'credit-controller' },
    });

    // Real time passes, virtual time does not: still waiting.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(execution.status).toBe('RUNNING');

    await clock.advance(4 * HOUR);
    const escalated = await until('the exception moves to tier 2', async () => {
      const item = await exception(exceptionId);
      return (item?.awaiting as { tier?: number } | undefined)?.tier === 2 ? item : undefined;
    });
    expect(escalated).toMatchObject({
      priority: 'high',
      slaDueAt: new Date(clock.now().getTime() + 2 * HOUR).toISOString(),
      awaiting: { tier: 2, role: 'credit-manager' },
    });
    expect(execution.statesEntered).toContain('EscalateToCreditManager');
    const escalation = execution.history.find((h) => h.type === 'TaskFailed');
    expect(escalation).toMatchObject({ taskFailedEventDetails: { error: 'States.Timeout' } });
    await until('exception.escalated is on the bus', () =>
      eventsAbout(orderId).includes('exception.escalated.v1') ? true : undefined,
    );

    // The controller's token was withdrawn with the timeout: only the manager's task can be answered now.
    const stale = await sfn
      .send(new SendTaskSuccessCommand({ taskToken: tier1Token, output: '{"outcome":"release"}' }))
      .catch((error: unknown) => error);
    expect(stale).toMatchObject({ name: 'TaskDoesNotExist' });

    const answer = await decide({
      exceptionId,
      outcome: 'release',
      decidedBy: 'pat.creditmanager',
      reason: 'Order fits the customer’s seasonal uplift agreed in October.',
    });
    expect(answer).toMatchObject({
      exceptionId,
      type: 'credit-hold',
      decision: 'approve',
      outcome: 'release',
      closedAs: 'approved',
      decidedBy: 'pat.creditmanager',
      tier: 2,
      resumed: 'delivered',
      replayed: false,
      next: { kind: 'workflow-resumed' },
    });
    await until('the path finishes', () => (execution.status === 'RUNNING' ? undefined : execution.status));
    expect(execution.status).toBe('SUCCEEDED');
    expect(execution.statesEntered).toEqual([
      'CheckCreditAgainstLimitAndExposure',
      'RouteOnCreditDecision',
      'AwaitCreditControllerDecision',
      'EscalateToCreditManager',
      'RouteOnCreditReview',
      'ReserveStockAtBestSingleSite',
      'RouteOnAllocation',
      'DecideWarehouseRelease',
      'RouteOnReleaseDecision',
      'HandedToWarehouse',
    ]);
    expect(await order(orderId)).toMatchObject({
      stage: 'released',
      credit: {
        decision: 'approved',
        review: { decidedBy: 'pat.creditmanager', tier: 2, outcome: 'release' },
      },
    });
    expect(await exception(exceptionId)).toMatchObject({ state: 'resolved', ownerState: 'finance#resolved' });
  });

  it('declines the order by policy when nobody decides within either SLA', async () => {
    const { orderId, exceptionId, execution } = await heldOrder('HD2');
    await clock.advance(4 * HOUR);
    await until('tier 2', async () =>
      ((await exception(exceptionId))?.awaiting as { tier?: number } | undefined)?.tier === 2
        ? true
        : undefined,
    );
    await clock.advance(2 * HOUR);
    await until('the path finishes', () => (execution.status === 'RUNNING' ? undefined : execution.status));

    expect(execution.status).toBe('SUCCEEDED');
    expect(execution.statesEntered.slice(-4)).toEqual([
      'EscalateToCreditManager',
      'ApplyCreditReviewFallback',
      'RouteOnCreditReview',
      'RejectedAfterCreditReview',
    ]);
    expect(await order(orderId)).toMatchObject({ stage: 'rejected' });
    expect(await exception(exceptionId)).toMatchObject({
      state: 'resolved',
      resolution: { outcome: 'reject', decidedBy: 'handoff:sla-fallback', tier: 0 },
    });
    await until('the rejection is announced', () =>
      eventsAbout(orderId).includes('order.rejected.v1') ? true : undefined,
    );
    // A late decision cannot overturn it.
    const late = await decide({ exceptionId, outcome: 'release', decidedBy: 'pat', reason: 'late' }).catch(
      (error: unknown) => error,
    );
    expect(late).toMatchObject({ name: 'ExceptionAlreadyResolved' });
    expect(String((late as Error).message)).toContain('was already rejected by handoff:sla-fallback');
  });
});
