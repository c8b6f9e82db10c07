import { PartnerRejected } from '../../shared/errors.ts';
import { adapterCallMetrics } from '../aws/powertools-adapter-metrics.ts';

/** What every partner call reports once it has finished: the adapter error-rate figures. */
export interface PartnerCallMetrics {
  /** One call to `partner` (after its retries) ended; `failed` when the integration let it down. */
  called(partner: string, failed: boolean): void;
}

const SILENT: PartnerCallMetrics = { called: () => undefined };

/**
 * Refusals that are the partner's answer about the business data, not a broken integration: a conflict
 * (stock moved, a hold already released) or unprocessable data (an unknown customer, a carrier that cannot
 * take the shipment). Every other 4xx (400, 401, 403, 404 on a write, 415) means our side of the integration
 * is wrong, and counts as a failure with the outages and broken contracts.
 */
const BUSINESS_REFUSALS = new Set([409, 422]);

export function isIntegrationFailure(error: unknown): boolean {
  return !(error instanceof PartnerRejected && BUSINESS_REFUSALS.has(error.status));
}

/**
 * The metrics a partner client reports to when it is given none: CloudWatch (EMF) inside a Lambda function,
 * deployed or in the local cloud; nothing elsewhere (unit tests, scripts), so no stray EMF lines are printed.
 */
export function defaultPartnerCallMetrics(): PartnerCallMetrics {
  return process.env.AWS_LAMBDA_FUNCTION_NAME ? adapterCallMetrics() : SILENT;
}

/**
 * Runs one partner call and reports how it ended. Reporting never changes the outcome: a metric that cannot
 * be written is dropped, and the call's own result or error is what the caller gets.
 */
export async function measured<T>(
  metrics: PartnerCallMetrics,
  partner: string,
  call: () => Promise<T>,
): Promise<T> {
  let failed = true;
  try {
    const result = await call();
    failed = false;
    return result;
  } catch (error) {
    failed = isIntegrationFailure(error);
    throw error;
  } finally {
    try {
      metrics.called(partner, failed);
    } catch {
      // A metric must never break the call it describes.
    }
  }
}
