import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../local/clock/clock.ts';
import { LambdaRuntime } from '../../../local/lambda/runtime.ts';
import {
  CloudModel,
  LOCAL_ACCOUNT,
  LOCAL_REGION,
  UnsupportedTemplateFeature,
} from '../../../local/template/model.ts';

/**
 * Asynchronous invocations in the local Lambda runtime, as Lambda runs them: a failure is retried as the
 * function's EventInvokeConfig says (1 and 2 minutes apart), an event older than its maximum age is not
 * attempted again, and an event that failed for good goes to the on-failure destination as Lambda's
 * invocation record, or to a DeadLetterConfig queue as itself with Lambda's DLQ attributes.
 */

type Resources = Record<
  string,
  { Type: string; Properties?: Record<string, unknown>; Metadata?: Record<string, unknown> }
>;

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const START = new Date('2030-01-02T03:00:00.000Z');
const ARN = `${LOCAL_REGION}:${LOCAL_ACCOUNT}`;
const dirs: string[] = [];

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A function running the fixture handler (it succeeds unless a fault is injected). */
const fn = (properties: Record<string, unknown> = {}) => ({
  Type: 'AWS::Lambda::Function',
  Properties: { Handler: 'index.handler', Timeout: 3, ...properties },
  Metadata: { 'handoff:handler-source': 'test/unit/local/fixtures/env-at-import.ts' },
});

const onFailureConfig = (functionId: string, properties: Record<string, unknown> = {}) => ({
  Type: 'AWS::Lambda::EventInvokeConfig',
  Properties: {
    FunctionName: { Ref: functionId },
    Qualifier: '$LATEST',
    DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': ['Failures', 'Arn'] } } },
    ...properties,
  },
});

function model(resources: Resources): CloudModel {
  const dir = mkdtempSync(join(tmpdir(), 'handoff-async-'));
  dirs.push(dir);
  writeFileSync(
    join(dir, 'manifest.json'),
    JSON.stringify({
      artifacts: { S: { type: 'aws:cloudformation:stack', properties: { templateFile: 'S.template.json' } } },
    }),
  );
  writeFileSync(join(dir, 'S.template.json'), JSON.stringify({ Resources: resources }));
  return new CloudModel(dir, { sqsQueueUrl: (name) => `http://sqs.test.localhost/q/${name}` });
}

const STACK: Resources = {
  Failures: { Type: 'AWS::SQS::Queue' },
  OldDlq: { Type: 'AWS::SQS::Queue' },
  Recorder: fn(),
  RecorderAsync: onFailureConfig('Recorder', { MaximumRetryAttempts: 1 }),
  Defaults: fn(),
  DefaultsAsync: onFailureConfig('Defaults'),
  ShortLived: fn(),
  ShortLivedAsync: onFailureConfig('ShortLived', { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 90 }),
  Legacy: fn({ DeadLetterConfig: { TargetArn: { 'Fn::GetAtt': ['OldDlq', 'Arn'] } } }),
};

interface Sent {
  readonly arn: string;
  readonly body: string;
  readonly attributes: Record<string, string>;
}

async function runtimeOf(resources: Resources = STACK) {
  const clock = new VirtualClock(START);
  const runtime = new LambdaRuntime(model(resources), repoRoot, {}, clock);
  await runtime.warm();
  const sent: Sent[] = [];
  runtime.deadLetter = async (arn, body, attributes) => void sent.push({ arn, body, attributes });
  return { clock, runtime, sent };
}

/** Runs an asynchronous invocation to its end, moving the virtual clock from one timer to the next. */
async function settle(clock: VirtualClock, work: Promise<void>): Promise<void> {
  let done = false;
  const finished = work.finally(() => {
    done = true;
  });
  while (!done) {
    await new Promise((resolve) => setImmediate(resolve));
    const next = clock.nextWakeUp();
    if (!done && next !== undefined) await clock.advanceTo(next);
  }
  await finished;
}

const secondsAfterStart = (iso: string) => (Date.parse(iso) - START.getTime()) / 1000;
const event = { id: 'e-1', 'detail-type': 'shipment.delivered.v1', detail: { orderId: 'ERP-1' } };

