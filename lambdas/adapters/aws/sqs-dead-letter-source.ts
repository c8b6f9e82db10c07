import { ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { DeadLetter, DeadLetterQueue, DeadLetterSource } from '../../ports/index.ts';

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
        letters.push({
          messageId: message.MessageId,
          body: message.Body ?? '',
          ...(Number.isFinite(sent) && sent > 0 ? { sentAt: new Date(sent).toISOString() } : {}),
          receiveCount: Number(message.Attributes?.ApproximateReceiveCount ?? 1),
          messageAttributes: Object.fromEntries(
            Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [
              name,
              value.StringValue ?? '',
            ]),
          ),
        });
      }
    }
    return letters;
  }
}
