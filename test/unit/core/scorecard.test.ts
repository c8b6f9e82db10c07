import { describe, expect, it } from 'vitest';
import { EVENT_NAMES, type EventName } from '../../../contracts/events.ts';
import {
  computeScorecard,
  InvalidScorecardInput,
  MAX_LISTED_LINES,
  projectDetail,
  toProcessEvent,
} from '../../../lambdas/core/scorecard.ts';
import type { ProcessEvent } from '../../../lambdas/core/scorecard-model.ts';

// ---------------------------------------------------------------------------------------------------------
// A known history, built through toProcessEvent from bus envelopes.
//
// Window: Tue 2025-03-11T00:00Z (D1) → Thu 2025-03-13T00:00Z, now = window end. Chicago is on CDT (UTC-5)
// since 9 March, so the business calendar (07:00–19:00 local, weekdays) is 12:00Z–24:00Z on D1 and D2:
// every business-calendar stage below runs inside those hours, so its working time is its wall time.
// ---------------------------------------------------------------------------------------------------------

const WINDOW = { from: '2025-03-11T00:00:00Z', to: '2025-03-13T00:00:00Z' };
const d1 = (hhmm: string) => `2025-03-11T${hhmm}:00Z`;
const d2 = (hhmm: string) => `2025-03-12T${hhmm}:00Z`;

function bus(
  name: EventName,
  orderId: string,
  occurredAt: string,
  fields: Record<string, unknown> = {},
  options: { id?: string; publishedAt?: string } = {},
): ProcessEvent {
  const record = toProcessEvent({
    id: options.id ?? `${orderId}|${name}|${occurredAt}`,
    time: options.publishedAt ?? occurredAt,
    'detail-type': `${name}.v1`,
    detail: {
      schemaVersion: 1,
      orderId,
      correlationId: orderId,
      idempotencyKey: `${orderId}:${name}`,
      occurredAt,
      ...fields,
    },
  });
  if (!record) throw new Error(`${name} is not a Handoff event`);
  return record;
}

const lines = (...pairs: [number, number][]) =>
  pairs.map(([lineNo, quantity]) => ({ lineNo, sku: `SKU-${lineNo}`, quantity }));

function received(orderId: string, at: string, channel: string, segment: string, lineCount: number) {
  return bus('order.received', orderId, at, {
    order: {
      orderId,
      channel,
      serviceLevel: 'standard',
      customer: { id: 'C-1', segment, priority: 'standard' },
      lines: Array.from({ length: lineCount }, (_, i) => ({
        lineNo: i + 1,
        sku: `SKU-${i + 1}`,
        quantity: 1,
      })),
    },
  });
}
const allocated = (
  orderId: string,
  at: string,
  siteId: string,
  partial: boolean,
  ...pairs: [number, number][]
) =>
  bus('allocation.confirmed', orderId, at, {
    siteId,
    lines: lines(...pairs),
    partial,
    reservationId: `RES-${orderId}`,
  });
const released = (orderId: string, at: string, siteId: string, shipBy: string, options = {}) =>
  bus(
    'warehouse.released',
    orderId,
    at,
    { siteId, shipBy, releaseId: `REL-${orderId}`, priority: 500 },
    options,
  );
const shipped = (
  orderId: string,
  at: string,
  shipmentId: string,
  siteId: string,
  shippedAt: string,
  partial: boolean,
  pairs: [number, number][],
  options = {},
) =>
  bus(
    'shipment.confirmed',
    orderId,
    at,
    { shipmentId, siteId, shippedAt, partial, lines: lines(...pairs) },
    options,
  );
const invoiced = (orderId: string, at: string, invoiceId: string, shipmentId: string) =>
  bus('invoice.issued', orderId, at, { invoiceId, shipmentId, amount: 10, currency: 'USD' });
const raised = (
  orderId: string,
  at: string,
  exceptionId: string,
  type: string,
  ownerTeam: string,
  stage: string,
) =>
  bus('exception.raised', orderId, at, {
    exceptionId,
    type,
    ownerTeam,
    stage,
    priority: 'high',
    reasonCodes: [],
  });
const resolved = (orderId: string, at: string, exceptionId: string, resolvedBy: string) =>
  bus('exception.resolved', orderId, at, { exceptionId, resolution: 'resolved', resolvedBy, reason: 'done' });
const slaAlarm = (
  name: 'sla.jeopardy' | 'sla.breached',
  orderId: string,
  at: string,
  stage: string,
  ownerTeam: string,
) => bus(name, orderId, at, { stage, ownerTeam, targetSeconds: 1, startedAt: at, dueAt: at });
const receipt = (receiptId: string, occurredAt: string, publishedAt: string, id?: string) =>
  bus(
    'inventory.received',
    receiptId,
    occurredAt,
    { receiptId, siteId: 'DC-EAST', sku: 'SKU-2', quantity: 6 },
    { publishedAt, ...(id ? { id } : {}) },
  );

