import { createHash, randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const LOCAL_ACCOUNT = '000000000000';
/** `Ref: AWS::NoValue`: the property (or list item) is dropped, as CloudFormation does. */
const NO_VALUE = Symbol('AWS::NoValue');
export const LOCAL_REGION = 'us-east-1';

/** A resource of a synthesized template, with its stack and logical id. */
export interface TemplateResource {
  readonly stack: string;
  readonly logicalId: string;
  readonly type: string;
  readonly properties: Record<string, unknown>;
  readonly metadata: Record<string, unknown>;
}

/** Raised at start-up for anything the local cloud cannot run faithfully; names the resource and feature. */
export class UnsupportedTemplateFeature extends Error {
  override readonly name = 'UnsupportedTemplateFeature';
  constructor(
    readonly resource: string,
    readonly feature: string,
  ) {
    super(`${resource}: ${feature} is not supported by the local cloud`);
  }
}

interface Template {
  Description?: string;
  Parameters?: Record<string, TemplateParameter>;
  Resources?: Record<
    string,
    { Type: string; Properties?: Record<string, unknown>; Metadata?: Record<string, unknown> }
  >;
  Outputs?: Record<string, TemplateOutput>;
}

/** A template's parameter, as declared. */
export interface TemplateParameter {
  readonly Type: string;
  readonly Default?: unknown;
  readonly Description?: string;
  readonly NoEcho?: boolean | string;
}

/** A template's output, unresolved. */
export interface TemplateOutput {
  readonly Value: unknown;
  readonly Description?: unknown;
  readonly Export?: { Name: unknown };
  readonly Condition?: string;
}

/** A stack of the assembly, as its template declares it (what CloudFormation describes). */
export interface TemplateStack {
  readonly name: string;
  readonly description?: string;
  readonly terminationProtection: boolean;
  readonly parameters: Readonly<Record<string, TemplateParameter>>;
  readonly outputs: Readonly<Record<string, TemplateOutput>>;
}

interface Manifest {
  artifacts: Record<
    string,
    {
      type: string;
      properties?: { templateFile?: string; terminationProtection?: boolean };
      displayName?: string;
    }
  >;
}

function sanitize(name: string): string {
  return name.replace(/[^A-Za-z0-9_-]/g, '-');
}

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** Where the model's endpoint-dependent values point: queue URLs and function URLs. */
export interface ModelEndpoints {
  sqsQueueUrl: (name: string) => string;
  /** The local URL serving a function's URL. @default `http://127.0.0.1:4566/lambda-url/<name>/` */
  functionUrl?: (functionName: string) => string;
}

/** A `{{resolve:secretsmanager:…}}` dynamic reference, parsed. */
export interface SecretReference {
  readonly secretId: string;
  readonly jsonKey?: string;
  readonly versionStage?: string;
  readonly versionId?: string;
}

const SECRET_REFERENCE =
  /\{\{resolve:secretsmanager:((?:arn:[^:]*:secretsmanager:[^:]*:[^:]*:secret:)?[^:}]+)(?::SecretString:([^:}]*)(?::([^:}]*)(?::([^:}]*))?)?)?\}\}/g;

/**
 * The synthesized stacks of a cloud assembly (`cdk.out`), with every intrinsic function resolvable to a
 * local value. Physical names follow CloudFormation's `<stack>-<logicalId>` convention unless the template
 * names the resource; ARNs use the local account and region.
 */
export class CloudModel {
  readonly resources: TemplateResource[] = [];
  /** The assembly's stacks, in manifest order. */
  readonly stacks: TemplateStack[] = [];
  private readonly byKey = new Map<string, TemplateResource>();
  private readonly exports = new Map<string, { stack: string; value: unknown }>();
  readonly account = LOCAL_ACCOUNT;
  readonly region = LOCAL_REGION;
  /** The random suffix Secrets Manager appends to each secret's ARN, drawn once per secret. */
  private readonly secretSuffixes = new Map<TemplateResource, string>();
  /**
   * Resolves `{{resolve:secretsmanager:…}}` dynamic references in resolved strings, as CloudFormation does
   * at deploy time (wired by the cloud to its secret store). Unset, they stay as written.
   */
  secretReference: ((reference: SecretReference) => string) | undefined;

