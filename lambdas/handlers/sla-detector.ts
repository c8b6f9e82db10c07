import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { createLogger } from '../shared/logger.ts';
import { slaDeps } from '../shared/sla-wiring.ts';
import { detectSlaAlarms } from '../use-cases/sla-clocks.ts';

const logger = createLogger();
const deps = slaDeps();

/** Every minute (an EventBridge schedule): raises the jeopardies and breaches that have fallen due. */
export const lambdaHandler = async () => {
  const outcome = await detectSlaAlarms(deps);
  logger.info('sla detector run', {
    examined: outcome.examined,
    raised: outcome.raised.length,
    from: outcome.from,
    to: outcome.to,
  });
  return { examined: outcome.examined, raised: outcome.raised };
};

export const handler = middy(lambdaHandler).use(injectLambdaContext(logger, { clearState: true }));
