import { randomInt } from 'node:crypto';

/** Secrets Manager's password options (GenerateSecretString in templates, GetRandomPassword in the API). */
export interface PasswordOptions {
  readonly PasswordLength?: number;
  readonly ExcludeCharacters?: string;
  readonly ExcludeLowercase?: boolean;
  readonly ExcludeUppercase?: boolean;
  readonly ExcludeNumbers?: boolean;
  readonly ExcludePunctuation?: boolean;
  readonly IncludeSpace?: boolean;
  readonly RequireEachIncludedType?: boolean;
}

/** The characters Secrets Manager draws from, by type: the punctuation is its documented set. */
export const PASSWORD_CHARACTERS = {
  lowercase: 'abcdefghijklmnopqrstuvwxyz',
  uppercase: 'ABCDEFGHIJKLMNOPQRSTUVWXYZ',
  numbers: '0123456789',
  punctuation: '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~',
  space: ' ',
} as const;

export class PasswordOptionsError extends Error {
  override readonly name = 'InvalidParameterException';
}

/**
 * A random password as Secrets Manager generates one: 32 characters by default, from upper- and lowercase
 * letters, digits and punctuation (no space unless IncludeSpace), minus ExcludeCharacters, with at least one
 * character of each included type unless RequireEachIncludedType is false.
 */
export function generatePassword(options: PasswordOptions = {}): string {
  const length = Number(options.PasswordLength ?? 32);
  if (!Number.isInteger(length) || length < 1 || length > 4096)
    throw new PasswordOptionsError(`PasswordLength must be an integer from 1 to 4096 (got ${length})`);
  const excluded = new Set(options.ExcludeCharacters ?? '');
  const pools = [
    options.ExcludeLowercase ? '' : PASSWORD_CHARACTERS.lowercase,
    options.ExcludeUppercase ? '' : PASSWORD_CHARACTERS.uppercase,
    options.ExcludeNumbers ? '' : PASSWORD_CHARACTERS.numbers,
    options.ExcludePunctuation ? '' : PASSWORD_CHARACTERS.punctuation,
    options.IncludeSpace ? PASSWORD_CHARACTERS.space : '',
  ]
    .map((pool) => [...pool].filter((c) => !excluded.has(c)).join(''))
    .filter((pool) => pool.length > 0);
  const all = pools.join('');
  if (!all) throw new PasswordOptionsError('the password options exclude every character');
  const requireEach = options.RequireEachIncludedType ?? true;
  if (requireEach && length < pools.length)
    throw new PasswordOptionsError(
      `PasswordLength ${length} cannot hold one character of each of the ${pools.length} included types`,
    );
  const chars = Array.from({ length }, () => all[randomInt(all.length)] as string);
  if (requireEach) {
    // One character of each included type, at distinct random positions.
    const positions = [...chars.keys()];
    for (const pool of pools) {
      const [position] = positions.splice(randomInt(positions.length), 1);
      chars[position as number] = pool[randomInt(pool.length)] as string;
    }
  }
  return chars.join('');
}
