import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { LocalCloud } from '../local/cloud.ts';
import { formatCapacityPlan, planCapacity } from '../sim/capacity.ts';
import { estimateCost, type FixedResources, formatCost } from '../sim/cost.ts';
import { faultProfile } from '../sim/faults.ts';
import { formatInvariants } from '../sim/invariants.ts';
import { type SimProgress, type SimulationRun, simulate } from '../sim/simulate.ts';
import type { CliContext } from './main.ts';
import { run as runCli } from './main.ts';
import { CliError } from './resources.ts';

export interface SimulateCliOptions {
  readonly orders: string;
  readonly days: string;
  readonly seed: string;
  readonly faults: string;
  readonly report: string;
  readonly step: string;
  readonly tailHours: string;
  readonly poisonEvery?: string;
  readonly summaryJson?: string;
  readonly port?: string;
}

/**
 * `handoff simulate`: a week of the article's distributor through the real stack in the local cloud, on a
 * virtual clock. Prints progress, then the week's figures, the scorecard, the cost and capacity plan and the
 * invariants, writes the HTML report, and fails (exit 1) when an invariant does.
 */
export async function simulateCommand(options: SimulateCliOptions, context: CliContext): Promise<void> {
  const orders = positiveInt('--orders', options.orders);
  const days = positiveInt('--days', options.days);
  const seed = positiveInt('--seed', options.seed);
  const stepMinutes = positiveInt('--step', options.step);
  const tailHours = positiveInt('--tail-hours', options.tailHours);
  let profile: ReturnType<typeof faultProfile>;
  try {
    profile = faultProfile(options.faults);
  } catch (error) {
    throw new CliError(`--faults: ${(error as Error).message}`, 2);
  }
  if (options.poisonEvery && profile.poisonPill) {
    profile = { ...profile, poisonPill: { every: positiveInt('--poison-every', options.poisonEvery) } };
  }
  const out = context.out;
  out.write(
    `Simulating ${orders.toLocaleString('en-US')} orders over ${days} day(s), seed ${seed}, faults: ${profile.name} (${profile.description})`,
  );
  const bar = progressBar(out);
  let run: SimulationRun | undefined;
  try {
    run = await simulate({
      orders,
      days,
      seed,
      faults: profile,
      stepMinutes,
      tailHours,
      ...(options.port ? { port: positiveInt('--port', options.port) } : {}),
      onProgress: bar.update,
      cli: context,
    });
    bar.done();
    const summary = summarise(run);
    out.write(summary);
    const from = new Date(run.workload.start).toISOString();
    const to = run.world.clock.now().toISOString();
    out.write(`\nScorecard of the week (\`handoff scorecard --from ${from} --to ${to}\`):\n`);
    await runCli(['scorecard', '--from', from, '--to', to], context);
    const scorecardJson: string[] = [];
    if (options.summaryJson) {
      await runCli(['--json', 'scorecard', '--from', from, '--to', to], {
        ...context,
        out: { ...context.out, write: (text: string) => scorecardJson.push(text) },
      });
    }
    const reportPath = resolve(options.report);
    mkdirSync(dirname(reportPath), { recursive: true });
    await runCli(['report', '--from', from, '--to', to, '--out', reportPath], context);

    const fixed = fixedResourcesOf(run.world.cloud);
    out.write(`\nProjected AWS cost (us-east-1 on-demand prices, sim/aws-prices.ts):\n`);
    out.write(formatCost(estimateCost(run.usage, { fixed })));
    out.write(`\nCapacity plan against the default quotas (sim/aws-quotas.ts):\n`);
    out.write(formatCapacityPlan(planCapacity(run.usage)));
    out.write(`\nInvariants:\n`);
    out.write(formatInvariants(run.invariants));
    if (options.summaryJson) {
      const cost = estimateCost(run.usage, { fixed });
      const summary = {
        orders: run.sent,
        wallSeconds: run.wallMs / 1000,
        weekWallSeconds: run.weekWallMs / 1000,
        ordersPerSecond: run.sent / (run.weekWallMs / 1000),
        emulator: run.emulator,
        stages: Object.fromEntries(run.stages),
        shortages: run.shortages,
        reservations: {
          decided: run.world.gate.decided,
          batches: run.world.gate.batches,
          forced: run.world.gate.forced,
        },
        transitionsPerPath: Object.fromEntries(run.transitionsPerPath),
        costPer1000Orders: cost.per1000Orders,
        invariants: run.invariants,
        poisonOrders: run.faults.injected.poisonOrders,
        scorecard: JSON.parse(scorecardJson.join('\n') || 'null') as unknown,
        usage: run.usage,
      };
      const path = resolve(options.summaryJson);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, `${JSON.stringify(summary, null, 2)}\n`);
    }
    const failed = run.invariants.filter((i) => !i.ok);
    if (failed.length) throw new CliError(`${failed.length} invariant(s) failed: see above.`, 1);
  } finally {
    await run?.world.stop();
  }
}

function positiveInt(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0)
    throw new CliError(`${flag} must be a whole number above 0 (got ${value})`, 2);
  return n;
}

