import { textFindings } from '../../contracts/text.ts';
import type { ExceptionType } from '../../contracts/vocabulary.ts';
import {
  type EscalationLadder,
  FALLBACK_ACTOR,
  ladderFor,
  tierDueAt,
  tierOf,
  tierPriority,
} from '../core/escalation.ts';
import {
  closureOf,
  decisionOf,
  EXCEPTION_DECISIONS,
  EXCEPTION_REJECTED_ERROR,
  type ExceptionClosure,
  type ExceptionDecision,
  meaningOf,
  type PathOutcome,
} from '../core/exception-decisions.ts';
import { type BusinessCalendar, DEFAULT_SLA_POLICY } from '../core/sla.ts';
import type {
  CanonicalEvent,
  Clock,
  DecisionCallbacks,
  EventPublisher,
  ExceptionRepository,
  ExceptionResolution,
  OrderRepository,
  OwnedException,
} from '../ports/index.ts';
import {
  ConcurrentOrderUpdate,
  DecisionNotApplicable,
  ExceptionAlreadyResolved,
  ExceptionNotFound,
  InvalidDecision,
  OrderNotFound,
} from '../shared/errors.ts';

/**
 * The shared human-decision pattern. A path raises an owned exception, then waits in a callback task whose
 * timeout is the deciding tier's SLA. The task's function records the token on the exception
 * (`awaitHumanDecision`); a person's decision resolves the exception, applies it to the order and answers
 * the token (`decideException`); an SLA that runs out moves the exception up its ladder (the next callback
 * task), and past the top tier the ladder's fallback decides (`applyDecisionFallback`).
 *
 * Every exception type can be decided (approve, reject, override); what each means per type, with or
 * without a waiting task, is `meaningOf` in lambdas/core/exception-decisions.ts. An exception is resolved
 * once: the repository's conditional write picks the one decision that wins a race, and every later
 * decision is refused with ExceptionAlreadyResolved, except an exact repeat (a retried invoke).
 */
export interface DecisionDeps {
  readonly orders: OrderRepository;
  readonly exceptions: ExceptionRepository;
  readonly events: EventPublisher;
  readonly callbacks: DecisionCallbacks;
  readonly clock: Clock;
  /**
   * The working hours a tier with a business calendar counts (the SLA policy's).
   * @default DEFAULT_SLA_POLICY.businessCalendar
   */
  readonly calendar?: BusinessCalendar;
}

/** What a waiting credit-hold task receives: the path's Choice (RouteOnCreditReview) routes on `outcome`. */
export interface DecisionOutput {
  readonly outcome: 'release' | 'reject';
  readonly decidedBy: string;
  readonly tier: number;
}

/** What a waiting task of any other type receives on approve or override (reject fails the task). */
export interface TaskDecision {
  readonly exceptionId: string;
  readonly outcome: PathOutcome;
  readonly closedAs: ExceptionClosure;
  readonly decidedBy: string;
  readonly decidedAt: string;
  readonly reason: string;
  readonly tier: number;
}

export interface AwaitInput {
  readonly orderId: string;
  readonly exceptionId: string;
  readonly tier: number;
  readonly taskToken: string;
}

export interface DecisionInput {
  readonly exceptionId: string;
  /** approve | reject | override; 'release' is kept as a credit hold's word for approve. */
  readonly outcome: ExceptionDecision | 'release';
  readonly decidedBy: string;
  readonly reason: string;
}

/** What happens next, for the person who decided: the CLI prints `message`. */
export interface NextStep {
  readonly kind:
    | 'workflow-resumed'
    | 'workflow-failed'
    | 'workflow-gone'
    | 'order-parked'
    | 'redrive-dead-letter'
    | 'acknowledged';
  readonly message: string;
}

export interface DecisionResult {
  readonly exceptionId: string;
  readonly type: ExceptionType;
  readonly orderId: string;
  readonly decision: ExceptionDecision;
  /** What the waiting path routes on: a credit hold's release | reject, else the decision. */
  readonly outcome: PathOutcome;
  readonly closedAs: ExceptionClosure;
  readonly decidedBy: string;
  readonly decidedAt: string;
  readonly reason: string;
  /** The escalation tier that decided (1 when nothing escalated; 0 for the SLA fallback). */
  readonly tier: number;
  /** 'delivered' when a waiting task was answered now; 'expired' when its token was no longer live. */
  readonly resumed: 'delivered' | 'expired' | 'no-task';
  /** True when this call repeated the recorded decision (same decision, person and reason): nothing new. */
  readonly replayed: boolean;
  readonly next: NextStep;
}

