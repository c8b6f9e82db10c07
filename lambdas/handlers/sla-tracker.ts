import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { parseEvent } from '../../contracts/events.ts';
import { InvalidStepInput } from '../shared/errors.ts';
import { correlate, createLogger } from '../shared/logger.ts';
import { slaDeps } from '../shared/sla-wiring.ts';
import { trackSlaClocks } from '../use-cases/sla-clocks.ts';

const logger = createLogger();
const deps = slaDeps();

/**
 * Every canonical order, shipment and invoice event the clocks follow (an EventBridge rule, asynchronous:
 * failures retry, then go to the function-failure DLQ). Safe to deliver twice and out of order.
 */
export const lambdaHandler = async (event: unknown) => {
  const parsed = parseEvent(event);
  if (!parsed.ok) {
    const first = parsed.error.violations[0];
    throw new InvalidStepInput(
      first?.path ?? 'event',
      `${first?.rule ?? 'invalid'}: ${parsed.error.message}`,
    );
  }
  const { name, detail } = parsed.value;
  correlate(logger, { orderId: detail.orderId, correlationId: detail.correlationId });
  const outcome = await trackSlaClocks({ name, detail } as Parameters<typeof trackSlaClocks>[0], deps);
  logger.info('sla clocks tracked', { event: name, changed: outcome.changed, alarms: outcome.alarms });
  return outcome;
};

export const handler = middy(lambdaHandler).use(injectLambdaContext(logger, { clearState: true }));
