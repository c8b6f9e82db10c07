import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { SlaAlarmKind, SlaMetrics } from '../../ports/index.ts';

/** The CloudWatch namespace of every Handoff metric. */
export const METRICS_NAMESPACE = 'Handoff';
/**
 * The `service` dimension Powertools adds to every metric: one value for the tracker and the detector (both
 * raise breaches), so an alarm names one metric: {service, OwnerTeam}.
 */
export const SLA_METRICS_SERVICE = 'handoff-sla';

/**
 * SLA figures as CloudWatch metrics through Powertools Metrics (EMF log lines, no PutMetricData call):
 * - `SlaJeopardy` / `SlaBreaches` (Count) by `OwnerTeam`: what the per-team breach alarms watch;
 * - `StageCycleSeconds` (Seconds) by `Stage`: each finished stage clock, for p50/p90 on the dashboard;
 * - `StageWithinTarget` (1 met, 0 missed) by `OwnerTeam`: its Average is the team's SLA adherence;
 * - `OrderToReleaseSeconds` (Seconds): capture to warehouse release, per order, for p50/p90.
 * Each is written as its own EMF document at once (single metrics), so dimensions never mix.
 */
export class PowertoolsSlaMetrics implements SlaMetrics {
  constructor(private readonly metrics: Metrics) {}

  alarm(kind: SlaAlarmKind, _stage: string, ownerTeam: string): void {
    const single = this.metrics.singleMetric();
    single.addDimension('OwnerTeam', ownerTeam);
    single.addMetric(kind === 'breach' ? 'SlaBreaches' : 'SlaJeopardy', MetricUnit.Count, 1);
  }

  stageCompleted(stage: string, ownerTeam: string, seconds: number, withinTarget: boolean): void {
    const cycle = this.metrics.singleMetric();
    cycle.addDimension('Stage', stage);
    cycle.addMetric('StageCycleSeconds', MetricUnit.Seconds, seconds);
    const adherence = this.metrics.singleMetric();
    adherence.addDimension('OwnerTeam', ownerTeam);
    adherence.addMetric('StageWithinTarget', MetricUnit.Count, withinTarget ? 1 : 0);
  }

  orderReleased(seconds: number): void {
    this.metrics.singleMetric().addMetric('OrderToReleaseSeconds', MetricUnit.Seconds, seconds);
  }
}
