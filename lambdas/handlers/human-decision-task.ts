import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { businessCalendarFromEnv } from '../shared/business-calendar.ts';
import { systemClock } from '../shared/clock.ts';
import { readConfig } from '../shared/config.ts';
import { InvalidDecision } from '../shared/errors.ts';
import { correlate, createLogger } from '../shared/logger.ts';
import { decisionCallbacks, eventPublisher, exceptionRepository, orderRepository } from '../shared/wiring.ts';
import { applyDecisionFallback, awaitHumanDecision, type DecisionDeps } from '../use-cases/human-decision.ts';
import { orderIdOf } from './step-input.ts';

const logger = createLogger();

const config = readConfig(['ORDERS_TABLE_NAME', 'EXCEPTIONS_TABLE_NAME', 'EVENT_BUS_NAME']);
// Tiers that count working hours (customer service's substitute reviews) use the SLA policy's calendar.
const calendar = businessCalendarFromEnv();
const deps: DecisionDeps = {
  orders: orderRepository(config.ORDERS_TABLE_NAME),
  exceptions: exceptionRepository(config.EXCEPTIONS_TABLE_NAME),
  events: eventPublisher(config.EVENT_BUS_NAME),
  callbacks: decisionCallbacks(),
  clock: systemClock,
  ...(calendar ? { calendar } : {}),
};

/**
 * The path side of the human-decision pattern. `await` runs in a `.waitForTaskToken` task: it hands the
 * token to the exception's current tier and returns; the path resumes when someone decides. `fallback`
 * runs when the top tier's SLA has passed too.
 */
export const lambdaHandler = async (input: unknown) => {
  const orderId = orderIdOf(input);
  const { action, exceptionId, tier, taskToken } = (input ?? {}) as Record<string, unknown>;
  correlate(logger, { orderId, correlationId: orderId, exceptionId });
  if (action === 'await') {
    const result = await awaitHumanDecision(
      {
        orderId,
        exceptionId: String(exceptionId ?? ''),
        tier: Number(tier),
        taskToken: String(taskToken ?? ''),
      },
      deps,
    );
    logger.info('decision awaited', { ...result });
    return result;
  }
  if (action === 'fallback') {
    const result = await applyDecisionFallback({ orderId, exceptionId: String(exceptionId ?? '') }, deps);
    logger.info('decision fallback applied', { ...result });
    return result;
  }
  throw new InvalidDecision('action', `must be 'await' or 'fallback' (got ${String(action)})`);
};

export const handler = middy(lambdaHandler).use(injectLambdaContext(logger, { resetKeys: true }));
