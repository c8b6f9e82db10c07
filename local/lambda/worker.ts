/**
 * A Lambda "sandbox" thread: loads function modules from source with their environment and runs
 * invocations the main thread sends it, so handlers run in parallel with the emulated services (as they
 * do on AWS, where they are separate processes). Log lines and SDK call counts are posted back.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { pathToFileURL } from 'node:url';
import { parentPort } from 'node:worker_threads';
import { SdkMeter } from '../metering.ts';

export interface WorkerFunction {
  readonly name: string;
  readonly source: string;
  readonly exportName: string;
  readonly environment: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  readonly arn: string;
}

export type ToWorker =
  | { type: 'invoke'; id: number; fn: WorkerFunction; event: unknown; requestId: string; deadline: number }
  | { type: 'env'; env: Record<string, string> };

export type FromWorker =
  | { type: 'result'; id: number; ok: true; result: unknown; calls: [string, number][] }
  | {
      type: 'result';
      id: number;
      ok: false;
      error: { errorType: string; errorMessage: string; trace: string[] };
      calls: [string, number][];
    }
  | { type: 'log'; functionName: string; requestId: string; text: string };

type Handler = (event: unknown, context: object) => unknown;

const port = parentPort;
if (!port) throw new Error('local/lambda/worker.ts runs as a worker thread');
const scope = new AsyncLocalStorage<{ functionName: string; requestId: string }>();
const modules = new Map<string, Promise<Handler>>();
const meter = new SdkMeter();
meter.install();
let baseEnv: Record<string, string> = {};

for (const stream of [process.stdout, process.stderr]) {
  const original = stream.write.bind(stream);
  stream.write = ((chunk: unknown, ...rest: unknown[]): boolean => {
    const current = scope.getStore();
    if (!current) return (original as (...args: unknown[]) => boolean)(chunk, ...rest);
    for (const text of String(chunk).split('\n')) {
      if (text.trim()) port.postMessage({ type: 'log', ...current, text } satisfies FromWorker);
    }
    (rest.find((r) => typeof r === 'function') as (() => void) | undefined)?.();
    return true;
  }) as typeof stream.write;
}

function load(fn: WorkerFunction): Promise<Handler> {
  let loaded = modules.get(fn.name);
  if (!loaded) {
    loaded = (async () => {
      Object.assign(process.env, baseEnv, fn.environment, {
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
    })();
    modules.set(fn.name, loaded);
  }
  return loaded;
}

let reported = new Map<string, number>();
function meterDelta(): [string, number][] {
  const delta: [string, number][] = [];
  for (const [key, value] of meter.calls) {
    const previous = reported.get(key) ?? 0;
    if (value !== previous) delta.push([key, value - previous]);
  }
  reported = new Map(meter.calls);
  return delta;
}

port.on('message', (message: ToWorker) => {
  if (message.type === 'env') {
    baseEnv = message.env;
    Object.assign(process.env, baseEnv);
    return;
  }
  const { id, fn, event, requestId, deadline } = message;
  void (async () => {
    try {
      const handler = await load(fn);
      const context = {
        functionName: fn.name,
        functionVersion: '$LATEST',
        invokedFunctionArn: fn.arn,
        memoryLimitInMB: '512',
        awsRequestId: requestId,
        logGroupName: `/aws/lambda/${fn.name}`,
        logStreamName: `local/${requestId}`,
        callbackWaitsForEmptyEventLoop: false,
        getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
      };
      const result = await scope.run({ functionName: fn.name, requestId }, () => handler(event, context));
      port.postMessage({ type: 'result', id, ok: true, result, calls: meterDelta() } satisfies FromWorker);
    } catch (error) {
      const e = error instanceof Error ? error : new Error(String(error));
      port.postMessage({
        type: 'result',
        id,
        ok: false,
        error: {
          errorType: e.name || 'Error',
          errorMessage: e.message,
          trace: (e.stack ?? '').split('\n').slice(1, 6),
        },
        calls: meterDelta(),
      } satisfies FromWorker);
    }
  })();
});
