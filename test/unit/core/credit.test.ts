import { describe, expect, it } from 'vitest';
import {
  assessCredit,
  type CreditPolicy,
  type CreditProfile,
  DEFAULT_CREDIT_POLICY,
  InvalidCreditInput,
} from '../../../lambdas/core/credit.ts';
import { DomainError } from '../../../lambdas/core/errors.ts';

/** A healthy NET30 customer: limit 10,000, exposure 6,000 (4,000 headroom), nothing overdue. */
function profile(overrides: Partial<CreditProfile> = {}): CreditProfile {
  return {
    customerId: 'CUST-1',
    accountStatus: 'active',
    creditLimit: 10_000,
    openArBalance: 4_000,
    openOrderValue: 2_000,
    overdueAmount: 0,
    oldestOverdueDays: 0,
    paymentTerms: 'NET30',
    ...overrides,
  };
}

function captureError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to throw');
}

describe('assessCredit: default policy', () => {
  it('uses 15 grace days, auto-approves orders below 250, and tolerates 5% over the limit', () => {
    expect(DEFAULT_CREDIT_POLICY).toEqual({
      overdueGraceDays: 15,
      smallOrderAutoApproveBelow: 250,
      overLimitTolerancePct: 5,
    });
  });
});

describe('assessCredit: account status and terms', () => {
  it('declines any order from a closed account, even a tiny one well within the limit', () => {
    const result = assessCredit(10, profile({ accountStatus: 'closed' }));
    expect(result.decision).toBe('declined');
    expect(result.reasonCodes).toEqual(['ACCOUNT_CLOSED']);
  });

  it('declines a closed account before looking at cash-in-advance terms or overdue invoices', () => {
    const result = assessCredit(
      10,
      profile({ accountStatus: 'closed', paymentTerms: 'CIA', overdueAmount: 500, oldestOverdueDays: 90 }),
    );
    expect(result.decision).toBe('declined');
    expect(result.reasonCodes).toEqual(['ACCOUNT_CLOSED']);
  });

  it('holds every order from an account on hold, even one that would be within the limit', () => {
    const result = assessCredit(10, profile({ accountStatus: 'on-hold' }));
    expect(result.decision).toBe('hold');
    expect(result.reasonCodes).toEqual(['ACCOUNT_ON_HOLD']);
  });

  it('reports the account hold ahead of cash-in-advance terms', () => {
    const result = assessCredit(10, profile({ accountStatus: 'on-hold', paymentTerms: 'CIA' }));
    expect(result.reasonCodes).toEqual(['ACCOUNT_ON_HOLD']);
  });

  it('holds cash-in-advance customers for finance to confirm payment, even within the limit', () => {
    const result = assessCredit(100, profile({ paymentTerms: 'CIA' }));
    expect(result.decision).toBe('hold');
    expect(result.reasonCodes).toEqual(['CASH_IN_ADVANCE_TERMS']);
  });

  it('recognises cash-in-advance terms regardless of case and padding', () => {
    expect(assessCredit(100, profile({ paymentTerms: ' cia ' })).reasonCodes).toEqual([
      'CASH_IN_ADVANCE_TERMS',
    ]);
  });

  it('still reports the exposure figures for declined and held orders', () => {
    const result = assessCredit(500, profile({ accountStatus: 'closed' }));
    expect(result).toMatchObject({
      orderValue: 500,
      exposure: 6_000,
      exposureAfterOrder: 6_500,
      creditLimit: 10_000,
      headroomAfterOrder: 3_500,
    });
  });
});

