import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { SendTaskFailureCommand, SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toPutEventsEntry } from '../../contracts/events.ts';
import { VirtualClock } from '../../local/clock/clock.ts';
import type { LocalCloud } from '../../local/cloud.ts';
import type { OutboundEdiDocument } from '../../local/partners/edi.ts';
import { PartnerFeeds } from '../../local/partners/feeds.ts';
import type { CreditSegment, FaultKnobs, PartnerSandbox } from '../../local/partners/sandbox.ts';
import { samplePurchaseOrder850 } from '../../local/partners/seed.ts';
import type { LocalExecution } from '../../local/stepfunctions/sfn-service.ts';
import { startTestCloud, TEST_CREDENTIALS, type TestCloud, until } from '../support/test-cloud.ts';

/**
 * The EDI retail replenishment path end to end on the real synthesized stack, one golden purchase order
 * per Choice, Retry and Catch branch. Each 850 from the retail chain C-7007 (Lakeshore Home Centers) is
 * dropped into the EDI gateway sandbox's mailbox and delivered to the inbound queue as the VAN would; the
 * tests then read what a person would check: the order item, the execution's states, the events in the bus
 * archive, and the X12 documents (997, 855, 856, 810) the gateway accepted, with their idempotency keys.
 *
 * Time is virtual: it moves only when a test moves it, so retry back-offs, the credit SLAs and the release
 * window take milliseconds. Every sandbox knob a test turns is put back before the test ends.
 */
const START = new Date('2026-11-23T09:00:00.000Z');
const MINUTE = 60_000;
const DAY = 86_400_000;
const CUSTOMER = 'C-7007';
const clock = new VirtualClock(START);
let world: TestCloud;
let cloud: LocalCloud;
let sandbox: PartnerSandbox;
let feeds: PartnerFeeds;
let eventBridge: EventBridgeClient;
let sfn: SFNClient;
/** Function invocations running now: virtual time is never moved under a running function. */
let running = 0;

beforeAll(async () => {
  world = await startTestCloud({ clock });
  ({ cloud, sandbox } = world);
  feeds = new PartnerFeeds(cloud, sandbox);
  const client = { endpoint: cloud.endpoint, region: 'us-east-1', credentials: TEST_CREDENTIALS };
  eventBridge = new EventBridgeClient(client);
  sfn = new SFNClient(client);
  // Counts every invocation (Step Functions tasks, queue pollers, rule targets), so that moving the clock
  // never times out a function or a task that is merely still running in real time.
  const invoke = cloud.lambda.invoke.bind(cloud.lambda);
  cloud.lambda.invoke = async (nameOrArn: string, event: unknown) => {
    running += 1;
    try {
      return await invoke(nameOrArn, event);
    } finally {
      running -= 1;
    }
  };
});

afterAll(async () => {
  eventBridge?.destroy();
  sfn?.destroy();
  await world?.stop();
});

// ---------------------------------------------------------------------------------------------------------
// The world as a person checks it
// ---------------------------------------------------------------------------------------------------------

const tableNamed = (prefix: string) =>
  cloud.tables.find((t) => t.resource.logicalId.startsWith(prefix))?.name ?? '';

const functionNamed = (prefix: string) =>
  [...cloud.lambda.functions.values()].find((f) => f.resource.logicalId.startsWith(prefix))?.name ?? '';

interface StageEntry {
  readonly stage: string;
  readonly reasonCodes: readonly string[];
}

async function order(orderId: string): Promise<Record<string, unknown> | undefined> {
  const { Item } = await cloud.dynamodb.documents.send(
    new GetCommand({ TableName: tableNamed('OrdersTable'), Key: { pk: orderId, sk: 'ORDER' } }),
  );
  return Item;
}

async function historyOf(orderId: string): Promise<StageEntry[]> {
  return ((await order(orderId))?.stageHistory ?? []) as StageEntry[];
}

async function stagesOf(orderId: string): Promise<string[]> {
  return (await historyOf(orderId)).map((entry) => entry.stage);
}

async function exception(exceptionId: string): Promise<Record<string, unknown> | undefined> {
  const { Item } = await cloud.dynamodb.documents.send(
    new GetCommand({ TableName: tableNamed('ExceptionsTable'), Key: { pk: exceptionId } }),
  );
  return Item;
}

/** Every exception filed under the order (or rejected interchange) id. */
async function exceptionsOf(orderId: string): Promise<Record<string, unknown>[]> {
  const { Items } = await cloud.dynamodb.documents.send(
    new QueryCommand({
      TableName: tableNamed('ExceptionsTable'),
      IndexName: 'byOrder',
      KeyConditionExpression: 'orderId = :o',
      ExpressionAttributeValues: { ':o': orderId },
    }),
  );
  // The index holds keys only: each exception is read from the table.
  const found = await Promise.all((Items ?? []).map((item) => exception(String(item.pk))));
  return found.filter((item): item is Record<string, unknown> => item !== undefined);
}

/** Exceptions under the order raised for a failed step (not the credit hold). */
const stepFailuresOf = async (orderId: string) =>
  (await exceptionsOf(orderId)).filter((e) => e.type === 'integration-failure');

const archived = (orderId: string) =>
  (cloud.events.archives[0]?.events ?? [])
    .map((e) => e.event)
    .filter((e) => (e.detail as { orderId?: string }).orderId === orderId);

/** detail-types of the archived bus events about the order, in publication order. */
const eventsAbout = (orderId: string) => archived(orderId).map((e) => e['detail-type']);

const executionsNamed = (orderId: string) =>
  [...cloud.sfn.executions.values()].filter((e) => e.name === orderId);

/** The X12 segments of a document, terminators stripped. */
const segmentsOf = (document: OutboundEdiDocument) =>
  document.text
    .split('~')
    .map((s) => s.trim())
    .filter(Boolean);

const segmentsTagged = (document: OutboundEdiDocument, tag: string) =>
  segmentsOf(document).filter((s) => s.startsWith(`${tag}*`));

/** Documents of one transaction set the gateway accepted for a PO (its number is echoed in BAK, PRF, BIG). */
const documentsFor = (code: '855' | '856' | '810', poNumber: string) =>
  sandbox.edi.outbound.filter(
    (d) => d.transactionSets[0]?.code === code && segmentsOf(d).some((s) => s.split('*').includes(poNumber)),
  );

/** The 997s answering the interchange whose GS06 (here: its control number) is `group`. */
const acknowledgmentsOf = (group: number) =>
  sandbox.edi.outbound.filter(
    (d) => d.transactionSets[0]?.code === '997' && segmentsOf(d).includes(`AK1*PO*${group}`),
  );

/** Every POST to the gateway whose idempotency key starts so (each attempt, answered or not). */
const gatewayPosts = (keyPrefix: string) =>
  sandbox.calls.filter(
    (c) => c.method === 'POST' && c.path === '/edi/outbound' && c.idempotencyKey?.startsWith(keyPrefix),
  );

