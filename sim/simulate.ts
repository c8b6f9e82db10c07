import { writeFileSync } from 'node:fs';
import { BatchGetCommand } from '@aws-sdk/lib-dynamodb';
import type { CliContext } from '../cli/main.ts';
import { run as runCli } from '../cli/main.ts';
import { recordDynamoRequests, replayBound } from '../local/dynamodb/replay-bound.ts';
import { FaultInjector, type FaultProfile, type FaultInjector as Injector } from './faults.ts';
import {
  checkInvariants,
  type ExceptionFact,
  type InvariantFacts,
  type InvariantResult,
  type OrderFact,
} from './invariants.ts';
import { ExceptionOperators } from './operators.ts';
import { random, subSeed } from './random.ts';
import { MINUTE, OrderSources, type SimWorld, startWorld, untilSettled } from './simulation.ts';
import type { AwsUsage } from './usage.ts';
import { WarehouseDocks } from './warehouse.ts';
import { buildWorkload, type Workload } from './workload.ts';

export interface SimulateOptions {
  readonly orders: number;
  readonly days: number;
  readonly seed: number;
  readonly faults: FaultProfile;
  /** Midnight UTC of the first day. @default 2026-11-23 (a Monday) */
  readonly start?: Date;
  /** Virtual minutes per step: the ERP interface's send interval and the operators' refresh. @default 10 */
  readonly stepMinutes?: number;
  /** Virtual hours after the last arrival to let shipments, invoices and decisions finish. @default 72 */
  readonly tailHours?: number;
  readonly port?: number;
  readonly onProgress?: (progress: SimProgress) => void;
  /** Where the CLI commands the run uses (scorecard, report, dlq redrive) write. */
  readonly cli: CliContext;
}

export interface SimProgress {
  readonly now: Date;
  readonly fraction: number;
  readonly sent: number;
  readonly total: number;
  readonly closed: number;
  readonly openExceptions: number;
  readonly backlog: number;
  readonly wallMs: number;
}

export interface SimulationRun {
  readonly workload: Workload;
  readonly world: SimWorld;
  readonly wallMs: number;
  /** Wall time of the week itself (start-up and the closing reads excluded). */
  readonly weekWallMs: number;
  readonly sent: number;
  readonly docks: WarehouseDocks;
  readonly operators: ExceptionOperators;
  readonly faults: Injector;
  readonly invariants: readonly InvariantResult[];
  readonly usage: AwsUsage;
  readonly stages: ReadonlyMap<string, number>;
  readonly shortages: Shortages;
  /** Standard state transitions per order, by path, from the executions' histories. */
  readonly transitionsPerPath: ReadonlyMap<string, { executions: number; transitions: number }>;
  /** DynamoDB Local's own bound for this run's requests (a sample of its orders' requests replayed). */
  readonly emulator: EmulatorBound;
}

/** Short order lines and what became of them at allocation. */
export interface Shortages {
  /** Lines reserved as the customer's approved substitute. */
  substituted: number;
  /** Lines of paths that do not wait for a person whose substitute needed approval (backordered). */
  awaitingApproval: number;
  /** Substitutes put to the customer's account manager (substitution.proposed needing approval). */
  askedApproval: number;
  /** Of those: approved, declined by a person, declined by the SLA fallback; the rest are still open. */
  approved: number;
  declined: number;
  unanswered: number;
  /** Lines announced as backordered (backorder.created). */
  backordered: number;
}

export interface EmulatorBound {
  /** DynamoDB requests the week made (every function, the operators' and the drill's reads included). */
  readonly requests: number;
  readonly requestsPerOrder: number;
  /** Requests replayed: every request of a sample of partition keys, in order per key. */
  readonly replayed: number;
  /** Requests/s the emulator sustained replaying them at concurrency 32. */
  readonly opsPerSecond: number;
  /** opsPerSecond / requestsPerOrder: the orders/s DynamoDB Local alone would allow. */
  readonly ordersPerSecond: number;
  /** The week's orders/s over that bound. */
  readonly ratio: number;
}

/** One partition key in this many is sampled for the emulator bound (every request of a sampled key). */
const BOUND_SAMPLE = 16;

let unkeyed = 0;

