import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ingestErpOrder } from '../../lambdas/use-cases/ingest-erp-order.ts';
import type { CatalogueItem } from '../../local/partners/erp.ts';
import type { CreditSegment, Facility } from '../../local/partners/sandbox.ts';
import { StandardPathHarness } from '../support/standard-path-harness.ts';

const harness = new StandardPathHarness();
let sequence = 0;

function erpOrder(overrides: Record<string, unknown> = {}, items?: Record<string, unknown>[]) {
  sequence += 1;
  return {
    SalesOrder: `SO-${100000 + sequence}`,
    SoldToParty: 'C-1001',
    CustomerName: 'Northwind Hardware',
    CustomerGroup: 'STD',
    Segment: 'MID',
    PaymentTerms: 'NET30',
    CompleteDelivery: '',
    DistributionChannel: '10',
    ShippingCondition: '01',
    RequestedDeliveryDate: '20261126',
    CreationDateTime: '2026-11-23T08:30:00Z',
    Currency: 'USD',
    ShipTo: {
      Name: 'Northwind DC',
      Street: '1 Dock Rd',
      City: 'Columbus',
      PostalCode: '43004',
      Country: 'US',
    },
    Items: items ?? [
      {
        ItemNo: '000010',
        Material: 'WIDGET-1',
        Quantity: '10.000',
        Unit: 'EA',
        NetPrice: '12.50',
        Cost: '8.00',
      },
      { ItemNo: '000020', Material: 'BOLT-9', Quantity: '100', Unit: 'EA', NetPrice: '0.40', Cost: '0.15' },
    ],
    ...overrides,
  };
}

const goodCredit: CreditSegment = {
  CreditLimitAmount: '50000.00',
  ReceivablesAmount: '12000.00',
  OpenOrdersAmount: '3000.00',
  OverdueAmount: '0.00',
  OldestOverdueDays: 0,
  CreditBlocked: false,
  AccountClosed: false,
  PaymentTerms: 'NET30',
};

function facility(code: string, rank: number, stock: Record<string, number>): Facility {
  return {
    facilityCode: code,
    distanceRank: rank,
    freightCost: 10 * rank,
    carrierCutoffHourUtc: 16,
    transitDays: { economy: 5, standard: 3, expedited: 2, 'next-day': 1 },
    inventory: Object.entries(stock).map(([itemCode, onHand]) => ({
      itemCode,
      onHand,
      committed: 0,
      safetyStock: 5,
    })),
  };
}

/** An item-master entry for a test item (only its existence matters to the standard path). */
function catalogueItem(material: string): CatalogueItem {
  return {
    Material: material,
    Description: material,
    ProductGroup: 'HARDWARE',
    BaseUnit: 'EA',
    StandardCost: '1.00',
    ListPrice: '2.00',
    Currency: 'USD',
    GrossWeightKg: 1,
    LengthCm: 10,
    WidthCm: 10,
    HeightCm: 10,
    Hazmat: null,
    Oversize: false,
    SupplyType: 'STOCK',
    Vendor: null,
    VendorLeadTimeDays: null,
  };
}

beforeAll(async () => {
  await harness.start();
});
afterAll(async () => {
  await harness.stop();
});
beforeEach(() => {
  harness.sandbox.reset();
  harness.stepOverrides.clear();
  harness.clock.current = new Date('2026-11-23T09:00:00Z');
  harness.sandbox.credit.set('C-1001', goodCredit);
  // The ERP item master knows what the orders name: the ingress refuses items it does not know.
  for (const material of ['WIDGET-1', 'BOLT-9'])
    harness.sandbox.erp.items.set(material, catalogueItem(material));
  harness.sandbox.facilities = [
    facility('DC-EAST', 1, { 'WIDGET-1': 500, 'BOLT-9': 5000 }),
    facility('DC-WEST', 2, { 'WIDGET-1': 500, 'BOLT-9': 5000 }),
  ];
});

