import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { type LocalClock, realClock } from '../clock/clock.ts';
import type { AsyncInvokeConfig, CloudModel, TemplateResource } from '../template/model.ts';
import { UnsupportedTemplateFeature } from '../template/model.ts';
import {
  captureOutput,
  type Handler,
  type InvocationScope,
  importHandler,
  lambdaContext,
} from './handler-module.ts';
import type { FromWorker, ToWorker } from './worker.ts';

export interface LocalFunction {
  readonly resource: TemplateResource;
  readonly name: string;
  readonly arn: string;
  readonly source: string;
  readonly exportName: string;
  readonly environment: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  /** Where failed asynchronous invocations go (DeadLetterConfig.TargetArn), if anywhere. */
  readonly deadLetterArn?: string;
  /** Its EventInvokeConfig: retries, maximum event age and on-failure destination of async invocations. */
  readonly asyncInvoke?: AsyncInvokeConfig;
  /** ReservedConcurrentExecutions: at most this many invocations run at once; asynchronous ones queue. */
  readonly reservedConcurrency?: number;
}

export interface InvocationRecord {
  readonly functionName: string;
  readonly requestId: string;
  readonly startedAt: string;
  readonly durationMs: number;
  /**
   * Real (wall) time the invocation took, in ms: under a virtual clock `durationMs` is ~0, and this is what
   * Lambda would bill (the usage meter's GB-seconds and concurrency).
   */
  readonly realDurationMs: number;
  readonly error?: string;
}

export interface LogLine {
  readonly functionName: string;
  readonly requestId: string;
  readonly at: string;
  readonly text: string;
}

/**
 * An injected invocation failure, as AWS FIS's `aws:lambda:invocation-error` action injects them: the
 * matching invocations fail with `errorType` before the handler runs (so nothing it would do happens).
 * Step Functions sees the error by name, so a Retry or Catch on it can be driven on purpose: a Lambda
 * throttle (`Lambda.TooManyRequestsException`), a service error, or a handler's own named error.
 */
export interface InvocationFault {
  /** The function's logical id in the template (its construct id), e.g. `CheckCredit`. */
  readonly logicalId: string;
  /** Which invocations fail (by their event); every invocation of the function when absent. */
  readonly when?: (event: unknown) => boolean;
  readonly errorType: string;
  readonly errorMessage?: string;
  /** How many matching invocations fail; `Infinity` until the fault is cleared. */
  readonly times: number;
}

export interface InjectedFault {
  /** Invocations failed so far. */
  readonly hits: number;
  clear(): void;
}

/** Why Lambda gave up on an asynchronous invocation. */
export type FailureCondition = 'RetriesExhausted' | 'EventAgeExceeded';

/**
 * The invocation record Lambda sends to an on-failure destination (for SQS, as the message body): the
 * function (qualified ARN), why it gave up and after how many attempts, the event, and the last error.
 */
export interface DestinationRecord {
  readonly version: '1.0';
  readonly timestamp: string;
  readonly requestContext: {
    readonly requestId: string;
    readonly functionArn: string;
    readonly condition: FailureCondition;
    readonly approximateInvokeCount: number;
  };
  readonly requestPayload: unknown;
  /** Absent when the event expired before any attempt. */
  readonly responseContext?: {
    readonly statusCode: number;
    readonly executedVersion: string;
    readonly functionError: 'Unhandled' | 'Handled';
  };
  readonly responsePayload?: {
    readonly errorType: string;
    readonly errorMessage: string;
    readonly trace: string[];
  };
}

/** What a failed invocation reports, shaped like Lambda's function error payload. */
export class FunctionError extends Error {
  constructor(
    readonly errorType: string,
    readonly errorMessage: string,
    readonly trace: string[] = [],
  ) {
    super(errorMessage);
    this.name = errorType;
  }
}

const invocationScope = new AsyncLocalStorage<InvocationScope>();

/** Real time allowed for a worker thread's answer to reach the main thread after the function's deadline. */
const WORKER_REPLY_GRACE_MS = 500;

/**
 * Runs the template's Lambda functions in this process, from source. Each function gets the environment its
 * template entry declares (references resolved to local names), its own module instance, its timeout, and
 * its log lines captured by invocation.
 */
