import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { WmsClient } from '../adapters/wms/wms-client.ts';
import { systemClock } from '../shared/clock.ts';
import { readConfig } from '../shared/config.ts';
import { correlate, createLogger } from '../shared/logger.ts';
import { eventPublisher, orderRepository, partnerClient } from '../shared/wiring.ts';
import { type ReleaseDeps, releaseToWarehouse } from '../use-cases/release-to-warehouse.ts';
import { orderIdOf } from './step-input.ts';

const logger = createLogger();

const config = readConfig(['ORDERS_TABLE_NAME', 'EVENT_BUS_NAME', 'WMS_BASE_URL']);
const deps: ReleaseDeps = {
  orders: orderRepository(config.ORDERS_TABLE_NAME),
  warehouse: new WmsClient(partnerClient('wms', 'WMS_BASE_URL', config.WMS_BASE_URL)),
  events: eventPublisher(config.EVENT_BUS_NAME),
  clock: systemClock,
};

export const lambdaHandler = async (input: unknown) => {
  const orderId = orderIdOf(input);
  correlate(logger, { orderId, correlationId: orderId });
  const immediate = (input as { immediate?: unknown }).immediate === true;
  const result = await releaseToWarehouse(orderId, deps, { immediate });
  logger.info('release decided', { ...result });
  return result;
};

export const handler = middy(lambdaHandler).use(injectLambdaContext(logger, { resetKeys: true }));
