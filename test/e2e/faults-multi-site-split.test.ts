import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../local/clock/clock.ts';
import type { LocalCloud } from '../../local/cloud.ts';
import { sampleOrders } from '../../local/demo/sample-orders.ts';
import type { InjectedFault, InvocationFault } from '../../local/lambda/runtime.ts';
import type { PartnerSandbox } from '../../local/partners/sandbox.ts';
import { SEED_FACILITIES } from '../../local/partners/seed.ts';
import type { LocalExecution } from '../../local/stepfunctions/sfn-service.ts';
import { failuresOf, forOrder, quiet, retriesOf, runToEnd, THROTTLE } from '../support/faults.ts';
import { queueNamed, startTestCloud, type TestCloud, until } from '../support/test-cloud.ts';

/**
 * The multi-site split path's Retry, Catch and Choice branches that the happy-path test does not take, one
 * named golden order each, on the real synthesized stack. Faults are injected where AWS would put them: a
 * Lambda invocation error before the handler runs (like FIS), or a partner outage in the sandbox (503s the
 * partner client gives up on, so the step fails with PartnerUnavailable). A virtual clock runs the Retry
 * intervals, the credit SLAs and the release window.
 */
const DAY = 86_400_000;
// Mid-afternoon: after the credit ladders' hours the future-dated order's window (next midnight) is close.
const clock = new VirtualClock(new Date('2026-11-23T14:00:00.000Z'));
let world: TestCloud;
let cloud: LocalCloud;
let sandbox: PartnerSandbox;

beforeAll(async () => {
  world = await startTestCloud({ clock });
  ({ cloud, sandbox } = world);
}, 60_000);

afterAll(async () => {
  await world?.stop();
});

const injected: InjectedFault[] = [];
/** A Lambda invocation fault, cleared after the test whatever happens. */
function inject(fault: InvocationFault): InjectedFault {
  const handle = cloud.lambda.injectFault(fault);
  injected.push(handle);
  return handle;
}

// Each golden order starts from the seeded stock, with no fault left over from the previous one.
beforeEach(() => {
  sandbox.facilities = SEED_FACILITIES.map((f) => ({ ...f, inventory: f.inventory.map((i) => ({ ...i })) }));
});

afterEach(() => {
  for (const fault of injected.splice(0)) fault.clear();
  sandbox.failNext.clear();
});

// ------------------------------------------------------------------------------------------------------
// Reading the world: the tables, the bus archive and the partner sandbox
// ------------------------------------------------------------------------------------------------------

const tableNamed = (prefix: string) =>
  cloud.tables.find((t) => t.resource.logicalId.startsWith(prefix))?.name ?? '';

type Item = Record<string, unknown>;

async function order(orderId: string): Promise<Item> {
  const { Item } = await cloud.dynamodb.documents.send(
    new GetCommand({ TableName: tableNamed('OrdersTable'), Key: { pk: orderId, sk: 'ORDER' } }),
  );
  if (!Item) throw new Error(`no order ${orderId}`);
  return Item;
}

async function exception(exceptionId: string): Promise<Item | undefined> {
  const { Item } = await cloud.dynamodb.documents.send(
    new GetCommand({ TableName: tableNamed('ExceptionsTable'), Key: { pk: exceptionId } }),
  );
  return Item;
}

/** The exceptions recorded on the order, read from the Exceptions table. */
async function exceptionsOf(orderId: string): Promise<Item[]> {
  const ids = ((await order(orderId)).exceptionIds as string[] | undefined) ?? [];
  const items = await Promise.all([...new Set(ids)].map(exception));
  return items.filter((i): i is Item => i !== undefined);
}

const stagesOf = (record: Item) => (record.stageHistory as { stage: string }[]).map((h) => h.stage);

const eventsAbout = (orderId: string) =>
  (cloud.events.archives[0]?.events ?? [])
    .filter((e) => (e.event.detail as { orderId?: string }).orderId === orderId)
    .map((e) => ({ type: e.event['detail-type'], detail: e.event.detail as Item }));

const typesAbout = (orderId: string) => eventsAbout(orderId).map((e) => e.type);

const reservationsOf = (orderId: string) =>
  sandbox.wms.reservations.filter((r) => r.orderReference === orderId);
const warehouseOrdersOf = (orderId: string) =>
  sandbox.wms.warehouseOrders.filter((o) => o.orderReference === orderId);
const wmsCalls = (path: string, orderId: string) =>
  sandbox.calls.filter(
    (c) => c.method === 'POST' && c.path === path && c.idempotencyKey?.startsWith(orderId),
  );

const functionNamed = (prefix: string) =>
  [...cloud.lambda.functions.values()].find((f) => f.resource.logicalId.startsWith(prefix))?.name ?? '';

/** A person's decision through the DecideException function, as the ops console sends it. */
const decide = (exceptionId: string, outcome: 'release' | 'reject', decidedBy: string, reason: string) =>
  cloud.lambda.invoke(functionNamed('DecideException'), { exceptionId, outcome, decidedBy, reason });

