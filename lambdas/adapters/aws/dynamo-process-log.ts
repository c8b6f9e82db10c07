import {
  type AttributeValue,
  BatchWriteItemCommand,
  type DynamoDBClient,
  QueryCommand,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import type { ProcessEvent, ScorecardWindow } from '../../core/scorecard-model.ts';
import { shardOf } from '../../shared/ids.ts';

/** Partitions of each day of the log: a day's writes spread over them; a window's read queries them all. */
export const PROCESS_LOG_SHARDS = 8;
/** The log feeds a year of scorecards, like the bus archive, then expires (TTL `expiresAt`). */
export const PROCESS_LOG_TTL_DAYS = 400;
const DAY_MS = 86_400_000;
/** Day partitions queried at once (every shard of each). */
const DAYS_PER_READ = 4;
/** Longest window one read accepts: a quarter. */
export const PROCESS_LOG_MAX_WINDOW_DAYS = 92;

type Item = Record<string, AttributeValue>;

export class InvalidLogWindow extends Error {
  override readonly name = 'InvalidLogWindow';
}

/**
 * When an event happened as a UTC instant (`occurredAt` may carry an offset): what the log sorts and
 * partitions by. An unreadable `occurredAt` falls back to when the bus carried the event.
 */
function instantOf(event: Pick<ProcessEvent, 'occurredAt' | 'publishedAt'>): string {
  const at = Date.parse(event.occurredAt);
  return new Date(Number.isFinite(at) ? at : Date.parse(event.publishedAt)).toISOString();
}

/** `LOG#<YYYY-MM-DD>#<shard>`: the partition of an event, by the UTC day it happened and its order. */
export function logPartitionOf(event: Pick<ProcessEvent, 'occurredAt' | 'publishedAt' | 'orderId'>): string {
  return `LOG#${instantOf(event).slice(0, 10)}#${shardOf(event.orderId, PROCESS_LOG_SHARDS)}`;
}

function toItem(event: ProcessEvent): Item {
  const at = instantOf(event);
  const expiresAt = Math.floor(Date.parse(at) / 1000) + PROCESS_LOG_TTL_DAYS * 86_400;
  return {
    pk: { S: logPartitionOf(event) },
    sk: { S: `${at}#${event.id}` },
    e: { S: JSON.stringify(event) },
    expiresAt: { N: String(expiresAt) },
  };
}

function fromItem(item: Item): ProcessEvent | undefined {
  const text = item.e?.S;
  if (!text) return undefined;
  try {
    return JSON.parse(text) as ProcessEvent;
  } catch {
    return undefined;
  }
}

/** Every UTC day `YYYY-MM-DD` that [from, to) touches. */
export function daysOf(window: ScorecardWindow): string[] {
  const from = Date.parse(window.from);
  const to = Date.parse(window.to);
  if (!Number.isFinite(from))
    throw new InvalidLogWindow(`from: must be an ISO 8601 instant (got ${window.from})`);
  if (!Number.isFinite(to)) throw new InvalidLogWindow(`to: must be an ISO 8601 instant (got ${window.to})`);
  if (to <= from) throw new InvalidLogWindow(`to: must be after from (${window.from} → ${window.to})`);
  if (to - from > PROCESS_LOG_MAX_WINDOW_DAYS * DAY_MS) {
    throw new InvalidLogWindow(`to: a window spans at most ${PROCESS_LOG_MAX_WINDOW_DAYS} days`);
  }
  const days: string[] = [];
  for (let day = Math.floor(from / DAY_MS) * DAY_MS; day < to; day += DAY_MS) {
    days.push(new Date(day).toISOString().slice(0, 10));
  }
  return days;
}

/**
 * The process log in DynamoDB: one item per canonical event (a redelivery overwrites the same item),
 * read back for a window by key, one Query per day and shard, never a Scan.
 */
export class DynamoProcessLog {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  /** Writes events in batches of 25, retrying what DynamoDB leaves unprocessed (with backoff). */
  async record(events: readonly ProcessEvent[]): Promise<void> {
    for (let start = 0; start < events.length; start += 25) {
      let pending: WriteRequest[] = events
        .slice(start, start + 25)
        .map((event) => ({ PutRequest: { Item: toItem(event) } }));
      for (let attempt = 0; pending.length > 0; attempt++) {
        if (attempt > 0)
          await new Promise((resolve) => setTimeout(resolve, Math.min(2000, 50 * 2 ** attempt)));
        if (attempt > 8)
          throw new Error(`process log: ${pending.length} writes still unprocessed after 8 retries`);
        const { UnprocessedItems } = await this.client.send(
          new BatchWriteItemCommand({ RequestItems: { [this.tableName]: pending } }),
        );
        pending = UnprocessedItems?.[this.tableName] ?? [];
      }
    }
  }

  /** Every logged event that happened in [from, to), in no particular order. */
  async read(window: ScorecardWindow): Promise<ProcessEvent[]> {
    const days = daysOf(window);
    const events: ProcessEvent[] = [];
    for (let i = 0; i < days.length; i += DAYS_PER_READ) {
      const partitions = days
        .slice(i, i + DAYS_PER_READ)
        .flatMap((day) => Array.from({ length: PROCESS_LOG_SHARDS }, (_, shard) => `LOG#${day}#${shard}`));
      const pages = await Promise.all(partitions.map((pk) => this.readPartition(pk, window)));
      for (const page of pages) events.push(...page);
    }
    return events;
  }

  private async readPartition(pk: string, window: ScorecardWindow): Promise<ProcessEvent[]> {
    const from = Date.parse(window.from);
    const to = Date.parse(window.to);
    const events: ProcessEvent[] = [];
    let startKey: Item | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
          ExpressionAttributeValues: {
            ':pk': { S: pk },
            ':from': { S: new Date(from).toISOString() },
            // Sort keys are `<instant>#<id>`: every event at `to` itself sorts after this bound.
            ':to': { S: new Date(to).toISOString() },
          },
          ProjectionExpression: 'e',
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) {
        const event = fromItem(item);
        const at = event ? Date.parse(instantOf(event)) : Number.NaN;
        if (event && at >= from && at < to) events.push(event);
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return events;
  }
}
