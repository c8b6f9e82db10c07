import type { Stack } from 'aws-cdk-lib';
import { Annotations, Capture, Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  buildTestApp,
  listOf,
  logicalId,
  props,
  Renderer,
  resource,
  resourcesOf,
  type Statement,
} from './support.ts';

let stack: Stack;
let template: Template;
/** The same app with `handoff:stage` = prod, which must retain its data. */
let prodTemplate: Template;
let render: (value: unknown) => string;

const TABLES = [
  'OrdersTable',
  'ExceptionsTable',
  'SlaClocksTable',
  'BackordersTable',
  'ProcessLogTable',
] as const;
const DLQS = [
  'ErpIngressDlq',
  'EdiInboundDlq',
  'WmsEventsDlq',
  'VendorAsnDlq',
  'FunctionFailureDlq',
  'RuleTargetDlq',
] as const;
/** Partners' inbound feeds, each consumed by its adapter and redriven to its own DLQ. */
const INGRESS = {
  ErpIngressQueue: 'ErpIngressDlq',
  EdiInboundQueue: 'EdiInboundDlq',
  WmsEventsQueue: 'WmsEventsDlq',
  VendorAsnQueue: 'VendorAsnDlq',
} as const;

beforeAll(() => {
  stack = buildTestApp().stateful;
  template = Template.fromStack(stack);
  prodTemplate = Template.fromStack(buildTestApp({ 'handoff:stage': 'prod' }).stateful);
  const renderer = new Renderer();
  render = (value) => renderer.render(value);
});

const id = (type: string, prefix: string) => logicalId(template, type, prefix);
const tableId = (name: string) => id('AWS::DynamoDB::GlobalTable', name);
const queueId = (name: string) => id('AWS::SQS::Queue', name);
const keyId = () => id('AWS::KMS::Key', 'OrderDataKey');
const busId = () => id('AWS::Events::EventBus', 'FulfilmentBus');

const replicasOf = (tpl: Template, table: string) =>
  listOf(props(tpl, table).Replicas as Record<string, unknown>[] | undefined);

/** The QueuePolicy resources that apply to the queue with this logical id. */
function queuePolicies(tpl: Template, queueLogicalId: string): Statement[] {
  return Object.values(tpl.findResources('AWS::SQS::QueuePolicy'))
    .filter(
      (policy) => JSON.stringify(policy.Properties?.Queues) === JSON.stringify([{ Ref: queueLogicalId }]),
    )
    .flatMap((policy) => listOf<Statement>(policy.Properties?.PolicyDocument?.Statement));
}

it('no construct in the stack carries an error annotation', () => {
  expect(Annotations.fromStack(stack).findError('*', Match.anyValue())).toEqual([]);
});

describe('fulfilment bus and archive', () => {
  it('creates the custom bus and archives every handoff.* event on it, with a retention', () => {
    template.hasResourceProperties('AWS::Events::EventBus', { Name: Match.anyValue() });
    template.hasResourceProperties('AWS::Events::Archive', {
      SourceArn: { 'Fn::GetAtt': [busId(), 'Arn'] },
      EventPattern: { source: [{ prefix: 'handoff.' }] },
      RetentionDays: 400,
    });
  });

  it('encrypts the bus and its archive with the customer-managed key, which EventBridge may use for this account only', () => {
    template.hasResourceProperties('AWS::Events::EventBus', {
      KmsKeyIdentifier: { 'Fn::GetAtt': [keyId(), 'Arn'] },
    });
    template.hasResourceProperties('AWS::Events::Archive', {
      KmsKeyIdentifier: { 'Fn::GetAtt': [keyId(), 'Arn'] },
    });
    const statements = listOf<Statement>(
      (props(template, keyId()).KeyPolicy as { Statement?: Statement[] } | undefined)?.Statement,
    );
    const forEvents = statements.filter((st) =>
      JSON.stringify(st.Principal).includes('events.amazonaws.com'),
    );
    expect(forEvents.length).toBeGreaterThan(0);
    for (const st of forEvents) expect(st.Condition).toBeDefined();
  });
});