/** The fields of a decision; anything else (a typo such as `resaon`) is refused rather than ignored. */
const DECISION_FIELDS = ['exceptionId', 'outcome', 'decidedBy', 'reason'] as const;

/** The decision is an object of the decision's fields only. */
function requireDecisionShape(input: unknown): void {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new InvalidDecision(
      '(input)',
      `must be an object with ${DECISION_FIELDS.join(', ')} [type:object]`,
    );
  }
  const unknown = Object.keys(input).find((key) => !(DECISION_FIELDS as readonly string[]).includes(key));
  if (unknown !== undefined) {
    throw new InvalidDecision(
      unknown.slice(0, 80),
      `is not a field of a decision (${DECISION_FIELDS.join(', ')}) [unknownField]`,
    );
  }
}

/**
 * Text that goes on the audit trail, checked as every partner text is (contracts/text.ts): trimmed, in NFC, at
 * most `max` characters, no controls, bidirectional overrides, lone surrogates or noncharacters. Each refusal
 * names the field and ends with its rule in brackets.
 */
function requireText(field: string, value: unknown, max: number): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new InvalidDecision(field, 'must be a non-empty string [required]');
  }
  const text = value.normalize('NFC').trim();
  if (text.length > max)
    throw new InvalidDecision(field, `must be at most ${max} characters [maxLength:${max}]`);
  const [finding] = textFindings(text);
  if (finding) throw new InvalidDecision(field, `${finding.message} [${finding.rule}]`);
  return text;
}

function requireDecision(outcome: unknown): ExceptionDecision {
  if (outcome === 'release') return 'approve';
  if ((EXCEPTION_DECISIONS as readonly unknown[]).includes(outcome)) return outcome as ExceptionDecision;
  throw new InvalidDecision(
    'outcome',
    `must be one of ${EXCEPTION_DECISIONS.join(', ')} ('release' for a credit hold's approve) (got ${String(outcome).slice(0, 40)}) [oneOf:${[...EXCEPTION_DECISIONS, 'release'].join('|')}]`,
  );
}

function requireReason(reason: unknown, decision: ExceptionDecision): string {
  if (decision === 'override' && (typeof reason !== 'string' || reason.trim() === '')) {
    throw new InvalidDecision(
      'reason',
      'is required for an override: say why the recommended action is set aside (it goes on the audit trail) [required]',
    );
  }
  return requireText('reason', reason, 500);
}

/** The credit path's answer: an override releases, as an approval does. */
function creditOutput(resolution: ExceptionResolution): DecisionOutput {
  return {
    outcome: resolution.outcome === 'reject' ? 'reject' : 'release',
    decidedBy: resolution.decidedBy,
    tier: resolution.tier,
  };
}

async function load(exceptionId: string, deps: DecisionDeps): Promise<OwnedException> {
  const exception = await deps.exceptions.get(exceptionId);
  if (!exception) throw new ExceptionNotFound(exceptionId);
  return exception;
}

/**
 * Answers the task waiting on the exception with its decision. A credit hold's task always succeeds (its
 * path routes on release | reject); any other type's task succeeds on approve or override and fails with
 * ExceptionRejected on reject, with who, when and why as the cause.
 */
async function answerTask(
  exception: OwnedException,
  resolution: ExceptionResolution,
  taskToken: string,
  deps: DecisionDeps,
): Promise<'delivered' | 'expired'> {
  if (exception.type === 'credit-hold') return deps.callbacks.succeed(taskToken, creditOutput(resolution));
  const { exceptionId } = exception;
  const { decidedBy, decidedAt, reason, tier } = resolution;
  if (decisionOf(resolution) === 'reject') {
    const cause = {
      errorMessage: `${exceptionId} was rejected by ${decidedBy} at ${decidedAt}: ${reason}`,
      exceptionId,
      decidedBy,
      decidedAt,
      reason,
      tier,
    };
    return deps.callbacks.fail(taskToken, EXCEPTION_REJECTED_ERROR, JSON.stringify(cause));
  }
  const output: TaskDecision = {
    exceptionId,
    outcome: resolution.outcome,
    closedAs: closureOf(resolution),
    decidedBy,
    decidedAt,
    reason,
    tier,
  };
  return deps.callbacks.succeed(taskToken, output);
}

