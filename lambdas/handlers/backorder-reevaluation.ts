import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import * as z from 'zod/mini';
import { EVENT_CATALOGUE, parseDetail, parseEvent } from '../../contracts/events.ts';
import { IsoDateTime, OrderId, SiteId, Sku } from '../../contracts/order.ts';
import { parseWith } from '../../contracts/validation.ts';
import { DynamoBackorderBook } from '../adapters/aws/dynamo-backorder-book.ts';
import { EventBackorderNotices } from '../adapters/aws/eventbridge-backorder-notices.ts';
import { ConfiguredBackorderRules } from '../adapters/config/backorder-rules.ts';
import { WmsClient } from '../adapters/wms/wms-client.ts';
import { dynamoDb } from '../shared/aws-clients.ts';
import { systemClock } from '../shared/clock.ts';
import { readConfig } from '../shared/config.ts';
import { InvalidStepInput } from '../shared/errors.ts';
import { correlate, createLogger } from '../shared/logger.ts';
import { eventPublisher, orderRepository, partnerClient } from '../shared/wiring.ts';
import {
  type FillDeps,
  fillBackorder,
  InventoryReceivedDetail,
  type RecordDeps,
  type ReevaluateDeps,
  recordBackorders,
  reevaluateOnReceipt,
  type SweepDeps,
  sweepAged,
} from '../use-cases/backorder-reevaluation.ts';

const logger = createLogger();

export type BackorderHandlerDeps = ReevaluateDeps & FillDeps & SweepDeps & RecordDeps;

/** What the backorder-reevaluation workflow sends each step (the Map sends one `fill` per planned fill). */
const StepInput = z.discriminatedUnion('action', [
  z.strictObject({ action: z.literal('reevaluate'), receipt: InventoryReceivedDetail }),
  z.strictObject({
    action: z.literal('fill'),
    fill: z.strictObject({
      receiptId: z.string().check(z.minLength(1), z.maxLength(80)),
      backorderId: z.string().check(z.minLength(1), z.maxLength(120)),
      orderId: OrderId,
      lineNo: z.int().check(z.gte(1)),
      sku: Sku,
      siteId: SiteId,
      quantity: z.int().check(z.gt(0)),
      complete: z.boolean(),
      remaining: z.int().check(z.gte(0)),
    }),
  }),
  // The scheduled sweep sends no sku (every aged backorder); the workflow sends the received sku.
  z.strictObject({ action: z.literal('sweep'), sku: z.optional(Sku), now: z.optional(IsoDateTime) }),
]);

const BACKORDER_CREATED = EVENT_CATALOGUE['backorder.created'].detailType;

function isEventBridgeEvent(input: unknown): boolean {
  return typeof input === 'object' && input !== null && 'detail-type' in input;
}

/**
 * One function for the backorder path: the workflow's steps (`reevaluate`, `fill`, `sweep`), the scheduled
 * sweep (`{ "action": "sweep" }`), and `backorder.created` from the bus, which opens the backorder lines.
 */
export function createLambdaHandler(deps: BackorderHandlerDeps) {
  return async (input: unknown) => {
    if (isEventBridgeEvent(input)) {
      const event = parseEvent(input);
      if (!event.ok) throw event.error;
      if (event.value.name !== 'backorder.created') {
        throw new InvalidStepInput('detail-type', `must be ${BACKORDER_CREATED} (got ${event.value.name})`);
      }
      const detail = parseDetail('backorder.created', event.value.detail);
      if (!detail.ok) throw detail.error;
      correlate(logger, { orderId: detail.value.orderId, correlationId: detail.value.correlationId });
      const result = await recordBackorders(detail.value, deps);
      logger.info('backorders opened', { ...result });
      return result;
    }

    const parsed = parseWith('backorder step input', StepInput, input);
    if (!parsed.ok) throw parsed.error;
    const step = parsed.value;
    switch (step.action) {
      case 'reevaluate': {
        const { receipt } = step;
        correlate(logger, {
          receiptId: receipt.receiptId,
          sku: receipt.sku,
          correlationId: receipt.receiptId,
        });
        const result = await reevaluateOnReceipt(receipt, deps);
        logger.info('receipt re-evaluated', {
          fillCount: result.fillCount,
          stillOpen: result.stillOpen,
          skipped: result.skipped,
          replayed: result.replayed,
        });
        return result;
      }
      case 'fill': {
        const { fill } = step;
        correlate(logger, {
          orderId: fill.orderId,
          correlationId: fill.orderId,
          backorderId: fill.backorderId,
          receiptId: fill.receiptId,
        });
        const result = await fillBackorder(fill, deps);
        logger.info('backorder fill settled', { ...result });
        return result;
      }
      case 'sweep': {
        if (step.sku) logger.appendKeys({ sku: step.sku });
        const result = await sweepAged(step.now ? new Date(step.now) : deps.clock.now(), deps, {
          ...(step.sku ? { sku: step.sku } : {}),
        });
        logger.info('aged backorders swept', {
          cancelledOrders: result.cancelledOrders.length,
          cancelledBackorders: result.cancelledBackorders.length,
          notified: result.notified.length,
          kept: result.kept,
          deferred: result.deferred.length,
        });
        return result;
      }
    }
  };
}

const config = readConfig(['ORDERS_TABLE_NAME', 'EVENT_BUS_NAME', 'WMS_BASE_URL', 'BACKORDERS_TABLE_NAME']);
const events = eventPublisher(config.EVENT_BUS_NAME);
const wms = new WmsClient(partnerClient('wms', 'WMS_BASE_URL', config.WMS_BASE_URL));
const deps: BackorderHandlerDeps = {
  orders: orderRepository(config.ORDERS_TABLE_NAME),
  inventory: wms,
  warehouse: wms,
  events,
  clock: systemClock,
  backorders: new DynamoBackorderBook(dynamoDb(), config.BACKORDERS_TABLE_NAME),
  rules: new ConfiguredBackorderRules(process.env.BACKORDER_RULES ?? '{}'),
  notices: new EventBackorderNotices(events),
};

export const lambdaHandler = createLambdaHandler(deps);

export const handler = middy(lambdaHandler).use(injectLambdaContext(logger, { resetKeys: true }));