// ------------------------------------------------------------------------------------------------------
// Golden orders
// ------------------------------------------------------------------------------------------------------

/** The order id the ERP ingress gives the split sample of a run. */
const idOf = (runId: string) => `ERP-${runId}-10`;

/** Sends the split sample order (1,500 hangers for C-1001, more than any one facility holds), changed. */
async function send(runId: string, change: (body: Item) => void = () => {}) {
  const sample = sampleOrders(clock.now(), runId).find((o) => o.label.includes('split across facilities'));
  const body = structuredClone(sample?.body ?? {});
  change(body);
  await world.sqs.send(
    new SendMessageCommand({
      QueueUrl: queueNamed(cloud, 'ErpIngressQueue').url,
      MessageBody: JSON.stringify(body),
    }),
  );
  const orderId = `ERP-${String(body.SalesOrder)}`;
  const execution = await until(`the execution of ${orderId}`, () =>
    [...cloud.sfn.executions.values()].find((e) => e.name === orderId),
  );
  expect(execution.stateMachineArn).toContain('MultiSiteSplitPath');
  return { orderId, execution };
}

/**
 * C-3003, a key account close to its credit limit: 1,100 hangers need a split and, too large for any
 * auto-approve band, go to finance first (controller 60 minutes, then manager 30).
 */
async function sendHeld(runId: string) {
  const sent = await send(runId, (body) => {
    body.SoldToParty = 'C-3003';
    body.CustomerGroup = 'KEY';
    body.Segment = 'ENT';
    body.Items = [{ ...(body.Items as Item[])[0], Quantity: '1100' }];
  });
  return { ...sent, exceptionId: `EXC-${sent.orderId}-CREDIT` };
}

const awaitingTier = async (exceptionId: string) =>
  ((await exception(exceptionId))?.awaiting as { tier?: number } | undefined)?.tier;

/**
 * Steps the virtual clock one timer at a time (once nothing is in flight) until `probe` answers: a
 * Retry interval, then an SLA, without overshooting the moment a test wants to act in.
 */
async function stepUntil<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  for (let step = 0; step < 5_000; step++) {
    await quiet(cloud);
    const value = await probe();
    if (value !== undefined) return value;
    const next = clock.nextWakeUp();
    if (next === undefined) throw new Error(`no timer pending while waiting for ${what}`);
    await clock.advanceTo(next);
  }
  throw new Error(`gave up stepping the clock for ${what}`);
}

// ------------------------------------------------------------------------------------------------------
// Outcomes every branch ends in
// ------------------------------------------------------------------------------------------------------

/** The main route's end: both facilities reserved and released exactly once, each announced once. */
async function expectHandedToWarehouse(orderId: string, execution: LocalExecution) {
  expect(execution.status).toBe('SUCCEEDED');
  expect(execution.statesEntered.at(-1)).toBe('HandedToWarehouse');
  const record = await order(orderId);
  expect(record.stage).toBe('released');
  const shipments = (record.allocation as { shipments: { siteId: string; reservationId: string }[] })
    .shipments;
  expect(shipments.map((s) => s.siteId)).toEqual(['DC-EAST', 'DC-CENTRAL']);

  const reservations = reservationsOf(orderId);
  expect(reservations.map((r) => r.facilityCode).sort()).toEqual(['DC-CENTRAL', 'DC-EAST']);
  expect(shipments.map((s) => s.reservationId).sort()).toEqual(
    reservations.map((r) => r.reservationNumber).sort(),
  );
  expect(
    warehouseOrdersOf(orderId)
      .map((o) => o.facilityCode)
      .sort(),
  ).toEqual(['DC-CENTRAL', 'DC-EAST']);

  await until('the releases are announced', () =>
    typesAbout(orderId).filter((t) => t === 'warehouse.released.v1').length === 2 ? true : undefined,
  );
  await quiet(cloud);
  const events = eventsAbout(orderId);
  const bySite = (type: string) =>
    events
      .filter((e) => e.type === type)
      .map((e) => e.detail.siteId)
      .sort();
  expect(bySite('allocation.confirmed.v1')).toEqual(['DC-CENTRAL', 'DC-EAST']);
  expect(bySite('warehouse.released.v1')).toEqual(['DC-CENTRAL', 'DC-EAST']);
  // No step failure became an exception (a credit hold's own finance exception is not one).
  expect(events.filter((e) => e.type === 'exception.raised.v1').map((e) => e.detail.ownerTeam)).not.toContain(
    'integration',
  );
  expect(stagesOf(record)).not.toContain('exception');
  return record;
}

/**
 * A Catch's end: the failure became one integration-owned exception (RaiseOwnedStepException, then
 * ParkedAsOwnedException), the order is at `exception`, and exception.raised went out once.
 */
