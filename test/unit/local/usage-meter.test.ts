import { describe, expect, it } from 'vitest';
import type { BusEvent } from '../../../local/eventbridge/bus-service.ts';
import type { HistoryEvent } from '../../../local/stepfunctions/sfn-service.ts';
import {
  archivedEventBytes,
  assignedValue,
  assignments,
  attributeSize,
  chunks64k,
  expressGbSeconds,
  itemSize,
  LOG_EVENT_OVERHEAD_BYTES,
  lambdaGbSeconds,
  partitionKeyText,
  platformLogBytes,
  RATE,
  readUnits,
  stateMachineLogBytes,
  textChunks64k,
  UsageWindows,
  writeUnits,
} from '../../../local/usage-meter.ts';

describe('billing rules', () => {
  it('bills payloads in 64 KB chunks, one at least', () => {
    expect(chunks64k(0)).toBe(1);
    expect(chunks64k(65_536)).toBe(1);
    expect(chunks64k(65_537)).toBe(2);
    expect(chunks64k(256 * 1024)).toBe(4);
    expect(textChunks64k(undefined)).toBe(1);
    expect(textChunks64k('x'.repeat(21_845))).toBe(1);
    expect(textChunks64k('x'.repeat(65_536))).toBe(1);
    expect(textChunks64k('x'.repeat(70_000))).toBe(2);
    // Two bytes a character in UTF-8: 30,000 characters fit, 33,000 do not.
    expect(textChunks64k('é'.repeat(30_000))).toBe(1);
    expect(textChunks64k('é'.repeat(33_000))).toBe(2);
  });

  it('rounds DynamoDB writes up to the KB, doubled in a transaction', () => {
    expect(writeUnits(0)).toBe(1);
    expect(writeUnits(1024)).toBe(1);
    expect(writeUnits(1025)).toBe(2);
    expect(writeUnits(2560)).toBe(3);
    expect(writeUnits(2560, true)).toBe(6);
  });

  it('rounds DynamoDB reads up to 4 KB: eventually consistent halves, transactional doubles', () => {
    expect(readUnits(2560, 'strong')).toBe(1);
    expect(readUnits(2560, 'eventual')).toBe(0.5);
    expect(readUnits(5000, 'strong')).toBe(2);
    expect(readUnits(5000, 'eventual')).toBe(1);
    expect(readUnits(5000, 'transactional')).toBe(4);
    expect(readUnits(0, 'eventual')).toBe(0.5);
  });

  it('bills Lambda by the started millisecond × memory, Express by the started 100 ms at 64 MB', () => {
    expect(lambdaGbSeconds(100.2, 512)).toBeCloseTo(0.101 * 0.5, 12);
    expect(lambdaGbSeconds(0, 1024)).toBeCloseTo(0.001, 12);
    expect(expressGbSeconds(0)).toBeCloseTo(0.1 * 0.0625, 12);
    expect(expressGbSeconds(100)).toBeCloseTo(0.1 * 0.0625, 12);
    expect(expressGbSeconds(101)).toBeCloseTo(0.2 * 0.0625, 12);
    expect(expressGbSeconds(2_950)).toBeCloseTo(3 * 0.0625, 12);
  });
});

