import { InvalidInputError } from './errors.ts';
import {
  CUSTOMER_PRIORITIES,
  type CustomerPriority,
  isOneOf,
  SERVICE_LEVELS,
  type ServiceLevel,
} from './vocabulary.ts';

/** An order already released to the warehouse, waiting to be put in a pick wave. */
export interface WaveCandidate {
  orderId: string;
  siteId: string;
  carrier: string;
  serviceLevel: ServiceLevel;
  /** YYYY-MM-DD. */
  promiseDate: string;
  customerPriority: CustomerPriority;
  /**
   * The release decision's 0..1000 score. Validated and carried, but not an ordering key: the wave order is
   * spelled out key by key (see planWaves) so that a supervisor can explain why one order is ahead of another.
   */
  priorityScore: number;
  /** ISO 8601 datetime with a zone designator: this order's carrier cut-off at its site. */
  carrierCutoff: string;
  lineCount: number;
}

export interface WavePolicy {
  maxOrdersPerWave: number;
  /** An order with more lines than this is not split: it gets a wave of its own (see Wave.oversized). */
  maxLinesPerWave: number;
  waveIntervalMinutes: number;
  /** Minutes a wave needs from release to being on the dock, ready for the carrier. */
  pickLeadMinutes: number;
}

export interface WavePlanInput {
  orders: readonly WaveCandidate[];
  /** ISO 8601 datetime with a zone designator; the first wave of every site releases at this instant. */
  now: string;
  policy: WavePolicy;
}

export interface Wave {
  /** `${siteId}-${releaseAt as YYYYMMDDTHHMMSSZ}-${n}`, n = 1-based wave number at the site. */
  waveId: string;
  siteId: string;
  /** ISO instant (UTC): now + (n - 1) × waveIntervalMinutes. */
  releaseAt: string;
  /** In priority order (service level, promise date, customer priority, cut-off, orderId). */
  orderIds: string[];
  lineCount: number;
  /** Distinct carriers, sorted. */
  carriers: string[];
  /** Orders in this wave for which releaseAt + pickLead is after their carrier cut-off. */
  cutoffRisk: string[];
  /** True when the wave holds a single order with more lines than maxLinesPerWave. */
  oversized: boolean;
}

export type WaveRiskReason =
  /** now + pickLead is already after the cut-off: no wave can make it. */
  | 'CUTOFF_BEFORE_FIRST_WAVE'
  /** A wave could have made it, but every such wave is full of orders that also need it. */
  | 'NO_WAVE_CAPACITY_BEFORE_CUTOFF';

export interface WaveRisk {
  orderId: string;
  siteId: string;
  waveId: string;
  reason: WaveRiskReason;
}

export interface WavePlan {
  /** Sorted by siteId, then release time. */
  waves: Wave[];
  /** Every order that will miss its carrier cut-off, in wave order. */
  atRisk: WaveRisk[];
  /**
   * Orders that make their cut-off only because they were planned in an earlier wave than priority order
   * alone gives them, in wave order.
   */
  pulledForward: string[];
}

export class InvalidWavePlanInput extends InvalidInputError {
  override name = 'InvalidWavePlanInput';
}

const MS_PER_MINUTE = 60_000;
const SERVICE_LEVEL_RANK: Readonly<Record<ServiceLevel, number>> = {
  'next-day': 0,
  expedited: 1,
  standard: 2,
  economy: 3,
};
const CUSTOMER_PRIORITY_RANK: Readonly<Record<CustomerPriority, number>> = {
  'key-account': 0,
  preferred: 1,
  standard: 2,
};
const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const ISO_INSTANT_RE =
  /^(\d{4})-(\d{2})-(\d{2})T(?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d{1,9})?)?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)$/;

function isCalendarDate(m: RegExpExecArray): boolean {
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  return (
    year >= 1900 &&
    month >= 1 &&
    month <= 12 &&
    day >= 1 &&
    day <= new Date(Date.UTC(year, month, 0)).getUTCDate()
  );
}

/** Epoch ms; Date.parse alone would accept 2025-02-30 and zone-less (local, ambiguous) times. */
function parseInstant(field: string, value: unknown): number {
  const m = typeof value === 'string' ? ISO_INSTANT_RE.exec(value) : null;
  if (m === null || !isCalendarDate(m)) {
    throw new InvalidWavePlanInput(
      field,
      `must be an ISO 8601 datetime with a zone designator, e.g. 2025-03-10T09:30:00Z (got ${String(value)})`,
    );
  }
  return Date.parse(m[0]);
}

function requireDate(field: string, value: unknown): void {
  const m = typeof value === 'string' ? DATE_RE.exec(value) : null;
  if (m === null || !isCalendarDate(m)) {
    throw new InvalidWavePlanInput(
      field,
      `must be a real calendar date in YYYY-MM-DD format (got ${String(value)})`,
    );
  }
}

function requireInteger(field: string, value: unknown, min: number): void {
  if (!Number.isInteger(value) || (value as number) < min) {
    throw new InvalidWavePlanInput(field, `must be an integer >= ${min} (got ${String(value)})`);
  }
}

