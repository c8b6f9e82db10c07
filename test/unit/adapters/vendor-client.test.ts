import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseDetail } from '../../../contracts/events.ts';
import { ContractViolation } from '../../../contracts/validation.ts';
import { PartnerClient, type PartnerClientOptions } from '../../../lambdas/adapters/http/partner-client.ts';
import {
  type PurchaseOrder,
  parseShipNotice,
  shipNoticeToShipmentConfirmed,
  VendorClient,
} from '../../../lambdas/adapters/vendor/vendor-client.ts';
import {
  PartnerContractBroken,
  PartnerRejected,
  PartnerUnavailable,
} from '../../../lambdas/shared/errors.ts';
import { SEED_CATALOGUE } from '../../../local/partners/seed.ts';
import { SEED_VENDORS, StandaloneVendorServer, seedVendors } from '../../../local/partners/vendor.ts';
import { sendJson, TestHttpServer } from '../../support/http-server.ts';

/**
 * The vendor adapter against the vendor sandbox over real HTTP. The PartnerSandbox does not mount the
 * vendor partner yet, so the sandbox runs on its own server (StandaloneVendorServer), as it will under
 * `/vendor` once mounted.
 */

class TestClock {
  constructor(public current: Date) {}
  now(): Date {
    return new Date(this.current);
  }
}

const MONDAY_9 = new Date('2026-11-23T09:00:00Z');
const clock = new TestClock(MONDAY_9);
const server = new StandaloneVendorServer({ clock });
const broken = new TestHttpServer();

beforeAll(() => Promise.all([server.start(), broken.start()]));
afterAll(() => Promise.all([server.stop(), broken.stop()]));
beforeEach(() => {
  clock.current = MONDAY_9;
  server.reset();
  server.credential = undefined;
  seedVendors(server.vendor);
});

function vendors(overrides: Partial<PartnerClientOptions> = {}): VendorClient {
  return new VendorClient(
    new PartnerClient({
      partner: 'vendor',
      baseUrl: `${server.baseUrl}/vendor`,
      timeoutMs: 1000,
      maxAttempts: 2,
      sleep: async () => {},
      random: () => 0,
      ...overrides,
    }),
  );
}

async function failureOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected the call to fail, but it succeeded');
    },
    (error: unknown) => error,
  );
}

function purchaseOrder(overrides: Partial<PurchaseOrder> = {}): PurchaseOrder {
  return {
    purchaseOrderNumber: 'ERP-SO-100001-V-AQUADRIVE',
    vendorId: 'V-AQUADRIVE',
    orderId: 'ERP-SO-100001',
    currency: 'USD',
    requestedDeliveryDate: '2026-12-11',
    shipTo: {
      name: 'Summit Irrigation & Wells',
      line1: '40 Quarry Road',
      city: 'Madison',
      region: 'WI',
      postalCode: '53703',
      country: 'US',
      email: 'office@summitwells.example',
      phone: '+16085550123',
    },
    lines: [{ lineNo: 10, sku: 'PUMP-SUB-75', quantity: 1, unitCost: 1850 }],
    idempotencyKey: 'ERP-SO-100001:purchase-order:V-AQUADRIVE',
    ...overrides,
  };
}

const TWO_PUMP_LINES = [
  { lineNo: 10, sku: 'PUMP-SUB-75', quantity: 1, unitCost: 1850 },
  { lineNo: 30, sku: 'PUMP-SUB-75', quantity: 2, unitCost: 1849.5 },
];

