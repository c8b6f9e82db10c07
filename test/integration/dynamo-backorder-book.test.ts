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
  DynamoBackorderBook,
  OPEN_AGE_SHARDS,
  openShardOf,
  RECEIPT_PLAN_TTL_DAYS,
} from '../../lambdas/adapters/aws/dynamo-backorder-book.ts';
import { type BackorderLine, createBackorderLines } from '../../lambdas/core/backorder.ts';
import type { BackorderRecord, ReceiptPlan } from '../../lambdas/ports/index.ts';
import { BackorderNotFound } from '../../lambdas/use-cases/backorder-reevaluation.ts';
import { buildApp } from '../../lib/app.ts';
import { type DynamoDbLocal, startDynamoDbLocal } from '../../local/dynamodb/dynamodb-local.ts';
import { createTableInput } from '../../local/dynamodb/tables.ts';

interface TemplateTable {
  readonly Type: string;
  readonly Properties: Record<string, unknown>;
}

/** The properties of the BackordersTable this test checks before relying on them. */
interface BackordersTableProperties {
  readonly GlobalSecondaryIndexes?: readonly { IndexName: string }[];
  readonly TimeToLiveSpecification?: { AttributeName?: string; Enabled?: boolean };
}

let ddb: DynamoDbLocal;
let backordersTable: { logicalId: string; table: TemplateTable };
let tableName = '';
let tableCount = 0;
let book: DynamoBackorderBook;

/** A fresh table per test, created from the synthesized template's BackordersTable. */
async function createBackordersTable(): Promise<string> {
  tableCount += 1;
  const name = `test-backorders-${tableCount}`;
  const { logicalId, table } = backordersTable;
  const input: CreateTableCommandInput = createTableInput(
    name,
    { stack: 'test', logicalId, type: table.Type, properties: table.Properties, metadata: {} },
    table.Properties as unknown as Parameters<typeof createTableInput>[2],
  );
  await ddb.client.send(new CreateTableCommand(input));
  const ttl = (table.Properties as BackordersTableProperties).TimeToLiveSpecification?.AttributeName;
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
  const { stateful } = buildApp(new App({ context: { 'aws:cdk:bundling-stacks': [] } }));
  const resources = Template.fromStack(stateful).findResources('AWS::DynamoDB::GlobalTable');
  const found = Object.entries(resources).find(([logicalId]) => logicalId.startsWith('BackordersTable'));
  if (!found) throw new Error('no BackordersTable in the stateful template');
  backordersTable = { logicalId: found[0], table: found[1] as TemplateTable };
});

afterAll(async () => {
  await ddb?.stop();
});

beforeEach(async () => {
  tableName = await createBackordersTable();
  book = new DynamoBackorderBook(ddb.client, tableName);
});

function line(overrides: Partial<BackorderLine> & { orderId?: string; lineNo?: number } = {}): BackorderLine {
  const orderId = overrides.orderId ?? 'SO-1';
  const lineNo = overrides.lineNo ?? 1;
  return {
    backorderId: `${orderId}-BO-${lineNo}`,
    orderId,
    lineNo,
    sku: 'SKU-A',
    quantity: 5,
    createdAt: '2026-03-01T09:00:00.000Z',
    status: 'open',
    cancelAfter: '2026-03-31T09:00:00.000Z',
    ...overrides,
  };
}

function claim(receiptId: string, quantity: number, claimedAt = '2026-03-05T10:00:00.000Z') {
  return { receiptId, siteId: 'DC-EAST', quantity, claimedAt };
}

/** The stored item as DynamoDB holds it, storage attributes included. */
async function rawItem(pk: string, sk = 'BACKORDER'): Promise<Record<string, unknown> | undefined> {
  const { Item } = await ddb.client.send(
    new GetItemCommand({ TableName: tableName, Key: marshall({ pk, sk }), ConsistentRead: true }),
  );
  return Item ? unmarshall(Item) : undefined;
}

async function stored(backorderId: string): Promise<BackorderRecord> {
  const record = await book.get(backorderId);
  if (!record) throw new Error(`no backorder ${backorderId}`);
  return record;
}

const ids = (records: readonly BackorderRecord[]) => records.map((b) => b.backorderId);

