import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { systemClock } from '../shared/clock.ts';
import { readConfig } from '../shared/config.ts';
import { createLogger } from '../shared/logger.ts';
import { decisionCallbacks, eventPublisher, exceptionRepository, orderRepository } from '../shared/wiring.ts';
import { type DecisionDeps, type DecisionInput, decideException } from '../use-cases/human-decision.ts';

const logger = createLogger();

const config = readConfig(['ORDERS_TABLE_NAME', 'EXCEPTIONS_TABLE_NAME', 'EVENT_BUS_NAME']);
const deps: DecisionDeps = {
  orders: orderRepository(config.ORDERS_TABLE_NAME),
  exceptions: exceptionRepository(config.EXCEPTIONS_TABLE_NAME),
  events: eventPublisher(config.EVENT_BUS_NAME),
  callbacks: decisionCallbacks(),
  clock: systemClock,
};

/**
 * The people side of the human-decision pattern: an operator (console, CLI) decides an open exception,
 * `{ exceptionId, outcome: 'release' | 'reject', decidedBy, reason }`. The decision is recorded with who,
 * when and why, applied to the order, and the waiting path resumed. Bad input fails with InvalidDecision
 * naming the field; a contrary second decision fails with DecisionConflict.
 */
export const lambdaHandler = async (input: unknown) => {
  const decision = (input ?? {}) as DecisionInput;
  logger.appendKeys({ exceptionId: decision.exceptionId });
  const result = await decideException(decision, deps);
  logger.info('exception decided', { ...result, decidedBy: decision.decidedBy });
  return result;
};

export const handler = middy(lambdaHandler).use(injectLambdaContext(logger, { resetKeys: true }));
