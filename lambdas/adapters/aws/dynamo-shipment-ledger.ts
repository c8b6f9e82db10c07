import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  PutItemCommand,
  QueryCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type {
  RecordedInvoice,
  RecordedNotification,
  RecordedShipment,
  ShipmentLedger,
  ShipmentLedgerEntries,
} from '../../ports/index.ts';

const KINDS = { shipment: 'SHIPMENT#', invoice: 'INVOICE#', notification: 'NOTIFICATION#' } as const;

/**
 * An order's shipments, invoices and customer notifications, as items beside the order record in the
 * orders table (pk = orderId, sk = `SHIPMENT#<id>` / `INVOICE#<id>` / `NOTIFICATION#<id>`). They carry no
 * stage attributes, so the by-stage index never sees them. Writes are first-write-wins on the id.
 */
export class DynamoShipmentLedger implements ShipmentLedger {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async entries(orderId: string): Promise<ShipmentLedgerEntries> {
    // 'INVOICE#' < 'NOTIFICATION#' < 'ORDER' < 'SHIPMENT#': two key ranges leave the order item unread.
    const [notes, shipped] = await Promise.all([
      this.query(orderId, 'sk BETWEEN :from AND :to', {
        ':from': KINDS.invoice,
        ':to': `${KINDS.notification}\uffff`,
      }),
      this.query(orderId, 'begins_with(sk, :prefix)', { ':prefix': KINDS.shipment }),
    ]);
    const shipments: RecordedShipment[] = [];
    const invoices: RecordedInvoice[] = [];
    const notifications: RecordedNotification[] = [];
    for (const { sk, entry } of [...notes, ...shipped]) {
      if (sk.startsWith(KINDS.shipment)) shipments.push(entry as RecordedShipment);
      else if (sk.startsWith(KINDS.invoice)) invoices.push(entry as RecordedInvoice);
      else if (sk.startsWith(KINDS.notification)) notifications.push(entry as RecordedNotification);
    }
    return { shipments, invoices, notifications };
  }

  private async query(
    orderId: string,
    condition: string,
    values: Record<string, string>,
  ): Promise<{ sk: string; entry: unknown }[]> {
    const items: { sk: string; entry: unknown }[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: `pk = :pk AND ${condition}`,
          ExpressionAttributeValues: marshall({ ':pk': orderId, ...values }),
          ConsistentRead: true,
          ...(start ? { ExclusiveStartKey: marshall(start) } : {}),
        }),
      );
      for (const raw of page.Items ?? []) items.push(unmarshall(raw) as { sk: string; entry: unknown });
      start = page.LastEvaluatedKey ? unmarshall(page.LastEvaluatedKey) : undefined;
    } while (start);
    return items;
  }

  recordShipment(orderId: string, shipment: RecordedShipment) {
    return this.put(orderId, `${KINDS.shipment}${shipment.shipmentId}`, shipment);
  }

  recordInvoice(orderId: string, invoice: RecordedInvoice) {
    return this.put(orderId, `${KINDS.invoice}${invoice.invoiceId}`, invoice);
  }

  recordNotification(orderId: string, notification: RecordedNotification) {
    return this.put(orderId, `${KINDS.notification}${notification.notificationId}`, notification);
  }

  private async put(orderId: string, sk: string, entry: object): Promise<{ recorded: boolean }> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: marshall({ pk: orderId, sk, entry }, { removeUndefinedValues: true }),
          ConditionExpression: 'attribute_not_exists(sk)',
        }),
      );
      return { recorded: true };
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return { recorded: false };
      throw error;
    }
  }
}
