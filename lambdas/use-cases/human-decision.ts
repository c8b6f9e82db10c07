import { type EscalationLadder, ladderFor, slaSeconds, tierOf, tierPriority } from '../core/escalation.ts';
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
  DecisionConflict,
  DecisionNotApplicable,
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
 */
export interface DecisionDeps {
  readonly orders: OrderRepository;
  readonly exceptions: ExceptionRepository;
  readonly events: EventPublisher;
  readonly callbacks: DecisionCallbacks;
  readonly clock: Clock;
}

/** What the waiting task receives: the path's Choice routes on `outcome`. */
export interface DecisionOutput {
  readonly outcome: 'release' | 'reject';
  readonly decidedBy: string;
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
  readonly outcome: 'release' | 'reject';
  readonly decidedBy: string;
  readonly reason: string;
}

const FALLBACK_ACTOR = 'handoff:sla-fallback';

function requireText(field: string, value: unknown, max: number): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new InvalidDecision(field, 'must be a non-empty string');
  }
  if (value.length > max) throw new InvalidDecision(field, `must be at most ${max} characters`);
  return value.trim();
}

function outputOf(resolution: ExceptionResolution): DecisionOutput {
  return { outcome: resolution.outcome, decidedBy: resolution.decidedBy, tier: resolution.tier };
}

async function load(exceptionId: string, deps: DecisionDeps): Promise<OwnedException> {
  const exception = await deps.exceptions.get(exceptionId);
  if (!exception) throw new ExceptionNotFound(exceptionId);
  return exception;
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
    await deps.callbacks.succeed(taskToken, outputOf(exception.resolution));
    return { status: 'already-decided', tier: exception.resolution.tier };
  }
  const ladder = ladderFor(exception.type, exception.context.ladder);
  const tier = tierOf(ladder, input.tier);
  const record = await deps.orders.get(exception.orderId);
  if (!record) throw new OrderNotFound(exception.orderId);
  const customerPriority = record.order.customer.priority;
  const now = deps.clock.now();
  const at = now.toISOString();
  const slaDueAt = new Date(now.getTime() + slaSeconds(tier, customerPriority) * 1000).toISOString();
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
    if (decided.resolution) await deps.callbacks.succeed(taskToken, outputOf(decided.resolution));
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

/** A person's decision on an open exception: recorded once, applied to the order, the waiting path resumed. */
export async function decideException(
  input: DecisionInput,
  deps: DecisionDeps,
): Promise<DecisionOutput & { readonly resumed: 'delivered' | 'expired' | 'no-task' }> {
  const exceptionId = requireText('exceptionId', input.exceptionId, 80);
  if (input.outcome !== 'release' && input.outcome !== 'reject') {
    throw new InvalidDecision('outcome', `must be 'release' or 'reject' (got ${String(input.outcome)})`);
  }
  const decidedBy = requireText('decidedBy', input.decidedBy, 120);
  const reason = requireText('reason', input.reason, 500);
  const exception = await load(exceptionId, deps);
  const ladder = ladderFor(exception.type, exception.context.ladder);
  const resolution: ExceptionResolution = exception.resolution ?? {
    outcome: input.outcome,
    decidedBy,
    decidedAt: deps.clock.now().toISOString(),
    reason,
    tier: exception.awaiting?.tier ?? 1,
  };
  if (resolution.outcome !== input.outcome || resolution.decidedBy !== decidedBy) {
    throw new DecisionConflict(exceptionId, resolution);
  }
  if (!exception.resolution) {
    // A first decision only while the order still waits on it: after a failed decision step the order is
    // parked under an integration exception, and releasing it here would announce a release that cannot run.
    const order = await deps.orders.get(exception.orderId);
    if (order && order.stage !== 'credit-hold') {
      throw new DecisionNotApplicable(exceptionId, exception.orderId, order.stage);
    }
  }
  const settled = await settle(exception, resolution, ladder, deps);
  const token = settled.awaiting?.taskToken;
  const resumed = token ? await deps.callbacks.succeed(token, outputOf(resolution)) : 'no-task';
  return { ...outputOf(resolution), resumed };
}

/** Past the top tier's SLA: the ladder's fallback decides, unless a person decided at the last moment. */
export async function applyDecisionFallback(
  input: { readonly orderId: string; readonly exceptionId: string },
  deps: DecisionDeps,
): Promise<DecisionOutput> {
  const exception = await load(requireText('exceptionId', input.exceptionId, 80), deps);
  const ladder = ladderFor(exception.type, exception.context.ladder);
  const resolution: ExceptionResolution = exception.resolution ?? {
    outcome: ladder.fallback.outcome,
    decidedBy: FALLBACK_ACTOR,
    decidedAt: deps.clock.now().toISOString(),
    reason: ladder.fallback.reason,
    tier: 0,
  };
  await settle(exception, resolution, ladder, deps);
  return outputOf(resolution);
}

/**
 * Resolves the exception (once), then applies the decision to the order and announces it. Every step is
 * idempotent, so a retry after a crash part-way finishes the job without doing anything twice.
 */
async function settle(
  exception: OwnedException,
  resolution: ExceptionResolution,
  ladder: EscalationLadder,
  deps: DecisionDeps,
): Promise<OwnedException> {
  let current = exception;
  if (!exception.resolution) {
    const result = await deps.exceptions.resolve(exception, resolution, {
      at: resolution.decidedAt,
      actor: resolution.decidedBy,
      action: resolution.outcome === 'release' ? 'released' : 'rejected',
      why: resolution.reason,
    });
    if (result.resolved) current = result.exception;
    else {
      const first = result.existing?.resolution;
      if (!first) throw new ExceptionNotFound(exception.exceptionId);
      if (first.outcome !== resolution.outcome || first.decidedBy !== resolution.decidedBy) {
        throw new DecisionConflict(exception.exceptionId, first);
      }
      current = result.existing ?? exception;
    }
  }

  const { orderId, exceptionId, correlationId } = exception;
  const occurredAt = resolution.decidedAt;
  const fallback = resolution.tier === 0;
  const reasonCodes =
    resolution.outcome === 'release'
      ? ['CREDIT_RELEASED_BY_FINANCE']
      : [fallback ? ladder.fallback.reasonCode : 'CREDIT_REJECTED_BY_FINANCE'];
  const record = await deps.orders.get(orderId);
  if (!record) throw new OrderNotFound(orderId);
  const events: CanonicalEvent[] = [];
  if (record.stage === 'credit-hold') {
    await deps.orders.transition(
      record,
      resolution.outcome === 'release' ? 'credit-approved' : 'rejected',
      reasonCodes,
      {
        credit: {
          decision: resolution.outcome === 'release' ? 'approved' : 'declined',
          reasonCodes: [...(record.credit?.reasonCodes ?? []), ...reasonCodes],
          exceptionId,
          review: { ...resolution },
        },
      },
    );
  }
  const envelope = { schemaVersion: 1 as const, orderId, correlationId, occurredAt };
  if (resolution.outcome === 'release') {
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
  events.push({
    name: 'exception.resolved',
    detail: {
      ...envelope,
      idempotencyKey: `${exceptionId}:resolved`,
      exceptionId,
      resolution: resolution.outcome === 'release' ? 'approved' : 'rejected',
      resolvedBy: resolution.decidedBy,
      reason: resolution.reason,
    },
  });
  await deps.events.publish(events);
  return current;
}
