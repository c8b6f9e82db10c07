import { InvokeCommand } from '@aws-sdk/client-lambda';
import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import {
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  type Message,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { failedInvocationIn } from '../lambdas/adapters/aws/sqs-dead-letter-source.ts';
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

/**
 * The DLQs whose messages came from many places, each redriven to where it failed: the function-failure
 * queue (Lambda on-failure records, each naming its function) and the rule-target queue (events a rule
 * could not deliver, each naming its target). Every other DLQ has one source queue.
 */
const PER_MESSAGE_REDRIVE: Readonly<
  Record<string, { readonly listed: string; readonly to: string; readonly plan: (message: Message) => Plan }>
> = {
  FunctionFailureDlq: {
    listed: '— (the function that failed)',
    to: 'the functions that failed',
    plan: functionFailurePlan,
  },
  RuleTargetDlq: {
    listed: "— (the rule's target)",
    to: 'the rule targets they failed to reach',
    plan: ruleTargetPlan,
  },
};

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
        sourceName(r.sourceUrl) ?? PER_MESSAGE_REDRIVE[r.name]?.listed ?? '— (not redrivable)',
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
 * `dlq redrive`: sends each message of a DLQ back to where it failed (receive, resend, then delete: a crash
 * in between re-sends, never loses), and resolves the integration exception the intake raised for it, with
 * who redrove it and where to. A source-queue DLQ's messages go back to that queue; a function failure
 * re-invokes its function; an undelivered rule event goes to its target again. A message that cannot be
 * redriven stays on its DLQ, counted as kept with the reason.
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
  const report: RedriveReport[] = [];
  for (const queue of chosen) {
    const perMessage = PER_MESSAGE_REDRIVE[queue.name];
    const { sourceUrl } = queue;
    if (!perMessage && !sourceUrl) {
      if ((await depthOf(clients.sqs, queue.url)) > 0 || options.queue) {
        report.push({
          queue: queue.name,
          moved: 0,
          skipped:
            'no redrive is known for it: read the payload and cause in its exceptions and resend through the owning path',
        });
      }
      continue;
    }
    const redrive = perMessage ?? {
      to: sourceName(sourceUrl) ?? '',
      plan: (message: Message) => toSourceQueue(message, sourceUrl ?? ''),
    };
    const outcome = await redriveEach(
      resources,
      clients,
      queue,
      { max, by, now: out.now() },
      redrive.to,
      redrive.plan,
    );
    // The queue named is always reported; of all queues, those that held something.
    if (outcome.moved > 0 || outcome.kept || options.queue) report.push(outcome);
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
        : `${r.queue}: ${r.moved} message(s) ${PER_MESSAGE_REDRIVE[r.queue] ? 'redriven' : 'moved back'} to ${r.to}${r.moved > 0 ? '; their exceptions are resolved' : ''}.${r.kept ? ` ${r.kept} kept: ${r.keptWhy}.` : ''}`,
    );
  }
}

interface RedriveReport {
  readonly queue: string;
  readonly moved: number;
  readonly to?: string;
  readonly skipped?: string;
  readonly kept?: number;
  readonly keptWhy?: string;
}

/** What to do with one DLQ message: send it back (to `to`), or keep it on the DLQ for a reason. */
type Plan =
  | { readonly to: string; readonly send: (clients: Clients) => Promise<void> }
  | { readonly keep: string };

/**
 * Receives every message of the DLQ once (up to `max`) and carries out its plan: a message sent back is
 * deleted and its exception resolved; a kept one stays (hidden for the visibility timeout, then back).
 * Messages the intake just peeked are in flight for a few seconds: it waits for them (long polls) while the
 * queue holds more than it kept, for at most half a minute without progress.
 */
async function redriveEach(
  resources: Resources,
  clients: Clients,
  queue: DeadLetterQueueInfo,
  run: { readonly max: number; readonly by: string; readonly now: Date },
  to: string,
  plan: (message: Message) => Plan,
): Promise<RedriveReport> {
  const { max, by, now } = run;
  let moved = 0;
  let kept = 0;
  const reasons = new Set<string>();
  const seen = new Set<string>();
  let idleSince = Date.now();
  while (moved + kept < max) {
    const { Messages = [] } = await clients.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queue.url,
        MaxNumberOfMessages: Math.min(10, max - moved - kept),
        VisibilityTimeout: 60,
        WaitTimeSeconds: 2,
        MessageAttributeNames: ['All'],
      }),
    );
    const fresh = Messages.filter((m) => !seen.has(m.MessageId ?? ''));
    if (fresh.length === 0) {
      if ((await depthOf(clients.sqs, queue.url)) <= kept || Date.now() - idleSince > 30_000) break;
      continue;
    }
    idleSince = Date.now();
    for (const message of fresh) {
      seen.add(message.MessageId ?? '');
      const next = plan(message);
      if ('keep' in next) {
        kept += 1;
        reasons.add(next.keep);
        continue;
      }
      await next.send(clients);
      await clients.sqs.send(
        new DeleteMessageCommand({ QueueUrl: queue.url, ReceiptHandle: message.ReceiptHandle ?? '' }),
      );
      if (message.MessageId) {
        await resolveException(resources, clients, queue, message.MessageId, by, now, next.to);
      }
      moved += 1;
    }
  }
  return {
    queue: queue.name,
    moved,
    to,
    ...(kept > 0 ? { kept, keptWhy: [...reasons].join('; ') } : {}),
  };
}

