import { CliError } from './resources.ts';

const UNIT_MS: Record<string, number> = {
  m: 60_000,
  min: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/**
 * An instant given on the command line: ISO 8601 (`2026-12-01T08:00:00Z`, or a date `2026-12-01` meaning
 * its UTC midnight), `now`, or a duration back from now (`30m`, `6h`, `7d`, `2w`). `option` names the flag
 * in the error.
 */
export function parseInstant(option: string, text: string, now: Date): Date {
  const value = text.trim();
  if (value === 'now') return now;
  const relative = /^(\d+)\s*(m|min|h|d|w)$/.exec(value);
  if (relative) return new Date(now.getTime() - Number(relative[1]) * (UNIT_MS[relative[2] ?? 'm'] ?? 0));
  if (/^\d{4}-\d{2}-\d{2}(T.*)?$/.test(value)) {
    const at = Date.parse(value.length === 10 ? `${value}T00:00:00Z` : value);
    if (Number.isFinite(at)) return new Date(at);
  }
  throw new CliError(
    `${option} must be an ISO 8601 time (2026-12-01T08:00:00Z or 2026-12-01), now, or a duration back from now like 6h or 7d (got ${text})`,
  );
}

/** [from, to) from the two flags; `to` defaults to now; `from` must come first. */
export function parseWindow(
  options: { from?: string; to?: string },
  now: Date,
  defaults: { from: string },
): { from: Date; to: Date } {
  const from = parseInstant('--from', options.from ?? defaults.from, now);
  const to = parseInstant('--to', options.to ?? 'now', now);
  if (to.getTime() <= from.getTime()) {
    throw new CliError(
      `--to must be after --from (${from.toISOString()} → ${to.toISOString()}); for the last day use --from 1d`,
    );
  }
  return { from, to };
}
