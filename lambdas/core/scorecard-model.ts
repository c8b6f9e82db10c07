/**
 * The process-intelligence scorecard: what `handoff scorecard` prints, `handoff report` draws and the
 * dashboard mirrors. Computed by `computeScorecard` (scorecard.ts) from the process log, the compact
 * record of every canonical event the fulfilment bus carried. Durations are seconds; rates are
 * fractions in [0, 1] (null when nothing was measured, never a made-up 0 or 1).
 */
import type { EventName } from '../../contracts/events.ts';

/** One canonical event as the process log keeps it: the envelope plus the few fields the scorecard reads. */
export interface ProcessEvent {
  /** The EventBridge event id (the log's idempotency key: a redelivery writes the same item). */
  readonly id: string;
  /** The event name without its version, e.g. `order.received`. */
  readonly name: EventName;
  readonly orderId: string;
  /** When it happened in the source system (detail.occurredAt), ISO 8601. */
  readonly occurredAt: string;
  /** When the bus carried it (the envelope's `time`), ISO 8601: occurredAt → publishedAt is hand-off latency. */
  readonly publishedAt: string;
  /** The projected detail fields (see `projectDetail`); small, never the whole order. */
  readonly data: Readonly<Record<string, unknown>>;
}

export interface ScorecardWindow {
  /** Inclusive, ISO 8601. */
  readonly from: string;
  /** Exclusive, ISO 8601. */
  readonly to: string;
}

/** p50/p90 over `count` measurements; null percentiles when count is 0. */
export interface Percentiles {
  readonly count: number;
  readonly p50Seconds: number | null;
  readonly p90Seconds: number | null;
}

export interface GroupedPercentiles extends Percentiles {
  /** The group's value, e.g. channel `edi`, segment `key-account`, facility `DC-EAST`. */
  readonly key: string;
}

/** A histogram: counts[i] measurements fell in (upperSeconds[i-1], upperSeconds[i]]; the last bucket is open. */
export interface Distribution {
  readonly upperSeconds: readonly number[];
  readonly labels: readonly string[];
  readonly counts: readonly number[];
}

export interface Rate {
  readonly measured: number;
  readonly hits: number;
  /** hits / measured, null when measured is 0. */
  readonly rate: number | null;
}

export interface CountedKey {
  readonly key: string;
  readonly count: number;
  /** count / orders in the window (exceptions per order), null when there were no orders. */
  readonly perOrder: number | null;
}

export interface TeamAdherence extends Rate {
  readonly team: string;
  /** Clocks of this team that breached their target. */
  readonly breaches: number;
  readonly jeopardies: number;
}

/** One point of a time series, bucketed by `bucketStart` (ISO 8601), one value per series key. */
export interface SeriesPoint {
  readonly bucketStart: string;
  readonly values: Readonly<Record<string, number | null>>;
}

export interface Scorecard {
  readonly window: ScorecardWindow;
  readonly generatedAt: string;
  /** Orders received in the window (the denominator of per-order rates). */
  readonly orders: number;
  /** Distinct business events of the window in the process log (a fact announced twice counts once). */
  readonly events: number;

  /** Order-to-release cycle time: order.received (occurredAt) → first warehouse.released. */
  readonly orderToRelease: {
    readonly overall: Percentiles;
    readonly byChannel: readonly GroupedPercentiles[];
    readonly bySegment: readonly GroupedPercentiles[];
    readonly byFacility: readonly GroupedPercentiles[];
    readonly distribution: Distribution;
  };

  /** Allocated lines that shipped exactly as allocated; ERP↔WMS inventory-sync latency (put-away → bus). */
  readonly allocation: {
    readonly accuracy: Rate;
    readonly inventorySyncLatency: Percentiles;
  };

  /** Exceptions raised in the window, by stage, root cause (exception type) and owning team. */
  readonly exceptions: {
    readonly total: number;
    readonly perOrder: number | null;
    readonly byStage: readonly CountedKey[];
    readonly byCause: readonly CountedKey[];
    readonly byTeam: readonly CountedKey[];
  };

  /** Shipments confirmed by their ship-by date; invoices aligned with proof of shipment. */
  readonly shipping: {
    readonly confirmationOnTime: Rate;
    /** Invoices issued for a shipment confirmed before them, within the ship-confirmation→invoice target. */
    readonly invoiceAligned: Rate;
    /** Invoices with no shipment.confirmed for their shipment before them: must be 0. */
    readonly invoicedWithoutProof: number;
    readonly confirmationToInvoice: Percentiles;
  };

  /** Integration failures (integration-failure exceptions), recovery time (raised → resolved), manual work. */
  readonly integration: {
    readonly failures: number;
    readonly failuresPerDay: number | null;
    readonly recovered: number;
    readonly recoveryTime: Percentiles;
    /** Exceptions resolved by a person (not the system's fallback or automation). */
    readonly manualInterventions: number;
  };

  /** Backorders: open ones by age at the window's end; orders shipped in more than one shipment. */
  readonly backorders: {
    readonly created: number;
    readonly filled: number;
    readonly cancelled: number;
    readonly openAging: readonly CountedKey[];
    readonly partialShipment: Rate;
  };

  /** SLA adherence: per team, clocks that ended (or are still running) within target. */
  readonly sla: {
    readonly byTeam: readonly TeamAdherence[];
    /** Adherence per team per day (bucketStart = the day), for the report's line chart. */
    readonly overTime: readonly SeriesPoint[];
  };

  /** Open exceptions per owning team over the window (the work queues' depth), hourly or daily buckets. */
  readonly queueDepth: readonly SeriesPoint[];
}
