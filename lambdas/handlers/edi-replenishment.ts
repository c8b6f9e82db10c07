import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import middy from '@middy/core';
import type { SQSBatchItemFailure, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import * as z from 'zod/mini';
import { parseDetail, parseEvent } from '../../contracts/events.ts';
import { OrderId } from '../../contracts/order.ts';
import { parseWith } from '../../contracts/validation.ts';
import {
  CUSTOMER_PRIORITIES,
  CUSTOMER_SEGMENTS,
  FULFILMENT_TERMS,
  SERVICE_LEVELS,
} from '../../contracts/vocabulary.ts';
import { EdiGatewayClient } from '../adapters/edi/edi-gateway-client.ts';
import type { CatalogueItem } from '../adapters/edi/x12-850.ts';
import type { X12Party } from '../adapters/edi/x12-outbound.ts';
import { dynamoDb } from '../shared/aws-clients.ts';
import { systemClock } from '../shared/clock.ts';
import { readConfig, requireHttpUrl } from '../shared/config.ts';
import { ConfigurationError, InvalidStepInput } from '../shared/errors.ts';
import { createLogger } from '../shared/logger.ts';
import { eventPublisher, exceptionRepository, orderRepository } from '../shared/wiring.ts';
import {
  acknowledgePurchaseOrder,
  type Catalogue,
  type ControlNumberPort,
  type ControlNumberReservation,
  type EdiDeps,
  type EdiPurchaseOrder,
  type EdiPurchaseOrderStore,
  ingest850,
  sendAdvanceShipNotice,
  sendEdiInvoice,
  type TradingPartner,
  type TradingPartnerDirectory,
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
// Configuration adapters (to be moved to lambdas/adapters/config/edi-trading-partners.ts)
// ---------------------------------------------------------------------------------------------------------

const Code = z.string().check(z.minLength(1), z.maxLength(40));
const Party = z.strictObject({
  qualifier: z.string().check(z.regex(/^[A-Z0-9]{2}$/)),
  id: z.string().check(z.minLength(2), z.maxLength(15)),
});
const TradingPartnerConfig = z.strictObject({
  interchange: Party,
  applicationId: z.optional(z.string().check(z.minLength(2), z.maxLength(15))),
  profile: z.strictObject({
    customerId: z.string().check(z.regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/)),
    customerName: z.optional(z.string().check(z.minLength(1), z.maxLength(120))),
    segment: z.enum(CUSTOMER_SEGMENTS),
    priority: z.enum(CUSTOMER_PRIORITIES),
    paymentTerms: Code,
    fulfilment: z.enum(FULFILMENT_TERMS),
    currency: z.string().check(z.regex(/^[A-Z]{3}$/)),
    serviceLevel: z.optional(z.enum(SERVICE_LEVELS)),
    uomMap: z.optional(z.record(Code, Code)),
    buyerItems: z.optional(z.record(Code, Code)),
    defaultCountry: z.optional(z.string().check(z.regex(/^[A-Z]{2}$/))),
  }),
  layout: z.optional(
    z.strictObject({
      delimiters: z.optional(
        z.strictObject({
          element: z.optional(z.string().check(z.length(1))),
          segment: z.optional(z.string().check(z.length(1))),
          subElement: z.optional(z.string().check(z.length(1))),
        }),
      ),
      newlineAfterSegment: z.optional(z.boolean()),
    }),
  ),
});
const TradingPartnersConfig = z.array(TradingPartnerConfig).check(z.minLength(1));
const CatalogueConfig = z.record(
  Code,
  z.strictObject({
    unitCost: z.number().check(z.gte(0)),
    upc: z.optional(z.string().check(z.regex(/^\d{12}$/))),
  }),
);

function configJson(name: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new ConfigurationError(`${name} must be JSON`);
  }
}

/** `EDI_TRADING_PARTNERS`: a JSON array of trading partners (the TradingPartner shape), read once at load. */
export function configuredTradingPartners(name: string, text: string): TradingPartnerDirectory {
  const parsed = parseWith(name, TradingPartnersConfig, configJson(name, text));
  if (!parsed.ok) throw new ConfigurationError(parsed.error.message);
  const partners = new Map<string, TradingPartner>();
  const customers = new Set<string>();
  for (const partner of parsed.value) {
    if (partners.has(partner.interchange.id) || customers.has(partner.profile.customerId)) {
      throw new ConfigurationError(
        `${name}: interchange id ${partner.interchange.id} or customer ${partner.profile.customerId} appears twice`,
      );
    }
    partners.set(partner.interchange.id, partner);
    customers.add(partner.profile.customerId);
  }
  return { all: async () => partners };
}

/** `EDI_CATALOGUE`: JSON, SKU → `{ unitCost, upc? }`, read once at load. */
export function configuredCatalogue(name: string, text: string): Catalogue {
  const parsed = parseWith(name, CatalogueConfig, configJson(name, text));
  if (!parsed.ok) throw new ConfigurationError(parsed.error.message);
  const items: Readonly<Record<string, CatalogueItem>> = parsed.value;
  return { items: async () => items };
}

