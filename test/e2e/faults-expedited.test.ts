import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../local/clock/clock.ts';
import type { LocalCloud } from '../../local/cloud.ts';
import { sampleOrders } from '../../local/demo/sample-orders.ts';
import type { PartnerSandbox } from '../../local/partners/sandbox.ts';
import type { LocalExecution } from '../../local/stepfunctions/sfn-service.ts';
import { failuresOf, forOrder, quiet, retriesOf, runToEnd, THROTTLE } from '../support/faults.ts';
import { startTestCloud, type TestCloud, until } from '../support/test-cloud.ts';

/**
 * The expedited path's Retry, Catch and Choice branches end to end, one named golden order each: partner
 * outages (on the virtual clock) and Lambda invocation faults drive each Retry rule and, exhausted, each
 * Catch; orders shaped by customer, item and quantity take the Choice branches. Every test asserts where
 * the order ends, what was announced and what the partners were asked to do (once, or not at all).
 */
const clock = new VirtualClock(new Date('2026-11-23T09:00:00.000Z'));
let world: TestCloud;
let cloud: LocalCloud;
let sandbox: PartnerSandbox;

beforeAll(async () => {
  world = await startTestCloud({ clock });
  ({ cloud, sandbox } = world);
  // Partner time is the cloud's time, so an outage window opens and closes as the virtual clock moves.
  sandbox.clock = clock;
});

afterAll(async () => {
  await world?.stop();
});

const TIMEOUT = 120_000;
const SECOND = 1000;
const HOUR = 3_600_000;

type Row = Record<string, unknown>;

const tableNamed = (prefix: string) =>
  cloud.tables.find((t) => t.resource.logicalId.startsWith(prefix))?.name ?? '';

async function item(table: string, key: Record<string, string>): Promise<Row> {
  const { Item } = await cloud.dynamodb.documents.send(
    new GetCommand({ TableName: tableNamed(table), Key: key }),
  );
  if (!Item) throw new Error(`no item ${JSON.stringify(key)} in ${table}`);
  return Item;
}

const orderOf = (orderId: string) => item('OrdersTable', { pk: orderId, sk: 'ORDER' });

const busEvents = (orderId: string) =>
  (cloud.events.archives[0]?.events ?? []).filter(
    (e) => (e.event.detail as { orderId?: string }).orderId === orderId,
  );

const eventTypes = (orderId: string) => busEvents(orderId).map((e) => e.event['detail-type']);

const countOf = (orderId: string, type: string) => eventTypes(orderId).filter((t) => t === type).length;

const detailsOf = (orderId: string, type: string) =>
  busEvents(orderId)
    .filter((e) => e.event['detail-type'] === type)
    .map((e) => e.event.detail as Row);

const bookingsOf = (orderId: string) => sandbox.tms.bookings.filter((b) => b.shipperReference === orderId);
const reservationsOf = (orderId: string) =>
  sandbox.wms.reservations.filter((r) => r.orderReference === orderId);
const warehouseOrdersOf = (orderId: string) =>
  sandbox.wms.warehouseOrders.filter((o) => o.orderReference === orderId);

