import {
  assessCredit,
  type CreditAssessment,
  type CreditPolicy,
  DEFAULT_CREDIT_POLICY,
} from '../core/credit.ts';
import { type AutoApproveBand, creditLane, DEFAULT_AUTO_APPROVE_BANDS } from '../core/credit-bands.ts';
import {
  CREDIT_FAST_REVIEW_LADDER,
  CREDIT_HOLD_LADDER,
  type EscalationLadder,
  ladderFor,
  slaSeconds,
} from '../core/escalation.ts';
import { orderValue } from '../core/money.ts';
import type { CustomerPriority } from '../core/vocabulary.ts';
import type {
  CanonicalEvent,
  Clock,
  CreditDataPort,
  EventPublisher,
  ExceptionRepository,
  OrderRecord,
  OrderRepository,
  OwnedException,
} from '../ports/index.ts';
import { IllegalStageTransition, OrderNotFound } from '../shared/errors.ts';
import { orderExceptionId } from '../shared/ids.ts';
import { addSeconds, exceptionRaisedEvent } from './exceptions.ts';

export interface CreditDeps {
  readonly orders: OrderRepository;
  readonly exceptions: ExceptionRepository;
  readonly events: EventPublisher;
  readonly credit: CreditDataPort;
  readonly clock: Clock;
  readonly policy?: CreditPolicy;
  /** @default DEFAULT_AUTO_APPROVE_BANDS */
  readonly bands?: readonly AutoApproveBand[];
}

export interface CreditStepResult {
  readonly decision: 'approved' | 'hold' | 'declined';
  readonly reasonCodes: readonly string[];
  readonly exceptionId?: string;
  /**
   * For a hold, what the path's callback tasks need: the exception to wait on and each tier's SLA (their
   * TimeoutSecondsPath). Null otherwise, so the path's ResultSelector always finds the field.
   */
  readonly hold: CreditHoldTask | null;
}

export interface CreditHoldTask {
  readonly exceptionId: string;
  readonly slaSeconds: number;
  readonly escalationSlaSeconds: number;
}

function holdTask(
  exceptionId: string,
  customerPriority: CustomerPriority,
  ladder: EscalationLadder,
): CreditHoldTask {
  const [controller, manager] = ladder.tiers;
  return {
    exceptionId,
    slaSeconds: controller ? slaSeconds(controller, customerPriority) : 0,
    escalationSlaSeconds: manager ? slaSeconds(manager, customerPriority) : 0,
  };
}

function stored(record: OrderRecord): CreditStepResult | undefined {
  if (!record.credit) return undefined;
  const decision = record.credit.decision as CreditStepResult['decision'];
  const exceptionId = record.credit.exceptionId;
  return {
    decision,
    reasonCodes: record.credit.reasonCodes,
    ...(exceptionId ? { exceptionId } : {}),
    hold:
      decision === 'hold' && exceptionId
        ? holdTask(
            exceptionId,
            record.order.customer.priority,
            ladderFor('credit-hold', record.credit.ladder),
          )
        : null,
  };
}

/** Who approves an order that an auto-approve band covers: the band rules, on Handoff's behalf. */
const AUTO_APPROVER = 'handoff:auto-approve-band';

/**
 * Credit check against limit and open exposure. Approved orders move on; holds become a finance-owned
 * exception with an SLA; a closed account rejects the order. A retried step returns the recorded decision.
 */
