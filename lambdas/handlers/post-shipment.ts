import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { parseDetail } from '../../contracts/events.ts';
import { DynamoShipmentLedger } from '../adapters/aws/dynamo-shipment-ledger.ts';
import { CrmClient } from '../adapters/crm/crm-client.ts';
import { ErpInvoiceClient } from '../adapters/erp/invoice-client.ts';
import { dynamoDb } from '../shared/aws-clients.ts';
import { systemClock } from '../shared/clock.ts';
import { readConfig, requireHttpUrl } from '../shared/config.ts';
import { InvalidStepInput } from '../shared/errors.ts';
import { correlate, createLogger } from '../shared/logger.ts';
import { eventPublisher, exceptionRepository, orderRepository, partnerClient } from '../shared/wiring.ts';
import {
  closeIfComplete,
  invoiceShipment,
  notifyShipment,
  type PostShipmentDeps,
  recordShipment,
} from '../use-cases/post-shipment.ts';
import { orderIdOf } from './step-input.ts';

/**
 * The post-shipment workflow's four steps in one function, chosen by `action`:
 *
 * - `record`   `{ action, detail }` with the shipment.confirmed detail (validated against its contract)
 * - `invoice`  `{ action, orderId, shipmentId }`
 * - `notify`   `{ action, orderId, shipmentId }`
 * - `close`    `{ action, orderId }`
 *
 * One function rather than one per step: the four run back to back in one short Express execution, so one
 * warm instance serves the whole workflow instead of four cold starts, and the steps share the order and
 * ledger adapters. The price is that the function holds both partner configurations (ERP and CRM).
 * `record` may also resolve the step failure a shipment answers (an order parked after its release).
 */

const logger = createLogger();

const config = readConfig([
  'ORDERS_TABLE_NAME',
  'EVENT_BUS_NAME',
  'ERP_BASE_URL',
  'CRM_BASE_URL',
  'EXCEPTIONS_TABLE_NAME',
]);

const deps: PostShipmentDeps = {
  orders: orderRepository(config.ORDERS_TABLE_NAME),
  ledger: new DynamoShipmentLedger(dynamoDb(), config.ORDERS_TABLE_NAME),
  invoices: new ErpInvoiceClient(partnerClient('erp', 'ERP_BASE_URL', config.ERP_BASE_URL)),
  notifier: new CrmClient({
    baseUrl: requireHttpUrl('CRM_BASE_URL', config.CRM_BASE_URL),
    // From a secret at deploy time; the local CRM sandbox needs none.
    bearerToken: process.env.CRM_API_KEY ?? '',
    timeoutMs: Number(process.env.PARTNER_TIMEOUT_MS ?? 3000),
  }),
  events: eventPublisher(config.EVENT_BUS_NAME),
  exceptions: exceptionRepository(config.EXCEPTIONS_TABLE_NAME),
  clock: systemClock,
};

function shipmentIdOf(input: unknown): string {
  const shipmentId = (input as { shipmentId?: unknown } | null)?.shipmentId;
  if (typeof shipmentId !== 'string' || shipmentId.trim() === '' || shipmentId.length > 80) {
    throw new InvalidStepInput('shipmentId', 'must be a shipment id (1 to 80 characters)');
  }
  return shipmentId;
}

/** The step function for the given dependencies (exported so tests can run it against fakes). */
export function postShipmentStep(stepDeps: PostShipmentDeps) {
  return async (input: unknown) => {
    const action = (input as { action?: unknown } | null)?.action;
    if (action === 'record') {
      const parsed = parseDetail('shipment.confirmed', (input as { detail?: unknown }).detail);
      if (!parsed.ok) throw parsed.error;
      const { orderId, shipmentId } = parsed.value;
      correlate(logger, { orderId, correlationId: orderId, shipmentId });
      const result = await recordShipment(parsed.value, stepDeps);
      logger.info('shipment recorded', { ...result });
      return result;
    }
    const orderId = orderIdOf(input);
    correlate(logger, { orderId, correlationId: orderId });
    if (action === 'close') {
      const result = await closeIfComplete(orderId, stepDeps);
      logger.info('closing decided', { ...result });
      return result;
    }
    const shipmentId = shipmentIdOf(input);
    logger.appendKeys({ shipmentId });
    if (action === 'invoice') {
      const result = await invoiceShipment({ orderId, shipmentId }, stepDeps);
      if (result.erpAmount !== undefined && result.erpAmount !== result.total) {
        logger.warn('ERP posted a different amount than Handoff invoiced', { ...result });
      } else {
        logger.info('shipment invoiced', { ...result });
      }
      return result;
    }
    if (action === 'notify') {
      const result = await notifyShipment({ orderId, shipmentId }, stepDeps);
      logger.info(result.notified ? 'customer notified' : 'customer not notified', { ...result });
      return result;
    }
    throw new InvalidStepInput(
      'action',
      `must be 'record', 'invoice', 'notify' or 'close' (got ${String(action)})`,
    );
  };
}

export const lambdaHandler = postShipmentStep(deps);

export const handler = middy(lambdaHandler).use(injectLambdaContext(logger, { resetKeys: true }));
