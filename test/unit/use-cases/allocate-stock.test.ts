import { describe, expect, it } from 'vitest';
import type { AllocatedLine, SiteStock } from '../../../lambdas/core/allocation.ts';
import type {
  CanonicalEvent,
  InventoryPort,
  OrderRecord,
  OrderRepository,
  StockSnapshot,
} from '../../../lambdas/ports/index.ts';
import { PartnerUnavailable, StockMovedDuringReservation } from '../../../lambdas/shared/errors.ts';
import { allocateStock } from '../../../lambdas/use-cases/allocate-stock.ts';

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
