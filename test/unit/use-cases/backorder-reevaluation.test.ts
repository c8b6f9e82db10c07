import { readFileSync } from 'node:fs';
import { StateMachine } from 'aws-local-stepfunctions';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { OrderLine } from '../../../contracts/order.ts';
import type {
  CustomerPriority,
  FulfilmentTerms,
  OrderStage,
  ServiceLevel,
} from '../../../contracts/vocabulary.ts';
import type { AllocatedLine, ShortLine, StockPosition } from '../../../lambdas/core/allocation.ts';
import type { BackorderRule } from '../../../lambdas/core/backorder.ts';
import { canTransition } from '../../../lambdas/core/order-lifecycle.ts';
import type {
  BackorderAgedNotice,
  BackorderBook,
  BackorderNotices,
  BackorderRecord,
  BackorderRules,
  ClaimResult,
  Clock,
  InventoryPort,
  OrderPatch,
  OrderRecord,
  OrderRepository,
  ReceiptPlan,
  StockSnapshot,
  WarehousePort,
} from '../../../lambdas/ports/index.ts';
import {
  ConcurrentOrderUpdate,
  IllegalStageTransition,
  OrderNotFound,
  PartnerContractBroken,
  PartnerRejected,
  PartnerUnavailable,
} from '../../../lambdas/shared/errors.ts';
import {
  DEFAULT_BACKORDER_MAX_AGE_DAYS,
  type FillResult,
  fillBackorder,
  fillReservationKey,
  type ReevaluationResult,
  recordBackorders,
  reevaluateOnReceipt,
  type StockReceipt,
  sweepAged,
} from '../../../lambdas/use-cases/backorder-reevaluation.ts';
import { releaseToWarehouse } from '../../../lambdas/use-cases/release-to-warehouse.ts';
import { RecordingPublisher } from '../../support/recording-publisher.ts';
import { line, validOrder } from '../contracts/canonical-order.fixture.ts';

// ---------------------------------------------------------------------------------------------------
// In-memory fakes of the ports
// ---------------------------------------------------------------------------------------------------

class TestClock implements Clock {
  constructor(public current: Date) {}
  now(): Date {
    return new Date(this.current);
  }
  advanceDays(days: number): void {
    this.current = new Date(this.current.getTime() + days * 86_400_000);
  }
}

class InMemoryOrders implements OrderRepository {
  readonly records = new Map<string, OrderRecord>();
  constructor(private readonly clock: Clock) {}

  async createIfAbsent(record: OrderRecord) {
    const existing = this.records.get(record.orderId);
    if (existing) return { created: false as const, existing };
    this.records.set(record.orderId, record);
    return { created: true as const };
  }

  async get(orderId: string) {
    return this.records.get(orderId);
  }

  async annotate(current: OrderRecord, patch: OrderPatch) {
    const stored = this.records.get(current.orderId);
    if (!stored) throw new OrderNotFound(current.orderId);
    if (stored.version !== current.version) throw new ConcurrentOrderUpdate(current.orderId, current.version);
    const { addExceptionId, ...fields } = patch;
    const next: OrderRecord = {
      ...stored,
      ...fields,
      version: stored.version + 1,
      updatedAt: this.clock.now().toISOString(),
      ...(addExceptionId ? { exceptionIds: [...(stored.exceptionIds ?? []), addExceptionId] } : {}),
    };
    this.records.set(current.orderId, next);
    return next;
  }

  async transition(
    current: OrderRecord,
    to: OrderStage,
    reasonCodes: readonly string[],
    patch: OrderPatch = {},
  ) {
    const stored = this.records.get(current.orderId);
    if (!stored) throw new OrderNotFound(current.orderId);
    if (stored.version !== current.version) throw new ConcurrentOrderUpdate(current.orderId, current.version);
    if (!canTransition(stored.stage, to)) throw new IllegalStageTransition(current.orderId, stored.stage, to);
    const { addExceptionId, ...fields } = patch;
    const at = this.clock.now().toISOString();
    const next: OrderRecord = {
      ...stored,
      ...fields,
      stage: to,
      version: stored.version + 1,
      updatedAt: at,
      stageHistory: [...stored.stageHistory, { stage: to, at, reasonCodes: [...reasonCodes] }],
      ...(addExceptionId ? { exceptionIds: [...(stored.exceptionIds ?? []), addExceptionId] } : {}),
    };
    this.records.set(current.orderId, next);
    return next;
  }

  stage(orderId: string): OrderStage | undefined {
    return this.records.get(orderId)?.stage;
  }
}

/** The BackorderBook contract, as a DynamoDB adapter would honour it with conditional writes. */
class InMemoryBackorderBook implements BackorderBook {
  readonly rows = new Map<string, BackorderRecord>();
  readonly plans = new Map<string, ReceiptPlan>();
  /** Fails the next confirmFill: the process died after the WMS reserved, before the fill was recorded. */
  failNextConfirm = false;
  findPlanFailure: Error | undefined;

  private require(backorderId: string): BackorderRecord {
    const row = this.rows.get(backorderId);
    if (!row) throw new Error(`no backorder ${backorderId}`);
    return row;
  }

  private put(row: BackorderRecord): BackorderRecord {
    this.rows.set(row.backorderId, row);
    return row;
  }

  async createIfAbsent(lines: Parameters<BackorderBook['createIfAbsent']>[0]) {
    const created: string[] = [];
    for (const line of lines) {
      if (this.rows.has(line.backorderId)) continue;
      this.put({ ...line, originalQuantity: line.quantity, fills: [], reasonCodes: [] });
      created.push(line.backorderId);
    }
    return created;
  }

  async get(backorderId: string) {
    return this.rows.get(backorderId);
  }

  async listOpenBySku(sku: string) {
    return [...this.rows.values()].filter((b) => b.sku === sku && b.status === 'open');
  }

  async listOpenAgedBy(instant: string) {
    return [...this.rows.values()].filter(
      (b) => b.status === 'open' && Date.parse(b.cancelAfter) <= Date.parse(instant),
    );
  }

  async listForOrder(orderId: string) {
    return [...this.rows.values()].filter((b) => b.orderId === orderId);
  }

  async findPlan(receiptId: string) {
    if (this.findPlanFailure) throw this.findPlanFailure;
    return this.plans.get(receiptId);
  }

  async savePlanIfAbsent(plan: ReceiptPlan) {
    const existing = this.plans.get(plan.receiptId);
    if (existing) return { plan: existing, stored: false };
    this.plans.set(plan.receiptId, plan);
    return { plan, stored: true };
  }

  async claimFill(
    backorderId: string,
    claim: { receiptId: string; siteId: string; quantity: number; claimedAt: string },
  ): Promise<ClaimResult> {
    const row = this.require(backorderId);
    if (
      row.status !== 'open' ||
      row.quantity < claim.quantity ||
      row.fills.some((f) => f.receiptId === claim.receiptId)
    ) {
      return { claimed: false, backorder: row };
    }
    const quantity = row.quantity - claim.quantity;
    return {
      claimed: true,
      backorder: this.put({
        ...row,
        quantity,
        status: quantity === 0 ? 'filled' : 'open',
        fills: [...row.fills, { ...claim, status: 'claimed' }],
      }),
    };
  }

