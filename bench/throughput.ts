/**
 * Local end-to-end throughput of the standard path, beside the DynamoDB emulator's own bound measured in the
 * same run.
 *   npm run bench:throughput -- [--orders 300] [--concurrency 32]
 *
 * 1. Emulator bound: the same mix of DynamoDB operations an order performs, issued straight at DynamoDB
 *    Local with the given concurrency, gives operations/s; divided by operations per order, orders/s.
 * 2. End to end: N ERP orders go into the real ingress queue; each is done when its path execution has
 *    handed it to the warehouse. Reports orders/s, p50/p99 latency from send to handoff, and DynamoDB
 *    operations per order counted at the local endpoint.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { App } from 'aws-cdk-lib';
import { FAIL_SYNTH_ON_VALIDATION_ERRORS_CONTEXT } from 'aws-cdk-lib/cx-api';
import { buildApp } from '../lib/app.ts';
import { repoRoot } from '../lib/paths.ts';
import { startLocalCloud } from '../local/cloud.ts';
import { sampleOrders } from '../local/demo/sample-orders.ts';
import { freePort } from '../local/dynamodb/dynamodb-local.ts';
import { recordDynamoRequests, replayBound } from '../local/dynamodb/replay-bound.ts';
import { PartnerSandbox } from '../local/partners/sandbox.ts';
import { seedSandbox } from '../local/partners/seed.ts';

const { values } = parseArgs({
  options: {
    orders: { type: 'string', default: '300' },
    concurrency: { type: 'string', default: '32' },
    workers: { type: 'string', default: '0' },
    warmup: { type: 'string', default: '300' },
  },
});
const ORDERS = Number(values.orders);
const CONCURRENCY = Number(values.concurrency);
const WARMUP = Number(values.warmup);

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;

const sandbox = new PartnerSandbox();
await sandbox.start();
seedSandbox(sandbox);
for (const f of sandbox.facilities) for (const i of f.inventory) i.onHand = 10_000_000;
const outdir = mkdtempSync(join(tmpdir(), 'handoff-bench-'));
const app = new App({
  outdir,
  context: {
    'aws:cdk:bundling-stacks': [],
    [FAIL_SYNTH_ON_VALIDATION_ERRORS_CONTEXT]: true,
    'handoff:partnersBaseUrl': sandbox.baseUrl,
  },
});
buildApp(app);
app.synth();
const cloud = await startLocalCloud({
  assemblyDir: outdir,
  repoRoot,
  port: await freePort(),
  lambdaWorkers: Number(values.workers),
});
const ordersTable = cloud.tables.find((t) => t.resource.logicalId.startsWith('OrdersTable'))?.name ?? '';
const ingress = [...cloud.sqs.queues.values()].find((q) =>
  q.resource.logicalId.startsWith('ErpIngressQueue'),
);
if (!ingress) throw new Error('no ingress queue');

const sqs = new SQSClient({ endpoint: cloud.endpoint, region: 'us-east-1' });
const template = sampleOrders(new Date(), 'X')[0]?.body as Record<string, unknown>;
const machineArns = [...cloud.sfn.machines.keys()].map((arn) => arn.replace(':stateMachine:', ':execution:'));

try {
  // Warm-up, so neither side is measured cold: module loading and V8's JIT in this process, and DynamoDB
  // Local's JIT, which keeps getting faster for tens of thousands of requests. A warm-up run of orders, then
  // its own DynamoDB requests replayed until the emulator's CPU per request stops falling.
  const warmUp = await runOrders(WARMUP, 'W');
  let previous = Number.POSITIVE_INFINITY;
  for (let round = 1; round <= 20; round++) {
    const jvm0 = jvmCpuSeconds();
    await replayBound(cloud, warmUp.recorded, CONCURRENCY);
    const perOp = (jvmCpuSeconds() - jvm0) / warmUp.recorded.length;
    if (perOp > previous * 0.95 && round >= 3) {
      console.log(`warm-up                     ${WARMUP} orders, then ${round} replays of their requests`);
      break;
    }
    previous = Math.min(previous, perOp);
  }

  // End to end.
  const profiler = process.env.BENCH_PROFILE ? new Session() : undefined;
  if (profiler) {
    profiler.connect();
    await profiler.post('Profiler.enable');
    await profiler.post('Profiler.start');
  }
  const run = await runOrders(ORDERS, 'B');
  if (profiler && process.env.BENCH_PROFILE) {
    const { profile } = await profiler.post('Profiler.stop');
    writeFileSync(process.env.BENCH_PROFILE, JSON.stringify(profile));
  }
  const { elapsed, cpu, jvmCpu, recorded, dynamoOps } = run;
  const opsPerOrder = dynamoOps / ORDERS;
  const perOrder = [...run.calls]
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1])
    .map(([key, n]) => `${key} ${(n / ORDERS).toFixed(2)}`);

  // The emulator bound: the very requests the orders made, replayed straight at DynamoDB Local (with worker
  // threads the requests are made off the main thread and not recorded: a synthetic get/put/update mix).
  const replayed = recorded.length >= dynamoOps;
  if (!replayed)
    console.log(`(${recorded.length} of ${dynamoOps} DynamoDB requests recorded: synthetic bound)`);
  const jvmBeforeBound = jvmCpuSeconds();
  const boundStarted = performance.now();
  const bound = replayed
    ? await replayBound(cloud, recorded, CONCURRENCY)
    : await emulatorBound(
        cloud.dynamodb.documents,
        ordersTable,
        Math.max(2000, Math.round(opsPerOrder * ORDERS)),
      );
  const boundJvmCpu = jvmCpuSeconds() - jvmBeforeBound;
  const boundElapsed = (performance.now() - boundStarted) / 1000;
  const ordersPerSecond = ORDERS / elapsed;
  const boundOrdersPerSecond = bound / opsPerOrder;
  const sorted = run.latencies.sort((a, b) => a - b);
  const core = (seconds: number, over: number) => `${((seconds / over) * 100).toFixed(0)}% of one core`;
  console.log(`orders                      ${ORDERS} (Lambda worker threads: ${values.workers})`);
  console.log(`end-to-end throughput       ${ordersPerSecond.toFixed(1)} orders/s (${elapsed.toFixed(2)} s)`);
  console.log(
    `latency send → warehouse    p50 ${percentile(sorted, 50).toFixed(0)} ms, p99 ${percentile(sorted, 99).toFixed(0)} ms`,
  );
  console.log(`DynamoDB operations/order   ${opsPerOrder.toFixed(1)}`);
  console.log(`SDK calls/order             ${perOrder.join(', ')}`);
  console.log(
    `this process's CPU          ${core(cpu, elapsed)}, ${((cpu * 1000) / ORDERS).toFixed(1)} ms per order; event-loop delay p99 ${(run.loopDelayP99 / 1e6).toFixed(0)} ms`,
  );
  console.log(
    `DynamoDB Local's CPU        ${core(jvmCpu, elapsed)}, ${((jvmCpu * 1000) / dynamoOps).toFixed(2)} ms per request (replaying alone: ${core(boundJvmCpu, boundElapsed)}, ${((boundJvmCpu * 1000) / Math.max(1, recorded.length)).toFixed(2)} ms)`,
  );
  console.log(
    `Standard transitions/order  ${(run.transitions.reduce((a, b) => a + b, 0) / ORDERS).toFixed(1)}`,
  );
  console.log(
    `DynamoDB Local bound        ${bound.toFixed(0)} ops/s (${replayed ? `the run's ${recorded.length} requests replayed` : 'synthetic mix'}, concurrency ${CONCURRENCY}) = ${boundOrdersPerSecond.toFixed(1)} orders/s`,
  );
  console.log(
    `ratio to the emulator bound ${(ordersPerSecond / boundOrdersPerSecond).toFixed(2)} (target ≥ 0.5)`,
  );
} finally {
  await cloud.stop();
  await sandbox.stop();
  rmSync(outdir, { recursive: true, force: true });
}

/**
 * Sends `count` ERP orders into the ingress queue in batches of ten and waits until every one has been handed
 * to the warehouse. Returns the timings, this process's and the JVM's CPU, and the DynamoDB requests made.
 */
