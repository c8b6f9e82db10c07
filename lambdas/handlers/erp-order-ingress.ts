import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { SQSBatchItemFailure, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { ErpItemClient } from '../adapters/erp/item-client.ts';
import { systemClock } from '../shared/clock.ts';
import { readConfig } from '../shared/config.ts';
import { createLogger } from '../shared/logger.ts';
import { eventPublisher, exceptionRepository, orderRepository, partnerClient } from '../shared/wiring.ts';
import { type IngestDeps, ingestErpOrder } from '../use-cases/ingest-erp-order.ts';

const logger = createLogger();

const config = readConfig(['ORDERS_TABLE_NAME', 'EXCEPTIONS_TABLE_NAME', 'EVENT_BUS_NAME', 'ERP_BASE_URL']);
const deps: IngestDeps = {
  orders: orderRepository(config.ORDERS_TABLE_NAME),
  exceptions: exceptionRepository(config.EXCEPTIONS_TABLE_NAME),
  events: eventPublisher(config.EVENT_BUS_NAME),
  clock: systemClock,
  // The item master, cached per container: items an order names are checked before the order exists.
  items: new ErpItemClient(partnerClient('erp', 'ERP_BASE_URL', config.ERP_BASE_URL)),
};

/**
 * ERP sales orders from the ingress queue. Invalid orders (and orders naming items the ERP item master does
 * not know) are quarantined (the message succeeds: it is
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
