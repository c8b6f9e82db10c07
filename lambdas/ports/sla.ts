import type { SlaClock, SlaPolicy } from '../core/sla.ts';

/** The ports of SLA tracking: the clock store the tracker writes and the detector reads by due time. */

export type SlaAlarmKind = 'jeopardy' | 'breach';

/** A stored clock: the core's clock, its write version, and the alarms claimed but not yet announced. */
export interface StoredClock {
  readonly clock: SlaClock;
  /** 0 for a clock not yet stored; every write adds one. */
  readonly version: number;
  /** Alarms whose claim is written (jeopardyRaisedAt/breachedAt set) and whose event is not yet published. */
  readonly outbox: readonly SlaAlarmKind[];
}

export interface SlaClockStore {
  /** Every clock of an order (one query on the order's partition). */
  clocksOf(orderId: string): Promise<StoredClock[]>;
  /**
   * Writes the clock if its stored version is still `expectedVersion` (0: not stored yet); `dueAt` is when
   * the detector must next look at it (its next alarm, or now while its outbox is not empty), none when
   * nothing will fall due. Throws ConcurrentClockUpdate when another writer got there first.
   */
  save(
    clock: SlaClock,
    state: { readonly outbox: readonly SlaAlarmKind[]; readonly dueAt?: Date },
    expectedVersion: number,
    now: Date,
  ): Promise<StoredClock>;
  /** Clocks whose `dueAt` is at or before `now`, from the time buckets `since` … `now` (read by key). */
  dueClocks(since: Date, now: Date): AsyncIterable<StoredClock>;
  /** Where the detector's last run got to (the start of its last bucket), if it ever ran. */
  checkpoint(): Promise<Date | undefined>;
  setCheckpoint(at: Date): Promise<void>;
}

export interface SlaPolicySource {
  policy(): SlaPolicy;
}

/** SLA figures for CloudWatch (Powertools Metrics, EMF) and the scorecard. */
export interface SlaMetrics {
  /** A jeopardy or breach was raised for a stage owned by `ownerTeam`. */
  alarm(kind: SlaAlarmKind, stage: string, ownerTeam: string): void;
  /** A stage clock stopped: how long it counted, and whether that was within target. */
  stageCompleted(stage: string, ownerTeam: string, seconds: number, withinTarget: boolean): void;
  /** The order was released to the warehouse: wall-clock seconds since it was captured (order-to-release). */
  orderReleased(seconds: number): void;
}
