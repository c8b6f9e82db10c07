/**
 * Amazon EventBridge event-pattern content filtering, for the local cloud.
 *
 * Behaviour follows the EventBridge user guide ("Amazon EventBridge event patterns", "Content filtering in
 * Amazon EventBridge event patterns", "Comparison operators for use in event patterns", "Matching null values
 * and empty strings", "Arrays in Amazon EventBridge event patterns") and, where the guide is silent, AWS's
 * open-source matching engine that EventBridge runs (aws/event-ruler: `JsonRuleCompiler`, `CIDR`,
 * `WildcardParser`, `EqualsIgnoreCaseParser`, `ACFinder`, `MachineComplexityEvaluator`).
 *
 * A pattern is compiled once ({@link compilePattern}) into a list of `$or`-free alternatives, each a tree of
 * field matchers; matching an event then walks that tree with no parsing or regex construction.
 *
 * Semantics in brief:
 * - Fields in a pattern are ANDed, the values in a field's array are ORed; fields absent from the pattern are
 *   ignored. Operators apply to leaf values (strings, numbers, booleans, null) only.
 * - When the event value is an array, any element may match. Matches are array-consistent: two fields matched
 *   inside objects must come from the same element of a shared array, as in event-ruler's `rulesForJSONEvent`.
 * - `{ "exists": false }` holds when no leaf value exists at the path (an object, `[]` and `{}` are not leaf
 *   values; `null` is). Inside an array it looks only at the element the rest of the match chose, or at every
 *   element when nothing else under that array was matched.
 * - `$or` is expanded into alternatives exactly as event-ruler does, so a field written both outside and inside
 *   a `$or` keeps only the last value written (document order). A `$or` that is not a valid `$or` (not an array
 *   of at least two objects, or using operator names as fields) falls back to being an ordinary field named
 *   `$or`, as event-ruler's compiler does; the pattern is rejected only if that reading is invalid too.
 */

/** Thrown for patterns EventBridge rejects (`PutRule`/`TestEventPattern` answer `InvalidEventPatternException`). */
export class InvalidEventPatternException extends Error {
  override readonly name = 'InvalidEventPatternException';
  /** Why the pattern was rejected, without the location. */
  readonly reason: string;
  /** Where in the pattern, e.g. `detail.state[0].prefix`; undefined for the pattern as a whole. */
  readonly path: string | undefined;

  constructor(reason: string, path?: string) {
    super(
      path === undefined
        ? `Event pattern is not valid. Reason: ${reason}`
        : `Event pattern is not valid. Reason: ${reason} (at ${path})`,
    );
    this.reason = reason;
    this.path = path;
  }
}

/** A limit (not a syntax error): never retried with `$or` read as a field name. */
class PatternLimitException extends InvalidEventPatternException {}

/** A compiled event pattern: true when the event matches. */
export type EventPatternMatcher = (event: unknown) => boolean;

/**
 * Compiles (and validates) a pattern once; the returned function matches events without re-parsing.
 * @param pattern the pattern as an object or as a JSON string
 * @throws InvalidEventPatternException when EventBridge would reject the pattern
 */
export function compilePattern(pattern: unknown): EventPatternMatcher {
  const roots = compileRoots(pattern);
  const [only] = roots;
  if (roots.length === 1 && only !== undefined) {
    return (event) => evalAt(only, event) !== NO_MATCH;
  }
  return (event) => {
    for (const root of roots) {
      if (evalAt(root, event) !== NO_MATCH) return true;
    }
    return false;
  };
}

/**
 * Whether `event` (the full EventBridge event object: `source`, `detail-type`, `detail`, `account`, `region`,
 * `resources`, `time`, `id`, ...) matches `pattern`. A non-object event has no fields, so only `exists: false`
 * patterns can match it. Prefer {@link compilePattern} when matching many events against one pattern.
 * @throws InvalidEventPatternException when EventBridge would reject the pattern
 */
export function matchesPattern(pattern: unknown, event: unknown): boolean {
  if (typeof pattern === 'string') {
    let matcher = STRING_PATTERN_CACHE.get(pattern);
    if (matcher === undefined) {
      matcher = compilePattern(pattern);
      if (STRING_PATTERN_CACHE.size >= STRING_PATTERN_CACHE_LIMIT) STRING_PATTERN_CACHE.clear();
      STRING_PATTERN_CACHE.set(pattern, matcher);
    }
    return matcher(event);
  }
  return compilePattern(pattern)(event);
}

/**
 * Throws {@link InvalidEventPatternException} (naming the offending path and operator) when EventBridge would
 * reject the pattern; returns normally otherwise.
 */
export function validatePattern(pattern: unknown): void {
  compileRoots(pattern);
}

const STRING_PATTERN_CACHE = new Map<string, EventPatternMatcher>();
const STRING_PATTERN_CACHE_LIMIT = 256;

// ---------------------------------------------------------------------------------------------------------------
// Limits
// ---------------------------------------------------------------------------------------------------------------

/** Numeric matching is limited to -5.0e9..+5.0e9 inclusive ("Content filtering", numeric matching). */
const NUMERIC_LIMIT = 5e9;
/** ... with six digits to the right of the decimal point. */
const NUMERIC_DECIMALS = 6;
/**
 * Alternatives a pattern may expand to through `$or` (event-ruler compiles one sub-rule per combination). The user
 * guide gives no figure; 1000 is the cap third-party EventBridge emulators attribute to AWS ("more than 1000 rule
 * combinations"). Unverified against AWS, and also a guard against exponential expansion.
 */
const MAX_OR_ALTERNATIVES = 1000;
/**
 * "Wildcards and event pattern complexity": EventBridge refuses a rule whose wildcard byte machine can have more
 * than this many wildcard-pattern prefixes matching one theoretical input (event-ruler's
 * `MachineComplexityEvaluator`). The guide does not state the number. 10 fits the public reports we found (a rule
 * with three `*:stack/NAME/*` values accepted and with four refused, complexity 9 and 12) and makes the guide's
 * "too complex" illustration `*:*:*:*:*:event-bus/*` (complexity 11) fail while its rewrite passes.
 */
