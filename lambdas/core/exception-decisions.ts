import type { ExceptionType } from './vocabulary.ts';

/**
 * What a person's decision on an owned exception means, for every exception type. Pure: the use case
 * (lambdas/use-cases/human-decision.ts) records it, applies it and answers the waiting workflow. The closure
 * in brackets is the `exception.resolved` resolution; the audit entry's action is `auditAction`.
 *
 * credit-hold (its path waits in AwaitCreditControllerDecision / EscalateToCreditManager):
 *   approve  → release the credit: order credit-approved, task succeeds with outcome 'release' [approved]
 *   reject   → decline: order rejected, task succeeds with outcome 'reject' [rejected]
 *   override → release against the recommendation, reason required: as approve, audited 'overridden'
 *              and reason code CREDIT_RELEASED_BY_OVERRIDE [overridden]
 *   Always SendTaskSuccess: the path's Choice (RouteOnCreditReview) routes on release | reject, and a task
 *   failure would be caught as a failed step and park the order.
 *
 * any other type, with a workflow task waiting (`awaiting.taskToken`; e.g. a substitution the standard path
 * waits on in AwaitSubstituteApproval, where approve plans with the substitute and reject without it):
 *   approve  → SendTaskSuccess with the decision (outcome 'approve') [approved]
 *   reject   → SendTaskFailure, error ExceptionRejected, cause: who, when, why [rejected]
 *   override → SendTaskSuccess with outcome 'override', reason required [overridden]
 *
 * any other type, with no workflow waiting (integration failures from dead letters or failed steps, SLA
 * breaches, validation quarantines, drop-ship shortages, …):
 *   approve  → acknowledged and resolved [resolved]
 *   reject   → closed as won't-fix [cancelled]
 *   override → resolved against the recommendation, reason required [overridden]
 *   Nothing in the order moves: the remedy (a DLQ redrive, a resend from the source, customer service's
 *   action on a parked order) stays a separate act, and the decision's result says which.
 */
export const EXCEPTION_DECISIONS = ['approve', 'reject', 'override'] as const;
/** A person's decision on an exception. */
export type ExceptionDecision = (typeof EXCEPTION_DECISIONS)[number];

/** How an exception was closed: the `resolution` of `exception.resolved`. */
export const EXCEPTION_CLOSURES = ['approved', 'rejected', 'overridden', 'resolved', 'cancelled'] as const;
export type ExceptionClosure = (typeof EXCEPTION_CLOSURES)[number];

/** The outcome a waiting path receives: a credit hold's words, or the decision itself for other types. */
export type PathOutcome = 'release' | 'reject' | 'approve' | 'override';

/** The error name a rejected waiting task fails with; a path's Catch matches on it. */
export const EXCEPTION_REJECTED_ERROR = 'ExceptionRejected';

export interface DecisionMeaning {
  readonly closedAs: ExceptionClosure;
  /** The audit trail's `action` for the decision. */
  readonly auditAction: string;
  /** What a waiting task is answered with: a credit hold's release | reject, else the decision itself. */
  readonly outcome: PathOutcome;
}

/** The meaning of `decision` on an exception of `type`, with or without a workflow task waiting on it. */
export function meaningOf(
  type: ExceptionType,
  decision: ExceptionDecision,
  taskWaiting: boolean,
): DecisionMeaning {
  if (type === 'credit-hold') {
    if (decision === 'reject') {
      return { closedAs: 'rejected', auditAction: 'rejected', outcome: 'reject' };
    }
    return decision === 'override'
      ? { closedAs: 'overridden', auditAction: 'overridden', outcome: 'release' }
      : { closedAs: 'approved', auditAction: 'released', outcome: 'release' };
  }
  if (decision === 'override') {
    return { closedAs: 'overridden', auditAction: 'overridden', outcome: 'override' };
  }
  // A substitute review's path always asks for its decision (AwaitSubstituteApproval answers at once when
  // the decision came first): decided before the task registered, it is still an approval or a rejection.
  const waiting = taskWaiting || type === 'substitution';
  if (decision === 'reject') {
    return waiting
      ? { closedAs: 'rejected', auditAction: 'rejected', outcome: 'reject' }
      : { closedAs: 'cancelled', auditAction: 'cancelled', outcome: 'reject' };
  }
  return waiting
    ? { closedAs: 'approved', auditAction: 'approved', outcome: 'approve' }
    : { closedAs: 'resolved', auditAction: 'resolved', outcome: 'approve' };
}

/**
 * The decision a stored resolution records. Records from before every type was decidable carry only the
 * credit outcome (or a DLQ redrive's 'release'): 'reject' was a rejection, anything else an approval.
 */
export function decisionOf(resolution: {
  readonly outcome: string;
  readonly closedAs?: ExceptionClosure;
}): ExceptionDecision {
  if (resolution.closedAs === 'overridden' || resolution.outcome === 'override') return 'override';
  return resolution.outcome === 'reject' ? 'reject' : 'approve';
}

/** How a stored resolution closed its exception (derived for records without `closedAs`). */
export function closureOf(resolution: {
  readonly outcome: string;
  readonly closedAs?: ExceptionClosure;
}): ExceptionClosure {
  if (resolution.closedAs) return resolution.closedAs;
  return resolution.outcome === 'reject' ? 'rejected' : 'approved';
}