/** `EDI_INTERCHANGE_ID`: Handoff's own ISA05:ISA06, e.g. `ZZ:HANDOFFDIST`. */
export function interchangeIdOf(name: string, text: string): X12Party {
  const match = /^([A-Z0-9]{2}):(.{2,15})$/.exec(text);
  if (!match?.[1] || !match[2])
    throw new ConfigurationError(`${name} must be <qualifier>:<id>, e.g. ZZ:HANDOFFDIST`);
  return { qualifier: match[1], id: match[2] };
}

// ---------------------------------------------------------------------------------------------------------
// DynamoDB adapter (to be moved to lambdas/adapters/aws/dynamo-edi-store.ts)
// ---------------------------------------------------------------------------------------------------------

const MAX_CONTROL_NUMBER = 999_999_999;

/**
 * EDI items in the orders table, beside the order records. Purchase order references: pk = orderId,
 * sk = `EDI#PURCHASE_ORDER`, first write wins. Control numbers: pk = `EDI-PARTNER#<ISA06>` (never an order
 * id: order ids have no `#`), sk = `CONTROL#COUNTER` (an atomic counter) and `CONTROL#DOC#<document key>`
 * (one reservation per document). Two racing first reservations of one document both draw a number; the
 * loser's is left unused (a gap, which X12 allows) and it answers the winner's reservation.
 */
export class DynamoEdiStore implements EdiPurchaseOrderStore, ControlNumberPort {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async putIfAbsent(purchaseOrder: EdiPurchaseOrder): Promise<{ readonly created: boolean }> {
    return this.putOnce(purchaseOrder.orderId, 'EDI#PURCHASE_ORDER', { purchaseOrder });
  }

  async get(orderId: string): Promise<EdiPurchaseOrder | undefined> {
    const item = await this.read(orderId, 'EDI#PURCHASE_ORDER');
    return item ? (item.purchaseOrder as EdiPurchaseOrder) : undefined;
  }

  async reserve(partnerId: string, documentKey: string, at: Date): Promise<ControlNumberReservation> {
    const pk = `EDI-PARTNER#${partnerId}`;
    const sk = `CONTROL#DOC#${documentKey}`;
    const reserved = await this.read(pk, sk);
    if (reserved)
      return { controlNumber: Number(reserved.controlNumber), reservedAt: String(reserved.reservedAt) };
    const counter = await this.client.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: marshall({ pk, sk: 'CONTROL#COUNTER' }),
        UpdateExpression: 'ADD lastIssued :one',
        ExpressionAttributeValues: marshall({ ':one': 1 }),
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    const issued = Number(unmarshall(counter.Attributes ?? {}).lastIssued);
    const reservation = {
      controlNumber: ((issued - 1) % MAX_CONTROL_NUMBER) + 1,
      reservedAt: at.toISOString(),
    };
    const { created } = await this.putOnce(pk, sk, reservation);
    if (created) return reservation;
    const winner = await this.read(pk, sk);
    if (!winner) throw new Error(`control number reservation ${pk} ${sk} vanished`);
    return { controlNumber: Number(winner.controlNumber), reservedAt: String(winner.reservedAt) };
  }

  private async read(pk: string, sk: string): Promise<Record<string, unknown> | undefined> {
    const { Item } = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: marshall({ pk, sk }), ConsistentRead: true }),
    );
    return Item ? unmarshall(Item) : undefined;
  }

  private async putOnce(pk: string, sk: string, fields: object): Promise<{ readonly created: boolean }> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: marshall({ pk, sk, ...fields }, { removeUndefinedValues: true }),
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return { created: true };
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return { created: false };
      throw error;
    }
  }
}

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
          const outcome = await ingest850(interchangeOf(record.body), deps);
          if (outcome.kind === 'rejected') {
            logger.warn('edi interchange rejected', {
              messageId: record.messageId,
              orderId: outcome.orderId,
              exceptionId: outcome.exceptionId,
              code: outcome.code,
              errors: outcome.errors,
              acknowledgment: outcome.acknowledgment,
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
      logger.appendKeys({ orderId: parsed.value.orderId, correlationId: parsed.value.correlationId });
      const result = await sendAdvanceShipNotice(parsed.value, deps);
      logger.info(result.kind === 'sent' ? '856 sent' : 'not an EDI order: no 856', { ...result });
      return result;
    }
    const parsed = parseDetail('invoice.issued', detail);
    if (!parsed.ok) throw parsed.error;
    logger.appendKeys({ orderId: parsed.value.orderId, correlationId: parsed.value.correlationId });
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
    logger.appendKeys({ orderId: step.orderId, correlationId: step.orderId });
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
  'EDI_CATALOGUE',
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
  catalogue: configuredCatalogue('EDI_CATALOGUE', config.EDI_CATALOGUE),
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
