import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../local/clock/clock.ts';
import type { LocalCloud } from '../../local/cloud.ts';
import { sampleOrders } from '../../local/demo/sample-orders.ts';
import type { PartnerSandbox } from '../../local/partners/sandbox.ts';
import type { LocalExecution } from '../../local/stepfunctions/sfn-service.ts';
import { queueNamed, startTestCloud, type TestCloud, until } from '../support/test-cloud.ts';

/**
 * A substitute the standing policy will not ship on its own, on the real synthesized stack. C-1001 has
 * standing approval of VALVE-3IN-RS for VALVE-3IN (short everywhere), but 14 × $185 = $2,590 is over the
 * $2,500 a standing approval covers: the single-site path reserves nothing, raises the proposal to the
 * customer's account manager with a 4-hour SLA, and waits (AwaitSubstituteApproval). Approve plans again
 * with the substitute; reject, or no answer within the SLA, plans again without it (C-1001 ships partial:
 * what DC-EAST has of the flanged valve ships, the rest is backordered). Virtual time drives the SLA; decisions go through DecideException as an operator's would.
 * The tests that reserve nothing run first: DC-EAST has 26 of the substitute to promise, enough for one.
 */
const START = new Date('2026-11-23T09:00:00.000Z');
const HOUR = 3_600_000;
const clock = new VirtualClock(START);
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

const functionNamed = (prefix: string) =>
  [...cloud.lambda.functions.values()].find((f) => f.resource.logicalId.startsWith(prefix))?.name ?? '';
const tableNamed = (prefix: string) =>
  cloud.tables.find((t) => t.resource.logicalId.startsWith(prefix))?.name ?? '';

async function item(table: string, key: Record<string, string>) {
  const { Item } = await cloud.dynamodb.documents.send(
    new GetCommand({ TableName: tableNamed(table), Key: key }),
  );
  return Item;
}
const exception = (exceptionId: string) => item('ExceptionsTable', { pk: exceptionId });
const order = (orderId: string) => item('OrdersTable', { pk: orderId, sk: 'ORDER' });

const eventsAbout = (orderId: string) =>
  (cloud.events.archives[0]?.events ?? []).filter(
    (e) => (e.event.detail as { orderId?: string }).orderId === orderId,
  );
const namesAbout = (orderId: string) => eventsAbout(orderId).map((e) => e.event['detail-type']);

/** Sends C-1001's sales order for 14 gate valves ($2,590, over the standing approval); returns its id. */
async function sendValves(runId: string): Promise<string> {
  const body = structuredClone(sampleOrders(clock.now(), runId)[0]?.body ?? {}) as Record<string, unknown>;
  const [first] = body.Items as Record<string, unknown>[];
  body.SoldToParty = 'C-1001';
  body.Items = [{ ...first, Material: 'VALVE-3IN', Quantity: '14', NetPrice: '185.00', Cost: '121.00' }];
  await world.sqs.send(
    new SendMessageCommand({
      QueueUrl: queueNamed(cloud, 'ErpIngressQueue').url,
      MessageBody: JSON.stringify(body),
    }),
  );
  return `ERP-${runId}-1`;
}

/** Sends the valves and waits until the path waits on the account manager. */
async function awaitingApproval(
  runId: string,
): Promise<{ orderId: string; exceptionId: string; execution: LocalExecution }> {
  const orderId = await sendValves(runId);
  const exceptionId = `EXC-${orderId}-SUBSTITUTE`;
  const execution = await until('the path waits on the account manager', () =>
    [...cloud.sfn.executions.values()].find(
      (e) => e.name === orderId && e.statesEntered.includes('AwaitSubstituteApproval'),
    ),
  );
  await until('the exception holds the task token', async () =>
    (await exception(exceptionId))?.awaiting ? true : undefined,
  );
  return { orderId, exceptionId, execution };
}

const decide = (input: Record<string, unknown>) =>
  cloud.lambda.invoke(functionNamed('DecideException'), input);