export async function checkCredit(orderId: string, deps: CreditDeps): Promise<CreditStepResult> {
  const record = await deps.orders.get(orderId);
  if (!record) throw new OrderNotFound(orderId);
  const previous = stored(record);
  if (previous && record.stage !== 'accepted') return previous;
  if (record.stage !== 'accepted') throw new IllegalStageTransition(orderId, record.stage, 'credit-approved');

  const { order } = record;
  const value = orderValue(order.lines);
  const profile = await deps.credit.getCreditProfile(order.customer.id);
  const now = deps.clock.now();
  const occurredAt = now.toISOString();

  const assessment: CreditAssessment | undefined = profile
    ? assessCredit(value, profile, deps.policy ?? DEFAULT_CREDIT_POLICY)
    : undefined;
  // Auto-approve bands release a held order without review; what they do not release goes to finance,
  // through the fast lane for an expedited key-account order.
  const lane = assessment
    ? creditLane({
        assessment,
        customerPriority: order.customer.priority,
        segment: order.customer.segment,
        serviceLevel: order.serviceLevel,
        orderValue: assessment.orderValue,
        paymentTerms: profile?.paymentTerms ?? order.customer.terms.paymentTerms,
        overdueAmount: profile?.overdueAmount ?? 0,
        bands: deps.bands ?? DEFAULT_AUTO_APPROVE_BANDS,
      })
    : undefined;
  const decision: CreditStepResult['decision'] =
    lane === undefined
      ? 'hold'
      : lane.lane === 'auto-approved'
        ? 'approved'
        : lane.lane === 'declined'
          ? 'declined'
          : 'hold';
  const reasonCodes: string[] = lane ? [...lane.reasonCodes] : ['CREDIT_ACCOUNT_NOT_FOUND'];
  const ladder = lane?.lane === 'fast-review' ? CREDIT_FAST_REVIEW_LADDER : CREDIT_HOLD_LADDER;

  if (decision === 'approved') {
    // Announced before it is recorded: a retry after a failed publish finds the order still `accepted` and
    // announces again under the same key, so the approval (and its SLA clocks) is never lost.
    await deps.events.publish([
      {
        name: 'credit.approved',
        detail: {
          schemaVersion: 1,
          orderId,
          correlationId: orderId,
          idempotencyKey: `${orderId}:credit:approved`,
          occurredAt,
          reasonCodes,
          approvedBy: AUTO_APPROVER,
          orderValue: value,
          currency: order.currency,
        },
      },
    ]);
    await deps.orders.transition(record, 'credit-approved', reasonCodes, {
      credit: { decision, reasonCodes },
    });
    return { decision, reasonCodes, hold: null };
  }

  if (decision === 'declined') {
    await deps.orders.transition(record, 'rejected', reasonCodes, { credit: { decision, reasonCodes } });
    await deps.events.publish([
      {
        name: 'order.rejected',
        detail: {
          schemaVersion: 1,
          orderId,
          correlationId: orderId,
          idempotencyKey: `${orderId}:credit:rejected`,
          occurredAt,
          stage: 'accepted',
          reasonCodes,
        },
      },
    ]);
    return { decision, reasonCodes, hold: null };
  }

  const exceptionId = creditHoldExceptionId(orderId);
  const hold = holdTask(exceptionId, order.customer.priority, ladder);
  const exception: OwnedException = {
    exceptionId,
    type: 'credit-hold',
    ownerTeam: 'finance',
    priority: lane?.hold?.priority ?? 'normal',
    state: 'open',
    stage: 'credit-hold',
    orderId,
    correlationId: orderId,
    raisedAt: occurredAt,
    slaDueAt: addSeconds(now, hold.slaSeconds),
    recommendedAction:
      lane?.hold?.recommendedAction ??
      `Customer ${order.customer.id} has no credit account in the ERP: set one up or reject the order.`,
    reasonCodes,
    context: {
      ladder: ladder.name,
      orderValue: value,
      currency: order.currency,
      customerId: order.customer.id,
      ...(assessment
        ? {
            creditLimit: assessment.creditLimit,
            exposure: assessment.exposure,
            exposureAfterOrder: assessment.exposureAfterOrder,
            headroomAfterOrder: assessment.headroomAfterOrder,
          }
        : {}),
      ...(profile
        ? { overdueAmount: profile.overdueAmount, oldestOverdueDays: profile.oldestOverdueDays }
        : {}),
    },
    audit: [{ at: occurredAt, actor: 'handoff:credit-check', action: 'raised', why: reasonCodes.join(', ') }],
  };
  await deps.exceptions.raiseIfAbsent(exception);
  await deps.orders.transition(record, 'credit-hold', reasonCodes, {
    credit: { decision, reasonCodes, exceptionId, ladder: ladder.name },
    addExceptionId: exceptionId,
  });
  const held: CanonicalEvent<'credit.hold.placed'> = {
    name: 'credit.hold.placed',
    detail: {
      schemaVersion: 1,
      orderId,
      correlationId: orderId,
      idempotencyKey: `${orderId}:credit-hold`,
      occurredAt,
      reasonCodes,
      orderValue: value,
      exposure: Math.max(0, assessment?.exposure ?? 0),
      creditLimit: Math.max(0, assessment?.creditLimit ?? 0),
      currency: order.currency,
      exceptionId,
    },
  };
  await deps.events.publish([held, exceptionRaisedEvent(exception, occurredAt)]);
  return { decision, reasonCodes, exceptionId, hold };
}

/** The credit hold's exception of an order (hashed when the order id is too long to read it in). */
export function creditHoldExceptionId(orderId: string): string {
  return orderExceptionId(orderId, 'CREDIT', 'CREDIT');
}