/** The idempotency key the accepted document was posted with. */
const keyOf = (document: OutboundEdiDocument) =>
  sandbox.calls.find((c) => c.path === '/edi/outbound' && c.body === document.text)?.idempotencyKey;

const retriedStates = (execution: LocalExecution) =>
  execution.history
    .filter((h) => h.type === 'TaskStateRetried')
    .map((h) => (h as { stateRetriedEventDetails?: { name?: string } }).stateRetriedEventDetails?.name);

/** The single 855 of a PO, posted as `edi-855:<orderId>:<ST02>`. */
function the855(orderId: string, poNumber: string): OutboundEdiDocument {
  const documents = documentsFor('855', poNumber);
  expect(documents).toHaveLength(1);
  const [document] = documents as [OutboundEdiDocument];
  expect(keyOf(document)).toBe(`edi-855:${orderId}:${document.transactionSets[0]?.controlNumber}`);
  return document;
}

/** The single accepting 997 of an interchange (AK5 A, AK9 A), keyed by sender, ISA13 and GS06. */
function accepting997(controlNumber: number): OutboundEdiDocument {
  const documents = acknowledgmentsOf(controlNumber);
  expect(documents).toHaveLength(1);
  const [document] = documents as [OutboundEdiDocument];
  expect(segmentsOf(document)).toEqual(
    expect.arrayContaining([`AK2*850*${String(controlNumber).padStart(4, '0')}`, 'AK5*A', 'AK9*A*1*1*1']),
  );
  expect(keyOf(document)).toBe(
    `edi-997:LAKESHOREHC:${String(controlNumber).padStart(9, '0')}:${controlNumber}`,
  );
  return document;
}

// ---------------------------------------------------------------------------------------------------------
// Driving the world
// ---------------------------------------------------------------------------------------------------------

type PoLines = NonNullable<Parameters<typeof samplePurchaseOrder850>[0]['lines']>;

/** The golden lines: two stocked items DC-EAST (the nearest site) fills. */
const GOLDEN_LINES: PoLines = [
  { sku: 'VALVE-BALL-1IN', quantity: 12, unitPrice: '22.40' },
  { sku: 'TAPE-48MM', quantity: 60, unitPrice: '2.15' },
];

interface PoOptions {
  readonly lines?: PoLines;
  /** Rewrites the interchange text before it is put in the mailbox. */
  readonly edit?: (x12: string) => string;
}

/** Puts the retailer's 850 (PO date and requested delivery date today) into the gateway's mailbox. */
function put850(poNumber: string, controlNumber: number, options: PoOptions = {}): string {
  const x12 = samplePurchaseOrder850({
    poNumber,
    at: clock.now(),
    controlNumber,
    lines: options.lines ?? GOLDEN_LINES,
  });
  const text = options.edit ? options.edit(x12) : x12;
  sandbox.edi.putInbound(text);
  return text;
}

/** The 850 delivered to the inbound queue, and the execution of the path it starts. */
async function received(
  poNumber: string,
  controlNumber: number,
  options: PoOptions = {},
): Promise<{ orderId: string; execution: LocalExecution }> {
  put850(poNumber, controlNumber, options);
  expect(await feeds.pump()).toEqual({ edi: 1, wms: 0, vendorAsns: 0, carrierWebhooks: 0 });
  const orderId = `EDI-C-7007-${poNumber}`;
  const execution = await until(`the execution of ${orderId}`, () => executionsNamed(orderId)[0]);
  return { orderId, execution };
}

const ended = (execution: LocalExecution) =>
  until(`${execution.name} ends`, () => (execution.status === 'RUNNING' ? undefined : execution.status));

/** Waits until no function runs, so that moving the clock interrupts nothing. */
const quiet = () => until('no function runs', () => (running === 0 ? true : undefined));

/**
 * Moves virtual time to each next wake-up within `horizonMs` (a retry back-off), and only while no
 * function runs, until the execution ends.
 */
function drivenToEnd(execution: LocalExecution, horizonMs = 5 * MINUTE): Promise<string> {
  return until(`${execution.name} ends on virtual time`, async () => {
    if (execution.status !== 'RUNNING') return execution.status;
    const next = clock.nextWakeUp();
    if (running === 0 && next !== undefined && next - clock.now().getTime() <= horizonMs) {
      await clock.advanceTo(next);
    }
    return undefined;
  });
}

async function withKnob<T>(scope: string, knobs: FaultKnobs | number, run: () => Promise<T>): Promise<T> {
  if (typeof knobs === 'number') sandbox.failNext.set(scope, knobs);
  else sandbox.faults.set(scope, knobs);
  try {
    return await run();
  } finally {
    sandbox.failNext.delete(scope);
    sandbox.faults.delete(scope);
  }
}

/** A partner route answering 503 to every request while `run` runs. */
const down = <T>(route: string, run: () => Promise<T>) =>
  withKnob(route, { errorRate: 1, errorStatuses: [503] }, run);

async function withCredit<T>(change: Partial<CreditSegment>, run: () => Promise<T>): Promise<T> {
  const segment = sandbox.credit.get(CUSTOMER);
  if (!segment) throw new Error(`the seed has no credit segment for ${CUSTOMER}`);
  sandbox.credit.set(CUSTOMER, { ...segment, ...change });
  try {
    return await run();
  } finally {
    sandbox.credit.set(CUSTOMER, segment);
  }
}

/**
 * The 850 of a PO whose 855 is then held back on virtual time: the WMS refuses the first reservation (all
 * three attempts of one invocation), so the path waits out its retry back-off while the ingestion's 997
 * goes out. A gateway fault set after this hits the 855 only, never the 997.
 */
async function heldBeforeAcknowledgment(
  poNumber: string,
  controlNumber: number,
): Promise<{ orderId: string; execution: LocalExecution }> {
  return withKnob('POST /wms/reservations', 3, async () => {
    const started = await received(poNumber, controlNumber);
    await until('the 997 is accepted', () => acknowledgmentsOf(controlNumber)[0]);
    accepting997(controlNumber);
    await until('the reservation waits for its retry', () =>
      retriedStates(started.execution).includes('ReserveStockAtBestSingleSite') && running === 0
        ? true
        : undefined,
    );
    expect(sandbox.failNext.get('POST /wms/reservations')).toBe(0);
    expect(started.execution.status).toBe('RUNNING');
    return started;
  });
}

/** A PO of a customer finance has blocked: it waits on the credit controller (tier 1, key account: 60 min). */
async function heldOnCredit(
  poNumber: string,
  controlNumber: number,
): Promise<{ orderId: string; exceptionId: string; execution: LocalExecution }> {
  return withCredit({ CreditBlocked: true }, async () => {
    const { orderId, execution } = await received(poNumber, controlNumber);
    const exceptionId = `EXC-${orderId}-CREDIT`;
    await until('the order waits on the credit controller', () =>
      execution.statesEntered.includes('AwaitCreditControllerDecision') ? true : undefined,
    );
    await until('the exception holds the tier-1 token', async () =>
      (await exception(exceptionId))?.awaiting ? true : undefined,
    );
    await until('the 997 is accepted', () => acknowledgmentsOf(controlNumber)[0]);
    accepting997(controlNumber);
    await quiet();
    return { orderId, exceptionId, execution };
  });
}

