import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../local/clock/clock.ts';
import type { LocalCloud } from '../../local/cloud.ts';
import { sampleOrders } from '../../local/demo/sample-orders.ts';
import type { OutboundEdiDocument } from '../../local/partners/edi.ts';
import type { CreditSegment, FaultKnobs, PartnerSandbox } from '../../local/partners/sandbox.ts';
import { samplePurchaseOrder850 } from '../../local/partners/seed.ts';
import type { LocalExecution } from '../../local/stepfunctions/sfn-service.ts';
import { failuresOf, forOrder, quiet, retriesOf, runToEnd, THROTTLE } from '../support/faults.ts';
import { queueNamed, startTestCloud, type TestCloud, until } from '../support/test-cloud.ts';

/**
 * The Retry, Catch and Choice branches of the drop-ship and EDI retail replenishment paths that the paths'
 * own end-to-end tests do not take, driven on the real synthesized stack with one named golden order per
 * branch. Faults are what production sees: a partner outage window (the vendor, the ERP), a Lambda
 * throttle or service error injected before the handler runs (as AWS FIS does), a credit SLA that runs
 * out. Each test then checks what a person would: the execution's states, the order's stage history, the
 * owned exception, the events on the bus, and the partner side effect (made once, or not at all).
 *
 * Time is virtual, for the partners too: retry back-offs, callback SLAs and outage windows run on one clock.
 */
const START = new Date('2026-11-23T09:00:00.000Z');
const MINUTE = 60_000;
const clock = new VirtualClock(START);
const DROP_SHIP_CUSTOMER = 'C-6006';
const RETAIL_CUSTOMER = 'C-7007';
const VENDOR = 'V-AQUADRIVE';
let world: TestCloud;
let cloud: LocalCloud;
let sandbox: PartnerSandbox;

beforeAll(async () => {
  world = await startTestCloud({ clock });
  ({ cloud, sandbox } = world);
  // The partners keep the cloud's time, so an outage window is a window of virtual time.
  sandbox.clock = clock;
});

afterAll(async () => {
  await world?.stop();
});

// ---------------------------------------------------------------------------------------------------------
// The world as a person checks it
// ---------------------------------------------------------------------------------------------------------

const tableNamed = (prefix: string) =>
  cloud.tables.find((t) => t.resource.logicalId.startsWith(prefix))?.name ?? '';

const functionNamed = (prefix: string) =>
  [...cloud.lambda.functions.values()].find((f) => f.resource.logicalId.startsWith(prefix))?.name ?? '';

async function order(orderId: string): Promise<Record<string, unknown> | undefined> {
  const { Item } = await cloud.dynamodb.documents.send(
    new GetCommand({ TableName: tableNamed('OrdersTable'), Key: { pk: orderId, sk: 'ORDER' } }),
  );
  return Item;
}

async function stagesOf(orderId: string): Promise<string[]> {
  return (((await order(orderId))?.stageHistory ?? []) as { stage: string }[]).map((h) => h.stage);
}

async function exception(exceptionId: string): Promise<Record<string, unknown> | undefined> {
  const { Item } = await cloud.dynamodb.documents.send(
    new GetCommand({ TableName: tableNamed('ExceptionsTable'), Key: { pk: exceptionId } }),
  );
  return Item;
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
  const found = await Promise.all((Items ?? []).map((item) => exception(String(item.pk))));
  return found.filter((item): item is Record<string, unknown> => item !== undefined);
}

/** The integration exceptions raised for a failed step (not the credit hold, not a vendor exception). */
const stepFailuresOf = async (orderId: string) =>
  (await exceptionsOf(orderId)).filter((e) => e.type === 'integration-failure');

const archived = (orderId: string) =>
  (cloud.events.archives[0]?.events ?? [])
    .map((e) => e.event)
    .filter((e) => (e.detail as { orderId?: string }).orderId === orderId);

/** detail-types of the archived bus events about the order, in publication order. */
const eventsAbout = (orderId: string) => archived(orderId).map((e) => e['detail-type']);

/**
 * The path's own events about an EDI order: without the SLA monitor's (sla.* and the sla-breach exceptions
 * it raises). Every EDI order breaches capture-to-accept on receipt today (its clock starts at the PO date's
 * midnight, BEG05 having no time), which is reported as a product bug rather than asserted here.
 */
const pathEventsAbout = (orderId: string) =>
  archived(orderId)
    .filter(
      (e) => !e['detail-type'].startsWith('sla.') && (e.detail as { type?: string }).type !== 'sla-breach',
    )
    .map((e) => e['detail-type']);

/** The exception.raised events announcing this exception. */
const raisedEventsOf = (exceptionId: unknown) =>
  (cloud.events.archives[0]?.events ?? []).filter(
    (e) =>
      e.event['detail-type'] === 'exception.raised.v1' &&
      (e.event.detail as { exceptionId?: string }).exceptionId === exceptionId,
  );

async function awaiting(exceptionId: string): Promise<{ tier?: number; taskToken?: string } | undefined> {
  return (await exception(exceptionId))?.awaiting as { tier?: number; taskToken?: string } | undefined;
}

/** An operator's decision, through the DecideException function as the ops console calls it. */
function decide(exceptionId: string, outcome: 'release' | 'reject', decidedBy: string, reason: string) {
  return cloud.lambda.invoke(functionNamed('DecideException'), { exceptionId, outcome, decidedBy, reason });
}

// ---------------------------------------------------------------------------------------------------------
// Driving the world
// ---------------------------------------------------------------------------------------------------------

/**
 * Moves virtual time to each next wake-up (retry back-offs, alarm ticks), never under a running function,
 * until `probe` answers. Used to reach a callback task without running past its SLA.
 */
async function stepUntil<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  maxSteps = 500,
): Promise<T> {
  for (let step = 0; step < maxSteps; step++) {
    await quiet(cloud);
    const value = await probe();
    if (value !== undefined) return value;
    const next = clock.nextWakeUp();
    if (next === undefined) throw new Error(`nothing scheduled while waiting for ${what}`);
    await clock.advanceTo(next);
  }
  throw new Error(`${what} did not happen within ${maxSteps} clock steps`);
}

/**
 * Lets the SLA of the tier the exception waits on run out: time moves one wake-up at a time (never past a
 * timer with work still running), so the callback task times out at the SLA as it would on AWS.
 */
async function slaRunsOut(exceptionId: string): Promise<void> {
  await quiet(cloud);
  const due = Date.parse(String((await exception(exceptionId))?.slaDueAt));
  expect(due).toBeGreaterThan(clock.now().getTime());
  await stepUntil('the SLA runs out', () => (clock.now().getTime() >= due ? true : undefined), 1_000);
}

async function withKnobs<T>(scope: string, knobs: FaultKnobs, run: () => Promise<T>): Promise<T> {
  sandbox.faults.set(scope, knobs);
  try {
    return await run();
  } finally {
    sandbox.faults.delete(scope);
  }
}

