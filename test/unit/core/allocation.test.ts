import { describe, expect, it } from 'vitest';
import {
  type AllocationRequest,
  allocateSingleSite,
  availableToPromise,
  InvalidAllocationInput,
  type OrderLineDemand,
  type SiteStock,
  type StockPosition,
} from '../../../lambdas/core/allocation.ts';
import { DomainError } from '../../../lambdas/core/errors.ts';

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

function request(overrides: Partial<AllocationRequest> = {}): AllocationRequest {
  return { lines: TWO_LINES, sites: [], terms: 'ship-partial', ...overrides };
}

function captureError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to throw');
}

describe('availableToPromise', () => {
  it('is on hand minus reserved minus safety stock', () => {
    expect(availableToPromise(pos(20, 5, 3))).toBe(12);
  });

  it('is 0 for a sku the site does not stock', () => {
    expect(availableToPromise(undefined)).toBe(0);
  });

  it('never goes negative when reservations and safety stock exceed on hand', () => {
    expect(availableToPromise(pos(5, 4, 3))).toBe(0);
    expect(availableToPromise(pos(0, 2, 0))).toBe(0);
  });
});

describe('allocateSingleSite: choosing a site that fills the whole order', () => {
  it('ships from the preferred site when it can fill the order, even if another site is nearer', () => {
    const plan = allocateSingleSite(
      request({
        preferredSiteId: 'FAR',
        sites: [
          site('NEAR', 1, { 'SKU-A': pos(50), 'SKU-B': pos(50) }),
          site('FAR', 4, { 'SKU-A': pos(5), 'SKU-B': pos(3) }),
        ],
      }),
    );
    expect(plan).toEqual({
      status: 'full',
      siteId: 'FAR',
      allocated: [
        { lineNo: 1, sku: 'SKU-A', quantity: 5 },
        { lineNo: 2, sku: 'SKU-B', quantity: 3 },
      ],
      short: [],
      reasonCodes: ['PREFERRED_SITE_FILLS_ORDER'],
    });
  });

  it('falls back to the nearest full site when the preferred site cannot fill the order', () => {
    const plan = allocateSingleSite(
      request({
        preferredSiteId: 'PREF',
        sites: [
          site('PREF', 1, { 'SKU-A': pos(5), 'SKU-B': pos(2) }),
          site('FAR', 5, { 'SKU-A': pos(9), 'SKU-B': pos(9) }),
          site('MID', 2, { 'SKU-A': pos(9), 'SKU-B': pos(9) }),
        ],
      }),
    );
    expect(plan.status).toBe('full');
    expect(plan.siteId).toBe('MID');
    expect(plan.reasonCodes).toEqual(['NEAREST_FULL_SITE']);
  });

  it('ignores a preferred site id that is not among the candidate sites', () => {
    const plan = allocateSingleSite(
      request({ preferredSiteId: 'GONE', sites: [site('S1', 1, { 'SKU-A': pos(5), 'SKU-B': pos(3) })] }),
    );
    expect(plan.siteId).toBe('S1');
    expect(plan.reasonCodes).toEqual(['NEAREST_FULL_SITE']);
  });

  it('skips a nearer site that cannot fill the order in favour of a farther one that can', () => {
    const plan = allocateSingleSite(
      request({
        sites: [site('NEAR', 1, { 'SKU-A': pos(100) }), site('FAR', 3, { 'SKU-A': pos(5), 'SKU-B': pos(3) })],
      }),
    );
    expect(plan.siteId).toBe('FAR');
    expect(plan.status).toBe('full');
  });

  it('breaks a proximity tie on the lower shipping cost', () => {
    const stock = { 'SKU-A': pos(10), 'SKU-B': pos(10) };
    const plan = allocateSingleSite(
      request({
        sites: [site('A-DEAR', 2, stock, 30), site('B-CHEAP', 2, stock, 12), site('C', 3, stock, 1)],
      }),
    );
    expect(plan.siteId).toBe('B-CHEAP');
  });

  it('breaks a proximity and cost tie on siteId ascending, whatever the input order', () => {
    const stock = { 'SKU-A': pos(10), 'SKU-B': pos(10) };
    const sites = [site('DC-20', 1, stock, 5), site('DC-03', 1, stock, 5), site('DC-11', 1, stock, 5)];
    expect(allocateSingleSite(request({ sites })).siteId).toBe('DC-03');
    expect(allocateSingleSite(request({ sites: [...sites].reverse() })).siteId).toBe('DC-03');
  });

  it('does not count reserved or safety stock as available', () => {
    const plan = allocateSingleSite(
      request({
        sites: [
          site('NEAR', 1, { 'SKU-A': pos(10, 5, 1), 'SKU-B': pos(3) }), // SKU-A ATP 4 < 5
          site('FAR', 2, { 'SKU-A': pos(10, 5, 0), 'SKU-B': pos(3) }), // SKU-A ATP 5
        ],
      }),
    );
    expect(plan.siteId).toBe('FAR');
    expect(plan.status).toBe('full');
  });
});

