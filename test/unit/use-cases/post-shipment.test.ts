import { beforeEach, describe, expect, it } from 'vitest';
import { parseDetail } from '../../../contracts/events.ts';
import type { CanonicalOrder } from '../../../contracts/order.ts';
import type { OrderStage } from '../../../contracts/vocabulary.ts';
import type { Invoice } from '../../../lambdas/core/invoice.ts';
import { canTransition } from '../../../lambdas/core/order-lifecycle.ts';
import type {
  CanonicalEvent,
  Clock,
  CustomerMessage,
  CustomerNotifier,
  InvoicePosting,
  OrderPatch,
  OrderRecord,
  OrderRepository,
  OwnedException,
  PostedInvoice,
  RecordedInvoice,
  RecordedNotification,
  RecordedShipment,
  ShipmentLedger,
  ShipmentLedgerEntries,
} from '../../../lambdas/ports/index.ts';
import {
  ConcurrentOrderUpdate,
  EventPublishFailed,
  IllegalStageTransition,
  OrderNotFound,
  PartnerRejected,
  ShipmentNotRecorded,
} from '../../../lambdas/shared/errors.ts';
import {
  closeIfComplete,
  invoiceShipment,
  notifyShipment,
  type PostShipmentDeps,
  recordShipment,
  SHIPMENT_CONFIRMATION_ACTOR,
  SHIPMENT_RECONCILES_EXCEPTION,
  type ShipmentConfirmedDetail,
} from '../../../lambdas/use-cases/post-shipment.ts';
import { InMemoryExceptions } from '../../support/in-memory-exceptions.ts';
import { RecordingPublisher } from '../../support/recording-publisher.ts';

// ---------------------------------------------------------------------------------------------------------
// In-memory fakes of the ports
// ---------------------------------------------------------------------------------------------------------

const NOW = new Date('2025-03-10T15:00:00Z');
const clock: Clock = { now: () => NOW };

/** The order table's semantics: legal moves only, optimistic lock on version, history appended. */
class InMemoryOrders implements OrderRepository {
  readonly records = new Map<string, OrderRecord>();

  async createIfAbsent(record: OrderRecord) {
    const existing = this.records.get(record.orderId);
    if (existing) return { created: false as const, existing };
    this.records.set(record.orderId, record);
    return { created: true as const };
  }

  async get(orderId: string): Promise<OrderRecord | undefined> {
    return this.records.get(orderId);
  }

  async annotate(current: OrderRecord, patch: OrderPatch): Promise<OrderRecord> {
    return this.update(current, patch);
  }

  async transition(
    current: OrderRecord,
    to: OrderStage,
    reasonCodes: readonly string[],
    patch: OrderPatch = {},
  ): Promise<OrderRecord> {
    if (!canTransition(current.stage, to))
      throw new IllegalStageTransition(current.orderId, current.stage, to);
    return this.update(current, patch, { to, reasonCodes });
  }

  private update(
    current: OrderRecord,
    patch: OrderPatch,
    move?: { to: OrderStage; reasonCodes: readonly string[] },
  ): OrderRecord {
    const stored = this.records.get(current.orderId);
    if (!stored) throw new OrderNotFound(current.orderId);
    if (stored.version !== current.version) throw new ConcurrentOrderUpdate(current.orderId, current.version);
    const { addExceptionId: _ignored, ...fields } = patch;
    const at = clock.now().toISOString();
    const next: OrderRecord = {
      ...stored,
      ...fields,
      version: stored.version + 1,
      updatedAt: at,
      ...(move
        ? {
            stage: move.to,
            stageHistory: [
              ...stored.stageHistory,
              { stage: move.to, at, reasonCodes: [...move.reasonCodes] },
            ],
          }
        : {}),
    };
    this.records.set(current.orderId, next);
    return next;
  }

  stage(orderId: string): OrderStage | undefined {
    return this.records.get(orderId)?.stage;
  }

  /** Stages entered after release, in order. */
  stagesAfterRelease(orderId: string): OrderStage[] {
    const history = this.records.get(orderId)?.stageHistory ?? [];
    return history.slice(history.findIndex((entry) => entry.stage === 'released') + 1).map((e) => e.stage);
  }
}

/** First write wins, keyed on the entry's id, as the DynamoDB ledger will be. */
class InMemoryLedger implements ShipmentLedger {
  private readonly byOrder = new Map<
    string,
    { shipments: RecordedShipment[]; invoices: RecordedInvoice[]; notifications: RecordedNotification[] }
  >();

  private of(orderId: string) {
    let entries = this.byOrder.get(orderId);
    if (!entries) {
      entries = { shipments: [], invoices: [], notifications: [] };
      this.byOrder.set(orderId, entries);
    }
    return entries;
  }

  async entries(orderId: string): Promise<ShipmentLedgerEntries> {
    const { shipments, invoices, notifications } = this.of(orderId);
    return { shipments: [...shipments], invoices: [...invoices], notifications: [...notifications] };
  }

  async recordShipment(orderId: string, shipment: RecordedShipment) {
    const list = this.of(orderId).shipments;
    if (list.some((s) => s.shipmentId === shipment.shipmentId)) return { recorded: false };
    list.push(shipment);
    return { recorded: true };
  }

  async recordInvoice(orderId: string, invoice: RecordedInvoice) {
    const list = this.of(orderId).invoices;
    if (list.some((i) => i.invoiceId === invoice.invoiceId)) return { recorded: false };
    list.push(invoice);
    return { recorded: true };
  }

  async recordNotification(orderId: string, notification: RecordedNotification) {
    const list = this.of(orderId).notifications;
    if (list.some((n) => n.notificationId === notification.notificationId)) return { recorded: false };
    list.push(notification);
    return { recorded: true };
  }
}

