import { DynamoExceptionRepository } from '../adapters/aws/dynamo-exception-repository.ts';
import { DynamoOrderRepository } from '../adapters/aws/dynamo-order-repository.ts';
import { EventBridgePublisher } from '../adapters/aws/eventbridge-publisher.ts';
import { withExceptionMetrics } from '../adapters/aws/metered-exception-repository.ts';
import { exceptionMetrics } from '../adapters/aws/powertools-exception-metrics.ts';
import { SfnDecisionCallbacks } from '../adapters/aws/sfn-decision-callbacks.ts';
import { PartnerClient } from '../adapters/http/partner-client.ts';
import { dynamoDb, eventBridge, stepFunctions } from './aws-clients.ts';
import { systemClock } from './clock.ts';
import { requireHttpUrl } from './config.ts';

/** Adapter factories shared by the handlers; each handler builds only the ones it uses, once, at load. */
export const orderRepository = (tableName: string) =>
  new DynamoOrderRepository(dynamoDb(), tableName, systemClock);

/** Exceptions raised and decided are counted (ExceptionsRaised, ExceptionRecoverySeconds) on the way. */
export const exceptionRepository = (tableName: string) =>
  withExceptionMetrics(new DynamoExceptionRepository(dynamoDb(), tableName), exceptionMetrics());

export const eventPublisher = (busName: string) => new EventBridgePublisher(eventBridge(), busName);

export const decisionCallbacks = () => new SfnDecisionCallbacks(stepFunctions());

/**
 * HTTP client for one partner. Credentials, when the partner needs them, come from the environment
 * (`<PARTNER>_API_KEY`, injected from a secret at deploy time), never from code.
 */
export function partnerClient(partner: string, baseUrlVariable: string, baseUrl: string): PartnerClient {
  const apiKey = process.env[`${partner.toUpperCase()}_API_KEY`];
  return new PartnerClient({
    partner,
    baseUrl: requireHttpUrl(baseUrlVariable, baseUrl),
    timeoutMs: Number(process.env.PARTNER_TIMEOUT_MS ?? 3000),
    ...(apiKey ? { headers: { authorization: `Bearer ${apiKey}` } } : {}),
  });
}
