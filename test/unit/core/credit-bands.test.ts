import { describe, expect, it } from 'vitest';
import { assessCredit, type CreditProfile } from '../../../lambdas/core/credit.ts';
import {
  type AutoApproveBand,
  type CreditLaneInput,
  type CreditReleaseInput,
  creditLane,
  DEFAULT_AUTO_APPROVE_BANDS,
  DEFAULT_CREDIT_HOLD_SLAS,
  formatMoney,
  InvalidCreditLaneInput,
  InvalidCreditReleaseInput,
  recordCreditRelease,
} from '../../../lambdas/core/credit-bands.ts';
import { DomainError } from '../../../lambdas/core/errors.ts';

/** Limit 10,000, exposure 6,000, nothing overdue, NET30. */
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

/** A band that admits the reference held order (4,800 taking exposure to 10,800 = 108%). */
const OPEN_BAND: AutoApproveBand = {
  name: 'test-band',
  maxOrderValue: 5_000,
  maxUtilisationPct: 120,
  requireNoOverdue: true,
};

/** Assesses the order with assessCredit, then builds the lane input around it. */
function laneInput(
  orderValue: number,
  profileOverrides: Partial<CreditProfile> = {},
  overrides: Partial<Omit<CreditLaneInput, 'assessment' | 'orderValue'>> = {},
): CreditLaneInput {
  const p = profile(profileOverrides);
  return {
    assessment: assessCredit(orderValue, p),
    customerPriority: 'standard',
    segment: 'mid-market',
    serviceLevel: 'standard',
    orderValue,
    paymentTerms: p.paymentTerms,
    overdueAmount: p.overdueAmount,
    bands: [OPEN_BAND],
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

describe('creditLane: lanes', () => {
  it('auto-approves an order the assessment approves, with no hold', () => {
    const result = creditLane(laneInput(1_500, {}, { bands: [] }));
    expect(result).toEqual({ lane: 'auto-approved', reasonCodes: ['WITHIN_LIMIT'] });
  });

  it('declines an order from a closed account, with no hold for finance', () => {
    const result = creditLane(laneInput(100, { accountStatus: 'closed' }));
    expect(result).toEqual({ lane: 'declined', reasonCodes: ['ACCOUNT_CLOSED'] });
  });

  it('releases a held order that fits a band, keeping the hold reason and naming the band', () => {
    const input = laneInput(4_800);
    expect(input.assessment.decision).toBe('hold');
    const result = creditLane(input);
    expect(result.lane).toBe('auto-approved');
    expect(result.reasonCodes).toEqual(['OVER_CREDIT_LIMIT', 'AUTO_APPROVE_BAND:test-band']);
    expect(result.hold).toBeUndefined();
  });

  it('sends an expedited key-account order that fits no band to fast review', () => {
    const result = creditLane(
      laneInput(6_400, {}, { customerPriority: 'key-account', serviceLevel: 'expedited' }),
    );
    expect(result.lane).toBe('fast-review');
    expect(result.reasonCodes).toEqual([
      'OVER_CREDIT_LIMIT',
      'NO_AUTO_APPROVE_BAND',
      'EXPEDITED_KEY_ACCOUNT',
    ]);
    expect(result.hold).toMatchObject({ ownerTeam: 'finance', slaMinutes: 30, priority: 'high' });
  });

  it('treats a next-day key-account order as the most urgent fast review', () => {
    const result = creditLane(
      laneInput(6_400, {}, { customerPriority: 'key-account', serviceLevel: 'next-day' }),
    );
    expect(result.lane).toBe('fast-review');
    expect(result.hold).toMatchObject({ slaMinutes: 30, priority: 'critical' });
  });

  it('sends an expedited order from a non-key account to the ordinary finance hold', () => {
    const result = creditLane(
      laneInput(6_400, {}, { customerPriority: 'preferred', serviceLevel: 'next-day' }),
    );
    expect(result.lane).toBe('finance-hold');
    expect(result.reasonCodes).toEqual(['OVER_CREDIT_LIMIT', 'NO_AUTO_APPROVE_BAND']);
    expect(result.hold).toMatchObject({ slaMinutes: 240, priority: 'normal' });
  });

  it('gives a standard-service key-account hold the key-account SLA and high priority', () => {
    const result = creditLane(laneInput(6_400, {}, { customerPriority: 'key-account' }));
    expect(result.lane).toBe('finance-hold');
    expect(result.hold).toMatchObject({ ownerTeam: 'finance', slaMinutes: 60, priority: 'high' });
  });

  it('gives an economy order from a standard customer the standard SLA at low priority', () => {
    const result = creditLane(laneInput(6_400, {}, { serviceLevel: 'economy' }));
    expect(result.lane).toBe('finance-hold');
    expect(result.hold).toMatchObject({ slaMinutes: 240, priority: 'low' });
  });

  it('uses caller-supplied SLAs instead of the defaults', () => {
    const slas = { fastReviewMinutes: 15, keyAccountMinutes: 45, standardMinutes: 480 };
    const fast = laneInput(6_400, {}, { customerPriority: 'key-account', serviceLevel: 'expedited', slas });
    const keyAccount = laneInput(6_400, {}, { customerPriority: 'key-account', slas });
    const standard = laneInput(6_400, {}, { slas });
    expect(creditLane(fast).hold?.slaMinutes).toBe(15);
    expect(creditLane(keyAccount).hold?.slaMinutes).toBe(45);
    expect(creditLane(standard).hold?.slaMinutes).toBe(480);
  });

  it('documents default SLAs of 30 (fast review), 60 (key account) and 240 (standard) minutes', () => {
    expect(DEFAULT_CREDIT_HOLD_SLAS).toEqual({
      fastReviewMinutes: 30,
      keyAccountMinutes: 60,
      standardMinutes: 240,
    });
  });
});

describe('creditLane: band conditions', () => {
  it('admits an order exactly at maxOrderValue and holds one a cent above it', () => {
    const band = { ...OPEN_BAND, maxOrderValue: 4_800 };
    expect(creditLane(laneInput(4_800, {}, { bands: [band] })).lane).toBe('auto-approved');
    expect(creditLane(laneInput(4_800.01, {}, { bands: [band] })).lane).toBe('finance-hold');
  });

  it('admits utilisation exactly at maxUtilisationPct and holds anything above it', () => {
    // 4,800 takes exposure to 10,800: 108% of the 10,000 limit.
    expect(creditLane(laneInput(4_800, {}, { bands: [{ ...OPEN_BAND, maxUtilisationPct: 108 }] })).lane).toBe(
      'auto-approved',
    );
    expect(
      creditLane(laneInput(4_800, {}, { bands: [{ ...OPEN_BAND, maxUtilisationPct: 107.99 }] })).lane,
    ).toBe('finance-hold');
  });

  it('never admits positive exposure against a zero credit limit, whatever the percentage', () => {
    const input = laneInput(
      300,
      { creditLimit: 0, openArBalance: 0, openOrderValue: 0 },
      {
        bands: [{ ...OPEN_BAND, maxUtilisationPct: 1_000_000 }],
      },
    );
    expect(input.assessment.decision).toBe('hold');
    expect(creditLane(input).lane).toBe('finance-hold');
  });

  it('applies a segment-restricted band only to the listed segments', () => {
    const band: AutoApproveBand = { ...OPEN_BAND, segments: ['enterprise'] };
    expect(creditLane(laneInput(4_800, {}, { bands: [band], segment: 'enterprise' })).lane).toBe(
      'auto-approved',
    );
    expect(creditLane(laneInput(4_800, {}, { bands: [band], segment: 'mid-market' })).lane).toBe(
      'finance-hold',
    );
  });

  it('applies a priority-restricted band only to the listed customer priorities', () => {
    const band: AutoApproveBand = { ...OPEN_BAND, priorities: ['key-account'] };
    expect(creditLane(laneInput(4_800, {}, { bands: [band], customerPriority: 'key-account' })).lane).toBe(
      'auto-approved',
    );
    expect(creditLane(laneInput(4_800, {}, { bands: [band], customerPriority: 'preferred' })).lane).toBe(
      'finance-hold',
    );
  });

  it('refuses a requireNoOverdue band when anything is overdue, even within grace', () => {
    const withinGrace = { overdueAmount: 50, oldestOverdueDays: 5 };
    const strict = laneInput(4_800, withinGrace, { bands: [{ ...OPEN_BAND, requireNoOverdue: true }] });
    const lenient = laneInput(4_800, withinGrace, { bands: [{ ...OPEN_BAND, requireNoOverdue: false }] });
    expect(strict.assessment.reasonCodes).toEqual(['OVER_CREDIT_LIMIT']);
    expect(creditLane(strict).lane).toBe('finance-hold');
    expect(creditLane(lenient).lane).toBe('auto-approved');
  });

  it('lets a band without the overdue requirement release an order held only for overdue invoices', () => {
    const input = laneInput(
      1_000,
      { overdueAmount: 1_200, oldestOverdueDays: 40 },
      {
        bands: [{ ...OPEN_BAND, requireNoOverdue: false, maxUtilisationPct: 100 }],
      },
    );
    expect(input.assessment.reasonCodes).toEqual(['OVERDUE_BEYOND_GRACE']);
    expect(creditLane(input).reasonCodes).toEqual(['OVERDUE_BEYOND_GRACE', 'AUTO_APPROVE_BAND:test-band']);
  });

  it('uses the first band that fits, in list order', () => {
    const bands: AutoApproveBand[] = [
      { ...OPEN_BAND, name: 'too-small', maxOrderValue: 100 },
      { ...OPEN_BAND, name: 'first-fit' },
      { ...OPEN_BAND, name: 'also-fits' },
    ];
    expect(creditLane(laneInput(4_800, {}, { bands })).reasonCodes).toEqual([
      'OVER_CREDIT_LIMIT',
      'AUTO_APPROVE_BAND:first-fit',
    ]);
  });
});

describe('creditLane: accounts that bands never release', () => {
  const everything: AutoApproveBand = {
    name: 'everything',
    maxOrderValue: 1_000_000,
    maxUtilisationPct: 1_000_000,
    requireNoOverdue: false,
  };

  it('still declines a closed account', () => {
    expect(creditLane(laneInput(100, { accountStatus: 'closed' }, { bands: [everything] })).lane).toBe(
      'declined',
    );
  });

  it('holds an account on hold for review even though a band would fit', () => {
    const result = creditLane(laneInput(100, { accountStatus: 'on-hold' }, { bands: [everything] }));
    expect(result.lane).toBe('finance-hold');
    expect(result.reasonCodes).toEqual(['ACCOUNT_ON_HOLD', 'AUTO_APPROVE_BLOCKED']);
  });

  it('holds cash-in-advance terms for payment even though a band would fit', () => {
    const result = creditLane(laneInput(100, { paymentTerms: 'CIA' }, { bands: [everything] }));
    expect(result.lane).toBe('finance-hold');
    expect(result.reasonCodes).toEqual(['CASH_IN_ADVANCE_TERMS', 'AUTO_APPROVE_BLOCKED']);
  });

  it('blocks bands on cash-in-advance terms even when the assessment reports another reason', () => {
    // e.g. an assessment made before the terms changed: the terms alone must still keep bands away.
    const input = laneInput(4_800, {}, { bands: [everything], paymentTerms: ' cia ' });
    expect(input.assessment.reasonCodes).toEqual(['OVER_CREDIT_LIMIT']);
    const result = creditLane(input);
    expect(result.lane).toBe('finance-hold');
    expect(result.reasonCodes).toEqual(['OVER_CREDIT_LIMIT', 'AUTO_APPROVE_BLOCKED']);
  });

  it('routes a blocked next-day key-account order to fast review rather than releasing it', () => {
    const result = creditLane(
      laneInput(
        100,
        { accountStatus: 'on-hold' },
        {
          bands: [everything],
          customerPriority: 'key-account',
          serviceLevel: 'next-day',
        },
      ),
    );
    expect(result.lane).toBe('fast-review');
    expect(result.reasonCodes).toEqual(['ACCOUNT_ON_HOLD', 'AUTO_APPROVE_BLOCKED', 'EXPEDITED_KEY_ACCOUNT']);
  });
});

describe('creditLane: recommended action', () => {
  it('states exposure, limit, utilisation and the prepayment that would clear the excess', () => {
    const result = creditLane(laneInput(6_400));
    expect(result.hold?.recommendedAction).toBe(
      'Review exposure 12,400.00 against limit 10,000.00 (124%); release, or request prepayment of 2,400.00.',
    );
  });

  it('never asks for more prepayment than the order is worth when the account was already over the limit', () => {
    const result = creditLane(laneInput(1_000, { openArBalance: 11_000, openOrderValue: 0 }, { bands: [] }));
    expect(result.hold?.recommendedAction).toContain('exposure 12,000.00 against limit 10,000.00 (120%)');
    expect(result.hold?.recommendedAction).toContain('request prepayment of 1,000.00');
  });

  it('shows a fractional utilisation rather than rounding an overage down to 100%', () => {
    const result = creditLane(laneInput(4_540, {}, { bands: [] }));
    expect(result.hold?.recommendedAction).toContain('(105.4%)');
  });

  it('says there is no credit limit rather than dividing by zero', () => {
    const result = creditLane(laneInput(300, { creditLimit: 0, openArBalance: 0, openOrderValue: 0 }));
    expect(result.hold?.recommendedAction).toContain('against limit 0.00 (no credit limit)');
  });

  it('asks finance to chase the overdue amount, and lists every hold reason', () => {
    const result = creditLane(laneInput(6_400, { overdueAmount: 1_200, oldestOverdueDays: 40 }));
    expect(result.hold?.recommendedAction).toBe(
      'Chase the overdue balance of 1,200.00; release once it is paid or a payment date is agreed. ' +
        'Review exposure 12,400.00 against limit 10,000.00 (124%); release, or request prepayment of 2,400.00.',
    );
  });

  it('asks for payment of the order value on cash-in-advance terms', () => {
    const result = creditLane(laneInput(1_500, { paymentTerms: 'CIA' }));
    expect(result.hold?.recommendedAction).toBe(
      'Cash-in-advance terms: release once payment of 1,500.00 is received.',
    );
  });

  it('asks for the account owner when the account is on hold', () => {
    const result = creditLane(laneInput(1_500, { accountStatus: 'on-hold' }));
    expect(result.hold?.recommendedAction).toContain('Account is on hold');
    expect(result.hold?.recommendedAction).toContain('(1,500.00)');
  });

  it('marks a fast review with the service level and why it is urgent', () => {
    const result = creditLane(
      laneInput(6_400, {}, { customerPriority: 'key-account', serviceLevel: 'next-day' }),
    );
    expect(result.hold?.recommendedAction).toMatch(/^Fast review \(next-day order from a key account/);
    expect(result.hold?.recommendedAction).toContain('request prepayment of 2,400.00');
  });

  it('formats money with thousands separators, two decimals and a sign', () => {
    expect(formatMoney(1_234_567.5)).toBe('1,234,567.50');
    expect(formatMoney(0)).toBe('0.00');
    expect(formatMoney(-0.5)).toBe('-0.50');
  });
});

describe('creditLane: default bands', () => {
  it('lets a key account go up to 15% over the limit on an order up to 5,000 with nothing overdue', () => {
    const fits = laneInput(
      5_000,
      { openArBalance: 4_500 },
      {
        bands: DEFAULT_AUTO_APPROVE_BANDS,
        customerPriority: 'key-account',
      },
    );
    expect(fits.assessment.exposureAfterOrder).toBe(11_500);
    expect(creditLane(fits).reasonCodes).toContain('AUTO_APPROVE_BAND:key-account-stretch');
    const tooFar = laneInput(
      5_000,
      { openArBalance: 4_600 },
      {
        bands: DEFAULT_AUTO_APPROVE_BANDS,
        customerPriority: 'key-account',
      },
    );
    expect(creditLane(tooFar).lane).toBe('finance-hold');
  });

  it('lets an enterprise preferred account within its limit release up to 2,500 while invoices are overdue', () => {
    const overdue = { overdueAmount: 3_000, oldestOverdueDays: 60 };
    const input = laneInput(2_500, overdue, {
      bands: DEFAULT_AUTO_APPROVE_BANDS,
      segment: 'enterprise',
      customerPriority: 'preferred',
    });
    expect(creditLane(input).reasonCodes).toEqual([
      'OVERDUE_BEYOND_GRACE',
      'AUTO_APPROVE_BAND:enterprise-slow-payer',
    ]);
    const smallBusiness = { ...input, segment: 'small-business' as const };
    expect(creditLane(smallBusiness).lane).toBe('finance-hold');
  });

  it('lets anyone with nothing overdue go up to 10% over the limit on an order up to 500', () => {
    const input = laneInput(500, { openArBalance: 8_500 }, { bands: DEFAULT_AUTO_APPROVE_BANDS });
    expect(input.assessment.exposureAfterOrder).toBe(11_000);
    expect(creditLane(input).reasonCodes).toEqual([
      'OVER_CREDIT_LIMIT',
      'AUTO_APPROVE_BAND:small-order-stretch',
    ]);
    expect(
      creditLane(laneInput(500.01, { openArBalance: 8_500 }, { bands: DEFAULT_AUTO_APPROVE_BANDS })).lane,
    ).toBe('finance-hold');
  });

  it('cannot be modified at run time', () => {
    expect(Object.isFrozen(DEFAULT_AUTO_APPROVE_BANDS)).toBe(true);
    expect(DEFAULT_AUTO_APPROVE_BANDS.every((band) => Object.isFrozen(band))).toBe(true);
  });
});

describe('creditLane: input validation', () => {
  it('rejects an unknown segment, naming the field', () => {
    const error = captureError(() =>
      creditLane(laneInput(100, {}, { segment: 'government' as CreditLaneInput['segment'] })),
    );
    expect(error).toBeInstanceOf(InvalidCreditLaneInput);
    expect(error).toBeInstanceOf(DomainError);
    expect(error).toMatchObject({ name: 'InvalidCreditLaneInput', field: 'segment', retryable: false });
  });

  it('rejects an order value that differs from the assessed one', () => {
    const input = { ...laneInput(100), orderValue: 200 };
    expect(() => creditLane(input)).toThrow(/^orderValue must equal assessment\.orderValue/);
  });

  it('names the band and the field of a broken band', () => {
    const bands = [OPEN_BAND, { ...OPEN_BAND, name: 'second', maxUtilisationPct: -1 }];
    expect(captureError(() => creditLane(laneInput(100, {}, { bands })))).toMatchObject({
      field: 'bands[1].maxUtilisationPct',
    });
    const badSegment = [{ ...OPEN_BAND, segments: ['retail'] as unknown as AutoApproveBand['segments'] }];
    expect(captureError(() => creditLane(laneInput(100, {}, { bands: badSegment })))).toMatchObject({
      field: 'bands[0].segments[0]',
    });
  });

  it('rejects two bands with the same name, since the reason code must identify the band', () => {
    expect(() => creditLane(laneInput(100, {}, { bands: [OPEN_BAND, OPEN_BAND] }))).toThrow(
      /bands\[1\]\.name must be unique/,
    );
  });

  it('rejects a non-positive SLA and a negative overdue amount', () => {
    const slas = { ...DEFAULT_CREDIT_HOLD_SLAS, fastReviewMinutes: 0 };
    expect(captureError(() => creditLane(laneInput(100, {}, { slas })))).toMatchObject({
      field: 'slas.fastReviewMinutes',
    });
    expect(captureError(() => creditLane(laneInput(100, {}, { overdueAmount: -1 })))).toMatchObject({
      field: 'overdueAmount',
    });
  });
});

describe('recordCreditRelease', () => {
  function release(overrides: Partial<CreditReleaseInput> = {}): CreditReleaseInput {
    return {
      orderId: 'ORD-1',
      decision: 'released',
      decidedBy: 'j.smith@finance',
      decidedAt: '2025-03-10T09:30:00Z',
      reason: 'Customer confirmed payment run on Friday',
      holdReasonCodes: ['OVER_CREDIT_LIMIT'],
      exposureAfterOrder: 12_400,
      creditLimit: 10_000,
      ...overrides,
    };
  }

  it('records who decided what, when and why, with the over-limit amount and a deterministic id', () => {
    expect(recordCreditRelease(release())).toEqual({
      recordId: 'ORD-1-CREDIT-2025-03-10T09:30:00Z',
      orderId: 'ORD-1',
      decision: 'released',
      decidedBy: 'j.smith@finance',
      decidedAt: '2025-03-10T09:30:00Z',
      reason: 'Customer confirmed payment run on Friday',
      holdReasonCodes: ['OVER_CREDIT_LIMIT'],
      overLimitBy: 2_400,
    });
  });

  it('gives the same record id for a redelivered decision and a different one for a later decision', () => {
    expect(recordCreditRelease(release()).recordId).toBe(recordCreditRelease(release()).recordId);
    expect(recordCreditRelease(release({ decidedAt: '2025-03-10T10:00:00Z' })).recordId).toBe(
      'ORD-1-CREDIT-2025-03-10T10:00:00Z',
    );
  });

  it('records a rejection and reports zero over-limit when exposure is within the limit', () => {
    const record = recordCreditRelease(
      release({ decision: 'rejected', holdReasonCodes: ['OVERDUE_BEYOND_GRACE'], exposureAfterOrder: 9_000 }),
    );
    expect(record.decision).toBe('rejected');
    expect(record.overLimitBy).toBe(0);
  });

  it('computes the over-limit amount in cents', () => {
    expect(
      recordCreditRelease(release({ exposureAfterOrder: 10_000.3, creditLimit: 10_000.1 })).overLimitBy,
    ).toBe(0.2);
  });

  it('trims the decider and the reason', () => {
    const record = recordCreditRelease(release({ decidedBy: '  j.smith  ', reason: ' paid \n' }));
    expect(record.decidedBy).toBe('j.smith');
    expect(record.reason).toBe('paid');
  });

  it('is immutable and does not share the caller’s reason-code array', () => {
    const codes = ['OVER_CREDIT_LIMIT'];
    const record = recordCreditRelease(release({ holdReasonCodes: codes }));
    codes.push('LATER_EDIT');
    expect(record.holdReasonCodes).toEqual(['OVER_CREDIT_LIMIT']);
    expect(Object.isFrozen(record)).toBe(true);
    expect(Object.isFrozen(record.holdReasonCodes)).toBe(true);
    expect(() => {
      (record as { reason: string }).reason = 'rewritten';
    }).toThrow(TypeError);
  });

  it.each([
    ['decidedBy', { decidedBy: '' }],
    ['decidedBy', { decidedBy: '   ' }],
    ['reason', { reason: '' }],
    ['reason', { reason: '\t\n' }],
    ['orderId', { orderId: ' ' }],
  ])('rejects a blank %s', (field, overrides) => {
    const error = captureError(() => recordCreditRelease(release(overrides)));
    expect(error).toBeInstanceOf(InvalidCreditReleaseInput);
    expect(error).toMatchObject({ name: 'InvalidCreditReleaseInput', field, retryable: false });
  });

  it.each(['2025-03-10', '2025-03-10T09:30:00', '2025-02-30T09:30:00Z', '2025-03-10T25:00:00Z', 'yesterday'])(
    'rejects decidedAt %s as not an ISO datetime with a zone',
    (decidedAt) => {
      const error = captureError(() => recordCreditRelease(release({ decidedAt })));
      expect(error).toMatchObject({ name: 'InvalidCreditReleaseInput', field: 'decidedAt' });
    },
  );

  it('accepts a decidedAt with an offset and fractional seconds', () => {
    expect(recordCreditRelease(release({ decidedAt: '2025-03-10T10:30:00.123+01:00' })).decidedAt).toBe(
      '2025-03-10T10:30:00.123+01:00',
    );
  });

  it('rejects an unknown decision and a non-finite exposure', () => {
    expect(() =>
      recordCreditRelease(release({ decision: 'approved' as CreditReleaseInput['decision'] })),
    ).toThrow(/^decision must be one of released, rejected/);
    expect(
      captureError(() => recordCreditRelease(release({ exposureAfterOrder: Number.NaN }))),
    ).toMatchObject({
      field: 'exposureAfterOrder',
    });
  });
});
