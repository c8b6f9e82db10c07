import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { GetCommand, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { toPutEventsEntry } from '../../contracts/events.ts';
import { VirtualClock } from '../../local/clock/clock.ts';
import type { LocalCloud } from '../../local/cloud.ts';
import { sampleOrders } from '../../local/demo/sample-orders.ts';
import type { PartnerSandbox } from '../../local/partners/sandbox.ts';
import type { LocalExecution } from '../../local/stepfunctions/sfn-service.ts';
import { failuresOf, forOrder, quiet, retriesOf, runToEnd, THROTTLE } from '../support/faults.ts';
import { startTestCloud, TEST_CREDENTIALS, type TestCloud, until } from '../support/test-cloud.ts';

/**
 * The standard single-site path and the post-shipment workflow under faults, on the real synthesized stack
 * and a virtual clock: partner outages (ERP, WMS, CRM) and Lambda throttles injected before the handler
 * runs drive each Retry rule (the order then completes as on the main route, its side effects made once)
 * and each Catch (the order is parked as an integration-owned exception, the failed step's side effect not
 * made). One named golden order per branch.
 */
const START = new Date('2026-11-23T09:00:00.000Z');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const clock = new VirtualClock(START);
let world: TestCloud;
let cloud: LocalCloud;
let sandbox: PartnerSandbox;
let eventBridge: EventBridgeClient;
const injected: { clear(): void }[] = [];

beforeAll(async () => {
  world = await startTestCloud({ clock });
  ({ cloud, sandbox } = world);
  // Partner time is the cloud's time, so outage windows are on the virtual clock.
  sandbox.clock = clock;
  eventBridge = new EventBridgeClient({
    endpoint: cloud.endpoint,
    region: 'us-east-1',
    credentials: TEST_CREDENTIALS,
  });
});

afterEach(() => {
  for (const fault of injected.splice(0)) fault.clear();
  sandbox.faults.clear();
});

afterAll(async () => {
  eventBridge?.destroy();
  await world?.stop();
});

// ---------------------------------------------------------------------------------------------------
// Faults
// ---------------------------------------------------------------------------------------------------

function inject(fault: Parameters<LocalCloud['lambda']['injectFault']>[0]) {
  const handle = cloud.lambda.injectFault(fault);
  injected.push(handle);
  return handle;
}

/** A partner route down for maintenance from now (virtual time) until `restore()` brings it back. */
function outage(route: string) {
  const from = clock.now();
  sandbox.faults.set(route, { outages: [{ from, to: new Date(from.getTime() + DAY) }] });
  return { restore: () => sandbox.faults.delete(route) };
}

/** The post-shipment function's invocations for one order's step (`record` carries the event detail). */
const postShipmentStep =
  (orderId: string, action: 'record' | 'invoice' | 'notify' | 'close') =>
  (event: unknown): boolean => {
    const payload = (event ?? {}) as { action?: string; orderId?: string; detail?: { orderId?: string } };
    return payload.action === action && (payload.orderId ?? payload.detail?.orderId) === orderId;
  };

/**
 * Steps the virtual clock to each next timer once nothing is in flight, until `probe` answers. For a state
 * that must be reached before a later timer (a person's SLA) fires.
 */
async function stepUntil<T>(what: string, probe: () => Promise<T | undefined> | T | undefined): Promise<T> {
  for (let step = 0; step < 200; step++) {
    await quiet(cloud);
    const value = await probe();
    if (value !== undefined) return value;
    const next = clock.nextWakeUp();
    if (next === undefined) throw new Error(`no timer pending while waiting for ${what}`);
    await clock.advanceTo(next);
  }
  throw new Error(`timed out stepping the clock until ${what}`);
}

// ---------------------------------------------------------------------------------------------------
// Reading the cloud and the partners
// ---------------------------------------------------------------------------------------------------

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

async function stageOf(orderId: string): Promise<unknown> {
  return (await order(orderId))?.stage;
}

/** The order's shipment ledger items (`SHIPMENT#`, `INVOICE#`, `NOTIFICATION#`), by sort key. */
async function ledgerOf(orderId: string): Promise<string[]> {
  const { Items } = await cloud.dynamodb.documents.send(
    new QueryCommand({
      TableName: tableNamed('OrdersTable'),
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': orderId },
    }),
  );
  return (Items ?? []).map((i) => String(i.sk)).filter((sk) => sk !== 'ORDER');
}

async function exception(exceptionId: string): Promise<Record<string, unknown> | undefined> {
  const { Item } = await cloud.dynamodb.documents.send(
    new GetCommand({ TableName: tableNamed('ExceptionsTable'), Key: { pk: exceptionId } }),
  );
  return Item;
}

/** Every exception raised for the order (credit holds and integration failures alike). */
async function exceptionsOf(orderId: string): Promise<Record<string, unknown>[]> {
  const { Items } = await cloud.dynamodb.documents.send(
    new ScanCommand({
      TableName: tableNamed('ExceptionsTable'),
      FilterExpression: 'orderId = :o',
      ExpressionAttributeValues: { ':o': orderId },
    }),
  );
  return Items ?? [];
}

const eventsOf = (orderId: string) =>
  (cloud.events.archives[0]?.events ?? [])
    .map((e) => e.event)
    .filter((e) => (e.detail as { orderId?: string }).orderId === orderId);

/** The event names published about the order (without the `.v1`), in order. */
const namesOf = (orderId: string) => eventsOf(orderId).map((e) => e['detail-type'].replace(/\.v1$/, ''));

const count = (names: readonly string[], name: string) => names.filter((n) => n === name).length;

/** exception.raised events announcing this exception. */
const raisedEventsFor = (orderId: string, exceptionId: string) =>
  eventsOf(orderId).filter(
    (e) =>
      e['detail-type'] === 'exception.raised.v1' &&
      (e.detail as { exceptionId?: string }).exceptionId === exceptionId,
  );

const warehouseOrdersOf = (orderId: string) =>
  sandbox.wms.warehouseOrders.filter((w) => w.orderReference === orderId);

const erpInvoicesOf = (orderId: string) => sandbox.erp.invoices.filter((i) => i.orderId === orderId);

/** The distinct Idempotency-Keys of the invoice posts for the order (every attempt, answered or not). */
const invoiceKeysOf = (orderId: string) => [
  ...new Set(
    sandbox
      .callsTo('POST', '/erp/invoices')
      .filter((c) => JSON.stringify(c.body).includes(orderId))
      .map((c) => c.idempotencyKey),
  ),
];

const shippedMessagesTo = (orderId: string) =>
  sandbox.crm.messages.filter((m) => m.orderReference === orderId && m.templateId === 'order-shipped');

/** The owned exception the execution's RaiseOwnedStepException raised (its output carries the id). */
function raisedBy(execution: LocalExecution): string {
  const output = JSON.parse(execution.output ?? '{}') as { exception?: { exceptionId?: string } };
  const exceptionId = output.exception?.exceptionId;
  if (!exceptionId) throw new Error(`${execution.name} raised no exception: ${execution.output}`);
  return exceptionId;
}

// ---------------------------------------------------------------------------------------------------
// Golden orders
// ---------------------------------------------------------------------------------------------------

const WHOLESALE = 'wholesale order, credit and stock fine';
const NEAR_CREDIT_LIMIT = 'customer close to its credit limit';
const CLOSED_ACCOUNT = 'closed account';

/** Sends the sample ERP order with this label (dated on the virtual clock) to the ingress queue. */
async function sendOrder(label: string, runId: string): Promise<string> {
  const sample = sampleOrders(clock.now(), runId).find((o) => o.label === label);
  if (!sample) throw new Error(`no sample order ${label}`);
  const queue = [...cloud.sqs.queues.values()].find((q) =>
    q.resource.logicalId.startsWith('ErpIngressQueue'),
  );
  await world.sqs.send(
    new SendMessageCommand({ QueueUrl: queue?.url, MessageBody: JSON.stringify(sample.body) }),
  );
  return `ERP-${String(sample.body.SalesOrder)}`;
}

/** The standard path's execution for the order (named after it). */
const pathExecution = (orderId: string) =>
  until(`the path execution of ${orderId}`, () =>
    [...cloud.sfn.executions.values()].find(
      (e) => e.name === orderId && !e.stateMachineArn.includes('PostShipment'),
    ),
  );

/** The order near its credit limit, waiting on the credit controller (tier 1) with the token recorded. */
async function heldOrder(runId: string) {
  const orderId = await sendOrder(NEAR_CREDIT_LIMIT, runId);
  const exceptionId = `EXC-${orderId}-CREDIT`;
  const execution = await pathExecution(orderId);
  await until('the credit controller holds the decision', async () =>
    (await exception(exceptionId))?.awaiting ? true : undefined,
  );
  // The hand-over's own invocation and events settle before anyone moves the clock.
  await quiet(cloud);
  return { orderId, exceptionId, execution };
}

const awaitingTier = async (exceptionId: string, tier: number) =>
  ((await exception(exceptionId))?.awaiting as { tier?: number } | undefined)?.tier === tier
    ? true
    : undefined;

async function decide(exceptionId: string, outcome: 'release' | 'reject', decidedBy: string) {
  return cloud.lambda.invoke(functionNamed('DecideException'), {
    exceptionId,
    outcome,
    decidedBy,
    reason: 'Reviewed the account: the order fits the agreed seasonal uplift.',
  });
}

/** The wholesale order (line 10: 40 WIDGET-100, line 20: 500 BOLT-M8) released to the warehouse. */
async function releasedOrder(runId: string): Promise<string> {
  const orderId = await sendOrder(WHOLESALE, runId);
  const execution = await pathExecution(orderId);
  expect(await runToEnd(cloud, clock, execution)).toBe('SUCCEEDED');
  expect(await stageOf(orderId)).toBe('released');
  return orderId;
}

const FULL_SHIPMENT = [
  { lineNo: 10, sku: 'WIDGET-100', quantity: 40 },
  { lineNo: 20, sku: 'BOLT-M8', quantity: 500 },
];

/** shipment.confirmed on the bus (what the carrier webhook publishes on pick-up), and its workflow run. */
async function shipped(
  orderId: string,
  lines: { lineNo: number; sku: string; quantity: number }[] = FULL_SHIPMENT,
): Promise<{ shipmentId: string; run: LocalExecution }> {
  const shipmentId = `${orderId}-S1`;
  const at = clock.now().toISOString();
  const busName =
    cloud.events.rules.find((r) => r.resource.logicalId.startsWith('ShipmentConfirmed'))?.busName ?? '';
  const entry = toPutEventsEntry(
    'shipment.confirmed',
    {
      schemaVersion: 1,
      orderId,
      correlationId: orderId,
      idempotencyKey: `${orderId}:shipment.confirmed:${shipmentId}`,
      occurredAt: at,
      shipmentId,
      siteId: 'DC-EAST',
      carrier: 'PCPT',
      trackingNumber: `1Z${shipmentId.replace(/[^A-Z0-9]/g, '')}`,
      shippedAt: at,
      lines,
      partial: false,
    },
    busName,
  );
  const result = await eventBridge.send(new PutEventsCommand({ Entries: [entry] }));
  expect(result.FailedEntryCount).toBe(0);
  const run = await until(`the post-shipment workflow for ${shipmentId}`, () =>
    [...cloud.sfn.executions.values()].find(
      (e) => e.stateMachineArn.includes('PostShipment') && e.input.includes(shipmentId),
    ),
  );
  return { shipmentId, run };
}

const PARKED = ['RaiseOwnedStepException', 'ParkedAsOwnedException'];

/** The post-shipment workflow's main route: recorded, invoiced, notified, closed. */
const CLOSED_ROUTE = [
  'RecordShipment',
  'InvoiceShipment',
  'NotifyCustomerOfShipment',
  'CloseOrderIfFullyInvoiced',
  'RouteOnInvoicingStatus',
  'OrderClosedFullyInvoiced',
];

// ---------------------------------------------------------------------------------------------------
// Standard single-site path
// ---------------------------------------------------------------------------------------------------

describe('standard single-site path: Retry and Catch under faults', () => {
  it('retries the credit check through an ERP credit-segment outage, then hands the order to the warehouse once', async () => {
    const erp = outage('GET /erp/customers');
    const orderId = await sendOrder(WHOLESALE, 'FSTD1');
    const execution = await pathExecution(orderId);
    await until('the credit check fails on the outage', () =>
      failuresOf(execution, 'CheckCreditAgainstLimitAndExposure').length > 0 ? true : undefined,
    );
    expect(await stageOf(orderId)).toBe('accepted');
    erp.restore();

    expect(await runToEnd(cloud, clock, execution)).toBe('SUCCEEDED');
    expect(failuresOf(execution, 'CheckCreditAgainstLimitAndExposure')).toEqual(['PartnerUnavailable']);
    expect(retriesOf(execution, 'CheckCreditAgainstLimitAndExposure')).toBe(1);
    expect(execution.statesEntered).toEqual([
      'CheckCreditAgainstLimitAndExposure',
      'RouteOnCreditDecision',
      'ReserveStockAtBestSingleSite',
      'RouteOnAllocation',
      'DecideWarehouseRelease',
      'RouteOnReleaseDecision',
      'HandedToWarehouse',
    ]);
    expect(await order(orderId)).toMatchObject({ stage: 'released', credit: { decision: 'approved' } });
    const names = namesOf(orderId);
    expect(count(names, 'warehouse.released')).toBe(1);
    expect(names).not.toContain('exception.raised');
    expect(warehouseOrdersOf(orderId)).toHaveLength(1);
    expect(await exceptionsOf(orderId)).toEqual([]);
  }, 120_000);

  it('retries the warehouse release through a WMS outage, and the WMS creates one warehouse order', async () => {
    const wms = outage('POST /wms/releases');
    const orderId = await sendOrder(WHOLESALE, 'FSTD2');
    const execution = await pathExecution(orderId);
    await until('the release fails on the outage', () =>
      failuresOf(execution, 'DecideWarehouseRelease').length > 0 ? true : undefined,
    );
    expect(await stageOf(orderId)).toBe('allocated');
    expect(warehouseOrdersOf(orderId)).toEqual([]);
    wms.restore();

    expect(await runToEnd(cloud, clock, execution)).toBe('SUCCEEDED');
    expect(failuresOf(execution, 'DecideWarehouseRelease')).toEqual(['PartnerUnavailable']);
    expect(retriesOf(execution, 'DecideWarehouseRelease')).toBe(1);
    expect(execution.statesEntered.at(-1)).toBe('HandedToWarehouse');
    expect(await stageOf(orderId)).toBe('released');
    expect(count(namesOf(orderId), 'warehouse.released')).toBe(1);
    expect(warehouseOrdersOf(orderId)).toHaveLength(1);
    // Every attempt, refused or not, carried the one release key.
    const keys = sandbox
      .callsTo('POST', '/wms/releases')
      .filter((c) => JSON.stringify(c.body).includes(orderId))
      .map((c) => c.idempotencyKey);
    expect(keys.length).toBeGreaterThan(1);
    expect(new Set(keys)).toEqual(new Set([`${orderId}:release`]));
  }, 120_000);

  it('retries handing the credit hold to the controller after a throttle, and ships once the controller releases', async () => {
    const orderId = 'ERP-FSTD3-3';
    const throttle = inject({
      logicalId: 'HumanDecisionTaskFunction',
      when: forOrder(orderId, { action: 'await', tier: 1 }),
      errorType: THROTTLE,
      times: 1,
    });
    expect(await sendOrder(NEAR_CREDIT_LIMIT, 'FSTD3')).toBe(orderId);
    const exceptionId = `EXC-${orderId}-CREDIT`;
    const execution = await pathExecution(orderId);
    await until('the throttled hand-over', () => (throttle.hits === 1 ? true : undefined));
    await stepUntil('the controller holds the decision', () => awaitingTier(exceptionId, 1));
    expect(await exception(exceptionId)).toMatchObject({
      ownerTeam: 'finance',
      awaiting: { tier: 1, role: 'credit-controller' },
    });

    expect(await decide(exceptionId, 'release', 'sam.creditcontroller')).toMatchObject({
      outcome: 'release',
      tier: 1,
      resumed: 'delivered',
    });
    expect(await runToEnd(cloud, clock, execution)).toBe('SUCCEEDED');
    expect(throttle.hits).toBe(1);
    expect(failuresOf(execution, 'AwaitCreditControllerDecision')).toEqual([THROTTLE]);
    expect(retriesOf(execution, 'AwaitCreditControllerDecision')).toBe(1);
    expect(execution.statesEntered).toEqual([
      'CheckCreditAgainstLimitAndExposure',
      'RouteOnCreditDecision',
      'AwaitCreditControllerDecision',
      'RouteOnCreditReview',
      'ReserveStockAtBestSingleSite',
      'RouteOnAllocation',
      'DecideWarehouseRelease',
      'RouteOnReleaseDecision',
      'HandedToWarehouse',
    ]);
    expect(await order(orderId)).toMatchObject({
      stage: 'released',
      credit: { decision: 'approved', review: { decidedBy: 'sam.creditcontroller', tier: 1 } },
    });
    const names = namesOf(orderId);
    expect(count(names, 'credit.hold.placed')).toBe(1);
    expect(count(names, 'credit.hold.released')).toBe(1);
    expect(count(names, 'warehouse.released')).toBe(1);
    expect(names).not.toContain('exception.escalated');
    expect(warehouseOrdersOf(orderId)).toHaveLength(1);
  }, 120_000);

  it('parks the order as an integration exception when the controller hand-over keeps failing, raising it once despite a failed first raise', async () => {
    const orderId = 'ERP-FSTD4-3';
    const throttle = inject({
      logicalId: 'HumanDecisionTaskFunction',
      when: forOrder(orderId, { action: 'await', tier: 1 }),
      errorType: THROTTLE,
      times: Number.POSITIVE_INFINITY,
    });
    const raiseThrottle = inject({
      logicalId: 'RaiseStepExceptionFunction',
      when: forOrder(orderId),
      errorType: THROTTLE,
      times: 1,
    });
    expect(await sendOrder(NEAR_CREDIT_LIMIT, 'FSTD4')).toBe(orderId);
    const execution = await pathExecution(orderId);

    expect(await runToEnd(cloud, clock, execution)).toBe('SUCCEEDED');
    throttle.clear();
    // One attempt and the rule's four retries, then the Catch.
    expect(throttle.hits).toBe(5);
    expect(failuresOf(execution, 'AwaitCreditControllerDecision')).toEqual(Array(5).fill(THROTTLE));
    expect(retriesOf(execution, 'AwaitCreditControllerDecision')).toBe(4);
    expect(execution.statesEntered.slice(2)).toEqual([
      'AwaitCreditControllerDecision',
      'TagCreditReviewFailure',
      ...PARKED,
    ]);
    // RaiseOwnedStepException's own Retry (States.ALL) absorbed the failed first raise.
    expect(raiseThrottle.hits).toBe(1);
    expect(failuresOf(execution, 'RaiseOwnedStepException')).toEqual([THROTTLE]);
    expect(retriesOf(execution, 'RaiseOwnedStepException')).toBe(1);

    const exceptionId = raisedBy(execution);
    expect(await exception(exceptionId)).toMatchObject({
      type: 'integration-failure',
      ownerTeam: 'integration',
      priority: 'high',
      state: 'open',
      stage: 'credit-hold',
      reasonCodes: ['STEP_FAILED:CreditReview'],
      recommendedAction: `Step CreditReview failed with ${THROTTLE}: read the cause, then redrive.`,
      context: { failedStep: 'CreditReview', error: THROTTLE, stageAtFailure: 'credit-hold' },
    });
    const integration = (await exceptionsOf(orderId)).filter((e) => e.type === 'integration-failure');
    expect(integration).toHaveLength(1);
    expect(raisedEventsFor(orderId, exceptionId)).toHaveLength(1);
    expect(await stageOf(orderId)).toBe('exception');
    // The hand-over never happened: nobody in finance holds a token, nothing was reserved or released.
    const hold = await exception(`EXC-${orderId}-CREDIT`);
    expect(hold?.awaiting).toBeUndefined();
    expect(hold?.resolution).toBeUndefined();
    const names = namesOf(orderId);
    expect(names).not.toContain('credit.hold.released');
    expect(names).not.toContain('warehouse.released');
    expect(warehouseOrdersOf(orderId)).toEqual([]);
    // A late finance decision on the stale hold is refused, naming where the order is; nothing changes.
    const late = await decide(`EXC-${orderId}-CREDIT`, 'release', 'sam.creditcontroller').catch(
      (error: unknown) => error,
    );
    expect(late).toMatchObject({ name: 'DecisionNotApplicable' });
    expect(String((late as Error).message)).toContain("is at stage 'exception'");
    expect((await exception(`EXC-${orderId}-CREDIT`))?.resolution).toBeUndefined();
    expect(namesOf(orderId)).toEqual(names);
    expect(await stageOf(orderId)).toBe('exception');
  }, 120_000);

  it('retries the escalation to the credit manager after a throttle, and ships once the manager releases', async () => {
    const { orderId, exceptionId, execution } = await heldOrder('FSTD5');
    const throttle = inject({
      logicalId: 'HumanDecisionTaskFunction',
      when: forOrder(orderId, { action: 'await', tier: 2 }),
      errorType: THROTTLE,
      times: 1,
    });
    await clock.advance(4 * HOUR);
    await stepUntil('the credit manager holds the decision', () => awaitingTier(exceptionId, 2));
    expect(throttle.hits).toBe(1);
    expect(await exception(exceptionId)).toMatchObject({
      priority: 'high',
      awaiting: { tier: 2, role: 'credit-manager' },
    });

    expect(await decide(exceptionId, 'release', 'pat.creditmanager')).toMatchObject({
      tier: 2,
      resumed: 'delivered',
    });
    expect(await runToEnd(cloud, clock, execution)).toBe('SUCCEEDED');
    expect(failuresOf(execution, 'AwaitCreditControllerDecision')).toEqual(['States.Timeout']);
    expect(failuresOf(execution, 'EscalateToCreditManager')).toEqual([THROTTLE]);
    expect(retriesOf(execution, 'EscalateToCreditManager')).toBe(1);
    expect(execution.statesEntered.slice(2)).toEqual([
      'AwaitCreditControllerDecision',
      'EscalateToCreditManager',
      'RouteOnCreditReview',
      'ReserveStockAtBestSingleSite',
      'RouteOnAllocation',
      'DecideWarehouseRelease',
      'RouteOnReleaseDecision',
      'HandedToWarehouse',
    ]);
    expect(await order(orderId)).toMatchObject({
      stage: 'released',
      credit: { review: { decidedBy: 'pat.creditmanager', tier: 2, outcome: 'release' } },
    });
    const names = namesOf(orderId);
    expect(count(names, 'exception.escalated')).toBe(1);
    expect(count(names, 'credit.hold.released')).toBe(1);
    expect(count(names, 'warehouse.released')).toBe(1);
    expect(warehouseOrdersOf(orderId)).toHaveLength(1);
  }, 120_000);

  it('parks the order as an integration exception when the escalation to the credit manager keeps failing', async () => {
    const { orderId, exceptionId: holdId, execution } = await heldOrder('FSTD6');
    const throttle = inject({
      logicalId: 'HumanDecisionTaskFunction',
      when: forOrder(orderId, { action: 'await', tier: 2 }),
      errorType: THROTTLE,
      times: Number.POSITIVE_INFINITY,
    });
    await clock.advance(4 * HOUR);
    expect(await runToEnd(cloud, clock, execution)).toBe('SUCCEEDED');
    throttle.clear();

    expect(throttle.hits).toBe(5);
    expect(failuresOf(execution, 'EscalateToCreditManager')).toEqual(Array(5).fill(THROTTLE));
    expect(retriesOf(execution, 'EscalateToCreditManager')).toBe(4);
    expect(execution.statesEntered.slice(2)).toEqual([
      'AwaitCreditControllerDecision',
      'EscalateToCreditManager',
      'TagCreditReviewFailure',
      ...PARKED,
    ]);
    const exceptionId = raisedBy(execution);
    expect(await exception(exceptionId)).toMatchObject({
      type: 'integration-failure',
      ownerTeam: 'integration',
      stage: 'credit-hold',
      reasonCodes: ['STEP_FAILED:CreditReview'],
      recommendedAction: `Step CreditReview failed with ${THROTTLE}: read the cause, then redrive.`,
    });
    expect(raisedEventsFor(orderId, exceptionId)).toHaveLength(1);
    expect(await stageOf(orderId)).toBe('exception');
    // The escalation never reached the manager: the hold is still the controller's, unannounced, undecided.
    const hold = await exception(holdId);
    expect(hold).toMatchObject({ awaiting: { tier: 1, role: 'credit-controller' } });
    expect(hold?.resolution).toBeUndefined();
    const names = namesOf(orderId);
    expect(names).not.toContain('exception.escalated');
    expect(names).not.toContain('warehouse.released');
    expect(warehouseOrdersOf(orderId)).toEqual([]);
  }, 120_000);

  it('retries the SLA fallback after a throttle, and declines the order by policy once', async () => {
    const { orderId, exceptionId, execution } = await heldOrder('FSTD7');
    await clock.advance(4 * HOUR);
    await stepUntil('the credit manager holds the decision', () => awaitingTier(exceptionId, 2));
    const throttle = inject({
      logicalId: 'HumanDecisionTaskFunction',
      when: forOrder(orderId, { action: 'fallback' }),
      errorType: THROTTLE,
      times: 1,
    });
    await clock.advance(2 * HOUR);
    expect(await runToEnd(cloud, clock, execution)).toBe('SUCCEEDED');

    expect(throttle.hits).toBe(1);
    expect(failuresOf(execution, 'ApplyCreditReviewFallback')).toEqual([THROTTLE]);
    expect(retriesOf(execution, 'ApplyCreditReviewFallback')).toBe(1);
    expect(execution.statesEntered.slice(-4)).toEqual([
      'EscalateToCreditManager',
      'ApplyCreditReviewFallback',
      'RouteOnCreditReview',
      'RejectedAfterCreditReview',
    ]);
    expect(await order(orderId)).toMatchObject({ stage: 'rejected', credit: { decision: 'declined' } });
    expect(await exception(exceptionId)).toMatchObject({
      state: 'resolved',
      resolution: { outcome: 'reject', decidedBy: 'handoff:sla-fallback', tier: 0 },
    });
    const names = namesOf(orderId);
    expect(count(names, 'order.rejected')).toBe(1);
    expect(count(names, 'exception.resolved')).toBe(1);
    expect(names).not.toContain('warehouse.released');
    expect(warehouseOrdersOf(orderId)).toEqual([]);
  }, 120_000);

  it('parks the order as an integration exception when the SLA fallback keeps failing, leaving the hold undecided', async () => {
    const { orderId, exceptionId: holdId, execution } = await heldOrder('FSTD8');
    await clock.advance(4 * HOUR);
    await stepUntil('the credit manager holds the decision', () => awaitingTier(holdId, 2));
    const throttle = inject({
      logicalId: 'HumanDecisionTaskFunction',
      when: forOrder(orderId, { action: 'fallback' }),
      errorType: THROTTLE,
      times: Number.POSITIVE_INFINITY,
    });
    await clock.advance(2 * HOUR);
    expect(await runToEnd(cloud, clock, execution)).toBe('SUCCEEDED');
    throttle.clear();

    expect(throttle.hits).toBe(5);
    expect(failuresOf(execution, 'ApplyCreditReviewFallback')).toEqual(Array(5).fill(THROTTLE));
    expect(retriesOf(execution, 'ApplyCreditReviewFallback')).toBe(4);
    expect(execution.statesEntered.slice(-5)).toEqual([
      'EscalateToCreditManager',
      'ApplyCreditReviewFallback',
      'TagCreditReviewFailure',
      ...PARKED,
    ]);
    const exceptionId = raisedBy(execution);
    expect(await exception(exceptionId)).toMatchObject({
      type: 'integration-failure',
      ownerTeam: 'integration',
      stage: 'credit-hold',
      reasonCodes: ['STEP_FAILED:CreditReview'],
      recommendedAction: `Step CreditReview failed with ${THROTTLE}: read the cause, then redrive.`,
    });
    expect(raisedEventsFor(orderId, exceptionId)).toHaveLength(1);
    expect(await stageOf(orderId)).toBe('exception');
    // The fallback decided nothing: the hold is unresolved and the order was not declined.
    expect((await exception(holdId))?.resolution).toBeUndefined();
    const names = namesOf(orderId);
    expect(names).not.toContain('order.rejected');
    expect(names).not.toContain('exception.resolved');
  }, 120_000);
});

// ---------------------------------------------------------------------------------------------------
// Post-shipment workflow (Express)
// ---------------------------------------------------------------------------------------------------

describe('post-shipment workflow: Retry and Catch under faults', () => {
  it('retries recording the shipment after a throttle, then invoices, notifies and closes once', async () => {
    const orderId = await releasedOrder('FPS1');
    const throttle = inject({
      logicalId: 'PostShipmentFunction',
      when: postShipmentStep(orderId, 'record'),
      errorType: THROTTLE,
      times: 1,
    });
    const { shipmentId, run } = await shipped(orderId);
    expect(await runToEnd(cloud, clock, run)).toBe('SUCCEEDED');

    expect(throttle.hits).toBe(1);
    expect(failuresOf(run, 'RecordShipment')).toEqual([THROTTLE]);
    expect(retriesOf(run, 'RecordShipment')).toBe(1);
    expect(run.statesEntered).toEqual(CLOSED_ROUTE);
    expect(await stageOf(orderId)).toBe('closed');
    const names = namesOf(orderId);
    expect(count(names, 'invoice.issued')).toBe(1);
    expect(count(names, 'order.closed')).toBe(1);
    expect(names).not.toContain('exception.raised');
    // Posted once, keyed by Handoff's invoice id (the ERP numbers its own document).
    expect(erpInvoicesOf(orderId)).toHaveLength(1);
    expect(invoiceKeysOf(orderId)).toEqual([`INV-${shipmentId}`]);
    expect(shippedMessagesTo(orderId)).toHaveLength(1);
    expect(await ledgerOf(orderId)).toEqual(
      expect.arrayContaining([`SHIPMENT#${shipmentId}`, `INVOICE#INV-${shipmentId}`]),
    );
  }, 120_000);

  it('parks a shipment confirmed for an order credit-rejected (never released) without recording or invoicing it', async () => {
    const orderId = await sendOrder(CLOSED_ACCOUNT, 'FPS2');
    const path = await pathExecution(orderId);
    expect(await runToEnd(cloud, clock, path)).toBe('SUCCEEDED');
    expect(path.statesEntered.at(-1)).toBe('RejectedByCreditCheck');
    expect(await stageOf(orderId)).toBe('rejected');

    const { run } = await shipped(orderId, [{ lineNo: 10, sku: 'BOLT-M8', quantity: 100 }]);
    expect(await runToEnd(cloud, clock, run)).toBe('SUCCEEDED');
    // Not a transient error: no retry, straight to the Catch.
    expect(failuresOf(run, 'RecordShipment')).toEqual(['IllegalStageTransition']);
    expect(retriesOf(run, 'RecordShipment')).toBe(0);
    expect(run.statesEntered).toEqual(['RecordShipment', 'TagRecordShipmentFailure', ...PARKED]);

    const exceptionId = raisedBy(run);
    expect(await exception(exceptionId)).toMatchObject({
      type: 'integration-failure',
      ownerTeam: 'integration',
      priority: 'high',
      state: 'open',
      stage: 'rejected',
      reasonCodes: ['STEP_FAILED:RecordShipment'],
      recommendedAction:
        'A step ran out of order (late or duplicated): check the order timeline before acting.',
      context: { failedStep: 'RecordShipment', error: 'IllegalStageTransition' },
    });
    expect(raisedEventsFor(orderId, exceptionId)).toHaveLength(1);
    // A rejected order cannot move to exception: it stays rejected, with the exception for a person.
    expect(await stageOf(orderId)).toBe('rejected');
    expect(await ledgerOf(orderId)).toEqual([]);
    expect(namesOf(orderId)).not.toContain('invoice.issued');
    expect(erpInvoicesOf(orderId)).toEqual([]);
    expect(shippedMessagesTo(orderId)).toEqual([]);
  }, 120_000);

  it('ships, invoices and closes an order parked by a failed release once the warehouse confirms its shipment, resolving the release failure', async () => {
    // The WMS does not answer the release through every retry (on AWS: its answer lost after it committed,
    // or the release reaching it late); the order is parked.
    const wms = outage('POST /wms/releases');
    const orderId = await sendOrder(WHOLESALE, 'FPS8');
    const path = await pathExecution(orderId);
    expect(await runToEnd(cloud, clock, path)).toBe('SUCCEEDED');
    wms.restore();
    expect(path.statesEntered.slice(-2)).toEqual(PARKED);
    expect(await stageOf(orderId)).toBe('exception');
    const releaseFailure = raisedBy(path);
    expect(await exception(releaseFailure)).toMatchObject({
      state: 'open',
      stage: 'allocated',
      reasonCodes: ['STEP_FAILED:DecideWarehouseRelease'],
    });

    // The warehouse confirms a shipment: the proof the release got there after all.
    const { shipmentId, run } = await shipped(orderId);
    expect(await runToEnd(cloud, clock, run)).toBe('SUCCEEDED');

    expect(run.statesEntered).toEqual(CLOSED_ROUTE);
    expect(await stageOf(orderId)).toBe('closed');
    expect(await exception(releaseFailure)).toMatchObject({
      state: 'resolved',
      resolution: {
        closedAs: 'resolved',
        decidedBy: 'handoff:shipment-confirmation',
        reason: `the warehouse confirmed shipment ${shipmentId}: the release had reached it`,
      },
    });
    const names = namesOf(orderId);
    expect(count(names, 'exception.resolved')).toBe(1);
    expect(count(names, 'invoice.issued')).toBe(1);
    expect(erpInvoicesOf(orderId)).toHaveLength(1);
    expect(shippedMessagesTo(orderId)).toHaveLength(1);
  }, 120_000);

  it('retries the shipping notice through a CRM outage, and the customer gets one message', async () => {
    const orderId = await releasedOrder('FPS3');
    const crm = outage('POST /crm/notifications');
    const { shipmentId, run } = await shipped(orderId);
    await until('the notice fails on the outage', () =>
      failuresOf(run, 'NotifyCustomerOfShipment').length > 0 ? true : undefined,
    );
    expect(shippedMessagesTo(orderId)).toEqual([]);
    crm.restore();

    expect(await runToEnd(cloud, clock, run)).toBe('SUCCEEDED');
    expect(failuresOf(run, 'NotifyCustomerOfShipment')).toEqual(['PartnerUnavailable']);
    expect(retriesOf(run, 'NotifyCustomerOfShipment')).toBe(1);
    expect(run.statesEntered.at(-1)).toBe('OrderClosedFullyInvoiced');
    expect(await stageOf(orderId)).toBe('closed');
    expect(shippedMessagesTo(orderId)).toHaveLength(1);
    const notified = await cloud.dynamodb.documents.send(
      new GetCommand({
        TableName: tableNamed('OrdersTable'),
        Key: { pk: orderId, sk: `NOTIFICATION#${orderId}-shipped-${shipmentId}` },
      }),
    );
    expect(notified.Item?.entry).toMatchObject({ outcome: 'sent', channel: 'email' });
    const names = namesOf(orderId);
    expect(count(names, 'invoice.issued')).toBe(1);
    expect(count(names, 'order.closed')).toBe(1);
    expect(erpInvoicesOf(orderId)).toHaveLength(1);
  }, 120_000);

  it('parks the order as an integration exception when the CRM stays down, without notifying or closing', async () => {
    const orderId = await releasedOrder('FPS4');
    outage('POST /crm/notifications');
    const { shipmentId, run } = await shipped(orderId);
    expect(await runToEnd(cloud, clock, run)).toBe('SUCCEEDED');

    // One attempt and the rule's two retries, then the Catch.
    expect(failuresOf(run, 'NotifyCustomerOfShipment')).toEqual(Array(3).fill('PartnerUnavailable'));
    expect(retriesOf(run, 'NotifyCustomerOfShipment')).toBe(2);
    expect(run.statesEntered).toEqual([
      'RecordShipment',
      'InvoiceShipment',
      'NotifyCustomerOfShipment',
      'TagNotifyCustomerFailure',
      ...PARKED,
    ]);
    const exceptionId = raisedBy(run);
    expect(await exception(exceptionId)).toMatchObject({
      type: 'integration-failure',
      ownerTeam: 'integration',
      priority: 'high',
      stage: 'invoiced',
      reasonCodes: ['STEP_FAILED:NotifyCustomerOfShipment'],
      recommendedAction:
        'The partner system did not answer after retries: check its status, then redrive the order.',
      context: { failedStep: 'NotifyCustomerOfShipment', error: 'PartnerUnavailable' },
    });
    expect(raisedEventsFor(orderId, exceptionId)).toHaveLength(1);
    expect(await stageOf(orderId)).toBe('exception');
    // The invoice (the step before) went out once; the notice did not, and the order did not close.
    expect(erpInvoicesOf(orderId)).toHaveLength(1);
    expect(shippedMessagesTo(orderId)).toEqual([]);
    const ledger = await ledgerOf(orderId);
    expect(ledger).toContain(`INVOICE#INV-${shipmentId}`);
    expect(ledger.filter((sk) => sk.startsWith('NOTIFICATION#'))).toEqual([]);
    const names = namesOf(orderId);
    expect(count(names, 'invoice.issued')).toBe(1);
    expect(names).not.toContain('order.closed');
  }, 120_000);

  it('parks the order as an integration exception when closing keeps failing, raising it once despite a failed first raise', async () => {
    const orderId = await releasedOrder('FPS5');
    const throttle = inject({
      logicalId: 'PostShipmentFunction',
      when: postShipmentStep(orderId, 'close'),
      errorType: THROTTLE,
      times: Number.POSITIVE_INFINITY,
    });
    const raiseThrottle = inject({
      logicalId: 'RaiseStepExceptionFunction',
      when: forOrder(orderId),
      errorType: THROTTLE,
      times: 1,
    });
    const { run } = await shipped(orderId);
    expect(await runToEnd(cloud, clock, run)).toBe('SUCCEEDED');
    throttle.clear();

    expect(throttle.hits).toBe(3);
    expect(failuresOf(run, 'CloseOrderIfFullyInvoiced')).toEqual(Array(3).fill(THROTTLE));
    expect(retriesOf(run, 'CloseOrderIfFullyInvoiced')).toBe(2);
    expect(run.statesEntered).toEqual([
      'RecordShipment',
      'InvoiceShipment',
      'NotifyCustomerOfShipment',
      'CloseOrderIfFullyInvoiced',
      'TagCloseOrderFailure',
      ...PARKED,
    ]);
    expect(raiseThrottle.hits).toBe(1);
    expect(failuresOf(run, 'RaiseOwnedStepException')).toEqual([THROTTLE]);
    expect(retriesOf(run, 'RaiseOwnedStepException')).toBe(1);

    const exceptionId = raisedBy(run);
    expect(await exception(exceptionId)).toMatchObject({
      type: 'integration-failure',
      ownerTeam: 'integration',
      stage: 'invoiced',
      reasonCodes: ['STEP_FAILED:CloseOrderIfFullyInvoiced'],
      recommendedAction: `Step CloseOrderIfFullyInvoiced failed with ${THROTTLE}: read the cause, then redrive.`,
    });
    const integration = (await exceptionsOf(orderId)).filter((e) => e.type === 'integration-failure');
    expect(integration).toHaveLength(1);
    expect(raisedEventsFor(orderId, exceptionId)).toHaveLength(1);
    expect(await stageOf(orderId)).toBe('exception');
    // Invoiced and notified once; never closed.
    expect(erpInvoicesOf(orderId)).toHaveLength(1);
    expect(shippedMessagesTo(orderId)).toHaveLength(1);
    const names = namesOf(orderId);
    expect(count(names, 'invoice.issued')).toBe(1);
    expect(names).not.toContain('order.closed');
  }, 120_000);
});
