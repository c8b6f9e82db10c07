// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${...} here is CloudFormation Fn::Sub syntax, not a JS template.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CloudFormationClient,
  type CloudFormationServiceException,
  DescribeStackResourcesCommand,
  DescribeStacksCommand,
  ListStacksCommand,
} from '@aws-sdk/client-cloudformation';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CLOUDFORMATION_NAMESPACE,
  LocalStacks,
  serveCloudFormation,
} from '../../../local/cloudformation/cloudformation-api.ts';
import { queryError, queryList, queryResponse, toXml } from '../../../local/cloudformation/query.ts';
import { CloudModel, LOCAL_ACCOUNT, LOCAL_REGION } from '../../../local/template/model.ts';

const ARN = `${LOCAL_REGION}:${LOCAL_ACCOUNT}`;
const CREATED = new Date('2030-01-02T03:04:05.678Z');

const dir = mkdtempSync(join(tmpdir(), 'handoff-cfn-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Two stacks, the second importing from the first, as the product's stateful/stateless pair does. */
function model(): CloudModel {
  const stacks: Record<string, unknown> = {
    Data: {
      Description: 'Data & queues <stateful>',
      Parameters: {
        BootstrapVersion: { Type: 'AWS::SSM::Parameter::Value<String>', Default: '/cdk-bootstrap/v' },
      },
      Resources: {
        Orders: { Type: 'AWS::DynamoDB::Table', Properties: {} },
        Ingress: { Type: 'AWS::SQS::Queue', Properties: { QueueName: 'ingress' } },
        Bus: { Type: 'AWS::Events::EventBus', Properties: { Name: 'fulfilment' } },
      },
      Outputs: {
        OrdersTableName: { Value: { Ref: 'Orders' }, Description: 'The orders table' },
        IngressQueueUrl: { Value: { Ref: 'Ingress' } },
        BusArn: {
          Value: { 'Fn::GetAtt': ['Bus', 'Arn'] },
          Export: { Name: { 'Fn::Sub': '${AWS::StackName}:BusArn' } },
        },
        OnlyInProd: { Value: 'x', Condition: 'IsProd' },
      },
    },
    Logic: {
      Resources: {
        Router: { Type: 'AWS::Lambda::Function', Properties: { FunctionName: 'router' } },
        Path: { Type: 'AWS::StepFunctions::StateMachine', Properties: {} },
      },
      Outputs: {
        PathArn: { Value: { Ref: 'Path' } },
        ImportedBus: { Value: { 'Fn::ImportValue': 'Data:BusArn' } },
      },
    },
  };
  const artifacts: Record<string, unknown> = {
    Tree: { type: 'cdk:tree', properties: { file: 'tree.json' } },
  };
  for (const [name, template] of Object.entries(stacks)) {
    artifacts[name] = {
      type: 'aws:cloudformation:stack',
      properties: { templateFile: `${name}.template.json`, terminationProtection: name === 'Data' },
    };
    writeFileSync(join(dir, `${name}.template.json`), JSON.stringify(template));
  }
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ version: '40.0.0', artifacts }));
  return new CloudModel(dir, { sqsQueueUrl: (name) => `http://sqs.test.localhost:9999/q/${name}` });
}

const stacks = new LocalStacks(model(), CREATED);

/** The real SDK client, its requests answered by the local CloudFormation without a socket. */
const bodies: string[] = [];
const client = new CloudFormationClient({
  region: LOCAL_REGION,
  endpoint: 'http://127.0.0.1:1',
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  requestHandler: {
    handle: async (request: { body?: unknown }) => {
      const body = String(request.body ?? '');
      bodies.push(body);
      const reply = serveCloudFormation(stacks, body);
      return {
        response: { statusCode: reply.status, headers: reply.headers, body: Buffer.from(reply.body) },
      };
    },
  } as never,
});
afterAll(() => client.destroy());

async function rejection(promise: Promise<unknown>): Promise<CloudFormationServiceException> {
  try {
    await promise;
  } catch (error) {
    return error as CloudFormationServiceException;
  }
  throw new Error('expected a rejection');
}