/** The ERP's posting semantics: one invoice per idempotency key, a replay answers the first posting. */
class FakeErp implements InvoicePosting {
  readonly calls: Invoice[] = [];
  readonly posted = new Map<string, PostedInvoice>();
  failNext: Error | undefined;

  async postInvoice(invoice: Invoice): Promise<PostedInvoice> {
    this.calls.push(invoice);
    if (this.failNext) {
      const error = this.failNext;
      this.failNext = undefined;
      throw error;
    }
    const replay = this.posted.get(invoice.idempotencyKey);
    if (replay) return replay;
    const answer: PostedInvoice = {
      invoiceId: invoice.invoiceId,
      erpInvoiceId: `ERP-INV-${this.posted.size + 1}`,
      amount: invoice.subtotal,
      currency: invoice.currency,
      postedAt: NOW.toISOString(),
      dueDate: invoice.dueDate,
    };
    this.posted.set(invoice.idempotencyKey, answer);
    return answer;
  }
}

/** The CRM's semantics: one message per idempotency key; a refusal is PartnerRejected. */
class FakeCrm implements CustomerNotifier {
  readonly calls: CustomerMessage[] = [];
  readonly messages = new Map<string, CustomerMessage>();
  rejectNext: Error | undefined;

  async notify(message: CustomerMessage) {
    this.calls.push(message);
    if (this.rejectNext) {
      const error = this.rejectNext;
      this.rejectNext = undefined;
      throw error;
    }
    if (!this.messages.has(message.idempotencyKey)) this.messages.set(message.idempotencyKey, message);
    return { messageId: `MSG-${this.messages.size}`, status: 'queued' };
  }
}

/** Checks every event against its contract (RecordingPublisher); can refuse the next call. */
class FlakyPublisher extends RecordingPublisher {
  failNext = 0;

  override async publish(events: readonly CanonicalEvent[]): Promise<void> {
    if (this.failNext > 0) {
      this.failNext -= 1;
      throw new EventPublishFailed(events.map((e) => ({ detailType: e.name, code: 'InternalFailure' })));
    }
    await super.publish(events);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------------------

const ORDER_ID = 'ORD-1';

function canonicalOrder(overrides: Partial<CanonicalOrder> = {}): CanonicalOrder {
  return {
    orderId: ORDER_ID,
    source: { system: 'erp', reference: 'SO-100001' },
    channel: 'wholesale',
    serviceLevel: 'standard',
    customer: {
      id: 'C-1001',
      name: 'Northwind Hardware',
      segment: 'mid-market',
      priority: 'standard',
      terms: { paymentTerms: 'NET30', fulfilment: 'ship-partial' },
    },
    customerPo: 'PO-88123',
    shipTo: {
      name: 'Northwind Receiving',
      line1: '400 Commerce Way',
      city: 'Columbus',
      region: 'OH',
      postalCode: '43215',
      country: 'US',
      email: 'purchasing@northwind-hardware.example',
    },
    currency: 'USD',
    orderedAt: '2025-03-03T09:30:00Z',
    promiseDate: '2025-03-12',
    lines: [
      {
        lineNo: 1,
        sku: 'WIDGET-100',
        description: 'Adjustable pipe hanger bracket',
        quantity: 10,
        uom: 'EA',
        unitPrice: 12.5,
        unitCost: 8.1,
      },
      { lineNo: 2, sku: 'BOLT-M8', quantity: 100, uom: 'EA', unitPrice: 0.42, unitCost: 0.15 },
    ],
    ...overrides,
  };
}

const ALL_LINES = [
  { lineNo: 1, sku: 'WIDGET-100', quantity: 10 },
  { lineNo: 2, sku: 'BOLT-M8', quantity: 100 },
];

function orderAt(stage: OrderStage, order: CanonicalOrder = canonicalOrder()): OrderRecord {
  const path: OrderStage[] = ['received', 'accepted', 'credit-approved', 'allocated', 'released'];
  const reached = path.slice(0, path.indexOf(stage) + 1);
  return {
    orderId: order.orderId,
    order,
    stage,
    version: reached.length,
    payloadHash: 'sha256-of-payload',
    receivedAt: '2025-03-03T09:31:00Z',
    updatedAt: '2025-03-04T08:00:00Z',
    stageHistory: reached.map((s) => ({ stage: s, at: '2025-03-04T08:00:00Z', reasonCodes: [] })),
    path: 'standard-single-site',
    allocation: { status: 'full', siteId: 'DC-EAST', allocated: ALL_LINES, short: [] },
  };
}

function confirmed(overrides: Partial<ShipmentConfirmedDetail> = {}): ShipmentConfirmedDetail {
  const shipmentId = overrides.shipmentId ?? 'SHP-1';
  return {
    schemaVersion: 1,
    orderId: ORDER_ID,
    correlationId: ORDER_ID,
    idempotencyKey: `${ORDER_ID}:shipment:${shipmentId}`,
    occurredAt: '2025-03-10T14:05:00Z',
    shipmentId,
    siteId: 'DC-EAST',
    carrier: 'PCPT',
    trackingNumber: '1Z999AA10123456784',
    shippedAt: '2025-03-10T14:00:00Z',
    lines: ALL_LINES,
    partial: false,
    ...overrides,
  };
}

interface World {
  readonly orders: InMemoryOrders;
  readonly ledger: InMemoryLedger;
  readonly erp: FakeErp;
  readonly crm: FakeCrm;
  readonly events: FlakyPublisher;
  readonly exceptions: InMemoryExceptions;
  readonly deps: PostShipmentDeps;
}

function world(record: OrderRecord = orderAt('released')): World {
  const orders = new InMemoryOrders();
  orders.records.set(record.orderId, record);
  const ledger = new InMemoryLedger();
  const erp = new FakeErp();
  const crm = new FakeCrm();
  const events = new FlakyPublisher();
  const exceptions = new InMemoryExceptions();
  return {
    orders,
    ledger,
    erp,
    crm,
    events,
    exceptions,
    deps: { orders, ledger, invoices: erp, notifier: crm, events, exceptions, clock },
  };
}

/** The workflow as the state machine runs it: the event's detail checked at the edge, then four steps. */
async function runWorkflow(detail: ShipmentConfirmedDetail, deps: PostShipmentDeps) {
  const parsed = parseDetail('shipment.confirmed', detail);
  if (!parsed.ok) throw parsed.error;
  const key = { orderId: detail.orderId, shipmentId: detail.shipmentId };
  const recorded = await recordShipment(parsed.value, deps);
  const invoiced = await invoiceShipment(key, deps);
  const notified = await notifyShipment(key, deps);
  const closing = await closeIfComplete(detail.orderId, deps);
  return { recorded, invoiced, notified, closing };
}

async function failureOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected the step to fail, but it succeeded');
    },
    (error: unknown) => error,
  );
}