async function expectParked(
  orderId: string,
  execution: LocalExecution,
  expected: { tag: string; failedStep: string; error: string; recommendedAction: string },
) {
  expect(execution.status).toBe('SUCCEEDED');
  expect(execution.statesEntered.slice(-3)).toEqual([
    expected.tag,
    'RaiseOwnedStepException',
    'ParkedAsOwnedException',
  ]);
  const record = await order(orderId);
  expect(record.stage).toBe('exception');
  expect(record.stageHistory as { reasonCodes: string[] }[]).toContainEqual(
    expect.objectContaining({ stage: 'exception', reasonCodes: [`STEP_FAILED:${expected.failedStep}`] }),
  );

  const owned = (await exceptionsOf(orderId)).filter((e) => e.type === 'integration-failure');
  expect(owned).toHaveLength(1);
  const [raised] = owned;
  expect(raised).toMatchObject({
    ownerTeam: 'integration',
    priority: 'high',
    state: 'open',
    reasonCodes: [`STEP_FAILED:${expected.failedStep}`],
    context: { failedStep: expected.failedStep, error: expected.error },
    recommendedAction: expected.recommendedAction,
  });

  await until('exception.raised is on the bus', () =>
    eventsAbout(orderId).some((e) => e.type === 'exception.raised.v1' && e.detail.ownerTeam === 'integration')
      ? true
      : undefined,
  );
  await quiet(cloud);
  const announced = eventsAbout(orderId).filter(
    (e) => e.type === 'exception.raised.v1' && e.detail.ownerTeam === 'integration',
  );
  expect(announced).toHaveLength(1);
  expect(announced[0]?.detail).toMatchObject({
    exceptionId: raised?.exceptionId,
    type: 'integration-failure',
    reasonCodes: [`STEP_FAILED:${expected.failedStep}`],
  });
  return record;
}

const UNAVAILABLE_ACTION =
  'The partner system did not answer after retries: check its status, then redrive the order.';
const throttledAction = (step: string) =>
  `Step ${step} failed with ${THROTTLE}: read the cause, then redrive.`;

// ------------------------------------------------------------------------------------------------------

describe('multi-site split path: credit check', () => {
  it('SP-CREDIT-ERP-OUTAGE: retries the credit check through an ERP outage and splits the order once', async () => {
    // The ERP's credit API answers 503 to all three attempts of the first check: PartnerUnavailable.
    const route = 'GET /erp/customers/C-1001/credit-segment';
    sandbox.failNext.set(route, 3);
    const { orderId, execution } = await send('SP-CREDIT-ERP-OUTAGE');
    expect(await runToEnd(cloud, clock, execution)).toBe('SUCCEEDED');

    expect(sandbox.failNext.get(route)).toBe(0);
    expect(failuresOf(execution, 'CheckCreditAgainstLimitAndExposure')).toEqual(['PartnerUnavailable']);
    expect(retriesOf(execution, 'CheckCreditAgainstLimitAndExposure')).toBe(1);
    const record = await expectHandedToWarehouse(orderId, execution);
    expect(record.credit).toMatchObject({ decision: 'approved' });
    expect(stagesOf(record)).toEqual(['received', 'accepted', 'credit-approved', 'allocated', 'released']);
  }, 120_000);

  it('SP-CREDIT-DOWN: parks the order as an integration exception when the credit check never answers', async () => {
    const creditCalls = () => sandbox.callsTo('GET', '/erp/customers/C-1001/credit-segment').length;
    const before = creditCalls();
    const orderId = idOf('SP-CREDIT-DOWN');
    const fault = inject({
      logicalId: 'CheckCreditFunction',
      when: forOrder(orderId),
      errorType: THROTTLE,
      times: Number.POSITIVE_INFINITY,
    });
    const { execution } = await send('SP-CREDIT-DOWN');
    expect(await runToEnd(cloud, clock, execution)).toBe('SUCCEEDED');

    expect(fault.hits).toBe(5);
    expect(retriesOf(execution, 'CheckCreditAgainstLimitAndExposure')).toBe(4);
    const record = await expectParked(orderId, execution, {
      tag: 'TagCreditCheckFailure',
      failedStep: 'CheckCreditAgainstLimitAndExposure',
      error: THROTTLE,
      recommendedAction: throttledAction('CheckCreditAgainstLimitAndExposure'),
    });
    // The check never ran: no credit read, no decision, nothing reserved.
    expect(creditCalls()).toBe(before);
    expect(record.credit).toBeUndefined();
    expect(stagesOf(record)).toEqual(['received', 'accepted', 'exception']);
    expect(reservationsOf(orderId)).toEqual([]);
  }, 120_000);

  it('SP-CLOSED-ACCOUNT: rejects a split order from a closed account at the credit check', async () => {
    const { orderId, execution } = await send('SP-CLOSED-ACCOUNT', (body) => {
      body.SoldToParty = 'C-5005';
    });
    expect(await runToEnd(cloud, clock, execution)).toBe('SUCCEEDED');
    expect(execution.statesEntered).toEqual([
      'CheckCreditAgainstLimitAndExposure',
      'RouteOnCreditDecision',
      'RejectedByCreditCheck',
    ]);
    const record = await order(orderId);
    expect(record.stage).toBe('rejected');
    expect(record.credit).toMatchObject({ decision: 'declined' });
    expect((record.credit as { reasonCodes: string[] }).reasonCodes).toContain('ACCOUNT_CLOSED');
    await until('the rejection is announced', () =>
      typesAbout(orderId).includes('order.rejected.v1') ? true : undefined,
    );
    const rejected = eventsAbout(orderId).find((e) => e.type === 'order.rejected.v1')?.detail;
    expect(rejected).toMatchObject({ stage: 'accepted' });
    expect(rejected?.reasonCodes).toContain('ACCOUNT_CLOSED');
    expect(typesAbout(orderId)).not.toContain('credit.hold.placed.v1');
    expect(reservationsOf(orderId)).toEqual([]);
    expect(wmsCalls('/wms/reservations', orderId)).toEqual([]);
  }, 120_000);
});

