import { allocateSingleSite } from '../core/allocation.ts';
import {
  type AppliedSubstitution,
  proposalKey,
  substituteShortLines,
} from '../core/allocation-substitution.ts';
import { FALLBACK_ACTOR, SUBSTITUTE_APPROVAL_LADDER, tierDueAt, tierPriority } from '../core/escalation.ts';
import { type BusinessCalendar, DEFAULT_SLA_POLICY } from '../core/sla.ts';
import type {
  AwaitingSubstitute,
  CanonicalEvent,
  Clock,
  CustomerSubstitutes,
  EventPublisher,
  ExceptionRepository,
  InventoryPort,
  OrderRecord,
  OrderRepository,
  OwnedException,
  StockSnapshot,
  SubstitutionSourcePort,
} from '../ports/index.ts';
import { IllegalStageTransition, OrderNotFound, StockMovedDuringReservation } from '../shared/errors.ts';
import { idempotencyKey, orderExceptionId } from '../shared/ids.ts';
import { exceptionRaisedEvent } from './exceptions.ts';

export interface AllocateDeps {
  readonly orders: OrderRepository;
  readonly inventory: InventoryPort;
  readonly events: EventPublisher;
  readonly clock: Clock;
  /** The customer's approved substitutes (ERP); without it a short line is only backordered. */
  readonly substitutes?: SubstitutionSourcePort;
  /** Where a substitute that needs a person's approval is raised and its decision read back. */
  readonly exceptions?: Pick<ExceptionRepository, 'get' | 'raiseIfAbsent'>;
  /**
   * The working hours a substitute review's SLA counts (the SLA policy's business calendar): a proposal
   * raised after customer service has gone home is not declined by the fallback before anyone is in.
   * @default DEFAULT_SLA_POLICY.businessCalendar
   */
  readonly calendar?: BusinessCalendar;
}

export interface AllocateOptions {
  /**
   * The path waits for a person on a substitute that needs approval (the single-site path's
   * AwaitSubstituteApproval): nothing is reserved, the proposal is raised as an owned exception, and the
   * step answers `awaiting-substitute-approval`. Without it such a line is backordered at once.
   */
  readonly review?: boolean;
}

/**
 * The one substitute review of an order (all its proposals that need approval are decided together). An
 * exception id holds 80 characters: a longer order id is hashed, as the SLA breach ids are.
 */
export function substituteReviewId(orderId: string): string {
  return orderExceptionId(orderId, 'SUBSTITUTE', 'SUB');
}

/** Plans tried against fresh availability when reservations keep losing the race for stock. */
const MAX_PLANS = 3;

export interface AllocationStepResult {
  readonly status: 'full' | 'partial' | 'backorder' | 'awaiting-substitute-approval';
  readonly siteId: string | null;
  readonly allocatedLines: number;
  readonly shortLines: number;
  /** Lines reserved as an approved substitute (`<lineNo>:<original>-><substitute>`). */
  readonly substituted: readonly string[];
  /** The review the path waits on (status awaiting-substitute-approval), else null. */
  readonly approval: { readonly exceptionId: string; readonly slaSeconds: number } | null;
}

/**
 * Allocation against stock by site for the single-site path: choose the site, reserve at the WMS with an
 * idempotency key, record the plan and announce confirmation, shortage and backorder.
 */
