import {
  CreateTableCommand,
  type CreateTableCommandInput,
  GetItemCommand,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  DynamoSlaClockStore,
  dueBucketOf,
  SLA_CLOCK_TTL_DAYS,
  SLA_DUE_INDEX,
  SLA_DUE_SHARDS,
} from '../../lambdas/adapters/aws/dynamo-sla-clock-store.ts';
import type { SlaClock, StageTarget } from '../../lambdas/core/sla.ts';
import type { StoredClock } from '../../lambdas/ports/index.ts';
import { ConcurrentClockUpdate } from '../../lambdas/shared/errors.ts';
import { shardOf } from '../../lambdas/shared/ids.ts';
import { buildApp } from '../../lib/app.ts';
import { type DynamoDbLocal, startDynamoDbLocal } from '../../local/dynamodb/dynamodb-local.ts';
import { createTableInput } from '../../local/dynamodb/tables.ts';

interface TemplateTable {
  readonly Type: string;
  readonly Properties: Record<string, unknown>;
}

/** The properties of the SlaClocksTable this test checks before relying on them. */
interface SlaClocksTableProperties {
  readonly GlobalSecondaryIndexes?: readonly { IndexName: string }[];
  readonly TimeToLiveSpecification?: { AttributeName?: string; Enabled?: boolean };
}

/** Every command sent to DynamoDB Local in this file, in order. */
const sent: { name: string; input: Record<string, unknown> }[] = [];
/** Commands sent and not yet answered; the most there were at once since `commandsOf` last started. */
let inFlight = 0;
let peakInFlight = 0;

let ddb: DynamoDbLocal;
let clocksTable: { logicalId: string; table: TemplateTable };
let tableName = '';
let tableCount = 0;
let store: DynamoSlaClockStore;

/** A fresh table per test, created from the synthesized template's SlaClocksTable. */
async function createClocksTable(): Promise<string> {
  tableCount += 1;
  const name = `test-sla-clocks-${tableCount}`;
  const { logicalId, table } = clocksTable;
  const input: CreateTableCommandInput = createTableInput(
    name,
    { stack: 'test', logicalId, type: table.Type, properties: table.Properties, metadata: {} },
    table.Properties as unknown as Parameters<typeof createTableInput>[2],
  );
  await ddb.client.send(new CreateTableCommand(input));
  const ttl = (table.Properties as SlaClocksTableProperties).TimeToLiveSpecification?.AttributeName;
  if (ttl) {
    await ddb.client.send(
      new UpdateTimeToLiveCommand({
        TableName: name,
        TimeToLiveSpecification: { AttributeName: ttl, Enabled: true },
      }),
    );
  }
  return name;
}

beforeAll(async () => {
  ddb = await startDynamoDbLocal();
  const send = ddb.client.send.bind(ddb.client);
  ddb.client.send = ((command: { constructor: { name: string }; input: Record<string, unknown> }) => {
    sent.push({ name: command.constructor.name, input: command.input });
    inFlight += 1;
    peakInFlight = Math.max(peakInFlight, inFlight);
    return send(command as unknown as Parameters<typeof send>[0]).finally(() => {
      inFlight -= 1;
    });
  }) as typeof ddb.client.send;
  const { stateful } = buildApp(new App({ context: { 'aws:cdk:bundling-stacks': [] } }));
  const resources = Template.fromStack(stateful).findResources('AWS::DynamoDB::GlobalTable');
  const found = Object.entries(resources).find(([logicalId]) => logicalId.startsWith('SlaClocksTable'));
  if (!found) throw new Error('no SlaClocksTable in the stateful template');
  clocksTable = { logicalId: found[0], table: found[1] as TemplateTable };
  const properties = clocksTable.table.Properties as SlaClocksTableProperties;
  expect(properties.GlobalSecondaryIndexes?.map((g) => g.IndexName)).toEqual([SLA_DUE_INDEX]);
  expect(properties.TimeToLiveSpecification).toEqual({ AttributeName: 'expiresAt', Enabled: true });
});

