import {
  type AllocatedLine,
  availableToPromise,
  InvalidAllocationInput,
  type OrderLineDemand,
  requireNonNegativeFinite,
  type SiteStock,
  type StockPosition,
  validateAllocationRequest,
} from './allocation.ts';
import { toCents } from './money.ts';
import type { FulfilmentTerms } from './vocabulary.ts';

export interface MultiSiteRequest {
  lines: readonly OrderLineDemand[];
  sites: readonly SiteStock[];
  terms: FulfilmentTerms;
  /** Most facilities one order may be split across; an integer >= 1. */
  maxSites: number;
  /** Wins ties between plans with the same site count and total cost. Ignored when not among `sites`. */
  preferredSiteId?: string | undefined;
  /**
   * Extra cost per shipment beyond the first, added to `totalCost`.
   * @default DEFAULT_SPLIT_PENALTY (0)
   */
  splitPenalty?: number | undefined;
}

export interface Shipment {
  siteId: string;
  /** In lineNo order. A line split across sites appears in several shipments. */
  lines: AllocatedLine[];
}

export interface MultiSiteShortLine {
  lineNo: number;
  sku: string;
  requested: number;
  allocated: number;
  shortBy: number;
}

export type MultiSiteReasonCode =
  | 'SINGLE_SITE_FILLS'
  | 'SPLIT_ACROSS_SITES'
  | 'PREFERRED_SITE_USED'
  | 'MAX_SITES_LIMIT_REACHED'
  | 'SHIP_PARTIAL_TERMS'
  | 'SHIP_COMPLETE_TERMS_BLOCK_PARTIAL'
  | 'SAFETY_STOCK_PROTECTED'
  | 'NO_STOCK_AT_ANY_SITE';

export interface MultiSitePlan {
  status: 'full' | 'partial' | 'backorder';
  /** One per site used, nearest first (proximity, then shipping cost, then siteId). */
  shipments: Shipment[];
  /** In lineNo order; empty when status is full. */
  short: MultiSiteShortLine[];
  /** In a fixed order: site count, preferred site, limit, terms, safety stock, no stock. */
  reasonCodes: MultiSiteReasonCode[];
  sitesUsed: number;
  /** Shipping cost of the sites used plus splitPenalty per shipment beyond the first; 0 when nothing ships. */
  totalCost: number;
  /** How the sites were chosen: every combination, or the greedy fallback for many stocking sites. */
  search: 'exact' | 'greedy';
}

/** Up to this many stocking sites every combination of 1..maxSites sites is tried; beyond it, greedy. */
export const EXACT_SEARCH_MAX_SITES = 12;

/**
 * Site count already comes first in the ranking, so the penalty never changes which plan wins; it makes
 * `totalCost` reflect the handling cost of each extra shipment when a caller sets it.
 */
export const DEFAULT_SPLIT_PENALTY = 0;

type Availability = (position: StockPosition | undefined) => number;

/** Stock an order could use if safety stock were released: what SAFETY_STOCK_PROTECTED compares against. */
const availableIgnoringSafetyStock: Availability = (p) =>
  p === undefined ? 0 : Math.max(0, p.onHand - p.reserved);

interface Demand {
  /** Distinct skus of the order, sorted. */
  skus: string[];
  /** Units wanted, parallel to `skus`. */
  units: number[];
  total: number;
}

interface Candidate {
  site: SiteStock;
  /** Units available, parallel to `Demand.skus`. */
  available: number[];
  costCents: number;
  preferred: boolean;
}

interface ScoredSet {
  /** In assignment order. */
  sites: Candidate[];
  unitsCovered: number;
  costCents: number;
  usesPreferred: boolean;
  proximitySum: number;
  /** Sorted ascending: the last tie-break. */
  siteIds: string[];
}

function compareText(a: string, b: string): number {
  if (a === b) return 0;
  return a < b ? -1 : 1;
}

/** Proximity, then shipping cost, then siteId (code-unit order, locale independent). */
function compareByProximity(a: SiteStock, b: SiteStock): number {
  return (
    a.proximityRank - b.proximityRank || a.shippingCost - b.shippingCost || compareText(a.siteId, b.siteId)
  );
}

/** Order in which the chosen sites are drawn on: the preferred site first, then nearest/cheapest. */
function compareForAssignment(a: Candidate, b: Candidate): number {
  return Number(b.preferred) - Number(a.preferred) || compareByProximity(a.site, b.site);
}

