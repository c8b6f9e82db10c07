import { readFileSync } from 'node:fs';
import { Annotations, Capture, Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SLA_POLICY } from '../../lambdas/core/sla.ts';
import { LOCAL_PARTNERS } from '../../lib/app.ts';
import { DEFAULT_EDI_INTERCHANGE_ID, DEFAULT_EDI_TRADING_PARTNERS } from '../../lib/edi-trading-partners.ts';
import type { StatelessStack } from '../../lib/stateless-stack.ts';
import {
  actionsOf,
  buildTestApp,
  grantsByResource,
  listOf,
  logicalId,
  policyDocuments,
  props,
  Renderer,
  roleOf,
  roleStatements,
  type Statement,
} from './support.ts';

let stack: StatelessStack;
let template: Template;
let renderer: Renderer;
/** The same app with partner URLs overridden in context, as a real deployment passes them with `-c`. */
let overridden: Template;

const OVERRIDES = {
  'handoff:erpBaseUrl': 'https://erp.example.test/api/v2',
  'handoff:wmsBaseUrl': 'https://wms.example.test/api',
};

beforeAll(() => {
  const handoff = buildTestApp();
  stack = handoff.stateless;
  template = Template.fromStack(handoff.stateless);
  renderer = new Renderer(Template.fromStack(handoff.stateful));
  overridden = Template.fromStack(buildTestApp(OVERRIDES).stateless);
});

const render = (value: unknown) => renderer.render(value);

/** The functions of the stack: construct id → handler module and the environment it adds. */
const FUNCTIONS = {
  ErpOrderIngress: { handler: 'erp-order-ingress', env: ['EXCEPTIONS_TABLE_NAME', 'ERP_BASE_URL'] },
  CheckCredit: { handler: 'check-credit', env: ['EXCEPTIONS_TABLE_NAME', 'ERP_BASE_URL'] },
  AllocateStock: {
    handler: 'allocate-stock',
    env: ['WMS_BASE_URL', 'ERP_BASE_URL', 'EXCEPTIONS_TABLE_NAME', 'BUSINESS_CALENDAR'],
  },
  ReleaseToWarehouse: { handler: 'release-to-warehouse', env: ['WMS_BASE_URL'] },
  RaiseStepException: { handler: 'raise-step-exception', env: ['EXCEPTIONS_TABLE_NAME'] },
  HumanDecisionTask: { handler: 'human-decision-task', env: ['EXCEPTIONS_TABLE_NAME', 'BUSINESS_CALENDAR'] },
  DecideException: { handler: 'decide-exception', env: ['EXCEPTIONS_TABLE_NAME'] },
  SplitAllocation: { handler: 'split-allocation', env: ['WMS_BASE_URL'] },
  ReserveShipment: { handler: 'reserve-shipment', env: ['WMS_BASE_URL'], partnerOnly: true },
  BookCarrier: { handler: 'book-carrier', env: ['TMS_BASE_URL', 'ERP_BASE_URL'] },
  PostShipment: {
    handler: 'post-shipment',
    env: ['ERP_BASE_URL', 'CRM_BASE_URL', 'EXCEPTIONS_TABLE_NAME'],
  },
  DropShip: { handler: 'drop-ship', env: ['EXCEPTIONS_TABLE_NAME', 'ERP_BASE_URL', 'VENDOR_BASE_URL'] },
  BackorderReevaluation: {
    handler: 'backorder-reevaluation',
    env: ['WMS_BASE_URL', 'BACKORDERS_TABLE_NAME'],
  },
  OrderRouter: { handler: 'route-order', env: ['PATH_STATE_MACHINES', 'WMS_BASE_URL'] },
  EdiReplenishment: {
    handler: 'edi-replenishment',
    env: [
      'EXCEPTIONS_TABLE_NAME',
      'EDI_BASE_URL',
      'ERP_BASE_URL',
      'EDI_INTERCHANGE_ID',
      'EDI_TRADING_PARTNERS',
    ],
  },
  WmsInventoryFeed: { handler: 'wms-inventory-feed', env: ['EXCEPTIONS_TABLE_NAME', 'ERP_BASE_URL'] },
  CarrierWebhook: {
    handler: 'carrier-webhook',
    env: ['CARRIER_WEBHOOK_SECRET_ARN', 'EXCEPTIONS_TABLE_NAME'],
  },
  SlaTracker: {
    handler: 'sla-tracker',
    env: ['EXCEPTIONS_TABLE_NAME', 'SLA_CLOCKS_TABLE_NAME', 'SLA_POLICY'],
  },
  SlaDetector: {
    handler: 'sla-detector',
    env: ['EXCEPTIONS_TABLE_NAME', 'SLA_CLOCKS_TABLE_NAME', 'SLA_POLICY'],
  },
  DeadLetterIntake: { handler: 'dead-letter-intake', env: ['EXCEPTIONS_TABLE_NAME', 'DEAD_LETTER_QUEUES'] },
} as const;
type FunctionName = keyof typeof FUNCTIONS;
const FUNCTION_NAMES = Object.keys(FUNCTIONS) as FunctionName[];
/** Functions that talk to a partner only: no table, no bus, no key. */
const partnerOnly = (name: FunctionName) => 'partnerOnly' in FUNCTIONS[name];