/** The partner (or route) is down for maintenance from now for `minutes` of virtual time. */
const outageFor = (minutes: number): FaultKnobs => ({
  outages: [
    {
      from: clock.now().toISOString(),
      to: new Date(clock.now().getTime() + minutes * MINUTE).toISOString(),
    },
  ],
});

async function withCredit<T>(
  customer: string,
  change: Partial<CreditSegment>,
  run: () => Promise<T>,
): Promise<T> {
  const segment = sandbox.credit.get(customer);
  if (!segment) throw new Error(`the seed has no credit segment for ${customer}`);
  sandbox.credit.set(customer, { ...segment, ...change });
  try {
    return await run();
  } finally {
    sandbox.credit.set(customer, segment);
  }
}

const executionNamed = (name: string) => [...cloud.sfn.executions.values()].find((e) => e.name === name);

const PARKED = ['RaiseOwnedStepException', 'ParkedAsOwnedException'];

const STEP_FAILURE = {
  type: 'integration-failure',
  ownerTeam: 'integration',
  state: 'open',
  priority: 'high',
};

const PARTNER_DOWN_ACTION =
  'The partner system did not answer after retries: check its status, then redrive the order.';

// ---------------------------------------------------------------------------------------------------------
// Drop-ship
// ---------------------------------------------------------------------------------------------------------

/**
 * The golden drop-ship order: two submersible pumps C-6006 buys, shipped direct by V-AQUADRIVE, promised in
 * 21 days. `change` shapes it for a branch.
 */
async function dropShipOrder(
  runId: string,
  change: (body: Record<string, unknown>) => void = () => {},
): Promise<{ orderId: string; execution: LocalExecution }> {
  const sample = sampleOrders(clock.now(), runId).find((o) => o.label.includes('drop-ship'));
  if (!sample) throw new Error('the sample orders have no drop-ship order');
  const body = structuredClone(sample.body);
  change(body);
  await world.sqs.send(
    new SendMessageCommand({
      QueueUrl: queueNamed(cloud, 'ErpIngressQueue').url,
      MessageBody: JSON.stringify(body),
    }),
  );
  const orderId = `ERP-${String(body.SalesOrder)}`;
  expect(body.SoldToParty).toBe(DROP_SHIP_CUSTOMER);
  const execution = await until(`the drop-ship path runs ${orderId}`, () => executionNamed(orderId));
  expect(execution.stateMachineArn).toContain('DropShipPath');
  return { orderId, execution };
}

/**
 * The golden order, sent as a key account's (CustomerGroup KEY: the credit ladder gives the controller 60
 * minutes, the manager 30), while finance has blocked the customer: the credit check holds it.
 */
function heldDropShipOrder(runId: string) {
  return withCredit(DROP_SHIP_CUSTOMER, { CreditBlocked: true }, async () => {
    const started = await dropShipOrder(runId, (body) => {
      body.CustomerGroup = 'KEY';
    });
    await until('the credit check has decided', () =>
      started.execution.statesEntered.includes('RouteOnCreditDecision') ? true : undefined,
    );
    return { ...started, exceptionId: `EXC-${started.orderId}-CREDIT` };
  });
}

/** Every purchase order the vendor received for the order. */
const vendorPurchaseOrdersOf = (orderId: string) =>
  sandbox.vendor.purchaseOrders.filter((po) => po.buyerReference === orderId);

const purchaseOrderPosts = (orderId: string) =>
  sandbox
    .callsTo('POST', '/vendor/purchase-orders')
    .filter((c) => c.idempotencyKey === `${orderId}:purchase-order:${VENDOR}`);

/** The order went to the vendor exactly once and is handed over: released, one allocation.confirmed. */
async function expectHandedToVendorOnce(orderId: string): Promise<void> {
  const [po, ...more] = vendorPurchaseOrdersOf(orderId);
  expect(more).toEqual([]);
  expect(po).toMatchObject({
    purchaseOrderNumber: `${orderId}-${VENDOR}`,
    vendorCode: VENDOR,
    acknowledgement: { type: 'AD' },
    lines: [{ lineNumber: 10, itemCode: 'PUMP-SUB-75', quantityAccepted: 2, status: 'IA' }],
  });
  expect(await order(orderId)).toMatchObject({
    stage: 'released',
    path: 'drop-ship',
    purchaseOrders: [
      {
        vendorId: VENDOR,
        purchaseOrderNumber: `${orderId}-${VENDOR}`,
        vendorOrderRef: po?.vendorOrderNumber,
      },
    ],
    allocation: { status: 'full', siteId: VENDOR },
  });
  expect(eventsAbout(orderId).filter((t) => t === 'allocation.confirmed.v1')).toHaveLength(1);
}

/** Nothing reached the vendor: no purchase order, not even an attempt. */
function expectNoPurchaseOrder(orderId: string): void {
  expect(vendorPurchaseOrdersOf(orderId)).toEqual([]);
  expect(purchaseOrderPosts(orderId)).toEqual([]);
}

const DS_MAIN_ROUTE = [
  'CheckCreditAgainstLimitAndExposure',
  'RouteOnCreditDecision',
  'PlaceVendorPurchaseOrders',
  'RouteOnVendorConfirmation',
  'HandedToVendor',
];

const DS_HELD = [
  'CheckCreditAgainstLimitAndExposure',
  'RouteOnCreditDecision',
  'AwaitCreditControllerDecision',
];

const DS_RELEASED_AFTER_REVIEW = [
  'RouteOnCreditReview',
  'PlaceVendorPurchaseOrders',
  'RouteOnVendorConfirmation',
  'HandedToVendor',
];

