import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { chartSpecs, duration, percent, renderReport, writeReport } from '../../../cli/report.ts';
import type { Scorecard } from '../../../lambdas/core/scorecard-model.ts';
import { sampleScorecard } from '../../fixtures/scorecard-sample.ts';

/** The report's HTML without opening a browser: self-contained, escaped, honest about missing values. */

const HOSTILE = '<script>alert("team")</script>';

const inlineScripts = (page: string) =>
  [...page.matchAll(/<script(\s[^>]*)?>([\s\S]*?)<\/script>/g)].map((m) => ({
    attributes: m[1] ?? '',
    body: m[2] ?? '',
  }));
const embedded = (page: string, id: string) =>
  inlineScripts(page).find((s) => s.attributes.includes(`id="${id}"`))?.body ?? '';
/** What a reader sees: the markup without scripts, styles and tags. */
const visibleText = (page: string) =>
  page
    .replace(/<script[\s\S]*?<\/script>/g, '')
    .replace(/<style[\s\S]*?<\/style>/g, '')
    .replace(/<[^>]+>/g, ' ');
const sha256 = (text: string) => `sha256-${createHash('sha256').update(text).digest('base64')}`;

/** A window in which nothing happened: every percentile and rate missing, every list empty. */
const quiet: Scorecard = {
  window: { from: '2026-12-06T00:00:00.000Z', to: '2026-12-07T00:00:00.000Z' },
  generatedAt: '2026-12-07T00:00:01.000Z',
  orders: 0,
  events: 0,
  orderToRelease: {
    overall: { count: 0, p50Seconds: null, p90Seconds: null },
    byChannel: [],
    bySegment: [],
    byFacility: [],
    distribution: { upperSeconds: [3600], labels: ['≤ 1h', '> 1h'], counts: [0, 0] },
  },
  allocation: {
    accuracy: { measured: 0, hits: 0, rate: null },
    inventorySyncLatency: { count: 0, p50Seconds: null, p90Seconds: null },
  },
  exceptions: { total: 0, perOrder: null, byStage: [], byCause: [], byTeam: [] },
  shipping: {
    confirmationOnTime: { measured: 0, hits: 0, rate: null },
    invoiceAligned: { measured: 0, hits: 0, rate: null },
    invoicedWithoutProof: 0,
    confirmationToInvoice: { count: 0, p50Seconds: null, p90Seconds: null },
  },
  integration: {
    failures: 0,
    failuresPerDay: null,
    recovered: 0,
    recoveryTime: { count: 0, p50Seconds: null, p90Seconds: null },
    manualInterventions: 0,
  },
  backorders: {
    created: 0,
    filled: 0,
    cancelled: 0,
    openAging: [],
    partialShipment: { measured: 0, hits: 0, rate: null },
  },
  sla: {
    byTeam: [{ team: 'finance', measured: 0, hits: 0, rate: null, breaches: 0, jeopardies: 0 }],
    overTime: [{ bucketStart: '2026-12-06T00:00:00.000Z', values: { finance: null } }],
  },
  queueDepth: [],
};