  constructor(
    readonly assemblyDir: string,
    private readonly endpoints: ModelEndpoints,
  ) {
    const manifest = JSON.parse(readFileSync(join(assemblyDir, 'manifest.json'), 'utf8')) as Manifest;
    for (const [stack, artifact] of Object.entries(manifest.artifacts)) {
      if (artifact.type !== 'aws:cloudformation:stack' || !artifact.properties?.templateFile) continue;
      const template = JSON.parse(
        readFileSync(join(assemblyDir, artifact.properties.templateFile), 'utf8'),
      ) as Template;
      this.stacks.push({
        name: stack,
        ...(template.Description !== undefined ? { description: template.Description } : {}),
        terminationProtection: artifact.properties.terminationProtection === true,
        parameters: template.Parameters ?? {},
        outputs: template.Outputs ?? {},
      });
      for (const [logicalId, r] of Object.entries(template.Resources ?? {})) {
        const resource: TemplateResource = {
          stack,
          logicalId,
          type: r.Type,
          properties: r.Properties ?? {},
          metadata: r.Metadata ?? {},
        };
        this.resources.push(resource);
        this.byKey.set(`${stack}/${logicalId}`, resource);
      }
      for (const output of Object.values(template.Outputs ?? {})) {
        if (output.Export)
          this.exports.set(String(this.resolve(stack, output.Export.Name)), { stack, value: output.Value });
      }
    }
  }

  ofType(type: string): TemplateResource[] {
    return this.resources.filter((r) => r.type === type);
  }

  get(stack: string, logicalId: string): TemplateResource {
    const resource = this.byKey.get(`${stack}/${logicalId}`);
    if (!resource)
      throw new UnsupportedTemplateFeature(`${stack}/${logicalId}`, 'a reference to a missing resource');
    return resource;
  }

  /** The physical name CloudFormation would give the resource (or the name its template sets). */
  physicalName(resource: TemplateResource): string {
    const p = resource.properties;
    const named =
      p.TableName ??
      p.QueueName ??
      p.FunctionName ??
      p.StateMachineName ??
      p.ArchiveName ??
      p.TopicName ??
      p.AlarmName;
    if (named !== undefined) return String(this.resolve(resource.stack, named));
    if (
      resource.type === 'AWS::Events::EventBus' ||
      resource.type === 'AWS::Events::Rule' ||
      resource.type === 'AWS::SecretsManager::Secret'
    ) {
      if (p.Name !== undefined) return String(this.resolve(resource.stack, p.Name));
    }
    return sanitize(`${resource.stack}-${resource.logicalId}`).slice(0, 64);
  }

