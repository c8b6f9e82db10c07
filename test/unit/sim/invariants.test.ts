import { describe, expect, it } from 'vitest';
import { checkInvariants, formatInvariants, type InvariantFacts } from '../../../sim/invariants.ts';

function facts(overrides: Partial<InvariantFacts> = {}): InvariantFacts {
  return {
    sent: ['A', 'B', 'C', 'D', 'E'],
    orders: new Map([
      ['A', { stage: 'closed' }],
      ['B', { stage: 'credit-hold' }],
      ['C', { stage: 'release-deferred' }],
      ['D', { stage: 'rejected' }],
    ]),
    exceptions: new Map([
      ['X1', { orderId: 'B', state: 'open', type: 'credit-hold', ownerTeam: 'finance' }],
      ['X2', { orderId: 'E', state: 'open', type: 'validation', ownerTeam: 'customer-service' }],
    ]),
    waiting: new Map([['C', 'its release window']]),
    rejectedAtIngress: new Set(['E']),
    warehouseReleases: [{ orderId: 'A', facility: 'DC-EAST', lines: [{ lineNo: 1, quantity: 1 }] }],
    carrierBookings: [],
    invoices: [{ orderId: 'A', shipmentId: 'S1' }],
    confirmedShipments: new Set(['A|S1']),
    duplicatesInjected: 3,
    idempotencyHits: 3,
    deadLetters: { messages: 1, owned: 1 },
    ...overrides,
  };
}

const byName = (results: ReturnType<typeof checkInvariants>, fragment: string) => {
  const found = results.find((r) => r.name.includes(fragment));
  if (!found) throw new Error(`no invariant ${fragment}`);
  return found;
};

describe('invariants', () => {
  it('pass when every order is terminal, in an open exception, scheduled or refused', () => {
    const results = checkInvariants(facts());
    expect(results.every((r) => r.ok)).toBe(true);
    expect(byName(results, 'zero lost').counts).toEqual({
      sent: 5,
      terminal: 2,
      'in an open exception': 1,
      'scheduled (release window, receipt, warehouse)': 1,
      'refused at the edge': 1,
      lost: 0,
    });
  });

  it('count an order resting with no open exception, and one never recorded, as lost', () => {
    const results = checkInvariants(
      facts({
        sent: ['A', 'B', 'F', 'G'],
        orders: new Map([
          ['A', { stage: 'closed' }],
          ['B', { stage: 'released' }],
          ['G', { stage: 'closed' }],
        ]),
        exceptions: new Map([
          ['X1', { orderId: 'B', state: 'resolved', type: 'sla-breach', ownerTeam: 'logistics' }],
        ]),
      }),
    );
    const lost = byName(results, 'zero lost');
    expect(lost.ok).toBe(false);
    expect(lost.counts.lost).toBe(2);
    expect(lost.examples).toEqual([
      'B: released with no open exception',
      'F: never recorded and not refused',
    ]);
  });

  it('catch a second release, booking or invoice, and an invoice with no proof of shipment', () => {
    const results = checkInvariants(
      facts({
        orders: new Map([
          ['A', { stage: 'closed', lines: [{ lineNo: 1, quantity: 5 }] }],
          [
            'B',
            {
              stage: 'closed',
              lines: [
                { lineNo: 1, quantity: 2 },
                { lineNo: 2, quantity: 3 },
              ],
            },
          ],
          ['C', { stage: 'closed', lines: [{ lineNo: 1, quantity: 4 }] }],
        ]),
        warehouseReleases: [
          { orderId: 'A', facility: 'DC-EAST', lines: [{ lineNo: 1, quantity: 2 }] },
          { orderId: 'A', facility: 'DC-EAST', lines: [{ lineNo: 1, quantity: 2 }] },
          // A split and a backorder's later fill of the remainder: neither is a second release.
          { orderId: 'B', facility: 'DC-EAST', lines: [{ lineNo: 1, quantity: 2 }] },
          { orderId: 'B', facility: 'DC-WEST', lines: [{ lineNo: 2, quantity: 1 }] },
          { orderId: 'B', facility: 'DC-WEST', lines: [{ lineNo: 2, quantity: 2 }] },
          // More of a line than was ordered, from two facilities.
          { orderId: 'C', facility: 'DC-EAST', lines: [{ lineNo: 1, quantity: 4 }] },
          { orderId: 'C', facility: 'DC-WEST', lines: [{ lineNo: 1, quantity: 1 }] },
        ],
        carrierBookings: [{ orderId: 'A' }, { orderId: 'A' }],
        invoices: [
          { orderId: 'A', shipmentId: 'S1' },
          { orderId: 'A', shipmentId: 'S1' },
          { orderId: 'A', shipmentId: 'S2' },
        ],
      }),
    );
    const side = byName(results, 'twice');
    expect(side.ok).toBe(false);
    expect(side.counts.duplicates).toBe(4);
    expect(side.counts['invoices without proof of shipment']).toBe(1);
    expect(side.examples).toContain('A at DC-EAST released to the warehouse 2 times');
    expect(side.examples).toContain('C line 1: 5 released to the warehouse, 4 ordered');
    expect(side.examples.filter((e) => e.startsWith('B'))).toEqual([]);
    expect(side.examples).toContain('A invoiced for shipment S2 never confirmed');
  });

  it('fail when fewer duplicates were recognised than injected', () => {
    const idempotency = byName(checkInvariants(facts({ idempotencyHits: 2 })), 'idempotency');
    expect(idempotency.ok).toBe(false);
    expect(idempotency.examples).toEqual(['1 duplicate(s) not recognised as such']);
  });

  it('name the edges, the recognising functions and the copies no log line of their order recognised', () => {
    const idempotency = byName(
      checkInvariants(
        facts({
          idempotencyHits: 2,
          duplicatesByEdge: { erp: 1, wms: 2 },
          hitsByFunction: { PostShipmentFunction: 1, ErpOrderIngressFunction: 1 },
          unrecognisedCopies: ['wms copy for A (exception, exceptions integration-failure/open)'],
        }),
      ),
      'idempotency',
    );
    expect(idempotency.examples).toEqual([
      '1 duplicate(s) not recognised as such',
      'delivered twice, by edge: erp 1, wms 2',
      'recognised, by function: PostShipmentFunction 1, ErpOrderIngressFunction 1',
      'not recognised: wms copy for A (exception, exceptions integration-failure/open)',
    ]);
  });

  it('fail when a dead letter has no exception or a redriven order did not complete', () => {
    const results = checkInvariants(
      facts({ deadLetters: { messages: 2, owned: 1 }, redrive: { orders: ['A', 'B', 'B2'], redriven: 3 } }),
    );
    const dlq = byName(results, 'DLQ');
    expect(dlq.ok).toBe(false);
    expect(dlq.examples).toEqual([
      '1 dead letter(s) with no exception',
      'B2 still unrecorded after the redrive',
    ]);
    expect(formatInvariants(results)).toContain('FAIL  every DLQ message is an owned exception');
  });
});
