// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${...} here is CloudFormation Fn::Sub syntax, not a JS template.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CloudModel,
  LOCAL_ACCOUNT,
  LOCAL_REGION,
  type TemplateResource,
  UnsupportedTemplateFeature,
} from '../../../local/template/model.ts';

type Resources = Record<string, { Type: string; Properties?: Record<string, unknown> }>;
type Outputs = Record<string, { Value: unknown; Export?: { Name: unknown } }>;

const dirs: string[] = [];

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Writes a hand-made cloud assembly (manifest + one template per stack) and loads it. */
function assembly(stacks: Record<string, { Resources?: Resources; Outputs?: Outputs }>): CloudModel {
  const dir = mkdtempSync(join(tmpdir(), 'handoff-model-'));
  dirs.push(dir);
  const artifacts: Record<string, unknown> = {
    // Non-stack artifacts are part of every real assembly and must be ignored.
    Tree: { type: 'cdk:tree', properties: { file: 'tree.json' } },
  };
  for (const [stack, template] of Object.entries(stacks)) {
    artifacts[stack] = {
      type: 'aws:cloudformation:stack',
      properties: { templateFile: `${stack}.template.json` },
    };
    writeFileSync(join(dir, `${stack}.template.json`), JSON.stringify(template));
  }
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ version: '40.0.0', artifacts }));
  return new CloudModel(dir, { sqsQueueUrl: (name) => `http://sqs.test.localhost:9999/q/${name}` });
}

const ARN = `${LOCAL_REGION}:${LOCAL_ACCOUNT}`;

/** One stack with one resource of every type the local cloud runs, named and unnamed. */
function stackA(extra: Resources = {}): CloudModel {
  return assembly({
    StackA: {
      Resources: {
        Orders: { Type: 'AWS::DynamoDB::Table', Properties: { BillingMode: 'PAY_PER_REQUEST' } },
        NamedTable: { Type: 'AWS::DynamoDB::Table', Properties: { TableName: 'orders-table' } },
        Ingress: { Type: 'AWS::SQS::Queue' },
        NamedQueue: { Type: 'AWS::SQS::Queue', Properties: { QueueName: 'named-queue' } },
        Handler: { Type: 'AWS::Lambda::Function', Properties: { Handler: 'index.handler' } },
        NamedHandler: { Type: 'AWS::Lambda::Function', Properties: { FunctionName: 'named-fn' } },
        Path: { Type: 'AWS::StepFunctions::StateMachine', Properties: {} },
        NamedPath: {
          Type: 'AWS::StepFunctions::StateMachine',
          Properties: { StateMachineName: 'named-path' },
        },
        Bus: { Type: 'AWS::Events::EventBus', Properties: { Name: 'fulfilment' } },
        BusRule: {
          Type: 'AWS::Events::Rule',
          Properties: { EventBusName: { Ref: 'Bus' }, EventPattern: { source: ['x'] } },
        },
        DefaultRule: { Type: 'AWS::Events::Rule', Properties: { ScheduleExpression: 'rate(1 hour)' } },
        NamedRule: {
          Type: 'AWS::Events::Rule',
          Properties: { Name: 'nightly', EventBusName: 'fulfilment' },
        },
        Archive: {
          Type: 'AWS::Events::Archive',
          Properties: { SourceArn: { 'Fn::GetAtt': ['Bus', 'Arn'] } },
        },
        NamedArchive: { Type: 'AWS::Events::Archive', Properties: { ArchiveName: 'orders-archive' } },
        ...extra,
      },
    },
  });
}

function resource(model: CloudModel, logicalId: string, stack = 'StackA'): TemplateResource {
  return model.get(stack, logicalId);
}

function unsupported(run: () => unknown): UnsupportedTemplateFeature {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(UnsupportedTemplateFeature);
    return error as UnsupportedTemplateFeature;
  }
  throw new Error('expected an UnsupportedTemplateFeature, but nothing was thrown');
}