describe('Query protocol rendering', () => {
  it('renders objects as elements, lists as <member>, dates in ISO 8601, text escaped, undefined left out', () => {
    expect(
      toXml({
        Name: 'a & <b>',
        Items: ['x', 'y'],
        Empty: [],
        Nested: { Flag: false, Count: 2, Skipped: undefined },
        At: new Date(Date.UTC(2030, 0, 2, 3, 4, 5)),
      }),
    ).toBe(
      '<Name>a &amp; &lt;b&gt;</Name><Items><member>x</member><member>y</member></Items><Empty/>' +
        '<Nested><Flag>false</Flag><Count>2</Count></Nested><At>2030-01-02T03:04:05.000Z</At>',
    );
  });

  it('wraps a result in <ActionResponse><ActionResult> with the request id, and errors in <ErrorResponse>', () => {
    expect(queryResponse('urn:ns', 'DescribeStacks', { Stacks: [] }, 'req-1')).toBe(
      '<?xml version="1.0" encoding="UTF-8"?>\n<DescribeStacksResponse xmlns="urn:ns">' +
        '<DescribeStacksResult><Stacks/></DescribeStacksResult>' +
        '<ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata></DescribeStacksResponse>',
    );
    expect(
      queryError('urn:ns', { code: 'ValidationError', message: 'Stack with id X does not exist' }, 'r'),
    ).toBe(
      '<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse xmlns="urn:ns"><Error><Type>Sender</Type>' +
        '<Code>ValidationError</Code><Message>Stack with id X does not exist</Message></Error>' +
        '<RequestId>r</RequestId></ErrorResponse>',
    );
  });

  it('reads list parameters (Name.member.N) in index order', () => {
    const params = new URLSearchParams('F.member.10=c&F.member.2=b&F.member.1=a&F.other=z&G.member.1=y');
    expect(queryList(params, 'F')).toEqual(['a', 'b', 'c']);
    expect(queryList(params, 'H')).toEqual([]);
  });

  it('answers an unknown stack with the ValidationError document, an unknown action with InvalidAction', () => {
    const missing = serveCloudFormation(stacks, 'Action=DescribeStacks&Version=2010-05-15&StackName=Nope');
    expect(missing.status).toBe(400);
    expect(missing.headers['content-type']).toBe('text/xml');
    expect(missing.body).toContain(`<ErrorResponse xmlns="${CLOUDFORMATION_NAMESPACE}">`);
    expect(missing.body).toContain(
      '<Error><Type>Sender</Type><Code>ValidationError</Code><Message>Stack with id Nope does not exist</Message></Error>',
    );
    expect(missing.body).toContain(`<RequestId>${missing.headers['x-amzn-requestid']}</RequestId>`);
    const unknown = serveCloudFormation(stacks, 'Action=CreateStack&Version=2010-05-15');
    expect(unknown.status).toBe(400);
    expect(unknown.body).toContain('<Code>InvalidAction</Code>');
    expect(serveCloudFormation(undefined, 'Action=DescribeStacks').body).toContain(
      '<Code>InvalidAction</Code>',
    );
  });
});

