import { describe, expect, it } from 'vitest';
import { DomainError } from '../../../lambdas/core/errors.ts';
import {
  classifyOrder,
  InvalidRoutingInput,
  NoDeployedPath,
  type RoutingDecision,
  type RoutingInput,
  resolveDeployedPath,
} from '../../../lambdas/core/routing.ts';
import {
  CUSTOMER_PRIORITIES,
  type CustomerPriority,
  FULFILMENT_PATHS,
  type FulfilmentPath,
  SERVICE_LEVELS,
  type ServiceLevel,
} from '../../../lambdas/core/vocabulary.ts';

/** A plain wholesale ERP order: standard service, healthy margin, partial shipments allowed. */
function input(overrides: Partial<RoutingInput> = {}): RoutingInput {
  return {
    channel: 'wholesale',
    serviceLevel: 'standard',
    sourceSystem: 'erp',
    customerPriority: 'standard',
    terms: 'ship-partial',
    orderValue: 1_000,
    marginPct: 25,
    lines: [
      { sku: 'SKU-A', quantity: 2 },
      { sku: 'SKU-B', quantity: 1 },
    ],
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

describe('classifyOrder: path rules', () => {
  it('routes an ordinary order to the standard single-site path', () => {
    expect(classifyOrder(input())).toEqual({
      path: 'standard-single-site',
      reasonCodes: ['DEFAULT_STANDARD'],
      priorityScore: 300,
    });
  });

  it('routes an order whose every line ships vendor-direct to drop-ship', () => {
    const decision = classifyOrder(
      input({
        lines: [
          { sku: 'SKU-A', quantity: 1, dropShip: true },
          { sku: 'SKU-B', quantity: 1, dropShip: true },
        ],
      }),
    );
    expect(decision.path).toBe('drop-ship');
    expect(decision.reasonCodes).toEqual(['ALL_LINES_VENDOR_DIRECT']);
  });

  it('keeps an order with only some drop-ship lines on its other rule and flags MIXED_DROP_SHIP', () => {
    const decision = classifyOrder(
      input({
        lines: [
          { sku: 'SKU-A', quantity: 1, dropShip: true },
          { sku: 'SKU-B', quantity: 1, dropShip: false },
        ],
      }),
    );
    expect(decision.path).toBe('standard-single-site');
    expect(decision.reasonCodes).toEqual(['DEFAULT_STANDARD', 'MIXED_DROP_SHIP']);
  });

  it('routes retail replenishment received over EDI to the EDI replenishment path', () => {
    const decision = classifyOrder(input({ channel: 'retail-replenishment', sourceSystem: 'edi' }));
    expect(decision.path).toBe('edi-retail-replenishment');
    expect(decision.reasonCodes).toEqual(['EDI_REPLENISHMENT']);
  });

  it('needs both the retail-replenishment channel and EDI for the EDI path', () => {
    expect(classifyOrder(input({ channel: 'retail-replenishment', sourceSystem: 'portal' })).path).toBe(
      'standard-single-site',
    );
    expect(classifyOrder(input({ channel: 'wholesale', sourceSystem: 'edi' })).path).toBe(
      'standard-single-site',
    );
  });

  it('gives drop-ship precedence over EDI replenishment but records both rules', () => {
    const decision = classifyOrder(
      input({
        channel: 'retail-replenishment',
        sourceSystem: 'edi',
        lines: [{ sku: 'SKU-A', quantity: 1, dropShip: true }],
      }),
    );
    expect(decision.path).toBe('drop-ship');
    expect(decision.reasonCodes).toEqual(['ALL_LINES_VENDOR_DIRECT', 'EDI_REPLENISHMENT']);
  });

  it.each([
    ['expedited', 'SERVICE_LEVEL_EXPEDITED'],
    ['next-day', 'SERVICE_LEVEL_NEXT_DAY'],
  ] as const)('routes %s service to the expedited path', (serviceLevel, code) => {
    const decision = classifyOrder(input({ serviceLevel }));
    expect(decision.path).toBe('expedited');
    expect(decision.reasonCodes).toEqual([code]);
  });

  it('gives EDI replenishment precedence over an expedited service level but records it', () => {
    const decision = classifyOrder(
      input({ channel: 'retail-replenishment', sourceSystem: 'edi', serviceLevel: 'next-day' }),
    );
    expect(decision.path).toBe('edi-retail-replenishment');
    expect(decision.reasonCodes).toEqual(['EDI_REPLENISHMENT', 'SERVICE_LEVEL_NEXT_DAY']);
  });

  it('keeps an expedited order with hazmat lines on ground via the standard path', () => {
    const decision = classifyOrder(
      input({
        serviceLevel: 'next-day',
        lines: [
          { sku: 'SKU-A', quantity: 1 },
          { sku: 'SKU-H', quantity: 1, hazmat: true },
        ],
      }),
    );
    expect(decision.path).toBe('standard-single-site');
    expect(decision.reasonCodes).toEqual(['EXPEDITE_BLOCKED_HAZMAT', 'HAZMAT_LINES']);
  });

  it('keeps an expedited order with oversize lines on ground via the standard path', () => {
    const decision = classifyOrder(
      input({ serviceLevel: 'expedited', lines: [{ sku: 'SKU-O', quantity: 1, oversize: true }] }),
    );
    expect(decision.path).toBe('standard-single-site');
    expect(decision.reasonCodes).toEqual(['EXPEDITE_BLOCKED_OVERSIZE', 'OVERSIZE_LINES']);
  });

  it('reports both blocks when an expedited order has hazmat and oversize lines', () => {
    const decision = classifyOrder(
      input({
        serviceLevel: 'expedited',
        lines: [
          { sku: 'SKU-H', quantity: 1, hazmat: true },
          { sku: 'SKU-O', quantity: 1, oversize: true },
        ],
      }),
    );
    expect(decision.path).toBe('standard-single-site');
    expect(decision.reasonCodes).toEqual([
      'EXPEDITE_BLOCKED_HAZMAT',
      'EXPEDITE_BLOCKED_OVERSIZE',
      'HAZMAT_LINES',
      'OVERSIZE_LINES',
    ]);
    expect(decision.reasonCodes).not.toContain('DEFAULT_STANDARD');
  });

  it('only observes hazmat and oversize lines on non-expedited orders', () => {
    const decision = classifyOrder(
      input({
        serviceLevel: 'economy',
        lines: [{ sku: 'SKU-H', quantity: 1, hazmat: true, oversize: true }],
      }),
    );
    expect(decision.path).toBe('standard-single-site');
    expect(decision.reasonCodes).toEqual(['DEFAULT_STANDARD', 'HAZMAT_LINES', 'OVERSIZE_LINES']);
  });
});

describe('classifyOrder: observation codes', () => {
  it('flags LOW_MARGIN below 10% but not at exactly 10%', () => {
    expect(classifyOrder(input({ marginPct: 9.99 })).reasonCodes).toContain('LOW_MARGIN');
    expect(classifyOrder(input({ marginPct: -4 })).reasonCodes).toContain('LOW_MARGIN');
    expect(classifyOrder(input({ marginPct: 10 })).reasonCodes).not.toContain('LOW_MARGIN');
  });

  it('flags key-account customers', () => {
    expect(classifyOrder(input({ customerPriority: 'key-account' })).reasonCodes).toContain('KEY_ACCOUNT');
    expect(classifyOrder(input({ customerPriority: 'preferred' })).reasonCodes).not.toContain('KEY_ACCOUNT');
  });

  it('flags ship-complete terms', () => {
    expect(classifyOrder(input({ terms: 'ship-complete' })).reasonCodes).toContain('SHIP_COMPLETE');
    expect(classifyOrder(input({ terms: 'ship-partial' })).reasonCodes).not.toContain('SHIP_COMPLETE');
  });

  it('lists the path reason first and then every observation in a fixed order', () => {
    const decision = classifyOrder(
      input({
        serviceLevel: 'next-day',
        customerPriority: 'key-account',
        terms: 'ship-complete',
        marginPct: 3,
        lines: [
          { sku: 'SKU-A', quantity: 1, dropShip: true },
          { sku: 'SKU-H', quantity: 1, hazmat: true, oversize: true },
        ],
      }),
    );
    expect(decision.reasonCodes).toEqual([
      'EXPEDITE_BLOCKED_HAZMAT',
      'EXPEDITE_BLOCKED_OVERSIZE',
      'HAZMAT_LINES',
      'OVERSIZE_LINES',
      'MIXED_DROP_SHIP',
      'LOW_MARGIN',
      'KEY_ACCOUNT',
      'SHIP_COMPLETE',
    ]);
  });
});

describe('classifyOrder: priority score', () => {
  const expected: Record<ServiceLevel, Record<CustomerPriority, number>> = {
    economy: { standard: 100, preferred: 150, 'key-account': 250 },
    standard: { standard: 300, preferred: 350, 'key-account': 450 },
    expedited: { standard: 600, preferred: 650, 'key-account': 750 },
    'next-day': { standard: 800, preferred: 850, 'key-account': 950 },
  };

  for (const serviceLevel of SERVICE_LEVELS) {
    for (const customerPriority of CUSTOMER_PRIORITIES) {
      const score = expected[serviceLevel][customerPriority];
      it(`scores ${serviceLevel} service for a ${customerPriority} customer as ${score}`, () => {
        const decision = classifyOrder(input({ serviceLevel, customerPriority }));
        expect(decision.priorityScore).toBe(score);
        expect(Number.isInteger(decision.priorityScore)).toBe(true);
      });
    }
  }

  it('scores by the requested service level even when hazmat forces ground shipping', () => {
    const decision = classifyOrder(
      input({ serviceLevel: 'next-day', lines: [{ sku: 'SKU-H', quantity: 1, hazmat: true }] }),
    );
    expect(decision.priorityScore).toBe(800);
  });
});

describe('classifyOrder: input validation', () => {
  it('rejects an order without lines rather than calling it all drop-ship', () => {
    const error = captureError(() => classifyOrder(input({ lines: [] })));
    expect(error).toBeInstanceOf(InvalidRoutingInput);
    expect(error).toBeInstanceOf(DomainError);
    expect(error).toMatchObject({ name: 'InvalidRoutingInput', field: 'lines', retryable: false });
  });

  it('rejects unknown vocabulary values, naming the field', () => {
    expect(() => classifyOrder(input({ channel: 'marketplace' as RoutingInput['channel'] }))).toThrow(
      /^channel must be one of wholesale, retail-replenishment, direct-to-customer \(got marketplace\)$/,
    );
    expect(() => classifyOrder(input({ serviceLevel: 'same-day' as ServiceLevel }))).toThrow(
      /^serviceLevel /,
    );
    expect(() => classifyOrder(input({ sourceSystem: 'fax' as RoutingInput['sourceSystem'] }))).toThrow(
      /^sourceSystem /,
    );
  });

  it('rejects a non-positive line quantity, naming the line path', () => {
    expect(() =>
      classifyOrder(
        input({
          lines: [
            { sku: 'SKU-A', quantity: 1 },
            { sku: 'SKU-B', quantity: 0 },
          ],
        }),
      ),
    ).toThrow('lines[1].quantity must be a positive integer (got 0)');
  });

  it('rejects a non-finite margin and a negative order value', () => {
    expect(() => classifyOrder(input({ marginPct: Number.NaN }))).toThrow(
      /^marginPct must be a finite number/,
    );
    expect(() => classifyOrder(input({ orderValue: -1 }))).toThrow(
      /^orderValue must be a finite number >= 0/,
    );
  });
});

describe('resolveDeployedPath', () => {
  const ALL = new Set<FulfilmentPath>(FULFILMENT_PATHS);
  const dropShip: RoutingDecision = {
    path: 'drop-ship',
    reasonCodes: ['ALL_LINES_VENDOR_DIRECT', 'KEY_ACCOUNT'],
    priorityScore: 450,
  };

  it('keeps the decision unchanged when its path is deployed', () => {
    expect(resolveDeployedPath(dropShip, ALL)).toEqual(dropShip);
  });

  it('falls back to the standard single-site path and says which path was missing', () => {
    const resolved = resolveDeployedPath(
      dropShip,
      new Set<FulfilmentPath>(['standard-single-site', 'expedited']),
    );
    expect(resolved).toEqual({
      path: 'standard-single-site',
      reasonCodes: ['ALL_LINES_VENDOR_DIRECT', 'KEY_ACCOUNT', 'PATH_NOT_DEPLOYED:drop-ship'],
      priorityScore: 450,
    });
  });

  it('does not mutate the original decision when falling back', () => {
    const original = structuredClone(dropShip);
    resolveDeployedPath(dropShip, new Set<FulfilmentPath>(['standard-single-site']));
    expect(dropShip).toEqual(original);
  });

  it('throws NoDeployedPath when neither the path nor the standard fallback is deployed', () => {
    const error = captureError(() => resolveDeployedPath(dropShip, new Set<FulfilmentPath>(['expedited'])));
    expect(error).toBeInstanceOf(NoDeployedPath);
    expect(error).toBeInstanceOf(DomainError);
    expect(error).toMatchObject({ name: 'NoDeployedPath', retryable: false, requestedPath: 'drop-ship' });
    expect((error as Error).message).toContain("'drop-ship'");
  });

  it('throws NoDeployedPath when the standard path itself is requested but not deployed', () => {
    const standard: RoutingDecision = { path: 'standard-single-site', reasonCodes: [], priorityScore: 300 };
    expect(() => resolveDeployedPath(standard, new Set())).toThrow(NoDeployedPath);
  });

  it('works on a freshly classified order end to end', () => {
    const decision = classifyOrder(input({ serviceLevel: 'expedited' }));
    const resolved = resolveDeployedPath(decision, new Set<FulfilmentPath>(['standard-single-site']));
    expect(resolved.path).toBe('standard-single-site');
    expect(resolved.reasonCodes).toEqual(['SERVICE_LEVEL_EXPEDITED', 'PATH_NOT_DEPLOYED:expedited']);
  });
});

describe('classifyOrder: inventory confidence, margin profile and transport constraints', () => {
  const splitStock = { bestSiteFillPct: 60, networkFillPct: 100, confidence: 'high' as const };

  it('splits across facilities when no single site fills, the network does and terms allow partial shipments', () => {
    const decision = classifyOrder(input({ inventory: splitStock }));
    expect(decision.path).toBe('multi-site-split');
    expect(decision.reasonCodes).toEqual(['NO_SINGLE_SITE_FILLS', 'NETWORK_FILLS']);
  });

  it('keeps a ship-complete order on one site (it waits for stock there) and says the split was blocked', () => {
    const decision = classifyOrder(input({ terms: 'ship-complete', inventory: splitStock }));
    expect(decision.path).toBe('standard-single-site');
    expect(decision.reasonCodes).toEqual(['SPLIT_BLOCKED_SHIP_COMPLETE', 'SHIP_COMPLETE']);
  });

  it('does not split on a stock snapshot it cannot trust', () => {
    const decision = classifyOrder(input({ inventory: { ...splitStock, confidence: 'low' } }));
    expect(decision.path).toBe('standard-single-site');
    expect(decision.reasonCodes).toEqual(['DEFAULT_STANDARD', 'LOW_INVENTORY_CONFIDENCE']);
  });

  it('stays single-site when one facility fills the order', () => {
    const decision = classifyOrder(
      input({ inventory: { bestSiteFillPct: 100, networkFillPct: 100, confidence: 'high' } }),
    );
    expect(decision).toMatchObject({ path: 'standard-single-site', reasonCodes: ['DEFAULT_STANDARD'] });
  });

  it('flags an order the whole network cannot fill, without splitting it', () => {
    const decision = classifyOrder(
      input({ inventory: { bestSiteFillPct: 40, networkFillPct: 70, confidence: 'high' } }),
    );
    expect(decision.path).toBe('standard-single-site');
    expect(decision.reasonCodes).toEqual(['DEFAULT_STANDARD', 'SHORT_ACROSS_NETWORK']);
  });

  it('sends an expedite that needs two sites down the split path rather than shipping it short', () => {
    const decision = classifyOrder(input({ serviceLevel: 'next-day', inventory: splitStock }));
    expect(decision.path).toBe('multi-site-split');
    expect(decision.reasonCodes.slice(0, 2)).toEqual(['SERVICE_LEVEL_NEXT_DAY', 'EXPEDITE_NEEDS_SPLIT']);
  });

  it('ships a loss-making expedite standard unless the customer is a key account', () => {
    const thin = classifyOrder(input({ serviceLevel: 'expedited', marginPct: 3 }));
    expect(thin.path).toBe('standard-single-site');
    expect(thin.reasonCodes).toEqual(['EXPEDITE_BLOCKED_LOW_MARGIN', 'LOW_MARGIN']);

    const keyAccount = classifyOrder(
      input({ serviceLevel: 'expedited', marginPct: 3, customerPriority: 'key-account' }),
    );
    expect(keyAccount.path).toBe('expedited');
    expect(keyAccount.reasonCodes).toEqual(['SERVICE_LEVEL_EXPEDITED', 'LOW_MARGIN', 'KEY_ACCOUNT']);
  });

  it('takes the expedite margin floor from the policy', () => {
    expect(classifyOrder(input({ serviceLevel: 'expedited', marginPct: 8 })).path).toBe('expedited');
    expect(
      classifyOrder(input({ serviceLevel: 'expedited', marginPct: 8 }), { expediteMinMarginPct: 12 }).path,
    ).toBe('standard-single-site');
  });

  it('observes a passed premium cut-off on an expedite without changing its path', () => {
    const decision = classifyOrder(
      input({ serviceLevel: 'expedited', transport: { premiumCutoffPassed: true } }),
    );
    expect(decision.path).toBe('expedited');
    expect(decision.reasonCodes).toEqual(['SERVICE_LEVEL_EXPEDITED', 'PREMIUM_CUTOFF_PASSED']);
    expect(classifyOrder(input({ transport: { premiumCutoffPassed: true } })).reasonCodes).not.toContain(
      'PREMIUM_CUTOFF_PASSED',
    );
  });

  it('keeps drop-ship first even when stock would need a split', () => {
    const decision = classifyOrder(
      input({
        lines: [{ sku: 'VENDOR-1', quantity: 1, dropShip: true }],
        inventory: splitStock,
      }),
    );
    expect(decision.path).toBe('drop-ship');
    expect(decision.reasonCodes.slice(0, 3)).toEqual([
      'ALL_LINES_VENDOR_DIRECT',
      'NO_SINGLE_SITE_FILLS',
      'NETWORK_FILLS',
    ]);
  });

  it.each([
    ['inventory.bestSiteFillPct', { bestSiteFillPct: 120, networkFillPct: 120, confidence: 'high' }],
    ['inventory.networkFillPct', { bestSiteFillPct: 80, networkFillPct: 50, confidence: 'high' }],
    ['inventory.confidence', { bestSiteFillPct: 80, networkFillPct: 90, confidence: 'maybe' }],
  ])('rejects a bad %s with a named error', (field, inventory) => {
    const error = captureError(() =>
      classifyOrder(input({ inventory: inventory as RoutingInput['inventory'] })),
    );
    expect(error).toBeInstanceOf(InvalidRoutingInput);
    expect((error as InvalidRoutingInput).field).toBe(field);
  });
});
