import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { createLogger } from '../shared/logger.ts';
import { exceptionAgeDeps, slaDeps } from '../shared/sla-wiring.ts';
import { detectSlaAlarms, measureOldestOpenExceptions } from '../use-cases/sla-clocks.ts';

const logger = createLogger();
const deps = slaDeps();
const ageDeps = exceptionAgeDeps();

/**
 * Every minute (an EventBridge schedule): raises the jeopardies and breaches that have fallen due, then
 * publishes each team's oldest open exception age (what the oldest-open-exception alarms watch).
 */
export const lambdaHandler = async () => {
  const outcome = await detectSlaAlarms(deps);
  const oldestOpenSeconds = await measureOldestOpenExceptions(ageDeps);
  logger.info('sla detector run', {
    examined: outcome.examined,
    raised: outcome.raised.length,
    from: outcome.from,
    to: outcome.to,
    oldestOpenSeconds,
  });
  return { examined: outcome.examined, raised: outcome.raised, oldestOpenSeconds };
};

export const handler = middy(lambdaHandler).use(injectLambdaContext(logger, { clearState: true }));
