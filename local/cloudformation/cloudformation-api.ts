import type { CloudModel, TemplateResource, TemplateStack } from '../template/model.ts';
import { parseQuery, queryError, queryList, queryResponse, type XmlValue } from './query.ts';

/** The XML namespace of CloudFormation's responses (API version 2010-05-15). */
export const CLOUDFORMATION_NAMESPACE = 'http://cloudformation.amazonaws.com/doc/2010-05-15/';
export const CLOUDFORMATION_VERSION = '2010-05-15';

/** A CloudFormation error, rendered as `<ErrorResponse>` with this code and HTTP status. */
export class CloudFormationError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = code;
  }
}

/**
 * The stacks of the loaded templates as CloudFormation describes them once deployed: every stack
 * `CREATE_COMPLETE` since the cloud started, outputs and physical ids resolved exactly as the local cloud
 * resolves Ref/GetAtt/ImportValue.
 */
export class LocalStacks {
  constructor(
    private readonly model: CloudModel,
    /** When the stacks were "created": the cloud's start, on its clock. */
    readonly createdAt: Date,
  ) {}

  get stacks(): readonly TemplateStack[] {
    return this.model.stacks;
  }

  /** A stack's id, as `AWS::StackId` resolves in it. */
  stackId(stack: TemplateStack): string {
    return String(this.model.resolve(stack.name, { Ref: 'AWS::StackId' }));
  }

  /** A stack by name or stack id; ValidationError otherwise, as CloudFormation answers. */
  find(nameOrId: string): TemplateStack {
    const stack = this.stacks.find((s) => s.name === nameOrId || this.stackId(s) === nameOrId);
    if (!stack) throw new CloudFormationError('ValidationError', `Stack with id ${nameOrId} does not exist`);
    return stack;
  }

  /** A stack's outputs, resolved; outputs under a condition are left out (the model has no conditions). */
  outputs(stack: TemplateStack): { key: string; value: string; description?: string; exportName?: string }[] {
    return Object.entries(stack.outputs)
      .filter(([, output]) => output.Condition === undefined)
      .map(([key, output]) => ({
        key,
        value: text(this.model.resolve(stack.name, output.Value)),
        ...(output.Description !== undefined
          ? { description: text(this.model.resolve(stack.name, output.Description)) }
          : {}),
        ...(output.Export ? { exportName: text(this.model.resolve(stack.name, output.Export.Name)) } : {}),
      }));
  }

  resources(stack: TemplateStack): TemplateResource[] {
    return this.model.resources.filter((r) => r.stack === stack.name);
  }

  /** The physical id CloudFormation reports for a resource: what `Ref` gives locally (name, URL or ARN). */
  physicalId(resource: TemplateResource): string {
    try {
      return this.model.ref(resource);
    } catch {
      return this.model.physicalName(resource);
    }
  }
}

function text(value: unknown): string {
  return Array.isArray(value) ? value.map(String).join(',') : String(value);
}

const STATUS = 'CREATE_COMPLETE';
/** The capabilities `cdk deploy` grants every stack. */
const CDK_CAPABILITIES = ['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM', 'CAPABILITY_AUTO_EXPAND'];

function describeStack(stacks: LocalStacks, stack: TemplateStack): XmlValue {
  const parameters = Object.entries(stack.parameters).map(([key, p]) => ({
    ParameterKey: key,
    ParameterValue: p.NoEcho === true || p.NoEcho === 'true' ? '****' : text(p.Default ?? ''),
  }));
  const outputs = stacks.outputs(stack).map((o) => ({
    OutputKey: o.key,
    OutputValue: o.value,
    Description: o.description,
    ExportName: o.exportName,
  }));
  return {
    StackId: stacks.stackId(stack),
    StackName: stack.name,
    Description: stack.description,
    Parameters: parameters.length ? parameters : undefined,
    CreationTime: stacks.createdAt,
    RollbackConfiguration: {},
    StackStatus: STATUS,
    DisableRollback: false,
    NotificationARNs: [],
    Capabilities: CDK_CAPABILITIES,
    Outputs: outputs.length ? outputs : undefined,
    Tags: [],
    EnableTerminationProtection: stack.terminationProtection,
    DriftInformation: { StackDriftStatus: 'NOT_CHECKED' },
  };
}