  arn(resource: TemplateResource): string {
    const name = this.physicalName(resource);
    const { account, region } = this;
    switch (resource.type) {
      case 'AWS::DynamoDB::GlobalTable':
      case 'AWS::DynamoDB::Table':
        return `arn:aws:dynamodb:${region}:${account}:table/${name}`;
      case 'AWS::SQS::Queue':
        return `arn:aws:sqs:${region}:${account}:${name}`;
      case 'AWS::Lambda::Function':
        return `arn:aws:lambda:${region}:${account}:function:${name}`;
      case 'AWS::StepFunctions::StateMachine':
        return `arn:aws:states:${region}:${account}:stateMachine:${name}`;
      case 'AWS::Events::EventBus':
        return `arn:aws:events:${region}:${account}:event-bus/${name}`;
      case 'AWS::Events::Rule': {
        const bus = resource.properties.EventBusName;
        const busName = bus === undefined ? 'default' : String(this.resolve(resource.stack, bus));
        return `arn:aws:events:${region}:${account}:rule/${busName === 'default' ? '' : `${busName}/`}${name}`;
      }
      case 'AWS::Events::Archive':
        return `arn:aws:events:${region}:${account}:archive/${name}`;
      case 'AWS::SNS::Topic':
        return `arn:aws:sns:${region}:${account}:${name}`;
      case 'AWS::KMS::Key':
        return `arn:aws:kms:${region}:${account}:key/${name}`;
      case 'AWS::IAM::Role':
        return `arn:aws:iam::${account}:role/${name}`;
      case 'AWS::Logs::LogGroup':
        return `arn:aws:logs:${region}:${account}:log-group:${name}:*`;
      case 'AWS::CloudWatch::Alarm':
        return `arn:aws:cloudwatch:${region}:${account}:alarm:${name}`;
      case 'AWS::SecretsManager::Secret':
        return `arn:aws:secretsmanager:${region}:${account}:secret:${name}-${this.secretSuffix(resource)}`;
      case 'AWS::Lambda::Url':
        // A function URL is identified by its function: Ref and FunctionArn both give the function's ARN.
        return this.urlTarget(resource).arn;
      default:
        return `arn:aws:local:${region}:${account}:${resource.type.replace(/::/g, '-')}/${name}`;
    }
  }

  ref(resource: TemplateResource): string {
    switch (resource.type) {
      case 'AWS::SQS::Queue':
        return this.endpoints.sqsQueueUrl(this.physicalName(resource));
      case 'AWS::StepFunctions::StateMachine':
      case 'AWS::SNS::Topic':
      case 'AWS::SecretsManager::Secret':
      case 'AWS::Lambda::Url':
        return this.arn(resource);
      default:
        return this.physicalName(resource);
    }
  }

  getAtt(resource: TemplateResource, attribute: string): string {
    if (resource.type === 'AWS::Lambda::Url') {
      switch (attribute) {
        case 'FunctionArn':
          return this.arn(resource);
        case 'FunctionUrl':
          return this.functionUrl(resource);
        case 'UrlId':
          return this.functionUrlId(resource);
      }
    }
    if (resource.type === 'AWS::SecretsManager::Secret' && attribute === 'Id') return this.arn(resource);
    switch (attribute) {
      case 'Arn':
        return this.arn(resource);
      case 'QueueName':
      case 'Name':
        return this.physicalName(resource);
      case 'QueueUrl':
        return this.ref(resource);
      case 'StreamArn':
        return `${this.arn(resource)}/stream/local`;
      case 'TopicArn':
        return this.arn(resource);
      default:
        throw new UnsupportedTemplateFeature(
          `${resource.stack}/${resource.logicalId}`,
          `Fn::GetAtt ${attribute}`,
        );
    }
  }

  /** Resolves intrinsic functions in a template value, as CloudFormation would at deploy time. */
  resolve(stack: string, value: unknown): unknown {
    if (Array.isArray(value)) return value.map((v) => this.resolve(stack, v)).filter((v) => v !== NO_VALUE);
    if (typeof value === 'string') return this.dynamicReferences(value);
    if (value === null || typeof value !== 'object') return value;
    const entries = Object.entries(value as Record<string, unknown>);
    const [fn, arg] = entries[0] ?? [];
    if (entries.length === 1 && fn !== undefined) {
      switch (fn) {
        case 'Ref':
          if (arg === 'AWS::NoValue') return NO_VALUE;
          return this.pseudo(stack, String(arg)) ?? this.ref(this.get(stack, String(arg)));
        case 'Fn::GetAtt': {
          const [id, attribute] = Array.isArray(arg) ? arg : String(arg).split('.');
          return this.getAtt(this.get(stack, String(id)), String(attribute));
        }
        case 'Fn::Join': {
          const [separator, parts] = arg as [string, unknown[]];
          return this.dynamicReferences((this.resolve(stack, parts) as unknown[]).join(separator));
        }
        case 'Fn::Select': {
          const [index, list] = arg as [unknown, unknown];
          return (this.resolve(stack, list) as unknown[])[Number(this.resolve(stack, index))];
        }
        case 'Fn::Split': {
          const [separator, source] = arg as [string, unknown];
          return String(this.resolve(stack, source)).split(separator);
        }
        case 'Fn::Sub':
          return this.dynamicReferences(this.sub(stack, arg));
        case 'Fn::ImportValue': {
          const name = String(this.resolve(stack, arg));
          const exported = this.exports.get(name);
          if (!exported)
            throw new UnsupportedTemplateFeature(stack, `Fn::ImportValue of unknown export ${name}`);
          return this.resolve(exported.stack, exported.value);
        }
        default:
          if (fn.startsWith('Fn::') || fn === 'Condition') {
            throw new UnsupportedTemplateFeature(stack, `intrinsic ${fn}`);
          }
      }
    }
    return Object.fromEntries(
      entries.map(([k, v]) => [k, this.resolve(stack, v)] as const).filter(([, v]) => v !== NO_VALUE),
    );
  }