const MAX_WILDCARD_COMPLEXITY = 10;
/**
 * Object nesting allowed in a pattern. Not an EventBridge rule as such: a pattern is at most 4096 characters,
 * which cannot nest this deep, so the guard only turns absurd input into an exception instead of a stack overflow.
 */
const MAX_PATTERN_DEPTH = 2048;
/** Bound on the subsets explored by the complexity evaluation. */
const MAX_COMPLEXITY_STATES = 20_000;

const OPERATORS = new Set([
  'exactly',
  'equals-ignore-case',
  'prefix',
  'suffix',
  'anything-but',
  'exists',
  'wildcard',
  'numeric',
  'cidr',
]);

/** event-ruler's `RESERVED_FIELD_NAMES_IN_OR_RELATIONSHIP`: not usable as field names inside `$or`. */
const RESERVED_IN_OR = new Set([
  ...OPERATORS,
  '=',
  '<',
  '<=',
  '>',
  '>=',
  'regex',
  'not-wildcard',
  'not-equals-ignore-case',
  'date-after',
  'date-on-or-after',
  'date-before',
  'date-on-or-before',
  'in-date-range',
  'ip-address-in-range',
  'ip-address-not-in-range',
]);

const NUMERIC_OPERATORS = new Set(['=', '<', '<=', '>', '>=']);

// ---------------------------------------------------------------------------------------------------------------
// Compiled form
// ---------------------------------------------------------------------------------------------------------------

type Scalar = string | number | boolean | null;
type ValueTest = (value: Scalar) => boolean;

interface ComplexityTerm {
  /** Equal terms of one field lead to the same next state in event-ruler's machine. */
  readonly identity: string;
  /** Wildcard patterns (including `anything-but` wildcards) the term adds to the field's byte machine. */
  readonly wildcards: readonly string[];
  /** `{ "exists": false }`. */
  readonly absent: boolean;
}

interface CompiledLeaf {
  /** The value list contains `{ "exists": false }`. */
  readonly absent: boolean;
  /** The other values; `{ "exists": true }` is a test that accepts any leaf value. */
  readonly tests: readonly ValueTest[];
  readonly terms: readonly ComplexityTerm[];
}

interface FieldEntry {
  readonly segments: readonly string[];
  readonly leaf: CompiledLeaf;
}

/** One `$or`-free sub-pattern: path key -> leaf, in writing order. */
type Alternative = Map<string, FieldEntry>;

interface MatchNode {
  readonly leaf: CompiledLeaf | undefined;
  readonly children: ReadonlyArray<readonly [string, MatchNode]>;
  /** The sub-pattern holds when nothing at all is present here (only `exists: false` below). */
  readonly freeWhenMissing: boolean;
}

// ---------------------------------------------------------------------------------------------------------------
// Compilation
// ---------------------------------------------------------------------------------------------------------------

function fail(reason: string, path: string): never {
  throw new InvalidEventPatternException(reason, path === '' ? undefined : path);
}

function compileRoots(pattern: unknown): MatchNode[] {
  const parsed = parsePatternInput(pattern);
  if (!isPlainObject(parsed)) {
    fail(`Filter is not an object: an event pattern must be a JSON object, got ${describe(parsed)}`, '');
  }
  let alternatives: Alternative[];
  try {
    alternatives = expand(parsed, true);
  } catch (error) {
    // event-ruler retries a pattern its `$or`-aware compiler refuses with its older compiler, which reads
    // `$or` as an ordinary field name; the pattern is invalid only when both refuse it.
    if (
      !(error instanceof InvalidEventPatternException) ||
      error instanceof PatternLimitException ||
      !containsOrKey(parsed)
    ) {
      throw error;
    }
    try {
      alternatives = expand(parsed, false);
    } catch {
      throw error;
    }
  }
  checkWildcardComplexity(alternatives);
  return alternatives.map(buildTree);
}

function parsePatternInput(pattern: unknown): unknown {
  if (typeof pattern !== 'string') return pattern;
  try {
    return JSON.parse(pattern) as unknown;
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    return fail(`Event pattern is not valid JSON: ${detail}`, '');
  }
}

function containsOrKey(pattern: unknown): boolean {
  const pending: unknown[] = [pattern];
  for (let value = pending.pop(); value !== undefined; value = pending.pop()) {
    if (Array.isArray(value)) {
      pending.push(...value);
    } else if (isPlainObject(value)) {
      if (Object.hasOwn(value, '$or')) return true;
      pending.push(...Object.values(value));
    }
  }
  return false;
}

interface ExpandContext {
  readonly orAware: boolean;
  alternatives: Alternative[];
}

function expand(pattern: Record<string, unknown>, orAware: boolean): Alternative[] {
  const ctx: ExpandContext = { orAware, alternatives: [] };
  compileObject(ctx, [], pattern, '', false, 0);
  return ctx.alternatives;
}

function compileObject(
  ctx: ExpandContext,
  segments: readonly string[],
  obj: Record<string, unknown>,
  path: string,
  insideOr: boolean,
  depth: number,
): void {
  if (depth > MAX_PATTERN_DEPTH) {
    throw new PatternLimitException(
      `Event pattern is nested more than ${MAX_PATTERN_DEPTH} objects deep`,
      path,
    );
  }
  const entries = Object.entries(obj);
  if (entries.length === 0) fail('Empty objects are not allowed', path);
  for (const [key, value] of entries) {
    const keyPath = childPath(path, key);
    if (key === '$or' && ctx.orAware) {
      compileOr(ctx, segments, value, keyPath, depth);
      continue;
    }
    if (insideOr && RESERVED_IN_OR.has(key)) {
      fail(`"${key}" is a reserved operator name and cannot be used as a field name inside $or`, keyPath);
    }
    if (isPlainObject(value)) {
      compileObject(ctx, [...segments, key], value, keyPath, insideOr, depth + 1);
    } else if (Array.isArray(value)) {
      writeLeaf(ctx, [...segments, key], compileLeaf(value, keyPath));
    } else {
      fail(`"${key}" must be an object or an array, got ${describe(value)}`, keyPath);
    }
  }
}

