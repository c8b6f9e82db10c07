import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { SQSEvent } from 'aws-lambda';
import { ORDER_ID_PATTERN } from '../../contracts/order.ts';
import { ContractViolation, type FieldViolation } from '../../contracts/validation.ts';
import { ErpItemClient } from '../adapters/erp/item-client.ts';
import {
  MAX_SHIP_NOTICE_BYTES,
  parseShipNotice,
  tryParseShipNotice,
  VendorClient,
} from '../adapters/vendor/vendor-client.ts';
import { systemClock } from '../shared/clock.ts';
import { readConfig } from '../shared/config.ts';
import { HandoffError } from '../shared/errors.ts';
import { correlate, createLogger } from '../shared/logger.ts';
import { eachMessage } from '../shared/sqs-batch.ts';
import { eventPublisher, exceptionRepository, orderRepository, partnerClient } from '../shared/wiring.ts';
import { confirmVendorShipment, type DropShipDeps, placeVendorOrders } from '../use-cases/drop-ship.ts';
import { jsonOf, notJson, oversize, quarantineFeedMessage } from '../use-cases/partner-feeds.ts';
import { orderIdOf } from './step-input.ts';

/**
 * The drop-ship function, chosen by `action`:
 *
 * - (none)  `{ orderId }` from the path: places the purchase orders and hands the order to its vendors
 * - `asn`   `{ action, message }` with a vendor's advance ship notice: announced as shipment.confirmed
 * - an SQS batch from the vendor ASN queue: each message one notice, confirmed or quarantined (owned by
 *   integration, payload kept); only a transient failure fails its message for SQS to retry
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
  /** One message of the vendor ASN queue: confirmed, or quarantined when Handoff cannot use it. */
  const receiveShipNotice = async (rawBody: string) => {
    const quarantine = (
      reasonCode: string,
      violations: readonly FieldViolation[],
      orderId?: string,
      recommendedAction = 'Check the ship notice with the vendor: nothing was invoiced from it. Once the vendor resends a corrected notice, the order is invoiced.',
    ) =>
      quarantineFeedMessage(
        {
          feed: 'vendor.asn',
          rawBody,
          reasonCode,
          violations,
          ...(orderId && ORDER_ID_PATTERN.test(orderId) ? { orderId } : {}),
          recommendedAction,
        },
        stepDeps,
      ).then((kept) => ({
        outcome: 'quarantined' as const,
        reasonCode,
        ...kept,
        // In the log line, so the order's trail shows the notice Handoff kept.
        ...(orderId && ORDER_ID_PATTERN.test(orderId) ? { orderId } : {}),
      }));
    const tooLarge = oversize(
      rawBody,
      MAX_SHIP_NOTICE_BYTES,
      'its shipment.confirmed carries the lines and must fit one 256 KB EventBridge event',
    );
    if (tooLarge) return quarantine('VENDOR_ASN_TOO_LARGE', [tooLarge]);
    const json = jsonOf(rawBody);
    if (!json) return quarantine('VENDOR_ASN_NOT_JSON', notJson(rawBody));
    const parsed = tryParseShipNotice(json.value);
    if (!parsed.ok) return quarantine('VENDOR_ASN_INVALID', parsed.violations);
    const { notice } = parsed;
    let result: Awaited<ReturnType<typeof confirmVendorShipment>>;
    try {
      result = await confirmVendorShipment(notice, stepDeps);
    } catch (error) {
      // Valid for the vendor contract, but not as a canonical shipment.confirmed (e.g. an over-long ASN number).
      if (error instanceof ContractViolation)
        return quarantine('VENDOR_ASN_INVALID', error.violations, notice.orderId);
      throw error;
    }
    if (result.outcome !== 'refused') return { ...result, orderId: notice.orderId };
    const path =
      result.reason === 'line-not-on-purchase-order'
        ? 'lines'
        : result.reason === 'unknown-order' || result.reason === 'order-not-released'
          ? 'buyerReference'
          : 'purchaseOrderNumber';
    return quarantine(
      `VENDOR_ASN_${result.reason.toUpperCase().replaceAll('-', '_')}`,
      [{ path, rule: result.reason, message: result.message }],
      notice.orderId,
      ...(result.reason === 'order-not-released'
        ? [
            "The vendor shipped an order Handoff had not released to it: settle the order's open exception first. If the customer takes the goods, release the order and replay this notice to invoice them; if not, arrange the return with the vendor.",
          ]
        : []),
    );
  };

  return async (input: unknown) => {
    if (Array.isArray((input as { Records?: unknown } | null)?.Records)) {
      return eachMessage(input as SQSEvent, logger, 'vendor ship notice', receiveShipNotice, (outcome) => ({
        ...outcome,
      }));
    }
    if ((input as { action?: unknown } | null)?.action === 'asn') {
      const notice = parseShipNotice((input as { message?: unknown }).message);
      correlate(logger, { orderId: notice.orderId, correlationId: notice.orderId });
      const result = await confirmVendorShipment(notice, stepDeps);
      if (result.outcome === 'refused') throw new ShipNoticeRefused(`${result.reason}: ${result.message}`);
      logger.info('vendor shipment confirmed', { ...result });
      return result;
    }
    const orderId = orderIdOf(input);
    correlate(logger, { orderId, correlationId: orderId });
    const result = await placeVendorOrders(orderId, stepDeps);
    logger.info(result.outcome === 'handed-to-vendor' ? 'handed to vendors' : 'vendor exception raised', {
      ...result,
    });
    return result;
  };
}

export const lambdaHandler = dropShipStep(deps);

export const handler = middy(lambdaHandler).use(injectLambdaContext(logger, { resetKeys: true }));
