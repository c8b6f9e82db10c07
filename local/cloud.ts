import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { systemClock } from '../lambdas/shared/clock.ts';
import type { LocalClock } from './clock/clock.ts';
import { realClock, VirtualClock, whileInFlight } from './clock/clock.ts';
import { CloudWatchService } from './cloudwatch/cloudwatch-service.ts';
import { type DynamoDbLocal, startDynamoDbLocal } from './dynamodb/dynamodb-local.ts';
import { createTables, type LocalTable } from './dynamodb/tables.ts';
import { functionUrlsOf, type LocalFunctionUrl } from './endpoint/function-urls.ts';
import { serveInProcess } from './endpoint/in-process.ts';
import { FUNCTION_URL_PREFIX, LocalEndpoint } from './endpoint/server.ts';
import { EventBridgeService } from './eventbridge/bus-service.ts';
import { LambdaRuntime } from './lambda/runtime.ts';
import { SdkMeter } from './metering.ts';
import { SecretStore } from './secrets/secret-store.ts';
import { fauxqsQueueUrl, SqsService } from './sqs/sqs-service.ts';
import { SfnService } from './stepfunctions/sfn-service.ts';
import { CloudModel, LOCAL_REGION } from './template/model.ts';
import { UsageMeter } from './usage-meter.ts';

export interface LocalCloudOptions {
  /** The cloud assembly to run (`cdk.out`). */
  readonly assemblyDir: string;
  /** Repository root, where `handoff:handler-source` paths are resolved. */
  readonly repoRoot: string;
  /** The AWS-compatible endpoint's port. @default 4566 */
  readonly port?: number;
  /** @default realClock */
  readonly clock?: LocalClock;
  /**
   * Worker threads that run the Lambda handlers, in parallel with the emulated services; 0 runs them on the
   * main thread (simplest to debug). @default 0
   */
  readonly lambdaWorkers?: number;
}