describe('CloudModel: loading an assembly', () => {
  it('loads every resource of every stack artifact, with its stack, type and properties', () => {
    const model = assembly({
      StackA: { Resources: { T: { Type: 'AWS::DynamoDB::Table', Properties: { TableName: 't' } } } },
      StackB: { Resources: { Q: { Type: 'AWS::SQS::Queue' } } },
    });
    expect(model.resources.map((r) => `${r.stack}/${r.logicalId}:${r.type}`)).toEqual([
      'StackA/T:AWS::DynamoDB::Table',
      'StackB/Q:AWS::SQS::Queue',
    ]);
    expect(model.get('StackA', 'T').properties).toEqual({ TableName: 't' });
    expect(model.ofType('AWS::SQS::Queue').map((r) => r.logicalId)).toEqual(['Q']);
  });

  it('refuses a reference to a resource that is not in the stack, naming it', () => {
    const model = stackA();
    const error = unsupported(() => model.get('StackA', 'Missing'));
    expect(error.resource).toBe('StackA/Missing');
    // Resources are per stack: a logical id of another stack does not resolve.
    expect(() => model.get('StackB', 'Orders')).toThrow(UnsupportedTemplateFeature);
  });
});

describe('CloudModel: physical names', () => {
  it('defaults to <stack>-<logicalId>', () => {
    const model = stackA();
    expect(model.physicalName(resource(model, 'Orders'))).toBe('StackA-Orders');
    expect(model.physicalName(resource(model, 'Ingress'))).toBe('StackA-Ingress');
    expect(model.physicalName(resource(model, 'Handler'))).toBe('StackA-Handler');
    expect(model.physicalName(resource(model, 'Path'))).toBe('StackA-Path');
    expect(model.physicalName(resource(model, 'BusRule'))).toBe('StackA-BusRule');
    expect(model.physicalName(resource(model, 'Archive'))).toBe('StackA-Archive');
  });

  it('honours TableName, QueueName, FunctionName, StateMachineName, ArchiveName and, for buses and rules, Name', () => {
    const model = stackA();
    expect(model.physicalName(resource(model, 'NamedPath'))).toBe('named-path');
    expect(model.physicalName(resource(model, 'NamedTable'))).toBe('orders-table');
    expect(model.physicalName(resource(model, 'NamedQueue'))).toBe('named-queue');
    expect(model.physicalName(resource(model, 'NamedHandler'))).toBe('named-fn');
    expect(model.physicalName(resource(model, 'NamedArchive'))).toBe('orders-archive');
    expect(model.physicalName(resource(model, 'Bus'))).toBe('fulfilment');
    expect(model.physicalName(resource(model, 'NamedRule'))).toBe('nightly');
  });

  it('resolves an explicit name that is itself an intrinsic', () => {
    const model = stackA({
      SubNamed: {
        Type: 'AWS::SQS::Queue',
        Properties: { QueueName: { 'Fn::Sub': '${AWS::StackName}-jobs' } },
      },
    });
    expect(model.physicalName(resource(model, 'SubNamed'))).toBe('StackA-jobs');
  });
});

