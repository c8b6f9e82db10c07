import { beforeEach, describe, expect, it } from 'vitest';
import { parseDetail } from '../../../contracts/events.ts';
import { ORDER_ID_PATTERN } from '../../../contracts/order.ts';
import type { Clock, OwnedException } from '../../../lambdas/ports/index.ts';
import { sha256 } from '../../../lambdas/shared/ids.ts';
import {
  announceWmsMessage,
  FEED_QUARANTINE_SLA_HOURS,
  type FeedRejection,
  quarantineFeedMessage,
  type WmsFeedDeps,
} from '../../../lambdas/use-cases/partner-feeds.ts';
import type { InventoryReceivedEvent } from '../../../local/partners/wms.ts';
import { wmsCases } from '../../fixtures/hostile/wms.ts';
import { InMemoryExceptions as SharedExceptions } from '../../support/in-memory-exceptions.ts';
import { RecordingPublisher } from '../../support/recording-publisher.ts';

// ---------------------------------------------------------------------------------------------------------
// In-memory fakes of the ports
// ---------------------------------------------------------------------------------------------------------

const NOW = new Date('2026-11-23T09:00:00Z');
const clock: Clock = { now: () => new Date(NOW) };

/** The shared in-memory table, counting raise attempts (a redelivery raises again, and is absorbed). */
class InMemoryExceptions extends SharedExceptions {
  raiseCalls = 0;

  override async raiseIfAbsent(exception: OwnedException) {
    this.raiseCalls += 1;
    return super.raiseIfAbsent(exception);
  }
}

/** The ERP item master: every SKU known but the ones a test names. */
const items = {
  unknown: new Set<string>(['GHOST-1', 'GHOST-ITEM-1']),
  async unknownSkus(skus: readonly string[]) {
    return skus.filter((sku) => this.unknown.has(sku));
  },
};

let exceptions: InMemoryExceptions;
let events: RecordingPublisher;
let deps: WmsFeedDeps;

beforeEach(() => {
  exceptions = new InMemoryExceptions();
  events = new RecordingPublisher();
  deps = { exceptions, events, clock, items };
});

// ---------------------------------------------------------------------------------------------------------
// The WMS put-away message
// ---------------------------------------------------------------------------------------------------------

const received = (overrides: Record<string, unknown> = {}): Record<string, unknown> => {
  const message: InventoryReceivedEvent = {
    eventId: 'WMS-EVT-000123',
    eventType: 'inventory.received',
    occurredAt: '2026-11-23T08:45:00+01:00',
    facilityCode: 'DC-EAST',
    itemCode: 'WIDGET-100',
    quantity: 40,
    onHand: 140,
    committed: 25,
  };
  return { ...message, ...overrides };
};

const body = (overrides: Record<string, unknown> = {}) => JSON.stringify(received(overrides));

describe('announceWmsMessage: a put-away', () => {
  it('publishes exactly one canonical inventory.received keyed by the WMS event id', async () => {
    const outcome = await announceWmsMessage(body(), deps);

    expect(outcome).toEqual({
      kind: 'announced',
      receiptId: 'WMS-EVT-000123',
      sku: 'WIDGET-100',
      siteId: 'DC-EAST',
    });
    expect(events.all).toHaveLength(1);
    const [event] = events.all;
    expect(event?.name).toBe('inventory.received');
    expect(event?.detail).toEqual({
      schemaVersion: 1,
      orderId: 'WMS-EVT-000123',
      correlationId: 'WMS-EVT-000123',
      idempotencyKey: 'WMS-EVT-000123:inventory:received',
      occurredAt: '2026-11-23T07:45:00.000Z',
      receiptId: 'WMS-EVT-000123',
      sku: 'WIDGET-100',
      siteId: 'DC-EAST',
      quantity: 40,
      onHand: 140,
      reserved: 25,
    });
    expect(parseDetail('inventory.received', event?.detail).ok).toBe(true);
    expect(exceptions.items.size).toBe(0);
  });

  it('a redelivered identical message carries the same idempotency key', async () => {
    await announceWmsMessage(body(), deps);
    await announceWmsMessage(body(), deps);

    const keys = events.all.map((e) => e.detail.idempotencyKey);
    expect(keys).toEqual(['WMS-EVT-000123:inventory:received', 'WMS-EVT-000123:inventory:received']);
    expect(exceptions.items.size).toBe(0);
  });

  it('different receipts get different idempotency keys', async () => {
    await announceWmsMessage(body(), deps);
    await announceWmsMessage(body({ eventId: 'WMS-EVT-000124' }), deps);

    expect(new Set(events.all.map((e) => e.detail.idempotencyKey)).size).toBe(2);
  });

  it('accepts fields the WMS adds beyond the known ones', async () => {
    const outcome = await announceWmsMessage(body({ lotNumber: 'L-77', extra: { any: true } }), deps);

    expect(outcome.kind).toBe('announced');
    expect(events.all).toHaveLength(1);
  });
});

