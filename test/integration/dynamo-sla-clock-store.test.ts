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
    return send(command as unknown as Parameters<typeof send>[0]);
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

const keys = (clocks: readonly StoredClock[]) =>
  clocks.map((s) => `${s.clock.orderId}:${s.clock.stage}#${s.clock.instance}`).sort();

/** The commands sent while `run` ran. */
async function commandsOf(run: () => Promise<unknown>): Promise<typeof sent> {
  const from = sent.length;
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

  it('buckets a clock by its due minute and a shard of its order and clock', async () => {
    const now = at('2026-12-03T10:00:00.000Z');
    await store.save(clock(), { outbox: [], dueAt: at('2026-12-03T10:45:59.999Z') }, 0, now);
    const item = await rawItem('ORDER#ERP-1', 'CLOCK#credit-to-allocation#');
    expect(item?.dueBucket).toMatch(/^2026-12-03T10:45#[0-3]$/);
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
  const written = at('2026-12-03T10:00:00.000Z');
  const now = '2026-12-03T10:05:30.000Z';

  /** Clocks due at various times over many orders (so over every shard), written at 10:00. */
  async function seed(): Promise<{ dueByNow: string[]; later: string[]; never: string[] }> {
    const plan: [string, string | undefined][] = [
      ['2026-12-03T10:00:00.000Z', 'due'],
      ['2026-12-03T10:01:10.000Z', 'due'],
      ['2026-12-03T10:02:00.000Z', 'due'],
      ['2026-12-03T10:03:59.999Z', 'due'],
      ['2026-12-03T10:04:30.000Z', 'due'],
      ['2026-12-03T10:05:10.000Z', 'due'],
      ['2026-12-03T10:05:30.000Z', 'due'],
      ['2026-12-03T10:05:30.001Z', 'later'],
      ['2026-12-03T10:05:45.000Z', 'later'],
      ['2026-12-03T10:06:00.000Z', 'later'],
      ['2026-12-03T11:00:00.000Z', 'later'],
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

  it('returns exactly the clocks due by now, across several minutes and every shard', async () => {
    const { dueByNow } = await seed();
    let found: StoredClock[] = [];
    const reads = await commandsOf(async () => {
      found = await due('2026-12-03T10:00:00.000Z', now);
    });
    expect(keys(found)).toEqual([...dueByNow].sort());
    expect(found.every((s) => s.version === 1 && s.outbox.length === 0)).toBe(true);

    // The due clocks sit in several minutes and every shard; they were read by key, bucket by bucket.
    const buckets = new Set(
      await Promise.all(
        found.map(
          async (s) => (await rawItem(`ORDER#${s.clock.orderId}`, 'CLOCK#credit-to-allocation#'))?.dueBucket,
        ),
      ),
    );
    expect(new Set([...buckets].map((b) => String(b).slice(0, 16))).size).toBe(6);
    expect(new Set([...buckets].map((b) => String(b).slice(17))).size).toBe(SLA_DUE_SHARDS);
    expect(reads.map((c) => c.name)).toEqual(Array(6 * SLA_DUE_SHARDS).fill('QueryCommand'));
    expect(new Set(reads.map((c) => c.input.IndexName))).toEqual(new Set([SLA_DUE_INDEX]));
    const queried = reads.map((c) => unmarshall(c.input.ExpressionAttributeValues as never)[':bucket']);
    expect(new Set(queried).size).toBe(6 * SLA_DUE_SHARDS);
  });

  it('reads only the buckets from since, and clocks due later in now’s minute are not due yet', async () => {
    const { dueByNow } = await seed();
    const fromTwo = keys(await due('2026-12-03T10:02:40.000Z', now));
    // 10:00 and 10:01 buckets are not read; 10:02 is, from its start.
    expect(fromTwo).toEqual([...dueByNow].sort().filter((k) => !/^ERP-(1|2|3|4|5|6)[ABC]:/.test(k)));
    expect(fromTwo).toHaveLength(15);
    expect(await due('2026-12-03T10:06:00.000Z', now)).toEqual([]);
    // At 10:06 the rest of 10:05 and the 10:06:00 clocks are due too.
    expect(keys(await due('2026-12-03T10:05:00.000Z', '2026-12-03T10:06:00.000Z'))).toHaveLength(15);
  });

  it('takes a clock out of the index when it is saved without a dueAt, and moves it when dueAt moves', async () => {
    await store.save(
      clock({ orderId: 'ERP-X' }),
      { outbox: [], dueAt: at('2026-12-03T10:02:00.000Z') },
      0,
      written,
    );
    await store.save(
      clock({ orderId: 'ERP-Y' }),
      { outbox: [], dueAt: at('2026-12-03T10:03:00.000Z') },
      0,
      written,
    );
    expect(keys(await due('2026-12-03T10:00:00.000Z', now))).toEqual([
      'ERP-X:credit-to-allocation#',
      'ERP-Y:credit-to-allocation#',
    ]);

    await store.save(
      clock({ orderId: 'ERP-X', stoppedAt: '2026-12-03T10:01:00.000Z' }),
      { outbox: [] },
      1,
      written,
    );
    const item = await rawItem('ORDER#ERP-X', 'CLOCK#credit-to-allocation#');
    expect(item).not.toHaveProperty('dueAt');
    expect(item).not.toHaveProperty('dueBucket');
    await store.save(
      clock({ orderId: 'ERP-Y' }),
      { outbox: [], dueAt: at('2026-12-03T10:30:00.000Z') },
      1,
      written,
    );

    expect(await due('2026-12-03T10:00:00.000Z', now)).toEqual([]);
    expect(keys(await due('2026-12-03T10:00:00.000Z', '2026-12-03T10:30:00.000Z'))).toEqual([
      'ERP-Y:credit-to-allocation#',
    ]);
  });

  it('buckets a dueAt already past at now’s minute, never an earlier one', async () => {
    const savedAt = at(now);
    const stored = await store.save(
      clock({ jeopardyRaisedAt: '2026-12-03T10:05:00.000Z' }),
      { outbox: ['jeopardy'], dueAt: at('2026-12-03T09:00:00.000Z') },
      0,
      savedAt,
    );
    const item = await rawItem('ORDER#ERP-1', 'CLOCK#credit-to-allocation#');
    expect(item?.dueAt).toBe('2026-12-03T09:00:00.000Z');
    expect(item?.dueBucket).toMatch(/^2026-12-03T10:05#[0-3]$/);

    // The detector has passed 09:00: it finds the clock in the bucket of the minute it was written.
    expect(await due('2026-12-03T10:05:00.000Z', now)).toEqual([stored]);
    expect(await due('2026-12-03T08:59:00.000Z', '2026-12-03T10:04:59.999Z')).toEqual([]);
  });

  it('looks back at most 24 hours', async () => {
    const nowAt = '2026-12-04T12:00:00.000Z';
    const old = '2026-12-03T11:58:00.000Z';
    const recent = '2026-12-03T12:00:00.000Z';
    await store.save(clock({ orderId: 'ERP-OLD' }), { outbox: [], dueAt: at(old) }, 0, at(old));
    await store.save(clock({ orderId: 'ERP-RECENT' }), { outbox: [], dueAt: at(recent) }, 0, at(recent));
    let found: StoredClock[] = [];
    const reads = await commandsOf(async () => {
      found = await due('1970-01-01T00:00:00.000Z', nowAt);
    });
    expect(keys(found)).toEqual(['ERP-RECENT:credit-to-allocation#']);
    expect(reads).toHaveLength((24 * 60 + 1) * SLA_DUE_SHARDS);
    expect(reads.every((c) => c.name === 'QueryCommand')).toBe(true);
  });

  it('returns nothing when since is after now', async () => {
    await seed();
    expect(await due('2026-12-03T10:10:00.000Z', now)).toEqual([]);
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
