import { readFileSync } from 'node:fs';
import { beforeEach, describe, expect, it } from 'vitest';
import { parseDetail } from '../../../contracts/events.ts';
import type { OrderStage } from '../../../contracts/vocabulary.ts';
import type { CatalogueItem } from '../../../lambdas/adapters/edi/x12-850.ts';
import type { OutboundDocument } from '../../../lambdas/adapters/edi/x12-outbound.ts';
import { canTransition } from '../../../lambdas/core/order-lifecycle.ts';
import type {
  ControlNumberPort,
  ControlNumberReservation,
  EdiAcceptance,
  EdiGateway,
  EdiPurchaseOrder,
  EdiPurchaseOrderStore,
  OrderPatch,
  OrderRecord,
  OrderRepository,
  TradingPartner,
} from '../../../lambdas/ports/index.ts';
import {
  ConcurrentOrderUpdate,
  EdiInvoiceMismatch,
  IllegalStageTransition,
  NotAnEdiOrder,
  OrderNotFound,
  PartnerRejected,
  PartnerUnavailable,
  PurchaseOrderReferenceMissing,
} from '../../../lambdas/shared/errors.ts';
import {
  acknowledgePurchaseOrder,
  type EdiDeps,
  type Ingest850Outcome,
  type InvoiceIssuedDetail,
  ingest850,
  type ShipmentConfirmedDetail,
  sendAdvanceShipNotice,
  sendEdiInvoice,
} from '../../../lambdas/use-cases/edi-replenishment.ts';
import { readX12Envelope } from '../../../local/partners/edi.ts';
import { SEED_CATALOGUE, samplePurchaseOrder850 } from '../../../local/partners/seed.ts';
import { ediBaseOrders, ediCases, interchangeIn, keptOfEdiMessage } from '../../fixtures/hostile/edi.ts';
import { InMemoryExceptions } from '../../support/in-memory-exceptions.ts';
import { RecordingPublisher } from '../../support/recording-publisher.ts';

// ---------------------------------------------------------------------------------------------------------
// In-memory fakes of the ports
// ---------------------------------------------------------------------------------------------------------

class TestClock {
  constructor(public current: Date) {}
  now(): Date {
    return new Date(this.current);
  }
}

/** The order table's semantics: legal moves only, optimistic lock on version, history appended. */
class InMemoryOrders implements OrderRepository {
  readonly records = new Map<string, OrderRecord>();
  constructor(private readonly clock: TestClock) {}

  async createIfAbsent(record: OrderRecord) {
    const existing = this.records.get(record.orderId);
    if (existing) return { created: false as const, existing };
    this.records.set(record.orderId, record);
    return { created: true as const };
  }

  async get(orderId: string): Promise<OrderRecord | undefined> {
    return this.records.get(orderId);
  }

  async annotate(current: OrderRecord, patch: OrderPatch): Promise<OrderRecord> {
    return this.update(current, patch);
  }

  async transition(
    current: OrderRecord,
    to: OrderStage,
    reasonCodes: readonly string[],
    patch: OrderPatch = {},
  ): Promise<OrderRecord> {
    if (!canTransition(current.stage, to))
      throw new IllegalStageTransition(current.orderId, current.stage, to);
    return this.update(current, patch, { to, reasonCodes });
  }

  private update(
    current: OrderRecord,
    patch: OrderPatch,
    move?: { to: OrderStage; reasonCodes: readonly string[] },
  ): OrderRecord {
    const stored = this.records.get(current.orderId);
    if (!stored) throw new OrderNotFound(current.orderId);
    if (stored.version !== current.version) throw new ConcurrentOrderUpdate(current.orderId, current.version);
    const { addExceptionId: _ignored, ...fields } = patch;
    const at = this.clock.now().toISOString();
    const next: OrderRecord = {
      ...stored,
      ...fields,
      version: stored.version + 1,
      updatedAt: at,
      ...(move
        ? {
            stage: move.to,
            stageHistory: [
              ...stored.stageHistory,
              { stage: move.to, at, reasonCodes: [...move.reasonCodes] },
            ],
          }
        : {}),
    };
    this.records.set(current.orderId, next);
    return next;
  }
}

class InMemoryPurchaseOrders implements EdiPurchaseOrderStore {
  readonly items = new Map<string, EdiPurchaseOrder>();

  async putIfAbsent(purchaseOrder: EdiPurchaseOrder) {
    if (this.items.has(purchaseOrder.orderId)) return { created: false };
    this.items.set(purchaseOrder.orderId, purchaseOrder);
    return { created: true };
  }

  async get(orderId: string) {
    return this.items.get(orderId);
  }
}

/** A counter per partner and one reservation per document key, as the port promises. */
class InMemoryControlNumbers implements ControlNumberPort {
  readonly counters = new Map<string, number>();
  readonly reservations = new Map<string, ControlNumberReservation>();

  async reserve(partnerId: string, documentKey: string, at: Date): Promise<ControlNumberReservation> {
    const key = `${partnerId}|${documentKey}`;
    const existing = this.reservations.get(key);
    if (existing) return existing;
    const next = (this.counters.get(partnerId) ?? 0) + 1;
    this.counters.set(partnerId, next);
    const reservation = { controlNumber: next, reservedAt: at.toISOString() };
    this.reservations.set(key, reservation);
    return reservation;
  }
}

/**
 * The gateway's contract at the port: the envelope is checked as the gateway checks it (400 otherwise), a
 * key is answered once (the same bytes replay the acceptance, other bytes are refused 422), and queued
 * failures are thrown first.
 */
class RecordingGateway implements EdiGateway {
  readonly sent: OutboundDocument[] = [];
  readonly failures: Error[] = [];
  private readonly accepted = new Map<string, { x12: string; acceptance: EdiAcceptance }>();

  constructor(private readonly clock: TestClock) {}