function plan(receiptId: string, evaluatedAt: string, overrides: Partial<ReceiptPlan> = {}): ReceiptPlan {
  return {
    receiptId,
    sku: 'SKU-A',
    siteId: 'DC-EAST',
    quantity: 8,
    evaluatedAt,
    fills: [
      {
        backorderId: 'SO-1-BO-1',
        orderId: 'SO-1',
        lineNo: 1,
        sku: 'SKU-A',
        siteId: 'DC-EAST',
        quantity: 5,
        complete: true,
        remaining: 0,
      },
    ],
    stillOpen: ['SO-2-BO-1'],
    reasonCodes: { 'SO-1-BO-1': ['FILLED_COMPLETE'], 'SO-2-BO-1': ['NO_STOCK_AVAILABLE'] },
    skipped: { 'SO-3-BO-1': 'ORDER_STAGE:exception' },
    ...overrides,
  };
}

describe('the BackordersTable of the synthesized template', () => {
  it('declares the three indexes and the plans TTL the adapter relies on', () => {
    const Properties = backordersTable.table.Properties as BackordersTableProperties;
    expect((Properties.GlobalSecondaryIndexes ?? []).map((g) => g.IndexName).sort()).toEqual([
      'byOrder',
      'openByAge',
      'openBySku',
    ]);
    expect(Properties.TimeToLiveSpecification?.AttributeName).toBe('expiresAt');
  });
});