function compileOr(
  ctx: ExpandContext,
  segments: readonly string[],
  members: unknown,
  path: string,
  depth: number,
): void {
  if (!Array.isArray(members))
    fail(`$or must be an array of at least 2 objects, got ${describe(members)}`, path);
  if (members.length < 2) {
    fail(`$or must contain at least 2 objects, got ${members.length}`, path);
  }
  const base = ctx.alternatives;
  const result: Alternative[] = [];
  members.forEach((member: unknown, index) => {
    const memberPath = `${path}[${index}]`;
    if (!isPlainObject(member)) {
      fail(`Only JSON objects are allowed in a $or array, got ${describe(member)}`, memberPath);
    }
    const branch: ExpandContext = {
      orAware: true,
      alternatives: base.length === 0 ? [new Map()] : base.map((alternative) => new Map(alternative)),
    };
    compileObject(branch, segments, member, memberPath, true, depth + 1);
    result.push(...branch.alternatives);
    if (result.length > MAX_OR_ALTERNATIVES) {
      throw new PatternLimitException(
        `Event pattern expands to more than ${MAX_OR_ALTERNATIVES} rule combinations through $or`,
        path,
      );
    }
  });
  ctx.alternatives = result;
}

function writeLeaf(ctx: ExpandContext, segments: readonly string[], leaf: CompiledLeaf): void {
  const key = JSON.stringify(segments);
  if (ctx.alternatives.length === 0) ctx.alternatives.push(new Map());
  const entry: FieldEntry = { segments, leaf };
  // A path written again replaces the earlier value list: the last reference wins ("Content filtering").
  for (const alternative of ctx.alternatives) alternative.set(key, entry);
}

function compileLeaf(values: readonly unknown[], path: string): CompiledLeaf {
  if (values.length === 0) fail('Empty arrays are not allowed', path);
  let absent = false;
  const tests: ValueTest[] = [];
  const terms: ComplexityTerm[] = [];
  values.forEach((item: unknown, index) => {
    const itemPath = `${path}[${index}]`;
    if (isPlainObject(item)) {
      const compiled = compileExpression(item, itemPath);
      terms.push(compiled.term);
      if (compiled.exists === false) absent = true;
      else tests.push(compiled.test);
      return;
    }
    const test = compileLiteral(item, itemPath);
    tests.push(test);
    terms.push({ identity: identityOf(item), wildcards: [], absent: false });
  });
  return { absent, tests, terms };
}

function compileLiteral(item: unknown, path: string): ValueTest {
  if (typeof item === 'string') {
    // event-ruler compiles a string that is an IP address into an address range, so equivalent spellings of
    // one address ("2001:db8::1", "2001:DB8:0:0:0:0:0:1") match each other.
    const ip = parseIp(item);
    if (ip !== undefined) {
      const hex = ipHex(ip);
      return (value) => typeof value === 'string' && (value === item || ipHexOf(value) === hex);
    }
    return (value) => value === item;
  }
  if (typeof item === 'number') {
    if (!Number.isFinite(item)) fail(`Match value must be a finite JSON number, got ${String(item)}`, path);
    // Numbers are compared as numbers: 300, 300.0 and 3.0e2 are the same value.
    return (value) => value === item;
  }
  if (typeof item === 'boolean' || item === null) {
    return (value) => value === item;
  }
  return fail(
    `Match value must be a string, number, true, false, null or an operator object, got ${describe(item)}`,
    path,
  );
}

interface CompiledExpression {
  readonly test: ValueTest;
  /** Set for `exists` expressions. */
  readonly exists?: boolean;
  readonly term: ComplexityTerm;
}

function compileExpression(expr: Record<string, unknown>, path: string): CompiledExpression {
  const keys = Object.keys(expr);
  const [operator] = keys;
  if (operator === undefined) {
    fail('Match expression name not found: an operator object needs exactly one operator key', path);
  }
  if (!OPERATORS.has(operator)) {
    fail(
      `Unrecognized match type "${operator}" (expected one of ${[...OPERATORS].join(', ')})`,
      childPath(path, operator),
    );
  }
  const operand = expr[operator];
  const operandPath = childPath(path, operator);
  const compiled = compileOperator(operator, operand, operandPath);
  if (keys.length > 1) {
    fail(`Only one key allowed in match expression, got ${keys.map((k) => `"${k}"`).join(', ')}`, path);
  }
  return compiled;
}

function compileOperator(operator: string, operand: unknown, path: string): CompiledExpression {
  const term = (wildcards: readonly string[] = []): ComplexityTerm => ({
    identity: identityOf({ [operator]: operand }),
    wildcards,
    absent: false,
  });
  switch (operator) {
    case 'exactly': {
      const text = requireString(operand, path, 'exactly');
      return { test: (value) => value === text, term: term() };
    }
    case 'prefix':
    case 'suffix':
      return { test: compileAffix(operator, operand, path), term: term() };
    case 'equals-ignore-case': {
      const text = requireString(operand, path, 'equals-ignore-case');
      const regex = new RegExp(`^${ignoreCaseSource(text)}$`);
      return { test: (value) => typeof value === 'string' && regex.test(value), term: term() };
    }
    case 'wildcard': {
      const text = requireString(operand, path, 'wildcard');
      const glob = parseWildcard(text, path);
      return { test: (value) => typeof value === 'string' && globMatches(glob, value), term: term([text]) };
    }
    case 'numeric':
      return { test: compileNumeric(operand, path), term: numericTerm(operand) };
    case 'exists': {
      if (typeof operand !== 'boolean') {
        fail(`exists match pattern must be either true or false, got ${describe(operand)}`, path);
      }
      return {
        test: () => true,
        exists: operand,
        term: { identity: identityOf({ exists: operand }), wildcards: [], absent: !operand },
      };
    }
    case 'cidr':
      return { test: compileCidr(operand, path), term: term() };
    case 'anything-but':
      return compileAnythingBut(operand, path);
    default:
      return fail(`Unrecognized match type "${operator}"`, path);
  }
}