describe('vendor client: purchase orders', () => {
  it("sends the purchase order in the vendor's terms and maps its acknowledgement to a confirmation", async () => {
    const confirmation = await vendors().placePurchaseOrder(purchaseOrder());

    expect(confirmation).toEqual({
      vendorId: 'V-AQUADRIVE',
      purchaseOrderNumber: 'ERP-SO-100001-V-AQUADRIVE',
      vendorOrderRef: 'AQD-SO-000001',
      status: 'accepted',
      lines: [
        {
          lineNo: 10,
          sku: 'PUMP-SUB-75',
          quantity: 1,
          acceptedQuantity: 1,
          status: 'accepted',
          shipDate: '2026-11-30',
          reason: null,
        },
      ],
      shipDate: '2026-11-30',
      estimatedDelivery: '2026-12-03',
    });
    const [call] = server.callsTo('POST', '/vendor/purchase-orders');
    expect(call?.idempotencyKey).toBe('ERP-SO-100001:purchase-order:V-AQUADRIVE');
    expect(call?.body).toEqual({
      purchaseOrderNumber: 'ERP-SO-100001-V-AQUADRIVE',
      vendorCode: 'V-AQUADRIVE',
      buyerReference: 'ERP-SO-100001',
      currency: 'USD',
      requestedDeliveryDate: '2026-12-11',
      shipTo: {
        name: 'Summit Irrigation & Wells',
        address1: '40 Quarry Road',
        city: 'Madison',
        state: 'WI',
        postalCode: '53703',
        country: 'US',
        phone: '+16085550123',
      },
      lines: [{ lineNumber: 10, itemCode: 'PUMP-SUB-75', quantity: 1, unitCost: '1850.00' }],
    });
  });

  it('a vendor rejecting a line: that line is rejected with its reason, the rest accepted', async () => {
    server.vendor.setBehaviour('V-AQUADRIVE', { kind: 'reject-line', reasonCode: 'DISCONTINUED' });

    const confirmation = await vendors().placePurchaseOrder(purchaseOrder({ lines: TWO_PUMP_LINES }));

    expect(confirmation.status).toBe('accepted-with-changes');
    expect(
      confirmation.lines.map((l) => [l.lineNo, l.status, l.acceptedQuantity, l.shipDate, l.reason]),
    ).toEqual([
      [10, 'rejected', 0, null, 'DISCONTINUED'],
      [30, 'accepted', 2, '2026-11-30', null],
    ]);
    expect(server.callsTo('POST', '/vendor/purchase-orders')[0]?.body).toMatchObject({
      lines: [{ unitCost: '1850.00' }, { unitCost: '1849.50' }],
    });
  });

  it('a vendor rejecting the only line rejects the purchase order', async () => {
    server.vendor.setBehaviour('V-AQUADRIVE', { kind: 'reject-line', itemCode: 'PUMP-SUB-75' });

    const confirmation = await vendors().placePurchaseOrder(purchaseOrder());

    expect(confirmation).toMatchObject({ status: 'rejected', shipDate: null, estimatedDelivery: null });
    expect(confirmation.lines[0]).toMatchObject({ status: 'rejected', reason: 'OUT_OF_STOCK' });
  });

  it('an item the vendor does not carry is rejected as such', async () => {
    const confirmation = await vendors().placePurchaseOrder(
      purchaseOrder({
        lines: [...purchaseOrder().lines, { lineNo: 20, sku: 'TANK-PRESS-80', quantity: 1, unitCost: 610 }],
      }),
    );

    expect(confirmation.lines.map((l) => [l.lineNo, l.status, l.reason])).toEqual([
      [10, 'accepted', null],
      [20, 'rejected', 'ITEM_NOT_CARRIED'],
    ]);
  });

  it('a vendor proposing a later ship date: every line rescheduled, the later dates confirmed', async () => {
    server.vendor.setBehaviour('V-AQUADRIVE', { kind: 'delay-ship-date', byBusinessDays: 3 });

    const confirmation = await vendors().placePurchaseOrder(purchaseOrder());

    expect(confirmation).toMatchObject({
      status: 'accepted-with-changes',
      shipDate: '2026-12-03',
      estimatedDelivery: '2026-12-08',
      lines: [expect.objectContaining({ status: 'rescheduled', shipDate: '2026-12-03' })],
    });
  });

  it('a requested delivery the lead time cannot meet is rescheduled by the vendor', async () => {
    const confirmation = await vendors().placePurchaseOrder(
      purchaseOrder({ requestedDeliveryDate: '2026-11-27' }),
    );

    expect(confirmation).toMatchObject({ status: 'accepted-with-changes', estimatedDelivery: '2026-12-03' });
  });

  it('each vendor schedules by its own lead time and transit', async () => {
    const confirmation = await vendors().placePurchaseOrder(
      purchaseOrder({
        purchaseOrderNumber: 'ERP-SO-100001-V-TANKWORKS',
        vendorId: 'V-TANKWORKS',
        lines: [{ lineNo: 20, sku: 'TANK-PRESS-80', quantity: 2, unitCost: 610 }],
        idempotencyKey: 'ERP-SO-100001:purchase-order:V-TANKWORKS',
      }),
    );

    expect(confirmation).toMatchObject({
      vendorOrderRef: 'TKW-SO-000001',
      shipDate: '2026-12-02',
      estimatedDelivery: '2026-12-08',
    });
  });
});

