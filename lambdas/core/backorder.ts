import { availableToPromise, type ShortLine, type StockPosition } from './allocation.ts';
import { InvalidInputError } from './errors.ts';
import { isRealDate, parseInstant as parseInstantOf } from './time.ts';
import { isOneOf } from './vocabulary.ts';

export const AGED_BACKORDER_ACTIONS = ['cancel', 'notify-and-keep'] as const;
export type AgedBackorderAction = (typeof AGED_BACKORDER_ACTIONS)[number];

export const BACKORDER_STATUSES = ['open', 'filled', 'cancelled'] as const;
export type BackorderStatus = (typeof BACKORDER_STATUSES)[number];

/** Per-customer backorder rule. */
export interface BackorderRule {
  /** Whole days a backorder may stay open before the ageing sweep acts on it; at least 1. */
  maxAgeDays: number;
  /** What the ageing sweep does once a backorder is past `cancelAfter`. */
  onAged: AgedBackorderAction;
  /** When false a backorder is only ever filled completely, in one go. */
  allowPartialFill: boolean;
  /**
   * Smallest partial fill worth shipping. A fill that completes the backorder is always allowed, even
   * below this. Default 1.
   */
  minFillQuantity?: number | undefined;
}

export interface BackorderLine {
  /** `${orderId}-BO-${lineNo}`: one backorder per order line, so a redelivery creates nothing new. */
  backorderId: string;
  orderId: string;
  lineNo: number;
  sku: string;
  /** Units still outstanding. */
  quantity: number;
  /** ISO instant (UTC). */
  createdAt: string;
  status: BackorderStatus;
  /** ISO instant (UTC): createdAt + rule.maxAgeDays. Fixed at creation; the backorder is aged from then on. */
  cancelAfter: string;
  /** ISO instant at which the customer was told the backorder aged out; set once, never re-flagged. */
  notifiedAt?: string | undefined;
}

export interface CreateBackordersInput {
  orderId: string;
  /** Allocation's short lines fit as they are; only lineNo, sku and shortBy are read. */
  shortLines: readonly Pick<ShortLine, 'lineNo' | 'sku' | 'shortBy'>[];
  /** ISO 8601 datetime with a zone designator. */
  createdAt: string;
  rule: BackorderRule;
}

export interface InventoryReceipt {
  sku: string;
  siteId: string;
  quantity: number;
}

export interface BackorderPriority {
  /** Higher is served first (see priority.ts). */
  priorityScore: number;
  /** YYYY-MM-DD: the date promised to the customer; earlier is served first. */
  promiseDate: string;
}

export interface ReevaluateBackordersInput {
  received: InventoryReceipt;
  /** Open backorders for the received sku, from any order. */
  backorders: readonly BackorderLine[];
  /** Stock position of the received sku at each site, after the receipt was booked. */
  positions: Readonly<Record<string, StockPosition | undefined>>;
  /** Keyed by orderId. */
  rules: Readonly<Record<string, BackorderRule | undefined>>;
  /** Keyed by orderId. */
  priorities: Readonly<Record<string, BackorderPriority | undefined>>;
  /** ISO 8601 datetime with a zone designator. */
  now: string;
}

export interface BackorderFill {
  backorderId: string;
  orderId: string;
  lineNo: number;
  sku: string;
  siteId: string;
  quantity: number;
  /** True when this fill covers everything the backorder was still waiting for. */
  complete: boolean;
  /** Units still outstanding after this fill (0 when complete). */
  remaining: number;
}

export type BackorderReasonCode =
  | 'FILLED_COMPLETE'
  | 'FILLED_PARTIAL'
  | 'AGED_OUT'
  | 'NO_STOCK_AVAILABLE'
  | 'PARTIAL_FILL_NOT_ALLOWED'
  | 'BELOW_MIN_FILL_QUANTITY'
  | 'SAFETY_STOCK_PROTECTED';