export async function allocateStock(
  orderId: string,
  deps: AllocateDeps,
  options: AllocateOptions = {},
): Promise<AllocationStepResult> {
  const record = await deps.orders.get(orderId);
  if (!record) throw new OrderNotFound(orderId);
  if (record.allocation && record.stage !== 'credit-approved') {
    // A retry after the order was allocated (the publish may have failed after the write): announce again
    // under the same keys while the path has not moved on; consumers drop what they already have.
    if (record.stage === 'allocated' || record.stage === 'backordered') {
      const reviewed = options.review ? await deps.exceptions?.get(substituteReviewId(orderId)) : undefined;
      await deps.events.publish([
        ...(reviewed?.resolution ? decisionEvents(reviewed, reviewOutcome(reviewed)) : []),
        ...allocationEvents(record, record.allocation, deps.clock.now().toISOString()),
      ]);
    }
    return {
      status: record.allocation.status,
      siteId: record.allocation.siteId,
      allocatedLines: record.allocation.allocated.length,
      shortLines: record.allocation.short.length,
      substituted: (record.allocation.substitutions ?? []).map(
        (s) => `${s.lineNo}:${s.originalSku}->${s.substituteSku}`,
      ),
      approval: null,
    };
  }
  if (record.stage !== 'credit-approved')
    throw new IllegalStageTransition(orderId, record.stage, 'allocated');

  const { order } = record;
  const reviews = options.review && deps.exceptions ? deps.exceptions : undefined;
  const review = reviews ? await reviews.get(substituteReviewId(orderId)) : undefined;
  // Raised and not yet decided (a retried step, or a redelivered start): the path waits on it again, and it
  // is announced again under the same keys in case the first attempt failed before it was.
  if (review && !review.resolution) {
    await linkReview(record, review, deps);
    await announceReview(review, deps);
    return awaitingReview(review, deps.clock.now());
  }
  const decided = review?.resolution ? reviewOutcome(review) : undefined;
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
    substitution = await planWithSubstitutes(record, plan, deps, listed, decided);
    if (reviews && substitution.awaiting.length > 0) {
      return raiseReview(record, substitution.awaiting, reviews, deps);
    }
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
  const allocation: NonNullable<OrderRecord['allocation']> = {
    status: plan.status,
    siteId: plan.siteId,
    allocated: plan.allocated,
    short: plan.short,
    reasonCodes: plan.reasonCodes,
    ...(reservationId ? { reservationId } : {}),
    ...(logistics ? { cutoffHourUtc: logistics.cutoffHourUtc } : {}),
    ...(transitDays !== undefined ? { transitDays } : {}),
    ...(substitution.applied.length > 0 ? { substitutions: substitution.applied } : {}),
    ...(substitution.awaiting.length > 0 ? { substitutesAwaitingApproval: substitution.awaiting } : {}),
  };
  await deps.orders.transition(
    record,
    plan.status === 'backorder' ? 'backordered' : 'allocated',
    [...plan.reasonCodes, ...substitution.reasonCodes, ...(review ? reviewReasonCodes(review) : [])],
    { allocation },
  );
  // The decision first: it resumes the allocation clock that the allocation's own events then stop.
  const events: CanonicalEvent[] = [
    ...(review?.resolution && decided ? decisionEvents(review, decided) : []),
    ...allocationEvents(record, allocation, deps.clock.now().toISOString()),
  ];
  if (events.length > 0) await deps.events.publish(events);
  return {
    status: plan.status,
    siteId: plan.siteId,
    allocatedLines: plan.allocated.length,
    shortLines: plan.short.length,
    substituted: substitution.applied.map((s) => `${s.lineNo}:${s.originalSku}->${s.substituteSku}`),
    approval: null,
  };
}

/** What an allocation announces: confirmation of what was reserved, the shortage and its backorder. */
function allocationEvents(
  record: OrderRecord,
  allocation: NonNullable<OrderRecord['allocation']>,
  occurredAt: string,
): CanonicalEvent[] {
  const { orderId, order } = record;
  const base = { schemaVersion: 1 as const, orderId, correlationId: orderId, occurredAt };
  const events: CanonicalEvent[] = [];
  if (allocation.allocated.length > 0 && allocation.siteId && allocation.reservationId) {
    events.push({
      name: 'allocation.confirmed',
      detail: {
        ...base,
        idempotencyKey: idempotencyKey(orderId, 'allocation', 'confirmed'),
        siteId: allocation.siteId,
        lines: [...allocation.allocated],
        partial: allocation.status === 'partial',
        reservationId: allocation.reservationId,
      },
    });
  }
  if (allocation.short.length > 0) {
    events.push({
      name: 'allocation.shortage',
      detail: {
        ...base,
        idempotencyKey: idempotencyKey(orderId, 'allocation', 'shortage'),
        siteId: allocation.siteId,
        shortLines: [...allocation.short],
        terms: order.customer.terms.fulfilment,
        reasonCodes: [...(allocation.reasonCodes ?? [])],
      },
    });
    events.push({
      name: 'backorder.created',
      detail: {
        ...base,
        idempotencyKey: idempotencyKey(orderId, 'backorder', 'created'),
        // What is not reserved now is backordered: the shortfall under ship-partial terms, the whole line
        // under ship-complete (nothing is reserved until the order can ship complete).
        lines: allocation.short.map((line) => ({
          lineNo: line.lineNo,
          sku: line.sku,
          quantity:
            line.requested -
            allocation.allocated
              .filter((a) => a.lineNo === line.lineNo)
              .reduce((sum, a) => sum + a.quantity, 0),
        })),
      },
    });
  }
  return events;
}