describe('allocateSingleSite: the same sku on several lines', () => {
  const dupLines: OrderLineDemand[] = [
    { lineNo: 3, sku: 'SKU-A', quantity: 4 },
    { lineNo: 1, sku: 'SKU-A', quantity: 5 },
    { lineNo: 2, sku: 'SKU-B', quantity: 1 },
  ];

  it('sums demand for the sku across lines when deciding whether a site fills the order', () => {
    const plan = allocateSingleSite(
      request({
        lines: dupLines,
        sites: [
          site('NEAR', 1, { 'SKU-A': pos(8), 'SKU-B': pos(5) }), // 8 < 9 in total
          site('FAR', 2, { 'SKU-A': pos(9), 'SKU-B': pos(5) }),
        ],
      }),
    );
    expect(plan.siteId).toBe('FAR');
    expect(plan.status).toBe('full');
    expect(plan.allocated).toEqual([
      { lineNo: 1, sku: 'SKU-A', quantity: 5 },
      { lineNo: 2, sku: 'SKU-B', quantity: 1 },
      { lineNo: 3, sku: 'SKU-A', quantity: 4 },
    ]);
  });

  it('serves the lower line number first when the shared stock runs out', () => {
    const plan = allocateSingleSite(
      request({ lines: dupLines, sites: [site('ONLY', 1, { 'SKU-A': pos(7), 'SKU-B': pos(5) })] }),
    );
    expect(plan.status).toBe('partial');
    expect(plan.allocated).toEqual([
      { lineNo: 1, sku: 'SKU-A', quantity: 5 },
      { lineNo: 2, sku: 'SKU-B', quantity: 1 },
      { lineNo: 3, sku: 'SKU-A', quantity: 2 },
    ]);
    expect(plan.short).toEqual([{ lineNo: 3, sku: 'SKU-A', requested: 4, available: 2, shortBy: 2 }]);
  });
});

describe('allocateSingleSite: no site fills the order', () => {
  const sites = [
    site('NEAR', 1, { 'SKU-A': pos(2), 'SKU-B': pos(1) }), // covers 3 units
    site('FAR', 4, { 'SKU-A': pos(5) }), // covers 5 units, nothing of SKU-B
  ];

  it('ships what the best site has under ship-partial terms, listing the shortfall', () => {
    const plan = allocateSingleSite(request({ sites, terms: 'ship-partial' }));
    expect(plan).toEqual({
      status: 'partial',
      siteId: 'FAR',
      allocated: [{ lineNo: 1, sku: 'SKU-A', quantity: 5 }],
      short: [{ lineNo: 2, sku: 'SKU-B', requested: 3, available: 0, shortBy: 3 }],
      reasonCodes: ['BEST_PARTIAL_SITE', 'SHIP_PARTIAL_TERMS'],
    });
  });

  it('picks the site covering the most units, not the nearest one', () => {
    expect(allocateSingleSite(request({ sites })).siteId).toBe('FAR');
  });

  it('allocates partly covered lines and lists them as short with what was available', () => {
    const plan = allocateSingleSite(
      request({ sites: [site('S1', 1, { 'SKU-A': pos(3), 'SKU-B': pos(3) })] }),
    );
    expect(plan.allocated).toEqual([
      { lineNo: 1, sku: 'SKU-A', quantity: 3 },
      { lineNo: 2, sku: 'SKU-B', quantity: 3 },
    ]);
    expect(plan.short).toEqual([{ lineNo: 1, sku: 'SKU-A', requested: 5, available: 3, shortBy: 2 }]);
  });

  it('breaks a tie on units covered by proximity, then cost, then siteId', () => {
    const four = { 'SKU-A': pos(4) };
    expect(allocateSingleSite(request({ sites: [site('X', 3, four), site('Y', 2, four)] })).siteId).toBe('Y');
    expect(
      allocateSingleSite(request({ sites: [site('X', 2, four, 8), site('Y', 2, four, 9)] })).siteId,
    ).toBe('X');
    expect(
      allocateSingleSite(request({ sites: [site('Y', 2, four, 8), site('X', 2, four, 8)] })).siteId,
    ).toBe('X');
  });

  it('backorders under ship-complete terms, naming the best site and every short line at it', () => {
    const plan = allocateSingleSite(request({ sites, terms: 'ship-complete' }));
    expect(plan).toEqual({
      status: 'backorder',
      siteId: 'FAR',
      allocated: [],
      short: [{ lineNo: 2, sku: 'SKU-B', requested: 3, available: 0, shortBy: 3 }],
      reasonCodes: ['BEST_PARTIAL_SITE', 'SHIP_COMPLETE_TERMS_BLOCK_PARTIAL'],
    });
  });

  it('ship-complete still ships from a site that fills the order', () => {
    const plan = allocateSingleSite(
      request({ terms: 'ship-complete', sites: [site('S1', 1, { 'SKU-A': pos(5), 'SKU-B': pos(3) })] }),
    );
    expect(plan.status).toBe('full');
  });

  it.each(['ship-partial', 'ship-complete'] as const)(
    'backorders with no site when nothing is available anywhere (%s)',
    (terms) => {
      const plan = allocateSingleSite(
        request({
          terms,
          sites: [
            site('S1', 1, { 'SKU-A': pos(4, 4) }), // all reserved
            site('S2', 2, { 'SKU-C': pos(100) }), // stocks something else
            site('S3', 3, {}),
          ],
        }),
      );
      expect(plan).toEqual({
        status: 'backorder',
        siteId: null,
        allocated: [],
        short: [
          { lineNo: 1, sku: 'SKU-A', requested: 5, available: 0, shortBy: 5 },
          { lineNo: 2, sku: 'SKU-B', requested: 3, available: 0, shortBy: 3 },
        ],
        reasonCodes: ['NO_STOCK_AT_ANY_SITE'],
      });
    },
  );
});