const functionId = (name: string) => logicalId(template, 'AWS::Lambda::Function', `${name}Function`);
const stateMachineId = () =>
  logicalId(template, 'AWS::StepFunctions::StateMachine', 'StandardSingleSitePathStateMachine');

/** The statements of a function's role, found from the function's `Role` (`<Name>Role<hash>`). */
function functionStatements(name: string): Statement[] {
  const role = roleOf(template, functionId(name), 'Role');
  expect(role).toBe(logicalId(template, 'AWS::IAM::Role', `${name}Role`));
  return roleStatements(template, role);
}

const ORDERS = '<stateful:OrdersTable.Arn>';
const EXCEPTIONS = '<stateful:ExceptionsTable.Arn>';

it('no construct in the stack carries an error annotation', () => {
  expect(Annotations.fromStack(stack).findError('*', Match.anyValue())).toEqual([]);
});

describe('IAM', () => {
  it('no statement of any policy in the stack has a wildcard action', () => {
    const documents = policyDocuments(template);
    // Every function role and the state machine role has a policy; the walk must have seen them all.
    expect(documents.map((d) => d.where)).toEqual(
      expect.arrayContaining(
        [
          ...FUNCTION_NAMES.map((n) => `${n}RoleDefaultPolicy`),
          'StandardSingleSitePathRoleDefaultPolicy',
        ].map((prefix) => logicalId(template, 'AWS::IAM::Policy', prefix)),
      ),
    );
    const offenders = documents.flatMap(({ where, statements }) =>
      statements.flatMap((statement, index) => [
        ...actionsOf(statement)
          .filter((action) => action.includes('*'))
          .map((action) => `${where} Statement[${index}] Action ${action}`),
        ...listOf(statement.NotAction).map((action) => `${where} Statement[${index}] NotAction ${action}`),
      ]),
    );
    expect(offenders, 'wildcard actions (logical id, statement, action)').toEqual([]);
  });

  it('Resource "*" is granted only for actions that support no resource-level permissions', () => {
    const unscopable = new Set([
      'xray:PutTraceSegments',
      'xray:PutTelemetryRecords',
      'xray:GetSamplingRules',
      'xray:GetSamplingTargets',
      'logs:CreateLogDelivery',
      'logs:GetLogDelivery',
      'logs:UpdateLogDelivery',
      'logs:DeleteLogDelivery',
      'logs:ListLogDeliveries',
      'logs:PutResourcePolicy',
      'logs:DescribeResourcePolicies',
      'logs:DescribeLogGroups',
    ]);
    const offenders = policyDocuments(template).flatMap(({ where, statements }) =>
      statements
        .filter((s) => s.Effect === 'Allow' && listOf(s.Resource).includes('*'))
        .flatMap((s) => actionsOf(s).filter((a) => !unscopable.has(a)))
        .map((action) => `${where}: ${action} on *`),
    );
    expect(offenders).toEqual([]);
  });

  it.each<[FunctionName, Record<string, string[]>]>([
    [
      'ErpOrderIngress',
      { [ORDERS]: ['dynamodb:GetItem', 'dynamodb:PutItem'], [EXCEPTIONS]: ['dynamodb:PutItem'] },
    ],
    [
      'CheckCredit',
      { [ORDERS]: ['dynamodb:GetItem', 'dynamodb:UpdateItem'], [EXCEPTIONS]: ['dynamodb:PutItem'] },
    ],
    [
      'AllocateStock',
      {
        [ORDERS]: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
        [EXCEPTIONS]: ['dynamodb:GetItem', 'dynamodb:PutItem'],
      },
    ],
    ['ReleaseToWarehouse', { [ORDERS]: ['dynamodb:GetItem', 'dynamodb:UpdateItem'] }],
    [
      'RaiseStepException',
      { [ORDERS]: ['dynamodb:GetItem', 'dynamodb:UpdateItem'], [EXCEPTIONS]: ['dynamodb:PutItem'] },
    ],
    [
      'HumanDecisionTask',
      {
        [ORDERS]: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
        [EXCEPTIONS]: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
      },
    ],
    [
      'DecideException',
      {
        [ORDERS]: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
        [EXCEPTIONS]: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
      },
    ],
    ['SplitAllocation', { [ORDERS]: ['dynamodb:GetItem', 'dynamodb:UpdateItem'] }],
    ['ReserveShipment', {}],
    ['BookCarrier', { [ORDERS]: ['dynamodb:GetItem', 'dynamodb:UpdateItem'] }],
    [
      'DropShip',
      { [ORDERS]: ['dynamodb:GetItem', 'dynamodb:UpdateItem'], [EXCEPTIONS]: ['dynamodb:PutItem'] },
    ],
    [
      'BackorderReevaluation',
      {
        [ORDERS]: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
        '<stateful:BackordersTable.Arn>': [
          'dynamodb:BatchGetItem',
          'dynamodb:GetItem',
          'dynamodb:PutItem',
          'dynamodb:Query',
          'dynamodb:UpdateItem',
        ],
        '<stateful:BackordersTable.Arn>/index/openBySku': ['dynamodb:Query'],
        '<stateful:BackordersTable.Arn>/index/openByAge': ['dynamodb:Query'],
        '<stateful:BackordersTable.Arn>/index/byOrder': ['dynamodb:Query'],
      },
    ],
    [
      'PostShipment',
      {
        [ORDERS]: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem'],
        // A shipment resolves the release failure it answers (an order parked after its release).
        [EXCEPTIONS]: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
      },
    ],
    ['OrderRouter', { [ORDERS]: ['dynamodb:GetItem', 'dynamodb:UpdateItem'] }],
    ['DeadLetterIntake', { [ORDERS]: ['dynamodb:GetItem'], [EXCEPTIONS]: ['dynamodb:PutItem'] }],
    // Refused partner messages are kept as exceptions; an authentic webhook answered 4xx too.
    ['WmsInventoryFeed', { [EXCEPTIONS]: ['dynamodb:PutItem'] }],
    [
      'CarrierWebhook',
      { [ORDERS]: ['dynamodb:GetItem', 'dynamodb:PutItem'], [EXCEPTIONS]: ['dynamodb:PutItem'] },
    ],
    [
      'SlaTracker',
      {
        [ORDERS]: ['dynamodb:GetItem'],
        [EXCEPTIONS]: ['dynamodb:PutItem'],
        '<stateful:SlaClocksTable.Arn>': ['dynamodb:PutItem', 'dynamodb:Query'],
      },
    ],
    [
      'SlaDetector',
      {
        [ORDERS]: ['dynamodb:GetItem'],
        [EXCEPTIONS]: ['dynamodb:PutItem'],
        [`${EXCEPTIONS}/index/byOwnerState`]: ['dynamodb:Query'],
        '<stateful:SlaClocksTable.Arn>': ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query'],
        '<stateful:SlaClocksTable.Arn>/index/byDueBucket': ['dynamodb:Query'],
      },
    ],
  ])('%s has exactly its DynamoDB actions, on the tables themselves', (name, expected) => {
    expect(grantsByResource(functionStatements(name), 'dynamodb', renderer)).toEqual(expected);
  });

  it.each(FUNCTION_NAMES)('%s may put events on the fulfilment bus only', (name) => {
    expect(grantsByResource(functionStatements(name), 'events', renderer)).toEqual(
      partnerOnly(name) ? {} : { '<stateful:FulfilmentBus.Arn>': ['events:PutEvents'] },
    );
    if (partnerOnly(name)) return;
    expect(grantsByResource(functionStatements(name), 'events', renderer)).toEqual({
      '<stateful:FulfilmentBus.Arn>': ['events:PutEvents'],
    });
  });

  it('OrderRouter may start the fulfilment paths and nothing else in Step Functions', () => {
    expect(grantsByResource(functionStatements('OrderRouter'), 'states', renderer)).toEqual({
      '<StandardSingleSitePathStateMachine>': ['states:StartExecution'],
      '<MultiSiteSplitPathStateMachine>': ['states:StartExecution'],
      '<ExpeditedPathStateMachine>': ['states:StartExecution'],
      '<DropShipPathStateMachine>': ['states:StartExecution'],
      '<EdiRetailReplenishmentPathStateMachine>': ['states:StartExecution'],
    });
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: logicalId(template, 'AWS::IAM::Role', 'OrderRouterRole') }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Action: 'states:StartExecution',
            Effect: 'Allow',
            Resource: Match.arrayWith([{ Ref: stateMachineId() }]),
          },
        ]),
      },
    });
    const answering = ['HumanDecisionTask', 'DecideException'];
    for (const name of FUNCTION_NAMES.filter((n) => n !== 'OrderRouter' && !answering.includes(n))) {
      expect(grantsByResource(functionStatements(name), 'states', renderer), name).toEqual({});
    }
  });

  it.each(['HumanDecisionTask', 'DecideException'])(
    '%s may answer waiting tasks of the fulfilment paths, and nothing else in Step Functions',
    (name) => {
      const answer = ['states:SendTaskFailure', 'states:SendTaskHeartbeat', 'states:SendTaskSuccess'];
      expect(grantsByResource(functionStatements(name), 'states', renderer)).toEqual({
        '<StandardSingleSitePathStateMachine>': answer,
        '<MultiSiteSplitPathStateMachine>': answer,
        '<ExpeditedPathStateMachine>': answer,
        '<DropShipPathStateMachine>': answer,
        '<EdiRetailReplenishmentPathStateMachine>': answer,
      });
    },
  );

  it.each(FUNCTION_NAMES)(
    '%s uses the data key only through DynamoDB (and Secrets Manager for its secret) (kms:ViaService)',
    (name) => {
      const kms = functionStatements(name).filter((s) => actionsOf(s).some((a) => a.startsWith('kms:')));
      expect(kms.length > 0).toBe(!partnerOnly(name));
      const services = name === 'CarrierWebhook' ? 'dynamodb|secretsmanager' : 'dynamodb';
      for (const statement of kms) {
        expect(render(statement.Resource)).toBe('<stateful:OrderDataKey.Arn>');
        expect(statement.Condition).toEqual({
          StringEquals: {
            'kms:ViaService': expect.stringMatching(
              new RegExp(`^(${services})\\.[a-z0-9-]+\\.amazonaws\\.com$`),
            ),
          },
        });
      }
    },
  );

  it('only CarrierWebhook may read the webhook secret, and it may read nothing else in Secrets Manager', () => {
    for (const name of FUNCTION_NAMES) {
      const grants = grantsByResource(functionStatements(name), 'secretsmanager', renderer);
      expect(grants, name).toEqual(
        name === 'CarrierWebhook'
          ? {
              '<stateful:CarrierWebhookSecret>': [
                'secretsmanager:DescribeSecret',
                'secretsmanager:GetSecretValue',
              ],
            }
          : {},
      );
    }
  });

  it('the carrier webhook is a function URL without IAM auth: every request must carry a valid HMAC', () => {
    const urls = Object.values(template.findResources('AWS::Lambda::Url'));
    expect(urls).toHaveLength(1);
    expect(urls[0]?.Properties).toEqual({
      AuthType: 'NONE',
      TargetFunctionArn: { 'Fn::GetAtt': [functionId('CarrierWebhook'), 'Arn'] },
    });
    template.hasOutput('CarrierWebhookUrl', {
      Value: {
        'Fn::GetAtt': [
          logicalId(template, 'AWS::Lambda::Url', 'CarrierWebhookFunctionFunctionUrl'),
          'FunctionUrl',
        ],
      },
    });
  });

  it('each partner feed queue is consumed by its adapter alone', () => {
    const consumers: Record<string, FunctionName> = {
      ErpIngressQueue: 'ErpOrderIngress',
      EdiInboundQueue: 'EdiReplenishment',
      WmsEventsQueue: 'WmsInventoryFeed',
      VendorAsnQueue: 'DropShip',
    };
    for (const [queue, consumer] of Object.entries(consumers)) {
      for (const name of FUNCTION_NAMES) {
        const consumes = grantsByResource(functionStatements(name), 'sqs', renderer)[
          `<stateful:${queue}.Arn>`
        ];
        if (name === consumer) {
          expect(consumes, name).toEqual(expect.arrayContaining(['sqs:ReceiveMessage', 'sqs:DeleteMessage']));
        } else {
          expect(consumes, `${name} on ${queue}`).toBeUndefined();
        }
      }
    }
  });
});

