import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { ErpCreditClient } from '../adapters/erp/credit-client.ts';
import { systemClock } from '../shared/clock.ts';
import { readConfig } from '../shared/config.ts';
import { correlate, createLogger } from '../shared/logger.ts';
import { eventPublisher, exceptionRepository, orderRepository, partnerClient } from '../shared/wiring.ts';
import { type CreditDeps, checkCredit } from '../use-cases/check-credit.ts';
import { orderIdOf } from './step-input.ts';

const logger = createLogger();

const config = readConfig(['ORDERS_TABLE_NAME', 'EXCEPTIONS_TABLE_NAME', 'EVENT_BUS_NAME', 'ERP_BASE_URL']);
const deps: CreditDeps = {
  orders: orderRepository(config.ORDERS_TABLE_NAME),
  exceptions: exceptionRepository(config.EXCEPTIONS_TABLE_NAME),
  events: eventPublisher(config.EVENT_BUS_NAME),
  credit: new ErpCreditClient(partnerClient('erp', 'ERP_BASE_URL', config.ERP_BASE_URL)),
  clock: systemClock,
};

export const lambdaHandler = async (input: unknown) => {
  const orderId = orderIdOf(input);
  correlate(logger, { orderId, correlationId: orderId });
  const result = await checkCredit(orderId, deps);
  logger.info('credit decided', { ...result });
  return result;
};

export const handler = middy(lambdaHandler).use(injectLambdaContext(logger, { resetKeys: true }));
