import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { realClock } from '../../../local/clock/clock.ts';
import { type BusEvent, EventBridgeService, transformInput } from '../../../local/eventbridge/bus-service.ts';
import type { LambdaRuntime } from '../../../local/lambda/runtime.ts';
import type { SqsService } from '../../../local/sqs/sqs-service.ts';
import type { SfnService } from '../../../local/stepfunctions/sfn-service.ts';
import { CloudModel } from '../../../local/template/model.ts';

/** The EC2 event of "Amazon EventBridge input transformation" (EventBridge user guide). */
const EC2_EVENT: BusEvent = {
  version: '0',
  id: '7bf73129-1428-4cd3-a780-95db273d1602',
  'detail-type': 'EC2 Instance State-change Notification',
  source: 'aws.ec2',
  account: '123456789012',
  time: '2015-11-11T21:29:54Z',
  region: 'us-east-1',
  resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111'],
  detail: { 'instance-id': 'i-0123456789', state: 'RUNNING' },
};

const RULE = { name: 'ec2-state', arn: 'arn:aws:events:us-east-1:000000000000:rule/ec2-state' };
const PATHS = { instance: '$.detail.instance-id', state: '$.detail.state' };

const transform = (InputTemplate: string, InputPathsMap: Record<string, string> = PATHS, event = EC2_EVENT) =>
  transformInput({ InputPathsMap, InputTemplate }, event, RULE);

describe('transformInput: variables inside and outside quotes', () => {
  it('inserts a string inside quotes raw (the user guide’s "instance <instance> is in <state>")', () => {
    expect(transform('"instance <instance> is in <state>"')).toBe('"instance i-0123456789 is in RUNNING"');
  });

  it('inserts a string outside quotes as a JSON string, next to literal JSON', () => {
    const text = transform('{"instance": <instance>, "state": [9, <state>, true], "Transformed": "Yes"}');
    expect(text).toBe('{"instance": "i-0123456789", "state": [9, "RUNNING", true], "Transformed": "Yes"}');
    expect(JSON.parse(text)).toEqual({
      instance: 'i-0123456789',
      state: [9, 'RUNNING', true],
      Transformed: 'Yes',
    });
  });

  it('mixes both in one template (the API reference example with escaped quotes)', () => {
    const text = transform('{"myInstance": <instance>,"myStatus": "<instance> is in state \\"<state>\\""}');
    expect(JSON.parse(text)).toEqual({
      myInstance: 'i-0123456789',
      myStatus: 'i-0123456789 is in state "RUNNING"',
    });
  });

  it('inserts objects, arrays, numbers and booleans outside quotes as JSON', () => {
    const event: BusEvent = {
      ...EC2_EVENT,
      detail: { order: { id: 'o-1', lines: [{ sku: 'A', qty: 2 }] }, count: 3, urgent: false },
    };
    const text = transform(
      '{"order": <order>, "lines": <lines>, "count": <count>, "urgent": <urgent>, "all": <detail>}',
      {
        order: '$.detail.order',
        lines: '$.detail.order.lines',
        count: '$.detail.count',
        urgent: '$.detail.urgent',
        detail: '$.detail',
      },
      event,
    );
    expect(JSON.parse(text)).toEqual({
      order: { id: 'o-1', lines: [{ sku: 'A', qty: 2 }] },
      lines: [{ sku: 'A', qty: 2 }],
      count: 3,
      urgent: false,
      all: event.detail,
    });
  });

  it('keeps the output valid JSON when an inserted string holds quotes or backslashes', () => {
    const event: BusEvent = { ...EC2_EVENT, detail: { note: 'say "hi" \\ bye' } };
    const text = transform('{"text": "note: <note>", "raw": <note>}', { note: '$.detail.note' }, event);
    expect(JSON.parse(text)).toEqual({ text: 'note: say "hi" \\ bye', raw: 'say "hi" \\ bye' });
  });

  it('inserts null for a path the event does not have', () => {
    const text = transform('{"missing": <missing>, "deeper": <deeper>, "state": <state>}', {
      ...PATHS,
      missing: '$.detail.nope',
      deeper: '$.detail.state.not.an.object',
    });
    expect(JSON.parse(text)).toEqual({ missing: null, deeper: null, state: 'RUNNING' });
  });

  it('leaves a template without placeholders unchanged', () => {
    expect(transform('{"fixed": "a < b > c"}', {})).toBe('{"fixed": "a < b > c"}');
    expect(transform('"just text"', {})).toBe('"just text"');
  });

  // The user guide lists array indices among the supported JSON path syntax ("you can also use square
  // brackets and an index to get items from an array"): `$.resources[0]` is the first resource.
  it('reads an array item by index in InputPathsMap', () => {
    const text = transform('{"resource": <first>}', { first: '$.resources[0]' });
    expect(JSON.parse(text)).toEqual({ resource: 'arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111' });
  });

  // A JSON string literal that ends in an escaped backslash ("C:\\") closes at its quote; the transformer
  // takes that quote for an escaped one and so treats the next placeholder as inside a string.
  it('knows a quote after an escaped backslash closes the string', () => {
    const text = transform('{"dir": "C:\\\\", "detail": <detail>}', { detail: '$.detail' });
    expect(JSON.parse(text)).toEqual({ dir: 'C:\\', detail: EC2_EVENT.detail });
  });
});

