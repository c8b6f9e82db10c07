import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../local/clock/clock.ts';
import type { LocalCloud } from '../../local/cloud.ts';
import { sampleOrders } from '../../local/demo/sample-orders.ts';
import type { PartnerSandbox } from '../../local/partners/sandbox.ts';
import type { LocalExecution } from '../../local/stepfunctions/sfn-service.ts';
import { startTestCloud, type TestCloud, until } from '../support/test-cloud.ts';

/**
 * The expedited path on the real synthesized stack, with golden orders: a next-day key-account order gets a
 * premium overnight carrier and is released at once; a two-day order of a hazmat item gets the hazmat
 * carrier's expedite; a next-day hazmat order no premium carrier takes becomes an owned exception; a held
 * expedite goes through finance's fast review.
 */
const clock = new VirtualClock(new Date('2026-11-23T09:00:00.000Z'));
let world: TestCloud;
let cloud: LocalCloud;
let sandbox: PartnerSandbox;

beforeAll(async () => {
  world = await startTestCloud({ clock });
  ({ cloud, sandbox } = world);
});

afterAll(async () => {
  await world?.stop();
});

const tableNamed = (prefix: string) =>
  cloud.tables.find((t) => t.resource.logicalId.startsWith(prefix))?.name ?? '';

async function item(table: string, key: Record<string, string>): Promise<Record<string, unknown>> {
  const { Item } = await cloud.dynamodb.documents.send(
    new GetCommand({ TableName: tableNamed(table), Key: key }),
  );
  if (!Item) throw new Error(`no item ${JSON.stringify(key)} in ${table}`);
  return Item;
}

const eventTypes = (orderId: string) =>
  (cloud.events.archives[0]?.events ?? [])
    .filter((e) => (e.event.detail as { orderId?: string }).orderId === orderId)
    .map((e) => e.event['detail-type']);

async function send(runId: string, change: (body: Record<string, unknown>) => void = () => {}) {
  const sample = sampleOrders(clock.now(), runId).find((o) =>
    o.label.startsWith('next-day order from a key'),
  );
  const body = structuredClone(sample?.body ?? {});
  change(body);
  const queue = [...cloud.sqs.queues.values()].find((q) =>
    q.resource.logicalId.startsWith('ErpIngressQueue'),
  );
  await world.sqs.send(new SendMessageCommand({ QueueUrl: queue?.url, MessageBody: JSON.stringify(body) }));
  const orderId = `ERP-${String(body.SalesOrder)}`;
  const execution = await until(`the execution of ${orderId}`, () =>
    [...cloud.sfn.executions.values()].find((e) => e.name === orderId),
  );
  return { orderId, execution };
}

const finished = (execution: LocalExecution) =>
  until('the execution ends', () => (execution.status === 'RUNNING' ? undefined : execution.status));

const sealant = (body: Record<string, unknown>, shippingCondition: string) => {
  body.ShippingCondition = shippingCondition;
  body.Items = [
    {
      ItemNo: '000010',
      Material: 'SEALANT-THREAD',
      Quantity: '12',
      Unit: 'EA',
      NetPrice: '8.90',
      Cost: '4.20',
    },
  ];
};

