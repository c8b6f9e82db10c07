import type { OwnerTeam } from '../../contracts/vocabulary.ts';
import type { OwnedException } from './index.ts';

/** The ports of exception observability: the exception figures CloudWatch alarms on and charts. */

export interface OpenExceptionQueues {
  /**
   * When the oldest exception still open in `team`'s queue was raised (ISO instant); undefined when the
   * queue is empty. One read of the queue, oldest first: never a scan.
   */
  oldestOpenRaisedAt(team: OwnerTeam): Promise<string | undefined>;
}

/** Exception figures for CloudWatch (Powertools Metrics, EMF) and the dashboard. */
export interface ExceptionMetrics {
  /** An exception was created (not a redelivery of one that exists). */
  raised(exception: OwnedException): void;
  /** An open exception was decided: how long it had been open. */
  resolved(exception: OwnedException, openSeconds: number): void;
  /** How long the oldest open exception of `team` has been open; 0 when none is. */
  oldestOpen(team: OwnerTeam, ageSeconds: number): void;
}
