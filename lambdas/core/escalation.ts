import { InvalidInputError } from './errors.ts';
import { addWorkingSeconds, type BusinessCalendar, type CalendarKind } from './sla.ts';
import type { CustomerPriority, ExceptionPriority, ExceptionType, OwnerTeam } from './vocabulary.ts';

/** One rung of an escalation ladder: who owns the decision, and how long they have. */
export interface EscalationTier {
  readonly tier: number;
  readonly ownerTeam: OwnerTeam;
  /** The role inside the team the work lands with (a queue in the ops console). */
  readonly role: string;
  /** Minutes to decide, by customer priority; `default` covers the rest. */
  readonly slaMinutes: Readonly<Partial<Record<CustomerPriority, number>>> & { readonly default: number };
  readonly priority: ExceptionPriority;
  /**
   * What the SLA counts: every minute (`continuous`, the default), or the SLA policy's working hours
   * (`business`), for a team that is not in at night: its work raised after hours is due the next day.
   */
  readonly calendar?: CalendarKind;
}

/** What happens when the last tier's SLA runs out with no decision. */
export interface EscalationFallback {
  readonly outcome: 'release' | 'reject';
  /** Recorded as the decision's reason, and as a reason code on the order. */
  readonly reasonCode: string;
  readonly reason: string;
}

export interface EscalationLadder {
  /** Recorded on the exception (`context.ladder`) so each tier finds the same ladder. */
  readonly name: string;
  readonly exceptionType: ExceptionType;
  readonly tiers: readonly EscalationTier[];
  readonly fallback: EscalationFallback;
}

/** Who decides when the last tier's SLA runs out: the ladder's fallback, recorded as this actor. */
export const FALLBACK_ACTOR = 'handoff:sla-fallback';

export class InvalidEscalationInput extends InvalidInputError {
  override name = 'InvalidEscalationInput';
}

/**
 * Credit holds: the credit controller first, then the credit manager. Unreviewed credit is never released
 * by default, so the fallback rejects the order (the customer was told of the hold, and is told of this).
 */
export const CREDIT_HOLD_LADDER: EscalationLadder = {
  name: 'credit-hold',
  exceptionType: 'credit-hold',
  tiers: [
    {
      tier: 1,
      ownerTeam: 'finance',
      role: 'credit-controller',
      slaMinutes: { default: 240, 'key-account': 60 },
      priority: 'normal',
    },
    {
      tier: 2,
      ownerTeam: 'finance',
      role: 'credit-manager',
      slaMinutes: { default: 120, 'key-account': 30 },
      priority: 'high',
    },
  ],
  fallback: {
    outcome: 'reject',
    reasonCode: 'CREDIT_REVIEW_UNANSWERED',
    reason: 'No credit decision within the controller and manager SLAs: the order is declined by policy.',
  },
};

/**
 * The expedited path's fast credit lane: an expedited or next-day key-account order the bands did not
 * release. The carrier cut-off will not wait for the standard queue: 30 minutes, then 15 with the manager.
 */
export const CREDIT_FAST_REVIEW_LADDER: EscalationLadder = {
  name: 'credit-fast-review',
  exceptionType: 'credit-hold',
  tiers: [
    {
      tier: 1,
      ownerTeam: 'finance',
      role: 'credit-controller',
      slaMinutes: { default: 30 },
      priority: 'high',
    },
    {
      tier: 2,
      ownerTeam: 'finance',
      role: 'credit-manager',
      slaMinutes: { default: 15 },
      priority: 'critical',
    },
  ],
  fallback: CREDIT_HOLD_LADDER.fallback,
};

/**
 * A substitute the standing policy will not ship on its own (over its value, under its margin band, or
 * listed as needing approval): the customer's account manager asks the customer. Nobody ships what the
 * customer has not approved, so past the SLA the substitute is declined and the line waits on backorder
 * for the ordered item.
 */
export const SUBSTITUTE_APPROVAL_LADDER: EscalationLadder = {
  name: 'substitution',
  exceptionType: 'substitution',
  tiers: [
    {
      tier: 1,
      ownerTeam: 'customer-service',
      role: 'account-manager',
      slaMinutes: { default: 240, 'key-account': 120 },
      priority: 'normal',
      // The account manager asks the customer, in office hours: a proposal made overnight is not declined
      // by the fallback before anyone is in.
      calendar: 'business',
    },
  ],
  fallback: {
    outcome: 'reject',
    reasonCode: 'SUBSTITUTE_UNANSWERED',
    reason:
      'No answer on the substitute within the account manager SLA: it is declined, and the line waits on backorder for the ordered item.',
  },
};

export const ESCALATION_LADDERS: Readonly<Record<string, EscalationLadder>> = {
  [CREDIT_HOLD_LADDER.name]: CREDIT_HOLD_LADDER,
  [CREDIT_FAST_REVIEW_LADDER.name]: CREDIT_FAST_REVIEW_LADDER,
  [SUBSTITUTE_APPROVAL_LADDER.name]: SUBSTITUTE_APPROVAL_LADDER,
};

/**
 * The ladder an exception climbs: the one it names (`context.ladder`), else its type's default. A named
 * error when that type is not decided by people, or the named ladder is for another type.
 */
export function ladderFor(type: ExceptionType, name?: unknown): EscalationLadder {
  const ladder = ESCALATION_LADDERS[typeof name === 'string' ? name : type];
  if (!ladder) throw new InvalidEscalationInput('exceptionType', `has no escalation ladder (got ${type})`);
  if (ladder.exceptionType !== type) {
    throw new InvalidEscalationInput('context.ladder', `${ladder.name} is not a ladder for ${type}`);
  }
  return ladder;
}

/** A tier of a ladder, 1-based; a tier past the top is a named error (the caller should fall back). */
export function tierOf(ladder: EscalationLadder, tier: number): EscalationTier {
  const found = Number.isInteger(tier) ? ladder.tiers.find((t) => t.tier === tier) : undefined;
  if (!found) {
    throw new InvalidEscalationInput(
      'tier',
      `must be one of ${ladder.tiers.map((t) => t.tier).join(', ')} for ${ladder.exceptionType} (got ${String(tier)})`,
    );
  }
  return found;
}

/** The tier's SLA in seconds for this customer: what the waiting task's TimeoutSecondsPath reads. */
export function slaSeconds(tier: EscalationTier, customerPriority: CustomerPriority): number {
  return (tier.slaMinutes[customerPriority] ?? tier.slaMinutes.default) * 60;
}

/** When a tier's decision is due, from `from`: its SLA in its calendar's time (working hours from `hours`). */
export function tierDueAt(
  tier: EscalationTier,
  customerPriority: CustomerPriority,
  from: Date,
  hours: BusinessCalendar,
): Date {
  return new Date(
    addWorkingSeconds(
      tier.calendar ?? 'continuous',
      hours,
      from.getTime(),
      slaSeconds(tier, customerPriority),
    ),
  );
}

/** Key accounts raise a tier's priority one step (their orders are worth more attention, not more time). */
export function tierPriority(tier: EscalationTier, customerPriority: CustomerPriority): ExceptionPriority {
  if (customerPriority !== 'key-account') return tier.priority;
  const order: readonly ExceptionPriority[] = ['low', 'normal', 'high', 'critical'];
  return order[Math.min(order.length - 1, order.indexOf(tier.priority) + 1)] ?? tier.priority;
}