describe('vendor client: idempotency and failures', () => {
  it('sending the same purchase order again answers the first acknowledgement: one order at the vendor', async () => {
    const first = await vendors().placePurchaseOrder(purchaseOrder());
    const again = await vendors().placePurchaseOrder(purchaseOrder());

    expect(again).toEqual(first);
    expect(server.vendor.purchaseOrders).toHaveLength(1);
  });

  it('retries a 503 with the same key and places the order once', async () => {
    server.failNext.set('POST /vendor/purchase-orders', 1);

    const confirmation = await vendors().placePurchaseOrder(purchaseOrder());

    expect(confirmation.status).toBe('accepted');
    expect(server.callsTo('POST', '/vendor/purchase-orders').map((c) => c.idempotencyKey)).toEqual([
      'ERP-SO-100001:purchase-order:V-AQUADRIVE',
      'ERP-SO-100001:purchase-order:V-AQUADRIVE',
    ]);
    expect(server.vendor.purchaseOrders).toHaveLength(1);
  });

  it('a vendor down past the retries is PartnerUnavailable', async () => {
    server.failNext.set('POST /vendor/purchase-orders', 2);

    const failure = await failureOf(vendors().placePurchaseOrder(purchaseOrder()));

    expect(failure).toBeInstanceOf(PartnerUnavailable);
    expect(failure).toMatchObject({ partner: 'vendor', status: 503, retryable: true });
    expect(server.vendor.purchaseOrders).toEqual([]);
  });

  it('a different order under a number already used is refused (409), not placed twice', async () => {
    await vendors().placePurchaseOrder(purchaseOrder());

    const failure = await failureOf(
      vendors().placePurchaseOrder(purchaseOrder({ lines: TWO_PUMP_LINES, idempotencyKey: 'other-key' })),
    );

    expect(failure).toBeInstanceOf(PartnerRejected);
    expect(failure).toMatchObject({ status: 409, retryable: false });
    expect((failure as Error).message).toContain('purchase_order_conflict');
    expect(server.vendor.purchaseOrders).toHaveLength(1);
  });

  it('an unknown vendor is refused (422)', async () => {
    const failure = await failureOf(vendors().placePurchaseOrder(purchaseOrder({ vendorId: 'V-NOBODY' })));

    expect(failure).toBeInstanceOf(PartnerRejected);
    expect(failure).toMatchObject({ status: 422 });
    expect((failure as Error).message).toContain('unknown_vendor');
  });

  it('with a credential configured, a caller without it is refused and one with it is served', async () => {
    server.credential = { bearerToken: 'vendor-token-for-tests' };

    const refused = await failureOf(vendors().placePurchaseOrder(purchaseOrder()));
    const served = await vendors({
      headers: { authorization: 'Bearer vendor-token-for-tests' },
    }).placePurchaseOrder(purchaseOrder());

    expect(refused).toMatchObject({ name: 'PartnerRejected', status: 401 });
    expect(served.status).toBe('accepted');
  });

  it('an acknowledgement in the wrong shape, or leaving out a line, is PartnerContractBroken', async () => {
    const client = new VendorClient(
      new PartnerClient({ partner: 'vendor', baseUrl: broken.baseUrl, maxAttempts: 1, timeoutMs: 1000 }),
    );
    broken.respondWith((_req, res) => sendJson(res, 201, { vendorOrderNumber: 'X-1' }));
    const shapeless = await failureOf(client.placePurchaseOrder(purchaseOrder()));
    broken.respondWith((_req, res) =>
      sendJson(res, 201, {
        vendorOrderNumber: 'AQD-SO-000009',
        purchaseOrderNumber: 'ERP-SO-100001-V-AQUADRIVE',
        vendorCode: 'V-AQUADRIVE',
        status: 'ACKNOWLEDGED',
        acknowledgement: { type: 'AD' },
        scheduledShipDate: '2026-11-30',
        estimatedDeliveryDate: '2026-12-03',
        lines: [],
      }),
    );
    const lineless = await failureOf(client.placePurchaseOrder(purchaseOrder()));

    expect(shapeless).toBeInstanceOf(PartnerContractBroken);
    expect((shapeless as Error).message).toMatch(/vendor purchase order is invalid: .*purchaseOrderNumber/);
    expect(lineless).toBeInstanceOf(PartnerContractBroken);
    expect((lineless as Error).message).toContain('leaves out line(s) 10');
  });
});