let w: World;
beforeEach(() => {
  w = world();
});

// ---------------------------------------------------------------------------------------------------------
// Paths
// ---------------------------------------------------------------------------------------------------------

describe('post-shipment: a full shipment', () => {
  it('records, invoices, notifies and closes the order', async () => {
    const result = await runWorkflow(confirmed(), w.deps);

    expect(result).toEqual({
      recorded: { orderId: ORDER_ID, shipmentId: 'SHP-1', stage: 'shipped', alreadyRecorded: false },
      invoiced: {
        orderId: ORDER_ID,
        shipmentId: 'SHP-1',
        invoiceId: 'INV-SHP-1',
        issued: true,
        stage: 'invoiced',
        total: 167,
        erpAmount: 167,
      },
      notified: {
        orderId: ORDER_ID,
        shipmentId: 'SHP-1',
        notificationId: 'ORD-1-shipped-SHP-1',
        notified: true,
        channel: 'email',
      },
      closing: { orderId: ORDER_ID, outcome: 'closed', stage: 'closed', linesOutstanding: 0 },
    });
    expect(w.orders.stagesAfterRelease(ORDER_ID)).toEqual(['shipped', 'invoiced', 'closed']);
    expect(
      w.orders.records
        .get(ORDER_ID)
        ?.stageHistory.slice(-3)
        .map((e) => e.reasonCodes),
    ).toEqual([
      ['SHIPMENT_CONFIRMED:SHP-1', 'SHIPMENT_COMPLETES_RELEASE'],
      ['INVOICE_ISSUED:INV-SHP-1'],
      ['FULLY_INVOICED'],
    ]);
  });

  it('posts one invoice to the ERP keyed by the invoice id, priced from the order', async () => {
    await runWorkflow(confirmed(), w.deps);

    expect(w.erp.calls).toHaveLength(1);
    expect(w.erp.calls[0]).toMatchObject({
      invoiceId: 'INV-SHP-1',
      idempotencyKey: 'INV-SHP-1',
      customerId: 'C-1001',
      currency: 'USD',
      paymentTerms: 'NET30',
      proofOfShipment: { carrier: 'PCPT', trackingNumber: '1Z999AA10123456784' },
      lines: [
        { lineNo: 1, sku: 'WIDGET-100', quantity: 10, unitPrice: 12.5, amount: 125 },
        { lineNo: 2, sku: 'BOLT-M8', quantity: 100, unitPrice: 0.42, amount: 42 },
      ],
      total: 167,
      dueDate: '2025-04-09',
    });
    const [invoice] = (await w.ledger.entries(ORDER_ID)).invoices;
    expect(invoice).toMatchObject({ invoiceId: 'INV-SHP-1', erpInvoiceId: 'ERP-INV-1', erpAmount: 167 });
  });

  it('publishes invoice.issued and order.closed with the envelope and stable idempotency keys', async () => {
    await runWorkflow(confirmed(), w.deps);

    expect(w.events.namesFor(ORDER_ID)).toEqual(['invoice.issued', 'order.closed']);
    expect(w.events.detailOf(ORDER_ID, 'invoice.issued')).toEqual({
      schemaVersion: 1,
      orderId: ORDER_ID,
      correlationId: ORDER_ID,
      idempotencyKey: 'INV-SHP-1',
      occurredAt: NOW.toISOString(),
      invoiceId: 'INV-SHP-1',
      shipmentId: 'SHP-1',
      amount: 167,
      currency: 'USD',
      lines: ALL_LINES,
    });
    expect(w.events.detailOf(ORDER_ID, 'order.closed')).toEqual({
      schemaVersion: 1,
      orderId: ORDER_ID,
      correlationId: ORDER_ID,
      idempotencyKey: 'ORD-1:closed',
      occurredAt: NOW.toISOString(),
      outcome: 'fulfilled',
      path: 'standard-single-site',
    });
  });

  it('sends the shipped notification through the CRM with the notification id as idempotency key', async () => {
    await runWorkflow(confirmed(), w.deps);

    expect(w.crm.calls).toHaveLength(1);
    expect(w.crm.calls[0]).toMatchObject({
      orderId: ORDER_ID,
      customerId: 'C-1001',
      channel: 'email',
      template: 'order-shipped',
      idempotencyKey: 'ORD-1-shipped-SHP-1',
      data: {
        recipient: 'purchasing@northwind-hardware.example',
        subject: 'Order ORD-1 (PO PO-88123) has shipped',
        carrier: 'PCPT',
        trackingNumber: '1Z999AA10123456784',
        shipmentId: 'SHP-1',
      },
    });
    expect(String(w.crm.calls[0]?.data.body)).toContain('10 x Adjustable pipe hanger bracket (WIDGET-100)');
    expect((await w.ledger.entries(ORDER_ID)).notifications).toEqual([
      {
        notificationId: 'ORD-1-shipped-SHP-1',
        shipmentId: 'SHP-1',
        outcome: 'sent',
        channel: 'email',
        messageId: 'MSG-1',
        at: NOW.toISOString(),
      },
    ]);
  });
});