/** The week in figures: wall time, throughput, where the orders ended, transitions per path. */
export function summarise(run: SimulationRun): string {
  const seconds = run.weekWallMs / 1000;
  const lines = [
    '',
    `Week done in ${(run.wallMs / 1000).toFixed(1)} s wall (${seconds.toFixed(1)} s for the week itself): ` +
      `${run.sent.toLocaleString('en-US')} orders, ${(run.sent / seconds).toFixed(1)} orders/s.`,
    `DynamoDB Local's bound in this run: ${run.emulator.opsPerSecond.toFixed(0)} requests/s (${run.emulator.replayed.toLocaleString('en-US')} of the week's requests replayed at concurrency 32) ÷ ` +
      `${run.emulator.requestsPerOrder.toFixed(1)} requests per order = ${run.emulator.ordersPerSecond.toFixed(1)} orders/s; ` +
      `the week ran at ${(run.emulator.ratio * 100).toFixed(1)} % of it.`,
    `Orders by stage: ${[...run.stages]
      .sort((a, b) => b[1] - a[1])
      .map(([stage, n]) => `${stage} ${n.toLocaleString('en-US')}`)
      .join(', ')}.`,
    `Shortages: ${run.shortages.substituted.toLocaleString('en-US')} lines filled with an approved substitute, ` +
      `${run.shortages.backordered.toLocaleString('en-US')} backordered; ${run.shortages.askedApproval} substitutes put to the customer (${run.shortages.approved} approved, ` +
      `${run.shortages.declined} declined, ${run.shortages.unanswered} unanswered within the SLA), ${run.shortages.awaitingApproval} not asked (expedited and EDI lines backordered).`,
    `Warehouse: ${run.docks.counts.shipped.toLocaleString('en-US')} shipments, ${run.docks.counts.lateConfirmations} confirmed late, ` +
      `${run.docks.counts.missingConfirmations} confirmations lost (${run.docks.counts.resent} resent on request).`,
    `Stock reservations: ${run.world.gate.decided.toLocaleString('en-US')} decided in ${run.world.gate.batches.toLocaleString('en-US')} batches, ` +
      'each once its instant was quiet and in a fixed order, so the seed decides who gets scarce stock' +
      (run.world.gate.forced
        ? `; ${run.world.gate.forced} batches were decided by a real-time valve instead (nothing moved for a minute, or ten minutes in all), so this run may not repeat exactly.`
        : '.'),
    `Operators: ${run.operators.decisions.length.toLocaleString('en-US')} decisions, ${run.operators.backlog} waiting at the end, ` +
      `${run.operators.leftOpen.size} parked orders left for a redrive.`,
    `Faults injected: ${run.faults.profile.name}; duplicates ${(run.faults.injected.duplicateDeliveries + run.faults.feedDuplicates()).toLocaleString('en-US')} (` +
      Object.entries(run.faults.duplicatesByEdge())
        .map(([edge, n]) => `${edge} ${n.toLocaleString('en-US')}`)
        .join(', ') +
      `), poison orders ${run.faults.injected.poisonOrders.length}.`,
    'Standard state transitions per execution, by path:',
    ...[...run.transitionsPerPath]
      .sort((a, b) => b[1].executions - a[1].executions)
      .map(
        ([path, t]) =>
          `  ${path.padEnd(34)} ${t.executions.toLocaleString('en-US').padStart(7)} executions, ${(t.transitions / t.executions).toFixed(1)} per execution`,
      ),
  ];
  return lines.join('\n');
}

/** What the stack costs every month whatever the volume, counted from its template. */
export function fixedResourcesOf(cloud: LocalCloud): FixedResources {
  const count = (type: string) => cloud.model.ofType(type).length;
  const alarms = cloud.model.ofType('AWS::CloudWatch::Alarm');
  const metricMath = alarms.reduce((sum, alarm) => {
    const metrics = (alarm.properties as { Metrics?: { MetricStat?: unknown }[] }).Metrics;
    return sum + (metrics ? metrics.filter((m) => m.MetricStat).length : 0);
  }, 0);
  return {
    alarms: alarms.filter((a) => !(a.properties as { Metrics?: unknown }).Metrics).length,
    metricMathAlarmMetrics: metricMath,
    dashboards: count('AWS::CloudWatch::Dashboard'),
    // Every metric (name × dimensions) the functions published outside the AWS/ namespaces.
    customMetrics: cloud.cloudwatch.listMetrics().filter((m) => !m.Namespace.startsWith('AWS/')).length,
    secrets: count('AWS::SecretsManager::Secret'),
    kmsKeys: count('AWS::KMS::Key'),
  };
}

function progressBar(out: CliContext['out']) {
  const tty = Boolean(process.stdout.isTTY);
  let last = 0;
  return {
    update: (p: SimProgress) => {
      const now = performance.now();
      if (now - last < (tty ? 250 : 10_000)) return;
      last = now;
      const width = 28;
      const filled = Math.round(p.fraction * width);
      const line =
        `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(p.fraction * 100).toFixed(0).padStart(3)}% ` +
        `${p.now.toISOString().slice(0, 16).replace('T', ' ')}  sent ${p.sent.toLocaleString('en-US')}/${p.total.toLocaleString('en-US')}  ` +
        `closed ${p.closed.toLocaleString('en-US')}  queue ${p.backlog}  ${(p.wallMs / 1000).toFixed(0)} s`;
      if (tty) process.stdout.write(`\r${line}`);
      else out.write(line);
    },
    done: () => {
      if (tty) process.stdout.write('\n');
    },
  };
}
