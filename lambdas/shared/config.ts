import { ConfigurationError } from './errors.ts';

/**
 * Reads environment variables once, at module load, and fails with one message naming every missing or
 * malformed variable, so a misconfigured function fails its first invocation loudly rather than later.
 */
export function readConfig<const K extends string>(
  names: readonly K[],
  env: NodeJS.ProcessEnv = process.env,
): Record<K, string> {
  const missing = names.filter((name) => !env[name]?.trim());
  if (missing.length > 0) {
    throw new ConfigurationError(`missing environment variable(s): ${missing.join(', ')}`);
  }
  return Object.fromEntries(names.map((name) => [name, env[name]?.trim() ?? ''])) as Record<K, string>;
}

export function requireHttpUrl(name: string, value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigurationError(`${name} must be an absolute http(s) URL, got ${JSON.stringify(value)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigurationError(`${name} must use http or https, got ${url.protocol}`);
  }
  return value.replace(/\/+$/, '');
}

export function parseJsonConfig<T>(name: string, value: string, check: (parsed: unknown) => parsed is T): T {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new ConfigurationError(`${name} must be JSON`);
  }
  if (!check(parsed)) throw new ConfigurationError(`${name} has the wrong shape`);
  return parsed;
}
