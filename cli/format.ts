import { styleText } from 'node:util';

/** Where a command writes, and whether it may colour (a terminal, and NO_COLOR unset). */
export interface Output {
  readonly write: (text: string) => void;
  readonly colour: boolean;
  /** "Now", for relative times (the local cloud's virtual clock, or the system time). */
  readonly now: () => Date;
}

type Style = Parameters<typeof styleText>[0];

export function paint(out: Output, style: Style, text: string): string {
  return out.colour ? styleText(style, text) : text;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: strips ANSI colour codes to measure widths
const ANSI = /\u001b\[[0-9;]*m/g;
const width = (text: string) => [...text.replace(ANSI, '')].length;

/** An aligned table: a header row, then one row per item; long cells are cut at `max` with an ellipsis. */
export function table(
  out: Output,
  header: readonly string[],
  rows: readonly (readonly string[])[],
  max = 60,
): string {
  const cut = (cell: string) => (width(cell) > max ? `${[...cell].slice(0, max - 1).join('')}…` : cell);
  const cells = rows.map((row) => row.map(cut));
  const widths = header.map((h, i) => Math.max(width(h), ...cells.map((row) => width(row[i] ?? ''))));
  const line = (row: readonly string[]) =>
    row
      .map((cell, i) =>
        i === row.length - 1 ? cell : cell + ' '.repeat(Math.max(0, (widths[i] ?? 0) - width(cell))),
      )
      .join('  ')
      .trimEnd();
  return [paint(out, 'bold', line(header)), ...cells.map(line)].join('\n');
}

const UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
  ['day', 86_400_000],
  ['hour', 3_600_000],
  ['minute', 60_000],
  ['second', 1000],
];
const relative = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });

/** "3 hours ago", "in 20 minutes": the largest unit that fits. */
export function ago(out: Output, iso: string | undefined): string {
  if (!iso) return '—';
  const diff = Date.parse(iso) - out.now().getTime();
  if (Number.isNaN(diff)) return iso;
  const [unit, size] = UNITS.find(([, ms]) => Math.abs(diff) >= ms) ?? ['second', 1000];
  return relative.format(Math.round(diff / size), unit);
}

export function json(value: unknown): string {
  return JSON.stringify(value, null, 2);
}