/** The golden next-day key-account order (C-2002, 20 pipe hangers), reshaped by `change`. */
async function send(runId: string, change: (body: Row) => void = () => {}) {
  const sample = sampleOrders(clock.now(), runId).find((o) =>
    o.label.startsWith('next-day order from a key account'),
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
  expect(execution.stateMachineArn).toContain('ExpeditedPath');
  return { orderId, execution };
}

/** 155,000 of pumps takes key account C-2002 to 114% of its 250,000 limit: finance's fast review. */
const heldForFastReview = (body: Row) => {
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
};

/**
 * Steps the virtual clock (as runToEnd does) until `probe` answers: e.g. until a callback task of the
 * execution is waiting on a person after an SLA ran out.
 */
async function stepUntil<T>(
  execution: LocalExecution,
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
): Promise<T> {
  for (let step = 0; step < 2_000; step++) {
    await quiet(cloud);
    const value = await probe();
    if (value !== undefined) return value;
    if (execution.status !== 'RUNNING') {
      throw new Error(`${what}: the execution ended ${execution.statesEntered.join(' > ')}`);
    }
    const next = clock.nextWakeUp();
    if (next === undefined) throw new Error(`${what}: no timer pending`);
    await clock.advanceTo(next);
  }
  throw new Error(`${what}: not within 2,000 clock steps`);
}

/** The credit exception once a tier of its ladder holds the task token. */
const awaitingTier = (orderId: string, tier: number) => async () => {
  const exception = await item('ExceptionsTable', { pk: `EXC-${orderId}-CREDIT` });
  return (exception.awaiting as { tier?: number } | undefined)?.tier === tier ? exception : undefined;
};

async function decide(orderId: string, outcome: 'release' | 'reject', decidedBy: string, reason: string) {
  const fn = [...cloud.lambda.functions.values()].find((f) =>
    f.resource.logicalId.startsWith('DecideException'),
  );
  return cloud.lambda.invoke(fn?.name ?? '', {
    exceptionId: `EXC-${orderId}-CREDIT`,
    outcome,
    decidedBy,
    reason,
  });
}

/** The main route's end: released once, booked once, reserved once, every step announced once. */
async function expectReleasedOnce(orderId: string, execution: LocalExecution) {
  expect(execution.status).toBe('SUCCEEDED');
  expect(execution.statesEntered.slice(-3)).toEqual([
    'BookPremiumCarrier',
    'ReleaseImmediately',
    'HandedToWarehouseWithPremiumCarrier',
  ]);
  const order = await orderOf(orderId);
  expect(order.stage).toBe('released');
  expect(order.booking).toMatchObject({ carrier: 'FXNX', serviceLevel: 'next-day' });
  expect(reservationsOf(orderId)).toHaveLength(1);
  expect(bookingsOf(orderId)).toHaveLength(1);
  expect(warehouseOrdersOf(orderId)).toHaveLength(1);
  expect(warehouseOrdersOf(orderId)[0]?.reservationNumber).toBe(
    reservationsOf(orderId)[0]?.reservationNumber,
  );
  await until('warehouse.released is announced', () =>
    eventTypes(orderId).includes('warehouse.released.v1') ? true : undefined,
  );
  for (const type of ['allocation.confirmed.v1', 'shipment.booked.v1', 'warehouse.released.v1']) {
    expect(countOf(orderId, type), type).toBe(1);
  }
  expect(detailsOf(orderId, 'exception.raised.v1').filter((d) => d.type === 'integration-failure')).toEqual(
    [],
  );
  return order;
}

/**
 * A Catch's end: the path parks the order as one integration-owned exception for the failed step, the
 * order's stage is `exception`, and exception.raised announced it.
 */
async function expectParked(
  orderId: string,
  execution: LocalExecution,
  failedStep: string,
  error: string,
  recommendedAction: string,
) {
  expect(execution.status).toBe('SUCCEEDED');
  expect(execution.statesEntered.slice(-2)).toEqual(['RaiseOwnedStepException', 'ParkedAsOwnedException']);
  const order = await orderOf(orderId);
  expect(order.stage).toBe('exception');
  const exceptions = await Promise.all(
    (order.exceptionIds as string[]).map((pk) => item('ExceptionsTable', { pk })),
  );
  const owned = exceptions.filter((e) => e.type === 'integration-failure');
  expect(owned).toHaveLength(1);
  const exception = owned[0] as Row;
  expect(exception).toMatchObject({
    ownerTeam: 'integration',
    priority: 'high',
    state: 'open',
    recommendedAction,
    reasonCodes: [`STEP_FAILED:${failedStep}`],
    context: { failedStep, error },
  });
  await until('exception.raised is announced', () =>
    eventTypes(orderId).includes('exception.raised.v1') ? true : undefined,
  );
  expect(detailsOf(orderId, 'exception.raised.v1').map((d) => d.exceptionId)).toContain(
    exception.exceptionId,
  );
  return { order, exception };
}

const throttled = (step: string) => `Step ${step} failed with ${THROTTLE}: read the cause, then redrive.`;
const PARTNER_DOWN =
  'The partner system did not answer after retries: check its status, then redrive the order.';

/** An outage of one partner route, from now for `ms` of the (virtual) clock. */
function outage(route: string, ms: number) {
  const from = clock.now();
  const before = sandbox.calls.length;
  sandbox.faults.set(route, { outages: [{ from, to: new Date(from.getTime() + ms) }] });
  return {
    /** Requests to the route since the outage began, refused or (once it is over) answered. */
    attempts: () =>
      sandbox.calls.slice(before).filter((c) => `${c.method} ${c.path}`.startsWith(route)).length,
    clear: () => sandbox.faults.delete(route),
  };
}

describe('expedited path: credit check', () => {
  it(
    'retries the credit check through a one-second ERP outage, then reserves, books and releases once (XF-CR1)',
    async () => {
      const erp = outage('GET /erp/customers/C-2002/credit-segment', SECOND);
      try {
        const { orderId, execution } = await send('XF-CR1');
        await runToEnd(cloud, clock, execution);
        expect(retriesOf(execution, 'CheckCreditAgainstLimitAndExposure')).toBeGreaterThanOrEqual(1);
        expect(failuresOf(execution, 'CheckCreditAgainstLimitAndExposure')[0]).toBe('PartnerUnavailable');
        // Three refused attempts per invocation (the partner client's own retries), then one that answered.
        expect(erp.attempts()).toBeGreaterThanOrEqual(4);
        expect(erp.attempts() % 3).toBe(1);
        const order = await expectReleasedOnce(orderId, execution);
        expect(order.credit).toMatchObject({ decision: 'approved' });
      } finally {
        erp.clear();
      }
    },
    TIMEOUT,
  );

  it(
    'parks an order whose credit check stays throttled as one integration exception, raised despite a failed first raise (XF-CC1)',
    async () => {
      const orderId = 'ERP-XF-CC1-11';
      const credit = cloud.lambda.injectFault({
        logicalId: 'CheckCreditFunction',
        when: forOrder(orderId),
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
        const { execution } = await send('XF-CC1');
        await runToEnd(cloud, clock, execution);
        expect(credit.hits).toBe(5);
        expect(retriesOf(execution, 'CheckCreditAgainstLimitAndExposure')).toBe(4);
        expect(execution.statesEntered).toContain('TagCreditCheckFailure');
        expect(raise.hits).toBe(1);
        expect(retriesOf(execution, 'RaiseOwnedStepException')).toBe(1);
        const { order } = await expectParked(
          orderId,
          execution,
          'CheckCreditAgainstLimitAndExposure',
          THROTTLE,
          throttled('CheckCreditAgainstLimitAndExposure'),
        );
        expect(countOf(orderId, 'exception.raised.v1')).toBe(1);
        // The failed step decided nothing: no credit decision, no hold, nothing reserved or booked.
        expect(order.credit).toBeUndefined();
        expect(eventTypes(orderId)).not.toContain('credit.hold.placed.v1');
        expect(reservationsOf(orderId)).toHaveLength(0);
        expect(bookingsOf(orderId)).toHaveLength(0);
      } finally {
        credit.clear();
        raise.clear();
      }
    },
    TIMEOUT,
  );

  it(
    'rejects a next-day order from a closed account at the credit check, reserving and booking nothing (XF-RJ1)',
    async () => {
      const { orderId, execution } = await send('XF-RJ1', (body) => {
        body.SoldToParty = 'C-5005';
        body.CustomerGroup = 'STD';
        body.Segment = 'SMB';
      });
      await runToEnd(cloud, clock, execution);
      expect(execution.status).toBe('SUCCEEDED');
      expect(execution.statesEntered).toEqual([
        'CheckCreditAgainstLimitAndExposure',
        'RouteOnCreditDecision',
        'RejectedByCreditCheck',
      ]);
      const order = await orderOf(orderId);
      expect(order.stage).toBe('rejected');
      expect(order.credit).toMatchObject({ decision: 'declined', reasonCodes: ['ACCOUNT_CLOSED'] });
      await until('order.rejected is announced', () =>
        eventTypes(orderId).includes('order.rejected.v1') ? true : undefined,
      );
      expect(detailsOf(orderId, 'order.rejected.v1')[0]).toMatchObject({ reasonCodes: ['ACCOUNT_CLOSED'] });
      expect(eventTypes(orderId)).not.toContain('exception.raised.v1');
      expect(reservationsOf(orderId)).toHaveLength(0);
      expect(bookingsOf(orderId)).toHaveLength(0);
      expect(warehouseOrdersOf(orderId)).toHaveLength(0);
    },
    TIMEOUT,
  );
});

describe('expedited path: allocation, carrier and release', () => {
  it(
    'retries a throttled reservation step and still reserves, books and releases once (XF-AL1)',
    async () => {
      const orderId = 'ERP-XF-AL1-11';
      const fault = cloud.lambda.injectFault({
        logicalId: 'AllocateStockFunction',
        when: forOrder(orderId),
        errorType: THROTTLE,
        times: 1,
      });
      try {
        const { execution } = await send('XF-AL1');
        await runToEnd(cloud, clock, execution);
        expect(fault.hits).toBe(1);
        expect(retriesOf(execution, 'ReserveStockAtBestSingleSite')).toBe(1);
        const order = await expectReleasedOnce(orderId, execution);
        expect(order.allocation).toMatchObject({ status: 'full', siteId: 'DC-EAST' });
      } finally {
        fault.clear();
      }
    },
    TIMEOUT,
  );

  it(
    'parks an order whose reservation meets an hour-long WMS outage, reserving and booking nothing (XF-AC1)',
    async () => {
      const wms = outage('POST /wms/reservations', HOUR);
      try {
        const { orderId, execution } = await send('XF-AC1');
        await runToEnd(cloud, clock, execution);
        expect(retriesOf(execution, 'ReserveStockAtBestSingleSite')).toBe(4);
        expect(failuresOf(execution, 'ReserveStockAtBestSingleSite')).toEqual(
          Array(5).fill('PartnerUnavailable'),
        );
        expect(execution.statesEntered).toContain('TagAllocationFailure');
        // Five invocations, three refused attempts each.
        expect(wms.attempts()).toBe(15);
        const { order, exception } = await expectParked(
          orderId,
          execution,
          'ReserveStockAtBestSingleSite',
          'PartnerUnavailable',
          PARTNER_DOWN,
        );
        expect(exception.stage).toBe('credit-approved');
        expect(order.allocation).toBeUndefined();
        expect(reservationsOf(orderId)).toHaveLength(0);
        expect(bookingsOf(orderId)).toHaveLength(0);
        expect(eventTypes(orderId)).not.toContain('allocation.confirmed.v1');
      } finally {
        wms.clear();
      }
    },
    TIMEOUT,
  );

  it(
    'backorders a ship-complete next-day order for a valve short everywhere, reserving and booking nothing (XF-BO1)',
    async () => {
      const { orderId, execution } = await send('XF-BO1', (body) => {
        body.CompleteDelivery = 'X';
        body.Items = [
          {
            ItemNo: '000010',
            Material: 'VALVE-3IN',
            Quantity: '12',
            Unit: 'EA',
            NetPrice: '185.00',
            Cost: '121.00',
          },
        ];
      });
      await runToEnd(cloud, clock, execution);
      expect(execution.status).toBe('SUCCEEDED');
      expect(execution.statesEntered.slice(-3)).toEqual([
        'ReserveStockAtBestSingleSite',
        'RouteOnAllocation',
        'BackorderedAwaitingStock',
      ]);
      const order = await orderOf(orderId);
      expect(order.stage).toBe('backordered');
      expect(order.allocation).toMatchObject({ status: 'backorder', allocated: [] });
      await until('backorder.created is announced', () =>
        eventTypes(orderId).includes('backorder.created.v1') ? true : undefined,
      );
      expect(order.allocation).toMatchObject({ short: [{ lineNo: 10, sku: 'VALVE-3IN', requested: 12 }] });
      expect(detailsOf(orderId, 'backorder.created.v1')[0]?.lines).toEqual([
        expect.objectContaining({ lineNo: 10, sku: 'VALVE-3IN' }),
      ]);
      expect(eventTypes(orderId)).toContain('allocation.shortage.v1');
      expect(eventTypes(orderId)).not.toContain('allocation.confirmed.v1');
      expect(reservationsOf(orderId)).toHaveLength(0);
      expect(bookingsOf(orderId)).toHaveLength(0);
      expect(warehouseOrdersOf(orderId)).toHaveLength(0);
    },
    TIMEOUT,
  );

  it(
    'retries the premium booking through a one-second TMS outage and books the carrier exactly once (XF-BK1)',
    async () => {
      const tms = outage('POST /tms/bookings', SECOND);
      try {
        const { orderId, execution } = await send('XF-BK1');
        await runToEnd(cloud, clock, execution);
        expect(retriesOf(execution, 'BookPremiumCarrier')).toBeGreaterThanOrEqual(1);
        expect(failuresOf(execution, 'BookPremiumCarrier')[0]).toBe('PartnerUnavailable');
        expect(tms.attempts()).toBeGreaterThanOrEqual(4);
        expect(tms.attempts() % 3).toBe(1);
        // Every attempt carried the same key, so the one that got through is the only booking.
        expect(
          new Set(
            sandbox
              .callsTo('POST', '/tms/bookings')
              .filter((c) => c.idempotencyKey?.startsWith(orderId))
              .map((c) => c.idempotencyKey),
          ),
        ).toEqual(new Set([`${orderId}:booking`]));
        const order = await expectReleasedOnce(orderId, execution);
        expect((order.booking as Row).bookingId).toBe(bookingsOf(orderId)[0]?.bookingId);
      } finally {
        tms.clear();
      }
    },
    TIMEOUT,
  );

  it(
    'retries a twice-throttled release and hands the order to the warehouse once (XF-RL1)',
    async () => {
      const orderId = 'ERP-XF-RL1-11';
      const fault = cloud.lambda.injectFault({
        logicalId: 'ReleaseToWarehouseFunction',
        when: forOrder(orderId),
        errorType: THROTTLE,
        times: 2,
      });
      try {
        const { execution } = await send('XF-RL1');
        await runToEnd(cloud, clock, execution);
        expect(fault.hits).toBe(2);
        expect(retriesOf(execution, 'ReleaseImmediately')).toBe(2);
        const order = await expectReleasedOnce(orderId, execution);
        expect(order.release).toMatchObject({ action: 'release' });
      } finally {
        fault.clear();
      }
    },
    TIMEOUT,
  );

  it(
    'parks an order whose release stays throttled after its carrier was booked: nothing reaches the warehouse (XF-RC1)',
    async () => {
      const orderId = 'ERP-XF-RC1-11';
      const fault = cloud.lambda.injectFault({
        logicalId: 'ReleaseToWarehouseFunction',
        when: forOrder(orderId),
        errorType: THROTTLE,
        times: Number.POSITIVE_INFINITY,
      });
      try {
        const { execution } = await send('XF-RC1');
        await runToEnd(cloud, clock, execution);
        expect(fault.hits).toBe(5);
        expect(retriesOf(execution, 'ReleaseImmediately')).toBe(4);
        expect(execution.statesEntered).toContain('TagReleaseFailure');
        const { order, exception } = await expectParked(
          orderId,
          execution,
          'ReleaseImmediately',
          THROTTLE,
          throttled('ReleaseImmediately'),
        );
        expect(exception.stage).toBe('allocated');
        // Reserved and booked before the release failed; the warehouse got nothing.
        expect(reservationsOf(orderId)).toHaveLength(1);
        expect(bookingsOf(orderId)).toHaveLength(1);
        expect(warehouseOrdersOf(orderId)).toHaveLength(0);
        expect(order.release).toBeUndefined();
        expect(eventTypes(orderId)).not.toContain('warehouse.released.v1');
      } finally {
        fault.clear();
      }
    },
    TIMEOUT,
  );
});

describe('expedited path: credit review', () => {
  it(
    'releases a new key account the ERP has no credit account for once finance approves: reserved, booked, released (XF-RV1)',
    async () => {
      const { orderId, execution } = await send('XF-RV1', (body) => {
        body.SoldToParty = 'C-8008';
      });
      const held = await stepUntil(execution, 'the controller holds the task', awaitingTier(orderId, 1));
      expect(held).toMatchObject({
        type: 'credit-hold',
        ownerTeam: 'finance',
        reasonCodes: ['CREDIT_ACCOUNT_NOT_FOUND'],
      });
      await decide(orderId, 'release', 'sam.credit', 'New key account: credit line approved by the CFO.');
      await runToEnd(cloud, clock, execution);
      expect(execution.statesEntered.slice(0, 5)).toEqual([
        'CheckCreditAgainstLimitAndExposure',
        'RouteOnCreditDecision',
        'AwaitCreditControllerDecision',
        'RouteOnCreditReview',
        'ReserveStockAtBestSingleSite',
      ]);
      const order = await expectReleasedOnce(orderId, execution);
      expect(order.credit).toMatchObject({
        decision: 'approved',
        review: { outcome: 'release', decidedBy: 'sam.credit' },
      });
      expect(eventTypes(orderId)).toContain('credit.hold.released.v1');
    },
    TIMEOUT,
  );

  it(
    'retries a throttled hand-over to the credit controller, who then rejects the order (XF-AW1)',
    async () => {
      const orderId = 'ERP-XF-AW1-11';
      const fault = cloud.lambda.injectFault({
        logicalId: 'HumanDecisionTaskFunction',
        when: forOrder(orderId, { action: 'await', tier: 1 }),
        errorType: THROTTLE,
        times: 1,
      });
      try {
        const { execution } = await send('XF-AW1', heldForFastReview);
        const held = await stepUntil(execution, 'the controller holds the task', awaitingTier(orderId, 1));
        expect(fault.hits).toBe(1);
        expect(retriesOf(execution, 'AwaitCreditControllerDecision')).toBe(1);
        expect((held.audit as Row[]).filter((a) => a.action === 'awaiting-decision')).toHaveLength(1);
        await decide(
          orderId,
          'reject',
          'sam.credit',
          'Exposure too high for an unplanned order of this size.',
        );
        await runToEnd(cloud, clock, execution);
        expect(execution.statesEntered.slice(-2)).toEqual([
          'RouteOnCreditReview',
          'RejectedAfterCreditReview',
        ]);
        const order = await orderOf(orderId);
        expect(order.stage).toBe('rejected');
        await until('order.rejected is announced', () =>
          eventTypes(orderId).includes('order.rejected.v1') ? true : undefined,
        );
        expect(countOf(orderId, 'order.rejected.v1')).toBe(1);
        expect(reservationsOf(orderId)).toHaveLength(0);
      } finally {
        fault.clear();
      }
    },
    TIMEOUT,
  );

  it(
    'escalates to the credit manager when the controller lets 30 minutes pass, and the manager rejects it (XF-ES1)',
    async () => {
      const { orderId, execution } = await send('XF-ES1', heldForFastReview);
      const start = clock.now().getTime();
      const escalated = await stepUntil(execution, 'the manager holds the task', awaitingTier(orderId, 2));
      expect(clock.now().getTime() - start).toBe(30 * 60_000);
      expect(execution.statesEntered).toContain('EscalateToCreditManager');
      expect(escalated).toMatchObject({ ownerTeam: 'finance', priority: 'critical' });
      expect(detailsOf(orderId, 'exception.escalated.v1')[0]).toMatchObject({
        tier: 2,
        role: 'credit-manager',
      });
      await decide(orderId, 'reject', 'kim.creditmanager', 'Over the limit with no cover: declined.');
      await runToEnd(cloud, clock, execution);
      expect(execution.statesEntered.slice(-4)).toEqual([
        'AwaitCreditControllerDecision',
        'EscalateToCreditManager',
        'RouteOnCreditReview',
        'RejectedAfterCreditReview',
      ]);
      const order = await orderOf(orderId);
      expect(order.stage).toBe('rejected');
      expect(order.credit).toMatchObject({ review: { decidedBy: 'kim.creditmanager', tier: 2 } });
      expect(countOf(orderId, 'order.rejected.v1')).toBe(1);
      expect(reservationsOf(orderId)).toHaveLength(0);
    },
    TIMEOUT,
  );

  it(
    'retries a throttled escalation to the credit manager, who then rejects the order (XF-ER1)',
    async () => {
      const orderId = 'ERP-XF-ER1-11';
      const fault = cloud.lambda.injectFault({
        logicalId: 'HumanDecisionTaskFunction',
        when: forOrder(orderId, { action: 'await', tier: 2 }),
        errorType: THROTTLE,
        times: 1,
      });
      try {
        const { execution } = await send('XF-ER1', heldForFastReview);
        const escalated = await stepUntil(execution, 'the manager holds the task', awaitingTier(orderId, 2));
        expect(fault.hits).toBe(1);
        expect(retriesOf(execution, 'EscalateToCreditManager')).toBe(1);
        expect((escalated.audit as Row[]).filter((a) => a.action === 'escalated')).toHaveLength(1);
        expect(countOf(orderId, 'exception.escalated.v1')).toBe(1);
        await decide(orderId, 'reject', 'kim.creditmanager', 'Over the limit with no cover: declined.');
        await runToEnd(cloud, clock, execution);
        expect(execution.statesEntered.slice(-2)).toEqual([
          'RouteOnCreditReview',
          'RejectedAfterCreditReview',
        ]);
        expect((await orderOf(orderId)).stage).toBe('rejected');
        expect(countOf(orderId, 'order.rejected.v1')).toBe(1);
        expect(reservationsOf(orderId)).toHaveLength(0);
      } finally {
        fault.clear();
      }
    },
    TIMEOUT,
  );

  it(
    'declines by policy when neither controller nor manager decides within 30 + 15 minutes (XF-FB1)',
    async () => {
      const { orderId, execution } = await send('XF-FB1', heldForFastReview);
      const start = clock.now().getTime();
      await runToEnd(cloud, clock, execution);
      expect(execution.statesEntered.slice(2)).toEqual([
        'AwaitCreditControllerDecision',
        'EscalateToCreditManager',
        'ApplyCreditReviewFallback',
        'RouteOnCreditReview',
        'RejectedAfterCreditReview',
      ]);
      expect(clock.now().getTime() - start).toBe(45 * 60_000);
      const order = await orderOf(orderId);
      expect(order.stage).toBe('rejected');
      expect(order.credit).toMatchObject({
        decision: 'declined',
        review: { outcome: 'reject', decidedBy: 'handoff:sla-fallback', tier: 0 },
      });
      const exception = await item('ExceptionsTable', { pk: `EXC-${orderId}-CREDIT` });
      expect(exception.resolution).toMatchObject({ outcome: 'reject', decidedBy: 'handoff:sla-fallback' });
      await until('order.rejected is announced', () =>
        eventTypes(orderId).includes('order.rejected.v1') ? true : undefined,
      );
      expect(detailsOf(orderId, 'order.rejected.v1')[0]).toMatchObject({
        reasonCodes: ['CREDIT_REVIEW_UNANSWERED'],
      });
      expect(countOf(orderId, 'exception.resolved.v1')).toBe(1);
      expect(reservationsOf(orderId)).toHaveLength(0);
    },
    TIMEOUT,
  );

  it(
    'retries a throttled policy fallback and declines the order once (XF-FR1)',
    async () => {
      const orderId = 'ERP-XF-FR1-11';
      const fault = cloud.lambda.injectFault({
        logicalId: 'HumanDecisionTaskFunction',
        when: forOrder(orderId, { action: 'fallback' }),
        errorType: THROTTLE,
        times: 1,
      });
      try {
        const { execution } = await send('XF-FR1', heldForFastReview);
        await runToEnd(cloud, clock, execution);
        expect(fault.hits).toBe(1);
        expect(retriesOf(execution, 'ApplyCreditReviewFallback')).toBe(1);
        expect(execution.statesEntered.at(-1)).toBe('RejectedAfterCreditReview');
        const order = await orderOf(orderId);
        expect(order.stage).toBe('rejected');
        expect(order.credit).toMatchObject({ review: { decidedBy: 'handoff:sla-fallback' } });
        await until('order.rejected is announced', () =>
          eventTypes(orderId).includes('order.rejected.v1') ? true : undefined,
        );
        expect(countOf(orderId, 'order.rejected.v1')).toBe(1);
        expect(countOf(orderId, 'exception.resolved.v1')).toBe(1);
      } finally {
        fault.clear();
      }
    },
    TIMEOUT,
  );

  it(
    'parks the order when the hand-over to the credit controller stays throttled: nobody holds the decision (XF-AX1)',
    async () => {
      const orderId = 'ERP-XF-AX1-11';
      const fault = cloud.lambda.injectFault({
        logicalId: 'HumanDecisionTaskFunction',
        when: forOrder(orderId, { action: 'await', tier: 1 }),
        errorType: THROTTLE,
        times: Number.POSITIVE_INFINITY,
      });
      try {
        const { execution } = await send('XF-AX1', heldForFastReview);
        await runToEnd(cloud, clock, execution);
        expect(fault.hits).toBe(5);
        expect(retriesOf(execution, 'AwaitCreditControllerDecision')).toBe(4);
        expect(execution.statesEntered).toContain('TagCreditReviewFailure');
        expect(execution.statesEntered).not.toContain('EscalateToCreditManager');
        const { exception } = await expectParked(
          orderId,
          execution,
          'CreditReview',
          THROTTLE,
          throttled('CreditReview'),
        );
        expect(exception.stage).toBe('credit-hold');
        const credit = await item('ExceptionsTable', { pk: `EXC-${orderId}-CREDIT` });
        expect(credit.awaiting).toBeUndefined();
        expect(credit.resolution).toBeUndefined();
        expect(eventTypes(orderId)).not.toContain('order.rejected.v1');
        expect(reservationsOf(orderId)).toHaveLength(0);
      } finally {
        fault.clear();
      }
    },
    TIMEOUT,
  );

  it(
    'parks the order when the escalation to the credit manager stays throttled: nothing is escalated (XF-EX1)',
    async () => {
      const orderId = 'ERP-XF-EX1-11';
      const fault = cloud.lambda.injectFault({
        logicalId: 'HumanDecisionTaskFunction',
        when: forOrder(orderId, { action: 'await', tier: 2 }),
        errorType: THROTTLE,
        times: Number.POSITIVE_INFINITY,
      });
      try {
        const { execution } = await send('XF-EX1', heldForFastReview);
        await runToEnd(cloud, clock, execution);
        expect(fault.hits).toBe(5);
        expect(retriesOf(execution, 'EscalateToCreditManager')).toBe(4);
        expect(execution.statesEntered.slice(2, 5)).toEqual([
          'AwaitCreditControllerDecision',
          'EscalateToCreditManager',
          'TagCreditReviewFailure',
        ]);
        await expectParked(orderId, execution, 'CreditReview', THROTTLE, throttled('CreditReview'));
        const credit = await item('ExceptionsTable', { pk: `EXC-${orderId}-CREDIT` });
        expect(credit.awaiting).toMatchObject({ tier: 1 });
        expect(credit.resolution).toBeUndefined();
        expect(eventTypes(orderId)).not.toContain('exception.escalated.v1');
        expect(eventTypes(orderId)).not.toContain('order.rejected.v1');
      } finally {
        fault.clear();
      }
    },
    TIMEOUT,
  );

  it(
    'parks the order when the policy fallback stays throttled: the order is not declined (XF-FX1)',
    async () => {
      const orderId = 'ERP-XF-FX1-11';
      const fault = cloud.lambda.injectFault({
        logicalId: 'HumanDecisionTaskFunction',
        when: forOrder(orderId, { action: 'fallback' }),
        errorType: THROTTLE,
        times: Number.POSITIVE_INFINITY,
      });
      try {
        const { execution } = await send('XF-FX1', heldForFastReview);
        await runToEnd(cloud, clock, execution);
        expect(fault.hits).toBe(5);
        expect(retriesOf(execution, 'ApplyCreditReviewFallback')).toBe(4);
        expect(execution.statesEntered.slice(2, 6)).toEqual([
          'AwaitCreditControllerDecision',
          'EscalateToCreditManager',
          'ApplyCreditReviewFallback',
          'TagCreditReviewFailure',
        ]);
        await expectParked(orderId, execution, 'CreditReview', THROTTLE, throttled('CreditReview'));
        const credit = await item('ExceptionsTable', { pk: `EXC-${orderId}-CREDIT` });
        expect(credit.awaiting).toMatchObject({ tier: 2 });
        expect(credit.resolution).toBeUndefined();
        expect(eventTypes(orderId)).not.toContain('order.rejected.v1');
        expect(eventTypes(orderId)).not.toContain('exception.resolved.v1');
      } finally {
        fault.clear();
      }
    },
    TIMEOUT,
  );
});
