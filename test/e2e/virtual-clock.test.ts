import { GetQueueAttributesCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { type App, Duration, Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sqsLib from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { VirtualClock } from '../../local/clock/clock.ts';
import { keyedJitter } from '../../local/clock/jitter.ts';
import type { LocalCloud } from '../../local/cloud.ts';
import { sampleOrders } from '../../local/demo/sample-orders.ts';
import type { PartnerSandbox } from '../../local/partners/sandbox.ts';
import { startTestCloud, type TestCloud, until as waitUntil } from '../support/test-cloud.ts';

const START = new Date('2026-11-23T09:00:00.000Z');
const clock = new VirtualClock(START);
let world: TestCloud;
let cloud: LocalCloud;
let sandbox: PartnerSandbox;

function addProbes(app: App): void {
  const probe = new Stack(app, 'ScheduleProbe', { env: { region: 'us-east-1' } });
  new events.Rule(probe, 'Daily', {
    schedule: events.Schedule.rate(Duration.days(1)),
  }).addTarget(new targets.SqsQueue(new sqsLib.Queue(probe, 'Ticks')));
  const ask = new lambda.Function(probe, 'Ask', {
    runtime: lambda.Runtime.NODEJS_24_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async () => ({})'),
  });
  (ask.node.defaultChild as lambda.CfnFunction).addMetadata(
    'handoff:handler-source',
    'test/e2e/fixtures/echo-handler.ts',
  );
  // A workflow longer than its own TimeoutSeconds (two hours of virtual time).
  new sfn.StateMachine(probe, 'Slow', {
    definitionBody: sfn.DefinitionBody.fromString(
      JSON.stringify({
        TimeoutSeconds: 7200,
        StartAt: 'WaitThreeHours',
        States: { WaitThreeHours: { Type: 'Wait', Seconds: 3 * 3600, End: true } },
      }),
    ),
  });
  new sfn.StateMachine(probe, 'Decision', {
    definitionBody: sfn.DefinitionBody.fromString(
      JSON.stringify({
        StartAt: 'AwaitApproval',
        States: {
          AwaitApproval: {
            Type: 'Task',
            Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
            Parameters: { FunctionName: ask.functionArn, Payload: { 'token.$': '$$.Task.Token' } },
            TimeoutSeconds: 3600,
            Catch: [{ ErrorEquals: ['States.Timeout'], ResultPath: '$.timeout', Next: 'Escalated' }],
            End: true,
          },
          Escalated: { Type: 'Pass', End: true },
        },
      }),
    ),
  });
}

beforeAll(async () => {
  world = await startTestCloud({ extend: addProbes, clock });
  ({ cloud, sandbox } = world);
});

afterAll(async () => {
  await world?.stop();
});

const until = <T>(probe: () => T | undefined) => waitUntil('the condition', probe);

it('a future-dated order waits on the virtual clock for its release window, then releases', async () => {
  const future = sampleOrders(START, 'VC').find((o) => o.label.includes('three weeks'));
  const queue = [...cloud.sqs.queues.values()].find((q) =>
    q.resource.logicalId.startsWith('ErpIngressQueue'),
  );
  const { sqs } = world;
  await sqs.send(new SendMessageCommand({ QueueUrl: queue?.url, MessageBody: JSON.stringify(future?.body) }));

  const execution = await until(() =>
    [...cloud.sfn.executions.values()].find(
      (e) => e.name === 'ERP-VC-8' && e.statesEntered.includes('WaitForReleaseWindow'),
    ),
  );
  // Real time passes; virtual time does not: the order stays waiting.
  await new Promise((resolve) => setTimeout(resolve, 300));
  expect(execution.status).toBe('RUNNING');
  const waiting = execution.history.find((h) => h.type === 'WaitStateEntered');
  expect(waiting).toBeDefined();

  // Promise date 14 Dec (START + 21 days), 3 days' transit, released 2 days before ship-by: 9 Dec 00:00Z.
  await clock.advanceTo(Date.parse('2026-12-09T00:00:00.000Z'));
  await until(() => (execution.status === 'RUNNING' ? undefined : execution.status));
  expect(execution.status).toBe('SUCCEEDED');
  expect(execution.statesEntered.slice(-3)).toEqual([
    'DecideWarehouseRelease',
    'RouteOnReleaseDecision',
    'HandedToWarehouse',
  ]);
  const released = cloud.events.archives[0]?.events.find(
    (e) =>
      e.event['detail-type'] === 'warehouse.released.v1' &&
      (e.event.detail as { orderId: string }).orderId === 'ERP-VC-8',
  );
  expect(released?.event.time).toBe('2026-12-09T00:00:00Z');
  // Six virtual days of every-minute schedules (SLA detector, dead-letter intake), each tick settled: about
  // 35 s on an idle 2-core machine, so a loaded one gets room.
}, 180_000);

it('waits the path Retry interval on the virtual clock after a partner outage, then completes', async () => {
  // The WMS refuses the reservation three times: all the HTTP client's own attempts fail.
  sandbox.failNext.set('POST /wms/reservations', 3);
  const callsBefore = sandbox.callsTo('POST', '/wms/reservations').length;
  const order = sampleOrders(clock.now(), 'VR')[0];
  const queue = [...cloud.sqs.queues.values()].find((q) =>
    q.resource.logicalId.startsWith('ErpIngressQueue'),
  );
  const { sqs } = world;
  await sqs.send(new SendMessageCommand({ QueueUrl: queue?.url, MessageBody: JSON.stringify(order?.body) }));

  const execution = await until(() =>
    [...cloud.sfn.executions.values()].find(
      (e) => e.name === 'ERP-VR-1' && e.history.some((h) => h.type === 'TaskFailed'),
    ),
  );
  await new Promise((resolve) => setTimeout(resolve, 300));
  expect(execution.status).toBe('RUNNING');
  expect(sandbox.callsTo('POST', '/wms/reservations').length - callsBefore).toBe(3);

  // IntervalSeconds 2 with full jitter: a share of 2 s keyed by execution, state, retrier and attempt, so a
  // seeded run replays the same delay. A millisecond short of it, the retry has not run.
  const delay = keyedJitter(execution.executionArn, 'ReserveStockAtBestSingleSite', 0, 1) * 2_000;
  await clock.advance(Math.max(0, delay - 1));
  await new Promise((resolve) => setTimeout(resolve, 200));
  expect(execution.status).toBe('RUNNING');
  await clock.advance(2_000);
  await until(() => (execution.status === 'RUNNING' ? undefined : execution.status));
  expect(execution.status).toBe('SUCCEEDED');
  expect(execution.statesEntered.at(-1)).toBe('HandedToWarehouse');
  expect(execution.history.filter((h) => h.type === 'TaskStateRetried')).toHaveLength(1);
});

it('runs rate() schedules on the virtual clock: three ticks in three virtual days', async () => {
  const ticks = [...cloud.sqs.queues.values()].find((q) => q.resource.logicalId.startsWith('Ticks'));
  const depth = async () =>
    Number(
      (
        await cloud.sqs.client.send(
          new GetQueueAttributesCommand({
            QueueUrl: ticks?.url,
            AttributeNames: ['ApproximateNumberOfMessages'],
          }),
        )
      ).Attributes?.ApproximateNumberOfMessages ?? 0,
    );
  const before = await depth();
  await clock.advance(3 * 86_400_000);
  await cloud.events.idle();
  expect((await depth()) - before).toBe(3);
});

it('times out a callback task after TimeoutSeconds of virtual time and takes its escalation branch', async () => {
  const machine = [...cloud.sfn.machines.values()].find((m) => m.resource.logicalId.startsWith('Decision'));
  const execution = cloud.sfn.startExecution(machine?.arn ?? '', 'approval-1', '{}');
  const token = await until(() =>
    cloud.sfn.pendingTokens().find((t) => t.executionArn === execution.executionArn),
  );
  // Virtual time may only move once the work in flight (the notifying Lambda) has finished.
  await until(() => cloud.lambda.invocations.find((i) => i.functionName.includes('Ask')));
  await clock.advance(3_599_000);
  await new Promise((resolve) => setTimeout(resolve, 100));
  expect(execution.status).toBe('RUNNING');
  await clock.advance(1_000);
  await execution.done;
  expect(execution.status).toBe('SUCCEEDED');
  expect(execution.statesEntered).toEqual(['AwaitApproval', 'Escalated']);
  expect(JSON.parse(execution.output ?? '{}').timeout.Error).toBe('States.Timeout');
  expect(() => cloud.sfn.sendTaskSuccess(token.token, '{}')).toThrow(
    expect.objectContaining({ name: 'TaskDoesNotExist' }),
  );
});

it('times an execution out on the virtual clock after its TimeoutSeconds, not before', async () => {
  const machine = [...cloud.sfn.machines.values()].find((m) => m.resource.logicalId.startsWith('Slow'));
  if (!machine) throw new Error('no Slow machine');
  const execution = cloud.sfn.startExecution(machine.arn, 'slow-1', '{}');
  await new Promise((resolve) => setTimeout(resolve, 200));
  expect(execution.status).toBe('RUNNING');
  await clock.advance(119 * 60_000);
  await new Promise((resolve) => setTimeout(resolve, 50));
  expect(execution.status).toBe('RUNNING');
  await clock.advance(61_000);
  await until(() => (execution.status === 'RUNNING' ? undefined : execution.status));
  expect(execution.status).toBe('TIMED_OUT');
  await execution.done;
  expect(execution.history.at(-1)?.type).toBe('ExecutionTimedOut');
});
