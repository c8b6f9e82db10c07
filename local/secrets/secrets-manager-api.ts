import { generatePassword, type PasswordOptions } from './password.ts';
import {
  type LocalSecret,
  type SecretStore,
  SecretsManagerError,
  type SecretVersion,
} from './secret-store.ts';

const epochSeconds = (date: Date | undefined) => (date ? date.getTime() / 1000 : undefined);

function secretOf(store: SecretStore, input: Record<string, unknown>): LocalSecret {
  if (typeof input.SecretId !== 'string' || !input.SecretId)
    throw new SecretsManagerError('InvalidParameterException', 'You must provide a SecretId.');
  const secret = store.find(input.SecretId);
  if (!secret)
    throw new SecretsManagerError(
      'ResourceNotFoundException',
      "Secrets Manager can't find the specified secret.",
    );
  return secret;
}

function versionIdsToStages(secret: LocalSecret): Record<string, string[]> {
  return Object.fromEntries(secret.versions.map((v) => [v.versionId, [...v.stages]]));
}

function described(secret: LocalSecret): Record<string, unknown> {
  return {
    ARN: secret.arn,
    Name: secret.name,
    ...(secret.description !== undefined ? { Description: secret.description } : {}),
    ...(secret.kmsKeyId !== undefined ? { KmsKeyId: secret.kmsKeyId } : {}),
    RotationEnabled: false,
    LastChangedDate: epochSeconds(secret.lastChangedAt),
    ...(secret.lastAccessedAt ? { LastAccessedDate: epochSeconds(secret.lastAccessedAt) } : {}),
    Tags: secret.tags,
    VersionIdsToStages: versionIdsToStages(secret),
    CreatedDate: epochSeconds(secret.createdAt),
  };
}

function versionValue(version: SecretVersion): Record<string, unknown> {
  return version.secretString !== undefined
    ? { SecretString: version.secretString }
    : { SecretBinary: Buffer.from(version.secretBinary ?? new Uint8Array()).toString('base64') };
}

type Filter = { Key?: string; Values?: string[] };

function matches(secret: LocalSecret, filter: Filter): boolean {
  const fields = (key: string | undefined): string[] => {
    switch (key) {
      case 'name':
        return [secret.name];
      case 'description':
        return [secret.description ?? ''];
      case 'tag-key':
        return secret.tags.map((t) => t.Key);
      case 'tag-value':
        return secret.tags.map((t) => t.Value);
      case 'all':
        return [secret.name, secret.description ?? '', ...secret.tags.flatMap((t) => [t.Key, t.Value])];
      default:
        throw new SecretsManagerError('InvalidParameterException', `Filter key ${key} is not served locally`);
    }
  };
  const values = fields(filter.Key);
  return (filter.Values ?? []).some((wanted) =>
    wanted.startsWith('!')
      ? values.every((v) => !v.startsWith(wanted.slice(1)))
      : values.some((v) => v.startsWith(wanted)),
  );
}

/**
 * Serves one Secrets Manager JSON-1.1 operation (`X-Amz-Target: secretsmanager.<operation>`) from the store:
 * GetSecretValue, DescribeSecret, ListSecrets, ListSecretVersionIds, PutSecretValue and GetRandomPassword.
 * Timestamps are epoch seconds, as the JSON protocol carries them.
 */
export function secretsManagerApi(
  store: SecretStore,
  operation: string,
  input: Record<string, unknown>,
): unknown {
  switch (operation) {
    case 'GetSecretValue': {
      const secret = secretOf(store, input);
      const version = store.version(secret, {
        ...(typeof input.VersionId === 'string' ? { versionId: input.VersionId } : {}),
        ...(typeof input.VersionStage === 'string' ? { versionStage: input.VersionStage } : {}),
      });
      store.touch(secret);
      return {
        ARN: secret.arn,
        Name: secret.name,
        VersionId: version.versionId,
        ...versionValue(version),
        VersionStages: [...version.stages],
        CreatedDate: epochSeconds(version.createdAt),
      };
    }
    case 'DescribeSecret':
      return described(secretOf(store, input));
    case 'ListSecrets': {
      const filters = (input.Filters as Filter[] | undefined) ?? [];
      const all = [...store.secrets.values()]
        .filter((s) => filters.every((f) => matches(s, f)))
        .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || a.name.localeCompare(b.name));
      if (input.SortOrder === 'desc') all.reverse();
      const start = Number(input.NextToken ?? 0) || 0;
      const size = Math.min(Math.max(Number(input.MaxResults ?? 100) || 100, 1), 100);
      const page = all.slice(start, start + size);
      return {
        SecretList: page.map((s) => {
          const { VersionIdsToStages, ...rest } = described(s);
          return { ...rest, SecretVersionsToStages: VersionIdsToStages };
        }),
        ...(start + size < all.length ? { NextToken: String(start + size) } : {}),
      };
    }
    case 'ListSecretVersionIds': {
      const secret = secretOf(store, input);
      return {
        ARN: secret.arn,
        Name: secret.name,
        Versions: secret.versions.map((v) => ({
          VersionId: v.versionId,
          VersionStages: [...v.stages],
          CreatedDate: epochSeconds(v.createdAt),
        })),
      };
    }
    case 'PutSecretValue': {
      const secret = secretOf(store, input);
      const text = typeof input.SecretString === 'string' ? input.SecretString : undefined;
      const binary =
        typeof input.SecretBinary === 'string' ? Buffer.from(input.SecretBinary, 'base64') : undefined;
      if ((text === undefined) === (binary === undefined))
        throw new SecretsManagerError(
          'InvalidParameterException',
          'You must provide either SecretString or SecretBinary, but not both.',
        );
      const version = store.put(secret.arn, (text ?? binary) as string | Uint8Array, {
        ...(typeof input.ClientRequestToken === 'string'
          ? { clientRequestToken: input.ClientRequestToken }
          : {}),
        ...(Array.isArray(input.VersionStages) ? { versionStages: input.VersionStages.map(String) } : {}),
      });
      return {
        ARN: secret.arn,
        Name: secret.name,
        VersionId: version.versionId,
        VersionStages: [...version.stages],
      };
    }
    case 'GetRandomPassword':
      return { RandomPassword: generatePassword(input as PasswordOptions) };
    default:
      throw new SecretsManagerError(
        'UnknownOperationException',
        `Secrets Manager ${operation} is not served locally`,
      );
  }
}
