import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SeededWeek, seedWeek } from '../../bench/seed-week.ts';
import { run } from '../../cli/main.ts';
import { VirtualClock } from '../../local/clock/clock.ts';
import type { LocalCloud } from '../../local/cloud.ts';
import { sampleOrders } from '../../local/demo/sample-orders.ts';
import { queueNamed, startTestCloud, type TestCloud } from '../support/test-cloud.ts';

/**
 * No operator path or detector reads a whole table. Every operator read command, the SLA detector and the
 * dead-letter intake run against a local cloud holding a few days of orders, exceptions and SLA clocks, while
 * every DynamoDB call made in the process (the CLI's and the in-process Lambda handlers') is recorded through
 * the cloud's SDK meter: none is a Scan, and every Query fixes the partition key of the table or index it
 * names. The operations of each command are printed.
 */
const clock = new VirtualClock(new Date('2026-12-03T15:00:00.000Z'));
/** The seeded week ends three hours before the cloud's now: the detector has that much catching up to do. */
const SEEDED_UNTIL = new Date(clock.now().getTime() - 3 * 3_600_000);
let world: TestCloud;
let cloud: LocalCloud;
let week: SeededWeek;

const DOCUMENT_OPERATIONS: Record<string, string> = {
  Get: 'GetItem',
  Put: 'PutItem',
  Update: 'UpdateItem',
  Delete: 'DeleteItem',
  BatchGet: 'BatchGetItem',
  BatchWrite: 'BatchWriteItem',
  TransactGet: 'TransactGetItems',
  TransactWrite: 'TransactWriteItems',
};

const PARTIQL = ['ExecuteStatement', 'BatchExecuteStatement', 'ExecuteTransaction'];

interface Operation {
  readonly operation: string;
  readonly table: string;
  readonly index?: string;
  readonly keyCondition?: string;
  readonly names?: Record<string, string>;
}
const recorded: Operation[] = [];
const byCommand = new Map<string, Operation[]>();

/** Table physical name → construct id (OrdersTable, …) and key schema (table's and each index's hash key). */
let tables: Map<string, { id: string; hashKey: string; indexHashKeys: Map<string, string> }>;

beforeAll(async () => {
  world = await startTestCloud({ clock });
  cloud = world.cloud;
  tables = new Map(
    cloud.tables.map((t) => {
      const p = cloud.model.resolvedProperties(t.resource) as {
        KeySchema: { AttributeName: string; KeyType: string }[];
        GlobalSecondaryIndexes?: {
          IndexName: string;
          KeySchema: { AttributeName: string; KeyType: string }[];
        }[];
      };
      const hash = (schema: { AttributeName: string; KeyType: string }[]) =>
        schema.find((k) => k.KeyType === 'HASH')?.AttributeName ?? '';
      return [
        t.name,
        {
          id: t.resource.logicalId.replace(/[0-9A-F]{8}$/, ''),
          hashKey: hash(p.KeySchema),
          indexHashKeys: new Map(
            (p.GlobalSecondaryIndexes ?? []).map((g) => [g.IndexName, hash(g.KeySchema)]),
          ),
        },
      ];
    }),
  );
  cloud.meter.recorder = (service, command) => {
    if (service !== 'DynamoDB') return;
    const input = (command as { input: Record<string, unknown> }).input;
    const name = command.constructor.name.replace(/Command$/, '');
    // The document client's commands are named after the wire operation without its suffix (Get, Put…).
    const operation = DOCUMENT_OPERATIONS[name] ?? name;
    const batch = (input.RequestItems ?? undefined) as Record<string, unknown> | undefined;
    const transact = (input.TransactItems ?? undefined) as
      | Record<string, { TableName?: string }>[]
      | undefined;
    const table = batch
      ? Object.keys(batch).join(',')
      : transact
        ? transact.map((t) => Object.values(t)[0]?.TableName ?? '').join(',')
        : String(input.TableName ?? '');
    recorded.push({
      operation,
      table,
      ...(input.IndexName ? { index: String(input.IndexName) } : {}),
      ...(input.KeyConditionExpression ? { keyCondition: String(input.KeyConditionExpression) } : {}),
      ...(input.ExpressionAttributeNames
        ? { names: input.ExpressionAttributeNames as Record<string, string> }
        : {}),
    });
  };
  week = await seedWeek(
    cloud.dynamodb.client,
    {
      orders: tableNamed('OrdersTable'),
      exceptions: tableNamed('ExceptionsTable'),
      slaClocks: tableNamed('SlaClocksTable'),
    },
    { orders: 400, days: 3, now: SEEDED_UNTIL },
  );
});