export interface BackorderReevaluation {
  /** In the order the backorders were served. */
  fills: BackorderFill[];
  /** Backorders not completely filled (including aged ones, left for the sweep), in service order. */
  stillOpen: string[];
  /** Keyed by backorderId; every input backorder has an entry. */
  reasonCodes: Record<string, BackorderReasonCode[]>;
}

export interface SweepEntry<Reason extends string> {
  backorderId: string;
  orderId: string;
  cancelAfter: string;
  reason: Reason;
}

export interface BackorderSweep {
  /** Aged, and the customer's rule cancels aged backorders. */
  cancel: SweepEntry<'AGED_OUT'>[];
  /** Aged, the rule keeps it open, and the customer has not been told yet: persist `notifiedAt`. */
  notify: (SweepEntry<'AGED_OUT'> & { notifiedAt: string })[];
  /** Stays open with nothing to do: not aged yet, or aged and already notified. */
  keep: SweepEntry<'NOT_YET_AGED' | 'AGED_OUT_ALREADY_NOTIFIED'>[];
}

export class InvalidBackorderInput extends InvalidInputError {
  override name = 'InvalidBackorderInput';
}

const MS_PER_DAY = 86_400_000;
const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

export function backorderIdFor(orderId: string, lineNo: number): string {
  return `${orderId}-BO-${lineNo}`;
}

function parseInstant(field: string, value: unknown): number {
  return parseInstantOf(field, value, (f, rule) => new InvalidBackorderInput(f, rule));
}

/** Days since the Unix epoch for a YYYY-MM-DD calendar date. */
function parseCalendarDate(field: string, value: unknown): number {
  const m = typeof value === 'string' ? DATE_RE.exec(value) : null;
  if (m === null) {
    throw new InvalidBackorderInput(field, `must be a date in YYYY-MM-DD format (got ${String(value)})`);
  }
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (!isRealDate(year, month, day)) {
    throw new InvalidBackorderInput(field, `must be a real calendar date (got ${String(value)})`);
  }
  return Date.UTC(year, month - 1, day) / MS_PER_DAY;
}

function requireText(field: string, value: unknown): asserts value is string {
  if (typeof value !== 'string' || value.trim().length === 0) {
    throw new InvalidBackorderInput(field, 'must be a non-empty string');
  }
}

function requireInteger(field: string, value: unknown, min: number): asserts value is number {
  if (!Number.isInteger(value) || (value as number) < min) {
    const rule = min === 1 ? 'must be a positive integer' : `must be an integer >= ${min}`;
    throw new InvalidBackorderInput(field, `${rule} (got ${String(value)})`);
  }
}

function key(id: string): string {
  return `[${JSON.stringify(id)}]`;
}

/** Own-property lookup, so an id such as "constructor" never resolves to something inherited. */
function lookup<T>(record: Readonly<Record<string, T | undefined>>, id: string): T | undefined {
  return Object.hasOwn(record, id) ? record[id] : undefined;
}

function validateRule(field: string, rule: unknown): asserts rule is BackorderRule {
  if (typeof rule !== 'object' || rule === null) {
    throw new InvalidBackorderInput(field, 'must be a backorder rule object');
  }
  const r = rule as Partial<Record<keyof BackorderRule, unknown>>;
  requireInteger(`${field}.maxAgeDays`, r.maxAgeDays, 1);
  if (!isOneOf(AGED_BACKORDER_ACTIONS, r.onAged)) {
    throw new InvalidBackorderInput(
      `${field}.onAged`,
      `must be one of ${AGED_BACKORDER_ACTIONS.join(', ')} (got ${String(r.onAged)})`,
    );
  }
  if (typeof r.allowPartialFill !== 'boolean') {
    throw new InvalidBackorderInput(`${field}.allowPartialFill`, 'must be a boolean');
  }
  if (r.minFillQuantity !== undefined) requireInteger(`${field}.minFillQuantity`, r.minFillQuantity, 1);
}

