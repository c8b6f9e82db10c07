import {
  type AttributeValue,
  BatchGetItemCommand,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { BackorderLine } from '../../core/backorder.ts';
import type { BackorderBook, BackorderRecord, ClaimResult, ReceiptPlan } from '../../ports/index.ts';
import { shardOf } from '../../shared/ids.ts';
import { BackorderNotFound, ConcurrentBackorderUpdate } from '../../use-cases/backorder-reevaluation.ts';

/** Partitions of the by-age index: the hourly sweep reads them all, writes spread over them. */
export const OPEN_AGE_SHARDS = 4;
/** Receipt plans expire (TTL `expiresAt`) this long after they were evaluated. */
export const RECEIPT_PLAN_TTL_DAYS = 30;
export const BACKORDERS_BY_SKU_INDEX = 'openBySku';
export const BACKORDERS_BY_AGE_INDEX = 'openByAge';
export const BACKORDERS_BY_ORDER_INDEX = 'byOrder';

const BACKORDER_SK = 'BACKORDER';
const PLAN_SK = 'PLAN';
const MARSHALL = { removeUndefinedValues: true } as const;
/** Optimistic attempts of a read-then-conditional-write before ConcurrentBackorderUpdate. */
const MAX_ATTEMPTS = 5;
/** BatchGetItem takes at most 100 keys a call. */
const BATCH_GET_LIMIT = 100;
const MAX_UNPROCESSED_ROUNDS = 8;
/** Orders whose backorder ids this instance remembers, so an order's list sees its own fresh writes. */
const REMEMBERED_ORDERS = 500;

type Item = Record<string, AttributeValue>;
type Claim = Parameters<BackorderBook['claimFill']>[1];

function planKeyOf(receiptId: string) {
  return { pk: `RECEIPT#${receiptId}`, sk: PLAN_SK };
}

function planKey(receiptId: string) {
  return marshall(planKeyOf(receiptId));
}

function backorderKey(backorderId: string) {
  return marshall({ pk: backorderId, sk: BACKORDER_SK });
}

/** `OPEN#<n>`: the by-age index partition of an open backorder. */
export function openShardOf(backorderId: string): string {
  return `OPEN#${shardOf(backorderId, OPEN_AGE_SHARDS)}`;
}

/**
 * The backorder record of a stored item: keys, sparse index attributes and the set of receipts with a fill
 * (what claimFill's condition reads) are storage, not backorder state.
 */
function toRecord(item: Item): BackorderRecord {
  const {
    pk: _pk,
    sk: _sk,
    openSku: _openSku,
    openShard: _openShard,
    fillReceipts: _fillReceipts,
    ...record
  } = unmarshall(item);
  return record as BackorderRecord;
}

function toPlan(item: Item): ReceiptPlan {
  const { pk: _pk, sk: _sk, expiresAt: _expiresAt, ...plan } = unmarshall(item);
  return plan as ReceiptPlan;
}

/** The item's image returned with a failed condition (ReturnValuesOnConditionCheckFailure ALL_OLD), if any. */
function failedItem(error: ConditionalCheckFailedException): Item | undefined {
  return error.Item && Object.keys(error.Item).length > 0 ? error.Item : undefined;
}

function isClaimable(record: BackorderRecord, claim: Claim): boolean {
  return (
    record.status === 'open' &&
    record.quantity >= claim.quantity &&
    !record.fills.some((f) => f.receiptId === claim.receiptId)
  );
}

function instantMs(value: string): number {
  return Date.parse(value);
}

/** Oldest first by the given instant, then by id, so equal instants come back in a stable order. */
function byInstantThenId(field: 'createdAt' | 'cancelAfter') {
  return (a: BackorderRecord, b: BackorderRecord): number => {
    const diff = instantMs(a[field]) - instantMs(b[field]);
    if (diff !== 0 && !Number.isNaN(diff)) return diff;
    if (a[field] !== b[field]) return a[field] < b[field] ? -1 : 1;
    return a.backorderId < b.backorderId ? -1 : a.backorderId > b.backorderId ? 1 : 0;
  };
}

/**
 * The backorder book in DynamoDB (the BackordersTable). One item per backorder (pk = backorderId,
 * sk = BACKORDER) holding the record; while a backorder is open it also carries `openSku` and `openShard`
 * (`OPEN#<0..3>`), the partition keys of the sparse `openBySku` and `openByAge` indexes. `fillReceipts` is the
 * string set of receipts with a fill on the backorder, so a claim's "no fill for this receipt" is a condition.
 * Receipt plans are items of their own (pk = `RECEIPT#<receiptId>`, sk = PLAN) expiring after 30 days.
 *
 * Every write is conditional. Index reads are eventually consistent, so every id an index returns is re-read
 * with a consistent BatchGetItem and kept only while it still matches. Index keys compare ISO-8601 UTC
 * strings (as createBackorderLines writes them).
 */
export class DynamoBackorderBook implements BackorderBook {
  /** Backorder ids by order that this instance created or met, added to the by-order index's answer. */
  private readonly knownByOrder = new Map<string, Set<string>>();

  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async createIfAbsent(lines: readonly BackorderLine[]): Promise<readonly string[]> {
    const outcomes = await Promise.all(
      lines.map(async (line) => {
        this.remember(line.orderId, line.backorderId);
        try {
          await this.client.send(
            new PutItemCommand({
              TableName: this.tableName,
              Item: marshall(
                {
                  ...line,
                  pk: line.backorderId,
                  sk: BACKORDER_SK,
                  originalQuantity: line.quantity,
                  fills: [],
                  reasonCodes: [],
                  ...(line.status === 'open'
                    ? { openSku: line.sku, openShard: openShardOf(line.backorderId) }
                    : {}),
                },
                MARSHALL,
              ),
              ConditionExpression: 'attribute_not_exists(pk)',
            }),
          );
          return true;
        } catch (error) {
          if (error instanceof ConditionalCheckFailedException) return false;
          throw error;
        }
      }),
    );
    return lines.flatMap((line, i) => (outcomes[i] ? [line.backorderId] : []));
  }

  async get(backorderId: string): Promise<BackorderRecord | undefined> {
    const { Item } = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: backorderKey(backorderId), ConsistentRead: true }),
    );
    return Item ? toRecord(Item) : undefined;
  }

  async listOpenBySku(sku: string): Promise<BackorderRecord[]> {
    const ids = await this.queryIds(BACKORDERS_BY_SKU_INDEX, 'openSku = :sku', { ':sku': sku });
    const records = await this.getMany(ids);
    return records.filter((b) => b.status === 'open' && b.sku === sku).sort(byInstantThenId('createdAt'));
  }

  async listOpenAgedBy(instant: string): Promise<BackorderRecord[]> {
    const at = instantMs(instant);
    if (Number.isNaN(at)) return [];
    // Up to the end of the instant's second, whatever fractional digits a stored value has; exact below.
    const bound = new Date(Math.floor(at / 1000) * 1000 + 1000).toISOString().slice(0, 19);
    const perShard = await Promise.all(
      Array.from({ length: OPEN_AGE_SHARDS }, (_, n) =>
        this.queryIds(BACKORDERS_BY_AGE_INDEX, 'openShard = :shard AND cancelAfter < :bound', {
          ':shard': `OPEN#${n}`,
          ':bound': bound,
        }),
      ),
    );
    const records = await this.getMany(perShard.flat());
    return records
      .filter((b) => b.status === 'open' && instantMs(b.cancelAfter) <= at)
      .sort(byInstantThenId('cancelAfter'));
  }

  async listForOrder(orderId: string): Promise<BackorderRecord[]> {
    const indexed = await this.queryIds(BACKORDERS_BY_ORDER_INDEX, 'orderId = :orderId', {
      ':orderId': orderId,
    });
    // The index may not show a backorder written a moment ago; ids this instance wrote are read directly.
    const records = await this.getMany([...indexed, ...(this.knownByOrder.get(orderId) ?? [])]);
    return records
      .filter((b) => b.orderId === orderId)
      .sort(
        (a, b) =>
          a.lineNo - b.lineNo || (a.backorderId < b.backorderId ? -1 : a.backorderId > b.backorderId ? 1 : 0),
      );
  }

  async findPlan(receiptId: string): Promise<ReceiptPlan | undefined> {
    const { Item } = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: planKey(receiptId), ConsistentRead: true }),
    );
    return Item ? toPlan(Item) : undefined;
  }

  async savePlanIfAbsent(plan: ReceiptPlan): Promise<{ plan: ReceiptPlan; stored: boolean }> {
    const evaluated = instantMs(plan.evaluatedAt);
    const from = Number.isNaN(evaluated) ? Date.now() : evaluated;
    const expiresAt = Math.floor(from / 1000) + RECEIPT_PLAN_TTL_DAYS * 86_400;
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: marshall({ ...plan, ...planKeyOf(plan.receiptId), expiresAt }, MARSHALL),
          ConditionExpression: 'attribute_not_exists(pk)',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { plan, stored: true };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      const old = failedItem(error);
      const existing = old ? toPlan(old) : await this.findPlan(plan.receiptId);
      if (!existing) throw error;
      return { plan: existing, stored: false };
    }
  }

  /**
   * One conditional UpdateItem takes the claim: open, no fill for the receipt, and the outstanding quantity
   * either exactly the claim (status → filled, off the open indexes) or more than it (stays open). The current
   * quantity, read first, only picks which of the two; when a concurrent write changed it in between and the
   * claim is still possible, the write is tried again with the other branch.
   */
  async claimFill(backorderId: string, claim: Claim): Promise<ClaimResult> {
    let current = await this.require(backorderId);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt += 1) {
      if (!isClaimable(current, claim)) return { claimed: false, backorder: current };
      const completes = current.quantity === claim.quantity;
      try {
        const { Attributes } = await this.client.send(
          new UpdateItemCommand({
            TableName: this.tableName,
            Key: backorderKey(backorderId),
            UpdateExpression: completes
              ? 'SET #fills = list_append(#fills, :claim), #quantity = #quantity - :q, #status = :filled ADD #receipts :receiptSet REMOVE #openSku, #openShard'
              : 'SET #fills = list_append(#fills, :claim), #quantity = #quantity - :q ADD #receipts :receiptSet',
            ConditionExpression: `attribute_exists(pk) AND #status = :open AND NOT contains(#receipts, :receiptId) AND #quantity ${completes ? '=' : '>'} :q`,
            ExpressionAttributeNames: {
              '#fills': 'fills',
              '#quantity': 'quantity',
              '#status': 'status',
              '#receipts': 'fillReceipts',
              ...(completes ? { '#openSku': 'openSku', '#openShard': 'openShard' } : {}),
            },
            ExpressionAttributeValues: {
              ...marshall(
                {
                  ':claim': [
                    {
                      receiptId: claim.receiptId,
                      siteId: claim.siteId,
                      quantity: claim.quantity,
                      status: 'claimed',
                      claimedAt: claim.claimedAt,
                    },
                  ],
                  ':q': claim.quantity,
                  ':open': 'open',
                  ':receiptId': claim.receiptId,
                  ...(completes ? { ':filled': 'filled' } : {}),
                },
                MARSHALL,
              ),
              ':receiptSet': { SS: [claim.receiptId] },
            },
            ReturnValues: 'ALL_NEW',
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        );
        return { claimed: true, backorder: toRecord(Attributes ?? {}) };
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
        current = await this.afterConditionFailed(backorderId, error);
      }
    }
    throw new ConcurrentBackorderUpdate(backorderId);
  }

  async confirmFill(
    backorderId: string,
    receiptId: string,
    reservation: { reservationId: string; reservedAt: string },
  ): Promise<BackorderRecord> {
    let current = await this.require(backorderId);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt += 1) {
      const index = current.fills.findIndex((f) => f.receiptId === receiptId && f.status === 'claimed');
      if (index < 0) return current;
      const fill = `#fills[${index}]`;
      try {
        const { Attributes } = await this.client.send(
          new UpdateItemCommand({
            TableName: this.tableName,
            Key: backorderKey(backorderId),
            UpdateExpression: `SET ${fill}.#status = :reserved, ${fill}.reservationId = :reservationId, ${fill}.reservedAt = :reservedAt, #reasonCodes = :none`,
            ConditionExpression: `${fill}.receiptId = :receiptId AND ${fill}.#status = :claimed`,
            ExpressionAttributeNames: {
              '#fills': 'fills',
              '#status': 'status',
              '#reasonCodes': 'reasonCodes',
            },
            ExpressionAttributeValues: marshall({
              ':reserved': 'reserved',
              ':claimed': 'claimed',
              ':reservationId': reservation.reservationId,
              ':reservedAt': reservation.reservedAt,
              ':receiptId': receiptId,
              ':none': [],
            }),
            ReturnValues: 'ALL_NEW',
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        );
        return toRecord(Attributes ?? {});
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
        current = await this.afterConditionFailed(backorderId, error);
      }
    }
    throw new ConcurrentBackorderUpdate(backorderId);
  }

  async releaseClaim(
    backorderId: string,
    receiptId: string,
    reasonCodes: readonly string[],
  ): Promise<BackorderRecord> {
    let current = await this.require(backorderId);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt += 1) {
      const index = current.fills.findIndex((f) => f.receiptId === receiptId && f.status === 'claimed');
      const claim = current.fills[index];
      if (index < 0 || !claim) return current;
      const fill = `#fills[${index}]`;
      try {
        const { Attributes } = await this.client.send(
          new UpdateItemCommand({
            TableName: this.tableName,
            Key: backorderKey(backorderId),
            UpdateExpression: `SET #quantity = #quantity + :q, #status = :open, #reasonCodes = :reasons, openSku = :sku, openShard = :shard REMOVE ${fill} DELETE #receipts :receiptSet`,
            ConditionExpression: `${fill}.receiptId = :receiptId AND ${fill}.#status = :claimed AND ${fill}.#quantity = :q`,
            ExpressionAttributeNames: {
              '#fills': 'fills',
              '#quantity': 'quantity',
              '#status': 'status',
              '#reasonCodes': 'reasonCodes',
              '#receipts': 'fillReceipts',
            },
            ExpressionAttributeValues: {
              ...marshall({
                ':q': claim.quantity,
                ':open': 'open',
                ':claimed': 'claimed',
                ':reasons': [...reasonCodes],
                ':sku': current.sku,
                ':shard': openShardOf(backorderId),
                ':receiptId': receiptId,
              }),
              ':receiptSet': { SS: [receiptId] },
            },
            ReturnValues: 'ALL_NEW',
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        );
        return toRecord(Attributes ?? {});
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
        current = await this.afterConditionFailed(backorderId, error);
      }
    }
    throw new ConcurrentBackorderUpdate(backorderId);
  }

  async cancel(
    backorderId: string,
    cancellation: { cancelledAt: string; reasonCodes: readonly string[] },
  ): Promise<void> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: backorderKey(backorderId),
          UpdateExpression:
            'SET #status = :cancelled, cancelledAt = :cancelledAt, #reasonCodes = :reasons REMOVE openSku, openShard',
          ConditionExpression: 'attribute_exists(pk) AND #status <> :cancelled',
          ExpressionAttributeNames: { '#status': 'status', '#reasonCodes': 'reasonCodes' },
          ExpressionAttributeValues: marshall({
            ':cancelled': 'cancelled',
            ':cancelledAt': cancellation.cancelledAt,
            ':reasons': [...cancellation.reasonCodes],
          }),
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      // Already cancelled: unchanged. Missing: BackorderNotFound.
      await this.afterConditionFailed(backorderId, error);
    }
  }

  async markNotified(backorderId: string, notifiedAt: string): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: backorderKey(backorderId),
          UpdateExpression: 'SET notifiedAt = :notifiedAt',
          ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(notifiedAt)',
          ExpressionAttributeValues: marshall({ ':notifiedAt': notifiedAt }),
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return true;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      await this.afterConditionFailed(backorderId, error);
      return false;
    }
  }

  private async require(backorderId: string): Promise<BackorderRecord> {
    const record = await this.get(backorderId);
    if (!record) throw new BackorderNotFound(backorderId);
    return record;
  }

  /** The record as it stood when a condition failed: its image on the error, else a consistent read. */
  private async afterConditionFailed(
    backorderId: string,
    error: ConditionalCheckFailedException,
  ): Promise<BackorderRecord> {
    const old = failedItem(error);
    return old ? toRecord(old) : this.require(backorderId);
  }

  private remember(orderId: string, backorderId: string): void {
    const ids = this.knownByOrder.get(orderId) ?? new Set<string>();
    this.knownByOrder.delete(orderId);
    this.knownByOrder.set(orderId, ids.add(backorderId));
    if (this.knownByOrder.size > REMEMBERED_ORDERS) {
      const oldest = this.knownByOrder.keys().next();
      if (!oldest.done) this.knownByOrder.delete(oldest.value);
    }
  }

  /** The backorder ids an index holds under the key condition, every page. */
  private async queryIds(
    indexName: string,
    keyCondition: string,
    values: Record<string, string>,
  ): Promise<string[]> {
    const ids: string[] = [];
    let start: Item | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: indexName,
          KeyConditionExpression: keyCondition,
          ExpressionAttributeValues: marshall(values),
          ProjectionExpression: 'pk',
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      for (const item of page.Items ?? []) {
        const { pk } = unmarshall(item);
        if (typeof pk === 'string') ids.push(pk);
      }
      start = page.LastEvaluatedKey;
    } while (start);
    return ids;
  }

  /** Consistent reads of the backorders (deduplicated, missing ones left out), 100 keys a call. */
  private async getMany(backorderIds: readonly string[]): Promise<BackorderRecord[]> {
    const ids = [...new Set(backorderIds)];
    const records: BackorderRecord[] = [];
    for (let from = 0; from < ids.length; from += BATCH_GET_LIMIT) {
      let keys: Item[] = ids.slice(from, from + BATCH_GET_LIMIT).map(backorderKey);
      for (let round = 0; keys.length > 0; round += 1) {
        if (round >= MAX_UNPROCESSED_ROUNDS) {
          throw new Error(`BatchGetItem left ${keys.length} backorders unprocessed after ${round} rounds`);
        }
        if (round > 0) await new Promise((resolve) => setTimeout(resolve, 25 * 2 ** round));
        const { Responses, UnprocessedKeys } = await this.client.send(
          new BatchGetItemCommand({
            RequestItems: { [this.tableName]: { Keys: keys, ConsistentRead: true } },
          }),
        );
        for (const item of Responses?.[this.tableName] ?? []) records.push(toRecord(item));
        keys = UnprocessedKeys?.[this.tableName]?.Keys ?? [];
      }
    }
    return records;
  }
}