function requireString(operand: unknown, path: string, operator: string): string {
  if (typeof operand !== 'string')
    fail(`${operator} match pattern must be a string, got ${describe(operand)}`, path);
  return operand;
}

function compileAffix(operator: 'prefix' | 'suffix', operand: unknown, path: string): ValueTest {
  if (typeof operand === 'string') {
    // An empty prefix/suffix is accepted and matches every string value (and nothing else).
    return operator === 'prefix'
      ? (value) => typeof value === 'string' && value.startsWith(operand)
      : (value) => typeof value === 'string' && value.endsWith(operand);
  }
  if (!isPlainObject(operand)) {
    fail(
      `${operator} match pattern must be a string or { "equals-ignore-case": "..." }, got ${describe(operand)}`,
      path,
    );
  }
  const keys = Object.keys(operand);
  const [inner] = keys;
  if (inner === undefined) fail(`${operator} expression name not found`, path);
  if (inner !== 'equals-ignore-case') {
    fail(
      `Unsupported ${operator} pattern: "${inner}" (only "equals-ignore-case" is allowed)`,
      childPath(path, inner),
    );
  }
  const text = requireString(operand[inner], childPath(path, inner), 'equals-ignore-case');
  if (keys.length > 1) fail('Only one key allowed in match expression', path);
  const source = ignoreCaseSource(text);
  const regex = operator === 'prefix' ? new RegExp(`^${source}`) : new RegExp(`${source}$`);
  return (value) => typeof value === 'string' && regex.test(value);
}

// --- numeric -----------------------------------------------------------------------------------------------------

interface NumericRange {
  readonly low: number;
  readonly lowOpen: boolean;
  readonly high: number;
  readonly highOpen: boolean;
}

function compileNumeric(operand: unknown, path: string): ValueTest {
  if (!Array.isArray(operand)) fail(`Value of numeric must be an array, got ${describe(operand)}`, path);
  const items: readonly unknown[] = operand;
  const [first, firstValue, second, secondValue] = items;
  if (items.length === 0) fail('numeric must contain an operator followed by a number', path);
  if (typeof first !== 'string') fail(`Invalid member in numeric match: ${describe(first)}`, `${path}[0]`);
  if (!NUMERIC_OPERATORS.has(first)) {
    fail(`Unrecognized numeric range operator: "${first}" (expected =, <, <=, > or >=)`, `${path}[0]`);
  }
  const bottom = comparableNumber(firstValue, `${path}[1]`, `Value of ${first}`);
  let range: NumericRange;
  if (first === '=' || first === '<' || first === '<=') {
    if (items.length > 2) {
      fail(`Too many elements in numeric expression: "${first}" must be the last comparison`, path);
    }
    range =
      first === '='
        ? { low: bottom, lowOpen: false, high: bottom, highOpen: false }
        : { low: -NUMERIC_LIMIT, lowOpen: false, high: bottom, highOpen: first === '<' };
  } else if (items.length === 2) {
    range = { low: bottom, lowOpen: first === '>', high: NUMERIC_LIMIT, highOpen: false };
  } else {
    if (typeof second !== 'string') fail(`Bad value in numeric range: ${describe(second)}`, `${path}[2]`);
    if (second !== '<' && second !== '<=') {
      fail(`Bad numeric range operator: "${second}" (a range must be ">"/">=" then "<"/"<=")`, `${path}[2]`);
    }
    const top = comparableNumber(secondValue, `${path}[3]`, `Value of ${second}`);
    if (items.length > 4) fail('Too many terms in numeric range expression', path);
    if (!(bottom < top)) fail(`Bottom must be less than top (${bottom} is not less than ${top})`, path);
    range = { low: bottom, lowOpen: first === '>', high: top, highOpen: second === '<' };
  }
  const { low, lowOpen, high, highOpen } = range;
  // Only JSON numbers within the numeric-matching limits take part in numeric matching.
  return (value) =>
    typeof value === 'number' &&
    value >= -NUMERIC_LIMIT &&
    value <= NUMERIC_LIMIT &&
    (lowOpen ? value > low : value >= low) &&
    (highOpen ? value < high : value <= high);
}

function comparableNumber(value: unknown, path: string, label: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    fail(`${label} must be numeric, got ${describe(value)}`, path);
  }
  if (value < -NUMERIC_LIMIT || value > NUMERIC_LIMIT) {
    fail(`${label}: value must be between -5.0E9 and 5.0E9, inclusive, got ${value}`, path);
  }
  if (decimalPlaces(value) > NUMERIC_DECIMALS) {
    fail(
      `${label}: only values with up to ${NUMERIC_DECIMALS} decimal places are supported, got ${value}`,
      path,
    );
  }
  return value;
}

/** Digits to the right of the decimal point in the shortest representation of `value`. */
function decimalPlaces(value: number): number {
  const text = String(Math.abs(value));
  const [mantissa = '', exponentText] = text.split('e');
  const fraction = mantissa.split('.')[1] ?? '';
  const exponent = exponentText === undefined ? 0 : Number(exponentText);
  return Math.max(0, fraction.length - exponent);
}

function numericTerm(operand: unknown): ComplexityTerm {
  // `["=", n]` shares its machine transition with the literal number n.
  const items: readonly unknown[] = Array.isArray(operand) ? operand : [];
  const identity =
    items.length === 2 && items[0] === '=' ? identityOf(items[1]) : identityOf({ numeric: operand });
  return { identity, wildcards: [], absent: false };
}

// --- anything-but ------------------------------------------------------------------------------------------------

const ANYTHING_BUT_NESTED = new Set(['prefix', 'suffix', 'equals-ignore-case', 'wildcard']);

