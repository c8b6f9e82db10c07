import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, it } from 'vitest';
import { repoRoot } from '../../lib/paths.ts';
import { FAULT_PROFILES } from '../../sim/faults.ts';
import type { InvariantResult } from '../../sim/invariants.ts';

/**
 * `handoff simulate` at a reduced volume, as a user runs it (the CLI in its own process: handlers keep their
 * SDK clients per process, as on Lambda, so each local cloud gets a fresh one): every fault profile runs a
 * day of the distributor through the real stack on the virtual clock, and every invariant must hold; the
 * same seed gives the same scorecard.
 */
interface Summary {
  readonly orders: number;
  readonly stages: Record<string, number>;
  readonly invariants: InvariantResult[];
  readonly poisonOrders: string[];
  readonly scorecard: Record<string, unknown>;
}

const dir = mkdtempSync(join(tmpdir(), 'handoff-simulate-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function simulateDay(
  faults: string,
  seed: number,
  tag: string,
): Promise<{ code: number; summary: Summary; output: string }> {
  const summaryPath = join(dir, `${tag}.json`);
  const args = [
    join(repoRoot, 'bin', 'handoff.mjs'),
    'simulate',
    '--orders',
    '40',
    '--days',
    '1',
    '--seed',
    String(seed),
    '--faults',
    faults,
    '--step',
    '30',
    '--tail-hours',
    '36',
    '--poison-every',
    '15',
    '--report',
    join(dir, `${tag}.html`),
    '--summary-json',
    summaryPath,
  ];
  const child = spawn(process.execPath, args, { cwd: repoRoot, env: { ...process.env, NO_COLOR: '1' } });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? 1)));
  const summary = JSON.parse(readFileSync(summaryPath, 'utf8')) as Summary;
  return { code, summary, output };
}

const failures = (summary: Summary) =>
  summary.invariants.filter((i) => !i.ok).map((i) => `${i.name}: ${i.examples.join('; ')}`);
const invariant = (summary: Summary, fragment: string) =>
  summary.invariants.find((i) => i.name.includes(fragment))?.counts ?? {};

// Two runs at a time (vitest's maxConcurrency): each is its own CLI process with its own DynamoDB Local, and
// one run leaves a core idle while it waits on the emulator or the sandboxes.
describe.concurrent.each(Object.keys(FAULT_PROFILES))('fault profile %s', (name) => {
  it('keeps every invariant, and the command says so with exit 0', { timeout: 240_000 }, async ({
    expect,
  }) => {
    const { code, summary, output } = await simulateDay(name, 11, name);
    expect(failures(summary)).toEqual([]);
    expect(code, output.slice(-2000)).toBe(0);
    expect(summary.orders).toBeGreaterThanOrEqual(40);
    const profile = FAULT_PROFILES[name];
    if (profile?.duplicates)
      expect(invariant(summary, 'idempotency')['duplicates injected']).toBeGreaterThan(0);
    if (profile?.poisonPill) {
      expect(summary.poisonOrders.length).toBeGreaterThan(0);
      expect(invariant(summary, 'DLQ')['dead letters']).toBeGreaterThanOrEqual(summary.poisonOrders.length);
    }
    if (profile?.redriveDrill) expect(invariant(summary, 'DLQ')['messages redriven']).toBeGreaterThan(0);
    if (profile?.burst) expect(summary.orders).toBeGreaterThan(40);
  });
});

it.concurrent('same seed, same scorecard: two runs of one seed agree on every figure', async ({ expect }) => {
  // Run side by side, so the two processes' event loops interleave differently: the figures must not care.
  // Under every fault at once: retries, slowed calls, duplicates, the outage, the burst and the redrive drill.
  const [first, second] = await Promise.all([
    simulateDay('default', 5, 'seed-a'),
    simulateDay('default', 5, 'seed-b'),
  ]);
  expect(failures(first.summary)).toEqual([]);
  expect(failures(second.summary)).toEqual([]);
  // Everything the run decides, except when the scorecard was generated (real time).
  const outcome = (s: Summary) => ({
    orders: s.orders,
    stages: s.stages,
    invariants: s.invariants.map((i) => ({ name: i.name, ok: i.ok, counts: i.counts })),
    scorecard: { ...s.scorecard, generatedAt: undefined },
  });
  expect(outcome(second.summary)).toEqual(outcome(first.summary));
  expect((first.summary.scorecard as { orders?: unknown }).orders).toBe(first.summary.orders);
}, 300_000);