describe('createIfAbsent and get', () => {
  it('creates each backorder once and answers the ids it created', async () => {
    const lines = createBackorderLines({
      orderId: 'SO-1',
      shortLines: [
        { lineNo: 2, sku: 'SKU-B', shortBy: 3 },
        { lineNo: 1, sku: 'SKU-A', shortBy: 5 },
      ],
      createdAt: '2026-03-01T09:00:00Z',
      rule: { maxAgeDays: 30, onAged: 'cancel', allowPartialFill: true },
    });
    expect(await book.createIfAbsent(lines)).toEqual(['SO-1-BO-1', 'SO-1-BO-2']);
    expect(await book.createIfAbsent(lines)).toEqual([]);

    // A redelivery with a new line creates only that one and overwrites nothing.
    const third = line({ lineNo: 3, sku: 'SKU-C', quantity: 7 });
    const changed = { ...(lines[0] as BackorderLine), quantity: 99 };
    expect(await book.createIfAbsent([changed, third])).toEqual(['SO-1-BO-3']);

    expect(await book.get('SO-1-BO-1')).toStrictEqual({
      ...lines[0],
      originalQuantity: 5,
      fills: [],
      reasonCodes: [],
    });
    expect(await book.get('SO-1-BO-3')).toStrictEqual({
      ...third,
      originalQuantity: 7,
      fills: [],
      reasonCodes: [],
    });
    expect(await book.get('SO-9-BO-1')).toBeUndefined();
  });

  it('puts an open backorder on the sparse open indexes', async () => {
    await book.createIfAbsent([line()]);
    expect(await rawItem('SO-1-BO-1')).toMatchObject({
      pk: 'SO-1-BO-1',
      sk: 'BACKORDER',
      openSku: 'SKU-A',
      openShard: openShardOf('SO-1-BO-1'),
    });
    expect(openShardOf('SO-1-BO-1')).toMatch(/^OPEN#[0-3]$/);
  });

  it('creates a line listed twice in one call once', async () => {
    expect(await book.createIfAbsent([line(), line()])).toEqual(['SO-1-BO-1']);
  });
});

describe('listOpenBySku', () => {
  it('answers the open backorders of the sku, oldest first, not filled or cancelled ones', async () => {
    await book.createIfAbsent([
      line({ orderId: 'SO-1', createdAt: '2026-03-03T09:00:00.000Z' }),
      line({ orderId: 'SO-2', createdAt: '2026-03-01T09:00:00.000Z' }),
      line({ orderId: 'SO-3', createdAt: '2026-03-02T09:00:00.000Z' }),
      line({ orderId: 'SO-4', createdAt: '2026-02-28T09:00:00.000Z' }),
      line({ orderId: 'SO-5', createdAt: '2026-02-27T09:00:00.000Z', sku: 'SKU-B' }),
      line({ orderId: 'SO-6', createdAt: '2026-03-04T09:00:00.000Z', quantity: 4 }),
    ]);
    await book.claimFill('SO-3-BO-1', claim('R-1', 5)); // filled
    await book.cancel('SO-4-BO-1', { cancelledAt: '2026-03-05T00:00:00.000Z', reasonCodes: ['X'] });
    await book.claimFill('SO-6-BO-1', claim('R-1', 1)); // partly filled: still open

    const open = await book.listOpenBySku('SKU-A');
    expect(ids(open)).toEqual(['SO-2-BO-1', 'SO-1-BO-1', 'SO-6-BO-1']);
    expect(open[2]).toMatchObject({ quantity: 3, status: 'open' });
    expect(ids(await book.listOpenBySku('SKU-B'))).toEqual(['SO-5-BO-1']);
    expect(await book.listOpenBySku('SKU-NONE')).toEqual([]);
  });

  it('pages through more backorders than one BatchGetItem call reads', async () => {
    const many = Array.from({ length: 130 }, (_, i) =>
      line({
        orderId: `SO-${String(i).padStart(3, '0')}`,
        createdAt: new Date(Date.UTC(2026, 2, 1) + i * 60_000).toISOString(),
      }),
    );
    expect(await book.createIfAbsent(many)).toHaveLength(130);
    expect(ids(await book.listOpenBySku('SKU-A'))).toEqual(many.map((b) => b.backorderId));
  });
});

describe('listOpenAgedBy', () => {
  it('answers open backorders aged by the instant, across every shard, by cancelAfter', async () => {
    const T = '2026-04-01T00:00:00.500Z';
    const aged = (orderId: string, cancelAfter: string, sku = 'SKU-A') => line({ orderId, cancelAfter, sku });
    const lines = [
      aged('A-01', '2026-03-01T00:00:00.000Z'),
      aged('A-02', '2026-03-02T00:00:00.000Z', 'SKU-B'),
      aged('A-03', '2026-03-03T00:00:00.000Z', 'SKU-C'),
      aged('A-04', '2026-03-04T00:00:00.000Z'),
      aged('A-05', '2026-03-05T00:00:00.000Z'),
      aged('A-06', '2026-03-06T00:00:00.000Z'),
      aged('A-07', '2026-03-07T00:00:00.000Z'),
      aged('A-08', '2026-03-08T00:00:00.000Z'),
      // Exactly at the instant (inclusive), and written without fractional seconds.
      aged('A-09', T),
      aged('A-10', '2026-04-01T00:00:00Z'),
      // Not aged yet: a millisecond after the instant, and later.
      aged('N-01', '2026-04-01T00:00:00.501Z'),
      aged('N-02', '2026-04-02T00:00:00.000Z'),
      // Aged but no longer open.
      aged('C-01', '2026-03-01T12:00:00.000Z'),
      aged('F-01', '2026-03-01T13:00:00.000Z'),
    ];
    await book.createIfAbsent(lines);
    await book.cancel('C-01-BO-1', { cancelledAt: '2026-03-20T00:00:00.000Z', reasonCodes: ['X'] });
    await book.claimFill('F-01-BO-1', claim('R-1', 5));

    const expected = [
      'A-01-BO-1',
      'A-02-BO-1',
      'A-03-BO-1',
      'A-04-BO-1',
      'A-05-BO-1',
      'A-06-BO-1',
      'A-07-BO-1',
      'A-08-BO-1',
      'A-10-BO-1',
      'A-09-BO-1',
    ];
    // The test only proves the shards are all read when the aged backorders sit on several of them.
    expect(new Set(expected.map(openShardOf)).size).toBeGreaterThanOrEqual(OPEN_AGE_SHARDS - 1);
    expect(ids(await book.listOpenAgedBy(T))).toEqual(expected);
    // The same instant written with an offset.
    expect(ids(await book.listOpenAgedBy('2026-04-01T02:00:00.500+02:00'))).toEqual(expected);
    expect(await book.listOpenAgedBy('2026-02-01T00:00:00.000Z')).toEqual([]);
    expect(ids(await book.listOpenAgedBy('2026-05-01T00:00:00.000Z'))).toEqual([
      ...expected,
      'N-01-BO-1',
      'N-02-BO-1',
    ]);
  });
});

describe('listForOrder', () => {
  it('answers every backorder of the order, whatever its status, by line', async () => {
    await book.createIfAbsent([
      line({ orderId: 'SO-1', lineNo: 10, sku: 'SKU-C' }),
      line({ orderId: 'SO-1', lineNo: 2, sku: 'SKU-B' }),
      line({ orderId: 'SO-1', lineNo: 1 }),
      line({ orderId: 'SO-2', lineNo: 1 }),
    ]);
    await book.claimFill('SO-1-BO-1', claim('R-1', 5));
    await book.cancel('SO-1-BO-2', { cancelledAt: '2026-03-05T00:00:00.000Z', reasonCodes: ['X'] });
    await book.savePlanIfAbsent(plan('R-1', '2026-03-05T10:00:00.000Z'));

    // A fresh instance reads only through the byOrder index.
    const reader = new DynamoBackorderBook(ddb.client, tableName);
    const all = await reader.listForOrder('SO-1');
    expect(ids(all)).toEqual(['SO-1-BO-1', 'SO-1-BO-2', 'SO-1-BO-10']);
    expect(all.map((b) => b.status)).toEqual(['filled', 'cancelled', 'open']);
    expect(ids(await book.listForOrder('SO-1'))).toEqual(['SO-1-BO-1', 'SO-1-BO-2', 'SO-1-BO-10']);
    expect(ids(await reader.listForOrder('SO-2'))).toEqual(['SO-2-BO-1']);
    expect(await reader.listForOrder('SO-9')).toEqual([]);
  });
});

describe('receipt plans', () => {
  it('keeps the first plan stored for a receipt, for 30 days', async () => {
    expect(await book.findPlan('R-1')).toBeUndefined();
    const first = plan('R-1', '2026-03-05T10:00:00.000Z');
    expect(await book.savePlanIfAbsent(first)).toEqual({ plan: first, stored: true });

    const second = plan('R-1', '2026-03-05T10:05:00.000Z', { fills: [], stillOpen: [] });
    expect(await book.savePlanIfAbsent(second)).toStrictEqual({ plan: first, stored: false });
    expect(await book.findPlan('R-1')).toStrictEqual(first);

    const raw = await rawItem('RECEIPT#R-1', 'PLAN');
    expect(raw?.expiresAt).toBe(Date.parse(first.evaluatedAt) / 1000 + RECEIPT_PLAN_TTL_DAYS * 86_400);
    expect(await book.findPlan('R-2')).toBeUndefined();
  });

  it('lets exactly one of two concurrent writers store its plan, and tells each which', async () => {
    // The same instant, as two deliveries of a receipt evaluated at once on a frozen clock.
    const a = plan('R-1', '2026-03-05T10:00:00.000Z');
    const b = plan('R-1', '2026-03-05T10:00:00.000Z', { quantity: 3 });
    const [savedA, savedB] = await Promise.all([book.savePlanIfAbsent(a), book.savePlanIfAbsent(b)]);
    expect(savedA.plan).toStrictEqual(savedB.plan);
    expect([savedA.stored, savedB.stored].sort()).toEqual([false, true]);
    expect(await book.findPlan('R-1')).toStrictEqual(savedA.plan);
  });
});

describe('claimFill', () => {
  it('takes a partial claim and leaves the backorder open', async () => {
    await book.createIfAbsent([line()]);
    const result = await book.claimFill('SO-1-BO-1', claim('R-1', 2));
    expect(result.claimed).toBe(true);
    expect(result.backorder).toStrictEqual({
      ...line(),
      quantity: 3,
      originalQuantity: 5,
      fills: [{ ...claim('R-1', 2), status: 'claimed' }],
      reasonCodes: [],
    });
    expect(await book.get('SO-1-BO-1')).toStrictEqual(result.backorder);
    expect(ids(await book.listOpenBySku('SKU-A'))).toEqual(['SO-1-BO-1']);
  });

  it('fills the backorder when nothing is left, taking it off the open indexes', async () => {
    await book.createIfAbsent([line()]);
    await book.claimFill('SO-1-BO-1', claim('R-1', 2));
    const result = await book.claimFill('SO-1-BO-1', claim('R-2', 3, '2026-03-06T10:00:00.000Z'));
    expect(result.claimed).toBe(true);
    expect(result.backorder).toMatchObject({ quantity: 0, status: 'filled', originalQuantity: 5 });
    expect(result.backorder.fills.map((f) => f.receiptId)).toEqual(['R-1', 'R-2']);

    const raw = await rawItem('SO-1-BO-1');
    expect(raw).not.toHaveProperty('openSku');
    expect(raw).not.toHaveProperty('openShard');
    expect(await book.listOpenBySku('SKU-A')).toEqual([]);
    expect(await book.listOpenAgedBy('2026-12-31T00:00:00.000Z')).toEqual([]);
    expect(ids(await book.listForOrder('SO-1'))).toEqual(['SO-1-BO-1']);
  });

  it('refuses a claim on a backorder that is not open, with the current record', async () => {
    await book.createIfAbsent([line({ orderId: 'SO-1' }), line({ orderId: 'SO-2' })]);
    await book.claimFill('SO-1-BO-1', claim('R-1', 5));
    await book.cancel('SO-2-BO-1', { cancelledAt: '2026-03-05T00:00:00.000Z', reasonCodes: ['X'] });

    for (const backorderId of ['SO-1-BO-1', 'SO-2-BO-1']) {
      const before = await stored(backorderId);
      const result = await book.claimFill(backorderId, claim('R-9', 1));
      expect(result).toStrictEqual({ claimed: false, backorder: before });
      expect(await book.get(backorderId)).toStrictEqual(before);
    }
  });

  it('refuses a second claim for the same receipt', async () => {
    await book.createIfAbsent([line()]);
    await book.claimFill('SO-1-BO-1', claim('R-1', 2));
    const before = await stored('SO-1-BO-1');
    const result = await book.claimFill('SO-1-BO-1', claim('R-1', 1, '2026-03-05T11:00:00.000Z'));
    expect(result).toStrictEqual({ claimed: false, backorder: before });
    expect(await book.get('SO-1-BO-1')).toStrictEqual(before);

    // Reserved, the receipt's fill still blocks a new claim.
    await book.confirmFill('SO-1-BO-1', 'R-1', {
      reservationId: 'RSV-1',
      reservedAt: '2026-03-05T10:01:00Z',
    });
    expect((await book.claimFill('SO-1-BO-1', claim('R-1', 1))).claimed).toBe(false);
  });

  it('refuses a claim for more than is outstanding', async () => {
    await book.createIfAbsent([line({ quantity: 3 })]);
    const before = await stored('SO-1-BO-1');
    expect(await book.claimFill('SO-1-BO-1', claim('R-1', 4))).toStrictEqual({
      claimed: false,
      backorder: before,
    });
    expect(await book.get('SO-1-BO-1')).toStrictEqual(before);
  });

  it('fails with BackorderNotFound for an unknown backorder', async () => {
    await expect(book.claimFill('SO-9-BO-1', claim('R-1', 1))).rejects.toBeInstanceOf(BackorderNotFound);
  });

  it('lets exactly one of two concurrent claims for the last units win', async () => {
    await book.createIfAbsent([line({ quantity: 4 })]);
    await book.claimFill('SO-1-BO-1', claim('R-0', 1));
    const results = await Promise.all([
      book.claimFill('SO-1-BO-1', claim('R-1', 3)),
      new DynamoBackorderBook(ddb.client, tableName).claimFill('SO-1-BO-1', claim('R-2', 3)),
    ]);
    expect(results.filter((r) => r.claimed)).toHaveLength(1);
    const loser = results.find((r) => !r.claimed);
    expect(loser?.backorder).toMatchObject({ status: 'filled', quantity: 0 });

    const final = await stored('SO-1-BO-1');
    expect(final).toMatchObject({ status: 'filled', quantity: 0 });
    expect(final.fills).toHaveLength(2);
    expect(final.fills.reduce((sum, f) => sum + f.quantity, 0)).toBe(4);
  });

  it('never hands out more than is outstanding under many concurrent claims', async () => {
    await book.createIfAbsent([line({ quantity: 5 })]);
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        new DynamoBackorderBook(ddb.client, tableName).claimFill('SO-1-BO-1', claim(`R-${i}`, 2)),
      ),
    );
    expect(results.filter((r) => r.claimed)).toHaveLength(2);
    expect(await stored('SO-1-BO-1')).toMatchObject({ status: 'open', quantity: 1 });
  });

  it('completes a backorder when two concurrent partial claims add up to what is outstanding', async () => {
    await book.createIfAbsent([line({ quantity: 5 })]);
    const results = await Promise.all([
      book.claimFill('SO-1-BO-1', claim('R-1', 2)),
      new DynamoBackorderBook(ddb.client, tableName).claimFill('SO-1-BO-1', claim('R-2', 3)),
    ]);
    expect(results.map((r) => r.claimed)).toEqual([true, true]);
    expect(await stored('SO-1-BO-1')).toMatchObject({ status: 'filled', quantity: 0 });
    expect(await book.listOpenBySku('SKU-A')).toEqual([]);
  });

  it('lets one of two concurrent claims for the same receipt win', async () => {
    await book.createIfAbsent([line({ quantity: 5 })]);
    const results = await Promise.all([
      book.claimFill('SO-1-BO-1', claim('R-1', 2)),
      new DynamoBackorderBook(ddb.client, tableName).claimFill('SO-1-BO-1', claim('R-1', 2)),
    ]);
    expect(results.filter((r) => r.claimed)).toHaveLength(1);
    expect(await stored('SO-1-BO-1')).toMatchObject({ status: 'open', quantity: 3 });
  });
});

