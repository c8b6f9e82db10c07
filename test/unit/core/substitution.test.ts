import { describe, expect, it } from 'vitest';
import { DomainError } from '../../../lambdas/core/errors.ts';
import {
  type ApprovedSubstitute,
  decideSubstitution,
  InvalidSubstitutionDecision,
  InvalidSubstitutionInput,
  type ProposedSubstitution,
  proposeSubstitutions,
  type SubstitutionDecisionInput,
  type SubstitutionInput,
  type SubstitutionProposal,
} from '../../../lambdas/core/substitution.ts';

const CATALOGUE: SubstitutionInput['catalogue'] = {
  'WIDGET-PLUS': { unitCost: 14, listPrice: 22 }, // 30% margin at the quoted 20
  'WIDGET-LITE': { unitCost: 9, listPrice: 15 }, // 40% margin at its list price
  'WIDGET-XL': { unitCost: 19, listPrice: 30 }, // 5% at the quoted 20, 36.67% at list
  'WIDGET-EDGE': { unitCost: 16, listPrice: 20 }, // exactly 20%
};

function entry(substituteSku: string, overrides: Partial<ApprovedSubstitute> = {}): ApprovedSubstitute {
  return { forSku: 'WIDGET', substituteSku, customerApproved: true, ...overrides };
}

function input(overrides: Partial<SubstitutionInput> = {}): SubstitutionInput {
  return {
    customerId: 'CUST-1',
    shortLines: [{ lineNo: 1, sku: 'WIDGET', shortBy: 10, unitPrice: 20, unitCost: 12 }],
    approvedSubstitutes: [entry('WIDGET-PLUS')],
    catalogue: CATALOGUE,
    availability: { 'WIDGET-PLUS': 50, 'WIDGET-LITE': 50, 'WIDGET-XL': 50, 'WIDGET-EDGE': 50 },
    policy: { minMarginPct: 20, priceProtection: true, approvalRequiredAboveValue: 1000 },
    ...overrides,
  };
}

function only(proposals: SubstitutionProposal[]): SubstitutionProposal {
  expect(proposals).toHaveLength(1);
  const [first] = proposals;
  if (first === undefined) throw new Error('expected one proposal');
  return first;
}

function proposed(proposal: SubstitutionProposal | undefined): ProposedSubstitution {
  if (proposal?.outcome !== 'proposed')
    throw new Error(`expected a proposal, got ${JSON.stringify(proposal)}`);
  return proposal;
}

function captureError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to throw');
}

