import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { DeliveryLedger } from '../../ports/index.ts';

/**
 * Partner deliveries Handoff has acted on, one item per delivery beside the order in the orders table
 * (pk = orderId, sk = `DELIVERY#<source>#<deliveryId>`): a redelivered webhook finds its item and is
 * answered as a duplicate instead of being announced again.
 */
export class DynamoDeliveryLedger implements DeliveryLedger {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async seen(orderId: string, source: string, deliveryId: string): Promise<boolean> {
    const { Item } = await this.client.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: marshall({ pk: orderId, sk: `DELIVERY#${source}#${deliveryId}` }),
        ProjectionExpression: 'pk',
      }),
    );
    return Item !== undefined;
  }

  async record(orderId: string, source: string, deliveryId: string, at: string): Promise<{ first: boolean }> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: marshall({ pk: orderId, sk: `DELIVERY#${source}#${deliveryId}`, at }),
          ConditionExpression: 'attribute_not_exists(sk)',
        }),
      );
      return { first: true };
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return { first: false };
      throw error;
    }
  }
}