export interface LocalCloud {
  readonly endpoint: string;
  /** Requests the endpoint served, by `<service>.<operation>`. */
  readonly requests: ReadonlyMap<string, number>;
  /** Every AWS SDK call made in this process (the handlers' included), by `<service>.<Command>`. */
  readonly meter: SdkMeter;
  /**
   * What the run used of each AWS service, as AWS would bill and throttle it, on the cloud's clock:
   * `usage.start()` begins a measurement (after set-up), `usage.report(orders)` returns the `AwsUsage`.
   */
  readonly usage: UsageMeter;
  readonly model: CloudModel;
  readonly dynamodb: DynamoDbLocal;
  readonly tables: readonly LocalTable[];
  readonly sqs: SqsService;
  readonly lambda: LambdaRuntime;
  readonly sfn: SfnService;
  readonly events: EventBridgeService;
  readonly cloudwatch: CloudWatchService;
  /**
   * Secrets Manager: the templates' secrets, with the values generated at start-up, served to handlers, SDK
   * clients and the CLI. `secrets.value('CarrierWebhookSecret')` reads one by logical id (or its prefix),
   * name or ARN; `secrets.put(id, value)` rotates it as PutSecretValue does.
   */
  readonly secrets: SecretStore;
  /**
   * Each function URL's local address (`http://127.0.0.1:<port>/lambda-url/<function name>/`), keyed by the
   * function's name, the function's logical id and the `AWS::Lambda::Url`'s logical id.
   */
  readonly functionUrls: ReadonlyMap<string, string>;
  /** A function URL by function name, function logical id or URL logical id (an id prefix will do). */
  functionUrl(nameOrLogicalId: string): string;
  readonly startedInMs: number;
  /** Evaluates every alarm now, as CloudWatch's next minute would. */
  evaluateAlarmsNow(): Promise<unknown>;
  /** Waits until no event delivery, queue message or execution is in flight. */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Brings the synthesized stack up on this machine: DynamoDB Local (started first, in the background),
 * fauxqs, the Lambda runtime, Step Functions, EventBridge and Secrets Manager, behind one AWS-compatible
 * endpoint that also serves the function URLs. Everything comes from the templates in `cdk.out`; nothing
 * about the stack is declared here.
 */
export async function startLocalCloud(options: LocalCloudOptions): Promise<LocalCloud> {
  const started = performance.now();
  const clock = options.clock ?? realClock;
  if (clock !== realClock && options.lambdaWorkers) {
    throw new Error('a virtual clock drives in-process handlers only: use lambdaWorkers: 0 with it');
  }
  // The JVM takes the longest to start: begin it before anything else and join it last.
  const dynamodbStarting = startDynamoDbLocal();
  let sqs: SqsService | undefined;
  const stopping: (() => Promise<void> | void)[] = [];
  try {
    const port = options.port ?? 4566;
    const model = new CloudModel(options.assemblyDir, {
      sqsQueueUrl: (name) => fauxqsQueueUrl(sqs?.port ?? 0, name),
      functionUrl: (name) => `http://127.0.0.1:${port}${FUNCTION_URL_PREFIX}${encodeURIComponent(name)}/`,
    });
    // Secrets get their values before anything resolves a `{{resolve:secretsmanager:…}}` reference.
    const secrets = new SecretStore(model, clock);
    model.secretReference = (reference) => secrets.resolveReference(reference);
    const urls = functionUrlsOf(model);
    sqs = new SqsService(model, clock);
    await sqs.start();
    stopping.push(() => sqs?.stop());
    const dynamodb = await dynamodbStarting;
    stopping.push(() => dynamodb.stop());
    const tables = await createTables(dynamodb.client, model);

    const lambdaEnvironment = {
      AWS_REGION: LOCAL_REGION,
      AWS_DEFAULT_REGION: LOCAL_REGION,
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_ENDPOINT_URL: `http://127.0.0.1:${port}`,
      // Handlers reach DynamoDB Local and fauxqs directly, as functions reach DynamoDB and SQS on AWS;
      // the endpoint still proxies both for the CLI and other processes.
      AWS_ENDPOINT_URL_DYNAMODB: dynamodb.endpoint,
      AWS_ENDPOINT_URL_SQS: sqs.endpoint,
      AWS_EC2_METADATA_DISABLED: 'true',
    };
    const lambda = new LambdaRuntime(model, options.repoRoot, lambdaEnvironment, clock);
    lambda.deadLetter = (arn, body, attributes) => (sqs as SqsService).send(arn, body, attributes);
    const dynamoClient = new DynamoDBClient({
      endpoint: dynamodb.endpoint,
      region: LOCAL_REGION,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    let events: EventBridgeService | undefined;
    const sfn = new SfnService(
      model,
      lambda,
      {
        putEvents: async (entries) => (events as EventBridgeService).putEvents(entries as never),
        // A workflow's own calls to the emulators are this instant's work until answered (no invocation counts them).
        sendMessage: async (queueUrl, body) =>
          whileInFlight(clock, () =>
            (sqs as SqsService).client.send(
              new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }),
            ),
          ),
        dynamodb: async (action, input) => {
          const command = `${action[0]?.toUpperCase()}${action.slice(1)}Command`;
          const module = (await import('@aws-sdk/client-dynamodb')) as unknown as Record<
            string,
            new (
              input: unknown,
            ) => never
          >;
          const Command = module[command];
          if (!Command) throw new Error(`dynamodb:${action} is not supported`);
          return whileInFlight(clock, () => dynamoClient.send(new Command(input)));
        },
      },
      clock,
    );
    events = new EventBridgeService(model, { lambda, sfn, sqs }, clock);
    const cloudwatch = wireCloudWatch(new CloudWatchService(model, clock), { lambda, sfn, sqs });
    const endpoint = new LocalEndpoint({
      events,
      sfn,
      lambda,
      cloudwatch,
      dynamodbEndpoint: dynamodb.endpoint,
      sqsEndpoint: sqs.endpoint,
      secrets,
      functionUrls: new Map(urls.map((u) => [u.functionName, u])),
      clock,
      model,
    });
    await endpoint.start(port);
    stopping.push(() => endpoint.stop());
    Object.assign(process.env, {
      AWS_ENDPOINT_URL: endpoint.url.replace('localhost', '127.0.0.1'),
      AWS_REGION: LOCAL_REGION,
      AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID ?? 'local',
      AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY ?? 'local',
    });
    stopping.push(serveInProcess(endpoint));
    if (clock !== realClock) {
      // Handlers take time from the shared system clock; in the local cloud it is the cloud's clock, so a
      // virtual week reads as a week to the domain rules too.
      const original = systemClock.now;
      systemClock.now = () => clock.now();
      // Partner call timeouts too: a partner slowed in virtual time times out in virtual time, and a call
      // that takes real time (a loaded machine) cannot time out while the instant stands still.
      systemClock.sleep = (ms, signal) => clock.sleep(ms, signal);
      stopping.push(() => {
        systemClock.now = original;
        delete systemClock.sleep;
      });
      if (clock instanceof VirtualClock) {
        // A jump over many timers (a week of one-minute schedules) lets each wake-up's invocations finish
        // before the next instant: no handler sees its own timeout pass while it waits on real I/O.
        clock.settle = () => untilNothingInFlight(lambda, sqs as SqsService, clock);
        stopping.push(() => {
          clock.settle = undefined;
        });
      }
    }
    const meter = new SdkMeter();
    meter.install();
    stopping.push(() => meter.uninstall());
    const usage = new UsageMeter({
      model,
      clock,
      meter,
      lambda,
      sfn,
      events,
      sqs,
      dynamodb: dynamodb.client,
      tables,
    });
    lambda.captureLogs();
    stopping.push(() => lambda.stop());
    if (options.lambdaWorkers) {
      lambda.onWorkerCalls = (calls) => {
        meter.add(calls);
        usage.addWorkerCalls(calls);
      };
      await lambda.useWorkers(options.lambdaWorkers, {
        ...lambdaEnvironment,
        // Worker threads reach the endpoint over HTTP; only the main thread has the in-process shortcut.
      });
      stopping.push(() => lambda.stopWorkers());
    } else {
      await lambda.warm();
    }
    sqs.startPollers(lambda);
    events.startSchedules();
    stopping.push(() => events?.stop());
    cloudwatch.start();
    stopping.push(() => cloudwatch.stop());
    const eventsService = events;

    return {
      endpoint: endpoint.url,
      requests: endpoint.requests,
      meter,
      usage,
      model,
      dynamodb,
      tables,
      sqs,
      lambda,
      sfn,
      events: eventsService,
      cloudwatch,
      secrets,
      functionUrls: functionUrlMap(urls),
      functionUrl: (nameOrLogicalId) => findFunctionUrl(urls, nameOrLogicalId).url,
      evaluateAlarmsNow: () => cloudwatch.evaluate(),
      startedInMs: Math.round(performance.now() - started),
      idle: async () => {
        for (;;) {
          await eventsService.idle();
          const running = [...sfn.executions.values()].filter((e) => e.status === 'RUNNING');
          await Promise.all(running.map((e) => e.done));
          await eventsService.idle();
          if ([...sfn.executions.values()].every((e) => e.status !== 'RUNNING')) return;
        }
      },
      stop: async () => {
        for (const stop of stopping.reverse()) await stop();
        dynamoClient.destroy();
      },
    };
  } catch (error) {
    for (const stop of stopping.reverse()) await Promise.resolve(stop()).catch(() => undefined);
    await (await dynamodbStarting.catch(() => undefined))?.stop();
    throw error;
  }
}

function functionUrlMap(urls: readonly LocalFunctionUrl[]): ReadonlyMap<string, string> {
  const map = new Map<string, string>();
  for (const u of urls) {
    map.set(u.functionName, u.url);
    if (u.functionLogicalId) map.set(u.functionLogicalId, u.url);
    map.set(u.resource.logicalId, u.url);
  }
  return map;
}

function findFunctionUrl(urls: readonly LocalFunctionUrl[], id: string): LocalFunctionUrl {
  const keys = (u: LocalFunctionUrl) =>
    [u.functionName, u.functionLogicalId, u.resource.logicalId].filter((k): k is string => k !== undefined);
  const exact = urls.filter((u) => keys(u).includes(id));
  const matches = exact.length ? exact : urls.filter((u) => keys(u).some((k) => k.startsWith(id)));
  if (matches.length === 1 && matches[0]) return matches[0];
  throw new Error(
    matches.length
      ? `'${id}' names ${matches.length} function URLs: ${matches.map((u) => u.functionName).join(', ')}`
      : `no function URL for '${id}'`,
  );
}

/**
 * Feeds CloudWatch the way AWS does: EMF log lines, Lambda invocation metrics, Step Functions execution
 * metrics, and SQS queue depth read when an alarm needs it. Alarm actions publish to the SNS topic.
 */
function wireCloudWatch(
  cloudwatch: CloudWatchService,
  services: { lambda: LambdaRuntime; sfn: SfnService; sqs: SqsService },
): CloudWatchService {
  const { lambda, sfn, sqs } = services;
  lambda.onLog = (line) => {
    cloudwatch.ingestLog(line.text, Date.parse(line.at));
  };
  lambda.onInvocation = (record) => {
    const dimensions = [{ Name: 'FunctionName', Value: record.functionName }];
    cloudwatch.put({ namespace: 'AWS/Lambda', name: 'Invocations', dimensions, value: 1, unit: 'Count' });
    cloudwatch.put({
      namespace: 'AWS/Lambda',
      name: 'Errors',
      dimensions,
      value: record.error ? 1 : 0,
      unit: 'Count',
    });
    cloudwatch.put({
      namespace: 'AWS/Lambda',
      name: 'Duration',
      dimensions,
      value: record.durationMs,
      unit: 'Milliseconds',
    });
  };
  const STATUS_METRIC: Record<string, string> = {
    RUNNING: 'ExecutionsStarted',
    SUCCEEDED: 'ExecutionsSucceeded',
    FAILED: 'ExecutionsFailed',
    TIMED_OUT: 'ExecutionsTimedOut',
    ABORTED: 'ExecutionsAborted',
  };
  sfn.onExecution = (execution) => {
    const name = STATUS_METRIC[execution.status];
    if (!name) return;
    cloudwatch.put({
      namespace: 'AWS/States',
      name,
      dimensions: [{ Name: 'StateMachineArn', Value: execution.stateMachineArn }],
      value: 1,
      unit: 'Count',
    });
  };
  cloudwatch.addSampler('AWS/SQS', async (_namespace, name, dimensions) => {
    const queueName = dimensions.find((d) => d.Name === 'QueueName')?.Value;
    const metrics = queueName ? sqs.queueMetrics(queueName) : undefined;
    if (!metrics) return undefined;
    if (name === 'ApproximateNumberOfMessagesVisible') return metrics.visible;
    if (name === 'ApproximateAgeOfOldestMessage') return metrics.ageOfOldestSeconds;
    return undefined;
  });
  cloudwatch.onNotify = (notification) => {
    if (sqs.topics.has(notification.topicArn)) {
      sqs.publish(
        notification.topicArn,
        JSON.stringify({
          AlarmName: notification.alarmName,
          NewStateValue: notification.newState,
          NewStateReason: notification.reason,
        }),
      );
    }
  };
  return cloudwatch;
}

/**
 * Whether work of this instant is still running: a Lambda invocation neither asleep on the virtual clock nor
 * held at an instant gate, a request of the cloud's own plumbing to an emulator (see `whileInFlight`), or a
 * message a function's poller has been handed but not yet taken. The clock's settle and a simulation's
 * reservation gate both ask this. Asleep and held count requests, compared with invocations: exact while an
 * invocation parks one request at a time, as Handoff's do (one WMS release per invocation, one reservation per
 * allocation or Map iteration, a receipt's fills reserved one after another).
 */
export function workRunning(
  lambda: Pick<LambdaRuntime, 'inFlight'>,
  sqs: Pick<SqsService, 'inTransit'>,
  clock: Pick<VirtualClock, 'asleep' | 'held' | 'working'>,
): boolean {
  return lambda.inFlight > clock.asleep + clock.held || clock.working > 0 || sqs.inTransit() > 0;
}

/**
 * Waits until nothing of this instant is in flight: no Lambda invocation apart from those asleep on the
 * virtual clock (they go on when time reaches them), no request held at an instant gate, no request of the
 * cloud's own plumbing to an emulator (see `whileInFlight`), and no message a function's poller has been
 * handed but not yet taken. Then two turns of the event loop with nothing in flight, so a workflow moving
 * between states (promise continuations only) has started its next task. Time that moves on only then dates
 * what each woken timer started the same in every run, however loaded the machine.
 *
 * It gives up (time moves on regardless) only on a stall: `stallMs` of real time in which nothing changed
 * (no invocation started or ended, no plumbing request or message moved), or after `ceilingMs` in all. An
 * instant with a lot to do (a carrier cut-off's thousand ship confirmations at the emulator's pace) is
 * waited for to the end.
 */
async function untilNothingInFlight(
  lambda: LambdaRuntime,
  sqs: SqsService,
  clock: VirtualClock,
  stallMs = 30_000,
  ceilingMs = 600_000,
): Promise<void> {
  const started = Date.now();
  let movedAt = started;
  let last = '';
  // A request held at a gate is decided at this instant: time waits for it too.
  const busy = () => workRunning(lambda, sqs, clock) || clock.held > 0;
  let calm = 0;
  while (calm < 2) {
    const now = Date.now();
    const state = `${lambda.invocations.length}|${lambda.inFlight}|${clock.working}|${clock.held}|${clock.asleep}|${sqs.inTransit()}`;
    if (state !== last) movedAt = now;
    last = state;
    if (now - movedAt >= stallMs || now - started >= ceilingMs) return;
    if (busy()) {
      calm = 0;
      await new Promise((resolve) => setTimeout(resolve, 1));
    } else {
      calm += 1;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
}
