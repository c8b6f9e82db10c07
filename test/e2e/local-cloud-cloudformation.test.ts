import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import {
  CloudFormationClient,
  type CloudFormationServiceException,
  DescribeStackResourcesCommand,
  DescribeStacksCommand,
  ListStacksCommand,
  type Stack,
} from '@aws-sdk/client-cloudformation';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalCloud } from '../../local/cloud.ts';
import { queueNamed, startTestCloud, TEST_CREDENTIALS, type TestCloud } from '../support/test-cloud.ts';

const STATEFUL = 'Handoff-dev-Stateful';
const STATELESS = 'Handoff-dev-Stateless';

const run = promisify(execFile);

/** The AWS CLI against the endpoint, over HTTP, with dummy credentials. */
async function awsCli(cloud: LocalCloud, ...args: string[]): Promise<unknown> {
  const { stdout } = await run(
    'aws',
    ['--endpoint-url', cloud.endpoint, '--region', 'us-east-1', '--output', 'json', ...args],
    { env: { ...process.env, AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'x', AWS_PAGER: '' } },
  );
  return JSON.parse(stdout);
}

function outputsOf(stack: Stack | undefined): Record<string, string | undefined> {
  return Object.fromEntries((stack?.Outputs ?? []).map((o) => [o.OutputKey, o.OutputValue]));
}

describe('local cloud: CloudFormation stack outputs and resources', () => {
  let world: TestCloud;
  let cloud: LocalCloud;
  let client: CloudFormationClient;

  beforeAll(async () => {
    world = await startTestCloud();
    cloud = world.cloud;
    client = new CloudFormationClient({
      endpoint: cloud.endpoint,
      region: 'us-east-1',
      credentials: TEST_CREDENTIALS,
    });
  });

  afterAll(async () => {
    client?.destroy();
    await world?.stop();
  });

  it('lists and describes both product stacks, CREATE_COMPLETE, with their descriptions', async () => {
    const { StackSummaries = [] } = await client.send(new ListStacksCommand({}));
    expect(StackSummaries.map((s) => s.StackName).sort()).toEqual([STATEFUL, STATELESS]);
    expect(StackSummaries.every((s) => s.StackStatus === 'CREATE_COMPLETE')).toBe(true);

    const { Stacks = [] } = await client.send(new DescribeStacksCommand({}));
    expect(Stacks.map((s) => s.StackName).sort()).toEqual([STATEFUL, STATELESS]);
    for (const stack of Stacks) {
      expect(stack.StackId).toMatch(
        new RegExp(`^arn:aws:cloudformation:us-east-1:000000000000:stack/${stack.StackName}/`),
      );
      expect(stack.StackStatus).toBe('CREATE_COMPLETE');
      expect(stack.CreationTime).toBeInstanceOf(Date);
      expect(stack.Description).toMatch(/^Handoff: /);
    }
  });

  it('resolves outputs to the names, URLs and ARNs the local cloud runs', async () => {
    const [stateful] = (await client.send(new DescribeStacksCommand({ StackName: STATEFUL }))).Stacks ?? [];
    const [stateless] = (await client.send(new DescribeStacksCommand({ StackName: STATELESS }))).Stacks ?? [];
    const outputs = { ...outputsOf(stateful), ...outputsOf(stateless) };

    const exceptions = cloud.tables.find((t) => t.resource.logicalId.startsWith('ExceptionsTable'));
    expect(outputs.ExceptionsTableName).toBe(exceptions?.name);
    expect(outputs.ErpIngressQueueUrl).toBe(queueNamed(cloud, 'ErpIngressQueue').url);
    expect(outputs.CarrierWebhookUrl).toBe(cloud.functionUrl('CarrierWebhook'));
    expect(cloud.events.buses.has(String(outputs.EventBusName))).toBe(true);
    expect(cloud.sfn.machines.has(String(outputs.StandardSingleSiteStateMachineArn))).toBe(true);
    expect(cloud.lambda.find(String(outputs.OrderRouterFunctionName))).toBeDefined();
    expect(outputs.CarrierWebhookSecretArn).toBe(cloud.secrets.lookup('CarrierWebhookSecret').arn);

    // The cross-stack exports carry their export names.
    const exported = (stateful?.Outputs ?? []).filter((o) => o.ExportName);
    expect(exported.length).toBeGreaterThan(0);
    for (const o of exported) expect(o.ExportName).toBe(`${STATEFUL}:${o.OutputKey}`);
  });

  it('answers an unknown stack with ValidationError, as CloudFormation does', async () => {
    const error = await client.send(new DescribeStacksCommand({ StackName: 'Handoff-nope' })).then(
      () => undefined,
      (e: CloudFormationServiceException) => e,
    );
    expect(error?.name).toBe('ValidationError');
    expect(error?.message).toBe('Stack with id Handoff-nope does not exist');
    expect(error?.$metadata.httpStatusCode).toBe(400);

    // The same over HTTP, as the raw Query protocol.
    const reply = await fetch(cloud.endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
      body: 'Action=DescribeStacks&Version=2010-05-15&StackName=Handoff-nope',
    });
    expect(reply.status).toBe(400);
    const xml = await reply.text();
    expect(xml).toContain('<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/">');
    expect(xml).toContain(
      '<Error><Type>Sender</Type><Code>ValidationError</Code><Message>Stack with id Handoff-nope does not exist</Message></Error>',
    );
  });

  it('describes a stack’s resources with the physical ids the local cloud uses', async () => {
    const { StackResources = [] } = await client.send(
      new DescribeStackResourcesCommand({ StackName: STATEFUL }),
    );
    expect(StackResources).toHaveLength(cloud.model.resources.filter((r) => r.stack === STATEFUL).length);
    expect(
      StackResources.every((r) => r.ResourceStatus === 'CREATE_COMPLETE' && r.StackName === STATEFUL),
    ).toBe(true);
    const physical = (prefix: string) =>
      StackResources.find((r) => r.LogicalResourceId?.startsWith(prefix))?.PhysicalResourceId;
    expect(physical('ExceptionsTable')).toBe(
      cloud.tables.find((t) => t.resource.logicalId.startsWith('ExceptionsTable'))?.name,
    );
    expect(physical('ErpIngressQueue')).toBe(queueNamed(cloud, 'ErpIngressQueue').url);
    expect(StackResources.find((r) => r.LogicalResourceId?.startsWith('ExceptionsTable'))?.ResourceType).toBe(
      'AWS::DynamoDB::GlobalTable',
    );

    const functions = await client.send(new DescribeStackResourcesCommand({ StackName: STATELESS }));
    const router = functions.StackResources?.find(
      (r) => r.ResourceType === 'AWS::Lambda::Function' && r.LogicalResourceId?.startsWith('OrderRouter'),
    );
    expect(cloud.lambda.find(String(router?.PhysicalResourceId))).toBeDefined();
  });

  it('serves the AWS CLI over HTTP: describe-stacks parses as JSON with both stacks and their outputs', async () => {
    const described = (await awsCli(cloud, 'cloudformation', 'describe-stacks')) as { Stacks: Stack[] };
    expect(described.Stacks.map((s) => s.StackName).sort()).toEqual([STATEFUL, STATELESS]);
    const stateless = described.Stacks.find((s) => s.StackName === STATELESS);
    expect(outputsOf(stateless).CarrierWebhookUrl).toBe(cloud.functionUrl('CarrierWebhook'));
    expect(cloud.requests.get('cloudformation.DescribeStacks')).toBeGreaterThan(0);
  });
});
