import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toPutEventsEntry } from '../../contracts/events.ts';
import type { LocalCloud } from '../../local/cloud.ts';
import { sampleOrders } from '../../local/demo/sample-orders.ts';
import type { PartnerSandbox } from '../../local/partners/sandbox.ts';
import { startTestCloud, TEST_CREDENTIALS, type TestCloud, until } from '../support/test-cloud.ts';

/**
 * The post-shipment workflow on the real synthesized stack: shipment.confirmed on the bus starts the
 * Express workflow, which records the shipment, posts the invoice to the ERP sandbox, notifies the
 * customer through the CRM sandbox and closes the order once everything ordered is invoiced.
 */
let world: TestCloud;
let cloud: LocalCloud;
let sandbox: PartnerSandbox;
let eventBridge: EventBridgeClient;

beforeAll(async () => {
  world = await startTestCloud();
  ({ cloud, sandbox } = world);
  eventBridge = new EventBridgeClient({
    endpoint: cloud.endpoint,
    region: 'us-east-1',
    credentials: TEST_CREDENTIALS,
  });
});

afterAll(async () => {
  eventBridge?.destroy();
  await world?.stop();
});

const busName = () =>
  cloud.events.rules.find((r) => r.resource.logicalId.startsWith('ShipmentConfirmed'))?.busName ?? '';

async function order(orderId: string): Promise<Record<string, unknown>> {
  const table = cloud.tables.find((t) => t.resource.logicalId.startsWith('OrdersTable'))?.name ?? '';
  const { Item } = await cloud.dynamodb.documents.send(
    new GetCommand({ TableName: table, Key: { pk: orderId, sk: 'ORDER' } }),
  );
  if (!Item) throw new Error(`no order ${orderId}`);
  return Item;
}

/** The sample wholesale order (line 10: 40 WIDGET-100, line 20: 500 BOLT-M8), released to DC-EAST. */
async function releasedOrder(runId: string): Promise<string> {
  const sample = sampleOrders(new Date(), runId)[0];
  const queue = [...cloud.sqs.queues.values()].find((q) =>
    q.resource.logicalId.startsWith('ErpIngressQueue'),
  );
  await world.sqs.send(
    new SendMessageCommand({ QueueUrl: queue?.url, MessageBody: JSON.stringify(sample?.body) }),
  );
  const orderId = `ERP-${runId}-1`;
  await until('the order is released', async () =>
    (await order(orderId).catch(() => undefined))?.stage === 'released' ? true : undefined,
  );
  return orderId;
}

type ShippedLine = { lineNo: number; sku: string; quantity: number };

function shipmentEntry(orderId: string, shipmentId: string, lines: ShippedLine[], partial: boolean) {
  return toPutEventsEntry(
    'shipment.confirmed',
    {
      schemaVersion: 1,
      orderId,
      correlationId: orderId,
      idempotencyKey: `${orderId}:shipment.confirmed:${shipmentId}`,
      occurredAt: new Date().toISOString(),
      shipmentId,
      siteId: 'DC-EAST',
      carrier: 'PCPT',
      trackingNumber: `1Z${shipmentId.replace(/[^A-Z0-9]/g, '')}`,
      shippedAt: new Date().toISOString(),
      lines,
      partial,
    },
    busName(),
  );
}

async function shipped(orderId: string, shipmentId: string, lines: ShippedLine[], partial: boolean) {
  const result = await eventBridge.send(
    new PutEventsCommand({ Entries: [shipmentEntry(orderId, shipmentId, lines, partial)] }),
  );
  expect(result.FailedEntryCount).toBe(0);
}

const executionsFor = (shipmentId: string) =>
  [...cloud.sfn.executions.values()].filter(
    (e) => e.stateMachineArn.includes('PostShipmentWorkflow') && e.input.includes(shipmentId),
  );

const done = (shipmentId: string, count = 1) =>
  until(`the post-shipment workflow for ${shipmentId}`, () => {
    const runs = executionsFor(shipmentId);
    return runs.length >= count && runs.every((e) => e.status !== 'RUNNING') ? runs : undefined;
  });