function ruleFor(rules: Readonly<Record<string, BackorderRule | undefined>>, orderId: string): BackorderRule {
  const field = `rules${key(orderId)}`;
  const rule = lookup(rules, orderId);
  if (rule === undefined) {
    throw new InvalidBackorderInput(
      field,
      `must be defined for every backorder's order (none for ${orderId})`,
    );
  }
  validateRule(field, rule);
  return rule;
}

/** A stored backorder, parsed: the instants it is compared on. */
interface ParsedBackorder {
  line: BackorderLine;
  createdAtMs: number;
  cancelAfterMs: number;
}

function parseBackorders(backorders: readonly BackorderLine[], sku?: string): ParsedBackorder[] {
  if (!Array.isArray(backorders)) throw new InvalidBackorderInput('backorders', 'must be an array');
  const seen = new Map<string, number>();
  return backorders.map((line, i) => {
    const field = `backorders[${i}]`;
    requireText(`${field}.backorderId`, line.backorderId);
    const firstIndex = seen.get(line.backorderId);
    if (firstIndex !== undefined) {
      throw new InvalidBackorderInput(
        `${field}.backorderId`,
        `must be unique (${line.backorderId} already used by backorders[${firstIndex}])`,
      );
    }
    seen.set(line.backorderId, i);
    requireText(`${field}.orderId`, line.orderId);
    requireInteger(`${field}.lineNo`, line.lineNo, 1);
    requireText(`${field}.sku`, line.sku);
    if (sku !== undefined && line.sku !== sku) {
      throw new InvalidBackorderInput(`${field}.sku`, `must be the received sku ${sku} (got ${line.sku})`);
    }
    requireInteger(`${field}.quantity`, line.quantity, 1);
    if (line.status !== 'open') {
      throw new InvalidBackorderInput(`${field}.status`, `must be open (got ${String(line.status)})`);
    }
    const createdAtMs = parseInstant(`${field}.createdAt`, line.createdAt);
    const cancelAfterMs = parseInstant(`${field}.cancelAfter`, line.cancelAfter);
    if (line.notifiedAt !== undefined) parseInstant(`${field}.notifiedAt`, line.notifiedAt);
    return { line, createdAtMs, cancelAfterMs };
  });
}

/**
 * Turns the short lines of an allocation into open backorder lines, one per order line.
 *
 * Ids are `${orderId}-BO-${lineNo}`, so processing the same shortage twice yields the same lines and
 * the store's conditional put turns the second into a no-op. `createdAt` is normalised to UTC and
 * `cancelAfter` is exactly `maxAgeDays` x 24 h later. Output is in lineNo order.
 */
export function createBackorderLines(input: CreateBackordersInput): BackorderLine[] {
  requireText('orderId', input.orderId);
  const createdAtMs = parseInstant('createdAt', input.createdAt);
  validateRule('rule', input.rule);
  if (!Array.isArray(input.shortLines) || input.shortLines.length === 0) {
    throw new InvalidBackorderInput('shortLines', 'must contain at least one line');
  }
  const seenLineNos = new Map<number, number>();
  input.shortLines.forEach((line, i) => {
    requireInteger(`shortLines[${i}].lineNo`, line.lineNo, 1);
    const firstIndex = seenLineNos.get(line.lineNo);
    if (firstIndex !== undefined) {
      throw new InvalidBackorderInput(
        `shortLines[${i}].lineNo`,
        `must be unique (${line.lineNo} already used by shortLines[${firstIndex}])`,
      );
    }
    seenLineNos.set(line.lineNo, i);
    requireText(`shortLines[${i}].sku`, line.sku);
    requireInteger(`shortLines[${i}].shortBy`, line.shortBy, 1);
  });

  const createdAt = new Date(createdAtMs).toISOString();
  const cancelAfter = new Date(createdAtMs + input.rule.maxAgeDays * MS_PER_DAY).toISOString();
  return [...input.shortLines]
    .sort((a, b) => a.lineNo - b.lineNo)
    .map(
      (line): BackorderLine => ({
        backorderId: backorderIdFor(input.orderId, line.lineNo),
        orderId: input.orderId,
        lineNo: line.lineNo,
        sku: line.sku,
        quantity: line.shortBy,
        createdAt,
        status: 'open',
        cancelAfter,
      }),
    );
}