/** compareSets for two one-site plans covering the same units: cost, preferred, proximity, siteId. */
function compareAsSingleSite(a: Candidate, b: Candidate): number {
  return (
    a.costCents - b.costCents ||
    Number(b.preferred) - Number(a.preferred) ||
    a.site.proximityRank - b.site.proximityRank ||
    compareText(a.site.siteId, b.site.siteId)
  );
}

/** The ranking rule of the whole module, for a set of sites. Negative when `a` is the better plan. */
function compareSets(a: ScoredSet, b: ScoredSet): number {
  return (
    b.unitsCovered - a.unitsCovered ||
    a.sites.length - b.sites.length ||
    a.costCents - b.costCents ||
    Number(b.usesPreferred) - Number(a.usesPreferred) ||
    a.proximitySum - b.proximitySum ||
    compareIdLists(a.siteIds, b.siteIds)
  );
}

function compareIdLists(a: readonly string[], b: readonly string[]): number {
  for (const [i, id] of a.entries()) {
    const other = b[i];
    if (other === undefined) return 1;
    const order = compareText(id, other);
    if (order !== 0) return order;
  }
  return a.length - b.length;
}

function unitsCovered(sites: readonly Candidate[], demand: Demand): number {
  let covered = 0;
  demand.units.forEach((wanted, i) => {
    let available = 0;
    for (const c of sites) available += c.available[i] ?? 0;
    covered += Math.min(wanted, available);
  });
  return covered;
}

function scoreSet(sites: readonly Candidate[], demand: Demand, splitPenaltyCents: number): ScoredSet {
  const ordered = [...sites].sort(compareForAssignment);
  let costCents = splitPenaltyCents * (ordered.length - 1);
  let proximitySum = 0;
  for (const c of ordered) {
    costCents += c.costCents;
    proximitySum += c.site.proximityRank;
  }
  return {
    sites: ordered,
    unitsCovered: unitsCovered(ordered, demand),
    costCents,
    usesPreferred: ordered.some((c) => c.preferred),
    proximitySum,
    siteIds: ordered.map((c) => c.site.siteId).sort(compareText),
  };
}

/** Every `size`-element combination of `items`, in index order. */
function* combinations<T>(items: readonly T[], size: number, start = 0): Generator<T[]> {
  if (size === 0) {
    yield [];
    return;
  }
  for (let i = start; i <= items.length - size; i++) {
    const head = items[i] as T;
    for (const tail of combinations(items, size - 1, i + 1)) yield [head, ...tail];
  }
}

/**
 * Tries every combination of 1..maxSites sites, smallest first. The first size at which some combination
 * fills the order wins (best of that size by the ranking); if none fills within maxSites, the best
 * partial combination of any size is returned.
 */
function exactSearch(
  candidates: readonly Candidate[],
  demand: Demand,
  maxSites: number,
  splitPenaltyCents: number,
): ScoredSet | undefined {
  let bestPartial: ScoredSet | undefined;
  for (let size = 1; size <= Math.min(maxSites, candidates.length); size++) {
    let bestFull: ScoredSet | undefined;
    for (const combo of combinations(candidates, size)) {
      const scored = scoreSet(combo, demand, splitPenaltyCents);
      if (scored.unitsCovered === demand.total) {
        if (bestFull === undefined || compareSets(scored, bestFull) < 0) bestFull = scored;
      } else if (bestPartial === undefined || compareSets(scored, bestPartial) < 0) {
        bestPartial = scored;
      }
    }
    if (bestFull !== undefined) return bestFull;
  }
  return bestPartial;
}

/**
 * Greedy fallback for many stocking sites:
 * 1. if one site fills the order, the best such site (exact: linear in the site count);
 * 2. otherwise add, up to maxSites, the site that covers the most still-unfilled units (ties: cost,
 *    preferred, proximity, siteId) until the order is filled or no site adds anything;
 * 3. drop any chosen site the others have made redundant, farthest first.
 * It always respects maxSites but, unlike the exact search, may use more sites than strictly needed.
 */