/** Every request of one partition key in BOUND_SAMPLE, and one in BOUND_SAMPLE of those with no key (queries, batches). */
function sampledKey(input: Record<string, unknown>): boolean {
  const pk = JSON.stringify((input.Key ?? input.Item) as object)?.match(/"pk":\{"S":"([^"]+)"/)?.[1];
  if (!pk) return unkeyed++ % BOUND_SAMPLE === 0;
  let hash = 0;
  for (let i = 0; i < pk.length; i++) hash = (hash * 31 + pk.charCodeAt(i)) | 0;
  return (hash >>> 0) % BOUND_SAMPLE === 0;
}

export const DEFAULT_START = new Date('2026-11-23T00:00:00.000Z');

/**
 * Runs the week: each step moves the virtual clock on (waits, timeouts, schedules and carrier scans fall due
 * in it), the warehouse ships what is due, the operators decide what they finished, the ERP and the chains
 * send what arrived in the step, the partner feeds deliver, and the cloud works until it is idle at that
 * instant. After the week, the tail lets shipments, invoices and decisions finish; then the redrive drill
 * and the invariants.
 */
export async function simulate(options: SimulateOptions): Promise<SimulationRun> {
  const started = performance.now();
  const profile = options.faults;
  const workload = buildWorkload({
    orders: options.orders,
    days: options.days,
    seed: options.seed,
    start: options.start ?? DEFAULT_START,
    ...(profile.burst
      ? {
          burst: {
            // Kept inside the days that have arrivals (a one-day run bursts on its own afternoon).
            at:
              (options.start ?? DEFAULT_START).getTime() +
              Math.min(profile.burst.at, (options.days - 1) * 86_400_000 + 15 * 3_600_000),
            minutes: profile.burst.minutes,
            factor: profile.burst.factor,
          },
        }
      : {}),
  });
  const world = await startWorld(workload, {
    seed: options.seed,
    ...(options.port ? { port: options.port } : {}),
  });
  try {
    const faults = new FaultInjector(profile, world.sandbox, world.cloud, workload.start);
    faults.choosePoison(workload.arrivals.map((a) => a.orderId));
    const duplicateDraw = random(subSeed(options.seed, 'erp-duplicates'));
    const sources = new OrderSources(world, workload, () => faults.duplicateErpMessage(duplicateDraw.next()));
    const docks = new WarehouseDocks(world.sandbox, workload, options.seed);
    const operators = new ExceptionOperators(
      world.cloud,
      options.seed,
      undefined,
      (orderId) => docks.resend(orderId),
      (orderId) => sources.correctAddress(orderId),
    );
    world.cloud.usage.start();
    const dynamoBefore = world.cloud.meter.count('DynamoDB');
    const recording = recordDynamoRequests(world.cloud, 200_000, sampledKey);
    const profileRequests = process.env.HANDOFF_SIM_DEBUG ? new Map<string, number>() : undefined;
    if (profileRequests) {
      const previous = world.cloud.meter.recorder;
      world.cloud.meter.recorder = (service, command) => {
        previous?.(service, command);
        if (service !== 'DynamoDB') return;
        const input = (command as { input: Record<string, unknown> }).input;
        const sk = JSON.stringify(input.Key ?? input.Item ?? input.ExpressionAttributeValues ?? '').match(
          /"sk":\{"S":"([A-Za-z_]+)/,
        )?.[1];
        const key = `${command.constructor.name} ${String(input.TableName ?? '').replace(/^.*Stack-|[0-9A-Z]{8,}$/g, '')} ${sk ?? ''}`;
        profileRequests.set(key, (profileRequests.get(key) ?? 0) + 1);
      };
    }
    const weekStarted = performance.now();

    const step = (options.stepMinutes ?? 10) * MINUTE;
    // After the last arrival only the physical world and the queues move: longer steps.
    const tailStep = Math.max(step, 30 * MINUTE);
    const end = workload.end + (options.tailHours ?? 72) * 60 * MINUTE;
    const progressCounts = { closed: 0, cursor: 0 };
    const drill = { done: false, deadLetters: 0, redriven: 0 };
    let nextArrival = 0;
    let nextReceipt = 0;
    let sent = 0;
    for (let t = workload.start + step; t <= end; t += t >= workload.end ? tailStep : step) {
      await world.clock.advanceTo(t);
      // This instant's arrivals, receipts and decisions go in before any of its reservations is decided.
      world.gate.paused = true;
      faults.tick(t);
      const due: Workload['arrivals'][number][] = [];
      while (
        nextArrival < workload.arrivals.length &&
        (workload.arrivals[nextArrival]?.at ?? Infinity) <= t
      ) {
        due.push(workload.arrivals[nextArrival] as Workload['arrivals'][number]);
        nextArrival += 1;
      }
      while (
        nextReceipt < workload.receipts.length &&
        (workload.receipts[nextReceipt]?.at ?? Infinity) <= t
      ) {
        const receipt = workload.receipts[nextReceipt];
        nextReceipt += 1;
        if (receipt) world.sandbox.wms.receive(receipt.sku, receipt.facility, receipt.quantity);
      }
      docks.tick(t);
      await operators.tick(t);
      await sources.send(due);
      sent += due.length;
      await world.feeds.pump();
      world.gate.paused = false;
      await untilSettled(world);
      // The drill, two hours after the last arrival: the defect behind the poison pills is fixed, then the
      // dead letters go back with `handoff dlq redrive`; the tail lets their orders finish.
      if (profile.redriveDrill && !drill.done && t >= workload.end + 2 * 60 * MINUTE) {
        drill.done = true;
        drill.deadLetters = deadLetterMessages(world);
        faults.fixDefect();
        const out: string[] = [];
        // Every redriven message goes back before any of their reservations is decided.
        world.gate.paused = true;
        await runCli(['--json', 'dlq', 'redrive', '--by', 'ops.integration'], {
          ...options.cli,
          out: { ...options.cli.out, write: (text: string) => out.push(text) },
        });
        world.gate.paused = false;
        drill.redriven = redrivenCount(out.join('\n'));
        await untilSettled(world);
      }
      const archived = world.cloud.events.archives[0]?.events ?? [];
      for (; progressCounts.cursor < archived.length; progressCounts.cursor++) {
        if (archived[progressCounts.cursor]?.event['detail-type'] === 'order.closed.v1')
          progressCounts.closed += 1;
      }
      options.onProgress?.({
        now: world.clock.now(),
        fraction: (t - workload.start) / (end - workload.start),
        sent,
        total: workload.arrivals.length,
        closed: progressCounts.closed,
        openExceptions: operators.leftOpen.size,
        backlog: operators.backlog,
        wallMs: performance.now() - started,
      });
    }
    const weekWallMs = performance.now() - weekStarted;
    recording.stop();
    if (process.env.HANDOFF_SIM_TRACE) {
      const lines = (world.cloud.events.archives[0]?.events ?? []).map((e) => {
        const d = e.event.detail as Record<string, unknown>;
        return `${String(d.orderId ?? '-')} ${e.event.time} ${e.event['detail-type']} ${JSON.stringify(d).slice(0, 300)}`;
      });
      writeFileSync(process.env.HANDOFF_SIM_TRACE, lines.sort().join('\n'));
    }
    if (profileRequests) {
      for (const [key, n] of [...profileRequests].sort((a, b) => b[1] - a[1]))
        console.error(`dynamodb ${(n / Math.max(1, sent)).toFixed(2)}/order ${n} ${key}`);
    }
    const requests = world.cloud.meter.count('DynamoDB') - dynamoBefore;
    // Dead letters of a run without the drill, at its end (the drill counts them before its redrive).
    if (!drill.done) {
      await world.clock.advance(20 * MINUTE);
      await untilSettled(world);
      drill.deadLetters = deadLetterMessages(world);
    }
    const { deadLetters, redriven } = drill;

    const usage = await world.cloud.usage.measure(sent);
    const facts = await gatherFacts(world, workload, faults, docks, deadLetters, redriven);
    const opsPerSecond = await replayBound(world.cloud, recording.requests);
    const requestsPerOrder = requests / Math.max(1, sent);
    const boundOrdersPerSecond = opsPerSecond / Math.max(1e-9, requestsPerOrder);
    const emulator: EmulatorBound = {
      requests,
      requestsPerOrder,
      replayed: recording.requests.length,
      opsPerSecond,
      ordersPerSecond: boundOrdersPerSecond,
      ratio: sent / (weekWallMs / 1000) / boundOrdersPerSecond,
    };
    return {
      workload,
      world,
      wallMs: performance.now() - started,
      weekWallMs,
      sent,
      docks,
      operators,
      faults,
      invariants: checkInvariants(facts.invariantFacts),
      usage,
      stages: facts.stages,
      shortages: facts.shortages,
      transitionsPerPath: transitionsPerPath(world),
      emulator,
    };
  } catch (error) {
    await world.stop();
    throw error;
  }
}

/** Messages `dlq redrive --json` moved back, over every queue it reports. */
function redrivenCount(json: string): number {
  try {
    const report = JSON.parse(json) as { moved?: number }[];
    return report.reduce((sum, q) => sum + (q.moved ?? 0), 0);
  } catch {
    return 0;
  }
}

function transitionsPerPath(world: SimWorld): Map<string, { executions: number; transitions: number }> {
  const byPath = new Map<string, { executions: number; transitions: number }>();
  for (const execution of world.cloud.sfn.executions.values()) {
    const machine = world.cloud.sfn.machines.get(execution.stateMachineArn);
    const name = (machine?.resource.logicalId ?? execution.stateMachineArn).replace(/[0-9A-F]{8}$/, '');
    const entry = byPath.get(name) ?? { executions: 0, transitions: 0 };
    entry.executions += 1;
    entry.transitions += execution.statesEntered.length;
    byPath.set(name, entry);
  }
  return byPath;
}

/**
 * How Handoff's functions log a delivery they recognised as one they had already acted on: an ingress
 * duplicate, a redelivered tracking webhook, a shipment already recorded, a receipt already re-evaluated.
 */
const DUPLICATE_MARKS = [
  '"kind":"duplicate"',
  '"outcome":"duplicate"',
  '"alreadyRecorded":true',
  '"replayed":true',
  // A copy of a message Handoff refused: recognised as the one already quarantined, not quarantined twice.
  '"alreadyQuarantined":true',
];

/** Reads what the run left: orders and exceptions by key (BatchGet, no Scan), the archive, the partners. */
async function gatherFacts(
  world: SimWorld,
  workload: Workload,
  faults: Injector,
  docks: WarehouseDocks,
  deadLetters: number,
  redriven: number,
): Promise<{ invariantFacts: InvariantFacts; stages: Map<string, number>; shortages: Shortages }> {
  const { cloud, sandbox } = world;
  const table = (prefix: string) =>
    cloud.tables.find((t) => t.resource.logicalId.startsWith(prefix))?.name ?? '';
  const ordersTable = table('OrdersTable');
  const exceptionsTable = table('ExceptionsTable');
  const events = (cloud.events.archives[0]?.events ?? []).map((e) => e.event);
  const sent = workload.arrivals.map((a) => a.orderId);

  const orders = new Map<string, OrderFact>();
  const shortages = {
    substituted: 0,
    awaitingApproval: 0,
    backordered: 0,
    askedApproval: 0,
    approved: 0,
    declined: 0,
    unanswered: 0,
  };
  await batchGet(
    world,
    ordersTable,
    sent.map((pk) => ({ pk, sk: 'ORDER' })),
    'pk, stage, #o.#l, #a.substitutions, #a.substitutesAwaitingApproval',
    (item) => {
      const allocation = item.allocation as
        | { substitutions?: unknown[]; substitutesAwaitingApproval?: unknown[] }
        | undefined;
      shortages.substituted += allocation?.substitutions?.length ?? 0;
      shortages.awaitingApproval += allocation?.substitutesAwaitingApproval?.length ?? 0;
      const lines = (item.order as { lines?: { lineNo: number; quantity: number }[] } | undefined)?.lines;
      orders.set(String(item.pk), {
        stage: String(item.stage),
        ...(lines
          ? { lines: lines.map((l) => ({ lineNo: Number(l.lineNo), quantity: Number(l.quantity) })) }
          : {}),
      });
    },
    { '#o': 'order', '#l': 'lines', '#a': 'allocation' },
  );
  const stages = new Map<string, number>();
  for (const o of orders.values()) stages.set(o.stage, (stages.get(o.stage) ?? 0) + 1);

  const raised = new Map<string, { orderId: string; type: string; ownerTeam: string }>();
  for (const e of events) {
    if (e['detail-type'] !== 'exception.raised.v1') continue;
    const d = e.detail as { exceptionId: string; orderId: string; type: string; ownerTeam: string };
    raised.set(d.exceptionId, d);
  }
  const exceptions = new Map<string, ExceptionFact>();
  await batchGet(
    world,
    exceptionsTable,
    [...raised.keys()].map((pk) => ({ pk })),
    'pk, #s, orderId, #t, ownerTeam',
    (item) => {
      exceptions.set(String(item.pk), {
        orderId: String(item.orderId),
        state: item.state === 'open' ? 'open' : 'resolved',
        type: String(item.type),
        ownerTeam: String(item.ownerTeam),
      });
    },
    { '#s': 'state', '#t': 'type' },
  );

  // Durable waits: executions in their release-window wait, open backorders in the book.
  const waiting = new Map<string, string>();
  for (const execution of cloud.sfn.executions.values()) {
    if (execution.status === 'RUNNING' && execution.statesEntered.at(-1) === 'WaitForReleaseWindow') {
      waiting.set(execution.name, 'its release window');
    }
  }
  for (const [orderId, what] of docks.pendingAt(world.clock.now().getTime())) {
    if (!waiting.has(orderId)) waiting.set(orderId, what);
  }
  // Drop-ship orders handed to a vendor whose advance ship notice is still to come (its ship date ahead).
  for (const { item, dueAt } of sandbox.vendor.asns.upcoming()) {
    if (!waiting.has(item.buyerReference))
      waiting.set(item.buyerReference, `the vendor's ship notice due ${new Date(dueAt).toISOString()}`);
  }
  // By idempotency key: a retried step announces a proposal or a decision again under the same key.
  const asked = new Set<string>();
  const decisions = new Map<string, { decision: string; decidedBy: string }>();
  for (const e of events) {
    const d = e.detail as {
      orderId: string;
      lineNo?: number;
      requiresApproval?: boolean;
      idempotencyKey: string;
    };
    if (e['detail-type'] === 'substitution.proposed.v1' && d.requiresApproval) asked.add(d.idempotencyKey);
    if (e['detail-type'] === 'substitution.decided.v1')
      decisions.set(`${d.orderId}:${d.lineNo}`, e.detail as { decision: string; decidedBy: string });
  }
  shortages.askedApproval = asked.size;
  for (const { decision, decidedBy } of decisions.values()) {
    if (decision === 'approved') shortages.approved += 1;
    else if (decidedBy === 'handoff:sla-fallback') shortages.unanswered += 1;
    else shortages.declined += 1;
  }
  const backorderKeys = new Map<string, string>();
  for (const e of events) {
    if (e['detail-type'] !== 'backorder.created.v1') continue;
    const d = e.detail as { orderId: string; lines: { lineNo: number }[] };
    for (const line of d.lines) backorderKeys.set(`${d.orderId}-BO-${line.lineNo}`, d.orderId);
    shortages.backordered += d.lines.length;
  }
  await batchGet(
    world,
    table('BackordersTable'),
    [...backorderKeys.keys()].map((pk) => ({ pk, sk: 'BACKORDER' })),
    'pk, #s',
    (item) => {
      const orderId = backorderKeys.get(String(item.pk));
      if (orderId && item.status === 'open') waiting.set(orderId, 'a receipt (open backorder)');
    },
    { '#s': 'status' },
  );
  const rejectedAtIngress = new Set(
    events
      .filter((e) => e['detail-type'] === 'order.rejected.v1')
      .map((e) => (e.detail as { orderId: string }).orderId),
  );
  const confirmedShipments = new Set(
    events
      .filter((e) => e['detail-type'] === 'shipment.confirmed.v1')
      .map((e) => {
        const d = e.detail as { orderId: string; shipmentId: string };
        return `${d.orderId}|${d.shipmentId}`;
      }),
  );
  // Duplicates the product recognised, from its own log lines (a metric filter on CloudWatch Logs).
  let idempotencyHits = 0;
  const hitsByFunction: Record<string, number> = {};
  const hitsByOrder = new Map<string, number>();
  for (const line of cloud.lambda.logs) {
    if (!DUPLICATE_MARKS.some((mark) => line.text.includes(mark))) continue;
    idempotencyHits += 1;
    const fn = line.functionName.replace(/[0-9A-F]{8}$/, '');
    hitsByFunction[fn] = (hitsByFunction[fn] ?? 0) + 1;
    const orderId = /"orderId":"([^"]+)"/.exec(line.text)?.[1];
    if (orderId) hitsByOrder.set(orderId, (hitsByOrder.get(orderId) ?? 0) + 1);
  }
  // Copies of shipment messages no log line of their order recognised: where to look when the counts differ.
  const copiesByOrder = new Map<string, { edge: string; copies: number }>();
  for (const { edge, orderId } of faults.copiedOrders()) {
    const entry = copiesByOrder.get(orderId) ?? { edge, copies: 0 };
    copiesByOrder.set(orderId, { edge, copies: entry.copies + 1 });
  }
  const unrecognisedCopies = [...copiesByOrder]
    .filter(([orderId, { copies }]) => (hitsByOrder.get(orderId) ?? 0) < copies)
    .map(
      ([orderId, { edge }]) =>
        `${edge} copy for ${orderId} (${orders.get(orderId)?.stage ?? 'no order'}, exceptions ${
          [...exceptions.values()]
            .filter((e) => e.orderId === orderId)
            .map((e) => `${e.type}/${e.state}`)
            .join(' ') || 'none'
        })`,
    );
  const deadLetterExceptions = [...exceptions.entries()].filter(([id]) => id.startsWith('EXC-DLQ-')).length;
  const poison = faults.injected.poisonOrders;
  return {
    stages,
    shortages,
    invariantFacts: {
      sent,
      orders,
      exceptions,
      waiting,
      rejectedAtIngress,
      warehouseReleases: sandbox.wms.warehouseOrders.map((o) => ({
        orderId: o.orderReference,
        facility: o.facilityCode,
        lines: o.lines.map((l) => ({ lineNo: l.lineNumber, quantity: l.quantity })),
      })),
      carrierBookings: sandbox.tms.bookings.map((b) => ({ orderId: b.shipperReference })),
      invoices: sandbox.erp.invoices.map((i) => ({ orderId: i.orderId, shipmentId: i.shipmentId })),
      confirmedShipments,
      duplicatesInjected: faults.injected.duplicateDeliveries + faults.feedDuplicates(),
      idempotencyHits,
      duplicatesByEdge: faults.duplicatesByEdge(),
      hitsByFunction,
      unrecognisedCopies,
      deadLetters: { messages: deadLetters, owned: deadLetterExceptions },
      ...(faults.profile.redriveDrill ? { redrive: { orders: poison, redriven } } : {}),
    },
  };
}

