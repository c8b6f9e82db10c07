import { readFileSync } from 'node:fs';
import { StateMachine } from 'aws-local-stepfunctions';
import { beforeEach, describe, expect, it } from 'vitest';
import { parseDetail } from '../../../contracts/events.ts';
import type { CanonicalOrder, OrderLine } from '../../../contracts/order.ts';
import type { OrderStage } from '../../../contracts/vocabulary.ts';
import type {
  PurchaseOrder,
  VendorConfirmation,
  VendorShipNotice,
} from '../../../lambdas/adapters/vendor/vendor-client.ts';
import { canTransition } from '../../../lambdas/core/order-lifecycle.ts';
import type {
  Clock,
  DropShipOrders,
  OrderPatch,
  OrderRecord,
  PurchasingPort,
  VendorSourcing,
  VendorSourcingPort,
} from '../../../lambdas/ports/index.ts';
import {
  ConcurrentOrderUpdate,
  IllegalStageTransition,
  OrderNotFound,
  PartnerRejected,
  PartnerUnavailable,
  UnsourcedDropShipLine,
} from '../../../lambdas/shared/errors.ts';
import {
  confirmVendorShipment,
  type DropShipDeps,
  groupLinesByVendor,
  judgeVendorConfirmations,
  placeVendorOrders,
} from '../../../lambdas/use-cases/drop-ship.ts';
import { InMemoryExceptions } from '../../support/in-memory-exceptions.ts';
import { RecordingPublisher } from '../../support/recording-publisher.ts';

// ---------------------------------------------------------------------------------------------------------
// In-memory fakes of the ports
// ---------------------------------------------------------------------------------------------------------

const NOW = new Date('2026-11-23T09:00:00Z');
const clock: Clock = { now: () => NOW };

/** The order table's semantics: legal moves only, optimistic lock on version, history appended. */
class InMemoryOrders implements DropShipOrders {
  readonly records = new Map<string, OrderRecord>();
  writes = 0;

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
    if (!canTransition(current.stage, to)) {
      throw new IllegalStageTransition(current.orderId, current.stage, to);
    }
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
    const { addExceptionId, ...fields } = patch;
    const at = clock.now().toISOString();
    const next: OrderRecord = {
      ...stored,
      ...fields,
      version: stored.version + 1,
      updatedAt: at,
      ...(addExceptionId ? { exceptionIds: [...(stored.exceptionIds ?? []), addExceptionId] } : {}),
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
    this.writes += 1;
    this.records.set(current.orderId, next);
    return next;
  }

  stage(orderId: string): OrderStage | undefined {
    return this.records.get(orderId)?.stage;
  }

  /** Moves an order outside the use case (another step of the path). */
  move(orderId: string, to: OrderStage): void {
    const record = this.records.get(orderId);
    if (!record) throw new OrderNotFound(orderId);
    this.records.set(orderId, { ...record, stage: to, version: record.version + 1 });
  }
}

/** Idempotent on exception id, as the DynamoDB exception table is. */
/** The ERP item master's sourcing fields for the seed catalogue's drop-ship and stocked items. */
class FakeSourcing implements VendorSourcingPort {
  readonly calls: string[][] = [];
  readonly items = new Map<string, VendorSourcing>([
    [
      'PUMP-SUB-75',
      { sku: 'PUMP-SUB-75', supplyType: 'drop-ship', vendorId: 'V-AQUADRIVE', leadTimeDays: 5 },
    ],
    [
      'TANK-PRESS-80',
      { sku: 'TANK-PRESS-80', supplyType: 'drop-ship', vendorId: 'V-TANKWORKS', leadTimeDays: 7 },
    ],
    ['WIDGET-100', { sku: 'WIDGET-100', supplyType: 'stock', vendorId: null, leadTimeDays: null }],
  ]);

  async getVendorSourcing(skus: readonly string[]): Promise<ReadonlyMap<string, VendorSourcing>> {
    this.calls.push([...skus]);
    const found = new Map<string, VendorSourcing>();
    for (const sku of skus) {
      const item = this.items.get(sku);
      if (item) found.set(sku, item);
    }
    return found;
  }
}

type VendorAnswer =
  | { readonly kind: 'accept'; readonly shipDate?: string; readonly estimatedDelivery?: string }
  | { readonly kind: 'reject-line'; readonly lineNo: number; readonly reason: string }
  | { readonly kind: 'reschedule'; readonly shipDate: string; readonly estimatedDelivery: string };

/** Vendors that acknowledge at once, one purchase order per idempotency key (a resend replays it). */
class FakeVendors implements PurchasingPort {
  readonly calls: PurchaseOrder[] = [];
  readonly placed = new Map<string, VendorConfirmation>();
  readonly answers = new Map<string, VendorAnswer>();
  readonly failures = new Map<string, Error[]>();

