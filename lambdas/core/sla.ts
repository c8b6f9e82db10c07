import { InvalidInputError } from './errors.ts';
import type { Channel, CustomerSegment, OwnerTeam, ServiceLevel, SlaStage } from './vocabulary.ts';
import { CHANNELS, CUSTOMER_SEGMENTS, OWNER_TEAMS, SERVICE_LEVELS, SLA_STAGES } from './vocabulary.ts';

/**
 * SLA clocks: one per order and stage (capture→accept … ship confirmation→invoice), each with a target that
 * depends on the order's channel, service level and customer segment, an owner team, and a calendar
 * (around the clock, or business hours in a time zone with holidays). A clock is kept as instants — when it
 * started, stopped, and every pause — so it can be rebuilt in any order the events arrive, and its elapsed
 * time is computed, never accumulated. Jeopardy is due at a fraction of the target, breach at the target.
 */

export class InvalidSlaPolicy extends InvalidInputError {
  override name = 'InvalidSlaPolicy';
}

export type CalendarKind = 'continuous' | 'business';

export interface BusinessCalendar {
  /** IANA time zone the hours and holidays are in, e.g. America/Chicago. */
  readonly timeZone: string;
  /** ISO weekdays that are working days: 1 = Monday … 7 = Sunday. */
  readonly workingDays: readonly number[];
  /** Local opening and closing time, HH:MM (24 h); closesAt after opensAt. */
  readonly opensAt: string;
  readonly closesAt: string;
  /** Local dates (YYYY-MM-DD) with no working hours. */
  readonly holidays: readonly string[];
}

export interface TargetOverride {
  readonly channel?: Channel;
  readonly serviceLevel?: ServiceLevel;
  readonly segment?: CustomerSegment;
  readonly targetMinutes: number;
}

export interface StagePolicy {
  readonly ownerTeam: OwnerTeam;
  readonly targetMinutes: number;
  /** The most specific matching override wins (most fields matched; the tightest target on a tie). */
  readonly overrides: readonly TargetOverride[];
  readonly calendar: CalendarKind;
  /** Whether the clock stops counting while the order waits on the customer (e.g. a substitute to approve). */
  readonly pausesForCustomer: boolean;
}

export interface SlaPolicy {
  /** Jeopardy is raised when this fraction of the target has elapsed (0 < f < 1). */
  readonly jeopardyFraction: number;
  readonly businessCalendar: BusinessCalendar;
  readonly stages: Readonly<Record<SlaStage, StagePolicy>>;
}

/** What a target depends on, from the order. */
export interface OrderSlaAttributes {
  readonly channel: Channel;
  readonly serviceLevel: ServiceLevel;
  readonly segment: CustomerSegment;
}

export interface StageTarget {
  readonly stage: SlaStage;
  readonly ownerTeam: OwnerTeam;
  readonly targetSeconds: number;
  readonly jeopardySeconds: number;
  readonly calendar: CalendarKind;
  readonly pausesForCustomer: boolean;
}

/**
 * Defaults for the article's distributor (25,000 orders a week; wholesale, EDI retail replenishment and
 * direct-to-customer; finance and the warehouse office on weekday hours in the US Central time zone).
 * Configuration replaces any part of it (see {@link parseSlaPolicy}).
 */