async function runOrders(count: number, prefix: string) {
  const before = new Map(cloud.meter.calls);
  const recording = recordDynamoRequests(cloud);
  const recorded = recording.requests;
  const runId = `${prefix}${Date.now().toString(36).toUpperCase()}`;
  const ids: string[] = [];
  const sentAt = new Map<string, number>();
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  const jvmBefore = jvmCpuSeconds();
  const eventLoop = monitorEventLoopDelay({ resolution: 10 });
  eventLoop.enable();
  for (let i = 0; i < count; i += 10) {
    const batch = Array.from({ length: Math.min(10, count - i) }, (_, j) => {
      const salesOrder = `${runId}-${i + j}`;
      ids.push(`ERP-${salesOrder}`);
      sentAt.set(`ERP-${salesOrder}`, performance.now());
      return { Id: String(j), MessageBody: JSON.stringify({ ...template, SalesOrder: salesOrder }) };
    });
    await sqs.send(new SendMessageBatchCommand({ QueueUrl: ingress?.url, Entries: batch }));
  }
  const latencies = await waitForDone(ids, sentAt);
  const elapsed = (performance.now() - started) / 1000;
  recording.stop();
  const usage = process.cpuUsage(cpuBefore);
  eventLoop.disable();
  const calls = new Map([...cloud.meter.calls].map(([key, n]) => [key, n - (before.get(key) ?? 0)]));
  return {
    elapsed,
    latencies,
    cpu: (usage.user + usage.system) / 1e6,
    jvmCpu: jvmCpuSeconds() - jvmBefore,
    recorded,
    calls,
    dynamoOps: cloud.meter.count('DynamoDB', before),
    loopDelayP99: eventLoop.percentile(99),
    transitions: ids.map((id) => executionNamed(id)?.statesEntered.length ?? 0),
  };
}