describe('assessCredit: exposure against the credit limit', () => {
  it('approves an order that keeps exposure within the limit and reports the figures', () => {
    const result = assessCredit(1_500, profile());
    expect(result).toEqual({
      decision: 'approved',
      reasonCodes: ['WITHIN_LIMIT'],
      orderValue: 1_500,
      exposure: 6_000,
      exposureAfterOrder: 7_500,
      creditLimit: 10_000,
      headroomAfterOrder: 2_500,
    });
  });

  it('approves an order that takes exposure exactly to the limit', () => {
    const result = assessCredit(4_000, profile());
    expect(result.decision).toBe('approved');
    expect(result.reasonCodes).toEqual(['WITHIN_LIMIT']);
    expect(result.headroomAfterOrder).toBe(0);
  });

  it('no longer treats an order one cent over the limit as within the limit', () => {
    const result = assessCredit(4_000.01, profile());
    expect(result.reasonCodes).not.toContain('WITHIN_LIMIT');
    expect(result.headroomAfterOrder).toBe(-0.01);
  });

  it('computes exposure in cents so float drift cannot push an order over the limit', () => {
    const result = assessCredit(0.3, profile({ creditLimit: 0.6, openArBalance: 0.1, openOrderValue: 0.2 }));
    expect(result.exposure).toBe(0.3);
    expect(result.exposureAfterOrder).toBe(0.6);
    expect(result.headroomAfterOrder).toBe(0);
    expect(result.reasonCodes).toEqual(['WITHIN_LIMIT']);
  });

  it('lets a negative AR balance (unapplied credits) reduce exposure', () => {
    const result = assessCredit(10_500, profile({ openArBalance: -1_000, openOrderValue: 500 }));
    expect(result.exposure).toBe(-500);
    expect(result.exposureAfterOrder).toBe(10_000);
    expect(result.decision).toBe('approved');
    expect(result.reasonCodes).toEqual(['WITHIN_LIMIT']);
  });

  it('auto-approves a small order that goes over the limit when nothing is overdue', () => {
    // Already 1,000 over the limit, beyond any tolerance.
    const result = assessCredit(249.99, profile({ openArBalance: 9_000, openOrderValue: 2_000 }));
    expect(result.decision).toBe('approved');
    expect(result.reasonCodes).toEqual(['SMALL_ORDER_AUTO_APPROVED']);
    expect(result.headroomAfterOrder).toBe(-1_249.99);
  });

  it('does not auto-approve an order exactly at the small-order threshold', () => {
    const result = assessCredit(250, profile({ openArBalance: 9_000, openOrderValue: 2_000 }));
    expect(result.decision).toBe('hold');
    expect(result.reasonCodes).toEqual(['OVER_CREDIT_LIMIT']);
  });

  it('prefers the small-order reason over the tolerance reason when both would approve', () => {
    const result = assessCredit(100, profile({ openArBalance: 8_000, openOrderValue: 2_000 }));
    expect(result.reasonCodes).toEqual(['SMALL_ORDER_AUTO_APPROVED']);
  });

  it('approves an order that lands exactly on the over-limit tolerance (limit + 5%)', () => {
    const result = assessCredit(4_500, profile());
    expect(result.exposureAfterOrder).toBe(10_500);
    expect(result.decision).toBe('approved');
    expect(result.reasonCodes).toEqual(['WITHIN_OVER_LIMIT_TOLERANCE']);
    expect(result.headroomAfterOrder).toBe(-500);
  });

  it('holds an order one cent beyond the over-limit tolerance', () => {
    const result = assessCredit(4_500.01, profile());
    expect(result.decision).toBe('hold');
    expect(result.reasonCodes).toEqual(['OVER_CREDIT_LIMIT']);
    expect(result.headroomAfterOrder).toBe(-500.01);
  });

  it('holds any over-limit order from a customer with a zero credit limit unless it is small', () => {
    const noCredit = profile({ creditLimit: 0, openArBalance: 0, openOrderValue: 0 });
    expect(assessCredit(0, noCredit).reasonCodes).toEqual(['WITHIN_LIMIT']);
    expect(assessCredit(100, noCredit).reasonCodes).toEqual(['SMALL_ORDER_AUTO_APPROVED']);
    expect(assessCredit(300, noCredit).reasonCodes).toEqual(['OVER_CREDIT_LIMIT']);
  });
});

describe('assessCredit: overdue invoices', () => {
  it('does not hold when the oldest overdue invoice is exactly at the grace period', () => {
    const result = assessCredit(1_000, profile({ overdueAmount: 800, oldestOverdueDays: 15 }));
    expect(result.decision).toBe('approved');
    expect(result.reasonCodes).toEqual(['WITHIN_LIMIT']);
  });

  it('holds an order within the limit when invoices are overdue one day beyond grace', () => {
    const result = assessCredit(1_000, profile({ overdueAmount: 800, oldestOverdueDays: 16 }));
    expect(result.decision).toBe('hold');
    expect(result.reasonCodes).toEqual(['OVERDUE_BEYOND_GRACE']);
  });

  it('ignores overdue days when no amount is actually overdue', () => {
    const result = assessCredit(1_000, profile({ overdueAmount: 0, oldestOverdueDays: 120 }));
    expect(result.decision).toBe('approved');
  });

  it('holds an order that pushes exposure over the limit and reports both hold reasons when invoices are also overdue', () => {
    const result = assessCredit(6_000, profile({ overdueAmount: 800, oldestOverdueDays: 45 }));
    expect(result.decision).toBe('hold');
    expect(result.reasonCodes).toEqual(['OVERDUE_BEYOND_GRACE', 'OVER_CREDIT_LIMIT']);
  });

  it('does not auto-approve a small over-limit order while invoices are overdue beyond grace', () => {
    const result = assessCredit(
      100,
      profile({ openArBalance: 9_950, openOrderValue: 0, overdueAmount: 50, oldestOverdueDays: 30 }),
    );
    expect(result.decision).toBe('hold');
    expect(result.reasonCodes).toEqual(['OVERDUE_BEYOND_GRACE', 'OVER_CREDIT_LIMIT']);
  });

  it('does not apply the over-limit tolerance while invoices are overdue beyond grace', () => {
    const result = assessCredit(4_200, profile({ overdueAmount: 50, oldestOverdueDays: 30 }));
    expect(result.decision).toBe('hold');
    expect(result.reasonCodes).toEqual(['OVERDUE_BEYOND_GRACE', 'OVER_CREDIT_LIMIT']);
  });
});