describe('multi-site split path: credit review (human decision)', () => {
  it('SP-REVIEW-THROTTLED: retries a throttled hand-over to the credit controller, who then releases', async () => {
    const orderId = idOf('SP-REVIEW-THROTTLED');
    const exceptionId = `EXC-${orderId}-CREDIT`;
    const fault = inject({
      logicalId: 'HumanDecisionTaskFunction',
      when: forOrder(orderId, { action: 'await', tier: 1 }),
      errorType: THROTTLE,
      times: 1,
    });
    const { execution } = await sendHeld('SP-REVIEW-THROTTLED');
    await stepUntil('the controller holds the task', async () =>
      (await awaitingTier(exceptionId)) === 1 ? true : undefined,
    );
    expect(fault.hits).toBe(1);
    expect(retriesOf(execution, 'AwaitCreditControllerDecision')).toBe(1);
    expect(await exception(exceptionId)).toMatchObject({
      ownerTeam: 'finance',
      awaiting: { tier: 1, role: 'credit-controller' },
    });

    await decide(exceptionId, 'release', 'jo.finance', 'Paid on account this morning.');
    expect(await runToEnd(cloud, clock, execution)).toBe('SUCCEEDED');
    expect(execution.statesEntered.slice(0, 6)).toEqual([
      'CheckCreditAgainstLimitAndExposure',
      'RouteOnCreditDecision',
      'AwaitCreditControllerDecision',
      'RouteOnCreditReview',
      'PlanSplitAcrossFacilities',
      'RouteOnSplitPlan',
    ]);
    const record = await expectHandedToWarehouse(orderId, execution);
    expect(record.credit).toMatchObject({
      decision: 'approved',
      review: { decidedBy: 'jo.finance', tier: 1 },
    });
    // One hand-over, one decision: the retried task did not escalate or resolve twice.
    expect(typesAbout(orderId).filter((t) => t === 'credit.hold.released.v1')).toHaveLength(1);
    expect(typesAbout(orderId)).not.toContain('exception.escalated.v1');
  }, 120_000);

  it('SP-REVIEW-DOWN: parks the order when the decision task cannot reach the controller', async () => {
    const orderId = idOf('SP-REVIEW-DOWN');
    const exceptionId = `EXC-${orderId}-CREDIT`;
    const fault = inject({
      logicalId: 'HumanDecisionTaskFunction',
      when: forOrder(orderId, { action: 'await', tier: 1 }),
      errorType: THROTTLE,
      times: Number.POSITIVE_INFINITY,
    });
    const { execution } = await sendHeld('SP-REVIEW-DOWN');
    expect(await runToEnd(cloud, clock, execution)).toBe('SUCCEEDED');

    expect(fault.hits).toBe(5);
    expect(retriesOf(execution, 'AwaitCreditControllerDecision')).toBe(4);
    expect(execution.statesEntered).not.toContain('EscalateToCreditManager');
    const record = await expectParked(orderId, execution, {
      tag: 'TagCreditReviewFailure',
      failedStep: 'CreditReview',
      error: THROTTLE,
      recommendedAction: throttledAction('CreditReview'),
    });
    expect(stagesOf(record)).toEqual(['received', 'accepted', 'credit-hold', 'exception']);
    // Finance's hold is still open and nobody holds its task: nothing was decided, nothing reserved.
    const hold = await exception(exceptionId);
    expect(hold).toMatchObject({ type: 'credit-hold', ownerTeam: 'finance', state: 'open' });
    expect(hold?.awaiting).toBeUndefined();
    expect(hold?.resolution).toBeUndefined();
    expect(reservationsOf(orderId)).toEqual([]);
  }, 120_000);

  it('SP-CONTROLLER-SLA: escalates to the credit manager when the controller SLA runs out, and ships on release', async () => {
    const { orderId, exceptionId, execution } = await sendHeld('SP-CONTROLLER-SLA');
    await stepUntil('the manager holds the task', async () =>
      (await awaitingTier(exceptionId)) === 2 ? true : undefined,
    );
    expect(failuresOf(execution, 'AwaitCreditControllerDecision')).toEqual(['States.Timeout']);
    expect(await exception(exceptionId)).toMatchObject({
      ownerTeam: 'finance',
      awaiting: { tier: 2, role: 'credit-manager' },
    });
    await until('exception.escalated is on the bus', () =>
      typesAbout(orderId).includes('exception.escalated.v1') ? true : undefined,
    );

    await decide(exceptionId, 'release', 'pat.creditmanager', 'Seasonal uplift agreed in October.');
    expect(await runToEnd(cloud, clock, execution)).toBe('SUCCEEDED');
    expect(execution.statesEntered.slice(2, 5)).toEqual([
      'AwaitCreditControllerDecision',
      'EscalateToCreditManager',
      'RouteOnCreditReview',
    ]);
    const record = await expectHandedToWarehouse(orderId, execution);
    expect(record.credit).toMatchObject({ review: { decidedBy: 'pat.creditmanager', tier: 2 } });
  }, 120_000);

  it('SP-MANAGER-THROTTLED: retries a throttled escalation to the credit manager, who then releases', async () => {
    const orderId = idOf('SP-MANAGER-THROTTLED');
    const exceptionId = `EXC-${orderId}-CREDIT`;
    const fault = inject({
      logicalId: 'HumanDecisionTaskFunction',
      when: forOrder(orderId, { action: 'await', tier: 2 }),
      errorType: THROTTLE,
      times: 1,
    });
    const { execution } = await sendHeld('SP-MANAGER-THROTTLED');
    await stepUntil('the manager holds the task', async () =>
      (await awaitingTier(exceptionId)) === 2 ? true : undefined,
    );
    expect(fault.hits).toBe(1);
    expect(retriesOf(execution, 'EscalateToCreditManager')).toBe(1);

    await decide(exceptionId, 'release', 'pat.creditmanager', 'Seasonal uplift agreed in October.');
    expect(await runToEnd(cloud, clock, execution)).toBe('SUCCEEDED');
    const record = await expectHandedToWarehouse(orderId, execution);
    expect(record.credit).toMatchObject({ review: { decidedBy: 'pat.creditmanager', tier: 2 } });
    // Escalated once, released once, although the escalation ran twice.
    expect(typesAbout(orderId).filter((t) => t === 'exception.escalated.v1')).toHaveLength(1);
    expect(typesAbout(orderId).filter((t) => t === 'credit.hold.released.v1')).toHaveLength(1);
  }, 120_000);

  it('SP-MANAGER-DOWN: parks the order when the escalation to the credit manager keeps failing', async () => {
    const orderId = idOf('SP-MANAGER-DOWN');
    const exceptionId = `EXC-${orderId}-CREDIT`;
    const fault = inject({
      logicalId: 'HumanDecisionTaskFunction',
      when: forOrder(orderId, { action: 'await', tier: 2 }),
      errorType: THROTTLE,
      times: Number.POSITIVE_INFINITY,
    });
    const { execution } = await sendHeld('SP-MANAGER-DOWN');
    expect(await runToEnd(cloud, clock, execution)).toBe('SUCCEEDED');

    expect(fault.hits).toBe(5);
    expect(retriesOf(execution, 'EscalateToCreditManager')).toBe(4);
    expect(execution.statesEntered).not.toContain('ApplyCreditReviewFallback');
    const record = await expectParked(orderId, execution, {
      tag: 'TagCreditReviewFailure',
      failedStep: 'CreditReview',
      error: THROTTLE,
      recommendedAction: throttledAction('CreditReview'),
    });
    expect(stagesOf(record)).toEqual(['received', 'accepted', 'credit-hold', 'exception']);
    // The escalation never happened, and the hold is neither decided nor declined by the fallback.
    expect(typesAbout(orderId)).not.toContain('exception.escalated.v1');
    expect(typesAbout(orderId)).not.toContain('order.rejected.v1');
    expect((await exception(exceptionId))?.resolution).toBeUndefined();
    expect(reservationsOf(orderId)).toEqual([]);
  }, 120_000);

  it('SP-BOTH-SLAS: declines the order by policy when neither the controller nor the manager decides', async () => {
    const { orderId, exceptionId, execution } = await sendHeld('SP-BOTH-SLAS');
    expect(await runToEnd(cloud, clock, execution)).toBe('SUCCEEDED');
    expect(failuresOf(execution, 'AwaitCreditControllerDecision')).toEqual(['States.Timeout']);
    expect(failuresOf(execution, 'EscalateToCreditManager')).toEqual(['States.Timeout']);
    expect(execution.statesEntered.slice(-4)).toEqual([
      'EscalateToCreditManager',
      'ApplyCreditReviewFallback',
      'RouteOnCreditReview',
      'RejectedAfterCreditReview',
    ]);
    const record = await order(orderId);
    expect(record.stage).toBe('rejected');
    expect((record.stageHistory as { reasonCodes: string[] }[]).at(-1)?.reasonCodes).toEqual([
      'CREDIT_REVIEW_UNANSWERED',
    ]);
    expect(await exception(exceptionId)).toMatchObject({
      state: 'resolved',
      resolution: { outcome: 'reject', decidedBy: 'handoff:sla-fallback', tier: 0 },
    });
    await until('the rejection is announced', () =>
      typesAbout(orderId).includes('order.rejected.v1') ? true : undefined,
    );
    expect(eventsAbout(orderId).find((e) => e.type === 'order.rejected.v1')?.detail).toMatchObject({
      stage: 'credit-hold',
      reasonCodes: ['CREDIT_REVIEW_UNANSWERED'],
      exceptionId,
    });
    expect(execution.statesEntered).not.toContain('PlanSplitAcrossFacilities');
    expect(reservationsOf(orderId)).toEqual([]);
  }, 120_000);

  it('SP-FALLBACK-THROTTLED: retries a throttled SLA fallback and still declines the order once', async () => {
    const orderId = idOf('SP-FALLBACK-THROTTLED');
    const exceptionId = `EXC-${orderId}-CREDIT`;
    const fault = inject({
      logicalId: 'HumanDecisionTaskFunction',
      when: forOrder(orderId, { action: 'fallback' }),
      errorType: THROTTLE,
      times: 1,
    });
    const { execution } = await sendHeld('SP-FALLBACK-THROTTLED');
    expect(await runToEnd(cloud, clock, execution)).toBe('SUCCEEDED');
    expect(fault.hits).toBe(1);
    expect(retriesOf(execution, 'ApplyCreditReviewFallback')).toBe(1);
    expect(execution.statesEntered.at(-1)).toBe('RejectedAfterCreditReview');
    expect(await order(orderId)).toMatchObject({ stage: 'rejected' });
    expect(await exception(exceptionId)).toMatchObject({
      state: 'resolved',
      resolution: { outcome: 'reject', decidedBy: 'handoff:sla-fallback', tier: 0 },
    });
    await until('the rejection is announced', () =>
      typesAbout(orderId).includes('order.rejected.v1') ? true : undefined,
    );
    await quiet(cloud);
    expect(typesAbout(orderId).filter((t) => t === 'order.rejected.v1')).toHaveLength(1);
    expect(typesAbout(orderId).filter((t) => t === 'exception.resolved.v1')).toHaveLength(1);
    expect(reservationsOf(orderId)).toEqual([]);
  }, 120_000);

  it('SP-FALLBACK-DOWN: parks the order when the SLA fallback itself keeps failing', async () => {
    const orderId = idOf('SP-FALLBACK-DOWN');
    const exceptionId = `EXC-${orderId}-CREDIT`;
    const fault = inject({
      logicalId: 'HumanDecisionTaskFunction',
      when: forOrder(orderId, { action: 'fallback' }),
      errorType: THROTTLE,
      times: Number.POSITIVE_INFINITY,
    });
    const { execution } = await sendHeld('SP-FALLBACK-DOWN');
    expect(await runToEnd(cloud, clock, execution)).toBe('SUCCEEDED');

    expect(fault.hits).toBe(5);
    expect(retriesOf(execution, 'ApplyCreditReviewFallback')).toBe(4);
    const record = await expectParked(orderId, execution, {
      tag: 'TagCreditReviewFailure',
      failedStep: 'CreditReview',
      error: THROTTLE,
      recommendedAction: throttledAction('CreditReview'),
    });
    expect(stagesOf(record)).toEqual(['received', 'accepted', 'credit-hold', 'exception']);
    // The fallback never decided: the hold is unresolved and the order was not declined.
    expect((await exception(exceptionId))?.resolution).toBeUndefined();
    expect(typesAbout(orderId)).not.toContain('order.rejected.v1');
    expect(reservationsOf(orderId)).toEqual([]);
  }, 120_000);
});