  async placePurchaseOrder(order: PurchaseOrder): Promise<VendorConfirmation> {
    this.calls.push(order);
    const failure = this.failures.get(order.vendorId)?.shift();
    if (failure) throw failure;
    const replay = this.placed.get(order.idempotencyKey);
    if (replay) return replay;
    const answer = this.answers.get(order.vendorId) ?? { kind: 'accept' };
    const shipDate = answer.kind === 'reject-line' ? '2026-11-30' : (answer.shipDate ?? '2026-11-30');
    const estimatedDelivery =
      answer.kind === 'reject-line' ? '2026-12-03' : (answer.estimatedDelivery ?? '2026-12-03');
    const lines = order.lines.map((line) => {
      const rejected = answer.kind === 'reject-line' && answer.lineNo === line.lineNo;
      return {
        lineNo: line.lineNo,
        sku: line.sku,
        quantity: line.quantity,
        acceptedQuantity: rejected ? 0 : line.quantity,
        status: rejected
          ? ('rejected' as const)
          : answer.kind === 'reschedule'
            ? ('rescheduled' as const)
            : ('accepted' as const),
        shipDate: rejected ? null : shipDate,
        reason: rejected && answer.kind === 'reject-line' ? answer.reason : null,
      };
    });
    const allRejected = lines.every((line) => line.status === 'rejected');
    const confirmation: VendorConfirmation = {
      vendorId: order.vendorId,
      purchaseOrderNumber: order.purchaseOrderNumber,
      vendorOrderRef: `${order.vendorId.slice(2, 5)}-SO-${String(this.placed.size + 1).padStart(6, '0')}`,
      status: allRejected ? 'rejected' : answer.kind === 'accept' ? 'accepted' : 'accepted-with-changes',
      lines,
      shipDate: allRejected ? null : shipDate,
      estimatedDelivery: allRejected ? null : estimatedDelivery,
    };
    this.placed.set(order.idempotencyKey, confirmation);
    return confirmation;
  }

  callsFor(vendorId: string): PurchaseOrder[] {
    return this.calls.filter((call) => call.vendorId === vendorId);
  }
}

// ---------------------------------------------------------------------------------------------------------
// The world: an order, the fakes, the deps
// ---------------------------------------------------------------------------------------------------------

const PUMP: OrderLine = {
  lineNo: 10,
  sku: 'PUMP-SUB-75',
  description: 'Submersible well pump 7.5 kW',
  quantity: 1,
  uom: 'EA',
  unitPrice: 2480,
  unitCost: 1850,
  dropShip: true,
  oversize: true,
};
const TANK: OrderLine = {
  lineNo: 20,
  sku: 'TANK-PRESS-80',
  quantity: 2,
  uom: 'EA',
  unitPrice: 845,
  unitCost: 610,
  dropShip: true,
  oversize: true,
};

function canonicalOrder(orderId: string, overrides: Partial<CanonicalOrder> = {}): CanonicalOrder {
  return {
    orderId,
    source: { system: 'erp', reference: `SO-${orderId}` },
    channel: 'wholesale',
    serviceLevel: 'standard',
    customer: {
      id: 'C-6006',
      name: 'Summit Irrigation & Wells',
      segment: 'small-business',
      priority: 'preferred',
      terms: { paymentTerms: 'NET30', fulfilment: 'ship-complete' },
    },
    shipTo: {
      name: 'Summit Irrigation & Wells',
      line1: '40 Quarry Road',
      city: 'Madison',
      region: 'WI',
      postalCode: '53703',
      country: 'US',
      phone: '+16085550123',
    },
    currency: 'USD',
    orderedAt: '2026-11-23T08:00:00Z',
    promiseDate: '2026-12-11',
    lines: [PUMP, TANK],
    ...overrides,
  };
}

class World {
  readonly orders = new InMemoryOrders();
  readonly exceptions = new InMemoryExceptions();
  readonly sourcing = new FakeSourcing();
  readonly vendors = new FakeVendors();
  readonly events = new RecordingPublisher();

  get deps(): DropShipDeps {
    return {
      orders: this.orders,
      exceptions: this.exceptions,
      sourcing: this.sourcing,
      vendors: this.vendors,
      events: this.events,
      clock,
    };
  }

  order(orderId: string, options: { stage?: OrderStage; order?: Partial<CanonicalOrder> } = {}): OrderRecord {
    const record: OrderRecord = {
      orderId,
      order: canonicalOrder(orderId, options.order),
      stage: options.stage ?? 'credit-approved',
      version: 1,
      payloadHash: 'hash',
      receivedAt: '2026-11-23T08:00:00Z',
      updatedAt: '2026-11-23T08:00:00Z',
      stageHistory: [],
      path: 'drop-ship',
      executionName: orderId,
    };
    this.orders.records.set(orderId, record);
    return record;
  }

  stagesEntered(orderId: string): OrderStage[] {
    return (this.orders.records.get(orderId)?.stageHistory ?? []).map((entry) => entry.stage);
  }
}

let world: World;
beforeEach(() => {
  world = new World();
});

// ---------------------------------------------------------------------------------------------------------
// The rules: grouping and judging (pure)
// ---------------------------------------------------------------------------------------------------------

describe('groupLinesByVendor', () => {
  it('groups lines by the vendor the item master names, vendors in name order', () => {
    const sourcing = world.sourcing.items;
    const extraPump = { ...PUMP, lineNo: 30, quantity: 3 };

    const groups = groupLinesByVendor('ORD-1', [TANK, PUMP, extraPump], sourcing);

    expect(groups.map((g) => [g.vendorId, g.lines.map((l) => l.lineNo)])).toEqual([
      ['V-AQUADRIVE', [10, 30]],
      ['V-TANKWORKS', [20]],
    ]);
  });

  it('refuses a line that is not drop-shipped, an unknown item, and a stocked item', () => {
    const sourcing = world.sourcing.items;
    const stocked = { ...PUMP, lineNo: 30, sku: 'WIDGET-100' };

    expect(() => groupLinesByVendor('ORD-1', [{ ...PUMP, dropShip: false }], sourcing)).toThrow(
      'order ORD-1 line 10 (PUMP-SUB-75) is not a drop-ship line',
    );
    expect(() => groupLinesByVendor('ORD-1', [{ ...PUMP, sku: 'PUMP-NEW' }], sourcing)).toThrow(
      'is not in the ERP item master',
    );
    expect(() => groupLinesByVendor('ORD-1', [stocked], sourcing)).toThrow(UnsourcedDropShipLine);
  });
});

