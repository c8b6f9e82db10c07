import { describe, expect, it } from 'vitest';
import {
  InvalidAllocationInput,
  type OrderLineDemand,
  type SiteStock,
  type StockPosition,
} from '../../../lambdas/core/allocation.ts';
import { DomainError } from '../../../lambdas/core/errors.ts';
import {
  allocateAcrossSites,
  EXACT_SEARCH_MAX_SITES,
  type MultiSiteRequest,
} from '../../../lambdas/core/multi-site-allocation.ts';

function pos(onHand: number, reserved = 0, safetyStock = 0): StockPosition {
  return { onHand, reserved, safetyStock };
}

function site(
  siteId: string,
  proximityRank: number,
  items: SiteStock['items'],
  shippingCost = 10,
): SiteStock {
  return { siteId, proximityRank, shippingCost, items };
}

const TWO_LINES: OrderLineDemand[] = [
  { lineNo: 1, sku: 'SKU-A', quantity: 5 },
  { lineNo: 2, sku: 'SKU-B', quantity: 3 },
];

const THREE_LINES: OrderLineDemand[] = [
  { lineNo: 1, sku: 'SKU-A', quantity: 5 },
  { lineNo: 2, sku: 'SKU-B', quantity: 3 },
  { lineNo: 3, sku: 'SKU-C', quantity: 2 },
];

function request(overrides: Partial<MultiSiteRequest> = {}): MultiSiteRequest {
  return { lines: TWO_LINES, sites: [], terms: 'ship-partial', maxSites: 2, ...overrides };
}

function captureError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to throw');
}

/** `count` sites that each hold a little of SKU-A, far away and dear, to push the search past the threshold. */
function fillerSites(count: number, unitsEach = 1, shippingCost = 99): SiteStock[] {
  return Array.from({ length: count }, (_, i) =>
    site(`FILL-${String(i).padStart(2, '0')}`, 20 + i, { 'SKU-A': pos(unitsEach) }, shippingCost),
  );
}

describe('allocateAcrossSites: one site can fill the order', () => {
  it('ships everything from that site', () => {
    const plan = allocateAcrossSites(
      request({ sites: [site('S1', 1, { 'SKU-A': pos(9), 'SKU-B': pos(9) }, 12.5)] }),
    );
    expect(plan).toEqual({
      status: 'full',
      shipments: [
        {
          siteId: 'S1',
          lines: [
            { lineNo: 1, sku: 'SKU-A', quantity: 5 },
            { lineNo: 2, sku: 'SKU-B', quantity: 3 },
          ],
        },
      ],
      short: [],
      reasonCodes: ['SINGLE_SITE_FILLS'],
      sitesUsed: 1,
      totalCost: 12.5,
      search: 'exact',
    });
  });

  it('prefers one shipment over a cheaper split (fewest sites comes before cost)', () => {
    const plan = allocateAcrossSites(
      request({
        sites: [
          site('NEAR-A', 1, { 'SKU-A': pos(5) }, 5),
          site('NEAR-B', 1, { 'SKU-B': pos(3) }, 5),
          site('FAR-BOTH', 6, { 'SKU-A': pos(5), 'SKU-B': pos(3) }, 50),
        ],
      }),
    );
    expect(plan.shipments.map((s) => s.siteId)).toEqual(['FAR-BOTH']);
    expect(plan.totalCost).toBe(50);
    expect(plan.reasonCodes).toEqual(['SINGLE_SITE_FILLS']);
  });

  it('among sites that each fill the order, picks the cheapest even when it is farther', () => {
    const stock = { 'SKU-A': pos(10), 'SKU-B': pos(10) };
    const plan = allocateAcrossSites(
      request({ sites: [site('NEAR', 1, stock, 30), site('FAR', 4, stock, 8)] }),
    );
    expect(plan.shipments.map((s) => s.siteId)).toEqual(['FAR']);
  });

  it('breaks a cost tie on proximity, then on siteId', () => {
    const stock = { 'SKU-A': pos(10), 'SKU-B': pos(10) };
    const byProximity = allocateAcrossSites(
      request({ sites: [site('A-FAR', 3, stock), site('B-NEAR', 2, stock)] }),
    );
    expect(byProximity.shipments.map((s) => s.siteId)).toEqual(['B-NEAR']);
    const bySiteId = allocateAcrossSites(
      request({ sites: [site('DC-20', 2, stock), site('DC-03', 2, stock), site('DC-11', 2, stock)] }),
    );
    expect(bySiteId.shipments.map((s) => s.siteId)).toEqual(['DC-03']);
  });
});

