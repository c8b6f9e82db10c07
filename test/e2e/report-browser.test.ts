import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CHART_IDS, writeReport } from '../../cli/report.ts';
import { sampleScorecard as card } from '../fixtures/scorecard-sample.ts';

/**
 * `handoff report` as a reader sees it: the report for the sample scorecard written to disk and opened from
 * file:// in real headless Chromium (Debian's `chromium`), with every non-file request refused, then what
 * Chart.js actually drew read back from the page and compared with the scorecard.
 */

const executable = (path: string) => {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

const INSTALL =
  'install it with `apt-get install -y chromium` (Debian), or point HANDOFF_CHROMIUM at a Chromium binary';

/** HANDOFF_CHROMIUM (which must then be right), else /usr/bin/chromium, else `chromium` on PATH. */
function findChromium(): string {
  const chosen = process.env.HANDOFF_CHROMIUM;
  if (chosen) {
    if (executable(chosen)) return chosen;
    throw new Error(`HANDOFF_CHROMIUM=${chosen} is not an executable file: ${INSTALL}.`);
  }
  const onPath = (process.env.PATH ?? '').split(delimiter).map((dir) => join(dir, 'chromium'));
  const found = ['/usr/bin/chromium', ...onPath].find(executable);
  if (!found)
    throw new Error(`No Chromium found (tried /usr/bin/chromium and chromium on PATH): ${INSTALL}.`);
  return found;
}

interface Drawn {
  readonly type: string;
  readonly labels: readonly string[];
  readonly datasets: readonly { readonly label: string; readonly data: readonly (number | null)[] }[];
}

/**
 * The few browser globals the functions passed to page.evaluate touch: they run in Chromium, but are
 * type-checked here, where the project compiles without the DOM library.
 */
interface Canvas {
  readonly width: number;
  readonly height: number;
  getBoundingClientRect(): { readonly width: number; readonly height: number };
  getContext(kind: '2d'): {
    getImageData(x: number, y: number, w: number, h: number): { readonly data: Uint8ClampedArray };
  } | null;
}
interface Bar {
  readonly x: number;
  readonly y: number;
  readonly base: number;
}
declare const document: {
  getElementById(id: string): Canvas | null;
  readonly body: { readonly dataset: Readonly<Record<string, string | undefined>> };
};
declare const window: {
  readonly __charts: Record<string, Drawn>;
  readonly Chart: {
    getChart(canvas: Canvas): { getDatasetMeta(i: number): { readonly data: Bar[] } } | undefined;
  };
};

let browser: Browser;
let page: Page;
let dir: string;
let bytes: number;
const offsite: string[] = [];
const requested: string[] = [];
const errors: string[] = [];
/** Set when there is no Chromium: every test then fails with how to install it (a missing browser is no skip). */
let noChromium: Error | undefined;

beforeAll(async () => {
  let executablePath: string;
  try {
    executablePath = findChromium();
  } catch (error) {
    noChromium = error as Error;
    return;
  }
  browser = await chromium.launch({ executablePath, headless: true, args: ['--no-sandbox'] });
  dir = await mkdtemp(join(tmpdir(), 'handoff-report-'));
  const file = join(dir, 'nested', 'report.html');
  bytes = await writeReport(card, file, { deployment: 'ci' });

  page = await browser.newPage({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 });
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => errors.push(`page: ${error.message}`));
  page.on('request', (request) => requested.push(request.url()));
  await page.route('**/*', async (route) => {
    const url = route.request().url();
    if (url.startsWith('file:')) return route.continue();
    offsite.push(url);
    return route.abort('blockedbyclient');
  });
  await page.goto(pathToFileURL(file).href);
  await page.waitForSelector('body[data-charts-ready]', { state: 'attached' });
});

beforeEach(() => {
  if (noChromium) throw noChromium;
});

