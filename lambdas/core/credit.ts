import { InvalidInputError } from './errors.ts';
import { roundMoney, toCents } from './money.ts';

export const ACCOUNT_STATUSES = ['active', 'on-hold', 'closed'] as const;
export type AccountStatus = (typeof ACCOUNT_STATUSES)[number];

export interface CreditProfile {
  customerId: string;
  accountStatus: AccountStatus;
  creditLimit: number;
  openArBalance: number;
  openOrderValue: number;
  overdueAmount: number;
  oldestOverdueDays: number;
  /** e.g. 'NET30', or 'CIA' (cash in advance). */
  paymentTerms: string;
}

export interface CreditPolicy {
  overdueGraceDays: number;
  smallOrderAutoApproveBelow: number;
  overLimitTolerancePct: number;
}

export const DEFAULT_CREDIT_POLICY: CreditPolicy = {
  overdueGraceDays: 15,
  smallOrderAutoApproveBelow: 250,
  overLimitTolerancePct: 5,
};

export type CreditReasonCode =
  | 'WITHIN_LIMIT'
  | 'SMALL_ORDER_AUTO_APPROVED'
  | 'WITHIN_OVER_LIMIT_TOLERANCE'
  | 'OVER_CREDIT_LIMIT'
  | 'OVERDUE_BEYOND_GRACE'
  | 'ACCOUNT_ON_HOLD'
  | 'ACCOUNT_CLOSED'
  | 'CASH_IN_ADVANCE_TERMS';

export interface CreditAssessment {
  decision: 'approved' | 'hold' | 'declined';
  reasonCodes: CreditReasonCode[];
  orderValue: number;
  /** openArBalance + openOrderValue before this order. */
  exposure: number;
  exposureAfterOrder: number;
  creditLimit: number;
  /** creditLimit - exposureAfterOrder; negative when over the limit. */
  headroomAfterOrder: number;
}

export class InvalidCreditInput extends InvalidInputError {
  override name = 'InvalidCreditInput';
}

const CASH_IN_ADVANCE = 'CIA';

function requireFinite(field: string, value: unknown): asserts value is number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new InvalidCreditInput(field, `must be a finite number (got ${String(value)})`);
  }
}

function requireNonNegative(field: string, value: unknown): asserts value is number {
  requireFinite(field, value);
  if (value < 0) throw new InvalidCreditInput(field, `must not be negative (got ${value})`);
}

function validate(orderValue: number, profile: CreditProfile, policy: CreditPolicy): void {
  requireNonNegative('orderValue', orderValue);
  if (!(ACCOUNT_STATUSES as readonly string[]).includes(profile.accountStatus)) {
    throw new InvalidCreditInput(
      'profile.accountStatus',
      `must be one of ${ACCOUNT_STATUSES.join(', ')} (got ${String(profile.accountStatus)})`,
    );
  }
  requireNonNegative('profile.creditLimit', profile.creditLimit);
  // A negative AR balance is legitimate (unapplied credit memos / prepayments), so only finiteness is required.
  requireFinite('profile.openArBalance', profile.openArBalance);
  requireNonNegative('profile.openOrderValue', profile.openOrderValue);
  requireNonNegative('profile.overdueAmount', profile.overdueAmount);
  requireNonNegative('profile.oldestOverdueDays', profile.oldestOverdueDays);
  if (typeof profile.paymentTerms !== 'string') {
    throw new InvalidCreditInput('profile.paymentTerms', 'must be a string');
  }
  requireNonNegative('policy.overdueGraceDays', policy.overdueGraceDays);
  requireNonNegative('policy.smallOrderAutoApproveBelow', policy.smallOrderAutoApproveBelow);
  requireNonNegative('policy.overLimitTolerancePct', policy.overLimitTolerancePct);
}

/**
 * Credit check for one order against the customer's credit profile.
 *
 * Order of rules: closed account (declined) > account on hold > cash-in-advance terms > overdue and
 * exposure checks. Overdue and over-limit hold reasons are collected together so finance sees every
 * reason at once; the small-order and tolerance approvals never apply while invoices are overdue
 * beyond grace. All comparisons are done in integer cents.
 */
export function assessCredit(
  orderValue: number,
  profile: CreditProfile,
  policy: CreditPolicy = DEFAULT_CREDIT_POLICY,
): CreditAssessment {
  validate(orderValue, profile, policy);

  const orderCents = toCents(orderValue);
  const limitCents = toCents(profile.creditLimit);
  const exposureCents = toCents(profile.openArBalance) + toCents(profile.openOrderValue);
  const afterCents = exposureCents + orderCents;

  const figures = {
    orderValue: orderCents / 100,
    exposure: exposureCents / 100 || 0,
    exposureAfterOrder: afterCents / 100 || 0,
    creditLimit: limitCents / 100,
    headroomAfterOrder: roundMoney((limitCents - afterCents) / 100),
  };
  const result = (
    decision: CreditAssessment['decision'],
    reasonCodes: CreditReasonCode[],
  ): CreditAssessment => ({ decision, reasonCodes, ...figures });

  if (profile.accountStatus === 'closed') return result('declined', ['ACCOUNT_CLOSED']);
  if (profile.accountStatus === 'on-hold') return result('hold', ['ACCOUNT_ON_HOLD']);
  if (profile.paymentTerms.trim().toUpperCase() === CASH_IN_ADVANCE) {
    return result('hold', ['CASH_IN_ADVANCE_TERMS']);
  }

  const overdueHold = profile.overdueAmount > 0 && profile.oldestOverdueDays > policy.overdueGraceDays;
  const holdReasons: CreditReasonCode[] = overdueHold ? ['OVERDUE_BEYOND_GRACE'] : [];

  if (afterCents <= limitCents) {
    return overdueHold ? result('hold', holdReasons) : result('approved', ['WITHIN_LIMIT']);
  }
  if (!overdueHold) {
    if (orderCents < toCents(policy.smallOrderAutoApproveBelow)) {
      return result('approved', ['SMALL_ORDER_AUTO_APPROVED']);
    }
    // afterCents <= limitCents * (1 + pct/100), multiplied through by 100 to stay in integers.
    if (afterCents * 100 <= limitCents * (100 + policy.overLimitTolerancePct)) {
      return result('approved', ['WITHIN_OVER_LIMIT_TOLERANCE']);
    }
  }
  return result('hold', [...holdReasons, 'OVER_CREDIT_LIMIT']);
}