  private sub(stack: string, arg: unknown): string {
    const [text, variables] = Array.isArray(arg)
      ? (arg as [string, Record<string, unknown>])
      : [String(arg), {}];
    return text.replace(/\$\{([^}]+)\}/g, (_match, name: string) => {
      if (name.startsWith('!')) return `\${${name.slice(1)}}`;
      if (variables[name] !== undefined) return String(this.resolve(stack, variables[name]));
      const pseudo = this.pseudo(stack, name);
      if (pseudo !== undefined) return pseudo;
      const [id, attribute] = name.split('.');
      const resource = this.get(stack, String(id));
      return attribute ? this.getAtt(resource, attribute) : this.ref(resource);
    });
  }

  /** Replaces `{{resolve:secretsmanager:…}}` references, once a resolver is wired. */
  private dynamicReferences(text: string): string {
    const resolver = this.secretReference;
    if (!resolver || !text.includes('{{resolve:secretsmanager:')) return text;
    return text.replace(
      SECRET_REFERENCE,
      (_match, secretId: string, jsonKey?: string, versionStage?: string, versionId?: string) =>
        resolver({
          secretId,
          ...(jsonKey ? { jsonKey } : {}),
          ...(versionStage ? { versionStage } : {}),
          ...(versionId ? { versionId } : {}),
        }),
    );
  }

  private secretSuffix(resource: TemplateResource): string {
    let suffix = this.secretSuffixes.get(resource);
    if (suffix === undefined) {
      suffix = Array.from({ length: 6 }, () => ALPHANUMERIC[randomInt(ALPHANUMERIC.length)]).join('');
      this.secretSuffixes.set(resource, suffix);
    }
    return suffix;
  }

  /** The function a function URL serves: its resolved name and ARN (any alias qualifier dropped). */
  urlTarget(resource: TemplateResource): { name: string; arn: string } {
    const target = String(this.resolve(resource.stack, resource.properties.TargetFunctionArn ?? ''));
    const name = functionNameOf(target);
    if (!name)
      throw new UnsupportedTemplateFeature(
        `${resource.stack}/${resource.logicalId}`,
        'a function URL without TargetFunctionArn',
      );
    return { name, arn: `arn:aws:lambda:${this.region}:${this.account}:function:${name}` };
  }

  /** The URL a function URL resource is served on locally. */
  functionUrl(resource: TemplateResource): string {
    const { name } = this.urlTarget(resource);
    return (
      this.endpoints.functionUrl?.(name) ?? `http://127.0.0.1:4566/lambda-url/${encodeURIComponent(name)}/`
    );
  }

  /** A function URL's id: 32 lowercase letters and digits, stable for the function (as AWS's is). */
  functionUrlId(resource: TemplateResource): string {
    const digest = createHash('sha256')
      .update(`${this.account}/${this.region}/${this.urlTarget(resource).name}`)
      .digest();
    const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
    return Array.from(digest.subarray(0, 32), (byte) => alphabet[byte % alphabet.length]).join('');
  }

  private pseudo(stack: string, name: string): string | undefined {
    switch (name) {
      case 'AWS::AccountId':
        return this.account;
      case 'AWS::Region':
        return this.region;
      case 'AWS::Partition':
        return 'aws';
      case 'AWS::URLSuffix':
        return 'amazonaws.com';
      case 'AWS::StackName':
        return stack;
      case 'AWS::StackId':
        return `arn:aws:cloudformation:${this.region}:${this.account}:stack/${stack}/local`;
      case 'AWS::NoValue':
        return undefined;
      default:
        return undefined;
    }
  }

  /** A resource's properties with every intrinsic resolved. */
  resolvedProperties(resource: TemplateResource): Record<string, unknown> {
    return this.resolve(resource.stack, resource.properties) as Record<string, unknown>;
  }

  /**
   * The template's EventInvokeConfigs, resolved. The local cloud runs `$LATEST` only (no versions or
   * aliases) and sends destination records to SQS queues only: anything else is refused at start-up.
   */
  asyncInvokeConfigs(): AsyncInvokeConfig[] {
    return this.ofType('AWS::Lambda::EventInvokeConfig').map((resource) => {
      const id = `${resource.stack}/${resource.logicalId}`;
      const p = this.resolvedProperties(resource);
      if (p.Qualifier !== '$LATEST') {
        throw new UnsupportedTemplateFeature(
          id,
          `EventInvokeConfig Qualifier ${String(p.Qualifier)} (only $LATEST)`,
        );
      }
      const destinations = (p.DestinationConfig ?? {}) as {
        OnSuccess?: { Destination?: unknown };
        OnFailure?: { Destination?: unknown };
      };
      if (destinations.OnSuccess !== undefined) {
        throw new UnsupportedTemplateFeature(id, 'an OnSuccess destination');
      }
      const onFailure = destinations.OnFailure?.Destination;
      if (onFailure !== undefined && !String(onFailure).startsWith('arn:aws:sqs:')) {
        throw new UnsupportedTemplateFeature(
          id,
          `an OnFailure destination that is not an SQS queue (${String(onFailure)})`,
        );
      }
      return {
        id,
        functionName: functionNameOf(String(p.FunctionName ?? '')),
        maximumRetryAttempts: Number(p.MaximumRetryAttempts ?? 2),
        maximumEventAgeSeconds: Number(p.MaximumEventAgeInSeconds ?? 21_600),
        ...(onFailure !== undefined ? { onFailure: String(onFailure) } : {}),
      };
    });
  }

  /** Finds the resource a resolved ARN, name or URL points to. */
  findByArn(arn: string): TemplateResource | undefined {
    return this.resources.find((r) => {
      try {
        return this.arn(r) === arn || this.ref(r) === arn;
      } catch {
        return false;
      }
    });
  }
}

/**
 * A function's asynchronous invocation settings (`AWS::Lambda::EventInvokeConfig`), as Lambda applies them
 * to events it queues for the function: how often a failure is retried, how old an event may get, and
 * where the record of an invocation that failed for good goes.
 */
export interface AsyncInvokeConfig {
  /** `<stack>/<logicalId>` of the EventInvokeConfig. */
  readonly id: string;
  readonly functionName: string;
  /** Retries after the first attempt (0–2). @default 2 */
  readonly maximumRetryAttempts: number;
  /** An event older than this is not attempted again. @default 21600 (six hours) */
  readonly maximumEventAgeSeconds: number;
  /** The SQS queue ARN the on-failure destination record is sent to, if any. */
  readonly onFailure?: string;
}

/** A function's name from its name, ARN or partial ARN (`123456789012:function:name`), without qualifier. */
export function functionNameOf(nameOrArn: string): string {
  const afterFunction = nameOrArn.includes('function:') ? nameOrArn.split('function:').pop() : nameOrArn;
  return (afterFunction ?? '').split(':')[0] ?? '';
}