const HISTORY: ProcessEvent[] = [
  // O0: received before the window (not one of its orders); its carrier exception is resolved in it by a person.
  received('O0', '2025-03-10T20:00:00Z', 'wholesale', 'mid-market', 1),
  raised('O0', '2025-03-10T22:00:00Z', 'EX-O0', 'carrier-failure', 'logistics', 'shipped'),
  released('O0', d1('12:30'), 'DC-WEST', '2025-03-11'),
  resolved('O0', d1('13:00'), 'EX-O0', 'kim.logistics'),

  // O1 wholesale · mid-market · DC-EAST: the smooth path. Its release is redelivered (same id).
  received('O1', d1('12:00'), 'wholesale', 'mid-market', 2),
  allocated('O1', d1('12:10'), 'DC-EAST', false, [1, 5], [2, 3]),
  released('O1', d1('13:00'), 'DC-EAST', '2025-03-12', { id: 'EVT-O1-RELEASE' }),
  released('O1', d1('13:00'), 'DC-EAST', '2025-03-12', { id: 'EVT-O1-RELEASE', publishedAt: d1('13:09') }),
  shipped('O1', d1('20:00'), 'S1', 'DC-EAST', d1('19:55'), false, [
    [1, 5],
    [2, 3],
  ]),
  invoiced('O1', d1('21:00'), 'I1', 'S1'),
  bus('order.closed', 'O1', '2025-03-13T02:00:00Z', { outcome: 'fulfilled' }), // after the window: ignored

  // O2 wholesale · enterprise · DC-WEST: credit hold, released by a person after the finance target.
  received('O2', d1('13:00'), 'wholesale', 'enterprise', 1),
  bus('order.accepted', 'O2', d1('13:02'), { path: 'standard-single-site' }),
  bus('credit.hold.placed', 'O2', d1('13:05'), { exceptionId: 'EX-O2', reasonCodes: ['OVER_LIMIT'] }),
  raised('O2', d1('13:05'), 'EX-O2', 'credit-hold', 'finance', 'credit-hold'),
  slaAlarm('sla.jeopardy', 'O2', d1('14:32'), 'accept-to-credit-decision', 'finance'),
  slaAlarm('sla.breached', 'O2', d1('15:02'), 'accept-to-credit-decision', 'finance'),
  bus('credit.hold.released', 'O2', d1('16:02'), {
    releasedBy: 'dana.reyes',
    reason: 'paid',
    exceptionId: 'EX-O2',
  }),
  resolved('O2', d1('16:02'), 'EX-O2', 'dana.reyes'),
  allocated('O2', d1('16:12'), 'DC-WEST', false, [1, 10]),
  released('O2', d1('17:02'), 'DC-WEST', '2025-03-13'),
  shipped('O2', d2('09:02'), 'S2', 'DC-WEST', d2('09:00'), false, [[1, 10]]),
  invoiced('O2', d2('10:02'), 'I2', 'S2'),

  // O3 retail · enterprise · DC-EAST: line 2 short, backordered, filled after a receipt, shipped complete.
  received('O3', d1('14:00'), 'retail-replenishment', 'enterprise', 2),
  allocated('O3', d1('14:05'), 'DC-EAST', true, [1, 4]),
  bus('backorder.created', 'O3', d1('14:05'), { lines: lines([2, 6]) }),
  bus('backorder.filled', 'O3', d1('18:10'), { siteId: 'DC-EAST', lines: lines([2, 6]) }),
  released('O3', d1('19:05'), 'DC-EAST', '2025-03-12'),
  shipped('O3', d2('13:05'), 'S3', 'DC-EAST', d2('13:00'), false, [
    [1, 4],
    [2, 6],
  ]),
  invoiced('O3', d2('14:05'), 'I3', 'S3'),

  // Receipts: RCPT-1 synced in 30 s (its duplicate message, published later, is the same receipt);
  // RCPT-2 in 150 s; RCPT-0 was put away before the window.
  receipt('RCPT-1', d1('18:00'), '2025-03-11T18:00:30Z'),
  receipt('RCPT-1', d1('18:00'), '2025-03-11T18:05:00Z', 'EVT-RCPT-1-AGAIN'),
  receipt('RCPT-2', d2('09:00'), '2025-03-12T09:02:30Z'),
  receipt('RCPT-0', '2025-03-10T23:00:00Z', '2025-03-10T23:10:00Z'),

  // O4 retail · mid-market · DC-WEST: line 2 backordered and still open; line 1 shipped partial.
  received('O4', d1('15:00'), 'retail-replenishment', 'mid-market', 2),
  allocated('O4', d1('15:20'), 'DC-WEST', true, [1, 8]),
  bus('backorder.created', 'O4', d1('15:20'), { lines: lines([2, 2]) }),
  raised('O4', d1('15:20'), 'EX-O4', 'shortage', 'customer-service', 'backordered'),
  released('O4', d1('16:20'), 'DC-WEST', '2025-03-12'),
  slaAlarm('sla.jeopardy', 'O4', d2('10:20'), 'release-to-ship-confirmation', 'logistics'),
  shipped('O4', d2('12:20'), 'S4', 'DC-WEST', d2('12:00'), true, [[1, 8]]),
  invoiced('O4', d2('13:20'), 'I4', 'S4'),
  resolved('O4', d2('15:20'), 'EX-O4', 'handoff:sla-fallback'),
  slaAlarm('sla.breached', 'O4', d2('16:20'), 'release-to-ship-confirmation', 'logistics'),

  // O5 direct · mid-market · DC-EAST: two shipments; the second invoiced after the 60-minute target.
  received('O5', d1('16:00'), 'direct-to-customer', 'mid-market', 2),
  allocated('O5', d1('16:03'), 'DC-EAST', false, [1, 2], [2, 1]),
  released('O5', d1('17:00'), 'DC-EAST', '2025-03-12'),
  shipped('O5', d1('22:00'), 'S5a', 'DC-EAST', d1('21:50'), true, [[1, 2]]),
  invoiced('O5', d1('22:30'), 'I5a', 'S5a'),
  shipped('O5', d2('12:00'), 'S5b', 'DC-EAST', d2('11:55'), false, [[2, 1]]),
  invoiced('O5', d2('14:00'), 'I5b', 'S5b'),

  // O6 direct · enterprise · DC-WEST: shipped a day after its ship-by date, one unit short of the
  // allocation; its confirmation was published twice under different event ids.
  received('O6', d1('17:00'), 'direct-to-customer', 'enterprise', 1),
  allocated('O6', d1('17:04'), 'DC-WEST', false, [1, 3]),
  released('O6', d1('18:00'), 'DC-WEST', '2025-03-11'),
  shipped('O6', d2('16:00'), 'S6', 'DC-WEST', d2('15:50'), false, [[1, 2]]),
  shipped('O6', d2('16:00'), 'S6', 'DC-WEST', d2('15:50'), false, [[1, 2]], { id: 'EVT-S6-RETRY' }),
  invoiced('O6', d2('16:30'), 'I6', 'S6'),

  // O7 wholesale · mid-market · DC-EAST: invoiced before its shipment was confirmed.
  received('O7', d2('12:00'), 'wholesale', 'mid-market', 1),
  allocated('O7', d2('12:05'), 'DC-EAST', false, [1, 1]),
  released('O7', d2('14:05'), 'DC-EAST', '2025-03-13'),
  invoiced('O7', d2('18:00'), 'I7', 'S7'),
  shipped('O7', d2('18:30'), 'S7', 'DC-EAST', d2('18:20'), false, [[1, 1]]),

  // O8 retail · mid-market: an integration failure recovered by a person after 90 minutes; not released.
  received('O8', d2('21:00'), 'retail-replenishment', 'mid-market', 1),
  bus('order.accepted', 'O8', d2('21:05'), { path: 'edi-retail-replenishment' }),
  raised('O8', d2('21:10'), 'EX-O8', 'integration-failure', 'integration', 'accepted'),
  resolved('O8', d2('22:40'), 'EX-O8', 'lee.integration'),

  // A message nobody could identify: an integration failure still open at the window's end.
  raised('UNIDENTIFIED-EDI-7', d2('02:00'), 'EX-UNID', 'integration-failure', 'integration', 'received'),
];

const NOW = WINDOW.to;