afterAll(async () => {
  await ddb?.stop();
});

beforeEach(async () => {
  tableName = await createClocksTable();
  store = new DynamoSlaClockStore(ddb.client, tableName);
});

const target: StageTarget = {
  stage: 'credit-to-allocation',
  ownerTeam: 'warehouse',
  targetSeconds: 3600,
  jeopardySeconds: 2700,
  calendar: 'continuous',
  pausesForCustomer: true,
};

function clock(over: Partial<SlaClock> = {}): SlaClock {
  return {
    orderId: 'ERP-1',
    stage: 'credit-to-allocation',
    instance: '',
    target,
    startedAt: '2026-12-03T10:00:00.000Z',
    pauses: [],
    ...over,
  };
}

/** A per-shipment invoice clock: one order may have many. */
function invoiceClock(orderId: string, shipmentId: string, over: Partial<SlaClock> = {}): SlaClock {
  return clock({
    orderId,
    stage: 'ship-confirmation-to-invoice',
    instance: shipmentId,
    target: { ...target, stage: 'ship-confirmation-to-invoice', ownerTeam: 'finance' },
    ...over,
  });
}

const at = (iso: string) => new Date(iso);

/** The stored item as DynamoDB holds it, storage attributes included. */
async function rawItem(pk: string, sk: string): Promise<Record<string, unknown> | undefined> {
  const { Item } = await ddb.client.send(
    new GetItemCommand({ TableName: tableName, Key: marshall({ pk, sk }), ConsistentRead: true }),
  );
  return Item ? unmarshall(Item) : undefined;
}

async function due(since: string, now: string): Promise<StoredClock[]> {
  const found: StoredClock[] = [];
  for await (const stored of store.dueClocks(at(since), at(now))) found.push(stored);
  return found;
}

/** The due bucket partitions `reads` queried, in the order they were sent. */
const queriedBuckets = (reads: typeof sent) =>
  reads.map((c) => unmarshall(c.input.ExpressionAttributeValues as never)[':bucket'] as string);

/** Every shard's bucket of each UTC hour label (`YYYY-MM-DDTHH`), hour by hour. */
const everyShard = (hours: readonly string[]) =>
  hours.flatMap((hour) => Array.from({ length: SLA_DUE_SHARDS }, (_, s) => `${hour}#${s}`));

/** The due shard of an order's clock (`credit-to-allocation` unless told). */
const shard = (orderId: string, key = 'credit-to-allocation') => shardOf(`${orderId}|${key}`, SLA_DUE_SHARDS);

const keys = (clocks: readonly StoredClock[]) =>
  clocks.map((s) => `${s.clock.orderId}:${s.clock.stage}#${s.clock.instance}`).sort();

/** The commands sent while `run` ran. */
async function commandsOf(run: () => Promise<unknown>): Promise<typeof sent> {
  const from = sent.length;
  peakInFlight = inFlight;
  await run();
  return sent.slice(from);
}