describe('CloudModel: ARNs', () => {
  it('builds the ARN of each resource type in the local account and region', () => {
    const model = stackA();
    const arn = (id: string) => model.arn(resource(model, id));
    expect(arn('Orders')).toBe(`arn:aws:dynamodb:${ARN}:table/StackA-Orders`);
    expect(arn('NamedTable')).toBe(`arn:aws:dynamodb:${ARN}:table/orders-table`);
    expect(arn('Ingress')).toBe(`arn:aws:sqs:${ARN}:StackA-Ingress`);
    expect(arn('NamedQueue')).toBe(`arn:aws:sqs:${ARN}:named-queue`);
    expect(arn('Handler')).toBe(`arn:aws:lambda:${ARN}:function:StackA-Handler`);
    expect(arn('Path')).toBe(`arn:aws:states:${ARN}:stateMachine:StackA-Path`);
    expect(arn('Bus')).toBe(`arn:aws:events:${ARN}:event-bus/fulfilment`);
    expect(arn('Archive')).toBe(`arn:aws:events:${ARN}:archive/StackA-Archive`);
    expect(arn('NamedArchive')).toBe(`arn:aws:events:${ARN}:archive/orders-archive`);
  });

  it('puts a rule on a custom bus under rule/<bus>/<name>, and a default-bus rule under rule/<name>', () => {
    const model = stackA();
    const arn = (id: string) => model.arn(resource(model, id));
    expect(arn('BusRule')).toBe(`arn:aws:events:${ARN}:rule/fulfilment/StackA-BusRule`);
    expect(arn('NamedRule')).toBe(`arn:aws:events:${ARN}:rule/fulfilment/nightly`);
    expect(arn('DefaultRule')).toBe(`arn:aws:events:${ARN}:rule/StackA-DefaultRule`);
  });
});

describe('CloudModel: Ref', () => {
  it('gives a queue its URL (from the sqsQueueUrl callback), a state machine its ARN, others their name', () => {
    const model = stackA();
    const ref = (id: string) => model.resolve('StackA', { Ref: id });
    expect(ref('Ingress')).toBe('http://sqs.test.localhost:9999/q/StackA-Ingress');
    expect(ref('NamedQueue')).toBe('http://sqs.test.localhost:9999/q/named-queue');
    expect(ref('Path')).toBe(`arn:aws:states:${ARN}:stateMachine:StackA-Path`);
    expect(ref('NamedPath')).toBe(`arn:aws:states:${ARN}:stateMachine:named-path`);
    expect(ref('Orders')).toBe('StackA-Orders');
    expect(ref('NamedTable')).toBe('orders-table');
    expect(ref('Handler')).toBe('StackA-Handler');
    expect(ref('Bus')).toBe('fulfilment');
  });

  it('asks the sqsQueueUrl callback at resolution time, so a port known later is used', () => {
    const dir = mkdtempSync(join(tmpdir(), 'handoff-model-'));
    dirs.push(dir);
    writeFileSync(
      join(dir, 'manifest.json'),
      JSON.stringify({
        artifacts: { StackA: { type: 'aws:cloudformation:stack', properties: { templateFile: 'a.json' } } },
      }),
    );
    writeFileSync(join(dir, 'a.json'), JSON.stringify({ Resources: { Q: { Type: 'AWS::SQS::Queue' } } }));
    let port = 0;
    const model = new CloudModel(dir, { sqsQueueUrl: (name) => `http://localhost:${port}/${name}` });
    port = 4242;
    expect(model.resolve('StackA', { Ref: 'Q' })).toBe('http://localhost:4242/StackA-Q');
  });

  it('resolves the pseudo parameters', () => {
    const model = stackA();
    expect(model.resolve('StackA', { Ref: 'AWS::AccountId' })).toBe(LOCAL_ACCOUNT);
    expect(model.resolve('StackA', { Ref: 'AWS::Region' })).toBe(LOCAL_REGION);
    expect(model.resolve('StackA', { Ref: 'AWS::Partition' })).toBe('aws');
    expect(model.resolve('StackA', { Ref: 'AWS::URLSuffix' })).toBe('amazonaws.com');
    expect(model.resolve('StackA', { Ref: 'AWS::StackName' })).toBe('StackA');
    expect(model.resolve('StackA', { Ref: 'AWS::StackId' })).toBe(
      `arn:aws:cloudformation:${ARN}:stack/StackA/local`,
    );
  });
});

