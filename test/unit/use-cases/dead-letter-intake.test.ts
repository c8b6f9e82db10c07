import { beforeEach, describe, expect, it } from 'vitest';
import type {
  CanonicalEvent,
  DeadLetter,
  DeadLetterQueue,
  DeadLetterSource,
  ExceptionRepository,
  OrderRecord,
  OwnedException,
} from '../../../lambdas/ports/index.ts';
import {
  type DeadLetterDeps,
  deadLetterExceptionId,
  orderIdIn,
  takeInDeadLetters,
} from '../../../lambdas/use-cases/dead-letter-intake.ts';

const ERP_DLQ: DeadLetterQueue = {
  name: 'ErpIngressDlq',
  url: 'http://sqs.local/erp-dlq',
  arn: 'arn:aws:sqs:us-east-1:000000000000:erp-dlq',
  feeds: 'ERP sales orders that failed ingestion 5 times',
};
const FUNCTION_DLQ: DeadLetterQueue = {
  name: 'FunctionFailureDlq',
  url: 'http://sqs.local/fn-dlq',
  arn: 'arn:aws:sqs:us-east-1:000000000000:fn-dlq',
  feeds: 'asynchronous Lambda invocations that failed all retries',
};

/** A DLQ read the way peek reads it: the messages stay, every read sees them all again. */
class Queues implements DeadLetterSource {
  readonly messages = new Map<string, DeadLetter[]>();
  reads = 0;
  async peek(queue: DeadLetterQueue, max: number) {
    this.reads += 1;
    return (this.messages.get(queue.name) ?? []).slice(0, max);
  }
  put(queue: DeadLetterQueue, letter: Partial<DeadLetter> & { body: string }) {
    const list = this.messages.get(queue.name) ?? [];
    list.push({ messageId: `m-${list.length + 1}`, receiveCount: 1, messageAttributes: {}, ...letter });
    this.messages.set(queue.name, list);
  }
}

class Exceptions implements ExceptionRepository {
  readonly items = new Map<string, OwnedException>();
  async raiseIfAbsent(exception: OwnedException) {
    if (this.items.has(exception.exceptionId)) return { created: false };
    this.items.set(exception.exceptionId, exception);
    return { created: true };
  }
  async get(id: string) {
    return this.items.get(id);
  }
  awaitDecision(): never {
    throw new Error('not used');
  }
  resolve(): never {
    throw new Error('not used');
  }
}

let queues: Queues;
let exceptions: Exceptions;
let published: CanonicalEvent[];
let deps: DeadLetterDeps;

beforeEach(() => {
  queues = new Queues();
  exceptions = new Exceptions();
  published = [];
  deps = {
    queues: [ERP_DLQ, FUNCTION_DLQ],
    source: queues,
    exceptions,
    orders: {
      get: async (orderId: string) =>
        orderId === 'ERP-4500012345' ? ({ orderId, stage: 'credit-approved' } as OrderRecord) : undefined,
    },
    events: { publish: async (events) => void published.push(...events) },
    clock: { now: () => new Date('2026-12-03T15:00:00.000Z') },
  };
});

