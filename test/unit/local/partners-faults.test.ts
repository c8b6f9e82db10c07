import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EventFeed, RandomStreams } from '../../../local/partners/framework.ts';
import { PartnerSandbox } from '../../../local/partners/sandbox.ts';
import { seedSandbox } from '../../../local/partners/seed.ts';

class TestClock {
  constructor(public current: Date) {}
  now(): Date {
    return new Date(this.current);
  }
  advance(ms: number): void {
    this.current = new Date(this.current.getTime() + ms);
  }
}

interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Record<string, unknown>;
}

async function call(
  sandbox: PartnerSandbox,
  method: string,
  path: string,
  options: { body?: unknown; key?: string; raw?: string } = {},
): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (options.body !== undefined || options.raw !== undefined) headers['content-type'] = 'application/json';
  if (options.key) headers['idempotency-key'] = options.key;
  const payload = options.raw ?? (options.body !== undefined ? JSON.stringify(options.body) : undefined);
  const res = await fetch(`${sandbox.baseUrl}${path}`, {
    method,
    headers,
    ...(payload !== undefined ? { body: payload } : {}),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : {} };
}

const START = new Date('2026-11-23T09:00:00Z');
const clock = new TestClock(START);
const sleeps: number[] = [];
const sandbox = new PartnerSandbox({
  clock,
  seed: 7,
  sleep: async (ms) => {
    sleeps.push(ms);
  },
});

beforeAll(() => sandbox.start());
afterAll(() => sandbox.stop());
beforeEach(() => {
  clock.current = START;
  sleeps.length = 0;
  sandbox.reset();
  seedSandbox(sandbox);
});

const CREDIT = '/erp/customers/C-1001/credit-segment';

async function statuses(target: PartnerSandbox, path: string, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await call(target, 'GET', path)).status);
  return out;
}

describe('fault knob: failNext (kept from the first sandbox)', () => {
  it('answers the next n requests of a route prefix with 503, then recovers', async () => {
    sandbox.failNext.set('GET /erp/customers', 2);
    expect(await statuses(sandbox, CREDIT, 3)).toEqual([503, 503, 200]);
    expect(sandbox.callsTo('GET', CREDIT)).toHaveLength(3);
  });
});