describe('proposeSubstitutions: only the customer approved list', () => {
  it('proposes the first approved substitute with price, margin and value', () => {
    expect(only(proposeSubstitutions(input()))).toEqual({
      outcome: 'proposed',
      customerId: 'CUST-1',
      lineNo: 1,
      originalSku: 'WIDGET',
      shortBy: 10,
      substituteSku: 'WIDGET-PLUS',
      quantity: 10,
      remainingShortBy: 0,
      quotedUnitPrice: 20,
      unitPrice: 20,
      unitCost: 14,
      marginPct: 30,
      value: 200,
      needsApproval: false,
      approvalReasonCodes: [],
      reasonCodes: ['FIRST_QUALIFYING_APPROVED_SUBSTITUTE', 'PRICE_PROTECTION_APPLIED'],
      rejected: [],
    });
  });

  it('never proposes an entry the customer has not approved, recording why it was passed over', () => {
    const proposal = proposed(
      only(
        proposeSubstitutions(
          input({
            approvedSubstitutes: [entry('WIDGET-LITE', { customerApproved: false }), entry('WIDGET-PLUS')],
          }),
        ),
      ),
    );
    expect(proposal.substituteSku).toBe('WIDGET-PLUS');
    expect(proposal.rejected).toEqual([
      { substituteSku: 'WIDGET-LITE', reasonCode: 'NOT_CUSTOMER_APPROVED' },
    ]);
  });

  it('offers nothing when the only qualifying substitute is not customer approved', () => {
    expect(
      only(
        proposeSubstitutions(
          input({ approvedSubstitutes: [entry('WIDGET-LITE', { customerApproved: false })] }),
        ),
      ),
    ).toEqual({
      outcome: 'no-substitute',
      customerId: 'CUST-1',
      lineNo: 1,
      originalSku: 'WIDGET',
      shortBy: 10,
      reasonCodes: ['NO_QUALIFYING_SUBSTITUTE'],
      rejected: [{ substituteSku: 'WIDGET-LITE', reasonCode: 'NOT_CUSTOMER_APPROVED' }],
    });
  });

  it('ignores entries for other skus and says when the list has nothing for the line', () => {
    const proposal = only(
      proposeSubstitutions(input({ approvedSubstitutes: [entry('WIDGET-PLUS', { forSku: 'GADGET' })] })),
    );
    expect(proposal.outcome).toBe('no-substitute');
    expect(proposal.reasonCodes).toEqual(['NO_APPROVED_SUBSTITUTE_LISTED']);
    expect(proposal.rejected).toEqual([]);
  });

  it('takes the list order, not the best margin, and does not evaluate entries after the chosen one', () => {
    const proposal = proposed(
      only(
        proposeSubstitutions(
          input({
            approvedSubstitutes: [entry('WIDGET-PLUS'), entry('WIDGET-LITE'), entry('NOT-STOCKED')],
          }),
        ),
      ),
    );
    expect(proposal.substituteSku).toBe('WIDGET-PLUS');
    expect(proposal.rejected).toEqual([]);
  });

  it('rejects a candidate missing from the catalogue', () => {
    const proposal = proposed(
      only(proposeSubstitutions(input({ approvedSubstitutes: [entry('GHOST'), entry('WIDGET-PLUS')] }))),
    );
    expect(proposal.rejected).toEqual([{ substituteSku: 'GHOST', reasonCode: 'NOT_IN_CATALOGUE' }]);
  });
});

describe('proposeSubstitutions: margin threshold and price protection', () => {
  const xlThenPlus = [entry('WIDGET-XL'), entry('WIDGET-PLUS')];

  it('with price protection, charges at most the quoted price and rejects a substitute that then misses the margin', () => {
    const proposal = proposed(only(proposeSubstitutions(input({ approvedSubstitutes: xlThenPlus }))));
    expect(proposal.rejected).toEqual([
      { substituteSku: 'WIDGET-XL', reasonCode: 'MARGIN_BELOW_MINIMUM', marginPct: 5 },
    ]);
    expect(proposal.substituteSku).toBe('WIDGET-PLUS');
    expect(proposal.unitPrice).toBe(20);
    expect(proposal.reasonCodes).toContain('PRICE_PROTECTION_APPLIED');
  });

  it('without price protection, charges list price, so the same substitute clears the margin', () => {
    const proposal = proposed(
      only(
        proposeSubstitutions(
          input({
            approvedSubstitutes: xlThenPlus,
            policy: { minMarginPct: 20, priceProtection: false, approvalRequiredAboveValue: 1000 },
          }),
        ),
      ),
    );
    expect(proposal.substituteSku).toBe('WIDGET-XL');
    expect(proposal.unitPrice).toBe(30);
    expect(proposal.marginPct).toBe(36.67);
    expect(proposal.value).toBe(300);
    expect(proposal.reasonCodes).toEqual(['FIRST_QUALIFYING_APPROVED_SUBSTITUTE']);
  });

  it('without price protection, rejects a cheap-listed substitute whose list price misses the margin', () => {
    const proposal = only(
      proposeSubstitutions(
        input({
          approvedSubstitutes: [entry('THIN')],
          catalogue: { THIN: { unitCost: 9, listPrice: 10 } },
          availability: { THIN: 5 },
          policy: { minMarginPct: 20, priceProtection: false, approvalRequiredAboveValue: 1000 },
        }),
      ),
    );
    expect(proposal.outcome).toBe('no-substitute');
    expect(proposal.rejected).toEqual([
      { substituteSku: 'THIN', reasonCode: 'MARGIN_BELOW_MINIMUM', marginPct: 10 },
    ]);
  });

  it('charges the list price when it is below the quoted price, with or without protection', () => {
    for (const priceProtection of [true, false]) {
      const proposal = proposed(
        only(
          proposeSubstitutions(
            input({
              approvedSubstitutes: [entry('WIDGET-LITE')],
              policy: { minMarginPct: 20, priceProtection, approvalRequiredAboveValue: 1000 },
            }),
          ),
        ),
      );
      expect(proposal.unitPrice).toBe(15);
      expect(proposal.marginPct).toBe(40);
      expect(proposal.reasonCodes).toEqual(['FIRST_QUALIFYING_APPROVED_SUBSTITUTE']);
    }
  });

  it('accepts a margin exactly at the minimum and rejects one a cent below it', () => {
    const atMinimum = proposed(
      only(proposeSubstitutions(input({ approvedSubstitutes: [entry('WIDGET-EDGE')] }))),
    );
    expect(atMinimum.marginPct).toBe(20);
    const justBelow = only(
      proposeSubstitutions(
        input({
          approvedSubstitutes: [entry('WIDGET-EDGE')],
          catalogue: { 'WIDGET-EDGE': { unitCost: 16.01, listPrice: 20 } },
        }),
      ),
    );
    expect(justBelow.outcome).toBe('no-substitute');
    expect(justBelow.rejected).toEqual([
      { substituteSku: 'WIDGET-EDGE', reasonCode: 'MARGIN_BELOW_MINIMUM', marginPct: 19.95 },
    ]);
  });

  it('rejects a substitute that would be charged at zero', () => {
    const proposal = only(
      proposeSubstitutions(
        input({ shortLines: [{ lineNo: 1, sku: 'WIDGET', shortBy: 2, unitPrice: 0, unitCost: 0 }] }),
      ),
    );
    expect(proposal.rejected).toEqual([{ substituteSku: 'WIDGET-PLUS', reasonCode: 'ZERO_PRICE_CHARGED' }]);
  });
});