describe('judgeVendorConfirmations', () => {
  const confirmation = (overrides: Partial<VendorConfirmation> = {}): VendorConfirmation => ({
    vendorId: 'V-AQUADRIVE',
    purchaseOrderNumber: 'ORD-1-V-AQUADRIVE',
    vendorOrderRef: 'AQD-SO-000001',
    status: 'accepted',
    lines: [
      {
        lineNo: 10,
        sku: 'PUMP-SUB-75',
        quantity: 1,
        acceptedQuantity: 1,
        status: 'accepted',
        shipDate: '2026-11-30',
        reason: null,
      },
    ],
    shipDate: '2026-11-30',
    estimatedDelivery: '2026-12-03',
    ...overrides,
  });
  const order = { lines: [PUMP], promiseDate: '2026-12-11' };

  it('hands over when every line is accepted in full and delivered by the promise date', () => {
    expect(judgeVendorConfirmations(order, [confirmation()])).toEqual({
      outcome: 'handed-to-vendor',
      rejected: [],
      late: [],
      shipBy: '2026-11-30',
      reasonCodes: ['PURCHASE_ORDER_CONFIRMED:V-AQUADRIVE'],
    });
  });

  it('accepts a rescheduled date that still meets the promise, and says so', () => {
    const [line] = confirmation().lines;
    const rescheduled = confirmation({
      status: 'accepted-with-changes',
      lines: line ? [{ ...line, status: 'rescheduled', shipDate: '2026-12-04' }] : [],
      shipDate: '2026-12-04',
      estimatedDelivery: '2026-12-11',
    });

    const verdict = judgeVendorConfirmations(order, [rescheduled]);

    expect(verdict.outcome).toBe('handed-to-vendor');
    expect(verdict.reasonCodes).toEqual([
      'PURCHASE_ORDER_CONFIRMED:V-AQUADRIVE',
      'VENDOR_RESCHEDULED_WITHIN_PROMISE:V-AQUADRIVE',
    ]);
  });

  it('is a vendor exception for a date past the promise, a short acceptance or a missing line', () => {
    const [line] = confirmation().lines;
    const late = confirmation({ estimatedDelivery: '2026-12-14' });
    const short = confirmation({ lines: line ? [{ ...line, acceptedQuantity: 0 }] : [] });
    const silent = confirmation({ lines: [] });

    expect(judgeVendorConfirmations(order, [late])).toMatchObject({
      outcome: 'vendor-exception',
      late: [{ vendorId: 'V-AQUADRIVE', purchaseOrderNumber: 'ORD-1-V-AQUADRIVE', date: '2026-12-14' }],
      reasonCodes: ['VENDOR_DATE_PAST_PROMISE:V-AQUADRIVE'],
    });
    expect(judgeVendorConfirmations(order, [short]).rejected).toEqual([
      expect.objectContaining({ lineNo: 10, acceptedQuantity: 0, reason: 'SHORT_ACCEPTED' }),
    ]);
    expect(judgeVendorConfirmations(order, [silent]).rejected).toEqual([
      expect.objectContaining({ lineNo: 10, reason: 'NOT_ACKNOWLEDGED' }),
    ]);
  });
});

// ---------------------------------------------------------------------------------------------------------
// placeVendorOrders
// ---------------------------------------------------------------------------------------------------------

