import { describe, expect, it } from 'vitest';
import {
  type AllocationPlan,
  allocateSingleSite,
  type SiteStock,
  type StockPosition,
} from '../../../lambdas/core/allocation.ts';
import {
  type PricedLine,
  type SubstitutionPlanInput,
  substituteShortLines,
} from '../../../lambdas/core/allocation-substitution.ts';

const pos = (onHand: number): StockPosition => ({ onHand, reserved: 0, safetyStock: 0 });

function site(siteId: string, proximityRank: number, items: Record<string, number>): SiteStock {
  return {
    siteId,
    proximityRank,
    shippingCost: 10 * proximityRank,
    items: Object.fromEntries(Object.entries(items).map(([sku, n]) => [sku, pos(n)])),
  };
}

const GATE = { lineNo: 10, sku: 'VALVE-3IN', quantity: 12, unitPrice: 185, unitCost: 121 };
const HANGER = { lineNo: 20, sku: 'WIDGET-100', quantity: 40, unitPrice: 12.5, unitCost: 8.1 };
const CATALOGUE = {
  'VALVE-3IN-RS': { unitCost: 124, listPrice: 199 },
  'VALVE-3IN-CHEAP': { unitCost: 175, listPrice: 180 },
};
const LIST = [{ forSku: 'VALVE-3IN', substituteSku: 'VALVE-3IN-RS', customerApproved: true }];

function input(
  sites: SiteStock[],
  overrides: Partial<SubstitutionPlanInput> = {},
  lines: PricedLine[] = [GATE, HANGER],
): SubstitutionPlanInput {
  const terms = overrides.terms ?? 'ship-partial';
  const plan: AllocationPlan = allocateSingleSite({
    lines: lines.map(({ lineNo, sku, quantity }) => ({ lineNo, sku, quantity })),
    sites,
    terms,
  });
  return {
    customerId: 'C-1001',
    lines,
    plan,
    sites,
    terms,
    approvedSubstitutes: LIST,
    catalogue: CATALOGUE,
    ...overrides,
  };
}