function greedySearch(
  candidates: readonly Candidate[],
  demand: Demand,
  maxSites: number,
  splitPenaltyCents: number,
): ScoredSet | undefined {
  let bestSingle: ScoredSet | undefined;
  for (const c of candidates) {
    const scored = scoreSet([c], demand, splitPenaltyCents);
    if (
      scored.unitsCovered === demand.total &&
      (bestSingle === undefined || compareSets(scored, bestSingle) < 0)
    ) {
      bestSingle = scored;
    }
  }
  if (bestSingle !== undefined) return bestSingle;

  const remaining = [...demand.units];
  const chosen: Candidate[] = [];
  while (chosen.length < maxSites && remaining.some((units) => units > 0)) {
    let site: Candidate | undefined;
    let siteGain = 0;
    for (const c of candidates) {
      if (chosen.includes(c)) continue;
      const gain = remaining.reduce((sum, units, i) => sum + Math.min(units, c.available[i] ?? 0), 0);
      if (gain === 0 || gain < siteGain) continue;
      if (gain > siteGain || site === undefined || compareAsSingleSite(c, site) < 0) {
        site = c;
        siteGain = gain;
      }
    }
    if (site === undefined) break;
    chosen.push(site);
    for (const [i, units] of remaining.entries()) {
      remaining[i] = units - Math.min(units, site.available[i] ?? 0);
    }
  }

  const covered = unitsCovered(chosen, demand);
  for (const c of [...chosen].sort(compareForAssignment).reverse()) {
    const without = chosen.filter((other) => other !== c);
    if (without.length > 0 && unitsCovered(without, demand) === covered) chosen.splice(chosen.indexOf(c), 1);
  }
  return chosen.length === 0 ? undefined : scoreSet(chosen, demand, splitPenaltyCents);
}

interface SearchOutcome {
  best: ScoredSet | undefined;
  /** Units the order could get if every stocking site were used (no maxSites limit). */
  unitsAtAllSites: number;
  search: 'exact' | 'greedy';
}

function search(req: MultiSiteRequest, demand: Demand, availability: Availability): SearchOutcome {
  const splitPenaltyCents = toCents(req.splitPenalty ?? DEFAULT_SPLIT_PENALTY);
  const candidates = req.sites
    .map(
      (site): Candidate => ({
        site,
        available: demand.skus.map((sku) => availability(site.items[sku])),
        costCents: toCents(site.shippingCost),
        preferred: site.siteId === req.preferredSiteId,
      }),
    )
    .filter((c) => c.available.some((units) => units > 0))
    .sort(compareForAssignment);
  const exact = candidates.length <= EXACT_SEARCH_MAX_SITES;
  const run = exact ? exactSearch : greedySearch;
  return {
    best: run(candidates, demand, req.maxSites, splitPenaltyCents),
    unitsAtAllSites: unitsCovered(candidates, demand),
    search: exact ? 'exact' : 'greedy',
  };
}

/**
 * Draws each line, in lineNo order, from the chosen sites in assignment order, so a sku on several
 * lines shares one pool per site and the lower line number is served first.
 */
function assignLines(lines: readonly OrderLineDemand[], chosen: ScoredSet, demand: Demand) {
  const pools = chosen.sites.map((c) => new Map(demand.skus.map((sku, i) => [sku, c.available[i] ?? 0])));
  const perSite = chosen.sites.map((): AllocatedLine[] => []);
  const allocatedPerLine = lines.map((line) => {
    let needed = line.quantity;
    pools.forEach((pool, s) => {
      const left = pool.get(line.sku) ?? 0;
      const take = Math.min(needed, left);
      if (take === 0) return;
      pool.set(line.sku, left - take);
      needed -= take;
      perSite[s]?.push({ lineNo: line.lineNo, sku: line.sku, quantity: take });
    });
    return line.quantity - needed;
  });
  const shipments = chosen.sites
    .map((c, s) => ({ candidate: c, lines: perSite[s] ?? [] }))
    .filter((entry) => entry.lines.length > 0)
    .sort((a, b) => compareByProximity(a.candidate.site, b.candidate.site));
  return { shipments, allocatedPerLine };
}

function validate(req: MultiSiteRequest): void {
  validateAllocationRequest(req);
  if (!Number.isInteger(req.maxSites) || req.maxSites < 1) {
    throw new InvalidAllocationInput('maxSites', `must be an integer >= 1 (got ${String(req.maxSites)})`);
  }
  if (req.splitPenalty !== undefined) requireNonNegativeFinite('splitPenalty', req.splitPenalty);
  if (
    req.preferredSiteId !== undefined &&
    (typeof req.preferredSiteId !== 'string' || req.preferredSiteId.length === 0)
  ) {
    throw new InvalidAllocationInput('preferredSiteId', 'must be a non-empty string when given');
  }
}