describe('allocateSingleSite: safety stock', () => {
  it('flags SAFETY_STOCK_PROTECTED when on hand less reserved would have covered the shortfall', () => {
    const plan = allocateSingleSite(
      request({ sites: [site('S1', 1, { 'SKU-A': pos(8, 2, 3), 'SKU-B': pos(3) })] }), // ATP 3, free 6
    );
    expect(plan.status).toBe('partial');
    expect(plan.short).toEqual([{ lineNo: 1, sku: 'SKU-A', requested: 5, available: 3, shortBy: 2 }]);
    expect(plan.reasonCodes).toEqual(['BEST_PARTIAL_SITE', 'SHIP_PARTIAL_TERMS', 'SAFETY_STOCK_PROTECTED']);
  });

  it('flags SAFETY_STOCK_PROTECTED under ship-complete terms too', () => {
    const plan = allocateSingleSite(
      request({ terms: 'ship-complete', sites: [site('S1', 1, { 'SKU-A': pos(5, 0, 1), 'SKU-B': pos(3) })] }),
    );
    expect(plan.reasonCodes).toEqual([
      'BEST_PARTIAL_SITE',
      'SHIP_COMPLETE_TERMS_BLOCK_PARTIAL',
      'SAFETY_STOCK_PROTECTED',
    ]);
  });

  it('does not flag it when the shortfall is not caused by safety stock', () => {
    const plan = allocateSingleSite(
      request({ sites: [site('S1', 1, { 'SKU-A': pos(4, 4, 0), 'SKU-B': pos(10, 0, 5) })] }), // SKU-B fully covered
    );
    expect(plan.status).toBe('partial');
    expect(plan.reasonCodes).not.toContain('SAFETY_STOCK_PROTECTED');
  });

  it('does not flag it when reservations already consume the stock that safety stock would protect', () => {
    const plan = allocateSingleSite(
      request({ sites: [site('S1', 1, { 'SKU-A': pos(6, 6, 2), 'SKU-B': pos(3) })] }), // nothing free either way
    );
    expect(plan.status).toBe('partial');
    expect(plan.reasonCodes).not.toContain('SAFETY_STOCK_PROTECTED');
  });

  it('flags it when safety stock holds back only part of what would have been free', () => {
    const plan = allocateSingleSite(
      request({ sites: [site('S1', 1, { 'SKU-A': pos(6, 4, 2), 'SKU-B': pos(3) })] }), // ATP 0, free 2
    );
    expect(plan.reasonCodes).toContain('SAFETY_STOCK_PROTECTED');
  });

  it('only looks at the chosen site', () => {
    const plan = allocateSingleSite(
      request({
        sites: [
          site('BEST', 1, { 'SKU-A': pos(4), 'SKU-B': pos(3) }), // 7 units, no safety stock involved
          site('OTHER', 2, { 'SKU-A': pos(5, 0, 5) }), // safety stock blocks here, but not chosen
        ],
      }),
    );
    expect(plan.siteId).toBe('BEST');
    expect(plan.reasonCodes).not.toContain('SAFETY_STOCK_PROTECTED');
  });
});

