import { GetQueueAttributesCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deadLetterExceptionId } from '../../lambdas/use-cases/dead-letter-intake.ts';
import { VirtualClock } from '../../local/clock/clock.ts';
import type { LocalCloud } from '../../local/cloud.ts';
import { sampleOrders } from '../../local/demo/sample-orders.ts';
import { quiet } from '../support/faults.ts';
import { queueNamed, startTestCloud, type TestCloud, until } from '../support/test-cloud.ts';

/**
 * Nothing is lost: an ERP sales order on the ingress DLQ becomes, at the dead-letter intake's next run,
 * one owned integration exception that keeps the payload, while the message stays on the DLQ for
 * `handoff dlq redrive`.
 */
const clock = new VirtualClock(new Date('2026-12-03T15:00:00.000Z'));
let world: TestCloud;
let cloud: LocalCloud;

beforeAll(async () => {
  world = await startTestCloud({ clock, context: { 'handoff:deadLetterIntakeMinutes': 1 } });
  cloud = world.cloud;
});

afterAll(async () => {
  await world?.stop();
});

/** Messages on the queue, visible or not (a peeked one is briefly invisible, still there). */
async function depth(url: string): Promise<number> {
  const { Attributes = {} } = await world.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: url,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return (
    Number(Attributes.ApproximateNumberOfMessages ?? 0) +
    Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0)
  );
}

const raisedFor = (exceptionId: string) =>
  (cloud.events.archives[0]?.events ?? []).filter(
    (e) =>
      e.event['detail-type'] === 'exception.raised.v1' &&
      (e.event.detail as { exceptionId?: string }).exceptionId === exceptionId,
  );

describe('dead letters become owned exceptions', () => {
  it('an order on the ingress DLQ becomes one integration exception, and stays on the DLQ', async () => {
    const sample = sampleOrders(clock.now(), 'DLQ1').find((o) => o.label.startsWith('wholesale order'));
    const body = JSON.stringify(sample?.body);
    // What the ingress queue's redrive policy does after five failed receives (fauxqs keeps visibility
    // timeouts in real time, so the five 180-second timeouts are not waited out here): the message lands
    // on the ingress DLQ as it was sent.
    const dlq = queueNamed(cloud, 'ErpIngressDlq');
    await world.sqs.send(new SendMessageCommand({ QueueUrl: dlq.url, MessageBody: body }));
    expect(await depth(dlq.url)).toBe(1);

    // The next intake run (every minute) raises the exception.
    await clock.advance(60_000);
    await quiet(cloud);
    const orderId = `ERP-${String(sample?.body.SalesOrder)}`;
    const raised = await until('the exception is raised', () => {
      const [event] = (cloud.events.archives[0]?.events ?? []).filter(
        (e) =>
          e.event['detail-type'] === 'exception.raised.v1' &&
          (e.event.detail as { orderId?: string; reasonCodes?: string[] }).reasonCodes?.includes(
            'DEAD_LETTER',
          ),
      );
      return event?.event.detail as { exceptionId: string; orderId: string } | undefined;
    });
    expect(raised.orderId).toBe(orderId);
    const { Item: exception } = await cloud.dynamodb.documents.send(
      new GetCommand({
        TableName: cloud.tables.find((t) => t.resource.logicalId.startsWith('ExceptionsTable'))?.name,
        Key: { pk: raised.exceptionId },
      }),
    );
    expect(exception).toMatchObject({
      type: 'integration-failure',
      ownerTeam: 'integration',
      state: 'open',
      reasonCodes: ['DEAD_LETTER', 'DLQ:ErpIngressDlq'],
      context: { queue: 'ErpIngressDlq', payload: body },
    });
    expect(String(exception?.recommendedAction)).toContain('handoff dlq redrive --queue ErpIngressDlq');
    const messageId = String((exception?.context as { messageId?: string } | undefined)?.messageId);
    expect(exception?.exceptionId).toBe(deadLetterExceptionId('ErpIngressDlq', messageId));

    // Later runs raise nothing more (the unit tests show a re-read message raises nothing); it stays for the redrive.
    for (let minute = 0; minute < 3; minute++) {
      await clock.advance(60_000);
      await quiet(cloud);
    }
    expect(raisedFor(raised.exceptionId)).toHaveLength(1);
    await clock.advance(60_000);
    expect(await depth(dlq.url)).toBe(1);
    // No order was created from the failed message.
    const { Item: order } = await cloud.dynamodb.documents.send(
      new GetCommand({
        TableName: cloud.tables.find((t) => t.resource.logicalId.startsWith('OrdersTable'))?.name,
        Key: { pk: orderId, sk: 'ORDER' },
      }),
    );
    expect(order).toBeUndefined();
  }, 120_000);
});
