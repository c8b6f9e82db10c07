/**
 * `npm start`: synthesizes the app, brings the local cloud up from `cdk.out`, sends sample ERP orders
 * through the real ingress queue, prints each order's journey and the run's scorecard (and writes its HTML
 * report to .handoff/report.html), then serves the AWS-compatible endpoint until Ctrl-C (`--once` stops
 * after the journeys).
 */
import { join } from 'node:path';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { App } from 'aws-cdk-lib';
import { run } from '../cli/main.ts';
import { buildApp, LOCAL_PARTNERS } from '../lib/app.ts';
import { repoRoot } from '../lib/paths.ts';
import { startLocalCloud } from '../local/cloud.ts';
import { sampleOrders } from '../local/demo/sample-orders.ts';
import { PartnerFeeds } from '../local/partners/feeds.ts';
import { PartnerSandbox } from '../local/partners/sandbox.ts';
import { samplePurchaseOrder850, seedSandbox } from '../local/partners/seed.ts';

const once = process.argv.includes('--once');
const port = Number(process.env.HANDOFF_PORT ?? 4566);
const t0 = performance.now();

const assemblyDir = join(repoRoot, 'cdk.out');
buildApp(
  new App({
    outdir: assemblyDir,
    context: { 'aws:cdk:bundling-stacks': [], 'aws:cdk:enable-asset-metadata': true },
  }),
).app.synth();
const synthMs = Math.round(performance.now() - t0);

const sandbox = new PartnerSandbox();
await sandbox.start(Number(new URL(LOCAL_PARTNERS.erpBaseUrl).port));
seedSandbox(sandbox);
const cloud = await startLocalCloud({ assemblyDir, repoRoot, port });
console.log(
  `Handoff local cloud up at ${cloud.endpoint} — synth ${synthMs} ms, start-up ${cloud.startedInMs} ms: ` +
    `${cloud.tables.length} tables, ${cloud.sqs.queues.size} queues, ${cloud.lambda.functions.size} functions, ` +
    `${cloud.sfn.machines.size} state machines, ${cloud.events.rules.length} rules, partners at 127.0.0.1:${new URL(LOCAL_PARTNERS.erpBaseUrl).port}`,
);

// What partners push (EDI mailbox, WMS put-aways, vendor ship notices) flows into the stack's queues.
const feeds = new PartnerFeeds(cloud, sandbox);
feeds.start();

let stopped = false;
async function shutdown(code: number): Promise<never> {
  if (!stopped) {
    stopped = true;
    await feeds.stop();
    await cloud.stop();
    await sandbox.stop();
  }
  process.exit(code);
}
process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));

const ordersTable = cloud.tables.find((t) => t.resource.logicalId.startsWith('OrdersTable'))?.name ?? '';
const exceptionsTable =
  cloud.tables.find((t) => t.resource.logicalId.startsWith('ExceptionsTable'))?.name ?? '';
const ingress = [...cloud.sqs.queues.values()].find((q) =>
  q.resource.logicalId.startsWith('ErpIngressQueue'),
);
if (!ingress) throw new Error('the template has no ERP ingress queue');
const sqs = new SQSClient({ endpoint: cloud.endpoint, region: 'us-east-1' });
const runId = `SO${Date.now().toString(36).toUpperCase()}`;
const samples = sampleOrders(new Date(), runId);
for (const sample of samples) {
  await sqs.send(new SendMessageCommand({ QueueUrl: ingress.url, MessageBody: JSON.stringify(sample.body) }));
}
// A retail chain's replenishment order arrives as an X12 850 in the EDI gateway's mailbox.
const ediPo = `${runId}-EDI1`;
sandbox.edi.putInbound(samplePurchaseOrder850({ poNumber: ediPo, at: new Date(), controlNumber: 1 }));
const journeysToFollow = [
  ...samples.map((sample) => ({ orderId: `ERP-${String(sample.body.SalesOrder)}`, label: sample.label })),
  {
    orderId: `EDI-C-7007-${ediPo}`,
    label: 'retail chain replenishment by EDI 850 (997 and 855 back to the chain)',
  },
];
console.log(
  `\nSent ${samples.length} ERP sales orders to ${ingress.name} and one X12 850 to the EDI mailbox; following them…\n`,
);