describe('proposeSubstitutions: stock', () => {
  it('skips a candidate without stock, recording why, whether listed at 0 or not listed at all', () => {
    const proposal = proposed(
      only(
        proposeSubstitutions(
          input({
            approvedSubstitutes: [entry('WIDGET-XL'), entry('WIDGET-LITE'), entry('WIDGET-PLUS')],
            availability: { 'WIDGET-XL': 0, 'WIDGET-PLUS': 3 },
          }),
        ),
      ),
    );
    expect(proposal.rejected).toEqual([
      { substituteSku: 'WIDGET-XL', reasonCode: 'NO_STOCK' },
      { substituteSku: 'WIDGET-LITE', reasonCode: 'NO_STOCK' },
    ]);
    expect(proposal.substituteSku).toBe('WIDGET-PLUS');
  });

  it('proposes a partial quantity when the substitute has less than the shortfall', () => {
    const proposal = proposed(only(proposeSubstitutions(input({ availability: { 'WIDGET-PLUS': 4 } }))));
    expect(proposal.quantity).toBe(4);
    expect(proposal.remainingShortBy).toBe(6);
    expect(proposal.value).toBe(80);
    expect(proposal.reasonCodes).toEqual([
      'FIRST_QUALIFYING_APPROVED_SUBSTITUTE',
      'PRICE_PROTECTION_APPLIED',
      'PARTIAL_QUANTITY_STOCK_LIMITED',
    ]);
  });

  it('does not promise the same substitute stock to two lines, serving the lower line number first', () => {
    const proposals = proposeSubstitutions(
      input({
        shortLines: [
          { lineNo: 3, sku: 'GIZMO', shortBy: 1, unitPrice: 20, unitCost: 12 },
          { lineNo: 2, sku: 'WIDGET', shortBy: 5, unitPrice: 20, unitCost: 12 },
          { lineNo: 1, sku: 'WIDGET-OLD', shortBy: 4, unitPrice: 20, unitCost: 12 },
        ],
        approvedSubstitutes: [
          entry('WIDGET-PLUS'),
          entry('WIDGET-PLUS', { forSku: 'WIDGET-OLD' }),
          entry('WIDGET-PLUS', { forSku: 'GIZMO' }),
        ],
        availability: { 'WIDGET-PLUS': 6 },
      }),
    );
    expect(proposals.map((p) => p.lineNo)).toEqual([1, 2, 3]);
    expect(proposed(proposals[0]).quantity).toBe(4);
    expect(proposed(proposals[1]).quantity).toBe(2);
    expect(proposals[2]).toMatchObject({
      outcome: 'no-substitute',
      rejected: [{ substituteSku: 'WIDGET-PLUS', reasonCode: 'STOCK_COMMITTED_TO_EARLIER_LINE' }],
    });
  });
});

