import { describe, expect, it } from 'vitest';
import {
  compilePattern,
  InvalidEventPatternException,
  matchesPattern,
  validatePattern,
} from '../../../local/eventbridge/pattern.ts';

/** The EC2 event of "Amazon EventBridge event patterns". */
const EC2_EVENT = {
  version: '0',
  id: '6a7e8feb-b491-4cf7-a9f1-bf3703467718',
  'detail-type': 'EC2 Instance State-change Notification',
  source: 'aws.ec2',
  account: '111122223333',
  time: '2017-12-22T18:43:48Z',
  region: 'us-west-1',
  resources: ['arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0'],
  detail: { 'instance-id': 'i-1234567890abcdef0', state: 'terminated' },
};

/** The Auto Scaling event of "Matching null values and empty strings". */
const AUTOSCALING_EVENT = {
  version: '0',
  id: '3e3c153a-8339-4e30-8c35-687ebef853fe',
  'detail-type': 'EC2 Instance Launch Successful',
  source: 'aws.autoscaling',
  account: '123456789012',
  time: '2015-11-11T21:31:47Z',
  region: 'us-east-1',
  resources: [],
  detail: { eventVersion: '', responseElements: null },
};

function withDetail(detail: unknown): Record<string, unknown> {
  return { ...EC2_EVENT, detail };
}

function captureError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to throw');
}

/** Asserts the pattern is rejected and the message names every fragment (path, operator, reason). */
function expectInvalid(pattern: unknown, ...fragments: string[]): InvalidEventPatternException {
  const error = captureError(() => validatePattern(pattern));
  expect(error).toBeInstanceOf(InvalidEventPatternException);
  if (!(error instanceof InvalidEventPatternException)) throw error;
  expect(error.name).toBe('InvalidEventPatternException');
  for (const fragment of fragments) expect(error.message).toContain(fragment);
  return error;
}