export class LambdaRuntime {
  readonly functions = new Map<string, LocalFunction>();
  readonly logs: LogLine[] = [];
  readonly invocations: InvocationRecord[] = [];
  private readonly modules = new Map<string, Promise<Handler>>();
  private faults: { fault: InvocationFault; hits: number }[] = [];
  private running = 0;
  /** Per function with reserved concurrency: invocations running, and asynchronous ones queued for a slot. */
  private readonly slots = new Map<string, { active: number; waiting: (() => void)[] }>();
  /** Invocations in progress: zero means no handler is mid-flight (safe to move a virtual clock on). */
  get inFlight(): number {
    return this.running;
  }
  private restoreOutput: (() => void) | undefined;
  onLog: ((line: LogLine) => void) | undefined;
  onInvocation: ((record: InvocationRecord) => void) | undefined;
  /** Called as an invocation starts running (after any wait for a reserved-concurrency slot). */
  onInvocationStart: ((fn: LocalFunction) => void) | undefined;
  /**
   * Sends a failed async event to a queue ARN (wired by the cloud to SQS): the event with Lambda's DLQ
   * attributes to a DeadLetterConfig's queue, or the invocation record to an on-failure destination.
   */
  deadLetter: ((arn: string, body: string, attributes: Record<string, string>) => Promise<void>) | undefined;