  async confirmFill(
    backorderId: string,
    receiptId: string,
    reservation: { reservationId: string; reservedAt: string },
  ) {
    if (this.failNextConfirm) {
      this.failNextConfirm = false;
      throw new PartnerUnavailable('dynamodb', 'connection reset while recording the fill');
    }
    const row = this.require(backorderId);
    return this.put({
      ...row,
      fills: row.fills.map((f) =>
        f.receiptId === receiptId && f.status === 'claimed'
          ? { ...f, status: 'reserved', ...reservation }
          : f,
      ),
      reasonCodes: [],
    });
  }

  async releaseClaim(backorderId: string, receiptId: string, reasonCodes: readonly string[]) {
    const row = this.require(backorderId);
    const claim = row.fills.find((f) => f.receiptId === receiptId && f.status === 'claimed');
    if (!claim) return row;
    return this.put({
      ...row,
      quantity: row.quantity + claim.quantity,
      status: 'open',
      fills: row.fills.filter((f) => f !== claim),
      reasonCodes: [...reasonCodes],
    });
  }

  async cancel(backorderId: string, cancellation: { cancelledAt: string; reasonCodes: readonly string[] }) {
    const row = this.require(backorderId);
    if (row.status === 'cancelled') return;
    this.put({ ...row, status: 'cancelled', ...cancellation, reasonCodes: [...cancellation.reasonCodes] });
  }

  async markNotified(backorderId: string, notifiedAt: string) {
    const row = this.require(backorderId);
    if (row.notifiedAt !== undefined) return false;
    this.put({ ...row, notifiedAt });
    return true;
  }

  row(backorderId: string): BackorderRecord {
    return this.require(backorderId);
  }
}

class CustomerRules implements BackorderRules {
  readonly rules = new Map<string, BackorderRule>();
  async ruleFor(customerId: string) {
    return this.rules.get(customerId);
  }
}

class RecordingNotices implements BackorderNotices {
  readonly notices: BackorderAgedNotice[] = [];
  async agedOut(notices: readonly BackorderAgedNotice[]) {
    this.notices.push(...notices);
  }
}

interface Reservation {
  readonly reservationId: string;
  readonly orderId: string;
  readonly siteId: string;
  readonly lines: readonly AllocatedLine[];
}

/**
 * The WMS as the InventoryPort sees it: stock by site, all-or-nothing reservations against physical stock
 * (409 when a site cannot cover a line, as PartnerClient reports it), Stripe-style idempotency keys.
 */
class FakeWms implements InventoryPort, WarehousePort {
  readonly stock = new Map<string, Map<string, StockPosition>>();
  readonly reservations: Reservation[] = [];
  readonly releases: { orderId: string; siteId: string; idempotencyKey: string }[] = [];
  private readonly answers = new Map<string, { fingerprint: string; reservationId: string }>();
  reserveCalls = 0;
  /** Thrown by the next reserve calls, one each, before anything else happens. */
  readonly failures: Error[] = [];
  /** Thrown once by the next reserve call for the order. */
  readonly failuresFor = new Map<string, Error>();

  position(siteId: string, sku: string): StockPosition {
    const site = this.stock.get(siteId) ?? new Map<string, StockPosition>();
    this.stock.set(siteId, site);
    const found = site.get(sku) ?? { onHand: 0, reserved: 0, safetyStock: 0 };
    site.set(sku, found);
    return found;
  }

  /** Goods put away (the WMS then announces inventory.received). */
  receive(siteId: string, sku: string, quantity: number): void {
    this.position(siteId, sku).onHand += quantity;
  }

  async getStock(skus: readonly string[]): Promise<StockSnapshot> {
    const siteIds = [...this.stock.keys()].sort();
    return {
      sites: siteIds.map((siteId, i) => ({
        siteId,
        proximityRank: i + 1,
        shippingCost: 10 + i,
        items: Object.fromEntries(skus.map((sku) => [sku, { ...this.position(siteId, sku) }])),
      })),
      logistics: siteIds.map((siteId) => ({
        siteId,
        cutoffHourUtc: 16,
        transitDays: { economy: 5, standard: 2, expedited: 1, 'next-day': 1 },
      })),
    };
  }

  async reserve(request: {
    orderId: string;
    siteId: string;
    lines: readonly AllocatedLine[];
    idempotencyKey: string;
  }): Promise<{ reservationId: string }> {
    this.reserveCalls += 1;
    const failure = this.failuresFor.get(request.orderId) ?? this.failures.shift();
    this.failuresFor.delete(request.orderId);
    if (failure) throw failure;
    const fingerprint = JSON.stringify([request.orderId, request.siteId, request.lines]);
    const answered = this.answers.get(request.idempotencyKey);
    if (answered) {
      if (answered.fingerprint !== fingerprint) {
        throw new PartnerRejected('wms', 'POST /reservations answered 422: idempotency_key_reused', 422);
      }
      return { reservationId: answered.reservationId };
    }
    for (const line of request.lines) {
      const position = this.position(request.siteId, line.sku);
      const available = Math.max(0, position.onHand - position.reserved);
      if (line.quantity > available) {
        throw new PartnerRejected(
          'wms',
          `POST /reservations answered 409: ${request.siteId} cannot reserve ${line.quantity} × ${line.sku} (available ${available})`,
          409,
        );
      }
    }
    for (const line of request.lines) this.position(request.siteId, line.sku).reserved += line.quantity;
    const reservationId = `RSV-${this.reservations.length + 1}`;
    this.reservations.push({
      reservationId,
      orderId: request.orderId,
      siteId: request.siteId,
      lines: request.lines,
    });
    this.answers.set(request.idempotencyKey, { fingerprint, reservationId });
    return { reservationId };
  }

  async release(request: Parameters<WarehousePort['release']>[0]) {
    this.releases.push({
      orderId: request.orderId,
      siteId: request.siteId,
      idempotencyKey: request.idempotencyKey,
    });
    return { releaseId: `REL-${this.releases.length}` };
  }
}

// ---------------------------------------------------------------------------------------------------
// The world a test runs in
// ---------------------------------------------------------------------------------------------------

const T0 = new Date('2025-03-04T09:00:00.000Z');
const SKU_A = 'SKU-A';
const SKU_B = 'SKU-B';
const EAST = 'DC-EAST';
const WEST = 'DC-WEST';

interface OrderSpec {
  readonly lines: readonly { lineNo: number; sku: string; quantity: number }[];
  /** Line numbers backordered (default all); the others are held (ship-complete) or allocated. */
  readonly short?: readonly number[];
  /** Line numbers already reserved and shipping (a ship-partial order past allocation). */
  readonly allocated?: readonly number[];
  readonly stage?: OrderStage;
  readonly customerId?: string;
  readonly priority?: CustomerPriority;
  readonly serviceLevel?: ServiceLevel;
  readonly terms?: FulfilmentTerms;
  readonly promiseDate?: string;
}

class World {
  readonly clock = new TestClock(T0);
  readonly orders = new InMemoryOrders(this.clock);
  readonly book = new InMemoryBackorderBook();
  readonly rules = new CustomerRules();
  readonly notices = new RecordingNotices();
  readonly wms = new FakeWms();
  readonly events = new RecordingPublisher();

