import type { CreditAssessment, CreditReasonCode } from './credit.ts';
import { InvalidInputError } from './errors.ts';
import { roundMoney, toCents } from './money.ts';
import {
  CUSTOMER_PRIORITIES,
  CUSTOMER_SEGMENTS,
  type CustomerPriority,
  type CustomerSegment,
  type ExceptionPriority,
  isOneOf,
  SERVICE_LEVELS,
  type ServiceLevel,
} from './vocabulary.ts';

/**
 * A pre-agreed envelope inside which finance lets a held order go without a person looking at it.
 * Every condition must hold; an omitted `segments` / `priorities` list means "any".
 */
export interface AutoApproveBand {
  readonly name: string;
  /** Inclusive. */
  readonly maxOrderValue: number;
  /** Inclusive ceiling on exposureAfterOrder / creditLimit × 100 (110 = up to 10% over the limit). */
  readonly maxUtilisationPct: number;
  readonly segments?: readonly CustomerSegment[];
  readonly priorities?: readonly CustomerPriority[];
  /** When true the band applies only if nothing at all is overdue (not merely nothing beyond grace). */
  readonly requireNoOverdue: boolean;
}

/**
 * Bands tried in order; the first that fits wins. They sit on top of DEFAULT_CREDIT_POLICY, which already
 * approves orders below 250 and up to 5% over the limit when nothing is overdue beyond grace.
 *
 * - `key-account-stretch`: key accounts up to 15% over the limit for orders up to 5,000, provided nothing
 *   is overdue; a key account's limit is reviewed less often than it grows, and a clean payment record
 *   is the evidence that matters.
 * - `enterprise-slow-payer`: enterprise key/preferred accounts still within their limit may release orders
 *   up to 2,500 while invoices are overdue; large buyers' AP runs are slow rather than risky.
 * - `small-order-stretch`: anyone up to 10% over the limit for orders up to 500 with nothing overdue; the
 *   cost of a person reviewing it exceeds the risk.
 */
export const DEFAULT_AUTO_APPROVE_BANDS: readonly AutoApproveBand[] = Object.freeze([
  Object.freeze({
    name: 'key-account-stretch',
    maxOrderValue: 5_000,
    maxUtilisationPct: 115,
    priorities: Object.freeze(['key-account'] as const),
    requireNoOverdue: true,
  }),
  Object.freeze({
    name: 'enterprise-slow-payer',
    maxOrderValue: 2_500,
    maxUtilisationPct: 100,
    segments: Object.freeze(['enterprise'] as const),
    priorities: Object.freeze(['key-account', 'preferred'] as const),
    requireNoOverdue: false,
  }),
  Object.freeze({
    name: 'small-order-stretch',
    maxOrderValue: 500,
    maxUtilisationPct: 110,
    requireNoOverdue: true,
  }),
]);

/** Minutes finance has to decide a held order, by lane. */
export interface CreditHoldSlas {
  /** Expedited / next-day key-account orders: the carrier cut-off will not wait for a standard queue. */
  readonly fastReviewMinutes: number;
  /** Other key-account holds: the account manager is chasing, but the order ships on a normal schedule. */
  readonly keyAccountMinutes: number;
  /** Every other hold: within a half business day. */
  readonly standardMinutes: number;
}

export const DEFAULT_CREDIT_HOLD_SLAS: CreditHoldSlas = Object.freeze({
  fastReviewMinutes: 30,
  keyAccountMinutes: 60,
  standardMinutes: 240,
});

export type CreditLane = 'auto-approved' | 'fast-review' | 'finance-hold' | 'declined';

export type CreditLaneReasonCode =
  | CreditReasonCode
  /** Held order released without review because it fits the named band. */
  | `AUTO_APPROVE_BAND:${string}`
  /** Held order that fits no band. */
  | 'NO_AUTO_APPROVE_BAND'
  /** Closed / on-hold account or cash-in-advance terms: bands are never tried. */
  | 'AUTO_APPROVE_BLOCKED'
  /** Routed to the fast credit lane of the expedited path. */
  | 'EXPEDITED_KEY_ACCOUNT';