const finished = (execution: LocalExecution) =>
  until('the path finishes', () => (execution.status === 'RUNNING' ? undefined : execution.status));

const AWAITING = [
  'CheckCreditAgainstLimitAndExposure',
  'RouteOnCreditDecision',
  'ReserveStockAtBestSingleSite',
  'RouteOnAllocation',
  'AwaitSubstituteApproval',
];

/** Planned again without the substitute: what there is of the ordered item ships, the rest is backordered. */
const PARTIAL = [
  'ReserveStockAtBestSingleSite',
  'RouteOnAllocation',
  'DecideWarehouseRelease',
  'RouteOnReleaseDecision',
  'HandedToWarehouse',
];

describe('a substitute that needs approval', () => {
  it('waits on the account manager with nothing reserved; after a rejection the line ships what there is of the ordered item', async () => {
    const { orderId, exceptionId, execution } = await awaitingApproval('SA1');
    expect(await exception(exceptionId)).toMatchObject({
      type: 'substitution',
      ownerTeam: 'customer-service',
      state: 'open',
      // Four of customer service's working hours (07:00–19:00 in Chicago) from 03:00 there.
      slaDueAt: '2026-11-23T17:00:00.000Z',
      awaiting: { tier: 1, role: 'account-manager' },
      reasonCodes: ['SUBSTITUTE_NEEDS_APPROVAL', 'VALUE_ABOVE_APPROVAL_THRESHOLD'],
    });
    expect((await order(orderId))?.stage).toBe('credit-approved');
    expect(sandbox.wms.reservations.filter((r) => r.orderReference === orderId)).toEqual([]);
    await until('the proposal is on the bus', () =>
      namesAbout(orderId).includes('substitution.proposed.v1') ? true : undefined,
    );

    const answer = await decide({
      exceptionId,
      outcome: 'reject',
      decidedBy: 'sam.accounts',
      reason: 'Customer wants the flanged valve only; will wait for the receipt.',
    });
    expect(answer).toMatchObject({ type: 'substitution', closedAs: 'rejected', resumed: 'delivered' });
    expect(await finished(execution)).toBe('SUCCEEDED');
    // Ship-partial terms: what DC-EAST has of the flanged valve ships now, the rest waits on backorder.
    expect(execution.statesEntered).toEqual([...AWAITING, ...PARTIAL]);
    const record = await order(orderId);
    expect(record).toMatchObject({ stage: 'released', allocation: { status: 'partial' } });
    const allocation = record?.allocation as { substitutions?: unknown; short: { sku: string }[] };
    expect(allocation.substitutions).toBeUndefined();
    expect(allocation.short.map((l) => l.sku)).toEqual(['VALVE-3IN']);
    expect(namesAbout(orderId)).toContain('backorder.created.v1');
    await until('the decision is on the bus', () =>
      namesAbout(orderId).includes('substitution.decided.v1') ? true : undefined,
    );
    expect(
      eventsAbout(orderId).find((e) => e.event['detail-type'] === 'substitution.decided.v1')?.event.detail,
    ).toMatchObject({
      decision: 'rejected',
      decidedBy: 'sam.accounts',
    });
  });

  it('declines the substitute by policy when nobody answers within the SLA, counted in working hours', async () => {
    const { orderId, exceptionId, execution } = await awaitingApproval('SA2');
    // Raised at 03:00 in Chicago: the account manager's four hours run from 07:00, so 11:00 (17:00 UTC).
    expect(clock.now().toISOString()).toBe('2026-11-23T09:00:00.000Z');
    expect((await exception(exceptionId))?.slaDueAt).toBe('2026-11-23T17:00:00.000Z');
    await clock.advance(4 * HOUR);
    expect(execution.status).toBe('RUNNING');
    await clock.advanceTo(Date.parse('2026-11-23T17:00:00.000Z'));
    expect(await finished(execution)).toBe('SUCCEEDED');
    expect(execution.statesEntered).toEqual([...AWAITING, 'ApplySubstituteFallback', ...PARTIAL]);
    expect(await exception(exceptionId)).toMatchObject({
      state: 'resolved',
      resolution: { outcome: 'reject', decidedBy: 'handoff:sla-fallback', tier: 0 },
    });
    expect(await order(orderId)).toMatchObject({ stage: 'released', allocation: { status: 'partial' } });
    await until('the resolution is announced', () =>
      namesAbout(orderId).includes('exception.resolved.v1') ? true : undefined,
    );
  });

  it('parks the order as an owned exception when the approval task itself fails', async () => {
    const fault = cloud.lambda.injectFault({
      logicalId: 'HumanDecisionTaskFunction',
      when: (event) => (event as { exceptionId?: string }).exceptionId === 'EXC-ERP-SA3-1-SUBSTITUTE',
      errorType: 'ExceptionNotFound',
      times: 1,
    });
    const orderId = await sendValves('SA3');
    const execution = await until('the path runs', () =>
      [...cloud.sfn.executions.values()].find((e) => e.name === orderId),
    );
    expect(await finished(execution)).toBe('SUCCEEDED');
    fault.clear();
    expect(fault.hits).toBe(1);
    expect(execution.statesEntered.slice(-4)).toEqual([
      'AwaitSubstituteApproval',
      'TagSubstituteReviewFailure',
      'RaiseOwnedStepException',
      'ParkedAsOwnedException',
    ]);
    expect((await order(orderId))?.stage).toBe('exception');
  });

  it('parks the order as an owned exception when the SLA fallback itself fails', async () => {
    const fault = cloud.lambda.injectFault({
      logicalId: 'HumanDecisionTaskFunction',
      when: (event) =>
        (event as { action?: string; exceptionId?: string }).action === 'fallback' &&
        (event as { exceptionId?: string }).exceptionId === 'EXC-ERP-SA5-1-SUBSTITUTE',
      errorType: 'ExceptionNotFound',
      times: 1,
    });
    const { orderId, exceptionId, execution } = await awaitingApproval('SA5');
    await clock.advanceTo(Date.parse(String((await exception(exceptionId))?.slaDueAt)));
    expect(await finished(execution)).toBe('SUCCEEDED');
    fault.clear();
    expect(fault.hits).toBe(1);
    expect(execution.statesEntered.slice(-4)).toEqual([
      'ApplySubstituteFallback',
      'TagSubstituteReviewFailure',
      'RaiseOwnedStepException',
      'ParkedAsOwnedException',
    ]);
    expect((await order(orderId))?.stage).toBe('exception');
  });

  it('ships the substitute once the customer approves it, at the quoted price', async () => {
    const { orderId, exceptionId, execution } = await awaitingApproval('SA4');
    const answer = await decide({
      exceptionId,
      outcome: 'approve',
      decidedBy: 'sam.accounts',
      reason: 'Customer approved the resilient-wedge valve by phone.',
    });
    expect(answer).toMatchObject({ closedAs: 'approved', resumed: 'delivered' });
    expect(await finished(execution)).toBe('SUCCEEDED');
    expect(execution.statesEntered).toEqual([
      ...AWAITING,
      'ReserveStockAtBestSingleSite',
      'RouteOnAllocation',
      'DecideWarehouseRelease',
      'RouteOnReleaseDecision',
      'HandedToWarehouse',
    ]);
    const record = await order(orderId);
    expect(record?.stage).toBe('released');
    expect((record?.allocation as { substitutions?: unknown } | undefined)?.substitutions).toEqual([
      expect.objectContaining({ substituteSku: 'VALVE-3IN-RS', quantity: 14, unitPrice: 185 }),
    ]);
    const released = sandbox.wms.warehouseOrders.find((o) => o.orderReference === orderId);
    expect(released?.lines).toEqual([expect.objectContaining({ itemCode: 'VALVE-3IN-RS', quantity: 14 })]);
    await until('the decision is on the bus', () =>
      namesAbout(orderId).includes('substitution.decided.v1') ? true : undefined,
    );
  });
});
