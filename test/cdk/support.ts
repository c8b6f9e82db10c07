/**
 * Helpers shared by the CDK assertion tests: build the Handoff app without bundling, find resources by
 * the logical-id prefix CDK gives them, render intrinsic references readably, and walk IAM documents.
 */
import { App } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import { FAIL_SYNTH_ON_VALIDATION_ERRORS_CONTEXT } from 'aws-cdk-lib/cx-api';
import { buildApp, type HandoffApp } from '../../lib/app.ts';

/** Context that makes NodejsFunction skip esbuild: the templates are identical, the tests are fast. */
export const SKIP_BUNDLING: Readonly<Record<string, unknown>> = { 'aws:cdk:bundling-stacks': [] };

/**
 * Builds the Handoff app without bundling. By default cdk-nag findings do not make synthesis throw, so a
 * template test fails on its own assertion with its own message; `nag.test.ts` is the gate for cdk-nag and
 * turns failing back on.
 */
export function buildTestApp(context: Record<string, unknown> = {}, outdir?: string): HandoffApp {
  return buildApp(
    new App({
      ...(outdir ? { outdir } : {}),
      context: { ...SKIP_BUNDLING, [FAIL_SYNTH_ON_VALIDATION_ERRORS_CONTEXT]: false, ...context },
    }),
  );
}

export interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly DeletionPolicy?: string;
  readonly UpdateReplacePolicy?: string;
}

export function resourcesOf(template: Template): Record<string, CfnResource> {
  return (template.toJSON() as { Resources: Record<string, CfnResource> }).Resources;
}

/** CDK appends an 8-hex-digit hash to the construct path to make a logical id; this strips it. */
export const withoutHash = (logicalId: string): string => logicalId.replace(/[0-9A-F]{8}$/, '');

/**
 * The logical id of the one resource of `type` whose id is `prefix` plus CDK's hash
 * (e.g. `CheckCreditFunction` → `CheckCreditFunctionF1DE52C4`). Fails if there is not exactly one.
 */
export function logicalId(template: Template, type: string, prefix: string): string {
  const ids = Object.keys(template.findResources(type)).filter((id) => withoutHash(id) === prefix);
  if (ids.length !== 1 || ids[0] === undefined) {
    throw new Error(
      `expected exactly one ${type} with logical id ${prefix}<hash>, found [${ids.join(', ')}]`,
    );
  }
  return ids[0];
}

export function resource(template: Template, id: string): CfnResource {
  const found = resourcesOf(template)[id];
  if (!found) throw new Error(`no resource ${id} in the template`);
  return found;
}

export function props(template: Template, id: string): Record<string, unknown> {
  return resource(template, id).Properties ?? {};
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Renders CloudFormation values as readable strings so assertions can compare them exactly:
 * `{Ref: OrdersTable315BB997}` → `<OrdersTable>`, `{Fn::GetAtt: [X, Arn]}` → `<X.Arn>`, an
 * `Fn::ImportValue` of the stateful stack's export → `<stateful:OrdersTable.Arn>`, pseudo parameters →
 * `<AWS::Region>`, and `Fn::Join` → the concatenation of its rendered parts.
 */
export class Renderer {
  private readonly importable: readonly string[];

  /** @param statefulTemplate the stack whose exports the rendered template imports */
  constructor(statefulTemplate?: Template) {
    // Longest first, so a logical id that prefixes another cannot shadow it.
    this.importable = statefulTemplate
      ? Object.keys(resourcesOf(statefulTemplate)).sort((a, b) => b.length - a.length)
      : [];
  }

  render(value: unknown): string {
    if (typeof value === 'string') return value;
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
    if (isRecord(value)) {
      const ref = value.Ref;
      if (typeof ref === 'string') return `<${ref.startsWith('AWS::') ? ref : withoutHash(ref)}>`;
      const getAtt = value['Fn::GetAtt'];
      if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') {
        return `<${withoutHash(getAtt[0])}.${String(getAtt[1])}>`;
      }
      const imported = value['Fn::ImportValue'];
      if (typeof imported === 'string') return this.renderImport(imported);
      const join = value['Fn::Join'];
      if (Array.isArray(join) && typeof join[0] === 'string' && Array.isArray(join[1])) {
        return join[1].map((part) => this.render(part)).join(join[0]);
      }
    }
    return JSON.stringify(value);
  }

  private renderImport(exportName: string): string {
    for (const id of this.importable) {
      for (const [marker, isRef] of [
        [`ExportsOutputRef${id}`, true],
        [`ExportsOutputFnGetAtt${id}`, false],
      ] as const) {
        const at = exportName.indexOf(marker);
        if (at < 0) continue;
        if (isRef) return `<stateful:${withoutHash(id)}>`;
        const attribute = exportName.slice(at + marker.length).replace(/[0-9A-F]{8}$/, '');
        return `<stateful:${withoutHash(id)}.${attribute}>`;
      }
    }
    return `<import:${exportName}>`;
  }
}