describe('post-shipment workflow', () => {
  it('invoices a full shipment in the ERP, notifies the customer and closes the order', async () => {
    const orderId = await releasedOrder('PS1');
    await shipped(
      orderId,
      `${orderId}-S1`,
      [
        { lineNo: 10, sku: 'WIDGET-100', quantity: 40 },
        { lineNo: 20, sku: 'BOLT-M8', quantity: 500 },
      ],
      false,
    );
    const [run] = await done(`${orderId}-S1`);
    expect(run?.history.filter((h) => h.type === 'TaskFailed').map((h) => JSON.stringify(h))).toEqual([]);
    expect(run?.status).toBe('SUCCEEDED');
    expect(run?.statesEntered).toEqual([
      'RecordShipment',
      'InvoiceShipment',
      'NotifyCustomerOfShipment',
      'CloseOrderIfFullyInvoiced',
      'RouteOnInvoicingStatus',
      'OrderClosedFullyInvoiced',
    ]);
    expect((await order(orderId)).stage).toBe('closed');
    const posted = sandbox.calls.filter((c) => c.method === 'POST' && c.path === '/erp/invoices');
    expect(posted.at(-1)?.idempotencyKey).toBe(`INV-${orderId}-S1`);
    const ledger = await cloud.dynamodb.documents.send(
      new GetCommand({
        TableName: cloud.tables.find((t) => t.resource.logicalId.startsWith('OrdersTable'))?.name ?? '',
        Key: { pk: orderId, sk: `NOTIFICATION#${orderId}-shipped-${orderId}-S1` },
      }),
    );
    expect(ledger.Item?.entry).toMatchObject({ outcome: 'sent', channel: 'email' });
    expect(sandbox.crm.messages.filter((m) => m.orderReference === orderId)).toHaveLength(1);
  });

  it('invoices each partial shipment once, closes after the last, and ignores a redelivered event', async () => {
    const orderId = await releasedOrder('PS2');
    await shipped(orderId, `${orderId}-S1`, [{ lineNo: 10, sku: 'WIDGET-100', quantity: 40 }], true);
    await done(`${orderId}-S1`);
    expect((await order(orderId)).stage).toBe('invoiced');

    // The same event again (a carrier webhook delivered twice): no second invoice.
    await shipped(orderId, `${orderId}-S1`, [{ lineNo: 10, sku: 'WIDGET-100', quantity: 40 }], true);
    await done(`${orderId}-S1`, 2);
    const invoices = () =>
      sandbox.calls.filter(
        (c) => c.method === 'POST' && c.path === '/erp/invoices' && c.idempotencyKey?.includes(orderId),
      );
    expect(new Set(invoices().map((c) => c.idempotencyKey)).size).toBe(1);

    await shipped(orderId, `${orderId}-S2`, [{ lineNo: 20, sku: 'BOLT-M8', quantity: 500 }], false);
    await done(`${orderId}-S2`);
    expect((await order(orderId)).stage).toBe('closed');
    expect(new Set(invoices().map((c) => c.idempotencyKey))).toEqual(
      new Set([`INV-${orderId}-S1`, `INV-${orderId}-S2`]),
    );
  });

  it('two split shipments confirmed together: both invoiced, the order closes, nothing parked', async () => {
    // A carrier cut-off confirms both parts of a split order at once: two workflows run side by side.
    const orderId = await releasedOrder('PS4');
    const result = await eventBridge.send(
      new PutEventsCommand({
        Entries: [
          shipmentEntry(orderId, `${orderId}-S1`, [{ lineNo: 10, sku: 'WIDGET-100', quantity: 40 }], true),
          shipmentEntry(orderId, `${orderId}-S2`, [{ lineNo: 20, sku: 'BOLT-M8', quantity: 500 }], true),
        ],
      }),
    );
    expect(result.FailedEntryCount).toBe(0);
    const runs = [...(await done(`${orderId}-S1`)), ...(await done(`${orderId}-S2`))];

    expect(runs.map((run) => run.status)).toEqual(['SUCCEEDED', 'SUCCEEDED']);
    expect(runs.flatMap((run) => run.statesEntered)).not.toContain('ParkedAsOwnedException');
    expect((await order(orderId)).stage).toBe('closed');
    const invoiced = sandbox.calls.filter(
      (c) => c.method === 'POST' && c.path === '/erp/invoices' && c.idempotencyKey?.includes(orderId),
    );
    expect(new Set(invoiced.map((c) => c.idempotencyKey))).toEqual(
      new Set([`INV-${orderId}-S1`, `INV-${orderId}-S2`]),
    );
  });

  it('parks a shipment of more than was ordered as an owned exception instead of invoicing it', async () => {
    const orderId = await releasedOrder('PS3');
    await shipped(orderId, `${orderId}-S1`, [{ lineNo: 10, sku: 'WIDGET-100', quantity: 400 }], false);
    const [run] = await done(`${orderId}-S1`);
    expect(run?.statesEntered.at(-1)).toBe('ParkedAsOwnedException');
    expect((await order(orderId)).stage).toBe('exception');
  });
});