/**
 * A decision recorded before its task asked is answered at once; a credit decision is applied to its order
 * first (idempotent: the decision's own call may be applying it at this moment), so the path never resumes
 * onto an order still at credit-hold.
 */
async function applyBeforeResuming(
  exception: OwnedException,
  resolution: ExceptionResolution,
  deps: DecisionDeps,
): Promise<void> {
  if (exception.type !== 'credit-hold') return;
  await settleCreditHold(exception, resolution, ladderFor(exception.type, exception.context.ladder), deps);
}

/**
 * The callback task's function: the tier now deciding owns the exception, with its SLA, and the token is
 * kept to answer. From tier 2 on this is an escalation, announced as such. An exception decided while no
 * task was waiting (between a timeout and the next tier) is answered at once.
 */
export async function awaitHumanDecision(
  input: AwaitInput,
  deps: DecisionDeps,
): Promise<{ readonly status: 'awaiting' | 'already-decided'; readonly tier: number }> {
  const exceptionId = requireText('exceptionId', input.exceptionId, 80);
  const taskToken = requireText('taskToken', input.taskToken, 8192);
  const exception = await load(exceptionId, deps);
  if (exception.resolution) {
    await applyBeforeResuming(exception, exception.resolution, deps);
    await answerTask(exception, exception.resolution, taskToken, deps);
    return { status: 'already-decided', tier: exception.resolution.tier };
  }
  const ladder = ladderFor(exception.type, exception.context.ladder);
  const tier = tierOf(ladder, input.tier);
  const record = await deps.orders.get(exception.orderId);
  if (!record) throw new OrderNotFound(exception.orderId);
  const customerPriority = record.order.customer.priority;
  const now = deps.clock.now();
  const at = now.toISOString();
  const slaDueAt = tierDueAt(
    tier,
    customerPriority,
    now,
    deps.calendar ?? DEFAULT_SLA_POLICY.businessCalendar,
  ).toISOString();
  const priority = tierPriority(tier, customerPriority);
  const escalated = tier.tier > 1;
  const updated = await deps.exceptions.awaitDecision(exceptionId, {
    awaiting: { tier: tier.tier, role: tier.role, taskToken, since: at },
    ownerTeam: tier.ownerTeam,
    priority,
    slaDueAt,
    audit: {
      at,
      actor: 'handoff:escalation',
      action: escalated ? 'escalated' : 'awaiting-decision',
      why: escalated
        ? `No decision within tier ${tier.tier - 1}'s SLA: now with ${tier.ownerTeam} ${tier.role} until ${slaDueAt}`
        : `Waiting for ${tier.ownerTeam} ${tier.role} until ${slaDueAt}`,
    },
  });
  if (!updated) {
    // Decided between the read and the write: answer with that decision.
    const decided = await load(exceptionId, deps);
    if (decided.resolution) {
      await applyBeforeResuming(decided, decided.resolution, deps);
      await answerTask(decided, decided.resolution, taskToken, deps);
    }
    return { status: 'already-decided', tier: decided.resolution?.tier ?? tier.tier };
  }
  if (escalated) {
    const event: CanonicalEvent<'exception.escalated'> = {
      name: 'exception.escalated',
      detail: {
        schemaVersion: 1,
        orderId: exception.orderId,
        correlationId: exception.correlationId,
        idempotencyKey: `${exceptionId}:escalated:${tier.tier}`,
        occurredAt: at,
        exceptionId,
        type: exception.type,
        tier: tier.tier,
        ownerTeam: tier.ownerTeam,
        role: tier.role,
        priority,
        slaDueAt,
        recommendedAction: exception.recommendedAction.slice(0, 500),
      },
    };
    await deps.events.publish([event]);
  }
  return { status: 'awaiting', tier: tier.tier };
}

/**
 * A person's decision on an exception of any type: recorded once with who, when, what and why, applied
 * (a credit hold's order released or rejected), announced (`exception.resolved`), and the waiting workflow,
 * if any, answered. The result says what happens next. A decision on a resolved exception is refused with
 * ExceptionAlreadyResolved, naming the decision that stands; only an exact repeat of that decision (same
 * decision, person and reason, as a retried invoke sends) returns its result again, finishing any step a
 * crash left undone.
 */
