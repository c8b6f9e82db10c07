import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { DynamoDeliveryLedger } from '../adapters/aws/dynamo-delivery-ledger.ts';
import { SecretReader, secretsManager } from '../adapters/aws/secret-reader.ts';
import { dynamoDb } from '../shared/aws-clients.ts';
import { systemClock } from '../shared/clock.ts';
import { readConfig } from '../shared/config.ts';
import { createLogger } from '../shared/logger.ts';
import { eventPublisher, exceptionRepository, orderRepository } from '../shared/wiring.ts';
import { handleTrackingWebhook, type TrackingDeps } from '../use-cases/carrier-tracking.ts';

const logger = createLogger();

const config = readConfig([
  'ORDERS_TABLE_NAME',
  'EXCEPTIONS_TABLE_NAME',
  'EVENT_BUS_NAME',
  'CARRIER_WEBHOOK_SECRET_ARN',
]);
const deps: Omit<TrackingDeps, 'secret'> = {
  orders: orderRepository(config.ORDERS_TABLE_NAME),
  events: eventPublisher(config.EVENT_BUS_NAME),
  clock: systemClock,
  // An authentic webhook answered 4xx is not resent by the TMS: it is kept as an owned exception.
  exceptions: exceptionRepository(config.EXCEPTIONS_TABLE_NAME),
  deliveries: new DynamoDeliveryLedger(dynamoDb(), config.ORDERS_TABLE_NAME),
};
/** The secret the TMS signs webhooks with, shared with it out of band; read from Secrets Manager. */
const secret = new SecretReader(secretsManager(), config.CARRIER_WEBHOOK_SECRET_ARN);

/** A Lambda function URL request, as far as the webhook reads it. */
interface UrlRequest {
  readonly headers?: Readonly<Record<string, string | undefined>>;
  readonly body?: string;
  readonly isBase64Encoded?: boolean;
}

/**
 * Carrier tracking webhooks (Lambda function URL): HMAC-authenticated over the raw bytes, then mapped to
 * shipment.* events; an authentic webhook that is refused is answered 4xx with its violations and kept as an
 * owned exception.
 */
export const lambdaHandler = async (request: UrlRequest) => {
  // The bytes as sent: a body the URL passed base64 (not a text content type) is decoded, never re-encoded.
  const rawBody = request.isBase64Encoded
    ? Buffer.from(request.body ?? '', 'base64')
    : Buffer.from(request.body ?? '', 'utf8');
  const signature = Object.entries(request.headers ?? {}).find(
    ([name]) => name.toLowerCase() === 'x-handoff-signature',
  )?.[1];
  const answer = await handleTrackingWebhook(
    { rawBody, signature },
    { ...deps, secret: await secret.value() },
  );
  logger.info('carrier webhook', {
    status: answer.status,
    outcome: answer.body.outcome,
    event: answer.body.event,
    exceptionId: answer.body.exceptionId,
    alreadyQuarantined: answer.body.alreadyQuarantined,
    violations: answer.body.violations?.slice(0, 5),
  });
  return {
    statusCode: answer.status,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(answer.body),
  };
};

export const handler = middy(lambdaHandler).use(injectLambdaContext(logger, { resetKeys: true }));