describe('proposeSubstitutions: when a human must approve', () => {
  it('needs no approval when no rule applies', () => {
    const proposal = proposed(only(proposeSubstitutions(input())));
    expect(proposal.needsApproval).toBe(false);
    expect(proposal.approvalReasonCodes).toEqual([]);
  });

  it('needs approval when the list entry requires it', () => {
    const proposal = proposed(
      only(
        proposeSubstitutions(
          input({ approvedSubstitutes: [entry('WIDGET-PLUS', { requiresApproval: true })] }),
        ),
      ),
    );
    expect(proposal.needsApproval).toBe(true);
    expect(proposal.approvalReasonCodes).toEqual(['ENTRY_REQUIRES_APPROVAL']);
  });

  it('needs approval when the value exceeds the threshold, not when it equals it', () => {
    const policy = (approvalRequiredAboveValue: number) => ({
      minMarginPct: 20,
      priceProtection: true,
      approvalRequiredAboveValue,
    });
    const above = proposed(only(proposeSubstitutions(input({ policy: policy(199.99) }))));
    expect(above.approvalReasonCodes).toEqual(['VALUE_ABOVE_APPROVAL_THRESHOLD']);
    const equal = proposed(only(proposeSubstitutions(input({ policy: policy(200) }))));
    expect(equal.needsApproval).toBe(false);
  });

  it('needs approval when the margin is inside the approval band', () => {
    const policy = (band: number) => ({
      minMarginPct: 20,
      priceProtection: true,
      approvalRequiredAboveValue: 1000,
      approvalRequiredWhenMarginBelowPct: band,
    });
    const inBand = proposed(only(proposeSubstitutions(input({ policy: policy(35) })))); // margin 30%
    expect(inBand.approvalReasonCodes).toEqual(['MARGIN_BELOW_APPROVAL_BAND']);
    const atBand = proposed(only(proposeSubstitutions(input({ policy: policy(30) }))));
    expect(atBand.needsApproval).toBe(false);
  });

  it('lists every rule that applies', () => {
    const proposal = proposed(
      only(
        proposeSubstitutions(
          input({
            approvedSubstitutes: [entry('WIDGET-PLUS', { requiresApproval: true })],
            policy: {
              minMarginPct: 20,
              priceProtection: true,
              approvalRequiredAboveValue: 50,
              approvalRequiredWhenMarginBelowPct: 35,
            },
          }),
        ),
      ),
    );
    expect(proposal.approvalReasonCodes).toEqual([
      'ENTRY_REQUIRES_APPROVAL',
      'VALUE_ABOVE_APPROVAL_THRESHOLD',
      'MARGIN_BELOW_APPROVAL_BAND',
    ]);
  });
});

