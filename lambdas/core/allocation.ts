import { InvalidInputError } from './errors.ts';
import { FULFILMENT_TERMS, type FulfilmentTerms, isOneOf } from './vocabulary.ts';

export interface OrderLineDemand {
  lineNo: number;
  sku: string;
  quantity: number;
}

export interface StockPosition {
  onHand: number;
  reserved: number;
  safetyStock: number;
}

export interface SiteStock {
  siteId: string;
  /** 1 = nearest to the ship-to address. */
  proximityRank: number;
  /** Relative cost to ship this order from the site. */
  shippingCost: number;
  items: Record<string, StockPosition | undefined>;
}

export interface AllocationRequest {
  lines: readonly OrderLineDemand[];
  sites: readonly SiteStock[];
  terms: FulfilmentTerms;
  preferredSiteId?: string | undefined;
}

export interface AllocatedLine {
  lineNo: number;
  sku: string;
  quantity: number;
}

export interface ShortLine {
  lineNo: number;
  sku: string;
  requested: number;
  available: number;
  shortBy: number;
}

export type AllocationReasonCode =
  | 'PREFERRED_SITE_FILLS_ORDER'
  | 'NEAREST_FULL_SITE'
  | 'BEST_PARTIAL_SITE'
  | 'SHIP_PARTIAL_TERMS'
  | 'SHIP_COMPLETE_TERMS_BLOCK_PARTIAL'
  | 'NO_STOCK_AT_ANY_SITE'
  | 'SAFETY_STOCK_PROTECTED';

export interface AllocationPlan {
  status: 'full' | 'partial' | 'backorder';
  siteId: string | null;
  allocated: AllocatedLine[];
  short: ShortLine[];
  reasonCodes: AllocationReasonCode[];
}

export class InvalidAllocationInput extends InvalidInputError {
  override name = 'InvalidAllocationInput';
}

/** Units that can be promised from a stock position: max(0, onHand - reserved - safetyStock). */
export function availableToPromise(p: StockPosition | undefined): number {
  if (p === undefined) return 0;
  return Math.max(0, p.onHand - p.reserved - p.safetyStock);
}

/** What a single site can do for the order, lines taken in lineNo order. */
interface SiteEvaluation {
  site: SiteStock;
  /** Allocated quantity per line, parallel to the lineNo-sorted lines. */
  perLine: number[];
  unitsCovered: number;
  fills: boolean;
}

function evaluateSite(site: SiteStock, lines: readonly OrderLineDemand[]): SiteEvaluation {
  const remaining = new Map<string, number>();
  const perLine: number[] = [];
  let unitsCovered = 0;
  let fills = true;
  for (const line of lines) {
    const left = remaining.get(line.sku) ?? availableToPromise(site.items[line.sku]);
    const take = Math.min(line.quantity, left);
    remaining.set(line.sku, left - take);
    perLine.push(take);
    unitsCovered += take;
    if (take < line.quantity) fills = false;
  }
  return { site, perLine, unitsCovered, fills };
}

/** Proximity, then shipping cost, then siteId (code-unit order, locale independent). */
function compareSites(a: SiteStock, b: SiteStock): number {
  if (a.proximityRank !== b.proximityRank) return a.proximityRank - b.proximityRank;
  if (a.shippingCost !== b.shippingCost) return a.shippingCost - b.shippingCost;
  if (a.siteId === b.siteId) return 0;
  return a.siteId < b.siteId ? -1 : 1;
}

/** True when, at this site, stock held back as safety stock would have covered part of a shortfall. */
function safetyStockPreventedFill(site: SiteStock, lines: readonly OrderLineDemand[]): boolean {
  const demand = new Map<string, number>();
  for (const line of lines) demand.set(line.sku, (demand.get(line.sku) ?? 0) + line.quantity);
  for (const [sku, wanted] of demand) {
    const position = site.items[sku];
    const atp = availableToPromise(position);
    if (position === undefined || atp >= wanted) continue;
    const withoutSafetyStock = Math.max(0, position.onHand - position.reserved);
    if (withoutSafetyStock > atp) return true;
  }
  return false;
}

export function requireNonNegativeFinite(field: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new InvalidAllocationInput(field, `must be a finite number >= 0 (got ${String(value)})`);
  }
}

/**
 * The checks every allocation request shares (single- or multi-site): lines, sites, terms, unique line
 * numbers and site ids, and the stock positions the order asks for. Each failure names its field.
 */
