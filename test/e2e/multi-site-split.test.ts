import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../local/clock/clock.ts';
import type { LocalCloud } from '../../local/cloud.ts';
import { sampleOrders } from '../../local/demo/sample-orders.ts';
import type { PartnerSandbox } from '../../local/partners/sandbox.ts';
import { SEED_FACILITIES } from '../../local/partners/seed.ts';
import type { LocalExecution } from '../../local/stepfunctions/sfn-service.ts';
import { startTestCloud, type TestCloud, until } from '../support/test-cloud.ts';

/**
 * The multi-site split path on the real synthesized stack: the router reads stock and sends an order no
 * single facility can fill down the split path, whose Map reserves each facility's shipment. Golden orders,
 * one per branch. Virtual time drives the Retry intervals of the outage branch.
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

// Each golden order starts from the seeded stock, not from what the previous one reserved.
beforeEach(() => {
  sandbox.facilities = SEED_FACILITIES.map((f) => ({ ...f, inventory: f.inventory.map((i) => ({ ...i })) }));
});

const tableNamed = (prefix: string) =>
  cloud.tables.find((t) => t.resource.logicalId.startsWith(prefix))?.name ?? '';

async function order(orderId: string): Promise<Record<string, unknown>> {
  const { Item } = await cloud.dynamodb.documents.send(
    new GetCommand({ TableName: tableNamed('OrdersTable'), Key: { pk: orderId, sk: 'ORDER' } }),
  );
  if (!Item) throw new Error(`no order ${orderId}`);
  return Item;
}

const eventsAbout = (orderId: string) =>
  (cloud.events.archives[0]?.events ?? [])
    .filter((e) => (e.event.detail as { orderId?: string }).orderId === orderId)
    .map((e) => ({ type: e.event['detail-type'], detail: e.event.detail as Record<string, unknown> }));

/** Sends an ERP order (the split sample, optionally changed) and returns its execution once it exists. */
async function send(runId: string, change: (body: Record<string, unknown>) => void = () => {}) {
  const sample = sampleOrders(clock.now(), runId).find((o) => o.label.includes('split across facilities'));
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

describe('multi-site split path', () => {
  it('splits an order no single facility can fill across two, reserving and releasing each shipment', async () => {
    const { orderId, execution } = await send('MS1');
    expect(execution.stateMachineArn).toContain('MultiSiteSplitPath');
    await finished(execution);
    expect(execution.status).toBe('SUCCEEDED');
    expect(execution.statesEntered).toEqual([
      'CheckCreditAgainstLimitAndExposure',
      'RouteOnCreditDecision',
      'PlanSplitAcrossFacilities',
      'RouteOnSplitPlan',
      'ReserveAtEachFacility',
      'ReserveShipmentAtFacility',
      'ReserveShipmentAtFacility',
      'ConfirmSplitAllocation',
      'DecideWarehouseRelease',
      'RouteOnReleaseDecision',
      'HandedToWarehouse',
    ]);
    expect(execution.statesEntered.length).toBeLessThanOrEqual(12);

    const record = await order(orderId);
    expect(record.stage).toBe('released');
    expect((record.stageHistory as { stage: string; reasonCodes: string[] }[])[1]).toMatchObject({
      stage: 'accepted',
      reasonCodes: ['NO_SINGLE_SITE_FILLS', 'NETWORK_FILLS'],
    });
    const shipments = (
      record.allocation as { shipments: { siteId: string; lines: { quantity: number }[] }[] }
    ).shipments;
    expect(shipments.map((s) => s.siteId)).toEqual(['DC-EAST', 'DC-CENTRAL']);
    expect(shipments.flatMap((s) => s.lines).reduce((sum, l) => sum + l.quantity, 0)).toBe(1500);

    const reservations = sandbox.calls.filter(
      (c) => c.method === 'POST' && c.path === '/wms/reservations' && c.idempotencyKey?.startsWith(orderId),
    );
    expect(reservations.map((c) => c.idempotencyKey).sort()).toEqual([
      `${orderId}:allocation:DC-CENTRAL`,
      `${orderId}:allocation:DC-EAST`,
    ]);
    const releases = sandbox.calls.filter(
      (c) => c.method === 'POST' && c.path === '/wms/releases' && c.idempotencyKey?.startsWith(orderId),
    );
    expect(releases).toHaveLength(2);

    await until('the warehouse releases are announced', () =>
      eventsAbout(orderId).filter((e) => e.type === 'warehouse.released.v1').length === 2 ? true : undefined,
    );
    const confirmed = eventsAbout(orderId).filter((e) => e.type === 'allocation.confirmed.v1');
    expect(confirmed.map((e) => e.detail.siteId).sort()).toEqual(['DC-CENTRAL', 'DC-EAST']);
  });

  it('keeps a ship-complete order that would need a split on one site, saying why', async () => {
    const { orderId, execution } = await send('MS2', (body) => {
      body.CompleteDelivery = 'X';
    });
    await finished(execution);
    expect(execution.stateMachineArn).toContain('StandardSingleSitePath');
    expect(execution.statesEntered.at(-1)).toBe('BackorderedAwaitingStock');
    const record = await order(orderId);
    expect((record.stageHistory as { reasonCodes: string[] }[])[1]?.reasonCodes).toContain(
      'SPLIT_BLOCKED_SHIP_COMPLETE',
    );
  });

  it('backorders at planning when the stock went while the order sat on credit hold', async () => {
    // C-3003 is close to its limit: the split order is held for finance first.
    const { orderId, execution } = await send('MS3', (body) => {
      body.SoldToParty = 'C-3003';
      body.Items = [{ ...(body.Items as Record<string, unknown>[])[0], Quantity: '1100', NetPrice: '12.50' }];
    });
    expect(execution.stateMachineArn).toContain('MultiSiteSplitPath');
    const exceptionId = `EXC-${orderId}-CREDIT`;
    await until('the order waits on finance', () =>
      execution.statesEntered.includes('AwaitCreditControllerDecision') ? true : undefined,
    );
    const saved = sandbox.facilities.map((f) => f.inventory.map((i) => ({ ...i })));
    for (const facility of sandbox.facilities)
      for (const item of facility.inventory) if (item.itemCode === 'WIDGET-100') item.onHand = 0;
    try {
      const decide = [...cloud.lambda.functions.values()].find((f) =>
        f.resource.logicalId.startsWith('DecideException'),
      );
      await cloud.lambda.invoke(decide?.name ?? '', {
        exceptionId,
        outcome: 'release',
        decidedBy: 'jo.finance',
        reason: 'Paid on account this morning.',
      });
      await finished(execution);
    } finally {
      sandbox.facilities.forEach((f, i) => {
        f.inventory = saved[i] ?? f.inventory;
      });
    }
    expect(execution.statesEntered.slice(-3)).toEqual([
      'PlanSplitAcrossFacilities',
      'RouteOnSplitPlan',
      'BackorderedAwaitingStock',
    ]);
    expect((await order(orderId)).stage).toBe('backordered');
    await until('shortage and backorder are announced', () => {
      const types = eventsAbout(orderId).map((e) => e.type);
      return types.includes('backorder.created.v1') && types.includes('allocation.shortage.v1')
        ? true
        : undefined;
    });
  });

  it('turns a WMS outage during the reservations into an integration-owned exception after the retries', async () => {
    sandbox.failNext.set('POST /wms/reservations', 10_000);
    try {
      const { orderId, execution } = await send('MS4');
      await until('the Map is reserving', () =>
        execution.statesEntered.includes('ReserveShipmentAtFacility') ? true : undefined,
      );
      // The path Retry waits 2, 4, 8 s (capped at 30) on the virtual clock between attempts.
      for (let i = 0; i < 20 && execution.status === 'RUNNING'; i++) {
        await clock.advance(30_000);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await finished(execution);
      expect(execution.statesEntered.slice(-3)).toEqual([
        'TagReservationFailure',
        'RaiseOwnedStepException',
        'ParkedAsOwnedException',
      ]);
      expect((await order(orderId)).stage).toBe('exception');
      const raised = eventsAbout(orderId).find((e) => e.type === 'exception.raised.v1');
      expect(raised?.detail).toMatchObject({
        ownerTeam: 'integration',
        reasonCodes: ['STEP_FAILED:ReserveAtEachFacility'],
      });
    } finally {
      sandbox.failNext.clear();
    }
  });
});