function deadLetterMessages(world: SimWorld): number {
  let n = 0;
  for (const queue of world.cloud.sqs.queues.values()) {
    if (/Dlq[0-9A-F]{8}$/.test(queue.resource.logicalId)) n += world.cloud.sqs.pending(queue.name);
  }
  return n;
}

async function batchGet(
  world: SimWorld,
  table: string,
  keys: readonly Record<string, string>[],
  projection: string,
  each: (item: Record<string, unknown>) => void,
  names?: Record<string, string>,
): Promise<void> {
  const chunks: Record<string, string>[][] = [];
  for (let i = 0; i < keys.length; i += 100) chunks.push(keys.slice(i, i + 100));
  let next = 0;
  const worker = async () => {
    while (next < chunks.length) {
      let pending: Record<string, string>[] | undefined = chunks[next++];
      while (pending?.length) {
        const response = await world.cloud.dynamodb.documents.send(
          new BatchGetCommand({
            RequestItems: {
              [table]: {
                Keys: pending,
                ProjectionExpression: projection,
                ...(names ? { ExpressionAttributeNames: names } : {}),
              },
            },
          }),
        );
        for (const item of response.Responses?.[table] ?? []) each(item);
        pending = response.UnprocessedKeys?.[table]?.Keys as Record<string, string>[] | undefined;
      }
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
}
