import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { ErpItemClient } from '../adapters/erp/item-client.ts';
import { CarrierClient } from '../adapters/tms/carrier-client.ts';
import { systemClock } from '../shared/clock.ts';
import { readConfig, requireHttpUrl } from '../shared/config.ts';
import { correlate, createLogger } from '../shared/logger.ts';
import { eventPublisher, orderRepository, partnerClient } from '../shared/wiring.ts';
import { type BookingDeps, bookPremiumCarrier } from '../use-cases/book-carrier.ts';
import { orderIdOf } from './step-input.ts';

const logger = createLogger();

const config = readConfig(['ORDERS_TABLE_NAME', 'EVENT_BUS_NAME', 'TMS_BASE_URL', 'ERP_BASE_URL']);
const deps: BookingDeps = {
  orders: orderRepository(config.ORDERS_TABLE_NAME),
  // The TMS token comes from the environment (a secret at deploy time), never from code.
  carrier: new CarrierClient({
    baseUrl: requireHttpUrl('TMS_BASE_URL', config.TMS_BASE_URL),
    bearerToken: process.env.TMS_API_KEY ?? '',
    timeoutMs: Number(process.env.PARTNER_TIMEOUT_MS ?? 3000),
  }),
  items: new ErpItemClient(partnerClient('erp', 'ERP_BASE_URL', config.ERP_BASE_URL)),
  events: eventPublisher(config.EVENT_BUS_NAME),
  clock: systemClock,
};

/** The expedited path's premium carrier booking (TMS adapter: rate, choose, book). */
export const lambdaHandler = async (input: unknown) => {
  const orderId = orderIdOf(input);
  correlate(logger, { orderId, correlationId: orderId });
  const result = await bookPremiumCarrier(orderId, deps);
  logger.info('premium carrier booked', { ...result });
  return result;
};

export const handler = middy(lambdaHandler).use(injectLambdaContext(logger, { resetKeys: true }));