export function validateAllocationRequest(req: AllocationRequest): void {
  if (!Array.isArray(req.lines) || req.lines.length === 0) {
    throw new InvalidAllocationInput('lines', 'must contain at least one line');
  }
  if (!Array.isArray(req.sites) || req.sites.length === 0) {
    throw new InvalidAllocationInput('sites', 'must contain at least one site');
  }
  if (!isOneOf(FULFILMENT_TERMS, req.terms)) {
    throw new InvalidAllocationInput(
      'terms',
      `must be one of ${FULFILMENT_TERMS.join(', ')} (got ${String(req.terms)})`,
    );
  }

  const seenLineNos = new Map<number, number>();
  req.lines.forEach((line, i) => {
    if (!Number.isInteger(line.lineNo)) {
      throw new InvalidAllocationInput(
        `lines[${i}].lineNo`,
        `must be an integer (got ${String(line.lineNo)})`,
      );
    }
    const firstIndex = seenLineNos.get(line.lineNo);
    if (firstIndex !== undefined) {
      throw new InvalidAllocationInput(
        `lines[${i}].lineNo`,
        `must be unique (${line.lineNo} already used by lines[${firstIndex}])`,
      );
    }
    seenLineNos.set(line.lineNo, i);
    if (typeof line.sku !== 'string' || line.sku.length === 0) {
      throw new InvalidAllocationInput(`lines[${i}].sku`, 'must be a non-empty string');
    }
    if (!Number.isInteger(line.quantity) || line.quantity <= 0) {
      throw new InvalidAllocationInput(
        `lines[${i}].quantity`,
        `must be a positive integer (got ${String(line.quantity)})`,
      );
    }
  });

  const skus = new Set(req.lines.map((l) => l.sku));
  const seenSiteIds = new Map<string, number>();
  req.sites.forEach((site, i) => {
    if (typeof site.siteId !== 'string' || site.siteId.length === 0) {
      throw new InvalidAllocationInput(`sites[${i}].siteId`, 'must be a non-empty string');
    }
    const firstIndex = seenSiteIds.get(site.siteId);
    if (firstIndex !== undefined) {
      throw new InvalidAllocationInput(
        `sites[${i}].siteId`,
        `must be unique (${site.siteId} already used by sites[${firstIndex}])`,
      );
    }
    seenSiteIds.set(site.siteId, i);
    if (typeof site.proximityRank !== 'number' || !Number.isFinite(site.proximityRank)) {
      throw new InvalidAllocationInput(
        `sites[${i}].proximityRank`,
        `must be a finite number (got ${String(site.proximityRank)})`,
      );
    }
    requireNonNegativeFinite(`sites[${i}].shippingCost`, site.shippingCost);
    if (typeof site.items !== 'object' || site.items === null) {
      throw new InvalidAllocationInput(`sites[${i}].items`, 'must be an object keyed by sku');
    }
    // Only the positions the order asks for are relevant (and validated).
    for (const sku of skus) {
      const position = site.items[sku];
      if (position === undefined) continue;
      for (const key of ['onHand', 'reserved', 'safetyStock'] as const) {
        requireNonNegativeFinite(`sites[${i}].items[${JSON.stringify(sku)}].${key}`, position[key]);
      }
    }
  });
}

/**
 * Plans fulfilment of the whole order from exactly one site.
 *
 * - A site "fills" the order when available-to-promise covers every line (demand for a sku that
 *   appears on several lines is summed; lines are served in lineNo order).
 * - Preferred site wins if it fills; otherwise the nearest filling site (proximity, cost, siteId).
 * - Otherwise the site covering the most units (same tie-break) is chosen and the terms decide between
 *   a partial shipment and a backorder. With no stock anywhere the order is backordered with no site.
 *
 * Output lines are in lineNo order; the result depends only on the input, never on its ordering.
 */
export function allocateSingleSite(req: AllocationRequest): AllocationPlan {
  validateAllocationRequest(req);

  const lines = [...req.lines].sort((a, b) => a.lineNo - b.lineNo);
  const evaluations = req.sites.map((site) => evaluateSite(site, lines));
  const fullyAllocated = (): AllocatedLine[] =>
    lines.map((line) => ({ lineNo: line.lineNo, sku: line.sku, quantity: line.quantity }));

  const preferred = evaluations.find((e) => e.site.siteId === req.preferredSiteId);
  if (preferred?.fills) {
    return {
      status: 'full',
      siteId: preferred.site.siteId,
      allocated: fullyAllocated(),
      short: [],
      reasonCodes: ['PREFERRED_SITE_FILLS_ORDER'],
    };
  }

  const filling = evaluations.filter((e) => e.fills).sort((a, b) => compareSites(a.site, b.site));
  const nearestFull = filling[0];
  if (nearestFull !== undefined) {
    return {
      status: 'full',
      siteId: nearestFull.site.siteId,
      allocated: fullyAllocated(),
      short: [],
      reasonCodes: ['NEAREST_FULL_SITE'],
    };
  }

  const best = [...evaluations].sort(
    (a, b) => b.unitsCovered - a.unitsCovered || compareSites(a.site, b.site),
  )[0];
  if (best === undefined || best.unitsCovered === 0) {
    return {
      status: 'backorder',
      siteId: null,
      allocated: [],
      short: lines.map((line) => ({
        lineNo: line.lineNo,
        sku: line.sku,
        requested: line.quantity,
        available: 0,
        shortBy: line.quantity,
      })),
      reasonCodes: ['NO_STOCK_AT_ANY_SITE'],
    };
  }

  const allocated: AllocatedLine[] = [];
  const short: ShortLine[] = [];
  lines.forEach((line, i) => {
    const available = best.perLine[i] ?? 0;
    if (available > 0) allocated.push({ lineNo: line.lineNo, sku: line.sku, quantity: available });
    if (available < line.quantity) {
      short.push({
        lineNo: line.lineNo,
        sku: line.sku,
        requested: line.quantity,
        available,
        shortBy: line.quantity - available,
      });
    }
  });

  const reasonCodes: AllocationReasonCode[] = ['BEST_PARTIAL_SITE'];
  const shipPartial = req.terms === 'ship-partial';
  reasonCodes.push(shipPartial ? 'SHIP_PARTIAL_TERMS' : 'SHIP_COMPLETE_TERMS_BLOCK_PARTIAL');
  if (safetyStockPreventedFill(best.site, lines)) reasonCodes.push('SAFETY_STOCK_PROTECTED');

  return {
    status: shipPartial ? 'partial' : 'backorder',
    siteId: best.site.siteId,
    allocated: shipPartial ? allocated : [],
    short,
    reasonCodes,
  };
}
