import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../local/clock/clock.ts';
import type { LocalCloud } from '../../local/cloud.ts';
import { sampleOrders } from '../../local/demo/sample-orders.ts';
import { PartnerFeeds } from '../../local/partners/feeds.ts';
import type { PartnerSandbox } from '../../local/partners/sandbox.ts';
import { SEED_FACILITIES } from '../../local/partners/seed.ts';
import type { LocalExecution } from '../../local/stepfunctions/sfn-service.ts';
import { failuresOf, forOrder, quiet, retriesOf, runToEnd, THROTTLE } from '../support/faults.ts';
import { queueNamed, startTestCloud, type TestCloud, until } from '../support/test-cloud.ts';

/**
 * The backorder re-evaluation path's Retry, Catch and Choice branches end to end on the real synthesized
 * stack, one golden order per branch. Each golden order is a ship-complete order of Northwind Hardware
 * (C-1001) for an item that is sold out everywhere (all stock committed or held as safety stock), so it is
 * backordered in full; a WMS put-away of that item then reaches Handoff the production way (WMS feed →
 * WmsEventsQueue → inventory.received) and starts the path. Every golden order uses its own item, so a
 * receipt only ever plans fills for its own order.
 *
 * Time is virtual: Retry intervals, the release window and the hourly sweep run on the VirtualClock.
 */
const START = new Date('2026-11-23T23:30:00.000Z');
const DAY = 86_400_000;
const CUSTOMER = 'C-1001';
const clock = new VirtualClock(START);
let world: TestCloud;
let cloud: LocalCloud;
let sandbox: PartnerSandbox;
let feeds: PartnerFeeds;

beforeAll(async () => {
  world = await startTestCloud({ clock });
  ({ cloud, sandbox } = world);
  // Partner time is the cloud's time: receipts are dated, and idempotency keys remembered, on the same clock.
  sandbox.clock = clock;
  feeds = new PartnerFeeds(cloud, sandbox);
});

afterAll(async () => {
  await world?.stop();
});

// Each golden order starts from the seeded stock, not from what the previous one reserved or received.
beforeEach(() => {
  sandbox.facilities = SEED_FACILITIES.map((f) => ({ ...f, inventory: f.inventory.map((i) => ({ ...i })) }));
  sandbox.failNext.clear();
});

// ---------------------------------------------------------------------------------------------------------
// The world as a person checks it
// ---------------------------------------------------------------------------------------------------------

const tableNamed = (prefix: string) =>
  cloud.tables.find((t) => t.resource.logicalId.startsWith(prefix))?.name ?? '';

async function order(orderId: string): Promise<Record<string, unknown>> {
  const { Item } = await cloud.dynamodb.documents.send(
    new GetCommand({ TableName: tableNamed('OrdersTable'), Key: { pk: orderId, sk: 'ORDER' } }),
  );
  if (!Item) throw new Error(`no order ${orderId}`);
  return Item;
}

const stageOf = async (orderId: string) => String((await order(orderId)).stage);

async function stageHistoryOf(orderId: string) {
  return ((await order(orderId)).stageHistory ?? []) as { stage: string; reasonCodes: string[] }[];
}

interface Backorder {
  readonly backorderId: string;
  readonly lineNo: number;
  readonly sku: string;
  readonly quantity: number;
  readonly status: string;
  readonly fills?: readonly { receiptId: string; status: string; quantity: number; reservationId?: string }[];
  readonly notifiedAt?: string;
}

async function backordersOf(orderId: string): Promise<Backorder[]> {
  const { Items } = await cloud.dynamodb.documents.send(
    new QueryCommand({
      TableName: tableNamed('BackordersTable'),
      IndexName: 'byOrder',
      KeyConditionExpression: 'orderId = :o',
      ExpressionAttributeValues: { ':o': orderId },
    }),
  );
  const rows = (Items ?? []) as unknown as Backorder[];
  return rows.sort((a, b) => a.lineNo - b.lineNo);
}

async function exceptionsOf(orderId: string): Promise<Record<string, unknown>[]> {
  const { Items } = await cloud.dynamodb.documents.send(
    new QueryCommand({
      TableName: tableNamed('ExceptionsTable'),
      IndexName: 'byOrder',
      KeyConditionExpression: 'orderId = :o',
      ExpressionAttributeValues: { ':o': orderId },
    }),
  );
  const found = await Promise.all(
    (Items ?? []).map(async (item) => {
      const { Item } = await cloud.dynamodb.documents.send(
        new GetCommand({ TableName: tableNamed('ExceptionsTable'), Key: { pk: String(item.pk) } }),
      );
      return Item;
    }),
  );
  return found.filter((item): item is Record<string, unknown> => item !== undefined);
}