/** A message of a source-queue DLQ: back to its queue as it was, with its attributes. */
function toSourceQueue(message: Message, sourceUrl: string): Plan {
  return {
    to: sourceName(sourceUrl) ?? sourceUrl,
    send: async (clients) => {
      await clients.sqs.send(
        new SendMessageCommand({
          QueueUrl: sourceUrl,
          MessageBody: message.Body ?? '',
          ...(message.MessageAttributes
            ? { MessageAttributes: message.MessageAttributes as Record<string, MessageAttributeValue> }
            : {}),
        }),
      );
    },
  };
}

/**
 * A function-failure message is Lambda's on-failure record: the function it names is invoked again,
 * asynchronously as the first time (so its retries and on-failure destination apply again), with the
 * event the record kept. A message that is not such a record (one a Lambda DeadLetterConfig sent, which
 * names no function) is kept.
 */
function functionFailurePlan(message: Message): Plan {
  const invocation = failedInvocationIn(message.Body ?? '');
  if (!invocation) {
    return {
      keep: 'not a Lambda on-failure record (no function named): resend its payload, kept on its exception, through the owning path',
    };
  }
  return {
    to: invocation.functionName,
    send: async (clients) => {
      await clients.lambda.send(
        new InvokeCommand({
          // `$LATEST` is what the unqualified ARN runs; an alias or version qualifier is kept.
          FunctionName: invocation.functionArn.replace(/:\$LATEST$/, ''),
          InvocationType: 'Event',
          Payload: Buffer.from(invocation.requestPayload),
        }),
      );
    },
  };
}

/**
 * The rule-target DLQ: each message is an event a rule could not deliver, with the rule and target in its
 * attributes (RULE_ARN, TARGET_ARN). A redrive delivers the event to that target again, as the rule would
 * have: an asynchronous Lambda invoke, a state machine execution, or an SQS message. A scheduled event is
 * not redriven (the schedule's next run makes up a missed one) and stays, as does a message without a
 * target: both are counted as kept, with the reason.
 */
function ruleTargetPlan(message: Message): Plan {
  const target = message.MessageAttributes?.TARGET_ARN?.StringValue ?? '';
  const body = message.Body ?? '';
  let source = '';
  try {
    source = String((JSON.parse(body) as { source?: unknown }).source ?? '');
  } catch {
    // Not an event: kept below.
  }
  const why = !target
    ? 'no TARGET_ARN attribute: not a rule delivery'
    : source === 'aws.events'
      ? 'a scheduled run: the next run of its schedule makes it up'
      : !/^arn:aws:(lambda|states|sqs):/.test(target)
        ? `target ${target} is not a Lambda function, state machine or queue`
        : undefined;
  if (why) return { keep: why };
  return { to: targetName(target), send: (clients) => deliver(clients, target, body) };
}

const targetName = (arn: string) => arn.split(':').at(-1) ?? arn;

/** One event to one rule target, as EventBridge delivers it (Lambda asynchronously). */
async function deliver(clients: Clients, target: string, body: string): Promise<void> {
  if (target.startsWith('arn:aws:lambda:')) {
    await clients.lambda.send(
      new InvokeCommand({ FunctionName: target, InvocationType: 'Event', Payload: Buffer.from(body) }),
    );
  } else if (target.startsWith('arn:aws:states:')) {
    await clients.sfn.send(new StartExecutionCommand({ stateMachineArn: target, input: body }));
  } else {
    const [, , , , account, name] = target.split(':');
    const { QueueUrl } = await clients.sqs.send(
      new GetQueueUrlCommand({ QueueName: name ?? '', QueueOwnerAWSAccountId: account }),
    );
    await clients.sqs.send(new SendMessageCommand({ QueueUrl: QueueUrl ?? '', MessageBody: body }));
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
  to: string,
): Promise<void> {
  const at = now.toISOString();
  const reason = `redriven from ${queue.name} to ${to}`;
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