/** One CloudFormation action on the local stacks: its `<ActionResult>` content. */
export function cloudFormationAction(stacks: LocalStacks, action: string, params: URLSearchParams): XmlValue {
  switch (action) {
    case 'DescribeStacks': {
      const name = params.get('StackName');
      const selected = name ? [stacks.find(name)] : stacks.stacks;
      return { Stacks: selected.map((s) => describeStack(stacks, s)) };
    }
    case 'ListStacks': {
      const filter = queryList(params, 'StackStatusFilter');
      return {
        StackSummaries: (filter.length && !filter.includes(STATUS) ? [] : stacks.stacks).map((s) => ({
          StackId: stacks.stackId(s),
          StackName: s.name,
          TemplateDescription: s.description,
          CreationTime: stacks.createdAt,
          StackStatus: STATUS,
          DriftInformation: { StackDriftStatus: 'NOT_CHECKED' },
        })),
      };
    }
    case 'DescribeStackResources': {
      const name = params.get('StackName');
      const physicalId = params.get('PhysicalResourceId');
      const logicalId = params.get('LogicalResourceId');
      if (name && physicalId)
        throw new CloudFormationError(
          'ValidationError',
          'Only one of StackName or PhysicalResourceId may be specified',
        );
      let stack: TemplateStack;
      if (name) stack = stacks.find(name);
      else if (physicalId) {
        const owner = stacks.stacks.find((s) =>
          stacks.resources(s).some((r) => stacks.physicalId(r) === physicalId),
        );
        if (!owner)
          throw new CloudFormationError('ValidationError', `Stack for ${physicalId} does not exist`);
        stack = owner;
      } else
        throw new CloudFormationError(
          'ValidationError',
          'Either StackName or PhysicalResourceId must be specified',
        );
      const stackId = stacks.stackId(stack);
      return {
        StackResources: stacks
          .resources(stack)
          .filter((r) => !logicalId || r.logicalId === logicalId)
          .map((r) => ({
            StackName: stack.name,
            StackId: stackId,
            LogicalResourceId: r.logicalId,
            PhysicalResourceId: stacks.physicalId(r),
            ResourceType: r.type,
            Timestamp: stacks.createdAt,
            ResourceStatus: STATUS,
            DriftInformation: { StackResourceDriftStatus: 'NOT_CHECKED' },
          })),
      };
    }
    default:
      throw new CloudFormationError(
        'InvalidAction',
        `Could not find operation ${action} for version ${CLOUDFORMATION_VERSION}`,
      );
  }
}

export interface QueryReply {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/**
 * Serves one CloudFormation Query request (its form-encoded parameters): the XML response, or the
 * `<ErrorResponse>` CloudFormation sends (`Sender` errors with HTTP 400). Without stacks (an endpoint given
 * no model), every action is refused.
 */
export function serveCloudFormation(stacks: LocalStacks | undefined, query: string): QueryReply {
  const requestId = crypto.randomUUID();
  const headers = { 'content-type': 'text/xml', 'x-amzn-requestid': requestId };
  const params = parseQuery(query);
  const action = params.get('Action') ?? '';
  try {
    if (!stacks)
      throw new CloudFormationError('InvalidAction', 'CloudFormation is not served by this endpoint');
    const result = cloudFormationAction(stacks, action, params);
    return { status: 200, headers, body: queryResponse(CLOUDFORMATION_NAMESPACE, action, result, requestId) };
  } catch (error) {
    const e =
      error instanceof CloudFormationError
        ? error
        : new CloudFormationError('InternalFailure', (error as Error).message, 500);
    return {
      status: e.status,
      headers,
      body: queryError(
        CLOUDFORMATION_NAMESPACE,
        { code: e.code, message: e.message, type: e.status >= 500 ? 'Receiver' : 'Sender' },
        requestId,
      ),
    };
  }
}
