import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { parseEvent } from '../../contracts/events.ts';
import { FULFILMENT_PATHS, type FulfilmentPath } from '../../contracts/vocabulary.ts';
import { SfnExecutionStarter } from '../adapters/aws/sfn-execution-starter.ts';
import { WmsClient } from '../adapters/wms/wms-client.ts';
import { stepFunctions } from '../shared/aws-clients.ts';
import { systemClock } from '../shared/clock.ts';
import { parseJsonConfig, readConfig } from '../shared/config.ts';
import { correlate, createLogger } from '../shared/logger.ts';
import { eventPublisher, orderRepository, partnerClient } from '../shared/wiring.ts';
import { type RouteDeps, type RouteOutcome, routeOrder } from '../use-cases/route-order.ts';

const logger = createLogger();

const config = readConfig(['ORDERS_TABLE_NAME', 'EVENT_BUS_NAME', 'PATH_STATE_MACHINES', 'WMS_BASE_URL']);
const isPathMap = (value: unknown): value is Partial<Record<FulfilmentPath, string>> =>
  typeof value === 'object' &&
  value !== null &&
  Object.entries(value).every(
    ([path, arn]) =>
      (FULFILMENT_PATHS as readonly string[]).includes(path) &&
      typeof arn === 'string' &&
      arn.startsWith('arn:'),
  );

const deps: RouteDeps = {
  orders: orderRepository(config.ORDERS_TABLE_NAME),
  executions: new SfnExecutionStarter(stepFunctions()),
  events: eventPublisher(config.EVENT_BUS_NAME),
  clock: systemClock,
  pathStateMachines: parseJsonConfig('PATH_STATE_MACHINES', config.PATH_STATE_MACHINES, isPathMap),
  inventory: new WmsClient(partnerClient('wms', 'WMS_BASE_URL', config.WMS_BASE_URL)),
};

/** Target of the `order.received` rule: validates the event, then routes the order to its path. */
export const lambdaHandler = async (event: unknown): Promise<RouteOutcome> => {
  const parsed = parseEvent(event);
  if (!parsed.ok) throw parsed.error;
  if (parsed.value.name !== 'order.received') {
    throw new TypeError(`route-order only handles order.received, got ${parsed.value.name}`);
  }
  const { orderId } = parsed.value.detail;
  correlate(logger, { orderId, correlationId: orderId });
  const outcome = await routeOrder(orderId, deps);
  logger.info('order routed', { ...outcome });
  return outcome;
};

export const handler = middy(lambdaHandler).use(injectLambdaContext(logger, { resetKeys: true }));