describe('functions', () => {
  it.each(FUNCTION_NAMES)(
    '%s: Node 24 on arm64, active tracing, JSON logs, failures to FunctionFailureDlq',
    (name) => {
      const fn = props(template, functionId(name));
      expect(fn).toMatchObject({
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        TracingConfig: { Mode: 'Active' },
        LoggingConfig: {
          LogFormat: 'JSON',
          LogGroup: { Ref: logicalId(template, 'AWS::Logs::LogGroup', `${name}Logs`) },
        },
      });
      // An on-failure destination, not a DLQ: its record names the function, so a redrive re-invokes it.
      expect(fn.DeadLetterConfig).toBeUndefined();
      const configs = Object.values(template.findResources('AWS::Lambda::EventInvokeConfig')).filter(
        (config) =>
          (config.Properties?.FunctionName as { Ref?: string } | undefined)?.Ref === functionId(name),
      );
      expect(configs).toHaveLength(1);
      const config = configs[0]?.Properties ?? {};
      expect(config).toMatchObject({
        Qualifier: '$LATEST',
        MaximumRetryAttempts: 2,
        MaximumEventAgeInSeconds: 6 * 3600,
      });
      const destinations = config.DestinationConfig as { OnFailure?: { Destination?: unknown } };
      expect(Object.keys(destinations)).toEqual(['OnFailure']);
      expect(render(destinations.OnFailure?.Destination)).toBe('<stateful:FunctionFailureDlq.Arn>');
      // Delivering the record takes sqs:SendMessage, and the role gets nothing more on that queue.
      expect(
        grantsByResource(functionStatements(name), 'sqs', renderer)['<stateful:FunctionFailureDlq.Arn>'],
      ).toEqual(
        name === 'DeadLetterIntake' ? ['sqs:ReceiveMessage', 'sqs:SendMessage'] : ['sqs:SendMessage'],
      );
    },
  );

  it.each(FUNCTION_NAMES)('%s has exactly its environment', (name) => {
    const variables = (
      props(template, functionId(name)).Environment as { Variables: Record<string, unknown> }
    ).Variables;
    const rendered = Object.fromEntries(
      Object.entries(variables).map(([key, value]) => [key, render(value)]),
    );
    const expected: Record<string, string> = {
      POWERTOOLS_SERVICE_NAME: `handoff-${FUNCTIONS[name].handler}`,
      NODE_OPTIONS: '--enable-source-maps',
      ...(partnerOnly(name)
        ? {}
        : { EVENT_BUS_NAME: '<stateful:FulfilmentBus>', ORDERS_TABLE_NAME: '<stateful:OrdersTable>' }),
    };
    const extra: Record<string, string> = {
      EXCEPTIONS_TABLE_NAME: '<stateful:ExceptionsTable>',
      ERP_BASE_URL: LOCAL_PARTNERS.erpBaseUrl,
      WMS_BASE_URL: LOCAL_PARTNERS.wmsBaseUrl,
      TMS_BASE_URL: LOCAL_PARTNERS.tmsBaseUrl,
      CRM_BASE_URL: LOCAL_PARTNERS.crmBaseUrl,
      VENDOR_BASE_URL: LOCAL_PARTNERS.vendorBaseUrl,
      BACKORDERS_TABLE_NAME: '<stateful:BackordersTable>',
      PATH_STATE_MACHINES: expect.any(String),
      EDI_BASE_URL: LOCAL_PARTNERS.ediBaseUrl,
      EDI_INTERCHANGE_ID: DEFAULT_EDI_INTERCHANGE_ID,
      EDI_TRADING_PARTNERS: JSON.stringify(DEFAULT_EDI_TRADING_PARTNERS),
      CARRIER_WEBHOOK_SECRET_ARN: '<stateful:CarrierWebhookSecret>',
      SLA_CLOCKS_TABLE_NAME: '<stateful:SlaClocksTable>',
      SLA_POLICY: JSON.stringify(DEFAULT_SLA_POLICY),
      BUSINESS_CALENDAR: JSON.stringify(DEFAULT_SLA_POLICY.businessCalendar),
      DEAD_LETTER_QUEUES: expect.any(String),
    };
    for (const key of FUNCTIONS[name].env) expected[key] = extra[key] as string;
    expect(rendered).toEqual(expected);
  });

  it('OrderRouter maps every fulfilment path, standard-single-site included, to its state machine', () => {
    const variables = new Capture();
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ PATH_STATE_MACHINES: variables }) },
    });
    const paths = JSON.parse(render(variables.asObject())) as Record<string, string>;
    expect(paths).toEqual({
      'standard-single-site': '<StandardSingleSitePathStateMachine>',
      'multi-site-split': '<MultiSiteSplitPathStateMachine>',
      expedited: '<ExpeditedPathStateMachine>',
      'drop-ship': '<DropShipPathStateMachine>',
      'edi-retail-replenishment': '<EdiRetailReplenishmentPathStateMachine>',
    });
    expect(Object.keys(paths).sort()).toEqual(Object.keys(stack.paths).sort());
  });

  it('partner URLs come from context', () => {
    const env = (name: string) => {
      const id = logicalId(overridden, 'AWS::Lambda::Function', `${name}Function`);
      return (props(overridden, id).Environment as { Variables: Record<string, unknown> }).Variables;
    };
    expect(env('CheckCredit').ERP_BASE_URL).toBe(OVERRIDES['handoff:erpBaseUrl']);
    expect(env('AllocateStock').WMS_BASE_URL).toBe(OVERRIDES['handoff:wmsBaseUrl']);
    expect(env('AllocateStock').ERP_BASE_URL).toBe(OVERRIDES['handoff:erpBaseUrl']);
    expect(env('ReleaseToWarehouse').WMS_BASE_URL).toBe(OVERRIDES['handoff:wmsBaseUrl']);
    expect(JSON.stringify(overridden.toJSON())).not.toContain(LOCAL_PARTNERS.erpBaseUrl);
  });

  it('every log group has a retention', () => {
    const groups = template.findResources('AWS::Logs::LogGroup');
    expect(Object.keys(groups)).toEqual(
      expect.arrayContaining([
        ...FUNCTION_NAMES.map((n) => logicalId(template, 'AWS::Logs::LogGroup', `${n}Logs`)),
        logicalId(template, 'AWS::Logs::LogGroup', 'StandardSingleSitePathExecutionLogs'),
      ]),
    );
    for (const [id, group] of Object.entries(groups)) {
      expect(group.Properties?.RetentionInDays, id).toEqual(expect.any(Number));
    }
  });

  it.each([
    ['ErpOrderIngress', 'ErpIngressQueue'],
    ['EdiReplenishment', 'EdiInboundQueue'],
    ['WmsInventoryFeed', 'WmsEventsQueue'],
    ['DropShip', 'VendorAsnQueue'],
  ])('%s consumes %s in batches of 10, reporting item failures', (name, queue) => {
    const mappings = Object.values(template.findResources('AWS::Lambda::EventSourceMapping')).map(
      (m) => m.Properties as Record<string, unknown>,
    );
    expect(mappings).toHaveLength(4);
    const mapping = mappings.find((m) => render(m.EventSourceArn) === `<stateful:${queue}.Arn>`);
    expect(mapping).toMatchObject({
      FunctionName: { Ref: functionId(name) },
      BatchSize: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });
});