  constructor(
    model: CloudModel,
    repoRoot: string,
    private readonly baseEnvironment: Readonly<Record<string, string>>,
    private readonly clock: LocalClock,
  ) {
    const asyncConfigs = new Map<string, AsyncInvokeConfig>();
    for (const config of model.asyncInvokeConfigs()) {
      if (asyncConfigs.has(config.functionName))
        throw new UnsupportedTemplateFeature(
          config.id,
          `a second EventInvokeConfig for ${config.functionName}`,
        );
      asyncConfigs.set(config.functionName, config);
    }
    for (const resource of model.ofType('AWS::Lambda::Function')) {
      const p = model.resolvedProperties(resource);
      const id = `${resource.stack}/${resource.logicalId}`;
      const sourceMeta = resource.metadata['handoff:handler-source'];
      const [file, exportName] = sourceOf(id, sourceMeta, p, model.assemblyDir, resource.metadata, repoRoot);
      const variables = ((p.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ??
        {}) as Record<string, unknown>;
      const name = model.physicalName(resource);
      const asyncInvoke = asyncConfigs.get(name);
      asyncConfigs.delete(name);
      const fn: LocalFunction = {
        resource,
        name,
        arn: model.arn(resource),
        source: file,
        exportName,
        environment: Object.fromEntries(Object.entries(variables).map(([k, v]) => [k, String(v)])),
        timeoutMs: Number(p.Timeout ?? 3) * 1000,
        ...(p.ReservedConcurrentExecutions !== undefined
          ? { reservedConcurrency: Number(p.ReservedConcurrentExecutions) }
          : {}),
        ...((p.DeadLetterConfig as { TargetArn?: string } | undefined)?.TargetArn
          ? { deadLetterArn: String((p.DeadLetterConfig as { TargetArn: string }).TargetArn) }
          : {}),
        ...(asyncInvoke ? { asyncInvoke } : {}),
      };
      this.functions.set(fn.name, fn);
    }
    for (const config of asyncConfigs.values())
      throw new UnsupportedTemplateFeature(
        config.id,
        `an EventInvokeConfig of unknown function ${config.functionName}`,
      );
  }

  /**
   * Fails the function's matching invocations with a named error until `times` have failed or the fault is
   * cleared (fault injection for tests and drills; see {@link InvocationFault}).
   */
  injectFault(fault: InvocationFault): InjectedFault {
    const known = [...this.functions.values()].some((fn) => matchesLogicalId(fn, fault.logicalId));
    if (!known) throw new Error(`injectFault: no function with logical id ${fault.logicalId}`);
    const entry = { fault, hits: 0 };
    this.faults.push(entry);
    return {
      get hits() {
        return entry.hits;
      },
      clear: () => {
        this.faults = this.faults.filter((f) => f !== entry);
      },
    };
  }

  private injectedFailure(fn: LocalFunction, event: unknown): FunctionError | undefined {
    const entry = this.faults.find(
      ({ fault, hits }) =>
        hits < fault.times && matchesLogicalId(fn, fault.logicalId) && (fault.when?.(event) ?? true),
    );
    if (!entry) return undefined;
    entry.hits++;
    const { errorType, errorMessage } = entry.fault;
    return new FunctionError(errorType, errorMessage ?? `injected fault: ${errorType}`);
  }

  /** Looks a function up by name, ARN or partial ARN (`function:name`), as Lambda does. */
  find(nameOrArn: string): LocalFunction | undefined {
    const name = nameOrArn.includes(':function:')
      ? (nameOrArn.split(':function:')[1]?.split(':')[0] ?? '')
      : nameOrArn;
    return this.functions.get(name);
  }

  /** Captures stdout and stderr lines written during an invocation and attributes them to it. */
  captureLogs(): void {
    if (this.restoreOutput) return;
    this.restoreOutput = captureOutput(invocationScope, (invocation, text) => {
      const line = { ...invocation, at: this.clock.now().toISOString(), text };
      this.logs.push(line);
      this.onLog?.(line);
    });
  }

  stop(): void {
    this.restoreOutput?.();
    this.restoreOutput = undefined;
  }

  /** Loads every function module up front (so start-up, not the first order, pays for imports). */
  async warm(): Promise<void> {
    await Promise.all([...this.functions.values()].map((fn) => this.load(fn)));
  }

  private load(fn: LocalFunction): Promise<Handler> {
    let loaded = this.modules.get(fn.name);
    if (!loaded) {
      loaded = importHandler(fn, this.baseEnvironment).catch((error: Error) => {
        throw new UnsupportedTemplateFeature(fn.name, error.message);
      });
      this.modules.set(fn.name, loaded);
    }
    return loaded;
  }

  /**
   * Synchronous invocation (RequestResponse): resolves with the handler's result, or rejects with a
   * FunctionError named after the thrown error, so Step Functions Retry/Catch match on it.
   */
  async invoke(nameOrArn: string, event: unknown, requestId: string = randomUUID()): Promise<unknown> {
    const fn = this.find(nameOrArn);
    if (!fn) throw new FunctionError('ResourceNotFoundException', `Function not found: ${nameOrArn}`);
    const handler = this.pool.length ? () => undefined : await this.load(fn);
    const deadline = this.clock.now().getTime() + fn.timeoutMs;
    // On the real clock the countdown is real; on a virtual one the timeout below is the only one.
    const countdown = this.clock === realClock;
    const context = lambdaContext(
      fn,
      requestId,
      countdown ? () => deadline - this.clock.now().getTime() : undefined,
    );
    const timeout = new AbortController();
    const startedAt = this.clock.now();
    const startedReal = performance.now();
    let failure: FunctionError | undefined;
    this.running++;
    this.onInvocationStart?.(fn);
    try {
      const injected = this.injectedFailure(fn, event);
      if (injected) throw injected;
      const run = this.pool.length
        ? () => this.runInWorker(fn, event, requestId, countdown ? Date.now() + fn.timeoutMs : null)
        : () => Promise.resolve().then(() => handler(event, context));
      // A worker thread's answer crosses a message port back to this thread, a hop Lambda does not have: a
      // handler that stops itself just before its deadline (middy's early timeout) answers in time there,
      // but here its answer could lose the race to the hard timeout on a loaded machine. The hop gets a grace
      // on the real clock; the handler's own countdown still ends at the deadline.
      const hardTimeoutMs =
        this.pool.length && countdown ? fn.timeoutMs + WORKER_REPLY_GRACE_MS : fn.timeoutMs;
      return await invocationScope.run({ functionName: fn.name, requestId }, () =>
        Promise.race([
          run(),
          this.clock.sleep(hardTimeoutMs, timeout.signal).then(() => {
            throw new FunctionError(
              'Sandbox.Timedout',
              `Task timed out after ${fn.timeoutMs / 1000} seconds`,
            );
          }),
        ]),
      );
    } catch (error) {
      const e = error instanceof Error ? error : new Error(String(error));
      failure =
        error instanceof FunctionError
          ? error
          : new FunctionError(e.name || 'Error', e.message, (e.stack ?? '').split('\n').slice(1, 6));
      // As the Lambda runtime does, the failure is written to the function's log.
      const line = {
        functionName: fn.name,
        requestId,
        at: this.clock.now().toISOString(),
        text: JSON.stringify({
          level: 'ERROR',
          message: 'Invoke Error',
          errorType: failure.errorType,
          errorMessage: failure.errorMessage,
        }),
      };
      this.logs.push(line);
      this.onLog?.(line);
      throw failure;
    } finally {
      this.running--;
      timeout.abort();
      const record: InvocationRecord = {
        functionName: fn.name,
        requestId,
        startedAt: startedAt.toISOString(),
        durationMs: this.clock.now().getTime() - startedAt.getTime(),
        realDurationMs: performance.now() - startedReal,
        ...(failure ? { error: `${failure.errorType}: ${failure.errorMessage}` } : {}),
      };
      this.invocations.push(record);
      this.onInvocation?.(record);
    }
  }

  /**
   * Asynchronous invocation (Event), as EventBridge and SNS use it: the event is accepted at once; a
   * failure is retried (twice unless the function's EventInvokeConfig says otherwise) with 1 and 2 minutes
   * between attempts, and not attempted once older than the config's maximum event age. An event that
   * fails for good goes, as an invocation record, to the config's on-failure destination, and as itself to
   * the function's DeadLetterConfig queue.
   */
  invokeAsync(nameOrArn: string, event: unknown): Promise<void> {
    const fn = this.find(nameOrArn);
    if (!fn)
      return Promise.reject(
        new FunctionError('ResourceNotFoundException', `Function not found: ${nameOrArn}`),
      );
    return (async () => {
      // One request id for every attempt, as Lambda keeps it for a queued event.
      const requestId = randomUUID();
      const acceptedAt = this.clock.now().getTime();
      const retries = fn.asyncInvoke?.maximumRetryAttempts ?? 2;
      const maximumAgeMs = (fn.asyncInvoke?.maximumEventAgeSeconds ?? 21_600) * 1000;
      let attempts = 0;
      let condition: FailureCondition = 'RetriesExhausted';
      let lastError: FunctionError | undefined;
      for (let attempt = 0; attempt <= retries; attempt++) {
        if (attempt > 0) await this.clock.sleep(attempt * 60_000 * this.asyncRetryScale);
        // As Lambda's async queue does, an invocation over the function's reserved concurrency waits its turn.
        const release = await this.slot(fn);
        try {
          if (this.clock.now().getTime() - acceptedAt > maximumAgeMs) {
            condition = 'EventAgeExceeded';
            break;
          }
          attempts += 1;
          await this.invoke(fn.name, event, requestId);
          return;
        } catch (error) {
          lastError = error as FunctionError;
        } finally {
          release();
        }
      }
      await this.failedForGood(fn, event, { requestId, condition, attempts, lastError });
    })();
  }

  private async failedForGood(
    fn: LocalFunction,
    event: unknown,
    failure: {
      requestId: string;
      condition: FailureCondition;
      attempts: number;
      lastError: FunctionError | undefined;
    },
  ): Promise<void> {
    const { requestId, condition, attempts, lastError } = failure;
    const destination = fn.asyncInvoke?.onFailure;
    if (destination && this.deadLetter) {
      const record: DestinationRecord = {
        version: '1.0',
        timestamp: this.clock.now().toISOString(),
        requestContext: {
          requestId,
          functionArn: `${fn.arn}:$LATEST`,
          condition,
          approximateInvokeCount: attempts,
        },
        requestPayload: event,
        ...(lastError
          ? {
              responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
              responsePayload: {
                errorType: lastError.errorType,
                errorMessage: lastError.errorMessage,
                trace: lastError.trace,
              },
            }
          : {}),
      };
      await this.deadLetter(destination, JSON.stringify(record), {});
    }
    if (fn.deadLetterArn && this.deadLetter) {
      await this.deadLetter(fn.deadLetterArn, JSON.stringify(event), {
        RequestID: requestId,
        ErrorCode: '200',
        ErrorMessage: `${lastError?.errorType ?? condition}: ${lastError?.errorMessage ?? ''}`.slice(0, 1000),
      });
    }
  }

  private async slot(fn: LocalFunction): Promise<() => void> {
    const limit = fn.reservedConcurrency;
    if (limit === undefined) return () => undefined;
    let slot = this.slots.get(fn.name);
    if (!slot) {
      slot = { active: 0, waiting: [] };
      this.slots.set(fn.name, slot);
    }
    const state = slot;
    if (state.active >= limit) await new Promise<void>((resolve) => state.waiting.push(resolve));
    else state.active += 1;
    return () => {
      const next = state.waiting.shift();
      if (next) next();
      else state.active -= 1;
    };
  }

  /** 1 = Lambda's real async retry delays; tests and simulations shrink them. */
  asyncRetryScale = 1;

  private pool: Worker[] = [];
  private nextWorker = 0;
  private nextId = 0;
  private readonly pending = new Map<
    number,
    { resolve: (v: unknown) => void; reject: (e: unknown) => void }
  >();
  /** SDK calls counted inside worker threads, merged into the cloud's meter. */
  onWorkerCalls: ((calls: [string, number][]) => void) | undefined;

  /**
   * Runs handlers on `count` worker threads instead of the main thread, in parallel with the emulated
   * services. Each thread loads each function's module once, with that function's environment.
   */
  async useWorkers(count: number, environment: Readonly<Record<string, string>>): Promise<void> {
    const script = new URL('./worker.ts', import.meta.url);
    for (let i = 0; i < count; i++) {
      const worker = new Worker(script, { execArgv: ['--import', 'tsx'], stdout: false, stderr: false });
      worker.on('message', (message: FromWorker) => {
        if (message.type === 'log') {
          const line = {
            functionName: message.functionName,
            requestId: message.requestId,
            at: this.clock.now().toISOString(),
            text: message.text,
          };
          this.logs.push(line);
          this.onLog?.(line);
          return;
        }
        if (message.calls.length) this.onWorkerCalls?.(message.calls);
        const pending = this.pending.get(message.id);
        if (!pending) return;
        this.pending.delete(message.id);
        if (message.ok) pending.resolve(message.result);
        else
          pending.reject(
            new FunctionError(message.error.errorType, message.error.errorMessage, message.error.trace),
          );
      });
      worker.on('error', (error) => {
        for (const [, pending] of this.pending) pending.reject(error);
        this.pending.clear();
      });
      worker.postMessage({ type: 'env', env: { ...environment } } satisfies ToWorker);
      this.pool.push(worker);
    }
  }

  private runInWorker(
    fn: LocalFunction,
    event: unknown,
    requestId: string,
    deadline: number | null,
  ): Promise<unknown> {
    const worker = this.pool[this.nextWorker++ % this.pool.length];
    if (!worker) throw new Error('no worker threads');
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({
        type: 'invoke',
        id,
        fn: {
          name: fn.name,
          source: fn.source,
          exportName: fn.exportName,
          environment: fn.environment,
          timeoutMs: fn.timeoutMs,
          arn: fn.arn,
        },
        event,
        requestId,
        deadline,
      } satisfies ToWorker);
    });
  }

  async stopWorkers(): Promise<void> {
    await Promise.all(this.pool.map((w) => w.terminate()));
    this.pool = [];
  }
}

