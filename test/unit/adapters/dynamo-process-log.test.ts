import { describe, expect, it } from 'vitest';
import {
  daysOf,
  InvalidLogWindow,
  logPartitionOf,
  PROCESS_LOG_SHARDS,
} from '../../../lambdas/adapters/aws/dynamo-process-log.ts';

describe('process log keys', () => {
  it('partitions an event by the UTC day it happened and its order, whatever offset occurredAt carries', () => {
    const at = { orderId: 'ERP-1', publishedAt: '2026-12-03T00:10:00Z' };
    // 23:30 in New York on the 2nd is 04:30 UTC on the 3rd.
    expect(logPartitionOf({ ...at, occurredAt: '2026-12-02T23:30:00-05:00' })).toMatch(
      /^LOG#2026-12-03#[0-7]$/,
    );
    expect(logPartitionOf({ ...at, occurredAt: 'not a time' })).toMatch(/^LOG#2026-12-03#/);
    const shards = new Set(
      Array.from({ length: 400 }, (_, i) =>
        logPartitionOf({ ...at, orderId: `ERP-${i}`, occurredAt: '2026-12-03T10:00:00Z' }),
      ),
    );
    expect(shards.size).toBe(PROCESS_LOG_SHARDS);
    // The same order always lands in the same shard: its events read back together.
    expect(logPartitionOf({ ...at, occurredAt: '2026-12-03T10:00:00Z' })).toBe(
      logPartitionOf({ ...at, occurredAt: '2026-12-03T23:59:59Z' }),
    );
  });

  it('reads a window by the days it touches', () => {
    expect(daysOf({ from: '2026-12-01T22:00:00Z', to: '2026-12-03T00:00:00Z' })).toEqual([
      '2026-12-01',
      '2026-12-02',
    ]);
    expect(daysOf({ from: '2026-12-01T22:00:00Z', to: '2026-12-03T00:00:01Z' })).toHaveLength(3);
  });

  it('refuses a window it cannot read, naming the bound and the rule', () => {
    expect(() => daysOf({ from: 'x', to: '2026-12-03T00:00:00Z' })).toThrow(
      new InvalidLogWindow('from: must be an ISO 8601 instant (got x)'),
    );
    expect(() => daysOf({ from: '2026-12-03T00:00:00Z', to: '2026-12-03T00:00:00Z' })).toThrow(
      /to: must be after from/,
    );
    expect(() => daysOf({ from: '2026-01-01T00:00:00Z', to: '2026-12-03T00:00:00Z' })).toThrow(
      /to: a window spans at most 92 days/,
    );
  });
});
