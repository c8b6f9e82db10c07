import type * as z from 'zod/mini';

/** One broken rule: where (a JSON-ish path such as `lines[2].quantity`) and which rule. */
export interface FieldViolation {
  readonly path: string;
  readonly rule: string;
  readonly message: string;
}

/**
 * Every failing field of one payload, in one error. Permanent: retrying the same payload cannot succeed,
 * so callers quarantine it rather than retry.
 */
export class ContractViolation extends Error {
  override readonly name = 'ContractViolation';
  readonly retryable = false;
  constructor(
    readonly contract: string,
    readonly violations: readonly FieldViolation[],
  ) {
    super(
      `${contract} is invalid: ${violations.map((v) => `${v.path || '(root)'} ${v.message} [${v.rule}]`).join('; ')}`,
    );
  }
}

export type ParseResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: ContractViolation };

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out === '' ? String(segment) : `.${String(segment)}`;
  }
  return out;
}

function bound(
  issue: { inclusive?: boolean | undefined; exact?: boolean | undefined },
  op: '>' | '<',
): string {
  if (issue.exact) return '=';
  return issue.inclusive === false ? op : `${op}=`;
}

/** Translates a zod issue into the rule vocabulary Handoff publishes; never leaks library wording. */
export function toViolations(issue: z.core.$ZodIssue): FieldViolation[] {
  const path = formatPath(issue.path);
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return [{ path, rule: 'required', message: 'is required' }];
      return [
        {
          path,
          rule: `type:${issue.expected}`,
          message: `must be ${issue.expected === 'int' ? 'an integer' : `of type ${issue.expected}`}`,
        },
      ];
    case 'too_small': {
      const op = bound(issue, '>');
      const min = String(issue.minimum);
      if (issue.origin === 'string')
        return [{ path, rule: `minLength:${min}`, message: `must have at least ${min} character(s)` }];
      if (issue.origin === 'array')
        return [{ path, rule: `minItems:${min}`, message: `must have at least ${min} item(s)` }];
      return [{ path, rule: `${op}${min}`, message: `must be ${op} ${min}` }];
    }
    case 'too_big': {
      const op = bound(issue, '<');
      const max = String(issue.maximum);
      if (issue.origin === 'string')
        return [{ path, rule: `maxLength:${max}`, message: `must have at most ${max} character(s)` }];
      if (issue.origin === 'array')
        return [{ path, rule: `maxItems:${max}`, message: `must have at most ${max} item(s)` }];
      return [{ path, rule: `${op}${max}`, message: `must be ${op} ${max}` }];
    }
    case 'invalid_format':
      if (issue.format === 'regex' && issue.pattern)
        return [{ path, rule: `pattern:${issue.pattern}`, message: `must match ${issue.pattern}` }];
      return [{ path, rule: `format:${issue.format}`, message: `must be a valid ${issue.format}` }];
    case 'not_multiple_of':
      return [
        { path, rule: `multipleOf:${issue.divisor}`, message: `must be a multiple of ${issue.divisor}` },
      ];
    case 'unrecognized_keys':
      return issue.keys.map((key) => ({
        path: formatPath([...issue.path, key]),
        rule: 'unknownField',
        message: 'is not a field of this contract',
      }));
    case 'invalid_value':
      if (issue.input === undefined) return [{ path, rule: 'required', message: 'is required' }];
      return [
        {
          path,
          rule: `oneOf:${issue.values.map(String).join('|')}`,
          message: `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`,
        },
      ];
    case 'invalid_union':
      return [{ path, rule: 'oneOfShapes', message: 'matches none of the allowed shapes' }];
    case 'custom': {
      const rule = typeof issue.params?.rule === 'string' ? issue.params.rule : 'custom';
      return [{ path, rule, message: issue.message }];
    }
    default:
      return [{ path, rule: issue.code ?? 'invalid', message: 'is invalid' }];
  }
}

/** Parses with a zod schema and converts failures into one ContractViolation naming every field. */
export function parseWith<S extends z.ZodMiniType>(
  contract: string,
  schema: S,
  input: unknown,
): ParseResult<z.output<S>> {
  const result = schema.safeParse(input, { reportInput: true });
  if (result.success) return { ok: true, value: result.data as z.output<S> };
  return { ok: false, error: new ContractViolation(contract, result.error.issues.flatMap(toViolations)) };
}
