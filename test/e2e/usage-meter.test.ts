import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import {
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import { GetCommand, PutCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { type App, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sqsLib from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { VirtualClock } from '../../local/clock/clock.ts';
import type { LocalCloud } from '../../local/cloud.ts';
import { sampleOrders } from '../../local/demo/sample-orders.ts';
import type { LocalExecution } from '../../local/stepfunctions/sfn-service.ts';
import {
  chunks64k,
  expressGbSeconds,
  itemSize,
  LOG_EVENT_OVERHEAD_BYTES,
  lambdaGbSeconds,
} from '../../local/usage-meter.ts';
import type { AwsUsage } from '../../sim/usage.ts';
import { startTestCloud, TEST_CREDENTIALS, type TestCloud, until } from '../support/test-cloud.ts';

const START = new Date('2026-11-23T09:00:00.000Z');
const MINUTE = 60_000;
const clock = new VirtualClock(START);
let world: TestCloud;
let cloud: LocalCloud;
let ordersTable: string;

/** Probes: an Express workflow, a Standard one whose task is retried, and one using service integrations. */
function addProbes(app: App): void {
  const stack = new Stack(app, 'UsageProbe', { env: { region: 'us-east-1' } });
  const echo = new lambda.Function(stack, 'UsageEcho', {
    runtime: lambda.Runtime.NODEJS_24_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async () => ({})'),
  });
  (echo.node.defaultChild as lambda.CfnFunction).addMetadata(
    'handoff:handler-source',
    'test/e2e/fixtures/echo-handler.ts',
  );
  new sfn.StateMachine(stack, 'UsageExpress', {
    stateMachineType: sfn.StateMachineType.EXPRESS,
    definitionBody: sfn.DefinitionBody.fromString(
      JSON.stringify({
        StartAt: 'One',
        States: { One: { Type: 'Pass', Next: 'Two' }, Two: { Type: 'Succeed' } },
      }),
    ),
  });
  new sfn.StateMachine(stack, 'UsageRetry', {
    definitionBody: sfn.DefinitionBody.fromString(
      JSON.stringify({
        StartAt: 'Call',
        States: {
          Call: {
            Type: 'Task',
            Resource: 'arn:aws:states:::lambda:invoke',
            Parameters: { FunctionName: echo.functionArn, Payload: { probe: 'retry' } },
            Retry: [{ ErrorEquals: ['Probe.Flaky'], IntervalSeconds: 1, MaxAttempts: 2, BackoffRate: 1 }],
            Next: 'Done',
          },
          Done: { Type: 'Succeed' },
        },
      }),
    ),
  });
  const sink = new sqsLib.Queue(stack, 'UsageSink');
  const table = new dynamodb.TableV2(stack, 'UsageTable', {
    partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
  });
  new sfn.StateMachine(stack, 'UsageIntegrations', {
    definitionBody: sfn.DefinitionBody.fromString(
      JSON.stringify({
        StartAt: 'Announce',
        States: {
          Announce: {
            Type: 'Task',
            Resource: 'arn:aws:states:::events:putEvents',
            Parameters: { Entries: [{ Source: 'probe.usage', DetailType: 'probe', 'Detail.$': '$' }] },
            ResultPath: null,
            Next: 'Queue',
          },
          Queue: {
            Type: 'Task',
            Resource: 'arn:aws:states:::sqs:sendMessage',
            Parameters: { QueueUrl: sink.queueUrl, 'MessageBody.$': '$.id' },
            ResultPath: null,
            Next: 'Store',
          },
          Store: {
            Type: 'Task',
            Resource: 'arn:aws:states:::dynamodb:putItem',
            Parameters: { TableName: table.tableName, Item: { pk: { 'S.$': '$.id' } } },
            ResultPath: null,
            End: true,
          },
        },
      }),
    ),
  });
}

beforeAll(async () => {
  world = await startTestCloud({ extend: addProbes, clock });
  cloud = world.cloud;
  ordersTable = cloud.tables.find((t) => t.resource.logicalId.startsWith('OrdersTable'))?.name ?? '';
});

afterAll(async () => {
  await world?.stop();
});

const machineNamed = (id: string) => {
  const machine = [...cloud.sfn.machines.values()].find((m) => m.resource.logicalId.startsWith(id));
  if (!machine) throw new Error(`no machine ${id}`);
  return machine;
};

/** Waits until nothing is in flight: deliveries, executions, invocations. */
async function quiet(): Promise<void> {
  await cloud.idle();
  await until('no invocation in flight', () => (cloud.lambda.inFlight === 0 ? true : undefined));
  await cloud.idle();
}

/** Billed transitions of an execution: each state entered and each retry. */
const transitionsOf = (e: LocalExecution) =>
  e.statesEntered.length + e.history.filter((h) => h.type === 'TaskStateRetried').length;

it('meters two orders from the ERP ingress queue to release, all at one virtual instant', async () => {
  await quiet();
  const usage = cloud.usage;
  usage.start();
  const executionsBefore = new Set(cloud.sfn.executions.keys());
  const invocationsBefore = cloud.lambda.invocations.length;
  const logsBefore = cloud.lambda.logs.length;
  const deliveriesBefore = cloud.events.deliveries.length;
  const archive = cloud.events.archives[0];
  const archivedBefore = archive?.events.length ?? 0;

  const orders = sampleOrders(clock.now(), 'UM').slice(0, 2);
  const queue = [...cloud.sqs.queues.values()].find((q) =>
    q.resource.logicalId.startsWith('ErpIngressQueue'),
  );
  for (const order of orders)
    await world.sqs.send(
      new SendMessageCommand({ QueueUrl: queue?.url, MessageBody: JSON.stringify(order.body) }),
    );
  await until('both orders handed to the warehouse', () => {
    const done = ['ERP-UM-1', 'ERP-UM-2'].every((name) =>
      [...cloud.sfn.executions.values()].some((e) => e.name === name && e.status !== 'RUNNING'),
    );
    return done ? true : undefined;
  });
  await quiet();
  const report = usage.report(2);
  expect(clock.now()).toEqual(START);

  // Step Functions: every Standard execution started since, and its states entered (retries included).
  const started = [...cloud.sfn.executions.values()].filter((e) => !executionsBefore.has(e.executionArn));
  const standard = started.filter((e) => cloud.sfn.machines.get(e.stateMachineArn)?.type === 'STANDARD');
  expect(standard.length).toBeGreaterThanOrEqual(2);
  expect(standard.every((e) => e.status === 'SUCCEEDED')).toBe(true);
  const transitions = standard.reduce((n, e) => n + transitionsOf(e), 0);
  expect(report.stepFunctions.standardExecutions).toBe(standard.length);
  expect(report.stepFunctions.standardTransitions).toBe(transitions);
  for (const machine of new Set(standard.map((e) => cloud.sfn.machines.get(e.stateMachineArn)))) {
    const mine = standard.filter((e) => e.stateMachineArn === machine?.arn);
    expect(report.stepFunctions.standardTransitionsByMachine[machine?.name ?? '']).toEqual({
      executions: mine.length,
      transitions: mine.reduce((n, e) => n + transitionsOf(e), 0),
    });
  }

  // Lambda: every invocation, billed by its real duration rounded up to the ms × its configured memory.
  const invocations = cloud.lambda.invocations.slice(invocationsBefore);
  expect(invocations.length).toBeGreaterThan(4);
  expect(report.lambda.requests).toBe(invocations.length);
  const gbSeconds = invocations.reduce(
    (n, r) => n + lambdaGbSeconds(r.realDurationMs, report.lambda.byFunction[r.functionName]?.memoryMb ?? 0),
    0,
  );
  expect(report.lambda.gbSeconds).toBeCloseTo(gbSeconds, 9);
  expect(Object.values(report.lambda.byFunction).reduce((n, f) => n + f.requests, 0)).toBe(
    invocations.length,
  );
  expect(report.lambda.byFunction[invocations[0]?.functionName ?? '']?.memoryMb).toBe(512);

  // EventBridge: every entry the handlers put is a handoff.* event, so the archive kept each one.
  const archived = (archive?.events.length ?? 0) - archivedBefore;
  expect(archived).toBeGreaterThan(0);
  expect(report.eventBridge.events).toBe(archived);
  expect(report.eventBridge.archivedEvents).toBe(archived);
  const deliveries = cloud.events.deliveries.slice(deliveriesBefore);
  expect(report.eventBridge.invocations).toBe(deliveries.reduce((n, d) => n + d.attempts, 0));

  // DynamoDB: measured units on the order table, and the hottest partition an order's.
  expect(report.dynamodb.writeRequestUnits).toBeGreaterThan(0);
  expect(report.dynamodb.readRequestUnits).toBeGreaterThan(0);
  const tables = Object.values(report.dynamodb.byTable);
  expect(tables.reduce((n, t) => n + t.writeRequestUnits, 0)).toBeCloseTo(
    report.dynamodb.writeRequestUnits,
    9,
  );
  expect(report.dynamodb.byTable[ordersTable]?.writeRequestUnits).toBeGreaterThan(0);
  expect(usage.details().dynamodb.withoutConsumedCapacity).toBe(0);
  expect(report.peaks.dynamodbHottestPartition.partitionKey).not.toBe('');
  expect(report.peaks.dynamodbHottestPartition.writeUnitsPerSecond).toBeGreaterThan(0);

  // SQS: the two sends, the poller's receives and deletes at least.
  expect(report.sqs.requests).toBeGreaterThanOrEqual(4);

  // Logs: every line the functions wrote, the platform lines, and the state machines' ALL-level logs.
  const lines = cloud.lambda.logs.slice(logsBefore);
  const details = usage.details();
  expect(details.logs.functionLineBytes).toBe(
    lines.reduce((n, l) => n + Buffer.byteLength(l.text) + LOG_EVENT_OVERHEAD_BYTES, 0),
  );
  expect(details.logs.stateMachineBytes).toBeGreaterThan(0);
  expect(report.logs.bytesIngested).toBe(
    details.logs.functionLineBytes + details.logs.lambdaPlatformBytes + details.logs.stateMachineBytes,
  );

  // Peaks: the virtual clock stood still, so everything fell in one window.
  const { peaks } = report;
  expect(peaks.peakWindowSeconds).toBe(60);
  expect(peaks.standardStartExecutionPerSecond).toBeCloseTo(standard.length / 60, 12);
  expect(peaks.standardTransitionsPerSecond).toBeCloseTo(transitions / 60, 12);
  expect(peaks.lambdaInvocationsPerSecond).toBeCloseTo(invocations.length / 60, 12);
  expect(peaks.putEventsEntriesPerSecond).toBeCloseTo(archived / 60, 12);
  expect(peaks.ruleInvocationsPerSecond).toBeCloseTo(report.eventBridge.invocations / 60, 12);
  expect(peaks.sqsRequestsPerSecond).toBeCloseTo(details.sqs.metered / 60, 12);
  expect(peaks.openStandardExecutions).toBeGreaterThanOrEqual(1);
  expect(peaks.openStandardExecutions).toBeLessThanOrEqual(standard.length);
  const little = invocations.reduce((n, r) => n + r.realDurationMs, 0) / 60_000;
  expect(details.lambda.littleConcurrency).toBeCloseTo(little, 9);
  expect(details.lambda.observedConcurrency).toBeGreaterThanOrEqual(1);
  // Under a virtual clock, Little's law: what overlapped locally at one virtual instant is not AWS's concurrency.
  expect(peaks.lambdaConcurrency).toBeCloseTo(little, 9);
  expect(report.window).toEqual({ from: START.toISOString(), to: START.toISOString(), seconds: 0 });
  expect(report.orders).toBe(2);
});

it('bills DynamoDB units exactly: item sizes, consistency, transactions, failed conditions', async () => {
  await clock.advance(5 * MINUTE);
  await quiet();
  const usage = cloud.usage;
  await usage.refreshStorage();
  const storedBefore = usage.report(0).dynamodb.byTable[ordersTable]?.storedBytes ?? 0;
  usage.start();
  const documents = cloud.dynamodb.documents;
  // 2,560 bytes: 3 WCU. pk (2 + 7) + sk (2 + 1) + data (4 + 2,544).
  const item = { pk: 'USAGE#1', sk: 'A', data: 'x'.repeat(2544) };
  expect(itemSize(item, false)).toBe(2560);
  await documents.send(new PutCommand({ TableName: ordersTable, Item: item }));
  // Strongly consistent: 1 RCU; eventually consistent (low-level client): 0.5.
  const strong = await documents.send(
    new GetCommand({ TableName: ordersTable, Key: { pk: 'USAGE#1', sk: 'A' }, ConsistentRead: true }),
  );
  expect(strong.Item?.data).toHaveLength(2544);
  expect(strong).not.toHaveProperty('ConsumedCapacity');
  const eventual = await cloud.dynamodb.client.send(
    new GetItemCommand({ TableName: ordersTable, Key: { pk: { S: 'USAGE#1' }, sk: { S: 'A' } } }),
  );
  expect(eventual).not.toHaveProperty('ConsumedCapacity');
  // A caller that asks for ConsumedCapacity still gets it.
  const asked = await documents.send(
    new GetCommand({
      TableName: ordersTable,
      Key: { pk: 'USAGE#1', sk: 'A' },
      ReturnConsumedCapacity: 'TOTAL',
    }),
  );
  expect(asked.ConsumedCapacity).toEqual({ TableName: ordersTable, CapacityUnits: 0.5 });
  // A transactional write of 1,500 bytes: 2 WCU, doubled.
  await documents.send(
    new TransactWriteCommand({
      TransactItems: [
        { Put: { TableName: ordersTable, Item: { pk: 'USAGE#2', sk: 'A', data: 'y'.repeat(1486) } } },
      ],
    }),
  );
  // A conditional put that fails is billed as the write it would have been: 3 WCU.
  const put = new PutItemCommand({
    TableName: ordersTable,
    Item: { pk: { S: 'USAGE#1' }, sk: { S: 'A' }, data: { S: 'x'.repeat(2544) } },
    ConditionExpression: 'attribute_not_exists(pk)',
  });
  await expect(cloud.dynamodb.client.send(put)).rejects.toThrow(/conditional/i);
  // The caller's command is left as it was given.
  expect(put.input).not.toHaveProperty('ReturnConsumedCapacity');
  // An update is billed by the larger of the item before and after: 3 WCU.
  await documents.send(
    new UpdateCommand({
      TableName: ordersTable,
      Key: { pk: 'USAGE#1', sk: 'A' },
      UpdateExpression: 'SET touched = :t',
      ExpressionAttributeValues: { ':t': true },
    }),
  );
  const report = usage.report(0);
  expect(report.dynamodb.writeRequestUnits).toBe(3 + 4 + 3 + 3);
  expect(report.dynamodb.readRequestUnits).toBe(1 + 0.5 + 0.5);
  expect(report.dynamodb.byTable[ordersTable]).toMatchObject({ writeRequestUnits: 13, readRequestUnits: 2 });
  expect(usage.details().dynamodb).toMatchObject({
    measuredCalls: 6,
    estimatedCalls: 1,
    conditionalCheckFailures: 1,
  });
  expect(report.peaks.dynamodbHottestPartition).toEqual({
    table: ordersTable,
    partitionKey: 'USAGE#1',
    writeUnitsPerSecond: 9 / 60,
    readUnitsPerSecond: 2 / 60,
  });

  // Storage: DynamoDB Local's table size is current; AWS adds 100 bytes an item.
  const measured = await usage.measure(0);
  const stored = (measured.dynamodb.byTable[ordersTable]?.storedBytes ?? 0) - storedBefore;
  expect(stored).toBeGreaterThanOrEqual(2560 + 1500 + 200);
  expect(measured.dynamodb.storedBytes).toBe(
    Object.values(measured.dynamodb.byTable).reduce((n, t) => n + t.storedBytes, 0),
  );
});

it('counts EventBridge entries in 64 KB chunks, archive and replay, SQS requests, and peaks per window', async () => {
  await clock.advanceTo(START.getTime() + 10 * MINUTE);
  await quiet();
  const usage = cloud.usage;
  usage.start();
  const archive = cloud.events.archives[0];
  if (!archive) throw new Error('no archive');
  const archivedBefore = archive.events.length;
  const deliveriesBefore = cloud.events.deliveries.length;
  const bus = [...cloud.events.buses].find((b) => b !== 'default');
  const eventBridge = new EventBridgeClient({
    endpoint: cloud.endpoint,
    region: 'us-east-1',
    credentials: TEST_CREDENTIALS,
  });
  const entry = (i: number, detail: object = { i }) => ({
    EventBusName: bus,
    Source: 'handoff.usage-probe',
    DetailType: 'usage.probe.v1',
    Detail: JSON.stringify(detail),
  });
  try {
    // 25 entries in the first window, one of 100 KB (two 64 KB chunks).
    await eventBridge.send(new PutEventsCommand({ Entries: Array.from({ length: 10 }, (_, i) => entry(i)) }));
    await eventBridge.send(
      new PutEventsCommand({ Entries: Array.from({ length: 10 }, (_, i) => entry(10 + i)) }),
    );
    const big = entry(20, { blob: 'z'.repeat(100_000) });
    await eventBridge.send(
      new PutEventsCommand({ Entries: [big, ...Array.from({ length: 4 }, (_, i) => entry(21 + i))] }),
    );
    // Six in the next window.
    await clock.advance(MINUTE);
    await eventBridge.send(
      new PutEventsCommand({ Entries: Array.from({ length: 6 }, (_, i) => entry(30 + i)) }),
    );
  } finally {
    eventBridge.destroy();
  }
  await quiet();

  // SQS, on a queue nobody polls: 70 KB is two requests, a batch of three one, then a receive and a delete.
  const polled = new Set(cloud.sqs.mappings.map((m) => m.queueArn));
  const queue = [...cloud.sqs.queues.values()].find((q) => q.resource.logicalId.startsWith('UsageSink'));
  if (!queue || polled.has(queue.arn)) throw new Error('no unpolled queue');
  await world.sqs.send(new SendMessageCommand({ QueueUrl: queue.url, MessageBody: 'q'.repeat(70_000) }));
  await world.sqs.send(
    new SendMessageBatchCommand({
      QueueUrl: queue.url,
      Entries: ['a', 'b', 'c'].map((id) => ({ Id: id, MessageBody: id })),
    }),
  );
  const { Messages = [] } = await world.sqs.send(
    new ReceiveMessageCommand({ QueueUrl: queue.url, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
  );
  expect(Messages.length).toBeGreaterThan(0);
  await world.sqs.send(
    new DeleteMessageBatchCommand({
      QueueUrl: queue.url,
      Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
    }),
  );
  const received = Messages.reduce((n, m) => n + Buffer.byteLength(m.Body ?? ''), 0);

  // Replay of this test's window only: its 31 archived events again (no rule matches them).
  const replayed = cloud.events.replay(
    archive.name,
    new Date(START.getTime() + 10 * MINUTE),
    new Date(START.getTime() + 12 * MINUTE),
  );
  await quiet();
  const report: AwsUsage = usage.report(0);

  expect(report.eventBridge.events).toBe(31 + 1);
  expect(cloud.events.deliveries.length - deliveriesBefore).toBe(0);
  expect(report.eventBridge.invocations).toBe(0);
  const archived = archive.events.slice(archivedBefore);
  expect(archived).toHaveLength(31);
  expect(report.eventBridge.archivedEvents).toBe(31);
  expect(report.eventBridge.archivedBytes).toBe(
    archived.reduce((n, { event }) => n + Buffer.byteLength(JSON.stringify(event)), 0),
  );
  expect(replayed).toBe(31);
  expect(report.eventBridge.replayedEvents).toBe(31);
  expect(report.peaks.putEventsEntriesPerSecond).toBeCloseTo(25 / 60, 12);

  const details = usage.details();
  expect(details.sqs.metered).toBe(2 + 1 + chunks64k(received) + 1);
  // Idle long polls as Lambda's pollers would make them over the minute that passed: three a minute each.
  const pollers = cloud.sqs.mappings.reduce((n, m) => n + Math.min(5, m.maximumConcurrency ?? 5), 0);
  expect(details.sqs.modelledIdlePolls).toBe(Math.round((pollers * 60) / 20));
  expect(report.sqs.requests).toBe(details.sqs.metered + details.sqs.modelledIdlePolls);
  expect(report.peaks.sqsRequestsPerSecond).toBeCloseTo(details.sqs.metered / 60, 12);
  expect(report.window.seconds).toBe(60);
});

it('counts Express requests and duration, retries as Standard transitions, and every integration path', async () => {
  await clock.advanceTo(START.getTime() + 20 * MINUTE);
  await quiet();
  const usage = cloud.usage;
  usage.start();
  const client = new SFNClient({
    endpoint: cloud.endpoint,
    region: 'us-east-1',
    credentials: TEST_CREDENTIALS,
  });
  const express = machineNamed('UsageExpress');
  const retry = machineNamed('UsageRetry');
  const integrations = machineNamed('UsageIntegrations');
  const fault = cloud.lambda.injectFault({ logicalId: 'UsageEcho', errorType: 'Probe.Flaky', times: 1 });
  try {
    await client.send(new StartExecutionCommand({ stateMachineArn: express.arn, input: '{}' }));
    await client.send(
      new StartExecutionCommand({ stateMachineArn: retry.arn, name: 'usage-retry', input: '{}' }),
    );
    await client.send(
      new StartExecutionCommand({
        stateMachineArn: integrations.arn,
        name: 'usage-integrations',
        input: JSON.stringify({ id: 'PROBE-1' }),
      }),
    );
    await until('the retry waits its interval', () => (fault.hits === 1 ? true : undefined));
    await clock.advance(1_000);
    await quiet();
  } finally {
    fault.clear();
    client.destroy();
  }
  const report = usage.report(0);
  const retried = cloud.sfn.executions.get(
    `${retry.arn.replace(':stateMachine:', ':execution:')}:usage-retry`,
  );
  expect(retried?.status).toBe('SUCCEEDED');
  // Two states entered and one retry: three billed transitions.
  expect(retried?.statesEntered).toEqual(['Call', 'Done']);
  expect(report.stepFunctions.standardTransitionsByMachine[retry.name]).toEqual({
    executions: 1,
    transitions: 3,
  });
  expect(report.stepFunctions.standardTransitionsByMachine[integrations.name]).toEqual({
    executions: 1,
    transitions: 3,
  });
  expect(report.stepFunctions.standardExecutions).toBe(2);
  expect(report.stepFunctions.standardTransitions).toBe(6);
  expect(report.stepFunctions.standardTransitionsByMachine[express.name]).toBeUndefined();
  expect(report.stepFunctions.expressRequests).toBe(1);
  // A two-Pass workflow runs in well under a second: one to a few 100 ms steps at 64 MB.
  const steps = report.stepFunctions.expressGbSeconds / expressGbSeconds(0);
  expect(steps).toBeCloseTo(Math.round(steps), 9);
  expect(steps).toBeGreaterThanOrEqual(1);
  expect(steps).toBeLessThanOrEqual(10);
  expect(report.peaks.expressStartExecutionPerSecond).toBeCloseTo(1 / 60, 12);
  expect(report.peaks.openStandardExecutions).toBe(2);
  // The failed attempt and the retry are both Lambda requests.
  const echo = [...cloud.lambda.functions.values()].find((f) => f.resource.logicalId.startsWith('UsageEcho'));
  expect(report.lambda.byFunction[echo?.name ?? '']?.requests).toBe(2);
  // The state machine's events:putEvents (one entry), sqs:sendMessage (one request), dynamodb:putItem (1 WCU).
  expect(report.eventBridge.events).toBe(1);
  expect(usage.details().sqs.metered).toBe(1);
  const probeTable = cloud.tables.find((t) => t.resource.logicalId.startsWith('UsageTable'))?.name ?? '';
  expect(report.dynamodb.byTable[probeTable]).toMatchObject({ writeRequestUnits: 1, readRequestUnits: 0 });
  expect(report.peaks.dynamodbHottestPartition).toMatchObject({ table: probeTable, partitionKey: 'PROBE-1' });
});
