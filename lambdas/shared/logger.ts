import { Logger } from '@aws-lambda-powertools/logger';

/** One logger per process; handlers append `orderId`/`correlationId` so every line carries them. */
export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'handoff' });