describe('CloudModel: Fn::GetAtt', () => {
  it('resolves Arn, QueueName, QueueUrl, Name and StreamArn, in array and dotted form', () => {
    const model = stackA();
    const getAtt = (id: string, attribute: string) =>
      model.resolve('StackA', { 'Fn::GetAtt': [id, attribute] });
    expect(getAtt('Orders', 'Arn')).toBe(`arn:aws:dynamodb:${ARN}:table/StackA-Orders`);
    expect(getAtt('Orders', 'StreamArn')).toBe(`arn:aws:dynamodb:${ARN}:table/StackA-Orders/stream/local`);
    expect(getAtt('Ingress', 'Arn')).toBe(`arn:aws:sqs:${ARN}:StackA-Ingress`);
    expect(getAtt('Ingress', 'QueueName')).toBe('StackA-Ingress');
    expect(getAtt('Ingress', 'QueueUrl')).toBe('http://sqs.test.localhost:9999/q/StackA-Ingress');
    expect(getAtt('Handler', 'Arn')).toBe(`arn:aws:lambda:${ARN}:function:StackA-Handler`);
    expect(getAtt('Path', 'Name')).toBe('StackA-Path');
    expect(getAtt('Bus', 'Name')).toBe('fulfilment');
    expect(getAtt('Bus', 'Arn')).toBe(`arn:aws:events:${ARN}:event-bus/fulfilment`);
    expect(model.resolve('StackA', { 'Fn::GetAtt': 'NamedQueue.Arn' })).toBe(
      `arn:aws:sqs:${ARN}:named-queue`,
    );
  });

  it('refuses an attribute it cannot provide, naming the resource and the attribute', () => {
    const model = stackA();
    const error = unsupported(() =>
      model.resolve('StackA', { 'Fn::GetAtt': ['Handler', 'SnapStartResponse.ApplyOn'] }),
    );
    expect(error.name).toBe('UnsupportedTemplateFeature');
    expect(error.resource).toBe('StackA/Handler');
    expect(error.feature).toBe('Fn::GetAtt SnapStartResponse.ApplyOn');
    expect(error.message).toContain('StackA/Handler');
    expect(error.message).toContain('SnapStartResponse.ApplyOn');
  });

  it('refuses a GetAtt on a resource that does not exist', () => {
    const model = stackA();
    const error = unsupported(() => model.resolve('StackA', { 'Fn::GetAtt': ['Nope', 'Arn'] }));
    expect(error.resource).toBe('StackA/Nope');
  });
});