export interface CreditHold {
  ownerTeam: 'finance';
  slaMinutes: number;
  /** Composed from the reason codes and the figures, for the finance queue. */
  recommendedAction: string;
  priority: ExceptionPriority;
}

export interface CreditLaneDecision {
  lane: CreditLane;
  /** The assessment's reasons first, then the lane's own. */
  reasonCodes: CreditLaneReasonCode[];
  /** Present only for 'fast-review' and 'finance-hold'. */
  hold?: CreditHold;
}

export interface CreditLaneInput {
  assessment: CreditAssessment;
  customerPriority: CustomerPriority;
  segment: CustomerSegment;
  serviceLevel: ServiceLevel;
  /** Must equal assessment.orderValue; bands compare it against maxOrderValue. */
  orderValue: number;
  paymentTerms: string;
  overdueAmount: number;
  bands: readonly AutoApproveBand[];
  /** @default DEFAULT_CREDIT_HOLD_SLAS */
  slas?: CreditHoldSlas;
}

export class InvalidCreditLaneInput extends InvalidInputError {
  override name = 'InvalidCreditLaneInput';
}

export class InvalidCreditReleaseInput extends InvalidInputError {
  override name = 'InvalidCreditReleaseInput';
}

const CASH_IN_ADVANCE = 'CIA';
const ASSESSMENT_DECISIONS = ['approved', 'hold', 'declined'] as const;
/** Reasons that rule out any band: the account itself, not this order, is the problem. */
const BAND_BLOCKING_REASONS: readonly CreditReasonCode[] = [
  'ACCOUNT_CLOSED',
  'ACCOUNT_ON_HOLD',
  'CASH_IN_ADVANCE_TERMS',
];
const FAST_LANE_SERVICE_LEVELS: readonly ServiceLevel[] = ['expedited', 'next-day'];

function requireFinite(field: string, value: unknown): asserts value is number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new InvalidCreditLaneInput(field, `must be a finite number (got ${String(value)})`);
  }
}

function requireNonNegative(field: string, value: unknown): asserts value is number {
  requireFinite(field, value);
  if (value < 0) throw new InvalidCreditLaneInput(field, `must not be negative (got ${value})`);
}

function requireOneOf<T extends string>(field: string, values: readonly T[], value: unknown): void {
  if (!isOneOf(values, value)) {
    throw new InvalidCreditLaneInput(field, `must be one of ${values.join(', ')} (got ${String(value)})`);
  }
}

function requirePositiveInteger(field: string, value: unknown): void {
  if (!Number.isInteger(value) || (value as number) < 1) {
    throw new InvalidCreditLaneInput(field, `must be an integer >= 1 (got ${String(value)})`);
  }
}

function validateBands(bands: unknown): void {
  if (!Array.isArray(bands)) throw new InvalidCreditLaneInput('bands', 'must be an array');
  const names = new Set<string>();
  bands.forEach((band: AutoApproveBand | null, i) => {
    const at = `bands[${i}]`;
    if (typeof band !== 'object' || band === null) throw new InvalidCreditLaneInput(at, 'must be an object');
    if (typeof band.name !== 'string' || band.name.trim() === '') {
      throw new InvalidCreditLaneInput(`${at}.name`, 'must be a non-empty string');
    }
    if (names.has(band.name)) {
      throw new InvalidCreditLaneInput(`${at}.name`, `must be unique (${band.name} appears twice)`);
    }
    names.add(band.name);
    requireNonNegative(`${at}.maxOrderValue`, band.maxOrderValue);
    requireNonNegative(`${at}.maxUtilisationPct`, band.maxUtilisationPct);
    for (const [j, segment] of (band.segments ?? []).entries()) {
      requireOneOf(`${at}.segments[${j}]`, CUSTOMER_SEGMENTS, segment);
    }
    for (const [j, priority] of (band.priorities ?? []).entries()) {
      requireOneOf(`${at}.priorities[${j}]`, CUSTOMER_PRIORITIES, priority);
    }
    if (typeof band.requireNoOverdue !== 'boolean') {
      throw new InvalidCreditLaneInput(`${at}.requireNoOverdue`, 'must be a boolean');
    }
  });
}