describe('fault knob: error rate', () => {
  it('fails about the configured share of requests with 500 or 503', async () => {
    sandbox.faults.set('erp', { errorRate: 0.3 });
    const seen = await statuses(sandbox, CREDIT, 200);
    const failed = seen.filter((s) => s !== 200);
    expect(failed.length).toBeGreaterThan(40);
    expect(failed.length).toBeLessThan(80);
    expect(new Set(failed)).toEqual(new Set([500, 503]));
  });

  it('is reproducible: the same seed fails the same requests, reset() starts the sequence over', async () => {
    const twin = new PartnerSandbox({ seed: 7 });
    const other = new PartnerSandbox({ seed: 8 });
    await Promise.all([twin.start(), other.start()]);
    try {
      for (const s of [sandbox, twin, other]) {
        seedSandbox(s);
        s.faults.set('erp', { errorRate: 0.5 });
      }
      const first = await statuses(sandbox, CREDIT, 30);
      expect(await statuses(twin, CREDIT, 30)).toEqual(first);
      expect(await statuses(other, CREDIT, 30)).not.toEqual(first);

      sandbox.reset();
      seedSandbox(sandbox);
      sandbox.faults.set('erp', { errorRate: 0.5 });
      expect(await statuses(sandbox, CREDIT, 30)).toEqual(first);
    } finally {
      await Promise.all([twin.stop(), other.stop()]);
    }
  });

  it('fails a request by what it is, not by when it came: other requests in between change nothing', async () => {
    const twin = new PartnerSandbox({ seed: 7 });
    await twin.start();
    try {
      for (const s of [sandbox, twin]) {
        seedSandbox(s);
        s.faults.set('erp', { errorRate: 0.5 });
      }
      const customers = ['C-1001', 'C-2002', 'C-3003', 'C-4004'];
      const outcomes = async (target: PartnerSandbox, order: readonly string[]) => {
        const seen = new Map<string, number[]>();
        // Each customer's credit segment three times (a call and its retries), customers interleaved.
        for (let attempt = 0; attempt < 3; attempt++) {
          for (const id of order) {
            const answer = await call(target, 'GET', `/erp/customers/${id}/credit-segment`);
            seen.set(id, [...(seen.get(id) ?? []), answer.status]);
          }
        }
        return Object.fromEntries([...seen].sort(([a], [b]) => (a < b ? -1 : 1)));
      };
      const forward = await outcomes(sandbox, customers);
      expect(await outcomes(twin, [...customers].reverse())).toEqual(forward);
      // And the draws do fail some: a retry of one request can succeed where its first attempt failed.
      expect(Object.values(forward).flat()).toContain(200);
      expect(
        Object.values(forward)
          .flat()
          .some((status) => status !== 200),
      ).toBe(true);
    } finally {
      await twin.stop();
    }
  });

  it("draws one caller's identical request apart from another's: who arrives first changes nothing", async () => {
    const twin = new PartnerSandbox({ seed: 7 });
    await twin.start();
    try {
      for (const s of [sandbox, twin]) {
        seedSandbox(s);
        s.faults.set('erp', { errorRate: 0.5 });
      }
      // Twelve orders read one customer's credit segment (the same request), each with its own correlation id.
      const orders = Array.from({ length: 12 }, (_, i) => `ERP-SO${7000 + i}`);
      const outcomes = async (target: PartnerSandbox, order: readonly string[]) => {
        const seen: Record<string, number> = {};
        for (const orderId of order) {
          const res = await fetch(`${target.baseUrl}/erp/customers/C-1001/credit-segment`, {
            headers: { 'x-correlation-id': orderId },
          });
          await res.text();
          seen[orderId] = res.status;
        }
        return seen;
      };
      const forward = await outcomes(sandbox, orders);
      expect(await outcomes(twin, [...orders].reverse())).toEqual(forward);
      // And the draws differ between callers: some of the twelve fail, some do not.
      expect(Object.values(forward)).toContain(200);
      expect(Object.values(forward).some((status) => status >= 500)).toBe(true);
    } finally {
      await twin.stop();
    }
  });

  it('uses the configured statuses, and a route knob overrides its partner knob for that route only', async () => {
    sandbox.faults.set('erp', { errorRate: 1, errorStatuses: [502] });
    sandbox.faults.set('GET /erp/items', { errorRate: 0 });

    expect((await call(sandbox, 'GET', CREDIT)).status).toBe(502);
    expect((await call(sandbox, 'GET', '/erp/items/BOLT-M8')).status).toBe(200);
    expect((await call(sandbox, 'GET', '/wms/availability?items=BOLT-M8')).status).toBe(200);
  });

  it('with failAfterCommit the side effect happens and only the answer is lost; the keyed retry replays it', async () => {
    const body = {
      orderId: 'ERP-SO-1',
      customerId: 'C-1001',
      shipmentId: 'SHP-1',
      currency: 'USD',
      lines: [{ lineNo: 1, sku: 'PUMP-220', quantity: 1 }],
    };
    sandbox.faults.set('POST /erp/invoices', { errorRate: 1, errorStatuses: [500], failAfterCommit: true });
    const lost = await call(sandbox, 'POST', '/erp/invoices', { body, key: 'ERP-SO-1:invoice' });
    sandbox.faults.clear();
    const retry = await call(sandbox, 'POST', '/erp/invoices', { body, key: 'ERP-SO-1:invoice' });

    expect(lost.status).toBe(500);
    expect(retry.status).toBe(201);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(sandbox.erp.invoices).toHaveLength(1);
  });
});

