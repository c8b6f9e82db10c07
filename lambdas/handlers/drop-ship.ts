import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { ErpItemClient } from '../adapters/erp/item-client.ts';
import { parseShipNotice, VendorClient } from '../adapters/vendor/vendor-client.ts';
import { systemClock } from '../shared/clock.ts';
import { readConfig } from '../shared/config.ts';
import { HandoffError } from '../shared/errors.ts';
import { createLogger } from '../shared/logger.ts';
import { eventPublisher, exceptionRepository, orderRepository, partnerClient } from '../shared/wiring.ts';
import { confirmVendorShipment, type DropShipDeps, placeVendorOrders } from '../use-cases/drop-ship.ts';
import { orderIdOf } from './step-input.ts';

/**
 * The drop-ship function, chosen by `action`:
 *
 * - (none)  `{ orderId }` from the path: places the purchase orders and hands the order to its vendors
 * - `asn`   `{ action, message }` with a vendor's advance ship notice: announced as shipment.confirmed
 *
 * One function: both speak to the same order record and the vendor contract, and an ASN is rare next to
 * the path's calls, so a function of its own would mostly be a cold start.
 */

/** An ASN Handoff cannot match to a purchase order it placed. Permanent: the invoker's DLQ holds it. */
export class ShipNoticeRefused extends HandoffError {
  override readonly name = 'ShipNoticeRefused';
  readonly retryable = false;
}

const logger = createLogger();

const config = readConfig([
  'ORDERS_TABLE_NAME',
  'EXCEPTIONS_TABLE_NAME',
  'EVENT_BUS_NAME',
  'ERP_BASE_URL',
  'VENDOR_BASE_URL',
]);

const deps: DropShipDeps = {
  orders: orderRepository(config.ORDERS_TABLE_NAME),
  sourcing: new ErpItemClient(partnerClient('erp', 'ERP_BASE_URL', config.ERP_BASE_URL)),
  // The vendor credential, when there is one, comes from VENDOR_API_KEY (a secret at deploy time).
  vendors: new VendorClient(partnerClient('vendor', 'VENDOR_BASE_URL', config.VENDOR_BASE_URL)),
  exceptions: exceptionRepository(config.EXCEPTIONS_TABLE_NAME),
  events: eventPublisher(config.EVENT_BUS_NAME),
  clock: systemClock,
};

/** The step function for the given dependencies (exported so tests can run it against fakes). */
export function dropShipStep(stepDeps: DropShipDeps) {
  return async (input: unknown) => {
    if ((input as { action?: unknown } | null)?.action === 'asn') {
      const notice = parseShipNotice((input as { message?: unknown }).message);
      logger.appendKeys({ orderId: notice.orderId, correlationId: notice.orderId });
      const result = await confirmVendorShipment(notice, stepDeps);
      if (result.outcome === 'refused') throw new ShipNoticeRefused(`${result.reason}: ${result.message}`);
      logger.info('vendor shipment confirmed', { ...result });
      return result;
    }
    const orderId = orderIdOf(input);
    logger.appendKeys({ orderId, correlationId: orderId });
    const result = await placeVendorOrders(orderId, stepDeps);
    logger.info(result.outcome === 'handed-to-vendor' ? 'handed to vendors' : 'vendor exception raised', {
      ...result,
    });
    return result;
  };
}

export const lambdaHandler = dropShipStep(deps);

export const handler = middy(lambdaHandler).use(injectLambdaContext(logger, { resetKeys: true }));