  get deps() {
    return {
      orders: this.orders,
      backorders: this.book,
      rules: this.rules,
      inventory: this.wms,
      warehouse: this.wms,
      events: this.events,
      notices: this.notices,
      clock: this.clock,
    };
  }

  /** A stored order in its stage, and its backorder lines opened the way backorder.created opens them. */
  async order(orderId: string, spec: OrderSpec): Promise<OrderRecord> {
    const base = validOrder();
    const orderLines: OrderLine[] = spec.lines.map((l) =>
      line(l.lineNo, { sku: l.sku, quantity: l.quantity }),
    );
    const shortNos = new Set(spec.short ?? spec.lines.map((l) => l.lineNo));
    const allocatedNos = new Set(spec.allocated ?? []);
    const short: ShortLine[] = spec.lines
      .filter((l) => shortNos.has(l.lineNo))
      .map((l) => ({
        lineNo: l.lineNo,
        sku: l.sku,
        requested: l.quantity,
        available: 0,
        shortBy: l.quantity,
      }));
    const allocated = spec.lines
      .filter((l) => allocatedNos.has(l.lineNo))
      .map((l) => ({ lineNo: l.lineNo, sku: l.sku, quantity: l.quantity }));
    const stage = spec.stage ?? 'backordered';
    const record: OrderRecord = {
      orderId,
      order: {
        ...base,
        orderId,
        serviceLevel: spec.serviceLevel ?? 'standard',
        promiseDate: spec.promiseDate ?? '2025-03-07',
        customer: {
          ...base.customer,
          id: spec.customerId ?? `CUST-${orderId}`,
          priority: spec.priority ?? 'standard',
          terms: { ...base.customer.terms, fulfilment: spec.terms ?? 'ship-partial' },
        },
        lines: orderLines,
      },
      stage,
      version: 1,
      payloadHash: 'hash',
      receivedAt: T0.toISOString(),
      updatedAt: T0.toISOString(),
      stageHistory: [{ stage, at: T0.toISOString(), reasonCodes: [] }],
      path: 'standard-single-site',
      allocation: {
        status: allocated.length > 0 ? 'partial' : 'backorder',
        siteId: allocated.length > 0 ? EAST : null,
        allocated,
        short,
      },
    };
    await this.orders.createIfAbsent(record);
    await recordBackorders(
      {
        orderId,
        occurredAt: T0.toISOString(),
        lines: short.map((s) => ({ lineNo: s.lineNo, sku: s.sku, quantity: s.shortBy })),
      },
      this.deps,
    );
    return record;
  }

  receipt(receiptId: string, sku: string, siteId: string, quantity: number): StockReceipt {
    return { receiptId, sku, siteId, quantity, occurredAt: this.clock.now().toISOString() };
  }

  /** The workflow without Step Functions: plan the receipt, then each planned fill in service order. */
  async deliver(receipt: StockReceipt): Promise<{ plan: ReevaluationResult; fills: FillResult[] }> {
    const plan = await reevaluateOnReceipt(receipt, this.deps);
    const fills: FillResult[] = [];
    for (const fill of plan.fills) fills.push(await fillBackorder(fill, this.deps));
    return { plan, fills };
  }

  /** Goods put away, then the receipt delivered. */
  async receive(receiptId: string, sku: string, siteId: string, quantity: number) {
    this.wms.receive(siteId, sku, quantity);
    return this.deliver(this.receipt(receiptId, sku, siteId, quantity));
  }

  eventNames(orderId: string): string[] {
    return this.events.namesFor(orderId);
  }
}

const bo = (orderId: string, lineNo = 1) => `${orderId}-BO-${lineNo}`;

// ---------------------------------------------------------------------------------------------------
// Use cases
// ---------------------------------------------------------------------------------------------------

describe('reevaluateOnReceipt', () => {
  let world: World;
  beforeEach(() => {
    world = new World();
  });

  it('fills the highest-priority backorder first', async () => {
    await world.order('ORD-ECONOMY', {
      lines: [{ lineNo: 1, sku: SKU_A, quantity: 5 }],
      serviceLevel: 'economy',
    });
    await world.order('ORD-KEY', {
      lines: [{ lineNo: 1, sku: SKU_A, quantity: 5 }],
      serviceLevel: 'next-day',
      priority: 'key-account',
    });

    const { plan, fills } = await world.receive('RCPT-1', SKU_A, EAST, 5);

    expect(plan.fills.map((f) => f.backorderId)).toEqual([bo('ORD-KEY')]);
    expect(fills).toEqual([
      expect.objectContaining({ orderId: 'ORD-KEY', outcome: 'reserved', quantity: 5 }),
    ]);
    expect(world.book.plans.get('RCPT-1')?.reasonCodes[bo('ORD-ECONOMY')]).toEqual(['NO_STOCK_AVAILABLE']);
    expect(world.book.row(bo('ORD-ECONOMY'))).toMatchObject({ status: 'open', quantity: 5 });
    expect(world.wms.reservations).toEqual([
      expect.objectContaining({
        orderId: 'ORD-KEY',
        siteId: EAST,
        lines: [{ lineNo: 1, sku: SKU_A, quantity: 5 }],
      }),
    ]);
  });

  it('breaks a priority tie on the earlier promise date', async () => {
    await world.order('ORD-LATER', {
      lines: [{ lineNo: 1, sku: SKU_A, quantity: 3 }],
      promiseDate: '2025-03-20',
    });
    await world.order('ORD-SOONER', {
      lines: [{ lineNo: 1, sku: SKU_A, quantity: 3 }],
      promiseDate: '2025-03-06',
    });

    const { plan } = await world.receive('RCPT-1', SKU_A, EAST, 3);

    expect(plan.fills.map((f) => f.orderId)).toEqual(['ORD-SOONER']);
  });

  it('lets a complete-only backorder wait rather than fill it in part', async () => {
    await world.order('ORD-1', {
      lines: [{ lineNo: 1, sku: SKU_A, quantity: 10 }],
      customerId: 'CUST-WHOLE',
    });
    world.rules.rules.set('CUST-WHOLE', { maxAgeDays: 30, onAged: 'cancel', allowPartialFill: false });

    const { plan } = await world.receive('RCPT-1', SKU_A, EAST, 4);

    expect(plan.fillCount).toBe(0);
    expect(world.book.plans.get('RCPT-1')?.reasonCodes[bo('ORD-1')]).toEqual(['PARTIAL_FILL_NOT_ALLOWED']);
    expect(world.wms.reserveCalls).toBe(0);
    expect(world.book.row(bo('ORD-1'))).toMatchObject({ status: 'open', quantity: 10 });

    // The rest arrives: now it fills completely, in one go.
    const second = await world.receive('RCPT-2', SKU_A, EAST, 6);
    expect(second.fills).toEqual([
      expect.objectContaining({ outcome: 'reserved', quantity: 10, releaseOrder: true }),
    ]);
  });

  it('derives the rule from the order terms when the customer has none: ship-complete waits', async () => {
    await world.order('ORD-1', { lines: [{ lineNo: 1, sku: SKU_A, quantity: 10 }], terms: 'ship-complete' });

    const { plan } = await world.receive('RCPT-1', SKU_A, EAST, 4);

    expect(plan.fillCount).toBe(0);
    expect(world.book.row(bo('ORD-1')).cancelAfter).toBe(
      new Date(T0.getTime() + DEFAULT_BACKORDER_MAX_AGE_DAYS * 86_400_000).toISOString(),
    );
  });

  it('leaves out backorders whose order cannot take stock, so the supply goes to the next one', async () => {
    await world.order('ORD-STUCK', {
      lines: [{ lineNo: 1, sku: SKU_A, quantity: 5 }],
      priority: 'key-account',
      stage: 'exception',
    });
    await world.order('ORD-OK', { lines: [{ lineNo: 1, sku: SKU_A, quantity: 5 }] });

    const { plan } = await world.receive('RCPT-1', SKU_A, EAST, 5);

    expect(plan.fills.map((f) => f.orderId)).toEqual(['ORD-OK']);
    expect(world.book.plans.get('RCPT-1')?.skipped).toEqual({ [bo('ORD-STUCK')]: 'ORDER_STAGE:exception' });
  });

  it('keeps safety stock out of the fills', async () => {
    await world.order('ORD-1', { lines: [{ lineNo: 1, sku: SKU_A, quantity: 5 }] });
    world.wms.position(EAST, SKU_A).safetyStock = 3;

    const { fills } = await world.receive('RCPT-1', SKU_A, EAST, 5);

    expect(fills).toEqual([expect.objectContaining({ outcome: 'reserved', quantity: 2, remaining: 3 })]);
    expect(world.book.plans.get('RCPT-1')?.reasonCodes[bo('ORD-1')]).toEqual([
      'FILLED_PARTIAL',
      'SAFETY_STOCK_PROTECTED',
    ]);
  });
});

