import { randomUUID } from 'node:crypto';
import type { LocalClock } from '../clock/clock.ts';
import { realClock } from '../clock/clock.ts';
import type { CloudModel, SecretReference, TemplateResource } from '../template/model.ts';
import { UnsupportedTemplateFeature } from '../template/model.ts';
import { generatePassword, type PasswordOptions, PasswordOptionsError } from './password.ts';

export const AWSCURRENT = 'AWSCURRENT';
export const AWSPREVIOUS = 'AWSPREVIOUS';

export interface SecretVersion {
  readonly versionId: string;
  readonly secretString?: string;
  readonly secretBinary?: Uint8Array;
  /** Staging labels: AWSCURRENT on exactly one version, AWSPREVIOUS on the one it replaced. */
  stages: string[];
  readonly createdAt: Date;
}

export interface LocalSecret {
  readonly resource: TemplateResource;
  /** `arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 random characters>`: what `Ref` gives. */
  readonly arn: string;
  readonly name: string;
  readonly description?: string;
  readonly kmsKeyId?: string;
  readonly tags: readonly { Key: string; Value: string }[];
  readonly createdAt: Date;
  lastChangedAt: Date;
  lastAccessedAt?: Date;
  /** Oldest first. Versions that lost every staging label are dropped, as Secrets Manager deprecates them. */
  readonly versions: SecretVersion[];
}

/** A Secrets Manager error: its name is the `__type` the endpoint returns. */
export class SecretsManagerError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

const NOT_FOUND = "Secrets Manager can't find the specified secret.";

interface GenerateSecretString extends PasswordOptions {
  readonly SecretStringTemplate?: string;
  readonly GenerateStringKey?: string;
}

/**
 * The template's `AWS::SecretsManager::Secret`s with their values, generated at start-up as CloudFormation
 * would at create time (GenerateSecretString, with SecretStringTemplate + GenerateStringKey giving JSON) or
 * taken from SecretString. Values live in memory for the cloud's lifetime: a restart generates new ones.
 */
export class SecretStore {
  /** Every secret, by ARN. */
  readonly secrets = new Map<string, LocalSecret>();
  /** Called after a new value becomes AWSCURRENT (PutSecretValue). */
  onChange: ((secret: LocalSecret, version: SecretVersion) => void) | undefined;

  constructor(
    model: CloudModel,
    private readonly clock: LocalClock = realClock,
  ) {
    for (const resource of model.ofType('AWS::SecretsManager::Secret')) {
      const id = `${resource.stack}/${resource.logicalId}`;
      const p = model.resolvedProperties(resource);
      const now = clock.now();
      const secret: LocalSecret = {
        resource,
        arn: model.arn(resource),
        name: model.physicalName(resource),
        ...(p.Description !== undefined ? { description: String(p.Description) } : {}),
        ...(p.KmsKeyId !== undefined ? { kmsKeyId: String(p.KmsKeyId) } : {}),
        tags: ((p.Tags as { Key: unknown; Value: unknown }[] | undefined) ?? []).map((t) => ({
          Key: String(t.Key),
          Value: String(t.Value),
        })),
        createdAt: now,
        lastChangedAt: now,
        versions: [],
      };
      const initial = initialValue(id, p);
      if (initial !== undefined)
        secret.versions.push({
          versionId: randomUUID(),
          secretString: initial,
          stages: [AWSCURRENT],
          createdAt: now,
        });
      this.secrets.set(secret.arn, secret);
    }
  }

  /**
   * The secret a `SecretId` names, as Secrets Manager resolves it: its ARN, its ARN without the random
   * suffix (a partial ARN), or its name.
   */
  find(secretId: string): LocalSecret | undefined {
    const exact = this.secrets.get(secretId);
    if (exact) return exact;
    for (const secret of this.secrets.values()) {
      if (secretId.startsWith('arn:') ? withoutSuffix(secret.arn) === secretId : secret.name === secretId)
        return secret;
    }
    return undefined;
  }

