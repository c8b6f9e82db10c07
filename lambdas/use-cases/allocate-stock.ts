import { allocateSingleSite } from '../core/allocation.ts';
import { type AppliedSubstitution, substituteShortLines } from '../core/allocation-substitution.ts';
import type {
  AwaitingSubstitute,
  CanonicalEvent,
  Clock,
  CustomerSubstitutes,
  EventPublisher,
  InventoryPort,
  OrderRecord,
  OrderRepository,
  StockSnapshot,
  SubstitutionSourcePort,
} from '../ports/index.ts';
import { IllegalStageTransition, OrderNotFound, StockMovedDuringReservation } from '../shared/errors.ts';
import { idempotencyKey } from '../shared/ids.ts';

export interface AllocateDeps {
  readonly orders: OrderRepository;
  readonly inventory: InventoryPort;
  readonly events: EventPublisher;
  readonly clock: Clock;
  /** The customer's approved substitutes (ERP); without it a short line is only backordered. */
  readonly substitutes?: SubstitutionSourcePort;
}

/** Plans tried against fresh availability when reservations keep losing the race for stock. */
const MAX_PLANS = 3;

export interface AllocationStepResult {
  readonly status: 'full' | 'partial' | 'backorder';
  readonly siteId: string | null;
  readonly allocatedLines: number;
  readonly shortLines: number;
  /** Lines reserved as an approved substitute (`<lineNo>:<original>-><substitute>`). */
  readonly substituted: readonly string[];
}

/**
 * Allocation against stock by site for the single-site path: choose the site, reserve at the WMS with an
 * idempotency key, record the plan and announce confirmation, shortage and backorder.
 */
export async function allocateStock(orderId: string, deps: AllocateDeps): Promise<AllocationStepResult> {
  const record = await deps.orders.get(orderId);
  if (!record) throw new OrderNotFound(orderId);
  if (record.allocation && record.stage !== 'credit-approved') {
    return {
      status: record.allocation.status,
      siteId: record.allocation.siteId,
      allocatedLines: record.allocation.allocated.length,
      shortLines: record.allocation.short.length,
      substituted: (record.allocation.substitutions ?? []).map(
        (s) => `${s.lineNo}:${s.originalSku}->${s.substituteSku}`,
      ),
    };
  }
  if (record.stage !== 'credit-approved')
    throw new IllegalStageTransition(orderId, record.stage, 'allocated');

  const { order } = record;
  // Plan on fresh availability and reserve; when the WMS refuses because another order took the stock in
  // between, plan again on what is left (a few times), under the same idempotency key: a refused request
  // left nothing behind, and a reservation that did go through is replayed rather than made twice.
  let snapshot: StockSnapshot;
  let plan: ReturnType<typeof allocateSingleSite>;
  let substitution: Awaited<ReturnType<typeof planWithSubstitutes>>;
  let reservationId: string | undefined;
  const listed = new Map<string, Promise<CustomerSubstitutes>>();
  for (let attempt = 1; ; attempt++) {
    snapshot = await deps.inventory.getStock(
      order.lines.map((line) => line.sku),
      order.shipTo.country,
    );
    plan = allocateSingleSite({
      lines: order.lines.map(({ lineNo, sku, quantity }) => ({ lineNo, sku, quantity })),
      sites: snapshot.sites,
      terms: order.customer.terms.fulfilment,
      preferredSiteId: order.requestedSiteId,
    });
    substitution = await planWithSubstitutes(record, plan, deps, listed);
    ({ plan } = substitution);
    if (substitution.snapshot) snapshot = substitution.snapshot;
    if (plan.allocated.length === 0 || !plan.siteId) break;
    try {
      ({ reservationId } = await deps.inventory.reserve({
        orderId,
        siteId: plan.siteId,
        lines: plan.allocated,
        idempotencyKey: idempotencyKey(orderId, 'allocation'),
      }));
      break;
    } catch (error) {
      if (!(error instanceof StockMovedDuringReservation) || attempt >= MAX_PLANS) throw error;
    }
  }
  const logistics = snapshot.logistics.find((site) => site.siteId === plan.siteId);
  const transitDays = logistics?.transitDays[order.serviceLevel];
  await deps.orders.transition(
    record,
    plan.status === 'backorder' ? 'backordered' : 'allocated',
    [...plan.reasonCodes, ...substitution.reasonCodes],
    {
      allocation: {
        status: plan.status,
        siteId: plan.siteId,
        allocated: plan.allocated,
        short: plan.short,
        ...(reservationId ? { reservationId } : {}),
        ...(logistics ? { cutoffHourUtc: logistics.cutoffHourUtc } : {}),
        ...(transitDays !== undefined ? { transitDays } : {}),
        ...(substitution.applied.length > 0 ? { substitutions: substitution.applied } : {}),
        ...(substitution.awaiting.length > 0 ? { substitutesAwaitingApproval: substitution.awaiting } : {}),
      },
    },
  );

  const occurredAt = deps.clock.now().toISOString();
  const base = { schemaVersion: 1 as const, orderId, correlationId: orderId, occurredAt };
  const events: CanonicalEvent[] = [];
  if (plan.allocated.length > 0 && plan.siteId && reservationId) {
    events.push({
      name: 'allocation.confirmed',
      detail: {
        ...base,
        idempotencyKey: idempotencyKey(orderId, 'allocation', 'confirmed'),
        siteId: plan.siteId,
        lines: plan.allocated,
        partial: plan.status === 'partial',
        reservationId,
      },
    });
  }
  if (plan.short.length > 0) {
    events.push({
      name: 'allocation.shortage',
      detail: {
        ...base,
        idempotencyKey: idempotencyKey(orderId, 'allocation', 'shortage'),
        siteId: plan.siteId,
        shortLines: plan.short,
        terms: order.customer.terms.fulfilment,
        reasonCodes: plan.reasonCodes,
      },
    });
    events.push({
      name: 'backorder.created',
      detail: {
        ...base,
        idempotencyKey: idempotencyKey(orderId, 'backorder', 'created'),
        // What is not reserved now is backordered: the shortfall under ship-partial terms, the whole line
        // under ship-complete (nothing is reserved until the order can ship complete).
        lines: plan.short.map((line) => ({
          lineNo: line.lineNo,
          sku: line.sku,
          quantity:
            line.requested -
            plan.allocated.filter((a) => a.lineNo === line.lineNo).reduce((sum, a) => sum + a.quantity, 0),
        })),
      },
    });
  }
  if (events.length > 0) await deps.events.publish(events);
  return {
    status: plan.status,
    siteId: plan.siteId,
    allocatedLines: plan.allocated.length,
    shortLines: plan.short.length,
    substituted: substitution.applied.map((s) => `${s.lineNo}:${s.originalSku}->${s.substituteSku}`),
  };
}