describe('save and clocksOf', () => {
  it('round-trips a clock with its pauses, outbox and version; absent fields stay absent', async () => {
    const now = at('2026-12-03T10:20:00.000Z');
    const paused = clock({
      pauses: [
        { from: '2026-12-03T10:05:00.000Z', to: '2026-12-03T10:10:00.000Z', reason: 'substitute-approval' },
        { from: '2026-12-03T10:15:00.000Z', reason: 'substitute-approval' },
      ],
      stoppedAt: undefined,
      jeopardyRaisedAt: '2026-12-03T10:19:00.000Z',
    });
    const saved = await store.save(
      paused,
      { outbox: ['jeopardy'], dueAt: at('2026-12-03T11:00:00.000Z') },
      0,
      now,
    );
    expect(saved).toEqual({ clock: paused, version: 1, outbox: ['jeopardy'] });
    const invoice = invoiceClock('ERP-1', 'SHP-1', { startedAt: undefined });
    await store.save(invoice, { outbox: [] }, 0, now);
    await store.save(clock({ orderId: 'ERP-2' }), { outbox: [] }, 0, now);

    const loaded = await store.clocksOf('ERP-1');
    expect(loaded).toHaveLength(2);
    const byStage = new Map(loaded.map((s) => [s.clock.stage, s]));
    expect(byStage.get('credit-to-allocation')).toEqual({
      clock: paused,
      version: 1,
      outbox: ['jeopardy'],
    });
    const loadedPaused = byStage.get('credit-to-allocation')?.clock;
    expect(loadedPaused).not.toHaveProperty('stoppedAt');
    expect(loadedPaused?.pauses[1]).not.toHaveProperty('to');
    expect(byStage.get('ship-confirmation-to-invoice')).toEqual({ clock: invoice, version: 1, outbox: [] });
    expect(byStage.get('ship-confirmation-to-invoice')?.clock).not.toHaveProperty('startedAt');
    expect(await store.clocksOf('ERP-9')).toEqual([]);

    expect(await rawItem('ORDER#ERP-1', 'CLOCK#credit-to-allocation#')).toEqual({
      pk: 'ORDER#ERP-1',
      sk: 'CLOCK#credit-to-allocation#',
      orderId: 'ERP-1',
      stage: 'credit-to-allocation',
      clock: JSON.parse(JSON.stringify(paused)),
      version: 1,
      outbox: ['jeopardy'],
      dueAt: '2026-12-03T11:00:00.000Z',
      dueBucket: dueBucketOf('ERP-1', 'credit-to-allocation', at('2026-12-03T11:00:00.000Z'), now),
      expiresAt: Math.floor(now.getTime() / 1000) + SLA_CLOCK_TTL_DAYS * 86_400,
    });
    const invoiceItem = await rawItem('ORDER#ERP-1', 'CLOCK#ship-confirmation-to-invoice#SHP-1');
    expect(invoiceItem).toMatchObject({ version: 1, outbox: [] });
    expect(invoiceItem).not.toHaveProperty('dueAt');
    expect(invoiceItem).not.toHaveProperty('dueBucket');
  });

  it('buckets a clock by its due UTC hour and a shard of its order and clock', async () => {
    const now = at('2026-12-03T10:00:00.000Z');
    const plan: [string, string, string][] = [
      ['ERP-1', '2026-12-03T10:45:59.999Z', '2026-12-03T10'],
      ['ERP-2', '2026-12-03T10:59:59.999Z', '2026-12-03T10'],
      ['ERP-3', '2026-12-03T11:00:00.000Z', '2026-12-03T11'],
      ['ERP-4', '2026-12-04T00:00:00.000Z', '2026-12-04T00'],
      ['ERP-5', '2026-12-31T23:59:59.999Z', '2026-12-31T23'],
      ['ERP-6', '2027-01-01T09:05:00.000Z', '2027-01-01T09'],
    ];
    for (const [orderId, dueAt, hour] of plan) {
      await store.save(clock({ orderId }), { outbox: [], dueAt: at(dueAt) }, 0, now);
      const item = await rawItem(`ORDER#${orderId}`, 'CLOCK#credit-to-allocation#');
      expect(item?.dueAt).toBe(dueAt);
      expect(item?.dueBucket).toBe(`${hour}#${shard(orderId)}`);
      expect(item?.dueBucket).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}#[0-3]$/);
      expect(dueBucketOf(orderId, 'credit-to-allocation', at(dueAt), now)).toBe(item?.dueBucket);
    }
    // The shard is of the order and the clock key together, not of the order alone.
    expect(
      dueBucketOf('ERP-1', 'ship-confirmation-to-invoice#SHP-1', at('2026-12-03T10:45:59.999Z'), now),
    ).toBe(`2026-12-03T10#${shard('ERP-1', 'ship-confirmation-to-invoice#SHP-1')}`);
  });

  it('pushes expiresAt out to 400 days after every write', async () => {
    await store.save(clock(), { outbox: [] }, 0, at('2026-12-03T10:00:00.000Z'));
    await store.save(clock(), { outbox: [] }, 1, at('2026-12-05T10:00:00.000Z'));
    expect((await rawItem('ORDER#ERP-1', 'CLOCK#credit-to-allocation#'))?.expiresAt).toBe(
      Date.parse('2026-12-05T10:00:00.000Z') / 1000 + 400 * 86_400,
    );
  });

  it('pages over an order with many large clocks', async () => {
    const now = at('2026-12-03T10:00:00.000Z');
    // 30 clocks of ~150 KB each: far more than one 1 MB query page, and at least one due shard holds 8.
    const reason = 'x'.repeat(150_000);
    const shipments = Array.from({ length: 30 }, (_, i) => `SHP-${String(i + 1).padStart(2, '0')}`);
    for (const shipment of shipments) {
      await store.save(
        invoiceClock('ERP-BIG', shipment, { pauses: [{ from: '2026-12-03T09:00:00.000Z', reason }] }),
        { outbox: [], dueAt: at('2026-12-03T10:30:00.000Z') },
        0,
        now,
      );
    }

    let loaded: StoredClock[] = [];
    const reads = await commandsOf(async () => {
      loaded = await store.clocksOf('ERP-BIG');
    });
    expect(reads.filter((c) => c.name === 'QueryCommand').length).toBeGreaterThan(1);
    expect(loaded.map((s) => s.clock.instance).sort()).toEqual(shipments);
    expect(loaded.every((s) => s.clock.pauses[0]?.reason === reason)).toBe(true);

    let dueNow: StoredClock[] = [];
    const dueReads = await commandsOf(async () => {
      dueNow = await due('2026-12-03T10:30:00.000Z', '2026-12-03T10:30:30.000Z');
    });
    expect(dueReads.filter((c) => c.name === 'QueryCommand').length).toBeGreaterThan(SLA_DUE_SHARDS);
    expect(dueNow.map((s) => s.clock.instance).sort()).toEqual(shipments);
  });
});