describe('placeVendorOrders', () => {
  it('sends one purchase order per vendor, keyed per order and vendor, in vendor terms of the order', async () => {
    world.order('ORD-1');

    await placeVendorOrders('ORD-1', world.deps);

    expect(world.sourcing.calls).toEqual([['PUMP-SUB-75', 'TANK-PRESS-80']]);
    expect(world.vendors.calls).toEqual([
      {
        purchaseOrderNumber: 'ORD-1-V-AQUADRIVE',
        vendorId: 'V-AQUADRIVE',
        orderId: 'ORD-1',
        currency: 'USD',
        requestedDeliveryDate: '2026-12-11',
        shipTo: canonicalOrder('ORD-1').shipTo,
        lines: [{ lineNo: 10, sku: 'PUMP-SUB-75', quantity: 1, unitCost: 1850 }],
        idempotencyKey: 'ORD-1:purchase-order:V-AQUADRIVE',
      },
      expect.objectContaining({
        purchaseOrderNumber: 'ORD-1-V-TANKWORKS',
        vendorId: 'V-TANKWORKS',
        lines: [{ lineNo: 20, sku: 'TANK-PRESS-80', quantity: 2, unitCost: 610 }],
        idempotencyKey: 'ORD-1:purchase-order:V-TANKWORKS',
      }),
    ]);
  });

  it('all confirmed in time: records the purchase orders, allocates at the vendors and releases to them', async () => {
    world.order('ORD-1');

    const result = await placeVendorOrders('ORD-1', world.deps);

    expect(result).toEqual({
      outcome: 'handed-to-vendor',
      exceptionId: null,
      purchaseOrders: [
        {
          vendorId: 'V-AQUADRIVE',
          purchaseOrderNumber: 'ORD-1-V-AQUADRIVE',
          vendorOrderRef: 'AQU-SO-000001',
          status: 'accepted',
          shipDate: '2026-11-30',
        },
        {
          vendorId: 'V-TANKWORKS',
          purchaseOrderNumber: 'ORD-1-V-TANKWORKS',
          vendorOrderRef: 'TAN-SO-000002',
          status: 'accepted',
          shipDate: '2026-11-30',
        },
      ],
      reasonCodes: ['PURCHASE_ORDER_CONFIRMED:V-AQUADRIVE', 'PURCHASE_ORDER_CONFIRMED:V-TANKWORKS'],
    });
    const record = world.orders.records.get('ORD-1');
    expect(world.stagesEntered('ORD-1')).toEqual(['allocated', 'released']);
    expect(record?.purchaseOrders?.map((po) => [po.vendorId, po.status, po.placedAt])).toEqual([
      ['V-AQUADRIVE', 'accepted', NOW.toISOString()],
      ['V-TANKWORKS', 'accepted', NOW.toISOString()],
    ]);
    expect(record?.allocation).toEqual({
      status: 'full',
      siteId: 'V-AQUADRIVE',
      allocated: [
        { lineNo: 10, sku: 'PUMP-SUB-75', quantity: 1 },
        { lineNo: 20, sku: 'TANK-PRESS-80', quantity: 2 },
      ],
      short: [],
      reservationId: 'AQU-SO-000001',
      shipments: [
        {
          siteId: 'V-AQUADRIVE',
          lines: [{ lineNo: 10, sku: 'PUMP-SUB-75', quantity: 1 }],
          reservationId: 'AQU-SO-000001',
        },
        {
          siteId: 'V-TANKWORKS',
          lines: [{ lineNo: 20, sku: 'TANK-PRESS-80', quantity: 2 }],
          reservationId: 'TAN-SO-000002',
        },
      ],
    });
    expect(record?.release).toEqual({
      action: 'release',
      releaseAt: NOW.toISOString(),
      shipBy: '2026-11-30',
      priority: 350,
      releaseId: 'AQU-SO-000001,TAN-SO-000002',
    });
    expect(world.events.namesFor('ORD-1')).toEqual([
      'allocation.confirmed',
      'allocation.confirmed',
      'warehouse.released',
      'warehouse.released',
    ]);
    expect(world.events.detailOf('ORD-1', 'allocation.confirmed')).toMatchObject({
      idempotencyKey: 'ORD-1:allocation:confirmed:V-AQUADRIVE',
      siteId: 'V-AQUADRIVE',
      partial: true,
      reservationId: 'AQU-SO-000001',
    });
    // Handed to the vendors' warehouses: the allocation→release SLA clock stops, the ASN clock starts.
    expect(world.events.detailOf('ORD-1', 'warehouse.released')).toMatchObject({
      idempotencyKey: 'ORD-1:release:V-AQUADRIVE',
      siteId: 'V-AQUADRIVE',
      releaseId: 'AQU-SO-000001',
      shipBy: '2026-11-30',
      priority: 350,
      reasonCodes: ['HANDED_TO_VENDOR'],
    });
  });

  it('a single-vendor order is one purchase order and a full allocation', async () => {
    world.order('ORD-1', { order: { lines: [PUMP] } });

    await placeVendorOrders('ORD-1', world.deps);

    expect(world.vendors.calls).toHaveLength(1);
    expect(world.events.detailOf('ORD-1', 'allocation.confirmed')).toMatchObject({ partial: false });
  });

  it('a vendor rejecting a line parks the order with customer service, with what each vendor answered', async () => {
    world.order('ORD-1');
    world.vendors.answers.set('V-TANKWORKS', { kind: 'reject-line', lineNo: 20, reason: 'OUT_OF_STOCK' });

    const result = await placeVendorOrders('ORD-1', world.deps);

    expect(result).toMatchObject({
      outcome: 'vendor-exception',
      exceptionId: 'EXC-ORD-1-VENDOR',
      reasonCodes: ['VENDOR_REJECTED_LINE:20'],
    });
    expect(world.orders.stage('ORD-1')).toBe('exception');
    expect(world.orders.records.get('ORD-1')?.exceptionIds).toEqual(['EXC-ORD-1-VENDOR']);
    const exception = world.exceptions.items.get('EXC-ORD-1-VENDOR');
    expect(exception).toMatchObject({
      type: 'shortage',
      ownerTeam: 'customer-service',
      priority: 'normal',
      state: 'open',
      stage: 'credit-approved',
      slaDueAt: '2026-11-23T13:00:00.000Z',
      reasonCodes: ['VENDOR_REJECTED_LINE:20'],
      context: expect.objectContaining({
        rejectedLines: [
          {
            vendorId: 'V-TANKWORKS',
            lineNo: 20,
            sku: 'TANK-PRESS-80',
            quantity: 2,
            acceptedQuantity: 0,
            reason: 'OUT_OF_STOCK',
          },
        ],
      }),
    });
    expect(exception?.recommendedAction).toBe(
      'V-TANKWORKS rejected line 20 (2 × TANK-PRESS-80, OUT_OF_STOCK): offer a substitute or another vendor, or cancel the line. The customer takes complete shipments only.',
    );
    expect(world.events.namesFor('ORD-1')).toEqual(['exception.raised']);
    expect(world.events.detailOf('ORD-1', 'exception.raised')).toMatchObject({
      ownerTeam: 'customer-service',
      stage: 'credit-approved',
    });
  });

  it('a date past the promise is a customer-service exception; a key account gets high priority', async () => {
    world.order('ORD-1', {
      order: {
        lines: [PUMP],
        customer: { ...canonicalOrder('ORD-1').customer, priority: 'key-account' },
      },
    });
    world.vendors.answers.set('V-AQUADRIVE', {
      kind: 'reschedule',
      shipDate: '2026-12-10',
      estimatedDelivery: '2026-12-15',
    });

    const result = await placeVendorOrders('ORD-1', world.deps);

    expect(result.outcome).toBe('vendor-exception');
    expect(world.exceptions.items.get('EXC-ORD-1-VENDOR')).toMatchObject({
      priority: 'high',
      reasonCodes: ['VENDOR_DATE_PAST_PROMISE:V-AQUADRIVE'],
      recommendedAction: expect.stringContaining(
        'V-AQUADRIVE can deliver ORD-1-V-AQUADRIVE by 2026-12-15, after the promise date 2026-12-11',
      ),
    });
  });

  it('a rescheduled date within the promise is handed to the vendor', async () => {
    world.order('ORD-1', { order: { lines: [PUMP] } });
    world.vendors.answers.set('V-AQUADRIVE', {
      kind: 'reschedule',
      shipDate: '2026-12-04',
      estimatedDelivery: '2026-12-10',
    });

    const result = await placeVendorOrders('ORD-1', world.deps);

    expect(result.outcome).toBe('handed-to-vendor');
    expect(world.orders.records.get('ORD-1')?.release?.shipBy).toBe('2026-12-04');
    expect(world.orders.records.get('ORD-1')?.stageHistory[0]?.reasonCodes).toContain(
      'VENDOR_RESCHEDULED_WITHIN_PROMISE:V-AQUADRIVE',
    );
  });

  it('a retry after one vendor answered and another was down places only the missing purchase order', async () => {
    world.order('ORD-1');
    world.vendors.failures.set('V-TANKWORKS', [
      new PartnerUnavailable('vendor', 'POST /purchase-orders answered 503', 503),
    ]);

    await expect(placeVendorOrders('ORD-1', world.deps)).rejects.toThrow(PartnerUnavailable);
    expect(world.orders.records.get('ORD-1')?.purchaseOrders?.map((po) => po.vendorId)).toEqual([
      'V-AQUADRIVE',
    ]);
    const result = await placeVendorOrders('ORD-1', world.deps);

    expect(result.outcome).toBe('handed-to-vendor');
    expect(world.vendors.callsFor('V-AQUADRIVE')).toHaveLength(1);
    expect(world.vendors.callsFor('V-TANKWORKS')).toHaveLength(2);
  });

  it('a step retried after the handoff returns what was decided, calls no vendor and moves nothing', async () => {
    world.order('ORD-1');
    const first = await placeVendorOrders('ORD-1', world.deps);
    const writes = world.orders.writes;

    const again = await placeVendorOrders('ORD-1', world.deps);

    expect(again).toEqual(first);
    expect(world.vendors.calls).toHaveLength(2);
    expect(world.orders.writes).toBe(writes);
    // Re-announced under the same keys: consumers de-duplicate.
    const keys = world.events.all.map((e) => e.detail.idempotencyKey);
    expect(new Set(keys).size).toBe(4);
  });

  it('a step retried after the exception raises nothing new', async () => {
    world.order('ORD-1');
    world.vendors.answers.set('V-AQUADRIVE', { kind: 'reject-line', lineNo: 10, reason: 'DISCONTINUED' });
    const first = await placeVendorOrders('ORD-1', world.deps);

    const again = await placeVendorOrders('ORD-1', world.deps);

    expect(again).toEqual(first);
    expect(world.exceptions.items.size).toBe(1);
    expect(world.orders.records.get('ORD-1')?.exceptionIds).toEqual(['EXC-ORD-1-VENDOR']);
    expect(world.vendors.calls).toHaveLength(2);
  });

  it('finishes the release when a crash came between allocation and release', async () => {
    world.order('ORD-1', { order: { lines: [PUMP] } });
    const transition = world.orders.transition.bind(world.orders);
    let crashed = false;
    world.orders.transition = async (current, to, reasonCodes, patch) => {
      if (to === 'released' && !crashed) {
        crashed = true;
        throw new ConcurrentOrderUpdate(current.orderId, current.version);
      }
      return transition(current, to, reasonCodes, patch);
    };

    await expect(placeVendorOrders('ORD-1', world.deps)).rejects.toThrow(ConcurrentOrderUpdate);
    expect(world.orders.stage('ORD-1')).toBe('allocated');
    const result = await placeVendorOrders('ORD-1', world.deps);

    expect(result.outcome).toBe('handed-to-vendor');
    expect(world.stagesEntered('ORD-1')).toEqual(['allocated', 'released']);
    expect(world.vendors.calls).toHaveLength(1);
  });

  it('refuses an order that is not credit-approved, and one that does not exist', async () => {
    world.order('ORD-1', { stage: 'credit-hold' });

    await expect(placeVendorOrders('ORD-1', world.deps)).rejects.toThrow(IllegalStageTransition);
    await expect(placeVendorOrders('ORD-404', world.deps)).rejects.toThrow(OrderNotFound);
    expect(world.vendors.calls).toEqual([]);
  });

  it('an item with no vendor places nothing and is a permanent named error', async () => {
    world.order('ORD-1', { order: { lines: [PUMP, { ...TANK, sku: 'TANK-NEW' }] } });

    const failure = await placeVendorOrders('ORD-1', world.deps).catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(UnsourcedDropShipLine);
    expect(failure).toMatchObject({ name: 'UnsourcedDropShipLine', retryable: false, lineNo: 20 });
    expect(world.vendors.calls).toEqual([]);
    expect(world.orders.stage('ORD-1')).toBe('credit-approved');
  });
});

