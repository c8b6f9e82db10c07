import { ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import * as z from 'zod/mini';
import type { DeadLetter, DeadLetterQueue, DeadLetterSource, FailedInvocation } from '../../ports/index.ts';

/** How long a peeked message stays hidden: shorter than the intake's period, so the DLQ reads whole again. */
const PEEK_VISIBILITY_SECONDS = 20;

/** Reads DLQ messages without deleting them (ReceiveMessage only). */
export class SqsDeadLetterSource implements DeadLetterSource {
  constructor(private readonly sqs: SQSClient) {}

  async peek(queue: DeadLetterQueue, max: number): Promise<DeadLetter[]> {
    const letters: DeadLetter[] = [];
    while (letters.length < max) {
      const { Messages = [] } = await this.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queue.url,
          MaxNumberOfMessages: Math.min(10, max - letters.length),
          VisibilityTimeout: PEEK_VISIBILITY_SECONDS,
          WaitTimeSeconds: 0,
          MessageSystemAttributeNames: ['SentTimestamp', 'ApproximateReceiveCount'],
          MessageAttributeNames: ['All'],
        }),
      );
      if (Messages.length === 0) break;
      for (const message of Messages) {
        if (!message.MessageId) continue;
        const sent = Number(message.Attributes?.SentTimestamp);
        const body = message.Body ?? '';
        const failedInvocation = failedInvocationIn(body);
        letters.push({
          messageId: message.MessageId,
          body,
          ...(Number.isFinite(sent) && sent > 0 ? { sentAt: new Date(sent).toISOString() } : {}),
          receiveCount: Number(message.Attributes?.ApproximateReceiveCount ?? 1),
          messageAttributes: Object.fromEntries(
            Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [
              name,
              value.StringValue ?? '',
            ]),
          ),
          ...(failedInvocation ? { failedInvocation } : {}),
        });
      }
    }
    return letters;
  }
}

/** A function ARN, qualified (`:$LATEST`, a version or an alias) or not. */
const FUNCTION_ARN =
  /^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:([A-Za-z0-9_-]+)(?::[A-Za-z0-9$_-]+)?$/;

/**
 * Lambda's invocation record for an asynchronous invocation that failed for good, as an on-failure
 * destination receives it (for SQS, the message body). Only what the intake and the redrive use is
 * checked; Lambda may add fields.
 */
const FailureRecord = z.looseObject({
  version: z.string(),
  requestContext: z.looseObject({
    functionArn: z.string().check(z.regex(FUNCTION_ARN)),
    condition: z.string().check(
      z.minLength(1),
      z.refine((c) => c !== 'Success'),
    ),
    approximateInvokeCount: z.number(),
  }),
  requestPayload: z.unknown(),
  responsePayload: z.optional(z.unknown()),
});

/**
 * The failed invocation a DLQ message records, when the message is a Lambda on-failure destination record
 * (`{ version, requestContext: { functionArn, condition, … }, requestPayload, responsePayload, … }`);
 * anything else (an event dead-lettered as itself, a partner message) is not one.
 */
export function failedInvocationIn(body: string): FailedInvocation | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  const record = FailureRecord.safeParse(parsed);
  if (!record.success || !('requestPayload' in record.data)) return undefined;
  const { requestContext, requestPayload, responsePayload } = record.data;
  const error = (typeof responsePayload === 'object' && responsePayload !== null ? responsePayload : {}) as {
    errorType?: unknown;
    errorMessage?: unknown;
  };
  return {
    functionArn: requestContext.functionArn,
    functionName: FUNCTION_ARN.exec(requestContext.functionArn)?.[1] ?? '',
    condition: requestContext.condition,
    approximateInvokeCount: requestContext.approximateInvokeCount,
    ...(typeof error.errorType === 'string' ? { errorType: error.errorType } : {}),
    ...(typeof error.errorMessage === 'string' ? { errorMessage: error.errorMessage } : {}),
    requestPayload: JSON.stringify(requestPayload ?? null),
  };
}
