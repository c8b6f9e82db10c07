import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../cli/main.ts';
import { toPutEventsEntry } from '../../contracts/events.ts';
import { DynamoProcessLog } from '../../lambdas/adapters/aws/dynamo-process-log.ts';
import { computeScorecard, toProcessEvent } from '../../lambdas/core/scorecard.ts';
import type { Scorecard } from '../../lambdas/core/scorecard-model.ts';
import { VirtualClock } from '../../local/clock/clock.ts';
import type { LocalCloud } from '../../local/cloud.ts';
import { sampleOrders } from '../../local/demo/sample-orders.ts';
import { quiet } from '../support/faults.ts';
import {
  queueNamed,
  startTestCloud,
  TEST_CREDENTIALS,
  type TestCloud,
  until,
} from '../support/test-cloud.ts';

/**
 * The scorecard's pipeline on the real stack: every canonical event reaches the process log (the
 * ProcessRecorder rule), `handoff scorecard` computes from it exactly what the core computes from the
 * bus archive's events, `handoff report` writes that scorecard into its HTML, and `handoff replay`
 * re-sends archived events to the rules that consume them without repeating a side effect.
 */
const clock = new VirtualClock(new Date('2026-12-03T09:00:00.000Z'));
let world: TestCloud;
let cloud: LocalCloud;
let eventBridge: EventBridgeClient;
const dir = mkdtempSync(join(tmpdir(), 'handoff-report-'));

beforeAll(async () => {
  world = await startTestCloud({ clock });
  cloud = world.cloud;
  eventBridge = new EventBridgeClient({
    endpoint: cloud.endpoint,
    region: 'us-east-1',
    credentials: TEST_CREDENTIALS,
  });
});

