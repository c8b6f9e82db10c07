import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { SlaClock } from '../../core/sla.ts';
import type { SlaAlarmKind, SlaClockStore, StoredClock } from '../../ports/index.ts';
import { ConcurrentClockUpdate } from '../../shared/errors.ts';
import { shardOf } from '../../shared/ids.ts';
import { clockKey } from '../../use-cases/sla-clocks.ts';

/** Partitions of each hour's due bucket: writes spread over them, the detector reads them all. */
export const SLA_DUE_SHARDS = 4;
export const SLA_DUE_INDEX = 'byDueBucket';
/** Clocks feed the scorecard for a year, then expire (TTL `expiresAt`) this long after their last write. */
export const SLA_CLOCK_TTL_DAYS = 400;
/** The detector never reads buckets further back than this before `now`. */
export const SLA_DUE_MAX_LOOKBACK_MS = 24 * 3_600_000;

const CLOCK_PREFIX = 'CLOCK#';
const CHECKPOINT_KEY = { pk: 'DETECTOR', sk: 'CHECKPOINT' } as const;
const MARSHALL = { removeUndefinedValues: true } as const;
/**
 * Width of a due bucket: an hour. A run reads the buckets from its checkpoint's hour to now's, with
 * `dueAt <= now` in the key condition, so its cost follows the clocks that are due, not the minutes that
 * passed (minute buckets cost a query per shard per minute, however empty: 5,760 a day).
 */
export const SLA_DUE_BUCKET_MS = 3_600_000;
/** Hours of due buckets read concurrently (every shard of each). */
const BUCKETS_PER_READ = 6;

type Item = Record<string, AttributeValue>;

function orderPk(orderId: string): string {
  return `ORDER#${orderId}`;
}

function clockSk(clock: SlaClock): string {
  return `${CLOCK_PREFIX}${clock.stage}#${clock.instance}`;
}

/** `YYYY-MM-DDTHH`: the UTC hour of an instant. */
function bucketOf(ms: number): string {
  return new Date(Math.floor(ms / SLA_DUE_BUCKET_MS) * SLA_DUE_BUCKET_MS).toISOString().slice(0, 13);
}

/**
 * `<YYYY-MM-DDTHH>#<shard>`: the by-due index partition of a clock due at `dueAt`, written at `now`. A
 * `dueAt` already past goes in now's hour, never an earlier one: the detector may have read that already.
 */
export function dueBucketOf(orderId: string, key: string, dueAt: Date, now: Date): string {
  const hour = bucketOf(Math.max(dueAt.getTime(), now.getTime()));
  return `${hour}#${shardOf(`${orderId}|${key}`, SLA_DUE_SHARDS)}`;
}

/**
 * The stored item of a clock at `version`, written at `now`: keys, the by-due index attributes while an
 * alarm is still to come (`dueAt`), and the TTL pushed out from `now`.
 */
export function clockItem(
  clock: SlaClock,
  state: { readonly outbox: readonly SlaAlarmKind[]; readonly dueAt?: Date },
  version: number,
  now: Date,
): Item {
  const due = state.dueAt
    ? {
        dueAt: state.dueAt.toISOString(),
        dueBucket: dueBucketOf(clock.orderId, clockKey(clock.stage, clock.instance), state.dueAt, now),
      }
    : {};
  return marshall(
    {
      pk: orderPk(clock.orderId),
      sk: clockSk(clock),
      orderId: clock.orderId,
      stage: clock.stage,
      clock,
      version,
      outbox: [...state.outbox],
      ...due,
      expiresAt: Math.floor(now.getTime() / 1000) + SLA_CLOCK_TTL_DAYS * 86_400,
    },
    MARSHALL,
  );
}

/** The stored clock of an item: keys, index and TTL attributes are storage, not clock state. */
function toStored(item: Item): StoredClock {
  const { clock, version, outbox } = unmarshall(item);
  return {
    clock: clock as SlaClock,
    version: typeof version === 'number' ? version : 0,
    outbox: Array.isArray(outbox) ? (outbox as SlaAlarmKind[]) : [],
  };
}

/**
 * The SLA clock store in DynamoDB (the SlaClocksTable). One item per order and stage clock
 * (pk = `ORDER#<orderId>`, sk = `CLOCK#<stage>#<instance>`) holding the clock, its write version and its
 * outbox; while the detector must look at it again it also carries `dueAt` and `dueBucket`, the keys of the
 * sparse `byDueBucket` index (one partition per UTC hour and shard), so the detector reads due clocks by
 * key and never scans. Every write puts the whole item under a version condition and pushes `expiresAt` out
 * to 400 days. The detector's checkpoint is one item (pk = DETECTOR, sk = CHECKPOINT) that only moves forward.
 */
