import { describe, expect, it } from 'vitest';
import type { AllocatedLine, SiteStock } from '../../../lambdas/core/allocation.ts';
import type {
  CanonicalEvent,
  InventoryPort,
  OrderRecord,
  OrderRepository,
  OwnedException,
  StockSnapshot,
} from '../../../lambdas/ports/index.ts';
import { PartnerUnavailable, StockMovedDuringReservation } from '../../../lambdas/shared/errors.ts';
import { allocateStock, substituteReviewId } from '../../../lambdas/use-cases/allocate-stock.ts';

/**
 * The race every distributor's WMS sees at peak: availability says 30 at the nearest site, another order
 * takes them before this one's reservation lands, and the WMS refuses (409 insufficient stock).
 */
const site = (siteId: string, rank: number, onHand: number): SiteStock => ({
  siteId,
  proximityRank: rank,
  shippingCost: rank,
  items: { 'WIDGET-100': { onHand, reserved: 0, safetyStock: 0 } },
});

class Inventory implements InventoryPort {
  readonly reservations: { siteId: string; lines: readonly AllocatedLine[]; idempotencyKey: string }[] = [];
  constructor(
    private readonly snapshots: StockSnapshot[],
    private readonly refusals: Error[],
  ) {}
  async getStock() {
    return this.snapshots.length > 1
      ? (this.snapshots.shift() as StockSnapshot)
      : (this.snapshots[0] as StockSnapshot);
  }
  async reserve(request: { siteId: string; lines: readonly AllocatedLine[]; idempotencyKey: string }) {
    this.reservations.push(request);
    const refusal = this.refusals.shift();
    if (refusal) throw refusal;
    return { reservationId: `RSV-${this.reservations.length}` };
  }
}

function setup(inventory: Inventory) {
  let record = {
    orderId: 'ERP-RACE-1',
    stage: 'credit-approved',
    version: 3,
    stageHistory: [],
    order: {
      lines: [{ lineNo: 10, sku: 'WIDGET-100', quantity: 40 }],
      shipTo: { country: 'US' },
      customer: { terms: { fulfilment: 'ship-complete' } },
      serviceLevel: 'standard',
    },
  } as unknown as OrderRecord;
  const orders = {
    get: async () => record,
    transition: async (current: OrderRecord, to: string, _reasonCodes: readonly string[], patch = {}) => {
      record = { ...current, ...patch, stage: to, version: current.version + 1 } as OrderRecord;
      return record;
    },
  } as unknown as OrderRepository;
  const published: CanonicalEvent[] = [];
  return {
    deps: {
      orders,
      inventory,
      events: { publish: async (events: readonly CanonicalEvent[]) => void published.push(...events) },
      clock: { now: () => new Date('2026-12-03T15:00:00Z') },
    },
    published,
    current: () => record,
  };
}

const snapshot = (...sites: SiteStock[]): StockSnapshot => ({ sites, logistics: [] });
const moved = () => new StockMovedDuringReservation('DC-EAST', 'wms: 409 insufficient_stock');