  /**
   * Like `find`, and also by the secret's logical id, exact or as a prefix (`CarrierWebhookSecret` finds
   * `CarrierWebhookSecretEDDB6198`): how local tooling names a secret without knowing its ARN.
   */
  lookup(logicalIdPrefixOrArn: string): LocalSecret {
    const found = this.find(logicalIdPrefixOrArn);
    if (found) return found;
    if (!logicalIdPrefixOrArn)
      throw new SecretsManagerError('InvalidParameterException', 'You must provide a secret id.');
    const all = [...this.secrets.values()];
    const exact = all.filter((s) => s.resource.logicalId === logicalIdPrefixOrArn);
    const matches = exact.length
      ? exact
      : all.filter((s) => s.resource.logicalId.startsWith(logicalIdPrefixOrArn));
    if (matches.length === 1 && matches[0]) return matches[0];
    if (matches.length > 1)
      throw new SecretsManagerError(
        'InvalidParameterException',
        `'${logicalIdPrefixOrArn}' names ${matches.length} secrets: ${matches.map((s) => s.arn).join(', ')}`,
      );
    throw new SecretsManagerError('ResourceNotFoundException', `${NOT_FOUND} (${logicalIdPrefixOrArn})`);
  }

  /** The secret's current string value (or one JSON key of it), by ARN, partial ARN, name or logical id. */
  value(logicalIdPrefixOrArn: string, jsonKey?: string): string {
    const secret = this.lookup(logicalIdPrefixOrArn);
    const text = this.version(secret, {}).secretString;
    if (text === undefined)
      throw new SecretsManagerError('InvalidRequestException', `${secret.name} holds a binary value`);
    return jsonKey === undefined ? text : jsonField(secret.name, text, jsonKey);
  }

  /** The secret's ARN, by partial ARN, name or logical id. */
  arn(logicalIdPrefixOrName: string): string {
    return this.lookup(logicalIdPrefixOrName).arn;
  }

  /** A secret version by id and/or staging label (AWSCURRENT when neither is given). */
  version(secret: LocalSecret, select: { versionId?: string; versionStage?: string }): SecretVersion {
    const stage = select.versionStage ?? (select.versionId ? undefined : AWSCURRENT);
    const version = secret.versions.find(
      (v) =>
        (select.versionId === undefined || v.versionId === select.versionId) &&
        (stage === undefined || v.stages.includes(stage)),
    );
    if (!version)
      throw new SecretsManagerError(
        'ResourceNotFoundException',
        select.versionId
          ? `Secrets Manager can't find the specified secret value for VersionId: ${select.versionId}`
          : `Secrets Manager can't find the specified secret value for staging label: ${stage}`,
      );
    return version;
  }

  /**
   * Stores a new value (PutSecretValue): it takes `versionStages` (AWSCURRENT by default), and the version
   * that was AWSCURRENT becomes AWSPREVIOUS. Repeating a `clientRequestToken` with the same value is a no-op.
   */
  put(
    secretId: string,
    value: string | Uint8Array,
    options: { clientRequestToken?: string; versionStages?: string[] } = {},
  ): SecretVersion {
    const secret = this.lookup(secretId);
    const versionId = options.clientRequestToken ?? randomUUID();
    const existing = secret.versions.find((v) => v.versionId === versionId);
    if (existing) {
      const same =
        typeof value === 'string'
          ? existing.secretString === value
          : existing.secretBinary !== undefined &&
            Buffer.from(existing.secretBinary).equals(Buffer.from(value));
      if (same) return existing;
      throw new SecretsManagerError(
        'ResourceExistsException',
        `You can't modify an existing version, you can only create a new version. (${versionId})`,
      );
    }
    const stages = options.versionStages?.length ? [...new Set(options.versionStages)] : [AWSCURRENT];
    const now = this.clock.now();
    const version: SecretVersion = {
      versionId,
      ...(typeof value === 'string' ? { secretString: value } : { secretBinary: Uint8Array.from(value) }),
      stages,
      createdAt: now,
    };
    if (stages.includes(AWSCURRENT)) {
      for (const v of secret.versions) v.stages = v.stages.filter((s) => s !== AWSPREVIOUS);
      const current = secret.versions.find((v) => v.stages.includes(AWSCURRENT));
      if (current) current.stages = [...current.stages.filter((s) => s !== AWSCURRENT), AWSPREVIOUS];
    }
    for (const v of secret.versions)
      v.stages = v.stages.filter((s) => s === AWSPREVIOUS || !stages.includes(s));
    secret.versions.push(version);
    secret.versions.splice(0, secret.versions.length, ...secret.versions.filter((v) => v.stages.length > 0));
    secret.lastChangedAt = now;
    if (stages.includes(AWSCURRENT)) this.onChange?.(secret, version);
    return version;
  }