describe('computeScorecard on a known history', () => {
  const card = computeScorecard(HISTORY, WINDOW, { now: NOW });

  it('counts the orders received in the window and the distinct business events that occurred in it', () => {
    // O1…O8 (O0 was received on 10 March).
    expect(card.orders).toBe(8);
    // In the window: O0 2 (release, resolution) + O1 5 (the redelivered release has the same id) + O2 12
    // + O3 7 + receipts 2 (RCPT-1 published twice under two ids is one receipt, RCPT-2) + O4 10 + O5 7
    // + O6 5 (S6 published twice under two ids is one shipment) + O7 5 + O8 4 + the unidentified message 1
    // = 60. Before it: O0's receipt and exception, RCPT-0; after it: O1's closure.
    expect(card.events).toBe(60);
    expect(card.window).toEqual(WINDOW);
    expect(card.generatedAt).toBe(NOW);
  });

  it('measures order-to-release cycle time by channel, segment and facility', () => {
    // received → first release: O1 12:00→13:00 3600; O2 13:00→17:02 14520; O3 14:00→19:05 18300;
    // O4 15:00→16:20 4800; O5 16:00→17:00 3600; O6 17:00→18:00 3600; O7 12:00→14:05 7500; O8 not released.
    // Sorted: 3600 3600 3600 4800 7500 14520 18300 (n 7): p50 rank ⌈3.5⌉=4 → 4800; p90 rank ⌈6.3⌉=7 → 18300.
    expect(card.orderToRelease.overall).toEqual({ count: 7, p50Seconds: 4800, p90Seconds: 18300 });
    expect(card.orderToRelease.byChannel).toEqual([
      // O5 3600, O6 3600: p50 rank 1, p90 rank ⌈1.8⌉=2.
      { key: 'direct-to-customer', count: 2, p50Seconds: 3600, p90Seconds: 3600 },
      // O4 4800, O3 18300 (O8 in the group, unreleased): p50 rank 1 → 4800, p90 rank 2 → 18300.
      { key: 'retail-replenishment', count: 2, p50Seconds: 4800, p90Seconds: 18300 },
      // 3600 7500 14520: p50 rank ⌈1.5⌉=2 → 7500, p90 rank ⌈2.7⌉=3 → 14520.
      { key: 'wholesale', count: 3, p50Seconds: 7500, p90Seconds: 14520 },
    ]);
    expect(card.orderToRelease.bySegment).toEqual([
      // O6 3600, O2 14520, O3 18300: p50 rank 2 → 14520, p90 rank 3 → 18300.
      { key: 'enterprise', count: 3, p50Seconds: 14520, p90Seconds: 18300 },
      // O1 3600, O5 3600, O4 4800, O7 7500: p50 rank 2 → 3600, p90 rank ⌈3.6⌉=4 → 7500.
      { key: 'mid-market', count: 4, p50Seconds: 3600, p90Seconds: 7500 },
    ]);
    expect(card.orderToRelease.byFacility).toEqual([
      // O1 3600, O5 3600, O7 7500, O3 18300: p50 rank 2 → 3600, p90 rank 4 → 18300.
      { key: 'DC-EAST', count: 4, p50Seconds: 3600, p90Seconds: 18300 },
      // O6 3600, O4 4800, O2 14520: p50 rank 2 → 4800, p90 rank 3 → 14520.
      { key: 'DC-WEST', count: 3, p50Seconds: 4800, p90Seconds: 14520 },
    ]);
    // ≤1h: three 3600s; ≤4h: 4800, 7500; ≤8h: 14520, 18300.
    expect(card.orderToRelease.distribution).toEqual({
      upperSeconds: [900, 3600, 14400, 28800, 86400, 172800],
      labels: ['≤15m', '≤1h', '≤4h', '≤8h', '≤1d', '≤2d', '>2d'],
      counts: [0, 3, 2, 2, 0, 0, 0],
    });
  });

  it('measures allocation accuracy per allocated line and inventory-sync latency per receipt', () => {
    // Orders with a shipment: O1 2/2, O2 1/1, O3 2/2 (line 2 allocated by the fill), O4 1/1 (line 2 never
    // allocated), O5 2/2, O6 0/1 (3 allocated, 2 shipped; the retried S6 counts once), O7 1/1 → 9/10.
    expect(card.allocation.accuracy).toEqual({ measured: 10, hits: 9, rate: 0.9 });
    // RCPT-1 30 s (first publication), RCPT-2 150 s: p50 rank 1 → 30, p90 rank 2 → 150.
    expect(card.allocation.inventorySyncLatency).toEqual({ count: 2, p50Seconds: 30, p90Seconds: 150 });
  });

  it('counts exceptions raised in the window by stage, cause and team, per order', () => {
    // EX-O2 credit-hold/finance/credit-hold, EX-O4 shortage/customer-service/backordered,
    // EX-O8 integration-failure/integration/accepted, EX-UNID integration-failure/integration/received;
    // EX-O0 was raised before the window. 4 / 8 orders = 0.5; 1/8 = 0.125, 2/8 = 0.25.
    expect(card.exceptions).toEqual({
      total: 4,
      perOrder: 0.5,
      byStage: [
        { key: 'accepted', count: 1, perOrder: 0.125 },
        { key: 'backordered', count: 1, perOrder: 0.125 },
        { key: 'credit-hold', count: 1, perOrder: 0.125 },
        { key: 'received', count: 1, perOrder: 0.125 },
      ],
      byCause: [
        { key: 'integration-failure', count: 2, perOrder: 0.25 },
        { key: 'credit-hold', count: 1, perOrder: 0.125 },
        { key: 'shortage', count: 1, perOrder: 0.125 },
      ],
      byTeam: [
        { key: 'integration', count: 2, perOrder: 0.25 },
        { key: 'customer-service', count: 1, perOrder: 0.125 },
        { key: 'finance', count: 1, perOrder: 0.125 },
      ],
    });
  });

  it('measures shipment timeliness and invoice alignment', () => {
    expect(card.shipping).toEqual({
      // S1 03-11≤03-12, S2 03-12≤03-13, S3 03-12≤03-12, S4 03-12≤03-12, S5a 03-11≤03-12, S5b 03-12≤03-12,
      // S7 03-12≤03-13 hit; S6 shipped 03-12 after ship-by 03-11 → 7/8 = 0.875.
      confirmationOnTime: { measured: 8, hits: 7, rate: 0.875 },
      // Confirmation → invoice against the target (wholesale 240m, retail 120m, direct 60m):
      // I1 3600≤14400, I2 3600≤14400, I3 3600≤7200, I4 3600≤7200, I5a 1800≤3600, I6 1800≤3600 hit;
      // I5b 7200>3600 miss; I7 has no earlier confirmation of S7 → 6/8 = 0.75.
      invoiceAligned: { measured: 8, hits: 6, rate: 0.75 },
      invoicedWithoutProof: 1,
      // 1800 1800 3600 3600 3600 3600 7200: p50 rank 4 → 3600, p90 rank ⌈6.3⌉=7 → 7200.
      confirmationToInvoice: { count: 7, p50Seconds: 3600, p90Seconds: 7200 },
    });
  });

  it('counts integration failures, their recovery and the manual interventions', () => {
    expect(card.integration).toEqual({
      // EX-O8 and EX-UNID, over 2 days.
      failures: 2,
      failuresPerDay: 1,
      // EX-O8 21:10 → 22:40 = 5400 s; EX-UNID still open.
      recovered: 1,
      recoveryTime: { count: 1, p50Seconds: 5400, p90Seconds: 5400 },
      // dana.reyes (EX-O2), kim.logistics (EX-O0), lee.integration (EX-O8); not handoff:sla-fallback (EX-O4).
      manualInterventions: 3,
    });
  });

  it('follows backorders to their fill and ages the open ones; counts partially shipped orders', () => {
    expect(card.backorders).toEqual({
      // O3 line 2 (filled 6 of 6), O4 line 2 (open since D1 15:20: 32h40m at the end → 0-2d).
      created: 2,
      filled: 1,
      cancelled: 0,
      openAging: [
        { key: '0-2d', count: 1, perOrder: 0.125 },
        { key: '2-7d', count: 0, perOrder: 0 },
        { key: '7-14d', count: 0, perOrder: 0 },
        { key: '>14d', count: 0, perOrder: 0 },
      ],
      // O1…O7 shipped; O4 (flagged partial) and O5 (two shipments) → 2/7 = 0.285714… → 0.2857.
      partialShipment: { measured: 7, hits: 2, rate: 0.2857 },
    });
  });

  it('measures SLA adherence per team from the rebuilt stage clocks', () => {
    // integration, capture→accept (15m wholesale, 30m retail, 5m direct): O1 600, O2 120, O3 300, O4 1200,
    //   O5 180, O6 240, O7 300, O8 300 → 8/8.
    // finance: O2 accept→credit 13:02→16:02 = 10800 > 7200 (enterprise), breached (event) → miss;
    //   confirmation→invoice S1 3600, S2 3600, S3 3600, S4 3600, S5a 1800, S6 1800 hit; S5b 7200 > 3600
    //   (stopped late, no event) → miss; S7 stopped before it started → not measured; O8's accept→credit
    //   still running (10500 < 14400) → not measured. 6/8; breaches 2 (O2, S5b); jeopardies 1 (O2).
    // warehouse: O2 credit→allocation 600 ≤ 3600; allocation→release O1 3000, O2 3000, O3 18000,
    //   O4 3600, O5 3420, O6 3360, O7 7200 (all ≤ 28800) → 8/8.
    // logistics, release→ship confirmation (1440m): O1 25200, O2 57600, O3 64800, O5 68400 (second,
    //   complete shipment), O6 79200, O7 15900 hit; O4 still running after a partial shipment, breached at
    //   D2 16:20 → 6/7 = 0.857142… → 0.8571; breaches 1, jeopardies 1.
    expect(card.sla.byTeam).toEqual([
      { team: 'finance', measured: 8, hits: 6, rate: 0.75, breaches: 2, jeopardies: 1 },
      { team: 'integration', measured: 8, hits: 8, rate: 1, breaches: 0, jeopardies: 0 },
      { team: 'logistics', measured: 7, hits: 6, rate: 0.8571, breaches: 1, jeopardies: 1 },
      { team: 'warehouse', measured: 8, hits: 8, rate: 1, breaches: 0, jeopardies: 0 },
    ]);
  });

  it('buckets SLA adherence by the day each clock was measured', () => {
    // D1: finance O2 accept→credit (miss, stopped 16:02), S1 (21:00), S5a (22:30) → 2/3 = 0.6667;
    //   integration O1…O6 → 6/6; logistics O1 (20:00) → 1/1; warehouse O2 credit→allocation and
    //   allocation→release O1…O6 → 7/7.
    // D2: finance S2, S3, S4, S6 hit, S5b miss → 4/5 = 0.8; integration O7, O8 → 2/2; logistics O2, O3,
    //   O5, O6, O7 hit, O4 breached (event 16:20) → 5/6 = 0.8333; warehouse O7 → 1/1.
    expect(card.sla.overTime).toEqual([
      {
        bucketStart: '2025-03-11T00:00:00.000Z',
        values: { finance: 0.6667, integration: 1, logistics: 1, warehouse: 1 },
      },
      {
        bucketStart: '2025-03-12T00:00:00.000Z',
        values: { finance: 0.8, integration: 1, logistics: 0.8333, warehouse: 1 },
      },
    ]);
  });

  it('tracks the open exceptions per team at the end of each hour (a two-day window)', () => {
    expect(card.queueDepth).toHaveLength(48);
    const at = (bucketStart: string) => card.queueDepth.find((p) => p.bucketStart === bucketStart)?.values;
    const empty = { 'customer-service': 0, finance: 0, integration: 0, logistics: 0, warehouse: 0 };
    // EX-O0 (raised 10 March) is open until its resolution at 13:00, which belongs to the next hour.
    expect(at('2025-03-11T00:00:00.000Z')).toEqual({ ...empty, logistics: 1 });
    expect(at('2025-03-11T12:00:00.000Z')).toEqual({ ...empty, logistics: 1 });
    // By 14:00 EX-O0 is resolved and EX-O2 (13:05) is open.
    expect(at('2025-03-11T13:00:00.000Z')).toEqual({ ...empty, finance: 1 });
    // By 03:00 on D2: EX-O4 (since D1 15:20) and EX-UNID (02:00).
    expect(at('2025-03-12T02:00:00.000Z')).toEqual({ ...empty, 'customer-service': 1, integration: 1 });
    // By 22:00: EX-O4 resolved at 15:20; EX-UNID and EX-O8 (21:10) open.
    expect(at('2025-03-12T21:00:00.000Z')).toEqual({ ...empty, integration: 2 });
    expect(at('2025-03-12T23:00:00.000Z')).toEqual({ ...empty, integration: 1 });
  });

  it('tracks the open exceptions per team at the end of each day when asked', () => {
    const daily = computeScorecard(HISTORY, WINDOW, { now: NOW, bucket: 'day' });
    expect(daily.queueDepth).toEqual([
      {
        bucketStart: '2025-03-11T00:00:00.000Z',
        values: { 'customer-service': 1, finance: 0, integration: 0, logistics: 0, warehouse: 0 },
      },
      {
        bucketStart: '2025-03-12T00:00:00.000Z',
        values: { 'customer-service': 0, finance: 0, integration: 1, logistics: 0, warehouse: 0 },
      },
    ]);
  });

  it('gives the same scorecard whatever the order of arrival and however often events are redelivered', () => {
    const shuffled = [...HISTORY].reverse();
    const rotated = [...shuffled.slice(17), ...shuffled.slice(0, 17)];
    const redelivered = [...rotated, ...HISTORY.map((e) => ({ ...e, publishedAt: '2025-03-14T00:00:00Z' }))];
    expect(computeScorecard(redelivered, WINDOW, { now: NOW })).toEqual(card);
  });
});

