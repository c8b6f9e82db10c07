import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type {
  AuditEntry,
  AwaitPatch,
  ExceptionRepository,
  ExceptionResolution,
  OwnedException,
} from '../../ports/index.ts';

/** Largest raw payload kept inline with an exception; DynamoDB items stop at 400 KB. */
export const MAX_INLINE_PAYLOAD_BYTES = 256 * 1024;

function toException(item: Record<string, unknown>): OwnedException {
  const { pk: _pk, ownerState: _ownerState, ...exception } = item;
  return exception as unknown as OwnedException;
}

/** The stored item of an exception: keyed by its id, with the by-owner index's `<team>#<state>`. */
export function exceptionItem(exception: OwnedException): Record<string, AttributeValue> {
  return marshall(
    { pk: exception.exceptionId, ...exception, ownerState: `${exception.ownerTeam}#${exception.state}` },
    { removeUndefinedValues: true },
  );
}

/**
 * Owned exceptions in DynamoDB (pk = exceptionId). The `ownerState` attribute feeds the by-owner index
 * that team queues read; `orderId` feeds the by-order index used for an order's timeline.
 */
export class DynamoExceptionRepository implements ExceptionRepository {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async raiseIfAbsent(exception: OwnedException): Promise<{ created: boolean }> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: exceptionItem(exception),
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return { created: true };
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return { created: false };
      throw error;
    }
  }

  async get(exceptionId: string): Promise<OwnedException | undefined> {
    const { Item } = await this.client.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: marshall({ pk: exceptionId }),
        ConsistentRead: true,
      }),
    );
    return Item ? toException(unmarshall(Item)) : undefined;
  }

  async awaitDecision(exceptionId: string, patch: AwaitPatch): Promise<OwnedException | undefined> {
    try {
      const { Attributes } = await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: marshall({ pk: exceptionId }),
          UpdateExpression:
            'SET awaiting = :awaiting, ownerTeam = :owner, priority = :priority, slaDueAt = :due, ownerState = :ownerState, audit = list_append(audit, :audit)',
          ConditionExpression: 'attribute_exists(pk) AND #state = :open',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: marshall(
            {
              ':awaiting': patch.awaiting,
              ':owner': patch.ownerTeam,
              ':priority': patch.priority,
              ':due': patch.slaDueAt,
              ':ownerState': `${patch.ownerTeam}#open`,
              ':audit': [patch.audit],
              ':open': 'open',
            },
            { removeUndefinedValues: true },
          ),
          ReturnValues: 'ALL_NEW',
        }),
      );
      return Attributes ? toException(unmarshall(Attributes)) : undefined;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw error;
    }
  }

  /**
   * The one write that decides an exception: conditional on the item still being open, so of two decisions
   * racing (two operators, or an operator and the SLA fallback) exactly one is stored; the other gets the
   * stored exception back, with the winner's resolution, and applies nothing.
   */
  async resolve(
    current: OwnedException,
    resolution: ExceptionResolution,
    audit: AuditEntry,
  ): Promise<
    { resolved: true; exception: OwnedException } | { resolved: false; existing: OwnedException | undefined }
  > {
    try {
      const { Attributes } = await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: marshall({ pk: current.exceptionId }),
          UpdateExpression:
            'SET resolution = :resolution, #state = :resolved, ownerState = :ownerState, audit = list_append(audit, :audit)',
          ConditionExpression: 'attribute_exists(pk) AND #state = :open',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: marshall(
            {
              ':resolution': resolution,
              ':resolved': 'resolved',
              ':open': 'open',
              ':audit': [audit],
              // The team keeps the record; its open queue no longer lists it.
              ':ownerState': `${current.ownerTeam}#resolved`,
            },
            { removeUndefinedValues: true },
          ),
          ReturnValues: 'ALL_NEW',
        }),
      );
      if (!Attributes) return { resolved: false, existing: await this.get(current.exceptionId) };
      return { resolved: true, exception: toException(unmarshall(Attributes)) };
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        return { resolved: false, existing: await this.get(current.exceptionId) };
      }
      throw error;
    }
  }
}
