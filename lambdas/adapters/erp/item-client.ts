import * as z from 'zod/mini';
import { parseWith } from '../../../contracts/validation.ts';
import type {
  Catalogue,
  ItemMasterPort,
  ItemPhysicals,
  VendorSourcing,
  VendorSourcingPort,
} from '../../ports/index.ts';
import { PartnerContractBroken } from '../../shared/errors.ts';
import type { CatalogueItem } from '../edi/x12-850.ts';
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
      StandardCost: z.optional(z.string().check(z.regex(/^\d{1,12}(\.\d{1,4})?$/))),
      Upc: z.optional(z.nullable(z.string().check(z.regex(/^\d{12}$/)))),
    }),
  ),
});

/** How long the whole catalogue is reused before it is read again (item costs change at period end). */
const CATALOGUE_TTL_MS = 5 * 60_000;

/**
 * The ERP item master: shipping data for carrier rating, sourcing (stock or drop-ship vendor), and the
 * catalogue with standard costs an EDI purchase order is costed against.
 */
export class ErpItemClient implements ItemMasterPort, VendorSourcingPort, Catalogue {
  private cached:
    | { readonly at: number; readonly items: Promise<Readonly<Record<string, CatalogueItem>>> }
    | undefined;

  constructor(
    private readonly http: PartnerClient,
    private readonly now: () => number = Date.now,
  ) {}

  /** Every item with its standard cost (and UPC), read once per 5 minutes per container. */
  async items(): Promise<Readonly<Record<string, CatalogueItem>>> {
    const at = this.now();
    if (!this.cached || at - this.cached.at > CATALOGUE_TTL_MS) {
      const items = this.read([]).then((all) =>
        Object.fromEntries(
          all.flatMap((item): [string, CatalogueItem][] =>
            item.StandardCost === undefined
              ? []
              : [
                  [
                    item.Material,
                    { unitCost: Number(item.StandardCost), ...(item.Upc ? { upc: item.Upc } : {}) },
                  ],
                ],
          ),
        ),
      );
      this.cached = { at, items };
      // A failed read is not kept: the next call asks the ERP again.
      items.catch(() => {
        if (this.cached?.items === items) this.cached = undefined;
      });
    }
    return this.cached.items;
  }

  /** The named items, or every item when `skus` is empty. */
  private async read(skus: readonly string[]) {
    const body = await this.http.request({
      method: 'GET',
      path: '/items',
      ...(skus.length > 0 ? { query: { materials: [...new Set(skus)].join(',') } } : {}),
    });
    const parsed = parseWith('ERP item master', ErpItems, body ?? { items: [] });
    if (!parsed.ok) throw new PartnerContractBroken('erp', parsed.error.message);
    return parsed.value.items;
  }

  /** Where each item comes from: stock, or direct from a vendor (drop-ship) with its lead time. */
  async getVendorSourcing(skus: readonly string[]): Promise<ReadonlyMap<string, VendorSourcing>> {
    return new Map(
      (await this.read(skus)).map((item): [string, VendorSourcing] => [
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
      (await this.read(skus)).map((item) => [
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
