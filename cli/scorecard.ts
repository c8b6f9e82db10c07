import { readFile } from 'node:fs/promises';
import { DynamoProcessLog, InvalidLogWindow } from '../lambdas/adapters/aws/dynamo-process-log.ts';
import { computeScorecard } from '../lambdas/core/scorecard.ts';
import type { Scorecard } from '../lambdas/core/scorecard-model.ts';
import { DEFAULT_SLA_POLICY, parseSlaPolicy, type SlaPolicy } from '../lambdas/core/sla.ts';
import type { Clients } from './commands.ts';
import { json, type Output, paint } from './format.ts';
import { writeReport } from './report.ts';
import { CliError, type Resources } from './resources.ts';
import { renderScorecard } from './scorecard-view.ts';
import { parseWindow } from './window.ts';

export interface ScorecardOptions {
  readonly from?: string;
  readonly to?: string;
  /** A JSON SLA policy file (as given to the stack with -c handoff:slaPolicy); the defaults otherwise. */
  readonly slaPolicy?: string;
  readonly json?: boolean;
}

async function policyFrom(path: string | undefined): Promise<SlaPolicy> {
  if (!path) return DEFAULT_SLA_POLICY;
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new CliError(`--sla-policy ${path}: cannot read it as JSON (${(error as Error).message})`);
  }
  try {
    return parseSlaPolicy(raw);
  } catch (error) {
    throw new CliError(`--sla-policy ${path}: ${(error as Error).message}`);
  }
}

/** The scorecard of a window, computed from the process log (read by day and shard, never scanned). */
export async function loadScorecard(
  resources: Resources,
  clients: Clients,
  options: ScorecardOptions,
  now: Date,
): Promise<Scorecard> {
  const { from, to } = parseWindow(options, now, { from: '7d' });
  const window = { from: from.toISOString(), to: to.toISOString() };
  const policy = await policyFrom(options.slaPolicy);
  let events: Awaited<ReturnType<DynamoProcessLog['read']>>;
  try {
    events = await new DynamoProcessLog(clients.dynamo, resources.processLogTable).read(window);
  } catch (error) {
    if (error instanceof InvalidLogWindow) throw new CliError(`--${error.message}`);
    throw error;
  }
  return computeScorecard(events, window, { now: now.toISOString(), slaPolicy: policy });
}

/** `handoff scorecard [--from] [--to]`: the process-intelligence scorecard in the terminal (or --json). */
export async function printScorecard(
  resources: Resources,
  clients: Clients,
  options: ScorecardOptions,
  out: Output,
): Promise<Scorecard> {
  const card = await loadScorecard(resources, clients, options, out.now());
  out.write(options.json ? json(card) : renderScorecard(card, { colour: out.colour }));
  return card;
}

/** `handoff report [--out]`: the scorecard as one self-contained HTML file with charts (opens offline). */
export async function writeScorecardReport(
  resources: Resources,
  clients: Clients,
  options: ScorecardOptions & { out?: string },
  out: Output,
): Promise<void> {
  const card = await loadScorecard(resources, clients, options, out.now());
  const path = options.out ?? `handoff-report-${resources.stage}-${card.window.to.slice(0, 10)}.html`;
  const bytes = await writeReport(card, path, { deployment: resources.stage });
  const summary = { path, bytes, window: card.window, orders: card.orders, events: card.events };
  out.write(
    options.json
      ? json(summary)
      : `${paint(out, 'green', 'Report written')} ${path} (${Math.round(bytes / 1024)} KB): ${card.orders} orders, ${card.events} events, ${card.window.from} → ${card.window.to}`,
  );
}
