import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { SQSBatchItemFailure, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import * as z from 'zod/mini';
import { parseDetail, parseEvent } from '../../contracts/events.ts';
import { OrderId } from '../../contracts/order.ts';
import { parseWith } from '../../contracts/validation.ts';
import { DynamoEdiStore } from '../adapters/aws/dynamo-edi-store.ts';
import { configuredTradingPartners, interchangeIdOf } from '../adapters/config/edi-trading-partners.ts';
import { EdiGatewayClient } from '../adapters/edi/edi-gateway-client.ts';
import { ErpItemClient } from '../adapters/erp/item-client.ts';
import { dynamoDb } from '../shared/aws-clients.ts';
import { systemClock } from '../shared/clock.ts';
import { readConfig, requireHttpUrl } from '../shared/config.ts';
import { ConfigurationError, InvalidStepInput } from '../shared/errors.ts';
import { correlate, createLogger } from '../shared/logger.ts';
import { eventPublisher, exceptionRepository, orderRepository, partnerClient } from '../shared/wiring.ts';
import {
  acknowledgePurchaseOrder,
  type EdiDeps,
  ingest850,
  sendAdvanceShipNotice,
  sendEdiInvoice,
} from '../use-cases/edi-replenishment.ts';

/**
 * The EDI retail replenishment function, for three callers:
 *
 * - the EDI inbound queue (SQS batch): each message one X12 850 interchange, as raw text or as the gateway's
 *   inbound document JSON (`{ "text": "ISA*…" }`); a rejected interchange is quarantined and the message
 *   succeeds, an outage fails only its own message (SQS retries, then the DLQ);
 * - the edi-retail-replenishment path: `{ "action": "acknowledge", "orderId" }` sends the 855;
 * - EventBridge rules: `shipment.confirmed` sends the 856 and `invoice.issued` the 810 (non-EDI orders are
 *   ignored); the same as `{ "action": "advance-ship-notice" | "invoice", "detail" }` for a rule with an
 *   input transformer or a manual redrive.
 */

const logger = createLogger();

// ---------------------------------------------------------------------------------------------------------
// Handler
// ---------------------------------------------------------------------------------------------------------

const StepInput = z.discriminatedUnion('action', [
  z.strictObject({ action: z.literal('acknowledge'), orderId: OrderId }),
  z.strictObject({ action: z.literal('advance-ship-notice'), detail: z.unknown() }),
  z.strictObject({ action: z.literal('invoice'), detail: z.unknown() }),
]);

/** The gateway's inbound document, when the queue carries it rather than the bare interchange. */
const InboundDocument = z.looseObject({ text: z.string().check(z.minLength(1)) });

function isSqsEvent(input: unknown): input is SQSEvent {
  return Array.isArray((input as { Records?: unknown } | null)?.Records);
}

function isEventBridgeEvent(input: unknown): boolean {
  return typeof input === 'object' && input !== null && 'detail-type' in input;
}

/** The interchange in a queue message; anything unreadable goes to the parser as is, to be quarantined. */
function interchangeOf(body: string): string {
  if (!body.trimStart().startsWith('{')) return body;
  try {
    const document = parseWith('EDI inbound document', InboundDocument, JSON.parse(body));
    return document.ok ? document.value.text : body;
  } catch {
    return body;
  }
}

export function createLambdaHandler(deps: EdiDeps) {
  const ingestBatch = async (event: SQSEvent): Promise<SQSBatchResponse> => {
    // Interchanges are independent: ingested concurrently, each failure fails only its own message.
    const failures = await Promise.all(
      event.Records.map(async (record): Promise<SQSBatchItemFailure | undefined> => {
        try {
          const outcome = await ingest850(interchangeOf(record.body), deps, record.body);
          if (outcome.kind === 'rejected') {
            logger.warn('edi interchange rejected', {
              messageId: record.messageId,
              orderId: outcome.orderId,
              exceptionId: outcome.exceptionId,
              code: outcome.code,
              errors: outcome.errors.slice(0, 10),
              acknowledgment: outcome.acknowledgment,
              alreadyQuarantined: outcome.alreadyQuarantined,
            });
          } else if (outcome.acknowledgment.sent) {
            logger.info('edi interchange accepted', { messageId: record.messageId, ...outcome });
          } else {
            logger.error('edi interchange accepted, but its 997 was not sent', {
              messageId: record.messageId,
              ...outcome,
            });
          }
          return undefined;
        } catch (error) {
          logger.error('edi interchange ingestion failed; SQS will retry', {
            messageId: record.messageId,
            error,
          });
          return { itemIdentifier: record.messageId };
        }
      }),
    );
    return { batchItemFailures: failures.filter((f): f is SQSBatchItemFailure => f !== undefined) };
  };

  const afterShipment = async (action: 'advance-ship-notice' | 'invoice', detail: unknown) => {
    if (action === 'advance-ship-notice') {
      const parsed = parseDetail('shipment.confirmed', detail);
      if (!parsed.ok) throw parsed.error;
      correlate(logger, { orderId: parsed.value.orderId, correlationId: parsed.value.correlationId });
      const result = await sendAdvanceShipNotice(parsed.value, deps);
      logger.info(result.kind === 'sent' ? '856 sent' : 'not an EDI order: no 856', { ...result });
      return result;
    }
    const parsed = parseDetail('invoice.issued', detail);
    if (!parsed.ok) throw parsed.error;
    correlate(logger, { orderId: parsed.value.orderId, correlationId: parsed.value.correlationId });
    const result = await sendEdiInvoice(parsed.value, deps);
    logger.info(result.kind === 'sent' ? '810 sent' : 'not an EDI order: no 810', { ...result });
    return result;
  };

  return async (input: unknown) => {
    if (isSqsEvent(input)) return ingestBatch(input);
    if (isEventBridgeEvent(input)) {
      const event = parseEvent(input);
      if (!event.ok) throw event.error;
      const { name, detail } = event.value;
      if (name === 'shipment.confirmed') return afterShipment('advance-ship-notice', detail);
      if (name === 'invoice.issued') return afterShipment('invoice', detail);
      throw new InvalidStepInput('detail-type', `must be shipment.confirmed or invoice.issued (got ${name})`);
    }
    const parsed = parseWith('EDI replenishment step input', StepInput, input);
    if (!parsed.ok) throw parsed.error;
    const step = parsed.value;
    if (step.action !== 'acknowledge') return afterShipment(step.action, step.detail);
    correlate(logger, { orderId: step.orderId, correlationId: step.orderId });
    const result = await acknowledgePurchaseOrder(step.orderId, deps);
    logger.info('855 sent', { ...result });
    return result;
  };
}

const config = readConfig([
  'ORDERS_TABLE_NAME',
  'EXCEPTIONS_TABLE_NAME',
  'EVENT_BUS_NAME',
  'EDI_BASE_URL',
  'EDI_INTERCHANGE_ID',
  'EDI_TRADING_PARTNERS',
  'ERP_BASE_URL',
]);
const usage = process.env.EDI_USAGE ?? 'P';
if (usage !== 'P' && usage !== 'T') throw new ConfigurationError(`EDI_USAGE must be P or T (got ${usage})`);
const apiKey = process.env.EDI_API_KEY;
const store = new DynamoEdiStore(dynamoDb(), config.ORDERS_TABLE_NAME);
const deps: EdiDeps = {
  orders: orderRepository(config.ORDERS_TABLE_NAME),
  exceptions: exceptionRepository(config.EXCEPTIONS_TABLE_NAME),
  events: eventPublisher(config.EVENT_BUS_NAME),
  clock: systemClock,
  partners: configuredTradingPartners('EDI_TRADING_PARTNERS', config.EDI_TRADING_PARTNERS),
  catalogue: new ErpItemClient(partnerClient('erp', 'ERP_BASE_URL', config.ERP_BASE_URL)),
  purchaseOrders: store,
  controlNumbers: store,
  gateway: new EdiGatewayClient({
    baseUrl: requireHttpUrl('EDI_BASE_URL', config.EDI_BASE_URL),
    timeoutMs: Number(process.env.PARTNER_TIMEOUT_MS ?? 3000),
    // From a secret at deploy time; the local gateway sandbox needs none.
    ...(apiKey ? { headers: { authorization: `Bearer ${apiKey}` } } : {}),
  }),
  interchangeId: interchangeIdOf('EDI_INTERCHANGE_ID', config.EDI_INTERCHANGE_ID),
  usage,
};

export const lambdaHandler = createLambdaHandler(deps);

export const handler = middy(lambdaHandler).use(injectLambdaContext(logger, { resetKeys: true }));