export const DEFAULT_SLA_POLICY: SlaPolicy = {
  jeopardyFraction: 0.75,
  businessCalendar: {
    timeZone: 'America/Chicago',
    workingDays: [1, 2, 3, 4, 5],
    opensAt: '07:00',
    closesAt: '19:00',
    holidays: [],
  },
  stages: {
    // Automated: validation, routing and path start. Stuck here means an integration is failing.
    'capture-to-accept': {
      ownerTeam: 'integration',
      targetMinutes: 15,
      overrides: [
        { channel: 'direct-to-customer', targetMinutes: 5 },
        { channel: 'retail-replenishment', targetMinutes: 30 },
      ],
      calendar: 'continuous',
      pausesForCustomer: false,
    },
    // Finance reviews holds in office hours; fast lanes for next-day, key segments and card-paid web orders.
    'accept-to-credit-decision': {
      ownerTeam: 'finance',
      targetMinutes: 240,
      overrides: [
        { segment: 'enterprise', targetMinutes: 120 },
        { serviceLevel: 'expedited', targetMinutes: 90 },
        { serviceLevel: 'next-day', targetMinutes: 60 },
        { channel: 'direct-to-customer', targetMinutes: 30 },
      ],
      calendar: 'business',
      pausesForCustomer: false,
    },
    // Allocation is automatic; shortages wait on substitutes the customer approves (paused) or on stock.
    'credit-to-allocation': {
      ownerTeam: 'warehouse',
      targetMinutes: 60,
      overrides: [
        { serviceLevel: 'expedited', targetMinutes: 30 },
        { serviceLevel: 'next-day', targetMinutes: 15 },
      ],
      calendar: 'continuous',
      pausesForCustomer: true,
    },
    // Waves are planned per shift; next-day orders must make the day's carrier cut-off.
    'allocation-to-release': {
      ownerTeam: 'warehouse',
      targetMinutes: 480,
      overrides: [
        { serviceLevel: 'economy', targetMinutes: 1440 },
        { serviceLevel: 'expedited', targetMinutes: 120 },
        { serviceLevel: 'next-day', targetMinutes: 60 },
      ],
      calendar: 'business',
      pausesForCustomer: true,
    },
    // Pick, pack and the carrier's pick-up scan, in the shipping days the docks and carriers work (no
    // pick-ups at weekends): two business days for standard orders, one for expedited.
    'release-to-ship-confirmation': {
      ownerTeam: 'logistics',
      targetMinutes: 1440,
      overrides: [
        { serviceLevel: 'economy', targetMinutes: 2880 },
        { serviceLevel: 'expedited', targetMinutes: 720 },
        { serviceLevel: 'next-day', targetMinutes: 480 },
      ],
      calendar: 'business',
      pausesForCustomer: false,
    },
    // Invoice on proof of shipment, inside the day's invoicing cut-off; retailers' 810s sooner.
    'ship-confirmation-to-invoice': {
      ownerTeam: 'finance',
      targetMinutes: 240,
      overrides: [
        { channel: 'retail-replenishment', targetMinutes: 120 },
        { channel: 'direct-to-customer', targetMinutes: 60 },
      ],
      calendar: 'continuous',
      pausesForCustomer: false,
    },
  },
};

// ---------------------------------------------------------------------------------------------------------
// Policy
// ---------------------------------------------------------------------------------------------------------

const HHMM = /^([01]\d|2[0-3]):([0-5]\d)$/;
const LOCAL_DATE = /^\d{4}-\d{2}-\d{2}$/;
const MAX_TARGET_MINUTES = 60 * 24 * 90;

function fail(field: string, rule: string): never {
  throw new InvalidSlaPolicy(field, rule);
}

function minutesOf(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_TARGET_MINUTES) {
    fail(field, `must be a whole number of minutes from 1 to ${MAX_TARGET_MINUTES} (got ${String(value)})`);
  }
  return value;
}

function oneOf<T extends string>(field: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !allowed.includes(value as T)) {
    fail(field, `must be one of ${allowed.join(', ')} (got ${String(value)})`);
  }
  return value as T;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseCalendar(raw: unknown, base: BusinessCalendar): BusinessCalendar {
  if (raw === undefined) return base;
  if (!isObject(raw)) fail('businessCalendar', 'must be an object');
  const timeZone = raw.timeZone ?? base.timeZone;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: String(timeZone) });
  } catch {
    fail('businessCalendar.timeZone', `must be an IANA time zone (got ${String(timeZone)})`);
  }
  const workingDays = raw.workingDays ?? base.workingDays;
  if (
    !Array.isArray(workingDays) ||
    workingDays.length === 0 ||
    workingDays.some((d) => !Number.isInteger(d) || d < 1 || d > 7)
  ) {
    fail('businessCalendar.workingDays', 'must list ISO weekdays 1 (Monday) to 7 (Sunday), at least one');
  }
  const opensAt = raw.opensAt ?? base.opensAt;
  const closesAt = raw.closesAt ?? base.closesAt;
  if (typeof opensAt !== 'string' || !HHMM.test(opensAt)) fail('businessCalendar.opensAt', 'must be HH:MM');
  if (typeof closesAt !== 'string' || !HHMM.test(closesAt))
    fail('businessCalendar.closesAt', 'must be HH:MM');
  if (closesAt <= opensAt) fail('businessCalendar.closesAt', `must be after opensAt (${opensAt})`);
  const holidays = raw.holidays ?? base.holidays;
  if (!Array.isArray(holidays)) fail('businessCalendar.holidays', 'must be a list of YYYY-MM-DD dates');
  holidays.forEach((h, i) => {
    if (typeof h !== 'string' || !LOCAL_DATE.test(h) || Number.isNaN(Date.parse(`${h}T00:00:00Z`))) {
      fail(`businessCalendar.holidays[${i}]`, `must be a real date YYYY-MM-DD (got ${String(h)})`);
    }
  });
  return {
    timeZone: String(timeZone),
    workingDays: [...new Set(workingDays as number[])].sort(),
    opensAt,
    closesAt,
    holidays: holidays as string[],
  };
}

