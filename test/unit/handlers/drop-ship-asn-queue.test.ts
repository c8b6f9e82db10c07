import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { parseDetail } from '../../../contracts/events.ts';
import { ORDER_ID_PATTERN } from '../../../contracts/order.ts';
import type {
  CanonicalEvent,
  Clock,
  DropShipOrders,
  OrderRecord,
  OwnedException,
  RecordedPurchaseOrder,
} from '../../../lambdas/ports/index.ts';
import { OrderNotFound } from '../../../lambdas/shared/errors.ts';
import type { DropShipDeps } from '../../../lambdas/use-cases/drop-ship.ts';
import type { AdvanceShipNotice } from '../../../local/partners/vendor.ts';
import { vendorAsnCases } from '../../fixtures/hostile/vendor-asn.ts';
import { InMemoryExceptions } from '../../support/in-memory-exceptions.ts';
import { RecordingPublisher } from '../../support/recording-publisher.ts';
import { line, validOrder } from '../contracts/canonical-order.fixture.ts';

// ---------------------------------------------------------------------------------------------------------
// The handler module reads its configuration at import: set it first, then import.
// ---------------------------------------------------------------------------------------------------------

type DropShipModule = typeof import('../../../lambdas/handlers/drop-ship.ts');
let handlerModule: DropShipModule;

beforeAll(async () => {
  vi.stubEnv('ORDERS_TABLE_NAME', 'orders');
  vi.stubEnv('EXCEPTIONS_TABLE_NAME', 'exceptions');
  vi.stubEnv('EVENT_BUS_NAME', 'bus');
  vi.stubEnv('ERP_BASE_URL', 'http://erp.invalid');
  vi.stubEnv('VENDOR_BASE_URL', 'http://vendor.invalid');
  vi.stubEnv('AWS_REGION', 'eu-west-1');
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
  handlerModule = await import('../../../lambdas/handlers/drop-ship.ts');
});

afterAll(() => {
  vi.unstubAllEnvs();
});

// ---------------------------------------------------------------------------------------------------------
// In-memory fakes of the ports
// ---------------------------------------------------------------------------------------------------------

const NOW = new Date('2026-11-30T18:00:00Z');
const clock: Clock = { now: () => new Date(NOW) };

/** Reads only: an ASN never moves the order. `failOn` makes get throw (a DynamoDB outage). */
class InMemoryOrders implements DropShipOrders {
  readonly records = new Map<string, OrderRecord>();
  readonly failOn = new Map<string, Error>();
  readonly reads: string[] = [];

  async get(orderId: string): Promise<OrderRecord | undefined> {
    this.reads.push(orderId);
    const failure = this.failOn.get(orderId);
    if (failure) throw failure;
    return this.records.get(orderId);
  }

  async annotate(current: OrderRecord): Promise<OrderRecord> {
    throw new Error(`an ASN must not annotate order ${current.orderId}`);
  }

  async transition(current: OrderRecord): Promise<OrderRecord> {
    throw new Error(`an ASN must not move order ${current.orderId}`);
  }
}

/** A publisher that fails the next n publishes (an EventBridge outage), then records as usual. */
class FlakyPublisher extends RecordingPublisher {
  failures = 0;
  override async publish(events: readonly CanonicalEvent[]): Promise<void> {
    if (this.failures > 0) {
      this.failures -= 1;
      throw new Error('EventBridge unavailable');
    }
    await super.publish(events);
  }
}

// ---------------------------------------------------------------------------------------------------------
// The world: a drop-ship order with two confirmed purchase orders
// ---------------------------------------------------------------------------------------------------------

const ORDER_ID = 'ORD-1';

const purchaseOrder = (
  vendorId: string,
  ref: string,
  lines: RecordedPurchaseOrder['lines'],
): RecordedPurchaseOrder => ({
  vendorId,
  purchaseOrderNumber: `${ORDER_ID}-${vendorId}`,
  vendorOrderRef: ref,
  status: 'accepted',
  lines,
  shipDate: '2026-11-30',
  estimatedDelivery: '2026-12-03',
  placedAt: '2026-11-23T09:00:00.000Z',
});