describe('confirmFill', () => {
  it('marks the claim reserved once and clears the reasons', async () => {
    await book.createIfAbsent([line()]);
    await book.claimFill('SO-1-BO-1', claim('R-1', 2));
    await book.releaseClaim('SO-1-BO-1', 'R-1', ['INSUFFICIENT_STOCK_AT_RESERVE']);
    await book.claimFill('SO-1-BO-1', claim('R-1', 2));

    const confirmed = await book.confirmFill('SO-1-BO-1', 'R-1', {
      reservationId: 'RSV-1',
      reservedAt: '2026-03-05T10:01:00.000Z',
    });
    expect(confirmed.fills).toStrictEqual([
      {
        ...claim('R-1', 2),
        status: 'reserved',
        reservationId: 'RSV-1',
        reservedAt: '2026-03-05T10:01:00.000Z',
      },
    ]);
    expect(confirmed.reasonCodes).toEqual([]);
    expect(await book.get('SO-1-BO-1')).toStrictEqual(confirmed);

    const again = await book.confirmFill('SO-1-BO-1', 'R-1', {
      reservationId: 'RSV-2',
      reservedAt: '2026-03-05T10:09:00.000Z',
    });
    expect(again).toStrictEqual(confirmed);
    expect(
      await book.confirmFill('SO-1-BO-1', 'R-none', { reservationId: 'RSV-3', reservedAt: 'x' }),
    ).toStrictEqual(confirmed);
  });

  it('confirms the receipt’s claim among several fills', async () => {
    await book.createIfAbsent([line()]);
    await book.claimFill('SO-1-BO-1', claim('R-1', 1));
    await book.claimFill('SO-1-BO-1', claim('R-2', 2));
    const confirmed = await book.confirmFill('SO-1-BO-1', 'R-2', { reservationId: 'RSV-2', reservedAt: 't' });
    expect(confirmed.fills.map((f) => [f.receiptId, f.status])).toEqual([
      ['R-1', 'claimed'],
      ['R-2', 'reserved'],
    ]);
  });

  it('fails with BackorderNotFound for an unknown backorder', async () => {
    await expect(
      book.confirmFill('SO-9-BO-1', 'R-1', { reservationId: 'RSV-1', reservedAt: 't' }),
    ).rejects.toBeInstanceOf(BackorderNotFound);
  });
});