describe('allocateAcrossSites: splitting the order', () => {
  it('splits across two sites when no single site fills, shipments nearest first', () => {
    const plan = allocateAcrossSites(
      request({
        sites: [
          site('FAR-B', 4, { 'SKU-B': pos(3) }, 7),
          site('NEAR-A', 1, { 'SKU-A': pos(5), 'SKU-B': pos(1) }, 6),
        ],
      }),
    );
    expect(plan).toEqual({
      status: 'full',
      shipments: [
        {
          siteId: 'NEAR-A',
          lines: [
            { lineNo: 1, sku: 'SKU-A', quantity: 5 },
            { lineNo: 2, sku: 'SKU-B', quantity: 1 },
          ],
        },
        { siteId: 'FAR-B', lines: [{ lineNo: 2, sku: 'SKU-B', quantity: 2 }] },
      ],
      short: [],
      reasonCodes: ['SPLIT_ACROSS_SITES'],
      sitesUsed: 2,
      totalCost: 13,
      search: 'exact',
    });
  });

  it('splits one line across sites, drawing on the nearer site first', () => {
    const plan = allocateAcrossSites(
      request({
        lines: [{ lineNo: 1, sku: 'SKU-A', quantity: 5 }],
        sites: [site('FAR', 3, { 'SKU-A': pos(4) }), site('NEAR', 1, { 'SKU-A': pos(3) })],
      }),
    );
    expect(plan.status).toBe('full');
    expect(plan.shipments).toEqual([
      { siteId: 'NEAR', lines: [{ lineNo: 1, sku: 'SKU-A', quantity: 3 }] },
      { siteId: 'FAR', lines: [{ lineNo: 1, sku: 'SKU-A', quantity: 2 }] },
    ]);
  });

  it('picks the cheapest pair of sites that fills the order', () => {
    const plan = allocateAcrossSites(
      request({
        sites: [
          site('A-DEAR', 1, { 'SKU-A': pos(5) }, 20),
          site('A-CHEAP', 2, { 'SKU-A': pos(5) }, 10),
          site('B-ONLY', 3, { 'SKU-B': pos(3) }, 10),
        ],
      }),
    );
    expect(plan.shipments.map((s) => s.siteId)).toEqual(['A-CHEAP', 'B-ONLY']);
    expect(plan.totalCost).toBe(20);
  });

  it('breaks a tie between equally cheap pairs on the lower sum of proximity ranks', () => {
    const plan = allocateAcrossSites(
      request({
        sites: [
          site('A-FAR', 5, { 'SKU-A': pos(5) }),
          site('A-NEAR', 2, { 'SKU-A': pos(5) }),
          site('B-ONLY', 3, { 'SKU-B': pos(3) }),
        ],
      }),
    );
    expect(plan.shipments.map((s) => s.siteId)).toEqual(['A-NEAR', 'B-ONLY']);
  });

  it('adds splitPenalty per extra shipment to totalCost, summed in cents, without changing the choice', () => {
    const sites = [site('S-A', 1, { 'SKU-A': pos(5) }, 0.1), site('S-B', 2, { 'SKU-B': pos(3) }, 0.2)];
    expect(allocateAcrossSites(request({ sites })).totalCost).toBe(0.3);
    const penalised = allocateAcrossSites(request({ sites, splitPenalty: 7.5 }));
    expect(penalised.totalCost).toBe(7.8);
    expect(penalised.shipments.map((s) => s.siteId)).toEqual(['S-A', 'S-B']);
  });

  it('does not add the penalty when one site fills the order', () => {
    const plan = allocateAcrossSites(
      request({ splitPenalty: 100, sites: [site('S1', 1, { 'SKU-A': pos(5), 'SKU-B': pos(3) }, 9)] }),
    );
    expect(plan.totalCost).toBe(9);
  });

  it('finds the pair that fills even when the site covering the most units is not part of it', () => {
    const plan = allocateAcrossSites(
      request({
        lines: [
          { lineNo: 1, sku: 'SKU-A', quantity: 4 },
          { lineNo: 2, sku: 'SKU-B', quantity: 4 },
        ],
        sites: [
          site('BIG', 1, { 'SKU-A': pos(3), 'SKU-B': pos(3) }, 1),
          site('ALL-A', 2, { 'SKU-A': pos(4) }),
          site('ALL-B', 3, { 'SKU-B': pos(4) }),
        ],
      }),
    );
    expect(plan.status).toBe('full');
    expect(plan.shipments.map((s) => s.siteId)).toEqual(['ALL-A', 'ALL-B']);
  });
});