async function awaiting(exceptionId: string): Promise<{ tier?: number; taskToken?: string } | undefined> {
  return (await exception(exceptionId))?.awaiting as { tier?: number; taskToken?: string } | undefined;
}

/** An operator's decision, through the DecideException function as the ops console calls it. */
function decide(input: Record<string, unknown>): Promise<unknown> {
  return cloud.lambda.invoke(functionNamed('DecideException'), input);
}

const MAIN_ROUTE = [
  'CheckCreditAgainstLimitAndExposure',
  'RouteOnCreditDecision',
  'ReserveStockAtBestSingleSite',
  'SendPurchaseOrderAcknowledgment',
  'RouteOnAllocation',
  'DecideWarehouseRelease',
  'RouteOnReleaseDecision',
  'HandedToWarehouse',
];

const PARKED = ['RaiseOwnedStepException', 'ParkedAsOwnedException'];

// ---------------------------------------------------------------------------------------------------------
// Branches
// ---------------------------------------------------------------------------------------------------------

describe('EDI retail replenishment: choices', () => {
  it('PO-EDI-100 (approved): 997, 855 accepting every line, handed to the warehouse; the 856 and 810 follow shipment and invoice', async () => {
    const { orderId, execution } = await received('PO-EDI-100', 101);
    expect(await ended(execution)).toBe('SUCCEEDED');
    expect(execution.statesEntered).toEqual(MAIN_ROUTE);
    expect(await order(orderId)).toMatchObject({
      stage: 'released',
      path: 'edi-retail-replenishment',
      order: { customerPo: 'PO-EDI-100', channel: 'retail-replenishment', source: { system: 'edi' } },
      credit: { decision: 'approved', reasonCodes: ['WITHIN_LIMIT'] },
      allocation: { status: 'full', siteId: 'DC-EAST', short: [] },
      release: { action: 'release' },
    });
    expect(await stagesOf(orderId)).toEqual([
      'received',
      'accepted',
      'credit-approved',
      'allocated',
      'released',
    ]);
    expect(eventsAbout(orderId)).toEqual([
      'order.received.v1',
      'order.accepted.v1',
      'credit.approved.v1',
      'allocation.confirmed.v1',
      'warehouse.released.v1',
    ]);

    const ack997 = accepting997(101);
    const ack = the855(orderId, 'PO-EDI-100');
    // The interchange is acknowledged before its purchase order is.
    expect(sandbox.edi.outbound.indexOf(ack997)).toBeLessThan(sandbox.edi.outbound.indexOf(ack));
    expect(segmentsTagged(ack, 'BAK')).toEqual([
      'BAK*00*AD*PO-EDI-100*20261123****EDI-C-7007-PO-EDI-100*20261123',
    ]);
    expect(segmentsTagged(ack, 'PO1')).toEqual([
      'PO1*1*12*EA*22.4**VP*VALVE-BALL-1IN',
      'PO1*2*60*EA*2.15**VP*TAPE-48MM',
    ]);
    expect(segmentsTagged(ack, 'ACK')).toEqual(['ACK*IA*12*EA', 'ACK*IA*60*EA']);
    expect(gatewayPosts(`edi-855:${orderId}:`)).toHaveLength(1);

    // The warehouse ships everything: shipment.confirmed on the bus, as the WMS adapter publishes it.
    const shipmentId = `${orderId}-S1`;
    const bus =
      cloud.events.rules.find((r) => r.resource.logicalId.startsWith('EdiShipmentToAdvanceShipNotice'))
        ?.busName ?? '';
    const now = clock.now().toISOString();
    const entry = toPutEventsEntry(
      'shipment.confirmed',
      {
        schemaVersion: 1,
        orderId,
        correlationId: orderId,
        idempotencyKey: `${orderId}:shipment.confirmed:${shipmentId}`,
        occurredAt: now,
        shipmentId,
        siteId: 'DC-EAST',
        carrier: 'PCPT',
        trackingNumber: '1ZEDI100000001',
        shippedAt: now,
        lines: [
          { lineNo: 1, sku: 'VALVE-BALL-1IN', quantity: 12 },
          { lineNo: 2, sku: 'TAPE-48MM', quantity: 60 },
        ],
        partial: false,
      },
      bus,
    );
    expect((await eventBridge.send(new PutEventsCommand({ Entries: [entry] }))).FailedEntryCount).toBe(0);

    const asn = await until('the 856 is accepted', () => documentsFor('856', 'PO-EDI-100')[0]);
    expect(keyOf(asn)).toBe(`edi-856:${orderId}:${shipmentId}`);
    expect(segmentsTagged(asn, 'BSN')).toEqual([`BSN*00*${shipmentId}*20261123*0900*0004`]);
    expect(segmentsTagged(asn, 'REF')).toEqual(['REF*CN*1ZEDI100000001']);
    expect(segmentsTagged(asn, 'PRF')).toEqual(['PRF*PO-EDI-100***20261123']);
    expect(segmentsTagged(asn, 'SN1')).toEqual(['SN1*1*12*EA', 'SN1*2*60*EA']);

    // Post-shipment invoices in the ERP and announces invoice.issued, which sends the 810.
    const invoice = await until('the 810 is accepted', () => documentsFor('810', 'PO-EDI-100')[0]);
    // INV-<shipment id> is longer than BIG02 allows: the invoice goes out as IN<control number>.
    const invoiceNumber = `IN${invoice.interchangeControlNumber}`;
    expect(keyOf(invoice)).toBe(`edi-810:${orderId}:${invoiceNumber}`);
    expect(segmentsTagged(invoice, 'BIG')).toEqual([`BIG*20261123*${invoiceNumber}*20261123*PO-EDI-100`]);
    expect(segmentsTagged(invoice, 'IT1')).toEqual([
      'IT1*1*12*EA*22.4**VP*VALVE-BALL-1IN',
      'IT1*2*60*EA*2.15**VP*TAPE-48MM',
    ]);
    // 12 × 22.40 + 60 × 2.15 = 397.80, in cents; NET45 terms.
    expect(segmentsTagged(invoice, 'TDS')).toEqual(['TDS*39780']);
    expect(segmentsTagged(invoice, 'ITD')).toEqual(['ITD*01*3*****45']);
    expect(gatewayPosts(`edi-856:${orderId}:`)).toHaveLength(1);
    expect(gatewayPosts(`edi-810:${orderId}:`)).toHaveLength(1);
    expect(sandbox.callsTo('POST', '/erp/invoices').map((c) => c.idempotencyKey)).toContain(
      `INV-${shipmentId}`,
    );
    await until('the order is closed', async () =>
      (await order(orderId))?.stage === 'closed' ? true : undefined,
    );
    expect(await stagesOf(orderId)).toEqual([
      'received',
      'accepted',
      'credit-approved',
      'allocated',
      'released',
      'shipped',
      'invoiced',
      'closed',
    ]);
    await until('order.closed is on the bus', () =>
      eventsAbout(orderId).includes('order.closed.v1') ? true : undefined,
    );
    expect(eventsAbout(orderId).slice(5)).toEqual([
      'shipment.confirmed.v1',
      'invoice.issued.v1',
      'order.closed.v1',
    ]);
  });

  it('PO-EDI-200 (credit declined, account closed): no reservation, an 855 rejecting every line, rejected and acknowledged', async () => {
    const { orderId, execution } = await withCredit({ AccountClosed: true }, async () => {
      const started = await received('PO-EDI-200', 201);
      await ended(started.execution);
      return started;
    });
    expect(execution.status).toBe('SUCCEEDED');
    expect(execution.statesEntered).toEqual([
      'CheckCreditAgainstLimitAndExposure',
      'RouteOnCreditDecision',
      'AcknowledgeRejectedPurchaseOrder',
      'RejectedAndAcknowledged',
    ]);
    expect(await order(orderId)).toMatchObject({ stage: 'rejected', credit: { decision: 'declined' } });
    const history = await historyOf(orderId);
    expect(history.map((h) => h.stage)).toEqual(['received', 'accepted', 'rejected']);
    expect(history.at(-1)?.reasonCodes).toContain('ACCOUNT_CLOSED');
    expect(eventsAbout(orderId)).toEqual(['order.received.v1', 'order.accepted.v1', 'order.rejected.v1']);
    accepting997(201);
    const ack = the855(orderId, 'PO-EDI-200');
    expect(segmentsTagged(ack, 'BAK')[0]).toMatch(/^BAK\*00\*RD\*PO-EDI-200\*/);
    expect(segmentsTagged(ack, 'ACK')).toEqual(['ACK*IR*12*EA', 'ACK*IR*60*EA']);
    expect(sandbox.calls.filter((c) => c.idempotencyKey?.startsWith(orderId))).toEqual([]);
  });

  it('PO-EDI-400 (backordered): no stock at any site, the 855 backorders the line, backordered awaiting stock', async () => {
    const row = sandbox.facilities
      .find((f) => f.facilityCode === 'DC-CENTRAL')
      ?.inventory.find((i) => i.itemCode === 'VALVE-BFY-8IN');
    if (!row) throw new Error('the seed stocks VALVE-BFY-8IN at DC-CENTRAL only');
    const { onHand } = row;
    row.onHand = 0;
    try {
      const { orderId, execution } = await received('PO-EDI-400', 401, {
        lines: [{ sku: 'VALVE-BFY-8IN', quantity: 4, unitPrice: '365.00' }],
      });
      expect(await ended(execution)).toBe('SUCCEEDED');
      expect(execution.statesEntered).toEqual([
        'CheckCreditAgainstLimitAndExposure',
        'RouteOnCreditDecision',
        'ReserveStockAtBestSingleSite',
        'SendPurchaseOrderAcknowledgment',
        'RouteOnAllocation',
        'BackorderedAwaitingStock',
      ]);
      expect(await order(orderId)).toMatchObject({
        stage: 'backordered',
        allocation: { status: 'backorder', siteId: null, allocated: [] },
      });
      const history = await historyOf(orderId);
      expect(history.map((h) => h.stage)).toEqual(['received', 'accepted', 'credit-approved', 'backordered']);
      expect(history.at(-1)?.reasonCodes).toContain('NO_STOCK_AT_ANY_SITE');
      expect(eventsAbout(orderId)).toEqual([
        'order.received.v1',
        'order.accepted.v1',
        'credit.approved.v1',
        'allocation.shortage.v1',
        'backorder.created.v1',
      ]);
      accepting997(401);
      const ack = the855(orderId, 'PO-EDI-400');
      expect(segmentsTagged(ack, 'BAK')[0]).toMatch(/^BAK\*00\*AC\*PO-EDI-400\*/);
      expect(segmentsTagged(ack, 'ACK')).toEqual(['ACK*IB*4*EA']);
      expect(
        sandbox.callsTo('POST', '/wms/reservations').filter((c) => c.idempotencyKey?.startsWith(orderId)),
      ).toEqual([]);
    } finally {
      row.onHand = onHand;
    }
  });

  it('PO-EDI-450 (partial): the best site fills 13 of 20, the 855 splits the line IA/IB, the 13 are released', async () => {
    // DC-CENTRAL alone stocks the 8-in valve: 14 on hand, 1 committed, so 13 to promise.
    const { orderId, execution } = await received('PO-EDI-450', 451, {
      lines: [{ sku: 'VALVE-BFY-8IN', quantity: 20, unitPrice: '365.00' }],
    });
    expect(await ended(execution)).toBe('SUCCEEDED');
    expect(execution.statesEntered).toEqual(MAIN_ROUTE);
    expect(await order(orderId)).toMatchObject({
      stage: 'released',
      allocation: {
        status: 'partial',
        siteId: 'DC-CENTRAL',
        allocated: [{ lineNo: 1, sku: 'VALVE-BFY-8IN', quantity: 13 }],
        short: [{ lineNo: 1, sku: 'VALVE-BFY-8IN', shortBy: 7 }],
      },
    });
    expect(eventsAbout(orderId)).toEqual([
      'order.received.v1',
      'order.accepted.v1',
      'credit.approved.v1',
      'allocation.confirmed.v1',
      'allocation.shortage.v1',
      'backorder.created.v1',
      'warehouse.released.v1',
    ]);
    const ack = the855(orderId, 'PO-EDI-450');
    expect(segmentsTagged(ack, 'BAK')[0]).toMatch(/^BAK\*00\*AC\*PO-EDI-450\*/);
    expect(segmentsTagged(ack, 'PO1')).toEqual(['PO1*1*20*EA*365**VP*VALVE-BFY-8IN']);
    expect(segmentsTagged(ack, 'ACK')).toEqual(['ACK*IA*13*EA', 'ACK*IB*7*EA']);
  });

  it('PO-EDI-500 (future-dated): release deferred, waits for the release window, then handed to the warehouse', async () => {
    // Delivery requested in 6 days: ship-by is 3 days out (DC-EAST standard transit), one day more than
    // the 2-day release window, so the release waits until midnight UTC tonight.
    const today = clock.now().toISOString().slice(0, 10);
    const requested = new Date(clock.now().getTime() + 6 * DAY).toISOString().slice(0, 10);
    const releaseAt = new Date(`${today}T00:00:00.000Z`).getTime() + DAY;
    const { orderId, execution } = await received('PO-EDI-500', 501, {
      edit: (x12) =>
        x12.replace(`DTM*002*${today.replaceAll('-', '')}~`, `DTM*002*${requested.replaceAll('-', '')}~`),
    });
    await until('the path waits for the release window', () =>
      execution.statesEntered.includes('WaitForReleaseWindow') ? true : undefined,
    );
    expect(await order(orderId)).toMatchObject({
      stage: 'release-deferred',
      order: { promiseDate: requested },
      release: { action: 'defer', releaseAt: new Date(releaseAt).toISOString() },
    });
    expect((await historyOf(orderId)).at(-1)?.reasonCodes).toContain('FUTURE_DATED_ORDER');
    // The retailer already has its 855: the deferral is Handoff's own scheduling.
    expect(segmentsTagged(the855(orderId, 'PO-EDI-500'), 'ACK')).toEqual(['ACK*IA*12*EA', 'ACK*IA*60*EA']);

    await quiet();
    await clock.advanceTo(releaseAt - 1);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(execution.status).toBe('RUNNING');
    await clock.advanceTo(releaseAt);
    expect(await ended(execution)).toBe('SUCCEEDED');
    expect(execution.statesEntered).toEqual([
      ...MAIN_ROUTE.slice(0, 7),
      'WaitForReleaseWindow',
      'DecideWarehouseRelease',
      'RouteOnReleaseDecision',
      'HandedToWarehouse',
    ]);
    expect(await stagesOf(orderId)).toEqual([
      'received',
      'accepted',
      'credit-approved',
      'allocated',
      'release-deferred',
      'released',
    ]);
    expect(await order(orderId)).toMatchObject({
      release: { action: 'release', releaseAt: new Date(releaseAt).toISOString() },
    });
    expect(eventsAbout(orderId).filter((t) => t === 'warehouse.released.v1')).toHaveLength(1);
  });
});