const eventsAbout = (orderId: string) =>
  (cloud.events.archives[0]?.events ?? [])
    .filter((e) => (e.event.detail as { orderId?: string }).orderId === orderId)
    .map((e) => ({ type: e.event['detail-type'], detail: e.event.detail as Record<string, unknown> }));

const eventTypesAbout = (orderId: string) => eventsAbout(orderId).map((e) => e.type);

/** The reservations the WMS holds for the order (what it committed, not what it was asked). */
const wmsReservationsOf = (orderId: string) =>
  sandbox.wms.reservations.filter((r) => r.orderReference === orderId);

/** The warehouse orders the WMS created for the order. */
const warehouseOrdersOf = (orderId: string) =>
  sandbox.wms.warehouseOrders.filter((w) => w.orderReference === orderId);

/** Every POST to a WMS route about the order (each attempt, answered or not). */
const wmsPosts = (path: '/wms/reservations' | '/wms/releases', orderId: string) =>
  sandbox.calls.filter(
    (c) => c.method === 'POST' && c.path === path && c.idempotencyKey?.startsWith(orderId),
  );

// ---------------------------------------------------------------------------------------------------------
// Driving the world
// ---------------------------------------------------------------------------------------------------------

interface GoldenLine {
  readonly sku: string;
  readonly quantity: number;
  readonly price: string;
  readonly cost: string;
}

/** Everything left of the item at every DC is committed to other orders or held as safety stock. */
function soldOut(sku: string): void {
  for (const facility of sandbox.facilities) {
    for (const row of facility.inventory) {
      if (row.itemCode === sku) row.onHand = row.committed + row.safetyStock;
    }
  }
}

const yyyymmdd = (date: Date) => date.toISOString().slice(0, 10).replace(/-/g, '');

/**
 * A ship-complete ERP order of C-1001 for sold-out items, delivered to the ERP ingress queue; resolves once
 * the standard path has backordered it and backorder.created has opened its backorder lines.
 */
async function backorderedOrder(
  runId: string,
  lines: readonly GoldenLine[],
  options: { readonly deliverInDays?: number } = {},
): Promise<{ orderId: string; backorders: Backorder[] }> {
  for (const line of lines) soldOut(line.sku);
  const sample = sampleOrders(clock.now(), runId).find((o) => o.label.startsWith('ship-complete order'));
  const body = structuredClone(sample?.body ?? {});
  expect(body).toMatchObject({ SoldToParty: CUSTOMER, CompleteDelivery: 'X' });
  body.Items = lines.map((line, i) => ({
    ItemNo: String((i + 1) * 10).padStart(6, '0'),
    Material: line.sku,
    Quantity: String(line.quantity),
    Unit: 'EA',
    NetPrice: line.price,
    Cost: line.cost,
  }));
  body.RequestedDeliveryDate = yyyymmdd(new Date(clock.now().getTime() + (options.deliverInDays ?? 4) * DAY));
  await world.sqs.send(
    new SendMessageCommand({
      QueueUrl: queueNamed(cloud, 'ErpIngressQueue').url,
      MessageBody: JSON.stringify(body),
    }),
  );
  const orderId = `ERP-${runId}-6`;
  const execution = await until(`the fulfilment path of ${orderId}`, () =>
    [...cloud.sfn.executions.values()].find((e) => e.name === orderId),
  );
  expect(await runToEnd(cloud, clock, execution)).toBe('SUCCEEDED');
  expect(execution.statesEntered.at(-1)).toBe('BackorderedAwaitingStock');
  expect(await stageOf(orderId)).toBe('backordered');
  const backorders = await until(`backorder.created opened the lines of ${orderId}`, async () => {
    const opened = await backordersOf(orderId);
    return opened.length === lines.length ? opened : undefined;
  });
  // Sold out everywhere: every line waits in full.
  expect(backorders.map((b) => [b.sku, b.quantity, b.status])).toEqual(
    lines.map((line) => [line.sku, line.quantity, 'open']),
  );
  return { orderId, backorders };
}

/**
 * Goods put away at DC-EAST, delivered the way the WMS delivers them (its outbound feed into
 * WmsEventsQueue, which the feed adapter turns into inventory.received); resolves with the re-evaluation
 * execution the receipt started.
 */