describe('optimistic writes', () => {
  it('refuses a writer with a stale version: ConcurrentClockUpdate naming the order and clock', async () => {
    const now = at('2026-12-03T10:20:00.000Z');
    await store.save(invoiceClock('ERP-1', 'SHP-1'), { outbox: [] }, 0, now);
    const first = await store.save(
      invoiceClock('ERP-1', 'SHP-1', { stoppedAt: '2026-12-03T10:19:00.000Z' }),
      { outbox: [] },
      1,
      now,
    );
    expect(first.version).toBe(2);

    const stale = store.save(
      invoiceClock('ERP-1', 'SHP-1', { cancelledAt: '2026-12-03T10:19:30.000Z' }),
      { outbox: [] },
      1,
      now,
    );
    await expect(stale).rejects.toBeInstanceOf(ConcurrentClockUpdate);
    await expect(stale).rejects.toMatchObject({
      name: 'ConcurrentClockUpdate',
      orderId: 'ERP-1',
      clockKey: 'ship-confirmation-to-invoice#SHP-1',
      retryable: true,
    });
    // Creating a clock that exists, or updating one that does not, is a conflict too.
    await expect(store.save(invoiceClock('ERP-1', 'SHP-1'), { outbox: [] }, 0, now)).rejects.toMatchObject({
      clockKey: 'ship-confirmation-to-invoice#SHP-1',
    });
    await expect(store.save(clock({ orderId: 'ERP-2' }), { outbox: [] }, 3, now)).rejects.toMatchObject({
      orderId: 'ERP-2',
      clockKey: 'credit-to-allocation',
    });

    expect(await store.clocksOf('ERP-1')).toEqual([first]);
    expect(await store.clocksOf('ERP-2')).toEqual([]);
  });

  it('lets exactly one of two concurrent writers of the same version win', async () => {
    const now = at('2026-12-03T10:20:00.000Z');
    await store.save(clock(), { outbox: [] }, 0, now);
    const results = await Promise.allSettled([
      store.save(clock({ jeopardyRaisedAt: '2026-12-03T10:20:00.000Z' }), { outbox: ['jeopardy'] }, 1, now),
      store.save(clock({ stoppedAt: '2026-12-03T10:20:00.000Z' }), { outbox: [] }, 1, now),
    ]);
    const won = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const lost = results.flatMap((r) => (r.status === 'rejected' ? [r.reason] : []));
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect(lost[0]).toBeInstanceOf(ConcurrentClockUpdate);
    expect(await store.clocksOf('ERP-1')).toEqual(won);
  });
});

