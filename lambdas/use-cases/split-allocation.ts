import type { AllocatedLine } from '../core/allocation.ts';
import { DEFAULT_MAX_SPLIT_SITES } from '../core/inventory-confidence.ts';
import { allocateAcrossSites } from '../core/multi-site-allocation.ts';
import type {
  AllocatedShipment,
  CanonicalEvent,
  Clock,
  EventPublisher,
  InventoryPort,
  OrderRecord,
  OrderRepository,
} from '../ports/index.ts';
import { IllegalStageTransition, InvalidStepInput, OrderNotFound } from '../shared/errors.ts';
import { idempotencyKey } from '../shared/ids.ts';

/**
 * The multi-site split path's allocation, in three steps so the reservations run as a Map over facilities:
 * plan the split (no side effect), reserve each facility's shipment (one WMS call each, its own idempotency
 * key), then confirm the whole allocation on the order and announce it.
 */
export interface SplitDeps {
  readonly orders: OrderRepository;
  readonly inventory: InventoryPort;
  readonly events: EventPublisher;
  readonly clock: Clock;
  /** @default DEFAULT_MAX_SPLIT_SITES */
  readonly maxSites?: number;
}

export interface PlannedShipment {
  readonly siteId: string;
  readonly lines: readonly AllocatedLine[];
  readonly cutoffHourUtc?: number;
  readonly transitDays?: number;
}

export interface SplitPlan {
  readonly status: 'full' | 'partial' | 'backorder';
  /** Empty for a backorder: nothing to reserve. */
  readonly shipments: readonly PlannedShipment[];
  readonly short: readonly {
    lineNo: number;
    sku: string;
    requested: number;
    available: number;
    shortBy: number;
  }[];
  readonly reasonCodes: readonly string[];
}

export interface ShipmentReservation {
  readonly siteId: string;
  readonly reservationId: string;
}

async function load(orderId: string, deps: { orders: OrderRepository }): Promise<OrderRecord> {
  const record = await deps.orders.get(orderId);
  if (!record) throw new OrderNotFound(orderId);
  return record;
}

function base(orderId: string, deps: { clock: Clock }) {
  return {
    schemaVersion: 1 as const,
    orderId,
    correlationId: orderId,
    occurredAt: deps.clock.now().toISOString(),
  };
}

function shortageEvents(record: OrderRecord, plan: SplitPlan, deps: { clock: Clock }): CanonicalEvent[] {
  if (plan.short.length === 0) return [];
  const envelope = base(record.orderId, deps);
  return [
    {
      name: 'allocation.shortage',
      detail: {
        ...envelope,
        idempotencyKey: idempotencyKey(record.orderId, 'allocation', 'shortage'),
        siteId: null,
        shortLines: [...plan.short],
        terms: record.order.customer.terms.fulfilment,
        reasonCodes: [...plan.reasonCodes],
      },
    },
    {
      name: 'backorder.created',
      detail: {
        ...envelope,
        idempotencyKey: idempotencyKey(record.orderId, 'backorder', 'created'),
        lines: plan.short.map((line) => ({ lineNo: line.lineNo, sku: line.sku, quantity: line.shortBy })),
      },
    },
  ];
}

/**
 * Plans the split: fewest facilities that fill the order within the split limit, then cost and proximity.
 * An order nothing can be reserved for is backordered here; otherwise the plan goes to the Map.
 */
