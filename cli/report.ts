import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { ChartConfiguration } from 'chart.js';
import type {
  CountedKey,
  GroupedPercentiles,
  Rate,
  Scorecard,
  SeriesPoint,
} from '../lambdas/core/scorecard-model.ts';

/**
 * `handoff report`: the process-intelligence scorecard as one HTML file that opens offline, anywhere.
 * Chart.js's UMD build is inlined, the scorecard is embedded as JSON, and a Content-Security-Policy
 * allows only those inline scripts and style (by hash), so the page cannot load anything from the network
 * even if a value in it were hostile. Every text value is HTML-escaped; a missing value reads "—".
 */

export interface ReportOptions {
  /** @default 'Handoff process scorecard' */
  readonly title?: string;
  /** The deployment stage the scorecard was read from, shown in the header. */
  readonly deployment?: string;
}

/** The canvas ids of the report's charts: stable, for tests and for anyone scripting the page. */
export const CHART_IDS = [
  'chart-cycle-time',
  'chart-exceptions-stage',
  'chart-exceptions-team',
  'chart-sla-over-time',
  'chart-queue-depth',
] as const;
export type ChartId = (typeof CHART_IDS)[number];

export function renderReport(card: Scorecard, options: ReportOptions = {}): string {
  const title = options.title ?? 'Handoff process scorecard';
  const charts = chartSpecs(card);
  const library = chartLibrary();
  const data = embedJson(card);
  const specs = embedJson(charts);
  const csp = [
    "default-src 'none'",
    `script-src ${sha256(library.source)} ${sha256(PAGE_SCRIPT)}`,
    `style-src ${sha256(STYLE)}`,
    'img-src data:',
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
  const figure = (id: ChartId, caption: string) => {
    const spec = charts.find((c) => c.id === id);
    const empty = spec?.config.data.labels?.length === 0;
    return html`<figure class="chart">
      <figcaption>${caption}</figcaption>
      ${empty ? html`<p class="empty">Nothing measured in this window.</p>` : ''}
      <div class="canvas-box"><canvas id="${id}" role="img" aria-label="${caption}"></canvas></div>
    </figure>`;
  };

  const page = html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="Handoff">
<title>${title}</title>
<style>${raw(STYLE)}</style>
</head>
<body>
<header>
  <h1>${title}</h1>
  <dl class="meta">
    <div data-meta="window"><dt>Window</dt><dd>${instant(card.window.from)} – ${instant(card.window.to)} UTC</dd></div>
    <div data-meta="generated-at"><dt>Generated</dt><dd>${instant(card.generatedAt)} UTC</dd></div>
    <div data-meta="orders"><dt>Orders</dt><dd>${count(card.orders)}</dd></div>
    <div data-meta="events"><dt>Events</dt><dd>${count(card.events)}</dd></div>
    ${options.deployment === undefined ? '' : html`<div data-meta="deployment"><dt>Deployment</dt><dd>${options.deployment}</dd></div>`}
  </dl>
</header>
<main>
<section id="kpis" aria-label="Key indicators">
  <div class="tiles">${kpiTiles(card).map(tile)}</div>
</section>

<section id="cycle-time">
  <h2>Order-to-release cycle time</h2>
  <p class="lede">From order received to the first warehouse release: ${count(card.orderToRelease.overall.count)} orders released, p50 ${duration(card.orderToRelease.overall.p50Seconds)}, p90 ${duration(card.orderToRelease.overall.p90Seconds)}.</p>
  ${figure('chart-cycle-time', 'Cycle-time distribution (orders released)')}
  <div class="tables">
    ${cycleTable('cycle-by-channel', 'Channel', card.orderToRelease.byChannel)}
    ${cycleTable('cycle-by-segment', 'Segment', card.orderToRelease.bySegment)}
    ${cycleTable('cycle-by-facility', 'Facility', card.orderToRelease.byFacility)}
  </div>
</section>

<section id="exceptions">
  <h2>Exceptions</h2>
  <p class="lede">${count(card.exceptions.total)} exceptions raised, ${perOrder(card.exceptions.perOrder, 2)} per order.</p>
  <div class="charts">
    ${figure('chart-exceptions-stage', 'Exceptions by workflow stage')}
    ${figure('chart-exceptions-team', 'Exceptions by owning team')}
  </div>
  <div class="tables">
    ${exceptionTable('exceptions-by-stage', 'Stage', card.exceptions.byStage, card.exceptions.total)}
    ${exceptionTable('exceptions-by-cause', 'Root cause', card.exceptions.byCause, card.exceptions.total)}
    ${exceptionTable('exceptions-by-team', 'Team', card.exceptions.byTeam, card.exceptions.total)}
  </div>
</section>

<section id="sla">
  <h2>SLA adherence</h2>
  ${figure('chart-sla-over-time', 'Clocks within target, per team per day')}
  ${dataTable(
    'sla-by-team',
    'Per team, over the window',
    ['Team', 'Clocks', 'Within target', 'Adherence', 'Breaches', 'Jeopardies'],
    card.sla.byTeam.map((t) => [
      t.team,
      count(t.measured),
      count(t.hits),
      percent(t.rate),
      count(t.breaches),
      count(t.jeopardies),
    ]),
  )}
</section>

<section id="queues">
  <h2>Exception queues</h2>
  ${figure('chart-queue-depth', 'Open exceptions per owning team')}
</section>

<section id="backorders">
  <h2>Backorders</h2>
  <p class="lede">${count(card.backorders.created)} created, ${count(card.backorders.filled)} filled, ${count(card.backorders.cancelled)} cancelled; ${rateOf(card.backorders.partialShipment)} of orders shipped in more than one shipment.</p>
  ${backorderTable(card.backorders.openAging)}
</section>
</main>
<footer>Handoff · charts drawn with Chart.js ${library.version} (MIT licence), inlined so this file opens offline.</footer>
<script type="application/json" id="scorecard-data">${raw(data)}</script>
<script type="application/json" id="chart-specs">${raw(specs)}</script>
<script>${raw(library.source)}</script>
<script>${raw(PAGE_SCRIPT)}</script>
</body>
</html>
`;
  return page.text;
}

/** Writes the report (creating its directory) and returns its size in bytes. */
export async function writeReport(
  card: Scorecard,
  path: string,
  options: ReportOptions = {},
): Promise<number> {
  const text = renderReport(card, options);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, text, 'utf8');
  return Buffer.byteLength(text, 'utf8');
}

// ---------------------------------------------------------------------------------------------------------
// Formatting: a missing measurement is "—", never 0.

const DASH = '—';
const integers = new Intl.NumberFormat('en-GB', { maximumFractionDigits: 0 });
const instants = new Intl.DateTimeFormat('en-GB', {
  timeZone: 'UTC',
  day: 'numeric',
  month: 'short',
  year: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  hourCycle: 'h23',
});
const days = new Intl.DateTimeFormat('en-GB', {
  timeZone: 'UTC',
  weekday: 'short',
  day: 'numeric',
  month: 'short',
});
const hours = new Intl.DateTimeFormat('en-GB', {
  timeZone: 'UTC',
  weekday: 'short',
  day: 'numeric',
  month: 'short',
  hour: '2-digit',
  minute: '2-digit',
  hourCycle: 'h23',
});

/** Seconds as its two largest units: `38s`, `4m 30s`, `1h 12m`, `2d 5h`. */
export function duration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return DASH;
  const s = Math.round(seconds);
  const parts: [number, string][] = [
    [Math.floor(s / 86_400), 'd'],
    [Math.floor((s % 86_400) / 3600), 'h'],
    [Math.floor((s % 3600) / 60), 'm'],
    [s % 60, 's'],
  ];
  const first = parts.findIndex(([n]) => n > 0);
  if (first === -1) return '0s';
  return parts
    .slice(first, first + 2)
    .filter(([n]) => n > 0)
    .map(([n, unit]) => `${n}${unit}`)
    .join(' ');
}

/** A fraction in [0, 1] as a percentage with one decimal: `96.2%`. */
export function percent(fraction: number | null): string {
  return fraction === null || !Number.isFinite(fraction) ? DASH : `${(fraction * 100).toFixed(1)}%`;
}

const count = (n: number) => integers.format(n);
const rateOf = (r: Rate) => percent(r.rate);
const perOrder = (n: number | null, digits: number) =>
  n === null || !Number.isFinite(n) ? DASH : n.toFixed(digits);

function instant(iso: string): string {
  const at = new Date(iso);
  return Number.isNaN(at.getTime()) ? iso : instants.format(at);
}

/** Bucket labels for the time-series charts: the day, or the day and hour when buckets are finer. */
function bucketLabels(points: readonly SeriesPoint[]): string[] {
  const starts = points.map((p) => new Date(p.bucketStart));
  const daily = starts.every((d) => d.getTime() % 86_400_000 === 0);
  return starts.map((d, i) =>
    Number.isNaN(d.getTime()) ? (points[i]?.bucketStart ?? '') : (daily ? days : hours).format(d),
  );
}

// ---------------------------------------------------------------------------------------------------------
// HTML: `html` escapes every interpolated value unless it is already Html; `raw` marks trusted markup.

class Html {
  constructor(readonly text: string) {}
}
type Fragment = Html | string | number | readonly Fragment[];

const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};
export const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => ENTITIES[c] ?? c);

const fragment = (value: Fragment): string =>
  value instanceof Html
    ? value.text
    : Array.isArray(value)
      ? value.map(fragment).join('')
      : escapeHtml(String(value));

function html(strings: TemplateStringsArray, ...values: Fragment[]): Html {
  return new Html(strings.reduce((out, s, i) => out + fragment(values[i - 1] ?? '') + s));
}
const raw = (text: string) => new Html(text);

/** JSON for a `<script type="application/json">`: every `<` escaped, so no value can close the element. */
function embedJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

// ---------------------------------------------------------------------------------------------------------
// KPI tiles and tables.

interface Tile {
  readonly id: string;
  readonly label: string;
  readonly value: string;
  readonly detail: string;
  /** Draws the eye: a value that should be zero and is not. */
  readonly alert?: boolean;
}

function kpiTiles(card: Scorecard): Tile[] {
  const { orderToRelease, allocation, exceptions, shipping, integration, backorders } = card;
  const lines = (r: Rate, what: string) => `${count(r.hits)} of ${count(r.measured)} ${what}`;
  const openBackorders = backorders.openAging.reduce((sum, a) => sum + a.count, 0);
  return [
    {
      id: 'order-to-release',
      label: 'Order-to-release p50',
      value: duration(orderToRelease.overall.p50Seconds),
      detail: `p90 ${duration(orderToRelease.overall.p90Seconds)} · ${count(orderToRelease.overall.count)} released`,
    },
    {
      id: 'allocation-accuracy',
      label: 'Allocation accuracy',
      value: rateOf(allocation.accuracy),
      detail: `${lines(allocation.accuracy, 'lines shipped as allocated')} · ERP↔WMS sync p50 ${duration(allocation.inventorySyncLatency.p50Seconds)}`,
    },
    {
      id: 'exceptions-per-order',
      label: 'Exceptions per order',
      value: perOrder(exceptions.perOrder, 2),
      detail: `${count(exceptions.total)} exceptions over ${count(card.orders)} orders`,
    },
    {
      id: 'confirmation-on-time',
      label: 'Shipment confirmed on time',
      value: rateOf(shipping.confirmationOnTime),
      detail: lines(shipping.confirmationOnTime, 'shipments by their ship-by date'),
    },
    {
      id: 'invoice-aligned',
      label: 'Invoice aligned with shipment',
      value: rateOf(shipping.invoiceAligned),
      detail: `${lines(shipping.invoiceAligned, 'invoices')} · confirmation→invoice p50 ${duration(shipping.confirmationToInvoice.p50Seconds)}`,
    },
    {
      id: 'invoiced-without-proof',
      label: 'Invoiced without proof of shipment',
      value: count(shipping.invoicedWithoutProof),
      detail: 'must be 0',
      alert: shipping.invoicedWithoutProof > 0,
    },
    {
      id: 'integration-failures',
      label: 'Integration failures',
      value: count(integration.failures),
      detail: `${count(integration.recovered)} recovered · recovery p50 ${duration(integration.recoveryTime.p50Seconds)} · ${perOrder(integration.failuresPerDay, 1)} a day`,
    },
    {
      id: 'manual-interventions',
      label: 'Manual interventions',
      value: count(integration.manualInterventions),
      detail: 'exceptions resolved by a person',
    },
    {
      id: 'partial-shipment-rate',
      label: 'Partial shipments',
      value: rateOf(backorders.partialShipment),
      detail: lines(backorders.partialShipment, 'orders shipped in more than one shipment'),
    },
    {
      id: 'open-backorders',
      label: 'Open backorders',
      value: count(openBackorders),
      detail: `${count(backorders.created)} created · ${count(backorders.filled)} filled · ${count(backorders.cancelled)} cancelled`,
    },
  ];
}

const tile = (t: Tile) => html`<div class="tile${t.alert ? ' alert' : ''}" data-kpi="${t.id}">
    <div class="label">${t.label}</div><div class="value">${t.value}</div><div class="detail">${t.detail}</div>
  </div>`;

/** A table whose first column is a key and whose other columns are numbers (right-aligned). */
function dataTable(
  name: string,
  caption: string,
  header: readonly string[],
  rows: readonly (readonly string[])[],
): Html {
  const body =
    rows.length === 0
      ? html`<tr><td colspan="${header.length}" class="empty">Nothing in this window.</td></tr>`
      : rows.map(
          (row) =>
            html`<tr>${row.map((cell, i) => (i === 0 ? html`<th scope="row">${cell}</th>` : html`<td>${cell}</td>`))}</tr>`,
        );
  return html`<table data-table="${name}">
    <caption>${caption}</caption>
    <thead><tr>${header.map((h) => html`<th scope="col">${h}</th>`)}</tr></thead>
    <tbody>${body}</tbody>
  </table>`;
}

const cycleTable = (name: string, group: string, rows: readonly GroupedPercentiles[]) =>
  dataTable(
    name,
    `By ${group.toLowerCase()}`,
    [group, 'Released', 'p50', 'p90'],
    rows.map((r) => [r.key, count(r.count), duration(r.p50Seconds), duration(r.p90Seconds)]),
  );

const exceptionTable = (name: string, group: string, rows: readonly CountedKey[], total: number) =>
  dataTable(
    name,
    `By ${group.toLowerCase()}`,
    [group, 'Exceptions', 'Per order', 'Share'],
    rows.map((r) => [
      r.key,
      count(r.count),
      perOrder(r.perOrder, 3),
      percent(total > 0 ? r.count / total : null),
    ]),
  );

function backorderTable(rows: readonly CountedKey[]): Html {
  const open = rows.reduce((sum, r) => sum + r.count, 0);
  return dataTable(
    'backorder-aging',
    'Open backorders by age at the end of the window',
    ['Age', 'Open', 'Share'],
    rows.map((r) => [r.key, count(r.count), percent(open > 0 ? r.count / open : null)]),
  );
}

// ---------------------------------------------------------------------------------------------------------
// Charts: plain-JSON Chart.js configurations built (and type-checked) here; the page script only draws them.

/** Okabe–Ito colours, distinguishable with the common colour-vision deficiencies; one per team, everywhere. */
const TEAM_COLOURS: Record<string, string> = {
  finance: '#0072B2',
  'customer-service': '#CC79A7',
  warehouse: '#E69F00',
  logistics: '#009E73',
  integration: '#D55E00',
};
const SPARE_COLOURS = ['#56B4E9', '#000000', '#999999', '#F0E442'];
const BAR_COLOUR = '#0072B2';

function teamColours(teams: readonly string[]): string[] {
  let spare = 0;
  return teams.map((t) => TEAM_COLOURS[t] ?? SPARE_COLOURS[spare++ % SPARE_COLOURS.length] ?? BAR_COLOUR);
}

export interface ChartSpec {
  readonly id: ChartId;
  /** Values are fractions: the page formats the y axis and tooltips as percentages. */
  readonly percent: boolean;
  readonly config:
    | ChartConfiguration<'bar', number[], string>
    | ChartConfiguration<'doughnut', number[], string>
    | ChartConfiguration<'line', (number | null)[], string>;
}

const COMMON = { animation: false, responsive: true, maintainAspectRatio: false } as const;

function barChart(id: ChartId, label: string, labels: readonly string[], data: readonly number[]): ChartSpec {
  return {
    id,
    percent: false,
    config: {
      type: 'bar',
      data: { labels: [...labels], datasets: [{ label, data: [...data], backgroundColor: BAR_COLOUR }] },
      options: {
        ...COMMON,
        plugins: { legend: { display: false } },
        scales: { y: { beginAtZero: true, ticks: { precision: 0 } } },
      },
    },
  };
}

/** One line per series key (first-seen order); a null value is a gap in its line, not a zero. */
function lineChart(id: ChartId, points: readonly SeriesPoint[], percent: boolean): ChartSpec {
  const keys = [...new Set(points.flatMap((p) => Object.keys(p.values)))];
  const colours = teamColours(keys);
  return {
    id,
    percent,
    config: {
      type: 'line',
      data: {
        labels: bucketLabels(points),
        datasets: keys.map((key, i) => ({
          label: key,
          data: points.map((p) => p.values[key] ?? null),
          borderColor: colours[i],
          backgroundColor: colours[i],
          spanGaps: false,
          pointRadius: 3,
          // Points on the axis limits (100%, the deepest queue) are drawn whole, not cut by the chart area.
          clip: 6,
        })),
      },
      options: {
        ...COMMON,
        interaction: { mode: 'index', intersect: false },
        scales: percent
          ? { y: { suggestedMin: 0.5, max: 1 } }
          : { y: { beginAtZero: true, ticks: { precision: 0 } } },
      },
    },
  };
}

export function chartSpecs(card: Scorecard): ChartSpec[] {
  const { distribution } = card.orderToRelease;
  const bucket = (i: number) =>
    distribution.labels[i] ??
    (i < distribution.upperSeconds.length
      ? `≤ ${duration(distribution.upperSeconds[i] ?? null)}`
      : `> ${duration(distribution.upperSeconds.at(-1) ?? null)}`);
  const byTeam = card.exceptions.byTeam;
  return [
    barChart(
      'chart-cycle-time',
      'Orders',
      distribution.counts.map((_, i) => bucket(i)),
      distribution.counts,
    ),
    barChart(
      'chart-exceptions-stage',
      'Exceptions',
      card.exceptions.byStage.map((s) => s.key),
      card.exceptions.byStage.map((s) => s.count),
    ),
    {
      id: 'chart-exceptions-team',
      percent: false,
      config: {
        type: 'doughnut',
        data: {
          labels: byTeam.map((t) => t.key),
          datasets: [
            {
              label: 'Exceptions',
              data: byTeam.map((t) => t.count),
              backgroundColor: teamColours(byTeam.map((t) => t.key)),
            },
          ],
        },
        options: { ...COMMON, plugins: { legend: { position: 'right' } } },
      },
    },
    lineChart('chart-sla-over-time', card.sla.overTime, true),
    lineChart('chart-queue-depth', card.queueDepth, false),
  ];
}

// ---------------------------------------------------------------------------------------------------------
// The inlined parts of the page.

const require = createRequire(import.meta.url);
let library: { readonly source: string; readonly version: string } | undefined;

/**
 * Chart.js's UMD build, read once from the installed package (its `exports` map hides `dist/`, so it is
 * found next to the CommonJS entry). The source-map comment is dropped: there is nothing to map to offline.
 */
function chartLibrary(): { readonly source: string; readonly version: string } {
  if (!library) {
    const file = join(dirname(require.resolve('chart.js')), 'chart.umd.min.js');
    const source = readFileSync(file, 'utf8')
      .replace(/\n\/\/# sourceMappingURL=\S*\s*$/, '\n')
      .replace(/<\/script/gi, '<\\/script');
    library = { source, version: /Chart\.js v([\w.-]+)/.exec(source)?.[1] ?? 'unknown' };
  }
  return library;
}

/** Draws each chart spec, then publishes what was drawn (`window.__charts`) and flags the body ready. */
const PAGE_SCRIPT = `
(function () {
  'use strict';
  var body = document.body;
  var read = function (id) { return JSON.parse(document.getElementById(id).textContent); };
  var percent = function (v) { return v === null || v === undefined ? '\\u2014' : (v * 100).toFixed(1) + '%'; };
  try {
    Chart.defaults.font.family = getComputedStyle(body).fontFamily;
    Chart.defaults.color = '#3d4550';
    var drawn = {};
    read('chart-specs').forEach(function (spec) {
      var canvas = document.getElementById(spec.id);
      var config = spec.config;
      if (spec.percent) {
        config.options.scales.y.ticks = { callback: function (v) { return Math.round(v * 100) + '%'; } };
        config.options.plugins = config.options.plugins || {};
        config.options.plugins.tooltip = { callbacks: { label: function (c) { return c.dataset.label + ': ' + percent(c.raw); } } };
      }
      new Chart(canvas, config);
      var chart = Chart.getChart(canvas);
      drawn[spec.id] = {
        type: chart.config.type,
        labels: chart.data.labels.slice(),
        datasets: chart.data.datasets.map(function (d) { return { label: d.label, data: d.data.slice() }; }),
      };
    });
    window.__charts = drawn;
    window.addEventListener('beforeprint', function () {
      Object.values(Chart.instances).forEach(function (c) { c.resize(); });
    });
    body.dataset.chartsReady = 'true';
  } catch (error) {
    body.dataset.chartsReady = 'false';
    body.dataset.chartsError = String((error && error.message) || error);
    throw error;
  }
})();
`;

const STYLE = `
:root {
  --ink: #1f2933; --muted: #5f6b7a; --rule: #d9dee5; --panel: #f6f8fa; --accent: #0072B2; --alert: #b3261e;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  color: var(--ink); background: #fff; line-height: 1.45;
}
body { margin: 0 auto; max-width: 1180px; padding: 24px 28px 40px; }
h1 { font-size: 1.6rem; margin: 0 0 8px; }
h2 { font-size: 1.2rem; margin: 0 0 6px; padding-top: 8px; border-top: 2px solid var(--rule); }
header { margin-bottom: 20px; }
.meta { display: flex; flex-wrap: wrap; gap: 6px 28px; margin: 0; color: var(--muted); }
.meta div { display: flex; gap: 6px; }
.meta dt { font-weight: 600; }
.meta dd { margin: 0; color: var(--ink); font-variant-numeric: tabular-nums; }
section { margin: 28px 0; }
.lede { color: var(--muted); margin: 0 0 12px; }
.tiles { display: grid; grid-template-columns: repeat(auto-fill, minmax(210px, 1fr)); gap: 12px; }
.tile { background: var(--panel); border: 1px solid var(--rule); border-left: 4px solid var(--accent); border-radius: 6px; padding: 10px 12px; }
.tile.alert { border-left-color: var(--alert); }
.tile.alert .value { color: var(--alert); }
.tile .label { font-size: 0.85rem; color: var(--muted); }
.tile .value { font-size: 1.7rem; font-weight: 650; font-variant-numeric: tabular-nums; }
.tile .detail { font-size: 0.8rem; color: var(--muted); }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 16px; }
.chart { margin: 0 0 16px; }
.chart figcaption { font-weight: 600; margin-bottom: 4px; }
.canvas-box { position: relative; height: 280px; }
.empty { color: var(--muted); font-style: italic; }
.tables { display: grid; grid-template-columns: repeat(auto-fit, minmax(320px, 1fr)); gap: 16px; align-items: start; }
table { border-collapse: collapse; width: 100%; font-size: 0.9rem; font-variant-numeric: tabular-nums; }
caption { text-align: left; font-weight: 600; padding-bottom: 4px; }
th, td { padding: 4px 8px; border-bottom: 1px solid var(--rule); }
thead th { text-align: right; color: var(--muted); font-weight: 600; border-bottom-width: 2px; }
thead th:first-child, tbody th { text-align: left; }
tbody th { font-weight: 500; }
td { text-align: right; white-space: nowrap; }
section > table { max-width: 760px; }
footer { margin-top: 32px; font-size: 0.8rem; color: var(--muted); }
@media print {
  body { max-width: none; padding: 0; }
  section, .tile, .chart, table { break-inside: avoid; }
  .tile { border-left-width: 2px; }
  .chart canvas { max-width: 100% !important; height: auto !important; }
  @page { margin: 14mm; }
}
`;