afterAll(async () => {
  if (cloud) cloud.meter.recorder = undefined;
  console.log(
    [...byCommand]
      .map(
        ([label, ops]) =>
          `${label}\n${
            summary(ops)
              .map((line) => `    ${line}`)
              .join('\n') || '    (no DynamoDB call)'
          }`,
      )
      .join('\n'),
  );
  await world?.stop();
});

function tableNamed(prefix: string): string {
  const table = cloud.tables.find((t) => t.resource.logicalId.startsWith(prefix));
  if (!table) throw new Error(`no table ${prefix}`);
  return table.name;
}

const describeOp = (op: Operation) =>
  `${op.operation} ${op.table
    .split(',')
    .map((name) => tables.get(name)?.id ?? name)
    .join(',')}${op.index ? `[${op.index}]` : ''}${op.keyCondition ? ` WHERE ${op.keyCondition}` : ''}`;

/** Operations grouped and counted: `3 × Query OrdersTable[byStage] WHERE …`. */
function summary(ops: readonly Operation[]): string[] {
  const counts = new Map<string, number>();
  for (const op of ops) counts.set(describeOp(op), (counts.get(describeOp(op)) ?? 0) + 1);
  return [...counts].map(([line, n]) => `${n} × ${line}`);
}

/** Runs `work` and files every DynamoDB call made meanwhile under `label`. */
async function observed<T>(label: string, work: () => Promise<T>): Promise<{ result: T; ops: Operation[] }> {
  const from = recorded.length;
  const result = await work();
  const ops = recorded.slice(from);
  byCommand.set(label, ops);
  return { result, ops };
}

async function handoff(...argv: string[]) {
  return observed(`handoff ${argv.join(' ')}`, async () => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await run(argv, {
      out: { write: (text) => out.push(text), colour: false, now: () => clock.now() },
      err: (text) => err.push(text),
    });
    return { code, out: out.join('\n'), err: err.join('\n') };
  });
}

function functionNamed(prefix: string): string {
  const fn = [...cloud.lambda.functions.values()].find((f) => f.resource.logicalId.startsWith(prefix));
  if (!fn) throw new Error(`no function ${prefix}`);
  return fn.name;
}