function dropShipOrder(): OrderRecord {
  return {
    orderId: ORDER_ID,
    order: {
      ...validOrder(),
      orderId: ORDER_ID,
      lines: [
        line(10, { sku: 'PUMP-SUB-75', quantity: 1, dropShip: true }),
        line(20, { sku: 'TANK-PRESS-80', quantity: 2, dropShip: true }),
      ],
    },
    stage: 'released',
    version: 3,
    payloadHash: 'hash',
    receivedAt: '2026-11-23T08:00:00Z',
    updatedAt: '2026-11-23T09:00:00Z',
    stageHistory: [],
    path: 'drop-ship',
    executionName: ORDER_ID,
    purchaseOrders: [
      purchaseOrder('V-AQUADRIVE', 'AQU-SO-000001', [
        {
          lineNo: 10,
          sku: 'PUMP-SUB-75',
          quantity: 1,
          acceptedQuantity: 1,
          status: 'accepted',
          shipDate: '2026-11-30',
          reason: null,
        },
      ]),
      purchaseOrder('V-TANKWORKS', 'TAN-SO-000001', [
        {
          lineNo: 20,
          sku: 'TANK-PRESS-80',
          quantity: 2,
          acceptedQuantity: 2,
          status: 'accepted',
          shipDate: '2026-11-30',
          reason: null,
        },
      ]),
    ],
  };
}

/** The vendor's ASN as it lands on the queue, in the vendor's field names. */
const asn = (overrides: Partial<AdvanceShipNotice> = {}): AdvanceShipNotice => ({
  asnNumber: 'AQD-ASN-000001',
  messageType: 'ADVANCE_SHIP_NOTICE',
  vendorCode: 'V-AQUADRIVE',
  purchaseOrderNumber: `${ORDER_ID}-V-AQUADRIVE`,
  vendorOrderNumber: 'AQU-SO-000001',
  buyerReference: ORDER_ID,
  shippedAt: '2026-11-30T16:00:00Z',
  carrier: { scac: 'RDGL', trackingNumber: 'RDGL0000000001' },
  shipFrom: { locationCode: 'AQD-WH1', country: 'US' },
  lines: [{ lineNumber: 10, itemCode: 'PUMP-SUB-75', quantityShipped: 1 }],
  ...overrides,
});

function sqsRecord(messageId: string, body: string): SQSRecord {
  return {
    messageId,
    receiptHandle: `handle-${messageId}`,
    body,
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: '1764518400000',
      SenderId: 'vendor-asn-bridge',
      ApproximateFirstReceiveTimestamp: '1764518400001',
    },
    messageAttributes: {},
    md5OfBody: 'md5',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:vendor-asn',
    awsRegion: 'eu-west-1',
  };
}

const batch = (...records: [messageId: string, body: string][]): SQSEvent => ({
  Records: records.map(([id, body]) => sqsRecord(id, body)),
});

class World {
  readonly orders = new InMemoryOrders();
  readonly exceptions = new InMemoryExceptions();
  readonly events = new FlakyPublisher();

  get deps(): DropShipDeps {
    return {
      orders: this.orders,
      exceptions: this.exceptions,
      sourcing: {
        getVendorSourcing: async () => {
          throw new Error('an ASN must not read item sourcing');
        },
      },
      vendors: {
        placePurchaseOrder: async () => {
          throw new Error('an ASN must not place a purchase order');
        },
      },
      events: this.events,
      clock,
    };
  }

  /** Runs one SQS batch through the handler's queue mode. */
  async deliver(event: SQSEvent): Promise<SQSBatchResponse> {
    const step = handlerModule.dropShipStep(this.deps);
    return (await step(event)) as SQSBatchResponse;
  }

  names(): string[] {
    return this.events.all.map((e) => e.name);
  }
}

let world: World;
beforeEach(() => {
  world = new World();
  world.orders.records.set(ORDER_ID, dropShipOrder());
});