describe('drop-ship: credit choices', () => {
  it('DSF-DECLINED (closed account): RejectedByCreditCheck, order.rejected, no purchase order', async () => {
    const { orderId, execution } = await withCredit(DROP_SHIP_CUSTOMER, { AccountClosed: true }, async () => {
      const started = await dropShipOrder('DSF-DECLINED');
      await runToEnd(cloud, clock, started.execution);
      return started;
    });
    expect(execution.status).toBe('SUCCEEDED');
    expect(execution.statesEntered).toEqual([
      'CheckCreditAgainstLimitAndExposure',
      'RouteOnCreditDecision',
      'RejectedByCreditCheck',
    ]);
    expect(await order(orderId)).toMatchObject({
      stage: 'rejected',
      credit: { decision: 'declined', reasonCodes: ['ACCOUNT_CLOSED'] },
    });
    expect(await stagesOf(orderId)).toEqual(['received', 'accepted', 'rejected']);
    expect(eventsAbout(orderId)).toEqual(['order.received.v1', 'order.accepted.v1', 'order.rejected.v1']);
    expect(await exceptionsOf(orderId)).toEqual([]);
    expectNoPurchaseOrder(orderId);
  }, 120_000);

  it('DSF-HOLD-RELEASE (finance block, the controller releases): AwaitCreditControllerDecision, then the vendor gets its purchase order', async () => {
    const { orderId, exceptionId, execution } = await heldDropShipOrder('DSF-HOLD-RELEASE');
    await stepUntil('the controller holds the token', async () =>
      (await awaiting(exceptionId))?.tier === 1 ? true : undefined,
    );
    expect(await exception(exceptionId)).toMatchObject({
      type: 'credit-hold',
      ownerTeam: 'finance',
      state: 'open',
      reasonCodes: expect.arrayContaining(['ACCOUNT_ON_HOLD']),
      awaiting: { tier: 1, role: 'credit-controller' },
    });
    expect(await stagesOf(orderId)).toEqual(['received', 'accepted', 'credit-hold']);
    expectNoPurchaseOrder(orderId);
    expect(
      await decide(exceptionId, 'release', 'sam.creditcontroller', 'Replacement funds arrived this morning.'),
    ).toMatchObject({ outcome: 'release', tier: 1, resumed: 'delivered' });
    expect(await runToEnd(cloud, clock, execution)).toBe('SUCCEEDED');
    expect(execution.statesEntered).toEqual([...DS_HELD, ...DS_RELEASED_AFTER_REVIEW]);
    expect(await stagesOf(orderId)).toEqual([
      'received',
      'accepted',
      'credit-hold',
      'credit-approved',
      'allocated',
      'released',
    ]);
    expect(eventsAbout(orderId)).toEqual([
      'order.received.v1',
      'order.accepted.v1',
      'credit.hold.placed.v1',
      'exception.raised.v1',
      'credit.hold.released.v1',
      'exception.resolved.v1',
      'allocation.confirmed.v1',
      'warehouse.released.v1',
    ]);
    await expectHandedToVendorOnce(orderId);
  }, 120_000);

  it('DSF-HOLD-REJECT (finance block, the controller rejects): RejectedAfterCreditReview, no purchase order', async () => {
    const { orderId, exceptionId, execution } = await heldDropShipOrder('DSF-HOLD-REJECT');
    await stepUntil('the controller holds the token', async () =>
      (await awaiting(exceptionId))?.tier === 1 ? true : undefined,
    );
    await decide(exceptionId, 'reject', 'sam.creditcontroller', 'Second returned payment this quarter.');
    expect(await runToEnd(cloud, clock, execution)).toBe('SUCCEEDED');
    expect(execution.statesEntered).toEqual([...DS_HELD, 'RouteOnCreditReview', 'RejectedAfterCreditReview']);
    expect(await order(orderId)).toMatchObject({
      stage: 'rejected',
      credit: { decision: 'declined', review: { outcome: 'reject', decidedBy: 'sam.creditcontroller' } },
    });
    expect(await stagesOf(orderId)).toEqual(['received', 'accepted', 'credit-hold', 'rejected']);
    expect(eventsAbout(orderId).slice(4)).toEqual(['order.rejected.v1', 'exception.resolved.v1']);
    expect(await stepFailuresOf(orderId)).toEqual([]);
    expectNoPurchaseOrder(orderId);
  }, 120_000);
});

describe('drop-ship: retries', () => {
  it('DSF-RETRY-CREDIT (the credit function is throttled once): retried, then handed to the vendor once', async () => {
    const fault = cloud.lambda.injectFault({
      logicalId: 'CheckCreditFunction',
      when: forOrder('ERP-DSF-RETRY-CREDIT-12'),
      errorType: THROTTLE,
      times: 1,
    });
    try {
      const { orderId, execution } = await dropShipOrder('DSF-RETRY-CREDIT');
      expect(await runToEnd(cloud, clock, execution)).toBe('SUCCEEDED');
      expect(fault.hits).toBe(1);
      expect(retriesOf(execution, 'CheckCreditAgainstLimitAndExposure')).toBe(1);
      expect(failuresOf(execution, 'CheckCreditAgainstLimitAndExposure')).toEqual([THROTTLE]);
      expect(execution.statesEntered).toEqual(DS_MAIN_ROUTE);
      expect(await stagesOf(orderId)).toEqual([
        'received',
        'accepted',
        'credit-approved',
        'allocated',
        'released',
      ]);
      expect(eventsAbout(orderId)).toEqual([
        'order.received.v1',
        'order.accepted.v1',
        'credit.approved.v1',
        'allocation.confirmed.v1',
        'warehouse.released.v1',
      ]);
      await expectHandedToVendorOnce(orderId);
      expect(purchaseOrderPosts(orderId)).toHaveLength(1);
    } finally {
      fault.clear();
    }
  }, 120_000);

  it('DSF-RETRY-VENDOR (the vendor is down for maintenance for a second): PartnerUnavailable retried, one purchase order', async () => {
    const { orderId, execution } = await withKnobs('vendor', outageFor(1 / 60), async () => {
      const started = await dropShipOrder('DSF-RETRY-VENDOR');
      await runToEnd(cloud, clock, started.execution);
      return started;
    });
    expect(execution.status).toBe('SUCCEEDED');
    expect(execution.statesEntered).toEqual(DS_MAIN_ROUTE);
    const retries = retriesOf(execution, 'PlaceVendorPurchaseOrders');
    expect(retries).toBeGreaterThanOrEqual(1);
    expect(failuresOf(execution, 'PlaceVendorPurchaseOrders')).toEqual(
      Array.from({ length: retries }, () => 'PartnerUnavailable'),
    );
    expect(await stagesOf(orderId)).toEqual([
      'received',
      'accepted',
      'credit-approved',
      'allocated',
      'released',
    ]);
    expect(eventsAbout(orderId)).toEqual([
      'order.received.v1',
      'order.accepted.v1',
      'credit.approved.v1',
      'allocation.confirmed.v1',
      'warehouse.released.v1',
    ]);
    await expectHandedToVendorOnce(orderId);
    // Three refused attempts per failed invocation (the client's own retries), then the one that landed,
    // all under the same key.
    expect(purchaseOrderPosts(orderId)).toHaveLength(retries * 3 + 1);
  }, 120_000);

  it('DSF-RETRY-AWAIT (the decision task is throttled once): retried, the controller still gets the token and releases', async () => {
    const orderId = 'ERP-DSF-RETRY-AWAIT-12';
    const fault = cloud.lambda.injectFault({
      logicalId: 'HumanDecisionTaskFunction',
      when: forOrder(orderId, { action: 'await', tier: 1 }),
      errorType: THROTTLE,
      times: 1,
    });
    try {
      const { exceptionId, execution } = await heldDropShipOrder('DSF-RETRY-AWAIT');
      await stepUntil('the controller holds the token', async () =>
        (await awaiting(exceptionId))?.tier === 1 ? true : undefined,
      );
      expect(fault.hits).toBe(1);
      expect(retriesOf(execution, 'AwaitCreditControllerDecision')).toBe(1);
      await decide(exceptionId, 'release', 'sam.creditcontroller', 'Replacement funds arrived.');
      expect(await runToEnd(cloud, clock, execution)).toBe('SUCCEEDED');
      expect(execution.statesEntered).toEqual([...DS_HELD, ...DS_RELEASED_AFTER_REVIEW]);
      expect(await stagesOf(orderId)).toEqual([
        'received',
        'accepted',
        'credit-hold',
        'credit-approved',
        'allocated',
        'released',
      ]);
      expect(eventsAbout(orderId)).toEqual([
        'order.received.v1',
        'order.accepted.v1',
        'credit.hold.placed.v1',
        'exception.raised.v1',
        'credit.hold.released.v1',
        'exception.resolved.v1',
        'allocation.confirmed.v1',
        'warehouse.released.v1',
      ]);
      await expectHandedToVendorOnce(orderId);
    } finally {
      fault.clear();
    }
  }, 120_000);

  it('DSF-RETRY-ESCALATE (the escalation task is throttled once): retried, the credit manager releases', async () => {
    const orderId = 'ERP-DSF-RETRY-ESCALATE-12';
    const fault = cloud.lambda.injectFault({
      logicalId: 'HumanDecisionTaskFunction',
      when: forOrder(orderId, { action: 'await', tier: 2 }),
      errorType: THROTTLE,
      times: 1,
    });
    try {
      const { exceptionId, execution } = await heldDropShipOrder('DSF-RETRY-ESCALATE');
      await stepUntil('the controller holds the token', async () =>
        (await awaiting(exceptionId))?.tier === 1 ? true : undefined,
      );
      await slaRunsOut(exceptionId);
      await stepUntil('the credit manager holds the token', async () =>
        (await awaiting(exceptionId))?.tier === 2 ? true : undefined,
      );
      expect(fault.hits).toBe(1);
      expect(retriesOf(execution, 'EscalateToCreditManager')).toBe(1);
      expect(eventsAbout(orderId).filter((t) => t === 'exception.escalated.v1')).toHaveLength(1);
      await decide(exceptionId, 'release', 'pat.creditmanager', 'Funds confirmed by the bank.');
      expect(await runToEnd(cloud, clock, execution)).toBe('SUCCEEDED');
      expect(execution.statesEntered).toEqual([
        ...DS_HELD,
        'EscalateToCreditManager',
        ...DS_RELEASED_AFTER_REVIEW,
      ]);
      expect(await order(orderId)).toMatchObject({
        credit: { review: { outcome: 'release', decidedBy: 'pat.creditmanager', tier: 2 } },
      });
      await expectHandedToVendorOnce(orderId);
    } finally {
      fault.clear();
    }
  }, 120_000);

  it('DSF-RETRY-FALLBACK (nobody decides; the fallback is throttled once): retried, declined by policy once', async () => {
    const orderId = 'ERP-DSF-RETRY-FALLBACK-12';
    const fault = cloud.lambda.injectFault({
      logicalId: 'HumanDecisionTaskFunction',
      when: forOrder(orderId, { action: 'fallback' }),
      errorType: THROTTLE,
      times: 1,
    });
    try {
      const { exceptionId, execution } = await heldDropShipOrder('DSF-RETRY-FALLBACK');
      await stepUntil('the controller holds the token', async () =>
        (await awaiting(exceptionId))?.tier === 1 ? true : undefined,
      );
      await slaRunsOut(exceptionId);
      await stepUntil('the credit manager holds the token', async () =>
        (await awaiting(exceptionId))?.tier === 2 ? true : undefined,
      );
      await slaRunsOut(exceptionId);
      expect(await runToEnd(cloud, clock, execution)).toBe('SUCCEEDED');
      expect(fault.hits).toBe(1);
      expect(retriesOf(execution, 'ApplyCreditReviewFallback')).toBe(1);
      expect(execution.statesEntered).toEqual([
        ...DS_HELD,
        'EscalateToCreditManager',
        'ApplyCreditReviewFallback',
        'RouteOnCreditReview',
        'RejectedAfterCreditReview',
      ]);
      expect(await stagesOf(orderId)).toEqual(['received', 'accepted', 'credit-hold', 'rejected']);
      expect(await exception(exceptionId)).toMatchObject({
        state: 'resolved',
        resolution: { outcome: 'reject', decidedBy: 'handoff:sla-fallback', tier: 0 },
      });
      expect(eventsAbout(orderId).filter((t) => t === 'order.rejected.v1')).toHaveLength(1);
      expectNoPurchaseOrder(orderId);
    } finally {
      fault.clear();
    }
  }, 120_000);
});

