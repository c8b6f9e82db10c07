import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { LocalCloud } from '../../local/cloud.ts';
import { sampleOrders } from '../../local/demo/sample-orders.ts';
import { PartnerFeeds } from '../../local/partners/feeds.ts';
import { systemClock } from '../../local/partners/framework.ts';
import type { PartnerSandbox } from '../../local/partners/sandbox.ts';
import { startTestCloud, type TestCloud, until } from '../support/test-cloud.ts';

/**
 * Carrier tracking on the real stack: an expedited order is booked with a premium carrier; the TMS sandbox
 * later POSTs signed tracking webhooks to the CarrierWebhook function URL (through the partner feeds);
 * pick-up becomes shipment.confirmed (which invoices the order), delivery becomes shipment.delivered.
 */
let world: TestCloud;
let cloud: LocalCloud;
let sandbox: PartnerSandbox;
let feeds: PartnerFeeds;

beforeAll(async () => {
  world = await startTestCloud();
  ({ cloud, sandbox } = world);
  feeds = new PartnerFeeds(cloud, sandbox);
});

afterEach(() => {
  sandbox.clock = systemClock;
  sandbox.tms.webhooks.knobs = {};
});

afterAll(async () => {
  await world?.stop();
});

const DAY = 86_400_000;

async function order(orderId: string): Promise<Record<string, unknown> | undefined> {
  const table = cloud.tables.find((t) => t.resource.logicalId.startsWith('OrdersTable'))?.name ?? '';
  const { Item } = await cloud.dynamodb.documents.send(
    new GetCommand({ TableName: table, Key: { pk: orderId, sk: 'ORDER' } }),
  );
  return Item;
}

/** The sample next-day key-account order, released with a premium carrier booked. */
async function bookedOrder(runId: string): Promise<string> {
  const sample = sampleOrders(new Date(), runId).find((o) => o.label.startsWith('next-day order'));
  const queue = [...cloud.sqs.queues.values()].find((q) =>
    q.resource.logicalId.startsWith('ErpIngressQueue'),
  );
  await world.sqs.send(
    new SendMessageCommand({ QueueUrl: queue?.url, MessageBody: JSON.stringify(sample?.body) }),
  );
  const orderId = `ERP-${String(sample?.body.SalesOrder)}`;
  await until('the order is booked and released', async () =>
    (await order(orderId))?.stage === 'released' ? true : undefined,
  );
  return orderId;
}

const eventsOf = (orderId: string) =>
  (cloud.events.archives[0]?.events ?? [])
    .map((e) => e.event)
    .filter((e) => (e.detail as { orderId?: string }).orderId === orderId);
const namesOf = (orderId: string) => eventsOf(orderId).map((e) => e['detail-type'].replace(/\.v1$/, ''));