describe('CloudModel: Fn::Join, Fn::Sub, Fn::Select, Fn::Split', () => {
  it('joins resolved parts with the separator', () => {
    const model = stackA();
    expect(
      model.resolve('StackA', {
        'Fn::Join': [
          '',
          ['arn:', { Ref: 'AWS::Partition' }, ':states:::', { 'Fn::GetAtt': ['Path', 'Name'] }],
        ],
      }),
    ).toBe('arn:aws:states:::StackA-Path');
    expect(model.resolve('StackA', { 'Fn::Join': ['/', ['a', { Ref: 'Orders' }, 'c']] })).toBe(
      'a/StackA-Orders/c',
    );
  });

  it('substitutes pseudo parameters, Ref and GetAtt references', () => {
    const model = stackA();
    expect(model.resolve('StackA', { 'Fn::Sub': 'region=${AWS::Region} account=${AWS::AccountId}' })).toBe(
      `region=${LOCAL_REGION} account=${LOCAL_ACCOUNT}`,
    );
    expect(model.resolve('StackA', { 'Fn::Sub': 'fn ${Handler.Arn} table ${Orders}' })).toBe(
      `fn arn:aws:lambda:${ARN}:function:StackA-Handler table StackA-Orders`,
    );
    expect(model.resolve('StackA', { 'Fn::Sub': 'url ${Ingress}' })).toBe(
      'url http://sqs.test.localhost:9999/q/StackA-Ingress',
    );
  });

  it('substitutes from a variable map, resolving the variables, before resource names', () => {
    const model = stackA();
    expect(
      model.resolve('StackA', {
        'Fn::Sub': [
          '${Target} in ${AWS::Region} via ${Orders}',
          { Target: { 'Fn::GetAtt': ['Path', 'Arn'] }, Orders: 'overridden' },
        ],
      }),
    ).toBe(`arn:aws:states:${ARN}:stateMachine:StackA-Path in ${LOCAL_REGION} via overridden`);
  });

  it('writes ${!Literal} as the literal ${Literal}', () => {
    const model = stackA();
    expect(model.resolve('StackA', { 'Fn::Sub': 'keep ${!Literal} and ${AWS::Region}' })).toBe(
      `keep \${Literal} and ${LOCAL_REGION}`,
    );
  });

  it('refuses a Sub reference to a missing resource', () => {
    const model = stackA();
    expect(() => model.resolve('StackA', { 'Fn::Sub': '${Ghost.Arn}' })).toThrow(UnsupportedTemplateFeature);
  });

  it('selects from a split list', () => {
    const model = stackA();
    expect(model.resolve('StackA', { 'Fn::Split': [':', 'a:b:c'] })).toEqual(['a', 'b', 'c']);
    expect(
      model.resolve('StackA', {
        'Fn::Select': [5, { 'Fn::Split': [':', { 'Fn::GetAtt': ['Handler', 'Arn'] }] }],
      }),
    ).toBe('function');
    expect(
      model.resolve('StackA', {
        'Fn::Select': ['1', { 'Fn::Split': ['/', { 'Fn::GetAtt': ['Bus', 'Arn'] }] }],
      }),
    ).toBe('fulfilment');
    expect(model.resolve('StackA', { 'Fn::Select': [0, ['x', { Ref: 'Orders' }]] })).toBe('x');
  });

  it('resolves intrinsics nested anywhere in properties, leaving plain values alone', () => {
    const model = stackA({
      Consumer: {
        Type: 'AWS::Lambda::Function',
        Properties: {
          Timeout: 30,
          Environment: { Variables: { TABLE: { Ref: 'Orders' }, QUEUE: { Ref: 'Ingress' }, FLAG: true } },
          Layers: [{ 'Fn::Sub': '${AWS::Region}-layer' }, null],
        },
      },
    });
    expect(model.resolvedProperties(resource(model, 'Consumer'))).toEqual({
      Timeout: 30,
      Environment: {
        Variables: {
          TABLE: 'StackA-Orders',
          QUEUE: 'http://sqs.test.localhost:9999/q/StackA-Ingress',
          FLAG: true,
        },
      },
      Layers: [`${LOCAL_REGION}-layer`, null],
    });
  });
});

