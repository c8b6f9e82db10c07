import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ErpItemClient } from '../../../lambdas/adapters/erp/item-client.ts';
import { PartnerClient } from '../../../lambdas/adapters/http/partner-client.ts';
import { PartnerContractBroken, PartnerUnavailable } from '../../../lambdas/shared/errors.ts';
import type { CatalogueItem as ErpCatalogueItem } from '../../../local/partners/erp.ts';
import { PartnerSandbox } from '../../../local/partners/sandbox.ts';
import { SEED_CATALOGUE, seedSandbox } from '../../../local/partners/seed.ts';
import { sendJson, TestHttpServer } from '../../support/http-server.ts';

const sandbox = new PartnerSandbox();
const server = new TestHttpServer();

beforeAll(async () => {
  await sandbox.start();
  await server.start();
});
afterAll(async () => {
  await sandbox.stop();
  await server.stop();
});
beforeEach(() => {
  sandbox.reset();
  seedSandbox(sandbox);
});

const MAX_ATTEMPTS = 2;
const FIVE_MINUTES = 5 * 60_000;

function httpAt(baseUrl: string): PartnerClient {
  return new PartnerClient({
    partner: 'erp',
    baseUrl,
    timeoutMs: 1000,
    maxAttempts: MAX_ATTEMPTS,
    sleep: async () => {},
    random: () => 0,
  });
}

/** A manual clock for the client's cache (milliseconds). */
class ManualTime {
  current = 1_750_000_000_000;
  readonly now = (): number => this.current;
  advance(ms: number): void {
    this.current += ms;
  }
}

let time: ManualTime;
beforeEach(() => {
  time = new ManualTime();
});

const catalogue = () => new ErpItemClient(httpAt(`${sandbox.baseUrl}/erp`), time.now);
const itemReads = () => sandbox.callsTo('GET', '/erp/items').length;

async function failureOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected the call to fail, but it succeeded');
    },
    (error: unknown) => error,
  );
}

describe('ErpItemClient.items(): the EDI catalogue', () => {
  it('returns every seeded item with its standard cost as a number', async () => {
    const items = await catalogue().items();

    expect(Object.keys(items).sort()).toEqual(SEED_CATALOGUE.map((i) => i.Material).sort());
    for (const seeded of SEED_CATALOGUE) {
      expect(items[seeded.Material], seeded.Material).toEqual({ unitCost: Number(seeded.StandardCost) });
    }
    expect(items['WIDGET-100']).toEqual({ unitCost: 8.1 });
    expect(items['PUMP-550']).toEqual({ unitCost: 1420 });
    expect(items['WASHER-M8']).toEqual({ unitCost: 0.02 });
  });

  it('reads the whole item master once, without a materials filter', async () => {
    await catalogue().items();

    expect(sandbox.callsTo('GET', '/erp/items')).toEqual([{ method: 'GET', path: '/erp/items' }]);
  });

  it('keeps the UPC of an item that has one', async () => {
    const seeded = sandbox.erp.items.get('WIDGET-100');
    if (!seeded) throw new Error('WIDGET-100 is not seeded');
    const withUpc: ErpCatalogueItem & { Upc: string } = { ...seeded, Upc: '012345678905' };
    sandbox.erp.items.set('WIDGET-100', withUpc);

    const items = await catalogue().items();

    expect(items['WIDGET-100']).toEqual({ unitCost: 8.1, upc: '012345678905' });
    expect(items['BOLT-M8']).toEqual({ unitCost: 0.15 });
  });

  it('is read once and served from the cache for 5 minutes', async () => {
    const client = catalogue();

    const first = await client.items();
    time.advance(60_000);
    const second = await client.items();
    time.advance(FIVE_MINUTES - 60_000);
    const atTheLimit = await client.items();

    expect(itemReads()).toBe(1);
    expect(second).toEqual(first);
    expect(atTheLimit).toEqual(first);
  });

  it('shares one read between concurrent callers', async () => {
    const client = catalogue();

    const [a, b, c] = await Promise.all([client.items(), client.items(), client.items()]);

    expect(itemReads()).toBe(1);
    expect(b).toEqual(a);
    expect(c).toEqual(a);
  });

  it('reads again once 5 minutes have passed, and sees a changed cost', async () => {
    const client = catalogue();
    await client.items();
    const widget = sandbox.erp.items.get('WIDGET-100');
    if (!widget) throw new Error('WIDGET-100 is not seeded');
    sandbox.erp.items.set('WIDGET-100', { ...widget, StandardCost: '9.25' });

    expect((await client.items())['WIDGET-100']).toEqual({ unitCost: 8.1 });
    time.advance(FIVE_MINUTES + 1);
    const refreshed = await client.items();

    expect(itemReads()).toBe(2);
    expect(refreshed['WIDGET-100']).toEqual({ unitCost: 9.25 });

    // The new read starts a new 5-minute window.
    time.advance(FIVE_MINUTES);
    await client.items();
    expect(itemReads()).toBe(2);
  });

  it('each client (container) has its own cache', async () => {
    await catalogue().items();
    await catalogue().items();

    expect(itemReads()).toBe(2);
  });

  it('does not cache a failed read: the next call reads again and succeeds', async () => {
    const client = catalogue();
    sandbox.failNext.set('GET /erp/items', MAX_ATTEMPTS);

    const error = await failureOf(client.items());

    expect(error).toBeInstanceOf(PartnerUnavailable);
    expect(itemReads()).toBe(MAX_ATTEMPTS);

    const items = await client.items();

    expect(itemReads()).toBe(MAX_ATTEMPTS + 1);
    expect(Object.keys(items)).toHaveLength(SEED_CATALOGUE.length);
    await client.items();
    expect(itemReads()).toBe(MAX_ATTEMPTS + 1);
  });

  it('does not cache a read failed by the partner fault knob either', async () => {
    const client = catalogue();
    sandbox.faults.set('erp', { errorRate: 1, errorStatuses: [503] });

    expect(await failureOf(client.items())).toBeInstanceOf(PartnerUnavailable);

    sandbox.faults.clear();
    const items = await client.items();

    expect(items['BOLT-M8']).toEqual({ unitCost: 0.15 });
    expect(itemReads()).toBe(MAX_ATTEMPTS + 1);
  });

  it('recovers within one call when only the first attempt fails (the client retries)', async () => {
    sandbox.failNext.set('GET /erp/items', 1);

    const items = await catalogue().items();

    expect(Object.keys(items)).toHaveLength(SEED_CATALOGUE.length);
    expect(itemReads()).toBe(2);
  });
});

