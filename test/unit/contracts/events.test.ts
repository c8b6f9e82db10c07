import { describe, expect, it } from 'vitest';
import {
  EVENT_CATALOGUE,
  EVENT_NAMES,
  EVENT_SOURCES,
  type EventDetail,
  type EventName,
  eventDefinition,
  parseDetail,
  parseEvent,
  SCHEMA_VERSION,
  toPutEventsEntry,
} from '../../../contracts/events.ts';
import { ContractViolation } from '../../../contracts/validation.ts';
import { validOrder } from './canonical-order.fixture.ts';
import { edited, REMOVE } from './payload-edits.ts';

const ORDER_ID = 'ERP-4500012345';
const ENVELOPE_FIELDS = [
  'schemaVersion',
  'orderId',
  'correlationId',
  'idempotencyKey',
  'occurredAt',
] as const;
type EnvelopeField = (typeof ENVELOPE_FIELDS)[number];

function envelope(name: EventName) {
  return {
    schemaVersion: SCHEMA_VERSION,
    orderId: ORDER_ID,
    correlationId: ORDER_ID,
    idempotencyKey: `${ORDER_ID}:${name}`,
    occurredAt: '2025-03-03T09:31:07.412Z',
  };
}

const lines = [
  { lineNo: 1, sku: 'SKU-1', quantity: 2 },
  { lineNo: 2, sku: 'SKU-2', quantity: 40 },
];