describe('EDI retail replenishment: credit hold, decided by people', () => {
  it('PO-EDI-310 (credit hold, released by the credit controller): continues to the warehouse', async () => {
    const { orderId, exceptionId, execution } = await heldOnCredit('PO-EDI-310', 311);
    expect(await exception(exceptionId)).toMatchObject({
      type: 'credit-hold',
      ownerTeam: 'finance',
      state: 'open',
      priority: 'high',
      reasonCodes: expect.arrayContaining(['ACCOUNT_ON_HOLD']),
      awaiting: { tier: 1, role: 'credit-controller' },
      slaDueAt: new Date(clock.now().getTime() + 60 * MINUTE).toISOString(),
    });
    expect(await stagesOf(orderId)).toEqual(['received', 'accepted', 'credit-hold']);
    expect(documentsFor('855', 'PO-EDI-310')).toEqual([]);
    expect(
      await decide({
        exceptionId,
        outcome: 'release',
        decidedBy: 'sam.creditcontroller',
        reason: 'Block lifted: the remittance cleared this morning.',
      }),
    ).toMatchObject({
      outcome: 'release',
      decidedBy: 'sam.creditcontroller',
      tier: 1,
      resumed: 'delivered',
      next: { kind: 'workflow-resumed' },
    });
    expect(await ended(execution)).toBe('SUCCEEDED');
    expect(execution.statesEntered).toEqual([
      'CheckCreditAgainstLimitAndExposure',
      'RouteOnCreditDecision',
      'AwaitCreditControllerDecision',
      'RouteOnCreditReview',
      ...MAIN_ROUTE.slice(2),
    ]);
    expect(await order(orderId)).toMatchObject({
      stage: 'released',
      credit: {
        decision: 'approved',
        review: { outcome: 'release', decidedBy: 'sam.creditcontroller', tier: 1 },
      },
    });
    expect(await stagesOf(orderId)).toEqual([
      'received',
      'accepted',
      'credit-hold',
      'credit-approved',
      'allocated',
      'released',
    ]);
    expect(eventsAbout(orderId)).toEqual([
      'order.received.v1',
      'order.accepted.v1',
      'credit.hold.placed.v1',
      'exception.raised.v1',
      'credit.hold.released.v1',
      'exception.resolved.v1',
      'allocation.confirmed.v1',
      'warehouse.released.v1',
    ]);
    expect(await exception(exceptionId)).toMatchObject({
      state: 'resolved',
      resolution: { outcome: 'release' },
    });
    expect(segmentsTagged(the855(orderId, 'PO-EDI-310'), 'ACK')).toEqual(['ACK*IA*12*EA', 'ACK*IA*60*EA']);
  });

  it('PO-EDI-320 (credit hold, controller SLA passes, the credit manager rejects): an 855 rejecting every line', async () => {
    const { orderId, exceptionId, execution } = await heldOnCredit('PO-EDI-320', 321);
    await clock.advance(60 * MINUTE);
    await until('the exception moves to the credit manager', async () =>
      (await awaiting(exceptionId))?.tier === 2 ? true : undefined,
    );
    expect(await exception(exceptionId)).toMatchObject({
      priority: 'critical',
      awaiting: { tier: 2, role: 'credit-manager' },
      slaDueAt: new Date(clock.now().getTime() + 30 * MINUTE).toISOString(),
    });
    expect(
      await decide({
        exceptionId,
        outcome: 'reject',
        decidedBy: 'pat.creditmanager',
        reason: 'The account stays blocked until the disputed invoices are settled.',
      }),
    ).toMatchObject({
      outcome: 'reject',
      decidedBy: 'pat.creditmanager',
      tier: 2,
      resumed: 'delivered',
      next: { kind: 'workflow-resumed' },
    });
    expect(await ended(execution)).toBe('SUCCEEDED');
    expect(execution.statesEntered).toEqual([
      'CheckCreditAgainstLimitAndExposure',
      'RouteOnCreditDecision',
      'AwaitCreditControllerDecision',
      'EscalateToCreditManager',
      'RouteOnCreditReview',
      'AcknowledgeRejectedPurchaseOrder',
      'RejectedAndAcknowledged',
    ]);
    const history = await historyOf(orderId);
    expect(history.map((h) => h.stage)).toEqual(['received', 'accepted', 'credit-hold', 'rejected']);
    expect(history.at(-1)?.reasonCodes).toEqual(['CREDIT_REJECTED_BY_FINANCE']);
    expect(eventsAbout(orderId).slice(4)).toEqual([
      'exception.escalated.v1',
      'order.rejected.v1',
      'exception.resolved.v1',
    ]);
    const ack = the855(orderId, 'PO-EDI-320');
    expect(segmentsTagged(ack, 'BAK')[0]).toMatch(/^BAK\*00\*RD\*PO-EDI-320\*/);
    expect(segmentsTagged(ack, 'ACK')).toEqual(['ACK*IR*12*EA', 'ACK*IR*60*EA']);
  });

  it('PO-EDI-330 (credit hold, nobody decides within either SLA): declined by the fallback, an 855 rejecting every line', async () => {
    const { orderId, exceptionId, execution } = await heldOnCredit('PO-EDI-330', 331);
    await clock.advance(60 * MINUTE);
    await until('tier 2', async () => ((await awaiting(exceptionId))?.tier === 2 ? true : undefined));
    await quiet();
    await clock.advance(30 * MINUTE);
    expect(await ended(execution)).toBe('SUCCEEDED');
    expect(execution.statesEntered).toEqual([
      'CheckCreditAgainstLimitAndExposure',
      'RouteOnCreditDecision',
      'AwaitCreditControllerDecision',
      'EscalateToCreditManager',
      'ApplyCreditReviewFallback',
      'RouteOnCreditReview',
      'AcknowledgeRejectedPurchaseOrder',
      'RejectedAndAcknowledged',
    ]);
    const history = await historyOf(orderId);
    expect(history.map((h) => h.stage)).toEqual(['received', 'accepted', 'credit-hold', 'rejected']);
    expect(history.at(-1)?.reasonCodes).toEqual(['CREDIT_REVIEW_UNANSWERED']);
    expect(await exception(exceptionId)).toMatchObject({
      state: 'resolved',
      resolution: { outcome: 'reject', decidedBy: 'handoff:sla-fallback', tier: 0 },
    });
    expect(eventsAbout(orderId)).toContain('order.rejected.v1');
    const ack = the855(orderId, 'PO-EDI-330');
    expect(segmentsTagged(ack, 'BAK')[0]).toMatch(/^BAK\*00\*RD\*PO-EDI-330\*/);
    expect(segmentsTagged(ack, 'ACK')).toEqual(['ACK*IR*12*EA', 'ACK*IR*60*EA']);
  });

  it('PO-EDI-340 (credit hold, the review answers an outcome the path does not know): UnknownCreditReviewOutcome', async () => {
    const { orderId, exceptionId, execution } = await heldOnCredit('PO-EDI-340', 341);
    const token = (await awaiting(exceptionId))?.taskToken ?? '';
    await sfn.send(
      new SendTaskSuccessCommand({ taskToken: token, output: JSON.stringify({ outcome: 'escalate' }) }),
    );
    expect(await ended(execution)).toBe('FAILED');
    expect(execution.statesEntered.slice(-2)).toEqual(['RouteOnCreditReview', 'UnknownCreditReviewOutcome']);
    expect(execution.error).toBe('UnknownCreditReviewOutcome');
    expect(await stagesOf(orderId)).toEqual(['received', 'accepted', 'credit-hold']);
    expect(documentsFor('855', 'PO-EDI-340')).toEqual([]);
  });
});