describe('dueClocks', () => {
  // Written at 20:00 the day before: a dueAt from then on is bucketed at its own hour.
  const written = at('2026-12-02T20:00:00.000Z');
  const now = '2026-12-03T03:30:00.000Z';
  /** The UTC hours from 20:00 to now's, across midnight: 22:00 holds no clock. */
  const hoursToNow = [
    '2026-12-02T20',
    '2026-12-02T21',
    '2026-12-02T22',
    '2026-12-02T23',
    '2026-12-03T00',
    '2026-12-03T01',
    '2026-12-03T02',
    '2026-12-03T03',
  ];

  /** Clocks due at various times over many orders (so over every shard), written at 20:00 the day before. */
  async function seed(): Promise<{ dueByNow: string[]; later: string[]; never: string[] }> {
    const plan: [string, string | undefined][] = [
      ['2026-12-02T20:00:00.000Z', 'due'], // ERP-1A … ERP-3C
      ['2026-12-02T21:59:59.999Z', 'due'], // ERP-4A … ERP-6C
      ['2026-12-02T23:00:00.000Z', 'due'], // ERP-7A … ERP-9C
      ['2026-12-03T00:00:00.000Z', 'due'], // ERP-10A … ERP-12C
      ['2026-12-03T01:30:00.000Z', 'due'],
      ['2026-12-03T02:15:00.000Z', 'due'],
      ['2026-12-03T03:00:00.000Z', 'due'], // ERP-19A … ERP-21C
      ['2026-12-03T03:29:59.999Z', 'due'],
      ['2026-12-03T03:30:00.000Z', 'due'], // ERP-25A … ERP-27C
      ['2026-12-03T03:30:00.001Z', 'later'], // ERP-28A … ERP-30C: now's hour, after now
      ['2026-12-03T03:59:59.999Z', 'later'], // ERP-31A … ERP-33C: now's hour, after now
      ['2026-12-03T04:00:00.000Z', 'later'], // ERP-34A … ERP-36C: the next hour
      ['', 'never'],
    ];
    const result = { dueByNow: [] as string[], later: [] as string[], never: [] as string[] };
    let n = 0;
    for (const [dueAt, kind] of plan) {
      // Three orders per due time, so the due set spreads over the shards.
      for (const suffix of ['A', 'B', 'C']) {
        n += 1;
        const orderId = `ERP-${n}${suffix}`;
        await store.save(
          clock({ orderId }),
          { outbox: [], ...(dueAt ? { dueAt: at(dueAt) } : {}) },
          0,
          written,
        );
        const key = `${orderId}:credit-to-allocation#`;
        if (kind === 'due') result.dueByNow.push(key);
        else if (kind === 'later') result.later.push(key);
        else result.never.push(key);
      }
    }
    return result;
  }

  /** The seeded clocks of the orders numbered `numbers` (1 … 39, suffixes A, B, C in turn), as `keys` lists them. */
  const seeded = (numbers: readonly number[]) =>
    numbers.map((n) => `ERP-${n}${'ABC'[(n - 1) % 3]}:credit-to-allocation#`).sort();
  const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

  it('returns exactly the clocks due by now, across several hours and every shard', async () => {
    const { dueByNow, later } = await seed();
    let found: StoredClock[] = [];
    const reads = await commandsOf(async () => {
      found = await due('2026-12-02T20:00:00.000Z', now);
    });
    const peak = peakInFlight;
    expect(keys(found)).toEqual([...dueByNow].sort());
    expect(keys(found)).toEqual(seeded(range(1, 27)));
    expect(found.every((s) => s.version === 1 && s.outbox.length === 0)).toBe(true);
    // Clocks due later in now's hour (03:30:00.001, 03:59:59.999) share its bucket but are not due yet.
    expect(keys(found).filter((k) => later.includes(k))).toEqual([]);

    // The due clocks sit in seven hours (two dates) and every shard; they were read by key, bucket by bucket.
    const items = await Promise.all(
      found.map((s) => rawItem(`ORDER#${s.clock.orderId}`, 'CLOCK#credit-to-allocation#')),
    );
    const buckets = items.map((item) => String(item?.dueBucket));
    // Each in its dueAt's hour (all due after 20:00, when they were written) and its shard.
    for (const [i, s] of found.entries()) {
      expect(buckets[i]).toBe(`${String(items[i]?.dueAt).slice(0, 13)}#${shard(s.clock.orderId)}`);
    }
    expect(new Set(buckets.map((b) => b.slice(0, 13)))).toEqual(
      new Set(hoursToNow.filter((h) => h !== '2026-12-02T22')),
    );
    expect(new Set(buckets.map((b) => b.slice(14)))).toEqual(new Set(['0', '1', '2', '3']));
    // Yielded hour by hour, then shard by shard: the earlier buckets' clocks come first.
    expect(buckets).toEqual([...buckets].sort());

    // One query per hour from since's to now's (the empty 22:00 included) and shard: 8 × 4, 6 hours at once.
    expect(reads.map((c) => c.name)).toEqual(Array(8 * SLA_DUE_SHARDS).fill('QueryCommand'));
    expect(new Set(reads.map((c) => c.input.IndexName))).toEqual(new Set([SLA_DUE_INDEX]));
    expect(queriedBuckets(reads)).toEqual(everyShard(hoursToNow));
    expect(reads.every((c) => unmarshall(c.input.ExpressionAttributeValues as never)[':dueBy'] === now)).toBe(
      true,
    );
    expect(peak).toBe(6 * SLA_DUE_SHARDS);
  });

  it('reads only the hour buckets from since’s, and clocks due later in now’s hour are not due yet', async () => {
    await seed();
    // 20:00 … 23:00 are not read; 00:00 is, from the start of the hour (00:00 is before since).
    const fromZero = await commandsOf(async () => {
      expect(keys(await due('2026-12-03T00:40:00.000Z', now))).toEqual(seeded(range(10, 27)));
    });
    expect(queriedBuckets(fromZero)).toEqual(everyShard(hoursToNow.slice(4)));

    // Within now's hour: from 03:00 by 03:30 the clocks due 03:00 … 03:30, not those due 03:30:00.001 on.
    expect(keys(await due('2026-12-03T03:00:00.000Z', now))).toEqual(seeded(range(19, 27)));
    // By 03:59:59.999 the rest of 03:00's bucket is due, 04:00 is not (nor read: its bucket is the next hour).
    const toEnd = await commandsOf(async () => {
      expect(keys(await due('2026-12-03T03:00:00.000Z', '2026-12-03T03:59:59.999Z'))).toEqual(
        seeded(range(19, 33)),
      );
    });
    expect(queriedBuckets(toEnd)).toEqual(everyShard(['2026-12-03T03']));
    // At 04:00 the next hour's bucket is read too.
    const toNext = await commandsOf(async () => {
      expect(keys(await due('2026-12-03T03:00:00.000Z', '2026-12-03T04:00:00.000Z'))).toEqual(
        seeded(range(19, 36)),
      );
    });
    expect(queriedBuckets(toNext)).toEqual(everyShard(['2026-12-03T03', '2026-12-03T04']));
  });

  it('takes a clock out of the index when it is saved without a dueAt, and moves it when dueAt moves', async () => {
    await store.save(
      clock({ orderId: 'ERP-X' }),
      { outbox: [], dueAt: at('2026-12-03T01:00:00.000Z') },
      0,
      written,
    );
    await store.save(
      clock({ orderId: 'ERP-Y' }),
      { outbox: [], dueAt: at('2026-12-03T02:00:00.000Z') },
      0,
      written,
    );
    expect(keys(await due('2026-12-03T00:00:00.000Z', now))).toEqual([
      'ERP-X:credit-to-allocation#',
      'ERP-Y:credit-to-allocation#',
    ]);

    await store.save(
      clock({ orderId: 'ERP-X', stoppedAt: '2026-12-03T00:30:00.000Z' }),
      { outbox: [] },
      1,
      written,
    );
    const item = await rawItem('ORDER#ERP-X', 'CLOCK#credit-to-allocation#');
    expect(item).not.toHaveProperty('dueAt');
    expect(item).not.toHaveProperty('dueBucket');
    await store.save(
      clock({ orderId: 'ERP-Y' }),
      { outbox: [], dueAt: at('2026-12-03T05:15:00.000Z') },
      1,
      written,
    );
    expect((await rawItem('ORDER#ERP-Y', 'CLOCK#credit-to-allocation#'))?.dueBucket).toBe(
      `2026-12-03T05#${shard('ERP-Y')}`,
    );

    expect(await due('2026-12-03T00:00:00.000Z', now)).toEqual([]);
    expect(await due('2026-12-03T05:00:00.000Z', '2026-12-03T05:14:59.999Z')).toEqual([]);
    expect(keys(await due('2026-12-03T00:00:00.000Z', '2026-12-03T05:15:00.000Z'))).toEqual([
      'ERP-Y:credit-to-allocation#',
    ]);
  });

  it('buckets a dueAt already past at now’s hour, never an earlier one', async () => {
    const savedAt = at(now);
    const stored = await store.save(
      clock({ jeopardyRaisedAt: '2026-12-03T03:25:00.000Z' }),
      { outbox: ['jeopardy'], dueAt: at('2026-12-03T01:00:00.000Z') },
      0,
      savedAt,
    );
    const item = await rawItem('ORDER#ERP-1', 'CLOCK#credit-to-allocation#');
    expect(item?.dueAt).toBe('2026-12-03T01:00:00.000Z');
    expect(item?.dueBucket).toBe(`2026-12-03T03#${shard('ERP-1')}`);

    // The detector has passed 01:00: it finds the clock in the bucket of the hour it was written.
    expect(await due('2026-12-03T03:00:00.000Z', now)).toEqual([stored]);
    expect(await due('2026-12-03T00:59:00.000Z', '2026-12-03T02:59:59.999Z')).toEqual([]);

    // Past across midnight: saved at 00:10, due 23:50 the day before, it goes in 00:00 of the new date.
    await store.save(
      clock({ orderId: 'ERP-2' }),
      { outbox: [], dueAt: at('2026-12-03T23:50:00.000Z') },
      0,
      at('2026-12-04T00:10:00.000Z'),
    );
    expect((await rawItem('ORDER#ERP-2', 'CLOCK#credit-to-allocation#'))?.dueBucket).toBe(
      `2026-12-04T00#${shard('ERP-2')}`,
    );
    expect(keys(await due('2026-12-04T00:00:00.000Z', '2026-12-04T00:10:00.000Z'))).toEqual([
      'ERP-2:credit-to-allocation#',
    ]);
    expect(await due('2026-12-03T23:00:00.000Z', '2026-12-03T23:59:59.999Z')).toEqual([]);
  });

  it('looks back at most 24 hours: the 25 hour buckets up to now’s', async () => {
    const nowAt = '2026-12-04T12:30:00.000Z';
    // 24 h before now is 12:30 the day before: its whole hour is read, the hour before it is not.
    const old = '2026-12-03T11:59:59.999Z';
    const edge = '2026-12-03T12:00:00.000Z';
    await store.save(clock({ orderId: 'ERP-OLD' }), { outbox: [], dueAt: at(old) }, 0, at(old));
    await store.save(clock({ orderId: 'ERP-EDGE' }), { outbox: [], dueAt: at(edge) }, 0, at(edge));
    let found: StoredClock[] = [];
    const reads = await commandsOf(async () => {
      found = await due('1970-01-01T00:00:00.000Z', nowAt);
    });
    const peak = peakInFlight;
    expect(keys(found)).toEqual(['ERP-EDGE:credit-to-allocation#']);
    expect(reads).toHaveLength(25 * SLA_DUE_SHARDS);
    expect(reads).toHaveLength(100);
    expect(reads.every((c) => c.name === 'QueryCommand')).toBe(true);
    const queried = queriedBuckets(reads);
    expect(queried.slice(0, SLA_DUE_SHARDS)).toEqual(everyShard(['2026-12-03T12']));
    expect(queried.slice(-SLA_DUE_SHARDS)).toEqual(everyShard(['2026-12-04T12']));
    expect(queried).toEqual(
      everyShard(
        Array.from({ length: 25 }, (_, i) =>
          new Date(Date.parse(edge) + i * 3_600_000).toISOString().slice(0, 13),
        ),
      ),
    );
    // Six hours' buckets (every shard) at a time: 6 + 6 + 6 + 6 + 1.
    expect(peak).toBe(6 * SLA_DUE_SHARDS);
  });

  it('returns nothing when since is in a later hour than now, and reads nothing', async () => {
    await seed();
    const reads = await commandsOf(async () => {
      expect(await due('2026-12-03T04:00:00.000Z', now)).toEqual([]);
    });
    expect(reads).toEqual([]);
    // A since later within now's hour still reads now's hour bucket: since only picks the first hour.
    const sameHour = await commandsOf(async () => {
      expect(keys(await due('2026-12-03T03:45:00.000Z', now))).toEqual(seeded(range(19, 27)));
    });
    expect(queriedBuckets(sameHour)).toEqual(everyShard(['2026-12-03T03']));
  });
});

