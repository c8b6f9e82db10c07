import { describe, expect, it } from 'vitest';
import type { SiteStock } from '../../../lambdas/core/allocation.ts';
import { inventoryConfidence } from '../../../lambdas/core/inventory-confidence.ts';

const site = (siteId: string, rank: number, stock: Record<string, number>): SiteStock => ({
  siteId,
  proximityRank: rank,
  shippingCost: rank * 10,
  items: Object.fromEntries(
    Object.entries(stock).map(([sku, onHand]) => [sku, { onHand, reserved: 0, safetyStock: 0 }]),
  ),
});

const lines = [
  { lineNo: 1, sku: 'PUMP', quantity: 10 },
  { lineNo: 2, sku: 'VALVE', quantity: 10 },
];

describe('inventoryConfidence', () => {
  it('reports a full fill at one site', () => {
    expect(inventoryConfidence(lines, [site('A', 1, { PUMP: 10, VALVE: 10 })])).toEqual({
      bestSiteFillPct: 100,
      networkFillPct: 100,
      confidence: 'high',
    });
  });

  it('sees that two sites fill what neither fills alone', () => {
    const sites = [site('A', 1, { PUMP: 10 }), site('B', 2, { VALVE: 10 })];
    expect(inventoryConfidence(lines, sites)).toMatchObject({ bestSiteFillPct: 50, networkFillPct: 100 });
  });

  it('counts only the split limit: three sites needed, two allowed', () => {
    const three = [
      { lineNo: 1, sku: 'A', quantity: 1 },
      { lineNo: 2, sku: 'B', quantity: 1 },
      { lineNo: 3, sku: 'C', quantity: 1 },
    ];
    const sites = [site('X', 1, { A: 1 }), site('Y', 2, { B: 1 }), site('Z', 3, { C: 1 })];
    expect(inventoryConfidence(three, sites, { maxSites: 2 }).networkFillPct).toBe(66.6);
    expect(inventoryConfidence(three, sites, { maxSites: 3 }).networkFillPct).toBe(100);
  });

  it('holds safety stock back', () => {
    const held: SiteStock = {
      siteId: 'A',
      proximityRank: 1,
      shippingCost: 1,
      items: {
        PUMP: { onHand: 10, reserved: 0, safetyStock: 5 },
        VALVE: { onHand: 10, reserved: 0, safetyStock: 0 },
      },
    };
    expect(inventoryConfidence(lines, [held]).bestSiteFillPct).toBe(75);
  });

  it('is low confidence on a stale snapshot, and zero with no sites', () => {
    expect(inventoryConfidence(lines, [], { stale: true })).toEqual({
      bestSiteFillPct: 0,
      networkFillPct: 0,
      confidence: 'low',
    });
  });
});