describe('fault knob: latency', () => {
  it('waits the fixed latency plus a seeded jitter below the jitter bound, the same on every run', async () => {
    sandbox.faults.set('wms', { latencyMs: 200, latencyJitterMs: 100 });
    await statuses(sandbox, '/wms/availability?items=BOLT-M8', 20);
    const firstRun = [...sleeps];
    sandbox.reset();
    seedSandbox(sandbox);
    sleeps.length = 0;
    sandbox.faults.set('wms', { latencyMs: 200, latencyJitterMs: 100 });
    await statuses(sandbox, '/wms/availability?items=BOLT-M8', 20);

    expect(firstRun).toHaveLength(20);
    for (const ms of firstRun) {
      expect(ms).toBeGreaterThanOrEqual(200);
      expect(ms).toBeLessThan(300);
    }
    expect(new Set(firstRun).size).toBeGreaterThan(1);
    expect(sleeps).toEqual(firstRun);
  });

  it('really delays the answer with the default sleep', async () => {
    const slow = new PartnerSandbox();
    await slow.start();
    try {
      seedSandbox(slow);
      slow.faults.set('GET /erp/customers', { latencyMs: 120 });
      const started = performance.now();
      const answer = await call(slow, 'GET', CREDIT);
      expect(answer.status).toBe(200);
      expect(performance.now() - started).toBeGreaterThanOrEqual(110);
    } finally {
      await slow.stop();
    }
  });
});

describe('fault knob: outage windows on the injected clock', () => {
  it('answers 503 with retry-after inside the window and normally before and after it', async () => {
    sandbox.faults.set('finance', {
      outages: [{ from: '2026-11-23T10:00:00Z', to: '2026-11-23T10:30:00Z' }],
    });
    const path = '/finance/customers/C-1001/exposure';

    const before = await call(sandbox, 'GET', path);
    clock.current = new Date('2026-11-23T10:10:00Z');
    const during = await call(sandbox, 'GET', path);
    clock.current = new Date('2026-11-23T10:30:00Z');
    const after = await call(sandbox, 'GET', path);

    expect(before.status).toBe(200);
    expect(during.status).toBe(503);
    expect(during.headers.get('retry-after')).toBe('1200');
    expect(during.body).toMatchObject({ code: 'partner_outage' });
    expect(String(during.body.message)).toContain('2026-11-23T10:30:00.000Z');
    expect(after.status).toBe(200);
  });

  it('applies a route outage on top of its partner’s knobs', async () => {
    sandbox.faults.set('tms', { latencyMs: 5 });
    sandbox.faults.set('POST /tms/bookings', {
      outages: [{ from: START, to: new Date(START.getTime() + 1000) }],
    });

    expect((await call(sandbox, 'POST', '/tms/bookings', { body: {} })).status).toBe(503);
    expect((await call(sandbox, 'GET', '/tms/bookings/BK-1')).status).toBe(404);
  });
});

