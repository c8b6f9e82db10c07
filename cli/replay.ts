import { randomBytes } from 'node:crypto';
import {
  DescribeArchiveCommand,
  DescribeReplayCommand,
  ListRulesCommand,
  type Rule,
  StartReplayCommand,
} from '@aws-sdk/client-eventbridge';
import { EVENT_CATALOGUE } from '../contracts/events.ts';
import type { Clients } from './commands.ts';
import { json, type Output, paint } from './format.ts';
import { CliError, type Resources } from './resources.ts';
import { parseWindow } from './window.ts';

const DETAIL_TYPES = new Map<string, { detailType: string; source: string }>(
  Object.values(EVENT_CATALOGUE).flatMap((d) => [
    [d.name, { detailType: d.detailType, source: d.source }],
    [d.detailType, { detailType: d.detailType, source: d.source }],
  ]),
);
const TERMINAL = new Set(['COMPLETED', 'FAILED', 'CANCELLED']);

/** `shipment.confirmed` or `shipment.confirmed.v1` → the catalogue's detail type; anything else is refused. */
export function detailTypesOf(names: readonly string[]): { detailType: string; source: string }[] {
  return names.map((name) => {
    const found = DETAIL_TYPES.get(name.trim());
    if (!found) {
      throw new CliError(
        `--detail-type ${name} is not a Handoff event; use one of ${Object.keys(EVENT_CATALOGUE).join(', ')}`,
      );
    }
    return found;
  });
}

/**
 * Whether a rule's pattern lets events of this detail type and source through, judged on its `source` and
 * `detail-type` fields alone (a content filter on `detail` is the rule's business: the replay sends it the
 * events and the rule still filters them). A field given as anything but a list of strings (prefix,
 * anything-but…) is taken to admit the event: replaying to one rule too many is harmless, one too few is not.
 */
export function ruleAdmits(pattern: unknown, event: { detailType: string; source: string }): boolean {
  if (typeof pattern !== 'object' || pattern === null) return false;
  const field = (value: unknown, wanted: string) =>
    value === undefined ||
    !Array.isArray(value) ||
    value.some((v) => typeof v !== 'string') ||
    value.includes(wanted);
  const p = pattern as Record<string, unknown>;
  return field(p['detail-type'], event.detailType) && field(p.source, event.source);
}

async function rulesOf(clients: Clients, busName: string): Promise<Rule[]> {
  const rules: Rule[] = [];
  let token: string | undefined;
  do {
    const page = await clients.events.send(new ListRulesCommand({ EventBusName: busName, NextToken: token }));
    rules.push(...(page.Rules ?? []));
    token = page.NextToken;
  } while (token);
  return rules;
}

function replayName(stage: string, now: Date): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').slice(0, 15);
  return `handoff-${stage}-${stamp}-${randomBytes(3).toString('hex')}`.slice(0, 64);
}

/**
 * `replay --from --to [--detail-type …]`: re-sends the bus archive's events of a window to the bus, to
 * every rule or, with --detail-type, only to the rules that consume those types (EventBridge replays to
 * rules, not by type: FilterArns). Handoff's consumers deduplicate by idempotency key, so an event they
 * already handled changes nothing; what failed or was missed is handled now. Waits for the replay to end.
 */