describe('post-shipment: partial shipments', () => {
  const first = confirmed({
    shipmentId: 'SHP-1',
    partial: true,
    lines: [
      { lineNo: 1, sku: 'WIDGET-100', quantity: 10 },
      { lineNo: 2, sku: 'BOLT-M8', quantity: 40 },
    ],
  });
  const second = confirmed({
    shipmentId: 'SHP-2',
    partial: false,
    lines: [{ lineNo: 2, sku: 'BOLT-M8', quantity: 60 }],
  });

  it('the first leaves the order invoiced, awaiting the rest', async () => {
    const result = await runWorkflow(first, w.deps);

    expect(result.invoiced).toMatchObject({ invoiceId: 'INV-SHP-1', issued: true, stage: 'invoiced' });
    expect(result.closing).toEqual({
      orderId: ORDER_ID,
      outcome: 'awaiting-shipments',
      stage: 'invoiced',
      linesOutstanding: 1,
    });
    expect(w.events.namesFor(ORDER_ID)).toEqual(['invoice.issued']);
  });

  it('the second is invoiced on its own and closes the order', async () => {
    await runWorkflow(first, w.deps);
    const result = await runWorkflow(second, w.deps);

    expect(result.recorded).toMatchObject({ stage: 'shipped', alreadyRecorded: false });
    expect(result.invoiced).toMatchObject({ invoiceId: 'INV-SHP-2', issued: true, total: 25.2 });
    expect(result.closing).toMatchObject({ outcome: 'closed', stage: 'closed' });
    expect(w.orders.stagesAfterRelease(ORDER_ID)).toEqual([
      'shipped',
      'invoiced',
      'shipped',
      'invoiced',
      'closed',
    ]);
    expect(w.erp.calls.map((invoice) => [invoice.invoiceId, invoice.total])).toEqual([
      ['INV-SHP-1', 141.8],
      ['INV-SHP-2', 25.2],
    ]);
    expect(w.events.namesFor(ORDER_ID)).toEqual(['invoice.issued', 'invoice.issued', 'order.closed']);
    expect([...w.crm.messages.keys()]).toEqual(['ORD-1-shipped-SHP-1', 'ORD-1-shipped-SHP-2']);
  });

  it('a ship-partial order whose remainder is backordered is not complete: it stays invoiced', async () => {
    const backordered: OrderRecord = {
      ...orderAt('released'),
      allocation: {
        status: 'partial',
        siteId: 'DC-EAST',
        allocated: [
          { lineNo: 1, sku: 'WIDGET-100', quantity: 10 },
          { lineNo: 2, sku: 'BOLT-M8', quantity: 40 },
        ],
        short: [{ lineNo: 2, sku: 'BOLT-M8', requested: 100, available: 40, shortBy: 60 }],
      },
    };
    w = world(backordered);
    // Everything that was allocated ships: the ordered quantity of line 2 is still 60 short.
    const result = await runWorkflow({ ...first, partial: false }, w.deps);

    expect(result.closing).toMatchObject({ outcome: 'awaiting-shipments', linesOutstanding: 1 });
    expect(w.orders.stage(ORDER_ID)).toBe('invoiced');
    expect(w.events.namesFor(ORDER_ID)).not.toContain('order.closed');
  });

  it('two shipments recorded before either is invoiced: the order is invoiced when both are', async () => {
    await recordShipment(first, w.deps);
    await recordShipment(second, w.deps);
    const secondInvoiced = await invoiceShipment({ orderId: ORDER_ID, shipmentId: 'SHP-2' }, w.deps);
    expect(secondInvoiced).toMatchObject({ issued: true, stage: 'shipped' });

    const firstInvoiced = await invoiceShipment({ orderId: ORDER_ID, shipmentId: 'SHP-1' }, w.deps);
    expect(firstInvoiced).toMatchObject({ issued: true, stage: 'invoiced' });
    expect(await closeIfComplete(ORDER_ID, w.deps)).toMatchObject({ outcome: 'closed' });
  });

  it('two shipments invoiced side by side: one of them moves the order to invoiced, and it closes', async () => {
    await recordShipment(first, w.deps);
    await recordShipment(second, w.deps);
    // Two post-shipment workflows of one order in one instant (both confirmed at a carrier cut-off): each
    // reads the ledger before the other's invoice is recorded.
    const keys = ['SHP-1', 'SHP-2'].map((shipmentId) => ({ orderId: ORDER_ID, shipmentId }));
    const runs = await Promise.allSettled(keys.map((key) => invoiceShipment(key, w.deps)));
    // A run that lost the write to the other is retried by the state machine, as ConcurrentOrderUpdate is.
    for (const [i, run] of runs.entries()) {
      if (run.status === 'rejected') {
        expect(run.reason).toBeInstanceOf(ConcurrentOrderUpdate);
        expect(await invoiceShipment(keys[i] as (typeof keys)[number], w.deps)).toMatchObject({
          issued: false,
        });
      }
    }

    expect(w.orders.stage(ORDER_ID)).toBe('invoiced');
    expect(w.erp.calls.map((invoice) => invoice.invoiceId).sort()).toEqual(['INV-SHP-1', 'INV-SHP-2']);
    expect(await closeIfComplete(ORDER_ID, w.deps)).toMatchObject({ outcome: 'closed', stage: 'closed' });
  });

  it('closing between the other invoicer recording its invoice and moving the order still closes it', async () => {
    await recordShipment(first, w.deps);
    await recordShipment(second, w.deps);
    // Workflow A invoices SHP-1 while SHP-2 has no invoice yet: the order stays shipped.
    const keyA = { orderId: ORDER_ID, shipmentId: 'SHP-1' };
    const keyB = { orderId: ORDER_ID, shipmentId: 'SHP-2' };
    expect(await invoiceShipment(keyA, w.deps)).toMatchObject({ issued: true, stage: 'shipped' });
    // Workflow B records SHP-2's invoice and is held just before its move to invoiced...
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let reachedMove = () => {};
    const atMove = new Promise<void>((resolve) => {
      reachedMove = resolve;
    });
    const orders = w.deps.orders;
    const holdingOrders: typeof orders = Object.assign(Object.create(orders) as typeof orders, {
      transition: async (...args: Parameters<typeof orders.transition>) => {
        reachedMove();
        await held;
        return orders.transition(...args);
      },
    });
    const runB = invoiceShipment(keyB, { ...w.deps, orders: holdingOrders });
    await atMove;
    // ...when A's closing step runs: fully invoiced, still shipped. It makes the move B owes, then closes.
    expect(await closeIfComplete(ORDER_ID, w.deps)).toMatchObject({ outcome: 'closed', stage: 'closed' });
    expect(w.orders.stagesAfterRelease(ORDER_ID)).toEqual(['shipped', 'shipped', 'invoiced', 'closed']);

    // B's move, from the order it read before, loses to A's; its retry finds SHP-2 invoiced and the order closed.
    release();
    expect(await failureOf(runB)).toBeInstanceOf(ConcurrentOrderUpdate);
    expect(await invoiceShipment(keyB, w.deps)).toMatchObject({ issued: false, stage: 'closed' });
    expect(await closeIfComplete(ORDER_ID, w.deps)).toMatchObject({ outcome: 'closed' });
    expect(w.erp.calls.map((invoice) => invoice.invoiceId).sort()).toEqual(['INV-SHP-1', 'INV-SHP-2']);
    expect(w.events.namesFor(ORDER_ID).filter((name) => name === 'order.closed')).toHaveLength(1);
  });
});

