import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CloudFormationStackArtifact } from 'aws-cdk-lib/cx-api';

/** A CloudFormation resource as it appears in a synthesized template. */
interface Resource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
}

export interface DeploymentSummary {
  readonly stacks: { name: string; resources: number }[];
  readonly paths: { id: string; type: string; states: string[]; substitutions: string[] }[];
  readonly buses: { id: string; archives: string[] }[];
  readonly rules: { id: string; pattern: unknown; targets: string[] }[];
  readonly adapters: {
    id: string;
    runtime: string;
    architecture: string;
    memoryMb: number;
    timeoutS: number;
  }[];
  readonly queues: { id: string; deadLetterTarget?: string; maxReceiveCount?: number; encrypted: boolean }[];
  readonly tables: {
    id: string;
    keys: string[];
    indexes: string[];
    ttl?: string;
    stream: boolean;
    cmk: boolean;
  }[];
  readonly alarms: { id: string; metric: string }[];
}

function resourcesOf(stack: CloudFormationStackArtifact): [string, Resource][] {
  const template = stack.template as { Resources?: Record<string, Resource> };
  return Object.entries(template.Resources ?? {});
}

/** Strips CDK's hash suffix from a logical id so the summary reads like the construct tree. */
function readable(logicalId: string): string {
  return logicalId.replace(/[0-9A-F]{8}$/, '');
}

function refName(value: unknown): string {
  if (value && typeof value === 'object') {
    const v = value as Record<string, unknown>;
    if (Array.isArray(v['Fn::GetAtt'])) return readable(String(v['Fn::GetAtt'][0]));
    if (typeof v.Ref === 'string') return readable(v.Ref);
    if (typeof v['Fn::ImportValue'] === 'string') return `import:${v['Fn::ImportValue']}`;
  }
  return String(value);
}

/**
 * The ASL of a state machine: inline (`DefinitionString`) or, for `DefinitionBody.fromFile`, the file asset
 * the template points at (`DefinitionS3Location.Key` is `<hash>.json`, staged as `asset.<hash>.json`).
 */
export function readDefinition(
  assemblyDir: string,
  properties: Record<string, unknown>,
): { States?: Record<string, { Type: string }> } | undefined {
  if (typeof properties.DefinitionString === 'string') return JSON.parse(properties.DefinitionString);
  const key = (properties.DefinitionS3Location as { Key?: unknown } | undefined)?.Key;
  if (typeof key !== 'string') return undefined;
  return JSON.parse(readFileSync(join(assemblyDir, `asset.${key}`), 'utf8'));
}

