import * as z from 'zod/mini';
import { parseWith } from '../../../contracts/validation.ts';
import type { ItemMasterPort, ItemPhysicals } from '../../ports/index.ts';
import { PartnerContractBroken } from '../../shared/errors.ts';
import type { VendorSourcing, VendorSourcingPort } from '../../use-cases/drop-ship.ts';
import type { PartnerClient } from '../http/partner-client.ts';

/** The ERP item master's shipping data, in its own field names. */
const ErpItems = z.looseObject({
  items: z.array(
    z.looseObject({
      Material: z.string().check(z.minLength(1)),
      GrossWeightKg: z.number().check(z.gt(0)),
      LengthCm: z.number().check(z.gt(0)),
      WidthCm: z.number().check(z.gt(0)),
      HeightCm: z.number().check(z.gt(0)),
      Hazmat: z.nullable(z.looseObject({})),
      Oversize: z.boolean(),
      SupplyType: z.optional(z.enum(['STOCK', 'DROPSHIP'])),
      Vendor: z.optional(z.nullable(z.string())),
      VendorLeadTimeDays: z.optional(z.nullable(z.int().check(z.gte(0)))),
    }),
  ),
});

/** The ERP item master: shipping data for carrier rating, and sourcing (stock or drop-ship vendor). */
export class ErpItemClient implements ItemMasterPort, VendorSourcingPort {
  constructor(private readonly http: PartnerClient) {}

  private async items(skus: readonly string[]) {
    const body = await this.http.request({
      method: 'GET',
      path: '/items',
      query: { materials: [...new Set(skus)].join(',') },
    });
    const parsed = parseWith('ERP item master', ErpItems, body ?? { items: [] });
    if (!parsed.ok) throw new PartnerContractBroken('erp', parsed.error.message);
    return parsed.value.items;
  }

  /** Where each item comes from: stock, or direct from a vendor (drop-ship) with its lead time. */
  async getVendorSourcing(skus: readonly string[]): Promise<ReadonlyMap<string, VendorSourcing>> {
    return new Map(
      (await this.items(skus)).map((item): [string, VendorSourcing] => [
        item.Material,
        {
          sku: item.Material,
          supplyType: item.SupplyType === 'DROPSHIP' ? 'drop-ship' : 'stock',
          vendorId: item.Vendor ?? null,
          leadTimeDays: item.VendorLeadTimeDays ?? null,
        },
      ]),
    );
  }

  async getPhysicals(skus: readonly string[]): Promise<ReadonlyMap<string, ItemPhysicals>> {
    return new Map(
      (await this.items(skus)).map((item) => [
        item.Material,
        {
          sku: item.Material,
          weightKg: item.GrossWeightKg,
          lengthCm: item.LengthCm,
          widthCm: item.WidthCm,
          heightCm: item.HeightCm,
          hazmat: item.Hazmat !== null,
          oversize: item.Oversize,
        },
      ]),
    );
  }
}
