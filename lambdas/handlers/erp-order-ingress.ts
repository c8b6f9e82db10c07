import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { SQSBatchItemFailure, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { systemClock } from '../shared/clock.ts';
import { readConfig } from '../shared/config.ts';
import { createLogger } from '../shared/logger.ts';
import { eventPublisher, exceptionRepository, orderRepository } from '../shared/wiring.ts';
import { type IngestDeps, ingestErpOrder } from '../use-cases/ingest-erp-order.ts';

const logger = createLogger();

const config = readConfig(['ORDERS_TABLE_NAME', 'EXCEPTIONS_TABLE_NAME', 'EVENT_BUS_NAME']);
const deps: IngestDeps = {
  orders: orderRepository(config.ORDERS_TABLE_NAME),
  exceptions: exceptionRepository(config.EXCEPTIONS_TABLE_NAME),
  events: eventPublisher(config.EVENT_BUS_NAME),
  clock: systemClock,
};

/**
 * ERP sales orders from the ingress queue. Invalid orders are quarantined (the message succeeds: it is
 * kept as an exception, not retried); transient failures fail only their own message, which SQS retries
 * and finally moves to the DLQ.
 */
export const lambdaHandler = async (event: SQSEvent): Promise<SQSBatchResponse> => {
  // Records are independent orders: ingest them concurrently; each failure fails only its own message.
  const outcomes = await Promise.all(
    event.Records.map(async (record): Promise<SQSBatchItemFailure | undefined> => {
      try {
        const outcome = await ingestErpOrder(record.body, deps);
        logger.info('erp order ingested', { messageId: record.messageId, ...outcome, violations: undefined });
        if (outcome.kind === 'quarantined') {
          logger.warn('erp order quarantined', {
            orderId: outcome.orderId,
            exceptionId: outcome.exceptionId,
            violations: outcome.violations,
          });
        }
        return undefined;
      } catch (error) {
        logger.error('erp order ingestion failed; SQS will retry', { messageId: record.messageId, error });
        return { itemIdentifier: record.messageId };
      }
    }),
  );
  return { batchItemFailures: outcomes.filter((f): f is SQSBatchItemFailure => f !== undefined) };
};

export const handler = middy(lambdaHandler).use(injectLambdaContext(logger));