describe('item sizes', () => {
  it('counts names and values the same for native and marshalled items', () => {
    const native = { pk: 'ORDER#1', qty: 125, ok: true, none: null, tags: ['a', 'bc'], m: { k: 'v' } };
    const marshalled = {
      pk: { S: 'ORDER#1' },
      qty: { N: '125' },
      ok: { BOOL: true },
      none: { NULL: true },
      tags: { L: [{ S: 'a' }, { S: 'bc' }] },
      m: { M: { k: { S: 'v' } } },
    };
    // pk 2+7, qty 3+(2+1), ok 2+1, none 4+1, tags 4+(3+1+1+1+2), m 1+(3+1+1+1)
    const expected = 9 + 6 + 3 + 5 + 12 + 7;
    expect(itemSize(native, false)).toBe(expected);
    expect(itemSize(marshalled, true)).toBe(expected);
  });

  it('sizes strings in UTF-8 bytes and numbers by significant digits', () => {
    expect(attributeSize('héllo', false)).toBe(6);
    expect(attributeSize({ N: '1000000' }, true)).toBe(2);
    expect(attributeSize({ N: '0.00123' }, true)).toBe(3);
    expect(attributeSize(new Uint8Array(10), false)).toBe(10);
    expect(attributeSize(new Set(['ab', 'c']), false)).toBe(3);
    expect(itemSize({ pk: 'x'.repeat(2500) }, false)).toBe(2502);
  });

  it('reads a partition key value in either form', () => {
    expect(partitionKeyText('A')).toBe('A');
    expect(partitionKeyText({ S: 'A' })).toBe('A');
    expect(partitionKeyText(42)).toBe('42');
    expect(partitionKeyText({ N: '42' })).toBe('42');
    expect(partitionKeyText(undefined)).toBeUndefined();
  });
});

describe('expressions', () => {
  it('finds the value a key condition gives the partition key', () => {
    const values = { ':pk': { S: 'ORDER#1' }, ':sk': { S: 'SHIP#' } };
    expect(assignedValue('pk = :pk AND begins_with(sk, :sk)', undefined, values, 'pk')).toEqual({
      S: 'ORDER#1',
    });
    expect(assignedValue('#p = :v', { '#p': 'stageShard' }, { ':v': 'released#3' }, 'stageShard')).toBe(
      'released#3',
    );
    expect(assignedValue(':v = pk', undefined, { ':v': 'X' }, 'pk')).toBe('X');
    expect(assignedValue('sk = :sk', undefined, values, 'pk')).toBeUndefined();
  });

  it('finds what an update sets, ignoring functions and other clauses', () => {
    const expression = 'SET #s = :s, updatedAt = :u, n = if_not_exists(n, :zero) ADD version :one';
    expect(assignments(expression)).toEqual([
      ['#s', ':s'],
      ['updatedAt', ':u'],
    ]);
    expect(assignedValue(expression, { '#s': 'stageShard' }, { ':s': 'S#1', ':u': 'T' }, 'stageShard')).toBe(
      'S#1',
    );
    // Cached: the same pairs for the same expression.
    expect(assignments(expression)).toBe(assignments(expression));
  });
});

describe('UsageWindows', () => {
  it('reports the busiest tumbling window per second, the current window included', () => {
    const windows = new UsageWindows(60);
    windows.add(RATE.putEventsEntries, 30, 0);
    windows.add(RATE.putEventsEntries, 10, 59_999);
    expect(windows.perSecond(RATE.putEventsEntries)).toBeCloseTo(40 / 60, 12);
    windows.add(RATE.putEventsEntries, 6, 60_000);
    expect(windows.perSecond(RATE.putEventsEntries)).toBeCloseTo(40 / 60, 12);
    windows.add(RATE.putEventsEntries, 50, 120_000);
    expect(windows.perSecond(RATE.putEventsEntries)).toBeCloseTo(50 / 60, 12);
    expect(windows.perSecond(RATE.sqsRequests)).toBe(0);
  });

  it('aligns windows to multiples of their length', () => {
    const windows = new UsageWindows(10);
    windows.add(RATE.lambdaInvocations, 5, 9_000);
    windows.add(RATE.lambdaInvocations, 5, 11_000);
    expect(windows.perSecond(RATE.lambdaInvocations)).toBeCloseTo(0.5, 12);
  });

  it('finds the partition nearest its throughput limits in any window', () => {
    const windows = new UsageWindows(60);
    for (let i = 0; i < 120; i++) windows.addUnits('Orders', 'ORDER#1', true, 1, 1_000);
    windows.addUnits('Orders', 'ORDER#2', true, 30, 2_000);
    // 600 read units in the next window: 600/3000 = 0.2 of a partition's reads beats 120/1000 of its writes.
    windows.addUnits('Orders/byStage', 'released#1', false, 600, 61_000);
    windows.addUnits('Orders/byStage', 'released#1', true, 6, 61_500);
    expect(windows.hottestPartition()).toEqual({
      table: 'Orders/byStage',
      partitionKey: 'released#1',
      writeUnits: 0.1,
      readUnits: 10,
    });
    windows.addUnits('Orders', 'ORDER#9', true, 300, 200_000);
    expect(windows.hottestPartition()).toMatchObject({
      partitionKey: 'ORDER#9',
      writeUnits: 5,
      readUnits: 0,
    });
  });

  it('starts over on reset', () => {
    const windows = new UsageWindows(60);
    windows.add(RATE.sqsRequests, 600, 0);
    windows.addUnits('T', 'k', true, 5, 0);
    windows.reset();
    expect(windows.perSecond(RATE.sqsRequests)).toBe(0);
    expect(windows.hottestPartition()).toBeUndefined();
    expect(() => new UsageWindows(0)).toThrow(/positive/);
  });
});

