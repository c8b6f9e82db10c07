import type { BackorderFill, BackorderLine, BackorderRule } from '../core/backorder.ts';

/** The ports of backorder re-evaluation: the backorder book, customers' backorder rules, aged-backorder notices. */

/** One receipt's units held against, then reserved for, a backorder. */
export interface BackorderFillRecord {
  readonly receiptId: string;
  readonly siteId: string;
  readonly quantity: number;
  /**
   * `claimed`: the units are taken off the backorder's outstanding quantity while the WMS reservation is
   * made; `reserved`: the WMS confirmed it. A claim never outlives a finished fill step.
   */
  readonly status: 'claimed' | 'reserved';
  readonly claimedAt: string;
  readonly reservationId?: string;
  readonly reservedAt?: string;
}

/** A stored backorder line: the core's line (`quantity` = units still outstanding) plus its history. */
export interface BackorderRecord extends BackorderLine {
  /** Units backordered at creation. */
  readonly originalQuantity: number;
  /** Every receipt that filled (or is filling) part of this backorder, oldest first. */
  readonly fills: readonly BackorderFillRecord[];
  /** Why the backorder is where it is: the last fill, refusal or cancellation reasons. */
  readonly reasonCodes: readonly string[];
  readonly cancelledAt?: string;
}

/** What one receipt was planned to fill; stored once per receipt so a redelivery replays the same plan. */
export interface ReceiptPlan {
  readonly receiptId: string;
  readonly sku: string;
  readonly siteId: string;
  readonly quantity: number;
  readonly evaluatedAt: string;
  /** In service order (priority, promise date, age). */
  readonly fills: readonly BackorderFill[];
  /** Backorders evaluated and not completely filled, in service order. */
  readonly stillOpen: readonly string[];
  /** Keyed by backorderId: the core's reason codes for each evaluated backorder. */
  readonly reasonCodes: Readonly<Record<string, readonly string[]>>;
  /** Backorders left out of the evaluation because their order cannot take stock now: id → reason. */
  readonly skipped: Readonly<Record<string, string>>;
}

export type ClaimResult =
  | { readonly claimed: true; readonly backorder: BackorderRecord }
  | { readonly claimed: false; readonly backorder: BackorderRecord };

/**
 * Open backorders by sku and by age, written idempotently. Every write is conditional, so a retried step or a
 * redelivered receipt changes nothing twice.
 */
export interface BackorderBook {
  /** Puts each line (status open, no fills) unless a backorder with its id exists; returns the ids created. */
  createIfAbsent(lines: readonly BackorderLine[]): Promise<readonly string[]>;
  get(backorderId: string): Promise<BackorderRecord | undefined>;
  /** Backorders of the sku with status open (claims in flight included), any order. */
  listOpenBySku(sku: string): Promise<BackorderRecord[]>;
  /** Backorders with status open and cancelAfter <= `instant`, any sku (the scheduled sweep). */
  listOpenAgedBy(instant: string): Promise<BackorderRecord[]>;
  /** Every backorder of the order, whatever its status. */
  listForOrder(orderId: string): Promise<BackorderRecord[]>;
  findPlan(receiptId: string): Promise<ReceiptPlan | undefined>;
  /**
   * Stores the plan unless one exists for the receipt; returns the stored plan (first writer wins) and
   * whether it is this one (a second writer at the same instant must still know it lost).
   */
  savePlanIfAbsent(plan: ReceiptPlan): Promise<{ readonly plan: ReceiptPlan; readonly stored: boolean }>;
  /**
   * Atomically, only if the backorder is open, has no fill for `claim.receiptId` and at least
   * `claim.quantity` outstanding: appends the claim, lowers `quantity` by it and sets status `filled` when
   * nothing is left. Otherwise changes nothing and answers `claimed: false` with the current record.
   */
  claimFill(
    backorderId: string,
    claim: { receiptId: string; siteId: string; quantity: number; claimedAt: string },
  ): Promise<ClaimResult>;
  /** Marks the receipt's claim reserved; unchanged when it already is. */
  confirmFill(
    backorderId: string,
    receiptId: string,
    reservation: { reservationId: string; reservedAt: string },
  ): Promise<BackorderRecord>;
  /**
   * Drops the receipt's claim (the WMS refused the reservation): `quantity` back up, status open, the reasons
   * recorded. Unchanged when there is no claim for the receipt.
   */
  releaseClaim(
    backorderId: string,
    receiptId: string,
    reasonCodes: readonly string[],
  ): Promise<BackorderRecord>;
  /** status open or filled → cancelled, with when and why; unchanged when already cancelled. */
  cancel(
    backorderId: string,
    cancellation: { cancelledAt: string; reasonCodes: readonly string[] },
  ): Promise<void>;
  /** Sets notifiedAt only if it is unset; false when it was already set (notified before). */
  markNotified(backorderId: string, notifiedAt: string): Promise<boolean>;
}

/** The customer's backorder rule, from the customer master (CRM/ERP); undefined when none is on record. */
export interface BackorderRules {
  ruleFor(customerId: string): Promise<BackorderRule | undefined>;
}

/**
 * A backorder the ageing sweep acted on; published as `backorder.aged`, which
 * customer notifications and the WMS (reservations to return to stock) consume.
 */
export interface BackorderAgedNotice {
  readonly orderId: string;
  readonly backorderId: string;
  readonly lineNo: number;
  readonly sku: string;
  /** Units still outstanding (0 for a filled line cancelled with its order). */
  readonly outstandingQuantity: number;
  readonly cancelAfter: string;
  /** `cancelled`: the backorder is cancelled; `kept-open`: the customer is told once, the backorder stays. */
  readonly action: 'cancelled' | 'kept-open';
  /** True when the whole order was cancelled with it (order.closed is published too). */
  readonly orderCancelled: boolean;
  /** WMS reservations of this line's fills, to be returned to stock because the order is cancelled. */
  readonly reservationIds: readonly string[];
  readonly reasonCodes: readonly string[];
  readonly occurredAt: string;
  readonly idempotencyKey: string;
}

export interface BackorderNotices {
  agedOut(notices: readonly BackorderAgedNotice[]): Promise<void>;
}
