import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { DynamoProcessLog } from '../adapters/aws/dynamo-process-log.ts';
import { toProcessEvent } from '../core/scorecard.ts';
import { dynamoDb } from '../shared/aws-clients.ts';
import { readConfig } from '../shared/config.ts';
import { InvalidStepInput } from '../shared/errors.ts';
import { createLogger } from '../shared/logger.ts';

const logger = createLogger();
const config = readConfig(['PROCESS_LOG_TABLE_NAME']);
const log = new DynamoProcessLog(dynamoDb(), config.PROCESS_LOG_TABLE_NAME);

/**
 * Every canonical event on the fulfilment bus (an EventBridge rule, asynchronous: failures retry, then go
 * to the rule-target DLQ) → one compact record in the process log the scorecard reads. A redelivery
 * overwrites the same item (keyed by the event id), so it is safe to deliver twice.
 */
export const lambdaHandler = async (event: unknown) => {
  const envelope = (event ?? {}) as Record<string, unknown>;
  for (const field of ['id', 'time', 'detail-type'] as const) {
    if (typeof envelope[field] !== 'string' || envelope[field] === '') {
      throw new InvalidStepInput(field, 'required: an EventBridge event carries it as a non-empty string');
    }
  }
  const record = toProcessEvent(envelope as Parameters<typeof toProcessEvent>[0]);
  if (!record) {
    // The rule matches Handoff's sources only; a detail type the contracts do not know is a publisher bug.
    logger.warn('not a canonical event; not logged', {
      detailType: envelope['detail-type'],
      id: envelope.id,
    });
    return { recorded: false };
  }
  logger.appendKeys({ orderId: record.orderId });
  await log.record([record]);
  return { recorded: true, name: record.name };
};

export const handler = middy(lambdaHandler).use(injectLambdaContext(logger, { clearState: true }));
