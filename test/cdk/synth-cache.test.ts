import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { App } from 'aws-cdk-lib';
import { afterAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../lib/app.ts';
import { PARTNERS_PLACEHOLDER, synthCacheKey, synthesizeCached } from '../../local/synth-cache.ts';

/**
 * The synth cache hands the local cloud the same assembly a synth would have written: the placeholder
 * partner URL is replaced everywhere, and a different context is a different entry.
 */
const scratch = mkdtempSync(join(tmpdir(), 'handoff-synth-cache-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const context = { 'aws:cdk:bundling-stacks': [], 'handoff:slaDetectorMinutes': 60 };
const partnersBaseUrl = 'http://127.0.0.1:43210';

function synthesizeInto(withContext: Record<string, unknown>, outdir: string): void {
  const app = new App({ outdir, context: withContext });
  buildApp(app);
  app.synth();
}

/**
 * Every JSON file of an assembly by its path inside it, but two kinds the local cloud never reads: the
 * construct metadata (stack traces of where each construct was made, which name the caller) and the asset
 * manifests (for upload on deployment; they name each template by the hash of its text as synthesized).
 * The cloud manifest names the templates' uploads by the same hash, which is masked.
 */
function jsonFiles(dir: string, root = dir): Record<string, string> {
  const files: Record<string, string> = {};
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) Object.assign(files, jsonFiles(path, root));
    else if (entry.name.endsWith('.json') && !/\.(metadata|assets)\.json$/.test(entry.name))
      files[relative(root, path)] = readFileSync(path, 'utf8').replace(/[0-9a-f]{64}\.json/g, '<hash>.json');
  }
  return files;
}

describe('the synth cache', () => {
  const cacheRoot = join(scratch, 'cache');
  let synths = 0;
  const counted = (withContext: Record<string, unknown>, outdir: string) => {
    synths += 1;
    synthesizeInto(withContext, outdir);
  };

  it('gives the assembly a synth with the real partner URL gives, and synthesizes once per context', async () => {
    const direct = join(scratch, 'direct');
    synthesizeInto({ ...context, 'handoff:partnersBaseUrl': partnersBaseUrl }, direct);
    const first = await synthesizeCached({ context, partnersBaseUrl, synthesize: counted, cacheRoot });
    const second = await synthesizeCached({ context, partnersBaseUrl, synthesize: counted, cacheRoot });
    expect(synths).toBe(1);
    const expected = jsonFiles(direct);
    expect(Object.keys(expected).length).toBeGreaterThan(2);
    for (const copy of [first, second]) {
      const files = jsonFiles(copy);
      expect(Object.keys(files).sort()).toEqual(Object.keys(expected).sort());
      for (const [path, text] of Object.entries(files)) {
        expect(text.includes(PARTNERS_PLACEHOLDER), path).toBe(false);
        expect(text, path).toBe(expected[path]);
      }
    }
    const template = Object.entries(jsonFiles(first)).find(([path]) => path.includes('Stateless.template'));
    expect(template?.[1]).toContain(`${partnersBaseUrl}/erp`);
    rmSync(first, { recursive: true, force: true });
    rmSync(second, { recursive: true, force: true });
  }, 60_000);

  it('keys an entry by the context, so another setting is synthesized anew', async () => {
    expect(synthCacheKey({ ...context, 'handoff:slaDetectorMinutes': 1 })).not.toBe(synthCacheKey(context));
    expect(synthCacheKey({ 'handoff:slaDetectorMinutes': 60, 'aws:cdk:bundling-stacks': [] })).toBe(
      synthCacheKey(context),
    );
    const before = synths;
    const other = await synthesizeCached({
      context: { ...context, 'handoff:slaDetectorMinutes': 5 },
      partnersBaseUrl,
      synthesize: counted,
      cacheRoot,
    });
    expect(synths).toBe(before + 1);
    const template = Object.entries(jsonFiles(other)).find(([path]) => path.includes('Stateless.template'));
    expect(template?.[1]).toContain('rate(5 minutes)');
    rmSync(other, { recursive: true, force: true });
  }, 60_000);

  it('synthesizes every time, with the real URL, when HANDOFF_SYNTH_CACHE=off', async () => {
    const setting = process.env.HANDOFF_SYNTH_CACHE;
    const before = synths;
    try {
      process.env.HANDOFF_SYNTH_CACHE = 'off';
      const dirs = [
        await synthesizeCached({ context, partnersBaseUrl, synthesize: counted, cacheRoot }),
        await synthesizeCached({ context, partnersBaseUrl, synthesize: counted, cacheRoot }),
      ];
      expect(synths).toBe(before + 2);
      for (const dir of dirs) {
        const template = Object.entries(jsonFiles(dir)).find(([path]) => path.includes('Stateless.template'));
        expect(template?.[1]).toContain(`${partnersBaseUrl}/erp`);
        expect(template?.[1]).not.toContain(PARTNERS_PLACEHOLDER);
        rmSync(dir, { recursive: true, force: true });
      }
    } finally {
      if (setting === undefined) delete process.env.HANDOFF_SYNTH_CACHE;
      else process.env.HANDOFF_SYNTH_CACHE = setting;
    }
  }, 60_000);

  it('refuses a partner base URL in the context, where the placeholder would replace it', async () => {
    await expect(
      synthesizeCached({
        context: { ...context, 'handoff:partnersBaseUrl': 'http://127.0.0.1:1' },
        partnersBaseUrl,
        synthesize: counted,
        cacheRoot,
      }),
    ).rejects.toThrow(/partnersBaseUrl, not in the context/);
  });

  it('keys an entry by the region the app reads from the environment', () => {
    const region = process.env.CDK_DEFAULT_REGION;
    try {
      process.env.CDK_DEFAULT_REGION = 'eu-west-1';
      const eu = synthCacheKey(context);
      process.env.CDK_DEFAULT_REGION = 'us-east-1';
      expect(synthCacheKey(context)).not.toBe(eu);
    } finally {
      if (region === undefined) delete process.env.CDK_DEFAULT_REGION;
      else process.env.CDK_DEFAULT_REGION = region;
    }
  });
});