/** Asserts one open integration exception for the vendor ASN feed, announced once; returns it. */
function expectQuarantined(rawBody: string, reasonCode: string): OwnedException {
  const exception = world.exceptions.only();
  expect(exception).toMatchObject({
    type: 'integration-failure',
    ownerTeam: 'integration',
    state: 'open',
    reasonCodes: [reasonCode],
    context: expect.objectContaining({ source: 'vendor.asn', payload: rawBody }),
  });
  expect(exception.orderId).toMatch(ORDER_ID_PATTERN);
  expect(world.names()).toEqual(['exception.raised']);
  expect(world.events.all[0]?.detail).toMatchObject({
    exceptionId: exception.exceptionId,
    orderId: exception.orderId,
    reasonCodes: [reasonCode],
  });
  return exception;
}

// ---------------------------------------------------------------------------------------------------------
// The vendor ASN queue
// ---------------------------------------------------------------------------------------------------------

describe('drop-ship handler, SQS mode: a matching ASN', () => {
  it('publishes shipment.confirmed from the vendor and the message succeeds', async () => {
    const response = await world.deliver(batch(['m-1', JSON.stringify(asn())]));

    expect(response).toEqual({ batchItemFailures: [] });
    expect(world.names()).toEqual(['shipment.confirmed']);
    const shipped = world.events.find(ORDER_ID, 'shipment.confirmed');
    expect(shipped?.detail).toEqual({
      schemaVersion: 1,
      orderId: ORDER_ID,
      correlationId: ORDER_ID,
      idempotencyKey: `${ORDER_ID}:shipment.confirmed:AQD-ASN-000001`,
      occurredAt: '2026-11-30T16:00:00.000Z',
      shipmentId: 'AQD-ASN-000001',
      siteId: 'V-AQUADRIVE',
      carrier: 'RDGL',
      trackingNumber: 'RDGL0000000001',
      shippedAt: '2026-11-30T16:00:00.000Z',
      lines: [{ lineNo: 10, sku: 'PUMP-SUB-75', quantity: 1 }],
      partial: true,
    });
    expect(parseDetail('shipment.confirmed', shipped?.detail).ok).toBe(true);
    expect(world.exceptions.items.size).toBe(0);
  });

  it('is complete when the notice ships every line of the order', async () => {
    const record = dropShipOrder();
    world.orders.records.set(ORDER_ID, {
      ...record,
      order: { ...record.order, lines: record.order.lines.filter((l) => l.lineNo === 10) },
    });

    const response = await world.deliver(batch(['m-1', JSON.stringify(asn())]));

    expect(response.batchItemFailures).toEqual([]);
    expect(world.events.detailOf(ORDER_ID, 'shipment.confirmed')).toMatchObject({ partial: false });
  });

  it('a redelivered ASN publishes the same idempotency key again (collapsed downstream)', async () => {
    const body = JSON.stringify(asn());

    await world.deliver(batch(['m-1', body]));
    await world.deliver(batch(['m-1', body]));

    expect(world.events.all.map((e) => e.detail.idempotencyKey)).toEqual([
      `${ORDER_ID}:shipment.confirmed:AQD-ASN-000001`,
      `${ORDER_ID}:shipment.confirmed:AQD-ASN-000001`,
    ]);
    expect(world.exceptions.items.size).toBe(0);
  });
});