describe('announceWmsMessage: messages Handoff does not act on', () => {
  it.each(['inventory.adjusted', 'inventory.counted', 'order.picked', 'order.packed'])(
    'ignores %s without an event or an exception',
    async (eventType) => {
      const outcome = await announceWmsMessage(body({ eventType }), deps);

      expect(outcome).toEqual({ kind: 'ignored', eventType });
      expect(events.all).toEqual([]);
      expect(exceptions.items.size).toBe(0);
      expect(exceptions.raiseCalls).toBe(0);
    },
  );
});

describe('announceWmsMessage: quarantine', () => {
  /** Asserts the one open integration exception and its announcement; returns the exception. */
  function expectQuarantined(rawBody: string, reasonCode: string): OwnedException {
    const exception = exceptions.only();
    expect(exception).toMatchObject({
      type: 'integration-failure',
      ownerTeam: 'integration',
      state: 'open',
      stage: 'received',
      reasonCodes: [reasonCode],
    });
    expect(exception.context).toMatchObject({ source: 'wms.inventory', payload: rawBody });
    expect(exception.orderId).toMatch(ORDER_ID_PATTERN);
    expect(exception.orderId.startsWith('FEED-')).toBe(true);
    expect(exception.correlationId).toBe(exception.orderId);
    expect(events.all.map((e) => e.name)).toEqual(['exception.raised']);
    expect(events.all[0]?.detail).toMatchObject({
      exceptionId: exception.exceptionId,
      orderId: exception.orderId,
      type: 'integration-failure',
      ownerTeam: 'integration',
      reasonCodes: [reasonCode],
    });
    expect(parseDetail('exception.raised', events.all[0]?.detail).ok).toBe(true);
    return exception;
  }

  it('quarantines an unknown message type, naming eventType', async () => {
    const raw = body({ eventType: 'inventory.teleported' });

    const outcome = await announceWmsMessage(raw, deps);

    expect(outcome).toMatchObject({ kind: 'quarantined', alreadyQuarantined: false });
    const exception = expectQuarantined(raw, 'WMS_MESSAGE_UNKNOWN_TYPE');
    expect(exception.violations).toEqual([expect.objectContaining({ path: 'eventType', rule: 'enum' })]);
    expect(exception.violations?.[0]?.message).toContain('inventory.teleported');
  });

  it('quarantines a body that is not JSON', async () => {
    const raw = '<receipt facility="DC-EAST">not json</receipt>';

    const outcome = await announceWmsMessage(raw, deps);

    expect(outcome.kind).toBe('quarantined');
    const exception = expectQuarantined(raw, 'WMS_MESSAGE_NOT_JSON');
    expect(exception.violations).toEqual([expect.objectContaining({ path: '', rule: 'json' })]);
  });

  it.each([
    ['a zero quantity', { quantity: 0 }, 'quantity', '>0'],
    ['a quantity that is not a number', { quantity: 'x' }, 'quantity', 'type:number'],
    ['a fractional quantity', { quantity: 1.5 }, 'quantity', 'type:int'],
    ['a negative committed', { committed: -1 }, 'committed', '>=0'],
    ['a missing itemCode', { itemCode: undefined }, 'itemCode', 'required'],
    ['an occurredAt that is not a timestamp', { occurredAt: 'yesterday' }, 'occurredAt', 'format:datetime'],
  ])('quarantines %s, naming the WMS field and the rule', async (_what, overrides, path, rule) => {
    const raw = body(overrides);

    const outcome = await announceWmsMessage(raw, deps);

    expect(outcome.kind).toBe('quarantined');
    const exception = expectQuarantined(raw, 'WMS_MESSAGE_INVALID');
    expect(exception.violations).toContainEqual(expect.objectContaining({ path, rule }));
  });

  it('names every broken field in one exception', async () => {
    const raw = body({ quantity: 0, itemCode: undefined, onHand: 'lots' });

    await announceWmsMessage(raw, deps);

    const paths = (exceptions.only().violations ?? []).map((v) => v.path).sort();
    expect(paths).toEqual(['itemCode', 'onHand', 'quantity']);
  });

  it('quarantines a JSON value that is not an object', async () => {
    await announceWmsMessage('[1,2,3]', deps);

    expectQuarantined('[1,2,3]', 'WMS_MESSAGE_INVALID');
  });

  it('quarantines a receipt the canonical contract refuses, with the WMS field names', async () => {
    const raw = body({ facilityCode: 'dc east' });

    const outcome = await announceWmsMessage(raw, deps);

    expect(outcome.kind).toBe('quarantined');
    const exception = expectQuarantined(raw, 'WMS_MESSAGE_INVALID');
    expect(exception.violations).toEqual([
      expect.objectContaining({
        path: 'facilityCode',
        rule: `pattern:${/^[A-Z0-9][A-Z0-9-]{1,31}$/}`,
      }),
    ]);
    expect(events.all.some((e) => e.name === 'inventory.received')).toBe(false);
  });

  it('maps canonical sku back to itemCode', async () => {
    const raw = body({ itemCode: '-leading-dash' });

    await announceWmsMessage(raw, deps);

    const exception = expectQuarantined(raw, 'WMS_MESSAGE_INVALID');
    expect(exception.violations?.map((v) => v.path)).toEqual(['itemCode']);
  });

  it('quarantines a message over 256 KB on the document, naming the limit, without reading further', async () => {
    const raw = body({ note: 'n'.repeat(300 * 1024) });

    const outcome = await announceWmsMessage(raw, deps);

    expect(outcome.kind).toBe('quarantined');
    const exception = expectQuarantined(raw, 'WMS_MESSAGE_TOO_LARGE');
    expect(exception.violations).toEqual([
      expect.objectContaining({
        path: '',
        rule: 'maxBytes:262144',
        message: expect.stringContaining('EventBridge'),
      }),
    ]);
  });

  it('quarantines a receipt of an item the ERP item master does not know, publishing nothing', async () => {
    const raw = body({ itemCode: 'GHOST-1' });

    const outcome = await announceWmsMessage(raw, deps);

    expect(outcome.kind).toBe('quarantined');
    const exception = expectQuarantined(raw, 'WMS_MESSAGE_UNKNOWN_ITEM');
    expect(exception.violations).toEqual([
      { path: 'itemCode', rule: 'knownItem', message: 'names no item in the ERP item master (GHOST-1)' },
    ]);
  });

  it('the same bad message twice is one exception, quarantined already the second time', async () => {
    const raw = body({ quantity: 0 });

    const first = await announceWmsMessage(raw, deps);
    const second = await announceWmsMessage(raw, deps);

    expect(first).toMatchObject({ kind: 'quarantined', alreadyQuarantined: false });
    expect(second).toMatchObject({ kind: 'quarantined', alreadyQuarantined: true });
    if (first.kind !== 'quarantined' || second.kind !== 'quarantined') throw new Error('not quarantined');
    expect(second.exceptionId).toBe(first.exceptionId);
    expect(exceptions.items.size).toBe(1);
  });

  it('different bad messages are different exceptions', async () => {
    const first = await announceWmsMessage(body({ quantity: 0 }), deps);
    const second = await announceWmsMessage(body({ quantity: -3 }), deps);

    if (first.kind !== 'quarantined' || second.kind !== 'quarantined') throw new Error('not quarantined');
    expect(second.exceptionId).not.toBe(first.exceptionId);
    expect(exceptions.items.size).toBe(2);
  });
});