describe('fault knobs: event feeds', () => {
  function feed(seed = 3) {
    const feedClock = new TestClock(START);
    const streams = new RandomStreams(seed);
    const events = new EventFeed<string>('test.feed', {
      clock: feedClock,
      random: (name) => streams.stream(name),
    });
    return { events, feedClock };
  }

  it('delivers in emission order once due, and nothing twice, with no knobs', () => {
    const { events } = feed();
    for (const e of ['a', 'b', 'c']) events.emit(e);
    expect(events.drain()).toEqual(['a', 'b', 'c']);
    expect(events.drain()).toEqual([]);
  });

  it('duplicates events (same event twice) at the duplicate rate', () => {
    const { events } = feed();
    events.knobs = { duplicateRate: 1 };
    events.emit('a');
    events.emit('b');
    expect(events.drain()).toEqual(['a', 'a', 'b', 'b']);
  });

  it('holds late events back by lateByMs of the sandbox clock, so later events overtake them', () => {
    const { events, feedClock } = feed();
    events.knobs = { lateRate: 1, lateByMs: 60_000 };
    events.emit('late');
    events.knobs = {};
    events.emit('on-time');

    expect(events.drain()).toEqual(['on-time']);
    feedClock.advance(59_999);
    expect(events.drain()).toEqual([]);
    feedClock.advance(1);
    expect(events.drain()).toEqual(['late']);
  });

  it('swaps neighbouring events at the reorder rate', () => {
    const { events } = feed();
    events.knobs = { reorderRate: 1 };
    for (const e of ['a', 'b', 'c', 'd', 'e']) events.emit(e);
    expect(events.drain()).toEqual(['b', 'a', 'd', 'c', 'e']);
  });

  it('draws each knob from a seeded stream: the same seed misbehaves the same way', () => {
    const run = (seed: number) => {
      const { events } = feed(seed);
      events.knobs = { duplicateRate: 0.5, reorderRate: 0.5 };
      for (let i = 0; i < 20; i++) events.emit(`e${i}`);
      return events.drain();
    };
    expect(run(11)).toEqual(run(11));
    expect(run(11)).not.toEqual(run(12));
    expect(run(11).length).toBeGreaterThan(20);
  });

  it('decides a keyed event by its key: emitted in any order, the same events are duplicated', () => {
    const run = (order: readonly string[]) => {
      const streams = new RandomStreams(5);
      const events = new EventFeed<string>('test.feed', {
        clock: new TestClock(START),
        random: (name) => streams.stream(name),
        draw: (name, key) => streams.draw(name, key),
      });
      events.knobs = { duplicateRate: 0.5 };
      for (const e of order) events.emit(e, undefined, `key-${e}`);
      return events
        .drain()
        .filter((e, i, all) => all.indexOf(e) !== i)
        .sort();
    };
    const names = Array.from({ length: 20 }, (_, i) => `e${i}`);
    const duplicated = run(names);
    expect(run([...names].reverse())).toEqual(duplicated);
    expect(duplicated.length).toBeGreaterThan(0);
    expect(duplicated.length).toBeLessThan(20);
  });

  it('applies the knobs to a partner feed (WMS inventory.received) and reset() clears them', async () => {
    sandbox.wms.events.knobs = { duplicateRate: 1 };
    sandbox.wms.receive('BOLT-M8', 'DC-EAST', 100);
    const delivered = sandbox.wms.drainEvents();
    expect(delivered.map((e) => e.eventId)).toEqual(['WMS-EVT-000001', 'WMS-EVT-000001']);

    sandbox.reset();
    seedSandbox(sandbox);
    sandbox.wms.receive('BOLT-M8', 'DC-EAST', 100);
    expect(sandbox.wms.drainEvents()).toHaveLength(1);
  });
});

describe('sandbox protocol errors', () => {
  it('answers 404 for an unknown partner or route and 405 with allow for a wrong method', async () => {
    expect((await call(sandbox, 'GET', '/nope/x')).status).toBe(404);
    expect((await call(sandbox, 'GET', '/erp/nothing')).status).toBe(404);
    const method = await call(sandbox, 'POST', '/erp/items', { body: {} });
    expect(method.status).toBe(405);
    expect(method.headers.get('allow')).toBe('GET');
  });

  it('answers 400 for a body that is not JSON, and 400 naming each broken field for a bad one', async () => {
    const garbled = await call(sandbox, 'POST', '/erp/invoices', { raw: '{"orderId":' });
    const invalid = await call(sandbox, 'POST', '/erp/invoices', {
      body: { orderId: 'X', customerId: 'C-1001', shipmentId: 'S', currency: 'usd', lines: [] },
    });

    expect(garbled.body).toMatchObject({ code: 'invalid_json' });
    expect(garbled.status).toBe(400);
    expect(invalid.status).toBe(400);
    expect(invalid.body.violations).toEqual([
      expect.objectContaining({ path: 'currency', rule: 'pattern:/^[A-Z]{3}$/' }),
      expect.objectContaining({ path: 'lines', rule: 'minItems:1' }),
    ]);
  });
});