describe('standard single-site path, end to end', () => {
  it('credit approved, fully allocated at the nearest site, released to the warehouse in 7 transitions', async () => {
    const { orderId, execution } = await harness.submit(erpOrder());

    expect(execution?.status).toBe('SUCCEEDED');
    expect(execution?.statesEntered).toEqual([
      'CheckCreditAgainstLimitAndExposure',
      'RouteOnCreditDecision',
      'ReserveStockAtBestSingleSite',
      'RouteOnAllocation',
      'DecideWarehouseRelease',
      'RouteOnReleaseDecision',
      'HandedToWarehouse',
    ]);
    const order = await harness.orders.get(orderId);
    expect(order?.stage).toBe('released');
    expect(order?.stageHistory.map((h) => h.stage)).toEqual([
      'received',
      'accepted',
      'credit-approved',
      'allocated',
      'released',
    ]);
    expect(order?.allocation?.siteId).toBe('DC-EAST');
    expect(harness.events.namesFor(orderId)).toEqual([
      'order.received',
      'order.accepted',
      'credit.approved',
      'allocation.confirmed',
      'warehouse.released',
    ]);
    const released = harness.events.find(orderId, 'warehouse.released');
    expect(released?.detail).toMatchObject({
      siteId: 'DC-EAST',
      shipBy: '2026-11-23',
      idempotencyKey: `${orderId}:release`,
    });
    // Side effects carry idempotency keys derived from order and stage.
    expect(harness.sandbox.callsTo('POST', '/wms/reservations').map((c) => c.idempotencyKey)).toEqual([
      `${orderId}:allocation`,
    ]);
    expect(harness.sandbox.callsTo('POST', '/wms/releases')).toEqual([
      expect.objectContaining({
        idempotencyKey: `${orderId}:release`,
        body: expect.objectContaining({
          facilityCode: 'DC-EAST',
          orderReference: orderId,
          shipByDate: '2026-11-23',
        }),
      }),
    ]);
  });

  /** An order of 1,250.00 against a 15,000 limit with 15,000 exposure: over the limit, held for finance. */
  async function heldOrder() {
    harness.sandbox.credit.set('C-1001', { ...goodCredit, CreditLimitAmount: '15000.00' });
    const { orderId, done } = await harness.begin(
      erpOrder({}, [
        {
          ItemNo: '000010',
          Material: 'WIDGET-1',
          Quantity: '100',
          Unit: 'EA',
          NetPrice: '12.50',
          Cost: '8.00',
        },
      ]),
    );
    const exceptionId = `EXC-${orderId}-CREDIT`;
    // The path now waits in its tier-1 callback task, whose token is on the exception.
    for (let i = 0; i < 200 && !(await harness.exceptions.get(exceptionId))?.awaiting; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return { orderId, done, exceptionId };
  }

  it('holds an order over the credit limit and waits on the credit controller, with an owned exception and its SLA', async () => {
    const { orderId, exceptionId, done } = await heldOrder();

    const order = await harness.orders.get(orderId);
    expect(order?.stage).toBe('credit-hold');
    expect(order?.credit?.reasonCodes).toContain('OVER_CREDIT_LIMIT');
    expect(order?.credit?.exceptionId).toBe(exceptionId);
    const stored = await harness.ddb.documents.send(
      new GetCommand({ TableName: harness.exceptionsTableName, Key: { pk: exceptionId } }),
    );
    expect(stored.Item).toMatchObject({
      type: 'credit-hold',
      ownerTeam: 'finance',
      state: 'open',
      ownerState: 'finance#open',
      priority: 'normal',
      slaDueAt: '2026-11-23T13:00:00.000Z',
      awaiting: { tier: 1, role: 'credit-controller', since: '2026-11-23T09:00:00.000Z' },
    });
    expect(String(stored.Item?.awaiting?.taskToken)).toMatch(/^harness-token-/);
    expect(harness.events.namesFor(orderId)).toEqual([
      'order.received',
      'order.accepted',
      'credit.hold.placed',
      'exception.raised',
    ]);
    expect(harness.sandbox.callsTo('POST', '/wms/reservations')).toHaveLength(0);

    await harness.decide({ exceptionId, outcome: 'reject', decidedBy: 'jo.finance', reason: 'test cleanup' });
    await done;
  });

  it('releases a small order slightly over the limit through an auto-approve band, without review', async () => {
    harness.sandbox.credit.set('C-1001', {
      ...goodCredit,
      CreditLimitAmount: '15000.00',
      ReceivablesAmount: '12500.00',
      OpenOrdersAmount: '3000.00',
    });
    // 400.00 takes exposure to 15,900 (106%): past the 5% tolerance, inside the small-order band's 110%.
    const { orderId, execution } = await harness.submit(
      erpOrder({}, [
        {
          ItemNo: '000010',
          Material: 'WIDGET-1',
          Quantity: '32',
          Unit: 'EA',
          NetPrice: '12.50',
          Cost: '8.00',
        },
      ]),
    );
    expect(execution?.statesEntered.at(-1)).toBe('HandedToWarehouse');
    const order = await harness.orders.get(orderId);
    expect(order?.credit).toMatchObject({
      decision: 'approved',
      reasonCodes: ['OVER_CREDIT_LIMIT', 'AUTO_APPROVE_BAND:small-order-stretch'],
    });
    expect(harness.events.namesFor(orderId)).not.toContain('credit.hold.placed');
  });

  it('resumes a held order when finance releases it, recording who, when and why, and ships it', async () => {
    const { orderId, exceptionId, done } = await heldOrder();
    harness.clock.current = new Date('2026-11-23T10:15:00Z');

    const decision = await harness.decide({
      exceptionId,
      outcome: 'release',
      decidedBy: 'jo.finance',
      reason: 'Customer paid 5,000.00 this morning; remittance on file.',
    });
    expect(decision).toMatchObject({
      exceptionId,
      decision: 'approve',
      outcome: 'release',
      closedAs: 'approved',
      decidedBy: 'jo.finance',
      decidedAt: '2026-11-23T10:15:00.000Z',
      tier: 1,
      resumed: 'delivered',
      replayed: false,
      next: { kind: 'workflow-resumed' },
    });

    const execution = await done;
    expect(execution?.error).toBeUndefined();
    expect(execution?.status).toBe('SUCCEEDED');
    expect(execution?.statesEntered).toEqual([
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
    const order = await harness.orders.get(orderId);
    expect(order?.stage).toBe('released');
    expect(order?.credit).toMatchObject({
      decision: 'approved',
      exceptionId,
      review: {
        outcome: 'release',
        decidedBy: 'jo.finance',
        decidedAt: '2026-11-23T10:15:00.000Z',
        reason: 'Customer paid 5,000.00 this morning; remittance on file.',
        tier: 1,
      },
    });
    expect(order?.stageHistory.map((h) => h.stage)).toEqual([
      'received',
      'accepted',
      'credit-hold',
      'credit-approved',
      'allocated',
      'released',
    ]);
    const exception = await harness.exceptions.get(exceptionId);
    expect(exception).toMatchObject({
      state: 'resolved',
      resolution: { outcome: 'release', decidedBy: 'jo.finance', tier: 1 },
    });
    expect(exception?.audit.map((a) => a.action)).toEqual(['raised', 'awaiting-decision', 'released']);
    expect(harness.events.namesFor(orderId)).toEqual([
      'order.received',
      'order.accepted',
      'credit.hold.placed',
      'exception.raised',
      'credit.hold.released',
      'exception.resolved',
      'allocation.confirmed',
      'warehouse.released',
    ]);
    expect(harness.events.detailOf(orderId, 'credit.hold.released')).toMatchObject({
      releasedBy: 'jo.finance',
      exceptionId,
    });
  });

  it('rejects a held order when finance declines it, and reserves nothing', async () => {
    const { orderId, exceptionId, done } = await heldOrder();
    await harness.decide({
      exceptionId,
      outcome: 'reject',
      decidedBy: 'sam.credit',
      reason: 'Account 47 days overdue; no payment plan.',
    });
    const execution = await done;
    expect(execution?.statesEntered.slice(-3)).toEqual([
      'AwaitCreditControllerDecision',
      'RouteOnCreditReview',
      'RejectedAfterCreditReview',
    ]);
    expect((await harness.orders.get(orderId))?.stage).toBe('rejected');
    expect(harness.events.detailOf(orderId, 'order.rejected')).toMatchObject({
      stage: 'credit-hold',
      reasonCodes: ['CREDIT_REJECTED_BY_FINANCE'],
      exceptionId,
    });
    expect(harness.events.detailOf(orderId, 'exception.resolved')).toMatchObject({
      resolution: 'rejected',
      resolvedBy: 'sam.credit',
    });
    expect(harness.sandbox.callsTo('POST', '/wms/reservations')).toHaveLength(0);
  });

  it('keeps the first decision: a repeat is harmless, a contrary one is refused with who decided first', async () => {
    const { orderId, exceptionId, done } = await heldOrder();
    const first = { exceptionId, outcome: 'release' as const, decidedBy: 'jo.finance', reason: 'Paid.' };
    await harness.decide(first);
    await done;
    const eventsAfterFirst = harness.events.namesFor(orderId).length;

    await expect(harness.decide(first)).resolves.toMatchObject({ outcome: 'release', resumed: 'expired' });
    const contrary = await harness
      .decide({ exceptionId, outcome: 'reject', decidedBy: 'sam.credit', reason: 'Too late.' })
      .catch((error: unknown) => error);
    expect(contrary).toMatchObject({ name: 'ExceptionAlreadyResolved', retryable: false });
    expect(String(contrary)).toContain('approved by jo.finance');
    expect((await harness.orders.get(orderId))?.stage).toBe('released');
    // The repeat re-announces with the same idempotency keys, which consumers de-duplicate.
    const keys = harness.events.all
      .filter((e) => e.detail.orderId === orderId)
      .map((e) => e.detail.idempotencyKey);
    expect(new Set(keys).size).toBe(eventsAfterFirst);
  });

  it.each([
    ['exceptionId', { exceptionId: ' ', outcome: 'release', decidedBy: 'jo', reason: 'ok' }],
    ['outcome', { exceptionId: 'EXC-X', outcome: 'maybe', decidedBy: 'jo', reason: 'ok' }],
    ['decidedBy', { exceptionId: 'EXC-X', outcome: 'release', decidedBy: '', reason: 'ok' }],
    ['reason', { exceptionId: 'EXC-X', outcome: 'release', decidedBy: 'jo', reason: '   ' }],
  ])('refuses a decision with a bad %s, naming the field', async (field, input) => {
    const error = await harness.decide(input as never).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'InvalidDecision', field });
  });

  it('refuses a decision on an exception that does not exist', async () => {
    const error = await harness
      .decide({ exceptionId: 'EXC-NOPE', outcome: 'release', decidedBy: 'jo', reason: 'ok' })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'ExceptionNotFound', retryable: false });
  });

  it('rejects the order of a closed account and reserves nothing', async () => {
    harness.sandbox.credit.set('C-1001', { ...goodCredit, AccountClosed: true });
    const { orderId, execution } = await harness.submit(erpOrder());

    expect(execution?.statesEntered.at(-1)).toBe('RejectedByCreditCheck');
    expect((await harness.orders.get(orderId))?.stage).toBe('rejected');
    expect(harness.events.find(orderId, 'order.rejected')?.detail.reasonCodes).toEqual(['ACCOUNT_CLOSED']);
  });

  it('backorders a ship-complete order that no single site can fill, announcing shortage and backorder', async () => {
    harness.sandbox.facilities = [facility('DC-EAST', 1, { 'WIDGET-1': 8, 'BOLT-9': 5000 })];
    const { orderId, execution } = await harness.submit(erpOrder({ CompleteDelivery: 'X' }));

    expect(execution?.statesEntered.at(-1)).toBe('BackorderedAwaitingStock');
    const order = await harness.orders.get(orderId);
    expect(order?.stage).toBe('backordered');
    expect(order?.allocation?.short).toEqual([
      { lineNo: 10, sku: 'WIDGET-1', requested: 10, available: 3, shortBy: 7 },
    ]);
    expect(harness.events.namesFor(orderId)).toEqual([
      'order.received',
      'order.accepted',
      'credit.approved',
      'allocation.shortage',
      'backorder.created',
    ]);
    // Nothing is reserved under ship-complete terms, so the whole line is backordered, not just the 7 short:
    // filling 7 later must not release 7 of 10.
    expect(harness.events.find(orderId, 'backorder.created')?.detail.lines).toEqual([
      { lineNo: 10, sku: 'WIDGET-1', quantity: 10 },
    ]);
    expect(harness.sandbox.callsTo('POST', '/wms/reservations')).toHaveLength(0);
  });

  it('ships what it can for a ship-partial order and backorders the rest', async () => {
    harness.sandbox.facilities = [facility('DC-EAST', 1, { 'WIDGET-1': 8, 'BOLT-9': 5000 })];
    const { orderId, execution } = await harness.submit(erpOrder());

    expect(execution?.statesEntered.at(-1)).toBe('HandedToWarehouse');
    expect(harness.events.find(orderId, 'allocation.confirmed')?.detail).toMatchObject({
      partial: true,
      lines: [
        { lineNo: 10, sku: 'WIDGET-1', quantity: 3 },
        { lineNo: 20, sku: 'BOLT-9', quantity: 100 },
      ],
    });
    expect(harness.events.find(orderId, 'backorder.created')?.detail.lines).toEqual([
      { lineNo: 10, sku: 'WIDGET-1', quantity: 7 },
    ]);
    expect((await harness.orders.get(orderId))?.stage).toBe('released');
  });

  it('defers a future-dated order until its release window, then releases it', async () => {
    const { orderId, execution } = await harness.submit(erpOrder({ RequestedDeliveryDate: '20261215' }));

    expect(execution?.statesEntered).toEqual([
      'CheckCreditAgainstLimitAndExposure',
      'RouteOnCreditDecision',
      'ReserveStockAtBestSingleSite',
      'RouteOnAllocation',
      'DecideWarehouseRelease',
      'RouteOnReleaseDecision',
      'WaitForReleaseWindow',
      'DecideWarehouseRelease',
      'RouteOnReleaseDecision',
      'HandedToWarehouse',
    ]);
    const order = await harness.orders.get(orderId);
    expect(order?.stageHistory.map((h) => h.stage)).toContain('release-deferred');
    expect(order?.stage).toBe('released');
    expect(order?.release?.shipBy).toBe('2026-12-12');
    expect(order?.stageHistory.find((h) => h.stage === 'released')?.at).toBe('2026-12-10T00:00:00.000Z');
  });

  it('retries a WMS outage that outlasts the client retries, then succeeds on the path Retry', async () => {
    harness.sandbox.failNext.set('GET /wms/availability', 3);
    const { orderId, execution } = await harness.submit(erpOrder());

    expect(execution?.retries).toEqual(['ReserveStockAtBestSingleSite']);
    expect(execution?.statesEntered.at(-1)).toBe('HandedToWarehouse');
    expect(harness.sandbox.callsTo('GET', '/wms/availability')).toHaveLength(4);
    expect((await harness.orders.get(orderId))?.stage).toBe('released');
  });

  it('turns a WMS outage that survives every retry into an integration-owned exception', async () => {
    harness.sandbox.failNext.set('GET /wms/availability', 1000);
    const { orderId, execution } = await harness.submit(erpOrder());

    expect(execution?.status).toBe('SUCCEEDED');
    expect(execution?.statesEntered.slice(-3)).toEqual([
      'TagAllocationFailure',
      'RaiseOwnedStepException',
      'ParkedAsOwnedException',
    ]);
    expect(execution?.retries.filter((s) => s === 'ReserveStockAtBestSingleSite')).toHaveLength(4);
    const order = await harness.orders.get(orderId);
    expect(order?.stage).toBe('exception');
    const raised = harness.events.find(orderId, 'exception.raised');
    expect(raised?.detail).toMatchObject({
      type: 'integration-failure',
      ownerTeam: 'integration',
      priority: 'high',
    });
    expect(raised?.detail.reasonCodes).toEqual(['STEP_FAILED:ReserveStockAtBestSingleSite']);
    const stored = await harness.ddb.documents.send(
      new GetCommand({ TableName: harness.exceptionsTableName, Key: { pk: raised?.detail.exceptionId } }),
    );
    expect(stored.Item?.context).toMatchObject({
      failedStep: 'ReserveStockAtBestSingleSite',
      error: 'PartnerUnavailable',
    });
  });

  it.each([
    ['CheckCreditFunctionArn', 'CheckCreditAgainstLimitAndExposure', 'TagCreditCheckFailure'],
    ['ReleaseToWarehouseFunctionArn', 'DecideWarehouseRelease', 'TagReleaseFailure'],
  ])(
    'catches a permanent failure of %s and parks the order as an owned exception',
    async (step, state, tag) => {
      harness.stepOverrides.set(step, async () => {
        throw Object.assign(new Error('partner refused'), { name: 'PartnerRejected' });
      });
      const { orderId, execution } = await harness.submit(erpOrder());

      expect(execution?.retries).not.toContain(state);
      expect(execution?.statesEntered.slice(-3)).toEqual([
        tag,
        'RaiseOwnedStepException',
        'ParkedAsOwnedException',
      ]);
      expect((await harness.orders.get(orderId))?.stage).toBe('exception');
    },
  );

  it.each([
    ['CheckCreditFunctionArn', { decision: 'maybe', reasonCodes: [], hold: null }, 'UnknownCreditDecision'],
    [
      'AllocateStockFunctionArn',
      { status: 'teleported', siteId: null, approval: null },
      'UnknownAllocationStatus',
    ],
    [
      'ReleaseToWarehouseFunctionArn',
      { action: 'shrug', releaseAt: 'x', priority: 1 },
      'UnknownReleaseAction',
    ],
  ])('fails loudly when %s returns an outcome the path does not know', async (step, result, failState) => {
    harness.stepOverrides.set(step, async () => result);
    const { execution } = await harness.submit(erpOrder());

    expect(execution?.status).toBe('FAILED');
    expect(execution?.statesEntered.at(-1)).toBe(failState);
  });
});