/** What a deployment of these stacks would create, read from the synthesized templates themselves. */
export function summarize(stacks: readonly CloudFormationStackArtifact[]): DeploymentSummary {
  const summary: DeploymentSummary = {
    stacks: [],
    paths: [],
    buses: [],
    rules: [],
    adapters: [],
    queues: [],
    tables: [],
    alarms: [],
  };
  const archivesByBus = new Map<string, string[]>();
  for (const stack of stacks) {
    const resources = resourcesOf(stack);
    summary.stacks.push({ name: stack.stackName, resources: resources.length });
    for (const [id, resource] of resources) {
      const p = resource.Properties ?? {};
      switch (resource.Type) {
        case 'AWS::StepFunctions::StateMachine': {
          const definition = readDefinition(stack.assembly.directory, p);
          summary.paths.push({
            id: readable(id),
            type: String(p.StateMachineType ?? 'STANDARD'),
            states: Object.keys(definition?.States ?? {}),
            substitutions: Object.keys((p.DefinitionSubstitutions as object | undefined) ?? {}),
          });
          break;
        }
        case 'AWS::Events::EventBus':
          summary.buses.push({ id: readable(id), archives: [] });
          break;
        case 'AWS::Events::Archive': {
          const list = archivesByBus.get(refName(p.SourceArn)) ?? [];
          list.push(readable(id));
          archivesByBus.set(refName(p.SourceArn), list);
          break;
        }
        case 'AWS::Events::Rule':
          summary.rules.push({
            id: readable(id),
            pattern: p.EventPattern ?? p.ScheduleExpression,
            targets: ((p.Targets as { Arn: unknown }[] | undefined) ?? []).map((t) => refName(t.Arn)),
          });
          break;
        case 'AWS::Lambda::Function':
          summary.adapters.push({
            id: readable(id),
            runtime: String(p.Runtime),
            architecture: String((p.Architectures as string[] | undefined)?.[0] ?? 'x86_64'),
            memoryMb: Number(p.MemorySize ?? 128),
            timeoutS: Number(p.Timeout ?? 3),
          });
          break;
        case 'AWS::SQS::Queue': {
          const redrive = p.RedrivePolicy as
            | { deadLetterTargetArn?: unknown; maxReceiveCount?: number }
            | undefined;
          summary.queues.push({
            id: readable(id),
            ...(redrive ? { deadLetterTarget: refName(redrive.deadLetterTargetArn) } : {}),
            ...(redrive?.maxReceiveCount ? { maxReceiveCount: redrive.maxReceiveCount } : {}),
            encrypted: p.SqsManagedSseEnabled === true || p.KmsMasterKeyId !== undefined,
          });
          break;
        }
        case 'AWS::DynamoDB::GlobalTable':
        case 'AWS::DynamoDB::Table': {
          const keys = ((p.KeySchema as { AttributeName: string; KeyType: string }[] | undefined) ?? []).map(
            (k) => `${k.AttributeName}(${k.KeyType === 'HASH' ? 'pk' : 'sk'})`,
          );
          const indexes = ((p.GlobalSecondaryIndexes as { IndexName: string }[] | undefined) ?? []).map(
            (g) => g.IndexName,
          );
          const ttl = (p.TimeToLiveSpecification as { AttributeName?: string } | undefined)?.AttributeName;
          const sse = JSON.stringify(p.SSESpecification ?? {}) + JSON.stringify(p.Replicas ?? {});
          summary.tables.push({
            id: readable(id),
            keys,
            indexes,
            ...(ttl ? { ttl } : {}),
            stream: p.StreamSpecification !== undefined,
            cmk: /KMSMasterKeyId|KMSKeyType/.test(sse),
          });
          break;
        }
        case 'AWS::CloudWatch::Alarm':
          summary.alarms.push({ id: readable(id), metric: `${p.Namespace}/${p.MetricName}` });
          break;
      }
    }
  }
  for (const bus of summary.buses) bus.archives.push(...(archivesByBus.get(bus.id) ?? []));
  return summary;
}

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, col) => Math.max(...rows.map((row) => (row[col] ?? '').length))) ?? [];
  return rows
    .map((row) => `  ${row.map((cell, col) => cell.padEnd(widths[col] ?? 0)).join('  ')}`.trimEnd())
    .join('\n');
}

/** The summary as a person reads it in a terminal. */
export function formatSummary(s: DeploymentSummary): string {
  const out: string[] = [];
  out.push(`Stacks: ${s.stacks.map((st) => `${st.name} (${st.resources} resources)`).join(', ')}`);
  out.push('', `Fulfilment paths (${s.paths.length})`);
  out.push(
    table(
      s.paths.map((p) => [
        p.id,
        p.type,
        `${p.states.length} states`,
        `substitutes ${p.substitutions.join(', ')}`,
      ]),
    ),
  );
  for (const p of s.paths) out.push(`    states: ${p.states.join(', ')}`);
  out.push('', `Event buses (${s.buses.length})`);
  out.push(table(s.buses.map((b) => [b.id, `archive: ${b.archives.join(', ') || 'none'}`])));
  out.push('', `Rules (${s.rules.length})`);
  out.push(table(s.rules.map((r) => [r.id, JSON.stringify(r.pattern), `→ ${r.targets.join(', ')}`])));
  out.push('', `Adapters and step functions (${s.adapters.length})`);
  out.push(
    table(
      s.adapters.map((f) => [f.id, f.runtime, f.architecture, `${f.memoryMb} MB`, `${f.timeoutS} s timeout`]),
    ),
  );
  out.push('', `Queues (${s.queues.length})`);
  out.push(
    table(
      s.queues.map((q) => [
        q.id,
        q.encrypted ? 'encrypted' : 'NOT ENCRYPTED',
        q.deadLetterTarget
          ? `DLQ → ${q.deadLetterTarget} after ${q.maxReceiveCount} receives`
          : 'dead-letter queue',
      ]),
    ),
  );
  out.push('', `Tables (${s.tables.length})`);
  out.push(
    table(
      s.tables.map((t) => [
        t.id,
        t.keys.join(' '),
        t.indexes.length ? `GSI ${t.indexes.join(', ')}` : '',
        t.ttl ? `TTL ${t.ttl}` : '',
        t.stream ? 'stream' : '',
        t.cmk ? 'KMS CMK' : 'AWS-owned key',
      ]),
    ),
  );
  out.push('', `Alarms (${s.alarms.length})`);
  out.push(table(s.alarms.map((a) => [a.id, a.metric])));
  return out.join('\n');
}
