import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { SqsDeadLetterSource } from '../adapters/aws/sqs-dead-letter-source.ts';
import type { DeadLetterQueue } from '../ports/index.ts';
import { sqs } from '../shared/aws-clients.ts';
import { systemClock } from '../shared/clock.ts';
import { parseJsonConfig, readConfig } from '../shared/config.ts';
import { createLogger } from '../shared/logger.ts';
import { eventPublisher, exceptionRepository, orderRepository } from '../shared/wiring.ts';
import { type DeadLetterDeps, takeInDeadLetters } from '../use-cases/dead-letter-intake.ts';

const logger = createLogger();

const config = readConfig([
  'ORDERS_TABLE_NAME',
  'EXCEPTIONS_TABLE_NAME',
  'EVENT_BUS_NAME',
  'DEAD_LETTER_QUEUES',
]);
const isQueueList = (value: unknown): value is DeadLetterQueue[] =>
  Array.isArray(value) &&
  value.every(
    (q) =>
      typeof q === 'object' &&
      q !== null &&
      ['name', 'url', 'arn', 'feeds'].every((k) => typeof (q as Record<string, unknown>)[k] === 'string'),
  );
const deps: DeadLetterDeps = {
  queues: parseJsonConfig('DEAD_LETTER_QUEUES', config.DEAD_LETTER_QUEUES, isQueueList),
  source: new SqsDeadLetterSource(sqs()),
  exceptions: exceptionRepository(config.EXCEPTIONS_TABLE_NAME),
  orders: orderRepository(config.ORDERS_TABLE_NAME),
  events: eventPublisher(config.EVENT_BUS_NAME),
  clock: systemClock,
};

/** On a schedule: every message on a Handoff DLQ becomes an owned integration exception, once. */
export const lambdaHandler = async () => {
  const outcome = await takeInDeadLetters(deps);
  if (outcome.seen > 0) logger.info('dead letters taken in', { seen: outcome.seen, raised: outcome.raised });
  return outcome;
};

export const handler = middy(lambdaHandler).use(injectLambdaContext(logger, { clearState: true }));