describe('allocateAcrossSites: the maxSites limit', () => {
  // Each sku is stocked at a different site, so the order needs three shipments.
  const oneSkuPerSite = [
    site('S-A', 1, { 'SKU-A': pos(5) }),
    site('S-B', 2, { 'SKU-B': pos(3) }),
    site('S-C', 3, { 'SKU-C': pos(2) }),
  ];

  it('ships the best two sites under ship-partial terms and lists the rest as short', () => {
    const plan = allocateAcrossSites(request({ lines: THREE_LINES, sites: oneSkuPerSite, maxSites: 2 }));
    expect(plan).toEqual({
      status: 'partial',
      shipments: [
        { siteId: 'S-A', lines: [{ lineNo: 1, sku: 'SKU-A', quantity: 5 }] },
        { siteId: 'S-B', lines: [{ lineNo: 2, sku: 'SKU-B', quantity: 3 }] },
      ],
      short: [{ lineNo: 3, sku: 'SKU-C', requested: 2, allocated: 0, shortBy: 2 }],
      reasonCodes: ['SPLIT_ACROSS_SITES', 'MAX_SITES_LIMIT_REACHED', 'SHIP_PARTIAL_TERMS'],
      sitesUsed: 2,
      totalCost: 20,
      search: 'exact',
    });
  });

  it('allocates nothing under ship-complete terms, every line short', () => {
    const plan = allocateAcrossSites(
      request({ lines: THREE_LINES, sites: oneSkuPerSite, maxSites: 2, terms: 'ship-complete' }),
    );
    expect(plan).toEqual({
      status: 'backorder',
      shipments: [],
      short: [
        { lineNo: 1, sku: 'SKU-A', requested: 5, allocated: 0, shortBy: 5 },
        { lineNo: 2, sku: 'SKU-B', requested: 3, allocated: 0, shortBy: 3 },
        { lineNo: 3, sku: 'SKU-C', requested: 2, allocated: 0, shortBy: 2 },
      ],
      reasonCodes: ['MAX_SITES_LIMIT_REACHED', 'SHIP_COMPLETE_TERMS_BLOCK_PARTIAL'],
      sitesUsed: 0,
      totalCost: 0,
      search: 'exact',
    });
  });

  it.each(['ship-partial', 'ship-complete'] as const)(
    'fills the order when maxSites allows three (%s)',
    (terms) => {
      const plan = allocateAcrossSites(
        request({ lines: THREE_LINES, sites: oneSkuPerSite, maxSites: 3, terms }),
      );
      expect(plan.status).toBe('full');
      expect(plan.sitesUsed).toBe(3);
      expect(plan.reasonCodes).toEqual(['SPLIT_ACROSS_SITES']);
    },
  );

  it('with maxSites 1 ships from the single site covering the most units', () => {
    const plan = allocateAcrossSites(
      request({
        maxSites: 1,
        sites: [site('NEAR', 1, { 'SKU-A': pos(1), 'SKU-B': pos(3) }), site('FAR', 4, { 'SKU-A': pos(5) })],
      }),
    );
    expect(plan.status).toBe('partial');
    expect(plan.shipments).toEqual([{ siteId: 'FAR', lines: [{ lineNo: 1, sku: 'SKU-A', quantity: 5 }] }]);
    expect(plan.reasonCodes).toEqual(['MAX_SITES_LIMIT_REACHED', 'SHIP_PARTIAL_TERMS']);
  });

  it('ships a partial plan from one site rather than add a site that covers nothing more, even a free, nearer one', () => {
    const plan = allocateAcrossSites(
      request({
        sites: [site('X-NEAR-FREE', 0, { 'SKU-A': pos(2) }, 0), site('Y', 1, { 'SKU-A': pos(5) }, 0)],
      }),
    );
    expect(plan.shipments).toEqual([{ siteId: 'Y', lines: [{ lineNo: 1, sku: 'SKU-A', quantity: 5 }] }]);
    expect(plan.sitesUsed).toBe(1);
  });

  it('does not blame the limit when there is simply not enough stock anywhere', () => {
    const plan = allocateAcrossSites(
      request({
        maxSites: 3,
        sites: [site('S1', 1, { 'SKU-A': pos(2) }), site('S2', 2, { 'SKU-B': pos(3) })],
      }),
    );
    expect(plan.status).toBe('partial');
    expect(plan.short).toEqual([{ lineNo: 1, sku: 'SKU-A', requested: 5, allocated: 2, shortBy: 3 }]);
    expect(plan.reasonCodes).toEqual(['SPLIT_ACROSS_SITES', 'SHIP_PARTIAL_TERMS']);
  });

  it('prefers covering more units over using fewer sites for a partial plan', () => {
    const plan = allocateAcrossSites(
      request({
        lines: THREE_LINES,
        maxSites: 2,
        sites: [site('BIG', 1, { 'SKU-A': pos(5), 'SKU-B': pos(2) }), ...oneSkuPerSite],
      }),
    );
    // BIG + S-C covers 9 of 10 units; BIG alone covers 7.
    expect(plan.shipments.map((s) => s.siteId)).toEqual(['BIG', 'S-C']);
    expect(plan.short).toEqual([{ lineNo: 2, sku: 'SKU-B', requested: 3, allocated: 2, shortBy: 1 }]);
  });
});