/**
 * Plans fulfilment of an order from up to `maxSites` facilities, splitting a line across sites when needed.
 *
 * - Availability per site is availableToPromise (safety stock is never promised); a sku on several lines
 *   draws on one pool per site, lower lineNo first.
 * - Plans are ranked: most units covered (a full plan first), then fewest sites (one shipment beats a
 *   cheaper split), then lowest total cost (shipping costs + splitPenalty per extra site), then the plan
 *   that uses the preferred site, then the lowest sum of proximity ranks, then siteIds.
 * - With at most EXACT_SEARCH_MAX_SITES sites that stock anything the order needs, every combination of
 *   1..maxSites of them is tried; with more, a greedy search (see greedySearch) that still honours maxSites.
 * - Within the chosen sites, quantities come from the preferred site first, then the nearest/cheapest.
 * - Not fillable within maxSites: ship-partial ships the best partial plan; ship-complete allocates nothing.
 *
 * The result depends only on the input, never on the order of its lines or sites.
 */
export function allocateAcrossSites(req: MultiSiteRequest): MultiSitePlan {
  validate(req);

  const lines = [...req.lines].sort((a, b) => a.lineNo - b.lineNo);
  const wanted = new Map<string, number>();
  for (const line of lines) wanted.set(line.sku, (wanted.get(line.sku) ?? 0) + line.quantity);
  const skus = [...wanted.keys()].sort(compareText);
  const units = skus.map((sku) => wanted.get(sku) ?? 0);
  const demand: Demand = { skus, units, total: units.reduce((sum, u) => sum + u, 0) };

  const outcome = search(req, demand, availableToPromise);
  const { best } = outcome;
  const full = best !== undefined && best.unitsCovered === demand.total;
  const shipPartial = req.terms === 'ship-partial';
  const ships = best !== undefined && (full || shipPartial);

  const assignment = ships ? assignLines(lines, best, demand) : undefined;
  const shipments: Shipment[] = (assignment?.shipments ?? []).map((entry) => ({
    siteId: entry.candidate.site.siteId,
    lines: entry.lines,
  }));
  const short: MultiSiteShortLine[] = [];
  lines.forEach((line, i) => {
    const allocated = assignment?.allocatedPerLine[i] ?? 0;
    if (allocated < line.quantity) {
      short.push({
        lineNo: line.lineNo,
        sku: line.sku,
        requested: line.quantity,
        allocated,
        shortBy: line.quantity - allocated,
      });
    }
  });

  const used = assignment?.shipments.map((entry) => entry.candidate) ?? [];
  const splitPenaltyCents = toCents(req.splitPenalty ?? DEFAULT_SPLIT_PENALTY);
  const totalCostCents =
    used.length === 0
      ? 0
      : used.reduce((sum, c) => sum + c.costCents, 0) + splitPenaltyCents * (used.length - 1);

  const reasonCodes: MultiSiteReasonCode[] = [];
  if (full && used.length === 1) reasonCodes.push('SINGLE_SITE_FILLS');
  if (used.length > 1) reasonCodes.push('SPLIT_ACROSS_SITES');
  if (used.some((c) => c.preferred)) reasonCodes.push('PREFERRED_SITE_USED');
  if (best !== undefined && !full) {
    if (best.unitsCovered < outcome.unitsAtAllSites) reasonCodes.push('MAX_SITES_LIMIT_REACHED');
    reasonCodes.push(shipPartial ? 'SHIP_PARTIAL_TERMS' : 'SHIP_COMPLETE_TERMS_BLOCK_PARTIAL');
  }
  if (!full) {
    // Would the same search have covered more units if safety stock were released?
    const withoutSafetyStock = search(req, demand, availableIgnoringSafetyStock).best;
    if ((withoutSafetyStock?.unitsCovered ?? 0) > (best?.unitsCovered ?? 0)) {
      reasonCodes.push('SAFETY_STOCK_PROTECTED');
    }
  }
  if (best === undefined) reasonCodes.push('NO_STOCK_AT_ANY_SITE');

  return {
    status: full ? 'full' : ships ? 'partial' : 'backorder',
    shipments,
    short,
    reasonCodes,
    sitesUsed: shipments.length,
    totalCost: totalCostCents / 100,
    search: outcome.search,
  };
}