  /** Marks a read, for DescribeSecret's LastAccessedDate (a day, as Secrets Manager keeps it). */
  touch(secret: LocalSecret): void {
    const now = this.clock.now();
    secret.lastAccessedAt = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
  }

  /** The value a `{{resolve:secretsmanager:…}}` dynamic reference stands for. */
  resolveReference(reference: SecretReference): string {
    const secret = this.find(reference.secretId);
    if (!secret)
      throw new UnsupportedTemplateFeature(
        `{{resolve:secretsmanager:${reference.secretId}}}`,
        'a dynamic reference to a secret the templates do not declare',
      );
    const version = this.version(secret, {
      ...(reference.versionId ? { versionId: reference.versionId } : {}),
      ...(reference.versionStage ? { versionStage: reference.versionStage } : {}),
    });
    const text = version.secretString ?? '';
    return reference.jsonKey ? jsonField(secret.name, text, reference.jsonKey) : text;
  }
}

/** The secret's value at creation, as CloudFormation sets it; undefined for an empty secret (no version). */
function initialValue(id: string, p: Record<string, unknown>): string | undefined {
  const generate = p.GenerateSecretString as GenerateSecretString | undefined;
  if (p.SecretString !== undefined && generate !== undefined)
    throw new UnsupportedTemplateFeature(
      id,
      'both SecretString and GenerateSecretString (CloudFormation refuses it)',
    );
  if (p.SecretString !== undefined) return String(p.SecretString);
  if (generate === undefined) return undefined;
  const { SecretStringTemplate: template, GenerateStringKey: key, ...options } = generate;
  if ((template === undefined) !== (key === undefined))
    throw new UnsupportedTemplateFeature(
      id,
      'GenerateSecretString with only one of SecretStringTemplate and GenerateStringKey',
    );
  let password: string;
  try {
    password = generatePassword(numericOptions(options));
  } catch (error) {
    if (error instanceof PasswordOptionsError) throw new UnsupportedTemplateFeature(id, error.message);
    throw error;
  }
  if (template === undefined || key === undefined) return password;
  let parsed: unknown;
  try {
    parsed = JSON.parse(template);
  } catch {
    throw new UnsupportedTemplateFeature(id, 'a SecretStringTemplate that is not JSON');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new UnsupportedTemplateFeature(id, 'a SecretStringTemplate that is not a JSON object');
  return JSON.stringify({ ...(parsed as Record<string, unknown>), [key]: password });
}

/** Template values arrive as written: numbers may be strings and booleans "true"/"false". */
function numericOptions(options: Record<string, unknown>): PasswordOptions {
  const flag = (v: unknown) => (v === undefined ? undefined : v === true || v === 'true');
  const result: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(options)) {
    if (v === undefined) continue;
    result[k] = k === 'PasswordLength' ? Number(v) : k === 'ExcludeCharacters' ? String(v) : flag(v);
  }
  return result as PasswordOptions;
}

function withoutSuffix(arn: string): string {
  return arn.replace(/-[A-Za-z0-9]{6}$/, '');
}

function jsonField(name: string, text: string, key: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new SecretsManagerError('InvalidRequestException', `${name} is not JSON: it has no key ${key}`);
  }
  const field = (parsed as Record<string, unknown> | null)?.[key];
  if (field === undefined)
    throw new SecretsManagerError('InvalidRequestException', `${name} has no JSON key ${key}`);
  return typeof field === 'string' ? field : JSON.stringify(field);
}
