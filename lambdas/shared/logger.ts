import { Logger } from '@aws-lambda-powertools/logger';

/**
 * Each handler module creates its logger once, at load, so it carries that function's service name; every
 * line then gets `orderId`/`correlationId` appended by the handler.
 */
export function createLogger(): Logger {
  return new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'handoff' });
}