/** One realistic payload (without the envelope) per catalogued event; the mapped type makes a missing one a type error. */
const SAMPLES: { [N in EventName]: Omit<EventDetail<N>, EnvelopeField> } = {
  'order.received': { order: validOrder() },
  'order.accepted': {
    path: 'standard-single-site',
    reasonCodes: ['SINGLE_SITE_FILL', 'CHANNEL:wholesale'],
    priorityScore: 420,
    executionName: ORDER_ID,
  },
  'order.rejected': {
    stage: 'received',
    reasonCodes: ['CONTRACT_VIOLATION'],
    violations: [{ path: 'lines[0].quantity', rule: '>0', message: 'must be > 0' }],
    exceptionId: 'EXC-0001',
  },
  'credit.hold.placed': {
    reasonCodes: ['OVER_LIMIT'],
    orderValue: 18250.5,
    exposure: 96400,
    creditLimit: 100000,
    currency: 'EUR',
    exceptionId: 'EXC-0002',
  },
  'credit.approved': {
    reasonCodes: ['AUTO_APPROVE_BAND:within-limit'],
    approvedBy: 'handoff:auto-approve-band',
    orderValue: 1840,
    currency: 'USD',
  },
  'credit.hold.released': {
    releasedBy: 'j.doe@finance',
    reason: 'Payment received',
    exceptionId: 'EXC-0002',
  },
  'allocation.confirmed': { siteId: 'DC-ROTTERDAM', lines, partial: false, reservationId: 'RSV-77' },
  'allocation.shortage': {
    siteId: null,
    shortLines: [{ lineNo: 2, sku: 'SKU-2', requested: 40, available: 12, shortBy: 28 }],
    terms: 'ship-complete',
    reasonCodes: ['NO_SITE_COVERS_ORDER'],
  },
  'substitution.proposed': {
    lineNo: 2,
    originalSku: 'SKU-2',
    substituteSku: 'SKU-2B',
    quantity: 28,
    marginPct: 21.5,
    requiresApproval: true,
    reasonCodes: ['SUBSTITUTE_ALLOWED'],
  },
  'substitution.decided': {
    lineNo: 2,
    substituteSku: 'SKU-2B',
    decision: 'approved',
    decidedBy: 'cs.agent',
    reason: 'Customer accepted by phone',
  },
  'backorder.created': { lines: [{ lineNo: 2, sku: 'SKU-2', quantity: 28 }], expectedAt: '2025-03-20' },
  'backorder.filled': { siteId: 'DC-ROTTERDAM', lines: [{ lineNo: 2, sku: 'SKU-2', quantity: 28 }] },
  'inventory.received': {
    receiptId: 'RCV-1001',
    sku: 'SKU-2',
    siteId: 'DC-ROTTERDAM',
    quantity: 120,
    onHand: 180,
    reserved: 12,
  },
  'backorder.aged': {
    backorderId: 'ORD-1-BO-2',
    lineNo: 2,
    sku: 'SKU-2',
    outstandingQuantity: 28,
    cancelAfter: '2025-04-04T09:00:00Z',
    action: 'cancelled',
    orderCancelled: true,
    reservationIds: [],
    reasonCodes: ['BACKORDER_AGED_OUT'],
  },
  'release.deferred': {
    releaseAt: '2025-03-20T00:00:00.000Z',
    shipBy: '2025-03-27',
    reasonCodes: ['FUTURE_DATED_ORDER'],
  },
  'warehouse.released': {
    siteId: 'DC-ROTTERDAM',
    releaseId: 'REL-9',
    priority: 610,
    shipBy: '2025-03-05',
    lines,
    reasonCodes: ['RELEASE_NOW'],
  },
  'shipment.booked': {
    shipmentId: 'SHP-1',
    siteId: 'DC-ROTTERDAM',
    carrier: 'DHL',
    service: 'EXPRESS',
    bookingRef: 'BK-123',
  },
  'shipment.confirmed': {
    shipmentId: 'SHP-1',
    siteId: 'DC-ROTTERDAM',
    carrier: 'DHL',
    trackingNumber: 'JD014600003',
    shippedAt: '2025-03-05T14:02:00Z',
    lines,
    partial: false,
  },
  'shipment.delivered': {
    shipmentId: 'SHP-1',
    deliveredAt: '2025-03-06T10:15:00+01:00',
    proofOfDelivery: 'POD-1',
  },
  'invoice.issued': { invoiceId: 'INV-2025-001', shipmentId: 'SHP-1', amount: 525, currency: 'EUR', lines },
  'exception.raised': {
    exceptionId: 'EXC-0003',
    type: 'shortage',
    ownerTeam: 'customer-service',
    priority: 'high',
    stage: 'backordered',
    slaDueAt: '2025-03-03T13:31:07Z',
    recommendedAction: 'Offer the substitute SKU-2B or a split shipment.',
    reasonCodes: ['SHORTAGE'],
  },
  'exception.escalated': {
    exceptionId: 'EXC-0003',
    type: 'credit-hold',
    tier: 2,
    ownerTeam: 'finance',
    role: 'credit-manager',
    priority: 'high',
    slaDueAt: '2026-11-23T13:00:00Z',
    recommendedAction: 'Review exposure against limit; release or request prepayment.',
  },
  'exception.resolved': {
    exceptionId: 'EXC-0003',
    resolution: 'resolved',
    resolvedBy: 'cs.agent',
    reason: 'Split shipment agreed',
  },
  'sla.jeopardy': {
    stage: 'credit-to-allocation',
    ownerTeam: 'warehouse',
    startedAt: '2025-03-03T09:31:07Z',
    dueAt: '2025-03-03T13:31:07Z',
    elapsedSeconds: 11520,
    targetSeconds: 14400,
  },
  'sla.breached': {
    stage: 'release-to-ship-confirmation',
    ownerTeam: 'logistics',
    startedAt: '2025-03-04T08:00:00Z',
    dueAt: '2025-03-05T08:00:00Z',
    overrunSeconds: 900,
    targetSeconds: 86400,
  },
  'order.closed': { outcome: 'fulfilled', path: 'standard-single-site' },
};

function sample<N extends EventName>(name: N): EventDetail<N> {
  return structuredClone({ ...envelope(name), ...SAMPLES[name] }) as EventDetail<N>;
}

function rulesOf(name: EventName, detail: unknown): { path: string; rule: string }[] {
  const result = parseDetail(name, detail);
  if (result.ok) throw new Error(`expected ${name} detail to be rejected`);
  return result.error.violations.map(({ path, rule }) => ({ path, rule }));
}

function delivered(name: EventName, detail: unknown = sample(name)) {
  const definition = eventDefinition(name);
  return {
    version: '0',
    id: '6a7e8feb-b491-4cf7-a9f1-bf3703467718',
    'detail-type': definition.detailType,
    source: definition.source,
    account: '111122223333',
    time: '2025-03-03T09:31:08Z',
    region: 'eu-west-1',
    resources: [],
    detail,
  };
}

