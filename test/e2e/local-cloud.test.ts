import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { EventBridgeClient, ListRulesCommand, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  ListStateMachinesCommand,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import { GetQueueAttributesCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { type App, Duration, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as sqsLib from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalCloud } from '../../local/cloud.ts';
import { sampleOrders } from '../../local/demo/sample-orders.ts';
import type { PartnerSandbox } from '../../local/partners/sandbox.ts';
import {
  queueNamed as queueNamedIn,
  startTestCloud,
  TEST_CREDENTIALS,
  type TestCloud,
  until,
} from '../support/test-cloud.ts';

let world: TestCloud;
let cloud: LocalCloud;
let sandbox: PartnerSandbox;
let clients: { sfn: SFNClient; sqs: SQSClient; events: EventBridgeClient };

/** A stack that exists only in this test: proof that local/ runs whatever lib/ (or anyone) synthesizes. */
function addCallbackStack(app: App): void {
  const stack = new Stack(app, 'CallbackProbe', { env: { region: 'us-east-1' } });
  const fn = new lambda.Function(stack, 'Notify', {
    runtime: lambda.Runtime.NODEJS_24_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async () => ({})'),
  });
  (fn.node.defaultChild as lambda.CfnFunction).addMetadata(
    'handoff:handler-source',
    'test/e2e/fixtures/echo-handler.ts',
  );
  new sfn.StateMachine(stack, 'AwaitDecision', {
    definitionBody: sfn.DefinitionBody.fromString(
      JSON.stringify({
        StartAt: 'AskForDecision',
        States: {
          AskForDecision: {
            Type: 'Task',
            Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
            Parameters: {
              FunctionName: fn.functionArn,
              Payload: { 'token.$': '$$.Task.Token', 'state.$': '$$.State.Name' },
            },
            TimeoutSeconds: 30,
            ResultPath: '$.decision',
            Next: 'Decided',
          },
          Decided: { Type: 'Succeed' },
        },
      }),
    ),
  });

  // A poison-message path: a queue whose consumer always fails, redriving to its DLQ after 2 receives.
  const probe = new lambda.Function(stack, 'Probe', {
    runtime: lambda.Runtime.NODEJS_24_X,
    handler: 'index.handler',
    timeout: Duration.seconds(1),
    code: lambda.Code.fromInline('exports.handler = async () => ({})'),
  });
  (probe.node.defaultChild as lambda.CfnFunction).addMetadata(
    'handoff:handler-source',
    'test/e2e/fixtures/probe-handler.ts',
  );
  const poisonDlq = new sqsLib.Queue(stack, 'PoisonDlq');
  const poison = new sqsLib.Queue(stack, 'Poison', {
    visibilityTimeout: Duration.seconds(1),
    deadLetterQueue: { queue: poisonDlq, maxReceiveCount: 2 },
  });
  probe.addEventSource(new SqsEventSource(poison, { batchSize: 1 }));

  // A rule whose target cannot be started: EventBridge retries, then dead-letters the event.
  const ruleDlq = new sqsLib.Queue(stack, 'GhostRuleDlq');
  new events.Rule(stack, 'ToGhost', { eventPattern: { source: ['probe.ghost'] } }).addTarget(
    new targets.SfnStateMachine(
      sfn.StateMachine.fromStateMachineArn(
        stack,
        'Ghost',
        'arn:aws:states:us-east-1:000000000000:stateMachine:ghost',
      ),
      { deadLetterQueue: ruleDlq, retryAttempts: 2 },
    ),
  );

  // Service integrations a path may use directly from ASL.
  const sink = new sqsLib.Queue(stack, 'IntegrationSink');
  const table = new dynamodb.TableV2(stack, 'ProbeTable', {
    partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
  });
  new sfn.StateMachine(stack, 'Integrations', {
    definitionBody: sfn.DefinitionBody.fromString(
      JSON.stringify({
        StartAt: 'Announce',
        States: {
          Announce: {
            Type: 'Task',
            Resource: 'arn:aws:states:::events:putEvents',
            Parameters: { Entries: [{ Source: 'probe.sfn', DetailType: 'probe', 'Detail.$': '$' }] },
            ResultPath: '$.announced',
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
            Parameters: {
              TableName: table.tableName,
              Item: { pk: { 'S.$': '$.id' }, note: { S: 'stored' } },
            },
            ResultPath: null,
            Next: 'Read',
          },
          Read: {
            Type: 'Task',
            Resource: 'arn:aws:states:::dynamodb:getItem',
            Parameters: { TableName: table.tableName, Key: { pk: { 'S.$': '$.id' } } },
            ResultSelector: { 'note.$': '$.Item.note.S' },
            ResultPath: '$.read',
            End: true,
          },
        },
      }),
    ),
  });
}

beforeAll(async () => {
  world = await startTestCloud({ extend: addCallbackStack });
  ({ cloud, sandbox } = world);
  cloud.lambda.asyncRetryScale = 0.0001;
  cloud.events.retryScale = 0.0001;
  const config = { endpoint: cloud.endpoint, region: 'us-east-1', credentials: TEST_CREDENTIALS };
  clients = { sfn: new SFNClient(config), sqs: world.sqs, events: new EventBridgeClient(config) };
});

afterAll(async () => {
  await world?.stop();
});

const queueNamed = (id: string) => queueNamedIn(cloud, id);
const waitFor = until;

describe('the local cloud runs the synthesized stack', () => {
  it('moves a message its consumer keeps failing to the DLQ after maxReceiveCount receives', async () => {
    const poison = queueNamed('Poison');
    const dlq = queueNamed('PoisonDlq');
    expect(poison.maxReceiveCount).toBe(2);
    await clients.sqs.send(new SendMessageCommand({ QueueUrl: poison.url, MessageBody: '{"bad":true}' }));
    await waitFor(
      'the poison message in its DLQ',
      async () => ((await depth(dlq.url)) === 1 ? true : undefined),
      20_000,
    );
    const failures = cloud.lambda.invocations.filter((i) => i.error?.startsWith('ProbeFailure'));
    expect(failures).toHaveLength(2);
  });

  it('retries a rule target that cannot be started, then dead-letters the event with the error', async () => {
    const dlq = queueNamed('GhostRuleDlq');
    await clients.events.send(
      new PutEventsCommand({ Entries: [{ Source: 'probe.ghost', DetailType: 'probe', Detail: '{"n":1}' }] }),
    );
    await waitFor('the dead-lettered event', async () => ((await depth(dlq.url)) === 1 ? true : undefined));
    const delivery = cloud.events.deliveries.find((d) => d.ruleName.includes('ToGhost'));
    expect(delivery).toMatchObject({ outcome: 'dead-lettered', attempts: 3 });
    expect(delivery?.error).toContain('StateMachineDoesNotExist');
  });

  it('runs events:putEvents, sqs:sendMessage and dynamodb putItem/getItem tasks against the local services', async () => {
    const machine = [...cloud.sfn.machines.values()].find((m) =>
      m.resource.logicalId.startsWith('Integrations'),
    );
    const execution = cloud.sfn.startExecution(machine?.arn ?? '', 'integrations-1', '{"id":"probe-1"}');
    await execution.done;
    expect(execution.status).toBe('SUCCEEDED');
    expect(JSON.parse(execution.output ?? '{}')).toMatchObject({
      id: 'probe-1',
      read: { note: 'stored' },
      announced: { FailedEntryCount: 0 },
    });
    expect(await depth(queueNamed('IntegrationSink').url)).toBe(1);
  });

  it('stops a waiting execution, and times out a function that outlives its timeout', async () => {
    const machine = [...cloud.sfn.machines.values()].find(
      (m) => m.resource.stack === 'CallbackProbe' && m.name.includes('AwaitDecision'),
    );
    const { executionArn } = await clients.sfn.send(
      new StartExecutionCommand({ stateMachineArn: machine?.arn, name: 'to-stop', input: '{}' }),
    );
    await waitFor('the waiting task', () =>
      cloud.sfn.pendingTokens().find((t) => t.executionArn === executionArn),
    );
    await clients.sfn.send(
      new StopExecutionCommand({ executionArn, error: 'Operator', cause: 'cancelled by test' }),
    );
    const stopped = await clients.sfn.send(new DescribeExecutionCommand({ executionArn }));
    expect(stopped.status).toBe('ABORTED');
    await expect(
      cloud.lambda.invoke(
        [...cloud.lambda.functions.values()].find((f) => /^Probe[0-9A-F]{8}$/.test(f.resource.logicalId))
          ?.name ?? '',
        { sleepMs: 2000 },
      ),
    ).rejects.toMatchObject({
      errorType: 'Sandbox.Timedout',
    });
  });

  it('starts every table, queue, function, state machine and rule the templates declare', () => {
    expect(cloud.tables.map((t) => t.resource.logicalId.replace(/[0-9A-F]{8}$/, '')).sort()).toEqual([
      'BackordersTable',
      'ExceptionsTable',
      'OrdersTable',
      'ProbeTable',
      'ProcessLogTable',
      'SlaClocksTable',
    ]);
    // The product's 10 queues (4 partner feeds, their 4 DLQs, 2 more DLQs), 21 functions (17 for the paths
    // and partners, the SLA tracker and detector, the dead-letter intake, the process recorder), 5 routed paths,
    // backorder re-evaluation and post-shipment,
    // plus the probe stack's.
    expect(cloud.sqs.queues.size).toBe(10 + 4);
    expect(cloud.lambda.functions.size).toBe(21 + 2);
    expect(cloud.sfn.machines.size).toBe(7 + 2);
    expect(cloud.events.rules.map((r) => r.resource.logicalId).sort()).toEqual([
      expect.stringMatching(/^BackorderCreatedToBackorders/),
      expect.stringMatching(/^CanonicalEventsToProcessLog/),
      expect.stringMatching(/^CanonicalEventsToSlaTracker/),
      expect.stringMatching(/^DeadLetterIntakeSchedule/),
      expect.stringMatching(/^EdiInvoiceTo810/),
      expect.stringMatching(/^EdiShipmentToAdvanceShipNotice/),
      expect.stringMatching(/^HourlyBackorderSweep/),
      expect.stringMatching(/^InventoryReceivedToBackorders/),
      expect.stringMatching(/^OrderReceivedToRouter/),
      expect.stringMatching(/^ShipmentConfirmedToPostShipment/),
      expect.stringMatching(/^SlaDetectorEveryMinute/),
      expect.stringMatching(/^ToGhost/),
    ]);
  });

  it('takes an ERP order from the ingress queue through the standard path to the warehouse', async () => {
    const sample = sampleOrders(new Date(), 'E2E1')[0];
    await clients.sqs.send(
      new SendMessageCommand({
        QueueUrl: queueNamed('ErpIngressQueue').url,
        MessageBody: JSON.stringify(sample?.body),
      }),
    );
    const execution = await waitFor('the path execution', () =>
      [...cloud.sfn.executions.values()].find((e) => e.name === 'ERP-E2E1-1' && e.status !== 'RUNNING'),
    );
    expect(execution.status).toBe('SUCCEEDED');
    expect(execution.statesEntered.at(-1)).toBe('HandedToWarehouse');
    const described = await clients.sfn.send(
      new DescribeExecutionCommand({ executionArn: execution.executionArn }),
    );
    expect(described.status).toBe('SUCCEEDED');
    const history = await clients.sfn.send(
      new GetExecutionHistoryCommand({ executionArn: execution.executionArn }),
    );
    expect(history.events?.[0]).toMatchObject({ id: 1, previousEventId: 0, type: 'ExecutionStarted' });
    expect(history.events?.at(-1)?.type).toBe('ExecutionSucceeded');
    expect(history.events?.filter((e) => e.type === 'TaskStateEntered')).toHaveLength(3);
    expect(sandbox.callsTo('POST', '/wms/releases').map((c) => c.idempotencyKey)).toContain(
      'ERP-E2E1-1:release',
    );
  });

  it('resumes a callback task when SendTaskSuccess arrives with its token', async () => {
    const machine = [...cloud.sfn.machines.values()].find((m) => m.resource.stack === 'CallbackProbe');
    if (!machine) throw new Error('callback probe machine missing');
    const { executionArn } = await clients.sfn.send(
      new StartExecutionCommand({
        stateMachineArn: machine.arn,
        name: 'callback-1',
        input: '{"orderId":"X"}',
      }),
    );
    const pending = await waitFor('a task token', () =>
      cloud.sfn.pendingTokens().find((t) => t.executionArn === executionArn),
    );
    expect(pending.stateName).toBe('AskForDecision');
    const echoed = cloud.lambda.logs.find((l) => l.text.includes(pending.token));
    expect(echoed?.text).toContain('"state":"AskForDecision"');
    await clients.sfn.send(
      new SendTaskSuccessCommand({ taskToken: pending.token, output: '{"approved":true}' }),
    );
    const done = await waitFor('the callback execution', async () => {
      const d = await clients.sfn.send(new DescribeExecutionCommand({ executionArn }));
      return d.status === 'RUNNING' ? undefined : d;
    });
    expect(done.status).toBe('SUCCEEDED');
    expect(JSON.parse(done.output ?? '{}')).toEqual({ orderId: 'X', decision: { approved: true } });
    await expect(
      clients.sfn.send(new SendTaskSuccessCommand({ taskToken: pending.token, output: '{}' })),
    ).rejects.toMatchObject({ name: 'TaskDoesNotExist' });
  });

  it('retries a failing rule target, then lands the event in the function DLQ', async () => {
    const dlq = queueNamed('FunctionFailureDlq');
    const before = await depth(dlq.url);
    // The router cannot find an order that was never ingested: every attempt fails with OrderNotFound.
    const order = { orderId: 'ERP-GHOST-1' };
    const result = await clients.events.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: cloud.events.rules[0]?.busName,
            Source: 'handoff.orders',
            DetailType: 'order.received.v1',
            Detail: JSON.stringify(ghostOrderReceived(order.orderId)),
          },
        ],
      }),
    );
    expect(result.FailedEntryCount).toBe(0);
    await waitFor('the DLQ message', async () => ((await depth(dlq.url)) > before ? true : undefined));
    // One attempt and Lambda's two asynchronous retries, each failing with the router's named error.
    const attempts = cloud.lambda.invocations.filter(
      (i) => i.functionName.includes('OrderRouter') && i.error?.includes('ERP-GHOST-1'),
    );
    expect(attempts.map((a) => a.error?.split(':')[0])).toEqual([
      'OrderNotFound',
      'OrderNotFound',
      'OrderNotFound',
    ]);
  });

  it('redrives a DLQ back to its source queue, where the message is processed', async () => {
    const dlq = queueNamed('ErpIngressDlq');
    const sample = sampleOrders(new Date(), 'E2E3')[0];
    await clients.sqs.send(
      new SendMessageCommand({ QueueUrl: dlq.url, MessageBody: JSON.stringify(sample?.body) }),
    );
    expect(await cloud.sqs.redrive(dlq.name)).toBe(1);
    const execution = await waitFor('the redriven order', () =>
      [...cloud.sfn.executions.values()].find((e) => e.name === 'ERP-E2E3-1' && e.status !== 'RUNNING'),
    );
    expect(execution.status).toBe('SUCCEEDED');
    expect(await depth(dlq.url)).toBe(0);
  });

  it('replays archived events to the rules, marked with the replay name', async () => {
    const archive = cloud.events.archives[0];
    if (!archive) throw new Error('no archive');
    await cloud.idle();
    const toRouter = () =>
      cloud.events.deliveries.filter((d) => d.ruleName.includes('OrderReceivedToRouter')).length;
    const routed = toRouter();
    const from = new Date(Date.now() - 3_600_000);
    const count = cloud.events.replay(archive.name, from, new Date(Date.now() + 1000), {
      replayName: 'drill',
    });
    expect(count).toBeGreaterThan(0);
    await cloud.idle();
    // Each replayed order.received reaches the router's rule again (other rules get their own events).
    const received = archive.events.filter((e) => e.event['detail-type'] === 'order.received.v1').length;
    expect(toRouter() - routed).toBe(received);
  });

  it('evaluates the template alarms: a non-empty DLQ alarms and notifies the alerts topic', async () => {
    await cloud.evaluateAlarmsNow();
    const dlqAlarm = cloud.cloudwatch.alarms.find((a) =>
      a.resource.logicalId.startsWith('FunctionFailureDlqNotEmpty'),
    );
    expect(dlqAlarm?.state).toBe('ALARM');
    expect(dlqAlarm?.stateReason).toContain('GreaterThanThreshold 0');
    expect(cloud.cloudwatch.notifications).toContainEqual(
      expect.objectContaining({
        alarmName: dlqAlarm?.name,
        newState: 'ALARM',
        topicArn: expect.stringContaining(':sns:'),
      }),
    );
    const emptyDlq = cloud.cloudwatch.alarms.find((a) =>
      a.resource.logicalId.startsWith('ErpIngressDlqNotEmpty'),
    );
    expect(emptyDlq?.state).toBe('OK');
    const invocations = cloud.cloudwatch.listMetrics({ Namespace: 'AWS/Lambda', MetricName: 'Invocations' });
    expect(invocations.length).toBeGreaterThanOrEqual(5);
    const { stdout } = await promisify(execFile)(
      'aws',
      [
        '--endpoint-url',
        cloud.endpoint,
        '--region',
        'us-east-1',
        'cloudwatch',
        'describe-alarms',
        '--state-value',
        'ALARM',
      ],
      { env: { ...process.env, AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'x' }, encoding: 'utf8' },
    );
    expect(JSON.parse(stdout).MetricAlarms.map((a: { AlarmName: string }) => a.AlarmName)).toContain(
      dlqAlarm?.name,
    );
  });

  it('serves the AWS SDK and the AWS CLI on one endpoint', async () => {
    const machines = await clients.sfn.send(new ListStateMachinesCommand({}));
    // The product's 6 machines and the probe stack's 2.
    expect(machines.stateMachines?.map((m) => m.name)).toHaveLength(9);
    const rules = await clients.events.send(
      new ListRulesCommand({ EventBusName: cloud.events.rules[0]?.busName }),
    );
    expect(rules.Rules?.[0]?.State).toBe('ENABLED');
    // Asynchronously: the endpoint is served by this very process.
    const { stdout: cli } = await promisify(execFile)(
      'aws',
      ['--endpoint-url', cloud.endpoint, '--region', 'us-east-1', 'stepfunctions', 'list-state-machines'],
      {
        env: { ...process.env, AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'x' },
        encoding: 'utf8',
      },
    );
    expect(JSON.parse(cli).stateMachines).toHaveLength(9);
  });
});

async function depth(queueUrl: string): Promise<number> {
  const { Attributes } = await clients.sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }),
  );
  return Number(Attributes?.ApproximateNumberOfMessages ?? 0);
}

function ghostOrderReceived(orderId: string) {
  return {
    schemaVersion: 1,
    orderId,
    correlationId: orderId,
    idempotencyKey: `${orderId}:received`,
    occurredAt: new Date().toISOString(),
    order: {
      orderId,
      source: { system: 'erp', reference: 'GHOST-1' },
      channel: 'wholesale',
      serviceLevel: 'standard',
      customer: {
        id: 'C-1001',
        segment: 'mid-market',
        priority: 'standard',
        terms: { paymentTerms: 'NET30', fulfilment: 'ship-partial' },
      },
      shipTo: { name: 'Dock', line1: '1 Road', city: 'Columbus', postalCode: '43004', country: 'US' },
      currency: 'USD',
      orderedAt: new Date().toISOString(),
      promiseDate: new Date(Date.now() + 3 * 86_400_000).toISOString().slice(0, 10),
      lines: [{ lineNo: 1, sku: 'WIDGET-100', quantity: 1, uom: 'EA', unitPrice: 1, unitCost: 1 }],
    },
  };
}