describe('ErpItemClient.items(): a broken answer', () => {
  it('refuses an item master that breaks the contract, and does not cache the refusal', async () => {
    const client = new ErpItemClient(httpAt(server.baseUrl), time.now);
    const good = {
      Material: 'WIDGET-100',
      GrossWeightKg: 0.4,
      LengthCm: 18,
      WidthCm: 8,
      HeightCm: 4,
      Hazmat: null,
      Oversize: false,
      StandardCost: '8.10',
    };
    server.respondInSequence(
      (_req, res) => sendJson(res, 200, { items: [{ ...good, StandardCost: 'eight' }] }),
      (_req, res) => sendJson(res, 200, { items: [good] }),
    );

    expect(await failureOf(client.items())).toBeInstanceOf(PartnerContractBroken);
    expect(await client.items()).toEqual({ 'WIDGET-100': { unitCost: 8.1 } });
    expect(server.requests).toHaveLength(2);
  });
});

describe('ErpItemClient: per-order reads still filter by material', () => {
  it('getPhysicals sends materials= with the distinct SKUs and maps the shipping data', async () => {
    const physicals = await catalogue().getPhysicals(['PUMP-550', 'SEALANT-THREAD', 'PUMP-550']);

    expect([...physicals.keys()].sort()).toEqual(['PUMP-550', 'SEALANT-THREAD']);
    expect(physicals.get('PUMP-550')).toEqual({
      sku: 'PUMP-550',
      weightKg: 118,
      lengthCm: 120,
      widthCm: 55,
      heightCm: 60,
      hazmat: false,
      oversize: true,
    });
    expect(physicals.get('SEALANT-THREAD')).toMatchObject({ hazmat: true, oversize: false });
  });

  it('getVendorSourcing sends materials= and maps stock and drop-ship items', async () => {
    const sourcing = await catalogue().getVendorSourcing(['PUMP-SUB-75', 'WIDGET-100']);

    expect(sourcing).toEqual(
      new Map([
        [
          'PUMP-SUB-75',
          { sku: 'PUMP-SUB-75', supplyType: 'drop-ship', vendorId: 'V-AQUADRIVE', leadTimeDays: 5 },
        ],
        ['WIDGET-100', { sku: 'WIDGET-100', supplyType: 'stock', vendorId: null, leadTimeDays: null }],
      ]),
    );
  });

  it('puts the SKUs on the wire as one comma-separated materials parameter, deduplicated', async () => {
    const client = new ErpItemClient(httpAt(server.baseUrl), time.now);
    server.respondWith((_req, res) => sendJson(res, 200, { items: [] }));

    await client.getPhysicals(['PUMP-550', 'BOLT-M8', 'PUMP-550']);
    await client.getVendorSourcing(['TANK-PRESS-80']);

    expect(server.requests.map((r) => [r.method, r.path, r.query.get('materials')])).toEqual([
      ['GET', '/items', 'PUMP-550,BOLT-M8'],
      ['GET', '/items', 'TANK-PRESS-80'],
    ]);
  });

  it('per-order reads are not cached and do not fill the catalogue cache', async () => {
    const client = catalogue();

    await client.getPhysicals(['BOLT-M8']);
    await client.getPhysicals(['BOLT-M8']);
    await client.getVendorSourcing(['BOLT-M8']);
    const items = await client.items();

    expect(itemReads()).toBe(4);
    expect(Object.keys(items)).toHaveLength(SEED_CATALOGUE.length);
  });

  it('the catalogue cache does not answer per-order reads', async () => {
    const client = catalogue();
    await client.items();

    const physicals = await client.getPhysicals(['NUT-M8']);

    expect(itemReads()).toBe(2);
    expect([...physicals.keys()]).toEqual(['NUT-M8']);
  });

  it('an unknown SKU is absent from the answer', async () => {
    const physicals = await catalogue().getPhysicals(['NO-SUCH-SKU', 'NUT-M8']);

    expect([...physicals.keys()]).toEqual(['NUT-M8']);
  });
});