function requireText(field: string, value: unknown): void {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new InvalidWavePlanInput(field, 'must be a non-empty string');
  }
}

/** A candidate with its parsed cut-off and the last wave index that still makes it (negative: none). */
interface Planned {
  order: WaveCandidate;
  cutoffMs: number;
  deadlineWave: number;
}

function validatePolicy(policy: WavePolicy): void {
  if (typeof policy !== 'object' || policy === null) throw new InvalidWavePlanInput('policy', 'is required');
  requireInteger('policy.maxOrdersPerWave', policy.maxOrdersPerWave, 1);
  requireInteger('policy.maxLinesPerWave', policy.maxLinesPerWave, 1);
  requireInteger('policy.waveIntervalMinutes', policy.waveIntervalMinutes, 1);
  requireInteger('policy.pickLeadMinutes', policy.pickLeadMinutes, 0);
}

function prepare(input: WavePlanInput, nowMs: number): Planned[] {
  if (!Array.isArray(input.orders)) throw new InvalidWavePlanInput('orders', 'must be an array');
  const { waveIntervalMinutes, pickLeadMinutes } = input.policy;
  const seen = new Set<string>();
  return input.orders.map((order: WaveCandidate | null, i) => {
    const at = `orders[${i}]`;
    if (typeof order !== 'object' || order === null) throw new InvalidWavePlanInput(at, 'must be an object');
    requireText(`${at}.orderId`, order.orderId);
    if (seen.has(order.orderId)) {
      throw new InvalidWavePlanInput(`${at}.orderId`, `must be unique (${order.orderId} appears twice)`);
    }
    seen.add(order.orderId);
    requireText(`${at}.siteId`, order.siteId);
    requireText(`${at}.carrier`, order.carrier);
    if (!isOneOf(SERVICE_LEVELS, order.serviceLevel)) {
      throw new InvalidWavePlanInput(
        `${at}.serviceLevel`,
        `must be one of ${SERVICE_LEVELS.join(', ')} (got ${String(order.serviceLevel)})`,
      );
    }
    requireDate(`${at}.promiseDate`, order.promiseDate);
    if (!isOneOf(CUSTOMER_PRIORITIES, order.customerPriority)) {
      throw new InvalidWavePlanInput(
        `${at}.customerPriority`,
        `must be one of ${CUSTOMER_PRIORITIES.join(', ')} (got ${String(order.customerPriority)})`,
      );
    }
    if (typeof order.priorityScore !== 'number' || !Number.isFinite(order.priorityScore)) {
      throw new InvalidWavePlanInput(
        `${at}.priorityScore`,
        `must be a finite number (got ${String(order.priorityScore)})`,
      );
    }
    const cutoffMs = parseInstant(`${at}.carrierCutoff`, order.carrierCutoff);
    requireInteger(`${at}.lineCount`, order.lineCount, 1);
    const slackMs = cutoffMs - pickLeadMinutes * MS_PER_MINUTE - nowMs;
    return { order, cutoffMs, deadlineWave: Math.floor(slackMs / (waveIntervalMinutes * MS_PER_MINUTE)) };
  });
}

function byPriority(a: Planned, b: Planned): number {
  const x = a.order;
  const y = b.order;
  return (
    SERVICE_LEVEL_RANK[x.serviceLevel] - SERVICE_LEVEL_RANK[y.serviceLevel] ||
    (x.promiseDate < y.promiseDate ? -1 : x.promiseDate > y.promiseDate ? 1 : 0) ||
    CUSTOMER_PRIORITY_RANK[x.customerPriority] - CUSTOMER_PRIORITY_RANK[y.customerPriority] ||
    a.cutoffMs - b.cutoffMs ||
    (x.orderId < y.orderId ? -1 : x.orderId > y.orderId ? 1 : 0)
  );
}

interface Slot {
  orders: Planned[];
  lines: number;
}

/** First fit: each order, in sequence, into the earliest wave with room; an order never spans waves. */
function assign(
  sequence: readonly Planned[],
  policy: WavePolicy,
): { slots: Slot[]; waveOf: Map<Planned, number> } {
  const slots: Slot[] = [];
  const waveOf = new Map<Planned, number>();
  for (const planned of sequence) {
    const lines = planned.order.lineCount;
    // An empty wave takes any order, so an order above maxLinesPerWave gets a wave of its own.
    let index = slots.findIndex(
      (slot) =>
        slot.orders.length < policy.maxOrdersPerWave &&
        (slot.orders.length === 0 || slot.lines + lines <= policy.maxLinesPerWave),
    );
    if (index === -1) index = slots.push({ orders: [], lines: 0 }) - 1;
    const slot = slots[index] as Slot;
    slot.orders.push(planned);
    slot.lines += lines;
    waveOf.set(planned, index);
  }
  return { slots, waveOf };
}

