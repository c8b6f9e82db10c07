import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PartnerSandbox } from '../../../local/partners/sandbox.ts';
import {
  SEED_CATALOGUE,
  SEED_CUSTOMERS,
  SEED_FACILITIES,
  seedSandbox,
} from '../../../local/partners/seed.ts';

class TestClock {
  constructor(public current: Date) {}
  now(): Date {
    return new Date(this.current);
  }
}

interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Record<string, unknown>;
}

async function call(
  sandbox: PartnerSandbox,
  method: string,
  path: string,
  options: { body?: unknown; key?: string } = {},
): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (options.key) headers['idempotency-key'] = options.key;
  const res = await fetch(`${sandbox.baseUrl}${path}`, {
    method,
    headers,
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : {} };
}

const clock = new TestClock(new Date('2026-11-23T09:00:00Z'));
const sandbox = new PartnerSandbox({ clock });

beforeAll(() => sandbox.start());
afterAll(() => sandbox.stop());
beforeEach(() => {
  sandbox.reset();
  seedSandbox(sandbox);
});

function stockOf(facilityCode: string, itemCode: string) {
  return sandbox.facilities
    .find((f) => f.facilityCode === facilityCode)
    ?.inventory.find((i) => i.itemCode === itemCode);
}

describe('seed data: the article’s distributor', () => {
  it('has a catalogue of ~20 SKUs across fasteners, pumps, valves and packaging, with hazmat, oversize and drop-ship items', () => {
    expect(SEED_CATALOGUE.length).toBeGreaterThanOrEqual(20);
    const groups = new Set(SEED_CATALOGUE.map((i) => i.ProductGroup));
    for (const group of ['FASTENERS', 'PUMPS', 'VALVES', 'PACKAGING']) expect(groups).toContain(group);
    expect(SEED_CATALOGUE.filter((i) => i.Hazmat).map((i) => i.Hazmat?.UNNumber)).toEqual([
      'UN1133',
      'UN1950',
      'UN1993',
    ]);
    expect(SEED_CATALOGUE.filter((i) => i.Oversize).length).toBeGreaterThanOrEqual(3);
    const dropShip = SEED_CATALOGUE.filter((i) => i.SupplyType === 'DROPSHIP');
    expect(dropShip.map((i) => i.Vendor)).toEqual(['V-AQUADRIVE', 'V-TANKWORKS']);
    for (const i of SEED_CATALOGUE) expect(Number(i.ListPrice)).toBeGreaterThan(Number(i.StandardCost));
  });

  it('stocks only catalogue items, never drop-ship ones, and keeps the original positions of the first four SKUs', () => {
    const known = new Map(SEED_CATALOGUE.map((i) => [i.Material, i]));
    for (const f of SEED_FACILITIES) {
      for (const row of f.inventory) {
        expect(known.get(row.itemCode)?.SupplyType).toBe('STOCK');
      }
    }
    const east = SEED_FACILITIES[0];
    expect(east?.inventory.slice(0, 4).map((i) => [i.itemCode, i.onHand, i.committed])).toEqual([
      ['WIDGET-100', 1200, 120],
      ['BOLT-M8', 40000, 4000],
      ['PUMP-220', 35, 3],
      ['VALVE-3IN', 6, 0],
    ]);
  });

  it('seeds every partner, and copies stock so one sandbox’s moves never leak into the seed', () => {
    sandbox.wms.receive('PUMP-220', 'DC-EAST', 5);
    expect(SEED_FACILITIES[0]?.inventory.find((i) => i.itemCode === 'PUMP-220')?.onHand).toBe(35);
    expect(sandbox.credit.size).toBe(Object.keys(SEED_CUSTOMERS).length);
    expect(sandbox.erp.items.size).toBe(SEED_CATALOGUE.length);
    expect([...sandbox.tms.carriers.keys()]).toEqual(['FXNX', 'PCPT', 'RDGL', 'HZMT']);
    expect(sandbox.crm.accounts.size).toBe(7);
    expect(sandbox.finance.activeHolds('C-4004')).toHaveLength(1);
    expect(sandbox.finance.activeHolds('C-6006')).toHaveLength(1);
  });
});