describe('logs and archive bytes', () => {
  it('counts the Lambda platform lines of each invocation with their event overhead', () => {
    const id = '8f5c2b1e-3a4d-4e6f-9a0b-1c2d3e4f5a6b';
    const text =
      `START RequestId: ${id} Version: $LATEST`.length +
      `END RequestId: ${id}`.length +
      `REPORT RequestId: ${id}\tDuration: 123.45 ms\tBilled Duration: 124 ms\tMemory Size: 512 MB\tMax Memory Used: 96 MB\t`
        .length;
    expect(platformLogBytes('Text', false, 512)).toBe(text + 3 * LOG_EVENT_OVERHEAD_BYTES);
    expect(platformLogBytes('JSON', true, 512)).toBeGreaterThan(platformLogBytes('JSON', false, 512));
  });

  it('estimates state machine log records by level', () => {
    const event = (id: number, type: string, name?: string): HistoryEvent => ({
      id,
      previousEventId: id - 1,
      timestamp: new Date(0),
      type,
      ...(name ? { stateEnteredEventDetails: { name } } : {}),
    });
    const history = [
      event(1, 'ExecutionStarted'),
      event(2, 'TaskStateEntered', 'CheckCredit'),
      event(3, 'TaskFailed'),
      event(4, 'ExecutionFailed'),
    ];
    const arn = 'arn:aws:states:us-east-1:123456789012:execution:Path:ERP-1';
    const all = stateMachineLogBytes(history, arn, 'ALL');
    const error = stateMachineLogBytes(history, arn, 'ERROR');
    const fatal = stateMachineLogBytes(history, arn, 'FATAL');
    expect(stateMachineLogBytes(history, arn, 'OFF')).toBe(0);
    expect(fatal).toBeGreaterThan(0);
    expect(error).toBeGreaterThan(fatal);
    expect(all).toBeGreaterThan(error);
    // Six records at ALL (four events, and a scheduled and a started event for the task), each over 200 bytes.
    expect(all).toBeGreaterThan(6 * 200);
    expect(all).toBeLessThan(6 * 400);
  });

  it('sizes an archived event as its serialized envelope and entry', () => {
    const detail = JSON.stringify({ orderId: 'ERP-1', lines: [{ sku: 'WIDGET-100', qty: 40 }] });
    const event: BusEvent = {
      version: '0',
      id: '0d9a4f3e-5b6c-4d7e-8f90-a1b2c3d4e5f6',
      'detail-type': 'order.received.v1',
      source: 'handoff.ingress',
      account: '123456789012',
      time: '2026-11-23T09:00:00Z',
      region: 'us-east-1',
      resources: ['arn:aws:states:us-east-1:123456789012:stateMachine:Path', 'r2'],
      detail: JSON.parse(detail),
    };
    const entryBytes =
      event.source.length + event['detail-type'].length + detail.length + event.resources.join('').length;
    expect(archivedEventBytes(event, entryBytes)).toBe(Buffer.byteLength(JSON.stringify(event)));
    const bare = { ...event, resources: [] };
    expect(archivedEventBytes(bare, entryBytes - event.resources.join('').length)).toBe(
      Buffer.byteLength(JSON.stringify(bare)),
    );
  });
});