describe('multi-site split path: planning, reservations and confirmation', () => {
  it('SP-PLAN-THROTTLED: retries a throttled split plan and reserves each facility once', async () => {
    const orderId = idOf('SP-PLAN-THROTTLED');
    const fault = inject({
      logicalId: 'SplitAllocationFunction',
      when: forOrder(orderId, { action: 'plan' }),
      errorType: THROTTLE,
      times: 1,
    });
    const { execution } = await send('SP-PLAN-THROTTLED');
    expect(await runToEnd(cloud, clock, execution)).toBe('SUCCEEDED');
    expect(fault.hits).toBe(1);
    expect(retriesOf(execution, 'PlanSplitAcrossFacilities')).toBe(1);
    await expectHandedToWarehouse(orderId, execution);
    expect(wmsCalls('/wms/reservations', orderId)).toHaveLength(2);
  }, 120_000);

  it('SP-PLAN-DOWN: parks the order when planning keeps failing, and raises the exception once through a failed raise', async () => {
    const orderId = idOf('SP-PLAN-DOWN');
    const fault = inject({
      logicalId: 'SplitAllocationFunction',
      when: forOrder(orderId, { action: 'plan' }),
      errorType: 'PartnerUnavailable',
      errorMessage: 'wms: GET /availability answered 503',
      times: Number.POSITIVE_INFINITY,
    });
    // The exception step itself is throttled once: its own Retry (States.ALL) raises it after all.
    const raise = inject({
      logicalId: 'RaiseStepExceptionFunction',
      when: forOrder(orderId),
      errorType: THROTTLE,
      times: 1,
    });
    const { execution } = await send('SP-PLAN-DOWN');
    expect(await runToEnd(cloud, clock, execution)).toBe('SUCCEEDED');

    expect(fault.hits).toBe(5);
    expect(retriesOf(execution, 'PlanSplitAcrossFacilities')).toBe(4);
    expect(raise.hits).toBe(1);
    expect(retriesOf(execution, 'RaiseOwnedStepException')).toBe(1);
    const record = await expectParked(orderId, execution, {
      tag: 'TagPlanningFailure',
      failedStep: 'PlanSplitAcrossFacilities',
      error: 'PartnerUnavailable',
      recommendedAction: UNAVAILABLE_ACTION,
    });
    expect(stagesOf(record)).toEqual(['received', 'accepted', 'credit-approved', 'exception']);
    // Nothing was planned, reserved or backordered.
    expect(record.allocation).toBeUndefined();
    expect(wmsCalls('/wms/reservations', orderId)).toEqual([]);
    expect(typesAbout(orderId)).not.toContain('backorder.created.v1');
  }, 120_000);

  it('SP-WMS-RESERVE-OUTAGE: retries both facility reservations through a WMS outage and reserves each once', async () => {
    // Both Map iterations' first invocations get 503 on all three client attempts: PartnerUnavailable.
    const route = 'POST /wms/reservations';
    sandbox.failNext.set(route, 6);
    const { orderId, execution } = await send('SP-WMS-RESERVE-OUTAGE');
    expect(await runToEnd(cloud, clock, execution)).toBe('SUCCEEDED');

    expect(sandbox.failNext.get(route)).toBe(0);
    expect(failuresOf(execution, 'ReserveShipmentAtFacility')).toEqual([
      'PartnerUnavailable',
      'PartnerUnavailable',
    ]);
    expect(retriesOf(execution, 'ReserveShipmentAtFacility')).toBe(2);
    await expectHandedToWarehouse(orderId, execution);
    // Six refused attempts, then one accepted reservation per facility, each under its own key.
    const calls = wmsCalls('/wms/reservations', orderId);
    expect(calls).toHaveLength(8);
    expect([...new Set(calls.map((c) => c.idempotencyKey))].sort()).toEqual([
      `${orderId}:allocation:DC-CENTRAL`,
      `${orderId}:allocation:DC-EAST`,
    ]);
    expect(reservationsOf(orderId)).toHaveLength(2);
  }, 120_000);

  it('SP-CONFIRM-THROTTLED: retries a throttled confirmation and announces each facility once', async () => {
    const orderId = idOf('SP-CONFIRM-THROTTLED');
    const fault = inject({
      logicalId: 'SplitAllocationFunction',
      when: forOrder(orderId, { action: 'confirm' }),
      errorType: THROTTLE,
      times: 1,
    });
    const { execution } = await send('SP-CONFIRM-THROTTLED');
    expect(await runToEnd(cloud, clock, execution)).toBe('SUCCEEDED');
    expect(fault.hits).toBe(1);
    expect(retriesOf(execution, 'ConfirmSplitAllocation')).toBe(1);
    const record = await expectHandedToWarehouse(orderId, execution);
    expect(stagesOf(record)).toEqual(['received', 'accepted', 'credit-approved', 'allocated', 'released']);
  }, 120_000);

  it('SP-CONFIRM-DOWN: parks the order when the reserved split cannot be confirmed', async () => {
    const orderId = idOf('SP-CONFIRM-DOWN');
    const fault = inject({
      logicalId: 'SplitAllocationFunction',
      when: forOrder(orderId, { action: 'confirm' }),
      errorType: THROTTLE,
      times: Number.POSITIVE_INFINITY,
    });
    const { execution } = await send('SP-CONFIRM-DOWN');
    expect(await runToEnd(cloud, clock, execution)).toBe('SUCCEEDED');

    expect(fault.hits).toBe(5);
    expect(retriesOf(execution, 'ConfirmSplitAllocation')).toBe(4);
    const record = await expectParked(orderId, execution, {
      tag: 'TagReservationFailure',
      failedStep: 'ReserveAtEachFacility',
      error: THROTTLE,
      recommendedAction: throttledAction('ReserveAtEachFacility'),
    });
    expect(stagesOf(record)).toEqual(['received', 'accepted', 'credit-approved', 'exception']);
    // The confirmation never happened: no allocation on the order, none announced, nothing released.
    expect(record.allocation).toBeUndefined();
    expect(typesAbout(orderId)).not.toContain('allocation.confirmed.v1');
    expect(wmsCalls('/wms/releases', orderId)).toEqual([]);
  }, 120_000);
});

