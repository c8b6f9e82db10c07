import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { ErpSubstitutionClient } from '../adapters/erp/substitution-client.ts';
import { WmsClient } from '../adapters/wms/wms-client.ts';
import { systemClock } from '../shared/clock.ts';
import { readConfig } from '../shared/config.ts';
import { createLogger } from '../shared/logger.ts';
import { eventPublisher, orderRepository, partnerClient } from '../shared/wiring.ts';
import { type AllocateDeps, allocateStock } from '../use-cases/allocate-stock.ts';
import { orderIdOf } from './step-input.ts';

const logger = createLogger();

const config = readConfig(['ORDERS_TABLE_NAME', 'EVENT_BUS_NAME', 'WMS_BASE_URL', 'ERP_BASE_URL']);
const deps: AllocateDeps = {
  orders: orderRepository(config.ORDERS_TABLE_NAME),
  inventory: new WmsClient(partnerClient('wms', 'WMS_BASE_URL', config.WMS_BASE_URL)),
  events: eventPublisher(config.EVENT_BUS_NAME),
  clock: systemClock,
  substitutes: new ErpSubstitutionClient(partnerClient('erp', 'ERP_BASE_URL', config.ERP_BASE_URL)),
};

export const lambdaHandler = async (input: unknown) => {
  const orderId = orderIdOf(input);
  logger.appendKeys({ orderId, correlationId: orderId });
  const result = await allocateStock(orderId, deps);
  logger.info('stock allocated', { ...result });
  return result;
};

export const handler = middy(lambdaHandler).use(injectLambdaContext(logger, { resetKeys: true }));
