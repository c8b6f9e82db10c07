import type { Logger } from '@aws-lambda-powertools/logger';
import type { SQSBatchItemFailure, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';

/**
 * An SQS batch whose messages are independent: handled concurrently, and a message whose handling throws
 * fails alone (partial batch response), so SQS retries it and finally moves it to the queue's DLQ.
 * Handlers quarantine what can never succeed instead of throwing, so only transient failures are retried.
 */
export async function eachMessage<T>(
  event: SQSEvent,
  logger: Logger,
  what: string,
  handle: (body: string, record: SQSRecord) => Promise<T>,
  describe: (outcome: T) => Record<string, unknown> = (outcome) => ({ outcome }),
): Promise<SQSBatchResponse> {
  const failures = await Promise.all(
    event.Records.map(async (record): Promise<SQSBatchItemFailure | undefined> => {
      try {
        const outcome = await handle(record.body, record);
        logger.info(`${what} handled`, { messageId: record.messageId, ...describe(outcome) });
        return undefined;
      } catch (error) {
        logger.error(`${what} failed; SQS will retry it`, { messageId: record.messageId, error });
        return { itemIdentifier: record.messageId };
      }
    }),
  );
  return { batchItemFailures: failures.filter((f): f is SQSBatchItemFailure => f !== undefined) };
}