function executionNamed(name: string) {
  for (const arn of machineArns) {
    const execution = cloud.sfn.executions.get(`${arn}:${name}`);
    if (execution) return execution;
  }
  return undefined;
}

/** CPU seconds the DynamoDB Local JVM has used (Linux /proc). */
function jvmCpuSeconds(): number {
  try {
    const fields = readFileSync(`/proc/${cloud.dynamodb.pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

/** Latency of each order, from send until its execution ended; fails on any execution that did not succeed. */
async function waitForDone(ids: string[], sentAt: Map<string, number>): Promise<number[]> {
  const ended: Promise<number>[] = [];
  const unstarted = new Set(ids);
  const deadline = Date.now() + 600_000;
  while (unstarted.size > 0) {
    for (const id of unstarted) {
      const execution = executionNamed(id);
      if (!execution) continue;
      unstarted.delete(id);
      ended.push(
        execution.done.then(() => {
          if (execution.status !== 'SUCCEEDED')
            throw new Error(`${execution.name} ended ${execution.status}: ${execution.cause}`);
          return performance.now() - (sentAt.get(id) ?? performance.now());
        }),
      );
    }
    if (Date.now() > deadline) throw new Error(`${unstarted.size} of ${ids.length} orders never started`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return Promise.all(ended);
}

/** Operations/s DynamoDB Local sustains for the order mix (get, put, conditional update) at CONCURRENCY. */
async function emulatorBound(
  documents: typeof cloud.dynamodb.documents,
  table: string,
  total: number,
): Promise<number> {
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= total) return;
      const pk = `BOUND-${Math.floor(i / 3)}`;
      if (i % 3 === 0)
        await documents.send(
          new PutCommand({
            TableName: table,
            Item: { pk, sk: 'ORDER', version: 1, stage: 'received', stageHistory: [] },
          }),
        );
      else if (i % 3 === 1)
        await documents.send(
          new GetCommand({ TableName: table, Key: { pk, sk: 'ORDER' }, ConsistentRead: true }),
        );
      else
        await documents.send(
          new UpdateCommand({
            TableName: table,
            Key: { pk, sk: 'ORDER' },
            UpdateExpression: 'SET version = :n',
            ExpressionAttributeValues: { ':n': 2 },
          }),
        );
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return total / ((performance.now() - started) / 1000);
}