/** On the order's stage entry: what became of each substitute the customer was asked about. */
function reviewReasonCodes(review: OwnedException): string[] {
  const { resolution } = review;
  if (!resolution) return [];
  const { approved } = reviewOutcome(review);
  return proposalsOf(review).map((p) =>
    approved.has(proposalKey(p))
      ? `SUBSTITUTE_APPROVED:${p.lineNo}`
      : resolution.decidedBy === FALLBACK_ACTOR
        ? `SUBSTITUTE_UNANSWERED:${p.lineNo}`
        : `SUBSTITUTE_DECLINED:${p.lineNo}`,
  );
}

/** The proposals a review covers, as raised (`context.proposals`). */
function proposalsOf(review: OwnedException): readonly AwaitingSubstitute[] {
  const proposals = review.context.proposals;
  return Array.isArray(proposals) ? (proposals as AwaitingSubstitute[]) : [];
}

/** A decided review: approve or override approves every proposal it covers; reject declines them all. */
function reviewOutcome(review: OwnedException): { readonly approved: ReadonlySet<string> } {
  const approves = review.resolution?.outcome === 'approve' || review.resolution?.outcome === 'override';
  return { approved: new Set(approves ? proposalsOf(review).map(proposalKey) : []) };
}

/** What is left of the review's SLA (at least a second: past it, the path's fallback decides at once). */
function awaitingReview(review: OwnedException, now: Date): AllocationStepResult {
  return {
    status: 'awaiting-substitute-approval',
    siteId: null,
    allocatedLines: 0,
    shortLines: proposalsOf(review).length,
    substituted: [],
    approval: {
      exceptionId: review.exceptionId,
      slaSeconds: Math.max(1, Math.ceil((Date.parse(review.slaDueAt) - now.getTime()) / 1000)),
    },
  };
}

/**
 * Substitutes that need a person: nothing is reserved yet (stock is planned again once the customer has
 * answered), the proposals become one owned exception for the customer's account manager, and each is
 * announced with `substitution.proposed` (which pauses the order's allocation clock until it is decided).
 */
