import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { OrderStage } from '../../../contracts/vocabulary.ts';
import { canTransition } from '../../core/order-lifecycle.ts';
import type { Clock, CreateResult, OrderPatch, OrderRecord, OrderRepository } from '../../ports/index.ts';
import { ConcurrentOrderUpdate, IllegalStageTransition } from '../../shared/errors.ts';
import { shardOf } from '../../shared/ids.ts';

/** Index key shards for the by-stage index: 16 × 1,000 WCU per stage covers 100× the article's peak. */
export const STAGE_INDEX_SHARDS = 16;
const ORDER_SK = 'ORDER';
const MARSHALL = { removeUndefinedValues: true } as const;

/** The order record of a stored item: its keys and index attributes are storage, not order state. */
function toRecord(item: Record<string, AttributeValue>): OrderRecord {
  const { pk: _pk, sk: _sk, stageShard: _shard, stageEnteredAt: _entered, ...record } = unmarshall(item);
  return record as OrderRecord;
}

function stageKeys(orderId: string, stage: OrderStage, at: string) {
  return { stageShard: `${stage}#${shardOf(orderId, STAGE_INDEX_SHARDS)}`, stageEnteredAt: at };
}

/** The stored item of a new order: its keys and by-stage index attributes (the entry time is `updatedAt`). */
export function orderItem(record: OrderRecord): Record<string, AttributeValue> {
  return marshall(
    {
      pk: record.orderId,
      sk: ORDER_SK,
      ...record,
      ...stageKeys(record.orderId, record.stage, record.updatedAt),
    },
    MARSHALL,
  );
}

/**
 * Order state in DynamoDB: one item per order (pk = orderId, sk = ORDER) holding the current stage, its
 * history and a version for optimistic locking. Stage moves are conditional writes, so two writers cannot
 * both win and an illegal move is refused.
 */
export class DynamoOrderRepository implements OrderRepository {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    private readonly clock: Clock,
  ) {}

  async createIfAbsent(record: OrderRecord): Promise<CreateResult> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: orderItem(record),
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return { created: true };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      const existing = await this.get(record.orderId);
      if (!existing) throw error;
      return { created: false, existing };
    }
  }

  async get(orderId: string): Promise<OrderRecord | undefined> {
    const result = await this.client.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: marshall({ pk: orderId, sk: ORDER_SK }),
        ConsistentRead: true,
      }),
    );
    return result.Item ? toRecord(result.Item) : undefined;
  }

  async transition(
    current: OrderRecord,
    to: OrderStage,
    reasonCodes: readonly string[],
    patch: OrderPatch = {},
  ): Promise<OrderRecord> {
    if (!canTransition(current.stage, to))
      throw new IllegalStageTransition(current.orderId, current.stage, to);
    return this.update(current, patch, { to, reasonCodes });
  }

  async annotate(current: OrderRecord, patch: OrderPatch): Promise<OrderRecord> {
    return this.update(current, patch);
  }

  /** One conditional write: the patch, and the stage move when given, if the order is still at its version. */
  private async update(
    current: OrderRecord,
    patch: OrderPatch,
    move?: { to: OrderStage; reasonCodes: readonly string[] },
  ): Promise<OrderRecord> {
    const at = this.clock.now().toISOString();
    const { addExceptionId, ...fields } = patch;
    const names: Record<string, string> = { '#version': 'version' };
    const values: Record<string, unknown> = {
      ':next': current.version + 1,
      ':expected': current.version,
      ':at': at,
    };
    const sets = ['#version = :next', 'updatedAt = :at'];
    if (move) {
      names['#stage'] = 'stage';
      values[':to'] = move.to;
      values[':entry'] = [{ stage: move.to, at, reasonCodes: [...move.reasonCodes] }];
      values[':shard'] = stageKeys(current.orderId, move.to, at).stageShard;
      sets.push(
        '#stage = :to',
        'stageHistory = list_append(stageHistory, :entry)',
        'stageShard = :shard',
        'stageEnteredAt = :at',
      );
    }
    for (const [key, value] of Object.entries(fields)) {
      names[`#${key}`] = key;
      values[`:${key}`] = value;
      sets.push(`#${key} = :${key}`);
    }
    if (addExceptionId) {
      values[':exc'] = [addExceptionId];
      values[':empty'] = [];
      sets.push('exceptionIds = list_append(if_not_exists(exceptionIds, :empty), :exc)');
    }
    try {
      const result = await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: marshall({ pk: current.orderId, sk: ORDER_SK }),
          UpdateExpression: `SET ${sets.join(', ')}`,
          ConditionExpression: '#version = :expected',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: marshall(values, MARSHALL),
          ReturnValues: 'ALL_NEW',
        }),
      );
      return toRecord(result.Attributes ?? {});
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        throw new ConcurrentOrderUpdate(current.orderId, current.version);
      }
      throw error;
    }
  }
}