describe('EDI retail replenishment: retries', () => {
  it('PO-EDI-600 (transient WMS and gateway faults): the reservation and the 855 are retried, one 855 accepted, released', async () => {
    const { orderId, execution } = await heldBeforeAcknowledgment('PO-EDI-600', 601);
    // The gateway answers 503 to every attempt of the 855's first invocation, then recovers.
    const status = await withKnob('POST /edi/outbound', 3, () => drivenToEnd(execution));
    expect(status).toBe('SUCCEEDED');
    expect(execution.statesEntered).toEqual(MAIN_ROUTE);
    expect(retriedStates(execution)).toEqual([
      'ReserveStockAtBestSingleSite',
      'SendPurchaseOrderAcknowledgment',
    ]);
    expect(await order(orderId)).toMatchObject({ stage: 'released', allocation: { status: 'full' } });
    expect(await stagesOf(orderId)).toEqual([
      'received',
      'accepted',
      'credit-approved',
      'allocated',
      'released',
    ]);
    // 3 refused attempts, then the retried invocation's reservation, all under the order's key.
    expect(
      sandbox.callsTo('POST', '/wms/reservations').filter((c) => c.idempotencyKey?.startsWith(orderId)),
    ).toHaveLength(4);
    expect(eventsAbout(orderId).filter((t) => t === 'allocation.confirmed.v1')).toHaveLength(1);
    const ack = the855(orderId, 'PO-EDI-600');
    const posts = gatewayPosts(`edi-855:${orderId}:`);
    // 3 refused attempts of the first invocation, then the retried invocation: the same bytes, the same key.
    expect(posts).toHaveLength(4);
    expect(new Set(posts.map((p) => p.idempotencyKey))).toEqual(new Set([keyOf(ack)]));
    expect(new Set(posts.map((p) => p.body))).toEqual(new Set([ack.text]));
  });
});

