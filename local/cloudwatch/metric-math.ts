/**
 * CloudWatch metric math, the part alarms use: numbers, query ids, `+ - * /`, comparisons (`< <= > >= == !=`,
 * 1 or 0), `AND`/`&&`, `OR`/`||`, `NOT`/`!`, parentheses and `IF(condition, then, else)`. An expression is
 * parsed once, at start-up, and evaluated per period on each query's value there: a period where a query it
 * needs has no value, or where it divides by zero, has no value either (as in CloudWatch, the datapoint is
 * dropped). Anything else (SEARCH, FILL, METRICS(), time-series functions) is refused when parsed.
 */

export type Expression =
  | { readonly kind: 'number'; readonly value: number }
  | { readonly kind: 'query'; readonly id: string }
  | { readonly kind: 'not'; readonly operand: Expression }
  | { readonly kind: 'negate'; readonly operand: Expression }
  | {
      readonly kind: 'binary';
      readonly operator: string;
      readonly left: Expression;
      readonly right: Expression;
    }
  | {
      readonly kind: 'if';
      readonly condition: Expression;
      readonly then: Expression;
      readonly otherwise: Expression;
    };

/** A parse failure: the message names what was not understood, for UnsupportedTemplateFeature. */
export class MetricMathError extends Error {
  override readonly name = 'MetricMathError';
}

/** Numbers, names, operators, and quoted strings (only so a function taking them is named when refused). */
const TOKEN =
  /\s*(\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|[A-Za-z_][A-Za-z0-9_]*|<=|>=|==|!=|&&|\|\||[-+*/(),<>!]|'[^']*'|"[^"]*")/y;

function tokenize(text: string): string[] {
  const tokens: string[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < text.length) {
    const start = TOKEN.lastIndex;
    const match = TOKEN.exec(text);
    if (!match?.[1]) {
      if (text.slice(start).trim() === '') break;
      throw new MetricMathError(`'${text.slice(start).trim()}' in "${text}"`);
    }
    tokens.push(match[1]);
  }
  return tokens;
}

const BINARY_LEVELS: readonly (readonly string[])[] = [
  ['OR', '||'],
  ['AND', '&&'],
  ['<', '<=', '>', '>=', '==', '!='],
  ['+', '-'],
  ['*', '/'],
];

/** Parses an expression; throws MetricMathError naming the first function or token it does not support. */
export function parseExpression(text: string): Expression {
  const tokens = tokenize(text);
  let at = 0;
  const peek = () => tokens[at];
  const expect = (token: string) => {
    if (tokens[at] !== token) throw new MetricMathError(`expected '${token}' in "${text}"`);
    at += 1;
  };
  const binary = (level: number): Expression => {
    const operators = BINARY_LEVELS[level];
    if (!operators) return unary();
    let left = binary(level + 1);
    for (let next = peek(); next !== undefined && operators.includes(next); next = peek()) {
      at += 1;
      const operator = next === 'OR' ? '||' : next === 'AND' ? '&&' : next;
      left = { kind: 'binary', operator, left, right: binary(level + 1) };
    }
    return left;
  };
  const unary = (): Expression => {
    const next = peek();
    if (next === '-') {
      at += 1;
      return { kind: 'negate', operand: unary() };
    }
    if (next === '!' || next === 'NOT') {
      at += 1;
      return { kind: 'not', operand: unary() };
    }
    return primary();
  };
  const primary = (): Expression => {
    const next = tokens[at++];
    if (next === undefined) throw new MetricMathError(`"${text}" ends early`);
    if (next === '(') {
      const inner = binary(0);
      expect(')');
      return inner;
    }
    if (/^\d/.test(next)) return { kind: 'number', value: Number(next) };
    if (/^[A-Za-z_]/.test(next)) {
      if (peek() !== '(') return { kind: 'query', id: next };
      if (next !== 'IF') throw new MetricMathError(`function ${next}`);
      at += 1;
      const condition = binary(0);
      expect(',');
      const then = binary(0);
      expect(',');
      const otherwise = binary(0);
      expect(')');
      return { kind: 'if', condition, then, otherwise };
    }
    throw new MetricMathError(`'${next}' in "${text}"`);
  };
  const expression = binary(0);
  if (at < tokens.length) throw new MetricMathError(`'${tokens[at]}' in "${text}"`);
  return expression;
}

/** The query ids an expression reads. */
export function queryIds(expression: Expression): string[] {
  switch (expression.kind) {
    case 'number':
      return [];
    case 'query':
      return [expression.id];
    case 'not':
    case 'negate':
      return queryIds(expression.operand);
    case 'binary':
      return [...queryIds(expression.left), ...queryIds(expression.right)];
    case 'if':
      return [
        ...queryIds(expression.condition),
        ...queryIds(expression.then),
        ...queryIds(expression.otherwise),
      ];
  }
}

const APPLY: Record<string, (a: number, b: number) => number> = {
  '+': (a, b) => a + b,
  '-': (a, b) => a - b,
  '*': (a, b) => a * b,
  '/': (a, b) => a / b,
  '<': (a, b) => Number(a < b),
  '<=': (a, b) => Number(a <= b),
  '>': (a, b) => Number(a > b),
  '>=': (a, b) => Number(a >= b),
  '==': (a, b) => Number(a === b),
  '!=': (a, b) => Number(a !== b),
  '&&': (a, b) => Number(a !== 0 && b !== 0),
  '||': (a, b) => Number(a !== 0 || b !== 0),
};

/** The expression's value for one period, given each query's value there; undefined when it has none. */
export function evaluateExpression(
  expression: Expression,
  value: (id: string) => number | undefined,
): number | undefined {
  const result = evaluate(expression, value);
  return result === undefined || !Number.isFinite(result) ? undefined : result;
}

function evaluate(expression: Expression, value: (id: string) => number | undefined): number | undefined {
  switch (expression.kind) {
    case 'number':
      return expression.value;
    case 'query':
      return value(expression.id);
    case 'negate': {
      const operand = evaluate(expression.operand, value);
      return operand === undefined ? undefined : -operand;
    }
    case 'not': {
      const operand = evaluate(expression.operand, value);
      return operand === undefined ? undefined : Number(operand === 0);
    }
    case 'binary': {
      const left = evaluate(expression.left, value);
      const right = evaluate(expression.right, value);
      if (left === undefined || right === undefined) return undefined;
      const result = APPLY[expression.operator]?.(left, right);
      // x / 0 has no datapoint, and nothing computed from it has one either.
      return result !== undefined && Number.isFinite(result) ? result : undefined;
    }
    case 'if': {
      const condition = evaluate(expression.condition, value);
      if (condition === undefined) return undefined;
      return evaluate(condition !== 0 ? expression.then : expression.otherwise, value);
    }
  }
}
