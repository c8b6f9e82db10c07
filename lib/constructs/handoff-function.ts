import { Duration, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { LogLevel, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct, type IConstruct } from 'constructs';
import { handlerEntry, lockFile, repoRoot } from '../paths.ts';

export interface HandoffFunctionProps {
  /** Handler module under `lambdas/handlers/`, without extension; it exports `handler`. */
  readonly handler: string;
  readonly description: string;
  /**
   * Where an asynchronous invocation that failed every attempt goes, as Lambda's on-failure destination
   * record: the event, the error and the function that failed, so no event is lost and each can be redriven
   * to its function.
   */
  readonly onFailureQueue: sqs.IQueue;
  /**
   * How long Lambda keeps an asynchronous event (waiting on a retry or on concurrency) before it gives up
   * and records it on the on-failure queue as `EventAgeExceeded`.
   * @default Duration.hours(6): Lambda's maximum, so a throttled backlog is worked off, not dead-lettered
   */
  readonly maxEventAge?: Duration;
  /** @default {} */
  readonly environment?: Readonly<Record<string, string>>;
  /** @default Duration.seconds(30) */
  readonly timeout?: Duration;
  /** @default 512 (MB): arm64 cost/latency sweet spot for I/O-bound handlers */
  readonly memorySize?: number;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
}

/** Retries of a failed asynchronous invocation (Lambda's default, stated): three attempts in all. */
const ASYNC_RETRY_ATTEMPTS = 2;

/**
 * An SQS on-failure destination that grants the function only `sqs:SendMessage`, all Lambda needs to deliver
 * a record (`SqsDestination` grants `grantSendMessages`, which adds `sqs:GetQueueAttributes` and
 * `sqs:GetQueueUrl`). A KMS-encrypted queue also needs its key to encrypt the message.
 */
class OnFailureQueue implements lambda.IDestination {
  constructor(private readonly queue: sqs.IQueue) {}

  bind(_scope: IConstruct, fn: lambda.IFunction): lambda.DestinationConfig {
    this.queue.grant(fn, 'sqs:SendMessage');
    this.queue.encryptionMasterKey?.grant(fn, 'kms:GenerateDataKey', 'kms:Decrypt');
    return { destination: this.queue.queueArn };
  }
}

/**
 * The runtime every Handoff function runs on: the newest Node.js LTS Lambda offers. Handlers are built for
 * Node 22 (the local cloud's floor), which Node 24 runs unchanged.
 */
export const HANDOFF_RUNTIME = lambda.Runtime.NODEJS_24_X;

/**
 * A Handoff Lambda function with the defaults fixed in one place: Node 22 on arm64, ESM bundle built by
 * local esbuild (no Docker), X-Ray tracing, JSON logs to its own log group with retention, failed
 * asynchronous invocations recorded on an on-failure queue, and its own role that starts with nothing but
 * writing its logs.
 */
export class HandoffFunction extends Construct {
  public readonly function: NodejsFunction;
  public readonly role: iam.Role;
  public readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: HandoffFunctionProps) {
    super(scope, id);
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
    });
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `${props.handler}: logs, tracing and the grants its stack adds`,
    });
    this.logGroup.grantWrite(this.role);

    this.function = new NodejsFunction(this, 'Function', {
      entry: handlerEntry(props.handler),
      handler: 'handler',
      description: props.description,
      runtime: HANDOFF_RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(30),
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      tracing: lambda.Tracing.ACTIVE,
      onFailure: new OnFailureQueue(props.onFailureQueue),
      retryAttempts: ASYNC_RETRY_ATTEMPTS,
      maxEventAge: props.maxEventAge ?? Duration.hours(6),
      environment: {
        POWERTOOLS_SERVICE_NAME: `handoff-${props.handler}`,
        NODE_OPTIONS: '--enable-source-maps',
        ...props.environment,
      },
      projectRoot: repoRoot,
      depsLockFilePath: lockFile,
      bundling: {
        format: OutputFormat.ESM,
        target: 'node22',
        minify: true,
        sourceMap: true,
        // The Node.js runtime ships AWS SDK v3; bundling it would triple every adapter's size.
        externalModules: ['@aws-sdk/*'],
        mainFields: ['module', 'main'],
        banner:
          "import { createRequire as __createRequire } from 'node:module';const require = __createRequire(import.meta.url);",
        forceDockerBundling: false,
        logLevel: LogLevel.WARNING,
      },
    });

    // The local cloud runs this source in process; the deployed function runs the esbuild bundle of it.
    (this.function.node.defaultChild as lambda.CfnFunction).addMetadata(
      'handoff:handler-source',
      `lambdas/handlers/${props.handler}.ts`,
    );

    const onFailureQueue = props.onFailureQueue.node.id;
    Validations.of(this.function.node.defaultChild as lambda.CfnFunction).acknowledge({
      id: 'Serverless-LambdaDLQ',
      reason: `The on-failure destination to ${onFailureQueue} (EventInvokeConfig) replaces a DeadLetterConfig: its record names the function that failed and keeps the event, the error and the attempt count, so 'handoff dlq redrive' re-invokes that function; a DLQ message carries the event and an error message, not the function.`,
    });
    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'xray:PutTraceSegments and xray:PutTelemetryRecords (added by active tracing) support no resource-level permissions.',
    });
  }

  /** Lets the function publish to one event bus, and nothing else on EventBridge. */
  allowPutEvents(busArn: string): void {
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['events:PutEvents'], resources: [busArn] }),
    );
  }

  get stack(): Stack {
    return Stack.of(this);
  }
}