describe('order.received rule', () => {
  it('matches handoff.orders / order.received.v1 on the custom bus', () => {
    const bus = new Capture();
    template.hasResourceProperties('AWS::Events::Rule', {
      EventBusName: bus,
      EventPattern: { source: ['handoff.orders'], 'detail-type': ['order.received.v1'] },
    });
    expect(render(bus.asObject())).toBe('<stateful:FulfilmentBus>');
  });

  it('targets the router, dead-lettering to RuleTargetDlq after 8 retries or 2 hours', () => {
    const targets = new Capture();
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: Match.objectLike({ 'detail-type': ['order.received.v1'] }),
      Targets: targets,
    });
    const [target, ...others] = targets.asArray() as Record<string, unknown>[];
    expect(others).toEqual([]);
    expect(target).toMatchObject({
      Arn: { 'Fn::GetAtt': [functionId('OrderRouter'), 'Arn'] },
      RetryPolicy: { MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 7200 },
    });
    expect(render((target?.DeadLetterConfig as { Arn?: unknown } | undefined)?.Arn)).toBe(
      '<stateful:RuleTargetDlq.Arn>',
    );
    // The stateless stack relies on the stateful policy for that DLQ, and adds none of its own.
    template.resourceCountIs('AWS::SQS::QueuePolicy', 0);
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      Principal: 'events.amazonaws.com',
      FunctionName: { 'Fn::GetAtt': [functionId('OrderRouter'), 'Arn'] },
      SourceArn: { 'Fn::GetAtt': [logicalId(template, 'AWS::Events::Rule', 'OrderReceivedToRouter'), 'Arn'] },
    });
  });
});