export async function decideException(input: DecisionInput, deps: DecisionDeps): Promise<DecisionResult> {
  requireDecisionShape(input);
  const exceptionId = requireText('exceptionId', input.exceptionId, 80);
  const decision = requireDecision(input.outcome);
  const decidedBy = requireText('decidedBy', input.decidedBy, 120);
  const reason = requireReason(input.reason, decision);
  const exception = await load(exceptionId, deps);
  if (input.outcome === 'release' && exception.type !== 'credit-hold') {
    throw new InvalidDecision(
      'outcome',
      `'release' is a credit hold's word for approve; a ${exception.type} exception takes approve, reject or override`,
    );
  }
  const request = { decision, decidedBy, reason };
  if (exception.resolution) return repeatOrRefuse(exception, exception.resolution, request, deps);

  if (exception.type === 'credit-hold') {
    // A first decision only while the order still waits on it: after a failed decision step the order is
    // parked under an integration exception, and releasing it here would announce a release that cannot run.
    const order = await deps.orders.get(exception.orderId);
    if (order && order.stage !== 'credit-hold') {
      throw new DecisionNotApplicable(exceptionId, exception.orderId, order.stage);
    }
  }
  const meaning = meaningOf(exception.type, decision, Boolean(exception.awaiting?.taskToken));
  const resolution: ExceptionResolution = {
    outcome: meaning.outcome,
    closedAs: meaning.closedAs,
    decidedBy,
    decidedAt: deps.clock.now().toISOString(),
    reason,
    tier: exception.awaiting?.tier ?? 1,
  };
  const written = await deps.exceptions.resolve(exception, resolution, {
    at: resolution.decidedAt,
    actor: decidedBy,
    action: meaning.auditAction,
    why: reason,
  });
  if (!written.resolved) {
    // Another decision won the race (the conditional write stored it first).
    const winner = written.existing?.resolution;
    if (!written.existing || !winner) throw new ExceptionNotFound(exceptionId);
    return repeatOrRefuse(written.existing, winner, request, deps);
  }
  return complete(written.exception, resolution, false, deps);
}

async function repeatOrRefuse(
  exception: OwnedException,
  resolution: ExceptionResolution,
  request: { readonly decision: ExceptionDecision; readonly decidedBy: string; readonly reason: string },
  deps: DecisionDeps,
): Promise<DecisionResult> {
  const repeat =
    decisionOf(resolution) === request.decision &&
    resolution.decidedBy === request.decidedBy &&
    resolution.reason === request.reason;
  if (!repeat) {
    throw new ExceptionAlreadyResolved(
      exception.exceptionId,
      {
        closedAs: closureOf(resolution),
        decidedBy: resolution.decidedBy,
        decidedAt: resolution.decidedAt,
        reason: resolution.reason,
      },
      { decision: request.decision, decidedBy: request.decidedBy },
    );
  }
  return complete(exception, resolution, true, deps);
}

/**
 * Applies and announces a recorded decision, then answers the waiting task. Every step is idempotent (a
 * credit hold's order moves only from credit-hold, events carry fixed idempotency keys, an answered token
 * is 'expired'), so a repeat after a crash part-way finishes the job without doing anything twice.
 */
async function complete(
  exception: OwnedException,
  resolution: ExceptionResolution,
  replayed: boolean,
  deps: DecisionDeps,
): Promise<DecisionResult> {
  if (exception.type === 'credit-hold') {
    await settleCreditHold(exception, resolution, ladderFor(exception.type, exception.context.ladder), deps);
  } else {
    await deps.events.publish([resolvedEvent(exception, resolution)]);
  }
  const token = exception.awaiting?.taskToken;
  const resumed = token ? await answerTask(exception, resolution, token, deps) : 'no-task';
  return {
    exceptionId: exception.exceptionId,
    type: exception.type,
    orderId: exception.orderId,
    decision: decisionOf(resolution),
    outcome: resolution.outcome,
    closedAs: closureOf(resolution),
    decidedBy: resolution.decidedBy,
    decidedAt: resolution.decidedAt,
    reason: resolution.reason,
    tier: resolution.tier,
    resumed,
    replayed,
    next: await nextStep(exception, resolution, resumed, deps),
  };
}