describe('ErpItemClient.unknownSkus(): the ingress check', () => {
  it('answers from the cached item master: known SKUs cost no further read', async () => {
    const client = catalogue();

    expect(await client.unknownSkus(['WIDGET-100', 'BOLT-M8', 'WIDGET-100'])).toEqual([]);
    expect(await client.unknownSkus(['PUMP-220'])).toEqual([]);
    expect(itemReads()).toBe(1);
  });

  it('asks again for a SKU the cached copy lacks, so an item added minutes ago is known', async () => {
    const client = catalogue();
    await client.unknownSkus(['WIDGET-100']);
    const seeded = sandbox.erp.items.get('WIDGET-100') as ErpCatalogueItem;
    sandbox.erp.items.set('WIDGET-NEW', { ...seeded, Material: 'WIDGET-NEW' });

    expect(await client.unknownSkus(['WIDGET-100', 'WIDGET-NEW', 'GHOST-1'])).toEqual(['GHOST-1']);
    expect(sandbox.callsTo('GET', '/erp/items').at(-1)).toMatchObject({ path: '/erp/items' });
    expect(itemReads()).toBe(2);
  });

  it('re-reads a long list of unknown SKUs in slices of 40', async () => {
    const client = catalogue();
    const ghosts = Array.from({ length: 95 }, (_, i) => `GHOST-${String(i).padStart(60, '0')}`);

    expect(await client.unknownSkus(ghosts)).toEqual(ghosts);
    expect(itemReads()).toBe(1 + 3);
  });

  it('an item master that cannot be read fails the check (the message is retried), and is not cached', async () => {
    const client = catalogue();
    sandbox.failNext.set('GET /erp/items', MAX_ATTEMPTS);

    await expect(client.unknownSkus(['WIDGET-100'])).rejects.toBeInstanceOf(PartnerUnavailable);
    expect(await client.unknownSkus(['WIDGET-100'])).toEqual([]);
  });
});

describe('ErpItemClient.unknownSkus(): an ERP outage', () => {
  it('keeps known SKUs known from the last good read, and fails (never refuses) any other', async () => {
    const client = catalogue();
    expect(await client.unknownSkus(['WIDGET-100'])).toEqual([]);
    time.advance(FIVE_MINUTES + 1);
    sandbox.failNext.set('GET /erp/items', 10 * MAX_ATTEMPTS);

    expect(await client.unknownSkus(['WIDGET-100', 'BOLT-M8'])).toEqual([]);
    await expect(client.unknownSkus(['WIDGET-100', 'GHOST-1'])).rejects.toBeInstanceOf(PartnerUnavailable);
  });
});