describe('drop-ship: catches', () => {
  it('DSF-CATCH-CREDIT (the ERP is down past every retry): TagCreditCheckFailure, parked with integration; the exception is raised once though its first raise is throttled', async () => {
    const orderId = 'ERP-DSF-CATCH-CREDIT-12';
    const raiseFault = cloud.lambda.injectFault({
      logicalId: 'RaiseStepExceptionFunction',
      when: forOrder(orderId),
      errorType: THROTTLE,
      times: 1,
    });
    try {
      const { execution } = await withKnobs('GET /erp/customers', outageFor(30), async () => {
        const started = await dropShipOrder('DSF-CATCH-CREDIT');
        await runToEnd(cloud, clock, started.execution);
        return started;
      });
      expect(execution.status).toBe('SUCCEEDED');
      expect(execution.statesEntered).toEqual([
        'CheckCreditAgainstLimitAndExposure',
        'TagCreditCheckFailure',
        ...PARKED,
      ]);
      expect(retriesOf(execution, 'CheckCreditAgainstLimitAndExposure')).toBe(4);
      expect(failuresOf(execution, 'CheckCreditAgainstLimitAndExposure')).toEqual(
        Array.from({ length: 5 }, () => 'PartnerUnavailable'),
      );
      expect(raiseFault.hits).toBe(1);
      expect(retriesOf(execution, 'RaiseOwnedStepException')).toBe(1);
      const [owned, ...more] = await stepFailuresOf(orderId);
      expect(more).toEqual([]);
      expect(raisedEventsOf(owned?.exceptionId)).toHaveLength(1);
      expect(owned).toMatchObject({
        ...STEP_FAILURE,
        stage: 'accepted',
        reasonCodes: ['STEP_FAILED:CheckCreditAgainstLimitAndExposure'],
        recommendedAction: PARTNER_DOWN_ACTION,
        context: { failedStep: 'CheckCreditAgainstLimitAndExposure', error: 'PartnerUnavailable' },
      });
      expect(await order(orderId)).toMatchObject({ stage: 'exception', exceptionIds: [owned?.exceptionId] });
      expect((await order(orderId))?.credit).toBeUndefined();
      expect(await stagesOf(orderId)).toEqual(['received', 'accepted', 'exception']);
      expect(eventsAbout(orderId)).toEqual(['order.received.v1', 'order.accepted.v1', 'exception.raised.v1']);
      expectNoPurchaseOrder(orderId);
    } finally {
      raiseFault.clear();
    }
  }, 120_000);

  it('DSF-CATCH-AWAIT (the decision task fails past its retries): TagCreditReviewFailure, nobody was handed the decision', async () => {
    const orderId = 'ERP-DSF-CATCH-AWAIT-12';
    const fault = cloud.lambda.injectFault({
      logicalId: 'HumanDecisionTaskFunction',
      when: forOrder(orderId, { action: 'await', tier: 1 }),
      errorType: 'Lambda.ServiceException',
      times: Number.POSITIVE_INFINITY,
    });
    try {
      const { exceptionId, execution } = await heldDropShipOrder('DSF-CATCH-AWAIT');
      expect(await runToEnd(cloud, clock, execution)).toBe('SUCCEEDED');
      expect(fault.hits).toBe(5);
      expect(retriesOf(execution, 'AwaitCreditControllerDecision')).toBe(4);
      expect(execution.statesEntered).toEqual([...DS_HELD, 'TagCreditReviewFailure', ...PARKED]);
      const [owned, ...more] = await stepFailuresOf(orderId);
      expect(more).toEqual([]);
      expect(raisedEventsOf(owned?.exceptionId)).toHaveLength(1);
      expect(owned).toMatchObject({
        ...STEP_FAILURE,
        stage: 'credit-hold',
        reasonCodes: ['STEP_FAILED:CreditReview'],
        recommendedAction:
          'Step CreditReview failed with Lambda.ServiceException: read the cause, then redrive.',
        context: { failedStep: 'CreditReview', error: 'Lambda.ServiceException' },
      });
      expect(await stagesOf(orderId)).toEqual(['received', 'accepted', 'credit-hold', 'exception']);
      expect(eventsAbout(orderId)).toEqual([
        'order.received.v1',
        'order.accepted.v1',
        'credit.hold.placed.v1',
        'exception.raised.v1',
        'exception.raised.v1',
      ]);
      // The failed step's side effect: the credit controller was never handed the decision.
      expect(await exception(exceptionId)).toMatchObject({ state: 'open' });
      expect(await awaiting(exceptionId)).toBeUndefined();
      expectNoPurchaseOrder(orderId);
    } finally {
      fault.clear();
    }
  }, 120_000);

  it('DSF-CATCH-SLA1 (the controller does not decide within the SLA): the timeout escalates to the credit manager, who releases', async () => {
    const { orderId, exceptionId, execution } = await heldDropShipOrder('DSF-CATCH-SLA1');
    await stepUntil('the controller holds the token', async () =>
      (await awaiting(exceptionId))?.tier === 1 ? true : undefined,
    );
    await slaRunsOut(exceptionId);
    await stepUntil('the credit manager holds the token', async () =>
      (await awaiting(exceptionId))?.tier === 2 ? true : undefined,
    );
    expect(failuresOf(execution, 'AwaitCreditControllerDecision')).toEqual(['States.Timeout']);
    expect(await exception(exceptionId)).toMatchObject({
      ownerTeam: 'finance',
      awaiting: { tier: 2, role: 'credit-manager' },
    });
    expect(eventsAbout(orderId).slice(4)).toEqual(['exception.escalated.v1']);
    expectNoPurchaseOrder(orderId);
    await decide(exceptionId, 'release', 'pat.creditmanager', 'Funds confirmed by the bank.');
    expect(await runToEnd(cloud, clock, execution)).toBe('SUCCEEDED');
    expect(execution.statesEntered).toEqual([
      ...DS_HELD,
      'EscalateToCreditManager',
      ...DS_RELEASED_AFTER_REVIEW,
    ]);
    expect(await stagesOf(orderId)).toEqual([
      'received',
      'accepted',
      'credit-hold',
      'credit-approved',
      'allocated',
      'released',
    ]);
    expect(await stepFailuresOf(orderId)).toEqual([]);
    await expectHandedToVendorOnce(orderId);
  }, 120_000);

  it('DSF-CATCH-ESCALATE (the escalation task fails past its retries): TagCreditReviewFailure, the manager was never asked', async () => {
    const orderId = 'ERP-DSF-CATCH-ESCALATE-12';
    const fault = cloud.lambda.injectFault({
      logicalId: 'HumanDecisionTaskFunction',
      when: forOrder(orderId, { action: 'await', tier: 2 }),
      errorType: 'Lambda.ServiceException',
      times: Number.POSITIVE_INFINITY,
    });
    try {
      const { exceptionId, execution } = await heldDropShipOrder('DSF-CATCH-ESCALATE');
      await stepUntil('the controller holds the token', async () =>
        (await awaiting(exceptionId))?.tier === 1 ? true : undefined,
      );
      await slaRunsOut(exceptionId);
      expect(await runToEnd(cloud, clock, execution)).toBe('SUCCEEDED');
      expect(fault.hits).toBe(5);
      expect(retriesOf(execution, 'EscalateToCreditManager')).toBe(4);
      expect(execution.statesEntered).toEqual([
        ...DS_HELD,
        'EscalateToCreditManager',
        'TagCreditReviewFailure',
        ...PARKED,
      ]);
      const [owned, ...more] = await stepFailuresOf(orderId);
      expect(more).toEqual([]);
      expect(raisedEventsOf(owned?.exceptionId)).toHaveLength(1);
      expect(owned).toMatchObject({
        ...STEP_FAILURE,
        stage: 'credit-hold',
        reasonCodes: ['STEP_FAILED:CreditReview'],
        recommendedAction:
          'Step CreditReview failed with Lambda.ServiceException: read the cause, then redrive.',
        context: { failedStep: 'CreditReview', error: 'Lambda.ServiceException' },
      });
      expect(await stagesOf(orderId)).toEqual(['received', 'accepted', 'credit-hold', 'exception']);
      // No escalation happened: the exception still names the controller's tier, nothing was announced.
      expect(await awaiting(exceptionId)).toMatchObject({ tier: 1 });
      expect(eventsAbout(orderId)).not.toContain('exception.escalated.v1');
      expect(eventsAbout(orderId).at(-1)).toBe('exception.raised.v1');
      expectNoPurchaseOrder(orderId);
    } finally {
      fault.clear();
    }
  }, 120_000);

  it('DSF-CATCH-SLA2 (neither the controller nor the manager decides): the timeout applies the fallback, declined by policy', async () => {
    const { orderId, exceptionId, execution } = await heldDropShipOrder('DSF-CATCH-SLA2');
    await stepUntil('the controller holds the token', async () =>
      (await awaiting(exceptionId))?.tier === 1 ? true : undefined,
    );
    await slaRunsOut(exceptionId);
    await stepUntil('the credit manager holds the token', async () =>
      (await awaiting(exceptionId))?.tier === 2 ? true : undefined,
    );
    await slaRunsOut(exceptionId);
    expect(await runToEnd(cloud, clock, execution)).toBe('SUCCEEDED');
    expect(failuresOf(execution, 'EscalateToCreditManager')).toEqual(['States.Timeout']);
    expect(execution.statesEntered).toEqual([
      ...DS_HELD,
      'EscalateToCreditManager',
      'ApplyCreditReviewFallback',
      'RouteOnCreditReview',
      'RejectedAfterCreditReview',
    ]);
    const history = (await order(orderId))?.stageHistory as { stage: string; reasonCodes: string[] }[];
    expect(history.map((h) => h.stage)).toEqual(['received', 'accepted', 'credit-hold', 'rejected']);
    expect(history.at(-1)?.reasonCodes).toEqual(['CREDIT_REVIEW_UNANSWERED']);
    expect(eventsAbout(orderId).slice(4)).toEqual([
      'exception.escalated.v1',
      'order.rejected.v1',
      'exception.resolved.v1',
    ]);
    expect(await stepFailuresOf(orderId)).toEqual([]);
    expectNoPurchaseOrder(orderId);
  }, 120_000);

  it('DSF-CATCH-FALLBACK (the fallback fails past its retries): TagCreditReviewFailure, the hold is left undecided', async () => {
    const orderId = 'ERP-DSF-CATCH-FALLBACK-12';
    const fault = cloud.lambda.injectFault({
      logicalId: 'HumanDecisionTaskFunction',
      when: forOrder(orderId, { action: 'fallback' }),
      errorType: 'Lambda.ServiceException',
      times: Number.POSITIVE_INFINITY,
    });
    try {
      const { exceptionId, execution } = await heldDropShipOrder('DSF-CATCH-FALLBACK');
      await stepUntil('the controller holds the token', async () =>
        (await awaiting(exceptionId))?.tier === 1 ? true : undefined,
      );
      await slaRunsOut(exceptionId);
      await stepUntil('the credit manager holds the token', async () =>
        (await awaiting(exceptionId))?.tier === 2 ? true : undefined,
      );
      await slaRunsOut(exceptionId);
      expect(await runToEnd(cloud, clock, execution)).toBe('SUCCEEDED');
      expect(fault.hits).toBe(5);
      expect(retriesOf(execution, 'ApplyCreditReviewFallback')).toBe(4);
      expect(execution.statesEntered).toEqual([
        ...DS_HELD,
        'EscalateToCreditManager',
        'ApplyCreditReviewFallback',
        'TagCreditReviewFailure',
        ...PARKED,
      ]);
      const [owned, ...more] = await stepFailuresOf(orderId);
      expect(more).toEqual([]);
      expect(raisedEventsOf(owned?.exceptionId)).toHaveLength(1);
      expect(owned).toMatchObject({
        ...STEP_FAILURE,
        stage: 'credit-hold',
        reasonCodes: ['STEP_FAILED:CreditReview'],
        recommendedAction:
          'Step CreditReview failed with Lambda.ServiceException: read the cause, then redrive.',
        context: { failedStep: 'CreditReview', error: 'Lambda.ServiceException' },
      });
      expect(await stagesOf(orderId)).toEqual(['received', 'accepted', 'credit-hold', 'exception']);
      // The fallback never decided: the hold is unresolved and the order was not rejected.
      expect((await exception(exceptionId))?.resolution).toBeUndefined();
      expect(eventsAbout(orderId)).not.toContain('order.rejected.v1');
      expect(eventsAbout(orderId).at(-1)).toBe('exception.raised.v1');
      expectNoPurchaseOrder(orderId);
    } finally {
      fault.clear();
    }
  }, 120_000);

  it('DSF-CATCH-VENDOR (the vendor is down past every retry): TagVendorOrderFailure, parked with integration, no purchase order', async () => {
    const { orderId, execution } = await withKnobs('vendor', outageFor(30), async () => {
      const started = await dropShipOrder('DSF-CATCH-VENDOR');
      await runToEnd(cloud, clock, started.execution);
      return started;
    });
    expect(execution.status).toBe('SUCCEEDED');
    expect(execution.statesEntered).toEqual([
      'CheckCreditAgainstLimitAndExposure',
      'RouteOnCreditDecision',
      'PlaceVendorPurchaseOrders',
      'TagVendorOrderFailure',
      ...PARKED,
    ]);
    expect(retriesOf(execution, 'PlaceVendorPurchaseOrders')).toBe(4);
    const [owned, ...more] = await stepFailuresOf(orderId);
    expect(more).toEqual([]);
    expect(raisedEventsOf(owned?.exceptionId)).toHaveLength(1);
    expect(owned).toMatchObject({
      ...STEP_FAILURE,
      stage: 'credit-approved',
      reasonCodes: ['STEP_FAILED:PlaceVendorPurchaseOrders'],
      recommendedAction: PARTNER_DOWN_ACTION,
      context: { failedStep: 'PlaceVendorPurchaseOrders', error: 'PartnerUnavailable' },
    });
    expect(await order(orderId)).toMatchObject({ stage: 'exception', exceptionIds: [owned?.exceptionId] });
    expect((await order(orderId))?.purchaseOrders).toBeUndefined();
    expect(await stagesOf(orderId)).toEqual(['received', 'accepted', 'credit-approved', 'exception']);
    expect(eventsAbout(orderId)).toEqual([
      'order.received.v1',
      'order.accepted.v1',
      'credit.approved.v1',
      'exception.raised.v1',
    ]);
    // 5 invocations × 3 attempts, all refused by the outage: the vendor holds no purchase order.
    expect(vendorPurchaseOrdersOf(orderId)).toEqual([]);
    expect(purchaseOrderPosts(orderId)).toHaveLength(15);
  }, 120_000);
});