export async function replayEvents(
  resources: Resources,
  clients: Clients,
  options: {
    from?: string;
    to?: string;
    detailType?: string[];
    dryRun?: boolean;
    wait?: boolean;
    json?: boolean;
  },
  out: Output,
): Promise<void> {
  if (!options.from) throw new CliError('--from is required: e.g. --from 6h or --from 2026-12-01T08:00:00Z');
  const now = out.now();
  const { from, to } = parseWindow(options, now, { from: options.from });
  if (to.getTime() > now.getTime()) {
    throw new CliError(
      `--to must not be in the future (${to.toISOString()}); leave it out to replay up to now`,
    );
  }
  const wanted = detailTypesOf(options.detailType ?? []);
  let archive: { ArchiveArn?: string; EventSourceArn?: string; RetentionDays?: number };
  try {
    archive = await clients.events.send(new DescribeArchiveCommand({ ArchiveName: resources.archiveName }));
  } catch (error) {
    if ((error as Error).name === 'ResourceNotFoundException') {
      throw new CliError(
        `The bus archive ${resources.archiveName} does not exist: redeploy the stateful stack (\`npx cdk deploy --all\`).`,
      );
    }
    throw error;
  }
  const retention = archive.RetentionDays ?? 0;
  if (retention > 0 && from.getTime() < now.getTime() - retention * 86_400_000) {
    throw new CliError(
      `--from is before what the archive keeps (${retention} days): the earliest is ${new Date(now.getTime() - retention * 86_400_000).toISOString()}`,
    );
  }
  let filterArns: string[] | undefined;
  let ruleNames: string[] = [];
  if (wanted.length > 0) {
    const rules = await rulesOf(clients, resources.busName);
    const chosen = rules.filter(
      (r) => r.EventPattern && wanted.some((w) => ruleAdmits(JSON.parse(r.EventPattern ?? '{}'), w)),
    );
    if (chosen.length === 0) {
      throw new CliError(
        `No rule on ${resources.busName} consumes ${wanted.map((w) => w.detailType).join(', ')}: nothing would receive the replay.`,
      );
    }
    filterArns = chosen.map((r) => r.Arn ?? '').filter(Boolean);
    ruleNames = chosen.map((r) => r.Name ?? '');
  }
  const name = replayName(resources.stage, now);
  const plan = {
    replayName: name,
    archive: resources.archiveName,
    from: from.toISOString(),
    to: to.toISOString(),
    detailTypes: wanted.map((w) => w.detailType),
    rules: filterArns ? ruleNames : 'all rules on the bus',
  };
  if (options.dryRun) {
    out.write(
      options.json ? json({ ...plan, state: 'DRY-RUN' }) : describePlan(out, plan, 'not started (--dry-run)'),
    );
    return;
  }
  await clients.events.send(
    new StartReplayCommand({
      ReplayName: name,
      Description: `handoff replay ${plan.from} → ${plan.to}${plan.detailTypes.length ? ` (${plan.detailTypes.join(', ')})` : ''}`,
      EventSourceArn: archive.ArchiveArn,
      EventStartTime: from,
      EventEndTime: to,
      Destination: { Arn: archive.EventSourceArn, ...(filterArns ? { FilterArns: filterArns } : {}) },
    }),
  );
  let state = 'STARTING';
  let reason = '';
  const deadline = Date.now() + 15 * 60_000;
  while (options.wait !== false) {
    const described = await clients.events.send(new DescribeReplayCommand({ ReplayName: name }));
    state = described.State ?? 'UNKNOWN';
    reason = described.StateReason ?? '';
    if (TERMINAL.has(state) || Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
  const result = { ...plan, state, ...(reason ? { reason } : {}) };
  if (options.json) {
    out.write(json(result));
  } else {
    const stateText =
      state === 'COMPLETED'
        ? paint(out, 'green', state)
        : TERMINAL.has(state)
          ? paint(out, 'red', state)
          : `${state} (follow it with \`aws events describe-replay --replay-name ${name}\`)`;
    out.write(describePlan(out, plan, `${stateText}${reason ? `: ${reason}` : ''}`));
  }
  if (state === 'FAILED' || state === 'CANCELLED') {
    throw new CliError(`Replay ${name} ${state.toLowerCase()}${reason ? `: ${reason}` : ''}`);
  }
}

function describePlan(
  out: Output,
  plan: {
    replayName: string;
    archive: string;
    from: string;
    to: string;
    detailTypes: string[];
    rules: string[] | string;
  },
  state: string,
): string {
  const hours = (Date.parse(plan.to) - Date.parse(plan.from)) / 3_600_000;
  return [
    `${paint(out, 'bold', 'Replay')} ${plan.replayName}  ${state}`,
    `  window   ${plan.from} → ${plan.to} (${hours >= 48 ? `${(hours / 24).toFixed(1)}d` : `${hours.toFixed(1)}h`})`,
    `  archive  ${plan.archive}`,
    `  events   ${plan.detailTypes.length ? plan.detailTypes.join(', ') : 'every archived event in the window'}`,
    `  rules    ${Array.isArray(plan.rules) ? plan.rules.join(', ') : plan.rules}`,
    '',
    ...(plan.detailTypes.length
      ? [
          'EventBridge replays to rules: these rules also receive the other archived events of the window they match.',
        ]
      : []),
    'Consumers deduplicate by idempotency key: events they already handled change nothing.',
  ].join('\n');
}