describe('post-shipment: redelivery and retries', () => {
  it('an order delivered before its invoice moves to invoiced; one delivered after it stays delivered', async () => {
    const key = { orderId: ORDER_ID, shipmentId: 'SHP-1' };
    const deliver = async () => {
      const record = await w.orders.get(ORDER_ID);
      if (!record) throw new Error('order missing');
      await w.orders.transition(record, 'delivered', ['SHIPMENT_DELIVERED:SHP-1']);
    };
    await recordShipment(confirmed(), w.deps);
    await deliver();
    expect(await invoiceShipment(key, w.deps)).toMatchObject({ issued: true, stage: 'invoiced' });

    w = world();
    await recordShipment(confirmed(), w.deps);
    await invoiceShipment(key, w.deps);
    await deliver();
    expect(await invoiceShipment(key, w.deps)).toMatchObject({ issued: false, stage: 'delivered' });
    expect(await closeIfComplete(ORDER_ID, w.deps)).toMatchObject({ outcome: 'closed' });
  });

  it('a redelivered shipment.confirmed issues no second invoice and no second notification', async () => {
    await runWorkflow(confirmed(), w.deps);
    const again = await runWorkflow(confirmed(), w.deps);

    expect(again.recorded).toMatchObject({ stage: 'closed', alreadyRecorded: true });
    expect(again.invoiced).toMatchObject({ invoiceId: 'INV-SHP-1', issued: false, stage: 'closed' });
    expect(again.notified).toMatchObject({ notified: false, reason: 'ALREADY_SENT' });
    expect(again.closing).toMatchObject({ outcome: 'closed' });
    expect(w.erp.calls).toHaveLength(1);
    expect(w.crm.calls).toHaveLength(1);
    expect(w.events.namesFor(ORDER_ID)).toEqual(['invoice.issued', 'order.closed']);
    expect(w.orders.stagesAfterRelease(ORDER_ID)).toEqual(['shipped', 'invoiced', 'closed']);
  });

  it('of two overlapping runs for one shipment, the one that loses the ledger write is the absorbed duplicate', async () => {
    // Run A loads the order before run B moves it; B writes the ledger first. A still moves nothing twice,
    // and A (not B) reports the redelivery, so every duplicate is counted once.
    const ledger = w.deps.ledger;
    let raced = false;
    const racingLedger: typeof ledger = Object.assign(Object.create(ledger) as typeof ledger, {
      recordShipment: async (orderId: string, entry: Parameters<typeof ledger.recordShipment>[1]) => {
        if (!raced) {
          raced = true;
          await ledger.recordShipment(orderId, entry);
        }
        return ledger.recordShipment(orderId, entry);
      },
    });
    const a = await recordShipment(confirmed(), { ...w.deps, ledger: racingLedger });
    expect(a).toMatchObject({ stage: 'shipped', alreadyRecorded: true });
    expect(w.orders.stagesAfterRelease(ORDER_ID)).toEqual(['shipped']);
  });

  it('a redelivered partial shipment does not move the awaiting order back to shipped', async () => {
    const partial = confirmed({ partial: true, lines: [{ lineNo: 1, sku: 'WIDGET-100', quantity: 4 }] });
    await runWorkflow(partial, w.deps);
    const again = await runWorkflow(partial, w.deps);

    expect(again.recorded).toMatchObject({ stage: 'invoiced', alreadyRecorded: true });
    expect(again.closing).toMatchObject({ outcome: 'awaiting-shipments', stage: 'invoiced' });
    expect(w.orders.stagesAfterRelease(ORDER_ID)).toEqual(['shipped', 'invoiced']);
    expect(w.erp.calls).toHaveLength(1);
    expect(w.crm.calls).toHaveLength(1);
  });

  it('an invoice step retried after a failed publish re-posts with the same key: one ERP invoice, announced once', async () => {
    await recordShipment(confirmed(), w.deps);
    w.events.failNext = 1;
    const key = { orderId: ORDER_ID, shipmentId: 'SHP-1' };
    await expect(invoiceShipment(key, w.deps)).rejects.toBeInstanceOf(EventPublishFailed);
    expect(w.orders.stage(ORDER_ID)).toBe('shipped');

    const retried = await invoiceShipment(key, w.deps);
    expect(retried).toMatchObject({ issued: true, stage: 'invoiced' });
    expect(w.erp.calls.map((invoice) => invoice.idempotencyKey)).toEqual(['INV-SHP-1', 'INV-SHP-1']);
    expect(w.erp.posted.size).toBe(1);
    expect(w.events.namesFor(ORDER_ID)).toEqual(['invoice.issued']);
    expect((await w.ledger.entries(ORDER_ID)).invoices).toHaveLength(1);
  });

  it('a close retried after a failed publish announces order.closed once and closes', async () => {
    await recordShipment(confirmed(), w.deps);
    await invoiceShipment({ orderId: ORDER_ID, shipmentId: 'SHP-1' }, w.deps);
    w.events.failNext = 1;
    await expect(closeIfComplete(ORDER_ID, w.deps)).rejects.toBeInstanceOf(EventPublishFailed);
    expect(w.orders.stage(ORDER_ID)).toBe('invoiced');

    expect(await closeIfComplete(ORDER_ID, w.deps)).toMatchObject({ outcome: 'closed', stage: 'closed' });
    expect(w.events.namesFor(ORDER_ID)).toEqual(['invoice.issued', 'order.closed']);
  });
});

