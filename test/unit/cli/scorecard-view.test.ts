import { describe, expect, it } from 'vitest';
import { formatDuration, formatRate, renderScorecard } from '../../../cli/scorecard-view.ts';
import type { EventName } from '../../../contracts/events.ts';
import { computeScorecard, toProcessEvent } from '../../../lambdas/core/scorecard.ts';
import type { ProcessEvent } from '../../../lambdas/core/scorecard-model.ts';

const WINDOW = { from: '2025-03-11T00:00:00Z', to: '2025-03-13T00:00:00Z' };
const d1 = (hhmm: string) => `2025-03-11T${hhmm}:00Z`;

function bus(
  name: EventName,
  orderId: string,
  occurredAt: string,
  fields: Record<string, unknown> = {},
): ProcessEvent {
  const record = toProcessEvent({
    id: `${orderId}|${name}|${occurredAt}`,
    time: occurredAt,
    'detail-type': `${name}.v1`,
    detail: {
      schemaVersion: 1,
      orderId,
      correlationId: orderId,
      idempotencyKey: orderId,
      occurredAt,
      ...fields,
    },
  });
  if (!record) throw new Error(name);
  return record;
}

const order = (orderId: string, at: string, channel: string, segment: string) =>
  bus('order.received', orderId, at, {
    order: { channel, serviceLevel: 'standard', customer: { segment }, lines: [{}] },
  });
const line = [{ lineNo: 1, sku: 'SKU-1', quantity: 1 }];

/**
 * A1 (wholesale): received 12:00, released 13:05, confirmed 20:00, invoiced 21:00 (1h ≤ 4h target).
 * A2 (direct-to-customer): received 14:00, released 15:00, confirmed 22:00, invoiced 23:30 — 1h 30m against a
 * 60-minute target, so finance met 1 of its 2 clocks (50.0%, below the 95% threshold) with one breach.
 * A2 also had an integration failure resolved by a person after 1h 30m.
 */
const HISTORY = [
  order('A1', d1('12:00'), 'wholesale', 'mid-market'),
  bus('allocation.confirmed', 'A1', d1('12:10'), { siteId: 'DC-EAST', lines: line, partial: false }),
  bus('warehouse.released', 'A1', d1('13:05'), { siteId: 'DC-EAST', shipBy: '2025-03-12' }),
  bus('shipment.confirmed', 'A1', d1('20:00'), {
    shipmentId: 'S1',
    siteId: 'DC-EAST',
    shippedAt: d1('19:50'),
    lines: line,
    partial: false,
  }),
  bus('invoice.issued', 'A1', d1('21:00'), { invoiceId: 'I1', shipmentId: 'S1' }),
  order('A2', d1('14:00'), 'direct-to-customer', 'enterprise'),
  bus('allocation.confirmed', 'A2', d1('14:02'), { siteId: 'DC-WEST', lines: line, partial: false }),
  bus('exception.raised', 'A2', d1('14:30'), {
    exceptionId: 'EX-1',
    type: 'integration-failure',
    ownerTeam: 'integration',
    stage: 'allocated',
  }),
  bus('warehouse.released', 'A2', d1('15:00'), { siteId: 'DC-WEST', shipBy: '2025-03-11' }),
  bus('exception.resolved', 'A2', d1('16:00'), {
    exceptionId: 'EX-1',
    resolution: 'resolved',
    resolvedBy: 'lee',
  }),
  bus('shipment.confirmed', 'A2', d1('22:00'), {
    shipmentId: 'S2',
    siteId: 'DC-WEST',
    shippedAt: d1('21:55'),
    lines: line,
    partial: false,
  }),
  bus('invoice.issued', 'A2', d1('23:30'), { invoiceId: 'I2', shipmentId: 'S2' }),
];

