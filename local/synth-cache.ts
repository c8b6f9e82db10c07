import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { repoRoot } from '../lib/paths.ts';

/**
 * A synthesized cloud assembly, reused across processes. A cold synth of the app costs 3–4 s in a fresh
 * process (aws-cdk-lib's first synthesis, and cdk-nag on every resource), and every local-cloud test file
 * and `handoff simulate` run synthesizes the same app with only the partner sandbox's port differing. The
 * assembly is synthesized once with a placeholder partner base URL and kept under a key of everything the
 * templates depend on: the context, the environment the app reads, the sources under lib/, lambdas/,
 * contracts/ and statemachines/, and the lockfile (the CDK version). Each use copies it and writes the real
 * base URL in. Only the local cloud reads these assemblies; `cdk synth` and deployment never do (the asset
 * manifests in a copy name each template by the hash of its placeholder text).
 */

/** Stands in for the partner sandbox's base URL in a cached assembly. */
export const PARTNERS_PLACEHOLDER = 'http://handoff-partners.invalid:9';

const SOURCE_DIRS = ['lib', 'lambdas', 'contracts', 'statemachines'];
const SOURCE_FILES = ['package-lock.json', 'cdk.json'];
const CACHE_FORMAT = 1;

export interface CachedSynthOptions {
  /** The app's context, without `handoff:partnersBaseUrl` (given below). */
  readonly context: Record<string, unknown>;
  /** The partner sandbox's base URL, written into the copy in place of the placeholder. */
  readonly partnersBaseUrl: string;
  /** Synthesizes the app with this context into `outdir` (it must honour the placeholder URL). */
  readonly synthesize: (context: Record<string, unknown>, outdir: string) => void | Promise<void>;
  /** Where the cache lives (default: the OS temp dir); HANDOFF_SYNTH_CACHE=off synthesizes every time. */
  readonly cacheRoot?: string;
}

let sourcesDigest: string | undefined;

/** A digest of the files the templates are made from, computed once per process. */
function digestOfSources(): string {
  if (sourcesDigest) return sourcesDigest;
  const hash = createHash('sha256');
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
      a.name.localeCompare(b.name),
    )) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) {
        hash.update(relative(repoRoot, path)).update('\0').update(readFileSync(path)).update('\0');
      }
    }
  };
  for (const dir of SOURCE_DIRS) if (existsSync(join(repoRoot, dir))) walk(join(repoRoot, dir));
  for (const file of SOURCE_FILES) {
    const path = join(repoRoot, file);
    if (existsSync(path)) hash.update(file).update('\0').update(readFileSync(path)).update('\0');
  }
  sourcesDigest = hash.digest('hex');
  return sourcesDigest;
}

/** The cache key of an assembly synthesized with this context. */
export function synthCacheKey(context: Record<string, unknown>): string {
  return createHash('sha256')
    .update(
      JSON.stringify({
        format: CACHE_FORMAT,
        context: sortedKeys(context),
        env: {
          CDK_DEFAULT_ACCOUNT: process.env.CDK_DEFAULT_ACCOUNT ?? null,
          CDK_DEFAULT_REGION: process.env.CDK_DEFAULT_REGION ?? null,
          AWS_REGION: process.env.AWS_REGION ?? null,
        },
        sources: digestOfSources(),
      }),
    )
    .digest('hex')
    .slice(0, 32);
}

function sortedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortedKeys);
  if (value && typeof value === 'object')
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, sortedKeys((value as Record<string, unknown>)[k])]),
    );
  return value;
}

/**
 * A fresh directory holding the app's assembly for this context and partner URL: a copy of the cached one,
 * synthesized first if the cache has none. The caller owns (and removes) the returned directory.
 */
export async function synthesizeCached(options: CachedSynthOptions): Promise<string> {
  if (/[\\"]/.test(options.partnersBaseUrl))
    throw new Error(`partnersBaseUrl must not contain a quote or backslash: ${options.partnersBaseUrl}`);
  if ('handoff:partnersBaseUrl' in options.context)
    throw new Error('synthesizeCached: give the partner base URL as partnersBaseUrl, not in the context');
  const context = { ...options.context, 'handoff:partnersBaseUrl': PARTNERS_PLACEHOLDER };
  const outdir = mkdtempSync(join(tmpdir(), 'handoff-assembly-'));
  if (process.env.HANDOFF_SYNTH_CACHE === 'off') {
    await options.synthesize(
      { ...options.context, 'handoff:partnersBaseUrl': options.partnersBaseUrl },
      outdir,
    );
    return outdir;
  }
  const root = options.cacheRoot ?? join(tmpdir(), 'handoff-synth-cache');
  const cached = join(root, synthCacheKey(context));
  if (!existsSync(join(cached, '.complete'))) {
    mkdirSync(root, { recursive: true });
    // Synthesized beside the cache and renamed in whole, so a process running at the same time sees either
    // no entry or a complete one.
    const staging = mkdtempSync(join(root, '.staging-'));
    try {
      await options.synthesize(context, staging);
      writeFileSync(join(staging, '.complete'), new Date().toISOString());
      pruneStale(root);
      try {
        renameSync(staging, cached);
      } catch (error) {
        // Another process put the same entry in first: theirs is as good.
        if (!existsSync(join(cached, '.complete'))) throw error;
      }
    } finally {
      rmSync(staging, { recursive: true, force: true });
    }
  }
  cpSync(cached, outdir, { recursive: true });
  rmSync(join(outdir, '.complete'), { force: true });
  writePartnersUrl(outdir, options.partnersBaseUrl);
  return outdir;
}

/** Entries (one per source change, about 1 MB each) not written for a week are dropped. */
function pruneStale(root: string): void {
  const weekAgo = Date.now() - 7 * 24 * 3600_000;
  for (const entry of readdirSync(root, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
    const marker = join(root, entry.name, '.complete');
    if (existsSync(marker) && statSync(marker).mtimeMs < weekAgo)
      rmSync(join(root, entry.name), { recursive: true, force: true });
  }
}

/** Replaces the placeholder with the real base URL in every JSON file of the assembly. */
function writePartnersUrl(dir: string, partnersBaseUrl: string): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) writePartnersUrl(path, partnersBaseUrl);
    else if (entry.isFile() && entry.name.endsWith('.json')) {
      const text = readFileSync(path, 'utf8');
      if (text.includes(PARTNERS_PLACEHOLDER))
        writeFileSync(path, text.replaceAll(PARTNERS_PLACEHOLDER, partnersBaseUrl));
    }
  }
}
