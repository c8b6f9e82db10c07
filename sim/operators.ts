import type { LocalCloud } from '../local/cloud.ts';
import { type Random, random, subSeed } from './random.ts';

const MINUTE = 60_000;

export type Team = 'finance' | 'customer-service' | 'warehouse' | 'logistics' | 'integration';

/** Who works each queue: people on shift in weekday and weekend hours (UTC), and how long a case takes. */
export interface StaffingPlan {
  readonly teams: Readonly<
    Record<
      Team,
      {
        readonly weekday: { readonly people: number; readonly fromHour: number; readonly toHour: number };
        readonly weekend: { readonly people: number; readonly fromHour: number; readonly toHour: number };
      }
    >
  >;
  /** Mean minutes a person spends on one exception, by type (log-normal, coefficient of variation 0.6). */
  readonly handleMinutes: Readonly<Record<string, number>>;
  /** Share of credit holds finance releases (the rest it rejects). */
  readonly creditApprovalRate: number;
  /** Share of substitutes needing approval that the customer accepts. */
  readonly substituteApprovalRate: number;
}

/** US Eastern office hours (13:00–22:00 UTC), a skeleton crew at weekends for the customer-facing queues. */
export const DEFAULT_STAFFING: StaffingPlan = {
  teams: {
    finance: {
      weekday: { people: 2, fromHour: 13, toHour: 22 },
      weekend: { people: 0, fromHour: 14, toHour: 20 },
    },
    'customer-service': {
      weekday: { people: 3, fromHour: 12, toHour: 24 },
      weekend: { people: 1, fromHour: 14, toHour: 22 },
    },
    warehouse: {
      weekday: { people: 2, fromHour: 11, toHour: 23 },
      weekend: { people: 1, fromHour: 13, toHour: 19 },
    },
    logistics: {
      weekday: { people: 1, fromHour: 12, toHour: 22 },
      weekend: { people: 0, fromHour: 14, toHour: 20 },
    },
    integration: {
      weekday: { people: 1, fromHour: 13, toHour: 22 },
      weekend: { people: 1, fromHour: 15, toHour: 17 },
    },
  },
  handleMinutes: {
    'credit-hold': 14,
    'sla-breach': 6,
    'integration-failure': 20,
    validation: 9,
    shortage: 10,
    substitution: 8,
    address: 12,
    'carrier-failure': 15,
  },
  creditApprovalRate: 0.85,
  substituteApprovalRate: 0.75,
};

interface QueuedException {
  readonly exceptionId: string;
  /**
   * The case's identity for ordering and draws: its id, except for a dead letter's, which hashes the SQS
   * message id (random, as on AWS); that case is known by what failed instead (order, queue, instant).
   */
  readonly caseKey: string;
  readonly type: string;
  readonly team: Team;
  readonly orderId: string;
  readonly stage: string;
  readonly raisedAt: number;
  readonly priority: number;
}

/** What an operator decided, for the run's figures. */
export interface OperatorDecision {
  readonly exceptionId: string;
  readonly type: string;
  readonly outcome: 'approve' | 'reject' | 'left-open';
  readonly at: number;
  readonly waitedMs: number;
}

/**
 * The people working Handoff's exception queues. They learn of an exception when `exception.raised` is on
 * the bus (their queue screen), take the oldest of the highest priority while someone on shift is free,
 * spend a log-normal handling time on it, and decide through the DecideException function as the console
 * does. Backlog and breaches come from staffing against the arrival of work, not from a script.
 *
 * What each decides: finance releases most credit holds and rejects the rest; the warehouse answers a
 * missing ship confirmation by having the WMS resend it; customer service confirms a wrong ship-to with the
 * customer and has the ERP resend the corrected order; an order parked by a failed step stays with its
 * open integration exception (it needs a redrive, not a click); quarantined messages are closed as won't
 * fix; everything else is acknowledged.
 */
export class ExceptionOperators {
  private cursor = 0;
  private readonly queues = new Map<Team, QueuedException[]>();
  /** Per team, when each person is next free. */
  private readonly freeAt = new Map<Team, number[]>();
  private readonly inHand: { readonly item: QueuedException; readonly doneAt: number }[] = [];
  private readonly seed: number;
  private readonly decideFunction: string;
  readonly decisions: OperatorDecision[] = [];
  readonly leftOpen = new Set<string>();

  constructor(
    private readonly cloud: LocalCloud,
    seed: number,
    private readonly plan: StaffingPlan = DEFAULT_STAFFING,
    /** The warehouse's answer to a missing ship confirmation; true when the WMS resent it. */
    private readonly resendShipConfirmation: (orderId: string) => boolean = () => false,
    /** Customer service's answer to an address error: true once the ERP resends the corrected order. */
    private readonly correctAddress: (orderId: string) => boolean = () => false,
  ) {
    this.seed = seed;
    const fn = [...cloud.lambda.functions.values()].find((f) =>
      f.resource.logicalId.startsWith('DecideException'),
    );
    if (!fn) throw new Error('the template has no DecideException function');
    this.decideFunction = fn.name;
  }

  /** Open exceptions waiting in the queues (not yet picked up). */
  get backlog(): number {
    let n = 0;
    for (const q of this.queues.values()) n += q.length;
    return n;
  }

