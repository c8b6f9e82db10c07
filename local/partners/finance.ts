import * as z from 'zod/mini';
import {
  json,
  type PartnerEnvironment,
  problem,
  type Route,
  refuse,
  type SandboxPartner,
  Sequences,
  validBody,
} from './framework.ts';

/** A customer's receivables position in the finance (AR) system, money as decimal strings. */
export interface FinanceAccount {
  readonly customerId: string;
  readonly currency: string;
  readonly creditLimit: string;
  readonly openReceivables: string;
  readonly overdueReceivables: string;
  readonly oldestOverdueDays: number;
  /** Payments received but not yet matched to invoices. */
  readonly unappliedCash: string;
  readonly openOrders: string;
  readonly paymentTerms: string;
  readonly closed: boolean;
}

export interface FinanceHold {
  readonly holdId: string;
  readonly customerId: string;
  readonly reason: string;
  readonly orderReference: string | null;
  readonly placedBy: string;
  readonly placedAt: string;
  status: 'ACTIVE' | 'RELEASED';
  releasedAt: string | null;
  releasedBy: string | null;
  releaseReason: string | null;
}

const HoldRequest = z.object({
  customerId: z.string().check(z.minLength(1)),
  reason: z.string().check(z.minLength(1), z.maxLength(500)),
  orderReference: z.optional(z.string().check(z.minLength(1))),
  placedBy: z.string().check(z.minLength(1)),
});

const ReleaseRequest = z.object({
  releasedBy: z.string().check(z.minLength(1)),
  reason: z.string().check(z.minLength(1), z.maxLength(500)),
});

/**
 * The finance system: exposure per customer (open AR, overdue, unapplied cash) and finance holds. A
 * customer with an active hold reports ON_HOLD until every hold on it is released.
 */
export class FinanceSandbox implements SandboxPartner {
  readonly name = 'finance' as const;
  readonly accounts = new Map<string, FinanceAccount>();
  readonly holds = new Map<string, FinanceHold>();
  private readonly ids = new Sequences();

  constructor(private readonly env: PartnerEnvironment) {}

  readonly routes: readonly Route[] = [
    {
      method: 'GET',
      pattern: '/finance/customers/:customerId/exposure',
      handle: ({ params }) => {
        const account = this.accounts.get(params.customerId ?? '');
        if (!account) return problem(404, 'not_found', `no customer ${params.customerId}`);
        const active = this.activeHolds(account.customerId);
        const { closed, ...figures } = account;
        return json(200, {
          ...figures,
          accountStatus: closed ? 'CLOSED' : active.length > 0 ? 'ON_HOLD' : 'ACTIVE',
          activeHolds: active.map((h) => ({ holdId: h.holdId, reason: h.reason, placedAt: h.placedAt })),
          asOf: this.env.clock.now().toISOString(),
        });
      },
    },
    {
      method: 'POST',
      pattern: '/finance/holds',
      idempotent: true,
      handle: ({ body }) => {
        const request = validBody('finance hold', HoldRequest, body);
        if (!this.accounts.has(request.customerId)) {
          refuse(404, 'not_found', `no customer ${request.customerId} in finance`);
        }
        return json(201, this.placeHold(request));
      },
    },
    {
      method: 'POST',
      pattern: '/finance/holds/:holdId/release',
      idempotent: true,
      handle: ({ params, body }) => {
        const request = validBody('finance hold release', ReleaseRequest, body);
        const hold = this.holds.get(params.holdId ?? '');
        if (!hold) refuse(404, 'not_found', `no hold ${params.holdId}`);
        if (hold.status === 'RELEASED') {
          refuse(409, 'hold_not_active', `hold ${hold.holdId} was already released at ${hold.releasedAt}`);
        }
        hold.status = 'RELEASED';
        hold.releasedAt = this.env.clock.now().toISOString();
        hold.releasedBy = request.releasedBy;
        hold.releaseReason = request.reason;
        return json(200, hold);
      },
    },
    {
      method: 'GET',
      pattern: '/finance/holds',
      handle: ({ query }) => {
        const customerId = query.get('customerId');
        const status = query.get('status');
        const holds = [...this.holds.values()].filter(
          (h) => (!customerId || h.customerId === customerId) && (!status || h.status === status),
        );
        return json(200, { holds });
      },
    },
  ];

  /** Puts a customer on hold (seeding and tests use this directly; callers POST /finance/holds). */
  placeHold(request: {
    customerId: string;
    reason: string;
    orderReference?: string | undefined;
    placedBy: string;
  }): FinanceHold {
    const hold: FinanceHold = {
      holdId: this.ids.next('HLD-'),
      customerId: request.customerId,
      reason: request.reason,
      orderReference: request.orderReference ?? null,
      placedBy: request.placedBy,
      placedAt: this.env.clock.now().toISOString(),
      status: 'ACTIVE',
      releasedAt: null,
      releasedBy: null,
      releaseReason: null,
    };
    this.holds.set(hold.holdId, hold);
    return hold;
  }

  activeHolds(customerId: string): FinanceHold[] {
    return [...this.holds.values()].filter((h) => h.customerId === customerId && h.status === 'ACTIVE');
  }

  reset(): void {
    this.accounts.clear();
    this.holds.clear();
    this.ids.reset();
  }
}