describe('post-shipment: refusals', () => {
  it('a shipment without a tracking number is ProofOfShipmentMissing, and nothing is recorded', async () => {
    const error = await failureOf(recordShipment(confirmed({ trackingNumber: '' }), w.deps));

    expect(error).toMatchObject({
      name: 'ProofOfShipmentMissing',
      retryable: false,
      field: 'shipment.trackingNumber',
    });
    expect(w.orders.stage(ORDER_ID)).toBe('released');
    expect((await w.ledger.entries(ORDER_ID)).shipments).toEqual([]);
  });

  it('the contract refuses the same event at the edge', () => {
    const parsed = parseDetail('shipment.confirmed', confirmed({ trackingNumber: '' }));
    expect(parsed.ok).toBe(false);
  });

  it.each<OrderStage>(['allocated', 'credit-approved'])(
    'a shipment for an order not yet released (%s) is IllegalStageTransition, and nothing is recorded',
    async (stage) => {
      w = world(orderAt(stage));
      const error = await failureOf(recordShipment(confirmed(), w.deps));

      expect(error).toBeInstanceOf(IllegalStageTransition);
      expect(error).toMatchObject({ name: 'IllegalStageTransition', from: stage, to: 'shipped' });
      expect(w.orders.stage(ORDER_ID)).toBe(stage);
      expect((await w.ledger.entries(ORDER_ID)).shipments).toEqual([]);
    },
  );

  it('a new shipment for a closed order is IllegalStageTransition (nothing left to ship)', async () => {
    await runWorkflow(confirmed(), w.deps);
    const error = await failureOf(recordShipment(confirmed({ shipmentId: 'SHP-9' }), w.deps));
    expect(error).toMatchObject({ name: 'IllegalStageTransition', from: 'closed', to: 'shipped' });
  });

  it('an unknown order is OrderNotFound', async () => {
    const error = await failureOf(recordShipment(confirmed({ orderId: 'ORD-404' }), w.deps));
    expect(error).toBeInstanceOf(OrderNotFound);
  });

  it('invoicing a shipment that was never recorded is ShipmentNotRecorded', async () => {
    const error = await failureOf(invoiceShipment({ orderId: ORDER_ID, shipmentId: 'SHP-7' }, w.deps));
    expect(error).toBeInstanceOf(ShipmentNotRecorded);
    expect(error).toMatchObject({ name: 'ShipmentNotRecorded', retryable: false, shipmentId: 'SHP-7' });
    expect(w.erp.calls).toHaveLength(0);
  });

  it('a shipment past the ordered quantity is OverInvoicing: nothing posted, the order stays shipped', async () => {
    await runWorkflow(
      confirmed({ partial: true, lines: [{ lineNo: 1, sku: 'WIDGET-100', quantity: 8 }] }),
      w.deps,
    );
    const extra = confirmed({ shipmentId: 'SHP-2', lines: [{ lineNo: 1, sku: 'WIDGET-100', quantity: 3 }] });
    await recordShipment(extra, w.deps);
    const error = await failureOf(invoiceShipment({ orderId: ORDER_ID, shipmentId: 'SHP-2' }, w.deps));

    expect(error).toMatchObject({ name: 'OverInvoicing', retryable: false });
    expect(w.erp.calls).toHaveLength(1);
    expect(w.orders.stage(ORDER_ID)).toBe('shipped');
  });
});