describe('events of one instant', () => {
  it('counts an exception raised and escalated at one instant under the team it was escalated to', () => {
    const depthAt = ([raisedId, escalatedId]: readonly [string, string]) => {
      const events = [
        received('X1', d1('09:00'), 'wholesale', 'mid-market', 1),
        bus(
          'exception.raised',
          'X1',
          d1('10:00'),
          {
            exceptionId: 'EX-9',
            type: 'credit-hold',
            ownerTeam: 'finance',
            stage: 'accepted',
            priority: 'high',
            reasonCodes: [],
          },
          { id: raisedId },
        ),
        bus(
          'exception.escalated',
          'X1',
          d1('10:00'),
          { exceptionId: 'EX-9', tier: 2, ownerTeam: 'customer-service', role: 'manager' },
          { id: escalatedId },
        ),
      ];
      const card = computeScorecard(events, WINDOW, { now: NOW });
      return card.queueDepth.find((p) => p.bucketStart.startsWith('2025-03-11T10:00'))?.values;
    };
    // The raise comes first in an order's life, whichever id sorts first.
    for (const ids of [
      ['a', 'b'],
      ['b', 'a'],
    ] as const) {
      expect(depthAt(ids)).toMatchObject({ finance: 0, 'customer-service': 1 });
    }
  });

  it('puts a split order released at two sites at one instant under the same facility, whatever its event ids', () => {
    const split = (eastId: string, westId: string) => [
      received('S1', d1('10:00'), 'wholesale', 'mid-market', 2),
      bus('warehouse.released', 'S1', d1('11:00'), { siteId: 'DC-WEST', releaseId: 'REL-W' }, { id: westId }),
      bus('warehouse.released', 'S1', d1('11:00'), { siteId: 'DC-EAST', releaseId: 'REL-E' }, { id: eastId }),
    ];
    const facilities = (events: ProcessEvent[]) =>
      computeScorecard(events, WINDOW, { now: NOW }).orderToRelease.byFacility.map((f) => f.key);
    // Event ids are random on AWS: the site decides, not which id sorts first.
    expect(facilities(split('a', 'b'))).toEqual(['DC-EAST']);
    expect(facilities(split('b', 'a'))).toEqual(['DC-EAST']);
  });
});