async function received(sku: string, quantity: number): Promise<LocalExecution> {
  const receipt = sandbox.wms.receive(sku, 'DC-EAST', quantity);
  expect((await feeds.pump()).wms).toBe(1);
  return until(`the re-evaluation of receipt ${receipt.eventId}`, () =>
    [...cloud.sfn.executions.values()].find(
      (e) =>
        e.stateMachineArn.includes('BackorderReevaluationPath') &&
        JSON.parse(e.input).detail?.receiptId === receipt.eventId,
    ),
  );
}

/**
 * Moves virtual time to `at` one timer at a time, each once nothing is in flight, so no function or task
 * that is still running in real time is timed out by the jump.
 */
async function advanceQuietly(at: number): Promise<void> {
  for (;;) {
    await quiet(cloud);
    const next = clock.nextWakeUp();
    if (next === undefined || next > at) break;
    await clock.advanceTo(next);
  }
  await clock.advanceTo(at);
}

type Payload = Record<string, unknown>;
const reevaluationOf = (sku: string) => (event: unknown) => {
  const p = (event ?? {}) as Payload;
  return p.action === 'reevaluate' && (p.receipt as Payload | undefined)?.sku === sku;
};
const fillOf = (orderId: string) => (event: unknown) => {
  const p = (event ?? {}) as Payload;
  return p.action === 'fill' && (p.fill as Payload | undefined)?.orderId === orderId;
};
const sweepOf = (sku: string) => (event: unknown) => {
  const p = (event ?? {}) as Payload;
  return p.action === 'sweep' && p.sku === sku;
};
// ReleaseToWarehouse and RaiseStepException get the order id at the top of their payload: forOrder(orderId).

/** The main route after a fill: allocated again from the fill, released to the warehouse once. */
async function expectFilledAndReleased(
  orderId: string,
  sku: string,
  quantity: number,
  stages: readonly string[] = ['backordered', 'allocated', 'released'],
): Promise<void> {
  expect(await stageOf(orderId)).toBe('released');
  expect((await stageHistoryOf(orderId)).map((h) => h.stage).slice(-stages.length)).toEqual(stages);
  expect((await stageHistoryOf(orderId)).find((h) => h.stage === 'allocated')?.reasonCodes).toEqual([
    'BACKORDER_FILLED',
  ]);
  const [backorder] = await backordersOf(orderId);
  expect(backorder).toMatchObject({ status: 'filled' });
  expect(backorder?.fills?.map((f) => f.status)).toEqual(['reserved']);
  await until('the fill, the allocation and the release are announced', () => {
    const types = eventTypesAbout(orderId);
    return ['backorder.filled.v1', 'allocation.confirmed.v1', 'warehouse.released.v1'].every((t) =>
      types.includes(t),
    )
      ? true
      : undefined;
  });
  for (const type of ['backorder.filled.v1', 'allocation.confirmed.v1', 'warehouse.released.v1']) {
    expect(
      new Set(
        eventsAbout(orderId)
          .filter((e) => e.type === type)
          .map((e) => e.detail.idempotencyKey),
      ).size,
    ).toBe(1);
  }
  // The partner side effects, each exactly once.
  const reservations = wmsReservationsOf(orderId);
  expect(reservations).toHaveLength(1);
  expect(reservations[0]).toMatchObject({ facilityCode: 'DC-EAST', lines: [{ itemCode: sku, quantity }] });
  const warehouseOrders = warehouseOrdersOf(orderId);
  expect(warehouseOrders).toHaveLength(1);
  expect(warehouseOrders[0]?.reservationNumber).toBe(reservations[0]?.reservationNumber);
  expect(eventTypesAbout(orderId)).not.toContain('exception.raised.v1');
  expect(await exceptionsOf(orderId)).toEqual([]);
}

/** The owned exception a Catch raised for a failed step: one, integration's, with its SLA and advice. */
async function expectOwnedStepException(
  orderId: string,
  failedStep: string,
  error: string,
  recommendedAction: string,
): Promise<void> {
  const exceptions = await exceptionsOf(orderId);
  expect(exceptions).toHaveLength(1);
  expect(exceptions[0]).toMatchObject({
    type: 'integration-failure',
    ownerTeam: 'integration',
    priority: 'high',
    state: 'open',
    recommendedAction,
    reasonCodes: [`STEP_FAILED:${failedStep}`],
    context: expect.objectContaining({ failedStep, error }),
  });
  // The integration team's pickup SLA: two hours from raising.
  const [raisedException] = exceptions;
  expect(Date.parse(String(raisedException?.slaDueAt)) - Date.parse(String(raisedException?.raisedAt))).toBe(
    2 * 3_600_000,
  );
  expect(await stageOf(orderId)).toBe('exception');
  const raised = await until('exception.raised is published', () => {
    const found = eventsAbout(orderId).filter((e) => e.type === 'exception.raised.v1');
    return found.length > 0 ? found : undefined;
  });
  expect(raised).toHaveLength(1);
  expect(raised[0]?.detail).toMatchObject({
    exceptionId: exceptions[0]?.exceptionId,
    ownerTeam: 'integration',
    reasonCodes: [`STEP_FAILED:${failedStep}`],
  });
}