const RESTING = new Set([
  'released',
  'credit-hold',
  'rejected',
  'backordered',
  'release-deferred',
  'exception',
]);
const archive = cloud.events.archives[0];
const eventsFor = (orderId: string) =>
  (archive?.events ?? [])
    .filter((e) => (e.event.detail as { orderId?: string }).orderId === orderId)
    .map((e) => e.event);
const deadline = Date.now() + 90_000;
/** Waits until the order rests (or the deadline passes) and describes its journey. */
async function journeyOf(
  orderId: string,
  label: string,
  settledWhen: (stage: string) => boolean = (stage) => RESTING.has(stage),
): Promise<string> {
  let record: Record<string, unknown> | undefined;
  for (;;) {
    record = (
      await cloud.dynamodb.documents.send(
        new GetCommand({ TableName: ordersTable, Key: { pk: orderId, sk: 'ORDER' } }),
      )
    ).Item;
    const rejected = eventsFor(orderId).some((e) => e['detail-type'] === 'order.rejected.v1');
    const execution = [...cloud.sfn.executions.values()].find((e) => e.name === orderId);
    const settled =
      record &&
      settledWhen(String(record.stage)) &&
      (execution?.status !== 'RUNNING' ||
        record.stage === 'release-deferred' ||
        // A held order's path waits in a callback task for finance's decision.
        (record.stage === 'credit-hold' &&
          execution.statesEntered.includes('AwaitCreditControllerDecision')));
    if (settled || (!record && rejected) || Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const execution = [...cloud.sfn.executions.values()].find((e) => e.name === orderId);
  const lines = [`● ${orderId} — ${label}`];
  if (record) {
    const history = (record.stageHistory as { stage: string; reasonCodes: string[] }[]).map(
      (h) => `${h.stage}${h.reasonCodes.length ? ` (${h.reasonCodes.join(', ')})` : ''}`,
    );
    if (record.path) lines.push(`    path        ${String(record.path)}`);
    lines.push(`    stages      ${history.join(' → ')}`);
    const allocation = record.allocation as { siteId?: string | null } | undefined;
    if (allocation?.siteId) lines.push(`    site        ${allocation.siteId}`);
    const held = (record.credit as { exceptionId?: string } | undefined)?.exceptionId;
    if (record.stage === 'credit-hold' && held) {
      const exception = (
        await cloud.dynamodb.documents.send(new GetCommand({ TableName: exceptionsTable, Key: { pk: held } }))
      ).Item as { ownerTeam?: string; slaDueAt?: string; awaiting?: { role?: string } } | undefined;
      lines.push(
        `    waiting     on ${exception?.ownerTeam ?? 'finance'} ${exception?.awaiting?.role ?? ''} until ${exception?.slaDueAt ?? '?'} (${held}); decide with the DecideException function`,
      );
    }
    const parked = (record.exceptionIds as string[] | undefined)?.at(-1);
    if (record.stage === 'exception' && parked) {
      const exception = (
        await cloud.dynamodb.documents.send(
          new GetCommand({ TableName: exceptionsTable, Key: { pk: parked } }),
        )
      ).Item as
        | {
            ownerTeam?: string;
            type?: string;
            recommendedAction?: string;
            context?: { error?: string; cause?: string };
          }
        | undefined;
      lines.push(
        `    exception   ${parked}: ${exception?.type ?? '?'} for ${exception?.ownerTeam ?? '?'} (${exception?.context?.error ?? 'no error recorded'}) — ${exception?.recommendedAction ?? ''}`,
      );
      if (exception?.context?.cause)
        lines.push(`    cause       ${String(exception.context.cause).slice(0, 300)}`);
    }
  } else {
    lines.push('    stages      never created: quarantined at the adapter');
  }
  if (execution) {
    lines.push(
      `    execution   ${execution.status}, ${execution.statesEntered.length} state transitions: ${execution.statesEntered.join(' → ')}`,
    );
  }
  const events = eventsFor(orderId);
  lines.push(
    `    events      ${events.map((e) => e['detail-type'].replace(/\.v1$/, '')).join(', ') || 'none'}`,
  );
  const rejection = events.find((e) => e['detail-type'] === 'order.rejected.v1')?.detail as
    | { violations?: { path: string; rule: string }[] }
    | undefined;
  if (rejection?.violations) {
    lines.push(`    rejected    ${rejection.violations.map((v) => `${v.path} ${v.rule}`).join('; ')}`);
  }
  return lines.join('\n');
}

const journeys: string[] = [];
for (const { orderId, label } of journeysToFollow) journeys.push(await journeyOf(orderId, label));
console.log(journeys.join('\n\n'));

// The short valve arrives at DC-EAST: the WMS announces the put-away (its feed → inventory.received), and the
// backorder re-evaluation fills the open backorders by priority: the ship-complete order is released whole.
const backordered = journeysToFollow.find((j) => j.label.startsWith('ship-complete order'));
if (backordered) {
  sandbox.wms.receive('VALVE-3IN', 'DC-EAST', 40);
  console.log('\nWMS put away 40 VALVE-3IN at DC-EAST; its feed announces inventory.received…\n');
  console.log(
    await journeyOf(
      backordered.orderId,
      'the ship-complete backorder after the receipt',
      (stage) => stage === 'released',
    ),
  );
  const reevaluation = [...cloud.sfn.executions.values()].find(
    (e) => e.stateMachineArn.includes('BackorderReevaluation') && e.statesEntered.length > 0,
  );
  if (reevaluation) {
    await reevaluation.done;
    console.log(
      `    re-evaluated ${reevaluation.status}, ${reevaluation.statesEntered.length} state transitions: ${reevaluation.statesEntered.join(' → ')}`,
    );
  }
}

const wms = sandbox.calls.filter((c) => c.method === 'POST' && c.path.startsWith('/wms'));
const edi = sandbox.edi.outbound.flatMap((d) => d.transactionSets.map((t) => t.code));
console.log(
  `\nWMS side effects: ${wms.filter((c) => c.path.endsWith('/reservations')).length} reservations, ` +
    `${wms.filter((c) => c.path.endsWith('/releases')).length} releases, each with an Idempotency-Key. ` +
    `EDI documents sent: ${edi.join(', ') || 'none'}. Partner feeds delivered: ${feeds.delivered.edi} EDI, ${feeds.delivered.wms} WMS, ${feeds.delivered.vendorAsns} vendor ASN.`,
);

// The scorecard of what just ran, computed from the process log as `handoff scorecard` does, and the
// HTML report beside it.
while (true) {
  await cloud.events.idle();
  await new Promise((resolve) => setTimeout(resolve, 20));
  if (cloud.lambda.inFlight === 0) break;
}
const cliContext = {
  out: {
    write: (text: string) => console.log(text),
    colour: Boolean(process.stdout.isTTY) && !process.env.NO_COLOR,
    now: () => new Date(),
  },
  err: (text: string) => console.error(text),
};
console.log('\nScorecard of this run (`handoff scorecard --from 1h`):\n');
await run(['scorecard', '--from', '1h'], cliContext);
await run(['report', '--from', '1h', '--out', join(repoRoot, '.handoff', 'report.html')], cliContext);

if (once) await shutdown(0);
console.log(
  `\nServing ${cloud.endpoint} (AWS SDK: AWS_ENDPOINT_URL=${cloud.endpoint}; CLI: aws --endpoint-url ${cloud.endpoint} stepfunctions list-state-machines). Ctrl-C stops.`,
);