afterAll(async () => {
  await browser?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const drawn = () => page.evaluate(() => window.__charts);
const text = async (selector: string) => (await page.locator(selector).textContent())?.trim();
const series = (chart: Drawn | undefined, label: string) =>
  chart?.datasets.find((d) => d.label === label)?.data;

describe('handoff report in headless Chromium', () => {
  it('opens from disk without asking the network for anything, and draws without errors', async () => {
    expect(bytes).toBeGreaterThan(100_000);
    expect(await page.evaluate(() => document.body.dataset.chartsReady)).toBe('true');
    expect(offsite).toEqual([]);
    expect(requested.length).toBeGreaterThan(0);
    expect(requested.every((url) => url.startsWith('file:'))).toBe(true);
    expect(errors).toEqual([]);
    expect(await page.title()).toBe('Handoff process scorecard');
  });

  it('draws every chart on a canvas with a real size and painted pixels', async () => {
    const canvases = await page.evaluate((ids) => {
      return ids.map((id) => {
        const canvas = document.getElementById(id);
        if (!canvas) return { id, found: false, width: 0, height: 0, painted: 0 };
        const context = canvas.getContext('2d');
        const pixels =
          context?.getImageData(0, 0, canvas.width, canvas.height).data ?? new Uint8ClampedArray();
        let painted = 0;
        for (let i = 3; i < pixels.length; i += 4) if ((pixels[i] ?? 0) > 0) painted++;
        const box = canvas.getBoundingClientRect();
        return { id, found: true, width: box.width, height: box.height, painted };
      });
    }, CHART_IDS);
    expect(canvases.map((c) => c.id)).toEqual([...CHART_IDS]);
    for (const canvas of canvases) {
      expect(canvas, canvas.id).toMatchObject({ found: true });
      expect(canvas.width, canvas.id).toBeGreaterThan(100);
      expect(canvas.height, canvas.id).toBeGreaterThan(100);
      expect(canvas.painted, `${canvas.id} painted pixels`).toBeGreaterThan(1000);
    }
  });

  it('paints the tallest cycle-time bar in the bar colour where Chart.js placed it', async () => {
    const tallest = card.orderToRelease.distribution.counts.indexOf(
      Math.max(...card.orderToRelease.distribution.counts),
    );
    const pixel = await page.evaluate((index) => {
      const canvas = document.getElementById('chart-cycle-time');
      const bar = canvas && window.Chart.getChart(canvas)?.getDatasetMeta(0).data[index];
      if (!canvas || !bar) return [];
      const scale = canvas.width / canvas.getBoundingClientRect().width;
      const x = Math.round(bar.x * scale);
      const y = Math.round(((bar.y + bar.base) / 2) * scale);
      return [...(canvas.getContext('2d')?.getImageData(x, y, 1, 1).data ?? [])];
    }, tallest);
    expect(pixel).toEqual([0x00, 0x72, 0xb2, 255]);
  });

  it('charts the cycle-time distribution and the exceptions by stage and team from the scorecard', async () => {
    const charts = await drawn();
    expect(Object.keys(charts).sort()).toEqual([...CHART_IDS].sort());

    expect(charts['chart-cycle-time']).toEqual({
      type: 'bar',
      labels: ['≤ 15m', '15–30m', '30m–1h', '1–2h', '2–4h', '4–8h', '8–24h', '> 24h'],
      datasets: [{ label: 'Orders', data: [18, 41, 97, 88, 63, 42, 17, 5] }],
    });
    expect(charts['chart-exceptions-stage']).toEqual({
      type: 'bar',
      labels: ['allocated', 'credit-hold', 'released', 'received', 'shipped', 'invoiced'],
      datasets: [{ label: 'Exceptions', data: [27, 19, 16, 14, 12, 8] }],
    });
    expect(charts['chart-exceptions-team']).toEqual({
      type: 'doughnut',
      labels: ['warehouse', 'finance', 'integration', 'customer-service', 'logistics'],
      datasets: [{ label: 'Exceptions', data: [31, 24, 21, 12, 8] }],
    });
  });

  it('draws SLA adherence per team per day, leaving gaps (not zeros) where no clock ran', async () => {
    const sla = (await drawn())['chart-sla-over-time'];
    const days = ['Mon 30 Nov', 'Tue 1 Dec', 'Wed 2 Dec', 'Thu 3 Dec', 'Fri 4 Dec', 'Sat 5 Dec', 'Sun 6 Dec'];
    expect(sla?.type).toBe('line');
    expect(sla?.labels).toEqual(days);
    expect(sla?.datasets.map((d) => d.label)).toEqual(card.sla.byTeam.map((t) => t.team));
    for (const team of card.sla.byTeam.map((t) => t.team)) {
      expect(series(sla, team), team).toEqual(card.sla.overTime.map((p) => p.values[team] ?? null));
    }
    expect(series(sla, 'integration')).toEqual([0.8, 0.75, 0.86, 0.83, 0.8, null, null]);
    expect(series(sla, 'customer-service')?.at(-1)).toBeNull();
  });

  it('draws the open-exception queue of every team over the window', async () => {
    const queues = (await drawn())['chart-queue-depth'];
    expect(queues?.type).toBe('line');
    expect(queues?.labels).toHaveLength(card.queueDepth.length);
    expect(queues?.labels[0]).toBe('Mon 30 Nov');
    expect(series(queues, 'warehouse')).toEqual([4, 7, 9, 6, 5, 3, 2]);
    for (const team of Object.keys(card.queueDepth[0]?.values ?? {})) {
      expect(series(queues, team), team).toEqual(card.queueDepth.map((p) => p.values[team]));
    }
  });

  it('shows the header and the KPI tiles formatted for a reader', async () => {
    expect(await text('[data-meta=window] dd')).toBe('30 Nov 2026, 00:00 – 7 Dec 2026, 00:00 UTC');
    expect(await text('[data-meta=orders] dd')).toBe('412');
    expect(await text('[data-meta=events] dd')).toBe('5,318');
    expect(await text('[data-meta=deployment] dd')).toBe('ci');

    const kpi = (id: string) => text(`[data-kpi=${id}] .value`);
    expect(await kpi('order-to-release')).toBe('1h 12m');
    expect(await text('[data-kpi=order-to-release] .detail')).toContain('p90 5h 40m');
    expect(await kpi('allocation-accuracy')).toBe('96.2%');
    expect(await kpi('exceptions-per-order')).toBe('0.23');
    expect(await kpi('confirmation-on-time')).toBe('92.5%');
    expect(await kpi('invoice-aligned')).toBe('98.2%');
    expect(await kpi('invoiced-without-proof')).toBe('0');
    expect(await kpi('integration-failures')).toBe('21');
    expect(await text('[data-kpi=integration-failures] .detail')).toContain('recovery p50 14m');
    expect(await kpi('manual-interventions')).toBe('38');
    expect(await kpi('partial-shipment-rate')).toBe('6.5%');
    expect(await kpi('open-backorders')).toBe('12');
  });

  it('tabulates cycle time, exceptions, SLA and backorder aging, with "—" where nothing was measured', async () => {
    const row = (table: string, key: string) =>
      page
        .locator(`table[data-table=${table}] tbody tr`)
        .filter({ has: page.locator('th', { hasText: key }) })
        .locator('th, td')
        .allInnerTexts();
    expect(await row('cycle-by-channel', 'retail-replenishment')).toEqual([
      'retail-replenishment',
      '96',
      '1h 45m',
      '8h',
    ]);
    expect(await row('cycle-by-segment', 'enterprise')).toEqual(['enterprise', '128', '1h 30m', '7h']);
    expect(await row('cycle-by-facility', 'VENDOR-DROPSHIP')).toEqual(['VENDOR-DROPSHIP', '0', '—', '—']);
    expect(await row('exceptions-by-stage', 'allocated')).toEqual(['allocated', '27', '0.066', '28.1%']);
    expect(await row('exceptions-by-cause', 'integration-failure')).toEqual([
      'integration-failure',
      '21',
      '0.051',
      '21.9%',
    ]);
    expect(await row('exceptions-by-team', 'warehouse')).toEqual(['warehouse', '31', '0.075', '32.3%']);
    expect(await row('sla-by-team', 'warehouse')).toEqual(['warehouse', '402', '377', '93.8%', '25', '41']);
    expect(await row('backorder-aging', '1–3 days')).toEqual(['1–3 days', '5', '41.7%']);
  });
});