describe('ERP sandbox', () => {
  it('keeps the credit-segment route and shape', async () => {
    const answer = await call(sandbox, 'GET', '/erp/customers/C-4004/credit-segment');
    expect(answer.body).toEqual({ Customer: 'C-4004', ...SEED_CUSTOMERS['C-4004'] });
    expect((await call(sandbox, 'GET', '/erp/customers/C-9999/credit-segment')).status).toBe(404);
  });

  it('serves the item master one item or several at a time', async () => {
    const one = await call(sandbox, 'GET', '/erp/items/LUBE-AEROSOL');
    const some = await call(sandbox, 'GET', '/erp/items?materials=BOLT-M8,NOPE,PUMP-SUB-75');

    expect(one.body).toMatchObject({
      Material: 'LUBE-AEROSOL',
      Hazmat: { UNNumber: 'UN1950', HazardClass: '2.1' },
    });
    expect((some.body.items as { Material: string }[]).map((i) => i.Material)).toEqual([
      'BOLT-M8',
      'PUMP-SUB-75',
    ]);
  });

  it('posts an invoice priced from the item master, due by payment terms, and raises receivables', async () => {
    const shared = SEED_CUSTOMERS['C-7007'];
    const posted = await call(sandbox, 'POST', '/erp/invoices', {
      key: 'EDI-PO-1:invoice',
      body: {
        orderId: 'EDI-PO-1',
        customerId: 'C-7007',
        shipmentId: 'SHP-9',
        currency: 'USD',
        lines: [
          { lineNo: 1, sku: 'VALVE-BALL-1IN', quantity: 48, unitPrice: '22.40' },
          { lineNo: 2, sku: 'TAPE-48MM', quantity: 240 },
        ],
      },
    });

    expect(posted.status).toBe(201);
    expect(posted.body).toEqual({
      invoiceId: 'INV-000001',
      orderId: 'EDI-PO-1',
      customerId: 'C-7007',
      shipmentId: 'SHP-9',
      currency: 'USD',
      lines: [
        { lineNo: 1, sku: 'VALVE-BALL-1IN', quantity: 48, unitPrice: '22.40', amount: '1075.20' },
        { lineNo: 2, sku: 'TAPE-48MM', quantity: 240, unitPrice: '2.40', amount: '576.00' },
      ],
      amount: '1651.20',
      postedAt: '2026-11-23T09:00:00.000Z',
      dueDate: '2027-01-07',
      status: 'POSTED',
    });
    expect(sandbox.credit.get('C-7007')?.ReceivablesAmount).toBe('121651.20');
    expect(shared?.ReceivablesAmount).toBe('120000.00');
    const listed = await call(sandbox, 'GET', '/erp/invoices?orderId=EDI-PO-1');
    expect(listed.body.invoices).toEqual([posted.body]);
    expect((await call(sandbox, 'GET', '/erp/invoices?orderId=OTHER')).body.invoices).toEqual([]);
  });

  it('refuses an invoice for an unknown or closed customer, or for an item it cannot price, with 422', async () => {
    const base = { orderId: 'O-1', shipmentId: 'S-1', currency: 'USD' };
    const line = [{ lineNo: 1, sku: 'BOLT-M8', quantity: 1 }];
    const unknown = await call(sandbox, 'POST', '/erp/invoices', {
      body: { ...base, customerId: 'C-0', lines: line },
    });
    const closed = await call(sandbox, 'POST', '/erp/invoices', {
      body: { ...base, customerId: 'C-5005', lines: line },
    });
    const unpriced = await call(sandbox, 'POST', '/erp/invoices', {
      body: { ...base, customerId: 'C-1001', lines: [{ lineNo: 3, sku: 'MYSTERY', quantity: 1 }] },
    });

    expect([unknown.body.code, closed.body.code, unpriced.body.code]).toEqual([
      'unknown_customer',
      'account_closed',
      'unknown_item',
    ]);
    expect([unknown.status, closed.status, unpriced.status]).toEqual([422, 422, 422]);
    expect(sandbox.erp.invoices).toHaveLength(0);
  });
});