describe('drop-ship handler, SQS mode: quarantine', () => {
  it('quarantines a body that is not JSON; the message succeeds', async () => {
    const raw = 'ASN|AQD-ASN-000001|ORD-1';

    const response = await world.deliver(batch(['m-1', raw]));

    expect(response).toEqual({ batchItemFailures: [] });
    const exception = expectQuarantined(raw, 'VENDOR_ASN_NOT_JSON');
    expect(exception.orderId).toMatch(/^FEED-vendor-asn-/);
    expect(exception.violations).toEqual([expect.objectContaining({ path: '', rule: 'json' })]);
    expect(world.orders.reads).toEqual([]);
  });

  it('quarantines an ASN for an unknown order, filed under the order it names', async () => {
    const raw = JSON.stringify(asn({ buyerReference: 'ORD-404' }));

    const response = await world.deliver(batch(['m-1', raw]));

    expect(response).toEqual({ batchItemFailures: [] });
    const exception = expectQuarantined(raw, 'VENDOR_ASN_UNKNOWN_ORDER');
    expect(exception.orderId).toBe('ORD-404');
    expect(exception.violations).toEqual([
      expect.objectContaining({ path: 'buyerReference', rule: 'unknown-order' }),
    ]);
  });

  it('refuses a reference that is no order id before looking anything up, filed under a FEED- id', async () => {
    const raw = JSON.stringify(asn({ buyerReference: 'PO #77 / Summit' }));

    const response = await world.deliver(batch(['m-1', raw]));

    expect(response).toEqual({ batchItemFailures: [] });
    const exception = expectQuarantined(raw, 'VENDOR_ASN_INVALID');
    expect(exception.orderId).toMatch(/^FEED-vendor-asn-/);
    expect(exception.violations).toEqual([
      expect.objectContaining({ path: 'buyerReference', rule: expect.stringMatching(/^pattern:/) }),
    ]);
  });

  it('refuses a notice over 256 KB on the document, naming the limit', async () => {
    const raw = JSON.stringify(asn({ note: 'n'.repeat(300 * 1024) } as never));

    const response = await world.deliver(batch(['m-1', raw]));

    expect(response).toEqual({ batchItemFailures: [] });
    const exception = expectQuarantined(raw, 'VENDOR_ASN_TOO_LARGE');
    expect(exception.violations).toEqual([
      expect.objectContaining({
        path: '',
        rule: 'maxBytes:262144',
        message: expect.stringContaining('EventBridge'),
      }),
    ]);
  });

  it('quarantines an ASN for a purchase order the order does not have, under the order', async () => {
    const raw = JSON.stringify(asn({ purchaseOrderNumber: `${ORDER_ID}-V-OTHER` }));

    const response = await world.deliver(batch(['m-1', raw]));

    expect(response).toEqual({ batchItemFailures: [] });
    const exception = expectQuarantined(raw, 'VENDOR_ASN_UNKNOWN_PURCHASE_ORDER');
    expect(exception.orderId).toBe(ORDER_ID);
    expect(exception.violations).toEqual([
      expect.objectContaining({ path: 'purchaseOrderNumber', rule: 'unknown-purchase-order' }),
    ]);
  });

  it("quarantines an ASN from a vendor other than the purchase order's", async () => {
    const raw = JSON.stringify(asn({ vendorCode: 'V-TANKWORKS' }));

    await world.deliver(batch(['m-1', raw]));

    expectQuarantined(raw, 'VENDOR_ASN_UNKNOWN_PURCHASE_ORDER');
  });

  it('quarantines an ASN shipping a line that is not on its purchase order', async () => {
    const raw = JSON.stringify(
      asn({ lines: [{ lineNumber: 20, itemCode: 'TANK-PRESS-80', quantityShipped: 2 }] }),
    );

    const response = await world.deliver(batch(['m-1', raw]));

    expect(response).toEqual({ batchItemFailures: [] });
    const exception = expectQuarantined(raw, 'VENDOR_ASN_LINE_NOT_ON_PURCHASE_ORDER');
    expect(exception.violations).toEqual([
      expect.objectContaining({ path: 'lines', rule: 'line-not-on-purchase-order' }),
    ]);
  });

  /**
   * An ASN that breaks the vendor contract, or passes it but cannot make a canonical shipment.confirmed
   * (a 41-character SCAC), is quarantined with its field violations; its message succeeds, never retried.
   */
  const invalidAsns: [string, Partial<AdvanceShipNotice>][] = [
    ['no lines', { lines: [] }],
    ['a zero shipped quantity', { lines: [{ lineNumber: 10, itemCode: 'PUMP-SUB-75', quantityShipped: 0 }] }],
    ['no ASN number', { asnNumber: '' }],
    ['a shippedAt that is no timestamp', { shippedAt: 'tomorrow' }],
    [
      'a carrier SCAC longer than shipment.confirmed allows',
      { carrier: { scac: 'R'.repeat(41), trackingNumber: 'T1' } },
    ],
  ];

  for (const [what, edit] of invalidAsns) {
    it(`quarantines an invalid ASN (${what}) as VENDOR_ASN_INVALID; the message succeeds`, async () => {
      const raw = JSON.stringify(asn(edit));

      const response = await world.deliver(batch(['m-1', raw]));

      expect(response).toEqual({ batchItemFailures: [] });
      const exception = expectQuarantined(raw, 'VENDOR_ASN_INVALID');
      expect(exception.violations?.length).toBeGreaterThan(0);
    });
  }

  it('a redelivered bad message finds the same exception', async () => {
    const raw = JSON.stringify(asn({ buyerReference: 'ORD-404' }));

    const first = await world.deliver(batch(['m-1', raw]));
    const second = await world.deliver(batch(['m-1', raw]));

    expect(first.batchItemFailures).toEqual([]);
    expect(second.batchItemFailures).toEqual([]);
    expect(world.exceptions.items.size).toBe(1);
    const [exception] = world.exceptions.items.values();
    expect(world.events.all.map((e) => [e.name, e.detail.idempotencyKey])).toEqual([
      ['exception.raised', `${exception?.exceptionId}:raised`],
      ['exception.raised', `${exception?.exceptionId}:raised`],
    ]);
  });
});