describe('operations alerts', () => {
  it('has an encrypted, TLS-only alerts topic that CloudWatch may publish to from this account', () => {
    const topic = id('AWS::SNS::Topic', 'OperationsAlerts');
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [keyId(), 'Arn'] } });
    const topicStatements = Object.values(template.findResources('AWS::SNS::TopicPolicy')).flatMap((p) =>
      listOf<Statement>(p.Properties?.PolicyDocument?.Statement),
    );
    expect(topicStatements).toContainEqual(
      expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    );
    const keyStatements = listOf<Statement>(
      (props(template, keyId()).KeyPolicy as { Statement?: Statement[] } | undefined)?.Statement,
    );
    expect(keyStatements).toContainEqual(
      expect.objectContaining({
        Sid: 'CloudWatchAlarmsPublishToAlertsTopic',
        Principal: { Service: 'cloudwatch.amazonaws.com' },
        Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
        Condition: { StringEquals: { 'aws:SourceAccount': expect.anything() } },
      }),
    );
    expect(topic).toMatch(/^OperationsAlerts/);
  });

  it('subscribes the alert e-mail given in context, and nobody by default', () => {
    template.resourceCountIs('AWS::SNS::Subscription', 0);
    const withEmail = Template.fromStack(buildTestApp({ 'handoff:alertEmail': 'ops@example.com' }).stateful);
    withEmail.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
    });
  });
});

describe('tables', () => {
  it('Orders: pk/sk with the KEYS_ONLY byStage GSI on stageShard/stageEnteredAt', () => {
    template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      GlobalSecondaryIndexes: [
        {
          IndexName: 'byStage',
          KeySchema: [
            { AttributeName: 'stageShard', KeyType: 'HASH' },
            { AttributeName: 'stageEnteredAt', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'KEYS_ONLY' },
        },
      ],
      AttributeDefinitions: Match.arrayWith([
        { AttributeName: 'stageShard', AttributeType: 'S' },
        { AttributeName: 'stageEnteredAt', AttributeType: 'S' },
      ]),
    });
    // …and that table is the one the stack calls OrdersTable.
    expect(props(template, tableId('OrdersTable')).GlobalSecondaryIndexes).toEqual([
      expect.objectContaining({ IndexName: 'byStage' }),
    ]);
  });

  it('Exceptions: pk only, with the byOwnerState and byOrder GSIs', () => {
    const exceptions = props(template, tableId('ExceptionsTable'));
    expect(exceptions.KeySchema).toEqual([{ AttributeName: 'pk', KeyType: 'HASH' }]);
    expect(exceptions.GlobalSecondaryIndexes).toEqual([
      expect.objectContaining({
        IndexName: 'byOwnerState',
        KeySchema: [
          { AttributeName: 'ownerState', KeyType: 'HASH' },
          { AttributeName: 'raisedAt', KeyType: 'RANGE' },
        ],
      }),
      expect.objectContaining({
        IndexName: 'byOrder',
        KeySchema: [
          { AttributeName: 'orderId', KeyType: 'HASH' },
          { AttributeName: 'raisedAt', KeyType: 'RANGE' },
        ],
      }),
    ]);
  });

  it('SlaClocks: TTL on expiresAt, a stream, and the byDueBucket GSI', () => {
    const clocks = props(template, tableId('SlaClocksTable'));
    expect(clocks.TimeToLiveSpecification).toEqual({ AttributeName: 'expiresAt', Enabled: true });
    expect(clocks.StreamSpecification).toEqual({ StreamViewType: 'NEW_AND_OLD_IMAGES' });
    expect(clocks.GlobalSecondaryIndexes).toEqual([
      expect.objectContaining({
        IndexName: 'byDueBucket',
        KeySchema: [
          { AttributeName: 'dueBucket', KeyType: 'HASH' },
          { AttributeName: 'dueAt', KeyType: 'RANGE' },
        ],
      }),
    ]);
  });

  it('ProcessLog: keyed by day-shard partition and time-ordered sort key, expiring by TTL, no index to keep', () => {
    const log = props(template, tableId('ProcessLogTable'));
    expect(log.KeySchema).toEqual([
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ]);
    expect(log.TimeToLiveSpecification).toEqual({ AttributeName: 'expiresAt', Enabled: true });
    expect(log.GlobalSecondaryIndexes).toBeUndefined();
    template.hasOutput('ProcessLogTableName', { Value: { Ref: tableId('ProcessLogTable') } });
  });

  it('Backorders: TTL on expiresAt (receipt plans) and sparse indexes for open backorders by SKU and by age', () => {
    const table = props(template, tableId('BackordersTable'));
    expect(table.TimeToLiveSpecification).toEqual({ AttributeName: 'expiresAt', Enabled: true });
    const indexes = table.GlobalSecondaryIndexes as { IndexName: string; KeySchema: unknown[] }[];
    expect(indexes.map((index) => [index.IndexName, index.KeySchema])).toEqual([
      [
        'openBySku',
        [
          { AttributeName: 'openSku', KeyType: 'HASH' },
          { AttributeName: 'createdAt', KeyType: 'RANGE' },
        ],
      ],
      [
        'openByAge',
        [
          { AttributeName: 'openShard', KeyType: 'HASH' },
          { AttributeName: 'cancelAfter', KeyType: 'RANGE' },
        ],
      ],
      [
        'byOrder',
        [
          { AttributeName: 'orderId', KeyType: 'HASH' },
          { AttributeName: 'backorderId', KeyType: 'RANGE' },
        ],
      ],
    ]);
  });

  it.each(TABLES)('%s is on-demand, with PITR and SSE under the customer-managed key', (name) => {
    const table = resource(template, tableId(name));
    expect(table.Type).toBe('AWS::DynamoDB::GlobalTable');
    expect(table.Properties).toMatchObject({
      BillingMode: 'PAY_PER_REQUEST',
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS' },
    });
    const replicas = replicasOf(template, tableId(name));
    expect(replicas.length).toBeGreaterThan(0);
    for (const replica of replicas) {
      expect(replica).toMatchObject({
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { KMSMasterKeyId: { 'Fn::GetAtt': [keyId(), 'Arn'] } },
      });
    }
  });

  it('has no table outside the five it declares', () => {
    expect(Object.keys(template.findResources('AWS::DynamoDB::GlobalTable')).sort()).toEqual(
      TABLES.map(tableId).sort(),
    );
    template.resourceCountIs('AWS::DynamoDB::Table', 0);
  });

  it('rotates the customer-managed key', () => {
    expect(props(template, keyId()).EnableKeyRotation).toBe(true);
  });
});