describe('computeScorecard edge cases', () => {
  it('counts a sales order redelivered while it was being routed once, whichever delivery announced first', () => {
    // The duplicate found the order still at received and announced it again: the router accepted it a
    // second time (same path, new event ids). Whether a redelivery overtakes the first delivery is a matter
    // of timing, so the card must read the same either way.
    const once = [
      received('R1', d1('09:00'), 'wholesale', 'key-account', 2),
      bus('order.accepted', 'R1', d1('09:00'), {
        path: 'standard-single-site',
        reasonCodes: ['DEFAULT_STANDARD'],
      }),
    ];
    const twice = [
      ...once,
      { ...received('R1', d1('09:00'), 'wholesale', 'key-account', 2), id: 'EVT-R1-RECEIVED-AGAIN' },
      {
        ...bus('order.accepted', 'R1', d1('09:00'), {
          path: 'standard-single-site',
          reasonCodes: ['DEFAULT_STANDARD'],
        }),
        id: 'EVT-R1-ACCEPTED-AGAIN',
      },
    ];
    const first = computeScorecard(once, WINDOW);
    const second = computeScorecard(twice, WINDOW);
    expect(first.events).toBe(2);
    expect(second).toEqual(first);
  });

  it('counts an order closed twice at one instant, as two split-shipment workflows can, once', () => {
    // Both workflows of a split order found it fully invoiced at one carrier cut-off; the second found it
    // closed already and announced the close again under the same key, for a publish that might have failed.
    const closed = bus('order.closed', 'C1', d1('18:00'), {
      outcome: 'fulfilled',
      path: 'standard-single-site',
    });
    const once = [received('C1', d1('09:00'), 'wholesale', 'mid-market', 2), closed];
    const twice = [...once, { ...closed, id: 'EVT-C1-CLOSED-AGAIN' }];
    const first = computeScorecard(once, WINDOW);
    expect(first.events).toBe(2);
    expect(computeScorecard(twice, WINDOW)).toEqual(first);
  });

  it('counts a rejection announced again under its key once', () => {
    const rejected = bus('order.rejected', 'J1', d1('10:00'), {
      stage: 'credit-hold',
      reasonCodes: ['ACCOUNT_CLOSED'],
    });
    const once = [received('J1', d1('09:00'), 'wholesale', 'mid-market', 1), rejected];
    const first = computeScorecard(once, WINDOW);
    expect(first.events).toBe(2);
    expect(computeScorecard([...once, { ...rejected, id: 'EVT-J1-REJECTED-AGAIN' }], WINDOW)).toEqual(first);
  });

  it('reports zero counts and null rates and percentiles for an empty log', () => {
    const card = computeScorecard([], WINDOW);
    const none = { count: 0, p50Seconds: null, p90Seconds: null };
    const unmeasured = { measured: 0, hits: 0, rate: null };
    expect(card.orders).toBe(0);
    expect(card.events).toBe(0);
    expect(card.generatedAt).toBe(WINDOW.to);
    expect(card.orderToRelease).toEqual({
      overall: none,
      byChannel: [],
      bySegment: [],
      byFacility: [],
      distribution: expect.objectContaining({ counts: [0, 0, 0, 0, 0, 0, 0] }),
    });
    expect(card.allocation).toEqual({ accuracy: unmeasured, inventorySyncLatency: none });
    expect(card.exceptions).toEqual({ total: 0, perOrder: null, byStage: [], byCause: [], byTeam: [] });
    expect(card.shipping).toEqual({
      confirmationOnTime: unmeasured,
      invoiceAligned: unmeasured,
      invoicedWithoutProof: 0,
      confirmationToInvoice: none,
    });
    expect(card.integration).toEqual({
      failures: 0,
      failuresPerDay: 0,
      recovered: 0,
      recoveryTime: none,
      manualInterventions: 0,
    });
    expect(card.backorders.openAging.map((b) => [b.key, b.count, b.perOrder])).toEqual([
      ['0-2d', 0, null],
      ['2-7d', 0, null],
      ['7-14d', 0, null],
      ['>14d', 0, null],
    ]);
    expect(card.backorders.partialShipment).toEqual(unmeasured);
    expect(card.sla.byTeam.map((t) => [t.team, t.measured, t.rate])).toEqual([
      ['finance', 0, null],
      ['integration', 0, null],
      ['logistics', 0, null],
      ['warehouse', 0, null],
    ]);
    expect(card.sla.overTime.map((p) => Object.values(p.values))).toEqual([
      [null, null, null, null],
      [null, null, null, null],
    ]);
    expect(card.queueDepth).toHaveLength(48);
    expect(card.queueDepth.every((p) => Object.values(p.values).every((v) => v === 0))).toBe(true);
  });

  it('ages open backorders at the end of a longer window and closes those the ageing sweep cancelled', () => {
    const window = { from: '2025-03-01T00:00:00Z', to: '2025-03-31T00:00:00Z' };
    const history = [
      // B1 opened 29 days before the end (line 1 → >14d), line 2 cancelled by the ageing sweep.
      received('B1', '2025-03-01T12:00:00Z', 'wholesale', 'mid-market', 2),
      bus('backorder.created', 'B1', '2025-03-01T12:00:00Z', { lines: lines([1, 4], [2, 2]) }),
      bus('backorder.aged', 'B1', '2025-03-20T00:00:00Z', {
        backorderId: 'B1-BO-2',
        lineNo: 2,
        action: 'cancelled',
      }),
      // B2: 10 days (7-14d); half filled, so still open.
      received('B2', '2025-03-21T00:00:00Z', 'wholesale', 'mid-market', 1),
      bus('backorder.created', 'B2', '2025-03-21T00:00:00Z', { lines: lines([1, 4]) }),
      bus('backorder.filled', 'B2', '2025-03-22T00:00:00Z', { siteId: 'DC-EAST', lines: lines([1, 2]) }),
      // B3: exactly 7 days (2-7d, edges belong to the lower bucket); B4: 1 day (0-2d).
      received('B3', '2025-03-24T00:00:00Z', 'wholesale', 'mid-market', 1),
      bus('backorder.created', 'B3', '2025-03-24T00:00:00Z', { lines: lines([1, 1]) }),
      received('B4', '2025-03-30T00:00:00Z', 'wholesale', 'mid-market', 1),
      bus('backorder.created', 'B4', '2025-03-30T00:00:00Z', { lines: lines([1, 1]) }),
    ];
    const card = computeScorecard(history, window);
    // 5 lines created, none filled completely, 1 cancelled, 4 open; perOrder = 1/4.
    expect(card.backorders).toMatchObject({ created: 5, filled: 0, cancelled: 1 });
    expect(card.backorders.openAging).toEqual([
      { key: '0-2d', count: 1, perOrder: 0.25 },
      { key: '2-7d', count: 1, perOrder: 0.25 },
      { key: '7-14d', count: 1, perOrder: 0.25 },
      { key: '>14d', count: 1, perOrder: 0.25 },
    ]);
    // A 30-day window is bucketed by day: 30 points.
    expect(card.queueDepth).toHaveLength(30);
  });

  it('stops at "now" inside the window: later events are ignored and ages are taken then', () => {
    const card = computeScorecard(HISTORY, WINDOW, { now: d1('17:00') });
    expect(card.generatedAt).toBe(d1('17:00'));
    // Received before 17:00: O1…O5 (O6 arrives at 17:00 itself).
    expect(card.orders).toBe(5);
    // Released before 17:00: O1 3600, O4 4800 (O2 at 17:02, O3 at 19:05, O5 at 17:00 itself) → 2 measured.
    expect(card.orderToRelease.overall).toEqual({ count: 2, p50Seconds: 3600, p90Seconds: 4800 });
    // O4's backorder (15:20) is 1h40m old; O3's is not filled yet (18:10).
    expect(card.backorders).toMatchObject({ created: 2, filled: 0 });
    expect(card.backorders.openAging[0]).toEqual({ key: '0-2d', count: 2, perOrder: 0.4 });
    // 17 hourly points, 00:00 … 16:00.
    expect(card.queueDepth).toHaveLength(17);
    expect(card.queueDepth.at(-1)?.values).toMatchObject({ 'customer-service': 1, finance: 0 });
  });

  it('counts a breach announced for a clock the log cannot rebuild as a measured miss', () => {
    const history = [
      received('X1', d1('12:00'), 'wholesale', 'mid-market', 1),
      // No order.accepted in the log, so the finance clock never started; the detector saw it breach.
      slaAlarm('sla.breached', 'X1', d1('18:00'), 'accept-to-credit-decision', 'finance'),
    ];
    const card = computeScorecard(history, WINDOW);
    expect(card.sla.byTeam.find((t) => t.team === 'finance')).toEqual({
      team: 'finance',
      measured: 1,
      hits: 0,
      rate: 0,
      breaches: 1,
      jeopardies: 0,
    });
    // capture→accept started at 12:00 and is still running at the end, 36 h over its 15 minutes.
    expect(card.sla.byTeam.find((t) => t.team === 'integration')).toMatchObject({
      measured: 1,
      hits: 0,
      breaches: 1,
    });
  });

  it('compares a big order in aggregate when its line lists were capped in the log', () => {
    const many = Array.from({ length: 30 }, (_, i) => [i + 1, 2] as [number, number]);
    const history = [
      received('BIG', d1('12:00'), 'wholesale', 'mid-market', 30),
      allocated('BIG', d1('12:10'), 'DC-EAST', false, ...many),
      shipped('BIG', d1('20:00'), 'S-BIG', 'DC-EAST', d1('19:00'), false, many),
    ];
    // 30 lines allocated, 60 units allocated and shipped → 30/30.
    expect(computeScorecard(history, WINDOW).allocation.accuracy).toEqual({
      measured: 30,
      hits: 30,
      rate: 1,
    });
    const short = many.map(
      ([lineNo, quantity]) => [lineNo, lineNo === 30 ? 1 : quantity] as [number, number],
    );
    const shortShipped = [
      ...history.slice(0, 2),
      shipped('BIG', d1('20:00'), 'S-BIG', 'DC-EAST', d1('19:00'), false, short),
    ];
    // 59 of 60 units shipped: the line that fell short is beyond the listed 25, so none of the 30 hit.
    expect(computeScorecard(shortShipped, WINDOW).allocation.accuracy).toEqual({
      measured: 30,
      hits: 0,
      rate: 0,
    });
  });

  it('rejects a window that is not a pair of instants in order', () => {
    expect(() => computeScorecard([], { from: 'yesterday', to: WINDOW.to })).toThrow(InvalidScorecardInput);
    expect(() => computeScorecard([], { from: WINDOW.to, to: WINDOW.from })).toThrow(
      /window.to must be after/,
    );
  });
});