// ---------------------------------------------------------------------------------------------------------
// confirmVendorShipment (the ASN, outside the path)
// ---------------------------------------------------------------------------------------------------------

describe('confirmVendorShipment', () => {
  const notice = (overrides: Partial<VendorShipNotice> = {}): VendorShipNotice => ({
    shipNoticeId: 'AQD-ASN-000001',
    vendorId: 'V-AQUADRIVE',
    purchaseOrderNumber: 'ORD-1-V-AQUADRIVE',
    vendorOrderRef: 'AQU-SO-000001',
    orderId: 'ORD-1',
    shippedAt: '2026-11-30T16:00:00.000Z',
    carrier: 'RDGL',
    trackingNumber: 'RDGL0000000001',
    lines: [{ lineNo: 10, sku: 'PUMP-SUB-75', quantity: 1 }],
    ...overrides,
  });

  it('announces the ASN as shipment.confirmed from the vendor, partial while other vendors have lines', async () => {
    world.order('ORD-1');
    await placeVendorOrders('ORD-1', world.deps);

    const result = await confirmVendorShipment(notice(), world.deps);

    expect(result).toEqual({ outcome: 'published', shipmentId: 'AQD-ASN-000001', partial: true });
    const shipped = world.events.find('ORD-1', 'shipment.confirmed');
    expect(shipped?.detail).toEqual({
      schemaVersion: 1,
      orderId: 'ORD-1',
      correlationId: 'ORD-1',
      idempotencyKey: 'ORD-1:shipment.confirmed:AQD-ASN-000001',
      occurredAt: '2026-11-30T16:00:00.000Z',
      shipmentId: 'AQD-ASN-000001',
      siteId: 'V-AQUADRIVE',
      carrier: 'RDGL',
      trackingNumber: 'RDGL0000000001',
      shippedAt: '2026-11-30T16:00:00.000Z',
      lines: [{ lineNo: 10, sku: 'PUMP-SUB-75', quantity: 1 }],
      partial: true,
    });
    expect(parseDetail('shipment.confirmed', shipped?.detail).ok).toBe(true);
  });

  it('is complete when the notice ships every line of the order', async () => {
    world.order('ORD-1', { order: { lines: [PUMP] } });
    await placeVendorOrders('ORD-1', world.deps);

    expect(await confirmVendorShipment(notice(), world.deps)).toMatchObject({ partial: false });
  });

  it('refuses a notice for an order parked with customer service, naming the open exception', async () => {
    world.order('ORD-1');
    world.vendors.answers.set('V-TANKWORKS', { kind: 'reject-line', lineNo: 20, reason: 'OUT_OF_STOCK' });
    await placeVendorOrders('ORD-1', world.deps);
    const published = world.events.all.length;

    // The pump's vendor accepted its line and ships it, though the order waits on the tank's answer.
    const result = await confirmVendorShipment(notice(), world.deps);

    expect(result).toEqual({
      outcome: 'refused',
      reason: 'order-not-released',
      message: expect.stringContaining('is exception (open: EXC-ORD-1-VENDOR), not released to the vendor'),
    });
    expect(world.events.all).toHaveLength(published);
  });

  it('refuses a notice for an unknown order, purchase order or line, and publishes nothing', async () => {
    world.order('ORD-1');
    await placeVendorOrders('ORD-1', world.deps);
    const published = world.events.all.length;

    const answers = await Promise.all([
      confirmVendorShipment(notice({ orderId: 'ORD-404' }), world.deps),
      confirmVendorShipment(notice({ purchaseOrderNumber: 'ORD-1-V-OTHER' }), world.deps),
      confirmVendorShipment(
        notice({ lines: [{ lineNo: 20, sku: 'TANK-PRESS-80', quantity: 2 }] }),
        world.deps,
      ),
    ]);

    expect(answers.map((a) => (a.outcome === 'refused' ? a.reason : a.outcome))).toEqual([
      'unknown-order',
      'unknown-purchase-order',
      'line-not-on-purchase-order',
    ]);
    expect(world.events.all).toHaveLength(published);
  });
});

