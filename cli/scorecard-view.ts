import { styleText } from 'node:util';
import type {
  CountedKey,
  GroupedPercentiles,
  Percentiles,
  Rate,
  Scorecard,
  SeriesPoint,
} from '../lambdas/core/scorecard-model.ts';
import { type Output, table } from './format.ts';

/**
 * `handoff scorecard` in the terminal: one section per measure, aligned tables, durations as "1h 05m",
 * rates as percentages, "—" where nothing was measured. Colour marks figures past their threshold, only
 * when the caller says the output may be coloured (a terminal, NO_COLOR unset).
 */

const NONE = '—';

/** "45s", "12m 05s", "1h 05m", "2d 3h": the two largest units, smaller ones dropped. */
export function formatDuration(seconds: number | null): string {
  if (seconds === null) return NONE;
  const s = Math.max(0, Math.round(seconds));
  const pad = (n: number) => String(n).padStart(2, '0');
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${pad(s % 60)}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ${pad(Math.floor((s % 3600) / 60))}m`;
  return `${Math.floor(s / 86_400)}d ${Math.floor((s % 86_400) / 3600)}h`;
}

/** A fraction as a percentage with one decimal, "—" for null. */
export function formatRate(rate: number | null): string {
  return rate === null ? NONE : `${(rate * 100).toFixed(1)}%`;
}

const formatRatio = (value: number | null) => (value === null ? NONE : value.toFixed(2));
const counting = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** Below `red` a rate shows red, below `amber` yellow, otherwise green. */
interface Threshold {
  readonly red: number;
  readonly amber: number;
}

export const THRESHOLDS = {
  slaAdherence: { red: 0.95, amber: 0.98 },
  allocationAccuracy: { red: 0.97, amber: 0.99 },
  confirmationOnTime: { red: 0.9, amber: 0.95 },
  invoiceAligned: { red: 0.95, amber: 0.99 },
} as const satisfies Record<string, Threshold>;

type Style = Parameters<typeof styleText>[0];

export function renderScorecard(card: Scorecard, opts: { colour: boolean }): string {
  // The caller has decided whether colour is wanted; styleText must not second-guess it from process.stdout.
  const paint = (style: Style, text: string) =>
    opts.colour ? styleText(style, text, { validateStream: false }) : text;
  const out: Output = { write: () => undefined, colour: opts.colour, now: () => new Date(card.generatedAt) };
  const grid = (header: readonly string[], rows: readonly (readonly string[])[]) =>
    table(out, header, rows, 40);
  const title = (text: string) => paint('bold', text.toUpperCase());
  const rated = (rate: number | null, threshold: Threshold) => {
    const text = formatRate(rate);
    if (rate === null) return text;
    return paint(rate < threshold.red ? 'red' : rate < threshold.amber ? 'yellow' : 'green', text);
  };
  const alarming = (count: number, style: Style = 'red') => (count > 0 ? paint(style, String(count)) : '0');
  const spread = (p: Percentiles, one: string, many = `${one}s`) =>
    p.count === 0
      ? `${NONE} (no ${many})`
      : `p50 ${formatDuration(p.p50Seconds)} · p90 ${formatDuration(p.p90Seconds)} (${counting(p.count, one, many)})`;
  const ofRate = (r: Rate, threshold: Threshold | undefined, unit: string) =>
    `${threshold ? rated(r.rate, threshold) : formatRate(r.rate)} (${r.hits} of ${r.measured} ${unit})`;
  const facts = (rows: readonly [string, string][]) => {
    const width = Math.max(...rows.map(([label]) => label.length));
    return rows.map(([label, value]) => `${label.padEnd(width)}  ${value}`).join('\n');
  };

  const cycle = card.orderToRelease;
  const percentileRow = (by: string, g: GroupedPercentiles) => [
    by,
    g.key,
    String(g.count),
    formatDuration(g.p50Seconds),
    formatDuration(g.p90Seconds),
  ];
  const most = Math.max(1, ...cycle.distribution.counts);
  const countedRows = (by: string, keys: readonly CountedKey[]) =>
    keys.map((k) => [by, k.key, String(k.count), formatRatio(k.perOrder)]);

  const sections: string[] = [
    [
      paint('bold', `Handoff scorecard  ${card.window.from} → ${card.window.to}`),
      `${counting(card.orders, 'order')} · ${counting(card.events, 'event')} · generated ${card.generatedAt}`,
    ].join('\n'),

    [
      title('Order-to-release cycle time'),
      grid(
        ['BY', 'GROUP', 'ORDERS', 'P50', 'P90'],
        [
          [
            'all',
            NONE,
            String(cycle.overall.count),
            formatDuration(cycle.overall.p50Seconds),
            formatDuration(cycle.overall.p90Seconds),
          ],
          ...cycle.byChannel.map((g) => percentileRow('channel', g)),
          ...cycle.bySegment.map((g) => percentileRow('segment', g)),
          ...cycle.byFacility.map((g) => percentileRow('facility', g)),
        ],
      ),
      '',
      grid(
        ['CYCLE TIME', 'ORDERS', ''],
        cycle.distribution.labels.map((label, i) => {
          const count = cycle.distribution.counts[i] ?? 0;
          return [label, String(count), '█'.repeat(Math.round((count / most) * 24))];
        }),
      ),
    ].join('\n'),

    [
      title('Allocation and inventory sync'),
      facts([
        ['allocation accuracy', ofRate(card.allocation.accuracy, THRESHOLDS.allocationAccuracy, 'lines')],
        ['inventory sync latency', spread(card.allocation.inventorySyncLatency, 'receipt')],
      ]),
    ].join('\n'),

    [
      title('Exceptions'),
      `${card.exceptions.total} raised · ${formatRatio(card.exceptions.perOrder)} per order`,
      ...(card.exceptions.total === 0
        ? []
        : [
            grid(
              ['BY', 'KEY', 'COUNT', 'PER ORDER'],
              [
                ...countedRows('stage', card.exceptions.byStage),
                ...countedRows('cause', card.exceptions.byCause),
                ...countedRows('team', card.exceptions.byTeam),
              ],
            ),
          ]),
    ].join('\n'),

    [
      title('Shipping and invoicing'),
      facts([
        [
          'confirmed by ship-by date',
          ofRate(card.shipping.confirmationOnTime, THRESHOLDS.confirmationOnTime, 'shipments'),
        ],
        ['invoice aligned', ofRate(card.shipping.invoiceAligned, THRESHOLDS.invoiceAligned, 'invoices')],
        ['invoiced without proof', alarming(card.shipping.invoicedWithoutProof)],
        ['confirmation → invoice', spread(card.shipping.confirmationToInvoice, 'invoice')],
      ]),
    ].join('\n'),

    [
      title('Integration'),
      facts([
        [
          'failures',
          `${alarming(card.integration.failures, 'yellow')} (${formatRatio(card.integration.failuresPerDay)} per day)`,
        ],
        [
          'recovered',
          `${card.integration.recovered} · ${spread(card.integration.recoveryTime, 'recovery', 'recoveries')}`,
        ],
        ['manual interventions', String(card.integration.manualInterventions)],
      ]),
    ].join('\n'),

    [
      title('Backorders'),
      `created ${card.backorders.created} · filled ${card.backorders.filled} · cancelled ${card.backorders.cancelled}`,
      grid(
        ['OPEN FOR', 'BACKORDERS', 'PER ORDER'],
        card.backorders.openAging.map((b) => [
          b.key,
          b.key === '>14d' ? alarming(b.count) : String(b.count),
          formatRatio(b.perOrder),
        ]),
      ),
      facts([['partially shipped orders', ofRate(card.backorders.partialShipment, undefined, 'orders')]]),
    ].join('\n'),

    [
      title('SLA adherence by team'),
      grid(
        ['TEAM', 'MEASURED', 'MET', 'ADHERENCE', 'BREACHES', 'JEOPARDIES'],
        card.sla.byTeam.map((t) => [
          t.team,
          String(t.measured),
          String(t.hits),
          rated(t.rate, THRESHOLDS.slaAdherence),
          alarming(t.breaches),
          alarming(t.jeopardies, 'yellow'),
        ]),
      ),
      ...overTime(card.sla.overTime, (rate) => rated(rate, THRESHOLDS.slaAdherence), grid),
    ].join('\n'),

    [title('Exception queues (open per team)'), queues(card.queueDepth, grid)].join('\n'),
  ];
  return sections.join('\n\n');
}

/** Adherence per day and team, one row a day. */
function overTime(
  points: readonly SeriesPoint[],
  cell: (rate: number | null) => string,
  grid: (header: readonly string[], rows: readonly (readonly string[])[]) => string,
): string[] {
  if (points.length === 0) return [];
  const teams = [...new Set(points.flatMap((p) => Object.keys(p.values)))].sort();
  return [
    '',
    grid(
      ['DAY', ...teams.map((t) => t.toUpperCase())],
      points.map((p) => [p.bucketStart.slice(0, 10), ...teams.map((t) => cell(p.values[t] ?? null))]),
    ),
  ];
}

/** Queue depth summarised per team: open at the end, the peak and when it was first reached. */
function queues(
  points: readonly SeriesPoint[],
  grid: (header: readonly string[], rows: readonly (readonly string[])[]) => string,
): string {
  const teams = [...new Set(points.flatMap((p) => Object.keys(p.values)))].sort();
  if (teams.length === 0) return NONE;
  const last = points.at(-1);
  return grid(
    ['TEAM', 'OPEN AT END', 'PEAK', 'PEAK IN BUCKET'],
    teams.map((team) => {
      let peak: SeriesPoint | undefined;
      for (const p of points) {
        if ((p.values[team] ?? 0) > (peak?.values[team] ?? 0)) peak = p;
      }
      return [
        team,
        String(last?.values[team] ?? 0),
        String(peak?.values[team] ?? 0),
        peak ? peak.bucketStart.replace('T', ' ').slice(0, 16) : NONE,
      ];
    }),
  );
}
