import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../cli/main.ts';
import { EVENT_CATALOGUE, toPutEventsEntry } from '../../contracts/events.ts';
import { DynamoProcessLog } from '../../lambdas/adapters/aws/dynamo-process-log.ts';
import { VirtualClock } from '../../local/clock/clock.ts';
import type { LocalCloud } from '../../local/cloud.ts';
import type { LocalFunction } from '../../local/lambda/runtime.ts';
import { quiet } from '../support/faults.ts';
import {
  queueNamed,
  startTestCloud,
  TEST_CREDENTIALS,
  type TestCloud,
  until,
} from '../support/test-cloud.ts';

/**
 * Every dead letter is redriven to exactly where it failed. A rule consumer (the ProcessRecorder) fails every
 * asynchronous attempt at one event: Lambda's on-failure destination puts its record, naming the function,
 * on FunctionFailureDlq; the intake makes it an integration exception naming the function; `handoff dlq
 * redrive` re-invokes that function with the event, which now succeeds. An event a rule could not deliver
 * goes back to its rule's target; a scheduled run is kept, with the reason.
 */
const clock = new VirtualClock(new Date('2026-12-03T15:00:00.000Z'));
let world: TestCloud;
let cloud: LocalCloud;
let eventBridge: EventBridgeClient;
let processLog: DynamoProcessLog;
let dynamo: DynamoDBClient;

beforeAll(async () => {
  world = await startTestCloud({ clock, context: { 'handoff:deadLetterIntakeMinutes': 1 } });
  cloud = world.cloud;
  const config = { endpoint: cloud.endpoint, region: 'us-east-1', credentials: TEST_CREDENTIALS };
  eventBridge = new EventBridgeClient(config);
  dynamo = new DynamoDBClient(config);
  processLog = new DynamoProcessLog(
    dynamo,
    cloud.tables.find((t) => t.resource.logicalId.startsWith('ProcessLogTable'))?.name ?? '',
  );
});

afterAll(async () => {
  eventBridge?.destroy();
  dynamo?.destroy();
  await world?.stop();
});

async function handoff(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await run(argv, {
    out: { write: (text) => out.push(text), colour: false, now: () => clock.now() },
    err: (text) => err.push(text),
  });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** Messages on the queue, visible or not (a peeked one is briefly invisible, still there). */
async function depth(url: string): Promise<number> {
  const { Attributes = {} } = await world.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: url,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return (
    Number(Attributes.ApproximateNumberOfMessages ?? 0) +
    Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0)
  );
}

function functionNamed(logicalIdPrefix: string): LocalFunction {
  const fn = [...cloud.lambda.functions.values()].find((f) =>
    new RegExp(`^${logicalIdPrefix}[0-9A-F]{8}$`).test(f.resource.logicalId),
  );
  if (!fn) throw new Error(`no function ${logicalIdPrefix}`);
  return fn;
}

const ruleNamed = (id: string) => {
  const rule = cloud.events.rules.find((r) => r.resource.logicalId.startsWith(id));
  if (!rule) throw new Error(`no rule ${id}`);
  return rule;
};

/** shipment.delivered: on the bus, only the ProcessRecorder's rule takes it. */
function delivered(orderId: string) {
  const at = clock.now().toISOString();
  return {
    schemaVersion: 1 as const,
    orderId,
    correlationId: orderId,
    idempotencyKey: `${orderId}:shipment.delivered:${orderId}-S1`,
    occurredAt: at,
    shipmentId: `${orderId}-S1`,
    deliveredAt: at,
  };
}

/** The process log's record of an event, once the ProcessRecorder has written it. */
async function logged(eventId: string) {
  const day = 86_400_000;
  const now = clock.now().getTime();
  const events = await processLog.read({
    from: new Date(now - day).toISOString(),
    to: new Date(now + day).toISOString(),
  });
  return events.find((e) => e.id === eventId);
}

/** The open integration exceptions the intake raised for a DLQ, as `handoff exceptions list` shows them. */
async function exceptionsFrom(queue: string) {
  const listed = await handoff('--json', 'exceptions', 'list', '--team', 'integration');
  return (JSON.parse(listed.out) as { exceptionId: string; orderId: string; reasonCodes: string[] }[]).filter(
    (e) => e.reasonCodes.includes(`DLQ:${queue}`),
  );
}

async function exceptionShown(exceptionId: string) {
  return JSON.parse((await handoff('--json', 'exceptions', 'show', exceptionId)).out) as {
    orderId: string;
    state: string;
    recommendedAction: string;
    context: Record<string, unknown>;
    resolution?: { decidedBy: string; reason: string };
    audit: { action: string }[];
  };
}

