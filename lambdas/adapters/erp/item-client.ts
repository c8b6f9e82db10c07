import * as z from 'zod/mini';
import { parseWith } from '../../../contracts/validation.ts';
import type { ItemMasterPort, ItemPhysicals } from '../../ports/index.ts';
import { PartnerContractBroken } from '../../shared/errors.ts';
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
    }),
  ),
});

/** Item weights, dimensions and dangerous-goods flags from the ERP item master, for carrier rating. */
export class ErpItemClient implements ItemMasterPort {
  constructor(private readonly http: PartnerClient) {}

  async getPhysicals(skus: readonly string[]): Promise<ReadonlyMap<string, ItemPhysicals>> {
    const wanted = [...new Set(skus)];
    const body = await this.http.request({
      method: 'GET',
      path: '/items',
      query: { materials: wanted.join(',') },
    });
    const parsed = parseWith('ERP item master', ErpItems, body ?? { items: [] });
    if (!parsed.ok) throw new PartnerContractBroken('erp', parsed.error.message);
    return new Map(
      parsed.value.items.map((item) => [
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