describe('dead-letter intake', () => {
  const DLQS = [
    'EdiInboundDlq',
    'ErpIngressDlq',
    'FunctionFailureDlq',
    'RuleTargetDlq',
    'VendorAsnDlq',
    'WmsEventsDlq',
  ];

  it('watches every DLQ of the stack, by URL and ARN, with what lands in each', () => {
    const variables = (
      props(template, functionId('DeadLetterIntake')).Environment as { Variables: Record<string, unknown> }
    ).Variables;
    const queues = JSON.parse(render(variables.DEAD_LETTER_QUEUES)) as {
      name: string;
      url: string;
      arn: string;
      feeds: string;
    }[];
    expect(queues.map((q) => q.name).sort()).toEqual(DLQS);
    for (const queue of queues) {
      expect(queue.url).toBe(`<stateful:${queue.name}>`);
      expect(queue.arn).toBe(`<stateful:${queue.name}.Arn>`);
      expect(queue.feeds.length).toBeGreaterThan(10);
    }
  });

  it('only receives from those DLQs (deletes nothing); it sends only its own failures, to FunctionFailureDlq', () => {
    expect(grantsByResource(functionStatements('DeadLetterIntake'), 'sqs', renderer)).toEqual({
      ...Object.fromEntries(DLQS.map((name) => [`<stateful:${name}.Arn>`, ['sqs:ReceiveMessage']])),
      '<stateful:FunctionFailureDlq.Arn>': ['sqs:ReceiveMessage', 'sqs:SendMessage'],
    });
  });

  it('runs every minute, one run at a time', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [functionId('DeadLetterIntake'), 'Arn'] } })],
    });
    expect(props(template, functionId('DeadLetterIntake')).ReservedConcurrentExecutions).toBe(1);
  });
});

