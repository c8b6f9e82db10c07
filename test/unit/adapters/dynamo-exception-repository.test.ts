import { randomBytes } from 'node:crypto';
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  DynamoExceptionRepository,
  MAX_EXCEPTION_RECORD_BYTES,
  payloadPartKey,
} from '../../../lambdas/adapters/aws/dynamo-exception-repository.ts';
import type { OwnedException } from '../../../lambdas/ports/index.ts';

/**
 * The exception table's item limit (400 KB): a rejected message of up to 1 MiB (SQS's limit) is kept whole,
 * beside its exception, and read back byte for byte.
 */
const DYNAMODB_ITEM_LIMIT = 400 * 1024;

/** PutItem (with attribute_not_exists) and GetItem over a map, refusing items over the 400 KB limit. */
class FakeTable {
  readonly items = new Map<string, Record<string, AttributeValue>>();
  readonly puts: Record<string, AttributeValue>[] = [];

  readonly client = {
    send: async (command: unknown) => {
      if (command instanceof PutItemCommand) {
        const item = command.input.Item ?? {};
        const size = Object.entries(item).reduce(
          (total, [name, value]) =>
            total +
            Buffer.byteLength(name) +
            (value.B ? value.B.length : Buffer.byteLength(JSON.stringify(value))),
          0,
        );
        if (size > DYNAMODB_ITEM_LIMIT)
          throw new Error(`ValidationException: Item size ${size} has exceeded the maximum allowed size`);
        const pk = String(item.pk?.S);
        if (command.input.ConditionExpression && this.items.has(pk)) {
          throw new ConditionalCheckFailedException({ message: 'exists', $metadata: {} });
        }
        this.items.set(pk, item);
        this.puts.push(item);
        return {};
      }
      if (command instanceof GetItemCommand) {
        return { Item: this.items.get(String(command.input.Key?.pk?.S)) };
      }
      throw new Error(`unexpected command ${String(command)}`);
    },
  };
}

const exception = (payload: string, id = 'EXC-Q-1'): OwnedException => ({
  exceptionId: id,
  type: 'validation',
  ownerTeam: 'customer-service',
  priority: 'normal',
  state: 'open',
  stage: 'received',
  orderId: 'ERP-HX-1',
  correlationId: 'ERP-HX-1',
  raisedAt: '2026-11-23T09:00:00.000Z',
  slaDueAt: '2026-11-23T13:00:00.000Z',
  recommendedAction: 'Correct the order.',
  reasonCodes: ['CONTRACT_VIOLATION'],
  violations: [{ path: '', rule: 'maxBytes:262144', message: 'too large' }],
  context: { source: 'erp', payload, payloadBytes: Buffer.byteLength(payload) },
  audit: [{ at: '2026-11-23T09:00:00.000Z', actor: 'handoff:test', action: 'quarantined', why: 'test' }],
});

let table: FakeTable;
let repository: DynamoExceptionRepository;

beforeEach(() => {
  table = new FakeTable();
  repository = new DynamoExceptionRepository(table.client as unknown as DynamoDBClient, 'exceptions');
});

describe('DynamoExceptionRepository: payloads too large for one item', () => {
  it('keeps a small payload inline, as before', async () => {
    await repository.raiseIfAbsent(exception('{"SalesOrder":"HX-1"}'));

    expect(table.puts).toHaveLength(1);
    expect((await repository.get('EXC-Q-1'))?.context.payload).toBe('{"SalesOrder":"HX-1"}');
    expect(await repository.payloadOf('EXC-Q-1')).toBe('{"SalesOrder":"HX-1"}');
  });

  it('stores a 550 KB order beside its exception, gzipped, and reads it back whole', async () => {
    const payload = JSON.stringify({
      Items: Array.from({ length: 5000 }, (_, i) => ({
        ItemNo: String(i).padStart(6, '0'),
        Material: 'WIDGET-100',
        Quantity: '2',
        Unit: 'EA',
        NetPrice: '12.50',
        Cost: '8.10',
      })),
    });
    expect(Buffer.byteLength(payload)).toBeGreaterThan(MAX_EXCEPTION_RECORD_BYTES);

    expect(await repository.raiseIfAbsent(exception(payload))).toEqual({ created: true });

    const stored = await repository.get('EXC-Q-1');
    expect(stored?.context).toMatchObject({
      payloadTruncated: true,
      payloadBytes: Buffer.byteLength(payload),
      payloadStored: { encoding: 'gzip', parts: 1, keyPrefix: 'EXC-Q-1#payload#' },
    });
    expect(payload.startsWith(String(stored?.context.payload))).toBe(true);
    expect(table.items.has(payloadPartKey('EXC-Q-1', 1))).toBe(true);
    // A part has no owner or order: it is in neither index.
    expect(Object.keys(table.items.get(payloadPartKey('EXC-Q-1', 1)) ?? {}).sort()).toEqual([
      'data',
      'exceptionId',
      'part',
      'parts',
      'pk',
    ]);
    expect(await repository.payloadOf('EXC-Q-1')).toBe(payload);
  });

  it('splits an incompressible 1 MiB payload into parts under the item limit', async () => {
    const payload = randomBytes(768 * 1024).toString('base64');

    await repository.raiseIfAbsent(exception(payload));

    const stored = (await repository.get('EXC-Q-1'))?.context.payloadStored as { parts: number };
    expect(stored.parts).toBeGreaterThanOrEqual(3);
    expect(await repository.payloadOf('EXC-Q-1')).toBe(payload);
  });

  it('a redelivery rewrites the same parts and finds the exception already raised', async () => {
    const payload = 'x'.repeat(200 * 1024) + randomBytes(200 * 1024).toString('hex');

    await repository.raiseIfAbsent(exception(payload));
    const again = await repository.raiseIfAbsent(exception(payload));

    expect(again).toEqual({ created: false });
    expect(await repository.payloadOf('EXC-Q-1')).toBe(payload);
  });

  it('never ends the kept preview inside a surrogate pair', async () => {
    const payload = `${'a'.repeat(4095)}😀${'b'.repeat(400 * 1024)}`;

    await repository.raiseIfAbsent(exception(payload));

    const preview = String((await repository.get('EXC-Q-1'))?.context.payload);
    expect(preview).toBe('a'.repeat(4095));
  });
});