async function raiseReview(
  record: OrderRecord,
  awaiting: readonly AwaitingSubstitute[],
  reviews: Pick<ExceptionRepository, 'get' | 'raiseIfAbsent'>,
  deps: AllocateDeps,
): Promise<AllocationStepResult> {
  const { orderId, order } = record;
  const now = deps.clock.now();
  const occurredAt = now.toISOString();
  const [tier] = SUBSTITUTE_APPROVAL_LADDER.tiers;
  // Customer service's tier counts working hours (the SLA policy's business calendar).
  const dueAt = tier
    ? tierDueAt(tier, order.customer.priority, now, deps.calendar ?? DEFAULT_SLA_POLICY.businessCalendar)
    : new Date(now.getTime() + 14_400_000);
  const reasonCodes = [
    'SUBSTITUTE_NEEDS_APPROVAL',
    ...new Set(awaiting.flatMap((p) => p.approvalReasonCodes)),
  ];
  const lines = awaiting
    .map(
      (p) =>
        `line ${p.lineNo} ${p.originalSku} → ${p.substituteSku} × ${p.quantity} (${p.value.toFixed(2)} ${order.currency}, ${p.approvalReasonCodes.join('/')})`,
    )
    .join('; ');
  const exception: OwnedException = {
    exceptionId: substituteReviewId(orderId),
    type: 'substitution',
    ownerTeam: tier?.ownerTeam ?? 'customer-service',
    priority: tier ? tierPriority(tier, order.customer.priority) : 'normal',
    state: 'open',
    stage: record.stage,
    orderId,
    correlationId: orderId,
    raisedAt: occurredAt,
    slaDueAt: dueAt.toISOString(),
    recommendedAction:
      `Ask customer ${order.customer.id} to approve the substitute: ${lines}. Approve ships it; reject backorders the ordered item.`.slice(
        0,
        1000,
      ),
    reasonCodes,
    context: {
      ladder: SUBSTITUTE_APPROVAL_LADDER.name,
      customerId: order.customer.id,
      currency: order.currency,
      proposals: awaiting,
    },
    audit: [
      {
        at: occurredAt,
        actor: 'handoff:allocation',
        action: 'raised',
        why: awaiting.map((p) => `line ${p.lineNo}: ${p.approvalReasonCodes.join(', ')}`).join('; '),
      },
    ],
  };
  const { created } = await reviews.raiseIfAbsent(exception);
  // Another attempt raised it first (an overlapping retry): announce and wait on the stored one, so the
  // proposal is announced at one instant only.
  const stored = created ? exception : ((await reviews.get(exception.exceptionId)) ?? exception);
  await linkReview(record, stored, deps);
  if (stored.resolution) return awaitingReview(stored, now);
  await announceReview(stored, deps);
  return awaitingReview(stored, now);
}

/** The review is listed on its order, once (a retry after a lost version race links it then). */
async function linkReview(record: OrderRecord, review: OwnedException, deps: AllocateDeps): Promise<void> {
  if ((record.exceptionIds ?? []).includes(review.exceptionId)) return;
  await deps.orders.annotate(record, { addExceptionId: review.exceptionId });
}

/** `substitution.proposed` per line of a review (it pauses the allocation clock) and `exception.raised`. */
async function announceReview(review: OwnedException, deps: AllocateDeps): Promise<void> {
  const { orderId, raisedAt: occurredAt } = review;
  const base = { schemaVersion: 1 as const, orderId, correlationId: orderId, occurredAt };
  await deps.events.publish([
    ...proposalsOf(review).map(
      (p): CanonicalEvent<'substitution.proposed'> => ({
        name: 'substitution.proposed',
        detail: {
          ...base,
          idempotencyKey: idempotencyKey(orderId, 'substitution', `proposed:${p.lineNo}`),
          lineNo: p.lineNo,
          originalSku: p.originalSku,
          substituteSku: p.substituteSku,
          quantity: p.quantity,
          marginPct: p.marginPct,
          requiresApproval: true,
          reasonCodes: [...p.approvalReasonCodes],
        },
      }),
    ),
    exceptionRaisedEvent(review, occurredAt),
  ]);
}

/** `substitution.decided` for each proposal of a decided review, as the allocation applied it. */
function decisionEvents(
  review: OwnedException,
  decided: { readonly approved: ReadonlySet<string> },
): CanonicalEvent<'substitution.decided'>[] {
  const { resolution, orderId } = review;
  if (!resolution) return [];
  return proposalsOf(review).map((p) => ({
    name: 'substitution.decided',
    detail: {
      schemaVersion: 1,
      orderId,
      correlationId: orderId,
      // When the customer's answer was recorded: the allocation clock's pause ends then, not at re-planning.
      occurredAt: resolution.decidedAt,
      // One proposal per line: the line number keys it (a SKU may hold characters a key may not).
      idempotencyKey: idempotencyKey(orderId, 'substitution', `decided:${p.lineNo}`),
      lineNo: p.lineNo,
      substituteSku: p.substituteSku,
      decision: decided.approved.has(proposalKey(p)) ? 'approved' : 'rejected',
      decidedBy: resolution.decidedBy,
      reason: resolution.reason.slice(0, 500),
    },
  }));
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
  review?: { readonly approved: ReadonlySet<string> },
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
    ...(review ? { review } : {}),
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
      marginPct: p.marginPct,
      approvalReasonCodes: p.approvalReasonCodes,
    })),
    reasonCodes: result.reasonCodes,
    snapshot,
  };
}
