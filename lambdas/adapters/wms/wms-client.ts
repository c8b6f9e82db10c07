import * as z from 'zod/mini';
import { parseWith } from '../../../contracts/validation.ts';
import { SERVICE_LEVELS } from '../../../contracts/vocabulary.ts';
import type { AllocatedLine } from '../../core/allocation.ts';
import type { InventoryPort, StockSnapshot, WarehousePort } from '../../ports/index.ts';
import { PartnerContractBroken, PartnerRejected, StockMovedDuringReservation } from '../../shared/errors.ts';
import type { PartnerClient } from '../http/partner-client.ts';

const Count = z.int().check(z.gte(0));

/** The WMS availability answer, in the WMS's own field names. */
const WmsAvailability = z.looseObject({
  facilities: z.array(
    z.looseObject({
      facilityCode: z.string().check(z.regex(/^[A-Z0-9][A-Z0-9-]{1,31}$/)),
      distanceRank: z.int().check(z.gte(1)),
      freightCost: z.number().check(z.gte(0)),
      carrierCutoffHourUtc: z.int().check(z.gte(0), z.lte(23)),
      // Only the levels the site offers; levels Handoff does not know are ignored.
      transitDays: z.record(z.string(), Count),
      inventory: z.array(
        z.looseObject({ itemCode: z.string(), onHand: Count, committed: Count, safetyStock: Count }),
      ),
    }),
  ),
});
const WmsReservation = z.looseObject({ reservationNumber: z.string().check(z.minLength(1)) });
const WmsRelease = z.looseObject({ releaseNumber: z.string().check(z.minLength(1)) });

function contractOrThrow<S extends z.ZodMiniType>(what: string, schema: S, body: unknown): z.output<S> {
  const parsed = parseWith(what, schema, body);
  if (!parsed.ok) throw new PartnerContractBroken('wms', parsed.error.message);
  return parsed.value;
}

const toWmsLines = (lines: readonly AllocatedLine[]) =>
  lines.map((line) => ({ lineNumber: line.lineNo, itemCode: line.sku, quantity: line.quantity }));

/** WMS adapter: stock by facility, reservations and warehouse release, with idempotency keys. */
export class WmsClient implements InventoryPort, WarehousePort {
  constructor(private readonly http: PartnerClient) {}

  async getStock(skus: readonly string[], shipToCountry: string): Promise<StockSnapshot> {
    const body = await this.http.request({
      method: 'GET',
      path: '/availability',
      query: { items: [...new Set(skus)].join(','), shipToCountry },
    });
    // A 404 here is a wrong base URL or route, not "no stock": fail loudly rather than backorder everything.
    if (body === undefined)
      throw new PartnerContractBroken('wms', 'GET /availability answered 404 or an empty body');
    const availability = contractOrThrow('WMS availability', WmsAvailability, body);
    return {
      sites: availability.facilities.map((f) => ({
        siteId: f.facilityCode,
        proximityRank: f.distanceRank,
        shippingCost: f.freightCost,
        items: Object.fromEntries(
          f.inventory.map((i) => [
            i.itemCode,
            { onHand: i.onHand, reserved: i.committed, safetyStock: i.safetyStock },
          ]),
        ),
      })),
      logistics: availability.facilities.map((f) => ({
        siteId: f.facilityCode,
        cutoffHourUtc: f.carrierCutoffHourUtc,
        transitDays: Object.fromEntries(
          Object.entries(f.transitDays).filter(([level]) =>
            (SERVICE_LEVELS as readonly string[]).includes(level),
          ),
        ),
      })),
    };
  }

  async reserve(request: {
    orderId: string;
    siteId: string;
    lines: readonly AllocatedLine[];
    idempotencyKey: string;
  }): Promise<{ reservationId: string }> {
    let body: unknown;
    try {
      body = await this.http.request({
        method: 'POST',
        path: '/reservations',
        idempotencyKey: request.idempotencyKey,
        body: {
          orderReference: request.orderId,
          facilityCode: request.siteId,
          lines: toWmsLines(request.lines),
        },
      });
    } catch (error) {
      // 409 insufficient_stock: the stock went to another order since availability was read.
      if (
        error instanceof PartnerRejected &&
        error.status === 409 &&
        error.message.includes('insufficient_stock')
      ) {
        throw new StockMovedDuringReservation(request.siteId, error.message);
      }
      throw error;
    }
    return { reservationId: contractOrThrow('WMS reservation', WmsReservation, body).reservationNumber };
  }

  async release(request: {
    orderId: string;
    siteId: string;
    lines: readonly AllocatedLine[];
    priority: number;
    shipBy: string;
    serviceLevel: string;
    idempotencyKey: string;
  }): Promise<{ releaseId: string }> {
    const body = await this.http.request({
      method: 'POST',
      path: '/releases',
      idempotencyKey: request.idempotencyKey,
      body: {
        orderReference: request.orderId,
        facilityCode: request.siteId,
        priority: request.priority,
        shipByDate: request.shipBy,
        serviceLevel: request.serviceLevel,
        lines: toWmsLines(request.lines),
      },
    });
    return { releaseId: contractOrThrow('WMS release', WmsRelease, body).releaseNumber };
  }
}