describe('vendor client: reading a purchase order', () => {
  it('reads the vendor view of a purchase order, shipped once its ship time has passed', async () => {
    await vendors().placePurchaseOrder(purchaseOrder());

    const before = await vendors().getPurchaseOrder('ERP-SO-100001-V-AQUADRIVE');
    clock.current = new Date('2026-11-30T16:00:00Z');
    const after = await vendors().getPurchaseOrder('ERP-SO-100001-V-AQUADRIVE');

    expect(before).toMatchObject({ vendorOrderRef: 'AQD-SO-000001', status: 'accepted', shipped: false });
    expect(after?.shipped).toBe(true);
  });

  it('an unknown purchase order is undefined', async () => {
    expect(await vendors().getPurchaseOrder('ERP-SO-404-V-AQUADRIVE')).toBeUndefined();
  });
});

describe('vendor ASN feed → shipment.confirmed', () => {
  it('sends an ASN on the ship date that becomes a valid shipment.confirmed from the vendor', async () => {
    await vendors().placePurchaseOrder(purchaseOrder({ lines: TWO_PUMP_LINES }));
    expect(server.vendor.drainAsns()).toEqual([]);

    clock.current = new Date('2026-11-30T16:00:00Z');
    const [asn, ...rest] = server.vendor.drainAsns();
    const notice = parseShipNotice(asn);
    const event = shipNoticeToShipmentConfirmed(notice, { partial: false });

    expect(rest).toEqual([]);
    expect(notice).toEqual({
      shipNoticeId: 'AQD-ASN-000001',
      vendorId: 'V-AQUADRIVE',
      purchaseOrderNumber: 'ERP-SO-100001-V-AQUADRIVE',
      vendorOrderRef: 'AQD-SO-000001',
      orderId: 'ERP-SO-100001',
      shippedAt: '2026-11-30T16:00:00.000Z',
      carrier: 'RDGL',
      trackingNumber: 'RDGL0000000001',
      lines: [
        { lineNo: 10, sku: 'PUMP-SUB-75', quantity: 1 },
        { lineNo: 30, sku: 'PUMP-SUB-75', quantity: 2 },
      ],
    });
    expect(event).toEqual({
      name: 'shipment.confirmed',
      detail: {
        schemaVersion: 1,
        orderId: 'ERP-SO-100001',
        correlationId: 'ERP-SO-100001',
        idempotencyKey: 'ERP-SO-100001:shipment.confirmed:AQD-ASN-000001',
        occurredAt: '2026-11-30T16:00:00.000Z',
        shipmentId: 'AQD-ASN-000001',
        siteId: 'V-AQUADRIVE',
        carrier: 'RDGL',
        trackingNumber: 'RDGL0000000001',
        shippedAt: '2026-11-30T16:00:00.000Z',
        lines: [
          { lineNo: 10, sku: 'PUMP-SUB-75', quantity: 1 },
          { lineNo: 30, sku: 'PUMP-SUB-75', quantity: 2 },
        ],
        partial: false,
      },
    });
    expect(parseDetail('shipment.confirmed', event.detail).ok).toBe(true);
  });

  it('ships only the accepted lines, and nothing for a rejected purchase order', async () => {
    server.vendor.setBehaviour('V-AQUADRIVE', { kind: 'reject-line' });
    await vendors().placePurchaseOrder(purchaseOrder({ lines: TWO_PUMP_LINES }));
    await vendors().placePurchaseOrder(
      purchaseOrder({ purchaseOrderNumber: 'ERP-SO-100002-V-AQUADRIVE', orderId: 'ERP-SO-100002' }),
    );

    clock.current = new Date('2026-12-31T00:00:00Z');
    const asns = server.vendor.drainAsns().map(parseShipNotice);

    expect(asns.map((n) => [n.purchaseOrderNumber, n.lines.map((l) => l.lineNo)])).toEqual([
      ['ERP-SO-100001-V-AQUADRIVE', [30]],
    ]);
  });

  it('feed knobs: a duplicated ASN keeps its idempotency key, a late one arrives after its ship time', async () => {
    server.vendor.asns.knobs = { duplicateRate: 1, lateRate: 1, lateByMs: 3_600_000 };
    await vendors().placePurchaseOrder(purchaseOrder());

    clock.current = new Date('2026-11-30T16:00:00Z');
    const onTime = server.vendor.drainAsns();
    clock.current = new Date('2026-11-30T17:00:00Z');
    const late = server.vendor
      .drainAsns()
      .map((asn) => shipNoticeToShipmentConfirmed(parseShipNotice(asn), { partial: false }));

    expect(onTime).toEqual([]);
    expect(late).toHaveLength(2);
    expect(new Set(late.map((e) => e.detail.idempotencyKey))).toEqual(
      new Set(['ERP-SO-100001:shipment.confirmed:AQD-ASN-000001']),
    );
    // The vendor's ship time, not the delivery time of the message.
    expect(late[0]?.detail.shippedAt).toBe('2026-11-30T16:00:00.000Z');
  });

  it('a malformed ASN is PartnerContractBroken naming the field; an unusable one breaks the event contract', () => {
    const failure = (() => {
      try {
        parseShipNotice({ asnNumber: 'AQD-ASN-1', messageType: 'ADVANCE_SHIP_NOTICE', lines: [] });
      } catch (error) {
        return error;
      }
      return undefined;
    })();
    const notice = {
      shipNoticeId: 'AQD-ASN-1',
      vendorId: 'lowercase vendor',
      purchaseOrderNumber: 'PO-1',
      vendorOrderRef: 'AQD-SO-1',
      orderId: 'ERP-SO-1',
      shippedAt: '2026-11-30T16:00:00.000Z',
      carrier: 'RDGL',
      trackingNumber: 'T1',
      lines: [{ lineNo: 1, sku: 'PUMP-SUB-75', quantity: 1 }],
    };

    expect(failure).toBeInstanceOf(PartnerContractBroken);
    expect((failure as Error).message).toMatch(/vendor advance ship notice is invalid: .*vendorCode/);
    expect(() => shipNoticeToShipmentConfirmed(notice, { partial: false })).toThrow(ContractViolation);
  });
});

describe('vendor sandbox reference data', () => {
  it('has a vendor for every drop-ship item of the ERP item master, with its lead time', () => {
    const dropShipped = SEED_CATALOGUE.filter((item) => item.SupplyType === 'DROPSHIP').map((item) => [
      item.Vendor,
      item.Material,
      item.VendorLeadTimeDays,
    ]);
    const supplied = SEED_VENDORS.flatMap((vendor) =>
      vendor.items.map((sku) => [vendor.vendorCode, sku, vendor.leadTimeDays]),
    );

    expect(supplied).toEqual(dropShipped);
  });
});
