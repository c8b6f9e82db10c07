import * as z from 'zod/mini';
import { parseWith } from '../../../contracts/validation.ts';
import type { CustomerSubstitutes, SubstitutionSourcePort } from '../../ports/index.ts';
import { PartnerContractBroken } from '../../shared/errors.ts';
import type { PartnerClient } from '../http/partner-client.ts';

const MATERIAL = z.string().check(z.minLength(1), z.maxLength(64));
const AMOUNT = z.string().check(z.regex(/^\d{1,12}(\.\d{1,4})?$/));

/** The ERP's customer-material substitution list (its own field names), in the customer's order of preference. */
const ErpSubstitutes = z.looseObject({
  Customer: z.string(),
  Substitutes: z.array(
    z.looseObject({
      Material: MATERIAL,
      SubstituteMaterial: MATERIAL,
      CustomerApproved: z.boolean(),
      RequiresApproval: z.optional(z.boolean()),
    }),
  ),
});

const ErpPrices = z.looseObject({
  items: z.array(z.looseObject({ Material: MATERIAL, StandardCost: AMOUNT, ListPrice: AMOUNT })),
});

/**
 * The customer's standing substitutes from the ERP (customer-material substitution records) and the item
 * master's cost and list price of each substitute. Two reads, and only for an order with a short line: a
 * customer the ERP has no list for has none (404 is an empty list, not a failure).
 */
export class ErpSubstitutionClient implements SubstitutionSourcePort {
  constructor(private readonly http: PartnerClient) {}

  async substitutesFor(customerId: string, skus: readonly string[]): Promise<CustomerSubstitutes> {
    const body = await this.http.request({
      method: 'GET',
      path: `/customers/${encodeURIComponent(customerId)}/substitutes`,
    });
    if (body === undefined) return { approvedSubstitutes: [], catalogue: {} };
    const parsed = parseWith('ERP substitution list', ErpSubstitutes, body);
    if (!parsed.ok) throw new PartnerContractBroken('erp', parsed.error.message);
    const wanted = new Set(skus);
    const approvedSubstitutes = parsed.value.Substitutes.filter((entry) => wanted.has(entry.Material)).map(
      (entry) => ({
        forSku: entry.Material,
        substituteSku: entry.SubstituteMaterial,
        customerApproved: entry.CustomerApproved,
        ...(entry.RequiresApproval !== undefined ? { requiresApproval: entry.RequiresApproval } : {}),
      }),
    );
    const substitutes = [
      ...new Set(approvedSubstitutes.filter((e) => e.customerApproved).map((e) => e.substituteSku)),
    ];
    if (substitutes.length === 0) return { approvedSubstitutes, catalogue: {} };
    const prices = parseWith(
      'ERP item master prices',
      ErpPrices,
      (await this.http.request({
        method: 'GET',
        path: '/items',
        query: { materials: substitutes.join(',') },
      })) ?? { items: [] },
    );
    if (!prices.ok) throw new PartnerContractBroken('erp', prices.error.message);
    return {
      approvedSubstitutes,
      catalogue: Object.fromEntries(
        prices.value.items.map((item) => [
          item.Material,
          { unitCost: Number(item.StandardCost), listPrice: Number(item.ListPrice) },
        ]),
      ),
    };
  }
}