interface SiteSupply {
  siteId: string;
  /** Available-to-promise still unallocated in this evaluation. */
  atp: number;
  /** Units physically free (on hand - reserved) but held back as safety stock. */
  heldAsSafetyStock: number;
}

function validatePositions(positions: ReevaluateBackordersInput['positions']): SiteSupply[] {
  if (typeof positions !== 'object' || positions === null) {
    throw new InvalidBackorderInput('positions', 'must be an object keyed by siteId');
  }
  const sites: SiteSupply[] = [];
  for (const [siteId, position] of Object.entries(positions)) {
    if (position === undefined) continue;
    for (const k of ['onHand', 'reserved', 'safetyStock'] as const) {
      requireInteger(`positions${key(siteId)}.${k}`, position[k], 0);
    }
    const atp = availableToPromise(position);
    sites.push({ siteId, atp, heldAsSafetyStock: Math.max(0, position.onHand - position.reserved) - atp });
  }
  return sites;
}

/**
 * Re-evaluates the open backorders of one sku when stock is received (inventory.received).
 *
 * - Supply is available-to-promise at every site (safety stock respected), never more; the receiving
 *   site is drawn from first, then the others in siteId order.
 * - Backorders are served by priorityScore desc, promiseDate asc, createdAt asc, backorderId.
 * - Each backorder is filled from one site in this pass: the first site that covers it completely,
 *   otherwise (partial fill allowed) the site with the most supply, provided the fill reaches the rule's
 *   minFillQuantity. A complete-only backorder that cannot be covered is skipped and the supply moves
 *   on to the next backorder rather than sitting idle; ageing bounds how long that can go on.
 * - Backorders already past cancelAfter are not filled [AGED_OUT]: the ageing sweep owns them.
 */