describe('allocateAcrossSites: safety stock', () => {
  it('never promises safety stock and says so when it causes a shortfall', () => {
    const plan = allocateAcrossSites(
      request({ sites: [site('S1', 1, { 'SKU-A': pos(5, 0, 2), 'SKU-B': pos(3) })] }),
    );
    expect(plan.status).toBe('partial');
    expect(plan.short).toEqual([{ lineNo: 1, sku: 'SKU-A', requested: 5, allocated: 3, shortBy: 2 }]);
    expect(plan.reasonCodes).toEqual(['SHIP_PARTIAL_TERMS', 'SAFETY_STOCK_PROTECTED']);
  });

  it('splits rather than dip into safety stock at a site that would otherwise fill the order', () => {
    const plan = allocateAcrossSites(
      request({
        sites: [
          site('NEAR', 1, { 'SKU-A': pos(6, 1, 1), 'SKU-B': pos(3) }), // SKU-A ATP 4
          site('FAR', 2, { 'SKU-A': pos(1) }),
        ],
      }),
    );
    expect(plan.status).toBe('full');
    expect(plan.shipments).toEqual([
      {
        siteId: 'NEAR',
        lines: [
          { lineNo: 1, sku: 'SKU-A', quantity: 4 },
          { lineNo: 2, sku: 'SKU-B', quantity: 3 },
        ],
      },
      { siteId: 'FAR', lines: [{ lineNo: 1, sku: 'SKU-A', quantity: 1 }] },
    ]);
    expect(plan.reasonCodes).not.toContain('SAFETY_STOCK_PROTECTED');
  });

  it('does not flag it when releasing the safety stock would not help within maxSites', () => {
    const plan = allocateAcrossSites(
      request({
        maxSites: 1,
        sites: [
          site('S1', 1, { 'SKU-A': pos(5), 'SKU-B': pos(2) }), // 7 units
          site('S2', 2, { 'SKU-B': pos(3, 0, 3) }), // 3 units even without safety stock
        ],
      }),
    );
    expect(plan.shipments.map((s) => s.siteId)).toEqual(['S1']);
    expect(plan.reasonCodes).not.toContain('SAFETY_STOCK_PROTECTED');
  });

  it('backorders with no stock anywhere, noting that safety stock is held', () => {
    const plan = allocateAcrossSites(
      request({ sites: [site('S1', 1, { 'SKU-A': pos(4, 0, 4) }), site('S2', 2, { 'SKU-B': pos(2, 2) })] }),
    );
    expect(plan).toEqual({
      status: 'backorder',
      shipments: [],
      short: [
        { lineNo: 1, sku: 'SKU-A', requested: 5, allocated: 0, shortBy: 5 },
        { lineNo: 2, sku: 'SKU-B', requested: 3, allocated: 0, shortBy: 3 },
      ],
      reasonCodes: ['SAFETY_STOCK_PROTECTED', 'NO_STOCK_AT_ANY_SITE'],
      sitesUsed: 0,
      totalCost: 0,
      search: 'exact',
    });
  });

  it.each(['ship-partial', 'ship-complete'] as const)(
    'backorders with only NO_STOCK_AT_ANY_SITE (%s)',
    (terms) => {
      const plan = allocateAcrossSites(
        request({
          terms,
          sites: [site('S1', 1, { 'SKU-A': pos(3, 3) }), site('S2', 2, { 'SKU-Z': pos(9) })],
        }),
      );
      expect(plan.status).toBe('backorder');
      expect(plan.reasonCodes).toEqual(['NO_STOCK_AT_ANY_SITE']);
    },
  );
});

