/**
 * ISO 8601 instants as the domain core accepts them: a datetime with an explicit zone designator (a local
 * time is ambiguous) that names a real date and time of day. `fail` builds the caller's own named error.
 */
const DATETIME_RE =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-](\d{2}):(\d{2}))$/;

export function isRealDate(year: number, month: number, day: number): boolean {
  if (year < 1900 || month < 1 || month > 12 || day < 1) return false;
  return day <= new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** Epoch milliseconds of `value`, or the error `fail` builds naming `field` and the rule it broke. */
export function parseInstant(
  field: string,
  value: unknown,
  fail: (field: string, rule: string) => Error,
): number {
  const m = typeof value === 'string' ? DATETIME_RE.exec(value) : null;
  if (m === null) {
    throw fail(
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
    throw fail(field, `must be a real date and time of day (got ${String(value)})`);
  }
  const millis = Math.floor(Number(`0.${m[7] ?? '0'}`) * 1000);
  const offsetSign = m[8]?.startsWith('-') ? -1 : 1;
  const offsetMs = m[8] === 'Z' ? 0 : offsetSign * (offsetHours * 60 + offsetMinutes) * 60_000;
  return Date.UTC(year, month - 1, day, hour, minute, second, millis) - offsetMs;
}