function compileAnythingBut(operand: unknown, path: string): CompiledExpression {
  if (isPlainObject(operand)) return compileAnythingButNested(operand, path);
  if (Array.isArray(operand)) {
    const list: readonly unknown[] = operand;
    let strings = 0;
    let numbers = 0;
    list.forEach((item, index) => {
      if (typeof item === 'string') strings++;
      else if (typeof item === 'number') {
        comparableNumber(item, `${path}[${index}]`, 'anything-but value');
        numbers++;
      } else {
        fail(
          `Inside an anything-but list only strings or numbers are supported, got ${describe(item)}`,
          `${path}[${index}]`,
        );
      }
    });
    if (list.length === 0 || (strings > 0 && numbers > 0)) {
      fail(
        list.length === 0
          ? 'anything-but list must not be empty'
          : 'Inside an anything-but list, either all values are numbers or all are strings; mixed types are not supported',
        path,
      );
    }
    const excluded = new Set<unknown>(list);
    const identity = identityOf({ 'anything-but': [...new Set(list.map(identityOf))].sort() });
    return {
      test: (value) => !excluded.has(value),
      term: { identity, wildcards: [], absent: false },
    };
  }
  if (typeof operand === 'string') {
    return {
      test: (value) => value !== operand,
      term: { identity: identityOf({ 'anything-but': [identityOf(operand)] }), wildcards: [], absent: false },
    };
  }
  if (typeof operand === 'number') {
    const excluded = comparableNumber(operand, path, 'anything-but value');
    return {
      test: (value) => value !== excluded,
      term: { identity: identityOf({ 'anything-but': [identityOf(operand)] }), wildcards: [], absent: false },
    };
  }
  return fail(
    `Value of anything-but must be a string, a number, a list of strings or numbers, or one of { prefix | suffix | equals-ignore-case | wildcard }, got ${describe(operand)}`,
    path,
  );
}

function compileAnythingButNested(operand: Record<string, unknown>, path: string): CompiledExpression {
  const keys = Object.keys(operand);
  const [inner] = keys;
  if (inner === undefined) fail('Anything-But expression name not found', path);
  const innerPath = childPath(path, inner);
  if (!ANYTHING_BUT_NESTED.has(inner)) {
    fail(
      `Unsupported anything-but pattern: "${inner}" (expected prefix, suffix, equals-ignore-case or wildcard)`,
      innerPath,
    );
  }
  const raw = operand[inner];
  if (!Array.isArray(raw) && typeof raw !== 'string') {
    fail(`anything-but/${inner} must be a string or a list of strings, got ${describe(raw)}`, innerPath);
  }
  const values: readonly unknown[] = Array.isArray(raw) ? raw : [raw];
  if (values.length === 0) fail(`anything-but/${inner} list must not be empty`, innerPath);
  const texts = values.map((value, index) => {
    const valuePath = Array.isArray(raw) ? `${innerPath}[${index}]` : innerPath;
    if (typeof value !== 'string') {
      fail(`anything-but/${inner} values must be strings, got ${describe(value)}`, valuePath);
    }
    if ((inner === 'prefix' || inner === 'suffix') && value === '') {
      fail(`Null prefix/suffix not allowed: anything-but/${inner} must not be empty`, valuePath);
    }
    return value;
  });
  if (keys.length > 1) fail('Only one key allowed in match expression', path);

  let excluded: (value: string) => boolean;
  let wildcards: readonly string[] = [];
  switch (inner) {
    case 'prefix':
      excluded = (value) => texts.some((text) => value.startsWith(text));
      break;
    case 'suffix':
      excluded = (value) => texts.some((text) => value.endsWith(text));
      break;
    case 'equals-ignore-case': {
      const regexes = texts.map((text) => new RegExp(`^${ignoreCaseSource(text)}$`));
      excluded = (value) => regexes.some((regex) => regex.test(value));
      break;
    }
    default: {
      const globs = texts.map((text, index) =>
        parseWildcard(text, Array.isArray(raw) ? `${innerPath}[${index}]` : innerPath),
      );
      excluded = (value) => globs.some((glob) => globMatches(glob, value));
      wildcards = texts;
      break;
    }
  }
  // The excluded forms are all string forms: a number, boolean or null is never excluded.
  return {
    test: (value) => !(typeof value === 'string' && excluded(value)),
    term: {
      identity: identityOf({ 'anything-but': { [inner]: [...new Set(texts)].sort() } }),
      wildcards,
      absent: false,
    },
  };
}

// --- equals-ignore-case ------------------------------------------------------------------------------------------

/**
 * Each pattern character matches its lower-case or its upper-case form (event-ruler's EqualsIgnoreCaseParser,
 * which maps characters independently, so `ß` also matches `SS`).
 */
function ignoreCaseSource(text: string): string {
  let source = '';
  for (const char of text) {
    const lower = char.toLowerCase();
    const upper = char.toUpperCase();
    source += lower === upper ? escapeRegExp(lower) : `(?:${escapeRegExp(lower)}|${escapeRegExp(upper)})`;
  }
  return source;
}

function escapeRegExp(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
}

// --- wildcard ----------------------------------------------------------------------------------------------------

/** Literal runs between unescaped `*`: `parts.length - 1` wildcards. */
interface Glob {
  readonly parts: readonly string[];
}

/**
 * `*` matches any run of characters (including none); `\*` is a literal asterisk and `\\` a literal backslash;
 * any other escape, a trailing backslash and consecutive `**` are rejected.
 */
function parseWildcard(text: string, path: string): Glob {
  const parts: string[] = [];
  let current = '';
  for (let index = 0; index < text.length; index++) {
    const char = text[index];
    if (char === '*') {
      if (text[index + 1] === '*') {
        fail(`Consecutive wildcard characters at pos ${index} are not allowed in "${text}"`, path);
      }
      parts.push(current);
      current = '';
    } else if (char === '\\') {
      const next = text[index + 1];
      if (next !== '*' && next !== '\\') {
        fail(
          `Invalid escape character at pos ${index} in "${text}": only \\* and \\\\ may be escaped in a wildcard`,
          path,
        );
      }
      current += next;
      index++;
    } else {
      current += char;
    }
  }
  parts.push(current);
  return { parts };
}