describe('proposeSubstitutions: money and determinism', () => {
  it('works in cents, so values do not drift', () => {
    const proposal = proposed(
      only(
        proposeSubstitutions(
          input({
            shortLines: [{ lineNo: 1, sku: 'WIDGET', shortBy: 3, unitPrice: 0.1, unitCost: 0.05 }],
            catalogue: { 'WIDGET-PLUS': { unitCost: 0.07, listPrice: 0.1 } },
          }),
        ),
      ),
    );
    expect(proposal.value).toBe(0.3);
    expect(proposal.marginPct).toBe(30);
  });

  it('returns nothing for no short lines and does not mutate its input', () => {
    expect(proposeSubstitutions(input({ shortLines: [] }))).toEqual([]);
    const req = input({ approvedSubstitutes: [entry('WIDGET-XL'), entry('WIDGET-PLUS')] });
    const before = structuredClone(req);
    const first = proposeSubstitutions(req);
    expect(proposeSubstitutions(req)).toEqual(first);
    expect(req).toEqual(before);
  });
});

describe('decideSubstitution', () => {
  const needsApproval = proposed(
    only(
      proposeSubstitutions(
        input({ approvedSubstitutes: [entry('WIDGET-PLUS', { requiresApproval: true })] }),
      ),
    ),
  );
  const autoApproved = proposed(only(proposeSubstitutions(input())));
  const decision: SubstitutionDecisionInput = {
    approved: true,
    decidedBy: '  j.smith@distributor.example ',
    decidedAt: '2025-03-10T10:30:00+01:00',
    reason: ' customer confirmed by phone ',
  };

  it('records who decided, when (in UTC), why and the outcome', () => {
    expect(decideSubstitution(needsApproval, decision)).toEqual({
      customerId: 'CUST-1',
      lineNo: 1,
      originalSku: 'WIDGET',
      substituteSku: 'WIDGET-PLUS',
      quantity: 10,
      unitPrice: 20,
      value: 200,
      outcome: 'approved',
      approvalRequired: true,
      approvalReasonCodes: ['ENTRY_REQUIRES_APPROVAL'],
      decidedBy: 'j.smith@distributor.example',
      decidedAt: '2025-03-10T09:30:00.000Z',
      reason: 'customer confirmed by phone',
    });
  });

  it('records a decline of a proposal that needed approval', () => {
    const record = decideSubstitution(needsApproval, {
      ...decision,
      approved: false,
      reason: 'margin too thin',
    });
    expect(record.outcome).toBe('declined');
    expect(record.reason).toBe('margin too thin');
  });

  it('records a confirmation of an auto-approved proposal as not having required approval', () => {
    const record = decideSubstitution(autoApproved, decision);
    expect(record.outcome).toBe('approved');
    expect(record.approvalRequired).toBe(false);
  });

  it('refuses to decline an auto-approved proposal', () => {
    const error = captureError(() => decideSubstitution(autoApproved, { ...decision, approved: false }));
    expect(error).toBeInstanceOf(InvalidSubstitutionDecision);
    expect(error).toMatchObject({
      name: 'InvalidSubstitutionDecision',
      field: 'decision.approved',
      retryable: false,
    });
    expect((error as Error).message).toMatch(/cannot decline a proposal that did not need approval/);
  });

  it('refuses a decision on a line that has no substitute to decide on', () => {
    const none = only(proposeSubstitutions(input({ approvedSubstitutes: [] })));
    expect(() => decideSubstitution(none, decision)).toThrow(/^proposal\.outcome must be 'proposed'/);
  });

  it.each<[string, Partial<SubstitutionDecisionInput>, string]>([
    ['a blank decidedBy', { decidedBy: '   ' }, 'decision.decidedBy'],
    ['a missing decidedBy', { decidedBy: undefined as unknown as string }, 'decision.decidedBy'],
    ['a blank reason', { reason: '' }, 'decision.reason'],
    ['a decidedAt without a zone', { decidedAt: '2025-03-10T09:30:00' }, 'decision.decidedAt'],
    ['a decidedAt that is not a real date', { decidedAt: '2025-02-30T09:30:00Z' }, 'decision.decidedAt'],
    ['a non-boolean approved', { approved: 'yes' as unknown as boolean }, 'decision.approved'],
  ])('rejects %s, naming the field', (_case, overrides, field) => {
    const error = captureError(() => decideSubstitution(needsApproval, { ...decision, ...overrides }));
    expect(error).toBeInstanceOf(InvalidSubstitutionDecision);
    expect(error).toBeInstanceOf(DomainError);
    expect((error as InvalidSubstitutionDecision).field).toBe(field);
  });
});