describe('WMS sandbox: stock moves', () => {
  const reserve = (lines: { itemCode: string; quantity: number }[], facilityCode = 'DC-EAST', key?: string) =>
    call(sandbox, 'POST', '/wms/reservations', {
      ...(key ? { key } : {}),
      body: {
        orderReference: 'ERP-SO-1',
        facilityCode,
        lines: lines.map((l, i) => ({ lineNumber: i + 1, ...l })),
      },
    });

  it('keeps the availability answer: facilities with only the asked items', async () => {
    const answer = await call(sandbox, 'GET', '/wms/availability?items=PUMP-220,VALVE-3IN');
    const facilities = answer.body.facilities as {
      facilityCode: string;
      inventory: { itemCode: string }[];
    }[];
    expect(facilities.map((f) => [f.facilityCode, f.inventory.map((i) => i.itemCode)])).toEqual([
      ['DC-EAST', ['PUMP-220', 'VALVE-3IN']],
      ['DC-CENTRAL', ['PUMP-220', 'VALVE-3IN']],
      ['DC-WEST', ['PUMP-220']],
    ]);
  });

  it('commits reserved stock, and availability shows it', async () => {
    const answer = await reserve([{ itemCode: 'PUMP-220', quantity: 30 }], 'DC-EAST', 'ERP-SO-1:allocation');
    const after = await call(sandbox, 'GET', '/wms/availability?items=PUMP-220');

    expect(answer.status).toBe(201);
    expect(answer.body).toEqual({ reservationNumber: 'RSV-000001', facilityCode: 'DC-EAST', status: 'OPEN' });
    expect(stockOf('DC-EAST', 'PUMP-220')).toMatchObject({ onHand: 35, committed: 33 });
    const east = (after.body.facilities as { inventory: { committed: number }[] }[])[0];
    expect(east?.inventory[0]?.committed).toBe(33);
  });

  it('a replayed reservation commits nothing more', async () => {
    await reserve([{ itemCode: 'PUMP-220', quantity: 10 }], 'DC-EAST', 'k');
    await reserve([{ itemCode: 'PUMP-220', quantity: 10 }], 'DC-EAST', 'k');
    expect(stockOf('DC-EAST', 'PUMP-220')?.committed).toBe(13);
  });

  it('refuses with 409 naming each short item when stock is insufficient, and commits nothing at all', async () => {
    const answer = await reserve([
      { itemCode: 'BOLT-M8', quantity: 100 },
      { itemCode: 'PUMP-220', quantity: 20 },
      { itemCode: 'PUMP-220', quantity: 20 },
      { itemCode: 'VALVE-BFY-8IN', quantity: 1 },
    ]);

    expect(answer.status).toBe(409);
    expect(answer.body).toMatchObject({
      code: 'insufficient_stock',
      facilityCode: 'DC-EAST',
      shortages: [
        { itemCode: 'PUMP-220', requested: 40, available: 32 },
        { itemCode: 'VALVE-BFY-8IN', requested: 1, available: 0 },
      ],
    });
    expect(String(answer.body.message)).toContain('nothing was reserved');
    expect(stockOf('DC-EAST', 'BOLT-M8')?.committed).toBe(4000);
    expect(stockOf('DC-EAST', 'PUMP-220')?.committed).toBe(3);
  });

  it('answers 422 for an unknown facility', async () => {
    const answer = await reserve([{ itemCode: 'BOLT-M8', quantity: 1 }], 'DC-MOON');
    expect(answer.status).toBe(422);
    expect(answer.body).toMatchObject({ code: 'unknown_facility', facilityCode: 'DC-MOON' });
  });

  it('turns a release into a warehouse order linked to the open reservation', async () => {
    await reserve([{ itemCode: 'WIDGET-100', quantity: 40 }]);
    const released = await call(sandbox, 'POST', '/wms/releases', {
      key: 'ERP-SO-1:release',
      body: {
        orderReference: 'ERP-SO-1',
        facilityCode: 'DC-EAST',
        priority: 640,
        shipByDate: '2026-11-24',
        serviceLevel: 'standard',
        lines: [{ lineNumber: 1, itemCode: 'WIDGET-100', quantity: 40 }],
      },
    });
    const orders = await call(sandbox, 'GET', '/wms/warehouse-orders?orderReference=ERP-SO-1');

    expect(released.body).toEqual({
      releaseNumber: 'REL-000001',
      warehouseOrderNumber: 'WO-DC-EAST-000001',
      status: 'RELEASED',
    });
    expect(orders.body.warehouseOrders).toEqual([
      expect.objectContaining({ priority: 640, reservationNumber: 'RSV-000001', shipByDate: '2026-11-24' }),
    ]);
    expect(sandbox.wms.reservations[0]?.status).toBe('RELEASED');
  });

  it('receives stock: on-hand rises and inventory.received waits in the feed for the local cloud', () => {
    const event = sandbox.wms.receive('VALVE-3IN', 'DC-WEST', 24);

    expect(stockOf('DC-WEST', 'VALVE-3IN')).toEqual({
      itemCode: 'VALVE-3IN',
      onHand: 24,
      committed: 0,
      safetyStock: 0,
    });
    expect(sandbox.wms.drainEvents()).toEqual([
      {
        eventId: 'WMS-EVT-000001',
        eventType: 'inventory.received',
        occurredAt: '2026-11-23T09:00:00.000Z',
        facilityCode: 'DC-WEST',
        itemCode: 'VALVE-3IN',
        quantity: 24,
        onHand: 24,
        committed: 0,
      },
    ]);
    expect(event.eventId).toBe('WMS-EVT-000001');
    expect(sandbox.wms.drainEvents()).toEqual([]);
    expect(() => sandbox.wms.receive('VALVE-3IN', 'DC-MOON', 1)).toThrow('no facility DC-MOON');
    expect(() => sandbox.wms.receive('VALVE-3IN', 'DC-WEST', 0)).toThrow('positive integer');
  });
});
