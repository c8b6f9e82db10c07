import { rmSync } from 'node:fs';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { App } from 'aws-cdk-lib';
import { FAIL_SYNTH_ON_VALIDATION_ERRORS_CONTEXT } from 'aws-cdk-lib/cx-api';
import { repoRoot } from '../lib/paths.ts';
import { VirtualClock } from '../local/clock/clock.ts';
import { type InstantActivity, InstantGate } from '../local/clock/instant-gate.ts';
import { type LocalCloud, startLocalCloud, workRunning } from '../local/cloud.ts';
import { freePort } from '../local/dynamodb/dynamodb-local.ts';
import { PartnerFeeds } from '../local/partners/feeds.ts';
import { PartnerSandbox } from '../local/partners/sandbox.ts';
import type { LocalQueue } from '../local/sqs/sqs-service.ts';
import { synthesizeCached } from '../local/synth-cache.ts';
import type { Arrival, SimCustomer, Workload } from './workload.ts';
import { ediTradingPartnersOf, erpSalesOrder, purchaseOrder850, seedWorld } from './world.ts';

const MINUTE = 60_000;

/** A running simulated world: the partner sandboxes and the local cloud, both on one virtual clock. */
export interface SimWorld {
  readonly clock: VirtualClock;
  /** Where the WMS's stock reservations of one instant wait to be decided in a fixed order. */
  readonly gate: InstantGate;
  readonly sandbox: PartnerSandbox;
  readonly cloud: LocalCloud;
  readonly feeds: PartnerFeeds;
  readonly sqs: SQSClient;
  readonly ingress: LocalQueue;
  stop(): Promise<void>;
}

export interface WorldOptions {
  readonly seed: number;
  /** The endpoint's port. @default a free port */
  readonly port?: number;
  /** Minutes between SLA detector runs (the product default is 1). @default 15 */
  readonly slaDetectorMinutes?: number;
}

