import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { OwnerTeam } from '../../../contracts/vocabulary.ts';
import type { ExceptionMetrics, OwnedException } from '../../ports/index.ts';
import { METRICS_NAMESPACE } from './powertools-sla-metrics.ts';

/** The `service` dimension of the exception metrics, whichever function raises, decides or measures. */
export const EXCEPTION_METRICS_SERVICE = 'handoff-exceptions';

/**
 * Exception figures as CloudWatch metrics through Powertools Metrics (EMF), each written as its own line
 * at once (no end-of-invocation flush to forget):
 * - `ExceptionsRaised` (Count) by `OwnerTeam`, by `Stage` (the order's stage) and by both: the exception
 *   rate by team and stage;
 * - `ExceptionRecoverySeconds` (Seconds) by `OwnerTeam`: how long each decided exception was open;
 * - `OldestOpenExceptionAgeSeconds` (Seconds) by `OwnerTeam`: what the oldest-open-exception alarms watch.
 */
export class PowertoolsExceptionMetrics implements ExceptionMetrics {
  constructor(private readonly metrics: Metrics) {}

  raised(exception: OwnedException): void {
    this.metrics.addDimensions({ OwnerTeam: exception.ownerTeam });
    this.metrics.addDimensions({ Stage: exception.stage });
    this.metrics.addDimensions({ OwnerTeam: exception.ownerTeam, Stage: exception.stage });
    this.metrics.addMetric('ExceptionsRaised', MetricUnit.Count, 1);
    this.metrics.publishStoredMetrics();
  }

  resolved(exception: OwnedException, openSeconds: number): void {
    this.metrics.addDimension('OwnerTeam', exception.ownerTeam);
    this.metrics.addMetric('ExceptionRecoverySeconds', MetricUnit.Seconds, openSeconds);
    this.metrics.publishStoredMetrics();
  }

  oldestOpen(team: OwnerTeam, ageSeconds: number): void {
    this.metrics.addDimension('OwnerTeam', team);
    this.metrics.addMetric('OldestOpenExceptionAgeSeconds', MetricUnit.Seconds, ageSeconds);
    this.metrics.publishStoredMetrics();
  }
}

let shared: PowertoolsExceptionMetrics | undefined;

/** One instance per process, created on first use; every method writes and flushes synchronously. */
export function exceptionMetrics(): ExceptionMetrics {
  shared ??= new PowertoolsExceptionMetrics(
    new Metrics({ namespace: METRICS_NAMESPACE, serviceName: EXCEPTION_METRICS_SERVICE }),
  );
  return shared;
}