function validateLaneInput(input: CreditLaneInput, slas: CreditHoldSlas): void {
  const { assessment } = input;
  requireOneOf('assessment.decision', ASSESSMENT_DECISIONS, assessment.decision);
  if (!Array.isArray(assessment.reasonCodes)) {
    throw new InvalidCreditLaneInput('assessment.reasonCodes', 'must be an array');
  }
  requireNonNegative('assessment.orderValue', assessment.orderValue);
  requireFinite('assessment.exposureAfterOrder', assessment.exposureAfterOrder);
  requireNonNegative('assessment.creditLimit', assessment.creditLimit);
  requireOneOf('customerPriority', CUSTOMER_PRIORITIES, input.customerPriority);
  requireOneOf('segment', CUSTOMER_SEGMENTS, input.segment);
  requireOneOf('serviceLevel', SERVICE_LEVELS, input.serviceLevel);
  requireNonNegative('orderValue', input.orderValue);
  if (toCents(input.orderValue) !== toCents(assessment.orderValue)) {
    throw new InvalidCreditLaneInput(
      'orderValue',
      `must equal assessment.orderValue (got ${input.orderValue}, assessed ${assessment.orderValue})`,
    );
  }
  if (typeof input.paymentTerms !== 'string') {
    throw new InvalidCreditLaneInput('paymentTerms', 'must be a string');
  }
  requireNonNegative('overdueAmount', input.overdueAmount);
  validateBands(input.bands);
  requirePositiveInteger('slas.fastReviewMinutes', slas.fastReviewMinutes);
  requirePositiveInteger('slas.keyAccountMinutes', slas.keyAccountMinutes);
  requirePositiveInteger('slas.standardMinutes', slas.standardMinutes);
}

/** exposureAfterOrder <= creditLimit × pct / 100, in integer cents; a zero limit only admits zero exposure. */
function withinUtilisation(assessment: CreditAssessment, maxPct: number): boolean {
  return toCents(assessment.exposureAfterOrder) * 100 <= toCents(assessment.creditLimit) * maxPct;
}

function bandFits(band: AutoApproveBand, input: CreditLaneInput): boolean {
  return (
    toCents(input.orderValue) <= toCents(band.maxOrderValue) &&
    withinUtilisation(input.assessment, band.maxUtilisationPct) &&
    (band.segments === undefined || band.segments.includes(input.segment)) &&
    (band.priorities === undefined || band.priorities.includes(input.customerPriority)) &&
    (!band.requireNoOverdue || toCents(input.overdueAmount) === 0)
  );
}