describe('allocateAcrossSites: the same sku on several lines', () => {
  const dupLines: OrderLineDemand[] = [
    { lineNo: 2, sku: 'SKU-A', quantity: 5 },
    { lineNo: 1, sku: 'SKU-A', quantity: 4 },
    { lineNo: 3, sku: 'SKU-B', quantity: 1 },
  ];

  it('draws both lines from one pool per site, the lower line number first', () => {
    const plan = allocateAcrossSites(
      request({
        lines: dupLines,
        sites: [site('S1', 1, { 'SKU-A': pos(6), 'SKU-B': pos(1) }), site('S2', 2, { 'SKU-A': pos(10) })],
      }),
    );
    expect(plan.status).toBe('full');
    expect(plan.shipments).toEqual([
      {
        siteId: 'S1',
        lines: [
          { lineNo: 1, sku: 'SKU-A', quantity: 4 },
          { lineNo: 2, sku: 'SKU-A', quantity: 2 },
          { lineNo: 3, sku: 'SKU-B', quantity: 1 },
        ],
      },
      { siteId: 'S2', lines: [{ lineNo: 2, sku: 'SKU-A', quantity: 3 }] },
    ]);
  });

  it('does not count a site as filling the order when only each line alone would fit', () => {
    const plan = allocateAcrossSites(
      request({ lines: dupLines, maxSites: 1, sites: [site('S1', 1, { 'SKU-A': pos(7), 'SKU-B': pos(1) })] }),
    );
    expect(plan.status).toBe('partial');
    expect(plan.short).toEqual([{ lineNo: 2, sku: 'SKU-A', requested: 5, allocated: 3, shortBy: 2 }]);
  });
});