afterAll(async () => {
  eventBridge?.destroy();
  await world?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function handoff(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await run(argv, {
    out: { write: (text) => out.push(text), colour: false, now: () => clock.now() },
    err: (text) => err.push(text),
  });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const orderOf = (e: { detail: unknown }) => (e.detail as { orderId?: string }).orderId;
const archived = () => cloud.events.archives[0]?.events.map(({ event }) => event) ?? [];
const busName = () => cloud.events.archives[0]?.busName ?? '';
const tableNamed = (prefix: string) =>
  cloud.tables.find((t) => t.resource.logicalId.startsWith(prefix))?.name ?? '';

describe('process log, scorecard, report and replay on the local cloud', () => {
  const samples = sampleOrders(clock.now(), 'SC1');
  const fine = samples.find((o) => o.label === 'wholesale order, credit and stock fine');
  const malformed = samples.find((o) => o.label === 'malformed order from the ERP');
  const orderId = `ERP-${String(fine?.body.SalesOrder)}`;
  const shipmentId = `${orderId}-S1`;
  let card: Scorecard;

  it('logs every canonical event, and the scorecard equals the one computed from the archive', async () => {
    for (const sample of [fine, malformed]) {
      await world.sqs.send(
        new SendMessageCommand({
          QueueUrl: queueNamed(cloud, 'ErpIngressQueue').url,
          MessageBody: JSON.stringify(sample?.body),
        }),
      );
    }
    const released = await until('the order is released', () =>
      archived().find((e) => e['detail-type'] === 'warehouse.released.v1' && orderOf(e) === orderId),
    );
    await clock.advance(3 * 3_600_000);
    const detail = released.detail as { lines: { lineNo: number; sku: string; quantity: number }[] };
    const shippedAt = clock.now().toISOString();
    const put = await eventBridge.send(
      new PutEventsCommand({
        Entries: [
          toPutEventsEntry(
            'shipment.confirmed',
            {
              schemaVersion: 1,
              orderId,
              correlationId: orderId,
              idempotencyKey: `${orderId}:shipment.confirmed:${shipmentId}`,
              occurredAt: shippedAt,
              shipmentId,
              siteId: 'DC-EAST',
              carrier: 'PCPT',
              trackingNumber: '1ZSC1000001',
              shippedAt,
              lines: detail.lines,
              partial: false,
            },
            busName(),
          ),
        ],
      }),
    );
    expect(put.FailedEntryCount).toBe(0);
    await until('the shipment is invoiced', () =>
      archived().find((e) => e['detail-type'] === 'invoice.issued.v1' && orderOf(e) === orderId),
    );
    await quiet(cloud);
    // The window ends after the last event: [from, to) excludes what happens at `to` itself.
    await clock.advance(60_000);
    // What `--from 1d` means: a day back from now.
    const window = {
      from: new Date(clock.now().getTime() - 86_400_000).toISOString(),
      to: clock.now().toISOString(),
    };
    const logged = await new DynamoProcessLog(
      new DynamoDBClient({ endpoint: cloud.endpoint, region: 'us-east-1', credentials: TEST_CREDENTIALS }),
      tableNamed('ProcessLogTable'),
    ).read(window);
    const expected = archived()
      .map((e) => toProcessEvent(e as Parameters<typeof toProcessEvent>[0]))
      .filter((e) => e !== undefined);
    expect(expected.length).toBeGreaterThan(8);
    expect(new Set(logged.map((e) => e.id))).toEqual(new Set(expected.map((e) => e.id)));

    const result = await handoff('--json', 'scorecard', '--from', '1d');
    expect(result).toMatchObject({ code: 0, err: '' });
    card = JSON.parse(result.out) as Scorecard;
    expect(card).toEqual(computeScorecard(expected, window, { now: window.to }));
    // The two ERP orders: one received and released; the malformed one quarantined, never received.
    expect(card.orders).toBe(1);
    expect(card.orderToRelease.overall.count).toBe(1);
    expect(card.exceptions.byCause).toEqual(
      expect.arrayContaining([expect.objectContaining({ key: 'validation' })]),
    );
    expect(card.shipping.invoicedWithoutProof).toBe(0);
    expect(card.shipping.invoiceAligned).toMatchObject({ measured: 1, hits: 1 });
  }, 180_000);

  it('prints the scorecard for a person, and refuses a window that ends before it starts', async () => {
    const printed = await handoff('scorecard', '--from', '1d');
    expect(printed.code).toBe(0);
    expect(printed.out).toMatch(/orders?\D+1\b/i);
    const backwards = await handoff('scorecard', '--from', '1h', '--to', '2h');
    expect(backwards.code).toBe(1);
    expect(backwards.err).toContain('--to must be after --from');
    const nonsense = await handoff('scorecard', '--from', 'yesterday');
    expect(nonsense.code).toBe(1);
    expect(nonsense.err).toContain('--from must be an ISO 8601 time');
  });

  it('writes the report with the same scorecard embedded', async () => {
    const path = join(dir, 'week.html');
    const written = await handoff('report', '--from', '1d', '--out', path);
    expect(written.code).toBe(0);
    expect(written.out).toContain(`Report written ${path}`);
    const html = readFileSync(path, 'utf8');
    expect(html).toContain('id="chart-cycle-time"');
    const data = /<script type="application\/json" id="scorecard-data">([\s\S]*?)<\/script>/.exec(html)?.[1];
    const embedded = JSON.parse(data ?? 'null') as Scorecard;
    expect({ ...embedded, generatedAt: card.generatedAt }).toEqual(card);
  });

  it('replays shipment.confirmed to its consumers only: the invoice is not posted twice', async () => {
    const invoicesBefore = archived().filter(
      (e) => e['detail-type'] === 'invoice.issued.v1' && orderOf(e) === orderId,
    ).length;
    const dry = await handoff(
      '--json',
      'replay',
      '--from',
      '1d',
      '--detail-type',
      'shipment.confirmed',
      '--dry-run',
    );
    expect(dry.code).toBe(0);
    const plan = JSON.parse(dry.out) as { state: string; rules: string[] };
    expect(plan.state).toBe('DRY-RUN');
    expect(cloud.events.replays.size).toBe(0);
    expect(plan.rules.some((r) => r.includes('ShipmentConfirmedToPostShipment'))).toBe(true);
    expect(plan.rules.some((r) => r.includes('OrderReceivedToRouter'))).toBe(false);

    const replayed = await handoff('--json', 'replay', '--from', '1d', '--detail-type', 'shipment.confirmed');
    expect(replayed).toMatchObject({ code: 0, err: '' });
    const result = JSON.parse(replayed.out) as { state: string; reason: string; replayName: string };
    expect(result.state).toBe('COMPLETED');
    expect(result.reason).toMatch(/^\d+ events replayed$/);
    // The replayed shipment.confirmed starts the post-shipment workflow a second time.
    const postShipmentRuns = await until('the replayed shipment is processed again', () => {
      const runs = [...cloud.sfn.executions.values()].filter(
        (e) => e.stateMachineArn.includes('PostShipmentWorkflow') && e.input.includes(shipmentId),
      );
      return runs.length === 2 && runs.every((e) => e.status !== 'RUNNING') ? runs : undefined;
    });
    await quiet(cloud);
    expect(postShipmentRuns.every((e) => e.status === 'SUCCEEDED')).toBe(true);
    // The workflow ran again and may announce its invoice again, but it is the same invoice.
    const invoiceIds = archived()
      .filter((e) => e['detail-type'] === 'invoice.issued.v1' && orderOf(e) === orderId)
      .map((e) => (e.detail as { invoiceId: string }).invoiceId);
    expect(invoicesBefore).toBe(1);
    expect(new Set(invoiceIds).size).toBe(1);
    const posted = world.sandbox.calls.filter(
      (c) => c.method === 'POST' && c.path === '/erp/invoices' && c.idempotencyKey?.includes(orderId),
    );
    expect(new Set(posted.map((c) => c.idempotencyKey)).size).toBe(1);
  }, 120_000);

  it('refuses a replay it cannot do, saying what to do instead', async () => {
    const unknown = await handoff('replay', '--from', '1d', '--detail-type', 'order.teleported');
    expect(unknown.code).toBe(1);
    expect(unknown.err).toContain('--detail-type order.teleported is not a Handoff event; use one of');
    const noFrom = await handoff('replay');
    expect(noFrom.err).toContain('--from is required');
    const future = await handoff('replay', '--from', '1h', '--to', '2026-12-31T00:00:00Z');
    expect(future.err).toContain('--to must not be in the future');
  });
});
