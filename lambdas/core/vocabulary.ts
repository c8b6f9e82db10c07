/**
 * The domain core speaks the canonical vocabulary: one list per concept, defined with the contracts so
 * validators, TypeScript unions and JSON Schemas never drift apart.
 */
export * from '../../contracts/vocabulary.ts';

export function isOneOf<T extends string>(values: readonly T[], candidate: unknown): candidate is T {
  return typeof candidate === 'string' && (values as readonly string[]).includes(candidate);
}
