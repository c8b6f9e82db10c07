import * as z from 'zod/mini';
import { parseWith } from '../../../contracts/validation.ts';
import type { AccountStatus, CreditProfile } from '../../core/credit.ts';
import type { CreditDataPort } from '../../ports/index.ts';
import { PartnerContractBroken } from '../../shared/errors.ts';
import { PartnerClient, type PartnerClientOptions } from '../http/partner-client.ts';

export interface FinanceClientConfig extends Omit<PartnerClientOptions, 'partner' | 'headers'> {
  /** Finance API key, from configuration (a secret), sent as `x-api-key`. */
  readonly apiKey: string;
}

/** A customer's exposure from finance: the CreditProfile figures plus what finance alone knows. */
export interface CustomerExposure extends CreditProfile {
  readonly currency: string;
  /** Open receivables before unapplied cash is netted off. */
  readonly grossOpenAr: number;
  /** Payments received and not yet matched to invoices. */
  readonly unappliedCash: number;
  readonly activeHolds: readonly {
    readonly holdId: string;
    readonly reason: string;
    readonly placedAt: string;
  }[];
}

export interface FinanceHoldState {
  readonly holdId: string;
  readonly customerId: string;
  readonly status: 'active' | 'released';
  /** When it was placed (active) or released (released). */
  readonly at: string;
}

const Decimal = z.string().check(z.regex(/^\d{1,12}(\.\d{1,4})?$/));

const FinanceExposure = z.looseObject({
  customerId: z.string(),
  currency: z.string().check(z.regex(/^[A-Z]{3}$/)),
  creditLimit: Decimal,
  openReceivables: Decimal,
  overdueReceivables: Decimal,
  oldestOverdueDays: z.int().check(z.gte(0)),
  unappliedCash: Decimal,
  openOrders: Decimal,
  paymentTerms: z.string().check(z.minLength(1)),
  accountStatus: z.enum(['ACTIVE', 'ON_HOLD', 'CLOSED']),
  activeHolds: z.array(z.looseObject({ holdId: z.string(), reason: z.string(), placedAt: z.string() })),
});

const FinanceHold = z.looseObject({
  holdId: z.string().check(z.minLength(1)),
  customerId: z.string(),
  status: z.enum(['ACTIVE', 'RELEASED']),
  placedAt: z.iso.datetime({ offset: true }),
  releasedAt: z.nullable(z.iso.datetime({ offset: true })),
});

const ACCOUNT_STATUS: Readonly<Record<'ACTIVE' | 'ON_HOLD' | 'CLOSED', AccountStatus>> = {
  ACTIVE: 'active',
  ON_HOLD: 'on-hold',
  CLOSED: 'closed',
};

const cents = (amount: string) => Math.round(Number(amount) * 100);

function contractOrThrow<S extends z.ZodMiniType>(what: string, schema: S, body: unknown): z.output<S> {
  const parsed = parseWith(what, schema, body);
  if (!parsed.ok) throw new PartnerContractBroken('finance', parsed.error.message);
  return parsed.value;
}

function toHoldState(hold: z.output<typeof FinanceHold>): FinanceHoldState {
  const released = hold.status === 'RELEASED';
  if (released && !hold.releasedAt) {
    throw new PartnerContractBroken('finance', `hold ${hold.holdId} is RELEASED without releasedAt`);
  }
  return {
    holdId: hold.holdId,
    customerId: hold.customerId,
    status: released ? 'released' : 'active',
    at: released && hold.releasedAt ? hold.releasedAt : hold.placedAt,
  };
}

/** Finance adapter: customer exposure (usable as the credit data port) and finance holds. */
export class FinanceClient implements CreditDataPort {
  private readonly http: PartnerClient;

  constructor(config: FinanceClientConfig) {
    const { apiKey, ...options } = config;
    this.http = new PartnerClient({ ...options, partner: 'finance', headers: { 'x-api-key': apiKey } });
  }

  /** undefined when finance does not know the customer. */
  async getExposure(customerId: string): Promise<CustomerExposure | undefined> {
    const body = await this.http.request({
      method: 'GET',
      path: `/customers/${encodeURIComponent(customerId)}/exposure`,
    });
    if (body === undefined) return undefined;
    const exposure = contractOrThrow('finance exposure', FinanceExposure, body);
    const gross = cents(exposure.openReceivables);
    const unapplied = cents(exposure.unappliedCash);
    return {
      customerId,
      accountStatus: ACCOUNT_STATUS[exposure.accountStatus],
      creditLimit: cents(exposure.creditLimit) / 100,
      // Cash received but not yet matched still reduces what the customer owes.
      openArBalance: Math.max(0, gross - unapplied) / 100,
      openOrderValue: cents(exposure.openOrders) / 100,
      overdueAmount: cents(exposure.overdueReceivables) / 100,
      oldestOverdueDays: exposure.oldestOverdueDays,
      paymentTerms: exposure.paymentTerms,
      currency: exposure.currency,
      grossOpenAr: gross / 100,
      unappliedCash: unapplied / 100,
      activeHolds: exposure.activeHolds.map((h) => ({
        holdId: h.holdId,
        reason: h.reason,
        placedAt: h.placedAt,
      })),
    };
  }

  async getCreditProfile(customerId: string): Promise<CreditProfile | undefined> {
    const exposure = await this.getExposure(customerId);
    if (!exposure) return undefined;
    const { currency: _c, grossOpenAr: _g, unappliedCash: _u, activeHolds: _h, ...profile } = exposure;
    return profile;
  }

  async placeHold(request: {
    readonly customerId: string;
    readonly orderId: string;
    readonly reason: string;
    readonly placedBy: string;
    readonly idempotencyKey: string;
  }): Promise<FinanceHoldState> {
    const body = await this.http.request({
      method: 'POST',
      path: '/holds',
      idempotencyKey: request.idempotencyKey,
      body: {
        customerId: request.customerId,
        reason: request.reason,
        orderReference: request.orderId,
        placedBy: request.placedBy,
      },
    });
    return toHoldState(contractOrThrow('finance hold', FinanceHold, body));
  }

  async releaseHold(request: {
    readonly holdId: string;
    readonly releasedBy: string;
    readonly reason: string;
    readonly idempotencyKey: string;
  }): Promise<FinanceHoldState> {
    const body = await this.http.request({
      method: 'POST',
      path: `/holds/${encodeURIComponent(request.holdId)}/release`,
      idempotencyKey: request.idempotencyKey,
      body: { releasedBy: request.releasedBy, reason: request.reason },
    });
    return toHoldState(contractOrThrow('finance hold release', FinanceHold, body));
  }
}
