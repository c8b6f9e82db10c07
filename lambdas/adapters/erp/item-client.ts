import * as z from 'zod/mini';
import { parseWith } from '../../../contracts/validation.ts';
import type {
  Catalogue,
  ItemMasterPort,
  ItemPhysicals,
  ItemReferencePort,
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

/** SKUs per re-read of items the cached catalogue lacks (a SKU is at most 64 characters). */
const RECHECK_SLICE = 40;

type ErpItem = z.output<typeof ErpItems>['items'][number];

/**
 * The ERP item master: shipping data for carrier rating, sourcing (stock or drop-ship vendor), the catalogue
 * with standard costs an EDI purchase order is costed against, and which SKUs an incoming order or receipt
 * names that the ERP does not know.
 */
export class ErpItemClient implements ItemMasterPort, VendorSourcingPort, Catalogue, ItemReferencePort {
  private cached:
    | {
        readonly at: number;
        readonly all: Promise<readonly ErpItem[]>;
        readonly items: Promise<Readonly<Record<string, CatalogueItem>>>;
      }
    | undefined;
  /** The SKUs of the last item master read that succeeded: what an outage falls back on for known items. */
  private lastKnown: ReadonlySet<string> | undefined;

  constructor(
    private readonly http: PartnerClient,
    private readonly now: () => number = Date.now,
  ) {}

  /** The whole item master, read once per 5 minutes per container; a failed read is not kept. */
  private catalogue() {
    const at = this.now();
    if (!this.cached || at - this.cached.at > CATALOGUE_TTL_MS) {
      const all = this.read([]);
      const items = all.then((read) =>
        Object.fromEntries(
          read.flatMap((item): [string, CatalogueItem][] =>
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
      const cached = { at, all, items };
      this.cached = cached;
      all.then(
        (read) => {
          this.lastKnown = new Set(read.map((item) => item.Material));
        },
        // A failed read is not kept: the next call asks the ERP again.
        () => {
          if (this.cached === cached) this.cached = undefined;
        },
      );
      items.catch(() => undefined);
    }
    return this.cached;
  }

  /** Every item with its standard cost (and UPC), read once per 5 minutes per container. */
  async items(): Promise<Readonly<Record<string, CatalogueItem>>> {
    return this.catalogue().items;
  }

  /**
   * The SKUs of `skus` the item master does not know. The cached catalogue answers for the known ones; a SKU
   * it lacks is asked for again (filtered reads), so an item added in the ERP minutes ago is not refused. While
   * the ERP cannot be read, SKUs of the last good read stay known, so orders of known items keep flowing;
   * any other SKU fails the call (the caller's message is retried), never counts as unknown.
   */
  async unknownSkus(skus: readonly string[]): Promise<readonly string[]> {
    const wanted = [...new Set(skus)];
    if (wanted.length === 0) return [];
    let known: ReadonlySet<string>;
    try {
      known = new Set((await this.catalogue().all).map((item) => item.Material));
    } catch (error) {
      // The ERP is down: SKUs it knew at the last read are still known; anything else waits for it (thrown).
      if (!this.lastKnown || wanted.some((sku) => !this.lastKnown?.has(sku))) throw error;
      return [];
    }
    const missing = wanted.filter((sku) => !known.has(sku));
    if (missing.length === 0) return [];
    // In slices, so a long list of unknown SKUs never makes a request line the ERP refuses as too long.
    const slices = Array.from({ length: Math.ceil(missing.length / RECHECK_SLICE) }, (_, i) =>
      missing.slice(i * RECHECK_SLICE, (i + 1) * RECHECK_SLICE),
    );
    const found = new Set(
      (await Promise.all(slices.map((slice) => this.read(slice)))).flat().map((item) => item.Material),
    );
    return missing.filter((sku) => !found.has(sku));
  }

  /** The named items, or every item when `skus` is empty. */
  private async read(skus: readonly string[]): Promise<readonly ErpItem[]> {
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
