import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../local/clock/clock.ts';
import {
  EventBridgeService,
  MAX_ENTRY_BYTES,
  type PutEventsEntry,
} from '../../../local/eventbridge/bus-service.ts';
import type { LambdaRuntime } from '../../../local/lambda/runtime.ts';
import type { SqsService } from '../../../local/sqs/sqs-service.ts';
import type { SfnService } from '../../../local/stepfunctions/sfn-service.ts';
import { CloudModel, LOCAL_ACCOUNT, LOCAL_REGION } from '../../../local/template/model.ts';

const dir = mkdtempSync(join(tmpdir(), 'handoff-bus-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// A custom bus with an archive and no rules: accepted events are observable in the archive, and nothing is
// delivered anywhere.
writeFileSync(
  join(dir, 'manifest.json'),
  JSON.stringify({
    artifacts: { S: { type: 'aws:cloudformation:stack', properties: { templateFile: 'S.template.json' } } },
  }),
);
writeFileSync(
  join(dir, 'S.template.json'),
  JSON.stringify({
    Resources: {
      Bus: { Type: 'AWS::Events::EventBus', Properties: { Name: 'fulfilment' } },
      Archive: {
        Type: 'AWS::Events::Archive',
        Properties: { ArchiveName: 'all', SourceArn: { 'Fn::GetAtt': ['Bus', 'Arn'] }, RetentionDays: 7 },
      },
    },
  }),
);

const START = new Date('2030-01-02T03:04:05.678Z');

function service(): EventBridgeService {
  const model = new CloudModel(dir, { sqsQueueUrl: (name) => `http://localhost/${name}` });
  return new EventBridgeService(
    model,
    {
      lambda: {} as unknown as LambdaRuntime,
      sfn: {} as unknown as SfnService,
      sqs: {} as unknown as SqsService,
    },
    new VirtualClock(START),
  );
}

const entry = (extra: Partial<PutEventsEntry> = {}): PutEventsEntry => ({
  EventBusName: 'fulfilment',
  Source: 'handoff.test',
  DetailType: 'Order Received',
  Detail: '{"orderId":"o-1"}',
  ...extra,
});

function rejectsRequest(run: () => unknown): Error {
  try {
    run();
  } catch (error) {
    return error as Error;
  }
  throw new Error('the request was accepted');
}

describe('EventBridgeService.putEvents: request validation', () => {
  it('refuses an empty request and one with more than 10 entries', () => {
    const events = service();
    expect(rejectsRequest(() => events.putEvents([])).name).toBe('ValidationException');
    expect(rejectsRequest(() => events.putEvents(Array.from({ length: 11 }, () => entry()))).name).toBe(
      'ValidationException',
    );
    expect(events.putEvents(Array.from({ length: 10 }, () => entry())).FailedEntryCount).toBe(0);
  });

  it('fails an entry for a bus that does not exist, accepting the others of the batch', () => {
    const events = service();
    const result = events.putEvents([entry(), entry({ EventBusName: 'nope' }), entry()]);
    expect(result.FailedEntryCount).toBe(1);
    expect(result.Entries[1]).toEqual({
      ErrorCode: 'ResourceNotFoundException',
      ErrorMessage: 'Event bus nope does not exist.',
    });
    expect(result.Entries[0]?.EventId).toEqual(expect.any(String));
    expect(result.Entries[2]?.EventId).toEqual(expect.any(String));
    expect(result.Entries[0]?.EventId).not.toBe(result.Entries[2]?.EventId);
  });

  it('takes the bus by name or ARN, and the default bus when none is named', () => {
    const events = service();
    const arn = `arn:aws:events:${LOCAL_REGION}:${LOCAL_ACCOUNT}:event-bus/fulfilment`;
    const { EventBusName: _bus, ...onDefault } = entry();
    void _bus;
    expect(events.putEvents([entry({ EventBusName: arn }), onDefault]).FailedEntryCount).toBe(0);
  });

  it.each([
    ['no Source', { Source: undefined }],
    ['no DetailType', { DetailType: undefined }],
    ['no Detail', { Detail: undefined }],
    ['an empty Source', { Source: '' }],
  ])('fails an entry with %s as InvalidArgument', (_what, extra) => {
    const result = service().putEvents([entry(extra as Partial<PutEventsEntry>)]);
    expect(result.FailedEntryCount).toBe(1);
    expect(result.Entries[0]?.ErrorCode).toBe('InvalidArgument');
  });

  it.each([
    ['not JSON', '{orderId: 1'],
    ['a JSON array', '[1,2]'],
    ['a JSON string', '"text"'],
    ['JSON null', 'null'],
  ])('fails an entry whose Detail is %s as MalformedDetail', (_what, Detail) => {
    const result = service().putEvents([entry({ Detail })]);
    expect(result.Entries[0]?.ErrorCode).toBe('MalformedDetail');
  });

  it('accepts an entry of exactly 256 KB, counted in UTF-8 bytes, and fails one a byte larger', () => {
    const events = service();
    const base = entry();
    // Size counts Source, DetailType, Detail and each of Resources, in UTF-8 bytes ('é' is two).
    const fixed =
      Buffer.byteLength(base.Source ?? '') +
      Buffer.byteLength(base.DetailType ?? '') +
      Buffer.byteLength('r');
    const head = `{"pad":"${'é'.repeat(1000)}`;
    const exact = `${head}${'x'.repeat(MAX_ENTRY_BYTES - fixed - Buffer.byteLength(head) - 2)}"}`;
    expect(Buffer.byteLength(exact)).toBe(MAX_ENTRY_BYTES - fixed);
    expect(events.putEvents([entry({ Detail: exact, Resources: ['r'] })]).FailedEntryCount).toBe(0);
    const over = events.putEvents([entry({ Detail: exact, Resources: ['r', 'x'] })]);
    expect(over.FailedEntryCount).toBe(1);
    expect(over.Entries[0]?.ErrorCode).toBe('ValidationException');
  });

  // "Calculating Amazon EventBridge PutEvents event entry size": "If specified, the Time parameter is 14
  // bytes." An entry 10 bytes under the limit goes over it once it carries a Time.
  it('counts a given Time as 14 bytes of the entry size', () => {
    const events = service();
    const base = entry();
    const fixed = Buffer.byteLength(base.Source ?? '') + Buffer.byteLength(base.DetailType ?? '');
    const padding = MAX_ENTRY_BYTES - 10 - fixed - '{"pad":""}'.length;
    const Detail = `{"pad":"${'x'.repeat(padding)}"}`;
    expect(events.putEvents([entry({ Detail })]).FailedEntryCount).toBe(0);
    const timed = events.putEvents([entry({ Detail, Time: new Date('2030-01-01T00:00:00Z') })]);
    expect(timed.Entries[0]?.ErrorCode).toBe('ValidationException');
  });
});

describe('EventBridgeService.putEvents: the event it builds', () => {
  it('builds the EventBridge envelope in the local account and region, at the clock’s time', () => {
    const events = service();
    const result = events.putEvents([entry({ Resources: ['arn:x'] })]);
    const archived = events.archives[0]?.events ?? [];
    expect(archived).toHaveLength(1);
    expect(archived[0]?.event).toEqual({
      version: '0',
      id: result.Entries[0]?.EventId,
      'detail-type': 'Order Received',
      source: 'handoff.test',
      account: LOCAL_ACCOUNT,
      time: '2030-01-02T03:04:05Z',
      region: LOCAL_REGION,
      resources: ['arn:x'],
      detail: { orderId: 'o-1' },
    });
    expect(archived[0]?.archivedAt).toEqual(START);
  });

  it('uses the entry’s Time when given, and no resources when none are', () => {
    const events = service();
    events.putEvents([entry({ Time: '2029-12-31T23:59:58.999Z' })]);
    const event = events.archives[0]?.events[0]?.event;
    expect(event?.time).toBe('2029-12-31T23:59:58Z');
    expect(event?.resources).toEqual([]);
  });

  it('archives only events of the archive’s own bus, and none that failed', () => {
    const events = service();
    const { EventBusName: _bus, ...onDefault } = entry();
    void _bus;
    events.putEvents([onDefault, entry({ Detail: '[]' }), entry({ DetailType: 'Kept' })]);
    expect(events.archives[0]?.events.map((e) => e.event['detail-type'])).toEqual(['Kept']);
  });
});