describe('expedited path', () => {
  it('books a premium overnight carrier for a next-day key-account order and releases it at once', async () => {
    const { orderId, execution } = await send('EX1');
    expect(execution.stateMachineArn).toContain('ExpeditedPath');
    await finished(execution);
    expect(execution.status).toBe('SUCCEEDED');
    expect(execution.statesEntered).toEqual([
      'CheckCreditAgainstLimitAndExposure',
      'RouteOnCreditDecision',
      'ReserveStockAtBestSingleSite',
      'RouteOnAllocation',
      'BookPremiumCarrier',
      'ReleaseImmediately',
      'HandedToWarehouseWithPremiumCarrier',
    ]);
    const order = await item('OrdersTable', { pk: orderId, sk: 'ORDER' });
    expect(order.stage).toBe('released');
    expect(order.booking).toMatchObject({ carrier: 'FXNX', serviceLevel: 'next-day' });
    expect((order.stageHistory as { stage: string; reasonCodes: string[] }[])[1]?.reasonCodes[0]).toBe(
      'SERVICE_LEVEL_NEXT_DAY',
    );
    const bookings = sandbox.calls.filter((c) => c.method === 'POST' && c.path === '/tms/bookings');
    expect(bookings.at(-1)?.idempotencyKey).toBe(`${orderId}:booking`);
    await until('shipment.booked and warehouse.released are announced', () =>
      eventTypes(orderId).includes('warehouse.released.v1') ? true : undefined,
    );
    expect(eventTypes(orderId)).toContain('shipment.booked.v1');
  });

  it("books the hazmat carrier's expedite for a two-day order of a dangerous good", async () => {
    const { orderId, execution } = await send('EX2', (body) => sealant(body, '02'));
    await finished(execution);
    expect(execution.statesEntered.at(-1)).toBe('HandedToWarehouseWithPremiumCarrier');
    const order = await item('OrdersTable', { pk: orderId, sk: 'ORDER' });
    expect(order.booking).toMatchObject({ carrier: 'HZMT', serviceLevel: 'expedited' });
  });

  it('turns a next-day dangerous good no premium carrier accepts into an owned exception, releasing nothing', async () => {
    const releasesBefore = sandbox.callsTo('POST', '/wms/releases').length;
    const { orderId, execution } = await send('EX3', (body) => sealant(body, '03'));
    await finished(execution);
    expect(execution.statesEntered.slice(-4)).toEqual([
      'BookPremiumCarrier',
      'TagBookingFailure',
      'RaiseOwnedStepException',
      'ParkedAsOwnedException',
    ]);
    const order = await item('OrdersTable', { pk: orderId, sk: 'ORDER' });
    expect(order.stage).toBe('exception');
    const exceptionId = (order.exceptionIds as string[])[0] ?? '';
    const exception = await item('ExceptionsTable', { pk: exceptionId });
    expect(exception).toMatchObject({ reasonCodes: ['STEP_FAILED:BookPremiumCarrier'] });
    expect(String(exception.context && JSON.stringify(exception.context))).toContain('NoPremiumCarrier');
    expect(sandbox.callsTo('POST', '/wms/releases').length).toBe(releasesBefore);
  });

  it("sends a held key-account expedite to finance's fast review, 30 minutes at critical priority", async () => {
    const { orderId, execution } = await send('EX4', (body) => {
      // 155,000 of pumps takes the key account to 114% of its 250,000 limit: past tolerance and every band.
      body.Items = [
        {
          ItemNo: '000010',
          Material: 'PUMP-220',
          Quantity: '500',
          Unit: 'EA',
          NetPrice: '310.00',
          Cost: '228.00',
        },
      ];
    });
    await until('the order waits on the fast review', () => {
      if (execution.status !== 'RUNNING') throw new Error(`ended ${execution.statesEntered.join(' > ')}`);
      return execution.statesEntered.includes('AwaitCreditControllerDecision') ? true : undefined;
    });
    const exceptionId = `EXC-${orderId}-CREDIT`;
    const held = await until('the token is registered', async () => {
      const exception = await item('ExceptionsTable', { pk: exceptionId });
      return exception.awaiting ? exception : undefined;
    });
    expect(held).toMatchObject({
      priority: 'critical',
      slaDueAt: new Date(clock.now().getTime() + 30 * 60_000).toISOString(),
      context: { ladder: 'credit-fast-review' },
    });
    expect(held.reasonCodes).toContain('EXPEDITED_KEY_ACCOUNT');

    const decide = [...cloud.lambda.functions.values()].find((f) =>
      f.resource.logicalId.startsWith('DecideException'),
    );
    await cloud.lambda.invoke(decide?.name ?? '', {
      exceptionId,
      outcome: 'reject',
      decidedBy: 'sam.credit',
      reason: 'Exposure too high for an unplanned order of this size.',
    });
    await finished(execution);
    expect(execution.statesEntered.slice(-3)).toEqual([
      'AwaitCreditControllerDecision',
      'RouteOnCreditReview',
      'RejectedAfterCreditReview',
    ]);
  });
});
