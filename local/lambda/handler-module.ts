import type { AsyncLocalStorage } from 'node:async_hooks';
import { pathToFileURL } from 'node:url';

/** What loading and calling a handler needs to know of a function: shared by the main thread and workers. */
export interface HandlerSpec {
  readonly name: string;
  readonly arn: string;
  readonly source: string;
  readonly exportName: string;
  readonly environment: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
}

export type Handler = (event: unknown, context: object) => unknown;

/** Imports run one at a time: each needs its own function's environment in place while its module evaluates. */
let importing: Promise<unknown> = Promise.resolve();

/**
 * Imports a function's handler module with the function's environment in place (handlers read their
 * configuration, and their logger its service name, at import). The query string gives each function its
 * own module instance. Concurrent calls are serialised, so one function never evaluates under another's
 * environment.
 */
export function importHandler(
  fn: HandlerSpec,
  baseEnvironment: Readonly<Record<string, string>>,
): Promise<Handler> {
  const next = importing.then(() => importWithEnvironment(fn, baseEnvironment));
  importing = next.catch(() => undefined);
  return next;
}

async function importWithEnvironment(
  fn: HandlerSpec,
  baseEnvironment: Readonly<Record<string, string>>,
): Promise<Handler> {
  Object.assign(process.env, baseEnvironment, fn.environment, {
    AWS_LAMBDA_FUNCTION_NAME: fn.name,
    AWS_LAMBDA_FUNCTION_TIMEOUT: String(fn.timeoutMs / 1000),
  });
  const module = (await import(
    `${pathToFileURL(fn.source).href}?function=${encodeURIComponent(fn.name)}`
  )) as Record<string, unknown>;
  const handler = module[fn.exportName];
  if (typeof handler !== 'function')
    throw new Error(`handler export '${fn.exportName}' missing in ${fn.source}`);
  return handler as Handler;
}

/**
 * The Lambda context object a handler receives. Without `remainingMs` (a virtual clock) it has no
 * `getRemainingTimeInMillis`: the runtime enforces the function's timeout on that clock, and a countdown a
 * handler's framework starts from it in real time (middy's early timeout, a `setTimeout` of the remaining
 * milliseconds) would fire on a loaded machine while virtual time stands still, failing work that is within
 * its timeout. Middy, like other frameworks, skips its early timeout when the context has none.
 */
export function lambdaContext(fn: HandlerSpec, requestId: string, remainingMs?: () => number): object {
  return {
    functionName: fn.name,
    functionVersion: '$LATEST',
    invokedFunctionArn: fn.arn,
    memoryLimitInMB: '512',
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${fn.name}`,
    logStreamName: `local/${requestId}`,
    callbackWaitsForEmptyEventLoop: false,
    ...(remainingMs ? { getRemainingTimeInMillis: () => Math.max(0, remainingMs()) } : {}),
  };
}

export interface InvocationScope {
  readonly functionName: string;
  readonly requestId: string;
}

/**
 * Routes every stdout/stderr line written inside an invocation (as tracked by `scope`) to `onLine`, the way
 * Lambda sends a function's output to its log stream. Returns the function that restores the streams.
 */
export function captureOutput(
  scope: AsyncLocalStorage<InvocationScope>,
  onLine: (invocation: InvocationScope, text: string) => void,
): () => void {
  const restore = [process.stdout, process.stderr].map((stream) => {
    const original = stream.write.bind(stream);
    stream.write = ((chunk: unknown, ...rest: unknown[]): boolean => {
      const current = scope.getStore();
      if (!current) return (original as (...args: unknown[]) => boolean)(chunk, ...rest);
      for (const text of String(chunk).split('\n')) if (text.trim()) onLine(current, text);
      (rest.find((r) => typeof r === 'function') as (() => void) | undefined)?.();
      return true;
    }) as typeof stream.write;
    return () => {
      stream.write = original;
    };
  });
  return () => {
    for (const undo of restore) undo();
  };
}
