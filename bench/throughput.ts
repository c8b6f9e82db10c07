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
import { PartnerSandbox } from '../local/partners/sandbox.ts';
import { seedSandbox } from '../local/partners/seed.ts';

const { values } = parseArgs({
  options: {
    orders: { type: 'string', default: '300' },
    concurrency: { type: 'string', default: '32' },
    workers: { type: 'string', default: '0' },
  },
});
const ORDERS = Number(values.orders);
const CONCURRENCY = Number(values.concurrency);

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
    'handoff:erpBaseUrl': `${sandbox.baseUrl}/erp`,
    'handoff:wmsBaseUrl': `${sandbox.baseUrl}/wms`,
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

try {
  // Warm-up: the JVM's JIT first (DynamoDB Local costs about twice the CPU per request until it has
  // compiled its hot paths), then one order, so module loading does not count either.
  await emulatorBound(cloud.dynamodb.documents, ordersTable, 6000);
  const warm = sampleOrders(new Date(), 'WARM')[0];
  const sqs = new SQSClient({ endpoint: cloud.endpoint, region: 'us-east-1' });
  await sqs.send(
    new SendMessageBatchCommand({
      QueueUrl: ingress.url,
      Entries: [{ Id: '0', MessageBody: JSON.stringify(warm?.body) }],
    }),
  );
  await waitForDone(['ERP-WARM-1'], new Map());

  // End to end.
  const before = new Map(cloud.meter.calls);
  // The exact DynamoDB requests the orders make, to replay straight at the emulator for its bound.
  const recorded: { command: new (input: object) => object; input: Record<string, unknown> }[] = [];
  cloud.meter.recorder = (service, command) => {
    if (service !== 'DynamoDB') return;
    const { input } = command as { input: Record<string, unknown> };
    recorded.push({
      command: command.constructor as new (input: object) => object,
      input: structuredClone(input),
    });
  };
  const template = sampleOrders(new Date(), 'X')[0]?.body as Record<string, unknown>;
  const runId = `B${Date.now().toString(36).toUpperCase()}`;
  const ids: string[] = [];
  const sentAt = new Map<string, number>();
  const profiler = process.env.BENCH_PROFILE ? new Session() : undefined;
  if (profiler) {
    profiler.connect();
    await profiler.post('Profiler.enable');
    await profiler.post('Profiler.start');
  }
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  const jvmBefore = jvmCpuSeconds();
  const eventLoop = monitorEventLoopDelay({ resolution: 10 });
  eventLoop.enable();
  for (let i = 0; i < ORDERS; i += 10) {
    const batch = Array.from({ length: Math.min(10, ORDERS - i) }, (_, j) => {
      const salesOrder = `${runId}-${i + j}`;
      ids.push(`ERP-${salesOrder}`);
      sentAt.set(`ERP-${salesOrder}`, performance.now());
      return { Id: String(j), MessageBody: JSON.stringify({ ...template, SalesOrder: salesOrder }) };
    });
    await sqs.send(new SendMessageBatchCommand({ QueueUrl: ingress.url, Entries: batch }));
  }
  const latencies = await waitForDone(ids, sentAt);
  const elapsed = (performance.now() - started) / 1000;
  cloud.meter.recorder = undefined;
  const cpu = process.cpuUsage(cpuBefore);
  const jvmCpu = jvmCpuSeconds() - jvmBefore;
  if (profiler && process.env.BENCH_PROFILE) {
    const { profile } = await profiler.post('Profiler.stop');
    writeFileSync(process.env.BENCH_PROFILE, JSON.stringify(profile));
  }
  eventLoop.disable();
  const dynamoOps = cloud.meter.count('DynamoDB', before);
  const opsPerOrder = dynamoOps / ORDERS;
  const transitions = ids.map(
    (id) => [...cloud.sfn.executions.values()].find((e) => e.name === id)?.statesEntered.length ?? 0,
  );

  // The emulator bound: the per-order DynamoDB mix, straight at DynamoDB Local, same concurrency.
  // The emulator bound: the very requests the orders made, replayed straight at DynamoDB Local (with worker
  // threads the requests are made off the main thread and not recorded: a synthetic get/put/update mix).
  const replayed = recorded.length >= dynamoOps;
  if (!replayed)
    console.log(`(${recorded.length} of ${dynamoOps} DynamoDB requests recorded: synthetic bound)`);
  const bound = replayed
    ? await replayBound(recorded)
    : await emulatorBound(
        cloud.dynamodb.documents,
        ordersTable,
        Math.max(2000, Math.round(opsPerOrder * ORDERS)),
      );
  const ordersPerSecond = ORDERS / elapsed;
  const boundOrdersPerSecond = bound / opsPerOrder;
  const sorted = latencies.sort((a, b) => a - b);
  console.log(`orders                      ${ORDERS} (Lambda worker threads: ${values.workers})`);
  console.log(`end-to-end throughput       ${ordersPerSecond.toFixed(1)} orders/s (${elapsed.toFixed(2)} s)`);
  console.log(
    `latency send → warehouse    p50 ${percentile(sorted, 50).toFixed(0)} ms, p99 ${percentile(sorted, 99).toFixed(0)} ms`,
  );
  console.log(`DynamoDB operations/order   ${opsPerOrder.toFixed(1)}`);
  console.log(
    `this process's CPU          ${(((cpu.user + cpu.system) / 1e6 / elapsed) * 100).toFixed(0)}% of one core; event-loop delay p99 ${(eventLoop.percentile(99) / 1e6).toFixed(0)} ms`,
  );
  console.log(`DynamoDB Local's CPU         ${((jvmCpu / elapsed) * 100).toFixed(0)}% of one core`);
  console.log(`Standard transitions/order  ${(transitions.reduce((a, b) => a + b, 0) / ORDERS).toFixed(1)}`);
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

/** CPU seconds the DynamoDB Local JVM has used (Linux /proc). */
function jvmCpuSeconds(): number {
  try {
    const fields = readFileSync(`/proc/${cloud.dynamodb.pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

async function waitForDone(ids: string[], sentAt: Map<string, number>): Promise<number[]> {
  const latencies = new Map<string, number>();
  const deadline = Date.now() + 600_000;
  while (latencies.size < ids.length) {
    for (const execution of cloud.sfn.executions.values()) {
      if (execution.status === 'RUNNING' || latencies.has(execution.name) || !ids.includes(execution.name))
        continue;
      if (execution.status !== 'SUCCEEDED')
        throw new Error(`${execution.name} ended ${execution.status}: ${execution.cause}`);
      latencies.set(execution.name, performance.now() - (sentAt.get(execution.name) ?? performance.now()));
    }
    if (Date.now() > deadline) throw new Error(`only ${latencies.size} of ${ids.length} orders finished`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return [...latencies.values()];
}

/**
 * Operations/s DynamoDB Local sustains for this very workload: every recorded request replayed with its key
 * suffixed (so conditions hold as they did), one key's requests in order, CONCURRENCY keys at a time.
 */
async function replayBound(
  requests: { command: new (input: object) => object; input: Record<string, unknown> }[],
): Promise<number> {
  const rekey = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(rekey);
    if (value === null || typeof value !== 'object') return value;
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([k, v]) =>
        k === 'pk' && v && typeof v === 'object' && 'S' in v
          ? [k, { S: `${(v as { S: string }).S}#replay` }]
          : [k, rekey(v)],
      ),
    );
  };
  const byKey = new Map<string, typeof requests>();
  for (const request of requests) {
    const key =
      JSON.stringify((request.input.Key ?? request.input.Item) as object)?.match(
        /"pk":\{"S":"([^"]+)"/,
      )?.[1] ?? 'unknown';
    const list = byKey.get(key) ?? [];
    list.push({ command: request.command, input: rekey(request.input) as Record<string, unknown> });
    byKey.set(key, list);
  }
  const queues = [...byKey.values()];
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    for (;;) {
      const queue = queues[next++];
      if (!queue) return;
      for (const { command, input } of queue) {
        await cloud.dynamodb.client.send(new command(input) as never).catch(() => undefined);
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return requests.length / ((performance.now() - started) / 1000);
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