describe('SLA clocks', () => {
  it('the tracker follows exactly the events that move stage clocks, dead-lettering after 8 retries', () => {
    const pattern = new Capture();
    const targets = new Capture();
    template.hasResourceProperties('AWS::Events::Rule', {
      Description: 'The events that start, stop and pause SLA stage clocks',
      EventPattern: pattern,
      Targets: targets,
    });
    expect((pattern.asObject() as { 'detail-type': string[] })['detail-type'].sort()).toEqual(
      [
        'allocation.confirmed.v1',
        'credit.approved.v1',
        'credit.hold.released.v1',
        'invoice.issued.v1',
        'order.accepted.v1',
        'order.closed.v1',
        'order.received.v1',
        'order.rejected.v1',
        'release.deferred.v1',
        'shipment.confirmed.v1',
        'substitution.decided.v1',
        'substitution.proposed.v1',
        'warehouse.released.v1',
      ].sort(),
    );
    const [target] = targets.asArray() as Record<string, unknown>[];
    expect(target).toMatchObject({
      Arn: { 'Fn::GetAtt': [functionId('SlaTracker'), 'Arn'] },
      RetryPolicy: { MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 7200 },
    });
    expect(render((target?.DeadLetterConfig as { Arn?: unknown } | undefined)?.Arn)).toBe(
      '<stateful:RuleTargetDlq.Arn>',
    );
  });

  it('the detector runs every minute', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [functionId('SlaDetector'), 'Arn'] } })],
    });
  });

  it.each(['finance', 'customer-service', 'warehouse', 'logistics', 'integration'])(
    'an alarm fires on any SLA breach owned by %s, and notifies operations',
    (team) => {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'Handoff',
        MetricName: 'SlaBreaches',
        Dimensions: [
          { Name: 'OwnerTeam', Value: team },
          { Name: 'service', Value: 'handoff-sla' },
        ],
        Statistic: 'Sum',
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
        AlarmActions: Match.anyValue(),
      });
    },
  );

  it('the detector period comes from context, and a bad one fails the synth', () => {
    const every5 = Template.fromStack(buildTestApp({ 'handoff:slaDetectorMinutes': '5' }).stateless);
    every5.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(5 minutes)' });
    expect(() => buildTestApp({ 'handoff:slaDetectorMinutes': 0 })).toThrow(
      /handoff:slaDetectorMinutes must be a whole number of minutes from 1 to 60/,
    );
  });

  it('only one detector runs at a time (reserved concurrency 1)', () => {
    expect(props(template, functionId('SlaDetector')).ReservedConcurrentExecutions).toBe(1);
  });

  it('a bad SLA policy in context fails the synth, naming the field', () => {
    expect(() =>
      buildTestApp({ 'handoff:slaPolicy': { stages: { 'credit-to-allocation': { targetMinutes: -5 } } } }),
    ).toThrow(/handoff:slaPolicy: stages\.credit-to-allocation\.targetMinutes must be a whole number/);
  });

  it('an SLA policy in context reaches both functions, validated and completed with the defaults', () => {
    const app = buildTestApp({ 'handoff:slaPolicy': JSON.stringify({ jeopardyFraction: 0.6 }) });
    const custom = Template.fromStack(app.stateless);
    const variables = new Capture();
    custom.hasResourceProperties('AWS::Lambda::Function', {
      Handler: Match.anyValue(),
      Environment: { Variables: Match.objectLike({ SLA_POLICY: variables }) },
    });
    const policy = JSON.parse(variables.asString()) as typeof DEFAULT_SLA_POLICY;
    expect(policy.jeopardyFraction).toBe(0.6);
    expect(policy.stages).toEqual(DEFAULT_SLA_POLICY.stages);
  });

  it.each(['AllocateStock', 'HumanDecisionTask'] as const)(
    '%s times substitute reviews in the SLA policy’s working hours',
    (name) => {
      const hours = { timeZone: 'Europe/Amsterdam', opensAt: '08:30', closesAt: '17:30' };
      const app = buildTestApp({ 'handoff:slaPolicy': JSON.stringify({ businessCalendar: hours }) });
      const variables = props(Template.fromStack(app.stateless), functionId(name)).Environment as {
        Variables: Record<string, string>;
      };
      expect(JSON.parse(variables.Variables.BUSINESS_CALENDAR ?? '')).toEqual({
        ...DEFAULT_SLA_POLICY.businessCalendar,
        ...hours,
      });
    },
  );
});