  /** Takes new exceptions off the bus, starts work for free people and applies the decisions due by `now`. */
  async tick(now: number): Promise<void> {
    this.collect();
    // Decisions due first, so the people are free for the next case.
    const due = this.inHand.filter((w) => w.doneAt <= now).sort((a, b) => a.doneAt - b.doneAt);
    if (due.length) {
      const remaining = this.inHand.filter((w) => w.doneAt > now);
      this.inHand.length = 0;
      this.inHand.push(...remaining);
      await Promise.all(due.map((w) => this.decide(w.item, w.doneAt)));
    }
    for (const [team, queue] of this.queues) {
      if (queue.length === 0) continue;
      const people = this.peopleOnShift(team, now);
      const free = this.freeAt.get(team) ?? [];
      while (free.length < people) free.push(0);
      this.freeAt.set(team, free);
      queue.sort(
        (a, b) => b.priority - a.priority || a.raisedAt - b.raisedAt || a.caseKey.localeCompare(b.caseKey),
      );
      for (let person = 0; person < people && queue.length > 0; person++) {
        if ((free[person] ?? 0) > now) continue;
        const item = queue.shift() as QueuedException;
        const mean = this.plan.handleMinutes[item.type] ?? 10;
        const doneAt = Math.max(now, item.raisedAt) + this.rngFor(item.caseKey).logNormal(mean, 0.6) * MINUTE;
        free[person] = doneAt;
        this.inHand.push({ item, doneAt });
      }
    }
  }

  private collect(): void {
    const events = this.cloud.events.archives[0]?.events ?? [];
    for (; this.cursor < events.length; this.cursor++) {
      const { event } = events[this.cursor] as (typeof events)[number];
      if (event['detail-type'] !== 'exception.raised.v1') continue;
      const detail = event.detail as {
        exceptionId: string;
        type: string;
        ownerTeam: Team;
        orderId: string;
        stage: string;
        priority: string;
        occurredAt: string;
        reasonCodes?: string[];
      };
      const item: QueuedException = {
        exceptionId: detail.exceptionId,
        caseKey: detail.exceptionId.startsWith('EXC-DLQ-')
          ? `DLQ|${detail.orderId}|${(detail.reasonCodes ?? []).join(',')}|${detail.occurredAt}`
          : detail.exceptionId,
        type: detail.type,
        team: detail.ownerTeam,
        orderId: detail.orderId,
        stage: detail.stage,
        raisedAt: Date.parse(detail.occurredAt),
        priority: { critical: 3, high: 2, normal: 1, low: 0 }[detail.priority] ?? 1,
      };
      const queue = this.queues.get(item.team) ?? [];
      // A re-announced exception (same id) is one case.
      if (!queue.some((q) => q.exceptionId === item.exceptionId)) queue.push(item);
      this.queues.set(item.team, queue);
    }
  }

  /** Draws keyed by the case, so the same seed decides the same way whatever order cases arrived in. */
  private rngFor(key: string): Random {
    return random(subSeed(this.seed, `operators|${key}`));
  }

  private peopleOnShift(team: Team, now: number): number {
    const staffing = this.plan.teams[team];
    const date = new Date(now);
    const weekend = date.getUTCDay() === 0 || date.getUTCDay() === 6;
    const shift = weekend ? staffing.weekend : staffing.weekday;
    const hour = date.getUTCHours();
    return hour >= shift.fromHour && hour < shift.toHour ? shift.people : 0;
  }

  private async decide(item: QueuedException, at: number): Promise<void> {
    const waitedMs = at - item.raisedAt;
    let outcome: 'approve' | 'reject' | 'left-open';
    let reason: string;
    if (item.type === 'credit-hold') {
      const release = this.rngFor(`${item.caseKey}|decision`).chance(this.plan.creditApprovalRate);
      outcome = release ? 'approve' : 'reject';
      reason = release ? 'payment history reviewed; releasing' : 'exposure too high; customer to prepay';
    } else if (
      item.type === 'integration-failure' &&
      !item.orderId.startsWith('FEED-') &&
      !item.orderId.startsWith('DLQ-')
    ) {
      // A parked order needs its step redriven once the partner is back: the case stays open for that.
      outcome = 'left-open';
      reason = '';
    } else if (item.type === 'substitution') {
      // The account manager has the customer's answer on the substitute by the time the case is worked.
      const accept = this.rngFor(`${item.caseKey}|decision`).chance(this.plan.substituteApprovalRate);
      outcome = accept ? 'approve' : 'reject';
      reason = accept
        ? 'customer approved the substitute by phone'
        : 'customer declined the substitute; waits for the ordered item';
    } else if (item.type === 'shortage') {
      // Customer service has asked the customer (a later date, a substitute or a cancellation): the case
      // stays open until the answer comes, which the week does not script.
      outcome = 'left-open';
      reason = '';
    } else if (item.type === 'address' && this.correctAddress(item.orderId)) {
      outcome = 'approve';
      reason = 'ship-to confirmed with the customer and corrected in the ERP; sales order resent';
    } else if (item.type === 'validation' || item.type === 'integration-failure') {
      outcome = 'reject';
      reason = 'message cannot be used; partner told to resend a corrected one';
    } else if (item.type === 'sla-breach' && this.resendShipConfirmation(item.orderId)) {
      outcome = 'approve';
      reason = 'shipped on time; WMS asked to resend the lost confirmation';
    } else {
      outcome = 'approve';
      reason = 'reviewed';
    }
    this.decisions.push({ exceptionId: item.exceptionId, type: item.type, outcome, at, waitedMs });
    if (outcome === 'left-open') {
      this.leftOpen.add(item.exceptionId);
      return;
    }
    await this.cloud.lambda
      .invoke(this.decideFunction, {
        exceptionId: item.exceptionId,
        outcome,
        decidedBy: `ops.${item.team}`,
        reason,
      })
      .catch(() => undefined);
  }
}
