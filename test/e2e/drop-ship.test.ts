import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { LocalCloud } from '../../local/cloud.ts';
import { sampleOrders } from '../../local/demo/sample-orders.ts';
import type { PartnerSandbox } from '../../local/partners/sandbox.ts';
import { queueNamed, startTestCloud, type TestCloud, until } from '../support/test-cloud.ts';

/** The drop-ship path on the real synthesized stack: a vendor-direct order becomes a vendor purchase order. */
let world: TestCloud;
let cloud: LocalCloud;
let sandbox: PartnerSandbox;

beforeAll(async () => {
  world = await startTestCloud();
  ({ cloud, sandbox } = world);
});

afterAll(async () => {
  await world?.stop();
});

async function send(runId: string, change: (body: Record<string, unknown>) => void = () => {}) {
  const sample = sampleOrders(new Date(), runId).find((o) => o.label.includes('drop-ship'));
  const body = structuredClone(sample?.body ?? {});
  change(body);
  const queue = [...cloud.sqs.queues.values()].find((q) =>
    q.resource.logicalId.startsWith('ErpIngressQueue'),
  );
  await world.sqs.send(new SendMessageCommand({ QueueUrl: queue?.url, MessageBody: JSON.stringify(body) }));
  const orderId = `ERP-${String(body.SalesOrder)}`;
  const execution = await until('the drop-ship path runs', () =>
    [...cloud.sfn.executions.values()].find((e) => e.name === orderId),
  );
  await until('it ends', () => (execution.status === 'RUNNING' ? undefined : execution.status));
  return { orderId, execution };
}

it('parks an order with customer service when the vendor cannot ship in time for the promise date', async () => {
  // Promised in 3 days; the vendor's lead time is 5.
  const { orderId, execution } = await send('DS2', (body) => {
    body.RequestedDeliveryDate = new Date(Date.now() + 3 * 86_400_000)
      .toISOString()
      .slice(0, 10)
      .replace(/-/g, '');
  });
  expect(execution.statesEntered.slice(-2)).toEqual([
    'RouteOnVendorConfirmation',
    'ParkedWithCustomerService',
  ]);
  const table = cloud.tables.find((t) => t.resource.logicalId.startsWith('OrdersTable'))?.name ?? '';
  const { Item } = await cloud.dynamodb.documents.send(
    new GetCommand({ TableName: table, Key: { pk: orderId, sk: 'ORDER' } }),
  );
  expect(Item?.stage).toBe('exception');
});

it('sends a vendor-direct order to the vendor as a purchase order and ends when the vendor confirms', async () => {
  const sample = sampleOrders(new Date(), 'DS1').find((o) => o.label.includes('drop-ship'));
  const queue = [...cloud.sqs.queues.values()].find((q) =>
    q.resource.logicalId.startsWith('ErpIngressQueue'),
  );
  await world.sqs.send(
    new SendMessageCommand({ QueueUrl: queue?.url, MessageBody: JSON.stringify(sample?.body) }),
  );
  const orderId = 'ERP-DS1-12';
  const execution = await until('the drop-ship path runs', () =>
    [...cloud.sfn.executions.values()].find((e) => e.name === orderId),
  );
  expect(execution.stateMachineArn).toContain('DropShipPath');
  await until('it ends', () => (execution.status === 'RUNNING' ? undefined : execution.status));
  expect(execution.statesEntered).toEqual([
    'CheckCreditAgainstLimitAndExposure',
    'RouteOnCreditDecision',
    'PlaceVendorPurchaseOrders',
    'RouteOnVendorConfirmation',
    'HandedToVendor',
  ]);
  const table = cloud.tables.find((t) => t.resource.logicalId.startsWith('OrdersTable'))?.name ?? '';
  const { Item } = await cloud.dynamodb.documents.send(
    new GetCommand({ TableName: table, Key: { pk: orderId, sk: 'ORDER' } }),
  );
  expect(Item?.purchaseOrders).toEqual([expect.objectContaining({ vendorId: 'V-AQUADRIVE' })]);
  const pos = sandbox.calls.filter((c) => c.method === 'POST' && c.path === '/vendor/purchase-orders');
  expect(pos.at(-1)?.idempotencyKey).toBe(`${orderId}:purchase-order:V-AQUADRIVE`);
});