describe('assessCredit: custom policy', () => {
  const strict: CreditPolicy = {
    overdueGraceDays: 30,
    smallOrderAutoApproveBelow: 0,
    overLimitTolerancePct: 0,
  };

  it('uses the policy grace period instead of the default', () => {
    const overdue = profile({ overdueAmount: 100, oldestOverdueDays: 20 });
    expect(assessCredit(100, overdue).decision).toBe('hold');
    expect(assessCredit(100, overdue, strict).decision).toBe('approved');
  });

  it('holds any over-limit order when the policy allows no small orders and no tolerance', () => {
    const result = assessCredit(4_000.01, profile(), strict);
    expect(result.decision).toBe('hold');
    expect(result.reasonCodes).toEqual(['OVER_CREDIT_LIMIT']);
  });

  it('applies a fractional tolerance percentage exactly', () => {
    const policy: CreditPolicy = { ...strict, overLimitTolerancePct: 2.5 };
    expect(assessCredit(4_250, profile(), policy).reasonCodes).toEqual(['WITHIN_OVER_LIMIT_TOLERANCE']);
    expect(assessCredit(4_250.01, profile(), policy).reasonCodes).toEqual(['OVER_CREDIT_LIMIT']);
  });
});

describe('assessCredit: input validation', () => {
  it('rejects a negative order value, naming the field and the rule', () => {
    const error = captureError(() => assessCredit(-1, profile()));
    expect(error).toBeInstanceOf(InvalidCreditInput);
    expect(error).toBeInstanceOf(DomainError);
    expect(error).toMatchObject({ name: 'InvalidCreditInput', field: 'orderValue', retryable: false });
    expect((error as Error).message).toMatch(/^orderValue must not be negative/);
  });

  it('rejects a NaN order value as not a finite number', () => {
    expect(() => assessCredit(Number.NaN, profile())).toThrow(
      /orderValue must be a finite number \(got NaN\)/,
    );
  });

  it('rejects a negative credit limit', () => {
    expect(() => assessCredit(1, profile({ creditLimit: -100 }))).toThrow(
      /profile\.creditLimit must not be negative/,
    );
  });

  it('rejects non-finite balances', () => {
    expect(() => assessCredit(1, profile({ openArBalance: Number.POSITIVE_INFINITY }))).toThrow(
      /profile\.openArBalance must be a finite number/,
    );
    expect(() => assessCredit(1, profile({ openOrderValue: Number.NaN }))).toThrow(/profile\.openOrderValue/);
  });

  it('rejects negative overdue figures', () => {
    expect(() => assessCredit(1, profile({ overdueAmount: -5 }))).toThrow(
      /profile\.overdueAmount must not be negative/,
    );
    expect(() => assessCredit(1, profile({ oldestOverdueDays: -1 }))).toThrow(/profile\.oldestOverdueDays/);
  });

  it('rejects an unknown account status', () => {
    expect(() =>
      assessCredit(1, profile({ accountStatus: 'suspended' as CreditProfile['accountStatus'] })),
    ).toThrow(/profile\.accountStatus must be one of active, on-hold, closed \(got suspended\)/);
  });

  it('rejects a policy with a negative tolerance', () => {
    expect(() => assessCredit(1, profile(), { ...DEFAULT_CREDIT_POLICY, overLimitTolerancePct: -5 })).toThrow(
      InvalidCreditInput,
    );
    expect(() => assessCredit(1, profile(), { ...DEFAULT_CREDIT_POLICY, overLimitTolerancePct: -5 })).toThrow(
      /policy\.overLimitTolerancePct must not be negative/,
    );
  });

  it('accepts a zero-value order', () => {
    expect(assessCredit(0, profile()).decision).toBe('approved');
  });
});