/** Linear-time glob match: first part is a prefix, last a suffix, the middle parts found leftmost in order. */
function globMatches(glob: Glob, value: string): boolean {
  const { parts } = glob;
  const first = parts[0] ?? '';
  if (parts.length === 1) return value === first;
  const last = parts[parts.length - 1] ?? '';
  if (value.length < first.length + last.length) return false;
  if (!value.startsWith(first) || !value.endsWith(last)) return false;
  let position = first.length;
  const end = value.length - last.length;
  for (let index = 1; index < parts.length - 1; index++) {
    const part = parts[index] ?? '';
    const found = value.indexOf(part, position);
    if (found < 0 || found + part.length > end) return false;
    position = found + part.length;
  }
  return true;
}

// --- cidr and IP addresses ---------------------------------------------------------------------------------------

const IPV4_LIKE = /^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$/;
const IPV6_LIKE = /^[0-9a-fA-F:]*:[0-9a-fA-F:]*$/;
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;
const CIDR_MASK = /^[+-]?[0-9]+$/;

function compileCidr(operand: unknown, path: string): ValueTest {
  const text = requireString(operand, path, 'cidr');
  const pieces = text.split('/');
  const [address = '', mask = ''] = pieces;
  if (pieces.length !== 2 || mask === '') {
    fail(`Malformed CIDR "${text}": exactly one '/' followed by the mask bits is required`, path);
  }
  if (!CIDR_MASK.test(mask) || Math.abs(Number(mask)) > 2 ** 31 - 1) {
    fail(`Malformed CIDR "${text}": mask bits must be an integer`, path);
  }
  const bits = Number(mask);
  if (bits < 0) fail(`Malformed CIDR "${text}": mask bits must not be negative`, path);
  if (!IPV4_LIKE.test(address) && !IPV6_LIKE.test(address)) {
    fail(`Nonstandard IP address "${address}" in CIDR "${text}"`, path);
  }
  const ip = parseIp(address);
  if (ip === undefined) fail(`Invalid IP address "${address}" in CIDR "${text}"`, path);
  if (ip.length === 4 && bits > 31) fail(`IPv4 mask bits must be < 32 in CIDR "${text}"`, path);
  if (ip.length === 16 && bits > 127) fail(`IPv6 mask bits must be < 128 in CIDR "${text}"`, path);
  const hostBits = ip.length * 8 - bits;
  const bottom = ip.map((byte, index) => byte & ~hostMask(index, ip.length, hostBits));
  const top = ip.map((byte, index) => byte | hostMask(index, ip.length, hostBits));
  const low = ipHex(bottom);
  const high = ipHex(top);
  return (value) => {
    if (typeof value !== 'string') return false;
    const hex = ipHexOf(value);
    return hex !== undefined && hex.length === low.length && hex >= low && hex <= high;
  };
}

/** The host-bit mask of byte `index` of an address of `length` bytes with `hostBits` host bits. */
function hostMask(index: number, length: number, hostBits: number): number {
  const bitsInThisByte = hostBits - (length - 1 - index) * 8;
  if (bitsInThisByte <= 0) return 0;
  if (bitsInThisByte >= 8) return 0xff;
  return (1 << bitsInThisByte) - 1;
}

/** The address as 4 or 16 bytes, or undefined when the text is not an IP address literal. */
function parseIp(text: string): number[] | undefined {
  if (IPV4_LIKE.test(text)) {
    const bytes = text.split('.').map(Number);
    return bytes.every((byte) => byte <= 255) ? bytes : undefined;
  }
  if (IPV6_LIKE.test(text)) return parseIpv6(text);
  return undefined;
}