// ---------------------------------------------------------------------------------------------------------
// quarantineFeedMessage
// ---------------------------------------------------------------------------------------------------------

describe('quarantineFeedMessage', () => {
  const rejection = (overrides: Partial<FeedRejection> = {}): FeedRejection => ({
    feed: 'vendor.asn',
    rawBody: '{"asnNumber":"AQD-ASN-1"}',
    reasonCode: 'VENDOR_ASN_INVALID',
    violations: [{ path: 'lines', rule: 'required', message: 'is required' }],
    recommendedAction: 'Ask the vendor to resend the notice.',
    ...overrides,
  });

  it('files the exception under the order the message names', async () => {
    const result = await quarantineFeedMessage(rejection({ orderId: 'ORD-1' }), deps);

    const exception = exceptions.only();
    expect(exception.exceptionId).toBe(result.exceptionId);
    expect(exception.orderId).toBe('ORD-1');
    expect(exception.correlationId).toBe('ORD-1');
    expect(events.all[0]?.detail.orderId).toBe('ORD-1');
  });

  it('without an order, files it under a FEED- id the order-id rules accept', async () => {
    await quarantineFeedMessage(rejection(), deps);
    await quarantineFeedMessage(rejection({ feed: 'wms.inventory', rawBody: 'x' }), deps);
    await quarantineFeedMessage(rejection({ feed: 'edi / 850 (partner #7)', rawBody: 'y' }), deps);

    const ids = [...exceptions.items.values()].map((e) => e.orderId);
    expect(ids).toHaveLength(3);
    for (const id of ids) {
      expect(id).toMatch(/^FEED-/);
      expect(id).toMatch(ORDER_ID_PATTERN);
    }
    expect(new Set(ids).size).toBe(3);
  });

  it('keeps the whole exception: owner, SLA, reason, violations, payload digest and audit', async () => {
    const raw = '{"asnNumber":"AQD-ASN-1"}';

    const result = await quarantineFeedMessage(rejection({ rawBody: raw }), deps);

    expect(result.alreadyQuarantined).toBe(false);
    expect(result.exceptionId).toMatch(/^EXC-FEED-[0-9a-f]{24}$/);
    expect(exceptions.only()).toMatchObject({
      type: 'integration-failure',
      ownerTeam: 'integration',
      priority: 'high',
      state: 'open',
      raisedAt: NOW.toISOString(),
      slaDueAt: new Date(NOW.getTime() + FEED_QUARANTINE_SLA_HOURS * 3_600_000).toISOString(),
      recommendedAction: 'Ask the vendor to resend the notice.',
      reasonCodes: ['VENDOR_ASN_INVALID'],
      violations: [{ path: 'lines', rule: 'required', message: 'is required' }],
      context: {
        source: 'vendor.asn',
        payload: raw,
        payloadBytes: Buffer.byteLength(raw),
        payloadSha256: sha256(`vendor.asn|${raw}`),
      },
      audit: [
        expect.objectContaining({
          actor: 'handoff:vendor.asn',
          action: 'quarantined',
          why: 'lines required',
        }),
      ],
    });
  });

  it('keeps the whole payload, however long, and records its size in bytes', async () => {
    // Once the message is acknowledged the exception is its only copy; the DynamoDB repository stores a
    // payload too large for the record beside it (test/unit/adapters/dynamo-exception-repository.test.ts).
    const raw = `{"note":"${'é'.repeat(70_000)}"}`;

    await quarantineFeedMessage(rejection({ rawBody: raw }), deps);

    const { context } = exceptions.only();
    expect(context.payload).toBe(raw);
    expect(context.payloadBytes).toBe(Buffer.byteLength(raw));
    expect(context.payloadBytes).toBeGreaterThan(raw.length);
  });

  it('keeps at most 100 violations, clipped, and says how many there were', async () => {
    const violations = Array.from({ length: 250 }, (_, i) => ({
      path: `lines[${i}].quantity`,
      rule: '>0',
      message: 'x'.repeat(900),
    }));

    await quarantineFeedMessage(rejection({ violations }), deps);

    const exception = exceptions.only();
    expect(exception.violations).toHaveLength(100);
    expect(exception.violations?.[0]).toEqual({
      path: 'lines[0].quantity',
      rule: '>0',
      message: `${'x'.repeat(499)}…`,
    });
    expect(exception.context.violationCount).toBe(250);
  });

  it('is once per distinct message per feed', async () => {
    const a = await quarantineFeedMessage(rejection(), deps);
    const b = await quarantineFeedMessage(rejection(), deps);
    const otherFeed = await quarantineFeedMessage(rejection({ feed: 'wms.inventory' }), deps);

    expect(b).toEqual({ exceptionId: a.exceptionId, alreadyQuarantined: true });
    expect(otherFeed.exceptionId).not.toBe(a.exceptionId);
    expect(otherFeed.alreadyQuarantined).toBe(false);
    expect(exceptions.items.size).toBe(2);
  });
});

describe('the hostile WMS corpus (test/fixtures/hostile/wms.ts), case by case', () => {
  it.each(wmsCases().map((c) => [c.name, c] as const))('%s', async (_name, hostile) => {
    const expected = hostile.expect;
    if (expected.outcome !== 'rejected') throw new Error('the WMS corpus holds rejections only');
    const outcome = await announceWmsMessage(hostile.input, deps);
    expect(outcome.kind).toBe('quarantined');
    const exception = exceptions.only();
    expect(exception).toMatchObject({
      ownerTeam: expected.owner,
      type: expected.type,
      state: 'open',
      context: { payload: hostile.input },
    });
    expect(exception.violations).toContainEqual(
      expect.objectContaining({ path: expected.path, rule: expect.stringContaining(expected.rule) }),
    );
    expect(events.all.map((e) => e.name)).toEqual(['exception.raised']);
  });
});
