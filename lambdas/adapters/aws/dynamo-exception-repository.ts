import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { ExceptionRepository, OwnedException } from '../../ports/index.ts';

/** Largest raw payload kept inline with an exception; DynamoDB items stop at 400 KB. */
export const MAX_INLINE_PAYLOAD_BYTES = 256 * 1024;

/**
 * Owned exceptions in DynamoDB (pk = exceptionId). The `ownerState` attribute feeds the by-owner index
 * that team queues read; `orderId` feeds the by-order index used for an order's timeline.
 */
export class DynamoExceptionRepository implements ExceptionRepository {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async raiseIfAbsent(exception: OwnedException): Promise<{ created: boolean }> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            pk: exception.exceptionId,
            ...exception,
            ownerState: `${exception.ownerTeam}#${exception.state}`,
          },
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
