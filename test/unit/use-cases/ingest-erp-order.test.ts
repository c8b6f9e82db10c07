import { beforeEach, describe, expect, it } from 'vitest';
import { eventEntryBytes, MAX_EVENT_ENTRY_BYTES } from '../../../contracts/events.ts';
import type {
  CreateResult,
  ExceptionRepository,
  OrderRecord,
  OrderRepository,
  OwnedException,
} from '../../../lambdas/ports/index.ts';
import { sha256 } from '../../../lambdas/shared/ids.ts';
import { type IngestDeps, ingestErpOrder } from '../../../lambdas/use-cases/ingest-erp-order.ts';
import { erpBaseOrders, erpCases, item, salesOrder } from '../../fixtures/hostile/erp.ts';
import { RecordingPublisher } from '../../support/recording-publisher.ts';

/** The ERP ingress use case against in-memory ports, driven by the hostile corpus (test/fixtures/hostile). */
const NOW = new Date('2026-11-23T09:00:00.000Z');
const KNOWN_ITEMS = new Set(['WIDGET-100', 'BOLT-M8', 'PUMP-220']);

class InMemoryOrders {
  readonly records = new Map<string, OrderRecord>();
  async createIfAbsent(record: OrderRecord): Promise<CreateResult> {
    const existing = this.records.get(record.orderId);
    if (existing) return { created: false, existing };
    this.records.set(record.orderId, record);
    return { created: true };
  }
  async get(orderId: string) {
    return this.records.get(orderId);
  }
}

class InMemoryExceptions {
  readonly items = new Map<string, OwnedException>();
  async raiseIfAbsent(exception: OwnedException) {
    if (this.items.has(exception.exceptionId)) return { created: false };
    this.items.set(exception.exceptionId, exception);
    return { created: true };
  }
}

let orders: InMemoryOrders;
let exceptions: InMemoryExceptions;
let events: RecordingPublisher;
let itemReads: string[][];
let deps: IngestDeps;

beforeEach(async () => {
  orders = new InMemoryOrders();
  exceptions = new InMemoryExceptions();
  events = new RecordingPublisher();
  itemReads = [];
  deps = {
    orders: orders as unknown as OrderRepository,
    exceptions: exceptions as unknown as ExceptionRepository,
    events,
    clock: { now: () => new Date(NOW) },
    items: {
      unknownSkus: async (skus) => {
        itemReads.push([...skus]);
        return skus.filter((sku) => !KNOWN_ITEMS.has(sku));
      },
    },
  };
  for (const base of erpBaseOrders(NOW)) await ingestErpOrder(base.body, deps);
  events.published.length = 0;
  itemReads.length = 0;
});

const path = (record: unknown, dotted: string): unknown =>
  dotted.split('.').reduce((at, key) => (at as Record<string, unknown> | undefined)?.[key], record);

describe('the hostile ERP corpus, case by case', () => {
  it.each(erpCases(NOW).map((c) => [c.name, c] as const))('%s', async (_name, hostile) => {
    const outcome = await ingestErpOrder(hostile.input, deps);
    const expected = hostile.expect;
    // Whatever is published fits the bus.
    for (const event of events.all) {
      expect(eventEntryBytes(event.name, event.detail)).toBeLessThanOrEqual(MAX_EVENT_ENTRY_BYTES);
    }
    if (expected.outcome === 'rejected') {
      expect(outcome.kind).toBe('quarantined');
      if (outcome.kind !== 'quarantined') return;
      expect(outcome.violations).toContainEqual(
        expect.objectContaining({ path: expected.path, rule: expect.stringContaining(expected.rule) }),
      );
      const exception = exceptions.items.get(outcome.exceptionId);
      expect(exception).toMatchObject({
        ownerTeam: expected.owner,
        type: expected.type,
        state: 'open',
        context: { payload: hostile.input, payloadSha256: sha256(hostile.input) },
      });
      expect(exception?.violations?.length).toBeLessThanOrEqual(100);
      for (const orderId of expected.noOrders ?? []) expect(orders.records.has(orderId)).toBe(false);
      expect(events.all.some((e) => e.name === 'order.received')).toBe(false);
    } else if (expected.outcome === 'accepted') {
      expect(outcome).toEqual({ kind: 'received', orderId: expected.orderId });
      const record = orders.records.get(expected.orderId);
      const announced = events.find(expected.orderId, 'order.received')?.detail.order;
      for (const [field, value] of Object.entries(expected.roundTrip)) {
        expect(path(record?.order, field)).toBe(value);
        expect(path(announced, field)).toBe(value);
      }
      expect(exceptions.items.size).toBe(0);
    } else {
      expect(outcome).toMatchObject({ kind: 'duplicate', orderId: expected.orderId });
      expect(exceptions.items.size).toBe(0);
      expect(orders.records.size).toBe(1);
    }
  });
});