describe('checkpoint', () => {
  it('is absent until set, then only moves forward', async () => {
    expect(await store.checkpoint()).toBeUndefined();
    await store.setCheckpoint(at('2026-12-03T10:05:00.000Z'));
    expect(await store.checkpoint()).toEqual(at('2026-12-03T10:05:00.000Z'));

    await store.setCheckpoint(at('2026-12-03T10:01:00.000Z'));
    await store.setCheckpoint(at('2026-12-03T10:05:00.000Z'));
    expect(await store.checkpoint()).toEqual(at('2026-12-03T10:05:00.000Z'));

    await store.setCheckpoint(at('2026-12-03T10:06:00.000Z'));
    expect(await store.checkpoint()).toEqual(at('2026-12-03T10:06:00.000Z'));

    await Promise.all([
      store.setCheckpoint(at('2026-12-03T10:09:00.000Z')),
      store.setCheckpoint(at('2026-12-03T10:07:00.000Z')),
      store.setCheckpoint(at('2026-12-03T10:08:00.000Z')),
    ]);
    expect(await store.checkpoint()).toEqual(at('2026-12-03T10:09:00.000Z'));
    expect(await rawItem('DETECTOR', 'CHECKPOINT')).toEqual({
      pk: 'DETECTOR',
      sk: 'CHECKPOINT',
      at: '2026-12-03T10:09:00.000Z',
    });
  });

  it('is not a clock of any order', async () => {
    await store.setCheckpoint(at('2026-12-03T10:05:00.000Z'));
    expect(await store.clocksOf('DETECTOR')).toEqual([]);
  });
});

describe('reads by key only', () => {
  it('never scanned the table in any test of this file', async () => {
    await store.clocksOf('ERP-1');
    expect(sent.some((c) => c.name === 'QueryCommand')).toBe(true);
    expect(sent.map((c) => c.name)).not.toContain('ScanCommand');
    // Every query was by key, on the table or the by-due index.
    const queries = sent.filter((c) => c.name === 'QueryCommand');
    expect(queries.every((c) => typeof c.input.KeyConditionExpression === 'string')).toBe(true);
  });
});
