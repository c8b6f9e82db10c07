/**
 * A Lambda "sandbox" thread: loads function modules from source with their environment and runs
 * invocations the main thread sends it, so handlers run in parallel with the emulated services (as they
 * do on AWS, where they are separate processes). Log lines and SDK call counts are posted back.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { parentPort } from 'node:worker_threads';
import { SdkMeter } from '../metering.ts';
import {
  captureOutput,
  type Handler,
  type HandlerSpec,
  type InvocationScope,
  importHandler,
  lambdaContext,
} from './handler-module.ts';

export type WorkerFunction = HandlerSpec;

export type ToWorker =
  | {
      type: 'invoke';
      id: number;
      fn: WorkerFunction;
      event: unknown;
      requestId: string;
      /** Real-time deadline (epoch ms) for the context's countdown; null under a virtual clock (none). */
      deadline: number | null;
    }
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

const port = parentPort;
if (!port) throw new Error('local/lambda/worker.ts runs as a worker thread');
const scope = new AsyncLocalStorage<InvocationScope>();
const modules = new Map<string, Promise<Handler>>();
const meter = new SdkMeter();
meter.install();
let baseEnv: Record<string, string> = {};

captureOutput(scope, (invocation, text) =>
  port.postMessage({ type: 'log', ...invocation, text } satisfies FromWorker),
);

function load(fn: WorkerFunction): Promise<Handler> {
  let loaded = modules.get(fn.name);
  if (!loaded) {
    loaded = importHandler(fn, baseEnv);
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
      const context = lambdaContext(
        fn,
        requestId,
        deadline === null ? undefined : () => deadline - Date.now(),
      );
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