// biome-ignore lint/suspicious/noControlCharactersInRegex: asserting on ANSI colour codes
const ANSI = /\u001b\[\d+m/;

describe('renderScorecard', () => {
  const card = computeScorecard(HISTORY, WINDOW);
  const plain = renderScorecard(card, { colour: false });

  it('prints every section with its title', () => {
    for (const heading of [
      'Handoff scorecard  2025-03-11T00:00:00Z → 2025-03-13T00:00:00Z',
      '2 orders · 12 events',
      'ORDER-TO-RELEASE CYCLE TIME',
      'ALLOCATION AND INVENTORY SYNC',
      'EXCEPTIONS',
      'SHIPPING AND INVOICING',
      'INTEGRATION',
      'BACKORDERS',
      'SLA ADHERENCE BY TEAM',
      'EXCEPTION QUEUES (OPEN PER TEAM)',
    ]) {
      expect(plain).toContain(heading);
    }
  });

  it('lines up each team with its adherence, breaches and jeopardies', () => {
    expect(plain).toMatch(/^TEAM\s+MEASURED\s+MET\s+ADHERENCE\s+BREACHES\s+JEOPARDIES$/m);
    expect(plain).toMatch(/^finance\s+2\s+1\s+50\.0%\s+1\s+0$/m);
    expect(plain).toMatch(/^integration\s+2\s+2\s+100\.0%\s+0\s+0$/m);
    // The columns align: "50.0%" starts under "ADHERENCE".
    const header = plain.split('\n').find((l) => l.startsWith('TEAM  '));
    const finance = plain.split('\n').find((l) => l.startsWith('finance '));
    expect(finance?.indexOf('50.0%')).toBe(header?.indexOf('ADHERENCE'));
  });

  it('shows durations in human units and rates as percentages', () => {
    // Cycle times 3900 (A1, 1h 05m) and 3600 (A2, 1h 00m): p50 rank 1 → 3600, p90 rank 2 → 3900.
    expect(plain).toMatch(/^all\s+—\s+2\s+1h 00m\s+1h 05m$/m);
    expect(plain).toMatch(/^channel\s+wholesale\s+1\s+1h 05m\s+1h 05m$/m);
    // A1 shipped 03-11 (ship-by 03-12), A2 on 03-11, its ship-by date: both on time.
    expect(plain).toMatch(/confirmed by ship-by date\s+100\.0% \(2 of 2 shipments\)/);
    expect(plain).toMatch(/invoice aligned\s+50\.0% \(1 of 2 invoices\)/);
    expect(plain).toMatch(/recovered\s+1 · p50 1h 30m · p90 1h 30m \(1 recovery\)/);
  });

  it('shows — where nothing was measured', () => {
    expect(plain).toMatch(/inventory sync latency\s+— \(no receipts\)/);
    const empty = renderScorecard(computeScorecard([], WINDOW), { colour: false });
    expect(empty).toMatch(/^finance\s+0\s+0\s+—\s+0\s+0$/m);
    expect(empty).toMatch(/allocation accuracy\s+— \(0 of 0 lines\)/);
    expect(empty).toContain('0 raised · — per order');
  });

  it('uses no ANSI codes without colour, and colours past-threshold figures with it', () => {
    expect(plain).not.toMatch(ANSI);
    const coloured = renderScorecard(card, { colour: true });
    expect(coloured).toMatch(ANSI);
    expect(coloured).toContain('\u001b[31m50.0%\u001b[39m');
    expect(coloured).toContain('\u001b[32m100.0%\u001b[39m');
    expect(coloured.replace(new RegExp(ANSI.source, 'g'), '')).toBe(plain);
  });
});

describe('formatting', () => {
  it.each([
    [null, '—'],
    [45, '45s'],
    [725, '12m 05s'],
    [3900, '1h 05m'],
    [183_600, '2d 3h'],
  ])('formatDuration(%s) = %s', (seconds, text) => {
    expect(formatDuration(seconds)).toBe(text);
  });

  it('formats rates as percentages with one decimal', () => {
    expect(formatRate(0.8571)).toBe('85.7%');
    expect(formatRate(1)).toBe('100.0%');
    expect(formatRate(null)).toBe('—');
  });
});