describe('allocateAcrossSites: the preferred site', () => {
  const stock = { 'SKU-A': pos(10), 'SKU-B': pos(10) };

  it('wins a tie on site count and cost, even against a nearer site', () => {
    const plan = allocateAcrossSites(
      request({ preferredSiteId: 'PREF', sites: [site('NEAR', 1, stock), site('PREF', 5, stock)] }),
    );
    expect(plan.shipments.map((s) => s.siteId)).toEqual(['PREF']);
    expect(plan.reasonCodes).toEqual(['SINGLE_SITE_FILLS', 'PREFERRED_SITE_USED']);
  });

  it('does not beat a cheaper site', () => {
    const plan = allocateAcrossSites(
      request({ preferredSiteId: 'PREF', sites: [site('CHEAP', 3, stock, 5), site('PREF', 1, stock, 6)] }),
    );
    expect(plan.shipments.map((s) => s.siteId)).toEqual(['CHEAP']);
    expect(plan.reasonCodes).not.toContain('PREFERRED_SITE_USED');
  });

  it('does not beat a plan with fewer shipments', () => {
    const plan = allocateAcrossSites(
      request({
        preferredSiteId: 'PREF',
        sites: [
          site('PREF', 1, { 'SKU-A': pos(5) }, 1),
          site('B', 2, { 'SKU-B': pos(3) }, 1),
          site('BOTH', 9, stock),
        ],
      }),
    );
    expect(plan.shipments.map((s) => s.siteId)).toEqual(['BOTH']);
  });

  it('is drawn on first within a split, while shipments stay in proximity order', () => {
    const plan = allocateAcrossSites(
      request({
        preferredSiteId: 'PREF',
        sites: [
          site('NEAR', 1, { 'SKU-A': pos(5), 'SKU-B': pos(1) }),
          site('PREF', 3, { 'SKU-A': pos(5), 'SKU-B': pos(2) }),
        ],
      }),
    );
    expect(plan.shipments).toEqual([
      { siteId: 'NEAR', lines: [{ lineNo: 2, sku: 'SKU-B', quantity: 1 }] },
      {
        siteId: 'PREF',
        lines: [
          { lineNo: 1, sku: 'SKU-A', quantity: 5 },
          { lineNo: 2, sku: 'SKU-B', quantity: 2 },
        ],
      },
    ]);
    expect(plan.reasonCodes).toEqual(['SPLIT_ACROSS_SITES', 'PREFERRED_SITE_USED']);
  });

  it('is ignored when it is not among the candidate sites', () => {
    const plan = allocateAcrossSites(request({ preferredSiteId: 'GONE', sites: [site('S1', 1, stock)] }));
    expect(plan.shipments.map((s) => s.siteId)).toEqual(['S1']);
    expect(plan.reasonCodes).toEqual(['SINGLE_SITE_FILLS']);
  });
});

describe('allocateAcrossSites: determinism', () => {
  const sites = [
    site('S-B', 2, { 'SKU-A': pos(3) }, 4),
    site('S-A', 2, { 'SKU-A': pos(3) }, 4),
    site('S-C', 1, { 'SKU-B': pos(3), 'SKU-A': pos(1) }, 4),
    site('S-D', 3, { 'SKU-B': pos(3) }, 4),
  ];

  it('returns the same plan whatever the order of sites and lines', () => {
    const first = allocateAcrossSites(request({ sites, maxSites: 3 }));
    const second = allocateAcrossSites(
      request({ sites: [...sites].reverse(), lines: [...TWO_LINES].reverse(), maxSites: 3 }),
    );
    expect(second).toEqual(first);
    expect(first.shipments.map((s) => s.siteId)).toEqual(['S-C', 'S-A', 'S-B']);
  });

  it('does not mutate the request', () => {
    const req = request({ sites, lines: [...TWO_LINES].reverse() });
    const before = structuredClone(req);
    allocateAcrossSites(req);
    expect(req).toEqual(before);
  });
});