function parseStage(stage: SlaStage, raw: unknown, base: StagePolicy): StagePolicy {
  if (raw === undefined) return base;
  const at = `stages.${stage}`;
  if (!isObject(raw)) fail(at, 'must be an object');
  const overridesRaw = raw.overrides ?? base.overrides;
  if (!Array.isArray(overridesRaw)) fail(`${at}.overrides`, 'must be a list');
  const overrides = overridesRaw.map((o, i): TargetOverride => {
    const where = `${at}.overrides[${i}]`;
    if (!isObject(o)) fail(where, 'must be an object');
    const known = new Set(['channel', 'serviceLevel', 'segment', 'targetMinutes']);
    for (const key of Object.keys(o)) if (!known.has(key)) fail(`${where}.${key}`, 'is not a known field');
    if (o.channel === undefined && o.serviceLevel === undefined && o.segment === undefined) {
      fail(where, 'must name at least one of channel, serviceLevel, segment');
    }
    return {
      ...(o.channel !== undefined ? { channel: oneOf(`${where}.channel`, o.channel, CHANNELS) } : {}),
      ...(o.serviceLevel !== undefined
        ? { serviceLevel: oneOf(`${where}.serviceLevel`, o.serviceLevel, SERVICE_LEVELS) }
        : {}),
      ...(o.segment !== undefined
        ? { segment: oneOf(`${where}.segment`, o.segment, CUSTOMER_SEGMENTS) }
        : {}),
      targetMinutes: minutesOf(`${where}.targetMinutes`, o.targetMinutes),
    };
  });
  const calendar = raw.calendar ?? base.calendar;
  const pausesForCustomer = raw.pausesForCustomer ?? base.pausesForCustomer;
  if (typeof pausesForCustomer !== 'boolean') fail(`${at}.pausesForCustomer`, 'must be true or false');
  return {
    ownerTeam: oneOf(`${at}.ownerTeam`, raw.ownerTeam ?? base.ownerTeam, OWNER_TEAMS),
    targetMinutes: minutesOf(`${at}.targetMinutes`, raw.targetMinutes ?? base.targetMinutes),
    overrides,
    calendar: oneOf(`${at}.calendar`, calendar, ['continuous', 'business'] as const),
    pausesForCustomer,
  };
}

/**
 * A policy from configuration (JSON), each part defaulting to {@link DEFAULT_SLA_POLICY}'s. Every error
 * names the field and the rule, e.g. `stages.credit-to-allocation.targetMinutes must be a whole number…`.
 */
export function parseSlaPolicy(raw: unknown, base: SlaPolicy = DEFAULT_SLA_POLICY): SlaPolicy {
  if (raw === undefined || raw === null) return base;
  if (!isObject(raw)) fail('slaPolicy', 'must be an object');
  for (const key of Object.keys(raw)) {
    if (!['jeopardyFraction', 'businessCalendar', 'stages'].includes(key)) fail(key, 'is not a known field');
  }
  const fraction = raw.jeopardyFraction ?? base.jeopardyFraction;
  if (typeof fraction !== 'number' || !(fraction > 0 && fraction < 1)) {
    fail('jeopardyFraction', `must be a number between 0 and 1, exclusive (got ${String(fraction)})`);
  }
  const stagesRaw = raw.stages ?? {};
  if (!isObject(stagesRaw)) fail('stages', 'must be an object keyed by stage');
  for (const key of Object.keys(stagesRaw)) oneOf(`stages.${key}`, key, SLA_STAGES);
  const stages = Object.fromEntries(
    SLA_STAGES.map((stage) => [stage, parseStage(stage, stagesRaw[stage], base.stages[stage])]),
  ) as Record<SlaStage, StagePolicy>;
  return {
    jeopardyFraction: fraction,
    businessCalendar: parseCalendar(raw.businessCalendar, base.businessCalendar),
    stages,
  };
}