function parseIpv6(text: string): number[] | undefined {
  const compressed = text.indexOf('::');
  if (compressed !== text.lastIndexOf('::')) return undefined;
  const head = compressed < 0 ? text : text.slice(0, compressed);
  const tail = compressed < 0 ? '' : text.slice(compressed + 2);
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === '' ? [] : tail.split(':');
  const groups = [...headGroups, ...tailGroups];
  if (!groups.every((group) => HEX_GROUP.test(group))) return undefined;
  if (compressed < 0 ? groups.length !== 8 : groups.length > 7) return undefined;
  const zeros = new Array<string>(8 - groups.length).fill('0');
  const words = [...headGroups, ...zeros, ...tailGroups].map((group) => Number.parseInt(group, 16));
  const bytes = words.flatMap((word) => [word >> 8, word & 0xff]);
  // Java's address parsing (used by event-ruler) turns an IPv4-mapped IPv6 address into the IPv4 address.
  const mapped = bytes.slice(0, 10).every((byte) => byte === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  return mapped ? bytes.slice(12) : bytes;
}

function ipHex(bytes: readonly number[]): string {
  return bytes.map((byte) => byte.toString(16).padStart(2, '0')).join('');
}

function ipHexOf(text: string): string | undefined {
  const bytes = parseIp(text);
  return bytes === undefined ? undefined : ipHex(bytes);
}

// ---------------------------------------------------------------------------------------------------------------
// Wildcard complexity ("Wildcards and event pattern complexity")
// ---------------------------------------------------------------------------------------------------------------

interface CxName {
  readonly fields: Map<string, CxField>;
}

interface CxField {
  readonly terms: ComplexityTerm[];
  readonly next: Map<string, CxName>;
  readonly valueNext: Set<CxName>;
}

/**
 * Rebuilds the shape of event-ruler's machine for the rule (fields in lexical order, one byte machine per field
 * per name state) and evaluates every byte machine holding wildcard patterns.
 */
function checkWildcardComplexity(alternatives: readonly Alternative[]): void {
  const hasWildcard = alternatives.some((alternative) =>
    [...alternative.values()].some((entry) => entry.leaf.terms.some((term) => term.wildcards.length > 0)),
  );
  if (!hasWildcard) return;
  const root: CxName = { fields: new Map() };
  for (const alternative of alternatives) {
    const fields = [...alternative.values()]
      .map((entry) => ({ name: entry.segments.join('.'), terms: entry.leaf.terms }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    let states = new Set<CxName>([root]);
    for (const field of fields) {
      const next = new Set<CxName>();
      for (const state of states) {
        let machine = state.fields.get(field.name);
        if (machine === undefined) {
          machine = { terms: [], next: new Map(), valueNext: new Set() };
          state.fields.set(field.name, machine);
        }
        let last: CxName | undefined;
        for (const term of field.terms) {
          machine.terms.push(term);
          const existing = machine.next.get(term.identity);
          if (existing !== undefined) {
            last = existing;
          } else {
            last ??= { fields: new Map() };
            machine.next.set(term.identity, last);
          }
          next.add(last);
          if (!term.absent) machine.valueNext.add(last);
        }
      }
      states = next;
    }
  }
  const seen = new Set<CxName>();
  const pending: CxName[] = [root];
  for (let state = pending.pop(); state !== undefined; state = pending.pop()) {
    if (seen.has(state)) continue;
    seen.add(state);
    for (const [name, machine] of state.fields) {
      if (wildcardComplexity(machine.terms) > MAX_WILDCARD_COMPLEXITY) {
        throw new PatternLimitException(
          `Rule is too complex - try using fewer wildcard characters or fewer repeating character sequences after a wildcard character (more than ${MAX_WILDCARD_COMPLEXITY} wildcard prefixes can match one value of "${name}")`,
          name,
        );
      }
      for (const nextState of machine.valueNext) pending.push(nextState);
    }
  }
}

const ANY_BYTE = 256;
const QUOTE = 0x22;
const UTF8 = new TextEncoder();

interface NfaState {
  readonly literal: Map<number, number[]>;
  readonly any: number[];
  /** Identities of the wildcard terms reachable through this state. */
  readonly weight: Set<string>;
  readonly prefix: Map<number, number>;
  star: number;
}

function newNfaState(): NfaState {
  return { literal: new Map(), any: [], weight: new Set(), prefix: new Map(), star: 0 };
}

function nfaState(states: readonly NfaState[], index: number): NfaState {
  const state = states[index];
  if (state === undefined) throw new Error(`wildcard complexity: missing state ${index}`);
  return state;
}

function addLiteral(state: NfaState, byte: number, target: number): void {
  const targets = state.literal.get(byte);
  if (targets === undefined) state.literal.set(byte, [target]);
  else targets.push(target);
}

/**
 * The largest number of wildcard-pattern prefixes (weighted by the terms reachable from each byte-machine state)
 * that one input can match, as event-ruler's MachineComplexityEvaluator computes it over the quoted value bytes.
 */
function wildcardComplexity(terms: readonly ComplexityTerm[]): number {
  const states: NfaState[] = [newNfaState()];
  const matchStates = new Map<string, number>();
  const alphabet = new Set<number>();
  const added = new Set<string>();
  for (const term of terms) {
    for (const pattern of term.wildcards) {
      const key = `${term.identity}\u0000${pattern}`;
      if (added.has(key)) continue;
      added.add(key);
      const tokens = wildcardTokens(pattern);
      let current = 0;
      let previous = -1;
      let determinate = true;
      tokens.forEach((token, index) => {
        const terminal = index === tokens.length - 1;
        const from = nfaState(states, current);
        let next = 0;
        if (terminal) {
          next = matchStates.get(term.identity) ?? 0;
        } else if (token === ANY_BYTE) {
          if (determinate) {
            next = from.star;
            if (next === 0) from.star = states.length;
          }
          determinate = false;
        } else if (determinate) {
          next = from.prefix.get(token) ?? 0;
        }
        const created = next === 0;
        if (created) {
          next = states.length;
          states.push(newNfaState());
          if (terminal) matchStates.set(term.identity, next);
          else if (determinate) from.prefix.set(token, next);
        }
        const to = nfaState(states, next);
        if (token === ANY_BYTE) {
          if (to.any.length === 0) {
            from.any.push(next);
            to.any.push(next);
          }
        } else if (terminal || created) {
          alphabet.add(token);
          addLiteral(from, token, next);
          if (index > 0 && tokens[index - 1] === ANY_BYTE)
            addLiteral(nfaState(states, previous), token, next);
        }
        to.weight.add(term.identity);
        previous = current;
        current = next;
      });
    }
  }
  if (states.length === 1) return 0;
  const bytes = [ANY_BYTE, ...alphabet];
  const pending: number[][] = [[0]];
  const seen = new Set<string>();
  let maximum = 0;
  for (let active = pending.pop(); active !== undefined; active = pending.pop()) {
    for (const byte of bytes) {
      const nextSet = new Set<number>();
      for (const id of active) {
        const state = nfaState(states, id);
        for (const target of state.any) nextSet.add(target);
        if (byte !== ANY_BYTE) for (const target of state.literal.get(byte) ?? []) nextSet.add(target);
      }
      if (nextSet.size === 0) continue;
      let complexity = 0;
      for (const id of nextSet) {
        const state = nfaState(states, id);
        complexity += state.weight.size;
        // A value matching "foo" also matches the prefix "foo*".
        for (const wildcard of state.any) {
          if (!nextSet.has(wildcard)) complexity += nfaState(states, wildcard).weight.size;
        }
      }
      if (complexity > MAX_WILDCARD_COMPLEXITY) return complexity;
      maximum = Math.max(maximum, complexity);
      const next = [...nextSet].sort((a, b) => a - b);
      const key = next.join(',');
      if (!seen.has(key)) {
        if (seen.size >= MAX_COMPLEXITY_STATES) return Number.POSITIVE_INFINITY;
        seen.add(key);
        pending.push(next);
      }
    }
  }
  return maximum;
}

/** The quoted value's UTF-8 bytes with each unescaped `*` as {@link ANY_BYTE}. */
function wildcardTokens(pattern: string): number[] {
  const tokens = [QUOTE];
  let literal = '';
  const flush = (): void => {
    for (const byte of UTF8.encode(literal)) tokens.push(byte);
    literal = '';
  };
  for (let index = 0; index < pattern.length; index++) {
    const char = pattern[index];
    if (char === '*') {
      flush();
      tokens.push(ANY_BYTE);
    } else if (char === '\\') {
      literal += pattern[index + 1] ?? '';
      index++;
    } else {
      literal += char;
    }
  }
  flush();
  tokens.push(QUOTE);
  return tokens;
}

// ---------------------------------------------------------------------------------------------------------------
// Matching
// ---------------------------------------------------------------------------------------------------------------

interface BuildNode {
  leaf: CompiledLeaf | undefined;
  readonly children: Map<string, BuildNode>;
}

function buildTree(alternative: Alternative): MatchNode {
  const root: BuildNode = { leaf: undefined, children: new Map() };
  for (const { segments, leaf } of alternative.values()) {
    let node = root;
    for (const segment of segments) {
      let child = node.children.get(segment);
      if (child === undefined) {
        child = { leaf: undefined, children: new Map() };
        node.children.set(segment, child);
      }
      node = child;
    }
    node.leaf = leaf;
  }
  return freeze(root);
}

function freeze(node: BuildNode): MatchNode {
  const children = [...node.children].map(([key, child]) => [key, freeze(child)] as const);
  return {
    leaf: node.leaf,
    children,
    freeWhenMissing:
      (node.leaf === undefined || node.leaf.absent) && children.every(([, child]) => child.freeWhenMissing),
  };
}

/**
 * Evaluation answers two questions at once, as a bit set:
 * - FREE: the sub-pattern holds without matching any value here (only `exists: false` constraints, all absent);
 * - BOUND: the sub-pattern holds with at least one value matched here.
 * The distinction matters for arrays: a match that uses a value fixes the array element (all other fields
 * under that array must hold in the same element), while `exists: false` alone must hold in every element.
 */
const NO_MATCH = 0;
const FREE = 1;
const BOUND = 2;

function evalAt(node: MatchNode, value: unknown): number {
  return Array.isArray(value) ? evalArray(node, value) : evalElement(node, value);
}

function evalArray(node: MatchNode, array: readonly unknown[]): number {
  let bound = false;
  // With no element to look at (an empty array), only a sub-pattern of `exists: false` holds.
  let free = node.freeWhenMissing;
  // Nested arrays are flattened iteratively (event nesting is not bounded by the pattern); the stacks are only
  // allocated when an element is itself an array.
  let parents: Array<readonly unknown[]> | undefined;
  let positions: number[] | undefined;
  let current = array;
  let position = 0;
  while (true) {
    if (position >= current.length) {
      const parent = parents?.pop();
      const parentPosition = positions?.pop();
      if (parent === undefined || parentPosition === undefined) break;
      current = parent;
      position = parentPosition;
      continue;
    }
    const element = current[position];
    position++;
    if (Array.isArray(element)) {
      parents ??= [];
      positions ??= [];
      parents.push(current);
      positions.push(position);
      current = element;
      position = 0;
      continue;
    }
    const result = evalElement(node, element);
    if ((result & BOUND) !== 0) bound = true;
    if ((result & FREE) === 0) free = false;
    if (bound && !free) return BOUND;
  }
  return (free ? FREE : NO_MATCH) | (bound ? BOUND : NO_MATCH);
}

function evalElement(node: MatchNode, value: unknown): number {
  let allFree = true;
  let anyBound = false;
  const { leaf } = node;
  if (leaf !== undefined) {
    const result = evalLeaf(leaf, value);
    if (result === NO_MATCH) return NO_MATCH;
    if ((result & FREE) === 0) allFree = false;
    if ((result & BOUND) !== 0) anyBound = true;
  }
  const record = isRecord(value) ? value : undefined;
  for (const [key, child] of node.children) {
    const childValue = record !== undefined && Object.hasOwn(record, key) ? record[key] : undefined;
    const result = evalAt(child, childValue);
    if (result === NO_MATCH) return NO_MATCH;
    if ((result & FREE) === 0) allFree = false;
    if ((result & BOUND) !== 0) anyBound = true;
  }
  return (allFree ? FREE : NO_MATCH) | (anyBound ? BOUND : NO_MATCH);
}

/** `value` is never an array here: arrays were flattened by {@link evalArray}. */
function evalLeaf(leaf: CompiledLeaf, value: unknown): number {
  if (isScalar(value)) {
    for (const test of leaf.tests) {
      if (test(value)) return BOUND;
    }
    return NO_MATCH;
  }
  // Missing, an object, or not a JSON value: no leaf value at this path.
  return leaf.absent ? FREE : NO_MATCH;
}

// ---------------------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------------------

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isScalar(value: unknown): value is Scalar {
  return (
    value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
  );
}

const SIMPLE_KEY = /^[A-Za-z_$][\w$-]*$/;

function childPath(parent: string, key: string): string {
  if (SIMPLE_KEY.test(key)) return parent === '' ? key : `${parent}.${key}`;
  return `${parent}[${JSON.stringify(key)}]`;
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return `the string ${JSON.stringify(value)}`;
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value} ${String(value)}`;
  return `a ${typeof value}`;
}

/** A canonical key for a pattern value (object keys sorted). */
function identityOf(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(identityOf).join(',')}]`;
  if (isRecord(value)) {
    const keys = Object.keys(value).sort();
    return `{${keys.map((key) => `${JSON.stringify(key)}:${identityOf(value[key])}`).join(',')}}`;
  }
  if (typeof value === 'number') return `n:${String(value)}`;
  return JSON.stringify(value) ?? 'undefined';
}