  async send(document: OutboundDocument): Promise<EdiAcceptance> {
    const failure = this.failures.shift();
    if (failure) throw failure;
    const envelope = readX12Envelope(document.x12);
    if (!envelope.ok) throw new PartnerRejected('edi', `invalid_x12: ${envelope.errors.join('; ')}`, 400);
    const earlier = this.accepted.get(document.idempotencyKey);
    if (earlier) {
      if (earlier.x12 !== document.x12) throw new PartnerRejected('edi', 'idempotency_key_reused', 422);
      this.sent.push(document);
      return earlier.acceptance;
    }
    const acceptance = {
      acceptanceId: `EDI-ACC-${String(this.accepted.size + 1).padStart(6, '0')}`,
      receivedAt: this.clock.now().toISOString(),
    };
    this.accepted.set(document.idempotencyKey, { x12: document.x12, acceptance });
    this.sent.push(document);
    return acceptance;
  }

  /** Documents of one transaction set, e.g. '997'. */
  of(transactionSet: string): OutboundDocument[] {
    return this.sent.filter((d) => rows(d.x12, 'ST')[0]?.[0] === transactionSet);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Reference data: C-7007 from the partner seed, and the RETAILCO partner of the X12 fixtures
// ---------------------------------------------------------------------------------------------------------

/** Lakeshore Home Centers, C-7007: ERP payment terms NET45, CRM tier Key Account, ISA06 LAKESHOREHC. */
const LAKESHORE: TradingPartner = {
  interchange: { qualifier: 'ZZ', id: 'LAKESHOREHC' },
  profile: {
    customerId: 'C-7007',
    customerName: 'Lakeshore Home Centers',
    segment: 'enterprise',
    priority: 'key-account',
    paymentTerms: 'NET45',
    fulfilment: 'ship-partial',
    currency: 'USD',
    defaultCountry: 'US',
  },
};

const RETAILCO: TradingPartner = {
  interchange: { qualifier: 'ZZ', id: 'RETAILCO' },
  profile: {
    customerId: 'CUST-RETAILCO',
    customerName: 'RetailCo Stores',
    segment: 'enterprise',
    priority: 'key-account',
    paymentTerms: 'NET30',
    fulfilment: 'ship-partial',
    currency: 'USD',
    uomMap: { CA: 'CS' },
    buyerItems: { '100200301': 'SKU-2002' },
  },
  layout: { newlineAfterSegment: true },
};

/** The ERP item master's standard costs, and the SKUs the X12 fixtures order. */
const CATALOGUE: Readonly<Record<string, CatalogueItem>> = {
  ...Object.fromEntries(
    SEED_CATALOGUE.map((item) => [item.Material, { unitCost: Number(item.StandardCost) }]),
  ),
  'SKU-1001': { unitCost: 7.1, upc: '012345678905' },
  'SKU-2002': { unitCost: 18.75 },
  'SKU-3003': { unitCost: 2.4, upc: '012345678912' },
  'SKU-4004': { unitCost: 61.5 },
};

const HANDOFF = { qualifier: 'ZZ', id: 'HANDOFFDIST' };
/** The X12 fixtures are interchanges of 2025-03-03; they are received the day after. */
const FIXTURE_DAY = new Date('2025-03-04T18:00:00Z');
const SAMPLE_DAY = new Date('2026-11-23T09:00:00Z');
const SAMPLE_ORDER = 'EDI-C-7007-PO-5531';

const fixture = (name: string) =>
  readFileSync(new URL(`../../fixtures/edi/${name}`, import.meta.url), 'utf8');

/** Segments of an interchange written with `*` and `~`, as element arrays without the tag. */
function rows(x12: string, tag: string): string[][] {
  return x12
    .split('~')
    .map((segment) => segment.trim().split('*'))
    .filter(([head]) => head === tag)
    .map(([, ...elements]) => elements);
}

let clock: TestClock;
let orders: InMemoryOrders;
let exceptions: InMemoryExceptions;
let events: RecordingPublisher;
let purchaseOrders: InMemoryPurchaseOrders;
let controlNumbers: InMemoryControlNumbers;
let gateway: RecordingGateway;
let deps: EdiDeps;

beforeEach(() => {
  clock = new TestClock(SAMPLE_DAY);
  orders = new InMemoryOrders(clock);
  exceptions = new InMemoryExceptions();
  events = new RecordingPublisher();
  purchaseOrders = new InMemoryPurchaseOrders();
  controlNumbers = new InMemoryControlNumbers();
  gateway = new RecordingGateway(clock);
  const partners = new Map([LAKESHORE, RETAILCO].map((p) => [p.interchange.id, p]));
  deps = {
    orders,
    exceptions,
    events,
    clock,
    partners: { all: async () => partners },
    catalogue: { items: async () => CATALOGUE },
    purchaseOrders,
    controlNumbers,
    gateway,
    interchangeId: HANDOFF,
  };
});

function samplePo(
  options: {
    poNumber?: string;
    controlNumber?: number;
    lines?: { sku: string; quantity: number; unitPrice: string }[];
  } = {},
) {
  return samplePurchaseOrder850({
    poNumber: options.poNumber ?? 'PO-5531',
    at: SAMPLE_DAY,
    ...(options.controlNumber !== undefined ? { controlNumber: options.controlNumber } : {}),
    ...(options.lines ? { lines: options.lines } : {}),
  });
}

function accepted(outcome: Ingest850Outcome) {
  if (outcome.kind !== 'accepted')
    throw new Error(`expected an accepted interchange, got ${JSON.stringify(outcome)}`);
  return outcome;
}

function rejected(outcome: Ingest850Outcome) {
  if (outcome.kind !== 'rejected')
    throw new Error(`expected a rejected interchange, got ${JSON.stringify(outcome)}`);
  return outcome;
}

/** Moves a received order along the path as the credit and allocation steps would. */
async function decide(
  orderId: string,
  outcome: { rejected: true } | { allocated: readonly { lineNo: number; sku: string; quantity: number }[] },
): Promise<void> {
  let record = await orders.get(orderId);
  if (!record) throw new Error(`no order ${orderId}`);
  record = await orders.transition(record, 'accepted', ['ROUTED']);
  if ('rejected' in outcome) {
    await orders.transition(record, 'rejected', ['ACCOUNT_CLOSED']);
    return;
  }
  record = await orders.transition(record, 'credit-approved', ['WITHIN_LIMIT']);
  const allocated = outcome.allocated;
  const short = record.order.lines.flatMap((line) => {
    const got = allocated.find((a) => a.lineNo === line.lineNo)?.quantity ?? 0;
    return got < line.quantity
      ? [
          {
            lineNo: line.lineNo,
            sku: line.sku,
            requested: line.quantity,
            available: got,
            shortBy: line.quantity - got,
          },
        ]
      : [];
  });
  const status = allocated.length === 0 ? 'backorder' : short.length > 0 ? 'partial' : 'full';
  await orders.transition(record, status === 'backorder' ? 'backordered' : 'allocated', ['ALLOCATED'], {
    allocation: {
      status,
      siteId: allocated.length > 0 ? 'DC-EAST' : null,
      allocated,
      short,
      ...(allocated.length > 0 ? { reservationId: 'RSV-1' } : {}),
    },
  });
}

const ALL_OF_SAMPLE = [
  { lineNo: 1, sku: 'VALVE-BALL-1IN', quantity: 48 },
  { lineNo: 2, sku: 'TAPE-48MM', quantity: 240 },
];

// ---------------------------------------------------------------------------------------------------------
// ingest850
// ---------------------------------------------------------------------------------------------------------

describe('ingest850: accepted interchanges', () => {
  it("creates the retail chain's order at received, announces it and answers with an accepting 997", async () => {
    const outcome = accepted(await ingest850(samplePo(), deps));

    expect(outcome).toMatchObject({
      partnerId: 'LAKESHOREHC',
      interchange: '000000001',
      purchaseOrders: [{ kind: 'received', orderId: SAMPLE_ORDER }],
      acknowledgment: { sent: true, controlNumber: 1, acceptanceId: 'EDI-ACC-000001' },
    });
    const record = orders.records.get(SAMPLE_ORDER);
    expect(record).toMatchObject({ stage: 'received', version: 1 });
    expect(record?.order).toMatchObject({
      source: { system: 'edi', reference: 'PO-5531' },
      channel: 'retail-replenishment',
      customer: {
        id: 'C-7007',
        priority: 'key-account',
        terms: { paymentTerms: 'NET45', fulfilment: 'ship-partial' },
      },
      lines: [
        { lineNo: 1, sku: 'VALVE-BALL-1IN', quantity: 48, unitPrice: 22.4, unitCost: 14.2 },
        { lineNo: 2, sku: 'TAPE-48MM', quantity: 240, unitPrice: 2.15, unitCost: 1.1 },
      ],
    });
    expect(record?.stageHistory[0]?.reasonCodes).toEqual([
      'EDI_850_PURCHASE_ORDER',
      'EDI_INTERCHANGE:LAKESHOREHC-000000001',
    ]);
    expect(events.namesFor(SAMPLE_ORDER)).toEqual(['order.received']);
    expect(events.detailOf(SAMPLE_ORDER, 'order.received')).toMatchObject({
      idempotencyKey: `${SAMPLE_ORDER}:received`,
    });
    expect(purchaseOrders.items.get(SAMPLE_ORDER)).toMatchObject({
      partnerId: 'LAKESHOREHC',
      interchange: { isa13: '000000001', gs06: '1' },
      reference: { poNumber: 'PO-5531', shipToLocation: { qualifier: '92', code: '0112' } },
    });

    const [ack] = gateway.of('997');
    expect(ack?.idempotencyKey).toBe('edi-997:LAKESHOREHC:000000001:1');
    expect(readX12Envelope(ack?.x12 ?? '')).toMatchObject({
      ok: true,
      value: {
        sender: 'HANDOFFDIST',
        receiver: 'LAKESHOREHC',
        functionalId: 'FA',
        interchangeControlNumber: '000000001',
      },
    });
    expect(rows(ack?.x12 ?? '', 'AK1')).toEqual([['PO', '1']]);
    expect(rows(ack?.x12 ?? '', 'AK5')).toEqual([['A']]);
    expect(rows(ack?.x12 ?? '', 'AK9')).toEqual([['A', '1', '1', '1']]);
  });

  it('creates every purchase order of a two-PO interchange and acknowledges both sets in one 997', async () => {
    clock.current = FIXTURE_DAY;
    const outcome = accepted(await ingest850(fixture('850-two-purchase-orders.edi'), deps));

    expect(outcome.purchaseOrders).toEqual([
      { kind: 'received', orderId: 'EDI-CUST-RETAILCO-4500012345' },
      { kind: 'received', orderId: 'EDI-CUST-RETAILCO-4500012346' },
    ]);
    expect(purchaseOrders.items.get('EDI-CUST-RETAILCO-4500012345')?.reference.lines[0]?.productIds).toEqual({
      BP: '100200300',
      VP: 'SKU-1001',
      UP: '012345678905',
    });
    const ack = gateway.of('997')[0]?.x12 ?? '';
    expect(rows(ack, 'AK2')).toEqual([
      ['850', '0001'],
      ['850', '0002'],
    ]);
    expect(rows(ack, 'AK9')).toEqual([['A', '2', '2', '2']]);
    expect(events.all.map((e) => e.name)).toEqual(['order.received', 'order.received']);
  });

  it('is safe on redelivery: no second order, the order announced again while still received, the same 997', async () => {
    const first = accepted(await ingest850(samplePo(), deps));
    const again = accepted(await ingest850(samplePo(), deps));

    expect(again.purchaseOrders).toEqual([{ kind: 'duplicate', orderId: SAMPLE_ORDER, republished: true }]);
    expect(again.acknowledgment).toEqual(first.acknowledgment);
    const [one, two] = gateway.of('997');
    expect(two?.x12).toBe(one?.x12);
    expect(controlNumbers.counters.get('LAKESHOREHC')).toBe(1);
    expect(orders.records.get(SAMPLE_ORDER)?.version).toBe(1);
    expect(events.namesFor(SAMPLE_ORDER)).toEqual(['order.received', 'order.received']);
  });

  it('does not announce a redelivered order again once the path has moved it on', async () => {
    await ingest850(samplePo(), deps);
    await decide(SAMPLE_ORDER, { allocated: ALL_OF_SAMPLE });
    const again = accepted(await ingest850(samplePo(), deps));
    expect(again.purchaseOrders).toEqual([{ kind: 'duplicate', orderId: SAMPLE_ORDER, republished: false }]);
    expect(events.namesFor(SAMPLE_ORDER)).toEqual(['order.received']);
  });

  it('recognises the same PO re-sent in a new interchange by its content, and acknowledges the new interchange', async () => {
    await ingest850(samplePo(), deps);
    const resent = accepted(await ingest850(samplePo({ controlNumber: 2 }), deps));

    expect(resent.purchaseOrders).toEqual([{ kind: 'duplicate', orderId: SAMPLE_ORDER, republished: true }]);
    expect(resent.acknowledgment).toMatchObject({ sent: true, controlNumber: 2 });
    expect(gateway.of('997').map((d) => d.idempotencyKey)).toEqual([
      'edi-997:LAKESHOREHC:000000001:1',
      'edi-997:LAKESHOREHC:000000002:2',
    ]);
  });

  it('quarantines a PO number re-sent with other content for customer service, leaving the order as it was', async () => {
    await ingest850(samplePo(), deps);
    const changed = [{ sku: 'VALVE-BALL-1IN', quantity: 60, unitPrice: '22.40' }];
    const outcome = accepted(await ingest850(samplePo({ controlNumber: 2, lines: changed }), deps));

    const [result] = outcome.purchaseOrders;
    expect(result).toMatchObject({ kind: 'quarantined', orderId: SAMPLE_ORDER, alreadyQuarantined: false });
    const exceptionId = result?.kind === 'quarantined' ? result.exceptionId : '';
    expect(exceptions.items.get(exceptionId)).toMatchObject({
      type: 'validation',
      ownerTeam: 'customer-service',
      reasonCodes: ['EDI_PO_CHANGED_AFTER_RECEIPT'],
      violations: [{ path: 'BEG.BEG03', rule: 'changedAfterReceipt' }],
    });
    expect(orders.records.get(SAMPLE_ORDER)?.order.lines).toHaveLength(2);
    // The live order is not rejected, only the change to it.
    expect(events.namesFor(SAMPLE_ORDER)).toEqual(['order.received', 'exception.raised']);
    // The interchange itself was well formed: the 997 accepts it.
    expect(outcome.acknowledgment).toMatchObject({ sent: true });
  });

  it('throws on a gateway outage after the orders exist, and the redelivery sends the 997 it owed', async () => {
    gateway.failures.push(new PartnerUnavailable('edi', 'POST /edi/outbound answered 503', 503));
    await expect(ingest850(samplePo(), deps)).rejects.toBeInstanceOf(PartnerUnavailable);
    expect(orders.records.get(SAMPLE_ORDER)?.stage).toBe('received');

    const redelivered = accepted(await ingest850(samplePo(), deps));
    expect(redelivered.acknowledgment).toMatchObject({ sent: true, controlNumber: 1 });
    expect(gateway.of('997')).toHaveLength(1);
    expect(orders.records.size).toBe(1);
  });

  it('keeps the orders when the gateway refuses the 997, and makes the unsent 997 integration work', async () => {
    gateway.failures.push(new PartnerRejected('edi', 'POST /edi/outbound answered 400: invalid_x12', 400));
    const outcome = accepted(await ingest850(samplePo(), deps));

    expect(outcome.purchaseOrders).toEqual([{ kind: 'received', orderId: SAMPLE_ORDER }]);
    expect(outcome.acknowledgment).toMatchObject({
      sent: false,
      reason: expect.stringContaining('PartnerRejected'),
    });
    const [exception] = exceptions.items.values();
    expect(exception).toMatchObject({
      type: 'integration-failure',
      ownerTeam: 'integration',
      orderId: 'EDI-IC-LAKESHOREHC-000000001',
      reasonCodes: ['EDI_997_NOT_SENT'],
    });
    // The 997 is attempted before the order is announced, so its exception comes first.
    expect(events.all.map((e) => e.name)).toEqual(['exception.raised', 'order.received']);
  });
});

describe('ingest850: rejected interchanges', () => {
  beforeEach(() => {
    clock.current = FIXTURE_DAY;
  });

  it.each([
    { file: '850-se-count-wrong.edi', code: 'SEGMENT_COUNT_MISMATCH', team: 'integration', ak5: ['R', '4'] },
    {
      file: '850-iea-control-mismatch.edi',
      code: 'CONTROL_NUMBER_MISMATCH',
      team: 'integration',
      ak5: ['R'],
    },
    { file: '850-ctt-mismatch.edi', code: 'LINE_COUNT_MISMATCH', team: 'customer-service', ak5: ['R', '5'] },
    {
      file: '850-non-numeric-quantity.edi',
      code: 'INVALID_ELEMENT',
      team: 'customer-service',
      ak5: ['R', '5'],
    },
    { file: '850-missing-ship-to.edi', code: 'MISSING_SEGMENT', team: 'customer-service', ak5: ['R', '5'] },
    {
      file: '850-cancel-purpose.edi',
      code: 'UNSUPPORTED_PURPOSE',
      team: 'customer-service',
      ak5: ['R', '5'],
    },
    { file: '850-unknown-sku.edi', code: 'UNKNOWN_ITEM', team: 'customer-service', ak5: ['R', '5'] },
  ])(
    '$file: nothing created, a $team exception, a rejecting 997 to the partner',
    async ({ file, code, team, ak5 }) => {
      const outcome = rejected(await ingest850(fixture(file), deps));

      expect(outcome).toMatchObject({
        code,
        orderId: 'EDI-IC-RETAILCO-000004521',
        acknowledgment: { sent: true, controlNumber: 1 },
        alreadyQuarantined: false,
      });
      expect(orders.records.size).toBe(0);
      expect(purchaseOrders.items.size).toBe(0);
      const exception = exceptions.items.get(outcome.exceptionId);
      expect(exception).toMatchObject({
        type: 'validation',
        ownerTeam: team,
        stage: 'received',
        priority: 'high',
        reasonCodes: ['EDI_INTERCHANGE_REJECTED', `EDI_FINDING:${code}`],
        context: {
          source: 'edi',
          senderId: 'RETAILCO',
          payload: fixture(file),
          acknowledgment: { sent: true },
        },
      });
      expect(exception?.violations?.length).toBe(outcome.errors.length);
      expect(exception?.recommendedAction).toContain('a rejecting 997 was sent');
      expect(events.all.map((e) => e.name)).toEqual(['order.rejected', 'exception.raised']);
      expect(events.detailOf(outcome.orderId, 'order.rejected')).toMatchObject({
        exceptionId: outcome.exceptionId,
        reasonCodes: ['EDI_INTERCHANGE_REJECTED', `EDI_FINDING:${code}`],
      });
      const ack = gateway.of('997')[0]?.x12 ?? '';
      expect(rows(ack, 'AK9')[0]?.slice(0, 4)).toEqual(['R', '2', '2', '0']);
      // The set with the finding says why; the whole interchange was refused, so every set is R.
      expect(rows(ack, 'AK5')).toContainEqual(ak5);
      expect(rows(ack, 'AK5').map((r) => r[0])).toEqual(['R', 'R']);
      expect(readX12Envelope(ack)).toMatchObject({
        ok: true,
        value: { receiver: 'RETAILCO', functionalId: 'FA' },
      });
    },
  );

  it('names the segment, position and element of each finding, for the partner and the operator', async () => {
    const outcome = rejected(await ingest850(fixture('850-unknown-sku.edi'), deps));
    const exception = exceptions.items.get(outcome.exceptionId);
    expect(exception?.violations).toEqual([
      {
        path: 'ST[0002].PO1[9].PO107',
        rule: 'knownItem',
        message: 'PO1 line 002 names no item in the catalogue (VP SKU-9999)',
      },
    ]);
    const ack = gateway.of('997')[0]?.x12 ?? '';
    expect(rows(ack, 'AK3')).toEqual([['PO1', '9', '', '8']]);
    expect(rows(ack, 'AK4')).toEqual([['7', '', '7', 'SKU-9999']]);
  });

  it('answers a truncated interchange with a 997 that reports the missing group trailer', async () => {
    const outcome = rejected(await ingest850(fixture('850-truncated.edi'), deps));
    expect(outcome.code).toBe('MALFORMED_ENVELOPE');
    expect(exceptions.items.get(outcome.exceptionId)?.ownerTeam).toBe('integration');
    expect(rows(gateway.of('997')[0]?.x12 ?? '', 'AK9')).toEqual([['R', '2', '2', '0', '3']]);
  });

  it('sends nothing to an unknown sender and gives integration the interchange to set up or refuse', async () => {
    const outcome = rejected(await ingest850(fixture('850-unknown-sender.edi'), deps));

    expect(outcome).toMatchObject({
      code: 'UNKNOWN_TRADING_PARTNER',
      orderId: 'EDI-IC-SHADYMART-000004521',
      acknowledgment: {
        sent: false,
        reason: expect.stringContaining('SHADYMART has no trading partner profile'),
      },
    });
    expect(gateway.sent).toHaveLength(0);
    expect(controlNumbers.counters.size).toBe(0);
    expect(exceptions.items.get(outcome.exceptionId)).toMatchObject({ ownerTeam: 'integration' });
  });

  it('files a document that is no interchange at all under its hash, with nothing to answer', async () => {
    const outcome = rejected(await ingest850('hello, this is not X12', deps));
    expect(outcome.orderId).toMatch(/^UNIDENTIFIED-[0-9a-f]{16}$/);
    expect(outcome.acknowledgment).toMatchObject({ sent: false });
    expect(gateway.sent).toHaveLength(0);
    expect(exceptions.items.get(outcome.exceptionId)?.context).toMatchObject({
      payload: 'hello, this is not X12',
    });
  });

  it('is one exception however often the same broken interchange is delivered', async () => {
    const first = rejected(await ingest850(fixture('850-ctt-mismatch.edi'), deps));
    const again = rejected(await ingest850(fixture('850-ctt-mismatch.edi'), deps));

    expect(again).toMatchObject({ exceptionId: first.exceptionId, alreadyQuarantined: true });
    expect(exceptions.items.size).toBe(1);
    const [one, two] = gateway.of('997');
    expect(two?.x12).toBe(one?.x12);
  });
});

// ---------------------------------------------------------------------------------------------------------
// acknowledgePurchaseOrder (855)
// ---------------------------------------------------------------------------------------------------------

describe('acknowledgePurchaseOrder', () => {
  beforeEach(async () => {
    await ingest850(samplePo(), deps);
  });

  it('accepts every line reserved in full (BAK02 AD), echoing the PO and ship-to, to the partner it came from', async () => {
    await decide(SAMPLE_ORDER, { allocated: ALL_OF_SAMPLE });
    const result = await acknowledgePurchaseOrder(SAMPLE_ORDER, deps);

    expect(result).toEqual({
      kind: 'sent',
      orderId: SAMPLE_ORDER,
      documentType: '855',
      partnerId: 'LAKESHOREHC',
      // The 997 for the 850 took number 1 of this partner's counter.
      controlNumber: 2,
      acceptanceId: 'EDI-ACC-000002',
      idempotencyKey: `edi-855:${SAMPLE_ORDER}:0002`,
      acknowledgmentType: 'AD',
      accepted: 288,
      backordered: 0,
      rejected: 0,
    });
    const x12 = gateway.of('855')[0]?.x12 ?? '';
    expect(readX12Envelope(x12)).toMatchObject({
      ok: true,
      value: {
        sender: 'HANDOFFDIST',
        receiver: 'LAKESHOREHC',
        functionalId: 'PR',
        interchangeControlNumber: '000000002',
      },
    });
    expect(rows(x12, 'BAK')).toEqual([
      ['00', 'AD', 'PO-5531', '20261123', '', '', '', SAMPLE_ORDER, '20261123'],
    ]);
    expect(rows(x12, 'N1')).toEqual([['ST', 'Lakeshore Home Centers #112', '92', '0112']]);
    expect(rows(x12, 'PO1')).toEqual([
      ['1', '48', 'EA', '22.4', '', 'VP', 'VALVE-BALL-1IN'],
      ['2', '240', 'EA', '2.15', '', 'VP', 'TAPE-48MM'],
    ]);
    expect(rows(x12, 'ACK')).toEqual([
      ['IA', '48', 'EA'],
      ['IA', '240', 'EA'],
    ]);
  });

  it('accepts what was reserved and backorders the rest of a short line (BAK02 AC)', async () => {
    await decide(SAMPLE_ORDER, {
      allocated: [
        { lineNo: 1, sku: 'VALVE-BALL-1IN', quantity: 30 },
        { lineNo: 2, sku: 'TAPE-48MM', quantity: 240 },
      ],
    });
    const result = await acknowledgePurchaseOrder(SAMPLE_ORDER, deps);

    expect(result).toMatchObject({ acknowledgmentType: 'AC', accepted: 270, backordered: 18, rejected: 0 });
    expect(rows(gateway.of('855')[0]?.x12 ?? '', 'ACK')).toEqual([
      ['IA', '30', 'EA'],
      ['IB', '18', 'EA'],
      ['IA', '240', 'EA'],
    ]);
  });

  it('backorders every line when nothing could be reserved', async () => {
    await decide(SAMPLE_ORDER, { allocated: [] });
    const result = await acknowledgePurchaseOrder(SAMPLE_ORDER, deps);

    expect(result).toMatchObject({ acknowledgmentType: 'AC', accepted: 0, backordered: 288 });
    expect(rows(gateway.of('855')[0]?.x12 ?? '', 'ACK').map((r) => r[0])).toEqual(['IB', 'IB']);
  });

  it('rejects every line of an order rejected on credit (BAK02 RD)', async () => {
    await decide(SAMPLE_ORDER, { rejected: true });
    const result = await acknowledgePurchaseOrder(SAMPLE_ORDER, deps);

    expect(result).toMatchObject({ acknowledgmentType: 'RD', accepted: 0, rejected: 288 });
    const x12 = gateway.of('855')[0]?.x12 ?? '';
    expect(rows(x12, 'BAK')[0]?.[1]).toBe('RD');
    expect(rows(x12, 'ACK').map((r) => r[0])).toEqual(['IR', 'IR']);
  });

  it('sends the same document under the same key when the step is retried', async () => {
    await decide(SAMPLE_ORDER, { allocated: ALL_OF_SAMPLE });
    const first = await acknowledgePurchaseOrder(SAMPLE_ORDER, deps);
    clock.current = new Date(SAMPLE_DAY.getTime() + 3_600_000);
    const retried = await acknowledgePurchaseOrder(SAMPLE_ORDER, deps);

    expect(retried).toEqual(first);
    const [one, two] = gateway.of('855');
    expect(two?.x12).toBe(one?.x12);
    expect(controlNumbers.counters.get('LAKESHOREHC')).toBe(2);
  });

  it('numbers documents per partner: unique within a partner, independent across partners', async () => {
    clock.current = FIXTURE_DAY;
    await ingest850(fixture('850-two-purchase-orders.edi'), deps);
    for (const orderId of ['EDI-CUST-RETAILCO-4500012345', 'EDI-CUST-RETAILCO-4500012346']) {
      const order = orders.records.get(orderId)?.order;
      await decide(orderId, {
        allocated: order?.lines.map(({ lineNo, sku, quantity }) => ({ lineNo, sku, quantity })) ?? [],
      });
    }
    await decide(SAMPLE_ORDER, { allocated: ALL_OF_SAMPLE });

    const numbers = [];
    for (const orderId of ['EDI-CUST-RETAILCO-4500012345', SAMPLE_ORDER, 'EDI-CUST-RETAILCO-4500012346']) {
      const { partnerId, controlNumber } = await acknowledgePurchaseOrder(orderId, deps);
      numbers.push([partnerId, controlNumber]);
    }
    expect(numbers).toEqual([
      ['RETAILCO', 2],
      ['LAKESHOREHC', 2],
      ['RETAILCO', 3],
    ]);
    // The partner's BP/UP item numbers and its UOM come back on the 855.
    expect(rows(gateway.of('855')[0]?.x12 ?? '', 'PO1')[0]).toEqual([
      '1',
      '24',
      'EA',
      '12.5',
      '',
      'VP',
      'SKU-1001',
      'BP',
      '100200300',
      'UP',
      '012345678905',
    ]);
  });

  it('refuses to acknowledge before the order is allocated or rejected, and sends nothing', async () => {
    const record = orders.records.get(SAMPLE_ORDER);
    if (record) await orders.transition(record, 'accepted', ['ROUTED']);
    await expect(acknowledgePurchaseOrder(SAMPLE_ORDER, deps)).rejects.toBeInstanceOf(IllegalStageTransition);
    expect(gateway.of('855')).toHaveLength(0);
  });

  it('refuses an order that did not come from an 850', async () => {
    const record = orders.records.get(SAMPLE_ORDER);
    if (!record) throw new Error('no order');
    orders.records.set('ERP-SO-1', {
      ...record,
      orderId: 'ERP-SO-1',
      order: { ...record.order, orderId: 'ERP-SO-1', source: { system: 'erp', reference: 'SO-1' } },
    });
    await expect(acknowledgePurchaseOrder('ERP-SO-1', deps)).rejects.toBeInstanceOf(NotAnEdiOrder);
    await expect(acknowledgePurchaseOrder('EDI-NOPE', deps)).rejects.toBeInstanceOf(OrderNotFound);
  });

  it('fails loudly when the PO reference was never stored, rather than send ids the retailer cannot match', async () => {
    await decide(SAMPLE_ORDER, { allocated: ALL_OF_SAMPLE });
    purchaseOrders.items.clear();
    await expect(acknowledgePurchaseOrder(SAMPLE_ORDER, deps)).rejects.toMatchObject({
      name: 'PurchaseOrderReferenceMissing',
      retryable: false,
    });
    await expect(acknowledgePurchaseOrder(SAMPLE_ORDER, deps)).rejects.toBeInstanceOf(
      PurchaseOrderReferenceMissing,
    );
  });
});

// ---------------------------------------------------------------------------------------------------------
// sendAdvanceShipNotice (856) and sendEdiInvoice (810)
// ---------------------------------------------------------------------------------------------------------

function shipmentConfirmed(overrides: Partial<ShipmentConfirmedDetail> = {}): ShipmentConfirmedDetail {
  const detail = {
    schemaVersion: 1 as const,
    orderId: SAMPLE_ORDER,
    correlationId: SAMPLE_ORDER,
    idempotencyKey: `${SAMPLE_ORDER}:shipment.confirmed:SHP-7001`,
    occurredAt: '2026-11-25T15:30:00.000Z',
    shipmentId: 'SHP-7001',
    siteId: 'DC-EAST',
    carrier: 'PCPT',
    trackingNumber: '1Z999AA10123456784',
    shippedAt: '2026-11-25T15:30:00.000Z',
    lines: [
      { lineNo: 1, sku: 'VALVE-BALL-1IN', quantity: 30 },
      { lineNo: 2, sku: 'TAPE-48MM', quantity: 240 },
    ],
    partial: true,
    ...overrides,
  };
  const parsed = parseDetail('shipment.confirmed', detail);
  if (!parsed.ok) throw parsed.error;
  return parsed.value;
}

function invoiceIssued(overrides: Partial<InvoiceIssuedDetail> = {}): InvoiceIssuedDetail {
  const detail = {
    schemaVersion: 1 as const,
    orderId: SAMPLE_ORDER,
    correlationId: SAMPLE_ORDER,
    idempotencyKey: 'INV-SHP-7001',
    occurredAt: '2026-11-25T16:00:00.000Z',
    invoiceId: 'INV-SHP-7001',
    shipmentId: 'SHP-7001',
    // 30 × 22.40 + 240 × 2.15
    amount: 1188,
    currency: 'USD',
    lines: [
      { lineNo: 1, sku: 'VALVE-BALL-1IN', quantity: 30 },
      { lineNo: 2, sku: 'TAPE-48MM', quantity: 240 },
    ],
    ...overrides,
  };
  const parsed = parseDetail('invoice.issued', detail);
  if (!parsed.ok) throw parsed.error;
  return parsed.value;
}

describe('sendAdvanceShipNotice', () => {
  beforeEach(async () => {
    await ingest850(samplePo(), deps);
  });

  it('sends the 856 of a confirmed shipment: carrier SCAC, tracking number, PO and shipped quantities', async () => {
    const result = await sendAdvanceShipNotice(shipmentConfirmed(), deps);

    expect(result).toEqual({
      kind: 'sent',
      orderId: SAMPLE_ORDER,
      documentType: '856',
      documentNumber: 'SHP-7001',
      partnerId: 'LAKESHOREHC',
      controlNumber: 2,
      acceptanceId: 'EDI-ACC-000002',
      idempotencyKey: `edi-856:${SAMPLE_ORDER}:SHP-7001`,
    });
    const x12 = gateway.of('856')[0]?.x12 ?? '';
    expect(readX12Envelope(x12)).toMatchObject({
      ok: true,
      value: { functionalId: 'SH', receiver: 'LAKESHOREHC' },
    });
    expect(rows(x12, 'BSN')).toEqual([['00', 'SHP-7001', '20261125', '1530', '0004']]);
    expect(rows(x12, 'TD5')).toEqual([['', '2', 'PCPT']]);
    expect(rows(x12, 'REF')).toEqual([['CN', '1Z999AA10123456784']]);
    expect(rows(x12, 'PRF')).toEqual([['PO-5531', '', '', '20261123']]);
    expect(rows(x12, 'SN1')).toEqual([
      ['1', '30', 'EA'],
      ['2', '240', 'EA'],
    ]);
  });

  it('sends the same 856 for a redelivered shipment.confirmed', async () => {
    const first = await sendAdvanceShipNotice(shipmentConfirmed(), deps);
    const again = await sendAdvanceShipNotice(shipmentConfirmed(), deps);
    expect(again).toEqual(first);
    const [one, two] = gateway.of('856');
    expect(two?.x12).toBe(one?.x12);
  });

  it('numbers a shipment whose id is too long for BSN02 by its control number', async () => {
    const shipmentId = `${SAMPLE_ORDER}-SHIPMENT-000000001`;
    const result = await sendAdvanceShipNotice(shipmentConfirmed({ shipmentId }), deps);
    expect(result).toMatchObject({ kind: 'sent', documentNumber: 'ASN000000002' });
    expect(rows(gateway.of('856')[0]?.x12 ?? '', 'BSN')[0]?.[1]).toBe('ASN000000002');
  });

  it('ignores the shipment of an order that did not come from an 850', async () => {
    const record = orders.records.get(SAMPLE_ORDER);
    if (!record) throw new Error('no order');
    orders.records.set('ERP-SO-1', {
      ...record,
      orderId: 'ERP-SO-1',
      order: { ...record.order, source: { system: 'erp', reference: 'SO-1' } },
    });
    const result = await sendAdvanceShipNotice(
      shipmentConfirmed({ orderId: 'ERP-SO-1', correlationId: 'ERP-SO-1' }),
      deps,
    );
    expect(result).toEqual({ kind: 'ignored', orderId: 'ERP-SO-1', reason: 'NOT_AN_EDI_ORDER' });
    expect(gateway.of('856')).toHaveLength(0);
  });
});

describe('sendEdiInvoice', () => {
  beforeEach(async () => {
    await ingest850(samplePo(), deps);
  });

  it("sends the 810 at the order's prices with the partner's payment terms and the total in cents", async () => {
    const result = await sendEdiInvoice(invoiceIssued(), deps);

    expect(result).toMatchObject({
      kind: 'sent',
      documentType: '810',
      documentNumber: 'INV-SHP-7001',
      controlNumber: 2,
      idempotencyKey: `edi-810:${SAMPLE_ORDER}:INV-SHP-7001`,
    });
    const x12 = gateway.of('810')[0]?.x12 ?? '';
    expect(readX12Envelope(x12)).toMatchObject({
      ok: true,
      value: { functionalId: 'IN', receiver: 'LAKESHOREHC' },
    });
    expect(rows(x12, 'BIG')).toEqual([['20261125', 'INV-SHP-7001', '20261123', 'PO-5531']]);
    expect(rows(x12, 'ITD')).toEqual([['01', '3', '', '', '', '', '45']]);
    expect(rows(x12, 'IT1')).toEqual([
      ['1', '30', 'EA', '22.4', '', 'VP', 'VALVE-BALL-1IN'],
      ['2', '240', 'EA', '2.15', '', 'VP', 'TAPE-48MM'],
    ]);
    expect(rows(x12, 'TDS')).toEqual([['118800']]);
  });

  it('numbers an invoice whose id is too long for BIG02 by its control number', async () => {
    const invoiceId = `INV-${SAMPLE_ORDER}-S1`;
    const result = await sendEdiInvoice(invoiceIssued({ invoiceId, idempotencyKey: invoiceId }), deps);
    expect(result).toMatchObject({ documentNumber: 'IN000000002' });
    expect(controlNumbers.reservations.get(`LAKESHOREHC|810:${SAMPLE_ORDER}:${invoiceId}`)).toMatchObject({
      controlNumber: 2,
    });
  });

  it('refuses an invoice whose amount is not the order prices of its lines, and sends nothing', async () => {
    await expect(sendEdiInvoice(invoiceIssued({ amount: 1286.01 }), deps)).rejects.toBeInstanceOf(
      EdiInvoiceMismatch,
    );
    await expect(sendEdiInvoice(invoiceIssued({ currency: 'CAD' }), deps)).rejects.toMatchObject({
      name: 'EdiInvoiceMismatch',
      message: expect.stringContaining('invoiced in CAD, ordered in USD'),
    });
    expect(gateway.of('810')).toHaveLength(0);
  });

  it('ignores the invoice of an order that did not come from an 850', async () => {
    const record = orders.records.get(SAMPLE_ORDER);
    if (!record) throw new Error('no order');
    orders.records.set('ERP-SO-1', {
      ...record,
      orderId: 'ERP-SO-1',
      order: { ...record.order, source: { system: 'erp', reference: 'SO-1' } },
    });
    const result = await sendEdiInvoice(
      invoiceIssued({ orderId: 'ERP-SO-1', correlationId: 'ERP-SO-1' }),
      deps,
    );
    expect(result).toEqual({ kind: 'ignored', orderId: 'ERP-SO-1', reason: 'NOT_AN_EDI_ORDER' });
    expect(gateway.sent.filter((d) => d.idempotencyKey.startsWith('edi-810'))).toHaveLength(0);
  });
});

// ---------------------------------------------------------------------------------------------------------
// The hostile EDI corpus (test/fixtures/hostile/edi.ts), through ingest850 as the queue handler calls it
// ---------------------------------------------------------------------------------------------------------

describe('the hostile EDI corpus, case by case', () => {
  beforeEach(async () => {
    for (const base of ediBaseOrders(SAMPLE_DAY)) accepted(await ingest850(base.body, deps, base.body));
    events.published.length = 0;
    gateway.sent.length = 0;
  });

  it.each(ediCases(SAMPLE_DAY).map((c) => [c.name, c] as const))('%s', async (_name, hostile) => {
    const ordersBefore = orders.records.size;
    const outcome = await ingest850(interchangeIn(hostile.input), deps, hostile.input);
    const expected = hostile.expect;
    // Nothing goes to the gateway but 997s.
    expect(gateway.sent.every((d) => rows(d.x12, 'ST')[0]?.[0] === '997')).toBe(true);
    if (expected.outcome === 'rejected') {
      const exceptionId =
        outcome.kind === 'rejected'
          ? outcome.exceptionId
          : outcome.purchaseOrders.find((po) => po.kind === 'quarantined')?.exceptionId;
      const exception = exceptions.items.get(exceptionId ?? '');
      expect(exception?.violations).toContainEqual(
        expect.objectContaining({ path: expected.path, rule: expect.stringContaining(expected.rule) }),
      );
      expect(exception).toMatchObject({
        ownerTeam: expected.owner,
        type: expected.type,
        state: 'open',
        context: { payload: keptOfEdiMessage(hostile.input) },
      });
      for (const orderId of expected.noOrders ?? []) expect(orders.records.has(orderId)).toBe(false);
      expect(orders.records.size).toBe(ordersBefore);
      expect(events.all.some((e) => e.name === 'order.received')).toBe(false);
      // A 997 answers it only when the sender is a partner and its group could be read; a rejecting one.
      for (const ack of gateway.of('997'))
        expect(rows(ack.x12, 'AK9')[0]?.[0]).toBe(outcome.kind === 'rejected' ? 'R' : 'A');
    } else {
      expect(outcome).toMatchObject({
        kind: 'accepted',
        purchaseOrders: [expect.objectContaining({ kind: 'duplicate', orderId: expected.orderId })],
      });
      expect(orders.records.size).toBe(ordersBefore);
      expect(exceptions.items.size).toBe(0);
    }
  });
});