// ---------------------------------------------------------------------------------------------------------
// The golden orders
// ---------------------------------------------------------------------------------------------------------

describe('backorder re-evaluation: Retry, Catch and Choice branches', () => {
  it('retries a throttled re-evaluation of the receipt, then fills and releases the order (BO-R1)', async () => {
    const { orderId } = await backorderedOrder('BO-R1', [
      { sku: 'VALVE-3IN', quantity: 12, price: '89.00', cost: '61.00' },
    ]);
    const fault = cloud.lambda.injectFault({
      logicalId: 'BackorderReevaluationFunction',
      when: reevaluationOf('VALVE-3IN'),
      errorType: THROTTLE,
      times: 1,
    });
    try {
      const execution = await received('VALVE-3IN', 12);
      expect(await runToEnd(cloud, clock, execution)).toBe('SUCCEEDED');
      expect(fault.hits).toBe(1);
      expect(retriesOf(execution, 'ReevaluateOpenBackorders')).toBe(1);
      expect(failuresOf(execution, 'ReevaluateOpenBackorders')).toEqual([THROTTLE]);
      expect(execution.statesEntered).toEqual([
        'ReevaluateOpenBackorders',
        'RouteOnPlannedFills',
        'FillEachBackorder',
        'ReserveAndRecordFill',
        'RouteOnFillOutcome',
        'DecideReleaseOfRefilledOrder',
        'RouteOnRefilledReleaseDecision',
        'RefilledOrderHandedToWarehouse',
        'SweepAgedBackorders',
        'ReceiptHandled',
      ]);
      await expectFilledAndReleased(orderId, 'VALVE-3IN', 12);
    } finally {
      fault.clear();
    }
  }, 120_000);

  it('fails the receipt for a redrive when its re-evaluation keeps failing, filling nothing (BO-C1)', async () => {
    const { orderId } = await backorderedOrder('BO-C1', [
      { sku: 'VALVE-BFY-8IN', quantity: 10, price: '95.00', cost: '60.00' },
    ]);
    const fault = cloud.lambda.injectFault({
      logicalId: 'BackorderReevaluationFunction',
      when: reevaluationOf('VALVE-BFY-8IN'),
      errorType: THROTTLE,
      times: Number.POSITIVE_INFINITY,
    });
    try {
      const execution = await received('VALVE-BFY-8IN', 10);
      expect(await runToEnd(cloud, clock, execution)).toBe('FAILED');
      // The first attempt and MaxAttempts 4 retries, then the Catch.
      expect(fault.hits).toBe(5);
      expect(retriesOf(execution, 'ReevaluateOpenBackorders')).toBe(4);
      expect(execution.statesEntered).toEqual(['ReevaluateOpenBackorders', 'ReevaluationFailedForReceipt']);
      // No order owns a receipt-level failure: the execution fails (FailedExecutions alarm), to be redriven.
      expect(execution.error).toBe('BackorderReevaluationFailed');
      expect(execution.cause).toContain('injected fault');
    } finally {
      fault.clear();
    }
    // Nothing was planned nor reserved: the order still waits, its backorder untouched.
    expect(await stageOf(orderId)).toBe('backordered');
    const [backorder] = await backordersOf(orderId);
    expect(backorder).toMatchObject({ status: 'open', quantity: 10 });
    expect(backorder?.fills ?? []).toEqual([]);
    expect(wmsPosts('/wms/reservations', orderId)).toEqual([]);
    expect(eventTypesAbout(orderId)).not.toContain('backorder.filled.v1');
    expect(await exceptionsOf(orderId)).toEqual([]);
  }, 120_000);

  it('plans no fill when the receipt cannot cover a complete-only backorder, and only sweeps (BO-N1)', async () => {
    // Ship-complete customer, default rule: the backorder is filled completely or not at all.
    const { orderId } = await backorderedOrder('BO-N1', [
      { sku: 'PUMP-550', quantity: 6, price: '180.00', cost: '120.00' },
    ]);
    const execution = await received('PUMP-550', 3);
    expect(await runToEnd(cloud, clock, execution)).toBe('SUCCEEDED');
    expect(execution.statesEntered).toEqual([
      'ReevaluateOpenBackorders',
      'RouteOnPlannedFills',
      'SweepAgedBackorders',
      'ReceiptHandled',
    ]);
    const output = JSON.parse(execution.output ?? '{}');
    expect(output.reevaluation).toMatchObject({ sku: 'PUMP-550', fillCount: 0, fills: [] });
    // The backorder is not yet aged: the sweep keeps it, cancelling and telling no one.
    expect(output.sweep).toEqual({
      cancelledOrders: [],
      cancelledBackorders: [],
      notified: [],
      deferred: [],
    });
    expect(await stageOf(orderId)).toBe('backordered');
    const [backorder] = await backordersOf(orderId);
    expect(backorder).toMatchObject({ status: 'open', quantity: 6 });
    expect(backorder?.fills ?? []).toEqual([]);
    expect(wmsPosts('/wms/reservations', orderId)).toEqual([]);
    expect(eventTypesAbout(orderId).filter((t) => t.startsWith('backorder.'))).toEqual([
      'backorder.created.v1',
    ]);
  }, 120_000);

  it('retries the fill through a WMS outage and reserves the units once (BO-R2)', async () => {
    const { orderId, backorders } = await backorderedOrder('BO-R2', [
      { sku: 'VALVE-CHK-2IN', quantity: 20, price: '48.00', cost: '30.00' },
    ]);
    // The WMS answers 503 to the next three reservation requests: all of one step attempt's HTTP tries.
    sandbox.failNext.set('POST /wms/reservations', 3);
    const execution = await received('VALVE-CHK-2IN', 20);
    expect(await runToEnd(cloud, clock, execution)).toBe('SUCCEEDED');
    expect(retriesOf(execution, 'ReserveAndRecordFill')).toBe(1);
    expect(failuresOf(execution, 'ReserveAndRecordFill')).toEqual(['PartnerUnavailable']);
    expect(execution.statesEntered.slice(-4)).toEqual([
      'RouteOnRefilledReleaseDecision',
      'RefilledOrderHandedToWarehouse',
      'SweepAgedBackorders',
      'ReceiptHandled',
    ]);
    // Four requests, one key: the three refused and the retry the WMS committed.
    const posts = wmsPosts('/wms/reservations', orderId);
    expect(posts).toHaveLength(4);
    const receiptId = JSON.parse(execution.input).detail.receiptId;
    expect(new Set(posts.map((c) => c.idempotencyKey))).toEqual(
      new Set([`${backorders[0]?.backorderId}:fill:${receiptId}`]),
    );
    await expectFilledAndReleased(orderId, 'VALVE-CHK-2IN', 20);
  }, 120_000);

  it('parks a fill that keeps failing as an owned exception, raised once despite a failed first raise (BO-C2)', async () => {
    const { orderId } = await backorderedOrder('BO-C2', [
      { sku: 'PUMP-220', quantity: 4, price: '310.00', cost: '228.00' },
    ]);
    const fill = cloud.lambda.injectFault({
      logicalId: 'BackorderReevaluationFunction',
      when: fillOf(orderId),
      errorType: THROTTLE,
      times: Number.POSITIVE_INFINITY,
    });
    const raise = cloud.lambda.injectFault({
      logicalId: 'RaiseStepExceptionFunction',
      when: forOrder(orderId),
      errorType: THROTTLE,
      times: 1,
    });
    try {
      const execution = await received('PUMP-220', 4);
      expect(await runToEnd(cloud, clock, execution)).toBe('SUCCEEDED');
      expect(fill.hits).toBe(5);
      expect(retriesOf(execution, 'ReserveAndRecordFill')).toBe(4);
      expect(raise.hits).toBe(1);
      expect(retriesOf(execution, 'RaiseOwnedStepException')).toBe(1);
      // The item is parked; the receipt carries on to the sweep and succeeds.
      expect(execution.statesEntered.slice(-6)).toEqual([
        'ReserveAndRecordFill',
        'TagFillFailure',
        'RaiseOwnedStepException',
        'ParkedAsOwnedException',
        'SweepAgedBackorders',
        'ReceiptHandled',
      ]);
    } finally {
      fill.clear();
      raise.clear();
    }
    await expectOwnedStepException(
      orderId,
      'ReserveAndRecordFill',
      THROTTLE,
      `Step ReserveAndRecordFill failed with ${THROTTLE}: read the cause, then redrive.`,
    );
    // The fill never happened: no claim, no reservation, nothing announced.
    const [backorder] = await backordersOf(orderId);
    expect(backorder).toMatchObject({ status: 'open', quantity: 4 });
    expect(backorder?.fills ?? []).toEqual([]);
    expect(wmsPosts('/wms/reservations', orderId)).toEqual([]);
    expect(eventTypesAbout(orderId)).not.toContain('backorder.filled.v1');
  }, 120_000);

  it('settles a fill that leaves the order waiting for its other backorder (BO-S1)', async () => {
    const { orderId, backorders } = await backorderedOrder('BO-S1', [
      { sku: 'VALVE-BALL-1IN', quantity: 30, price: '24.90', cost: '14.20' },
      { sku: 'STRETCH-FILM-18', quantity: 20, price: '24.00', cost: '14.50' },
    ]);
    // Only the ball valves arrive.
    const execution = await received('VALVE-BALL-1IN', 30);
    expect(await runToEnd(cloud, clock, execution)).toBe('SUCCEEDED');
    expect(execution.statesEntered).toEqual([
      'ReevaluateOpenBackorders',
      'RouteOnPlannedFills',
      'FillEachBackorder',
      'ReserveAndRecordFill',
      'RouteOnFillOutcome',
      'FillSettled',
      'SweepAgedBackorders',
      'ReceiptHandled',
    ]);
    // Still backordered (ship-complete): line 1 is reserved and waits with the order for line 2.
    expect(await stageOf(orderId)).toBe('backordered');
    const [valves, film] = await backordersOf(orderId);
    expect(valves).toMatchObject({ backorderId: backorders[0]?.backorderId, status: 'filled' });
    expect(valves?.fills?.map((f) => [f.status, f.quantity])).toEqual([['reserved', 30]]);
    expect(film).toMatchObject({ status: 'open', quantity: 20 });
    expect(wmsReservationsOf(orderId)).toHaveLength(1);
    expect(wmsReservationsOf(orderId)[0]).toMatchObject({
      facilityCode: 'DC-EAST',
      lines: [{ itemCode: 'VALVE-BALL-1IN', quantity: 30 }],
    });
    await until('backorder.filled is announced', () =>
      eventTypesAbout(orderId).includes('backorder.filled.v1') ? true : undefined,
    );
    const filled = eventsAbout(orderId).filter((e) => e.type === 'backorder.filled.v1');
    expect(filled).toHaveLength(1);
    expect(filled[0]?.detail).toMatchObject({
      siteId: 'DC-EAST',
      lines: [{ lineNo: 10, sku: 'VALVE-BALL-1IN', quantity: 30 }],
    });
    // Neither allocated nor released until the film comes in.
    expect(eventTypesAbout(orderId)).not.toContain('allocation.confirmed.v1');
    expect(eventTypesAbout(orderId)).not.toContain('warehouse.released.v1');
    expect(warehouseOrdersOf(orderId)).toEqual([]);
  }, 120_000);

  it('retries a throttled release of the refilled order and releases it once (BO-R3)', async () => {
    const { orderId } = await backorderedOrder('BO-R3', [
      { sku: 'ANCHOR-12', quantity: 400, price: '2.10', cost: '0.85' },
    ]);
    const fault = cloud.lambda.injectFault({
      logicalId: 'ReleaseToWarehouseFunction',
      when: forOrder(orderId),
      errorType: THROTTLE,
      times: 1,
    });
    try {
      const execution = await received('ANCHOR-12', 400);
      expect(await runToEnd(cloud, clock, execution)).toBe('SUCCEEDED');
      expect(fault.hits).toBe(1);
      expect(retriesOf(execution, 'DecideReleaseOfRefilledOrder')).toBe(1);
      expect(execution.statesEntered.slice(-4)).toEqual([
        'RouteOnRefilledReleaseDecision',
        'RefilledOrderHandedToWarehouse',
        'SweepAgedBackorders',
        'ReceiptHandled',
      ]);
      await expectFilledAndReleased(orderId, 'ANCHOR-12', 400);
      expect(wmsPosts('/wms/releases', orderId)).toHaveLength(1);
    } finally {
      fault.clear();
    }
  }, 120_000);

  it('parks the refilled order as an owned exception when the WMS stays down for its release (BO-C3)', async () => {
    const { orderId } = await backorderedOrder('BO-C3', [
      { sku: 'TAPE-48MM', quantity: 300, price: '2.40', cost: '1.10' },
    ]);
    // A WMS outage on releases that outlasts the client's tries and every Retry of the step.
    sandbox.failNext.set('POST /wms/releases', 1_000);
    let execution: LocalExecution;
    try {
      execution = await received('TAPE-48MM', 300);
      expect(await runToEnd(cloud, clock, execution)).toBe('SUCCEEDED');
    } finally {
      sandbox.failNext.clear();
    }
    expect(retriesOf(execution, 'DecideReleaseOfRefilledOrder')).toBe(4);
    expect(failuresOf(execution, 'DecideReleaseOfRefilledOrder')).toEqual(
      Array(5).fill('PartnerUnavailable'),
    );
    expect(execution.statesEntered.slice(-6)).toEqual([
      'DecideReleaseOfRefilledOrder',
      'TagRefilledReleaseFailure',
      'RaiseOwnedStepException',
      'ParkedAsOwnedException',
      'SweepAgedBackorders',
      'ReceiptHandled',
    ]);
    await expectOwnedStepException(
      orderId,
      'DecideReleaseOfRefilledOrder',
      'PartnerUnavailable',
      'The partner system did not answer after retries: check its status, then redrive the order.',
    );
    // The fill stands (reserved once, allocated again); the release never reached the warehouse.
    expect((await stageHistoryOf(orderId)).map((h) => h.stage).slice(-3)).toEqual([
      'backordered',
      'allocated',
      'exception',
    ]);
    expect(wmsReservationsOf(orderId)).toHaveLength(1);
    expect(warehouseOrdersOf(orderId)).toEqual([]);
    expect(eventTypesAbout(orderId)).toContain('allocation.confirmed.v1');
    expect(eventTypesAbout(orderId)).not.toContain('warehouse.released.v1');
  }, 120_000);

  it('waits for the release window of a future-dated refilled order, then releases it (BO-W1)', async () => {
    // Promised in 6 days, 3 days' transit: ship by day 3, released from day 1 00:00Z (two days before).
    const { orderId } = await backorderedOrder(
      'BO-W1',
      [{ sku: 'BOX-CARTON-L', quantity: 400, price: '2.20', cost: '1.05' }],
      { deliverInDays: 6 },
    );
    const execution = await received('BOX-CARTON-L', 400);
    await until('the refilled order waits for its window', () =>
      execution.statesEntered.includes('WaitForRefilledReleaseWindow') ? true : undefined,
    );
    const releaseAt = new Date(Math.floor(clock.now().getTime() / DAY) * DAY + DAY).toISOString();
    expect(await stageOf(orderId)).toBe('release-deferred');
    expect((await order(orderId)).release).toMatchObject({ action: 'defer', releaseAt });
    expect(warehouseOrdersOf(orderId)).toEqual([]);
    // Nothing happens before the window opens; then the order is released at once.
    await advanceQuietly(Date.parse(releaseAt) - 60_000);
    expect(execution.status).toBe('RUNNING');
    expect(warehouseOrdersOf(orderId)).toEqual([]);
    await clock.advanceTo(Date.parse(releaseAt));
    expect(await runToEnd(cloud, clock, execution)).toBe('SUCCEEDED');
    expect(execution.statesEntered).toEqual([
      'ReevaluateOpenBackorders',
      'RouteOnPlannedFills',
      'FillEachBackorder',
      'ReserveAndRecordFill',
      'RouteOnFillOutcome',
      'DecideReleaseOfRefilledOrder',
      'RouteOnRefilledReleaseDecision',
      'WaitForRefilledReleaseWindow',
      'DecideReleaseOfRefilledOrder',
      'RouteOnRefilledReleaseDecision',
      'RefilledOrderHandedToWarehouse',
      'SweepAgedBackorders',
      'ReceiptHandled',
    ]);
    await expectFilledAndReleased(orderId, 'BOX-CARTON-L', 400, [
      'backordered',
      'allocated',
      'release-deferred',
      'released',
    ]);
    const [released] = eventsAbout(orderId).filter((e) => e.type === 'warehouse.released.v1');
    expect(released?.detail.occurredAt).toBe(releaseAt);
  }, 120_000);

  it('fails the receipt for a redrive when a failed fill cannot even be raised as an exception (BO-C4)', async () => {
    const { orderId } = await backorderedOrder('BO-C4', [
      { sku: 'BOLT-M12', quantity: 2_000, price: '0.95', cost: '0.38' },
    ]);
    const fill = cloud.lambda.injectFault({
      logicalId: 'BackorderReevaluationFunction',
      when: fillOf(orderId),
      errorType: THROTTLE,
      times: Number.POSITIVE_INFINITY,
    });
    const raise = cloud.lambda.injectFault({
      logicalId: 'RaiseStepExceptionFunction',
      when: forOrder(orderId),
      errorType: THROTTLE,
      times: Number.POSITIVE_INFINITY,
    });
    let execution: LocalExecution;
    try {
      execution = await received('BOLT-M12', 2_000);
      expect(await runToEnd(cloud, clock, execution)).toBe('FAILED');
      expect(fill.hits).toBe(5);
      // RaiseOwnedStepException: the first attempt and MaxAttempts 6 retries (States.ALL).
      expect(raise.hits).toBe(7);
      expect(retriesOf(execution, 'RaiseOwnedStepException')).toBe(6);
    } finally {
      fill.clear();
      raise.clear();
    }
    expect(execution.statesEntered.slice(-4)).toEqual([
      'ReserveAndRecordFill',
      'TagFillFailure',
      'RaiseOwnedStepException',
      'FillingFailedForReceipt',
    ]);
    expect(execution.statesEntered).not.toContain('SweepAgedBackorders');
    expect(execution.error).toBe('BackorderFillFailed');
    // Neither the fill nor the exception happened: the order still waits, nobody was told, nothing reserved.
    expect(await exceptionsOf(orderId)).toEqual([]);
    expect(eventTypesAbout(orderId)).not.toContain('exception.raised.v1');
    expect(await stageOf(orderId)).toBe('backordered');
    const [backorder] = await backordersOf(orderId);
    expect(backorder).toMatchObject({ status: 'open', quantity: 2_000 });
    expect(wmsPosts('/wms/reservations', orderId)).toEqual([]);
  }, 120_000);

  it('retries a throttled ageing sweep after the fills (BO-R4)', async () => {
    const { orderId } = await backorderedOrder('BO-R4', [
      { sku: 'NUT-M8', quantity: 5_000, price: '0.12', cost: '0.04' },
    ]);
    const fault = cloud.lambda.injectFault({
      logicalId: 'BackorderReevaluationFunction',
      when: sweepOf('NUT-M8'),
      errorType: THROTTLE,
      times: 1,
    });
    try {
      const execution = await received('NUT-M8', 5_000);
      expect(await runToEnd(cloud, clock, execution)).toBe('SUCCEEDED');
      expect(fault.hits).toBe(1);
      expect(retriesOf(execution, 'SweepAgedBackorders')).toBe(1);
      expect(execution.statesEntered.slice(-2)).toEqual(['SweepAgedBackorders', 'ReceiptHandled']);
      expect(JSON.parse(execution.output ?? '{}').sweep).toEqual({
        cancelledOrders: [],
        cancelledBackorders: [],
        notified: [],
        deferred: [],
      });
      await expectFilledAndReleased(orderId, 'NUT-M8', 5_000);
    } finally {
      fault.clear();
    }
  }, 120_000);

  it('fails the receipt for a redrive when its ageing sweep keeps failing; the fills stand (BO-C5)', async () => {
    const { orderId } = await backorderedOrder('BO-C5', [
      { sku: 'WASHER-M8', quantity: 8_000, price: '0.06', cost: '0.02' },
    ]);
    const fault = cloud.lambda.injectFault({
      logicalId: 'BackorderReevaluationFunction',
      when: sweepOf('WASHER-M8'),
      errorType: THROTTLE,
      times: Number.POSITIVE_INFINITY,
    });
    try {
      const execution = await received('WASHER-M8', 8_000);
      expect(await runToEnd(cloud, clock, execution)).toBe('FAILED');
      expect(fault.hits).toBe(5);
      expect(retriesOf(execution, 'SweepAgedBackorders')).toBe(4);
      expect(execution.statesEntered.slice(-2)).toEqual(['SweepAgedBackorders', 'SweepFailedForReceipt']);
      expect(execution.error).toBe('AgedBackorderSweepFailed');
    } finally {
      fault.clear();
    }
    // The fills were done before the sweep: the order is released, with no exception of its own.
    await expectFilledAndReleased(orderId, 'WASHER-M8', 8_000);
    // The sweep did nothing: no backorder of the sku aged, cancelled or notified.
    expect(eventTypesAbout(orderId)).not.toContain('backorder.aged.v1');
    const [backorder] = await backordersOf(orderId);
    expect(backorder?.notifiedAt).toBeUndefined();
  }, 120_000);
});