describe('fillBackorder', () => {
  let world: World;
  beforeEach(() => {
    world = new World();
  });

  it('records a partial fill and publishes backorder.filled with the partial quantity; the order waits', async () => {
    await world.order('ORD-1', { lines: [{ lineNo: 1, sku: SKU_A, quantity: 10 }] });

    const { fills } = await world.receive('RCPT-1', SKU_A, EAST, 4);

    expect(fills).toEqual([
      expect.objectContaining({ outcome: 'reserved', quantity: 4, remaining: 6, releaseOrder: false }),
    ]);
    expect(world.book.row(bo('ORD-1'))).toMatchObject({ status: 'open', quantity: 6, originalQuantity: 10 });
    expect(world.eventNames('ORD-1')).toEqual(['backorder.filled']);
    expect(world.events.detailOf('ORD-1', 'backorder.filled')).toMatchObject({
      siteId: EAST,
      lines: [{ lineNo: 1, sku: SKU_A, quantity: 4 }],
      idempotencyKey: 'ORD-1:backorder:filled:1:RCPT-1',
    });
    expect(world.orders.stage('ORD-1')).toBe('backordered');
  });

  it('moves the order back to allocated when its last backorder fills', async () => {
    await world.order('ORD-1', {
      lines: [
        { lineNo: 1, sku: SKU_A, quantity: 3 },
        { lineNo: 2, sku: SKU_B, quantity: 2 },
      ],
    });

    const first = await world.receive('RCPT-1', SKU_A, EAST, 3);
    expect(first.fills).toEqual([expect.objectContaining({ outcome: 'reserved', releaseOrder: false })]);
    expect(first.fills[0]?.reasonCodes).toContain('AWAITING_OTHER_BACKORDERS');
    expect(world.orders.stage('ORD-1')).toBe('backordered');
    expect(world.eventNames('ORD-1')).toEqual(['backorder.filled']);

    const second = await world.receive('RCPT-2', SKU_B, WEST, 2);
    expect(second.fills).toEqual([
      expect.objectContaining({
        outcome: 'reserved',
        releaseOrder: true,
        reasonCodes: ['FILLED_COMPLETE', 'BACKORDER_FILLED'],
      }),
    ]);

    const record = await world.orders.get('ORD-1');
    expect(record?.stage).toBe('allocated');
    expect(record?.stageHistory.at(-1)?.reasonCodes).toEqual(['BACKORDER_FILLED']);
    expect(record?.allocation).toMatchObject({
      status: 'full',
      siteId: EAST,
      short: [],
      allocated: [
        { lineNo: 1, sku: SKU_A, quantity: 3 },
        { lineNo: 2, sku: SKU_B, quantity: 2 },
      ],
      shipments: [
        {
          siteId: EAST,
          reservationId: 'RSV-1',
          lines: [{ lineNo: 1, sku: SKU_A, quantity: 3 }],
          cutoffHourUtc: 16,
          transitDays: 2,
        },
        {
          siteId: WEST,
          reservationId: 'RSV-2',
          lines: [{ lineNo: 2, sku: SKU_B, quantity: 2 }],
          cutoffHourUtc: 16,
          transitDays: 2,
        },
      ],
    });
    expect(world.eventNames('ORD-1')).toEqual([
      'backorder.filled',
      'backorder.filled',
      'allocation.confirmed',
      'allocation.confirmed',
    ]);
    expect(world.events.detailOf('ORD-1', 'allocation.confirmed')).toMatchObject({
      siteId: EAST,
      reservationId: 'RSV-1',
      partial: true,
    });

    // The release step accepts the allocation as the fulfilment paths leave it.
    const release = await releaseToWarehouse('ORD-1', { ...world.deps, warehouse: world.wms });
    expect(release.action).toBe('release');
    expect(world.wms.releases.map((r) => r.siteId)).toEqual([EAST, WEST]);
  });

  it('says which of two deliveries of a receipt evaluated at the same instant replayed the other', async () => {
    await world.order('ORD-1', { lines: [{ lineNo: 1, sku: SKU_A, quantity: 4 }] });
    const receipt = world.receipt('RCPT-1', SKU_A, EAST, 6);

    // Both find no plan and plan at the same (frozen) instant; the store tells the loser it lost.
    const [a, b] = await Promise.all([
      reevaluateOnReceipt(receipt, world.deps),
      reevaluateOnReceipt(receipt, world.deps),
    ]);

    expect([a.replayed, b.replayed].sort()).toEqual([false, true]);
    expect(a.fills).toEqual(b.fills);
  });

  it('reserves nothing twice when a receipt is redelivered', async () => {
    await world.order('ORD-1', { lines: [{ lineNo: 1, sku: SKU_A, quantity: 4 }] });
    await world.order('ORD-2', { lines: [{ lineNo: 1, sku: SKU_A, quantity: 4 }] });

    const first = await world.receive('RCPT-1', SKU_A, EAST, 6);
    const redelivered = await world.deliver(world.receipt('RCPT-1', SKU_A, EAST, 6));

    expect(redelivered.plan).toEqual({ ...first.plan, replayed: true });
    expect(world.wms.reserveCalls).toBe(2);
    expect(world.wms.reservations.map((r) => [r.orderId, r.lines[0]?.quantity])).toEqual([
      ['ORD-1', 4],
      ['ORD-2', 2],
    ]);
    expect(world.book.row(bo('ORD-2'))).toMatchObject({ status: 'open', quantity: 2 });
    expect(world.book.row(bo('ORD-2')).fills).toHaveLength(1);
    expect(world.wms.position(EAST, SKU_A)).toMatchObject({ onHand: 6, reserved: 6 });
  });

  it('replays the WMS reservation, not a second one, when the fill was reserved but not recorded', async () => {
    await world.order('ORD-1', { lines: [{ lineNo: 1, sku: SKU_A, quantity: 4 }] });
    world.wms.receive(EAST, SKU_A, 4);
    const plan = await reevaluateOnReceipt(world.receipt('RCPT-1', SKU_A, EAST, 4), world.deps);
    const [fill] = plan.fills;
    if (!fill) throw new Error('expected a planned fill');
    world.book.failNextConfirm = true;

    await expect(fillBackorder(fill, world.deps)).rejects.toThrow(PartnerUnavailable);
    const retried = await fillBackorder(fill, world.deps);

    expect(retried).toMatchObject({ outcome: 'reserved', quantity: 4, releaseOrder: true });
    expect(world.wms.reservations).toHaveLength(1);
    expect(world.wms.position(EAST, SKU_A).reserved).toBe(4);
    expect(world.book.row(bo('ORD-1')).fills).toEqual([
      expect.objectContaining({ receiptId: 'RCPT-1', status: 'reserved', reservationId: 'RSV-1' }),
    ]);
    expect(fillReservationKey(bo('ORD-1'), 'RCPT-1')).toBe('ORD-1-BO-1:fill:RCPT-1');
  });

  it('announces again, without moving the order twice, when retried after the order went back to allocated', async () => {
    await world.order('ORD-1', { lines: [{ lineNo: 1, sku: SKU_A, quantity: 2 }] });
    const { plan } = await world.receive('RCPT-1', SKU_A, EAST, 2);
    const [fill] = plan.fills;
    if (!fill) throw new Error('expected a planned fill');

    const retried = await fillBackorder(fill, world.deps);

    expect(retried).toMatchObject({ outcome: 'reserved', releaseOrder: true });
    expect((await world.orders.get('ORD-1'))?.stageHistory.map((h) => h.stage)).toEqual([
      'backordered',
      'allocated',
    ]);
    expect(world.wms.reservations).toHaveLength(1);
  });

  it('leaves the backorder open with a reason when the WMS answers 409 at reserve time', async () => {
    await world.order('ORD-1', { lines: [{ lineNo: 1, sku: SKU_A, quantity: 4 }] });
    world.wms.receive(EAST, SKU_A, 4);
    const plan = await reevaluateOnReceipt(world.receipt('RCPT-1', SKU_A, EAST, 4), world.deps);
    world.wms.position(EAST, SKU_A).reserved += 3; // another channel took the stock since the plan
    const [fill] = plan.fills;
    if (!fill) throw new Error('expected a planned fill');

    const result = await fillBackorder(fill, world.deps);

    expect(result).toMatchObject({
      outcome: 'left-open',
      quantity: 0,
      remaining: 4,
      releaseOrder: false,
      reasonCodes: ['INSUFFICIENT_STOCK_AT_RESERVE'],
    });
    expect(world.book.row(bo('ORD-1'))).toMatchObject({
      status: 'open',
      quantity: 4,
      fills: [],
      reasonCodes: ['INSUFFICIENT_STOCK_AT_RESERVE'],
    });
    expect(world.eventNames('ORD-1')).toEqual([]);
    expect(world.orders.stage('ORD-1')).toBe('backordered');

    // Stock returns with the next receipt and the backorder fills.
    const next = await world.receive('RCPT-2', SKU_A, EAST, 3);
    expect(next.fills).toEqual([expect.objectContaining({ outcome: 'reserved', quantity: 4 })]);
  });

  it('does not crash but stops when the WMS refuses for a reason other than stock', async () => {
    await world.order('ORD-1', { lines: [{ lineNo: 1, sku: SKU_A, quantity: 4 }] });
    world.wms.receive(EAST, SKU_A, 4);
    const plan = await reevaluateOnReceipt(world.receipt('RCPT-1', SKU_A, EAST, 4), world.deps);
    world.wms.failures.push(
      new PartnerRejected('wms', 'POST /reservations answered 422: unknown_facility', 422),
    );
    const [fill] = plan.fills;
    if (!fill) throw new Error('expected a planned fill');

    // Not a stock shortage: the step fails and the workflow turns it into the order's owned exception.
    await expect(fillBackorder(fill, world.deps)).rejects.toMatchObject({
      name: 'PartnerRejected',
      status: 422,
    });
  });

  it('skips a planned fill whose backorder was filled by another receipt meanwhile', async () => {
    await world.order('ORD-1', { lines: [{ lineNo: 1, sku: SKU_A, quantity: 4 }] });
    world.wms.receive(EAST, SKU_A, 8);
    const one = await reevaluateOnReceipt(world.receipt('RCPT-1', SKU_A, EAST, 4), world.deps);
    const two = await reevaluateOnReceipt(world.receipt('RCPT-2', SKU_A, EAST, 4), world.deps);
    const [fillOne] = one.fills;
    const [fillTwo] = two.fills;
    if (!fillOne || !fillTwo) throw new Error('expected planned fills');

    await fillBackorder(fillOne, world.deps);
    const late = await fillBackorder(fillTwo, world.deps);

    expect(late).toMatchObject({
      outcome: 'superseded',
      reasonCodes: ['BACKORDER_CHANGED_SINCE_EVALUATION'],
    });
    expect(world.wms.reservations).toHaveLength(1);
  });

  it('reserves and fills the held lines of a ship-complete order when its backorders fill', async () => {
    // Line 1 was in stock at allocation but ship-complete terms reserved nothing; only line 2 was backordered.
    await world.order('ORD-1', {
      lines: [
        { lineNo: 1, sku: SKU_A, quantity: 2 },
        { lineNo: 2, sku: SKU_B, quantity: 3 },
      ],
      short: [2],
      terms: 'ship-complete',
    });
    world.wms.receive(WEST, SKU_A, 5);

    const { fills } = await world.receive('RCPT-1', SKU_B, WEST, 3);

    expect(fills).toEqual([expect.objectContaining({ outcome: 'reserved', releaseOrder: true })]);
    const record = await world.orders.get('ORD-1');
    expect(record?.stage).toBe('allocated');
    expect(record?.stageHistory.at(-1)?.reasonCodes).toEqual(['BACKORDER_FILLED', 'HELD_LINES_RESERVED']);
    expect(record?.allocation?.allocated).toEqual([
      { lineNo: 1, sku: SKU_A, quantity: 2 },
      { lineNo: 2, sku: SKU_B, quantity: 3 },
    ]);
    expect(world.book.row(bo('ORD-1', 1))).toMatchObject({
      status: 'filled',
      fills: [expect.objectContaining({ receiptId: 'HELD-LINES' })],
    });
    expect(world.eventNames('ORD-1')).toEqual([
      'backorder.filled',
      'backorder.created',
      'allocation.confirmed',
      'allocation.confirmed',
    ]);
  });

  it('keeps a ship-complete order backordered while its held lines have no stock', async () => {
    await world.order('ORD-1', {
      lines: [
        { lineNo: 1, sku: SKU_A, quantity: 2 },
        { lineNo: 2, sku: SKU_B, quantity: 3 },
      ],
      short: [2],
      terms: 'ship-complete',
    });

    const { fills } = await world.receive('RCPT-1', SKU_B, WEST, 3);

    expect(fills[0]).toMatchObject({ outcome: 'reserved', releaseOrder: false });
    expect(fills[0]?.reasonCodes).toEqual([
      'FILLED_COMPLETE',
      'HELD_LINES_AWAIT_STOCK',
      'AWAITING_OTHER_BACKORDERS',
    ]);
    expect(world.orders.stage('ORD-1')).toBe('backordered');
    expect(world.book.row(bo('ORD-1', 1))).toMatchObject({ status: 'open', quantity: 2 });

    // The held line is now an ordinary backorder: its own receipt fills it and the order is allocated.
    const next = await world.receive('RCPT-2', SKU_A, EAST, 2);
    expect(next.fills).toEqual([expect.objectContaining({ outcome: 'reserved', releaseOrder: true })]);
  });

  /** A ship-partial order: line 1 reserved at DC-EAST, line 2 (3 of SKU-A) backordered. */
  const PART_RESERVED_REST_SHORT = {
    lines: [
      { lineNo: 1, sku: SKU_B, quantity: 1 },
      { lineNo: 2, sku: SKU_A, quantity: 3 },
    ],
    short: [2],
    allocated: [1],
  };

  it.each(['released', 'invoiced'] as const)(
    'reserves a follow-on shipment for an order %s and releases it to the warehouse at once, without changing its stage',
    async (stage) => {
      await world.order('ORD-1', { ...PART_RESERVED_REST_SHORT, stage });

      const { fills } = await world.receive('RCPT-1', SKU_A, WEST, 3);

      expect(fills).toEqual([
        expect.objectContaining({
          outcome: 'reserved',
          releaseOrder: false,
          reasonCodes: ['FILLED_COMPLETE', 'FOLLOW_ON_RESERVATION', 'FOLLOW_ON_RELEASED'],
        }),
      ]);
      expect(world.orders.stage('ORD-1')).toBe(stage);
      expect(world.eventNames('ORD-1')).toEqual([
        'backorder.filled',
        'allocation.confirmed',
        'warehouse.released',
      ]);
      expect(world.events.detailOf('ORD-1', 'allocation.confirmed')).toMatchObject({ partial: true });
      expect(world.events.detailOf('ORD-1', 'warehouse.released')).toMatchObject({
        siteId: WEST,
        lines: [{ lineNo: 2, sku: SKU_A, quantity: 3 }],
        idempotencyKey: 'ORD-1:release:backorder:2:RCPT-1',
        reasonCodes: ['FOLLOW_ON_RELEASE'],
      });
      expect(world.wms.releases).toEqual([
        { orderId: 'ORD-1', siteId: WEST, idempotencyKey: 'ORD-1:release:backorder:2:RCPT-1' },
      ]);
    },
  );

  it('a follow-on fill for an order still waiting for its release window joins the allocation that release hands over', async () => {
    await world.order('ORD-1', { ...PART_RESERVED_REST_SHORT, stage: 'release-deferred' });

    const { fills } = await world.receive('RCPT-1', SKU_A, WEST, 3);

    expect(fills).toEqual([
      expect.objectContaining({
        reasonCodes: ['FILLED_COMPLETE', 'FOLLOW_ON_RESERVATION', 'FOLLOW_ON_JOINS_RELEASE'],
      }),
    ]);
    expect(world.wms.releases).toEqual([]);
    const record = await world.orders.get('ORD-1');
    expect(record?.stage).toBe('release-deferred');
    expect(record?.allocation?.allocated).toEqual([
      { lineNo: 1, sku: SKU_B, quantity: 1 },
      { lineNo: 2, sku: SKU_A, quantity: 3 },
    ]);
    expect(record?.allocation?.shipments?.map((s) => [s.siteId, s.lines])).toEqual([
      [EAST, [{ lineNo: 1, sku: SKU_B, quantity: 1 }]],
      [WEST, [{ lineNo: 2, sku: SKU_A, quantity: 3 }]],
    ]);
  });
});