describe('EDI retail replenishment: catches', () => {
  it('PO-EDI-700 (gateway down for the 855): retries exhausted, TagAcknowledgmentFailure, parked as an integration exception', async () => {
    const { orderId, execution } = await heldBeforeAcknowledgment('PO-EDI-700', 701);
    expect(await down('POST /edi/outbound', () => drivenToEnd(execution))).toBe('SUCCEEDED');
    expect(execution.statesEntered).toEqual([
      ...MAIN_ROUTE.slice(0, 4),
      'TagAcknowledgmentFailure',
      ...PARKED,
    ]);
    expect(retriedStates(execution).filter((s) => s === 'SendPurchaseOrderAcknowledgment')).toHaveLength(6);
    expect(await stagesOf(orderId)).toEqual([
      'received',
      'accepted',
      'credit-approved',
      'allocated',
      'exception',
    ]);
    const [owned, ...more] = await stepFailuresOf(orderId);
    expect(more).toEqual([]);
    expect(owned).toMatchObject({
      ownerTeam: 'integration',
      state: 'open',
      priority: 'high',
      stage: 'allocated',
      reasonCodes: ['STEP_FAILED:SendPurchaseOrderAcknowledgment'],
      context: { failedStep: 'SendPurchaseOrderAcknowledgment', error: 'PartnerUnavailable' },
    });
    expect((await order(orderId))?.exceptionIds).toEqual([owned?.exceptionId]);
    expect(eventsAbout(orderId)).toEqual([
      'order.received.v1',
      'order.accepted.v1',
      'credit.approved.v1',
      'allocation.confirmed.v1',
      'exception.raised.v1',
    ]);
    expect(documentsFor('855', 'PO-EDI-700')).toEqual([]);
    // 7 invocations (1 + 6 retries) × 3 gateway attempts, every one the same document under the same key.
    const posts = gatewayPosts(`edi-855:${orderId}:`);
    expect(posts).toHaveLength(21);
    expect(new Set(posts.map((p) => `${p.idempotencyKey}|${String(p.body)}`)).size).toBe(1);
  });

  it('PO-EDI-150 (ERP credit service down): retries exhausted, TagCreditCheckFailure, parked, no 855', async () => {
    const { orderId, execution } = await down('GET /erp/customers', async () => {
      const started = await received('PO-EDI-150', 151);
      await drivenToEnd(started.execution);
      return started;
    });
    expect(execution.status).toBe('SUCCEEDED');
    expect(execution.statesEntered).toEqual([
      'CheckCreditAgainstLimitAndExposure',
      'TagCreditCheckFailure',
      ...PARKED,
    ]);
    expect(retriedStates(execution)).toHaveLength(4);
    expect(await stagesOf(orderId)).toEqual(['received', 'accepted', 'exception']);
    expect(await stepFailuresOf(orderId)).toMatchObject([
      {
        ownerTeam: 'integration',
        reasonCodes: ['STEP_FAILED:CheckCreditAgainstLimitAndExposure'],
        context: { error: 'PartnerUnavailable' },
      },
    ]);
    accepting997(151);
    expect(gatewayPosts(`edi-855:${orderId}:`)).toEqual([]);
  });

  it('PO-EDI-750 (WMS down for the reservation): retries exhausted, TagAllocationFailure, parked, no 855', async () => {
    const { orderId, execution } = await down('POST /wms/reservations', async () => {
      const started = await received('PO-EDI-750', 751);
      await drivenToEnd(started.execution);
      return started;
    });
    expect(execution.status).toBe('SUCCEEDED');
    expect(execution.statesEntered).toEqual([...MAIN_ROUTE.slice(0, 3), 'TagAllocationFailure', ...PARKED]);
    expect(retriedStates(execution)).toHaveLength(4);
    expect(await stagesOf(orderId)).toEqual(['received', 'accepted', 'credit-approved', 'exception']);
    expect(await stepFailuresOf(orderId)).toMatchObject([
      {
        ownerTeam: 'integration',
        reasonCodes: ['STEP_FAILED:ReserveStockAtBestSingleSite'],
        context: { error: 'PartnerUnavailable' },
      },
    ]);
    accepting997(751);
    expect(gatewayPosts(`edi-855:${orderId}:`)).toEqual([]);
  });

  it('PO-EDI-760 (WMS refuses the release): retries exhausted, TagReleaseFailure, parked after the 855', async () => {
    const { orderId, execution } = await down('POST /wms/releases', async () => {
      const started = await received('PO-EDI-760', 761);
      await drivenToEnd(started.execution);
      return started;
    });
    expect(execution.status).toBe('SUCCEEDED');
    expect(execution.statesEntered).toEqual([...MAIN_ROUTE.slice(0, 6), 'TagReleaseFailure', ...PARKED]);
    expect(await stagesOf(orderId)).toEqual([
      'received',
      'accepted',
      'credit-approved',
      'allocated',
      'exception',
    ]);
    expect(await stepFailuresOf(orderId)).toMatchObject([
      {
        ownerTeam: 'integration',
        reasonCodes: ['STEP_FAILED:DecideWarehouseRelease'],
        context: { error: 'PartnerUnavailable' },
      },
    ]);
    expect(segmentsTagged(the855(orderId, 'PO-EDI-760'), 'ACK')).toEqual(['ACK*IA*12*EA', 'ACK*IA*60*EA']);
    expect(eventsAbout(orderId)).not.toContain('warehouse.released.v1');
  });

  it('PO-EDI-350 (the credit review task fails): TagCreditReviewFailure, parked as an integration exception', async () => {
    const { orderId, exceptionId, execution } = await heldOnCredit('PO-EDI-350', 351);
    const token = (await awaiting(exceptionId))?.taskToken ?? '';
    await sfn.send(
      new SendTaskFailureCommand({
        taskToken: token,
        error: 'DecisionToolUnavailable',
        cause: 'The ops console lost the decision it was recording.',
      }),
    );
    expect(await ended(execution)).toBe('SUCCEEDED');
    expect(execution.statesEntered).toEqual([
      'CheckCreditAgainstLimitAndExposure',
      'RouteOnCreditDecision',
      'AwaitCreditControllerDecision',
      'TagCreditReviewFailure',
      ...PARKED,
    ]);
    expect(await stagesOf(orderId)).toEqual(['received', 'accepted', 'credit-hold', 'exception']);
    expect(await stepFailuresOf(orderId)).toMatchObject([
      {
        ownerTeam: 'integration',
        reasonCodes: ['STEP_FAILED:CreditReview'],
        context: { error: 'DecisionToolUnavailable' },
      },
    ]);
    expect(documentsFor('855', 'PO-EDI-350')).toEqual([]);
  });

  it('PO-EDI-360 (gateway down for the rejecting 855): TagRejectionAcknowledgmentFailure, the order stays rejected with an integration exception', async () => {
    const { orderId, exceptionId, execution } = await heldOnCredit('PO-EDI-360', 361);
    const status = await down('POST /edi/outbound', async () => {
      await decide({
        exceptionId,
        outcome: 'reject',
        decidedBy: 'sam.creditcontroller',
        reason: 'Account closed for new business pending review.',
      });
      return drivenToEnd(execution);
    });
    expect(status).toBe('SUCCEEDED');
    expect(execution.statesEntered).toEqual([
      'CheckCreditAgainstLimitAndExposure',
      'RouteOnCreditDecision',
      'AwaitCreditControllerDecision',
      'RouteOnCreditReview',
      'AcknowledgeRejectedPurchaseOrder',
      'TagRejectionAcknowledgmentFailure',
      ...PARKED,
    ]);
    expect(retriedStates(execution).filter((s) => s === 'AcknowledgeRejectedPurchaseOrder')).toHaveLength(6);
    // A rejected order stays rejected: the failure to tell the retailer is integration's to fix.
    expect(await stagesOf(orderId)).toEqual(['received', 'accepted', 'credit-hold', 'rejected']);
    expect(await stepFailuresOf(orderId)).toMatchObject([
      {
        ownerTeam: 'integration',
        stage: 'rejected',
        reasonCodes: ['STEP_FAILED:AcknowledgeRejectedPurchaseOrder'],
        context: { error: 'PartnerUnavailable' },
      },
    ]);
    expect(documentsFor('855', 'PO-EDI-360')).toEqual([]);
    expect(gatewayPosts(`edi-855:${orderId}:`)).toHaveLength(21);
  });
});