// ---------------------------------------------------------------------------------------------------------
// EDI retail replenishment
// ---------------------------------------------------------------------------------------------------------

const GOLDEN_LINES = [
  { sku: 'VALVE-BALL-1IN', quantity: 12, unitPrice: '22.40' },
  { sku: 'TAPE-48MM', quantity: 60, unitPrice: '2.15' },
];

const segmentsOf = (document: OutboundEdiDocument) =>
  document.text
    .split('~')
    .map((s) => s.trim())
    .filter(Boolean);

/** The 855s the gateway accepted for a PO (its number is echoed in BAK03). */
const acknowledgmentsFor = (poNumber: string) =>
  sandbox.edi.outbound.filter(
    (d) => d.transactionSets[0]?.code === '855' && segmentsOf(d).some((s) => s.split('*').includes(poNumber)),
  );

/** The single 855 of a PO, its line acknowledgements (ACK segments). */
function ackLinesOf855(poNumber: string): string[] {
  const documents = acknowledgmentsFor(poNumber);
  expect(documents).toHaveLength(1);
  return segmentsOf(documents[0] as OutboundEdiDocument).filter((s) => s.startsWith('ACK*'));
}

const gatewayPostsOf855 = (orderId: string) =>
  sandbox.callsTo('POST', '/edi/outbound').filter((c) => c.idempotencyKey?.startsWith(`edi-855:${orderId}:`));