describe('allocation when the stock moves between availability and reservation', () => {
  it('plans again on fresh availability and reserves at the next site, under the same key', async () => {
    const inventory = new Inventory(
      [
        snapshot(site('DC-EAST', 1, 70), site('DC-CENTRAL', 2, 90)),
        snapshot(site('DC-EAST', 1, 30), site('DC-CENTRAL', 2, 90)),
      ],
      [moved()],
    );
    const { deps, published, current } = setup(inventory);
    const result = await allocateStock('ERP-RACE-1', deps);

    expect(result).toMatchObject({ status: 'full', siteId: 'DC-CENTRAL' });
    expect(inventory.reservations.map((r) => r.siteId)).toEqual(['DC-EAST', 'DC-CENTRAL']);
    expect(new Set(inventory.reservations.map((r) => r.idempotencyKey))).toEqual(
      new Set(['ERP-RACE-1:allocation']),
    );
    expect(current().stage).toBe('allocated');
    expect(published.map((e) => e.name)).toEqual(['allocation.confirmed']);
  });

  it('backorders when fresh availability shows the stock is gone everywhere', async () => {
    const inventory = new Inventory(
      [snapshot(site('DC-EAST', 1, 70)), snapshot(site('DC-EAST', 1, 30))],
      [moved()],
    );
    const { deps, current } = setup(inventory);
    const result = await allocateStock('ERP-RACE-1', deps);
    expect(result.status).toBe('backorder');
    expect(current().stage).toBe('backordered');
    expect(inventory.reservations).toHaveLength(1);
  });

  it('gives up after three plans with the retryable error, leaving the order where it was', async () => {
    const inventory = new Inventory([snapshot(site('DC-EAST', 1, 70))], [moved(), moved(), moved()]);
    const { deps, current } = setup(inventory);
    await expect(allocateStock('ERP-RACE-1', deps)).rejects.toMatchObject({
      name: 'StockMovedDuringReservation',
      retryable: true,
    });
    expect(inventory.reservations).toHaveLength(3);
    expect(current().stage).toBe('credit-approved');
  });

  it('does not re-plan on other failures', async () => {
    const inventory = new Inventory(
      [snapshot(site('DC-EAST', 1, 70))],
      [new PartnerUnavailable('wms', 'down', 503)],
    );
    const { deps } = setup(inventory);
    await expect(allocateStock('ERP-RACE-1', deps)).rejects.toBeInstanceOf(PartnerUnavailable);
    expect(inventory.reservations).toHaveLength(1);
  });
});