describe('transformInput: predefined variables', () => {
  it('provides the rule ARN and name without a path', () => {
    expect(
      JSON.parse(transform('{"rule": <aws.events.rule-name>, "arn": "<aws.events.rule-arn>"}', {})),
    ).toEqual({
      rule: 'ec2-state',
      arn: RULE.arn,
    });
    expect(transform('"fired by <aws.events.rule-name>"', {})).toBe('"fired by ec2-state"');
  });

  it('provides the full original event, detail included, as <aws.events.event.json>', () => {
    const text = transform('{"original": <aws.events.event.json>, "state": <state>}');
    expect(JSON.parse(text)).toEqual({ original: EC2_EVENT, state: 'RUNNING' });
  });

  it('provides the ingestion time as an ISO 8601 timestamp', () => {
    const text = transform('{"at": "<aws.events.event.ingestion-time>"}', {});
    const at = (JSON.parse(text) as { at: string }).at;
    expect(Number.isNaN(Date.parse(at))).toBe(false);
  });

  // The user guide: "aws.events.event — The original event payload as JSON (without the detail field)";
  // only aws.events.event.json carries the detail.
  it('provides <aws.events.event> without the detail field', () => {
    const text = transform('{"original": <aws.events.event>}', {});
    const { detail, ...envelope } = EC2_EVENT;
    void detail;
    expect(JSON.parse(text)).toEqual({ original: envelope });
  });
});

describe('EventBridgeService.targetInput', () => {
  const dir = mkdtempSync(join(tmpdir(), 'handoff-targets-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const target = (Id: string, extra: Record<string, unknown>) => ({
    Id,
    Arn: 'arn:aws:sqs:us-east-1:000000000000:Q',
    ...extra,
  });
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
        Rule: {
          Type: 'AWS::Events::Rule',
          Properties: {
            Name: 'ec2-state',
            EventPattern: { source: ['aws.ec2'] },
            Targets: [
              target('Whole', {}),
              target('Constant', { Input: '{"fixed":true}' }),
              target('Path', { InputPath: '$.detail' }),
              target('JsonTemplate', {
                InputTransformer: {
                  InputPathsMap: PATHS,
                  InputTemplate: '{"id": <instance>, "rule": "<aws.events.rule-name>"}',
                },
              }),
              target('TextTemplate', {
                InputTransformer: {
                  InputPathsMap: PATHS,
                  InputTemplate: 'Instance "<instance>" is now "<state>"',
                },
              }),
            ],
          },
        },
      },
    }),
  );
  const model = new CloudModel(dir, { sqsQueueUrl: (name) => `http://localhost/${name}` });
  const service = new EventBridgeService(
    model,
    {
      lambda: {} as unknown as LambdaRuntime,
      sfn: {} as unknown as SfnService,
      sqs: {} as unknown as SqsService,
    },
    realClock,
  );
  const rule = service.rules[0];
  const inputFor = (id: string) => {
    const t = rule?.targets.find((x) => x.id === id);
    if (!rule || !t) throw new Error(`no target ${id}`);
    return service.targetInput(rule, t, EC2_EVENT);
  };

  it('sends the whole event when the target sets no input', () => {
    expect(inputFor('Whole')).toEqual(EC2_EVENT);
  });

  it('sends Input as the constant JSON it holds', () => {
    expect(inputFor('Constant')).toEqual({ fixed: true });
  });

  it('sends the part of the event InputPath selects', () => {
    expect(inputFor('Path')).toEqual(EC2_EVENT.detail);
  });

  it('sends a transformer’s JSON output parsed, with the rule’s own name', () => {
    expect(inputFor('JsonTemplate')).toEqual({ id: 'i-0123456789', rule: 'ec2-state' });
  });

  it('sends a transformer’s non-JSON output as text', () => {
    expect(inputFor('TextTemplate')).toBe('Instance "i-0123456789" is now "RUNNING"');
  });
});