/** 12400 -> "12,400.00"; -0.5 -> "-0.50". */
export function formatMoney(amount: number): string {
  const cents = toCents(amount);
  const abs = Math.abs(cents);
  const whole = Math.floor(abs / 100)
    .toString()
    .replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${cents < 0 ? '-' : ''}${whole}.${String(abs % 100).padStart(2, '0')}`;
}

function utilisationText(assessment: CreditAssessment): string {
  const limitCents = toCents(assessment.creditLimit);
  if (limitCents === 0) return 'no credit limit';
  const pct = Math.round((toCents(assessment.exposureAfterOrder) / limitCents) * 1000) / 10;
  return `${pct}%`;
}

function recommendedAction(input: CreditLaneInput, reasons: readonly CreditLaneReasonCode[]): string {
  const { assessment } = input;
  const value = formatMoney(input.orderValue);
  const steps: string[] = [];
  if (reasons.includes('ACCOUNT_ON_HOLD')) {
    steps.push(
      `Account is on hold: confirm with the account owner whether this order (${value}) may be released; otherwise reject it`,
    );
  }
  if (reasons.includes('CASH_IN_ADVANCE_TERMS')) {
    steps.push(`Cash-in-advance terms: release once payment of ${value} is received`);
  }
  if (reasons.includes('OVERDUE_BEYOND_GRACE')) {
    steps.push(
      `Chase the overdue balance of ${formatMoney(input.overdueAmount)}; release once it is paid or a payment date is agreed`,
    );
  }
  if (reasons.includes('OVER_CREDIT_LIMIT')) {
    const overByCents = toCents(assessment.exposureAfterOrder) - toCents(assessment.creditLimit);
    // Prepaying more than the order itself is not something this order can be held for.
    const prepayCents = Math.max(0, Math.min(overByCents, toCents(input.orderValue)));
    steps.push(
      `Review exposure ${formatMoney(assessment.exposureAfterOrder)} against limit ${formatMoney(assessment.creditLimit)} (${utilisationText(assessment)}); release, or request prepayment of ${formatMoney(prepayCents / 100)}`,
    );
  }
  if (steps.length === 0) {
    steps.push(
      `Review order value ${value} against exposure ${formatMoney(assessment.exposureAfterOrder)} and limit ${formatMoney(assessment.creditLimit)}`,
    );
  }
  const text = `${steps.join('. ')}.`;
  return reasons.includes('EXPEDITED_KEY_ACCOUNT')
    ? `Fast review (${input.serviceLevel} order from a key account, carrier cut-off at stake): ${text}`
    : text;
}

function holdPriority(lane: 'fast-review' | 'finance-hold', input: CreditLaneInput): ExceptionPriority {
  if (lane === 'fast-review') return input.serviceLevel === 'next-day' ? 'critical' : 'high';
  if (input.customerPriority === 'key-account') return 'high';
  if (input.customerPriority === 'standard' && input.serviceLevel === 'economy') return 'low';
  return 'normal';
}

/**
 * Chooses the credit lane for an assessed order.
 *
 * - assessment approved -> 'auto-approved'; declined (closed account) -> 'declined', no hold.
 * - assessment hold: unless the account is closed / on hold or on cash-in-advance terms (reason code or
 *   `paymentTerms`), the first band that fits releases it: 'auto-approved' + AUTO_APPROVE_BAND:<name>.
 * - otherwise an expedited / next-day order from a key account goes to 'fast-review' (SLA
 *   fastReviewMinutes; critical for next-day, high for expedited) and everything else to 'finance-hold'
 *   (keyAccountMinutes + high for key accounts; standardMinutes, and normal priority, or low for economy
 *   orders from standard customers).
 */
export function creditLane(input: CreditLaneInput): CreditLaneDecision {
  const slas = input.slas ?? DEFAULT_CREDIT_HOLD_SLAS;
  validateLaneInput(input, slas);
  const { assessment } = input;
  const reasons: CreditLaneReasonCode[] = [...assessment.reasonCodes];

  if (assessment.decision === 'approved') return { lane: 'auto-approved', reasonCodes: reasons };
  if (assessment.decision === 'declined') return { lane: 'declined', reasonCodes: reasons };

  const blocked =
    assessment.reasonCodes.some((code) => BAND_BLOCKING_REASONS.includes(code)) ||
    input.paymentTerms.trim().toUpperCase() === CASH_IN_ADVANCE;
  if (blocked) {
    reasons.push('AUTO_APPROVE_BLOCKED');
  } else {
    const band = input.bands.find((candidate) => bandFits(candidate, input));
    if (band !== undefined) {
      reasons.push(`AUTO_APPROVE_BAND:${band.name}`);
      return { lane: 'auto-approved', reasonCodes: reasons };
    }
    reasons.push('NO_AUTO_APPROVE_BAND');
  }

  const fast =
    input.customerPriority === 'key-account' && FAST_LANE_SERVICE_LEVELS.includes(input.serviceLevel);
  if (fast) reasons.push('EXPEDITED_KEY_ACCOUNT');
  const lane = fast ? 'fast-review' : 'finance-hold';
  const slaMinutes = fast
    ? slas.fastReviewMinutes
    : input.customerPriority === 'key-account'
      ? slas.keyAccountMinutes
      : slas.standardMinutes;
  return {
    lane,
    reasonCodes: reasons,
    hold: {
      ownerTeam: 'finance',
      slaMinutes,
      recommendedAction: recommendedAction(input, reasons),
      priority: holdPriority(lane, input),
    },
  };
}

export interface CreditReleaseInput {
  orderId: string;
  decision: 'released' | 'rejected';
  decidedBy: string;
  /** ISO 8601 datetime with a zone designator. */
  decidedAt: string;
  reason: string;
  holdReasonCodes: readonly string[];
  exposureAfterOrder: number;
  creditLimit: number;
}

/** The audit trail of one manual credit decision. Frozen: an audit record is never edited, only superseded. */
export interface CreditReleaseRecord {
  /** `${orderId}-CREDIT-${decidedAt}`: a redelivered decision writes the same record. */
  readonly recordId: string;
  readonly orderId: string;
  readonly decision: 'released' | 'rejected';
  /** Trimmed. */
  readonly decidedBy: string;
  /** As given (validated, not re-formatted), so the record id matches the caller's timestamp. */
  readonly decidedAt: string;
  /** Trimmed. */
  readonly reason: string;
  readonly holdReasonCodes: readonly string[];
  /** max(0, exposureAfterOrder - creditLimit), to the cent. */
  readonly overLimitBy: number;
}

const CREDIT_DECISIONS = ['released', 'rejected'] as const;
const ISO_INSTANT_RE =
  /^(\d{4})-(\d{2})-(\d{2})T(?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d{1,9})?)?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)$/;

/** Date.parse alone accepts 2025-02-30, so the calendar date is checked first. */
function isIsoInstant(value: unknown): value is string {
  const m = typeof value === 'string' ? ISO_INSTANT_RE.exec(value) : null;
  if (m === null) return false;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  return (
    year >= 1900 &&
    month >= 1 &&
    month <= 12 &&
    day >= 1 &&
    day <= new Date(Date.UTC(year, month, 0)).getUTCDate()
  );
}

function requireText(field: string, value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new InvalidCreditReleaseInput(field, 'must be a non-empty, non-blank string');
  }
  return value.trim();
}

function requireReleaseFinite(field: string, value: unknown): asserts value is number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new InvalidCreditReleaseInput(field, `must be a finite number (got ${String(value)})`);
  }
}

/** Builds the immutable audit record for a person's release or rejection of a credit-held order. */
export function recordCreditRelease(input: CreditReleaseInput): CreditReleaseRecord {
  const orderId = requireText('orderId', input.orderId);
  if (!isOneOf(CREDIT_DECISIONS, input.decision)) {
    throw new InvalidCreditReleaseInput(
      'decision',
      `must be one of ${CREDIT_DECISIONS.join(', ')} (got ${String(input.decision)})`,
    );
  }
  const decidedBy = requireText('decidedBy', input.decidedBy);
  const reason = requireText('reason', input.reason);
  if (!isIsoInstant(input.decidedAt)) {
    throw new InvalidCreditReleaseInput(
      'decidedAt',
      `must be an ISO 8601 datetime with a zone designator, e.g. 2025-03-10T09:30:00Z (got ${String(input.decidedAt)})`,
    );
  }
  if (!Array.isArray(input.holdReasonCodes)) {
    throw new InvalidCreditReleaseInput('holdReasonCodes', 'must be an array');
  }
  input.holdReasonCodes.forEach((code, i) => {
    if (typeof code !== 'string' || code.trim() === '') {
      throw new InvalidCreditReleaseInput(`holdReasonCodes[${i}]`, 'must be a non-empty string');
    }
  });
  requireReleaseFinite('exposureAfterOrder', input.exposureAfterOrder);
  requireReleaseFinite('creditLimit', input.creditLimit);
  if (input.creditLimit < 0) {
    throw new InvalidCreditReleaseInput('creditLimit', `must not be negative (got ${input.creditLimit})`);
  }

  return Object.freeze({
    recordId: `${orderId}-CREDIT-${input.decidedAt}`,
    orderId,
    decision: input.decision,
    decidedBy,
    decidedAt: input.decidedAt,
    reason,
    holdReasonCodes: Object.freeze([...input.holdReasonCodes]),
    overLimitBy: roundMoney(
      Math.max(0, toCents(input.exposureAfterOrder) - toCents(input.creditLimit)) / 100,
    ),
  });
}