describe('allocateSingleSite: determinism', () => {
  it('returns the same plan whatever the order of sites and lines', () => {
    const sites = [
      site('S-B', 2, { 'SKU-A': pos(3), 'SKU-B': pos(3) }, 4),
      site('S-A', 2, { 'SKU-A': pos(3), 'SKU-B': pos(3) }, 4),
      site('S-C', 1, { 'SKU-A': pos(1) }, 1),
    ];
    const first = allocateSingleSite(request({ sites }));
    const second = allocateSingleSite(
      request({ sites: [...sites].reverse(), lines: [...TWO_LINES].reverse() }),
    );
    expect(second).toEqual(first);
    expect(first.siteId).toBe('S-A');
  });

  it('does not mutate the request', () => {
    const lines = [...TWO_LINES].reverse();
    const sites = [site('S1', 1, { 'SKU-A': pos(1) })];
    const req = request({ lines, sites });
    const before = structuredClone(req);
    allocateSingleSite(req);
    expect(req).toEqual(before);
  });
});

describe('allocateSingleSite: input validation', () => {
  const oneSite = [site('S1', 1, { 'SKU-A': pos(5) })];

  it('rejects an order without lines', () => {
    const error = captureError(() => allocateSingleSite(request({ lines: [], sites: oneSite })));
    expect(error).toBeInstanceOf(InvalidAllocationInput);
    expect(error).toBeInstanceOf(DomainError);
    expect(error).toMatchObject({ name: 'InvalidAllocationInput', field: 'lines', retryable: false });
    expect((error as Error).message).toBe('lines must contain at least one line');
  });

  it('rejects a request without candidate sites', () => {
    expect(() => allocateSingleSite(request({ sites: [] }))).toThrow(
      /^sites must contain at least one site$/,
    );
  });

  it.each([
    [0, 'lines[2].quantity must be a positive integer (got 0)'],
    [-3, 'lines[2].quantity must be a positive integer (got -3)'],
    [1.5, 'lines[2].quantity must be a positive integer (got 1.5)'],
    [Number.NaN, 'lines[2].quantity must be a positive integer (got NaN)'],
  ])('rejects a line quantity of %s, naming the line path', (quantity, message) => {
    const lines = [...TWO_LINES, { lineNo: 3, sku: 'SKU-C', quantity }];
    const error = captureError(() => allocateSingleSite(request({ lines, sites: oneSite })));
    expect(error).toBeInstanceOf(InvalidAllocationInput);
    expect((error as Error).message).toBe(message);
    expect((error as InvalidAllocationInput).field).toBe('lines[2].quantity');
  });

  it('rejects a duplicate line number, naming the second occurrence', () => {
    const lines = [...TWO_LINES, { lineNo: 1, sku: 'SKU-C', quantity: 1 }];
    expect(() => allocateSingleSite(request({ lines, sites: oneSite }))).toThrow(
      'lines[2].lineNo must be unique (1 already used by lines[0])',
    );
  });

  it('rejects a non-integer line number and an empty sku', () => {
    expect(() =>
      allocateSingleSite(request({ lines: [{ lineNo: 1.5, sku: 'SKU-A', quantity: 1 }], sites: oneSite })),
    ).toThrow(/^lines\[0\]\.lineNo must be an integer/);
    expect(() =>
      allocateSingleSite(request({ lines: [{ lineNo: 1, sku: '', quantity: 1 }], sites: oneSite })),
    ).toThrow(/^lines\[0\]\.sku must be a non-empty string/);
  });

  it('rejects duplicate site ids', () => {
    expect(() => allocateSingleSite(request({ sites: [site('S1', 1, {}), site('S1', 2, {})] }))).toThrow(
      /^sites\[1\]\.siteId must be unique/,
    );
  });

  it('rejects negative or non-finite stock figures for the ordered skus, naming the item path', () => {
    expect(() => allocateSingleSite(request({ sites: [site('S1', 1, { 'SKU-B': pos(-1) })] }))).toThrow(
      'sites[0].items["SKU-B"].onHand must be a finite number >= 0 (got -1)',
    );
    expect(() =>
      allocateSingleSite(
        request({ sites: [site('S0', 1, {}), site('S1', 1, { 'SKU-A': pos(1, Number.NaN) })] }),
      ),
    ).toThrow(/^sites\[1\]\.items\["SKU-A"\]\.reserved/);
  });

  it('rejects a negative shipping cost and a non-finite proximity rank', () => {
    expect(() => allocateSingleSite(request({ sites: [site('S1', 1, {}, -1)] }))).toThrow(
      /^sites\[0\]\.shippingCost/,
    );
    expect(() => allocateSingleSite(request({ sites: [site('S1', Number.NaN, {})] }))).toThrow(
      /^sites\[0\]\.proximityRank/,
    );
  });

  it('rejects unknown fulfilment terms', () => {
    expect(() =>
      allocateSingleSite(request({ sites: oneSite, terms: 'whenever' as AllocationRequest['terms'] })),
    ).toThrow(/^terms must be one of ship-complete, ship-partial/);
  });
});