describe("allocation with the customer's approved substitutes", () => {
  /** A WMS that answers for the SKUs asked about, as the real one does. */
  class Stock implements InventoryPort {
    readonly asked: string[][] = [];
    readonly reservations: { siteId: string; lines: readonly AllocatedLine[] }[] = [];
    constructor(private readonly onHand: Record<string, number>) {}
    async getStock(skus: readonly string[]) {
      this.asked.push([...skus]);
      const items = Object.fromEntries(
        skus.map((sku) => [sku, { onHand: this.onHand[sku] ?? 0, reserved: 0, safetyStock: 0 }]),
      );
      return snapshot({ siteId: 'DC-EAST', proximityRank: 1, shippingCost: 1, items });
    }
    async reserve(request: { siteId: string; lines: readonly AllocatedLine[] }) {
      this.reservations.push(request);
      return { reservationId: 'RSV-1' };
    }
  }

  function world(onHand: Record<string, number>, quantity = 12) {
    const stock = new Stock(onHand);
    const base = setup(new Inventory([snapshot()], []));
    let record = {
      ...base.current(),
      order: {
        lines: [{ lineNo: 10, sku: 'VALVE-3IN', quantity, unitPrice: 185, unitCost: 121 }],
        shipTo: { country: 'US' },
        customer: { id: 'C-1001', terms: { fulfilment: 'ship-partial' } },
        serviceLevel: 'standard',
      },
    } as unknown as OrderRecord;
    const reasons: string[][] = [];
    const lists: string[][] = [];
    const annotations: unknown[] = [];
    const deps = {
      ...base.deps,
      inventory: stock,
      orders: {
        get: async () => record,
        annotate: async (current: OrderRecord, patch: { addExceptionId?: string }) => {
          annotations.push(patch);
          record = {
            ...current,
            exceptionIds: [
              ...(current.exceptionIds ?? []),
              ...(patch.addExceptionId ? [patch.addExceptionId] : []),
            ],
            version: current.version + 1,
          } as OrderRecord;
          return record;
        },
        transition: async (current: OrderRecord, to: string, reasonCodes: readonly string[], patch = {}) => {
          reasons.push([...reasonCodes]);
          record = { ...current, ...patch, stage: to, version: current.version + 1 } as OrderRecord;
          return record;
        },
      } as unknown as OrderRepository,
      substitutes: {
        substitutesFor: async (_customerId: string, skus: readonly string[]) => {
          lists.push([...skus]);
          return {
            approvedSubstitutes: [
              { forSku: 'VALVE-3IN', substituteSku: 'VALVE-3IN-RS', customerApproved: true },
            ],
            catalogue: { 'VALVE-3IN-RS': { unitCost: 124, listPrice: 199 } },
          };
        },
      },
    };
    return { deps, stock, reasons, lists, annotations, published: base.published, current: () => record };
  }

  it('reserves the substitute for the short line, records what it charges, and backorders nothing', async () => {
    const w = world({ 'VALVE-3IN': 3, 'VALVE-3IN-RS': 30 });

    const result = await allocateStock('ERP-RACE-1', w.deps);

    expect(result).toMatchObject({ status: 'full', substituted: ['10:VALVE-3IN->VALVE-3IN-RS'] });
    expect(w.stock.asked).toEqual([['VALVE-3IN'], ['VALVE-3IN', 'VALVE-3IN-RS']]);
    expect(w.lists).toEqual([['VALVE-3IN']]);
    expect(w.stock.reservations).toEqual([
      expect.objectContaining({ lines: [{ lineNo: 10, sku: 'VALVE-3IN-RS', quantity: 12 }] }),
    ]);
    expect(w.current().allocation?.substitutions).toEqual([
      expect.objectContaining({
        lineNo: 10,
        originalSku: 'VALVE-3IN',
        substituteSku: 'VALVE-3IN-RS',
        unitPrice: 185,
      }),
    ]);
    expect(w.reasons[0]).toEqual(['NEAREST_FULL_SITE', 'SUBSTITUTED:10:VALVE-3IN-RS']);
    expect(w.published.map((e) => e.name)).toEqual(['allocation.confirmed']);
  });

  it('backorders the line, naming the proposal, when the substitute needs approval', async () => {
    const w = world({ 'VALVE-3IN': 0, 'VALVE-3IN-RS': 30 }, 15);

    const result = await allocateStock('ERP-RACE-1', w.deps);

    expect(result).toMatchObject({ status: 'backorder', substituted: [] });
    expect(w.stock.reservations).toEqual([]);
    expect(w.reasons[0]).toEqual(['NO_STOCK_AT_ANY_SITE', 'SUBSTITUTE_NEEDS_APPROVAL:10:VALVE-3IN-RS']);
    expect(w.current().allocation?.substitutesAwaitingApproval).toEqual([
      {
        lineNo: 10,
        originalSku: 'VALVE-3IN',
        substituteSku: 'VALVE-3IN-RS',
        quantity: 15,
        unitPrice: 185,
        value: 2775,
        marginPct: expect.any(Number),
        approvalReasonCodes: ['VALUE_ABOVE_APPROVAL_THRESHOLD'],
      },
    ]);
    expect(w.published.map((e) => e.name)).toEqual(['allocation.shortage', 'backorder.created']);
  });

  it('does not ask the ERP when nothing is short', async () => {
    const w = world({ 'VALVE-3IN': 20 });

    await allocateStock('ERP-RACE-1', w.deps);

    expect(w.lists).toEqual([]);
    expect(w.stock.asked).toHaveLength(1);
  });

  /** The single-site path's review: an exception store the allocation raises into and reads back. */
  function reviewed(onHand: Record<string, number>, quantity = 15) {
    const w = world(onHand, quantity);
    const store = new Map<string, OwnedException>();
    const deps = {
      ...w.deps,
      exceptions: {
        get: async (id: string) => store.get(id),
        raiseIfAbsent: async (exception: OwnedException) => {
          if (store.has(exception.exceptionId)) return { created: false };
          store.set(exception.exceptionId, exception);
          return { created: true };
        },
      },
    };
    const decide = (outcome: 'approve' | 'reject' | 'override', decidedBy = 'ops.customer-service') => {
      const id = substituteReviewId('ERP-RACE-1');
      const raised = store.get(id) as OwnedException;
      store.set(id, {
        ...raised,
        state: 'resolved',
        resolution: {
          outcome,
          closedAs: outcome === 'reject' ? 'rejected' : 'approved',
          decidedBy,
          decidedAt: '2026-12-03T16:00:00.000Z',
          reason: 'customer answered',
          tier: 1,
        },
      });
    };
    return { ...w, deps, store, decide };
  }

  it('under review, reserves nothing and raises one owned exception for the account manager', async () => {
    const w = reviewed({ 'VALVE-3IN': 0, 'VALVE-3IN-RS': 30 });

    const result = await allocateStock('ERP-RACE-1', w.deps, { review: true });

    expect(result).toEqual({
      status: 'awaiting-substitute-approval',
      siteId: null,
      allocatedLines: 0,
      shortLines: 1,
      substituted: [],
      approval: { exceptionId: 'EXC-ERP-RACE-1-SUBSTITUTE', slaSeconds: 4 * 3600 },
    });
    expect(w.stock.reservations).toEqual([]);
    expect(w.current().stage).toBe('credit-approved');
    const raised = w.store.get('EXC-ERP-RACE-1-SUBSTITUTE');
    expect(raised).toMatchObject({
      type: 'substitution',
      ownerTeam: 'customer-service',
      state: 'open',
      slaDueAt: '2026-12-03T19:00:00.000Z',
      reasonCodes: ['SUBSTITUTE_NEEDS_APPROVAL', 'VALUE_ABOVE_APPROVAL_THRESHOLD'],
      context: {
        ladder: 'substitution',
        proposals: [expect.objectContaining({ lineNo: 10, substituteSku: 'VALVE-3IN-RS', quantity: 15 })],
      },
    });
    expect(raised?.recommendedAction).toContain('line 10 VALVE-3IN → VALVE-3IN-RS × 15');
    expect(w.annotations).toEqual([{ addExceptionId: 'EXC-ERP-RACE-1-SUBSTITUTE' }]);
    expect(w.published.map((e) => e.name)).toEqual(['substitution.proposed', 'exception.raised']);
    expect(w.published[0]?.detail).toMatchObject({
      lineNo: 10,
      substituteSku: 'VALVE-3IN-RS',
      requiresApproval: true,
      reasonCodes: ['VALUE_ABOVE_APPROVAL_THRESHOLD'],
    });

    // A retried step while the customer has not answered: the same wait, nothing raised or planned again;
    // the announcement is repeated under the same keys (the first attempt may have failed before it).
    const again = await allocateStock('ERP-RACE-1', w.deps, { review: true });
    expect(again.status).toBe('awaiting-substitute-approval');
    expect(w.published.slice(2).map((e) => e.detail.idempotencyKey)).toEqual(
      w.published.slice(0, 2).map((e) => e.detail.idempotencyKey),
    );
    expect(w.annotations).toHaveLength(1);
    expect(w.stock.asked).toHaveLength(2);
  });

  it('gives the account manager working hours: a review raised just before Friday’s close is due on Monday', async () => {
    const w = reviewed({ 'VALVE-3IN': 0, 'VALVE-3IN-RS': 30 });
    // Friday 17:00 in Chicago: two of the four hours are left that day, the other two come on Monday.
    let now = new Date('2026-12-04T23:00:00Z');
    const deps = { ...w.deps, clock: { now: () => now } };

    const raised = await allocateStock('ERP-RACE-1', deps, { review: true });

    expect(w.store.get('EXC-ERP-RACE-1-SUBSTITUTE')?.slaDueAt).toBe('2026-12-07T15:00:00.000Z');
    expect(raised.approval).toEqual({ exceptionId: 'EXC-ERP-RACE-1-SUBSTITUTE', slaSeconds: 64 * 3600 });
    // A retry on Monday morning waits only for what is left of the same deadline.
    now = new Date('2026-12-07T14:00:00Z');
    const retried = await allocateStock('ERP-RACE-1', deps, { review: true });
    expect(retried.approval).toEqual({ exceptionId: 'EXC-ERP-RACE-1-SUBSTITUTE', slaSeconds: 3600 });
    // Past it, the task times out at once and the SLA fallback decides.
    now = new Date('2026-12-07T16:00:00Z');
    expect((await allocateStock('ERP-RACE-1', deps, { review: true })).approval?.slaSeconds).toBe(1);
  });

  it('links the review to its order on the retry when the first attempt lost the version race', async () => {
    const w = reviewed({ 'VALVE-3IN': 0, 'VALVE-3IN-RS': 30 });
    const orders = w.deps.orders as unknown as { annotate: (...args: unknown[]) => Promise<unknown> };
    const annotate = orders.annotate;
    orders.annotate = async () => {
      orders.annotate = annotate;
      throw new Error('ConcurrentOrderUpdate');
    };
    await expect(allocateStock('ERP-RACE-1', w.deps, { review: true })).rejects.toThrow(
      'ConcurrentOrderUpdate',
    );
    expect(w.store.has('EXC-ERP-RACE-1-SUBSTITUTE')).toBe(true);

    const retried = await allocateStock('ERP-RACE-1', w.deps, { review: true });
    expect(retried.status).toBe('awaiting-substitute-approval');
    expect(w.current().exceptionIds).toEqual(['EXC-ERP-RACE-1-SUBSTITUTE']);
    expect(w.published.map((e) => e.name)).toEqual(['substitution.proposed', 'exception.raised']);
  });

  it('once approved, plans again and reserves the substitute, announcing the decision', async () => {
    const w = reviewed({ 'VALVE-3IN': 0, 'VALVE-3IN-RS': 30 });
    await allocateStock('ERP-RACE-1', w.deps, { review: true });
    w.decide('approve', 'pat.accounts');

    const result = await allocateStock('ERP-RACE-1', w.deps, { review: true });

    expect(result).toMatchObject({
      status: 'full',
      substituted: ['10:VALVE-3IN->VALVE-3IN-RS'],
      approval: null,
    });
    expect(w.stock.reservations).toEqual([
      expect.objectContaining({ lines: [{ lineNo: 10, sku: 'VALVE-3IN-RS', quantity: 15 }] }),
    ]);
    expect(w.current().stage).toBe('allocated');
    expect(w.current().allocation?.substitutions).toEqual([
      expect.objectContaining({ lineNo: 10, substituteSku: 'VALVE-3IN-RS', unitPrice: 185 }),
    ]);
    expect(w.current().allocation?.substitutesAwaitingApproval).toBeUndefined();
    expect(w.reasons.at(-1)).toEqual([
      'NEAREST_FULL_SITE',
      'SUBSTITUTED:10:VALVE-3IN-RS',
      'SUBSTITUTE_APPROVED:10',
    ]);
    expect(w.published.slice(2).map((e) => e.name)).toEqual(['substitution.decided', 'allocation.confirmed']);
    expect(w.published[2]?.detail).toMatchObject({
      lineNo: 10,
      substituteSku: 'VALVE-3IN-RS',
      decision: 'approved',
      decidedBy: 'pat.accounts',
    });
  });

  it('once rejected (or declined by the SLA fallback), backorders the ordered item and asks no one again', async () => {
    const w = reviewed({ 'VALVE-3IN': 0, 'VALVE-3IN-RS': 30 });
    await allocateStock('ERP-RACE-1', w.deps, { review: true });
    w.decide('reject', 'handoff:sla-fallback');

    const result = await allocateStock('ERP-RACE-1', w.deps, { review: true });

    expect(result).toMatchObject({ status: 'backorder', substituted: [], approval: null });
    expect(w.stock.reservations).toEqual([]);
    expect(w.current().stage).toBe('backordered');
    expect(w.current().allocation?.substitutesAwaitingApproval).toBeUndefined();
    expect(w.reasons.at(-1)).toEqual(['NO_STOCK_AT_ANY_SITE', 'SUBSTITUTE_UNANSWERED:10']);
    expect(w.published.slice(2).map((e) => e.name)).toEqual([
      'substitution.decided',
      'allocation.shortage',
      'backorder.created',
    ]);
    expect(w.published[2]?.detail).toMatchObject({
      decision: 'rejected',
      decidedBy: 'handoff:sla-fallback',
    });
  });

  it('a retry after the announcement failed announces the decision and the allocation again', async () => {
    const w = reviewed({ 'VALVE-3IN': 0, 'VALVE-3IN-RS': 30 });
    await allocateStock('ERP-RACE-1', w.deps, { review: true });
    w.decide('approve', 'pat.accounts');
    const events = w.deps.events as { publish: (e: readonly CanonicalEvent[]) => Promise<void> };
    const publish = events.publish;
    events.publish = async () => {
      events.publish = publish;
      throw new Error('EventPublishFailed');
    };
    await expect(allocateStock('ERP-RACE-1', w.deps, { review: true })).rejects.toThrow('EventPublishFailed');
    expect(w.current().stage).toBe('allocated');

    const retried = await allocateStock('ERP-RACE-1', w.deps, { review: true });

    expect(retried).toMatchObject({ status: 'full', substituted: ['10:VALVE-3IN->VALVE-3IN-RS'] });
    expect(w.stock.reservations).toHaveLength(1);
    expect(w.published.slice(2).map((e) => [e.name, e.detail.idempotencyKey])).toEqual([
      ['substitution.decided', 'ERP-RACE-1:substitution:decided:10'],
      ['allocation.confirmed', 'ERP-RACE-1:allocation:confirmed'],
    ]);
    // The decision is dated when it was made, not when the allocation was retried.
    expect(w.published[2]?.detail.occurredAt).toBe('2026-12-03T16:00:00.000Z');
  });

  it('names the review after its order, hashed when that would pass the 80 characters an id holds', () => {
    expect(substituteReviewId('ERP-SO-1')).toBe('EXC-ERP-SO-1-SUBSTITUTE');
    const long = `ERP-${'7'.repeat(76)}`;
    expect(substituteReviewId(long)).toMatch(/^EXC-SUB-[0-9a-f]{24}$/);
    expect(substituteReviewId(long)).not.toBe(substituteReviewId(`${long.slice(0, -1)}8`));
  });

  it('an override approves as an approval does', async () => {
    const w = reviewed({ 'VALVE-3IN': 0, 'VALVE-3IN-RS': 30 });
    await allocateStock('ERP-RACE-1', w.deps, { review: true });
    w.decide('override');
    const result = await allocateStock('ERP-RACE-1', w.deps, { review: true });
    expect(result).toMatchObject({ status: 'full', substituted: ['10:VALVE-3IN->VALVE-3IN-RS'] });
  });

  it('once approved but the substitute has gone meanwhile, backorders the line', async () => {
    const w = reviewed({ 'VALVE-3IN': 0, 'VALVE-3IN-RS': 30 });
    await allocateStock('ERP-RACE-1', w.deps, { review: true });
    w.decide('approve');
    (w.stock as unknown as { onHand: Record<string, number> }).onHand['VALVE-3IN-RS'] = 4;

    const result = await allocateStock('ERP-RACE-1', w.deps, { review: true });

    expect(result).toMatchObject({ status: 'backorder', substituted: [] });
    expect(w.published[2]?.detail).toMatchObject({ decision: 'approved' });
  });
});
