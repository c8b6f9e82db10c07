import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { ErpItemClient } from '../adapters/erp/item-client.ts';
import { systemClock } from '../shared/clock.ts';
import { readConfig } from '../shared/config.ts';
import { createLogger } from '../shared/logger.ts';
import { eachMessage } from '../shared/sqs-batch.ts';
import { eventPublisher, exceptionRepository, partnerClient } from '../shared/wiring.ts';
import { announceWmsMessage, type WmsFeedDeps } from '../use-cases/partner-feeds.ts';

const logger = createLogger();

const config = readConfig(['EXCEPTIONS_TABLE_NAME', 'EVENT_BUS_NAME', 'ERP_BASE_URL']);
const deps: WmsFeedDeps = {
  exceptions: exceptionRepository(config.EXCEPTIONS_TABLE_NAME),
  events: eventPublisher(config.EVENT_BUS_NAME),
  clock: systemClock,
  // The item master, cached per container: a receipt of an unknown item is quarantined, not announced.
  items: new ErpItemClient(partnerClient('erp', 'ERP_BASE_URL', config.ERP_BASE_URL)),
};

/**
 * The WMS's outbound feed (SQS): put-aways become inventory.received, which re-evaluates backorders; a
 * message Handoff cannot read is quarantined as an integration exception with its payload.
 */
export const lambdaHandler = (event: SQSEvent): Promise<SQSBatchResponse> =>
  eachMessage(
    event,
    logger,
    'wms message',
    (body) => announceWmsMessage(body, deps),
    (outcome) => ({ ...outcome }),
  );

export const handler = middy(lambdaHandler).use(injectLambdaContext(logger, { resetKeys: true }));
