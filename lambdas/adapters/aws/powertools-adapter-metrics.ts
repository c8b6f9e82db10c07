import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { PartnerCallMetrics } from '../http/partner-call-metrics.ts';
import { METRICS_NAMESPACE } from './powertools-sla-metrics.ts';

/** The `service` dimension of the adapter metrics, whichever function makes the call. */
export const ADAPTER_METRICS_SERVICE = 'handoff-adapters';
/** 1 for a failed partner call, 0 for a good one: Average is the error rate, SampleCount the calls, Sum the failures. */
export const ADAPTER_ERROR_METRIC = 'AdapterError';

/**
 * Partner calls as CloudWatch metrics through Powertools Metrics (EMF): `AdapterError` (0/1) by `Adapter`
 * (the partner system: erp, wms, tms, crm, finance, edi, vendor). Each call is written as its own EMF line
 * at once, so nothing waits for a flush at the end of the invocation and nothing is lost if it fails.
 */
export class PowertoolsAdapterMetrics implements PartnerCallMetrics {
  constructor(private readonly metrics: Metrics) {}

  called(partner: string, failed: boolean): void {
    // Synchronous from dimension to flush: concurrent calls of one invocation cannot mix their dimensions.
    this.metrics.addDimension('Adapter', partner);
    this.metrics.addMetric(ADAPTER_ERROR_METRIC, MetricUnit.Count, failed ? 1 : 0);
    this.metrics.publishStoredMetrics();
  }
}

let shared: PowertoolsAdapterMetrics | undefined;

/**
 * One instance per process, created on first use. Flushed per call rather than through `singleMetric()`,
 * which builds a Metrics object (and a Console) per call: about six times the CPU on a path every order takes.
 */
export function adapterCallMetrics(): PartnerCallMetrics {
  shared ??= new PowertoolsAdapterMetrics(
    new Metrics({ namespace: METRICS_NAMESPACE, serviceName: ADAPTER_METRICS_SERVICE }),
  );
  return shared;
}
