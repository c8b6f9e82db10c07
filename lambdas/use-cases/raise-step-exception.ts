import { canTransition } from '../core/order-lifecycle.ts';
import type {
  Clock,
  EventPublisher,
  ExceptionRepository,
  OrderRepository,
  OwnedException,
} from '../ports/index.ts';
import { orderExceptionId, sha256 } from '../shared/ids.ts';
import { addHours, exceptionRaisedEvent } from './exceptions.ts';

export interface StepFailure {
  readonly orderId: string;
  readonly failedStep: string;
  /** What Step Functions puts in the Catch result: the error name and its cause (often JSON). */
  readonly error: { readonly Error?: string; readonly Cause?: string };
}

export interface StepExceptionDeps {
  readonly orders: OrderRepository;
  readonly exceptions: ExceptionRepository;
  readonly events: EventPublisher;
  readonly clock: Clock;
}

/** The integration team picks up a failed workflow step within this many hours. */
export const STEP_FAILURE_SLA_HOURS = 2;

const RECOMMENDATIONS: Readonly<Record<string, string>> = {
  PartnerUnavailable:
    'The partner system did not answer after retries: check its status, then redrive the order.',
  PartnerRejected:
    'The partner refused the request: read the cause, correct the data in the partner system, redrive.',
  PartnerContractBroken:
    'The partner answered in an unexpected shape: check for an API change on their side.',
  IllegalStageTransition:
    'A step ran out of order (late or duplicated): check the order timeline before acting.',
  'States.Timeout': 'The step timed out: check the partner latency and the function logs, then redrive.',
};

function causeMessage(cause: string | undefined): string {
  if (!cause) return 'no cause given';
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown };
    if (typeof parsed.errorMessage === 'string') return parsed.errorMessage;
  } catch {
    // A plain-text cause is already the message.
  }
  return cause;
}

/**
 * The Catch target of every path: a failed step becomes an integration exception owned by a team, the
 * order is marked `exception`, and `exception.raised` is announced. The same failure raises one exception.
 */
export async function raiseStepException(
  failure: StepFailure,
  deps: StepExceptionDeps,
): Promise<{ exceptionId: string }> {
  const now = deps.clock.now();
  const occurredAt = now.toISOString();
  const errorName = failure.error.Error ?? 'UnknownError';
  const message = causeMessage(failure.error.Cause).slice(0, 2000);
  const exceptionId = orderExceptionId(
    failure.orderId,
    sha256(`${failure.failedStep}|${errorName}|${message}`).slice(0, 12),
    'STEP',
  );
  const record = await deps.orders.get(failure.orderId);
  const exception: OwnedException = {
    exceptionId,
    type: 'integration-failure',
    ownerTeam: 'integration',
    priority: 'high',
    state: 'open',
    stage: record?.stage ?? 'received',
    orderId: failure.orderId,
    correlationId: failure.orderId,
    raisedAt: occurredAt,
    slaDueAt: addHours(now, STEP_FAILURE_SLA_HOURS),
    recommendedAction:
      RECOMMENDATIONS[errorName] ??
      `Step ${failure.failedStep} failed with ${errorName}: read the cause, then redrive.`,
    reasonCodes: [`STEP_FAILED:${failure.failedStep.replace(/[^A-Za-z0-9._-]/g, '')}`],
    context: {
      failedStep: failure.failedStep,
      error: errorName,
      cause: message,
      stageAtFailure: record?.stage,
    },
    audit: [
      { at: occurredAt, actor: 'handoff:step-failure', action: 'raised', why: `${errorName}: ${message}` },
    ],
  };
  await deps.exceptions.raiseIfAbsent(exception);
  if (record && canTransition(record.stage, 'exception')) {
    await deps.orders.transition(record, 'exception', exception.reasonCodes, { addExceptionId: exceptionId });
  }
  // Published on every run: a retry after a failed publish must still announce it (consumers dedupe by key).
  await deps.events.publish([exceptionRaisedEvent(exception, occurredAt)]);
  return { exceptionId };
}