describe('renderReport', () => {
  const page = renderReport(sampleScorecard, { deployment: 'dev' });

  it('loads nothing from anywhere: no external src, href, stylesheet or import, and a CSP that forbids it', () => {
    const library = inlineScripts(page).find((s) => s.body.includes('Chart.js v4.'))?.body ?? '';
    const markup = page.replace(library, '');
    // The first offending match (not the 230 KB page) is what a failure shows.
    const first = (text: string, pattern: RegExp) => pattern.exec(text)?.[0];
    expect(first(markup, /\b(src|href)\s*=\s*["']?\s*(https?:)?\/\/[^\s"'>]*/i)).toBeUndefined();
    expect(first(markup, /<link\b[^>]*>/i)).toBeUndefined();
    expect(first(markup, /@import|url\(/i)).toBeUndefined();
    expect(first(markup, /https?:\/\/\S*/)).toBeUndefined();
    expect(first(library, /sourceMappingURL\S*/)).toBeUndefined();
    expect(inlineScripts(page).every((s) => !/\bsrc\s*=/.test(s.attributes))).toBe(true);
    expect(
      first(page, /<meta http-equiv="Content-Security-Policy" content="default-src &#39;none&#39;;/),
    ).toBeDefined();
  });

  it('inlines Chart.js, and its CSP allows exactly the inline scripts and style it carries', () => {
    const scripts = inlineScripts(page).filter((s) => !s.attributes.includes('application/json'));
    expect(scripts).toHaveLength(2);
    expect(scripts[0]?.body).toContain('Chart.js v4.');
    const policy = /content="(default-src[^"]*)"/.exec(page)?.[1]?.replaceAll('&#39;', "'") ?? '';
    const style = /<style>([\s\S]*?)<\/style>/.exec(page)?.[1] ?? '';
    expect(policy).toContain(
      `script-src '${sha256(scripts[0]?.body ?? '')}' '${sha256(scripts[1]?.body ?? '')}'`,
    );
    expect(policy).toContain(`style-src '${sha256(style)}'`);
  });

  it('embeds the scorecard as JSON that parses back to the same value', () => {
    expect(JSON.parse(embedded(page, 'scorecard-data'))).toEqual(sampleScorecard);
  });

  it('escapes hostile names in the markup and cannot be broken out of by them in the embedded JSON', () => {
    const hostile: Scorecard = {
      ...sampleScorecard,
      exceptions: {
        ...sampleScorecard.exceptions,
        byTeam: [{ key: HOSTILE, count: 3, perOrder: 0.01 }],
      },
      sla: {
        ...sampleScorecard.sla,
        byTeam: [{ team: HOSTILE, measured: 4, hits: 3, rate: 0.75, breaches: 1, jeopardies: 0 }],
      },
    };
    const html = renderReport(hostile, {
      title: 'Q4 "review" <b>',
      deployment: '<img src=x onerror=alert(1)>',
    });

    expect(html).not.toContain(HOSTILE);
    expect(html).not.toContain('<img src=x');
    expect(html).toContain('<th scope="row">&lt;script&gt;alert(&quot;team&quot;)&lt;/script&gt;</th>');
    expect(html).toContain('<title>Q4 &quot;review&quot; &lt;b&gt;</title>');
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    // A value that closed its <script> element would leave more than the four scripts the report writes.
    expect(inlineScripts(html)).toHaveLength(4);
    expect(embedded(html, 'scorecard-data')).toContain('\\u003cscript>');
    expect(JSON.parse(embedded(html, 'scorecard-data'))).toEqual(hostile);
    const teamChart = JSON.parse(embedded(html, 'chart-specs'))[2];
    expect(teamChart.config.data.labels).toEqual([HOSTILE]);
  });

  it('writes "—" for what was not measured and never a made-up zero, NaN or null', () => {
    const html = renderReport(quiet);
    const text = visibleText(html);
    expect(text).not.toMatch(/NaN|undefined|null|Infinity/);
    for (const kpi of [
      'order-to-release',
      'allocation-accuracy',
      'exceptions-per-order',
      'partial-shipment-rate',
    ]) {
      expect(html).toMatch(
        new RegExp(`data-kpi="${kpi}">\\s*<div class="label">[^<]*</div><div class="value">—<`),
      );
    }
    expect(text).toContain('Nothing in this window.');
    expect(text).toContain('Nothing measured in this window.');
    const sla = chartSpecs(quiet).find((c) => c.id === 'chart-sla-over-time');
    expect(sla?.config.data.datasets[0]?.data).toEqual([null]);
  });
});

describe('writeReport', () => {
  it('creates the directory and returns the size of what it wrote', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'handoff-report-unit-'));
    try {
      const file = join(dir, 'reports', 'week-49', 'scorecard.html');
      const size = await writeReport(sampleScorecard, file, { title: 'Week 49' });
      expect(size).toBe((await stat(file)).size);
      expect(await readFile(file, 'utf8')).toContain('<h1>Week 49</h1>');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('report formatting', () => {
  it('gives durations in their two largest units', () => {
    expect([0, 38, 270, 840, 4320, 28_800, 183_600, null].map(duration)).toEqual([
      '0s',
      '38s',
      '4m 30s',
      '14m',
      '1h 12m',
      '8h',
      '2d 3h',
      '—',
    ]);
  });

  it('gives rates as percentages with one decimal, and "—" when nothing was measured', () => {
    expect([1142 / 1187, 1, 0, null].map(percent)).toEqual(['96.2%', '100.0%', '0.0%', '—']);
  });
});