describe('drop-ship handler, SQS mode: transient failures', () => {
  it('fails only the message whose order could not be read', async () => {
    world.orders.records.set('ORD-2', { ...dropShipOrder(), orderId: 'ORD-2' });
    world.orders.failOn.set('ORD-2', new Error('DynamoDB throttled'));
    const good = JSON.stringify(asn());
    const unlucky = JSON.stringify(asn({ asnNumber: 'AQD-ASN-000002', buyerReference: 'ORD-2' }));

    const response = await world.deliver(
      batch(['m-good', good], ['m-unlucky', unlucky], ['m-bad', 'not json']),
    );

    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-unlucky' }] });
    expect(world.events.namesFor(ORDER_ID)).toEqual(['shipment.confirmed']);
    expect(world.events.namesFor('ORD-2')).toEqual([]);
    expect(world.exceptions.only().reasonCodes).toEqual(['VENDOR_ASN_NOT_JSON']);
  });

  it('does not quarantine a transient failure: the retry succeeds', async () => {
    world.orders.failOn.set(ORDER_ID, new OrderNotFound(ORDER_ID));
    const body = JSON.stringify(asn());

    const failed = await world.deliver(batch(['m-1', body]));
    world.orders.failOn.clear();
    const retried = await world.deliver(batch(['m-1', body]));

    expect(failed).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-1' }] });
    expect(retried).toEqual({ batchItemFailures: [] });
    expect(world.exceptions.items.size).toBe(0);
    expect(world.names()).toEqual(['shipment.confirmed']);
  });

  it('fails the message when the event bus is down', async () => {
    world.events.failures = 1;

    const response = await world.deliver(batch(['m-1', JSON.stringify(asn())]));

    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-1' }] });
    expect(world.events.all).toEqual([]);
  });

  it('an empty batch succeeds', async () => {
    expect(await world.deliver(batch())).toEqual({ batchItemFailures: [] });
  });
});

describe('the hostile vendor ASN corpus (test/fixtures/hostile/vendor-asn.ts), case by case', () => {
  it.each(vendorAsnCases().map((c) => [c.name, c] as const))('%s', async (_name, hostile) => {
    const expected = hostile.expect;
    if (expected.outcome !== 'rejected') throw new Error('the vendor ASN corpus holds rejections only');

    const response = await world.deliver(batch(['m-1', hostile.input]));

    expect(response).toEqual({ batchItemFailures: [] });
    const exception = world.exceptions.only();
    expect(exception).toMatchObject({
      ownerTeam: expected.owner,
      type: expected.type,
      state: 'open',
      context: expect.objectContaining({ payload: hostile.input }),
    });
    expect(exception.violations).toContainEqual(
      expect.objectContaining({ path: expected.path, rule: expect.stringContaining(expected.rule) }),
    );
    expect(world.names()).toEqual(['exception.raised']);
  });
});