const reservationsOf = (orderId: string) =>
  sandbox.callsTo('POST', '/wms/reservations').filter((c) => c.idempotencyKey?.startsWith(orderId));

/**
 * The retail chain's 850 (blocked by finance, so the credit check holds it) delivered from the gateway's
 * mailbox to the EDI inbound queue, as the VAN does.
 */
async function heldEdiOrder(poNumber: string, controlNumber: number) {
  return withCredit(RETAIL_CUSTOMER, { CreditBlocked: true }, async () => {
    sandbox.edi.putInbound(
      samplePurchaseOrder850({ poNumber, at: clock.now(), controlNumber, lines: GOLDEN_LINES }),
    );
    const [document, ...more] = sandbox.edi.drainInbound();
    expect(more).toEqual([]);
    await cloud.sqs.send(queueNamed(cloud, 'EdiInboundQueue').arn, JSON.stringify(document));
    const orderId = `EDI-${RETAIL_CUSTOMER}-${poNumber}`;
    const execution = await until(`the execution of ${orderId}`, () => executionNamed(orderId));
    expect(execution.stateMachineArn).toContain('EdiRetailReplenishmentPath');
    await until('the credit check has decided', () =>
      execution.statesEntered.includes('RouteOnCreditDecision') ? true : undefined,
    );
    return { orderId, execution, exceptionId: `EXC-${orderId}-CREDIT` };
  });
}