describe('asynchronous invocation with an EventInvokeConfig', () => {
  it('retries MaximumRetryAttempts times, then sends the on-failure record to the destination queue', async () => {
    const { clock, runtime, sent } = await runtimeOf();
    runtime.injectFault({
      logicalId: 'Recorder',
      errorType: 'PartnerUnavailable',
      errorMessage: 'wms: 503',
      times: Infinity,
    });

    await settle(clock, runtime.invokeAsync('S-Recorder', event));

    const attempts = runtime.invocations.filter((i) => i.functionName === 'S-Recorder');
    expect(attempts.map((a) => secondsAfterStart(a.startedAt))).toEqual([0, 60]);
    expect(sent).toHaveLength(1);
    expect(sent[0]?.arn).toBe(`arn:aws:sqs:${ARN}:S-Failures`);
    expect(sent[0]?.attributes).toEqual({});
    const record = JSON.parse(sent[0]?.body ?? '');
    expect(record).toEqual({
      version: '1.0',
      timestamp: new Date(START.getTime() + 60_000).toISOString(),
      requestContext: {
        requestId: attempts[0]?.requestId,
        functionArn: `arn:aws:lambda:${ARN}:function:S-Recorder:$LATEST`,
        condition: 'RetriesExhausted',
        approximateInvokeCount: 2,
      },
      requestPayload: event,
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
      responsePayload: { errorType: 'PartnerUnavailable', errorMessage: 'wms: 503', trace: [] },
    });
    // One request id for the queued event, whichever attempt.
    expect(new Set(attempts.map((a) => a.requestId)).size).toBe(1);
  });

  it("takes Lambda's defaults when the config leaves them out: two retries, 1 and 2 minutes apart", async () => {
    const { clock, runtime, sent } = await runtimeOf();
    runtime.injectFault({ logicalId: 'Defaults', errorType: 'Error', times: Infinity });

    await settle(clock, runtime.invokeAsync('S-Defaults', event));

    const attempts = runtime.invocations.filter((i) => i.functionName === 'S-Defaults');
    expect(attempts.map((a) => secondsAfterStart(a.startedAt))).toEqual([0, 60, 180]);
    expect(JSON.parse(sent[0]?.body ?? '').requestContext).toMatchObject({
      condition: 'RetriesExhausted',
      approximateInvokeCount: 3,
    });
  });

  it('does not attempt an event older than MaximumEventAgeInSeconds: EventAgeExceeded, with the last error', async () => {
    const { clock, runtime, sent } = await runtimeOf();
    runtime.injectFault({ logicalId: 'ShortLived', errorType: 'Sandbox.Timedout', times: Infinity });

    await settle(clock, runtime.invokeAsync('S-ShortLived', event));

    // The third attempt would start 180 s after the event arrived, past its 90 s maximum age.
    const attempts = runtime.invocations.filter((i) => i.functionName === 'S-ShortLived');
    expect(attempts.map((a) => secondsAfterStart(a.startedAt))).toEqual([0, 60]);
    const record = JSON.parse(sent[0]?.body ?? '');
    expect(record.requestContext).toMatchObject({ condition: 'EventAgeExceeded', approximateInvokeCount: 2 });
    expect(record.responsePayload).toMatchObject({ errorType: 'Sandbox.Timedout' });
  });

  it('sends nothing when a retry succeeds', async () => {
    const { clock, runtime, sent } = await runtimeOf();
    const fault = runtime.injectFault({ logicalId: 'Recorder', errorType: 'PartnerUnavailable', times: 1 });

    await settle(clock, runtime.invokeAsync('S-Recorder', event));

    expect(fault.hits).toBe(1);
    expect(runtime.invocations.filter((i) => i.functionName === 'S-Recorder').map((i) => i.error)).toEqual([
      'PartnerUnavailable: injected fault: PartnerUnavailable',
      undefined,
    ]);
    expect(sent).toEqual([]);
  });
});

describe('asynchronous invocation with a DeadLetterConfig', () => {
  it("still sends the event itself to the DLQ after three attempts, with Lambda's DLQ attributes", async () => {
    const { clock, runtime, sent } = await runtimeOf();
    runtime.injectFault({
      logicalId: 'Legacy',
      errorType: 'PartnerUnavailable',
      errorMessage: 'erp: 502',
      times: Infinity,
    });

    await settle(clock, runtime.invokeAsync('S-Legacy', event));

    const attempts = runtime.invocations.filter((i) => i.functionName === 'S-Legacy');
    expect(attempts).toHaveLength(3);
    expect(sent).toEqual([
      {
        arn: `arn:aws:sqs:${ARN}:S-OldDlq`,
        body: JSON.stringify(event),
        attributes: {
          RequestID: attempts[0]?.requestId,
          ErrorCode: '200',
          ErrorMessage: 'PartnerUnavailable: erp: 502',
        },
      },
    ]);
  });
});

describe('EventInvokeConfigs the local cloud cannot run faithfully are refused at start-up', () => {
  it.each([
    ['a version or alias qualifier', { Qualifier: 'live' }, 'EventInvokeConfig Qualifier live'],
    [
      'an OnSuccess destination',
      {
        DestinationConfig: {
          OnSuccess: { Destination: { 'Fn::GetAtt': ['Failures', 'Arn'] } },
          OnFailure: { Destination: { 'Fn::GetAtt': ['Failures', 'Arn'] } },
        },
      },
      'an OnSuccess destination',
    ],
    [
      'an OnFailure destination that is not a queue',
      { DestinationConfig: { OnFailure: { Destination: `arn:aws:sns:${ARN}:alerts` } } },
      'an OnFailure destination that is not an SQS queue',
    ],
    [
      'a function the template does not have',
      { FunctionName: 'S-Elsewhere' },
      'unknown function S-Elsewhere',
    ],
  ])('%s', async (_label, properties, feature) => {
    const resources: Resources = {
      Failures: { Type: 'AWS::SQS::Queue' },
      Recorder: fn(),
      RecorderAsync: onFailureConfig('Recorder', properties),
    };
    const start = () => new LambdaRuntime(model(resources), repoRoot, {}, new VirtualClock(START));
    expect(start).toThrow(UnsupportedTemplateFeature);
    expect(start).toThrow(feature);
  });
});