describe('event catalogue', () => {
  it('has a sample for exactly the catalogued events', () => {
    expect(Object.keys(SAMPLES).sort()).toEqual([...EVENT_NAMES].sort());
    expect(EVENT_NAMES).toHaveLength(Object.keys(EVENT_CATALOGUE).length);
  });

  it('uses one distinct detail-type per event', () => {
    const detailTypes = EVENT_NAMES.map((name) => EVENT_CATALOGUE[name].detailType);
    expect(new Set(detailTypes).size).toBe(EVENT_NAMES.length);
  });

  describe.each(EVENT_NAMES)('%s', (name) => {
    const definition = EVENT_CATALOGUE[name];

    it('is named <name>.v1 and published from a handoff.* source it declares', () => {
      expect(definition.name).toBe(name);
      expect(definition.detailType).toBe(`${name}.v1`);
      expect(definition.source).toMatch(/^handoff\.[a-z]+$/);
      expect(Object.values(EVENT_SOURCES)).toContain(definition.source);
      expect(definition.description.length).toBeGreaterThan(10);
    });

    it('accepts a valid sample detail as it is', () => {
      const result = parseDetail(name, sample(name));
      if (!result.ok) throw result.error;
      expect(result.value).toEqual(sample(name));
    });

    it.each(ENVELOPE_FIELDS)('rejects a detail without the envelope field %s, at that path', (field) => {
      const found = rulesOf(name, edited(sample(name), { [field]: REMOVE }));
      expect(found.map((v) => v.path)).toEqual([field]);
    });

    it('reports a missing idempotency key with rule required', () => {
      expect(rulesOf(name, edited(sample(name), { idempotencyKey: REMOVE }))).toEqual([
        { path: 'idempotencyKey', rule: 'required' },
      ]);
    });

    it('rejects a schema version other than 1 as a literal mismatch', () => {
      expect(rulesOf(name, edited(sample(name), { schemaVersion: 2 }))).toEqual([
        { path: 'schemaVersion', rule: 'oneOf:1' },
      ]);
    });

    it('rejects a field that is not part of the contract', () => {
      expect(rulesOf(name, edited(sample(name), { internalNote: 'x' }))).toEqual([
        { path: 'internalNote', rule: 'unknownField' },
      ]);
    });

    it('is accepted by parseEvent when delivered by EventBridge', () => {
      const result = parseEvent(delivered(name));
      if (!result.ok) throw result.error;
      expect(result.value).toEqual({ name, source: definition.source, detail: sample(name) });
    });
  });

  it('reports a missing idempotency key as required at path idempotencyKey', () => {
    const result = parseDetail(
      'order.accepted',
      edited(sample('order.accepted'), { idempotencyKey: REMOVE }),
    );
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.name).toBe('ContractViolation');
    expect(result.error.contract).toBe('order.accepted.v1');
    expect(result.error.violations).toEqual([
      { path: 'idempotencyKey', rule: 'required', message: 'is required' },
    ]);
  });

  it('reports a missing schema version as required, not as a wrong value', () => {
    expect(rulesOf('order.closed', edited(sample('order.closed'), { schemaVersion: REMOVE }))).toEqual([
      { path: 'schemaVersion', rule: 'required' },
    ]);
  });

  it('rejects an idempotency key with characters outside its alphabet', () => {
    expect(
      rulesOf('order.closed', edited(sample('order.closed'), { idempotencyKey: 'ERP 1/closed' })),
    ).toEqual([{ path: 'idempotencyKey', rule: 'pattern:/^[A-Za-z0-9:_.#-]+$/' }]);
  });

  it('reports errors inside an embedded canonical order with the full path', () => {
    const detail = edited(sample('order.received'), {
      'order.lines[1].quantity': 0,
      'order.currency': 'eur',
    });
    expect(rulesOf('order.received', detail)).toEqual(
      expect.arrayContaining([
        { path: 'order.lines[1].quantity', rule: '>0' },
        { path: 'order.currency', rule: 'pattern:/^[A-Z]{3}$/' },
      ]),
    );
  });

  it('reports envelope and payload errors of one detail together', () => {
    const detail = edited(sample('credit.hold.placed'), {
      occurredAt: 'now',
      reasonCodes: [],
      orderValue: -1,
      currency: 'euro',
    });
    expect(rulesOf('credit.hold.placed', detail)).toEqual([
      { path: 'occurredAt', rule: 'format:datetime' },
      { path: 'reasonCodes', rule: 'minItems:1' },
      { path: 'orderValue', rule: '>=0' },
      { path: 'currency', rule: 'pattern:/^[A-Z]{3}$/' },
    ]);
  });
});