/** Synthesizes the app for this workload's partners and brings sandboxes and cloud up on a virtual clock. */
export async function startWorld(workload: Workload, options: WorldOptions): Promise<SimWorld> {
  const clock = new VirtualClock(new Date(workload.start));
  // Timers due within a virtual second wake together (the shortest task timeout is 15 s): a week of jittered
  // retries and cut-offs does not queue one invocation's real time behind another's.
  clock.wakeWindowMs = 1000;
  // A partner the fault profile slows answers in virtual time: the call is asleep on the clock (not holding
  // the instant up), and the caller's timeout, on the same clock, fires when time reaches it.
  const sandbox = new PartnerSandbox({
    clock,
    seed: options.seed,
    sleep: (ms, signal) => clock.sleepInFlight(ms, signal),
  });
  await sandbox.start();
  seedWorld(sandbox, workload);
  const outdir = await synthesizeCached({
    context: {
      'aws:cdk:bundling-stacks': [],
      [FAIL_SYNTH_ON_VALIDATION_ERRORS_CONTEXT]: true,
      'handoff:slaDetectorMinutes': options.slaDetectorMinutes ?? 15,
      'handoff:deadLetterIntakeMinutes': 15,
      'handoff:ediTradingPartners': ediTradingPartnersOf(workload.chains),
    },
    partnersBaseUrl: sandbox.baseUrl,
    synthesize: async (context, dir) => {
      // Loading the app's constructs costs about a second: only a synth that misses the cache pays it.
      const { buildApp } = await import('../lib/app.ts');
      const app = new App({ outdir: dir, context });
      buildApp(app);
      app.synth();
    },
  });
  let cloud: LocalCloud;
  try {
    cloud = await startLocalCloud({
      assemblyDir: outdir,
      repoRoot,
      port: options.port ?? (await freePort()),
      clock,
    });
  } catch (error) {
    await sandbox.stop();
    throw error;
  }
  // The WMS decides the stock reservations of one virtual instant together, in key order, once the instant's
  // other work is done: which of two orders of one minute gets a scarce item's last units is the seed's, not
  // the event loop's. The steps pause it while they put an instant's work in.
  const gate = new InstantGate(clock, instantActivity(cloud, clock));
  sandbox.gate = gate;
  if (process.env.HANDOFF_SIM_DEBUG) {
    gate.onForced = () =>
      console.error(
        'gate forced at',
        clock.now().toISOString(),
        { paused: gate.paused, inFlight: cloud.lambda.inFlight, asleep: clock.asleep, held: clock.held },
        cloud.sqs.mappings.map((m) => {
          const q = cloud.sqs.byArn(m.queueArn);
          return q ? `${q.name}=${cloud.sqs.waiting(q.name)}` : '';
        }),
      );
  }
  const feeds = new PartnerFeeds(cloud, sandbox);
  const ingress = [...cloud.sqs.queues.values()].find((q) =>
    q.resource.logicalId.startsWith('ErpIngressQueue'),
  );
  if (!ingress) throw new Error('the template has no ERP ingress queue');
  const sqs = new SQSClient({
    endpoint: cloud.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  return {
    clock,
    gate,
    sandbox,
    cloud,
    feeds,
    sqs,
    ingress,
    stop: async () => {
      sqs.destroy();
      await feeds.stop();
      await cloud.stop();
      await sandbox.stop();
      rmSync(outdir, { recursive: true, force: true });
    },
  };
}

/** Sends what the ERP and the chains' EDI translators put out in one interval. */
export class OrderSources {
  private controlNumber = 0;
  private readonly customers: ReadonlyMap<string, SimCustomer>;
  private readonly chains: ReadonlyMap<string, Workload['chains'][number]>;

  constructor(
    private readonly world: SimWorld,
    workload: Workload,
    /** True to deliver this ERP message twice (the duplicates fault: SQS delivers at least once). */
    private readonly deliverTwice: (arrival: Arrival) => boolean = () => false,
  ) {
    this.customers = new Map(workload.customers.map((c) => [c.id, c]));
    this.chains = new Map(workload.chains.map((c) => [c.customerId, c]));
  }

  /** Sales orders customer service corrected in the ERP, resent with the next interval's orders. */
  private readonly corrections: Arrival[] = [];
  /**
   * Sales orders the queue delivers a second time, with the next interval's orders: a redelivery comes after
   * the first delivery's visibility timeout, not beside it, so the copy meets an order already in the works
   * (and the first delivery's outcome is the seed's, not that of two copies racing through one instant).
   */
  private readonly redeliveries: string[] = [];
  private readonly erpArrivals = new Map<string, Arrival>();

  /**
   * Customer service confirmed the ship-to with the customer and corrected it in the ERP, which resends
   * the sales order (same number, right address). False when the order was sent with no address error.
   */
  correctAddress(orderId: string): boolean {
    const arrival = this.erpArrivals.get(orderId);
    if (!arrival?.addressError) return false;
    this.erpArrivals.delete(orderId);
    this.corrections.push(arrival);
    return true;
  }

  async send(arrivals: readonly Arrival[]): Promise<void> {
    const erp: Arrival[] = [];
    for (const arrival of arrivals) {
      if (arrival.channel === 'retail-replenishment') {
        const chain = this.chains.get(arrival.customerId);
        if (!chain) throw new Error(`no EDI chain ${arrival.customerId}`);
        this.world.sandbox.edi.putInbound(
          purchaseOrder850(arrival, chain, ++this.controlNumber),
          new Date(arrival.at),
        );
      } else erp.push(arrival);
    }
    // One batch after the other, as one interface connection sends them: the queue's order is the arrivals'.
    const bodies: string[] = this.redeliveries.splice(0);
    for (const arrival of erp) {
      const body = JSON.stringify(
        erpSalesOrder(arrival, this.customers.get(arrival.customerId) as SimCustomer),
      );
      bodies.push(body);
      if (this.deliverTwice(arrival)) this.redeliveries.push(body);
      if (arrival.addressError) this.erpArrivals.set(arrival.orderId, arrival);
    }
    for (const arrival of this.corrections.splice(0)) {
      const customer = this.customers.get(arrival.customerId) as SimCustomer;
      bodies.push(JSON.stringify(erpSalesOrder(arrival, customer, true)));
    }
    for (let i = 0; i < bodies.length; i += 10) {
      const entries = bodies.slice(i, i + 10).map((body, j) => ({ Id: String(j), MessageBody: body }));
      await this.world.sqs.send(
        new SendMessageBatchCommand({ QueueUrl: this.world.ingress.url, Entries: entries }),
      );
    }
  }
}

/**
 * Waits (real time) until the cloud has nothing left to do at this virtual instant: no Lambda invocation in
 * flight, no message waiting in a queue a function consumes, and nothing new happening over two looks.
 * Work parked on the virtual clock (Wait states, retries' backoff, task timeouts) is not waited for: it
 * runs when time reaches it.
 */
export async function untilSettled(world: SimWorld, stallMs = 120_000, ceilingMs = 900_000): Promise<void> {
  const { cloud, clock } = world;
  const instant = instantActivity(cloud, clock);
  const started = Date.now();
  let movedAt = started;
  let quiet = 0;
  let last = -1;
  // Gives up only when nothing has happened for `stallMs` (or after `ceilingMs` in all): an instant with a
  // lot of work is waited for to the end.
  while (Date.now() - movedAt < stallMs && Date.now() - started < ceilingMs) {
    const activity = instant.activity();
    if (activity !== last) movedAt = Date.now();
    // Requests held at the gate are decided at this instant: not settled until they are.
    const busy = instant.busy() || clock.held > 0;
    if (!busy && activity === last) {
      quiet += 1;
      // Three quiet looks a few milliseconds apart: a workflow between two states starts no invocation.
      if (quiet >= 3) return;
    } else quiet = 0;
    last = activity;
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  if (process.env.HANDOFF_SIM_DEBUG) {
    console.error('not settled', cloud.lambda.inFlight, clock.asleep, clock.held);
  }
}

/**
 * What tells that an instant's work is done: no invocation running except those asleep on the clock or
 * held at the gate, no request of the cloud's plumbing to an emulator unanswered, no message on its way to a
 * function's poller, and (for a simulation step, over a few looks) nothing new:
 * no invocation, execution, state, delivery or archived event.
 */
export function instantActivity(cloud: LocalCloud, clock: VirtualClock): InstantActivity {
  const transitions = transitionCounter(cloud);
  return {
    // In-flight messages a function holds show as invocations; a ready one waits for a free poller (it is
    // taken when one is free), and one whose invocation failed waits out its visibility timeout (real time)
    // and comes back in a later step.
    busy: () => workRunning(cloud.lambda, cloud.sqs, clock),
    activity: () =>
      cloud.lambda.invocations.length +
      cloud.sfn.executions.size +
      transitions.count +
      // A delivery waiting out a retry backoff on the virtual clock stays constant, so it reads as quiet.
      cloud.events.deliveriesInFlight * 1_000_003 +
      (cloud.events.archives[0]?.events.length ?? 0),
  };
}

export { MINUTE };

const counters = new WeakMap<LocalCloud, { count: number }>();

/** Counts every state any workflow enters (chained onto the usage meter's hook, installed once per cloud). */
function transitionCounter(cloud: LocalCloud): { count: number } {
  let counter = counters.get(cloud);
  if (!counter) {
    const created = { count: 0 };
    const previous = cloud.sfn.onTransition;
    cloud.sfn.onTransition = (machine, execution, retry) => {
      created.count += 1;
      previous?.(machine, execution, retry);
    };
    counters.set(cloud, created);
    counter = created;
  }
  return counter;
}