/** The sentence the operator reads after deciding: what moved, or why nothing did and what to do. */
async function nextStep(
  exception: OwnedException,
  resolution: ExceptionResolution,
  resumed: DecisionResult['resumed'],
  deps: DecisionDeps,
): Promise<NextStep> {
  const { orderId, type } = exception;
  const decision = decisionOf(resolution);
  if (resumed === 'delivered') {
    if (type === 'credit-hold') {
      return {
        kind: 'workflow-resumed',
        message:
          resolution.outcome === 'reject'
            ? `order ${orderId} resumed: its path rejects the order`
            : `order ${orderId} resumed: credit released, its path goes on to allocation`,
      };
    }
    return decision === 'reject'
      ? {
          kind: 'workflow-failed',
          message: `order ${orderId}'s waiting workflow was failed with ${EXCEPTION_REJECTED_ERROR}; its Catch decides what follows`,
        }
      : { kind: 'workflow-resumed', message: `order ${orderId} resumed with '${resolution.outcome}'` };
  }
  if (resumed === 'expired') {
    return {
      kind: 'workflow-gone',
      message: `no workflow was waiting any more (its task was already answered, timed out or ended); the decision on order ${orderId} is recorded, and a task that asks later gets it`,
    };
  }
  if (type === 'substitution') {
    return {
      kind: 'acknowledged',
      message: `substitute ${decision === 'reject' ? 'declined' : 'approved'} for order ${orderId}; no workflow task was waiting yet, the path gets the decision when it asks`,
    };
  }
  if (type === 'credit-hold') {
    return {
      kind: 'acknowledged',
      message: `order ${orderId} ${resolution.outcome === 'reject' ? 'rejected' : 'released'}; no workflow task was waiting yet, the path gets the decision when it asks`,
    };
  }
  const queue = exception.reasonCodes.includes('DEAD_LETTER') ? exception.context.queue : undefined;
  if (typeof queue === 'string') {
    return {
      kind: 'redrive-dead-letter',
      message:
        decision === 'reject'
          ? `closed as won't-fix; no workflow was waiting, and the message stays on ${queue} until it expires or is purged`
          : `no workflow was waiting and nothing was reprocessed: the message is still on ${queue}, run \`handoff dlq redrive --queue ${queue}\` to reprocess it`,
    };
  }
  const order = await deps.orders.get(orderId);
  if (order?.stage === 'exception') {
    const failedStep = type === 'integration-failure' ? exception.context.failedStep : undefined;
    return {
      kind: 'order-parked',
      message:
        typeof failedStep === 'string'
          ? `order ${orderId} stays parked at stage 'exception': this decision does not move it. Its execution ended at ParkedAsOwnedException after ${failedStep} failed, which a Step Functions redrive cannot restart (only failed executions redrive): once the cause is fixed, run the order's path again from ${failedStep}`
          : `order ${orderId} stays parked at stage 'exception': no workflow was waiting, and this decision does not move it`,
    };
  }
  const what: Record<ExceptionDecision, string> = {
    approve: 'acknowledged',
    reject: "closed as won't-fix",
    override: 'resolved as an override',
  };
  return { kind: 'acknowledged', message: `${what[decision]}; no workflow was waiting` };
}

/** `exception.resolved` for a recorded resolution; its idempotency key is the exception's, so a repeat dedupes. */
export function resolvedEvent(
  exception: OwnedException,
  resolution: ExceptionResolution,
): CanonicalEvent<'exception.resolved'> {
  return {
    name: 'exception.resolved',
    detail: {
      schemaVersion: 1,
      orderId: exception.orderId,
      correlationId: exception.correlationId,
      idempotencyKey: `${exception.exceptionId}:resolved`,
      occurredAt: resolution.decidedAt,
      exceptionId: exception.exceptionId,
      resolution: closureOf(resolution),
      resolvedBy: resolution.decidedBy,
      reason: resolution.reason,
    },
  };
}