describe('parseEvent', () => {
  it('identifies the event by its detail-type and returns the validated detail', () => {
    const result = parseEvent(delivered('shipment.confirmed'));
    expect(result).toEqual({
      ok: true,
      value: { name: 'shipment.confirmed', source: 'handoff.shipping', detail: sample('shipment.confirmed') },
    });
  });

  it('rejects an unknown detail-type at path detail-type with rule knownDetailType', () => {
    const event = { ...delivered('order.closed'), 'detail-type': 'order.closed.v2' };
    const result = parseEvent(event);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error).toBeInstanceOf(ContractViolation);
    expect(result.error.contract).toBe('EventBridge event');
    expect(result.error.violations.map(({ path, rule }) => ({ path, rule }))).toEqual([
      { path: 'detail-type', rule: 'knownDetailType' },
    ]);
    expect(result.error.violations[0]?.message).toContain('order.closed.v1');
  });

  it('rejects a detail-type arriving from a source other than its own', () => {
    const event = { ...delivered('order.closed'), source: 'handoff.sla' };
    const result = parseEvent(event);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.violations.map(({ path, rule }) => ({ path, rule }))).toEqual([
      { path: 'source', rule: 'equals:handoff.orders' },
    ]);
  });

  it('rejects an envelope without source, detail-type or detail, naming each', () => {
    const result = parseEvent({ id: 'x' });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.violations.map(({ path, rule }) => ({ path, rule }))).toEqual([
      { path: 'source', rule: 'required' },
      { path: 'detail-type', rule: 'required' },
      { path: 'detail', rule: 'required' },
    ]);
  });

  it('rejects a non-object event at the root', () => {
    const result = parseEvent('order.closed.v1');
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.violations.map(({ path, rule }) => ({ path, rule }))).toEqual([
      { path: '', rule: 'type:object' },
    ]);
  });

  it('rejects a known event whose detail breaks its contract, under the detail-type contract', () => {
    const result = parseEvent(delivered('order.closed', edited(sample('order.closed'), { outcome: 'lost' })));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.contract).toBe('order.closed.v1');
    expect(result.error.violations.map(({ path, rule }) => ({ path, rule }))).toEqual([
      { path: 'outcome', rule: 'oneOf:fulfilled|partially-fulfilled|cancelled|rejected' },
    ]);
  });
});

describe('toPutEventsEntry', () => {
  it('builds a PutEvents entry with the catalogued source, detail-type, JSON detail and bus', () => {
    const entry = toPutEventsEntry('warehouse.released', sample('warehouse.released'), 'handoff-events');
    expect(entry).toEqual({
      Source: 'handoff.warehouse',
      DetailType: 'warehouse.released.v1',
      Detail: expect.any(String),
      EventBusName: 'handoff-events',
    });
    expect(JSON.parse(entry.Detail)).toEqual(sample('warehouse.released'));
  });

  it('round-trips through parseEvent as EventBridge would deliver it', () => {
    const entry = toPutEventsEntry('allocation.shortage', sample('allocation.shortage'), 'bus');
    const result = parseEvent({
      source: entry.Source,
      'detail-type': entry.DetailType,
      detail: JSON.parse(entry.Detail),
    });
    expect(result.ok && result.value.name).toBe('allocation.shortage');
  });

  it('throws a ContractViolation naming every broken field instead of publishing an invalid detail', () => {
    const invalid = edited(sample('invoice.issued'), {
      amount: 10.123456,
      lines: [],
      idempotencyKey: REMOVE,
    });
    let thrown: unknown;
    try {
      toPutEventsEntry('invoice.issued', invalid as EventDetail<'invoice.issued'>, 'bus');
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ContractViolation);
    const violation = thrown as ContractViolation;
    expect(violation.name).toBe('ContractViolation');
    expect(violation.retryable).toBe(false);
    expect(violation.contract).toBe('invoice.issued.v1');
    expect(violation.violations.map(({ path, rule }) => ({ path, rule }))).toEqual([
      { path: 'idempotencyKey', rule: 'required' },
      { path: 'amount', rule: 'maxDecimals:4' },
      { path: 'lines', rule: 'minItems:1' },
    ]);
  });
});