const EDI_HELD = [
  'CheckCreditAgainstLimitAndExposure',
  'RouteOnCreditDecision',
  'AwaitCreditControllerDecision',
];

const EDI_RELEASED_AFTER_REVIEW = [
  'RouteOnCreditReview',
  'ReserveStockAtBestSingleSite',
  'SendPurchaseOrderAcknowledgment',
  'RouteOnAllocation',
  'DecideWarehouseRelease',
  'RouteOnReleaseDecision',
  'HandedToWarehouse',
];

const EDI_REJECTED_AFTER_REVIEW = [
  'RouteOnCreditReview',
  'AcknowledgeRejectedPurchaseOrder',
  'RejectedAndAcknowledged',
];

describe('EDI retail replenishment: retries', () => {
  it('PO-EDF-100 (the decision task is throttled once): retried, the controller releases, one 855 accepting every line', async () => {
    const orderId = 'EDI-C-7007-PO-EDF-100';
    const fault = cloud.lambda.injectFault({
      logicalId: 'HumanDecisionTaskFunction',
      when: forOrder(orderId, { action: 'await', tier: 1 }),
      errorType: THROTTLE,
      times: 1,
    });
    try {
      const { exceptionId, execution } = await heldEdiOrder('PO-EDF-100', 9101);
      await stepUntil('the controller holds the token', async () =>
        (await awaiting(exceptionId))?.tier === 1 ? true : undefined,
      );
      expect(fault.hits).toBe(1);
      expect(retriesOf(execution, 'AwaitCreditControllerDecision')).toBe(1);
      await decide(exceptionId, 'release', 'sam.creditcontroller', 'Block lifted: the remittance cleared.');
      expect(await runToEnd(cloud, clock, execution)).toBe('SUCCEEDED');
      expect(execution.statesEntered).toEqual([...EDI_HELD, ...EDI_RELEASED_AFTER_REVIEW]);
      expect(await stagesOf(orderId)).toEqual([
        'received',
        'accepted',
        'credit-hold',
        'credit-approved',
        'allocated',
        'released',
      ]);
      expect(pathEventsAbout(orderId)).toEqual([
        'order.received.v1',
        'order.accepted.v1',
        'credit.hold.placed.v1',
        'exception.raised.v1',
        'credit.hold.released.v1',
        'exception.resolved.v1',
        'allocation.confirmed.v1',
        'warehouse.released.v1',
      ]);
      expect(ackLinesOf855('PO-EDF-100')).toEqual(['ACK*IA*12*EA', 'ACK*IA*60*EA']);
      expect(gatewayPostsOf855(orderId)).toHaveLength(1);
      expect(reservationsOf(orderId)).toHaveLength(1);
    } finally {
      fault.clear();
    }
  }, 120_000);

  it('PO-EDF-200 (the escalation task is throttled once): retried, the credit manager releases, one 855', async () => {
    const orderId = 'EDI-C-7007-PO-EDF-200';
    const fault = cloud.lambda.injectFault({
      logicalId: 'HumanDecisionTaskFunction',
      when: forOrder(orderId, { action: 'await', tier: 2 }),
      errorType: THROTTLE,
      times: 1,
    });
    try {
      const { exceptionId, execution } = await heldEdiOrder('PO-EDF-200', 9201);
      await stepUntil('the controller holds the token', async () =>
        (await awaiting(exceptionId))?.tier === 1 ? true : undefined,
      );
      await slaRunsOut(exceptionId);
      await stepUntil('the credit manager holds the token', async () =>
        (await awaiting(exceptionId))?.tier === 2 ? true : undefined,
      );
      expect(fault.hits).toBe(1);
      expect(retriesOf(execution, 'EscalateToCreditManager')).toBe(1);
      expect(await exception(exceptionId)).toMatchObject({
        priority: 'critical',
        awaiting: { tier: 2, role: 'credit-manager' },
      });
      await decide(exceptionId, 'release', 'pat.creditmanager', 'Disputed invoices settled.');
      expect(await runToEnd(cloud, clock, execution)).toBe('SUCCEEDED');
      expect(execution.statesEntered).toEqual([
        ...EDI_HELD,
        'EscalateToCreditManager',
        ...EDI_RELEASED_AFTER_REVIEW,
      ]);
      expect(await order(orderId)).toMatchObject({
        stage: 'released',
        credit: { review: { outcome: 'release', decidedBy: 'pat.creditmanager', tier: 2 } },
      });
      expect(pathEventsAbout(orderId).filter((t) => t === 'exception.escalated.v1')).toHaveLength(1);
      expect(pathEventsAbout(orderId).filter((t) => t === 'warehouse.released.v1')).toHaveLength(1);
      expect(ackLinesOf855('PO-EDF-200')).toEqual(['ACK*IA*12*EA', 'ACK*IA*60*EA']);
      expect(gatewayPostsOf855(orderId)).toHaveLength(1);
      expect(reservationsOf(orderId)).toHaveLength(1);
    } finally {
      fault.clear();
    }
  }, 120_000);

  it('PO-EDF-300 (nobody decides; the fallback is throttled once): retried, declined by policy, one 855 rejecting every line', async () => {
    const orderId = 'EDI-C-7007-PO-EDF-300';
    const fault = cloud.lambda.injectFault({
      logicalId: 'HumanDecisionTaskFunction',
      when: forOrder(orderId, { action: 'fallback' }),
      errorType: THROTTLE,
      times: 1,
    });
    try {
      const { exceptionId, execution } = await heldEdiOrder('PO-EDF-300', 9301);
      await stepUntil('the controller holds the token', async () =>
        (await awaiting(exceptionId))?.tier === 1 ? true : undefined,
      );
      await slaRunsOut(exceptionId);
      await stepUntil('the credit manager holds the token', async () =>
        (await awaiting(exceptionId))?.tier === 2 ? true : undefined,
      );
      await slaRunsOut(exceptionId);
      expect(await runToEnd(cloud, clock, execution)).toBe('SUCCEEDED');
      expect(fault.hits).toBe(1);
      expect(retriesOf(execution, 'ApplyCreditReviewFallback')).toBe(1);
      expect(execution.statesEntered).toEqual([
        ...EDI_HELD,
        'EscalateToCreditManager',
        'ApplyCreditReviewFallback',
        ...EDI_REJECTED_AFTER_REVIEW,
      ]);
      const history = (await order(orderId))?.stageHistory as { stage: string; reasonCodes: string[] }[];
      expect(history.map((h) => h.stage)).toEqual(['received', 'accepted', 'credit-hold', 'rejected']);
      expect(history.at(-1)?.reasonCodes).toEqual(['CREDIT_REVIEW_UNANSWERED']);
      expect(await exception(exceptionId)).toMatchObject({
        state: 'resolved',
        resolution: { outcome: 'reject', decidedBy: 'handoff:sla-fallback', tier: 0 },
      });
      expect(pathEventsAbout(orderId).filter((t) => t === 'order.rejected.v1')).toHaveLength(1);
      expect(ackLinesOf855('PO-EDF-300')).toEqual(['ACK*IR*12*EA', 'ACK*IR*60*EA']);
      expect(gatewayPostsOf855(orderId)).toHaveLength(1);
      expect(reservationsOf(orderId)).toEqual([]);
    } finally {
      fault.clear();
    }
  }, 120_000);
});