describe('post-shipment: an order parked after its release reached the warehouse', () => {
  const RELEASE_FAILED = 'EXC-ORD-1-STEP-release';
  const EARLIER = 'EXC-ORD-1-STEP-credit';

  function stepFailure(exceptionId: string, stage: OrderStage, step: string): OwnedException {
    return {
      exceptionId,
      type: 'integration-failure',
      ownerTeam: 'integration',
      priority: 'high',
      state: 'open',
      stage,
      orderId: ORDER_ID,
      correlationId: ORDER_ID,
      raisedAt: '2025-03-10T09:00:00Z',
      slaDueAt: '2025-03-10T11:00:00Z',
      recommendedAction: 'The step timed out: check the partner latency and the function logs, then redrive.',
      reasonCodes: [`STEP_FAILED:${step}`],
      context: { failedStep: step, error: 'States.Timeout', stageAtFailure: stage },
      audit: [
        { at: '2025-03-10T09:00:00Z', actor: 'handoff:step-failure', action: 'raised', why: 'timeout' },
      ],
    };
  }

  /** Allocated, then parked by a failed release; an older step failure from before allocation still open. */
  function parked(history: readonly OrderStage[] = ['received', 'accepted', 'credit-approved', 'allocated']) {
    const base = orderAt('allocated');
    w = world({
      ...base,
      stage: 'exception',
      version: history.length + 1,
      stageHistory: [...history, 'exception' as const].map((stage) => ({
        stage,
        at: '2025-03-10T09:00:00Z',
        reasonCodes: stage === 'exception' ? ['STEP_FAILED:ReleaseToWarehouse'] : [],
      })),
      exceptionIds: [EARLIER, RELEASE_FAILED],
    });
    w.exceptions.items.set(EARLIER, stepFailure(EARLIER, 'credit-approved', 'CheckCredit'));
    w.exceptions.items.set(RELEASE_FAILED, stepFailure(RELEASE_FAILED, 'allocated', 'ReleaseToWarehouse'));
  }

  const resolvedEvents = () => w.events.published.filter((event) => event.name === 'exception.resolved');

  it('ships, invoices and closes it, and resolves the release failure the shipment answers', async () => {
    parked();
    const result = await runWorkflow(confirmed(), w.deps);

    expect(result.recorded).toEqual({
      orderId: ORDER_ID,
      shipmentId: 'SHP-1',
      stage: 'shipped',
      alreadyRecorded: false,
      resolvedExceptions: [RELEASE_FAILED],
    });
    expect(result.invoiced).toMatchObject({ invoiceId: 'INV-SHP-1', issued: true });
    expect(result.closing.outcome).toBe('closed');
    const history = w.orders.records.get(ORDER_ID)?.stageHistory ?? [];
    expect(history.map((entry) => entry.stage).slice(-4)).toEqual([
      'exception',
      'shipped',
      'invoiced',
      'closed',
    ]);
    expect(history.at(-3)?.reasonCodes).toEqual([
      'SHIPMENT_CONFIRMED:SHP-1',
      'SHIPMENT_COMPLETES_RELEASE',
      SHIPMENT_RECONCILES_EXCEPTION,
    ]);

    const answered = w.exceptions.items.get(RELEASE_FAILED);
    expect(answered).toMatchObject({
      state: 'resolved',
      resolution: {
        outcome: 'approve',
        closedAs: 'resolved',
        decidedBy: SHIPMENT_CONFIRMATION_ACTOR,
        decidedAt: NOW.toISOString(),
        reason: 'the warehouse confirmed shipment SHP-1: the release had reached it',
        tier: 0,
      },
    });
    expect(answered?.audit.at(-1)).toEqual({
      at: NOW.toISOString(),
      actor: SHIPMENT_CONFIRMATION_ACTOR,
      action: 'resolved',
      why: 'the warehouse confirmed shipment SHP-1: the release had reached it',
    });
    // A failure from before allocation is not what the shipment answers: its owner still has it.
    expect(w.exceptions.items.get(EARLIER)?.state).toBe('open');
    expect(resolvedEvents().map((event) => event.detail)).toEqual([
      expect.objectContaining({
        exceptionId: RELEASE_FAILED,
        idempotencyKey: `${RELEASE_FAILED}:resolved`,
        resolution: 'resolved',
        resolvedBy: SHIPMENT_CONFIRMATION_ACTOR,
      }),
    ]);
  });

  it('refuses a shipment for a parked order that never had stock allocated, and records nothing', async () => {
    parked(['received', 'accepted']);
    const error = await failureOf(recordShipment(confirmed(), w.deps));

    expect(error).toMatchObject({ name: 'IllegalStageTransition', from: 'exception', to: 'shipped' });
    expect(w.orders.stage(ORDER_ID)).toBe('exception');
    expect((await w.ledger.entries(ORDER_ID)).shipments).toEqual([]);
    expect(w.exceptions.items.get(RELEASE_FAILED)?.state).toBe('open');
  });

  it('a retry after the announcement failed announces it, without a second resolution or stage move', async () => {
    parked();
    w.events.failNext = 1;
    const error = await failureOf(recordShipment(confirmed(), w.deps));
    expect(error).toMatchObject({ name: 'EventPublishFailed' });
    expect(w.exceptions.items.get(RELEASE_FAILED)?.state).toBe('resolved');
    expect(resolvedEvents()).toEqual([]);

    const retried = await recordShipment(confirmed(), w.deps);

    expect(retried).toMatchObject({
      stage: 'shipped',
      alreadyRecorded: true,
      resolvedExceptions: [RELEASE_FAILED],
    });
    expect(resolvedEvents()).toHaveLength(1);
    expect(w.exceptions.items.get(RELEASE_FAILED)?.audit).toHaveLength(2);
    const shippedEntries = w.orders.records.get(ORDER_ID)?.stageHistory.filter((e) => e.stage === 'shipped');
    expect(shippedEntries).toHaveLength(1);
  });

  it('leaves a decision a person made first as it is, and announces nothing for it', async () => {
    parked();
    const failure = w.exceptions.items.get(RELEASE_FAILED) as OwnedException;
    await w.exceptions.resolve(failure, {
      outcome: 'reject',
      closedAs: 'cancelled',
      decidedBy: 'ops.integration',
      decidedAt: '2025-03-10T12:00:00Z',
      reason: 'duplicate of a case handled by phone',
      tier: 1,
    });

    const result = await recordShipment(confirmed(), w.deps);

    expect(result).toEqual({
      orderId: ORDER_ID,
      shipmentId: 'SHP-1',
      stage: 'shipped',
      alreadyRecorded: false,
    });
    expect(w.exceptions.items.get(RELEASE_FAILED)?.resolution?.decidedBy).toBe('ops.integration');
    expect(resolvedEvents()).toEqual([]);
  });

  it('a shipment for an order that is not parked resolves nothing, even with a step failure on record', async () => {
    w = world({ ...orderAt('released'), exceptionIds: [RELEASE_FAILED] });
    w.exceptions.items.set(RELEASE_FAILED, stepFailure(RELEASE_FAILED, 'allocated', 'ReleaseToWarehouse'));

    const result = await recordShipment(confirmed(), w.deps);

    expect(result.resolvedExceptions).toBeUndefined();
    expect(w.exceptions.items.get(RELEASE_FAILED)?.state).toBe('open');
  });
});