describe('CloudModel: Fn::ImportValue and unsupported intrinsics', () => {
  const twoStacks = () =>
    assembly({
      Producer: {
        Resources: { Bus: { Type: 'AWS::Events::EventBus', Properties: { Name: 'shared-bus' } } },
        Outputs: {
          BusArn: {
            Value: { 'Fn::GetAtt': ['Bus', 'Arn'] },
            Export: { Name: { 'Fn::Sub': '${AWS::StackName}:BusArn' } },
          },
          StackName: { Value: { Ref: 'AWS::StackName' }, Export: { Name: 'producer-stack-name' } },
          NotExported: { Value: 'x' },
        },
      },
      Consumer: {
        Resources: {
          Rule: {
            Type: 'AWS::Events::Rule',
            Properties: {
              EventBusName: { 'Fn::ImportValue': 'Producer:BusArn' },
              Targets: [{ Arn: { 'Fn::ImportValue': 'producer-stack-name' }, Id: 't' }],
            },
          },
        },
      },
    });

  it('resolves an import from the exporting stack, in that stack’s scope', () => {
    const model = twoStacks();
    expect(model.resolve('Consumer', { 'Fn::ImportValue': 'Producer:BusArn' })).toBe(
      `arn:aws:events:${ARN}:event-bus/shared-bus`,
    );
    // AWS::StackName inside the export is the producer's, not the importer's.
    expect(model.resolve('Consumer', { 'Fn::ImportValue': 'producer-stack-name' })).toBe('Producer');
    // The export name may itself be computed.
    expect(model.resolve('Consumer', { 'Fn::ImportValue': { 'Fn::Sub': 'Producer:BusArn' } })).toBe(
      `arn:aws:events:${ARN}:event-bus/shared-bus`,
    );
  });

  it('refuses an unknown export with an UnsupportedTemplateFeature naming it', () => {
    const model = twoStacks();
    const error = unsupported(() => model.resolve('Consumer', { 'Fn::ImportValue': 'NotExported' }));
    expect(error.name).toBe('UnsupportedTemplateFeature');
    expect(error.resource).toBe('Consumer');
    expect(error.feature).toContain('NotExported');
  });

  it('refuses an intrinsic it does not implement (Fn::If, Condition), naming it', () => {
    const model = stackA();
    const ifError = unsupported(() => model.resolve('StackA', { 'Fn::If': ['IsProd', 'a', 'b'] }));
    expect(ifError.name).toBe('UnsupportedTemplateFeature');
    expect(ifError.resource).toBe('StackA');
    expect(ifError.feature).toBe('intrinsic Fn::If');
    expect(ifError.message).toBe('StackA: intrinsic Fn::If is not supported by the local cloud');
    const nested = unsupported(() =>
      model.resolve('StackA', { Props: [{ Value: { 'Fn::FindInMap': ['M', 'k', 'v'] } }] }),
    );
    expect(nested.feature).toBe('intrinsic Fn::FindInMap');
    expect(() => model.resolve('StackA', { Condition: 'IsProd' })).toThrow(UnsupportedTemplateFeature);
  });

  it('treats a one-key object whose key is not an intrinsic as a plain object', () => {
    const model = stackA();
    expect(model.resolve('StackA', { Ref2: 'x' })).toEqual({ Ref2: 'x' });
    expect(model.resolve('StackA', { detail: { Ref: 'Orders' } })).toEqual({ detail: 'StackA-Orders' });
  });
});

describe('CloudModel: findByArn', () => {
  it('finds a resource by its ARN, by its Ref value (queue URL, name) and not by anything else', () => {
    const model = stackA();
    expect(model.findByArn(`arn:aws:lambda:${ARN}:function:StackA-Handler`)?.logicalId).toBe('Handler');
    expect(model.findByArn(`arn:aws:states:${ARN}:stateMachine:StackA-Path`)?.logicalId).toBe('Path');
    expect(model.findByArn(`arn:aws:sqs:${ARN}:named-queue`)?.logicalId).toBe('NamedQueue');
    expect(model.findByArn(`arn:aws:events:${ARN}:rule/fulfilment/nightly`)?.logicalId).toBe('NamedRule');
    expect(model.findByArn('http://sqs.test.localhost:9999/q/StackA-Ingress')?.logicalId).toBe('Ingress');
    expect(model.findByArn('orders-table')?.logicalId).toBe('NamedTable');
    expect(model.findByArn(`arn:aws:lambda:${ARN}:function:nope`)).toBeUndefined();
  });

  it('skips resources whose names cannot be resolved instead of failing the lookup', () => {
    const model = assembly({
      StackA: {
        Resources: {
          Broken: { Type: 'AWS::SQS::Queue', Properties: { QueueName: { 'Fn::If': ['C', 'a', 'b'] } } },
          Table: { Type: 'AWS::DynamoDB::Table', Properties: { TableName: 'orders-table' } },
        },
      },
    });
    expect(() => model.arn(resource(model, 'Broken'))).toThrow(UnsupportedTemplateFeature);
    expect(model.findByArn(`arn:aws:dynamodb:${ARN}:table/orders-table`)?.logicalId).toBe('Table');
    expect(model.findByArn(`arn:aws:sqs:${ARN}:a`)).toBeUndefined();
  });
});