describe('allocateAcrossSites: greedy fallback for many sites', () => {
  const oneLine = [{ lineNo: 1, sku: 'SKU-A', quantity: 5 }];

  it(`searches exactly up to ${EXACT_SEARCH_MAX_SITES} stocking sites and greedily beyond`, () => {
    const exact = allocateAcrossSites(request({ lines: oneLine, maxSites: 5, sites: fillerSites(12) }));
    expect(exact.search).toBe('exact');
    const greedy = allocateAcrossSites(request({ lines: oneLine, maxSites: 5, sites: fillerSites(13) }));
    expect(greedy.search).toBe('greedy');
    expect(greedy.status).toBe('full');
    expect(greedy.sitesUsed).toBe(5);
  });

  it('does not count sites without stock for the order towards the threshold', () => {
    const empty = Array.from({ length: 20 }, (_, i) => site(`EMPTY-${i}`, 1, { 'SKU-Z': pos(50) }));
    const plan = allocateAcrossSites(request({ sites: [...empty, site('S1', 2, { 'SKU-A': pos(5) })] }));
    expect(plan.search).toBe('exact');
  });

  it('still respects maxSites, shipping what the allowed sites hold', () => {
    const plan = allocateAcrossSites(request({ lines: oneLine, maxSites: 3, sites: fillerSites(15) }));
    expect(plan.search).toBe('greedy');
    expect(plan.status).toBe('partial');
    expect(plan.sitesUsed).toBe(3);
    expect(plan.shipments.map((s) => s.siteId)).toEqual(['FILL-00', 'FILL-01', 'FILL-02']);
    expect(plan.short).toEqual([{ lineNo: 1, sku: 'SKU-A', requested: 5, allocated: 3, shortBy: 2 }]);
    expect(plan.reasonCodes).toEqual(['SPLIT_ACROSS_SITES', 'MAX_SITES_LIMIT_REACHED', 'SHIP_PARTIAL_TERMS']);
  });

  it('backorders under ship-complete terms when the allowed sites cannot fill the order', () => {
    const plan = allocateAcrossSites(
      request({ lines: oneLine, maxSites: 2, terms: 'ship-complete', sites: fillerSites(15) }),
    );
    expect(plan.status).toBe('backorder');
    expect(plan.shipments).toEqual([]);
    expect(plan.reasonCodes).toEqual(['MAX_SITES_LIMIT_REACHED', 'SHIP_COMPLETE_TERMS_BLOCK_PARTIAL']);
  });

  it('uses one site when one fills the order, picking the cheapest', () => {
    const plan = allocateAcrossSites(
      request({
        lines: oneLine,
        maxSites: 4,
        sites: [...fillerSites(14, 5, 40), site('CHEAP', 30, { 'SKU-A': pos(5) }, 3)],
      }),
    );
    expect(plan.search).toBe('greedy');
    expect(plan.shipments.map((s) => s.siteId)).toEqual(['CHEAP']);
    expect(plan.reasonCodes).toEqual(['SINGLE_SITE_FILLS']);
  });

  it('takes the sites covering the most units first', () => {
    const plan = allocateAcrossSites(
      request({
        lines: oneLine,
        maxSites: 4,
        sites: [
          ...fillerSites(13),
          site('THREE', 40, { 'SKU-A': pos(3) }),
          site('TWO', 41, { 'SKU-A': pos(2) }),
        ],
      }),
    );
    expect(plan.shipments).toEqual([
      { siteId: 'THREE', lines: [{ lineNo: 1, sku: 'SKU-A', quantity: 3 }] },
      { siteId: 'TWO', lines: [{ lineNo: 1, sku: 'SKU-A', quantity: 2 }] },
    ]);
  });

  it('drops a site that later picks have made redundant', () => {
    const plan = allocateAcrossSites(
      request({
        lines: [
          { lineNo: 1, sku: 'SKU-A', quantity: 4 },
          { lineNo: 2, sku: 'SKU-B', quantity: 4 },
        ],
        maxSites: 3,
        sites: [
          ...fillerSites(11),
          site('BIG', 1, { 'SKU-A': pos(3), 'SKU-B': pos(3) }),
          site('ALL-A', 5, { 'SKU-A': pos(4) }),
          site('ALL-B', 6, { 'SKU-B': pos(4) }),
        ],
      }),
    );
    expect(plan.search).toBe('greedy');
    expect(plan.status).toBe('full');
    expect(plan.shipments.map((s) => s.siteId)).toEqual(['ALL-A', 'ALL-B']);
  });
});

