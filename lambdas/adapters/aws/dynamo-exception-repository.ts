import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { ExceptionRepository, OwnedException } from '../../ports/index.ts';

/** Largest raw payload kept inline with an exception; DynamoDB items stop at 400 KB. */
export const MAX_INLINE_PAYLOAD_BYTES = 256 * 1024;

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
          Item: marshall(
            {
              pk: exception.exceptionId,
              ...exception,
              ownerState: `${exception.ownerTeam}#${exception.state}`,
            },
            { removeUndefinedValues: true },
          ),
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return { created: true };
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return { created: false };
      throw error;
    }
  }
}