describe('sweepAged', () => {
  let world: World;
  beforeEach(() => {
    world = new World();
    world.rules.rules.set('CUST-CANCEL', { maxAgeDays: 10, onAged: 'cancel', allowPartialFill: true });
    world.rules.rules.set('CUST-NOTIFY', {
      maxAgeDays: 10,
      onAged: 'notify-and-keep',
      allowPartialFill: true,
    });
  });

  it('cancels an aged backordered order per its rule and notifies the other rule once', async () => {
    await world.order('ORD-CANCEL', {
      lines: [{ lineNo: 1, sku: SKU_A, quantity: 4 }],
      customerId: 'CUST-CANCEL',
    });
    await world.order('ORD-NOTIFY', {
      lines: [{ lineNo: 1, sku: SKU_A, quantity: 4 }],
      customerId: 'CUST-NOTIFY',
    });

    const early = await sweepAged(world.clock.now(), world.deps);
    expect(early).toMatchObject({ cancelledOrders: [], notified: [] });

    world.clock.advanceDays(10);
    const result = await sweepAged(world.clock.now(), world.deps);

    expect(result).toMatchObject({
      cancelledOrders: ['ORD-CANCEL'],
      cancelledBackorders: [bo('ORD-CANCEL')],
      notified: [bo('ORD-NOTIFY')],
      deferred: [],
    });
    const closed = await world.orders.get('ORD-CANCEL');
    expect(closed?.stage).toBe('closed');
    expect(closed?.stageHistory.at(-1)?.reasonCodes).toEqual(['BACKORDER_AGED_OUT']);
    expect(world.events.detailOf('ORD-CANCEL', 'order.closed')).toMatchObject({
      outcome: 'cancelled',
      path: 'standard-single-site',
    });
    expect(world.book.row(bo('ORD-CANCEL'))).toMatchObject({
      status: 'cancelled',
      reasonCodes: ['BACKORDER_AGED_OUT'],
    });
    expect(world.book.row(bo('ORD-NOTIFY'))).toMatchObject({
      status: 'open',
      notifiedAt: world.clock.now().toISOString(),
    });
    expect(world.orders.stage('ORD-NOTIFY')).toBe('backordered');
    expect(world.notices.notices.map((n) => [n.backorderId, n.action, n.orderCancelled])).toEqual([
      [bo('ORD-CANCEL'), 'cancelled', true],
      [bo('ORD-NOTIFY'), 'kept-open', false],
    ]);

    // Later sweeps never notify the kept backorder again.
    world.clock.advanceDays(3);
    const again = await sweepAged(world.clock.now(), world.deps);
    expect(again).toMatchObject({ cancelledOrders: [], cancelledBackorders: [], notified: [], kept: 1 });
    const bySku = await sweepAged(world.clock.now(), world.deps, { sku: SKU_A });
    expect(bySku).toMatchObject({ notified: [], kept: 1 });
    expect(world.notices.notices).toHaveLength(2);
  });

  it('cancels only the aged line of an order that already shipped its other lines', async () => {
    await world.order('ORD-1', {
      lines: [
        { lineNo: 1, sku: SKU_B, quantity: 1 },
        { lineNo: 2, sku: SKU_A, quantity: 3 },
      ],
      short: [2],
      allocated: [1],
      stage: 'shipped',
      customerId: 'CUST-CANCEL',
    });
    world.clock.advanceDays(11);

    const result = await sweepAged(world.clock.now(), world.deps);

    expect(result).toMatchObject({ cancelledOrders: [], cancelledBackorders: [bo('ORD-1', 2)] });
    expect(world.orders.stage('ORD-1')).toBe('shipped');
    expect(world.eventNames('ORD-1')).toEqual([]);
    expect(world.notices.notices).toEqual([
      expect.objectContaining({
        backorderId: bo('ORD-1', 2),
        action: 'cancelled',
        orderCancelled: false,
        outstandingQuantity: 3,
      }),
    ]);
  });

  it('lists the reservations of earlier partial fills when it cancels the order', async () => {
    await world.order('ORD-1', {
      lines: [{ lineNo: 1, sku: SKU_A, quantity: 4 }],
      customerId: 'CUST-CANCEL',
    });
    await world.receive('RCPT-1', SKU_A, EAST, 1);
    world.clock.advanceDays(10);

    await sweepAged(world.clock.now(), world.deps);

    expect(world.notices.notices).toEqual([
      expect.objectContaining({ orderCancelled: true, outstandingQuantity: 3, reservationIds: ['RSV-1'] }),
    ]);
  });

  it('does not fill an aged backorder: the sweep owns it', async () => {
    await world.order('ORD-1', {
      lines: [{ lineNo: 1, sku: SKU_A, quantity: 4 }],
      customerId: 'CUST-NOTIFY',
    });
    world.clock.advanceDays(10);

    const { plan } = await world.receive('RCPT-1', SKU_A, EAST, 4);

    expect(plan.fillCount).toBe(0);
    expect(world.book.plans.get('RCPT-1')?.reasonCodes[bo('ORD-1')]).toEqual(['AGED_OUT']);
  });

  it('leaves a backorder with a fill in flight for the next sweep', async () => {
    await world.order('ORD-1', {
      lines: [{ lineNo: 1, sku: SKU_A, quantity: 4 }],
      customerId: 'CUST-CANCEL',
    });
    await world.book.claimFill(bo('ORD-1'), {
      receiptId: 'RCPT-1',
      siteId: EAST,
      quantity: 1,
      claimedAt: T0.toISOString(),
    });
    world.clock.advanceDays(10);

    const result = await sweepAged(world.clock.now(), world.deps);

    expect(result).toMatchObject({ cancelledOrders: [], deferred: [bo('ORD-1')] });
    expect(world.orders.stage('ORD-1')).toBe('backordered');
  });
});

