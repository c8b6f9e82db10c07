import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { WmsClient } from '../adapters/wms/wms-client.ts';
import { systemClock } from '../shared/clock.ts';
import { readConfig } from '../shared/config.ts';
import { InvalidStepInput } from '../shared/errors.ts';
import { correlate, createLogger } from '../shared/logger.ts';
import { eventPublisher, orderRepository, partnerClient } from '../shared/wiring.ts';
import {
  confirmSplit,
  planSplit,
  type ShipmentReservation,
  type SplitDeps,
  type SplitPlan,
} from '../use-cases/split-allocation.ts';
import { orderIdOf } from './step-input.ts';

const logger = createLogger();

const config = readConfig(['ORDERS_TABLE_NAME', 'EVENT_BUS_NAME', 'WMS_BASE_URL']);
const deps: SplitDeps = {
  orders: orderRepository(config.ORDERS_TABLE_NAME),
  inventory: new WmsClient(partnerClient('wms', 'WMS_BASE_URL', config.WMS_BASE_URL)),
  events: eventPublisher(config.EVENT_BUS_NAME),
  clock: systemClock,
  ...(process.env.MAX_SPLIT_SITES ? { maxSites: Number(process.env.MAX_SPLIT_SITES) } : {}),
};

/**
 * The multi-site split path's planning (`plan`) and confirmation (`confirm`, after the Map has reserved
 * each facility's shipment).
 */
export const lambdaHandler = async (input: unknown) => {
  const orderId = orderIdOf(input);
  correlate(logger, { orderId, correlationId: orderId });
  const { action, plan, reservations } = input as {
    action?: unknown;
    plan?: SplitPlan;
    reservations?: ShipmentReservation[];
  };
  if (action === 'plan') {
    const result = await planSplit(orderId, deps);
    logger.info('split planned', { status: result.status, sites: result.shipments.length });
    return result;
  }
  if (action === 'confirm') {
    if (!plan || !Array.isArray(reservations)) {
      throw new InvalidStepInput('plan/reservations', 'must both be present to confirm a split');
    }
    const result = await confirmSplit({ orderId, plan, reservations }, deps);
    logger.info('split confirmed', { ...result });
    return result;
  }
  throw new InvalidStepInput('action', `must be 'plan' or 'confirm' (got ${String(action)})`);
};

export const handler = middy(lambdaHandler).use(injectLambdaContext(logger, { resetKeys: true }));
