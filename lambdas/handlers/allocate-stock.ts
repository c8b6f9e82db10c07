import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { ErpSubstitutionClient } from '../adapters/erp/substitution-client.ts';
import { WmsClient } from '../adapters/wms/wms-client.ts';
import { businessCalendarFromEnv } from '../shared/business-calendar.ts';
import { systemClock } from '../shared/clock.ts';
import { readConfig } from '../shared/config.ts';
import { correlate, createLogger } from '../shared/logger.ts';
import { eventPublisher, exceptionRepository, orderRepository, partnerClient } from '../shared/wiring.ts';
import { type AllocateDeps, allocateStock } from '../use-cases/allocate-stock.ts';
import { orderIdOf } from './step-input.ts';

const logger = createLogger();

const config = readConfig([
  'ORDERS_TABLE_NAME',
  'EXCEPTIONS_TABLE_NAME',
  'EVENT_BUS_NAME',
  'WMS_BASE_URL',
  'ERP_BASE_URL',
]);
const calendar = businessCalendarFromEnv();
const deps: AllocateDeps = {
  orders: orderRepository(config.ORDERS_TABLE_NAME),
  inventory: new WmsClient(partnerClient('wms', 'WMS_BASE_URL', config.WMS_BASE_URL)),
  events: eventPublisher(config.EVENT_BUS_NAME),
  clock: systemClock,
  substitutes: new ErpSubstitutionClient(partnerClient('erp', 'ERP_BASE_URL', config.ERP_BASE_URL)),
  exceptions: exceptionRepository(config.EXCEPTIONS_TABLE_NAME),
  ...(calendar ? { calendar } : {}),
};

export const lambdaHandler = async (input: unknown) => {
  const orderId = orderIdOf(input);
  correlate(logger, { orderId, correlationId: orderId });
  // The single-site path passes `review: true`: it can wait for a person on a substitute that needs approval.
  const review = (input as { review?: unknown }).review === true;
  const result = await allocateStock(orderId, deps, { review });
  logger.info('stock allocated', { ...result });
  return result;
};

export const handler = middy(lambdaHandler).use(injectLambdaContext(logger, { resetKeys: true }));
