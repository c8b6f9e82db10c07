import {
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { type FauxqsServer, interceptLocalhostDns, startFauxqs } from 'fauxqs';
import { type LocalClock, whileInFlight } from '../clock/clock.ts';
import type { LambdaRuntime } from '../lambda/runtime.ts';
import type { CloudModel, TemplateResource } from '../template/model.ts';
import { LOCAL_ACCOUNT, LOCAL_REGION, UnsupportedTemplateFeature } from '../template/model.ts';

/**
 * Concurrent pollers of an SQS event-source mapping: Lambda starts five per mapping (more as the backlog grows,
 * up to ScalingConfig.MaximumConcurrency); five is what a fresh mapping gets.
 */
export function pollersOf(mapping: EventSourceMapping): number {
  return Math.min(5, mapping.maximumConcurrency ?? 5);
}

/** Queue URL as fauxqs serves it: `http://sqs.<region>.localhost:<port>/<account>/<name>`. */
export function fauxqsQueueUrl(port: number, name: string): string {
  return `http://sqs.${LOCAL_REGION}.localhost:${port}/${LOCAL_ACCOUNT}/${name}`;
}

export interface LocalQueue {
  readonly resource: TemplateResource;
  readonly name: string;
  readonly url: string;
  readonly arn: string;
  /** The DLQ this queue redrives to (RedrivePolicy), if any. */
  readonly deadLetterArn?: string;
  readonly maxReceiveCount?: number;
}

export interface EventSourceMapping {
  readonly resource: TemplateResource;
  readonly queueArn: string;
  readonly functionName: string;
  readonly batchSize: number;
  readonly reportBatchItemFailures: boolean;
  readonly maximumConcurrency?: number;
}

const ATTRIBUTES: Record<string, (value: unknown) => string> = {
  VisibilityTimeout: String,
  MessageRetentionPeriod: String,
  DelaySeconds: String,
  MaximumMessageSize: String,
  ReceiveMessageWaitTimeSeconds: String,
  FifoQueue: String,
  ContentBasedDeduplication: String,
  KmsMasterKeyId: String,
  SqsManagedSseEnabled: String,
};

/**
 * SQS on fauxqs: the template's queues with their attributes and RedrivePolicy, Lambda event-source
 * mappings (batch size, ReportBatchItemFailures, visibility timeout and maxReceiveCount moving poison
 * messages to the DLQ, all as SQS does), and DLQ → source redrive, which fauxqs lacks.
 */
export class SqsService {
  readonly queues = new Map<string, LocalQueue>();
  readonly mappings: EventSourceMapping[] = [];
  /** SNS topics (fauxqs serves SNS too), by ARN → name. */
  readonly topics = new Map<string, string>();
  private server: FauxqsServer | undefined;
  private restoreDns: (() => void) | undefined;
  private readonly stopping = new AbortController();
  private readonly pollers: Promise<void>[] = [];
  /** Per consumed queue: pollers waiting in a receive, so a message ready there is about to be taken. */
  private readonly receiving = new Map<string, number>();
  /** Receipt handles the pollers have been handed (a message in flight without one is still on its way). */
  private readonly handed = new Set<string>();
  client!: SQSClient;

  constructor(
    private readonly model: CloudModel,
    private readonly clock: LocalClock,
  ) {}

  get port(): number {
    return this.server?.port ?? 0;
  }

  get endpoint(): string {
    return this.server?.address ?? '';
  }

  async start(port = 0): Promise<void> {
    this.restoreDns = interceptLocalhostDns();
    this.server = await startFauxqs({ port, logger: false, defaultRegion: LOCAL_REGION });
    this.client = new SQSClient({
      endpoint: this.server.address,
      region: LOCAL_REGION,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    const resources = this.model.ofType('AWS::SQS::Queue');
    // DLQs first: a RedrivePolicy must name an existing queue.
    const ordered = [...resources].sort(
      (a, b) =>
        Number(a.properties.RedrivePolicy !== undefined) - Number(b.properties.RedrivePolicy !== undefined),
    );
    for (const resource of ordered) {
      const p = this.model.resolvedProperties(resource);
      const name = this.model.physicalName(resource);
      const attributes: Record<string, string> = {};
      for (const [key, value] of Object.entries(p)) {
        const convert = ATTRIBUTES[key];
        if (convert && value !== undefined) attributes[key] = convert(value);
      }
      const redrive = p.RedrivePolicy as
        | { deadLetterTargetArn?: string; maxReceiveCount?: number }
        | undefined;
      if (redrive?.deadLetterTargetArn) attributes.RedrivePolicy = JSON.stringify(redrive);
      delete attributes.SqsManagedSseEnabled;
      const created = this.server.createQueue(name, { attributes });
      this.queues.set(name, {
        resource,
        name,
        url: created.queueUrl,
        arn: created.queueArn,
        ...(redrive?.deadLetterTargetArn ? { deadLetterArn: redrive.deadLetterTargetArn } : {}),
        ...(redrive?.maxReceiveCount ? { maxReceiveCount: redrive.maxReceiveCount } : {}),
      });
    }
    for (const resource of this.model.ofType('AWS::SNS::Topic')) {
      const name = this.model.physicalName(resource);
      this.server.createTopic(name);
      this.topics.set(this.model.arn(resource), name);
    }
    for (const resource of this.model.ofType('AWS::Lambda::EventSourceMapping')) {
      const p = this.model.resolvedProperties(resource);
      const queueArn = String(p.EventSourceArn ?? '');
      if (!queueArn.startsWith('arn:aws:sqs:')) {
        throw new UnsupportedTemplateFeature(
          `${resource.stack}/${resource.logicalId}`,
          `event source ${queueArn}`,
        );
      }
      if (p.Enabled === false) continue;
      this.mappings.push({
        resource,
        queueArn,
        functionName: String(p.FunctionName),
        batchSize: Number(p.BatchSize ?? 10),
        reportBatchItemFailures: ((p.FunctionResponseTypes as string[] | undefined) ?? []).includes(
          'ReportBatchItemFailures',
        ),
        ...((p.ScalingConfig as { MaximumConcurrency?: number } | undefined)?.MaximumConcurrency
          ? { maximumConcurrency: (p.ScalingConfig as { MaximumConcurrency: number }).MaximumConcurrency }
          : {}),
      });
    }
  }

  byArn(arn: string): LocalQueue | undefined {
    return [...this.queues.values()].find((q) => q.arn === arn);
  }

  byUrlOrName(urlOrName: string): LocalQueue | undefined {
    return [...this.queues.values()].find((q) => q.url === urlOrName || q.name === urlOrName);
  }

  async send(arn: string, body: string, attributes: Record<string, string> = {}): Promise<void> {
    const queue = this.byArn(arn);
    if (!queue) throw new Error(`no local queue ${arn}`);
    await whileInFlight(this.clock, () =>
      this.client.send(
        new SendMessageCommand({
          QueueUrl: queue.url,
          MessageBody: body,
          MessageAttributes: Object.fromEntries(
            Object.entries(attributes).map(([k, v]) => [k, { DataType: 'String', StringValue: v }]),
          ),
        }),
      ),
    );
  }

  /**
   * Messages of consumed queues on their way to a function: ready while one of the queue's pollers waits in
   * a receive, or handed out by the queue but not yet to the poller. Zero once each is in an invocation
   * (which counts as in flight itself), back in the queue for want of a free poller, or waiting out a
   * failed invocation's visibility timeout.
   */
  inTransit(): number {
    let count = 0;
    const current = new Set<string>();
    for (const mapping of this.mappings) {
      const queue = this.byArn(mapping.queueArn);
      const state = queue && this.server?.inspectQueue(queue.name);
      if (!queue || !state) continue;
      if (state.messages.ready.length > 0 && (this.receiving.get(queue.name) ?? 0) > 0) count += 1;
      for (const { receiptHandle } of state.messages.inflight) {
        current.add(receiptHandle);
        if (!this.handed.has(receiptHandle)) count += 1;
      }
    }
    for (const handle of this.handed) if (!current.has(handle)) this.handed.delete(handle);
    return count;
  }

  /**
   * SQS's CloudWatch queue metrics, read without receiving anything: visible messages, and the age in
   * seconds of the oldest message not yet deleted (fauxqs keeps real send times).
   */
  queueMetrics(name: string): { visible: number; ageOfOldestSeconds: number } | undefined {
    const state = this.server?.inspectQueue(name);
    if (!state) return undefined;
    const all = [
      ...state.messages.ready,
      ...state.messages.delayed,
      ...state.messages.inflight.map((m) => m.message),
    ];
    const oldest = Math.min(...all.map((m) => m.sentTimestamp));
    return {
      visible: state.messages.ready.length,
      ageOfOldestSeconds: all.length ? Math.max(0, Math.floor((Date.now() - oldest) / 1000)) : 0,
    };
  }

  /** Messages ready, delayed or in flight in a queue (0 for an unknown queue). */
  pending(name: string): number {
    const state = this.server?.inspectQueue(name);
    if (!state) return 0;
    return state.messages.ready.length + state.messages.delayed.length + state.messages.inflight.length;
  }

  /** Messages a consumer could receive now or after their delay (not those in flight). */
  waiting(name: string): number {
    const state = this.server?.inspectQueue(name);
    if (!state) return 0;
    return state.messages.ready.length + state.messages.delayed.length;
  }

  /** Publishes to a template SNS topic (fans out to its SQS subscriptions, as SNS does). */
  publish(topicArn: string, message: string): void {
    const name = this.topics.get(topicArn);
    if (!name) throw new Error(`no local topic ${topicArn}`);
    this.server?.publish(name, message);
  }

  /** Starts one poller per event-source mapping, invoking the function as Lambda's SQS poller does. */
  startPollers(lambda: LambdaRuntime): void {
    for (const mapping of this.mappings) {
      const queue = this.byArn(mapping.queueArn);
      if (!queue)
        throw new UnsupportedTemplateFeature(mapping.resource.logicalId, `unknown queue ${mapping.queueArn}`);
      const pollers = pollersOf(mapping);
      for (let i = 0; i < pollers; i++) this.pollers.push(this.poll(queue, mapping, lambda));
    }
  }

  private async poll(queue: LocalQueue, mapping: EventSourceMapping, lambda: LambdaRuntime): Promise<void> {
    const signal = this.stopping.signal;
    while (!signal.aborted) {
      let messages: Message[] = [];
      const waiting = (by: number) =>
        this.receiving.set(queue.name, (this.receiving.get(queue.name) ?? 0) + by);
      waiting(1);
      try {
        const received = await this.client.send(
          new ReceiveMessageCommand({
            QueueUrl: queue.url,
            MaxNumberOfMessages: Math.min(10, mapping.batchSize),
            WaitTimeSeconds: 1,
            MessageSystemAttributeNames: ['All'],
            MessageAttributeNames: ['All'],
          }),
          { abortSignal: signal },
        );
        waiting(-1);
        messages = received.Messages ?? [];
        for (const m of messages) if (m.ReceiptHandle) this.handed.add(m.ReceiptHandle);
      } catch (error) {
        waiting(-1);
        if (signal.aborted) return;
        await this.clock.sleep(200).catch(() => undefined);
        void error;
        continue;
      }
      if (messages.length === 0) continue;
      const event = {
        Records: messages.map((m) => ({
          messageId: m.MessageId,
          receiptHandle: m.ReceiptHandle,
          body: m.Body,
          attributes: m.Attributes ?? {},
          messageAttributes: m.MessageAttributes ?? {},
          md5OfBody: m.MD5OfBody,
          eventSource: 'aws:sqs',
          eventSourceARN: queue.arn,
          awsRegion: LOCAL_REGION,
        })),
      };
      let failed = new Set<string>();
      try {
        const result = (await lambda.invoke(mapping.functionName, event)) as
          | { batchItemFailures?: { itemIdentifier: string }[] }
          | undefined;
        if (mapping.reportBatchItemFailures) {
          failed = new Set((result?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
        }
      } catch {
        // A failed invocation leaves the whole batch to reappear after the visibility timeout.
        failed = new Set(messages.map((m) => m.MessageId ?? ''));
      }
      const done = messages.filter((m) => !failed.has(m.MessageId ?? ''));
      if (done.length > 0) {
        await whileInFlight(this.clock, () =>
          this.client.send(
            new DeleteMessageBatchCommand({
              QueueUrl: queue.url,
              Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
            }),
          ),
        );
      }
    }
  }

  /**
   * Moves every message of a DLQ back to a queue (StartMessageMoveTask, which fauxqs lacks). The target is
   * the queue whose RedrivePolicy names the DLQ unless one is given. Returns the number moved.
   */
  async redrive(dlqName: string, targetName?: string): Promise<number> {
    const dlq = this.byUrlOrName(dlqName);
    if (!dlq) throw new Error(`no queue ${dlqName}`);
    const target = targetName
      ? this.byUrlOrName(targetName)
      : [...this.queues.values()].find((q) => q.deadLetterArn === dlq.arn);
    if (!target) throw new Error(`${dlq.name} is not the DLQ of any queue; name the queue to redrive to`);
    let moved = 0;
    for (;;) {
      const { Messages = [] } = await this.client.send(
        new ReceiveMessageCommand({
          QueueUrl: dlq.url,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 0,
          MessageAttributeNames: ['All'],
        }),
      );
      if (Messages.length === 0) return moved;
      await this.client.send(
        new SendMessageBatchCommand({
          QueueUrl: target.url,
          Entries: Messages.map((m, i) => ({
            Id: String(i),
            MessageBody: m.Body ?? '',
            ...(m.MessageAttributes ? { MessageAttributes: m.MessageAttributes } : {}),
          })),
        }),
      );
      await this.client.send(
        new DeleteMessageBatchCommand({
          QueueUrl: dlq.url,
          Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
        }),
      );
      moved += Messages.length;
    }
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    await Promise.allSettled(this.pollers);
    this.client?.destroy();
    await this.server?.stop();
    this.restoreDns?.();
  }
}
