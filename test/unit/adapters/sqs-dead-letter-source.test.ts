import { type Message, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import {
  failedInvocationIn,
  SqsDeadLetterSource,
} from '../../../lambdas/adapters/aws/sqs-dead-letter-source.ts';

/**
 * Lambda's invocation record for an asynchronous invocation that failed every attempt, as an SQS on-failure
 * destination receives it (the shape AWS documents for `aws-lambda-destinations`; the Node.js runtime
 * reports a thrown error as `errorType`, `errorMessage` and `trace`).
 */
const event = {
  version: '0',
  id: 'evt-1',
  'detail-type': 'shipment.delivered.v1',
  source: 'handoff.shipping',
  detail: { orderId: 'ERP-4500012345', shipmentId: 'ERP-4500012345-S1' },
};
const record = {
  version: '1.0',
  timestamp: '2026-12-03T15:03:00.000Z',
  requestContext: {
    requestId: '8ea123e4-1db7-4aca-ad10-d9ca1234c1fd',
    functionArn:
      'arn:aws:lambda:eu-west-1:123456789012:function:Handoff-prod-Stateless-ProcessRecorder:$LATEST',
    condition: 'RetriesExhausted',
    approximateInvokeCount: 3,
  },
  requestPayload: event,
  responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
  responsePayload: {
    errorType: 'PartnerUnavailable',
    errorMessage: 'wms: 503',
    trace: ['PartnerUnavailable: wms: 503', '    at record (file:///var/task/index.mjs:1:2)'],
  },
};

describe('a Lambda on-failure record on a DLQ', () => {
  it('is read as the failed invocation: function, condition, attempts, last error and the event', () => {
    expect(failedInvocationIn(JSON.stringify(record))).toEqual({
      functionArn: record.requestContext.functionArn,
      functionName: 'Handoff-prod-Stateless-ProcessRecorder',
      condition: 'RetriesExhausted',
      approximateInvokeCount: 3,
      errorType: 'PartnerUnavailable',
      errorMessage: 'wms: 503',
      requestPayload: JSON.stringify(event),
    });
  });

  it('is read without an error when the event expired before any attempt', () => {
    const expired = {
      ...record,
      requestContext: { ...record.requestContext, condition: 'EventAgeExceeded', approximateInvokeCount: 0 },
      responseContext: undefined,
      responsePayload: undefined,
    };
    const invocation = failedInvocationIn(JSON.stringify(expired));
    expect(invocation).toMatchObject({ condition: 'EventAgeExceeded', approximateInvokeCount: 0 });
    expect(invocation).not.toHaveProperty('errorType');
  });

  it.each([
    ['an event dead-lettered as itself', JSON.stringify(event)],
    ['an ERP sales order', JSON.stringify({ SalesOrder: '4500012345' })],
    ['an X12 interchange', 'ISA*00*          *00*'],
    [
      'a success record',
      JSON.stringify({ ...record, requestContext: { ...record.requestContext, condition: 'Success' } }),
    ],
    [
      'a record naming no function',
      JSON.stringify({
        ...record,
        requestContext: { ...record.requestContext, functionArn: 'ProcessRecorder' },
      }),
    ],
    ['a record without the event', JSON.stringify({ ...record, requestPayload: undefined })],
  ])('is not confused with %s', (_label, body) => {
    expect(failedInvocationIn(body)).toBeUndefined();
  });
});

describe('peeking a DLQ', () => {
  it('reads messages with their attributes, and a Lambda on-failure record as the invocation it records', async () => {
    const messages: Message[] = [
      {
        MessageId: 'm-1',
        Body: JSON.stringify(record),
        Attributes: {
          SentTimestamp: String(Date.parse('2026-12-03T15:03:01.000Z')),
          ApproximateReceiveCount: '2',
        },
      },
      {
        MessageId: 'm-2',
        Body: JSON.stringify(event),
        MessageAttributes: {
          RULE_ARN: { DataType: 'String', StringValue: 'arn:aws:events:eu-west-1:1:rule/b/r' },
        },
      },
    ];
    const sent: ReceiveMessageCommand[] = [];
    const sqs = {
      send: async (command: ReceiveMessageCommand) => {
        sent.push(command);
        return { Messages: sent.length === 1 ? messages : [] };
      },
    } as unknown as SQSClient;
    const queue = { name: 'FunctionFailureDlq', url: 'http://sqs/fn-dlq', arn: 'arn:aws:sqs:x', feeds: 'x' };

    const letters = await new SqsDeadLetterSource(sqs).peek(queue, 100);

    expect(sent[0]).toBeInstanceOf(ReceiveMessageCommand);
    expect(letters).toEqual([
      {
        messageId: 'm-1',
        body: JSON.stringify(record),
        sentAt: '2026-12-03T15:03:01.000Z',
        receiveCount: 2,
        messageAttributes: {},
        failedInvocation: expect.objectContaining({
          functionName: 'Handoff-prod-Stateless-ProcessRecorder',
          requestPayload: JSON.stringify(event),
        }),
      },
      {
        messageId: 'm-2',
        body: JSON.stringify(event),
        receiveCount: 1,
        messageAttributes: { RULE_ARN: 'arn:aws:events:eu-west-1:1:rule/b/r' },
      },
    ]);
  });
});
