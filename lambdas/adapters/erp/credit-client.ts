import * as z from 'zod/mini';
import { parseWith } from '../../../contracts/validation.ts';
import type { CreditProfile } from '../../core/credit.ts';
import type { CreditDataPort } from '../../ports/index.ts';
import { PartnerContractBroken } from '../../shared/errors.ts';
import type { PartnerClient } from '../http/partner-client.ts';

/** The ERP's customer credit segment (FSCM-style), in its own field names. */
const ErpCreditSegment = z.looseObject({
  Customer: z.string(),
  CreditLimitAmount: z.string().check(z.regex(/^\d{1,12}(\.\d{1,4})?$/)),
  ReceivablesAmount: z.string().check(z.regex(/^\d{1,12}(\.\d{1,4})?$/)),
  OpenOrdersAmount: z.string().check(z.regex(/^\d{1,12}(\.\d{1,4})?$/)),
  OverdueAmount: z.string().check(z.regex(/^\d{1,12}(\.\d{1,4})?$/)),
  OldestOverdueDays: z.int().check(z.gte(0)),
  CreditBlocked: z.boolean(),
  AccountClosed: z.boolean(),
  PaymentTerms: z.string(),
});

export class ErpCreditClient implements CreditDataPort {
  constructor(private readonly http: PartnerClient) {}

  async getCreditProfile(customerId: string): Promise<CreditProfile | undefined> {
    const body = await this.http.request({
      method: 'GET',
      path: `/customers/${encodeURIComponent(customerId)}/credit-segment`,
    });
    if (body === undefined) return undefined;
    const parsed = parseWith('ERP credit segment', ErpCreditSegment, body);
    if (!parsed.ok) throw new PartnerContractBroken('erp', parsed.error.message);
    const segment = parsed.value;
    return {
      customerId,
      accountStatus: segment.AccountClosed ? 'closed' : segment.CreditBlocked ? 'on-hold' : 'active',
      creditLimit: Number(segment.CreditLimitAmount),
      openArBalance: Number(segment.ReceivablesAmount),
      openOrderValue: Number(segment.OpenOrdersAmount),
      overdueAmount: Number(segment.OverdueAmount),
      oldestOverdueDays: segment.OldestOverdueDays,
      paymentTerms: segment.PaymentTerms,
    };
  }
}