describe('post-shipment: customer notification', () => {
  it('no usable contact is recorded as NO_CONTACT, not a failure, and the workflow still closes', async () => {
    const { email: _none, ...shipTo } = canonicalOrder().shipTo;
    w = world(orderAt('released', canonicalOrder({ shipTo })));
    const result = await runWorkflow(confirmed(), w.deps);

    expect(result.notified).toEqual({
      orderId: ORDER_ID,
      shipmentId: 'SHP-1',
      notificationId: 'ORD-1-shipped-SHP-1',
      notified: false,
      reason: 'NO_CONTACT',
    });
    expect(w.crm.calls).toHaveLength(0);
    expect((await w.ledger.entries(ORDER_ID)).notifications).toEqual([
      {
        notificationId: 'ORD-1-shipped-SHP-1',
        shipmentId: 'SHP-1',
        outcome: 'skipped',
        reason: 'NO_CONTACT',
        at: NOW.toISOString(),
      },
    ]);
    expect(result.closing).toMatchObject({ outcome: 'closed' });
  });

  it('a repeat of a skipped notification returns the recorded reason and records nothing new', async () => {
    const { email: _none, ...shipTo } = canonicalOrder().shipTo;
    w = world(orderAt('released', canonicalOrder({ shipTo })));
    await runWorkflow(confirmed(), w.deps);
    const again = await notifyShipment({ orderId: ORDER_ID, shipmentId: 'SHP-1' }, w.deps);

    expect(again).toMatchObject({ notified: false, reason: 'NO_CONTACT' });
    expect((await w.ledger.entries(ORDER_ID)).notifications).toHaveLength(1);
  });

  it('a direct-to-customer order with only a phone is told by SMS', async () => {
    const { email: _none, ...shipTo } = canonicalOrder().shipTo;
    w = world(
      orderAt(
        'released',
        canonicalOrder({ channel: 'direct-to-customer', shipTo: { ...shipTo, phone: '+16145550101' } }),
      ),
    );
    const result = await runWorkflow(confirmed(), w.deps);

    expect(result.notified).toMatchObject({ notified: true, channel: 'sms' });
    expect(w.crm.calls[0]).toMatchObject({ channel: 'sms', data: { recipient: '+16145550101' } });
  });

  it('a CRM refusal surfaces as PartnerRejected with nothing recorded; a later run sends once', async () => {
    await recordShipment(confirmed(), w.deps);
    const key = { orderId: ORDER_ID, shipmentId: 'SHP-1' };
    w.crm.rejectNext = new PartnerRejected('crm', 'POST /notifications answered 422: NO_CONTACT_POINT', 422);
    const error = await failureOf(notifyShipment(key, w.deps));

    expect(error).toMatchObject({ name: 'PartnerRejected', partner: 'crm', status: 422 });
    expect((await w.ledger.entries(ORDER_ID)).notifications).toEqual([]);

    expect(await notifyShipment(key, w.deps)).toMatchObject({ notified: true });
    expect(w.crm.messages.size).toBe(1);
  });
});

describe('post-shipment: closing', () => {
  it('fully invoiced while a further shipment awaits its invoice is IllegalStageTransition for a person', async () => {
    await recordShipment(confirmed(), w.deps);
    // The warehouse confirms more than was ordered: recorded (goods left), never invoiceable.
    await recordShipment(
      confirmed({ shipmentId: 'SHP-2', lines: [{ lineNo: 1, sku: 'WIDGET-100', quantity: 1 }] }),
      w.deps,
    );
    expect(await invoiceShipment({ orderId: ORDER_ID, shipmentId: 'SHP-1' }, w.deps)).toMatchObject({
      issued: true,
      stage: 'shipped',
    });

    const error = await failureOf(closeIfComplete(ORDER_ID, w.deps));
    expect(error).toMatchObject({ name: 'IllegalStageTransition', from: 'shipped', to: 'closed' });
    expect(w.events.namesFor(ORDER_ID)).not.toContain('order.closed');
  });

  it('a closed order stays closed and announces nothing more', async () => {
    await runWorkflow(confirmed(), w.deps);
    expect(await closeIfComplete(ORDER_ID, w.deps)).toEqual({
      orderId: ORDER_ID,
      outcome: 'closed',
      stage: 'closed',
      linesOutstanding: 0,
    });
    expect(w.events.namesFor(ORDER_ID).filter((name) => name === 'order.closed')).toHaveLength(1);
  });
});