// ---------------------------------------------------------------------------------------------------------
// toProcessEvent / projectDetail
// ---------------------------------------------------------------------------------------------------------

const envelope = { schemaVersion: 1, orderId: 'ERP-1', correlationId: 'ERP-1', idempotencyKey: 'ERP-1:x' };
const occurredAt = '2025-03-11T10:00:00Z';
const line3 = lines([1, 2], [2, 5], [3, 1]);

/** One realistic detail per event type, and the record the log keeps of it. */
const SAMPLES: {
  readonly [N in EventName]: { detail: Record<string, unknown>; data: Record<string, unknown> };
} = {
  'order.received': {
    detail: {
      order: {
        orderId: 'ERP-1',
        channel: 'wholesale',
        serviceLevel: 'expedited',
        customer: { id: 'C-1', segment: 'enterprise', priority: 'key-account' },
        requestedSiteId: 'DC-EAST',
        shipTo: { name: 'Dock', line1: '1 Road', city: 'Town', postalCode: '12345', country: 'US' },
        lines: line3,
      },
    },
    data: {
      channel: 'wholesale',
      segment: 'enterprise',
      serviceLevel: 'expedited',
      lineCount: 3,
      requestedSiteId: 'DC-EAST',
    },
  },
  'order.accepted': {
    detail: { path: 'expedited', reasonCodes: ['A', 'B', 'C', 'D'], priorityScore: 10, executionName: 'x' },
    data: { path: 'expedited', reasonCodes: ['A', 'B', 'C'] },
  },
  'order.rejected': {
    detail: {
      stage: 'received',
      reasonCodes: ['INVALID'],
      violations: [{ path: 'a', rule: 'b', message: 'c' }],
    },
    data: { stage: 'received', reasonCodes: ['INVALID'] },
  },
  'credit.hold.placed': {
    detail: {
      reasonCodes: ['OVER_LIMIT'],
      orderValue: 1,
      exposure: 2,
      creditLimit: 3,
      currency: 'USD',
      exceptionId: 'EX-1',
    },
    data: { exceptionId: 'EX-1', reasonCodes: ['OVER_LIMIT'] },
  },
  'credit.approved': {
    detail: {
      reasonCodes: ['BAND'],
      approvedBy: 'handoff:auto-approve-band',
      orderValue: 1,
      currency: 'USD',
    },
    data: { approvedBy: 'handoff:auto-approve-band' },
  },
  'credit.hold.released': {
    detail: { releasedBy: 'dana.reyes', reason: 'paid', exceptionId: 'EX-1' },
    data: { exceptionId: 'EX-1', releasedBy: 'dana.reyes' },
  },
  'allocation.confirmed': {
    detail: { siteId: 'DC-EAST', lines: line3, partial: false, reservationId: 'RES-1' },
    data: {
      siteId: 'DC-EAST',
      reservationId: 'RES-1',
      partial: false,
      lines: [
        [1, 2],
        [2, 5],
        [3, 1],
      ],
      lineCount: 3,
      quantity: 8,
    },
  },
  'allocation.shortage': {
    detail: { siteId: null, shortLines: [{ lineNo: 1 }], terms: 'ship-partial', reasonCodes: [] },
    data: { terms: 'ship-partial', shortLineCount: 1 },
  },
  'substitution.proposed': {
    detail: {
      lineNo: 2,
      originalSku: 'A',
      substituteSku: 'B',
      quantity: 1,
      marginPct: 3,
      requiresApproval: true,
    },
    data: { lineNo: 2, requiresApproval: true },
  },
  'substitution.decided': {
    detail: { lineNo: 2, substituteSku: 'B', decision: 'approved', decidedBy: 'x', reason: 'ok' },
    data: { lineNo: 2, decision: 'approved' },
  },
  'backorder.created': {
    detail: { lines: lines([2, 6]), expectedAt: '2025-03-20' },
    data: { expectedAt: '2025-03-20', lines: [[2, 6]], lineCount: 1, quantity: 6 },
  },
  'backorder.filled': {
    detail: { siteId: 'DC-EAST', lines: lines([2, 6]) },
    data: { siteId: 'DC-EAST', lines: [[2, 6]], lineCount: 1, quantity: 6 },
  },
  'backorder.aged': {
    detail: {
      backorderId: 'ERP-1-BO-2',
      lineNo: 2,
      sku: 'SKU-2',
      outstandingQuantity: 6,
      cancelAfter: occurredAt,
      action: 'cancelled',
      orderCancelled: false,
      reservationIds: [],
      reasonCodes: [],
    },
    data: {
      backorderId: 'ERP-1-BO-2',
      lineNo: 2,
      outstandingQuantity: 6,
      action: 'cancelled',
      orderCancelled: false,
    },
  },
  'inventory.received': {
    detail: { receiptId: 'RCPT-1', sku: 'SKU-2', siteId: 'DC-EAST', quantity: 6, onHand: 10, reserved: 0 },
    data: { receiptId: 'RCPT-1', siteId: 'DC-EAST', sku: 'SKU-2', quantity: 6 },
  },
  'release.deferred': {
    detail: {
      releaseAt: '2025-03-20T00:00:00.000Z',
      shipBy: '2025-03-27',
      reasonCodes: ['FUTURE_DATED_ORDER'],
    },
    data: { releaseAt: '2025-03-20T00:00:00.000Z' },
  },
  'warehouse.released': {
    detail: {
      siteId: 'DC-EAST',
      releaseId: 'R',
      priority: 5,
      shipBy: '2025-03-12',
      lines: line3,
      reasonCodes: [],
    },
    data: { siteId: 'DC-EAST', shipBy: '2025-03-12' },
  },
  'shipment.booked': {
    detail: { shipmentId: 'S1', siteId: 'DC-EAST', carrier: 'UPS', service: 'ground', bookingRef: 'B' },
    data: { shipmentId: 'S1', siteId: 'DC-EAST', carrier: 'UPS' },
  },
  'shipment.confirmed': {
    detail: {
      shipmentId: 'S1',
      siteId: 'DC-EAST',
      carrier: 'UPS',
      trackingNumber: '1Z',
      shippedAt: occurredAt,
      lines: lines([1, 2]),
      partial: true,
    },
    data: {
      shipmentId: 'S1',
      siteId: 'DC-EAST',
      shippedAt: occurredAt,
      partial: true,
      lines: [[1, 2]],
      lineCount: 1,
      quantity: 2,
    },
  },
  'shipment.delivered': {
    detail: { shipmentId: 'S1', deliveredAt: occurredAt, proofOfDelivery: 'signed' },
    data: { shipmentId: 'S1', deliveredAt: occurredAt },
  },
  'invoice.issued': {
    detail: { invoiceId: 'I1', shipmentId: 'S1', amount: 10, currency: 'USD', lines: lines([1, 2]) },
    data: { invoiceId: 'I1', shipmentId: 'S1' },
  },
  'exception.raised': {
    detail: {
      exceptionId: 'EX-1',
      type: 'integration-failure',
      ownerTeam: 'integration',
      priority: 'high',
      stage: 'accepted',
      slaDueAt: occurredAt,
      recommendedAction: 'replay',
      reasonCodes: ['WMS_DOWN', 'RETRY_EXHAUSTED', 'HTTP_503', 'EXTRA'],
    },
    data: {
      exceptionId: 'EX-1',
      type: 'integration-failure',
      ownerTeam: 'integration',
      priority: 'high',
      stage: 'accepted',
      reasonCodes: ['WMS_DOWN', 'RETRY_EXHAUSTED', 'HTTP_503'],
    },
  },
  'exception.escalated': {
    detail: { exceptionId: 'EX-1', type: 'credit-hold', tier: 2, ownerTeam: 'finance', role: 'controller' },
    data: { exceptionId: 'EX-1', tier: 2, ownerTeam: 'finance' },
  },
  'exception.resolved': {
    detail: { exceptionId: 'EX-1', resolution: 'approved', resolvedBy: 'dana.reyes', reason: 'ok' },
    data: { exceptionId: 'EX-1', resolution: 'approved', resolvedBy: 'dana.reyes' },
  },
  'sla.jeopardy': {
    detail: {
      stage: 'credit-to-allocation',
      ownerTeam: 'warehouse',
      startedAt: occurredAt,
      dueAt: occurredAt,
      elapsedSeconds: 2700,
      targetSeconds: 3600,
    },
    data: {
      stage: 'credit-to-allocation',
      ownerTeam: 'warehouse',
      targetSeconds: 3600,
      elapsedSeconds: 2700,
    },
  },
  'sla.breached': {
    detail: {
      stage: 'credit-to-allocation',
      ownerTeam: 'warehouse',
      startedAt: occurredAt,
      dueAt: occurredAt,
      overrunSeconds: 60,
      targetSeconds: 3600,
    },
    data: { stage: 'credit-to-allocation', ownerTeam: 'warehouse', targetSeconds: 3600, overrunSeconds: 60 },
  },
  'order.closed': {
    detail: { outcome: 'fulfilled', path: 'standard-single-site' },
    data: { outcome: 'fulfilled', path: 'standard-single-site' },
  },
};