describe('queues', () => {
  it('every queue has SQS-managed SSE and a policy that denies non-TLS access', () => {
    const queues = Object.keys(template.findResources('AWS::SQS::Queue'));
    expect(queues.sort()).toEqual([...DLQS, ...Object.keys(INGRESS)].map(queueId).sort());
    for (const queue of queues) {
      expect(props(template, queue).SqsManagedSseEnabled, queue).toBe(true);
      expect(queuePolicies(template, queue), queue).toContainEqual({
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Action: 'sqs:*',
        Resource: { 'Fn::GetAtt': [queue, 'Arn'] },
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      });
    }
  });

  it.each(Object.entries(INGRESS))('%s redrives to %s after 5 receives', (queue, dlq) => {
    expect(props(template, queueId(queue)).RedrivePolicy).toEqual({
      deadLetterTargetArn: { 'Fn::GetAtt': [queueId(dlq), 'Arn'] },
      maxReceiveCount: 5,
    });
  });

  it.each(DLQS)('%s retains messages for 14 days', (name) => {
    expect(props(template, queueId(name)).MessageRetentionPeriod).toBe(1_209_600);
  });

  it('RuleTargetDlq lets EventBridge send only from rules on the fulfilment bus', () => {
    const ruleTargetDlq = queueId('RuleTargetDlq');
    const allows = queuePolicies(template, ruleTargetDlq).filter((s) => s.Effect === 'Allow');
    expect(allows).toHaveLength(1);
    const sourceArn = new Capture();
    expect(allows[0]).toEqual({
      Sid: 'FulfilmentBusRulesDeadLetter',
      Effect: 'Allow',
      Principal: { Service: 'events.amazonaws.com' },
      Action: 'sqs:SendMessage',
      Resource: { 'Fn::GetAtt': [ruleTargetDlq, 'Arn'] },
      Condition: { ArnLike: { 'aws:SourceArn': expect.anything() } },
    });
    // Template-level check of the same statement, capturing the condition value.
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: ruleTargetDlq }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Condition: { ArnLike: { 'aws:SourceArn': sourceArn } } }),
        ]),
      },
    });
    expect(render(sourceArn.asObject())).toMatch(
      /^arn:<AWS::Partition>:events:[a-z0-9-]+:<AWS::AccountId>:rule\/<FulfilmentBus>\/\*$/,
    );
  });

  it('the other queues grant nothing to anyone: their policies only deny', () => {
    for (const name of [...DLQS.filter((q) => q !== 'RuleTargetDlq'), ...Object.keys(INGRESS)]) {
      const allows = queuePolicies(template, queueId(name)).filter((s) => s.Effect === 'Allow');
      expect(allows, name).toEqual([]);
    }
  });
});