describe('standard-single-site state machine', () => {
  const STEP_FUNCTIONS = {
    CheckCreditFunctionArn: 'CheckCredit',
    AllocateStockFunctionArn: 'AllocateStock',
    ReleaseToWarehouseFunctionArn: 'ReleaseToWarehouse',
    RaiseStepExceptionFunctionArn: 'RaiseStepException',
    HumanDecisionTaskFunctionArn: 'HumanDecisionTask',
  } as const;

  it('is STANDARD, traced, and logs ALL without execution data', () => {
    expect(props(template, stateMachineId())).toMatchObject({
      StateMachineType: 'STANDARD',
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: {
        Level: 'ALL',
        IncludeExecutionData: false,
        Destinations: [
          {
            CloudWatchLogsLogGroup: {
              LogGroupArn: {
                'Fn::GetAtt': [
                  logicalId(template, 'AWS::Logs::LogGroup', 'StandardSingleSitePathExecutionLogs'),
                  'Arn',
                ],
              },
            },
          },
        ],
      },
    });
  });

  it('substitutes exactly its five step functions, each by its own ARN', () => {
    const substitutions = props(template, stateMachineId()).DefinitionSubstitutions;
    expect(substitutions).toEqual(
      Object.fromEntries(
        Object.entries(STEP_FUNCTIONS).map(([key, fn]) => [key, { 'Fn::GetAtt': [functionId(fn), 'Arn'] }]),
      ),
    );
  });

  it('every DefinitionSubstitutions placeholder in the ASL file has a substitution, and every substitution is used', () => {
    const asl = readFileSync(
      new URL('../../statemachines/standard-single-site.asl.json', import.meta.url),
      'utf8',
    );
    const placeholders = new Set([...asl.matchAll(/\$\{([^}]+)\}/g)].map((m) => m[1]));
    expect(placeholders.size).toBeGreaterThan(0);
    const substitutions = props(template, stateMachineId()).DefinitionSubstitutions as Record<
      string,
      unknown
    >;
    expect([...placeholders].sort()).toEqual(Object.keys(substitutions).sort());
  });

  it('its role may invoke exactly those five functions, unqualified', () => {
    const role = roleOf(template, stateMachineId(), 'RoleArn');
    const statements = roleStatements(template, role);
    const invokes = statements.filter((s) => actionsOf(s).some((a) => a.startsWith('lambda:')));
    expect(invokes).toHaveLength(1);
    expect(actionsOf(invokes[0] as Statement)).toEqual(['lambda:InvokeFunction']);
    const resources = listOf<unknown>(invokes[0]?.Resource);
    expect(resources.map(render).sort()).toEqual(
      Object.values(STEP_FUNCTIONS)
        .map((fn) => `<${fn}Function.Arn>`)
        .sort(),
    );
    expect(JSON.stringify(resources)).not.toContain(':*');
  });
});