describe('allocateAcrossSites: input validation', () => {
  const oneSite = [site('S1', 1, { 'SKU-A': pos(5) })];

  it('rejects an order without lines with a named, permanent error', () => {
    const error = captureError(() => allocateAcrossSites(request({ lines: [], sites: oneSite })));
    expect(error).toBeInstanceOf(InvalidAllocationInput);
    expect(error).toBeInstanceOf(DomainError);
    expect(error).toMatchObject({
      name: 'InvalidAllocationInput',
      field: 'lines',
      rule: 'must contain at least one line',
      retryable: false,
    });
  });

  it.each<[string, Partial<MultiSiteRequest>, string, RegExp]>([
    ['no sites', { sites: [] }, 'sites', /at least one site/],
    [
      'zero quantity',
      { lines: [...TWO_LINES, { lineNo: 3, sku: 'C', quantity: 0 }] },
      'lines[2].quantity',
      /positive integer/,
    ],
    [
      'negative quantity',
      { lines: [{ lineNo: 1, sku: 'A', quantity: -2 }] },
      'lines[0].quantity',
      /positive integer/,
    ],
    [
      'fractional quantity',
      { lines: [{ lineNo: 1, sku: 'A', quantity: 1.5 }] },
      'lines[0].quantity',
      /positive integer/,
    ],
    [
      'duplicate lineNo',
      { lines: [...TWO_LINES, { lineNo: 2, sku: 'C', quantity: 1 }] },
      'lines[2].lineNo',
      /unique .*lines\[1\]/,
    ],
    ['empty sku', { lines: [{ lineNo: 1, sku: '', quantity: 1 }] }, 'lines[0].sku', /non-empty/],
    ['maxSites 0', { maxSites: 0 }, 'maxSites', /integer >= 1 \(got 0\)/],
    ['fractional maxSites', { maxSites: 1.5 }, 'maxSites', /integer >= 1 \(got 1.5\)/],
    ['NaN maxSites', { maxSites: Number.NaN }, 'maxSites', /integer >= 1/],
    [
      'duplicate siteId',
      { sites: [...oneSite, site('S1', 2, {})] },
      'sites[1].siteId',
      /unique .*sites\[0\]/,
    ],
    [
      'negative onHand',
      { sites: [site('S1', 1, { 'SKU-B': pos(-1) })] },
      'sites[0].items["SKU-B"].onHand',
      />= 0/,
    ],
    [
      'negative reserved',
      { sites: [...oneSite, site('S2', 1, { 'SKU-A': pos(1, -1) })] },
      'sites[1].items["SKU-A"].reserved',
      />= 0/,
    ],
    [
      'negative safety stock',
      { sites: [site('S1', 1, { 'SKU-A': pos(1, 0, -3) })] },
      'sites[0].items["SKU-A"].safetyStock',
      />= 0/,
    ],
    ['negative shipping cost', { sites: [site('S1', 1, {}, -1)] }, 'sites[0].shippingCost', />= 0/],
    [
      'non-finite proximity',
      { sites: [site('S1', Number.POSITIVE_INFINITY, {})] },
      'sites[0].proximityRank',
      /finite/,
    ],
    ['negative split penalty', { sites: oneSite, splitPenalty: -5 }, 'splitPenalty', />= 0/],
    ['empty preferred site', { sites: oneSite, preferredSiteId: '' }, 'preferredSiteId', /non-empty/],
    [
      'unknown terms',
      { sites: oneSite, terms: 'asap' as MultiSiteRequest['terms'] },
      'terms',
      /ship-complete, ship-partial/,
    ],
  ])('rejects %s, naming the field', (_case, overrides, field, rule) => {
    const error = captureError(() => allocateAcrossSites(request({ sites: oneSite, ...overrides })));
    expect(error).toBeInstanceOf(InvalidAllocationInput);
    expect((error as InvalidAllocationInput).field).toBe(field);
    expect((error as InvalidAllocationInput).rule).toMatch(rule);
    expect((error as Error).message.startsWith(`${field} `)).toBe(true);
  });

  it('ignores stock figures for skus the order does not ask for', () => {
    const plan = allocateAcrossSites(
      request({ sites: [site('S1', 1, { 'SKU-A': pos(5), 'SKU-B': pos(3), 'SKU-Z': pos(-4) })] }),
    );
    expect(plan.status).toBe('full');
  });
});
