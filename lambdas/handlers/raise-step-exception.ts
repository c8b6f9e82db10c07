import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { systemClock } from '../shared/clock.ts';
import { readConfig } from '../shared/config.ts';
import { correlate, createLogger } from '../shared/logger.ts';
import { eventPublisher, exceptionRepository, orderRepository } from '../shared/wiring.ts';
import { raiseStepException, type StepExceptionDeps } from '../use-cases/raise-step-exception.ts';
import { orderIdOf } from './step-input.ts';

const logger = createLogger();

const config = readConfig(['ORDERS_TABLE_NAME', 'EXCEPTIONS_TABLE_NAME', 'EVENT_BUS_NAME']);
const deps: StepExceptionDeps = {
  orders: orderRepository(config.ORDERS_TABLE_NAME),
  exceptions: exceptionRepository(config.EXCEPTIONS_TABLE_NAME),
  events: eventPublisher(config.EVENT_BUS_NAME),
  clock: systemClock,
};

/** Catch target: `{ orderId, failedStep, error: { Error, Cause } }` from the path's Catch. */
export const lambdaHandler = async (input: unknown) => {
  const orderId = orderIdOf(input);
  const { failedStep, error } = input as { failedStep?: unknown; error?: { Error?: string; Cause?: string } };
  correlate(logger, { orderId, correlationId: orderId });
  const result = await raiseStepException(
    { orderId, failedStep: typeof failedStep === 'string' ? failedStep : 'unknown', error: error ?? {} },
    deps,
  );
  logger.warn('step failure became an owned exception', { ...result, failedStep, error });
  return result;
};

export const handler = middy(lambdaHandler).use(injectLambdaContext(logger, { resetKeys: true }));