describe('substituteShortLines', () => {
  it('replaces a short line whole with the approved substitute, at the quoted price, and reserves the order at one site', () => {
    const sites = [site('DC-EAST', 1, { 'VALVE-3IN': 4, 'VALVE-3IN-RS': 30, 'WIDGET-100': 100 })];
    const before = input(sites);
    expect(before.plan.status).toBe('partial');

    const result = substituteShortLines(before);

    expect(result.plan).toMatchObject({
      status: 'full',
      siteId: 'DC-EAST',
      allocated: [
        { lineNo: 10, sku: 'VALVE-3IN-RS', quantity: 12 },
        { lineNo: 20, sku: 'WIDGET-100', quantity: 40 },
      ],
      short: [],
    });
    expect(result.applied).toEqual([
      {
        lineNo: 10,
        originalSku: 'VALVE-3IN',
        substituteSku: 'VALVE-3IN-RS',
        quantity: 12,
        quotedUnitPrice: 185,
        unitPrice: 185,
        unitCost: 124,
        marginPct: 32.97,
        reasonCodes: ['FIRST_QUALIFYING_APPROVED_SUBSTITUTE', 'PRICE_PROTECTION_APPLIED'],
      },
    ]);
    expect(result.reasonCodes).toEqual(['SUBSTITUTED:10:VALVE-3IN-RS']);
    expect(result.awaitingApproval).toEqual([]);
  });

  it('leaves the plan alone when the customer has no list, or nothing is short', () => {
    const short = [site('DC-EAST', 1, { 'VALVE-3IN': 4, 'VALVE-3IN-RS': 30, 'WIDGET-100': 100 })];
    const noList = input(short, { approvedSubstitutes: [] });
    expect(substituteShortLines(noList)).toMatchObject({ plan: noList.plan, applied: [], reasonCodes: [] });

    const stocked = input([site('DC-EAST', 1, { 'VALVE-3IN': 20, 'VALVE-3IN-RS': 30, 'WIDGET-100': 100 })]);
    expect(substituteShortLines(stocked)).toMatchObject({ plan: stocked.plan, applied: [], proposals: [] });
  });

  it('never substitutes part of a line: a substitute short of the whole line leaves it short', () => {
    const sites = [site('DC-EAST', 1, { 'VALVE-3IN': 4, 'VALVE-3IN-RS': 7, 'WIDGET-100': 100 })];
    const before = input(sites);

    const result = substituteShortLines(before);

    expect(result.plan).toBe(before.plan);
    expect(result.applied).toEqual([]);
    expect(result.proposals[0]).toMatchObject({
      outcome: 'proposed',
      quantity: 7,
      remainingShortBy: 5,
      reasonCodes: expect.arrayContaining(['PARTIAL_QUANTITY_STOCK_LIMITED']),
    });
  });

  it('holds a proposal over the standing value limit for approval: the line stays short', () => {
    const gate = { ...GATE, quantity: 15 };
    const sites = [site('DC-EAST', 1, { 'VALVE-3IN': 4, 'VALVE-3IN-RS': 30, 'WIDGET-100': 100 })];
    const before = input(sites, {}, [gate, HANGER]);

    const result = substituteShortLines(before);

    expect(result.plan).toBe(before.plan);
    expect(result.awaitingApproval).toEqual([
      expect.objectContaining({
        lineNo: 10,
        substituteSku: 'VALVE-3IN-RS',
        value: 2775,
        approvalReasonCodes: ['VALUE_ABOVE_APPROVAL_THRESHOLD'],
      }),
    ]);
    expect(result.reasonCodes).toEqual(['SUBSTITUTE_NEEDS_APPROVAL:10:VALVE-3IN-RS']);
  });

  it('after a review, applies an approved proposal and declines the rest: nothing awaits a second review', () => {
    const gate = { ...GATE, quantity: 15 };
    const sites = [site('DC-EAST', 1, { 'VALVE-3IN': 4, 'VALVE-3IN-RS': 30, 'WIDGET-100': 100 })];
    const approved = substituteShortLines({
      ...input(sites, {}, [gate, HANGER]),
      review: { approved: new Set(['10:VALVE-3IN-RS']) },
    });
    expect(approved.awaitingApproval).toEqual([]);
    expect(approved.applied).toEqual([
      expect.objectContaining({ lineNo: 10, substituteSku: 'VALVE-3IN-RS', quantity: 15 }),
    ]);
    expect(approved.reasonCodes).toEqual(['SUBSTITUTED:10:VALVE-3IN-RS']);

    const declined = substituteShortLines({
      ...input(sites, {}, [gate, HANGER]),
      review: { approved: new Set() },
    });
    expect(declined.awaitingApproval).toEqual([]);
    expect(declined.applied).toEqual([]);
    expect(declined.reasonCodes).toEqual([]);
    // An approval names the substitute: it does not approve another one for the same line.
    const other = substituteShortLines({
      ...input(sites, {}, [gate, HANGER]),
      review: { approved: new Set(['10:VALVE-3IN-OTHER']) },
    });
    expect(other.applied).toEqual([]);
  });

  it('holds an entry the customer wants to confirm each time, and skips one it withdrew or that would sell below the minimum margin', () => {
    const sites = [
      site('DC-EAST', 1, { 'VALVE-3IN': 0, 'VALVE-3IN-RS': 30, 'VALVE-3IN-CHEAP': 30, 'WIDGET-100': 100 }),
    ];
    const confirmEachTime = substituteShortLines(
      input(sites, { approvedSubstitutes: [{ ...LIST[0], requiresApproval: true } as (typeof LIST)[0]] }),
    );
    expect(confirmEachTime.applied).toEqual([]);
    expect(confirmEachTime.awaitingApproval[0]?.approvalReasonCodes).toEqual(['ENTRY_REQUIRES_APPROVAL']);

    const passedOver = substituteShortLines(
      input(sites, {
        approvedSubstitutes: [
          { forSku: 'VALVE-3IN', substituteSku: 'VALVE-3IN-RS', customerApproved: false },
          { forSku: 'VALVE-3IN', substituteSku: 'VALVE-3IN-CHEAP', customerApproved: true },
        ],
      }),
    );
    expect(passedOver.applied).toEqual([]);
    expect(passedOver.proposals[0]).toMatchObject({
      outcome: 'no-substitute',
      rejected: [
        { substituteSku: 'VALVE-3IN-RS', reasonCode: 'NOT_CUSTOMER_APPROVED' },
        { substituteSku: 'VALVE-3IN-CHEAP', reasonCode: 'MARGIN_BELOW_MINIMUM', marginPct: 2.78 },
      ],
    });
  });

  it('keeps the original plan when the substitute sits at a site that would serve less of the order', () => {
    // The hangers are only in the east; the substitute only in the west, which has no hangers.
    const sites = [
      site('DC-EAST', 1, { 'VALVE-3IN': 4, 'WIDGET-100': 100 }),
      site('DC-WEST', 3, { 'VALVE-3IN-RS': 30 }),
    ];
    const before = input(sites);

    const result = substituteShortLines(before);

    expect(result.plan).toBe(before.plan);
    expect(result.applied).toEqual([]);
  });

  it('moves the order to the site that has the substitute when that serves the whole order', () => {
    const sites = [
      site('DC-EAST', 1, { 'VALVE-3IN': 4, 'WIDGET-100': 100 }),
      site('DC-CENTRAL', 2, { 'VALVE-3IN-RS': 30, 'WIDGET-100': 100 }),
    ];

    const result = substituteShortLines(input(sites));

    expect(result.plan).toMatchObject({ status: 'full', siteId: 'DC-CENTRAL', short: [] });
    expect(result.applied.map((s) => s.substituteSku)).toEqual(['VALVE-3IN-RS']);
  });

  it('fills a backordered order with no stock of the ordered SKU anywhere', () => {
    const sites = [site('DC-EAST', 1, { 'VALVE-3IN-RS': 30 })];
    const before = input(sites, {}, [GATE]);
    expect(before.plan.status).toBe('backorder');

    expect(substituteShortLines(before).plan).toMatchObject({
      status: 'full',
      siteId: 'DC-EAST',
      allocated: [{ lineNo: 10, sku: 'VALVE-3IN-RS', quantity: 12 }],
    });
  });
});