/** The target of one stage for an order: the most specific matching override, else the stage's default. */
export function targetFor(policy: SlaPolicy, stage: SlaStage, order: OrderSlaAttributes): StageTarget {
  const rule = policy.stages[stage];
  let best: { score: number; minutes: number } | undefined;
  for (const o of rule.overrides) {
    const fields = [
      [o.channel, order.channel],
      [o.serviceLevel, order.serviceLevel],
      [o.segment, order.segment],
    ] as const;
    if (fields.some(([want, have]) => want !== undefined && want !== have)) continue;
    const score = fields.filter(([want]) => want !== undefined).length;
    if (!best || score > best.score || (score === best.score && o.targetMinutes < best.minutes)) {
      best = { score, minutes: o.targetMinutes };
    }
  }
  const targetSeconds = (best?.minutes ?? rule.targetMinutes) * 60;
  return {
    stage,
    ownerTeam: rule.ownerTeam,
    targetSeconds,
    jeopardySeconds: Math.floor(targetSeconds * policy.jeopardyFraction),
    calendar: rule.calendar,
    pausesForCustomer: rule.pausesForCustomer,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Calendars
// ---------------------------------------------------------------------------------------------------------

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** The zone's wall-clock fields at an instant. */
function wallTime(ms: number, timeZone: string): { y: number; m: number; d: number; hh: number; mm: number } {
  const parts = Object.fromEntries(
    formatterFor(timeZone)
      .formatToParts(new Date(ms))
      .map((p) => [p.type, p.value]),
  );
  return {
    y: Number(parts.year),
    m: Number(parts.month),
    d: Number(parts.day),
    hh: Number(parts.hour),
    mm: Number(parts.minute),
  };
}

/** The zone's offset from UTC at an instant, in ms. */
function offsetAt(ms: number, timeZone: string): number {
  const parts = Object.fromEntries(
    formatterFor(timeZone)
      .formatToParts(new Date(ms))
      .map((p) => [p.type, p.value]),
  );
  const asUtc = Date.UTC(
    Number(parts.year),
    Number(parts.month) - 1,
    Number(parts.day),
    Number(parts.hour),
    Number(parts.minute),
    Number(parts.second),
  );
  return asUtc - Math.floor(ms / 1000) * 1000;
}

/** The instant a local wall time names (in a DST gap, the instant after it; in an overlap, the first). */
function zonedInstant(y: number, m: number, d: number, hh: number, mm: number, timeZone: string): number {
  const wall = Date.UTC(y, m - 1, d, hh, mm);
  const first = wall - offsetAt(wall, timeZone);
  const second = wall - offsetAt(first, timeZone);
  return Math.min(first, second);
}

const DAY_MS = 86_400_000;

/** The working interval of each local date from the one holding `fromMs`, in order (at most `days`). */
function* workingIntervals(
  calendar: BusinessCalendar,
  fromMs: number,
  days: number,
): Generator<[number, number]> {
  const start = wallTime(fromMs, calendar.timeZone);
  const [oh, om] = calendar.opensAt.split(':').map(Number) as [number, number];
  const [ch, cm] = calendar.closesAt.split(':').map(Number) as [number, number];
  const holidays = new Set(calendar.holidays);
  let day = Date.UTC(start.y, start.m - 1, start.d);
  for (let i = 0; i < days; i++, day += DAY_MS) {
    const date = new Date(day);
    const isoWeekday = ((date.getUTCDay() + 6) % 7) + 1;
    const local = date.toISOString().slice(0, 10);
    if (!calendar.workingDays.includes(isoWeekday) || holidays.has(local)) continue;
    const [y, m, d] = [date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate()];
    yield [
      zonedInstant(y, m, d, oh, om, calendar.timeZone),
      zonedInstant(y, m, d, ch, cm, calendar.timeZone),
    ];
  }
}

/** Days a calendar search may look ahead: long holiday runs are fine, a calendar with no hours is not. */
const SEARCH_DAYS = 800;

/** Seconds of working time between two instants (0 when `to` ≤ `from`). */
export function workingSecondsBetween(
  kind: CalendarKind,
  calendar: BusinessCalendar,
  fromMs: number,
  toMs: number,
): number {
  if (toMs <= fromMs) return 0;
  if (kind === 'continuous') return Math.floor((toMs - fromMs) / 1000);
  let total = 0;
  const days = Math.min(SEARCH_DAYS, Math.ceil((toMs - fromMs) / DAY_MS) + 2);
  for (const [open, close] of workingIntervals(calendar, fromMs, days)) {
    if (open >= toMs) break;
    total += Math.max(0, Math.min(close, toMs) - Math.max(open, fromMs));
  }
  return Math.floor(total / 1000);
}

/** The instant `seconds` of working time after `fromMs`. */
export function addWorkingSeconds(
  kind: CalendarKind,
  calendar: BusinessCalendar,
  fromMs: number,
  seconds: number,
): number {
  if (seconds <= 0) return fromMs;
  if (kind === 'continuous') return fromMs + seconds * 1000;
  let remaining = seconds * 1000;
  for (const [open, close] of workingIntervals(calendar, fromMs, SEARCH_DAYS)) {
    const begin = Math.max(open, fromMs);
    if (close <= begin) continue;
    if (close - begin >= remaining) return begin + remaining;
    remaining -= close - begin;
  }
  throw new InvalidSlaPolicy(
    'businessCalendar',
    `has no working hours in the ${SEARCH_DAYS} days after ${new Date(fromMs).toISOString()}`,
  );
}

// ---------------------------------------------------------------------------------------------------------
// Clocks
// ---------------------------------------------------------------------------------------------------------

export interface ClockPause {
  readonly from: string;
  readonly to?: string;
  readonly reason: string;
}

/**
 * One stage clock. `instance` tells apart clocks of one stage that run per shipment (ship confirmation →
 * invoice); it is '' otherwise. Times are ISO instants; absent ones have not happened (yet).
 */
export interface SlaClock {
  readonly orderId: string;
  readonly stage: SlaStage;
  readonly instance: string;
  readonly target: StageTarget;
  readonly startedAt?: string;
  readonly stoppedAt?: string;
  readonly cancelledAt?: string;
  readonly pauses: readonly ClockPause[];
  readonly jeopardyRaisedAt?: string;
  readonly breachedAt?: string;
}

export type ClockState = 'pending' | 'running' | 'paused' | 'stopped' | 'cancelled';

export function clockState(clock: SlaClock): ClockState {
  if (clock.cancelledAt) return 'cancelled';
  if (clock.stoppedAt) return 'stopped';
  if (!clock.startedAt) return 'pending';
  return clock.pauses.some((p) => p.to === undefined) ? 'paused' : 'running';
}

const ms = (iso: string) => Date.parse(iso);

/**
 * Working seconds the clock has counted by `at`: from its start to the earliest of `at`, its stop and its
 * cancellation, less its pauses (an open pause runs to `at`). 0 before it starts.
 */
export function elapsedSeconds(clock: SlaClock, calendar: BusinessCalendar, at: Date): number {
  if (!clock.startedAt) return 0;
  const kind = clock.target.calendar;
  const start = ms(clock.startedAt);
  const end = Math.min(
    at.getTime(),
    clock.stoppedAt ? ms(clock.stoppedAt) : Number.POSITIVE_INFINITY,
    clock.cancelledAt ? ms(clock.cancelledAt) : Number.POSITIVE_INFINITY,
  );
  let total = workingSecondsBetween(kind, calendar, start, end);
  for (const pause of mergedPauses(clock.pauses)) {
    const from = Math.max(start, pause[0]);
    const to = Math.min(end, pause[1] ?? end);
    total -= workingSecondsBetween(kind, calendar, from, to);
  }
  return Math.max(0, total);
}

/** Pauses as non-overlapping [from, to?] ranges in time order (overlapping pauses count once). */
function mergedPauses(pauses: readonly ClockPause[]): [number, number | undefined][] {
  const sorted = [...pauses].map(
    (p) => [ms(p.from), p.to ? ms(p.to) : undefined] as [number, number | undefined],
  );
  sorted.sort((a, b) => a[0] - b[0]);
  const merged: [number, number | undefined][] = [];
  for (const range of sorted) {
    const last = merged.at(-1);
    if (last && (last[1] === undefined || range[0] <= last[1])) {
      last[1] = last[1] === undefined || range[1] === undefined ? undefined : Math.max(last[1], range[1]);
    } else merged.push([...range]);
  }
  return merged;
}

/**
 * When the clock's next alarm falls due if nothing changes: jeopardy until raised, then breach until raised.
 * None while it is not running (pending, paused, stopped, cancelled) or once breached.
 */
export function nextAlarm(
  clock: SlaClock,
  calendar: BusinessCalendar,
): { readonly kind: 'jeopardy' | 'breach'; readonly at: Date } | undefined {
  if (clockState(clock) !== 'running' || clock.breachedAt || !clock.startedAt) return undefined;
  const kind = clock.jeopardyRaisedAt ? 'breach' : 'jeopardy';
  const threshold = kind === 'breach' ? clock.target.targetSeconds : clock.target.jeopardySeconds;
  // Counting resumed at the start or at the end of the last pause; nothing is paused now.
  const anchor = Math.max(ms(clock.startedAt), ...clock.pauses.map((p) => (p.to ? ms(p.to) : 0)));
  const counted = elapsedSeconds(clock, calendar, new Date(anchor));
  const at = addWorkingSeconds(clock.target.calendar, calendar, anchor, threshold - counted);
  return { kind, at: new Date(at) };
}

export type SlaAlarm =
  | { readonly kind: 'jeopardy'; readonly elapsedSeconds: number; readonly dueAt: string }
  | { readonly kind: 'breach'; readonly overrunSeconds: number; readonly dueAt: string };

/**
 * What the clock owes at `now`: a jeopardy once its elapsed time has passed the jeopardy mark (while still
 * under target), a breach once it has passed the target — each only if not already raised. A clock that was
 * stopped late still owes its breach (the detector may have been behind); a cancelled one owes nothing.
 */
export function alarmsDue(clock: SlaClock, calendar: BusinessCalendar, now: Date): SlaAlarm[] {
  if (!clock.startedAt || clock.cancelledAt) return [];
  const elapsed = elapsedSeconds(clock, calendar, now);
  const dueAt = () => {
    const startMs = ms(clock.startedAt as string);
    // The due instant as if uninterrupted from the start, shifted by the pauses' working time.
    const paused = elapsedPausedSeconds(clock, calendar, now);
    return new Date(
      addWorkingSeconds(clock.target.calendar, calendar, startMs, clock.target.targetSeconds + paused),
    ).toISOString();
  };
  if (elapsed > clock.target.targetSeconds) {
    return clock.breachedAt
      ? []
      : [{ kind: 'breach', overrunSeconds: elapsed - clock.target.targetSeconds, dueAt: dueAt() }];
  }
  if (elapsed >= clock.target.jeopardySeconds && !clock.jeopardyRaisedAt && !clock.stoppedAt) {
    return [{ kind: 'jeopardy', elapsedSeconds: elapsed, dueAt: dueAt() }];
  }
  return [];
}

function elapsedPausedSeconds(clock: SlaClock, calendar: BusinessCalendar, now: Date): number {
  if (!clock.startedAt) return 0;
  const start = ms(clock.startedAt);
  const end = Math.min(now.getTime(), clock.stoppedAt ? ms(clock.stoppedAt) : Number.POSITIVE_INFINITY);
  let total = 0;
  for (const [from, to] of mergedPauses(clock.pauses)) {
    total += workingSecondsBetween(
      clock.target.calendar,
      calendar,
      Math.max(start, from),
      Math.min(end, to ?? end),
    );
  }
  return total;
}

// ---------------------------------------------------------------------------------------------------------
// Events → clock changes
// ---------------------------------------------------------------------------------------------------------

export type ClockChange =
  | { readonly action: 'start'; readonly stage: SlaStage; readonly instance: string; readonly at: string }
  | {
      readonly action: 'stop';
      readonly stage: SlaStage;
      readonly instance: string;
      readonly at: string;
      /**
       * True when the event is the one that ends this stage (order.accepted ends capture, credit.approved the
       * credit decision...), false when it only sweeps up an earlier stage it passed. A stop that ends its
       * stage is kept even when it arrives before the start: every path's start for it is coming.
       */
      readonly ends?: boolean;
    }
  | {
      readonly action: 'pause' | 'resume';
      readonly stage: SlaStage;
      readonly instance: string;
      readonly at: string;
      readonly reason: string;
    }
  | { readonly action: 'cancel-all'; readonly at: string };

/** The minimal view of a canonical event the clocks need. */
export interface ClockEvent {
  readonly name: string;
  readonly detail: {
    readonly occurredAt: string;
    readonly shipmentId?: string;
    readonly requiresApproval?: boolean;
    readonly lineNo?: number;
    readonly outcome?: string;
    readonly partial?: boolean;
  };
}

/**
 * The clock changes a canonical event causes. Each stage stops on the event that ends it and the next
 * starts on the same instant; a later stage's event also stops the earlier ones (progress is monotonic,
 * and the event that would have stopped them may come late or not at all).
 */
export function clockChanges(event: ClockEvent): ClockChange[] {
  const at = event.detail.occurredAt;
  // The last stage named is the one the event ends; the others are swept up.
  const stop = (...stages: SlaStage[]): ClockChange[] =>
    stages.map((stage, i) => ({ action: 'stop', stage, instance: '', at, ends: i === stages.length - 1 }));
  const start = (stage: SlaStage, instance = '', from = at): ClockChange => ({
    action: 'start',
    stage,
    instance,
    at: from,
  });
  switch (event.name) {
    // Capture is Handoff's receipt of the order: a source's order date is often a date only (an 850's
    // BEG05, an ERP document date), and the time before receipt is the source system's, not a stage's.
    case 'order.received':
      return [start('capture-to-accept')];
    case 'order.accepted':
      return [...stop('capture-to-accept'), start('accept-to-credit-decision')];
    case 'credit.approved':
    case 'credit.hold.released':
      return [...stop('capture-to-accept', 'accept-to-credit-decision'), start('credit-to-allocation')];
    case 'substitution.proposed':
      return event.detail.requiresApproval
        ? [
            {
              action: 'pause',
              stage: 'credit-to-allocation',
              instance: '',
              at,
              reason: `awaiting the customer's decision on a substitute for line ${event.detail.lineNo ?? '?'}`,
            },
          ]
        : [];
    case 'substitution.decided':
      return [
        {
          action: 'resume',
          stage: 'credit-to-allocation',
          instance: '',
          at,
          reason: `substitute for line ${event.detail.lineNo ?? '?'} decided`,
        },
      ];
    case 'release.deferred':
      return [
        {
          action: 'pause',
          stage: 'allocation-to-release',
          instance: '',
          at,
          reason: 'future-dated: waiting for its release window',
        },
      ];
    case 'allocation.confirmed':
      return [
        ...stop('capture-to-accept', 'accept-to-credit-decision', 'credit-to-allocation'),
        start('allocation-to-release'),
      ];
    case 'warehouse.released':
      return [
        ...stop(
          'capture-to-accept',
          'accept-to-credit-decision',
          'credit-to-allocation',
          'allocation-to-release',
        ),
        start('release-to-ship-confirmation'),
      ];
    case 'shipment.confirmed': {
      const shipment = event.detail.shipmentId ?? '';
      // A partial shipment leaves the rest to ship: the release clock runs on until the last one, and the
      // partial one ends no stage (it only sweeps up the earlier ones).
      const stops = event.detail.partial
        ? stop(
            'capture-to-accept',
            'accept-to-credit-decision',
            'credit-to-allocation',
            'allocation-to-release',
          ).map((change) => ({ ...change, ends: false }))
        : stop(
            'capture-to-accept',
            'accept-to-credit-decision',
            'credit-to-allocation',
            'allocation-to-release',
            'release-to-ship-confirmation',
          );
      return [...stops, start('ship-confirmation-to-invoice', shipment)];
    }
    case 'invoice.issued':
      return [
        {
          action: 'stop',
          stage: 'ship-confirmation-to-invoice',
          instance: event.detail.shipmentId ?? '',
          at,
          ends: true,
        },
      ];
    case 'order.rejected':
      return [{ action: 'cancel-all', at }];
    case 'order.closed':
      return [{ action: 'cancel-all', at }];
    default:
      return [];
  }
}

/**
 * Applies a change to a clock (or creates it). Idempotent and order-independent: a start keeps the earliest
 * instant, a stop the earliest, a pause is recorded once per instant, a resume closes the open pause that
 * began before it. A stop that arrives before the start leaves a stopped clock with no start yet: the start,
 * when it comes, completes it.
 */
export function applyChange(
  clock: SlaClock | undefined,
  change: Exclude<ClockChange, { action: 'cancel-all' }>,
  seed: { readonly orderId: string; readonly target: StageTarget },
): SlaClock {
  const base: SlaClock = clock ?? {
    orderId: seed.orderId,
    stage: change.stage,
    instance: change.instance,
    target: seed.target,
    pauses: [],
  };
  const earliest = (a: string | undefined, b: string) => (a && ms(a) <= ms(b) ? a : b);
  switch (change.action) {
    case 'start':
      return { ...base, startedAt: earliest(base.startedAt, change.at) };
    case 'stop': {
      const stoppedAt = earliest(base.stoppedAt, change.at);
      // Stopped no later than it was cancelled (an invoice and the order's closing at one instant, tracked
      // in either order): it stopped, as if the stop had been tracked first.
      if (base.cancelledAt && ms(stoppedAt) <= ms(base.cancelledAt)) {
        const { cancelledAt: _cancelled, ...rest } = base;
        return { ...rest, stoppedAt };
      }
      return { ...base, stoppedAt };
    }
    case 'pause': {
      if (!base.target.pausesForCustomer) return base;
      if (base.pauses.some((p) => p.from === change.at && !isEarlyResume(p))) return base;
      // Its resume was tracked first: the pause runs from now to that resume, as if tracked in order.
      const early = base.pauses.findIndex((p) => isEarlyResume(p) && ms(p.from) >= ms(change.at));
      if (early !== -1) {
        const pauses = base.pauses.map((p, i) =>
          i === early ? { from: change.at, to: p.from, reason: change.reason } : p,
        );
        return { ...base, pauses };
      }
      return { ...base, pauses: [...base.pauses, { from: change.at, reason: change.reason }] };
    }
    case 'resume': {
      if (!base.target.pausesForCustomer) return base;
      const open = base.pauses.findIndex((p) => p.to === undefined && ms(p.from) <= ms(change.at));
      if (open !== -1) {
        const pauses = base.pauses.map((p, i) => (i === open ? { ...p, to: change.at } : p));
        return { ...base, pauses };
      }
      // No pause to close yet (the pause's event is late): kept as an empty range, which the pause closes
      // at this instant when it comes. Counted as nothing meanwhile.
      if (base.pauses.some((p) => p.from === change.at && p.to === change.at)) return base;
      const marker = { from: change.at, to: change.at, reason: `${EARLY_RESUME}${change.reason}` };
      return { ...base, pauses: [...base.pauses, marker] };
    }
  }
}

/** The reason prefix of a resume tracked before its pause (an empty range waiting for the pause). */
const EARLY_RESUME = 'resumed before its pause was tracked: ';
const isEarlyResume = (p: ClockPause) => p.to === p.from && p.reason.startsWith(EARLY_RESUME);

/** Cancels a clock that had not stopped by `at` (the order was rejected or closed then). */
export function cancelClock(clock: SlaClock, at: string): SlaClock {
  // The earlier of a stop and a cancellation decides, whichever is tracked first: stopped by then, it stays
  // stopped; stopped only later (an event after the order closed), it is cancelled.
  if (clock.cancelledAt && ms(clock.cancelledAt) <= ms(at)) return clock;
  if (clock.stoppedAt && ms(clock.stoppedAt) <= ms(at)) return clock;
  return { ...clock, cancelledAt: at };
}