describe('recordBackorders', () => {
  it('opens each line once, under the customer rule', async () => {
    const world = new World();
    world.rules.rules.set('CUST-7', { maxAgeDays: 7, onAged: 'cancel', allowPartialFill: true });
    await world.order('ORD-1', { lines: [{ lineNo: 1, sku: SKU_A, quantity: 4 }], customerId: 'CUST-7' });

    const again = await recordBackorders(
      { orderId: 'ORD-1', occurredAt: T0.toISOString(), lines: [{ lineNo: 1, sku: SKU_A, quantity: 4 }] },
      world.deps,
    );

    expect(again).toEqual({ backorderIds: [bo('ORD-1')], created: [] });
    expect(world.book.row(bo('ORD-1'))).toMatchObject({
      status: 'open',
      quantity: 4,
      cancelAfter: '2025-03-11T09:00:00.000Z',
    });
  });
});

// ---------------------------------------------------------------------------------------------------
// The workflow: statemachines/backorder-reevaluation.asl.json on aws-local-stepfunctions
// ---------------------------------------------------------------------------------------------------

type JSONValue = Parameters<StateMachine['run']>[0];
interface AslState {
  Type: string;
  Parameters?: { FunctionName?: string };
  ItemProcessor?: { States: Record<string, AslState> };
}