describe('carrier tracking webhooks', () => {
  it('pick-up and delivery webhooks, signed with the stack secret, become shipment.confirmed and shipment.delivered', async () => {
    const orderId = await bookedOrder('CW1');
    const booking = (await order(orderId))?.booking as { trackingNumber: string };
    expect(booking.trackingNumber).toEqual(expect.any(String));
    // Nothing is due before pick-up.
    expect((await feeds.pump()).carrierWebhooks).toBe(0);

    sandbox.clock = { now: () => new Date(Date.now() + 4 * DAY) };
    const sent = await feeds.pump();
    expect(sent.carrierWebhooks).toBe(3); // AF departed, X6 en route, D1 delivered
    expect(feeds.refusedWebhooks).toEqual([]);

    await until('the order is invoiced after pick-up', () =>
      namesOf(orderId).includes('invoice.issued') ? true : undefined,
    );
    await cloud.idle();
    const names = namesOf(orderId);
    expect(names.filter((n) => n === 'shipment.confirmed')).toHaveLength(1);
    expect(names.filter((n) => n === 'shipment.delivered')).toHaveLength(1);
    expect(names.filter((n) => n === 'invoice.issued')).toHaveLength(1);
    const confirmed = eventsOf(orderId).find((e) => e['detail-type'] === 'shipment.confirmed.v1')?.detail as {
      trackingNumber?: string;
    };
    expect(confirmed.trackingNumber).toBe(booking.trackingNumber);
    const invoices = sandbox.calls.filter(
      (c) => c.method === 'POST' && c.path === '/erp/invoices' && JSON.stringify(c.body).includes(orderId),
    );
    expect(invoices).toHaveLength(1);
  });

  it('duplicated webhooks are recognised at the edge: each scan announced once, one ERP invoice', async () => {
    const orderId = await bookedOrder('CW2');
    sandbox.tms.webhooks.knobs = { duplicateRate: 1 };
    // The duplicates are decided at booking time; this order was booked before the knob, so re-book one.
    const second = await bookedOrder('CW3');
    sandbox.clock = { now: () => new Date(Date.now() + 4 * DAY) };
    const sent = await feeds.pump();
    expect(sent.carrierWebhooks).toBe(3 + 6);
    expect(feeds.refusedWebhooks).toEqual([]);
    await until('both orders are invoiced', () =>
      [orderId, second].every((id) => namesOf(id).includes('invoice.issued')) ? true : undefined,
    );
    await cloud.idle();
    const keys = eventsOf(second)
      .filter((e) => e['detail-type'] === 'shipment.confirmed.v1')
      .map((e) => (e.detail as { idempotencyKey: string }).idempotencyKey);
    // The repeat is answered 202 "duplicate" from the delivery ledger and not announced again.
    expect(keys).toHaveLength(1);
    const duplicates = cloud.lambda.logs.filter(
      (l) => l.functionName.includes('CarrierWebhook') && l.text.includes('"outcome":"duplicate"'),
    );
    expect(duplicates.length).toBeGreaterThanOrEqual(3);
    const invoices = sandbox.calls.filter(
      (c) => c.method === 'POST' && c.path === '/erp/invoices' && JSON.stringify(c.body).includes(second),
    );
    expect(new Set(invoices.map((c) => c.idempotencyKey)).size).toBe(1);
    const issued = eventsOf(second)
      .filter((e) => e['detail-type'] === 'invoice.issued.v1')
      .map((e) => (e.detail as { idempotencyKey: string; invoiceId: string }).invoiceId);
    expect(issued.length).toBeGreaterThanOrEqual(1);
    expect(new Set(issued).size).toBe(1);
    const runs = [...cloud.sfn.executions.values()].filter(
      (e) => e.stateMachineArn.includes('PostShipment') && e.input.includes(second),
    );
    expect(runs).toHaveLength(1);
    expect(runs.map((e) => e.status)).toEqual(['SUCCEEDED']);
  });

  it('a webhook answered 5xx is POSTed again on the next pass, and its scan is announced once', async () => {
    const orderId = await bookedOrder('CW5');
    await cloud.idle();
    // The function fails the pick-up scan's first POST (the function URL answers 502), then recovers.
    const fault = cloud.lambda.injectFault({
      logicalId: 'CarrierWebhookFunction',
      when: (event) => String((event as { body?: string }).body).includes(`"shipperReference":"${orderId}"`),
      errorType: 'Throttled',
      times: 1,
    });
    sandbox.clock = { now: () => new Date(Date.now() + 4 * DAY) };
    expect((await feeds.pump()).carrierWebhooks).toBe(3);
    expect(fault.hits).toBe(1);
    expect(feeds.refusedWebhooks).toEqual([]);
    // The failed one goes again on the next pass, alone.
    expect((await feeds.pump()).carrierWebhooks).toBe(1);
    expect(await feeds.pump()).toMatchObject({ carrierWebhooks: 0 });
    await until('the order is invoiced after pick-up', () =>
      namesOf(orderId).includes('invoice.issued') ? true : undefined,
    );
    await cloud.idle();
    const names = namesOf(orderId);
    expect(names.filter((n) => n === 'shipment.confirmed')).toHaveLength(1);
    expect(names.filter((n) => n === 'shipment.delivered')).toHaveLength(1);
    expect(feeds.refusedWebhooks).toEqual([]);
  });

  it('refuses a webhook whose signature does not match, and announces nothing', async () => {
    const orderId = await bookedOrder('CW4');
    // The release's own events (warehouse handoff, notification) may still be in flight: settle them first.
    await cloud.idle();
    const before = namesOf(orderId);
    const response = await fetch(cloud.functionUrl('CarrierWebhook'), {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-handoff-signature': `sha256=${'0'.repeat(64)}` },
      body: JSON.stringify({ eventId: 'TRK-FORGED', statusCode: 'D1', shipperReference: orderId }),
    });
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({
      outcome: 'unauthenticated',
      message: 'signature missing or invalid',
      violations: [expect.objectContaining({ path: 'headers.x-handoff-signature', rule: 'hmacSha256' })],
    });
    const unsigned = await fetch(cloud.functionUrl('CarrierWebhook'), { method: 'POST', body: '{}' });
    expect(unsigned.status).toBe(401);
    await cloud.idle();
    expect(namesOf(orderId)).toEqual(before);
  });
});
