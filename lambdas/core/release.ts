import { InvalidInputError } from './errors.ts';
import { priorityScore } from './priority.ts';
import {
  CUSTOMER_PRIORITIES,
  type CustomerPriority,
  isOneOf,
  SERVICE_LEVELS,
  type ServiceLevel,
} from './vocabulary.ts';

export interface ReleaseInput {
  serviceLevel: ServiceLevel;
  customerPriority: CustomerPriority;
  /** YYYY-MM-DD: date the customer was promised delivery. */
  promiseDate: string;
  /** ISO 8601 datetime with a zone designator (Z or +hh:mm). */
  now: string;
  /** Transit days for the service level from the shipping site. */
  transitDays: number;
  /** 0-23: carrier cut-off hour (UTC) at the site. */
  siteCutoffHourUtc: number;
  /** Orders are released this many days before their ship-by date. Default 2. */
  releaseWindowDays?: number;
}

export interface ReleaseDecision {
  action: 'release' | 'defer';
  /** ISO instant (UTC); the same instant as `now` when action is release. */
  releaseAt: string;
  /** YYYY-MM-DD latest ship date = promiseDate - transitDays. */
  shipBy: string;
  /** 0..1000. */
  priority: number;
  atRisk: boolean;
  reasonCodes: string[];
}

export const DEFAULT_RELEASE_WINDOW_DAYS = 2;

/** Extra priority by whole days left until the ship-by date. */
const URGENCY_BONUS = { overdueOrToday: 200, oneDay: 100, twoDays: 50 } as const;

export class InvalidReleaseInput extends InvalidInputError {
  override name = 'InvalidReleaseInput';
}

const MS_PER_DAY = 86_400_000;
const MS_PER_HOUR = 3_600_000;
const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATETIME_RE =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-](\d{2}):(\d{2}))$/;

/** Also rejects years before 1900: Date.UTC maps two-digit years into the 1900s. */
function isRealDate(year: number, month: number, day: number): boolean {
  if (year < 1900 || month < 1 || month > 12 || day < 1) return false;
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  return day <= daysInMonth;
}

/** Days since the Unix epoch for a YYYY-MM-DD calendar date. */
function parseDate(field: string, value: unknown): number {
  const m = typeof value === 'string' ? DATE_RE.exec(value) : null;
  if (m === null)
    throw new InvalidReleaseInput(field, `must be a date in YYYY-MM-DD format (got ${String(value)})`);
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (!isRealDate(year, month, day)) {
    throw new InvalidReleaseInput(field, `must be a real calendar date (got ${String(value)})`);
  }
  return Date.UTC(year, month - 1, day) / MS_PER_DAY;
}

/** Epoch milliseconds for an ISO datetime that carries an explicit zone (local time is ambiguous). */
function parseDateTime(field: string, value: unknown): number {
  const m = typeof value === 'string' ? DATETIME_RE.exec(value) : null;
  if (m === null) {
    throw new InvalidReleaseInput(
      field,
      `must be an ISO 8601 datetime with a zone designator, e.g. 2025-03-10T09:30:00Z (got ${String(value)})`,
    );
  }
  const [year, month, day, hour, minute, second, offsetHours, offsetMinutes] = [1, 2, 3, 4, 5, 6, 9, 10].map(
    (i) => Number(m[i] ?? 0),
  ) as [number, number, number, number, number, number, number, number];
  if (
    !isRealDate(year, month, day) ||
    hour > 23 ||
    minute > 59 ||
    second > 59 ||
    offsetHours > 23 ||
    offsetMinutes > 59
  ) {
    throw new InvalidReleaseInput(field, `must be a real date and time of day (got ${String(value)})`);
  }
  const millis = Math.floor(Number(`0.${m[7] ?? '0'}`) * 1000);
  const offsetSign = m[8]?.startsWith('-') ? -1 : 1;
  const offsetMs = m[8] === 'Z' ? 0 : offsetSign * (offsetHours * 60 + offsetMinutes) * 60_000;
  return Date.UTC(year, month - 1, day, hour, minute, second, millis) - offsetMs;
}