describe('proposeSubstitutions: input validation', () => {
  const line = { lineNo: 1, sku: 'WIDGET', shortBy: 10, unitPrice: 20, unitCost: 12 };
  const policy = { minMarginPct: 20, priceProtection: true, approvalRequiredAboveValue: 1000 };

  it.each<[string, Partial<SubstitutionInput>, string]>([
    ['an empty customerId', { customerId: '' }, 'customerId'],
    ['a zero shortBy', { shortLines: [{ ...line, shortBy: 0 }] }, 'shortLines[0].shortBy'],
    ['a fractional shortBy', { shortLines: [{ ...line, shortBy: 2.5 }] }, 'shortLines[0].shortBy'],
    ['a duplicate lineNo', { shortLines: [line, { ...line, sku: 'GIZMO' }] }, 'shortLines[1].lineNo'],
    ['a negative unitPrice', { shortLines: [{ ...line, unitPrice: -1 }] }, 'shortLines[0].unitPrice'],
    ['a non-finite unitCost', { shortLines: [{ ...line, unitCost: Number.NaN }] }, 'shortLines[0].unitCost'],
    ['an empty sku', { shortLines: [{ ...line, sku: '' }] }, 'shortLines[0].sku'],
    [
      'a non-boolean customerApproved',
      { approvedSubstitutes: [entry('A'), entry('B', { customerApproved: 'yes' as unknown as boolean })] },
      'approvedSubstitutes[1].customerApproved',
    ],
    [
      'a substitute for itself',
      { approvedSubstitutes: [entry('WIDGET')] },
      'approvedSubstitutes[0].substituteSku',
    ],
    [
      'a negative list price',
      { catalogue: { 'WIDGET-PLUS': { unitCost: 1, listPrice: -2 } } },
      'catalogue["WIDGET-PLUS"].listPrice',
    ],
    ['negative availability', { availability: { 'WIDGET-PLUS': -1 } }, 'availability["WIDGET-PLUS"]'],
    ['fractional availability', { availability: { 'WIDGET-PLUS': 1.5 } }, 'availability["WIDGET-PLUS"]'],
    ['a NaN minimum margin', { policy: { ...policy, minMarginPct: Number.NaN } }, 'policy.minMarginPct'],
    ['a minimum margin of 100%', { policy: { ...policy, minMarginPct: 100 } }, 'policy.minMarginPct'],
    [
      'a non-boolean priceProtection',
      { policy: { ...policy, priceProtection: 1 as unknown as boolean } },
      'policy.priceProtection',
    ],
    [
      'a negative approval value threshold',
      { policy: { ...policy, approvalRequiredAboveValue: -1 } },
      'policy.approvalRequiredAboveValue',
    ],
    [
      'a non-finite margin band',
      { policy: { ...policy, approvalRequiredWhenMarginBelowPct: Number.POSITIVE_INFINITY } },
      'policy.approvalRequiredWhenMarginBelowPct',
    ],
  ])('rejects %s, naming the field', (_case, overrides, field) => {
    const error = captureError(() => proposeSubstitutions(input(overrides)));
    expect(error).toBeInstanceOf(InvalidSubstitutionInput);
    expect(error).toMatchObject({ name: 'InvalidSubstitutionInput', field, retryable: false });
    expect((error as Error).message.startsWith(`${field} `)).toBe(true);
  });

  it('does not check catalogue or stock figures of substitutes for lines that are not short', () => {
    const proposals = proposeSubstitutions(
      input({
        approvedSubstitutes: [entry('WIDGET-PLUS'), entry('BROKEN', { forSku: 'GADGET' })],
        catalogue: { ...CATALOGUE, BROKEN: { unitCost: -1, listPrice: -1 } },
        availability: { 'WIDGET-PLUS': 5, BROKEN: -3 },
      }),
    );
    expect(proposed(only(proposals)).quantity).toBe(5);
  });
});