export function reevaluateBackorders(input: ReevaluateBackordersInput): BackorderReevaluation {
  const { received } = input;
  if (typeof received !== 'object' || received === null) {
    throw new InvalidBackorderInput('received', 'must be an inventory receipt');
  }
  requireText('received.sku', received.sku);
  requireText('received.siteId', received.siteId);
  requireInteger('received.quantity', received.quantity, 1);
  const nowMs = parseInstant('now', input.now);
  const parsed = parseBackorders(input.backorders, received.sku);
  const sites = validatePositions(input.positions).sort((a, b) => {
    if (a.siteId === b.siteId) return 0;
    if (a.siteId === received.siteId) return -1;
    if (b.siteId === received.siteId) return 1;
    return a.siteId < b.siteId ? -1 : 1;
  });

  const queue = parsed.map((entry) => {
    const { orderId } = entry.line;
    const rule = ruleFor(input.rules, orderId);
    const field = `priorities${key(orderId)}`;
    const priority = lookup(input.priorities, orderId);
    if (priority === undefined) {
      throw new InvalidBackorderInput(
        field,
        `must be defined for every backorder's order (none for ${orderId})`,
      );
    }
    if (typeof priority.priorityScore !== 'number' || !Number.isFinite(priority.priorityScore)) {
      throw new InvalidBackorderInput(
        `${field}.priorityScore`,
        `must be a finite number (got ${String(priority.priorityScore)})`,
      );
    }
    const promiseDay = parseCalendarDate(`${field}.promiseDate`, priority.promiseDate);
    return { ...entry, rule, score: priority.priorityScore, promiseDay };
  });
  queue.sort(
    (a, b) =>
      b.score - a.score ||
      a.promiseDay - b.promiseDay ||
      a.createdAtMs - b.createdAtMs ||
      (a.line.backorderId < b.line.backorderId ? -1 : a.line.backorderId > b.line.backorderId ? 1 : 0),
  );

  const fills: BackorderFill[] = [];
  const stillOpen: string[] = [];
  const reasons: [string, BackorderReasonCode[]][] = [];

  for (const { line, rule, cancelAfterMs } of queue) {
    const fill = (site: SiteSupply, quantity: number): void => {
      site.atp -= quantity;
      fills.push({
        backorderId: line.backorderId,
        orderId: line.orderId,
        lineNo: line.lineNo,
        sku: line.sku,
        siteId: site.siteId,
        quantity,
        complete: quantity === line.quantity,
        remaining: line.quantity - quantity,
      });
    };

    if (nowMs >= cancelAfterMs) {
      stillOpen.push(line.backorderId);
      reasons.push([line.backorderId, ['AGED_OUT']]);
      continue;
    }

    const covering = sites.find((s) => s.atp >= line.quantity);
    if (covering !== undefined) {
      fill(covering, line.quantity);
      reasons.push([line.backorderId, ['FILLED_COMPLETE']]);
      continue;
    }

    let best: SiteSupply | undefined;
    for (const s of sites) if (s.atp > (best?.atp ?? 0)) best = s;
    const available = best?.atp ?? 0;
    // Some site would have offered more than the best available-to-promise had safety stock been released.
    const safetyStockProtected = sites.some(
      (s) => s.heldAsSafetyStock > 0 && s.atp + s.heldAsSafetyStock > available,
    );
    const codes: BackorderReasonCode[] = [];
    if (best === undefined) codes.push('NO_STOCK_AVAILABLE');
    else if (!rule.allowPartialFill) codes.push('PARTIAL_FILL_NOT_ALLOWED');
    else if (available < (rule.minFillQuantity ?? 1)) codes.push('BELOW_MIN_FILL_QUANTITY');
    else {
      fill(best, available);
      codes.push('FILLED_PARTIAL');
    }
    if (safetyStockProtected) codes.push('SAFETY_STOCK_PROTECTED');
    stillOpen.push(line.backorderId);
    reasons.push([line.backorderId, codes]);
  }

  return { fills, stillOpen, reasonCodes: Object.fromEntries(reasons) };
}

/**
 * The ageing sweep: sorts open backorders into cancel / notify / keep (each appears in exactly one list).
 *
 * A backorder is aged when now >= its cancelAfter. The customer's rule decides: 'cancel' cancels it;
 * 'notify-and-keep' keeps it open and flags one notification; once `notifiedAt` is set it is never
 * flagged again. Lists are ordered by cancelAfter, then backorderId.
 */
export function sweepAgedBackorders(
  backorders: readonly BackorderLine[],
  rules: Readonly<Record<string, BackorderRule | undefined>>,
  now: string,
): BackorderSweep {
  const nowMs = parseInstant('now', now);
  const notifiedAt = new Date(nowMs).toISOString();
  const parsed = parseBackorders(backorders).sort(
    (a, b) =>
      a.cancelAfterMs - b.cancelAfterMs ||
      (a.line.backorderId < b.line.backorderId ? -1 : a.line.backorderId > b.line.backorderId ? 1 : 0),
  );
  const sweep: BackorderSweep = { cancel: [], notify: [], keep: [] };
  for (const { line, cancelAfterMs } of parsed) {
    const rule = ruleFor(rules, line.orderId);
    const entry = { backorderId: line.backorderId, orderId: line.orderId, cancelAfter: line.cancelAfter };
    if (nowMs < cancelAfterMs) sweep.keep.push({ ...entry, reason: 'NOT_YET_AGED' });
    else if (rule.onAged === 'cancel') sweep.cancel.push({ ...entry, reason: 'AGED_OUT' });
    else if (line.notifiedAt === undefined) sweep.notify.push({ ...entry, reason: 'AGED_OUT', notifiedAt });
    else sweep.keep.push({ ...entry, reason: 'AGED_OUT_ALREADY_NOTIFIED' });
  }
  return sweep;
}