describe('releaseClaim', () => {
  it('gives the claimed units back and reopens the backorder on the open indexes', async () => {
    await book.createIfAbsent([line()]);
    await book.claimFill('SO-1-BO-1', claim('R-1', 2));
    await book.confirmFill('SO-1-BO-1', 'R-1', { reservationId: 'RSV-1', reservedAt: 't' });
    await book.claimFill('SO-1-BO-1', claim('R-2', 3));
    expect(await book.listOpenBySku('SKU-A')).toEqual([]);

    const released = await book.releaseClaim('SO-1-BO-1', 'R-2', ['INSUFFICIENT_STOCK_AT_RESERVE']);
    expect(released).toMatchObject({
      quantity: 3,
      status: 'open',
      reasonCodes: ['INSUFFICIENT_STOCK_AT_RESERVE'],
    });
    expect(released.fills.map((f) => f.receiptId)).toEqual(['R-1']);
    expect(await book.get('SO-1-BO-1')).toStrictEqual(released);
    expect(await rawItem('SO-1-BO-1')).toMatchObject({
      openSku: 'SKU-A',
      openShard: openShardOf('SO-1-BO-1'),
    });
    expect(await book.listOpenBySku('SKU-A')).toStrictEqual([released]);
    expect(await book.listOpenAgedBy('2026-12-31T00:00:00.000Z')).toStrictEqual([released]);

    // Nothing claimed for the receipt any more: unchanged. A reserved fill is never released.
    expect(await book.releaseClaim('SO-1-BO-1', 'R-2', ['OTHER'])).toStrictEqual(released);
    expect(await book.releaseClaim('SO-1-BO-1', 'R-1', ['OTHER'])).toStrictEqual(released);

    // The receipt may claim again once its claim is gone.
    const reclaimed = await book.claimFill('SO-1-BO-1', claim('R-2', 3));
    expect(reclaimed.claimed).toBe(true);
    expect(reclaimed.backorder).toMatchObject({ status: 'filled', quantity: 0 });
  });

  it('fails with BackorderNotFound for an unknown backorder', async () => {
    await expect(book.releaseClaim('SO-9-BO-1', 'R-1', [])).rejects.toBeInstanceOf(BackorderNotFound);
  });
});