/**
 * The plan with the customer's approved substitutes for its short lines, when the customer has any for them
 * and they serve more of the order (`substituteShortLines`); stock is read again for the substitutes. The
 * customer's list is read once per allocation (`listed`), however many plans the reservation race takes.
 */
async function planWithSubstitutes(
  record: OrderRecord,
  plan: ReturnType<typeof allocateSingleSite>,
  deps: AllocateDeps,
  listed: Map<string, Promise<CustomerSubstitutes>>,
): Promise<{
  plan: ReturnType<typeof allocateSingleSite>;
  applied: readonly AppliedSubstitution[];
  awaiting: readonly AwaitingSubstitute[];
  reasonCodes: readonly string[];
  snapshot?: StockSnapshot;
}> {
  const { order } = record;
  const none = { plan, applied: [], awaiting: [], reasonCodes: [] };
  if (plan.short.length === 0 || !deps.substitutes) return none;
  const shortSkus = [...new Set(plan.short.map((line) => line.sku))].sort();
  const key = shortSkus.join(',');
  if (!listed.has(key)) listed.set(key, deps.substitutes.substitutesFor(order.customer.id, shortSkus));
  const list = (await listed.get(key)) as CustomerSubstitutes;
  const candidates = [
    ...new Set(list.approvedSubstitutes.filter((e) => e.customerApproved).map((e) => e.substituteSku)),
  ];
  if (candidates.length === 0) return none;
  const snapshot = await deps.inventory.getStock(
    [...new Set([...order.lines.map((line) => line.sku), ...candidates])],
    order.shipTo.country,
  );
  const result = substituteShortLines({
    customerId: order.customer.id,
    lines: order.lines.map(({ lineNo, sku, quantity, unitPrice, unitCost }) => ({
      lineNo,
      sku,
      quantity,
      unitPrice,
      unitCost,
    })),
    plan,
    sites: snapshot.sites,
    terms: order.customer.terms.fulfilment,
    preferredSiteId: order.requestedSiteId,
    approvedSubstitutes: list.approvedSubstitutes,
    catalogue: list.catalogue,
  });
  return {
    plan: result.plan,
    applied: result.applied,
    awaiting: result.awaitingApproval.map((p) => ({
      lineNo: p.lineNo,
      originalSku: p.originalSku,
      substituteSku: p.substituteSku,
      quantity: p.quantity,
      unitPrice: p.unitPrice,
      value: p.value,
      approvalReasonCodes: p.approvalReasonCodes,
    })),
    reasonCodes: result.reasonCodes,
    snapshot,
  };
}