// ---------------------------------------------------------------------------------------------------------------
// "Amazon EventBridge event patterns" (Create event patterns, Match values, Example events and event patterns)
// ---------------------------------------------------------------------------------------------------------------
describe('event patterns: structure and exact matching', () => {
  const TERMINATED = {
    source: ['aws.ec2'],
    'detail-type': ['EC2 Instance State-change Notification'],
    detail: { state: ['terminated'] },
  };

  it('matches the documented EC2 instance-termination example', () => {
    expect(matchesPattern(TERMINATED, EC2_EVENT)).toBe(true);
    expect(matchesPattern(TERMINATED, withDetail({ state: 'running' }))).toBe(false);
  });

  it('requires every pattern field (AND) and ignores event fields the pattern does not name', () => {
    expect(matchesPattern({ source: ['aws.ec2'], region: ['us-west-1'] }, EC2_EVENT)).toBe(true);
    expect(matchesPattern({ source: ['aws.ec2'], region: ['eu-west-1'] }, EC2_EVENT)).toBe(false);
    expect(matchesPattern({ source: ['aws.ec2'], nonesuch: ['x'] }, EC2_EVENT)).toBe(false);
  });

  it('ORs the values of one field (Match values: aws.ec2 or aws.fargate)', () => {
    const pattern = { source: ['aws.ec2', 'aws.fargate'] };
    expect(matchesPattern(pattern, EC2_EVENT)).toBe(true);
    expect(matchesPattern(pattern, { ...EC2_EVENT, source: 'aws.fargate' })).toBe(true);
    expect(matchesPattern(pattern, { ...EC2_EVENT, source: 'aws.s3' })).toBe(false);
  });

  it('matches strings character by character, without case folding or normalization', () => {
    expect(matchesPattern({ source: ['AWS.EC2'] }, EC2_EVENT)).toBe(false);
    expect(matchesPattern({ source: ['aws.ec2 '] }, EC2_EVENT)).toBe(false);
  });

  it('requires the same nesting structure as the event', () => {
    expect(matchesPattern({ state: ['terminated'] }, EC2_EVENT)).toBe(false);
    expect(matchesPattern({ detail: { state: ['terminated'] } }, EC2_EVENT)).toBe(true);
    expect(matchesPattern({ detail: { state: { name: ['terminated'] } } }, EC2_EVENT)).toBe(false);
  });

  it('matches the envelope fields account, region, detail-type, id and time like any other field', () => {
    expect(
      matchesPattern(
        {
          account: ['111122223333'],
          region: ['us-west-1'],
          'detail-type': ['EC2 Instance State-change Notification'],
          id: ['6a7e8feb-b491-4cf7-a9f1-bf3703467718'],
          time: ['2017-12-22T18:43:48Z'],
        },
        EC2_EVENT,
      ),
    ).toBe(true);
    expect(matchesPattern({ account: ['123456789012'] }, EC2_EVENT)).toBe(false);
  });

  it('matches the documented Macie value-matching example (numbers, nested objects)', () => {
    const macie = {
      source: 'aws.macie',
      'detail-type': 'Macie Alert',
      detail: {
        'notification-type': 'ALERT_CREATED',
        'risk-score': 80,
        trigger: { 'alert-type': 'basic', risk: 8 },
      },
    };
    const pattern = {
      source: ['aws.macie'],
      'detail-type': ['Macie Alert'],
      detail: { 'risk-score': [80], trigger: { risk: [8] } },
    };
    expect(matchesPattern(pattern, macie)).toBe(true);
    expect(matchesPattern(pattern, { ...macie, detail: { ...macie.detail, trigger: { risk: 9 } } })).toBe(
      false,
    );
  });

  it('compares numbers numerically: 300, 300.0 and 3.0e2 are the same JSON number', () => {
    for (const eventJson of ['{"x":300}', '{"x":300.0}', '{"x":3.0e2}']) {
      const event: unknown = JSON.parse(eventJson);
      expect(matchesPattern('{"x":[300]}', event)).toBe(true);
      expect(matchesPattern('{"x":[300.0]}', event)).toBe(true);
      expect(matchesPattern('{"x":[3e2]}', event)).toBe(true);
    }
    expect(matchesPattern({ x: [300] }, { x: 300.5 })).toBe(false);
  });

  it('never equates values of different JSON types', () => {
    expect(matchesPattern({ x: [300] }, { x: '300' })).toBe(false);
    expect(matchesPattern({ x: ['300'] }, { x: 300 })).toBe(false);
    expect(matchesPattern({ x: [true] }, { x: 'true' })).toBe(false);
    expect(matchesPattern({ x: [true] }, { x: true })).toBe(true);
    expect(matchesPattern({ x: [false] }, { x: 0 })).toBe(false);
    expect(matchesPattern({ x: [false] }, { x: false })).toBe(true);
  });

  it('accepts the pattern as a JSON string', () => {
    const json = JSON.stringify(TERMINATED);
    expect(matchesPattern(json, EC2_EVENT)).toBe(true);
    expect(compilePattern(json)(EC2_EVENT)).toBe(true);
    expect(matchesPattern(json, withDetail({ state: 'pending' }))).toBe(false);
  });

  it('uses the last reference of a key written twice (Content filtering, note on repeated keys)', () => {
    const pattern = '{"detail":{"location":[{"prefix":"us-"}],"location":[{"anything-but":"us-east"}]}}';
    expect(matchesPattern(pattern, withDetail({ location: 'eu-west' }))).toBe(true);
    expect(matchesPattern(pattern, withDetail({ location: 'us-east' }))).toBe(false);
  });

  it('treats a non-object event as having no fields', () => {
    expect(matchesPattern({ source: ['aws.ec2'] }, 'aws.ec2')).toBe(false);
    expect(matchesPattern({ source: ['aws.ec2'] }, null)).toBe(false);
    expect(matchesPattern({ source: [{ exists: false }] }, null)).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// "Matching null values and empty strings in Amazon EventBridge event patterns"
// ---------------------------------------------------------------------------------------------------------------
describe('null values and empty strings', () => {
  it('matches an empty string with [""] (documented eventVersion example)', () => {
    const pattern = { detail: { eventVersion: [''] } };
    expect(matchesPattern(pattern, AUTOSCALING_EVENT)).toBe(true);
    expect(matchesPattern(pattern, { detail: { eventVersion: null } })).toBe(false);
    expect(matchesPattern(pattern, { detail: { eventVersion: ' ' } })).toBe(false);
    expect(matchesPattern(pattern, { detail: {} })).toBe(false);
  });

  it('matches a null value with [null] (documented responseElements example)', () => {
    const pattern = { detail: { responseElements: [null] } };
    expect(matchesPattern(pattern, AUTOSCALING_EVENT)).toBe(true);
    expect(
      matchesPattern(
        { source: ['aws.autoscaling'], 'detail-type': ['EC2 Instance Launch Successful'], ...pattern },
        AUTOSCALING_EVENT,
      ),
    ).toBe(true);
    expect(matchesPattern(pattern, { detail: { responseElements: '' } })).toBe(false);
    expect(matchesPattern(pattern, { detail: { responseElements: 'null' } })).toBe(false);
  });

  it('does not match null against a missing field', () => {
    expect(matchesPattern({ detail: { responseElements: [null] } }, { detail: {} })).toBe(false);
    expect(matchesPattern({ detail: { responseElements: [null] } }, { source: 'x' })).toBe(false);
  });

  it('accepts null in a JSON-string pattern (the CloudFormation workaround)', () => {
    expect(matchesPattern('{"detail":{"responseElements":[null]}}', AUTOSCALING_EVENT)).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// "Arrays in Amazon EventBridge event patterns" (and event-ruler's README, "JSON Array Matching")
// ---------------------------------------------------------------------------------------------------------------
describe('arrays in events', () => {
  const RESOURCES_PATTERN = {
    resources: [
      'arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f',
      'arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f',
      'arn:aws:ec2:us-east-1:444455556666:instance/i-b188560f',
    ],
  };

  it('matches when the pattern array and the event array intersect (documented resources example)', () => {
    const event = {
      resources: [
        'arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:eb56d16b-bbf0-401d-b893-d5978ed4a025:autoScalingGroupName/ASGTerminate',
        'arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f',
      ],
    };
    expect(matchesPattern(RESOURCES_PATTERN, event)).toBe(true);
    expect(
      matchesPattern(RESOURCES_PATTERN, { resources: ['arn:aws:ec2:us-east-1:999999999999:instance/x'] }),
    ).toBe(false);
  });

  it('matches no value in an empty event array', () => {
    expect(matchesPattern(RESOURCES_PATTERN, AUTOSCALING_EVENT)).toBe(false);
    expect(matchesPattern({ resources: [{ exists: false }] }, AUTOSCALING_EVENT)).toBe(true);
  });

  it('flattens nested arrays of scalars', () => {
    expect(matchesPattern({ tags: ['b'] }, { tags: [['a'], [['b']]] })).toBe(true);
    expect(matchesPattern({ tags: ['c'] }, { tags: [['a'], [['b']]] })).toBe(false);
  });

  const EMPLOYEES = {
    employees: [
      { firstName: 'John', lastName: 'Doe' },
      { firstName: 'Anna', lastName: 'Smith' },
      { firstName: 'Peter', lastName: 'Jones' },
    ],
  };

  it('matches a nested pattern against any object in an event array', () => {
    expect(matchesPattern({ employees: { firstName: ['Anna'] } }, EMPLOYEES)).toBe(true);
    expect(matchesPattern({ employees: { firstName: ['Zoe'] } }, EMPLOYEES)).toBe(false);
  });

  it('requires fields of one nested pattern to match within the same array element', () => {
    expect(matchesPattern({ employees: { firstName: ['Anna'], lastName: ['Smith'] } }, EMPLOYEES)).toBe(true);
    expect(matchesPattern({ employees: { firstName: ['Anna'], lastName: ['Jones'] } }, EMPLOYEES)).toBe(
      false,
    );
  });

  it('crushes multi-level arrays of objects', () => {
    const nested = {
      employees: [
        [
          { firstName: 'John', lastName: 'Doe' },
          { firstName: 'Anna', lastName: 'Smith' },
        ],
        [{ firstName: 'Peter', lastName: 'Jones' }],
      ],
    };
    expect(matchesPattern({ employees: { firstName: ['Peter'], lastName: ['Jones'] } }, nested)).toBe(true);
    expect(matchesPattern({ employees: { firstName: ['Anna'], lastName: ['Jones'] } }, nested)).toBe(false);
  });

  it('walks deeply nested event arrays without recursion', () => {
    let value: unknown = 'needle';
    for (let depth = 0; depth < 100_000; depth++) value = [value];
    expect(matchesPattern({ x: ['needle'] }, { x: value })).toBe(true);
    expect(matchesPattern({ x: ['other'] }, { x: value })).toBe(false);
  });

  it('applies exists:false to every element unless another field picked the element', () => {
    const event = {
      employees: [
        { firstName: 'Anna', lastName: 'Smith' },
        { firstName: 'Peter', middleName: 'Q' },
      ],
    };
    expect(matchesPattern({ employees: { middleName: [{ exists: false }] } }, event)).toBe(false);
    expect(matchesPattern({ employees: { middleName: [{ exists: false }] } }, EMPLOYEES)).toBe(true);
    expect(
      matchesPattern({ employees: { firstName: ['Anna'], middleName: [{ exists: false }] } }, event),
    ).toBe(true);
    expect(
      matchesPattern({ employees: { firstName: ['Peter'], middleName: [{ exists: false }] } }, event),
    ).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// "Content filtering in Amazon EventBridge event patterns" / "Comparison operators": prefix and suffix
// ---------------------------------------------------------------------------------------------------------------
describe('prefix and suffix matching', () => {
  it('matches the documented time prefix example', () => {
    const pattern = { time: [{ prefix: '2017-10-02' }] };
    expect(matchesPattern(pattern, { time: '2017-10-02T18:43:48Z' })).toBe(true);
    expect(matchesPattern(pattern, { time: '2017-10-03T18:43:48Z' })).toBe(false);
    expect(matchesPattern(pattern, {})).toBe(false);
  });

  it('works on string values only (Region is in the US)', () => {
    expect(matchesPattern({ Region: [{ prefix: 'us-' }] }, { Region: 'us-east-1' })).toBe(true);
    expect(matchesPattern({ n: [{ prefix: '20' }] }, { n: 2017 })).toBe(false);
    expect(matchesPattern({ n: [{ prefix: 'tr' }] }, { n: true })).toBe(false);
  });

  it('treats an empty prefix as "any string value"', () => {
    expect(matchesPattern({ x: [{ prefix: '' }] }, { x: '' })).toBe(true);
    expect(matchesPattern({ x: [{ prefix: '' }] }, { x: 'abc' })).toBe(true);
    expect(matchesPattern({ x: [{ prefix: '' }] }, { x: 1 })).toBe(false);
    expect(matchesPattern({ x: [{ prefix: '' }] }, { x: null })).toBe(false);
  });

  it('matches a prefix regardless of case with equals-ignore-case (documented EventB example)', () => {
    const pattern = { detail: { service: [{ prefix: { 'equals-ignore-case': 'EventB' } }] } };
    for (const service of ['EventBridge', 'EVENTBRIDGE', 'eventbridge', 'eVeNtB']) {
      expect(matchesPattern(pattern, { detail: { service } })).toBe(true);
    }
    expect(matchesPattern(pattern, { detail: { service: 'Amazon EventBridge' } })).toBe(false);
    expect(matchesPattern(pattern, { detail: { service: 'Event' } })).toBe(false);
  });

  it('matches the documented FileName .png suffix example', () => {
    const pattern = { FileName: [{ suffix: '.png' }] };
    expect(matchesPattern(pattern, { FileName: 'image.png' })).toBe(true);
    expect(matchesPattern(pattern, { FileName: 'image.PNG' })).toBe(false);
    expect(matchesPattern(pattern, { FileName: 'image.png.gz' })).toBe(false);
  });

  it('matches a suffix regardless of case with equals-ignore-case (documented .png/.PNG example)', () => {
    const pattern = { detail: { FileName: [{ suffix: { 'equals-ignore-case': '.png' } }] } };
    expect(matchesPattern(pattern, { detail: { FileName: 'a.png' } })).toBe(true);
    expect(matchesPattern(pattern, { detail: { FileName: 'a.PNG' } })).toBe(true);
    expect(matchesPattern(pattern, { detail: { FileName: 'a.PnG' } })).toBe(true);
    expect(matchesPattern(pattern, { detail: { FileName: 'a.jpg' } })).toBe(false);
    expect(
      matchesPattern(
        { service: [{ suffix: { 'equals-ignore-case': 'tbridge' } }] },
        { service: 'EVENTBRIDGE' },
      ),
    ).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// "Comparison operators": equals-ignore-case
// ---------------------------------------------------------------------------------------------------------------
describe('equals-ignore-case matching', () => {
  it('matches the documented Name "alice" example in any casing', () => {
    const pattern = { Name: [{ 'equals-ignore-case': 'alice' }] };
    for (const name of ['alice', 'Alice', 'ALICE', 'aLiCe'])
      expect(matchesPattern(pattern, { Name: name })).toBe(true);
    expect(matchesPattern(pattern, { Name: 'Alicia' })).toBe(false);
    expect(matchesPattern(pattern, { Name: 'alic' })).toBe(false);
    expect(matchesPattern(pattern, { Name: 1 })).toBe(false);
  });

  it('compares each character with its upper- and lower-case forms (ß also matches SS)', () => {
    expect(matchesPattern({ x: [{ 'equals-ignore-case': 'straße' }] }, { x: 'STRASSE' })).toBe(true);
    expect(matchesPattern({ x: [{ 'equals-ignore-case': 'a.c' }] }, { x: 'abc' })).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// "Content filtering": Anything-but matching (and the anything-but rows of "Comparison operators")
// ---------------------------------------------------------------------------------------------------------------
describe('anything-but matching', () => {
  it('excludes a single string (documented state example)', () => {
    const pattern = { detail: { state: [{ 'anything-but': 'initializing' }] } };
    expect(matchesPattern(pattern, withDetail({ state: 'running' }))).toBe(true);
    expect(matchesPattern(pattern, withDetail({ state: 'initializing' }))).toBe(false);
  });

  it('does not match a missing field', () => {
    expect(matchesPattern({ detail: { state: [{ 'anything-but': 'initializing' }] } }, withDetail({}))).toBe(
      false,
    );
    expect(
      matchesPattern({ detail: { state: [{ 'anything-but': 'initializing' }] } }, withDetail({ state: [] })),
    ).toBe(false);
  });

  it('excludes a single number (documented x-limit example), comparing numerically', () => {
    const pattern = { detail: { 'x-limit': [{ 'anything-but': 123 }] } };
    expect(matchesPattern(pattern, withDetail({ 'x-limit': 124 }))).toBe(true);
    expect(matchesPattern(pattern, withDetail({ 'x-limit': 123 }))).toBe(false);
    expect(
      matchesPattern(
        '{"detail":{"x-limit":[{"anything-but":123}]}}',
        JSON.parse('{"detail":{"x-limit":123.0}}'),
      ),
    ).toBe(false);
  });

  it('excludes a list of strings (documented stopped/overloaded example)', () => {
    const pattern = { detail: { state: [{ 'anything-but': ['stopped', 'overloaded'] }] } };
    expect(matchesPattern(pattern, withDetail({ state: 'running' }))).toBe(true);
    expect(matchesPattern(pattern, withDetail({ state: 'stopped' }))).toBe(false);
    expect(matchesPattern(pattern, withDetail({ state: 'overloaded' }))).toBe(false);
  });

  it('excludes a list of numbers (documented 100/200/300 example)', () => {
    const pattern = { detail: { 'x-limit': [{ 'anything-but': [100, 200, 300] }] } };
    expect(matchesPattern(pattern, withDetail({ 'x-limit': 301.8 }))).toBe(true);
    expect(matchesPattern(pattern, withDetail({ 'x-limit': 200 }))).toBe(false);
  });

  it('excludes a prefix (documented "init" and Region not in the US examples)', () => {
    const pattern = { detail: { state: [{ 'anything-but': { prefix: 'init' } }] } };
    expect(matchesPattern(pattern, withDetail({ state: 'running' }))).toBe(true);
    expect(matchesPattern(pattern, withDetail({ state: 'initializing' }))).toBe(false);
    const region = { Region: [{ 'anything-but': { prefix: 'us-' } }] };
    expect(matchesPattern(region, { Region: 'eu-west-1' })).toBe(true);
    expect(matchesPattern(region, { Region: 'us-east-1' })).toBe(false);
  });

  it('excludes a suffix (documented FileName .png example)', () => {
    const pattern = { FileName: [{ 'anything-but': { suffix: '.png' } }] };
    expect(matchesPattern(pattern, { FileName: 'a.jpg' })).toBe(true);
    expect(matchesPattern(pattern, { FileName: 'a.png' })).toBe(false);
  });

  it('excludes values in any casing with equals-ignore-case (single value and list)', () => {
    const single = { state: [{ 'anything-but': { 'equals-ignore-case': 'initializing' } }] };
    expect(matchesPattern(single, { state: 'INITIALIZING' })).toBe(false);
    expect(matchesPattern(single, { state: 'Initializing' })).toBe(false);
    expect(matchesPattern(single, { state: 'running' })).toBe(true);
    const list = { state: [{ 'anything-but': { 'equals-ignore-case': ['Stopped', 'OVERLOADED'] } }] };
    expect(matchesPattern(list, { state: 'stopped' })).toBe(false);
    expect(matchesPattern(list, { state: 'overloaded' })).toBe(false);
    expect(matchesPattern(list, { state: 'running' })).toBe(true);
  });

  it('excludes wildcard matches (documented FilePath */lib/* example, and a list)', () => {
    const pattern = { FilePath: [{ 'anything-but': { wildcard: '*/lib/*' } }] };
    expect(matchesPattern(pattern, { FilePath: '/usr/bin/tool' })).toBe(true);
    expect(matchesPattern(pattern, { FilePath: '/usr/lib/libc.so' })).toBe(false);
    const list = { FilePath: [{ 'anything-but': { wildcard: ['*/lib/*', '*/bin/*'] } }] };
    expect(matchesPattern(list, { FilePath: '/usr/bin/tool' })).toBe(false);
    expect(matchesPattern(list, { FilePath: '/usr/share/doc' })).toBe(true);
  });

  it('accepts a list of prefixes or suffixes to exclude', () => {
    const pattern = { Region: [{ 'anything-but': { prefix: ['us-', 'ca-'] } }] };
    expect(matchesPattern(pattern, { Region: 'ca-central-1' })).toBe(false);
    expect(matchesPattern(pattern, { Region: 'eu-west-1' })).toBe(true);
  });

  it('matches an event array when any element is not excluded', () => {
    const pattern = { price: [{ 'anything-but': [100, 500] }] };
    expect(matchesPattern(pattern, { price: [100, 50] })).toBe(true);
    expect(matchesPattern(pattern, { price: [100, 500] })).toBe(false);
  });

  it('never excludes values of another JSON type', () => {
    expect(matchesPattern({ x: [{ 'anything-but': 'initializing' }] }, { x: 5 })).toBe(true);
    expect(matchesPattern({ x: [{ 'anything-but': [100] }] }, { x: '100' })).toBe(true);
    expect(matchesPattern({ x: [{ 'anything-but': { prefix: 'init' } }] }, { x: null })).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// "Content filtering": Numeric matching (and the Price rows of "Comparison operators")
// ---------------------------------------------------------------------------------------------------------------
describe('numeric matching', () => {
  const DOC_PATTERN = {
    detail: {
      'c-count': [{ numeric: ['>', 0, '<=', 5] }],
      'd-count': [{ numeric: ['<', 10] }],
      'x-limit': [{ numeric: ['=', 3.018e2] }],
    },
  };

  it('matches the documented c-count/d-count/x-limit example only when every field holds', () => {
    expect(matchesPattern(DOC_PATTERN, withDetail({ 'c-count': 5, 'd-count': 3, 'x-limit': 301.8 }))).toBe(
      true,
    );
    expect(matchesPattern(DOC_PATTERN, withDetail({ 'c-count': 0, 'd-count': 3, 'x-limit': 301.8 }))).toBe(
      false,
    );
    expect(matchesPattern(DOC_PATTERN, withDetail({ 'c-count': 5, 'd-count': 10, 'x-limit': 301.8 }))).toBe(
      false,
    );
    expect(matchesPattern(DOC_PATTERN, withDetail({ 'c-count': 5, 'd-count': 3, 'x-limit': 301.81 }))).toBe(
      false,
    );
  });

  it('treats = as numeric equality (300 matches 300.0)', () => {
    expect(matchesPattern('{"x":[{"numeric":["=",300]}]}', JSON.parse('{"x":300.0}'))).toBe(true);
    expect(matchesPattern({ Price: [{ numeric: ['=', 100] }] }, { Price: 100 })).toBe(true);
    expect(matchesPattern({ Price: [{ numeric: ['=', 100] }] }, { Price: 100.5 })).toBe(false);
  });

  it('honours open and closed bounds (Price more than 10 and at most 20)', () => {
    const pattern = { Price: [{ numeric: ['>', 10, '<=', 20] }] };
    expect(matchesPattern(pattern, { Price: 10 })).toBe(false);
    expect(matchesPattern(pattern, { Price: 10.000001 })).toBe(true);
    expect(matchesPattern(pattern, { Price: 20 })).toBe(true);
    expect(matchesPattern(pattern, { Price: 20.1 })).toBe(false);
    const closed = { Price: [{ numeric: ['>=', 10, '<', 20] }] };
    expect(matchesPattern(closed, { Price: 10 })).toBe(true);
    expect(matchesPattern(closed, { Price: 20 })).toBe(false);
    expect(matchesPattern({ v: [{ numeric: ['<', 0] }] }, { v: -0.5 })).toBe(true);
    expect(matchesPattern({ v: [{ numeric: ['>=', -1] }] }, { v: -1 })).toBe(true);
  });

  it('only matches JSON numbers', () => {
    const pattern = { x: [{ numeric: ['>', 0] }] };
    expect(matchesPattern(pattern, { x: '5' })).toBe(false);
    expect(matchesPattern(pattern, { x: true })).toBe(false);
    expect(matchesPattern(pattern, { x: null })).toBe(false);
    expect(matchesPattern(pattern, {})).toBe(false);
    expect(matchesPattern(pattern, { x: [0, 7] })).toBe(true);
  });

  it('only matches event values within -5.0e9..+5.0e9', () => {
    expect(matchesPattern({ x: [{ numeric: ['>', 0] }] }, { x: 5e9 })).toBe(true);
    expect(matchesPattern({ x: [{ numeric: ['>', 0] }] }, { x: 5.1e9 })).toBe(false);
    expect(matchesPattern({ x: [{ numeric: ['<', 0] }] }, { x: -6e9 })).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// "Content filtering": IP address matching
// ---------------------------------------------------------------------------------------------------------------
describe('IP address (cidr) matching', () => {
  it('matches the documented 10.0.0.0/24 example', () => {
    const pattern = { detail: { sourceIPAddress: [{ cidr: '10.0.0.0/24' }] } };
    for (const ip of ['10.0.0.0', '10.0.0.24', '10.0.0.255']) {
      expect(matchesPattern(pattern, withDetail({ sourceIPAddress: ip }))).toBe(true);
    }
    for (const ip of ['10.0.1.0', '9.255.255.255', '10.0.0', 'not-an-ip', '10.0.0.256']) {
      expect(matchesPattern(pattern, withDetail({ sourceIPAddress: ip }))).toBe(false);
    }
    expect(matchesPattern(pattern, withDetail({ sourceIPAddress: 167772161 }))).toBe(false);
  });

  it('matches IPv6 addresses in any textual form', () => {
    const pattern = { ip: [{ cidr: '2001:db8::/64' }] };
    for (const ip of ['2001:db8::1', '2001:DB8::abcd', '2001:0db8:0000:0000:ffff:ffff:ffff:ffff']) {
      expect(matchesPattern(pattern, { ip })).toBe(true);
    }
    for (const ip of ['2001:db8:0:1::1', '2001:db9::1', '10.0.0.1', '::1']) {
      expect(matchesPattern(pattern, { ip })).toBe(false);
    }
  });

  it('does not match an address of the other family', () => {
    expect(matchesPattern({ ip: [{ cidr: '0.0.0.0/0' }] }, { ip: '2001:db8::1' })).toBe(false);
    expect(matchesPattern({ ip: [{ cidr: '::/0' }] }, { ip: '10.0.0.1' })).toBe(false);
    expect(matchesPattern({ ip: [{ cidr: '0.0.0.0/0' }] }, { ip: '192.168.1.1' })).toBe(true);
  });

  it('ignores host bits set in the CIDR base address', () => {
    expect(matchesPattern({ ip: [{ cidr: '10.0.0.5/24' }] }, { ip: '10.0.0.1' })).toBe(true);
  });

  it('matches a literal IP-address pattern against other spellings of the same address', () => {
    expect(matchesPattern({ ip: ['2001:db8::1'] }, { ip: '2001:0DB8:0:0:0:0:0:1' })).toBe(true);
    expect(matchesPattern({ ip: ['10.0.0.1'] }, { ip: '10.0.0.1' })).toBe(true);
    expect(matchesPattern({ ip: ['10.0.0.1'] }, { ip: '10.0.0.2' })).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// "Content filtering": Exists matching (and the ProductName rows of "Comparison operators")
// ---------------------------------------------------------------------------------------------------------------
describe('exists matching', () => {
  it('exists:true matches the documented detail.state event and not one without the field', () => {
    const pattern = { detail: { state: [{ exists: true }] } };
    expect(
      matchesPattern(pattern, {
        version: '0',
        id: '7bf73129-1428-4cd3-a780-95db273d1602',
        'detail-type': 'EC2 Instance State-change Notification',
        source: 'aws.ec2',
        account: '123456789012',
        time: '2015-11-11T21:29:54Z',
        region: 'us-east-1',
        resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111'],
        detail: { 'instance-id': 'i-abcd1111', state: 'pending' },
      }),
    ).toBe(true);
    expect(matchesPattern(pattern, { detail: { 'c-count': { c1: 100 } } })).toBe(false);
  });

  it('exists:false matches a missing field and an intermediate (object) node (documented c-count example)', () => {
    const pattern = { detail: { 'c-count': [{ exists: false }] } };
    expect(matchesPattern(pattern, { detail: { state: ['initializing', 'running'] } })).toBe(true);
    expect(
      matchesPattern(pattern, { detail: { state: ['initializing', 'running'], 'c-count': { c1: 100 } } }),
    ).toBe(true);
    expect(matchesPattern(pattern, { detail: { 'c-count': 5 } })).toBe(false);
    expect(matchesPattern(pattern, { source: 'no-detail-at-all' })).toBe(true);
  });

  it('exists only sees leaf values: null and "" exist, objects, [] and {} do not', () => {
    const present = { x: [{ exists: true }] };
    const absent = { x: [{ exists: false }] };
    for (const [value, isLeaf] of [
      [null, true],
      ['', true],
      [0, true],
      [false, true],
      [['a'], true],
      [{ y: 1 }, false],
      [{}, false],
      [[], false],
      [[{ y: 1 }], false],
    ] as const) {
      expect(matchesPattern(present, { x: value })).toBe(isLeaf);
      expect(matchesPattern(absent, { x: value })).toBe(!isLeaf);
    }
  });

  it('works on nested fields and combines with other fields', () => {
    const pattern = { source: ['aws.ec2'], detail: { instance: { tags: { owner: [{ exists: true }] } } } };
    expect(
      matchesPattern(pattern, { source: 'aws.ec2', detail: { instance: { tags: { owner: 'me' } } } }),
    ).toBe(true);
    expect(matchesPattern(pattern, { source: 'aws.ec2', detail: { instance: { tags: {} } } })).toBe(false);
    expect(
      matchesPattern(pattern, { source: 'aws.s3', detail: { instance: { tags: { owner: 'me' } } } }),
    ).toBe(false);
  });

  it('selects live traffic with {"replay-name": [{"exists": false}]}', () => {
    const pattern = { source: ['aws.ec2'], 'replay-name': [{ exists: false }] };
    expect(matchesPattern(pattern, EC2_EVENT)).toBe(true);
    expect(matchesPattern(pattern, { ...EC2_EVENT, 'replay-name': 'nightly' })).toBe(false);
  });

  it('ORs exists with other values of the same field', () => {
    const pattern = { x: ['a', { exists: false }] };
    expect(matchesPattern(pattern, { x: 'a' })).toBe(true);
    expect(matchesPattern(pattern, {})).toBe(true);
    expect(matchesPattern(pattern, { x: 'b' })).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// "Comparison operators": Matching using wildcards
// ---------------------------------------------------------------------------------------------------------------
describe('wildcard matching', () => {
  it('matches any run of characters, including none', () => {
    const pattern = { FileName: [{ wildcard: '*.png' }] };
    expect(matchesPattern(pattern, { FileName: 'image.png' })).toBe(true);
    expect(matchesPattern(pattern, { FileName: '.png' })).toBe(true);
    expect(matchesPattern(pattern, { FileName: 'image.png.gz' })).toBe(false);
    expect(matchesPattern({ x: [{ wildcard: 'abc*' }] }, { x: 'abc' })).toBe(true);
  });

  it('matches the documented "png file in folder dir" and "*Title*" examples', () => {
    const dir = { FileName: [{ wildcard: 'dir/*.png' }] };
    expect(matchesPattern(dir, { FileName: 'dir/image.png' })).toBe(true);
    expect(matchesPattern(dir, { FileName: 'dir/sub/image.png' })).toBe(true);
    expect(matchesPattern(dir, { FileName: 'other/image.png' })).toBe(false);
    const title = { x: [{ wildcard: '*Title*' }] };
    expect(matchesPattern(title, { x: 'The Title Page' })).toBe(true);
    expect(matchesPattern(title, { x: 'The title page' })).toBe(false);
  });

  it('handles several wildcards (Simple*Service, */lib/*)', () => {
    expect(
      matchesPattern({ source: [{ wildcard: 'Simple*Service' }] }, { source: 'Simple Queue Service' }),
    ).toBe(true);
    expect(matchesPattern({ source: [{ wildcard: 'Simple*Service' }] }, { source: 'Simple Queue' })).toBe(
      false,
    );
    expect(matchesPattern({ p: [{ wildcard: 'a*b*c' }] }, { p: 'abc' })).toBe(true);
    expect(matchesPattern({ p: [{ wildcard: 'a*b*c' }] }, { p: 'axxbyycb' })).toBe(false);
    expect(matchesPattern({ p: [{ wildcard: 'ab*ba' }] }, { p: 'aba' })).toBe(false);
  });

  it('treats \\* as a literal asterisk and \\\\ as a literal backslash', () => {
    expect(matchesPattern({ x: [{ wildcard: 'a\\*b' }] }, { x: 'a*b' })).toBe(true);
    expect(matchesPattern({ x: [{ wildcard: 'a\\*b' }] }, { x: 'axb' })).toBe(false);
    expect(matchesPattern({ x: [{ wildcard: 'C:\\\\*' }] }, { x: 'C:\\Windows' })).toBe(true);
  });

  it('only matches strings', () => {
    expect(matchesPattern({ x: [{ wildcard: '*' }] }, { x: 'anything' })).toBe(true);
    expect(matchesPattern({ x: [{ wildcard: '*' }] }, { x: 1 })).toBe(false);
  });

  it('stays fast on long values that just miss', () => {
    const matches = compilePattern({ key: [{ wildcard: '*/*/*/*/*.json' }] });
    const value = `${'a/'.repeat(5000)}x.jsox`;
    const started = performance.now();
    expect(matches({ key: value })).toBe(false);
    expect(performance.now() - started).toBeLessThan(250);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// "Comparison operators": Or ($or), and event-ruler's README "The $or Primitive"
// ---------------------------------------------------------------------------------------------------------------
describe('$or matching', () => {
  it('matches the documented "Location is New York, or Day is Monday" example', () => {
    const pattern = { $or: [{ Location: ['New York'] }, { Day: ['Monday'] }] };
    expect(matchesPattern(pattern, { Location: 'New York', Day: 'Friday' })).toBe(true);
    expect(matchesPattern(pattern, { Location: 'Boston', Day: 'Monday' })).toBe(true);
    expect(matchesPattern(pattern, { Location: 'Boston', Day: 'Friday' })).toBe(false);
  });

  it('ANDs $or with sibling fields: source && (metricName || namespace)', () => {
    const pattern = {
      source: ['aws.cloudwatch'],
      $or: [{ metricName: ['CPUUtilization', 'ReadLatency'] }, { namespace: ['AWS/EC2', 'AWS/ES'] }],
    };
    expect(matchesPattern(pattern, { source: 'aws.cloudwatch', namespace: 'AWS/EC2' })).toBe(true);
    expect(matchesPattern(pattern, { source: 'aws.cloudwatch', metricName: 'ReadLatency' })).toBe(true);
    expect(matchesPattern(pattern, { source: 'aws.ec2', metricName: 'ReadLatency' })).toBe(false);
    expect(matchesPattern(pattern, { source: 'aws.cloudwatch', metricName: 'Other' })).toBe(false);
  });

  it('supports parallel $or at different levels', () => {
    const pattern = {
      $or: [{ metricName: ['CPUUtilization'] }, { namespace: ['AWS/EC2'] }],
      detail: { $or: [{ source: ['aws.cloudwatch'] }, { 'detail-type': ['CloudWatch Alarm State Change'] }] },
    };
    expect(matchesPattern(pattern, { namespace: 'AWS/EC2', detail: { source: 'aws.cloudwatch' } })).toBe(
      true,
    );
    expect(
      matchesPattern(pattern, {
        metricName: 'CPUUtilization',
        detail: { 'detail-type': 'CloudWatch Alarm State Change' },
      }),
    ).toBe(true);
    expect(matchesPattern(pattern, { namespace: 'AWS/EC2', detail: { source: 'aws.s3' } })).toBe(false);
    expect(matchesPattern(pattern, { detail: { source: 'aws.cloudwatch' } })).toBe(false);
  });

  it('supports nested $or with an AND inside a branch', () => {
    const pattern = {
      source: ['aws.cloudwatch'],
      $or: [
        { metricName: ['CPUUtilization', 'ReadLatency'] },
        {
          metricType: ['MetricType'],
          namespace: ['AWS/EC2', 'AWS/ES'],
          $or: [{ metricId: [1234] }, { spaceId: [1000] }],
        },
        { scope: ['Service'] },
      ],
    };
    const base = { source: 'aws.cloudwatch' };
    expect(matchesPattern(pattern, { ...base, scope: 'Service' })).toBe(true);
    expect(
      matchesPattern(pattern, { ...base, metricType: 'MetricType', namespace: 'AWS/ES', spaceId: 1000 }),
    ).toBe(true);
    expect(matchesPattern(pattern, { ...base, metricType: 'MetricType', namespace: 'AWS/ES' })).toBe(false);
    expect(matchesPattern(pattern, { ...base, metricType: 'MetricType', metricId: 1234 })).toBe(false);
  });

  it('can combine operators inside branches', () => {
    const pattern = {
      detail: {
        $or: [{ 'c-count': [{ numeric: ['>', 0, '<=', 5] }] }, { 'x-limit': [{ numeric: ['=', 3.018e2] }] }],
      },
    };
    expect(matchesPattern(pattern, withDetail({ 'c-count': 3 }))).toBe(true);
    expect(matchesPattern(pattern, withDetail({ 'x-limit': 301.8 }))).toBe(true);
    expect(matchesPattern(pattern, withDetail({ 'c-count': 30 }))).toBe(false);
  });

  it('expands $or like EventBridge: a field written inside a branch replaces the one outside', () => {
    const pattern = '{"a":["1"],"$or":[{"a":["2"]},{"b":["3"]}]}';
    expect(matchesPattern(pattern, { a: '2' })).toBe(true);
    expect(matchesPattern(pattern, { a: '1' })).toBe(false);
    expect(matchesPattern(pattern, { a: '1', b: '3' })).toBe(true);
  });

  it('reads a $or that is not an array of objects as an ordinary field (event-ruler backward compatibility)', () => {
    const pattern = { source: ['aws.cloudwatch'], $or: { metricType: ['MetricType'] } };
    expect(matchesPattern(pattern, { source: 'aws.cloudwatch', $or: { metricType: 'MetricType' } })).toBe(
      true,
    );
    expect(matchesPattern(pattern, { source: 'aws.cloudwatch', metricType: 'MetricType' })).toBe(false);
    const reserved = { $or: [{ numeric: ['>', 1] }, { prefix: 'abc' }] };
    expect(matchesPattern(reserved, { $or: 'abcdef' })).toBe(true);
    expect(matchesPattern(reserved, { $or: 5 })).toBe(true);
    expect(matchesPattern(reserved, { $or: 'zzz' })).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// "Content filtering": Complex example with multiple matching
// ---------------------------------------------------------------------------------------------------------------
describe('complex example with multiple matching', () => {
  const pattern = {
    time: [{ prefix: '2017-10-02' }],
    detail: {
      state: [{ 'anything-but': 'initializing' }],
      'c-count': [{ numeric: ['>', 0, '<=', 5] }],
      'd-count': [{ numeric: ['<', 10] }],
      'x-limit': [{ 'anything-but': [100, 200, 300] }],
      'source-ip': [{ cidr: '10.0.0.0/8' }],
    },
  };
  const event = {
    version: '0',
    id: 'ddddd4-aaaa-7777-4444-345dd43cc333',
    'detail-type': 'EC2 Instance State-change Notification',
    source: 'aws.ec2',
    account: '012345679012',
    time: '2017-10-02T16:24:49Z',
    region: 'us-east-1',
    resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000'],
    detail: {
      'c-count': 5,
      'd-count': 3,
      'x-limit': 301.8,
      'source-ip': '10.0.0.33',
      'instance-id': 'i-000000aaaaaa00000',
      state: 'running',
    },
  };

  it('matches when every condition holds', () => {
    expect(matchesPattern(pattern, event)).toBe(true);
  });

  it.each([
    ['time', { ...event, time: '2017-10-03T00:00:00Z' }],
    ['state', { ...event, detail: { ...event.detail, state: 'initializing' } }],
    ['c-count', { ...event, detail: { ...event.detail, 'c-count': 6 } }],
    ['x-limit', { ...event, detail: { ...event.detail, 'x-limit': 300 } }],
    ['source-ip', { ...event, detail: { ...event.detail, 'source-ip': '11.0.0.1' } }],
  ])('fails when %s does not hold', (_field, changed) => {
    expect(matchesPattern(pattern, changed)).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// compilePattern: the same answers as matchesPattern
// ---------------------------------------------------------------------------------------------------------------
describe('compilePattern', () => {
  const cases: Array<[unknown, unknown]> = [
    [{ source: ['aws.ec2'] }, EC2_EVENT],
    [{ source: ['aws.s3'] }, EC2_EVENT],
    [{ detail: { state: [{ 'anything-but': { prefix: 'term' } }] } }, EC2_EVENT],
    [{ detail: { eventVersion: [''] } }, AUTOSCALING_EVENT],
    [{ detail: { responseElements: [null] } }, AUTOSCALING_EVENT],
    [{ resources: [{ exists: false }] }, AUTOSCALING_EVENT],
    [{ resources: [{ wildcard: 'arn:aws:ec2:*:instance/*' }] }, EC2_EVENT],
    [{ time: [{ prefix: { 'equals-ignore-case': '2017-12-22t' } }] }, EC2_EVENT],
    [{ $or: [{ region: ['us-west-1'] }, { account: ['0'] }] }, EC2_EVENT],
    ['{"detail":{"instance-id":[{"suffix":"ef0"}]}}', EC2_EVENT],
    [{ x: [{ numeric: ['>=', 300, '<', 301] }] }, { x: 300.0 }],
    [{ ip: [{ cidr: '2001:db8::/32' }] }, { ip: ['fe80::1', '2001:db8:ffff::1'] }],
  ];

  it.each(cases)('agrees with matchesPattern for %j', (pattern, event) => {
    const matcher = compilePattern(pattern);
    expect(matcher(event)).toBe(matchesPattern(pattern, event));
    expect(matcher(event)).toBe(matcher(event));
  });

  it('returns a reusable matcher that validates once', () => {
    const matcher = compilePattern({ detail: { state: ['terminated', 'running'] } });
    expect(matcher(EC2_EVENT)).toBe(true);
    expect(matcher(withDetail({ state: 'running' }))).toBe(true);
    expect(matcher(withDetail({ state: 'pending' }))).toBe(false);
  });

  it('throws InvalidEventPatternException at compile time, not per event', () => {
    const error = captureError(() => compilePattern({ source: 'aws.ec2' }));
    expect(error).toBeInstanceOf(InvalidEventPatternException);
    expect(captureError(() => matchesPattern({ source: 'aws.ec2' }, EC2_EVENT))).toBeInstanceOf(
      InvalidEventPatternException,
    );
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Validation: what EventBridge rejects with InvalidEventPatternException
// ---------------------------------------------------------------------------------------------------------------
describe('validatePattern: structure', () => {
  it('accepts valid patterns (documented examples) and returns nothing', () => {
    expect(validatePattern({ source: ['aws.ec2'], detail: { state: ['terminated'] } })).toBeUndefined();
    expect(validatePattern('{"detail":{"responseElements":[null]}}')).toBeUndefined();
  });

  it('exposes name, reason and path on the error', () => {
    const error = expectInvalid(
      { detail: { state: [{ prefix: 5 }] } },
      'detail.state[0].prefix',
      'must be a string',
    );
    expect(error).toBeInstanceOf(Error);
    expect(error.path).toBe('detail.state[0].prefix');
    expect(error.reason).toContain('prefix match pattern must be a string');
    expect(error.message).toMatch(/^Event pattern is not valid\. Reason: /);
  });

  it.each([
    ['an array', [{ source: ['aws.ec2'] }]],
    ['a number', 5],
    ['null', null],
    ['undefined', undefined],
    ['a JSON string holding an array', '["aws.ec2"]'],
    ['a JSON string holding a string', '"aws.ec2"'],
  ])('rejects %s as a pattern', (_label, pattern) => {
    expectInvalid(pattern, 'must be a JSON object');
  });

  it('rejects a string that is not JSON', () => {
    expectInvalid('{"source": ["aws.ec2"]', 'not valid JSON');
  });

  it('rejects the empty pattern {} and empty nested objects', () => {
    expectInvalid({}, 'Empty objects are not allowed');
    expectInvalid({ detail: {} }, 'Empty objects are not allowed', 'detail');
  });

  it.each([
    ['a string', { source: 'aws.ec2' }, 'source'],
    ['a number', { detail: { count: 5 } }, 'detail.count'],
    ['null', { detail: { x: null } }, 'detail.x'],
    ['a boolean', { x: true }, 'x'],
  ])('rejects a leaf that is %s instead of an array', (_label, pattern, path) => {
    expectInvalid(pattern, 'must be an object or an array', `(at ${path})`);
  });

  it('rejects empty value arrays', () => {
    expectInvalid({ detail: { state: [] } }, 'Empty arrays are not allowed', 'detail.state');
  });

  it('rejects nested arrays and non-JSON values inside a value array', () => {
    expectInvalid({ x: [['a']] }, 'Match value must be', 'x[0]');
    expectInvalid({ x: ['a', Number.NaN] }, 'finite JSON number', 'x[1]');
  });

  it('rejects operator objects without exactly one known operator', () => {
    expectInvalid({ x: [{}] }, 'Match expression name not found', 'x[0]');
    expectInvalid({ x: [{ regex: 'a.*' }] }, 'Unrecognized match type "regex"', 'x[0].regex');
    expectInvalid({ x: [{ contains: 'a' }] }, 'Unrecognized match type "contains"');
    expectInvalid({ x: [{ prefix: 'a', suffix: 'b' }] }, 'Only one key allowed in match expression', 'x[0]');
  });

  it('rejects absurdly deep nesting with the exception rather than a stack overflow', () => {
    let pattern: Record<string, unknown> = { leaf: ['x'] };
    for (let depth = 0; depth < 5000; depth++) pattern = { nested: pattern };
    expectInvalid(pattern, 'nested more than 2048 objects deep');
  });

  it('names fields that are not simple identifiers unambiguously', () => {
    expectInvalid({ detail: { 'a.b': 'x' } }, 'detail["a.b"]');
  });
});

describe('validatePattern: string operators', () => {
  it.each([
    [{ x: [{ prefix: 5 }] }, 'x[0].prefix', 'prefix match pattern must be a string'],
    [{ x: [{ prefix: null }] }, 'x[0].prefix', 'prefix match pattern must be a string'],
    [{ x: [{ suffix: ['a'] }] }, 'x[0].suffix', 'suffix match pattern must be a string'],
    [{ x: [{ prefix: {} }] }, 'x[0].prefix', 'prefix expression name not found'],
    [
      { x: [{ prefix: { wildcard: 'a*' } }] },
      'x[0].prefix.wildcard',
      'Unsupported prefix pattern: "wildcard"',
    ],
    [{ x: [{ suffix: { 'equals-ignore-case': 1 } }] }, 'x[0].suffix.equals-ignore-case', 'must be a string'],
    [
      { x: [{ 'equals-ignore-case': ['a'] }] },
      'x[0].equals-ignore-case',
      'equals-ignore-case match pattern must be a string',
    ],
    [{ x: [{ exactly: 1 }] }, 'x[0].exactly', 'exactly match pattern must be a string'],
    [{ x: [{ exists: 'true' }] }, 'x[0].exists', 'exists match pattern must be either true or false'],
  ])('rejects %j', (pattern, path, reason) => {
    expectInvalid(pattern, path, reason);
  });
});

describe('validatePattern: numeric', () => {
  it.each([
    [{ x: [{ numeric: 5 }] }, 'Value of numeric must be an array'],
    [{ x: [{ numeric: [] }] }, 'numeric must contain an operator'],
    [{ x: [{ numeric: [5, '>'] }] }, 'Invalid member in numeric match'],
    [{ x: [{ numeric: ['!=', 5] }] }, 'Unrecognized numeric range operator: "!="'],
    [{ x: [{ numeric: ['>'] }] }, 'Value of > must be numeric'],
    [{ x: [{ numeric: ['>', '5'] }] }, 'Value of > must be numeric'],
    [{ x: [{ numeric: ['=', true] }] }, 'Value of = must be numeric'],
    [{ x: [{ numeric: ['<', 10, '>', 0] }] }, 'Too many elements in numeric expression'],
    [{ x: [{ numeric: ['=', 1, '<', 5] }] }, 'Too many elements in numeric expression'],
    [{ x: [{ numeric: ['>', 0, '>', 5] }] }, 'Bad numeric range operator: ">"'],
    [{ x: [{ numeric: ['>', 0, 5] }] }, 'Bad value in numeric range'],
    [{ x: [{ numeric: ['>', 0, '<='] }] }, 'Value of <= must be numeric'],
    [{ x: [{ numeric: ['>', 0, '<', 5, '<', 6] }] }, 'Too many terms in numeric range expression'],
    [{ x: [{ numeric: ['>', 5, '<', 5] }] }, 'Bottom must be less than top'],
    [{ x: [{ numeric: ['>=', 10, '<=', 1] }] }, 'Bottom must be less than top'],
    [{ x: [{ numeric: ['<', 5.1e9] }] }, 'between -5.0E9 and 5.0E9'],
    [{ x: [{ numeric: ['>', -6e9] }] }, 'between -5.0E9 and 5.0E9'],
    [{ x: [{ numeric: ['=', 0.1234567] }] }, 'up to 6 decimal places'],
  ])('rejects %j', (pattern, reason) => {
    expectInvalid(pattern, 'x[0].numeric', reason);
  });

  it('accepts the limits themselves', () => {
    expect(validatePattern({ x: [{ numeric: ['>=', -5e9, '<=', 5e9] }] })).toBeUndefined();
    expect(validatePattern({ x: [{ numeric: ['=', 0.123456] }] })).toBeUndefined();
    expect(validatePattern({ account: [123456789012] })).toBeUndefined();
  });
});

describe('validatePattern: cidr', () => {
  it.each([
    [5, 'cidr match pattern must be a string'],
    ['10.0.0.0', "exactly one '/'"],
    ['10.0.0.0/', "exactly one '/'"],
    ['10.0.0.0/24/8', "exactly one '/'"],
    ['10.0.0.0/x', 'mask bits must be an integer'],
    ['10.0.0.0/-1', 'mask bits must not be negative'],
    ['10.0.0.0/33', 'IPv4 mask bits must be < 32'],
    ['10.0.0.1/32', 'IPv4 mask bits must be < 32'],
    ['2001:db8::/128', 'IPv6 mask bits must be < 128'],
    ['10.0.0.256/24', 'Invalid IP address "10.0.0.256"'],
    ['2001:db8:::1/64', 'Invalid IP address'],
    ['1:2:3:4:5:6:7:8:9/64', 'Invalid IP address'],
    ['example.com/24', 'Nonstandard IP address "example.com"'],
  ])('rejects cidr %j', (cidr, reason) => {
    expectInvalid({ detail: { ip: [{ cidr }] } }, 'detail.ip[0].cidr', reason);
  });

  it('accepts IPv4 and IPv6 CIDRs', () => {
    expect(validatePattern({ ip: [{ cidr: '0.0.0.0/0' }, { cidr: '10.0.0.0/31' }] })).toBeUndefined();
    expect(
      validatePattern({ ip: [{ cidr: '::/0' }, { cidr: 'fe80::/10' }, { cidr: '2001:db8::1/127' }] }),
    ).toBeUndefined();
  });
});

describe('validatePattern: wildcard', () => {
  it.each([
    [5, 'wildcard match pattern must be a string'],
    ['a**b', 'Consecutive wildcard characters at pos 1'],
    ['**', 'Consecutive wildcard characters at pos 0'],
    ['a\\b', 'Invalid escape character at pos 1'],
    ['abc\\', 'Invalid escape character at pos 3'],
  ])('rejects wildcard %j', (wildcard, reason) => {
    expectInvalid({ FileName: [{ wildcard }] }, 'FileName[0].wildcard', reason);
  });

  it('accepts escaped asterisks next to wildcards', () => {
    expect(validatePattern({ x: [{ wildcard: '*\\**' }] })).toBeUndefined();
  });

  it('rejects the guide\'s over-complex "*:*:*:*:*:event-bus/*" and accepts its simpler rewrite', () => {
    expectInvalid(
      { EventBusArn: [{ wildcard: '*:*:*:*:*:event-bus/*' }] },
      'Rule is too complex',
      'EventBusArn',
    );
    expect(
      validatePattern({ EventBusArn: [{ wildcard: 'arn:aws:events:us-east-1:*:event-bus/*' }] }),
    ).toBeUndefined();
    expect(
      validatePattern({ FileName: [{ wildcard: '/Users/*/dir/dir/dir/dir/dir/doc.txt' }] }),
    ).toBeUndefined();
    expect(validatePattern({ FileName: [{ wildcard: '/Users/*/doc.txt' }] })).toBeUndefined();
  });

  it('counts wildcard prefixes across the values of one field', () => {
    const stacks = (names: string[]) => ({
      resources: names.map((name) => ({ wildcard: `*:stack/${name}/*` })),
    });
    expect(validatePattern(stacks(['Api', 'Data', 'Web']))).toBeUndefined();
    expectInvalid(stacks(['Api', 'Data', 'Web', 'Monitoring']), 'Rule is too complex', 'resources');
    expect(validatePattern({ x: [{ wildcard: '*a*a*a*a*a' }] })).toBeUndefined();
    expectInvalid({ x: [{ wildcard: '*a*a*a*a*a*' }] }, 'Rule is too complex');
  });

  it('counts anything-but wildcards and does not double-count a wildcard repeated across $or branches', () => {
    expectInvalid({ x: [{ 'anything-but': { wildcard: '*a*a*a*a*a*' } }] }, 'Rule is too complex');
    expect(
      validatePattern({ $or: [{ x: [{ wildcard: '*a*a*a*a*' }] }, { x: [{ wildcard: '*a*a*a*a*' }] }] }),
    ).toBeUndefined();
  });
});

describe('validatePattern: anything-but', () => {
  it.each([
    [{ 'anything-but': true }, 'x[0].anything-but', 'Value of anything-but must be'],
    [{ 'anything-but': null }, 'x[0].anything-but', 'Value of anything-but must be'],
    [{ 'anything-but': [] }, 'x[0].anything-but', 'must not be empty'],
    [{ 'anything-but': ['a', 1] }, 'x[0].anything-but', 'mixed types are not supported'],
    [{ 'anything-but': ['a', null] }, 'x[0].anything-but[1]', 'only strings or numbers'],
    [{ 'anything-but': [['a']] }, 'x[0].anything-but[0]', 'only strings or numbers'],
    [{ 'anything-but': 6e9 }, 'x[0].anything-but', 'between -5.0E9 and 5.0E9'],
    [{ 'anything-but': [1, 6e9] }, 'x[0].anything-but[1]', 'between -5.0E9 and 5.0E9'],
    [{ 'anything-but': {} }, 'x[0].anything-but', 'Anything-But expression name not found'],
    [
      { 'anything-but': { numeric: ['>', 1] } },
      'anything-but.numeric',
      'Unsupported anything-but pattern: "numeric"',
    ],
    [
      { 'anything-but': { cidr: '10.0.0.0/8' } },
      'anything-but.cidr',
      'Unsupported anything-but pattern: "cidr"',
    ],
    [{ 'anything-but': { prefix: '' } }, 'anything-but.prefix', 'Null prefix/suffix not allowed'],
    [{ 'anything-but': { suffix: ['a', ''] } }, 'anything-but.suffix[1]', 'Null prefix/suffix not allowed'],
    [{ 'anything-but': { prefix: 5 } }, 'anything-but.prefix', 'must be a string or a list of strings'],
    [{ 'anything-but': { prefix: [] } }, 'anything-but.prefix', 'must not be empty'],
    [{ 'anything-but': { 'equals-ignore-case': [1] } }, '.equals-ignore-case[0]', 'values must be strings'],
    [{ 'anything-but': { wildcard: 'a**' } }, 'anything-but.wildcard', 'Consecutive wildcard characters'],
    [{ 'anything-but': { prefix: 'a', suffix: 'b' } }, 'x[0].anything-but', 'Only one key allowed'],
    [{ 'anything-but': 'a', prefix: 'b' }, 'x[0]', 'Only one key allowed'],
  ])('rejects %j', (expression, path, reason) => {
    expectInvalid({ x: [expression] }, path, reason);
  });
});

describe('validatePattern: $or', () => {
  it.each([
    ['a string', { $or: 'source' }, '$or must be an array'],
    ['an empty array', { $or: [] }, 'at least 2 objects, got 0'],
    ['a single object', { $or: [{ source: ['aws.ec2'] }] }, 'at least 2 objects, got 1'],
    [
      'a non-object member',
      { $or: [{ source: ['aws.ec2'] }, 'aws.s3'] },
      'Only JSON objects are allowed in a $or array',
    ],
    ['an empty member', { $or: [{ source: ['aws.ec2'] }, {}] }, 'Empty objects are not allowed'],
    [
      'an invalid member',
      { $or: [{ source: ['aws.ec2'] }, { region: 'x' }] },
      '"region" must be an object or an array',
    ],
    [
      'an operator name as a field',
      { $or: [{ source: ['aws.ec2'] }, { prefix: ['aws.'] }] },
      '"prefix" is a reserved operator name',
    ],
  ])('rejects $or with %s', (_label, pattern, reason) => {
    expectInvalid(pattern, '$or', reason);
  });

  it('names the offending branch', () => {
    expectInvalid(
      { detail: { $or: [{ a: ['x'] }, { b: [{ numeric: ['>', 'x'] }] }] } },
      'detail.$or[1].b[0].numeric',
    );
  });

  it('refuses patterns that expand to more than 1000 combinations', () => {
    const branches = (prefix: string) => Array.from({ length: 11 }, (_, i) => ({ [`${prefix}${i}`]: ['x'] }));
    const pattern = { a: { $or: branches('a') }, b: { $or: branches('b') }, c: { $or: branches('c') } };
    expectInvalid(pattern, 'more than 1000 rule combinations');
    expect(validatePattern({ a: { $or: branches('a') }, b: { $or: branches('b') } })).toBeUndefined();
  });
});
