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
 * The people side of the human-decision pattern: an operator (console, CLI) decides an open exception of any
 * type, `{ exceptionId, outcome: 'approve' | 'reject' | 'override' (or a credit hold's 'release'), decidedBy,
 * reason }`. The decision is recorded with who, when and why, applied, announced, and a waiting workflow
 * answered; the result says what happens next. Bad input fails with InvalidDecision naming the field and,
 * in brackets at the end of its message, the rule (the operator's synchronous answer: nothing changes); a
 * decision on a resolved exception fails with ExceptionAlreadyResolved (an exact repeat returns the result).
 */
export const lambdaHandler = async (input: unknown) => {
  const decision = (input ?? {}) as DecisionInput;
  // Logged before it is checked: only as much as an exception id can be.
  const claimed = (decision as { exceptionId?: unknown }).exceptionId;
  logger.appendKeys({ exceptionId: typeof claimed === 'string' ? claimed.slice(0, 80) : undefined });
  const result = await decideException(decision, deps);
  logger.info('exception decided', {
    type: result.type,
    orderId: result.orderId,
    decision: result.decision,
    closedAs: result.closedAs,
    decidedBy: result.decidedBy,
    resumed: result.resumed,
    replayed: result.replayed,
    next: result.next.kind,
  });
  return result;
};

export const handler = middy(lambdaHandler).use(injectLambdaContext(logger, { resetKeys: true }));