function requireInteger(field: string, value: unknown, min: number, max?: number): asserts value is number {
  const range = max === undefined ? `>= ${min}` : `between ${min} and ${max}`;
  if (!Number.isInteger(value) || (value as number) < min || (max !== undefined && (value as number) > max)) {
    throw new InvalidReleaseInput(field, `must be an integer ${range} (got ${String(value)})`);
  }
}

function formatDate(epochDay: number): string {
  return new Date(epochDay * MS_PER_DAY).toISOString().slice(0, 10);
}

/**
 * Decides whether to release an order to the warehouse now or defer it.
 *
 * - shipBy = promiseDate - transitDays.
 * - More than `releaseWindowDays` before shipBy (by UTC calendar date) -> defer until
 *   (shipBy - releaseWindowDays) 00:00Z [FUTURE_DATED_ORDER]; otherwise release now.
 * - The carrier cut-off is at `siteCutoffHourUtc`:00Z; a moment at or after it has missed it.
 *   atRisk when now is at/after the cut-off on the shipBy day, or any later day [PROMISE_AT_RISK].
 *   When shipBy is today: [SHIPS_TODAY_BEFORE_CUTOFF] before the cut-off, [MISSED_TODAYS_CUTOFF] after.
 * - priority = service level + customer priority + urgency (<=0 days +200, 1 day +100, 2 days +50), max 1000.
 */
export function decideRelease(input: ReleaseInput): ReleaseDecision {
  if (!isOneOf(SERVICE_LEVELS, input.serviceLevel)) {
    throw new InvalidReleaseInput(
      'serviceLevel',
      `must be one of ${SERVICE_LEVELS.join(', ')} (got ${String(input.serviceLevel)})`,
    );
  }
  if (!isOneOf(CUSTOMER_PRIORITIES, input.customerPriority)) {
    throw new InvalidReleaseInput(
      'customerPriority',
      `must be one of ${CUSTOMER_PRIORITIES.join(', ')} (got ${String(input.customerPriority)})`,
    );
  }
  const promiseDay = parseDate('promiseDate', input.promiseDate);
  const nowMs = parseDateTime('now', input.now);
  requireInteger('transitDays', input.transitDays, 0);
  requireInteger('siteCutoffHourUtc', input.siteCutoffHourUtc, 0, 23);
  const windowDays = input.releaseWindowDays ?? DEFAULT_RELEASE_WINDOW_DAYS;
  requireInteger('releaseWindowDays', windowDays, 0);

  const shipByDay = promiseDay - input.transitDays;
  const today = Math.floor(nowMs / MS_PER_DAY);
  const daysUntilShipBy = shipByDay - today;
  const cutoffOnShipByMs = shipByDay * MS_PER_DAY + input.siteCutoffHourUtc * MS_PER_HOUR;
  const beforeTodaysCutoff = nowMs < today * MS_PER_DAY + input.siteCutoffHourUtc * MS_PER_HOUR;

  const reasonCodes: string[] = [];
  const defer = daysUntilShipBy > windowDays;
  if (defer) reasonCodes.push('FUTURE_DATED_ORDER');

  const atRisk = nowMs >= cutoffOnShipByMs;
  if (atRisk) reasonCodes.push('PROMISE_AT_RISK');
  if (daysUntilShipBy === 0)
    reasonCodes.push(beforeTodaysCutoff ? 'SHIPS_TODAY_BEFORE_CUTOFF' : 'MISSED_TODAYS_CUTOFF');

  const urgency =
    daysUntilShipBy <= 0
      ? URGENCY_BONUS.overdueOrToday
      : daysUntilShipBy === 1
        ? URGENCY_BONUS.oneDay
        : daysUntilShipBy === 2
          ? URGENCY_BONUS.twoDays
          : 0;

  return {
    action: defer ? 'defer' : 'release',
    releaseAt: defer
      ? new Date((shipByDay - windowDays) * MS_PER_DAY).toISOString()
      : new Date(nowMs).toISOString(),
    shipBy: formatDate(shipByDay),
    priority: priorityScore(input.serviceLevel, input.customerPriority, urgency),
    atRisk,
    reasonCodes,
  };
}