describe('EDI retail replenishment: ingress', () => {
  it('PO-EDI-800 (SE01 miscounted): no order, a rejecting 997, quarantined for integration at ST[0801].SE[11].SE01', async () => {
    const text = put850('PO-EDI-800', 801, {
      edit: (x12) => x12.replace(/SE\*(\d+)\*/, (_, n: string) => `SE*${Number(n) + 1}*`),
    });
    expect(await feeds.pump()).toEqual({ edi: 1, wms: 0, vendorAsns: 0, carrierWebhooks: 0 });
    const interchange = 'EDI-IC-LAKESHOREHC-000000801';
    const [quarantined, ...more] = await until('the interchange is quarantined', async () => {
      const found = await exceptionsOf(interchange);
      return found.length > 0 ? found : undefined;
    });
    expect(more).toEqual([]);
    expect(quarantined).toMatchObject({
      type: 'validation',
      ownerTeam: 'integration',
      state: 'open',
      stage: 'received',
      reasonCodes: ['EDI_INTERCHANGE_REJECTED', 'EDI_FINDING:SEGMENT_COUNT_MISMATCH'],
      violations: [
        {
          path: 'ST[0801].SE[11].SE01',
          rule: 'count:segments',
          message: 'SE01 says 12 segments but transaction set 0801 has 11 (ST to SE inclusive)',
        },
      ],
      context: { senderId: 'LAKESHOREHC', payload: text, acknowledgment: { sent: true } },
    });
    const reject = await until('the rejecting 997', () => acknowledgmentsOf(801)[0]);
    expect(segmentsOf(reject).filter((s) => /^AK[1-9]\*/.test(s))).toEqual([
      'AK1*PO*801',
      'AK2*850*0801',
      'AK5*R*4',
      'AK9*R*1*1*0',
    ]);
    expect(keyOf(reject)).toBe('edi-997:LAKESHOREHC:000000801:801');
    await until('the rejection is on the bus', () =>
      eventsAbout(interchange).length === 2 ? true : undefined,
    );
    expect(eventsAbout(interchange)).toEqual(['order.rejected.v1', 'exception.raised.v1']);
    expect(await order('EDI-C-7007-PO-EDI-800')).toBeUndefined();
    expect(executionsNamed('EDI-C-7007-PO-EDI-800')).toEqual([]);
  });

  it('PO-EDI-810 (unknown item): no order, a rejecting 997 naming PO1 position 8 element 7, quarantined for customer service', async () => {
    put850('PO-EDI-810', 811, { lines: [{ sku: 'WIDGET-999', quantity: 5, unitPrice: '9.99' }] });
    expect(await feeds.pump()).toEqual({ edi: 1, wms: 0, vendorAsns: 0, carrierWebhooks: 0 });
    const interchange = 'EDI-IC-LAKESHOREHC-000000811';
    const [quarantined] = await until('the interchange is quarantined', async () => {
      const found = await exceptionsOf(interchange);
      return found.length > 0 ? found : undefined;
    });
    expect(quarantined).toMatchObject({
      type: 'validation',
      ownerTeam: 'customer-service',
      reasonCodes: ['EDI_INTERCHANGE_REJECTED', 'EDI_FINDING:UNKNOWN_ITEM'],
      violations: [
        {
          path: 'ST[0811].PO1[8].PO107',
          rule: 'knownItem',
          message: 'PO1 line 1 names no item in the catalogue (VP WIDGET-999)',
        },
      ],
    });
    const reject = await until('the rejecting 997', () => acknowledgmentsOf(811)[0]);
    expect(segmentsOf(reject).filter((s) => /^AK[1-9]\*/.test(s))).toEqual([
      'AK1*PO*811',
      'AK2*850*0811',
      'AK3*PO1*8**8',
      'AK4*7**7*WIDGET-999',
      'AK5*R*5',
      'AK9*R*1*1*0',
    ]);
    expect(await order('EDI-C-7007-PO-EDI-810')).toBeUndefined();
    expect(executionsNamed('EDI-C-7007-PO-EDI-810')).toEqual([]);
  });

  it('PO-EDI-820 (delivered twice by the VAN, then re-sent in a new interchange): one order, one execution, one 855', async () => {
    const orderId = 'EDI-C-7007-PO-EDI-820';
    sandbox.edi.inbound.knobs = { duplicateRate: 1 };
    try {
      put850('PO-EDI-820', 821);
    } finally {
      sandbox.edi.inbound.knobs = {};
    }
    expect(await feeds.pump()).toEqual({ edi: 2, wms: 0, vendorAsns: 0, carrierWebhooks: 0 });
    const execution = await until('the execution', () => executionsNamed(orderId)[0]);
    expect(await ended(execution)).toBe('SUCCEEDED');
    expect(execution.statesEntered).toEqual(MAIN_ROUTE);
    // Both copies were answered with the same 997 (same bytes, same key): the gateway kept one.
    accepting997(821);
    const posts997 = gatewayPosts('edi-997:LAKESHOREHC:000000821:821');
    expect(posts997).toHaveLength(2);
    expect(new Set(posts997.map((p) => p.body)).size).toBe(1);

    // The buyer re-sends the same PO in a new interchange: it gets its own 997 and changes nothing.
    put850('PO-EDI-820', 822);
    expect(await feeds.pump()).toEqual({ edi: 1, wms: 0, vendorAsns: 0, carrierWebhooks: 0 });
    await until('the 997 of the second interchange', () => acknowledgmentsOf(822)[0]);
    accepting997(822);
    await quiet();

    expect(executionsNamed(orderId)).toHaveLength(1);
    const history = await historyOf(orderId);
    expect(history.map((h) => h.stage)).toEqual([
      'received',
      'accepted',
      'credit-approved',
      'allocated',
      'released',
    ]);
    expect(history[0]?.reasonCodes).toContain('EDI_INTERCHANGE:LAKESHOREHC-000000821');
    expect(await exceptionsOf(orderId)).toEqual([]);
    the855(orderId, 'PO-EDI-820');
    // A repeated order.received (the first copy still at received) carries the same key: one event each.
    const events = archived(orderId);
    expect([...new Set(events.map((e) => e['detail-type']))]).toEqual([
      'order.received.v1',
      'order.accepted.v1',
      'credit.approved.v1',
      'allocation.confirmed.v1',
      'warehouse.released.v1',
    ]);
    const keys = new Set(
      events.map((e) => `${e['detail-type']}|${(e.detail as { idempotencyKey: string }).idempotencyKey}`),
    );
    expect(keys.size).toBe(5);
    expect(
      sandbox.callsTo('POST', '/wms/reservations').filter((c) => c.idempotencyKey?.startsWith(orderId)),
    ).toHaveLength(1);
  });

  it('PO-EDI-830 (the same PO number re-sent with other quantities): quarantined for customer service, the order unchanged', async () => {
    const { orderId, execution } = await received('PO-EDI-830', 831);
    expect(await ended(execution)).toBe('SUCCEEDED');
    put850('PO-EDI-830', 832, {
      lines: [
        { sku: 'VALVE-BALL-1IN', quantity: 24, unitPrice: '22.40' },
        { sku: 'TAPE-48MM', quantity: 60, unitPrice: '2.15' },
      ],
    });
    expect(await feeds.pump()).toEqual({ edi: 1, wms: 0, vendorAsns: 0, carrierWebhooks: 0 });
    const [changed] = await until('the change is quarantined', async () => {
      const found = (await exceptionsOf(orderId)).filter((e) => e.type === 'validation');
      return found.length > 0 ? found : undefined;
    });
    expect(changed).toMatchObject({
      ownerTeam: 'customer-service',
      state: 'open',
      reasonCodes: ['EDI_PO_CHANGED_AFTER_RECEIPT'],
      violations: [{ path: 'BEG.BEG03', rule: 'changedAfterReceipt' }],
      context: { stageOfExistingOrder: 'released' },
    });
    // The interchange itself was well formed: its 997 accepts it; the change created nothing.
    await until('the 997 of the second interchange', () => acknowledgmentsOf(832)[0]);
    accepting997(832);
    await quiet();
    expect(executionsNamed(orderId)).toHaveLength(1);
    expect(await order(orderId)).toMatchObject({
      stage: 'released',
      order: {
        lines: [
          { lineNo: 1, quantity: 12 },
          { lineNo: 2, quantity: 60 },
        ],
      },
    });
    the855(orderId, 'PO-EDI-830');
    await until('the quarantine is announced', () =>
      eventsAbout(orderId).includes('exception.raised.v1') ? true : undefined,
    );
  });
});
