import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ConfigurationError } from '../../shared/errors.ts';

/** How long a secret value is reused before it is read again, so a rotation reaches warm containers. */
const SECRET_TTL_MS = 5 * 60_000;

/**
 * A secret from Secrets Manager, read on first use and cached per container for 5 minutes. A failed read
 * is not cached. The value never reaches a log or an environment variable.
 */
export class SecretReader {
  private cached: { readonly at: number; readonly value: Promise<string> } | undefined;

  constructor(
    private readonly client: SecretsManagerClient,
    private readonly secretId: string,
    private readonly now: () => number = Date.now,
  ) {}

  value(): Promise<string> {
    const at = this.now();
    if (!this.cached || at - this.cached.at > SECRET_TTL_MS) {
      const value = this.client
        .send(new GetSecretValueCommand({ SecretId: this.secretId }))
        .then(({ SecretString }) => {
          if (!SecretString) throw new ConfigurationError(`secret ${this.secretId} has no string value`);
          return SecretString;
        });
      this.cached = { at, value };
      value.catch(() => {
        if (this.cached?.value === value) this.cached = undefined;
      });
    }
    return this.cached.value;
  }
}

let shared: SecretsManagerClient | undefined;

/** The container's Secrets Manager client (standard settings, AWS_ENDPOINT_URL locally). */
export function secretsManager(): SecretsManagerClient {
  shared ??= new SecretsManagerClient({ cacheMiddleware: true });
  return shared;
}