describe('EDI retail replenishment: catches', () => {
  it('PO-EDF-400 (the escalation task fails past its retries): TagCreditReviewFailure, parked; the exception is raised once though its first raise is throttled', async () => {
    const orderId = 'EDI-C-7007-PO-EDF-400';
    const fault = cloud.lambda.injectFault({
      logicalId: 'HumanDecisionTaskFunction',
      when: forOrder(orderId, { action: 'await', tier: 2 }),
      errorType: 'Lambda.ServiceException',
      times: Number.POSITIVE_INFINITY,
    });
    const raiseFault = cloud.lambda.injectFault({
      logicalId: 'RaiseStepExceptionFunction',
      when: forOrder(orderId),
      errorType: THROTTLE,
      times: 1,
    });
    try {
      const { exceptionId, execution } = await heldEdiOrder('PO-EDF-400', 9401);
      await stepUntil('the controller holds the token', async () =>
        (await awaiting(exceptionId))?.tier === 1 ? true : undefined,
      );
      await slaRunsOut(exceptionId);
      expect(await runToEnd(cloud, clock, execution)).toBe('SUCCEEDED');
      expect(fault.hits).toBe(5);
      expect(retriesOf(execution, 'EscalateToCreditManager')).toBe(4);
      expect(raiseFault.hits).toBe(1);
      expect(failuresOf(execution, 'RaiseOwnedStepException')).toEqual([THROTTLE]);
      expect(retriesOf(execution, 'RaiseOwnedStepException')).toBe(1);
      expect(execution.statesEntered).toEqual([
        ...EDI_HELD,
        'EscalateToCreditManager',
        'TagCreditReviewFailure',
        ...PARKED,
      ]);
      const [owned, ...more] = await stepFailuresOf(orderId);
      expect(more).toEqual([]);
      expect(raisedEventsOf(owned?.exceptionId)).toHaveLength(1);
      expect(owned).toMatchObject({
        ...STEP_FAILURE,
        stage: 'credit-hold',
        reasonCodes: ['STEP_FAILED:CreditReview'],
        recommendedAction:
          'Step CreditReview failed with Lambda.ServiceException: read the cause, then redrive.',
        context: { failedStep: 'CreditReview', error: 'Lambda.ServiceException' },
      });
      expect(await order(orderId)).toMatchObject({ stage: 'exception' });
      expect(await stagesOf(orderId)).toEqual(['received', 'accepted', 'credit-hold', 'exception']);
      expect(pathEventsAbout(orderId)).toEqual([
        'order.received.v1',
        'order.accepted.v1',
        'credit.hold.placed.v1',
        'exception.raised.v1',
        'exception.raised.v1',
      ]);
      // The manager was never asked, the retailer never answered: no escalation, no 855, no reservation.
      expect(await awaiting(exceptionId)).toMatchObject({ tier: 1 });
      expect(acknowledgmentsFor('PO-EDF-400')).toEqual([]);
      expect(reservationsOf(orderId)).toEqual([]);
    } finally {
      fault.clear();
      raiseFault.clear();
    }
  }, 120_000);

  it('PO-EDF-500 (the fallback fails past its retries): TagCreditReviewFailure, parked; a DynamoDB throttle on the first raise is retried by the catch-all rule', async () => {
    const orderId = 'EDI-C-7007-PO-EDF-500';
    const fault = cloud.lambda.injectFault({
      logicalId: 'HumanDecisionTaskFunction',
      when: forOrder(orderId, { action: 'fallback' }),
      errorType: 'Lambda.ServiceException',
      times: Number.POSITIVE_INFINITY,
    });
    // Not one of the errors the first Retry rule names: only the States.ALL rule retries it.
    const raiseFault = cloud.lambda.injectFault({
      logicalId: 'RaiseStepExceptionFunction',
      when: forOrder(orderId),
      errorType: 'ProvisionedThroughputExceededException',
      times: 1,
    });
    try {
      const { exceptionId, execution } = await heldEdiOrder('PO-EDF-500', 9501);
      await stepUntil('the controller holds the token', async () =>
        (await awaiting(exceptionId))?.tier === 1 ? true : undefined,
      );
      await slaRunsOut(exceptionId);
      await stepUntil('the credit manager holds the token', async () =>
        (await awaiting(exceptionId))?.tier === 2 ? true : undefined,
      );
      await slaRunsOut(exceptionId);
      expect(await runToEnd(cloud, clock, execution)).toBe('SUCCEEDED');
      expect(fault.hits).toBe(5);
      expect(retriesOf(execution, 'ApplyCreditReviewFallback')).toBe(4);
      expect(raiseFault.hits).toBe(1);
      expect(failuresOf(execution, 'RaiseOwnedStepException')).toEqual([
        'ProvisionedThroughputExceededException',
      ]);
      expect(retriesOf(execution, 'RaiseOwnedStepException')).toBe(1);
      expect(execution.statesEntered).toEqual([
        ...EDI_HELD,
        'EscalateToCreditManager',
        'ApplyCreditReviewFallback',
        'TagCreditReviewFailure',
        ...PARKED,
      ]);
      const [owned, ...more] = await stepFailuresOf(orderId);
      expect(more).toEqual([]);
      expect(raisedEventsOf(owned?.exceptionId)).toHaveLength(1);
      expect(owned).toMatchObject({
        ...STEP_FAILURE,
        stage: 'credit-hold',
        reasonCodes: ['STEP_FAILED:CreditReview'],
        recommendedAction:
          'Step CreditReview failed with Lambda.ServiceException: read the cause, then redrive.',
        context: { failedStep: 'CreditReview', error: 'Lambda.ServiceException' },
      });
      expect(await stagesOf(orderId)).toEqual(['received', 'accepted', 'credit-hold', 'exception']);
      expect(pathEventsAbout(orderId).filter((t) => t === 'exception.raised.v1')).toHaveLength(2);
      // The fallback never decided: the hold is unresolved, the order not rejected, the retailer not told.
      expect((await exception(exceptionId))?.resolution).toBeUndefined();
      expect(pathEventsAbout(orderId)).not.toContain('order.rejected.v1');
      expect(acknowledgmentsFor('PO-EDF-500')).toEqual([]);
      expect(reservationsOf(orderId)).toEqual([]);
    } finally {
      fault.clear();
      raiseFault.clear();
    }
  }, 120_000);
});