describe('cancel', () => {
  it('cancels an open or filled backorder once, with when and why', async () => {
    await book.createIfAbsent([line({ orderId: 'SO-1' }), line({ orderId: 'SO-2' })]);
    await book.claimFill('SO-2-BO-1', claim('R-1', 5));
    await book.confirmFill('SO-2-BO-1', 'R-1', { reservationId: 'RSV-1', reservedAt: 't' });

    for (const backorderId of ['SO-1-BO-1', 'SO-2-BO-1']) {
      const before = await stored(backorderId);
      await book.cancel(backorderId, {
        cancelledAt: '2026-04-01T00:00:00.000Z',
        reasonCodes: ['BACKORDER_AGED_OUT'],
      });
      const cancelled = await stored(backorderId);
      expect(cancelled).toStrictEqual({
        ...before,
        status: 'cancelled',
        cancelledAt: '2026-04-01T00:00:00.000Z',
        reasonCodes: ['BACKORDER_AGED_OUT'],
      });
      await book.cancel(backorderId, { cancelledAt: '2026-04-02T00:00:00.000Z', reasonCodes: ['LATER'] });
      expect(await book.get(backorderId)).toStrictEqual(cancelled);
      const raw = await rawItem(backorderId);
      expect(raw).not.toHaveProperty('openSku');
      expect(raw).not.toHaveProperty('openShard');
    }
    expect(await book.listOpenBySku('SKU-A')).toEqual([]);
    expect(await book.listOpenAgedBy('2026-12-31T00:00:00.000Z')).toEqual([]);
  });

  it('fails with BackorderNotFound for an unknown backorder', async () => {
    await expect(book.cancel('SO-9-BO-1', { cancelledAt: 't', reasonCodes: [] })).rejects.toBeInstanceOf(
      BackorderNotFound,
    );
  });
});