describe('dead-letter intake', () => {
  it('makes each DLQ message an integration exception that keeps the payload and the cause', async () => {
    const body = JSON.stringify({ version: '0', detail: { orderId: 'ERP-4500012345', occurredAt: 'x' } });
    queues.put(FUNCTION_DLQ, {
      messageId: 'abc-1',
      body,
      sentAt: '2026-12-03T14:58:00.000Z',
      receiveCount: 1,
      messageAttributes: { ErrorCode: '200', ErrorMessage: 'PartnerUnavailable: wms: 503' },
    });
    const outcome = await takeInDeadLetters(deps);

    const id = deadLetterExceptionId('FunctionFailureDlq', 'abc-1');
    expect(outcome).toEqual({ seen: 1, raised: [id] });
    expect(exceptions.items.get(id)).toMatchObject({
      type: 'integration-failure',
      ownerTeam: 'integration',
      priority: 'high',
      state: 'open',
      orderId: 'ERP-4500012345',
      stage: 'credit-approved',
      slaDueAt: '2026-12-03T19:00:00.000Z',
      reasonCodes: ['DEAD_LETTER', 'DLQ:FunctionFailureDlq'],
      context: {
        queue: 'FunctionFailureDlq',
        messageId: 'abc-1',
        deadLetteredAt: '2026-12-03T14:58:00.000Z',
        cause: 'PartnerUnavailable: wms: 503; error code 200',
        payload: body,
      },
    });
    expect(exceptions.items.get(id)?.recommendedAction).toContain(
      'handoff dlq redrive --queue FunctionFailureDlq',
    );
    expect(published.map((e) => e.name)).toEqual(['exception.raised']);
  });

  it("takes a Lambda on-failure record in as the event it carries, naming the function and Lambda's cause", async () => {
    const event = {
      version: '0',
      id: 'evt-1',
      'detail-type': 'shipment.delivered.v1',
      detail: { orderId: 'ERP-4500012345', shipmentId: 'S1' },
    };
    const record = JSON.stringify({ version: '1.0', requestContext: {}, requestPayload: event });
    queues.put(FUNCTION_DLQ, {
      messageId: 'rec-1',
      body: record,
      failedInvocation: {
        functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:Handoff-dev-ProcessRecorder:$LATEST',
        functionName: 'Handoff-dev-ProcessRecorder',
        condition: 'RetriesExhausted',
        approximateInvokeCount: 3,
        errorType: 'PartnerUnavailable',
        errorMessage: 'wms: 503',
        requestPayload: JSON.stringify(event),
      },
    });
    await takeInDeadLetters(deps);

    // Same id scheme as every dead letter: queue and message id.
    const exception = exceptions.items.get(deadLetterExceptionId('FunctionFailureDlq', 'rec-1'));
    expect(exception).toMatchObject({
      orderId: 'ERP-4500012345',
      stage: 'credit-approved',
      reasonCodes: ['DEAD_LETTER', 'DLQ:FunctionFailureDlq'],
      context: {
        queue: 'FunctionFailureDlq',
        messageId: 'rec-1',
        function: 'Handoff-dev-ProcessRecorder',
        functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:Handoff-dev-ProcessRecorder:$LATEST',
        condition: 'RetriesExhausted',
        approximateInvokeCount: 3,
        cause: 'PartnerUnavailable: wms: 503 (RetriesExhausted after 3 attempts)',
        payload: JSON.stringify(event),
      },
    });
    expect(exception?.recommendedAction).toContain(
      'this one reached FunctionFailureDlq from Handoff-dev-ProcessRecorder (PartnerUnavailable: wms: 503',
    );
  });

  it('takes in a record of an event that expired before any attempt, and a step payload by its orderId', async () => {
    queues.put(FUNCTION_DLQ, {
      messageId: 'rec-2',
      body: '{}',
      failedInvocation: {
        functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:Handoff-dev-SlaTracker:$LATEST',
        functionName: 'Handoff-dev-SlaTracker',
        condition: 'EventAgeExceeded',
        approximateInvokeCount: 0,
        requestPayload: JSON.stringify({ orderId: 'ERP-77' }),
      },
    });
    await takeInDeadLetters(deps);
    const exception = exceptions.items.get(deadLetterExceptionId('FunctionFailureDlq', 'rec-2'));
    expect(exception?.orderId).toBe('ERP-77');
    expect(exception?.context).toMatchObject({
      function: 'Handoff-dev-SlaTracker',
      cause: 'no error recorded (EventAgeExceeded after 0 attempts)',
      payload: '{"orderId":"ERP-77"}',
    });
  });

  it('raises nothing new when it sees the same messages again', async () => {
    queues.put(ERP_DLQ, { body: '{"SalesOrder":"4500012345"}' });
    queues.put(ERP_DLQ, { body: 'not json' });
    await takeInDeadLetters(deps);
    const again = await takeInDeadLetters(deps);
    expect(again).toEqual({ seen: 2, raised: [] });
    expect(exceptions.items.size).toBe(2);
    expect(published).toHaveLength(2);
  });

  it('names an unidentifiable payload by its hash, and keeps a huge one in part with its size and hash', async () => {
    const huge = 'x'.repeat(300 * 1024);
    queues.put(ERP_DLQ, { messageId: 'big', body: huge });
    await takeInDeadLetters(deps);
    const exception = exceptions.items.get(deadLetterExceptionId('ErpIngressDlq', 'big'));
    expect(exception?.orderId).toMatch(/^UNIDENTIFIED-[0-9a-f]{16}$/);
    expect(exception?.stage).toBe('received');
    expect(exception?.context).toMatchObject({
      orderIdentified: false,
      payloadTruncated: true,
      payloadBytes: 300 * 1024,
      payloadSha256: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(String(exception?.context.payload)).toHaveLength(256 * 1024);
  });

  it('reads every queue, and reads nothing more than the queues', async () => {
    await takeInDeadLetters(deps);
    expect(queues.reads).toBe(2);
    expect(published).toEqual([]);
  });
});

describe('the order a dead letter is about', () => {
  it.each([
    ['a canonical event', JSON.stringify({ detail: { orderId: 'EDI-LAKESHORE-PO1' } }), 'EDI-LAKESHORE-PO1'],
    ['a step payload', JSON.stringify({ orderId: 'ERP-77' }), 'ERP-77'],
    ['an ERP sales order', JSON.stringify({ SalesOrder: 4500012345 }), 'ERP-4500012345'],
    ['an X12 interchange', 'ISA*00*          *00*', undefined],
    ['an id that is not one', JSON.stringify({ orderId: 'DROP TABLE' }), undefined],
  ])('%s', (_label, body, expected) => {
    expect(orderIdIn(body)).toBe(expected);
  });
});