describe('dead letters redriven to where they failed', () => {
  it('a function that failed every attempt: its on-failure record is redriven to that function', async () => {
    const orderId = 'ERP-DLQR1';
    const recorder = functionNamed('ProcessRecorderFunction');
    const dlq = queueNamed(cloud, 'FunctionFailureDlq');
    const fault = cloud.lambda.injectFault({
      logicalId: 'ProcessRecorderFunction',
      when: (event) => {
        const e = event as { 'detail-type'?: string; detail?: { orderId?: string } };
        return (
          e['detail-type'] === EVENT_CATALOGUE['shipment.delivered'].detailType &&
          e.detail?.orderId === orderId
        );
      },
      errorType: 'PartnerUnavailable',
      errorMessage: 'process log: throttled',
      // The first attempt and Lambda's two retries; the redriven invocation succeeds.
      times: 3,
    });
    const busName = cloud.events.archives[0]?.busName ?? '';
    const put = await eventBridge.send(
      new PutEventsCommand({
        Entries: [toPutEventsEntry('shipment.delivered', delivered(orderId), busName)],
      }),
    );
    const eventId = put.Entries?.[0]?.EventId ?? '';
    expect(eventId).not.toBe('');

    // Lambda retries 1 and 2 minutes after a failure (virtual time); each tick lets the woken attempt finish.
    for (let minute = 0; fault.hits < 3 && minute < 10; minute++) await clock.advance(60_000);
    expect(fault.hits).toBe(3);
    const received = await until('the on-failure record on FunctionFailureDlq', async () => {
      const { Messages = [] } = await world.sqs.send(
        new ReceiveMessageCommand({ QueueUrl: dlq.url, VisibilityTimeout: 0, MaxNumberOfMessages: 1 }),
      );
      return Messages[0];
    });
    const record = JSON.parse(received.Body ?? '');
    expect(record).toMatchObject({
      version: '1.0',
      requestContext: {
        functionArn: `${recorder.arn}:$LATEST`,
        condition: 'RetriesExhausted',
        approximateInvokeCount: 3,
      },
      requestPayload: { id: eventId, detail: { orderId } },
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
      responsePayload: { errorType: 'PartnerUnavailable', errorMessage: 'process log: throttled' },
    });
    expect(await logged(eventId)).toBeUndefined();

    // The intake's next run (every minute here) raises the integration exception, naming the function.
    const [raised] = await until('the exception for the failed invocation', async () => {
      await clock.advance(60_000);
      const found = await exceptionsFrom('FunctionFailureDlq');
      return found.length > 0 ? found : undefined;
    });
    const exception = await exceptionShown(raised?.exceptionId ?? '');
    expect(exception.orderId).toBe(orderId);
    expect(exception.context).toMatchObject({
      function: recorder.name,
      functionArn: `${recorder.arn}:$LATEST`,
      condition: 'RetriesExhausted',
      approximateInvokeCount: 3,
      cause: 'PartnerUnavailable: process log: throttled (RetriesExhausted after 3 attempts)',
    });
    expect(JSON.parse(String(exception.context.payload))).toMatchObject({ id: eventId, detail: { orderId } });
    expect(exception.recommendedAction).toContain(`reached FunctionFailureDlq from ${recorder.name}`);

    const listed = await handoff('dlq', 'list');
    expect(listed.out).toMatch(/FunctionFailureDlq\s+1\s+— \(the function that failed\)/);
    expect(listed.out).toMatch(/RuleTargetDlq\s+0\s+— \(the rule's target\)/);

    const redriven = await handoff('dlq', 'redrive', '--queue', 'FunctionFailureDlq', '--by', 'ops.oncall');
    expect(redriven).toMatchObject({ code: 0, err: '' });
    expect(redriven.out).toBe(
      'FunctionFailureDlq: 1 message(s) redriven to the functions that failed; their exceptions are resolved.',
    );
    // The function ran again with the event, and this time recorded it.
    await until('the redriven event in the process log', () => logged(eventId));
    expect(fault.hits).toBe(3);
    expect(await depth(dlq.url)).toBe(0);
    const resolved = await exceptionShown(raised?.exceptionId ?? '');
    expect(resolved.state).toBe('resolved');
    expect(resolved.resolution).toMatchObject({
      decidedBy: 'ops.oncall',
      reason: `redriven from FunctionFailureDlq to ${recorder.name}`,
    });
    expect(resolved.audit.map((a) => a.action)).toEqual(['raised', 'redriven']);

    // What a Lambda DeadLetterConfig sends (the event, with RequestID/ErrorCode/ErrorMessage) names no
    // function: the redrive keeps it, saying why.
    await world.sqs.send(
      new SendMessageCommand({
        QueueUrl: dlq.url,
        MessageBody: JSON.stringify({ orderId }),
        MessageAttributes: Object.fromEntries(
          Object.entries({ RequestID: 'r-1', ErrorCode: '200', ErrorMessage: 'PartnerUnavailable: wms' }).map(
            ([k, v]) => [k, { DataType: 'String', StringValue: v }],
          ),
        ),
      }),
    );
    const kept = await handoff('dlq', 'redrive', '--queue', 'FunctionFailureDlq', '--by', 'ops.oncall');
    expect(kept.out).toBe(
      'FunctionFailureDlq: 0 message(s) redriven to the functions that failed. 1 kept: not a Lambda on-failure record (no function named): resend its payload, kept on its exception, through the owning path.',
    );
    expect(await depth(dlq.url)).toBe(1);
    await quiet(cloud);
  }, 180_000);

  it("an undelivered rule event goes to the rule's target again; a scheduled run is kept, with the reason", async () => {
    const orderId = 'ERP-DLQR2';
    const recorder = functionNamed('ProcessRecorderFunction');
    const detector = functionNamed('SlaDetectorFunction');
    const dlq = queueNamed(cloud, 'RuleTargetDlq');
    const at = clock.now().toISOString();
    const eventId = 'b5d0c9a4-0000-4000-8000-00000000dlq2';
    const event = {
      version: '0',
      id: eventId,
      'detail-type': EVENT_CATALOGUE['shipment.delivered'].detailType,
      source: EVENT_CATALOGUE['shipment.delivered'].source,
      account: '000000000000',
      time: at,
      region: 'us-east-1',
      resources: [],
      detail: delivered(orderId),
    };
    const scheduled = {
      version: '0',
      id: 'b5d0c9a4-0000-4000-8000-00000000sch1',
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      account: '000000000000',
      time: at,
      region: 'us-east-1',
      resources: [ruleNamed('SlaDetectorEveryMinute').arn],
      detail: {},
    };
    // What EventBridge (and the local bus) put on a target's DLQ once its retries are spent.
    const deadLetter = (body: object, rule: string, target: string) =>
      world.sqs.send(
        new SendMessageCommand({
          QueueUrl: dlq.url,
          MessageBody: JSON.stringify(body),
          MessageAttributes: Object.fromEntries(
            Object.entries({
              RULE_ARN: ruleNamed(rule).arn,
              TARGET_ARN: target,
              ERROR_CODE: 'Lambda.ServiceException',
              ERROR_MESSAGE: 'Lambda.ServiceException: rate exceeded',
            }).map(([k, v]) => [k, { DataType: 'String', StringValue: v }]),
          ),
        }),
      );
    await deadLetter(event, 'CanonicalEventsToProcessLog', recorder.arn);
    await deadLetter(scheduled, 'SlaDetectorEveryMinute', detector.arn);
    const raised = await until('both exceptions', async () => {
      await clock.advance(60_000);
      const found = await exceptionsFrom('RuleTargetDlq');
      return found.length === 2 ? found : undefined;
    });
    const forEvent = raised.find((e) => e.orderId === orderId);
    const forSchedule = raised.find((e) => e.orderId !== orderId);

    const redriven = await handoff('dlq', 'redrive', '--queue', 'RuleTargetDlq', '--by', 'ops.oncall');
    expect(redriven).toMatchObject({ code: 0, err: '' });
    expect(redriven.out).toBe(
      'RuleTargetDlq: 1 message(s) redriven to the rule targets they failed to reach; their exceptions are resolved. 1 kept: a scheduled run: the next run of its schedule makes it up.',
    );
    await until('the redriven event in the process log', () => logged(eventId));
    // The scheduled run stays on the queue, its exception open; the event's exception is resolved.
    expect(await depth(dlq.url)).toBe(1);
    const resolved = await exceptionShown(forEvent?.exceptionId ?? '');
    expect(resolved).toMatchObject({
      state: 'resolved',
      resolution: { decidedBy: 'ops.oncall', reason: `redriven from RuleTargetDlq to ${recorder.name}` },
    });
    expect(resolved.audit.map((a) => a.action)).toEqual(['raised', 'redriven']);
    expect((await exceptionShown(forSchedule?.exceptionId ?? '')).state).toBe('open');
    await quiet(cloud);
  }, 180_000);
});
