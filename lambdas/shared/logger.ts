import { Logger } from '@aws-lambda-powertools/logger';
import { enterCorrelation } from './correlation.ts';

/**
 * Each handler module creates its logger once, at load, so it carries that function's service name; every
 * line then gets `orderId`/`correlationId` appended by the handler.
 */
export function createLogger(): Logger {
  return new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'handoff' });
}

/**
 * Appends an order's keys to every log line of this invocation and names its correlation id for the partner
 * calls it makes (see `enterCorrelation`).
 */
export function correlate(
  logger: Logger,
  keys: { readonly correlationId: string } & Readonly<Record<string, unknown>>,
): void {
  logger.appendKeys(keys);
  enterCorrelation(keys.correlationId);
}