export class DynamoSlaClockStore implements SlaClockStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async clocksOf(orderId: string): Promise<StoredClock[]> {
    const clocks: StoredClock[] = [];
    let start: Item | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
          ExpressionAttributeValues: marshall({ ':pk': orderPk(orderId), ':prefix': CLOCK_PREFIX }),
          ConsistentRead: true,
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      for (const item of page.Items ?? []) clocks.push(toStored(item));
      start = page.LastEvaluatedKey;
    } while (start);
    return clocks;
  }

  async save(
    clock: SlaClock,
    state: { readonly outbox: readonly SlaAlarmKind[]; readonly dueAt?: Date },
    expectedVersion: number,
    now: Date,
  ): Promise<StoredClock> {
    const key = clockKey(clock.stage, clock.instance);
    const version = expectedVersion + 1;
    const outbox = [...state.outbox];
    try {
      // A put replaces the whole item: without a dueAt, the old dueAt and dueBucket are gone (off the index).
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: clockItem(clock, state, version, now),
          ...(expectedVersion === 0
            ? { ConditionExpression: 'attribute_not_exists(pk)' }
            : {
                ConditionExpression: '#version = :expected',
                ExpressionAttributeNames: { '#version': 'version' },
                ExpressionAttributeValues: marshall({ ':expected': expectedVersion }),
              }),
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        throw new ConcurrentClockUpdate(clock.orderId, key);
      }
      throw error;
    }
    return { clock, version, outbox };
  }

  /**
   * Every hour bucket from `since` to `now` (at most the last 24 hours), every shard of it, read by key with
   * `dueAt <= now`. The index is eventually consistent: a clock may come back with an older version, which a
   * conditional save then refuses.
   */
  async *dueClocks(since: Date, now: Date): AsyncGenerator<StoredClock> {
    const until = now.getTime();
    const from = Math.max(since.getTime(), until - SLA_DUE_MAX_LOOKBACK_MS);
    const dueBy = now.toISOString();
    const seen = new Set<string>();
    const hours: string[] = [];
    for (let h = Math.floor(from / SLA_DUE_BUCKET_MS) * SLA_DUE_BUCKET_MS; h <= until; h += SLA_DUE_BUCKET_MS)
      hours.push(bucketOf(h));
    // A few hours' buckets are read at once (a catch-up after a gap is 25 hours), yielded in order.
    for (let i = 0; i < hours.length; i += BUCKETS_PER_READ) {
      const buckets = hours
        .slice(i, i + BUCKETS_PER_READ)
        .flatMap((hour) => Array.from({ length: SLA_DUE_SHARDS }, (_, shard) => `${hour}#${shard}`));
      const read = await Promise.all(buckets.map((bucket) => this.dueIn(bucket, dueBy)));
      for (const item of read.flat()) {
        // A clock moved between buckets while they were read may show up twice: once per version is enough.
        const id = `${item.pk?.S}|${item.sk?.S}|${item.version?.N}`;
        if (seen.has(id)) continue;
        seen.add(id);
        yield toStored(item);
      }
    }
  }

  async checkpoint(): Promise<Date | undefined> {
    const { Item } = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: marshall(CHECKPOINT_KEY), ConsistentRead: true }),
    );
    const at = Item ? unmarshall(Item).at : undefined;
    return typeof at === 'string' ? new Date(at) : undefined;
  }

  async setCheckpoint(at: Date): Promise<void> {
    const iso = at.toISOString();
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: marshall({ ...CHECKPOINT_KEY, at: iso }),
          ConditionExpression: 'attribute_not_exists(pk) OR #at < :at',
          ExpressionAttributeNames: { '#at': 'at' },
          ExpressionAttributeValues: marshall({ ':at': iso }),
        }),
      );
    } catch (error) {
      // A run that got further already wrote a later checkpoint: it stands.
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  /** The items of one due bucket whose dueAt is at or before `dueBy`, every page. */
  private async dueIn(bucket: string, dueBy: string): Promise<Item[]> {
    const items: Item[] = [];
    let start: Item | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: SLA_DUE_INDEX,
          KeyConditionExpression: 'dueBucket = :bucket AND dueAt <= :dueBy',
          ExpressionAttributeValues: marshall({ ':bucket': bucket, ':dueBy': dueBy }),
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start);
    return items;
  }
}