// ---------------------------------------------------------------------------------------------------------
// The workflow: statemachines/drop-ship.asl.json on aws-local-stepfunctions
// ---------------------------------------------------------------------------------------------------------

type JSONValue = Parameters<StateMachine['run']>[0];
interface AslState {
  Type: string;
  Resource?: string;
  Next?: string;
  Default?: string;
  End?: boolean;
  Parameters?: { FunctionName?: string; failedStep?: string };
  Retry?: { ErrorEquals: string[] }[];
  Catch?: { ErrorEquals: string[]; Next: string }[];
  Choices?: { Next: string }[];
  TimeoutSecondsPath?: string;
  TimeoutSeconds?: number;
}
interface Asl {
  StartAt: string;
  States: Record<string, AslState>;
}

const ASL_URL = new URL('../../../statemachines/drop-ship.asl.json', import.meta.url);

function loadDefinition(): Asl {
  const asl = readFileSync(ASL_URL, 'utf8').replace(
    /\$\{([A-Za-z]+)\}/g,
    (_match, name: string) => `arn:aws:lambda:us-east-1:123456789012:function:${name}`,
  );
  const definition = JSON.parse(asl) as Asl;
  for (const state of Object.values(definition.States)) {
    // The engine reads TimeoutSecondsPath from the task's parameters, not its input; SLA timeouts are the
    // local cloud's business (test/e2e), so here the wait is just long.
    if (state.TimeoutSecondsPath) {
      delete state.TimeoutSecondsPath;
      state.TimeoutSeconds = 3600;
    }
  }
  return definition;
}

type Step = (payload: Record<string, unknown>) => Promise<unknown>;