describe('routing reads stock when a split could serve the order better', () => {
  it('routes single-site, saying why, when the WMS cannot be read for stock', async () => {
    harness.sandbox.failNext.set('GET /wms/availability', 3);
    const received = await ingestErpOrder(JSON.stringify(erpOrder()), {
      orders: harness.orders,
      exceptions: harness.exceptions,
      items: harness.items,
      events: harness.events,
      clock: harness.clock,
    });
    if (received.kind !== 'received') throw new Error('not received');
    const outcome = await harness.routeWithStock(received.orderId);
    expect(outcome).toMatchObject({
      kind: 'started',
      path: 'standard-single-site',
      reasonCodes: ['DEFAULT_STANDARD', 'INVENTORY_UNAVAILABLE'],
    });
    expect(harness.sandbox.failNext.get('GET /wms/availability')).toBe(0);
  });

  it('reads stock once: a redelivered order.received keeps the recorded path without asking the WMS', async () => {
    const received = await ingestErpOrder(JSON.stringify(erpOrder()), {
      orders: harness.orders,
      exceptions: harness.exceptions,
      items: harness.items,
      events: harness.events,
      clock: harness.clock,
    });
    if (received.kind !== 'received') throw new Error('not received');
    await harness.routeWithStock(received.orderId);
    // The path's own allocation reads stock too: wait until it has run.
    for (let i = 0; i < 300 && !harness.executions.has(received.orderId); i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const reads = harness.sandbox.callsTo('GET', '/wms/availability').length;
    await harness.routeWithStock(received.orderId);
    expect(harness.sandbox.callsTo('GET', '/wms/availability').length).toBe(reads);
  });
});

describe('ingress and routing are safe to repeat', () => {
  it('a redelivered ERP order creates one order and one execution', async () => {
    const message = erpOrder();
    const { orderId } = await harness.submit(message);
    const again = await ingestErpOrder(JSON.stringify(message), {
      orders: harness.orders,
      exceptions: harness.exceptions,
      items: harness.items,
      events: harness.events,
      clock: harness.clock,
    });
    expect(again).toEqual({ kind: 'duplicate', orderId, republished: false });
    expect(await harness.route(orderId)).toEqual({ kind: 'ignored', reason: 'order is already at released' });
    expect(harness.events.namesFor(orderId).filter((n) => n === 'order.received')).toHaveLength(1);
  });

  it('republishes order.received when the first delivery died after writing the order', async () => {
    const message = erpOrder();
    const deps = {
      orders: harness.orders,
      exceptions: harness.exceptions,
      items: harness.items,
      events: harness.events,
      clock: harness.clock,
    };
    const failing = {
      ...deps,
      events: { publish: async () => Promise.reject(new Error('EventBridge down')) },
    };
    await expect(ingestErpOrder(JSON.stringify(message), failing)).rejects.toThrow('EventBridge down');
    const retried = await ingestErpOrder(JSON.stringify(message), deps);
    expect(retried).toEqual({ kind: 'duplicate', orderId: `ERP-${message.SalesOrder}`, republished: true });
  });

  it('quarantines a changed resend of an order number instead of overwriting it', async () => {
    const message = erpOrder();
    const { orderId } = await harness.submit(message);
    const changed = await ingestErpOrder(
      JSON.stringify({ ...message, PurchaseOrderByCustomer: 'PO-CHANGED' }),
      {
        orders: harness.orders,
        exceptions: harness.exceptions,
        items: harness.items,
        events: harness.events,
        clock: harness.clock,
      },
    );
    expect(changed).toMatchObject({
      kind: 'quarantined',
      orderId,
      violations: [expect.objectContaining({ path: 'SalesOrder', rule: 'changedAfterReceipt' })],
    });
    // The live order goes on: the change is customer service's exception, not a rejection of the order.
    expect(harness.events.find(orderId, 'order.rejected')).toBeUndefined();
    expect(harness.events.find(orderId, 'exception.raised')?.detail).toMatchObject({
      ownerTeam: 'customer-service',
    });
    expect((await harness.orders.get(orderId))?.stage).not.toBe('rejected');
  });

  it('quarantines an invalid ERP order once, keeping the payload and every broken rule', async () => {
    const bad = erpOrder({ Currency: 'usd' }, [
      {
        ItemNo: '000010',
        Material: 'WIDGET-1',
        Quantity: '2.5',
        Unit: 'EA',
        NetPrice: '12.50',
        Cost: '8.00',
      },
    ]);
    const deps = {
      orders: harness.orders,
      exceptions: harness.exceptions,
      items: harness.items,
      events: harness.events,
      clock: harness.clock,
    };
    const first = await ingestErpOrder(JSON.stringify(bad), deps);
    const second = await ingestErpOrder(JSON.stringify(bad), deps);
    expect(first).toMatchObject({ kind: 'quarantined', alreadyQuarantined: false });
    expect(second).toMatchObject({ kind: 'quarantined', alreadyQuarantined: true });
    if (first.kind !== 'quarantined') throw new Error('expected quarantine');
    expect(first.violations.map((v) => `${v.path} ${v.rule}`)).toEqual([
      'Currency pattern:/^[A-Z]{3}$/',
      'Items[0].Quantity positiveWholeUnits',
    ]);
    expect(await harness.orders.get(first.orderId)).toBeUndefined();
    const stored = await harness.ddb.documents.send(
      new GetCommand({ TableName: harness.exceptionsTableName, Key: { pk: first.exceptionId } }),
    );
    expect(stored.Item).toMatchObject({ type: 'validation', ownerTeam: 'customer-service', state: 'open' });
    expect(stored.Item?.context.payload).toBe(JSON.stringify(bad));
    expect(harness.events.find(first.orderId, 'order.rejected')?.detail.violations).toEqual(first.violations);
  });

  it('quarantines a message that is not JSON under an identifiable id', async () => {
    const outcome = await ingestErpOrder('{"SalesOrder": "SO-9", ', {
      orders: harness.orders,
      exceptions: harness.exceptions,
      items: harness.items,
      events: harness.events,
      clock: harness.clock,
    });
    expect(outcome).toMatchObject({
      kind: 'quarantined',
      violations: [expect.objectContaining({ path: '', rule: 'json' })],
    });
    if (outcome.kind === 'quarantined') expect(outcome.orderId).toMatch(/^UNIDENTIFIED-[0-9a-f]{16}$/);
  });

  it('lets only one of two concurrent writers move an order', async () => {
    const { orderId } = await harness.submit(erpOrder());
    const record = await harness.orders.get(orderId);
    if (!record) throw new Error('order missing');
    const results = await Promise.allSettled([
      harness.orders.transition(record, 'shipped', ['A']),
      harness.orders.transition(record, 'exception', ['B']),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const rejected = results.find((r) => r.status === 'rejected');
    expect(rejected?.status === 'rejected' && (rejected.reason as Error).name).toBe('ConcurrentOrderUpdate');
  });

  it('refuses an illegal stage move', async () => {
    const { orderId } = await harness.submit(erpOrder());
    const record = await harness.orders.get(orderId);
    if (!record) throw new Error('order missing');
    await expect(harness.orders.transition(record, 'accepted', [])).rejects.toMatchObject({
      name: 'IllegalStageTransition',
    });
  });
});