export async function planSplit(orderId: string, deps: SplitDeps): Promise<SplitPlan> {
  const record = await load(orderId, deps);
  if (record.stage === 'backordered' && record.allocation) {
    return { status: 'backorder', shipments: [], short: record.allocation.short, reasonCodes: [] };
  }
  if (record.stage !== 'credit-approved')
    throw new IllegalStageTransition(orderId, record.stage, 'allocated');
  const { order } = record;
  const snapshot = await deps.inventory.getStock(
    order.lines.map((line) => line.sku),
    order.shipTo.country,
  );
  const plan = allocateAcrossSites({
    lines: order.lines.map(({ lineNo, sku, quantity }) => ({ lineNo, sku, quantity })),
    sites: snapshot.sites,
    terms: order.customer.terms.fulfilment,
    maxSites: deps.maxSites ?? DEFAULT_MAX_SPLIT_SITES,
    preferredSiteId: order.requestedSiteId,
  });
  const result: SplitPlan = {
    status: plan.status,
    shipments: plan.shipments.map((shipment) => {
      const logistics = snapshot.logistics.find((site) => site.siteId === shipment.siteId);
      const transitDays = logistics?.transitDays[order.serviceLevel];
      return {
        siteId: shipment.siteId,
        lines: shipment.lines,
        ...(logistics ? { cutoffHourUtc: logistics.cutoffHourUtc } : {}),
        ...(transitDays !== undefined ? { transitDays } : {}),
      };
    }),
    short: plan.short.map((line) => ({
      lineNo: line.lineNo,
      sku: line.sku,
      requested: line.requested,
      available: line.allocated,
      shortBy: line.shortBy,
    })),
    reasonCodes: plan.reasonCodes,
  };
  if (plan.status === 'backorder') {
    await deps.orders.transition(record, 'backordered', plan.reasonCodes, {
      allocation: { status: 'backorder', siteId: null, allocated: [], short: result.short, shipments: [] },
    });
    await deps.events.publish(shortageEvents(record, result, deps));
  }
  return result;
}

/** One facility's shipment reserved at the WMS, keyed by order and facility so a retried iteration is harmless. */
export async function reserveShipment(
  input: { readonly orderId: string; readonly siteId: string; readonly lines: readonly AllocatedLine[] },
  deps: Pick<SplitDeps, 'inventory'>,
): Promise<ShipmentReservation> {
  if (!Array.isArray(input.lines) || input.lines.length === 0) {
    throw new InvalidStepInput('lines', 'must list at least one line to reserve');
  }
  const { reservationId } = await deps.inventory.reserve({
    orderId: input.orderId,
    siteId: input.siteId,
    lines: input.lines,
    idempotencyKey: idempotencyKey(input.orderId, 'allocation', input.siteId),
  });
  return { siteId: input.siteId, reservationId };
}

/** Records the reserved split on the order (allocated) and announces each facility's reservation. */
export async function confirmSplit(
  input: {
    readonly orderId: string;
    readonly plan: SplitPlan;
    readonly reservations: readonly ShipmentReservation[];
  },
  deps: SplitDeps,
): Promise<{ readonly status: SplitPlan['status']; readonly sites: number }> {
  const record = await load(input.orderId, deps);
  if (record.stage !== 'credit-approved') {
    if (record.allocation?.shipments) {
      return { status: record.allocation.status, sites: record.allocation.shipments.length };
    }
    throw new IllegalStageTransition(input.orderId, record.stage, 'allocated');
  }
  const { plan } = input;
  const shipments: AllocatedShipment[] = plan.shipments.map((shipment) => {
    const reservation = input.reservations.find((r) => r.siteId === shipment.siteId);
    if (!reservation) {
      throw new InvalidStepInput(
        `reservations[${shipment.siteId}]`,
        'is missing: every planned site is reserved',
      );
    }
    return { ...shipment, reservationId: reservation.reservationId };
  });
  const [first] = shipments;
  if (!first) throw new InvalidStepInput('plan.shipments', 'must hold at least one shipment to confirm');
  await deps.orders.transition(record, 'allocated', plan.reasonCodes, {
    allocation: {
      status: plan.status,
      siteId: first.siteId,
      allocated: shipments.flatMap((shipment) => shipment.lines),
      short: plan.short,
      reservationId: first.reservationId,
      ...(first.cutoffHourUtc !== undefined ? { cutoffHourUtc: first.cutoffHourUtc } : {}),
      ...(first.transitDays !== undefined ? { transitDays: first.transitDays } : {}),
      shipments,
    },
  });
  const envelope = base(input.orderId, deps);
  await deps.events.publish([
    ...shipments.map(
      (shipment): CanonicalEvent => ({
        name: 'allocation.confirmed',
        detail: {
          ...envelope,
          idempotencyKey: idempotencyKey(input.orderId, 'allocation', `confirmed:${shipment.siteId}`),
          siteId: shipment.siteId,
          lines: [...shipment.lines],
          partial: plan.status === 'partial' || shipments.length > 1,
          reservationId: shipment.reservationId,
        },
      }),
    ),
    ...shortageEvents(record, plan, deps),
  ]);
  return { status: plan.status, sites: shipments.length };
}