/** Sends the vendor's ship notice for `orderId` to the vendor ASN queue twice, back to back (usually one receive batch). */
async function deliverShipNoticeTwice(orderId: string) {
  const notice = sandbox.vendor.asns.upcoming().find(({ item }) => item.buyerReference === orderId)?.item;
  expect(notice).toBeDefined();
  const queueUrl = queueNamed(cloud, 'VendorAsnQueue').url;
  for (let copy = 0; copy < 2; copy += 1) {
    await world.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(notice) }));
  }
  return notice as NonNullable<typeof notice>;
}

const logLines = (orderId: string, mark: string) =>
  cloud.lambda.logs.filter((line) => line.text.includes(orderId) && line.text.includes(mark));

it('absorbs a vendor ship notice delivered twice: one shipment, one invoice, the repeat recognised in the log', async () => {
  const { orderId, execution } = await send('DS3');
  expect(execution.status).toBe('SUCCEEDED');
  const notice = await deliverShipNoticeTwice(orderId);
  const runs = await until('both post-shipment runs end', () => {
    const found = [...cloud.sfn.executions.values()].filter(
      (e) => e.stateMachineArn.includes('PostShipmentWorkflow') && e.input.includes(orderId),
    );
    return found.length === 2 && found.every((e) => e.status !== 'RUNNING') ? found : undefined;
  });
  expect(runs.map((run) => run.status)).toEqual(['SUCCEEDED', 'SUCCEEDED']);
  // Both runs may reach the ERP at once; its idempotency key (the invoice id) makes it one invoice.
  expect(sandbox.erp.invoices.filter((invoice) => invoice.orderId === orderId)).toEqual([
    expect.objectContaining({ orderId }),
  ]);
  const issued = (cloud.events.archives[0]?.events ?? [])
    .map((archived) => archived.event)
    .filter(
      (e) => e['detail-type'] === 'invoice.issued.v1' && JSON.stringify(e.detail).includes(notice.asnNumber),
    );
  expect(new Set(issued.map((e) => (e.detail as { idempotencyKey: string }).idempotencyKey)).size).toBe(1);
  expect(logLines(orderId, '"alreadyRecorded":true')).toHaveLength(1);
});

it('quarantines a ship notice for an order parked with customer service once, the repeat recognised in the log', async () => {
  // The vendor accepts with its own, later date and ships on it, though the order waits on customer service.
  const { orderId } = await send('DS4', (body) => {
    body.RequestedDeliveryDate = new Date(Date.now() + 3 * 86_400_000)
      .toISOString()
      .slice(0, 10)
      .replace(/-/g, '');
  });
  await deliverShipNoticeTwice(orderId);
  const recognised = await until('the copy is recognised', () => {
    const lines = logLines(orderId, '"alreadyQuarantined":true');
    return lines.length > 0 ? lines : undefined;
  });
  expect(recognised).toHaveLength(1);
  const quarantined = logLines(orderId, 'VENDOR_ASN_ORDER_NOT_RELEASED');
  expect(quarantined.length).toBeGreaterThanOrEqual(2);
  const postShipment = [...cloud.sfn.executions.values()].filter(
    (e) => e.stateMachineArn.includes('PostShipmentWorkflow') && e.input.includes(orderId),
  );
  expect(postShipment).toEqual([]);
  const table = cloud.tables.find((t) => t.resource.logicalId.startsWith('OrdersTable'))?.name ?? '';
  const { Item } = await cloud.dynamodb.documents.send(
    new GetCommand({ TableName: table, Key: { pk: orderId, sk: 'ORDER' } }),
  );
  expect(Item?.stage).toBe('exception');
});