describe('outputs', () => {
  it('exports the bus name, the table names and the ingress queue URL', () => {
    template.hasOutput('EventBusName', { Value: { Ref: busId() } });
    template.hasOutput('EventBusArchiveName', {
      Value: { Ref: id('AWS::Events::Archive', 'FulfilmentBusFulfilmentArchive') },
    });
    template.hasOutput('OrdersTableName', { Value: { Ref: tableId('OrdersTable') } });
    template.hasOutput('ExceptionsTableName', { Value: { Ref: tableId('ExceptionsTable') } });
    template.hasOutput('SlaClocksTableName', { Value: { Ref: tableId('SlaClocksTable') } });
    // A queue's Ref is its URL.
    for (const queue of Object.keys(INGRESS)) {
      template.hasOutput(`${queue}Url`, { Value: { Ref: queueId(queue) } });
    }
  });
});

describe('retainData', () => {
  const dataResources = (tpl: Template) =>
    Object.entries(resourcesOf(tpl)).filter(([, r]) =>
      ['AWS::DynamoDB::GlobalTable', 'AWS::KMS::Key', 'AWS::SQS::Queue'].includes(r.Type),
    );

  it('dev (the default stage) makes tables, key and queues deletable, without deletion protection', () => {
    const resources = dataResources(template);
    expect(resources.length).toBe(TABLES.length + 1 + DLQS.length + Object.keys(INGRESS).length);
    for (const [logical, r] of resources) {
      expect([logical, r.DeletionPolicy, r.UpdateReplacePolicy]).toEqual([logical, 'Delete', 'Delete']);
    }
    for (const name of TABLES) {
      for (const replica of replicasOf(template, tableId(name)))
        expect(replica.DeletionProtectionEnabled, name).toBe(false);
    }
  });

  it('prod retains tables, key and queues, and turns on deletion protection', () => {
    const resources = dataResources(prodTemplate);
    expect(resources.length).toBe(TABLES.length + 1 + DLQS.length + Object.keys(INGRESS).length);
    for (const [logical, r] of resources) {
      expect([logical, r.DeletionPolicy, r.UpdateReplacePolicy]).toEqual([logical, 'Retain', 'Retain']);
    }
    for (const table of Object.keys(prodTemplate.findResources('AWS::DynamoDB::GlobalTable'))) {
      for (const replica of replicasOf(prodTemplate, table)) {
        expect(replica.DeletionProtectionEnabled, table).toBe(true);
      }
    }
  });

  it('prod retains the event archive and its bus, so replayable history survives a stack delete', () => {
    prodTemplate.hasResource('AWS::Events::EventBus', { DeletionPolicy: 'Retain' });
    prodTemplate.hasResource('AWS::Events::Archive', { DeletionPolicy: 'Retain' });
  });
});