describe('ingestErpOrder: content, not bytes, decides a duplicate', () => {
  it('the same order in NFD is the same order as in NFC', async () => {
    const nfc = salesOrder(NOW, 'HX-U1', { CustomerName: 'M\u00fcller GmbH' });
    const nfd = salesOrder(NOW, 'HX-U1', { CustomerName: 'Mu\u0308ller GmbH' });
    expect(await ingestErpOrder(JSON.stringify(nfc), deps)).toEqual({
      kind: 'received',
      orderId: 'ERP-HX-U1',
    });
    expect(await ingestErpOrder(JSON.stringify(nfd), deps)).toMatchObject({ kind: 'duplicate' });
    expect(orders.records.get('ERP-HX-U1')?.order.customer.name).toBe('M\u00fcller GmbH');
  });

  it('an order received before content hashing (its hash is of the message bytes) is still a duplicate', async () => {
    const body = JSON.stringify(salesOrder(NOW, 'HX-U2'));
    await ingestErpOrder(body, deps);
    const record = orders.records.get('ERP-HX-U2') as OrderRecord;
    orders.records.set('ERP-HX-U2', { ...record, payloadHash: sha256(body) });
    expect(await ingestErpOrder(body, deps)).toMatchObject({ kind: 'duplicate' });
  });
});

describe('ingestErpOrder: the item master', () => {
  it('asks the item master about every item of a well-formed order, once', async () => {
    await ingestErpOrder(
      JSON.stringify(salesOrder(NOW, 'HX-I1', {}, [item(1), item(2, { Material: 'BOLT-M8' })])),
      deps,
    );
    expect(itemReads).toEqual([['WIDGET-100', 'BOLT-M8']]);
  });

  it('does not ask about an order whose shape is already wrong', async () => {
    await ingestErpOrder(JSON.stringify(salesOrder(NOW, 'HX-I2', { Currency: 'usd' })), deps);
    expect(itemReads).toEqual([]);
  });

  it('names every unknown item, and an outage of the item master is retried (thrown), not quarantined', async () => {
    const body = JSON.stringify(
      salesOrder(NOW, 'HX-I3', {}, [
        item(1, { Material: 'GHOST-1' }),
        item(2),
        item(3, { Material: 'GHOST-2' }),
      ]),
    );
    const outcome = await ingestErpOrder(body, deps);
    expect(outcome).toMatchObject({
      kind: 'quarantined',
      violations: [
        {
          path: 'Items[0].Material',
          rule: 'knownItem',
          message: 'names no item in the ERP item master (GHOST-1)',
        },
        {
          path: 'Items[2].Material',
          rule: 'knownItem',
          message: 'names no item in the ERP item master (GHOST-2)',
        },
      ],
    });
    const down = { ...deps, items: { unknownSkus: () => Promise.reject(new Error('ERP down')) } };
    await expect(ingestErpOrder(JSON.stringify(salesOrder(NOW, 'HX-I4')), down)).rejects.toThrow('ERP down');
    expect(orders.records.has('ERP-HX-I4')).toBe(false);
  });
});

describe('ingestErpOrder: huge orders', () => {
  it('keeps the whole payload and at most 100 violations of a 5,000-line order of broken lines', async () => {
    const lines = Array.from({ length: 5000 }, (_, i) => item(i + 1, { Quantity: '0', Unit: 'each' }));
    const body = JSON.stringify(salesOrder(NOW, 'HX-H1', {}, lines));
    const outcome = await ingestErpOrder(body, deps);
    if (outcome.kind !== 'quarantined') throw new Error('expected a quarantine');
    const exception = exceptions.items.get(outcome.exceptionId);
    expect(exception?.violations).toHaveLength(100);
    expect(exception?.violations?.[0]).toMatchObject({ path: '', rule: 'maxBytes:262144' });
    expect(Number(exception?.context.violationCount)).toBeGreaterThan(5000);
    expect(exception?.context.payload).toBe(body);
    const rejected = events.find(outcome.orderId, 'order.rejected');
    expect(rejected?.detail.violations).toHaveLength(50);
  });
});