const ASL_URL = new URL('../../../statemachines/backorder-reevaluation.asl.json', import.meta.url);

function loadDefinition(): { definition: { States: Record<string, AslState> }; taskStates: string[] } {
  const asl = readFileSync(ASL_URL, 'utf8').replace(
    /\$\{([A-Za-z]+)\}/g,
    (_match, name: string) => `arn:aws:lambda:us-east-1:123456789012:function:${name}`,
  );
  const definition = JSON.parse(asl) as { States: Record<string, AslState> };
  const taskStates: string[] = [];
  const visit = (states: Record<string, AslState>) => {
    for (const [name, state] of Object.entries(states)) {
      if (state.Type === 'Task') taskStates.push(name);
      if (state.ItemProcessor) visit(state.ItemProcessor.States);
    }
  };
  visit(definition.States);
  return { definition, taskStates };
}

describe('backorder-reevaluation.asl.json', () => {
  let world: World;
  let raised: Record<string, unknown>[];
  let handler: (input: unknown) => Promise<unknown>;

  beforeEach(async () => {
    world = new World();
    raised = [];
    vi.stubEnv('ORDERS_TABLE_NAME', 'orders');
    vi.stubEnv('EVENT_BUS_NAME', 'bus');
    vi.stubEnv('WMS_BASE_URL', 'http://wms.invalid');
    vi.stubEnv('BACKORDERS_TABLE_NAME', 'backorders');
    vi.stubEnv('AWS_REGION', 'eu-west-1');
    vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
    const module = await import('../../../lambdas/handlers/backorder-reevaluation.ts');
    handler = module.createLambdaHandler(world.deps);
  });

  afterEach(() => {
    vi.unstubAllEnvs();
  });

  /** Runs one execution; each Task goes to the real handler (or release/raise use cases) over the fakes. */
  async function run(input: JSONValue) {
    const { definition, taskStates } = loadDefinition();
    const steps: Record<string, (payload: Record<string, unknown>) => Promise<unknown>> = {
      BackorderReevaluationFunctionArn: (payload) => handler(payload),
      ReleaseToWarehouseFunctionArn: async (payload) => {
        const result = await releaseToWarehouse(String(payload.orderId), {
          ...world.deps,
          warehouse: world.wms,
        });
        // The clock stands in for the Wait state: a deferred release resumes at its window.
        if (result.action === 'defer') world.clock.current = new Date(result.releaseAt);
        return result;
      },
      RaiseStepExceptionFunctionArn: async (payload) => {
        raised.push(payload);
        return { exceptionId: `EXC-${String(payload.orderId)}` };
      },
    };
    const handlers: Record<string, (input: JSONValue) => Promise<JSONValue>> = {};
    const noRetryWait: Record<string, number> = {};
    const byState = new Map<string, string>();
    const visit = (states: Record<string, AslState>) => {
      for (const [name, state] of Object.entries(states)) {
        if (state.Type === 'Task') byState.set(name, state.Parameters?.FunctionName?.split(':').pop() ?? '');
        if (state.ItemProcessor) visit(state.ItemProcessor.States);
      }
    };
    visit(definition.States);
    for (const name of taskStates) {
      noRetryWait[name] = 0;
      handlers[name] = async (taskInput) => {
        const step = steps[byState.get(name) ?? ''];
        if (!step) throw new Error(`no step behind ${name}`);
        const payload = (taskInput as { Payload: Record<string, unknown> }).Payload;
        return { Payload: (await step(payload)) as JSONValue, StatusCode: 200 };
      };
    }
    const execution = new StateMachine(definition as never).run(input, {
      overrides: {
        taskResourceLocalHandlers: handlers,
        waitTimeOverrides: { WaitForRefilledReleaseWindow: 0 },
        retryIntervalOverrides: noRetryWait,
      },
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
      await collecting;
      return { status: 'FAILED' as const, error: error as Error, statesEntered, retried };
    }
  }

  /** inventory.received as EventBridge delivers it to the state machine target. */
  function receivedEvent(receiptId: string, sku: string, siteId: string, quantity: number): JSONValue {
    world.wms.receive(siteId, sku, quantity);
    const position = world.wms.position(siteId, sku);
    return {
      version: '0',
      id: `evt-${receiptId}`,
      'detail-type': 'inventory.received.v1',
      source: 'handoff.inventory',
      account: '123456789012',
      time: world.clock.now().toISOString(),
      region: 'eu-west-1',
      resources: [],
      detail: {
        schemaVersion: 1,
        orderId: receiptId,
        correlationId: receiptId,
        idempotencyKey: `${receiptId}:inventory:received`,
        occurredAt: world.clock.now().toISOString(),
        receiptId,
        sku,
        siteId,
        quantity,
        onHand: position.onHand,
        reserved: position.reserved,
      },
    };
  }

  it('main route: fills the last backorder, releases the order and sweeps, in 10 state transitions', async () => {
    await world.order('ORD-1', { lines: [{ lineNo: 1, sku: SKU_A, quantity: 2 }] });

    const execution = await run(receivedEvent('RCPT-1', SKU_A, EAST, 2));

    expect(execution.status).toBe('SUCCEEDED');
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
    expect(execution.statesEntered.length).toBeLessThanOrEqual(12);
    expect(world.orders.stage('ORD-1')).toBe('released');
    expect(world.eventNames('ORD-1')).toEqual([
      'backorder.filled',
      'allocation.confirmed',
      'warehouse.released',
    ]);
  });

  it('a partial fill ends its item without a release', async () => {
    await world.order('ORD-1', { lines: [{ lineNo: 1, sku: SKU_A, quantity: 5 }] });

    const execution = await run(receivedEvent('RCPT-1', SKU_A, EAST, 2));

    expect(execution.status).toBe('SUCCEEDED');
    expect(execution.statesEntered).toContain('FillSettled');
    expect(execution.statesEntered).not.toContain('DecideReleaseOfRefilledOrder');
    expect(world.orders.stage('ORD-1')).toBe('backordered');
  });

  it('no fills: goes straight to the sweep', async () => {
    const execution = await run(receivedEvent('RCPT-1', SKU_A, EAST, 2));

    expect(execution.status).toBe('SUCCEEDED');
    expect(execution.statesEntered).toEqual([
      'ReevaluateOpenBackorders',
      'RouteOnPlannedFills',
      'SweepAgedBackorders',
      'ReceiptHandled',
    ]);
  });

  it('a redelivered receipt runs the same plan again and reserves nothing twice', async () => {
    await world.order('ORD-1', { lines: [{ lineNo: 1, sku: SKU_A, quantity: 2 }] });
    const event = receivedEvent('RCPT-1', SKU_A, EAST, 2);

    await run(event);
    const redelivered = await run(event);

    expect(redelivered.status).toBe('SUCCEEDED');
    expect(world.wms.reservations).toHaveLength(1);
    expect(world.wms.releases).toHaveLength(1);
  });

  it('a future-dated order waits for its release window, then is released', async () => {
    await world.order('ORD-1', {
      lines: [{ lineNo: 1, sku: SKU_A, quantity: 2 }],
      promiseDate: '2025-03-20',
    });

    const execution = await run(receivedEvent('RCPT-1', SKU_A, EAST, 2));

    expect(execution.status).toBe('SUCCEEDED');
    expect(execution.statesEntered.filter((s) => s === 'DecideReleaseOfRefilledOrder')).toHaveLength(2);
    expect(execution.statesEntered).toContain('WaitForRefilledReleaseWindow');
    expect(world.orders.stage('ORD-1')).toBe('released');
  });

  it('retries a transient WMS failure on the fill', async () => {
    await world.order('ORD-1', { lines: [{ lineNo: 1, sku: SKU_A, quantity: 2 }] });
    world.wms.failures.push(new PartnerUnavailable('wms', 'POST /reservations answered 503', 503));

    const execution = await run(receivedEvent('RCPT-1', SKU_A, EAST, 2));

    expect(execution.status).toBe('SUCCEEDED');
    expect(execution.retried).toEqual(['ReserveAndRecordFill']);
    expect(world.wms.reservations).toHaveLength(1);
  });

  it("a failed fill becomes that order's owned exception; the other orders carry on", async () => {
    await world.order('ORD-BAD', {
      lines: [{ lineNo: 1, sku: SKU_A, quantity: 2 }],
      priority: 'key-account',
    });
    await world.order('ORD-GOOD', { lines: [{ lineNo: 1, sku: SKU_A, quantity: 2 }] });
    world.wms.failuresFor.set(
      'ORD-BAD',
      new PartnerContractBroken('wms', 'WMS reservation answered without a number'),
    );

    const execution = await run(receivedEvent('RCPT-1', SKU_A, EAST, 4));

    expect(execution.status).toBe('SUCCEEDED');
    expect(execution.statesEntered).toEqual(
      expect.arrayContaining([
        'TagFillFailure',
        'RaiseOwnedStepException',
        'ParkedAsOwnedException',
        'ReceiptHandled',
      ]),
    );
    expect(raised).toEqual([
      expect.objectContaining({
        orderId: 'ORD-BAD',
        failedStep: 'ReserveAndRecordFill',
        error: expect.objectContaining({ Error: 'PartnerContractBroken' }),
      }),
    ]);
    expect(world.orders.stage('ORD-GOOD')).toBe('released');
  });

  it('a receipt-level failure fails the execution with the step named', async () => {
    world.book.findPlanFailure = new PartnerContractBroken('dynamodb', 'backorder table missing');

    const execution = await run(receivedEvent('RCPT-1', SKU_A, EAST, 2));

    expect(execution.status).toBe('FAILED');
    expect(execution.error?.cause).toMatchObject({
      name: 'BackorderReevaluationFailed',
      message: 'dynamodb: backorder table missing',
    });
    expect(execution.statesEntered).toEqual(['ReevaluateOpenBackorders', 'ReevaluationFailedForReceipt']);
  });

  it('rejects a receipt that breaks the inventory.received contract at the edge', async () => {
    const event = receivedEvent('RCPT-1', SKU_A, EAST, 2) as { detail: Record<string, unknown> };
    event.detail.quantity = 0;

    const execution = await run(event as JSONValue);

    expect(execution.status).toBe('FAILED');
    expect(execution.error?.cause).toMatchObject({ name: 'BackorderReevaluationFailed' });
    expect(execution.error?.message).toMatch(/receipt\.quantity/);
    expect(world.book.plans.size).toBe(0);
  });
});