describe('markNotified', () => {
  it('sets notifiedAt once: true the first time, false after', async () => {
    await book.createIfAbsent([line()]);
    expect(await book.markNotified('SO-1-BO-1', '2026-04-01T00:00:00.000Z')).toBe(true);
    expect(await book.markNotified('SO-1-BO-1', '2026-04-02T00:00:00.000Z')).toBe(false);
    expect(await stored('SO-1-BO-1')).toMatchObject({
      status: 'open',
      notifiedAt: '2026-04-01T00:00:00.000Z',
    });
    const [a, b] = await Promise.all([
      book.markNotified('SO-1-BO-1', '2026-04-03T00:00:00.000Z'),
      book.markNotified('SO-1-BO-1', '2026-04-03T00:00:00.000Z'),
    ]);
    expect([a, b]).toEqual([false, false]);
  });

  it('lets one of two concurrent notifications win', async () => {
    await book.createIfAbsent([line()]);
    const results = await Promise.all([
      book.markNotified('SO-1-BO-1', '2026-04-01T00:00:00.000Z'),
      book.markNotified('SO-1-BO-1', '2026-04-01T00:00:01.000Z'),
    ]);
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('fails with BackorderNotFound for an unknown backorder', async () => {
    await expect(book.markNotified('SO-9-BO-1', 't')).rejects.toBeInstanceOf(BackorderNotFound);
  });
});