describe('drop-ship.asl.json', () => {
  let raised: Record<string, unknown>[];
  let credit: 'approved' | 'hold' | 'declined';
  let review: 'release' | 'reject';
  let overrides: Map<string, Step>;

  beforeEach(() => {
    raised = [];
    credit = 'approved';
    review = 'release';
    overrides = new Map();
  });

  /** The credit step as the credit use case leaves the order: a stand-in, it is tested on its own. */
  const checkCredit: Step = async ({ orderId }) => {
    const record = await world.orders.get(String(orderId));
    if (!record) throw new OrderNotFound(String(orderId));
    const to = credit === 'approved' ? 'credit-approved' : credit === 'hold' ? 'credit-hold' : 'rejected';
    await world.orders.transition(record, to, [`CREDIT_${credit.toUpperCase()}`]);
    return {
      decision: credit,
      reasonCodes: [`CREDIT_${credit.toUpperCase()}`],
      hold:
        credit === 'hold'
          ? { exceptionId: `EXC-${String(orderId)}-CREDIT`, slaSeconds: 14_400, escalationSlaSeconds: 7200 }
          : null,
    };
  };

  /** The human decision as finance takes it: the order moves on and the waiting task gets the outcome. */
  const humanDecision: Step = async ({ orderId }) => {
    const record = await world.orders.get(String(orderId));
    if (record?.stage === 'credit-hold') {
      await world.orders.transition(record, review === 'release' ? 'credit-approved' : 'rejected', []);
    }
    return { outcome: review, decidedBy: 'finance.controller', tier: 1 };
  };

  async function run(orderId: string) {
    const definition = loadDefinition();
    const steps: Record<string, Step> = {
      CheckCreditFunctionArn: checkCredit,
      HumanDecisionTaskFunctionArn: humanDecision,
      DropShipFunctionArn: ({ orderId: id }) => placeVendorOrders(String(id), world.deps),
      RaiseStepExceptionFunctionArn: async (payload) => {
        raised.push(payload);
        return { exceptionId: `EXC-${String(payload.orderId)}-STEP` };
      },
    };
    const handlers: Record<string, (input: JSONValue) => Promise<JSONValue>> = {};
    const noRetryWait: Record<string, number> = {};
    for (const [name, state] of Object.entries(definition.States)) {
      if (state.Type !== 'Task') continue;
      noRetryWait[name] = 0;
      const key = state.Parameters?.FunctionName?.split(':').pop() ?? '';
      handlers[name] = async (taskInput) => {
        const step = overrides.get(key) ?? steps[key];
        if (!step) throw new Error(`no step behind ${name}`);
        const result = (await step((taskInput as { Payload: Record<string, unknown> }).Payload)) as JSONValue;
        // A callback task's result is what SendTaskSuccess sent; a Lambda invoke's is wrapped in Payload.
        return state.Resource?.endsWith('.waitForTaskToken') ? result : { Payload: result, StatusCode: 200 };
      };
    }
    const execution = new StateMachine(definition as never).run({ orderId } as JSONValue, {
      overrides: { taskResourceLocalHandlers: handlers, retryIntervalOverrides: noRetryWait },
      context: { Task: { Token: 'local-task-token' } } as never,
    });
    const statesEntered: string[] = [];
    const retried: string[] = [];
    const collecting = (async () => {
      for await (const event of execution.eventLogs) {
        if (event.type === 'StateEntered') statesEntered.push(event.state.name);
        if (event.type === 'StateRetried') retried.push(event.state.name);
      }
    })();
    try {
      const output = await execution.result;
      await collecting;
      return { status: 'SUCCEEDED' as const, output, statesEntered, retried };
    } catch (error) {
      await collecting.catch(() => undefined);
      return { status: 'FAILED' as const, error: error as Error, statesEntered, retried };
    }
  }

  it('main route: credit approved, purchase orders confirmed, handed to the vendors in 5 transitions', async () => {
    world.order('ORD-1', { stage: 'accepted' });

    const execution = await run('ORD-1');

    expect(execution.status).toBe('SUCCEEDED');
    expect(execution.statesEntered).toEqual([
      'CheckCreditAgainstLimitAndExposure',
      'RouteOnCreditDecision',
      'PlaceVendorPurchaseOrders',
      'RouteOnVendorConfirmation',
      'HandedToVendor',
    ]);
    expect(execution.statesEntered.length).toBeLessThanOrEqual(12);
    expect(world.orders.stage('ORD-1')).toBe('released');
    expect(execution.output).toMatchObject({
      orderId: 'ORD-1',
      vendorOrders: {
        outcome: 'handed-to-vendor',
        exceptionId: null,
        purchaseOrders: [
          expect.objectContaining({ vendorId: 'V-AQUADRIVE' }),
          expect.objectContaining({ vendorId: 'V-TANKWORKS' }),
        ],
      },
    });
  });

  it('a vendor rejection parks the order with customer service', async () => {
    world.order('ORD-1', { stage: 'accepted' });
    world.vendors.answers.set('V-AQUADRIVE', { kind: 'reject-line', lineNo: 10, reason: 'OUT_OF_STOCK' });

    const execution = await run('ORD-1');

    expect(execution.status).toBe('SUCCEEDED');
    expect(execution.statesEntered.slice(-3)).toEqual([
      'PlaceVendorPurchaseOrders',
      'RouteOnVendorConfirmation',
      'ParkedWithCustomerService',
    ]);
    expect(execution.output).toMatchObject({
      vendorOrders: { outcome: 'vendor-exception', exceptionId: 'EXC-ORD-1-VENDOR' },
    });
    expect(world.orders.stage('ORD-1')).toBe('exception');
    expect(raised).toEqual([]);
  });

  it('a credit hold released by finance goes on to the vendors', async () => {
    world.order('ORD-1', { stage: 'accepted' });
    credit = 'hold';

    const execution = await run('ORD-1');

    expect(execution.status).toBe('SUCCEEDED');
    expect(execution.statesEntered).toEqual([
      'CheckCreditAgainstLimitAndExposure',
      'RouteOnCreditDecision',
      'AwaitCreditControllerDecision',
      'RouteOnCreditReview',
      'PlaceVendorPurchaseOrders',
      'RouteOnVendorConfirmation',
      'HandedToVendor',
    ]);
    expect(world.orders.stage('ORD-1')).toBe('released');
  });

  it('a credit hold finance rejects, and a declined account, place no purchase order', async () => {
    world.order('ORD-1', { stage: 'accepted' });
    world.order('ORD-2', { stage: 'accepted' });
    credit = 'hold';
    review = 'reject';
    const held = await run('ORD-1');
    credit = 'declined';
    const declined = await run('ORD-2');

    expect(held.statesEntered.at(-1)).toBe('RejectedAfterCreditReview');
    expect(declined.statesEntered).toEqual([
      'CheckCreditAgainstLimitAndExposure',
      'RouteOnCreditDecision',
      'RejectedByCreditCheck',
    ]);
    expect(world.vendors.calls).toEqual([]);
  });

  it('retries a vendor outage on the purchase-order step without ordering twice', async () => {
    world.order('ORD-1', { stage: 'accepted' });
    world.vendors.failures.set('V-TANKWORKS', [
      new PartnerUnavailable('vendor', 'POST /purchase-orders answered 503', 503),
    ]);

    const execution = await run('ORD-1');

    expect(execution.status).toBe('SUCCEEDED');
    expect(execution.retried).toEqual(['PlaceVendorPurchaseOrders']);
    expect(world.vendors.callsFor('V-AQUADRIVE')).toHaveLength(1);
    expect(world.orders.stage('ORD-1')).toBe('released');
  });

  it('a vendor refusing the purchase order becomes an owned step exception', async () => {
    world.order('ORD-1', { stage: 'accepted' });
    world.vendors.failures.set('V-AQUADRIVE', [
      new PartnerRejected('vendor', 'POST /purchase-orders answered 422: unknown_vendor', 422),
    ]);

    const execution = await run('ORD-1');

    expect(execution.status).toBe('SUCCEEDED');
    expect(execution.statesEntered.slice(-4)).toEqual([
      'PlaceVendorPurchaseOrders',
      'TagVendorOrderFailure',
      'RaiseOwnedStepException',
      'ParkedAsOwnedException',
    ]);
    expect(execution.retried).toEqual([]);
    expect(raised).toEqual([
      expect.objectContaining({
        orderId: 'ORD-1',
        failedStep: 'PlaceVendorPurchaseOrders',
        error: expect.objectContaining({ Error: 'PartnerRejected' }),
      }),
    ]);
  });

  it('a failed credit check becomes an owned step exception too', async () => {
    world.order('ORD-1', { stage: 'accepted' });
    overrides.set('CheckCreditFunctionArn', async () => {
      throw new PartnerRejected('erp', 'GET /customers/C-6006/credit-segment answered 403', 403);
    });

    const execution = await run('ORD-1');

    expect(execution.statesEntered).toEqual([
      'CheckCreditAgainstLimitAndExposure',
      'TagCreditCheckFailure',
      'RaiseOwnedStepException',
      'ParkedAsOwnedException',
    ]);
    expect(raised).toEqual([expect.objectContaining({ failedStep: 'CheckCreditAgainstLimitAndExposure' })]);
  });

  it('fails on an outcome the path does not know', async () => {
    world.order('ORD-1', { stage: 'accepted' });
    overrides.set('DropShipFunctionArn', async () => ({
      outcome: 'vendor-maybe',
      exceptionId: null,
      purchaseOrders: [],
    }));

    const execution = await run('ORD-1');

    expect(execution.status).toBe('FAILED');
    expect(execution.statesEntered.slice(-2)).toEqual(['RouteOnVendorConfirmation', 'UnknownVendorOutcome']);
  });

  it('every Task retries transient errors and catches the rest into a tagged owned exception', () => {
    const { States } = loadDefinition();
    const required = [
      'PartnerUnavailable',
      'ConcurrentOrderUpdate',
      'EventPublishFailed',
      'Lambda.ServiceException',
      'Lambda.AWSLambdaException',
      'Lambda.SdkClientException',
      'Lambda.TooManyRequestsException',
      'Lambda.Unknown',
    ];
    const lambdaTasks = Object.entries(States).filter(
      ([name, state]) =>
        state.Type === 'Task' &&
        name !== 'RaiseOwnedStepException' &&
        !state.Resource?.endsWith('.waitForTaskToken'),
    );
    expect(lambdaTasks.map(([name]) => name).sort()).toEqual([
      'ApplyCreditReviewFallback',
      'CheckCreditAgainstLimitAndExposure',
      'PlaceVendorPurchaseOrders',
    ]);
    for (const [name, state] of Object.entries(States)) {
      if (state.Type !== 'Task' || name === 'RaiseOwnedStepException') continue;
      const retried = (state.Retry ?? []).flatMap((r) => r.ErrorEquals);
      expect(retried, name).toEqual(expect.arrayContaining(required));
      const catchAll = state.Catch?.find((c) => c.ErrorEquals.includes('States.ALL'));
      const tag = catchAll ? States[catchAll.Next] : undefined;
      expect(catchAll?.Next, name).toMatch(/^Tag[A-Za-z]+Failure$/);
      expect(tag?.Type, name).toBe('Pass');
      expect(tag?.Next, name).toBe('RaiseOwnedStepException');
    }
    expect(States.RaiseOwnedStepException?.Next).toBe('ParkedAsOwnedException');
    expect(States.ParkedAsOwnedException?.Type).toBe('Succeed');
    for (const [name, state] of Object.entries(States)) {
      if (state.Type === 'Choice') expect(States[state.Default ?? '']?.Type, name).toBe('Fail');
    }
    expect(JSON.stringify(States.RaiseOwnedStepException)).toContain(
      'arn:aws:lambda:us-east-1:123456789012:function:RaiseStepExceptionFunctionArn',
    );
  });
});