describe('post-shipment workflow', () => {
  const machineId = () =>
    logicalId(template, 'AWS::StepFunctions::StateMachine', 'PostShipmentWorkflowStateMachine');

  it('is an EXPRESS state machine that is not a fulfilment path the router could start', () => {
    expect(props(template, machineId()).StateMachineType).toBe('EXPRESS');
    expect(Object.keys(stack.paths)).not.toContain('post-shipment');
  });

  it('starts on every handoff.shipping / shipment.confirmed.v1, dead-lettering to RuleTargetDlq', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: ['handoff.shipping'], 'detail-type': ['shipment.confirmed.v1'] },
      Targets: [
        Match.objectLike({
          Arn: { Ref: machineId() },
          RetryPolicy: { MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 7200 },
          DeadLetterConfig: { Arn: Match.anyValue() },
        }),
      ],
    });
  });

  it('alarms when an execution times out, since a timed-out Express run raises no owned exception', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ExecutionsTimedOut',
      Dimensions: [{ Name: 'StateMachineArn', Value: { Ref: machineId() } }],
    });
  });
});

describe('alarms', () => {
  it('every alarm notifies the operations alerts topic when it fires and when it clears', () => {
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'));
    expect(alarms.length).toBeGreaterThan(0);
    for (const alarm of alarms) {
      expect(listOf(alarm.Properties?.AlarmActions).map(render)).toEqual(['<stateful:OperationsAlerts>']);
      expect(listOf(alarm.Properties?.OKActions).map(render)).toEqual(['<stateful:OperationsAlerts>']);
    }
  });

  const alarmOn = (metric: string, dimension: unknown) =>
    Object.values(template.findResources('AWS::CloudWatch::Alarm')).filter(
      (alarm) =>
        alarm.Properties?.MetricName === metric &&
        listOf<{ Value: unknown }>(alarm.Properties?.Dimensions).some((d) => render(d.Value) === dimension),
    );

  it.each(['ErpIngressDlq', 'FunctionFailureDlq', 'RuleTargetDlq'])(
    '%s alarms as soon as it holds a message',
    (queue) => {
      const alarms = alarmOn('ApproximateNumberOfMessagesVisible', `<stateful:${queue}.QueueName>`);
      expect(alarms).toHaveLength(1);
      expect(alarms[0]?.Properties).toMatchObject({
        Namespace: 'AWS/SQS',
        ComparisonOperator: 'GreaterThanThreshold',
        Threshold: 0,
      });
    },
  );

  it('the state machine alarms on failed executions', () => {
    const alarms = alarmOn('ExecutionsFailed', '<StandardSingleSitePathStateMachine>');
    expect(alarms).toHaveLength(1);
    expect(alarms[0]?.Properties).toMatchObject({
      Namespace: 'AWS/States',
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
    });
  });

  it('the ingress queue alarms on the age of its oldest message', () => {
    const alarms = alarmOn('ApproximateAgeOfOldestMessage', '<stateful:ErpIngressQueue.QueueName>');
    expect(alarms).toHaveLength(1);
    expect(alarms[0]?.Properties).toMatchObject({
      Namespace: 'AWS/SQS',
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: expect.any(Number),
    });
  });
});