export interface Statement {
  readonly Sid?: string;
  readonly Effect: 'Allow' | 'Deny';
  readonly Action?: string | string[];
  readonly NotAction?: string | string[];
  readonly Resource?: unknown;
  readonly Principal?: unknown;
  readonly Condition?: Record<string, Record<string, unknown>>;
}

export const listOf = <T>(value: T | readonly T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? [...(value as readonly T[])] : [value as T];

export const actionsOf = (statement: Statement): string[] => listOf(statement.Action);

/** Every policy document in a template, with where it lives: IAM policies, managed policies, inline role policies. */
export function policyDocuments(template: Template): { where: string; statements: Statement[] }[] {
  const found: { where: string; statements: Statement[] }[] = [];
  const add = (where: string, document: unknown) => {
    if (isRecord(document)) found.push({ where, statements: listOf(document.Statement as Statement) });
  };
  for (const [id, res] of Object.entries(resourcesOf(template))) {
    if (res.Type === 'AWS::IAM::Policy' || res.Type === 'AWS::IAM::ManagedPolicy') {
      add(id, res.Properties?.PolicyDocument);
    }
    if (res.Type === 'AWS::IAM::Role') {
      for (const [index, inline] of listOf(res.Properties?.Policies).entries()) {
        add(`${id}.Policies[${index}]`, isRecord(inline) ? inline.PolicyDocument : undefined);
      }
    }
  }
  return found;
}

/** The statements of every AWS::IAM::Policy attached to the role with this logical id. */
export function roleStatements(template: Template, roleLogicalId: string): Statement[] {
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((policy) =>
      listOf<unknown>(policy.Properties?.Roles).some((role) => isRecord(role) && role.Ref === roleLogicalId),
    )
    .flatMap((policy) => listOf<Statement>(policy.Properties?.PolicyDocument?.Statement));
}

/** The logical id of the role a resource points at with `{Fn::GetAtt: [Role, Arn]}` in `property`. */
export function roleOf(template: Template, resourceId: string, property: 'Role' | 'RoleArn'): string {
  const value = props(template, resourceId)[property];
  const getAtt = isRecord(value) ? value['Fn::GetAtt'] : undefined;
  if (!Array.isArray(getAtt) || typeof getAtt[0] !== 'string') {
    throw new Error(`${resourceId}.${property} is not a Fn::GetAtt of a role: ${JSON.stringify(value)}`);
  }
  return getAtt[0];
}

/**
 * Allowed actions of `service` on each resource, e.g. `{ '<stateful:OrdersTable.Arn>': ['dynamodb:GetItem'] }`.
 * Actions are sorted and de-duplicated so the map can be compared with `toEqual`.
 */
export function grantsByResource(
  statements: readonly Statement[],
  service: string,
  renderer: Renderer,
): Record<string, string[]> {
  const grants: Record<string, Set<string>> = {};
  for (const statement of statements) {
    if (statement.Effect !== 'Allow') continue;
    const actions = actionsOf(statement).filter((action) => action.startsWith(`${service}:`));
    if (actions.length === 0) continue;
    for (const target of listOf<unknown>(statement.Resource)) {
      const key = renderer.render(target);
      grants[key] ??= new Set();
      for (const action of actions) grants[key].add(action);
    }
  }
  return Object.fromEntries(Object.entries(grants).map(([key, actions]) => [key, [...actions].sort()]));
}
