import {
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { deadLetterExceptionId } from '../lambdas/use-cases/dead-letter-intake.ts';
import type { Clients } from './commands.ts';
import { json, type Output, paint, table } from './format.ts';
import { CliError, type Resources } from './resources.ts';

export interface DeadLetterQueueInfo {
  readonly name: string;
  readonly url: string;
  readonly feeds: string;
  /** Where a redrive sends its messages: the queue they failed from. */
  readonly sourceUrl?: string;
}

async function depthOf(sqs: SQSClient, url: string): Promise<number> {
  const { Attributes = {} } = await sqs.send(
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

const sourceName = (url: string | undefined) => (url ? (url.split('/').at(-1) ?? url) : undefined);

/** `dlq list`: every DLQ, its depth (visible and in flight), what lands in it and where a redrive goes. */
export async function listDeadLetterQueues(
  resources: Resources,
  clients: Clients,
  options: { json?: boolean },
  out: Output,
): Promise<void> {
  const rows = await Promise.all(
    resources.deadLetterQueues.map(async (q) => ({ ...q, messages: await depthOf(clients.sqs, q.url) })),
  );
  if (options.json) {
    out.write(json(rows));
    return;
  }
  out.write(
    table(
      out,
      ['DLQ', 'MESSAGES', 'REDRIVES TO', 'WHAT LANDS HERE'],
      rows.map((r) => [
        r.name,
        r.messages > 0 ? paint(out, 'red', String(r.messages)) : '0',
        sourceName(r.sourceUrl) ?? '— (per target)',
        r.feeds,
      ]),
      70,
    ),
  );
  const waiting = rows.filter((r) => r.messages > 0);
  if (waiting.length > 0) {
    out.write(
      `Each message is an open integration exception (\`handoff exceptions list --team integration\`); after fixing the cause, \`handoff dlq redrive --queue <DLQ>\`.`,
    );
  }
}

/**
 * `dlq redrive`: moves each message of a DLQ back to the queue it failed from (receive, send with its
 * attributes, then delete: a crash in between re-sends, never loses), and resolves the integration exception
 * the intake raised for it, with who redrove it. DLQs fed by many targets (function failures, rule targets)
 * have no single source; the command says so and moves nothing from them.
 */
export async function redriveDeadLetters(
  resources: Resources,
  clients: Clients,
  options: { queue?: string; max?: number; by?: string; json?: boolean },
  out: Output,
): Promise<void> {
  const chosen = options.queue
    ? resources.deadLetterQueues.filter((q) => q.name === options.queue)
    : resources.deadLetterQueues;
  if (options.queue && chosen.length === 0) {
    throw new CliError(
      `No DLQ named ${options.queue}: one of ${resources.deadLetterQueues.map((q) => q.name).join(', ')} (see \`handoff dlq list\`).`,
    );
  }
  const by = options.by ?? process.env.HANDOFF_OPERATOR ?? process.env.USER ?? 'handoff-cli';
  const max = options.max ?? 1000;
  const report: { queue: string; moved: number; to?: string; skipped?: string }[] = [];
  for (const queue of chosen) {
    if (!queue.sourceUrl) {
      const waiting = await depthOf(clients.sqs, queue.url);
      if (waiting > 0 || options.queue) {
        report.push({
          queue: queue.name,
          moved: 0,
          skipped: `its messages come from many targets, each redriven on its own: read the payload and cause in their exceptions and resend through the owning path`,
        });
      }
      continue;
    }
    let moved = 0;
    // Messages the intake just peeked are in flight for a few seconds: wait for them (long polls) while the
    // queue still holds any, for at most half a minute without progress.
    let idleSince = Date.now();
    while (moved < max) {
      const { Messages = [] } = await clients.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queue.url,
          MaxNumberOfMessages: Math.min(10, max - moved),
          VisibilityTimeout: 60,
          WaitTimeSeconds: 2,
          MessageAttributeNames: ['All'],
        }),
      );
      if (Messages.length === 0) {
        if ((await depthOf(clients.sqs, queue.url)) === 0 || Date.now() - idleSince > 30_000) break;
        continue;
      }
      idleSince = Date.now();
      for (const message of Messages) {
        await clients.sqs.send(
          new SendMessageCommand({
            QueueUrl: queue.sourceUrl,
            MessageBody: message.Body ?? '',
            ...(message.MessageAttributes
              ? { MessageAttributes: message.MessageAttributes as Record<string, MessageAttributeValue> }
              : {}),
          }),
        );
        await clients.sqs.send(
          new DeleteMessageCommand({ QueueUrl: queue.url, ReceiptHandle: message.ReceiptHandle ?? '' }),
        );
        if (message.MessageId)
          await resolveException(resources, clients, queue, message.MessageId, by, out.now());
        moved += 1;
      }
    }
    report.push({ queue: queue.name, moved, to: sourceName(queue.sourceUrl) });
  }
  if (options.json) {
    out.write(json(report));
    return;
  }
  if (report.length === 0) {
    out.write('Every DLQ is empty: nothing to redrive.');
    return;
  }
  for (const r of report) {
    out.write(
      r.skipped
        ? `${r.queue}: not redriven: ${r.skipped}.`
        : `${r.queue}: ${r.moved} message(s) moved back to ${r.to}; their exceptions are resolved.`,
    );
  }
}

/** The intake's exception for a redriven message: resolved, with who redrove it and where to. */
async function resolveException(
  resources: Resources,
  clients: Clients,
  queue: DeadLetterQueueInfo,
  messageId: string,
  by: string,
  now: Date,
): Promise<void> {
  const at = now.toISOString();
  const reason = `redriven from ${queue.name} to ${sourceName(queue.sourceUrl)}`;
  try {
    await clients.documents.send(
      new UpdateCommand({
        TableName: resources.exceptionsTable,
        Key: { pk: deadLetterExceptionId(queue.name, messageId) },
        UpdateExpression:
          'SET #state = :resolved, ownerState = :ownerState, resolution = :resolution, audit = list_append(audit, :entry)',
        ConditionExpression: 'attribute_exists(pk) AND #state = :open',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: {
          ':resolved': 'resolved',
          ':open': 'open',
          ':ownerState': 'integration#resolved',
          ':resolution': { outcome: 'release', decidedBy: by, decidedAt: at, reason, tier: 0 },
          ':entry': [{ at, actor: by, action: 'redriven', why: reason }],
        },
      }),
    );
  } catch (error) {
    // Not taken in yet (the intake runs every minute), or already resolved: the redrive itself stands.
    if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
  }
}