describe('CloudFormation through the real SDK client', () => {
  it('describes every stack: id, status, creation time, description, parameters and resolved outputs', async () => {
    const { Stacks = [] } = await client.send(new DescribeStacksCommand({}));
    expect(bodies.at(-1)).toBe('Action=DescribeStacks&Version=2010-05-15');
    expect(Stacks.map((s) => s.StackName)).toEqual(['Data', 'Logic']);
    const [data, logic] = Stacks;
    expect(data).toMatchObject({
      StackId: `arn:aws:cloudformation:${ARN}:stack/Data/local`,
      StackStatus: 'CREATE_COMPLETE',
      CreationTime: CREATED,
      Description: 'Data & queues <stateful>',
      Parameters: [{ ParameterKey: 'BootstrapVersion', ParameterValue: '/cdk-bootstrap/v' }],
      EnableTerminationProtection: true,
      DisableRollback: false,
      DriftInformation: { StackDriftStatus: 'NOT_CHECKED' },
    });
    expect(data?.Outputs).toEqual([
      { OutputKey: 'OrdersTableName', OutputValue: 'Data-Orders', Description: 'The orders table' },
      { OutputKey: 'IngressQueueUrl', OutputValue: 'http://sqs.test.localhost:9999/q/ingress' },
      {
        OutputKey: 'BusArn',
        OutputValue: `arn:aws:events:${ARN}:event-bus/fulfilment`,
        ExportName: 'Data:BusArn',
      },
    ]);
    expect(logic?.Description).toBeUndefined();
    expect(logic?.EnableTerminationProtection).toBe(false);
    expect(logic?.Outputs).toEqual([
      { OutputKey: 'PathArn', OutputValue: `arn:aws:states:${ARN}:stateMachine:Logic-Path` },
      { OutputKey: 'ImportedBus', OutputValue: `arn:aws:events:${ARN}:event-bus/fulfilment` },
    ]);
  });

  it('describes one stack by name or by stack id; an unknown one is a ValidationError (HTTP 400)', async () => {
    const byName = await client.send(new DescribeStacksCommand({ StackName: 'Logic' }));
    expect(byName.Stacks?.map((s) => s.StackName)).toEqual(['Logic']);
    const byId = await client.send(
      new DescribeStacksCommand({ StackName: `arn:aws:cloudformation:${ARN}:stack/Logic/local` }),
    );
    expect(byId.Stacks?.map((s) => s.StackName)).toEqual(['Logic']);
    const error = await rejection(client.send(new DescribeStacksCommand({ StackName: 'Handoff-nope' })));
    expect(error.name).toBe('ValidationError');
    expect(error.message).toBe('Stack with id Handoff-nope does not exist');
    expect(error.$fault).toBe('client');
    expect(error.$metadata.httpStatusCode).toBe(400);
  });

  it('lists stack summaries, honouring StackStatusFilter', async () => {
    const all = await client.send(new ListStacksCommand({}));
    expect(all.StackSummaries).toEqual([
      expect.objectContaining({
        StackName: 'Data',
        StackId: `arn:aws:cloudformation:${ARN}:stack/Data/local`,
        TemplateDescription: 'Data & queues <stateful>',
        StackStatus: 'CREATE_COMPLETE',
        CreationTime: CREATED,
      }),
      expect.objectContaining({ StackName: 'Logic', StackStatus: 'CREATE_COMPLETE' }),
    ]);
    const deleted = await client.send(new ListStacksCommand({ StackStatusFilter: ['DELETE_COMPLETE'] }));
    expect(deleted.StackSummaries ?? []).toEqual([]);
    const complete = await client.send(
      new ListStacksCommand({ StackStatusFilter: ['UPDATE_COMPLETE', 'CREATE_COMPLETE'] }),
    );
    expect(complete.StackSummaries).toHaveLength(2);
  });

  it('describes a stack’s resources with the physical ids the local cloud gives them', async () => {
    const { StackResources = [] } = await client.send(
      new DescribeStackResourcesCommand({ StackName: 'Data' }),
    );
    expect(StackResources.map((r) => [r.LogicalResourceId, r.PhysicalResourceId, r.ResourceType])).toEqual([
      ['Orders', 'Data-Orders', 'AWS::DynamoDB::Table'],
      ['Ingress', 'http://sqs.test.localhost:9999/q/ingress', 'AWS::SQS::Queue'],
      ['Bus', 'fulfilment', 'AWS::Events::EventBus'],
    ]);
    expect(StackResources[0]).toMatchObject({
      StackName: 'Data',
      StackId: `arn:aws:cloudformation:${ARN}:stack/Data/local`,
      ResourceStatus: 'CREATE_COMPLETE',
      Timestamp: CREATED,
    });
    const one = await client.send(
      new DescribeStackResourcesCommand({ StackName: 'Logic', LogicalResourceId: 'Router' }),
    );
    expect(one.StackResources?.map((r) => r.PhysicalResourceId)).toEqual(['router']);
    const byPhysicalId = await client.send(
      new DescribeStackResourcesCommand({
        PhysicalResourceId: `arn:aws:states:${ARN}:stateMachine:Logic-Path`,
      }),
    );
    expect(byPhysicalId.StackResources?.map((r) => r.StackName)).toEqual(['Logic', 'Logic']);
    const error = await rejection(client.send(new DescribeStackResourcesCommand({ StackName: 'Nope' })));
    expect(error.name).toBe('ValidationError');
    expect(error.message).toBe('Stack with id Nope does not exist');
  });
});