/** Past the top tier's SLA: the ladder's fallback decides, unless a person decided at the last moment. */
export async function applyDecisionFallback(
  input: { readonly orderId: string; readonly exceptionId: string },
  deps: DecisionDeps,
): Promise<DecisionOutput> {
  const exception = await load(requireText('exceptionId', input.exceptionId, 80), deps);
  const ladder = ladderFor(exception.type, exception.context.ladder);
  let resolution: ExceptionResolution | undefined = exception.resolution;
  if (!resolution) {
    const meaning = meaningOf(
      exception.type,
      ladder.fallback.outcome === 'reject' ? 'reject' : 'approve',
      true,
    );
    const fallback: ExceptionResolution = {
      outcome: meaning.outcome,
      closedAs: meaning.closedAs,
      decidedBy: FALLBACK_ACTOR,
      decidedAt: deps.clock.now().toISOString(),
      reason: ladder.fallback.reason,
      tier: 0,
    };
    const written = await deps.exceptions.resolve(exception, fallback, {
      at: fallback.decidedAt,
      actor: FALLBACK_ACTOR,
      action: meaning.auditAction,
      why: fallback.reason,
    });
    // A person's decision stored first stands: the path goes on with it.
    resolution = written.resolved ? fallback : written.existing?.resolution;
    if (!resolution) throw new ExceptionNotFound(exception.exceptionId);
  }
  if (exception.type === 'credit-hold') await settleCreditHold(exception, resolution, ladder, deps);
  // Another type's path applies the decision itself (a declined substitute: allocation plans without it).
  else await deps.events.publish([resolvedEvent(exception, resolution)]);
  return creditOutput(resolution);
}

/**
 * A recorded credit decision applied to its order (released or rejected, once: only from credit-hold) and
 * announced. Idempotent: a repeat finds the order moved on and re-announces with the same keys.
 */
async function settleCreditHold(
  exception: OwnedException,
  resolution: ExceptionResolution,
  ladder: EscalationLadder,
  deps: DecisionDeps,
): Promise<void> {
  const { orderId, exceptionId, correlationId } = exception;
  const occurredAt = resolution.decidedAt;
  const released = resolution.outcome !== 'reject';
  const overridden = closureOf(resolution) === 'overridden';
  const reasonCodes = released
    ? [overridden ? 'CREDIT_RELEASED_BY_OVERRIDE' : 'CREDIT_RELEASED_BY_FINANCE']
    : [resolution.tier === 0 ? ladder.fallback.reasonCode : 'CREDIT_REJECTED_BY_FINANCE'];
  await moveHeldOrder(orderId, released, reasonCodes, exceptionId, resolution, deps);
  const envelope = { schemaVersion: 1 as const, orderId, correlationId, occurredAt };
  const events: CanonicalEvent[] = [];
  if (released) {
    events.push({
      name: 'credit.hold.released',
      detail: {
        ...envelope,
        idempotencyKey: `${exceptionId}:released`,
        releasedBy: resolution.decidedBy,
        reason: resolution.reason,
        exceptionId,
      },
    });
  } else {
    events.push({
      name: 'order.rejected',
      detail: {
        ...envelope,
        idempotencyKey: `${orderId}:credit-review:rejected`,
        stage: 'credit-hold',
        reasonCodes,
        exceptionId,
      },
    });
  }
  events.push(resolvedEvent(exception, resolution));
  await deps.events.publish(events);
}

async function moveHeldOrder(
  orderId: string,
  released: boolean,
  reasonCodes: readonly string[],
  exceptionId: string,
  resolution: ExceptionResolution,
  deps: DecisionDeps,
): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    const record = await deps.orders.get(orderId);
    if (!record) throw new OrderNotFound(orderId);
    if (record.stage !== 'credit-hold') return;
    try {
      await deps.orders.transition(record, released ? 'credit-approved' : 'rejected', reasonCodes, {
        credit: {
          decision: released ? 'approved' : 'declined',
          reasonCodes: [...(record.credit?.reasonCodes ?? []), ...reasonCodes],
          exceptionId,
          review: {
            outcome: released ? 'release' : 'reject',
            decidedBy: resolution.decidedBy,
            decidedAt: resolution.decidedAt,
            reason: resolution.reason,
            tier: resolution.tier,
          },
        },
      });
      return;
    } catch (error) {
      // The same decision applied concurrently (a retried invoke): re-read, and stop once it has moved.
      if (!(error instanceof ConcurrentOrderUpdate) || attempt >= 3) throw error;
    }
  }
}