/**
 * One site's waves. Orders are placed by first fit in priority order. An order that could make its carrier
 * cut-off in some wave but not in the wave that placement gives it becomes cut-off-critical; critical orders
 * are then placed first — earliest cut-off wave first, ties in priority order — each into the earliest wave
 * with room, and everything else follows in priority order. Repeat until no order newly becomes critical
 * (the critical set only grows, so this ends).
 *
 * Effect: an urgent order jumps ahead of orders that have slack to wait, whatever their priority; an order
 * pushed past its own cut-off by that jump becomes critical itself on the next pass, so only slack is
 * spent. Earliest-cut-off-first is what gets the most critical orders out on time; when the waves before
 * a cut-off still cannot hold every order that needs them, the ones left over (in general those with the
 * later cut-off, then the lower priority) are flagged NO_WAVE_CAPACITY_BEFORE_CUTOFF. Orders that no wave can save
 * (CUTOFF_BEFORE_FIRST_WAVE) are not pulled: moving them would delay others and save nothing.
 */
function planSite(
  site: readonly Planned[],
  policy: WavePolicy,
): { slots: Slot[]; naturalWaveOf: Map<Planned, number> } {
  const ordered = [...site].sort(byPriority);
  const critical = new Set<Planned>();
  let naturalWaveOf: Map<Planned, number> | undefined;
  for (;;) {
    const urgent = ordered
      .filter((p) => critical.has(p))
      .sort((a, b) => a.deadlineWave - b.deadlineWave || byPriority(a, b));
    const sequence = [...urgent, ...ordered.filter((p) => !critical.has(p))];
    const { slots, waveOf } = assign(sequence, policy);
    naturalWaveOf ??= waveOf;
    const newlyCritical = ordered.filter(
      (p) => !critical.has(p) && p.deadlineWave >= 0 && (waveOf.get(p) ?? 0) > p.deadlineWave,
    );
    if (newlyCritical.length === 0) {
      for (const slot of slots) slot.orders.sort(byPriority);
      return { slots, naturalWaveOf };
    }
    for (const p of newlyCritical) critical.add(p);
  }
}

/** 2025-03-10T09:30:00.000Z -> 20250310T093000Z. */
function compact(iso: string): string {
  return `${iso.slice(0, 19).replace(/[-:]/g, '')}Z`;
}

/**
 * Groups released orders into pick waves, per site.
 *
 * Priority order within a site: service level (next-day > expedited > standard > economy), promise date
 * (earliest first), customer priority (key-account > preferred > standard), carrier cut-off (earliest
 * first), orderId. Wave n (1-based) of every site releases at now + (n - 1) × waveIntervalMinutes and holds
 * at most maxOrdersPerWave orders and maxLinesPerWave lines; an order is never split, and one with more
 * lines than maxLinesPerWave gets a wave of its own (`oversized`) rather than an error, because refusing it
 * would leave a real order unpicked. Placement is first fit, so a smaller, lower-priority order may use
 * room an earlier wave has left on lines; it never takes a place a higher-priority order could use.
 * An order is at risk when its wave's release + pickLeadMinutes is after
 * its carrier cut-off. For the pull-forward rule see planSite.
 */
export function planWaves(input: WavePlanInput): WavePlan {
  const nowMs = parseInstant('now', input.now);
  validatePolicy(input.policy);
  const candidates = prepare(input, nowMs);
  const intervalMs = input.policy.waveIntervalMinutes * MS_PER_MINUTE;

  const bySite = new Map<string, Planned[]>();
  for (const planned of candidates) {
    const list = bySite.get(planned.order.siteId) ?? [];
    list.push(planned);
    bySite.set(planned.order.siteId, list);
  }

  const plan: WavePlan = { waves: [], atRisk: [], pulledForward: [] };
  for (const siteId of [...bySite.keys()].sort()) {
    const { slots, naturalWaveOf } = planSite(bySite.get(siteId) ?? [], input.policy);
    slots.forEach((slot, index) => {
      const releaseAt = new Date(nowMs + index * intervalMs).toISOString();
      const waveId = `${siteId}-${compact(releaseAt)}-${index + 1}`;
      const cutoffRisk: string[] = [];
      for (const p of slot.orders) {
        if (index > p.deadlineWave) {
          cutoffRisk.push(p.order.orderId);
          plan.atRisk.push({
            orderId: p.order.orderId,
            siteId,
            waveId,
            reason: p.deadlineWave < 0 ? 'CUTOFF_BEFORE_FIRST_WAVE' : 'NO_WAVE_CAPACITY_BEFORE_CUTOFF',
          });
        } else if (index < (naturalWaveOf.get(p) ?? index)) {
          plan.pulledForward.push(p.order.orderId);
        }
      }
      plan.waves.push({
        waveId,
        siteId,
        releaseAt,
        orderIds: slot.orders.map((p) => p.order.orderId),
        lineCount: slot.lines,
        carriers: [...new Set(slot.orders.map((p) => p.order.carrier))].sort(),
        cutoffRisk,
        oversized: slot.lines > input.policy.maxLinesPerWave,
      });
    });
  }
  return plan;
}