describe('toProcessEvent', () => {
  it.each(EVENT_NAMES)('keeps the envelope and the scorecard fields of %s', (name) => {
    const sample = SAMPLES[name];
    expect(
      toProcessEvent({
        id: 'evt-1',
        time: '2025-03-11T10:00:05Z',
        'detail-type': `${name}.v1`,
        detail: { ...envelope, occurredAt, ...sample.detail },
      }),
    ).toEqual({
      id: 'evt-1',
      name,
      orderId: 'ERP-1',
      occurredAt,
      publishedAt: '2025-03-11T10:00:05Z',
      data: sample.data,
    });
  });

  it('returns undefined for a detail type Handoff does not publish', () => {
    const base = { id: 'e', time: occurredAt, detail: { ...envelope, occurredAt } };
    expect(toProcessEvent({ ...base, 'detail-type': 'order.teleported.v1' })).toBeUndefined();
    expect(toProcessEvent({ ...base, 'detail-type': 'Scheduled Event' })).toBeUndefined();
  });

  it('reads any version of a known detail type', () => {
    const event = toProcessEvent({
      id: 'e',
      time: occurredAt,
      'detail-type': 'order.closed.v2',
      detail: { ...envelope, occurredAt, outcome: 'cancelled' },
    });
    expect(event).toMatchObject({ name: 'order.closed', data: { outcome: 'cancelled' } });
  });

  it('keeps what it can read of a malformed detail instead of throwing', () => {
    const time = '2025-03-11T10:00:05Z';
    expect(toProcessEvent({ id: 'e1', time, 'detail-type': 'shipment.confirmed.v1', detail: null })).toEqual({
      id: 'e1',
      name: 'shipment.confirmed',
      orderId: '',
      occurredAt: time,
      publishedAt: time,
      data: {},
    });
    const odd = toProcessEvent({
      id: 'e2',
      time,
      'detail-type': 'shipment.confirmed.v1',
      detail: {
        orderId: 'ERP-9',
        occurredAt: 'not a time',
        shipmentId: 42,
        siteId: 'DC-EAST',
        partial: 'yes',
        lines: [{ lineNo: 1, quantity: 2 }, 'junk', { lineNo: 'two', quantity: 1 }, null],
      },
    });
    expect(odd).toEqual({
      id: 'e2',
      name: 'shipment.confirmed',
      orderId: 'ERP-9',
      occurredAt: time,
      publishedAt: time,
      data: { siteId: 'DC-EAST', lines: [[1, 2]], lineCount: 1, quantity: 2 },
    });
    expect(
      toProcessEvent({ id: 'e3', time, 'detail-type': 'order.received.v1', detail: { order: 'x' } }),
    ).toEqual(expect.objectContaining({ name: 'order.received', data: {} }));
    expect(projectDetail('exception.raised', [1, 2, 3])).toEqual({});
  });

  it('keeps the record of a 300-line order well under 1 KB', () => {
    const big = Array.from({ length: 300 }, (_, i) => ({
      lineNo: i + 1,
      sku: `SKU-LONG-NAME-${i + 1}`,
      quantity: 1000 + i,
    }));
    const orderId = 'ERP-4500012345';
    const record = (name: EventName, detail: Record<string, unknown>) =>
      toProcessEvent({
        id: '9f1c2d3e-4b5a-6789-0abc-def012345678',
        time: '2025-03-11T10:00:05.123Z',
        'detail-type': `${name}.v1`,
        detail: {
          ...envelope,
          orderId,
          correlationId: orderId,
          occurredAt: '2025-03-11T10:00:00.000Z',
          ...detail,
        },
      });
    const records = [
      record('order.received', {
        order: {
          orderId,
          channel: 'wholesale',
          serviceLevel: 'standard',
          customer: { segment: 'enterprise' },
          lines: big,
        },
      }),
      record('allocation.confirmed', {
        siteId: 'DC-EAST',
        lines: big,
        partial: false,
        reservationId: 'RES-ERP-4500012345-DC-EAST',
      }),
      record('backorder.created', { lines: big, expectedAt: '2025-03-20' }),
      record('shipment.confirmed', {
        shipmentId: 'SHP-ERP-4500012345-DC-EAST-0001',
        siteId: 'DC-EAST',
        shippedAt: '2025-03-11T10:00:00.000Z',
        lines: big,
        partial: true,
      }),
    ];
    for (const r of records) {
      expect(JSON.stringify(r).length).toBeLessThan(1024);
      if (Array.isArray(r?.data.lines)) {
        expect(r.data.lines).toHaveLength(MAX_LISTED_LINES);
        expect(r.data).toMatchObject({ lineCount: 300, quantity: 300 * 1000 + (299 * 300) / 2 });
      }
    }
    expect(records[0]?.data).toMatchObject({ lineCount: 300 });
  });
});
