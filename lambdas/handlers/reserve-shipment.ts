import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { WmsClient } from '../adapters/wms/wms-client.ts';
import type { AllocatedLine } from '../core/allocation.ts';
import { readConfig } from '../shared/config.ts';
import { InvalidStepInput } from '../shared/errors.ts';
import { correlate, createLogger } from '../shared/logger.ts';
import { partnerClient } from '../shared/wiring.ts';
import { reserveShipment } from '../use-cases/split-allocation.ts';
import { orderIdOf } from './step-input.ts';

const logger = createLogger();

const config = readConfig(['WMS_BASE_URL']);
const inventory = new WmsClient(partnerClient('wms', 'WMS_BASE_URL', config.WMS_BASE_URL));

/** One iteration of the split path's Map: reserves one facility's shipment at the WMS. No table access. */
export const lambdaHandler = async (input: unknown) => {
  const orderId = orderIdOf(input);
  const { siteId, lines } = input as { siteId?: unknown; lines?: AllocatedLine[] };
  if (typeof siteId !== 'string' || siteId === '') {
    throw new InvalidStepInput('siteId', 'must name the facility to reserve at');
  }
  correlate(logger, { orderId, correlationId: orderId, siteId });
  const result = await reserveShipment({ orderId, siteId, lines: lines ?? [] }, { inventory });
  logger.info('shipment reserved', { ...result });
  return result;
};

export const handler = middy(lambdaHandler).use(injectLambdaContext(logger, { resetKeys: true }));