function sourceOf(
  id: string,
  sourceMeta: unknown,
  properties: Record<string, unknown>,
  assemblyDir: string,
  metadata: Record<string, unknown>,
  repoRoot: string,
): [string, string] {
  const [moduleName, exportName] = String(properties.Handler ?? 'index.handler').split('.');
  if (typeof sourceMeta === 'string') {
    const file = join(repoRoot, sourceMeta);
    if (!existsSync(file))
      throw new UnsupportedTemplateFeature(id, `handler source ${sourceMeta} (not found)`);
    return [file, exportName ?? 'handler'];
  }
  const assetPath = metadata['aws:asset:path'];
  if (typeof assetPath === 'string') {
    const file = join(assemblyDir, assetPath, `${moduleName}.mjs`);
    if (existsSync(file)) return [file, exportName ?? 'handler'];
  }
  throw new UnsupportedTemplateFeature(
    id,
    'a function whose code is neither Handoff source nor a bundled asset',
  );
}

/** A function's logical id is its construct id plus CDK's 8-character hash. */
function matchesLogicalId(fn: LocalFunction, logicalId: string): boolean {
  const id = fn.resource.logicalId;
  return id === logicalId || (id.startsWith(logicalId) && /^[0-9A-F]{8}$/.test(id.slice(logicalId.length)));
}