/** The attribute names a key condition fixes by equality (`#a = :v` or `a = :v`). */
function equalityKeys(op: Operation): string[] {
  return [...(op.keyCondition ?? '').matchAll(/([#\w]+)\s*=\s*:\w+/g)].map(
    ([, name = '']) => op.names?.[name] ?? name,
  );
}

/** Whether a Query fixes the partition key of the table or index it reads. */
function keyed(op: Operation): boolean {
  const table = tables.get(op.table);
  const hashKey = op.index ? table?.indexHashKeys.get(op.index) : table?.hashKey;
  return hashKey !== undefined && hashKey !== '' && equalityKeys(op).includes(hashKey);
}

describe('every operator read and detector reads by key or by index', () => {
  it('orders show reads the order, its clocks and its exceptions by key', async () => {
    for (const orderId of [week.examples.closedWithExceptions, week.examples.stalled]) {
      const { result, ops } = await handoff('orders', 'show', orderId);
      expect(result).toMatchObject({ code: 0, err: '' });
      expect(result.out.split('\n')[0]).toContain(orderId);
      expect(ops.map(describeOp)).toEqual(
        expect.arrayContaining([
          'GetItem OrdersTable',
          expect.stringMatching(/^Query SlaClocksTable WHERE pk = :pk/),
          expect.stringMatching(/^Query ExceptionsTable\[byOrder\] WHERE orderId = :order/),
        ]),
      );
    }
  });

  it('orders stalled reads the by-stage index, shard by shard', async () => {
    const all = await handoff('orders', 'stalled', '--older-than', '4h');
    expect(all.result.code).toBe(0);
    expect(all.result.out).toMatch(/^\d+ order\(s\) stalled for more than 4h: /);
    const holds = await handoff('orders', 'stalled', '--stage', 'credit-hold', '--older-than', '4h');
    expect(holds.result.out).toMatch(/^\d+ order\(s\) stalled for more than 4h: credit-hold \d+/);
    for (const { ops } of [all, holds]) {
      expect(ops.filter((op) => op.operation === 'Query').every((op) => op.index === 'byStage')).toBe(true);
    }
    expect(holds.ops.filter((op) => op.operation === 'Query')).toHaveLength(16);
  });

  it('exceptions list reads the by-owner index; exceptions show gets one item', async () => {
    const open = await handoff('--json', 'exceptions', 'list');
    const listed = JSON.parse(open.result.out) as { exceptionId: string }[];
    expect(listed.length).toBeGreaterThan(0);
    await handoff('exceptions', 'list', '--team', 'finance', '--state', 'resolved');
    await handoff('exceptions', 'list', '--type', 'integration-failure');
    for (const label of [...byCommand.keys()].filter((l) => l.includes('exceptions list'))) {
      const ops = byCommand.get(label) ?? [];
      expect(ops.length).toBeGreaterThan(0);
      expect(ops.every((op) => op.operation === 'Query' && op.index === 'byOwnerState')).toBe(true);
    }
    const shown = await handoff('exceptions', 'show', listed[0]?.exceptionId ?? '');
    expect(shown.result.code).toBe(0);
    expect(shown.ops.map(describeOp)).toEqual(['GetItem ExceptionsTable']);
  });

  it('dlq list reads queue attributes only', async () => {
    const { result, ops } = await handoff('dlq', 'list');
    expect(result.out).toMatch(/^DLQ\s+MESSAGES/);
    expect(ops).toEqual([]);
  });

  it('the SLA detector catches up on three hours of due clocks through the by-due index', async () => {
    const { result, ops } = await observed('SLA detector run', () =>
      cloud.lambda.invoke(functionNamed('SlaDetectorFunction'), {}),
    );
    expect((result as { examined: number }).examined).toBeGreaterThan(0);
    const queries = ops.filter((op) => op.operation === 'Query');
    expect(queries.filter((op) => op.index === 'byDueBucket').length).toBeGreaterThan(0);
    expect(queries.filter((op) => !keyed(op)).map(describeOp)).toEqual([]);
  });

  it('the dead-letter intake takes in a dead letter reading the order by key', async () => {
    const sample = sampleOrders(clock.now(), 'SCAN1')[0];
    await world.sqs.send(
      new SendMessageCommand({
        QueueUrl: queueNamed(cloud, 'ErpIngressDlq').url,
        MessageBody: JSON.stringify(sample?.body),
      }),
    );
    const { result, ops } = await observed('dead-letter intake run', () =>
      cloud.lambda.invoke(functionNamed('DeadLetterIntakeFunction'), {}),
    );
    expect(result).toMatchObject({ seen: 1, raised: [expect.stringMatching(/^EXC-DLQ-/)] });
    expect(ops.map(describeOp)).toEqual(
      expect.arrayContaining(['GetItem OrdersTable', 'PutItem ExceptionsTable']),
    );
  });

  it('no DynamoDB call in any of it was a Scan, and every Query fixed its partition key', () => {
    const observedOps = [...byCommand.values()].flat();
    expect(observedOps.length).toBeGreaterThan(20);
    expect(recorded.filter((op) => op.operation === 'Scan').map(describeOp)).toEqual([]);
    // PartiQL is not used: a SELECT without a key would be a scan that the Query checks below cannot see.
    expect(recorded.filter((op) => PARTIQL.includes(op.operation)).map(describeOp)).toEqual([]);
    const unkeyed = recorded.filter((op) => op.operation === 'Query' && !keyed(op)).map(describeOp);
    expect(unkeyed).toEqual([]);
  });
});