describe('multi-site split path: warehouse release', () => {
  it('SP-WMS-RELEASE-OUTAGE: retries the release through a WMS outage and releases each facility once', async () => {
    // The first facility's release gets 503 on all three client attempts: PartnerUnavailable.
    const route = 'POST /wms/releases';
    sandbox.failNext.set(route, 3);
    const { orderId, execution } = await send('SP-WMS-RELEASE-OUTAGE');
    expect(await runToEnd(cloud, clock, execution)).toBe('SUCCEEDED');

    expect(sandbox.failNext.get(route)).toBe(0);
    expect(failuresOf(execution, 'DecideWarehouseRelease')).toEqual(['PartnerUnavailable']);
    expect(retriesOf(execution, 'DecideWarehouseRelease')).toBe(1);
    await expectHandedToWarehouse(orderId, execution);
    expect(wmsCalls('/wms/releases', orderId)).toHaveLength(5);
    expect(warehouseOrdersOf(orderId)).toHaveLength(2);
  }, 120_000);

  it('SP-RELEASE-DOWN: parks the allocated order when the release step keeps failing', async () => {
    const orderId = idOf('SP-RELEASE-DOWN');
    const fault = inject({
      logicalId: 'ReleaseToWarehouseFunction',
      when: forOrder(orderId),
      errorType: THROTTLE,
      times: Number.POSITIVE_INFINITY,
    });
    const { execution } = await send('SP-RELEASE-DOWN');
    expect(await runToEnd(cloud, clock, execution)).toBe('SUCCEEDED');

    expect(fault.hits).toBe(5);
    expect(retriesOf(execution, 'DecideWarehouseRelease')).toBe(4);
    const record = await expectParked(orderId, execution, {
      tag: 'TagReleaseFailure',
      failedStep: 'DecideWarehouseRelease',
      error: THROTTLE,
      recommendedAction: throttledAction('DecideWarehouseRelease'),
    });
    expect(stagesOf(record)).toEqual(['received', 'accepted', 'credit-approved', 'allocated', 'exception']);
    // Reserved and confirmed, never released.
    expect(reservationsOf(orderId)).toHaveLength(2);
    expect(wmsCalls('/wms/releases', orderId)).toEqual([]);
    expect(typesAbout(orderId)).not.toContain('warehouse.released.v1');
  }, 120_000);

  it('SP-FUTURE-DATED: waits for the release window of a split order promised in six days, then releases both', async () => {
    // Ships by the third day (standard transit is 3 days); its window opens two days before, at midnight UTC.
    const due = new Date(clock.now().getTime() + 6 * DAY).toISOString().slice(0, 10);
    const { orderId, execution } = await send('SP-FUTURE-DATED', (body) => {
      body.RequestedDeliveryDate = due.replaceAll('-', '');
    });
    await stepUntil('the order waits for its window', async () =>
      execution.statesEntered.includes('WaitForReleaseWindow') ? true : undefined,
    );
    const deferred = await order(orderId);
    expect(deferred.stage).toBe('release-deferred');
    expect((deferred.stageHistory as { reasonCodes: string[] }[]).at(-1)?.reasonCodes).toContain(
      'FUTURE_DATED_ORDER',
    );
    const releaseAt = (deferred.release as { releaseAt: string }).releaseAt;
    expect(wmsCalls('/wms/releases', orderId)).toEqual([]);

    expect(releaseAt).toBe(
      `${new Date(clock.now().getTime() + DAY).toISOString().slice(0, 10)}T00:00:00.000Z`,
    );
    expect(await runToEnd(cloud, clock, execution)).toBe('SUCCEEDED');
    expect(clock.now().getTime()).toBeGreaterThanOrEqual(new Date(releaseAt).getTime());
    expect(execution.statesEntered.slice(-6)).toEqual([
      'DecideWarehouseRelease',
      'RouteOnReleaseDecision',
      'WaitForReleaseWindow',
      'DecideWarehouseRelease',
      'RouteOnReleaseDecision',
      'HandedToWarehouse',
    ]);
    const record = await expectHandedToWarehouse(orderId, execution);
    expect(stagesOf(record)).toEqual([
      'received',
      'accepted',
      'credit-approved',
      'allocated',
      'release-deferred',
      'released',
    ]);
  }, 120_000);
});
