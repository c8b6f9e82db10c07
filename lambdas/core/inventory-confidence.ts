import type { OrderLineDemand, SiteStock } from './allocation.ts';
import { allocateAcrossSites } from './multi-site-allocation.ts';
import type { InventoryConfidence } from './routing.ts';

/** The most facilities one order is split across unless the distributor configures otherwise. */
export const DEFAULT_MAX_SPLIT_SITES = 3;

function fillPct(lines: readonly OrderLineDemand[], sites: readonly SiteStock[], maxSites: number): number {
  const ordered = lines.reduce((sum, line) => sum + line.quantity, 0);
  if (ordered === 0 || sites.length === 0) return 0;
  const plan = allocateAcrossSites({ lines, sites, terms: 'ship-partial', maxSites });
  const covered = plan.shipments.reduce(
    (sum, shipment) => sum + shipment.lines.reduce((s, line) => s + line.quantity, 0),
    0,
  );
  // Floor, so 99.9% never reads as a full fill.
  return Math.floor((covered / ordered) * 1000) / 10;
}

/**
 * What a live stock snapshot says about filling an order, for the router: the best single facility's fill
 * and the network's fill within the split limit, in available-to-promise units (safety stock held back).
 * `stale` marks a snapshot the WMS flagged as not current (a cycle count is open, a feed is behind).
 */
export function inventoryConfidence(
  lines: readonly OrderLineDemand[],
  sites: readonly SiteStock[],
  options: { maxSites?: number; stale?: boolean } = {},
): InventoryConfidence {
  const bestSiteFillPct = fillPct(lines, sites, 1);
  const networkFillPct = Math.max(
    bestSiteFillPct,
    fillPct(lines, sites, options.maxSites ?? DEFAULT_MAX_SPLIT_SITES),
  );
  return { bestSiteFillPct, networkFillPct, confidence: options.stale ? 'low' : 'high' };
}
