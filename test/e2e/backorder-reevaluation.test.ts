import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toPutEventsEntry } from '../../contracts/events.ts';
import type { LocalCloud } from '../../local/cloud.ts';
import { sampleOrders } from '../../local/demo/sample-orders.ts';
import type { PartnerSandbox } from '../../local/partners/sandbox.ts';
import { startTestCloud, TEST_CREDENTIALS, type TestCloud, until } from '../support/test-cloud.ts';

/**
 * Backorders end to end on the real synthesized stack: a ship-complete order short everywhere is
 * backordered; backorder.created opens its backorder lines; a WMS receipt (inventory.received on the bus,
 * as the WMS adapter publishes it) starts the re-evaluation path, which fills the backorder, reserves,
 * and releases the order to the warehouse.
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

const tableNamed = (prefix: string) =>
  cloud.tables.find((t) => t.resource.logicalId.startsWith(prefix))?.name ?? '';

async function order(orderId: string): Promise<Record<string, unknown> | undefined> {
  const { Item } = await cloud.dynamodb.documents.send(
    new GetCommand({ TableName: tableNamed('OrdersTable'), Key: { pk: orderId, sk: 'ORDER' } }),
  );
  return Item;
}

async function backordersOf(orderId: string): Promise<Record<string, unknown>[]> {
  const { Items } = await cloud.dynamodb.documents.send(
    new QueryCommand({
      TableName: tableNamed('BackordersTable'),
      IndexName: 'byOrder',
      KeyConditionExpression: 'orderId = :o',
      ExpressionAttributeValues: { ':o': orderId },
    }),
  );
  return Items ?? [];
}

const eventTypes = (orderId: string) =>
  (cloud.events.archives[0]?.events ?? [])
    .filter((e) => (e.event.detail as { orderId?: string }).orderId === orderId)
    .map((e) => e.event['detail-type']);

/** What the WMS adapter does with the WMS's receipt messages: canonical inventory.received on the bus. */
async function publishReceipts(): Promise<string[]> {
  const bus =
    cloud.events.rules.find((r) => r.resource.logicalId.startsWith('InventoryReceived'))?.busName ?? '';
  const receipts = sandbox.wms.drainEvents();
  for (const receipt of receipts) {
    const r = receipt as unknown as Record<string, unknown>;
    const receiptId = String(r.eventId);
    const entry = toPutEventsEntry(
      'inventory.received',
      {
        schemaVersion: 1,
        orderId: receiptId,
        correlationId: receiptId,
        idempotencyKey: `${receiptId}:inventory:received`,
        occurredAt: String(r.occurredAt),
        receiptId,
        sku: String(r.itemCode),
        siteId: String(r.facilityCode),
        quantity: Number(r.quantity),
        onHand: Number(r.onHand),
        reserved: Number(r.committed),
      },
      bus,
    );
    await eventBridge.send(new PutEventsCommand({ Entries: [entry] }));
  }
  return receipts.map((r) => String((r as unknown as Record<string, unknown>).eventId));
}

describe('backorder re-evaluation', () => {
  it('fills a backordered ship-complete order when the short item is received, and releases it', async () => {
    const sample = sampleOrders(new Date(), 'BO1').find((o) => o.label.startsWith('ship-complete order'));
    const queue = [...cloud.sqs.queues.values()].find((q) =>
      q.resource.logicalId.startsWith('ErpIngressQueue'),
    );
    await world.sqs.send(
      new SendMessageCommand({ QueueUrl: queue?.url, MessageBody: JSON.stringify(sample?.body) }),
    );
    const orderId = 'ERP-BO1-6';
    await until('the order is backordered', async () =>
      (await order(orderId))?.stage === 'backordered' ? true : undefined,
    );
    const opened = await until('backorder.created opened its lines', async () => {
      const lines = await backordersOf(orderId);
      return lines.length > 0 ? lines : undefined;
    });
    expect(opened.map((b) => b.sku)).toContain('VALVE-3IN');

    // 30 valves arrive at the nearest DC: enough for the 12 ordered.
    sandbox.wms.receive('VALVE-3IN', 'DC-EAST', 30);
    const [receiptId] = await publishReceipts();
    const execution = await until('the re-evaluation path runs', () =>
      [...cloud.sfn.executions.values()].find(
        (e) => e.stateMachineArn.includes('BackorderReevaluationPath') && e.input.includes(String(receiptId)),
      ),
    );
    await until('it ends', () => (execution.status === 'RUNNING' ? undefined : execution.status));
    expect(execution.status).toBe('SUCCEEDED');
    expect(execution.statesEntered).toContain('ReserveAndRecordFill');
    expect((await order(orderId))?.stage).toBe('released');
    await until('the fill and the release are announced', () => {
      const types = eventTypes(orderId);
      return types.includes('backorder.filled.v1') && types.includes('warehouse.released.v1')
        ? true
        : undefined;
    });
    const reservations = sandbox.calls.filter(
      (c) => c.method === 'POST' && c.path === '/wms/reservations' && c.idempotencyKey?.includes(orderId),
    );
    expect(reservations.length).toBeGreaterThan(0);
  });
});
