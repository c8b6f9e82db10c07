import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type {
  ControlNumberPort,
  ControlNumberReservation,
  EdiPurchaseOrder,
  EdiPurchaseOrderStore,
} from '../../ports/index.ts';

const MAX_CONTROL_NUMBER = 999_999_999;

/**
 * EDI items in the orders table, beside the order records. Purchase order references: pk = orderId,
 * sk = `EDI#PURCHASE_ORDER`, first write wins. Control numbers: pk = `EDI-PARTNER#<ISA06>` (never an order
 * id: order ids have no `#`), sk = `CONTROL#COUNTER` (an atomic counter) and `CONTROL#DOC#<document key>`
 * (one reservation per document). Two racing first reservations of one document both draw a number; the
 * loser's is left unused (a gap, which X12 allows) and it answers the winner's reservation.
 */
export class DynamoEdiStore implements EdiPurchaseOrderStore, ControlNumberPort {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async putIfAbsent(purchaseOrder: EdiPurchaseOrder): Promise<{ readonly created: boolean }> {
    return this.putOnce(purchaseOrder.orderId, 'EDI#PURCHASE_ORDER', { purchaseOrder });
  }

  async get(orderId: string): Promise<EdiPurchaseOrder | undefined> {
    const item = await this.read(orderId, 'EDI#PURCHASE_ORDER');
    return item ? (item.purchaseOrder as EdiPurchaseOrder) : undefined;
  }

  async reserve(partnerId: string, documentKey: string, at: Date): Promise<ControlNumberReservation> {
    const pk = `EDI-PARTNER#${partnerId}`;
    const sk = `CONTROL#DOC#${documentKey}`;
    const reserved = await this.read(pk, sk);
    if (reserved)
      return { controlNumber: Number(reserved.controlNumber), reservedAt: String(reserved.reservedAt) };
    const counter = await this.client.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: marshall({ pk, sk: 'CONTROL#COUNTER' }),
        UpdateExpression: 'ADD lastIssued :one',
        ExpressionAttributeValues: marshall({ ':one': 1 }),
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    const issued = Number(unmarshall(counter.Attributes ?? {}).lastIssued);
    const reservation = {
      controlNumber: ((issued - 1) % MAX_CONTROL_NUMBER) + 1,
      reservedAt: at.toISOString(),
    };
    const { created } = await this.putOnce(pk, sk, reservation);
    if (created) return reservation;
    const winner = await this.read(pk, sk);
    if (!winner) throw new Error(`control number reservation ${pk} ${sk} vanished`);
    return { controlNumber: Number(winner.controlNumber), reservedAt: String(winner.reservedAt) };
  }

  private async read(pk: string, sk: string): Promise<Record<string, unknown> | undefined> {
    const { Item } = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: marshall({ pk, sk }), ConsistentRead: true }),
    );
    return Item ? unmarshall(Item) : undefined;
  }

  private async putOnce(pk: string, sk: string, fields: object): Promise<{ readonly created: boolean }> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: marshall({ pk, sk, ...fields }, { removeUndefinedValues: true }),
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
