import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { StateMachine } from 'aws-local-stepfunctions';
import type { LocalClock } from '../clock/clock.ts';
import { keyedJitter } from '../clock/jitter.ts';
import { FunctionError, type LambdaRuntime } from '../lambda/runtime.ts';
import type { CloudModel, TemplateResource } from '../template/model.ts';
import { UnsupportedTemplateFeature } from '../template/model.ts';
import {
  type Definition,
  LOCAL_WAIT_RESOURCE,
  prepareDefinition,
  TASK_TOKEN_PLACEHOLDER,
  TIMEOUT_FIELD,
  taskStates,
  taskTimeouts,
  type WaitSpec,
  waitStates,
} from './definition.ts';

type JSONValue = Parameters<StateMachine['run']>[0];

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

export interface HistoryEvent {
  readonly id: number;
  readonly previousEventId: number;
  readonly timestamp: Date;
  readonly type: string;
  readonly [details: string]: unknown;
}

/**
 * History details whose `key` is `value` as JSON, serialized only when read (GetExecutionHistory, a test):
 * most executions' history is never read, and each state's payload carries the whole order. Safe because the
 * engine never changes a payload in place (ResultPath and Parameters build new objects).
 */
function lazyJson<T extends object>(details: T, key: 'input' | 'output', value: unknown): T {
  let text: string | undefined;
  return Object.defineProperty(details, key, {
    enumerable: true,
    get: () => {
      text ??= JSON.stringify(value ?? {});
      return text;
    },
  });
}

export interface LocalExecution {
  readonly executionArn: string;
  readonly stateMachineArn: string;
  readonly name: string;
  readonly input: string;
  readonly startDate: Date;
  status: ExecutionStatus;
  stopDate?: Date;
  output?: string;
  error?: string;
  cause?: string;
  readonly history: HistoryEvent[];
  /** Names of the states entered, in order: one Standard state transition each. */
  readonly statesEntered: string[];
  readonly done: Promise<void>;
  abort?: () => void;
}

export interface LocalStateMachine {
  readonly resource: TemplateResource;
  readonly name: string;
  readonly arn: string;
  readonly type: 'STANDARD' | 'EXPRESS';
  readonly definition: Definition;
  readonly definitionText: string;
  /** The execution's TimeoutSeconds, enforced on the local clock. */
  readonly executionTimeoutSeconds: number | undefined;
  readonly roleArn: string;
  readonly engine: StateMachine;
  readonly tasks: Map<string, string>;
  readonly waits: Map<string, WaitSpec>;
  /** Retry rules of each task state, applied on the local clock (see taskHandlers). */
  readonly retriers: Map<string, Retrier[]>;
  /** TimeoutSeconds (or TimeoutSecondsPath) of each task, enforced on the local clock. */
  readonly timeouts: Map<string, number | string>;
  readonly createdAt: Date;
}

/** Named like the AWS API errors, so SDK callers and the CLI see the same names. */
export class SfnApiError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

export interface SfnIntegrations {
  putEvents(entries: unknown[]): Promise<unknown>;
  sendMessage(queueUrl: string, body: string): Promise<unknown>;
  dynamodb(action: string, input: Record<string, unknown>): Promise<unknown>;
}

interface Retrier {
  readonly ErrorEquals: string[];
  readonly IntervalSeconds?: number;
  readonly MaxAttempts?: number;
  readonly BackoffRate?: number;
  readonly MaxDelaySeconds?: number;
  readonly JitterStrategy?: 'FULL' | 'NONE';
}

function retriersOf(definition: Definition): Map<string, Retrier[]> {
  const retriers = new Map<string, Retrier[]>();
  const visit = (def: Definition) => {
    for (const [name, state] of Object.entries(def.States)) {
      if (state.Type === 'Task' && Array.isArray(state.Retry)) retriers.set(name, state.Retry as Retrier[]);
      if (state.Iterator) visit(state.Iterator);
      if (state.ItemProcessor) visit(state.ItemProcessor);
      for (const branch of state.Branches ?? []) visit(branch);
    }
  };
  visit(definition);
  return retriers;
}

interface PendingToken {
  readonly executionArn: string;
  readonly stateName: string;
  resolve(output: unknown): void;
  reject(error: Error): void;
}

const HISTORY_STATE_TYPES: Record<string, string> = {
  Task: 'Task',
  Choice: 'Choice',
  Pass: 'Pass',
  Wait: 'Wait',
  Succeed: 'Succeed',
  Fail: 'Fail',
  Map: 'Map',
  Parallel: 'Parallel',
};

/**
 * Step Functions on aws-local-stepfunctions: the exact ASL of each template state machine (file asset or
 * inline, substitutions resolved), Lambda and service integrations routed to the local services, a task
 * token registry for `.waitForTaskToken`, the context object, and executions with history.
 */
export class SfnService {
  readonly machines = new Map<string, LocalStateMachine>();
  readonly executions = new Map<string, LocalExecution>();
  private readonly tokens = new Map<string, PendingToken>();
  /** Called when an execution starts and when it reaches a terminal status. */
  onExecution: ((execution: LocalExecution) => void) | undefined;
  /**
   * Called for each state transition as Step Functions bills them: a state entered (inner states of Map and
   * Parallel included), or a retry of a state (`retry` true).
   */
  onTransition: ((machine: LocalStateMachine, execution: LocalExecution, retry: boolean) => void) | undefined;

  constructor(
    private readonly model: CloudModel,
    private readonly lambda: LambdaRuntime,
    private readonly integrations: SfnIntegrations,
    private readonly clock: LocalClock,
  ) {
    for (const resource of model.ofType('AWS::StepFunctions::StateMachine')) {
      const machine = this.load(resource);
      this.machines.set(machine.arn, machine);
    }
  }

  private load(resource: TemplateResource): LocalStateMachine {
    const p = this.model.resolvedProperties(resource);
    const id = `${resource.stack}/${resource.logicalId}`;
    let text: string;
    if (typeof p.DefinitionString === 'string') text = p.DefinitionString;
    else if (p.Definition !== undefined) text = JSON.stringify(p.Definition);
    else {
      const key = (p.DefinitionS3Location as { Key?: string } | undefined)?.Key;
      if (!key) throw new UnsupportedTemplateFeature(id, 'a state machine without a definition');
      text = readFileSync(join(this.model.assemblyDir, `asset.${key}`), 'utf8');
    }
    for (const [name, value] of Object.entries(
      (p.DefinitionSubstitutions ?? {}) as Record<string, unknown>,
    )) {
      text = text.replaceAll(`\${${name}}`, String(value));
    }
    const unresolved = text.match(/\$\{[A-Za-z0-9_]+\}/);
    if (unresolved) throw new UnsupportedTemplateFeature(id, `unresolved substitution ${unresolved[0]}`);
    const original = JSON.parse(text) as Definition;
    const waits = waitStates(original);
    const timeouts = taskTimeouts(original);
    const definition = prepareDefinition(id, original);
    const type = p.StateMachineType === 'EXPRESS' ? 'EXPRESS' : 'STANDARD';
    return {
      resource,
      name: this.model.physicalName(resource),
      arn: this.model.arn(resource),
      type,
      definition,
      definitionText: text,
      executionTimeoutSeconds: Number((original as { TimeoutSeconds?: unknown }).TimeoutSeconds) || undefined,
      roleArn: String(p.RoleArn ?? ''),
      // Construction parses and validates the definition (~60 ms): once per machine, never per execution.
      engine: new StateMachine(definition as never, { validationOptions: { checkArn: false } }),
      tasks: taskStates(definition),
      waits,
      retriers: retriersOf(definition),
      timeouts,
      createdAt: this.clock.now(),
    };
  }

  find(arnOrName: string): LocalStateMachine {
    const machine =
      this.machines.get(arnOrName) ?? [...this.machines.values()].find((m) => m.name === arnOrName);
    if (!machine)
      throw new SfnApiError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${arnOrName}'`);
    return machine;
  }

  /** StartExecution: a duplicate name with the same input returns the first execution, as for Standard. */
  startExecution(stateMachineArn: string, name: string | undefined, input = '{}'): LocalExecution {
    const machine = this.find(stateMachineArn);
    const executionName = name ?? randomUUID();
    if (!/^[A-Za-z0-9_-]{1,80}$/.test(executionName)) {
      throw new SfnApiError('InvalidName', `Invalid Name: '${executionName}'`);
    }
    const executionArn = `${machine.arn.replace(':stateMachine:', ':execution:')}:${executionName}`;
    const existing = this.executions.get(executionArn);
    if (existing) {
      if (existing.input === input && existing.status === 'RUNNING') return existing;
      throw new SfnApiError('ExecutionAlreadyExists', `Execution Already Exists: '${executionArn}'`);
    }
    let parsed: JSONValue;
    try {
      parsed = JSON.parse(input) as JSONValue;
    } catch {
      throw new SfnApiError('InvalidExecutionInput', 'Invalid State Machine Execution Input: not JSON');
    }
    const startDate = this.clock.now();
    const history: HistoryEvent[] = [];
    const statesEntered: string[] = [];
    const record = (type: string, details: Record<string, unknown> = {}) => {
      history.push({
        id: history.length + 1,
        previousEventId: history.length,
        timestamp: this.clock.now(),
        type,
        ...details,
      });
    };
    const execution: LocalExecution = {
      executionArn,
      stateMachineArn: machine.arn,
      name: executionName,
      input,
      startDate,
      status: 'RUNNING',
      history,
      statesEntered,
      done: Promise.resolve(),
    };
    const run = machine.engine.run(parsed, {
      overrides: {
        taskResourceLocalHandlers: this.taskHandlers(machine, executionArn),
        // The engine retries at once; each task handler first waits the retry interval on the local clock.
        retryIntervalOverrides: Object.fromEntries([...machine.retriers.keys()].map((name) => [name, 0])),
      },
      context: {
        Execution: {
          Id: executionArn,
          Name: executionName,
          StartTime: startDate.toISOString(),
          Input: parsed,
          RoleArn: machine.roleArn,
        },
        StateMachine: { Id: machine.arn, Name: machine.name },
      } as never,
      noThrowOnAbort: true,
    });
    execution.abort = run.abort;
    const executionTimeout = machine.executionTimeoutSeconds;
    if (executionTimeout) {
      const expired = new AbortController();
      this.clock
        .sleep(executionTimeout * 1000, expired.signal)
        .then(() => {
          if (execution.status !== 'RUNNING') return;
          execution.status = 'TIMED_OUT';
          execution.error = 'States.Timeout';
          execution.cause = `The execution ran longer than its TimeoutSeconds (${executionTimeout} s)`;
          execution.abort?.();
        })
        .catch(() => undefined);
      void run.result.finally(() => expired.abort()).catch(() => undefined);
    }
    const events = (async () => {
      for await (const event of run.eventLogs) {
        const e = event as {
          type: string;
          state?: { name: string; type: string; input?: unknown; output?: unknown };
          Error?: string;
          Cause?: string;
          input?: unknown;
          output?: unknown;
        };
        const type = e.state && machine.waits.has(e.state.name) ? 'Wait' : e.state?.type;
        const kind = type ? (HISTORY_STATE_TYPES[type] ?? type) : '';
        switch (e.type) {
          case 'ExecutionStarted':
            record('ExecutionStarted', { executionStartedEventDetails: { input, roleArn: machine.roleArn } });
            break;
          case 'StateEntered':
            statesEntered.push(e.state?.name ?? '');
            this.onTransition?.(machine, execution, false);
            record(`${kind}StateEntered`, {
              stateEnteredEventDetails: lazyJson({ name: e.state?.name }, 'input', e.state?.input),
            });
            break;
          case 'StateExited':
            record(`${kind}StateExited`, {
              stateExitedEventDetails: lazyJson({ name: e.state?.name }, 'output', e.state?.output),
            });
            break;
          case 'StateFailed':
            record(kind === 'Task' ? 'TaskFailed' : `${kind}StateFailed`, {
              taskFailedEventDetails: { resource: e.state?.name, error: e.Error, cause: e.Cause },
            });
            break;
          case 'StateRetried':
            this.onTransition?.(machine, execution, true);
            record('TaskStateRetried', { stateRetriedEventDetails: { name: e.state?.name } });
            break;
          default:
            break;
        }
      }
    })();
    const finished = run.result.then(
      (output) => {
        execution.status =
          execution.status === 'ABORTED' || execution.status === 'TIMED_OUT' ? execution.status : 'SUCCEEDED';
        if (execution.status === 'SUCCEEDED') {
          execution.output = JSON.stringify(output);
        }
      },
      (error: unknown) => {
        if (execution.status === 'TIMED_OUT' || execution.status === 'ABORTED') return;
        const cause = (error as { cause?: { name?: string; message?: string } }).cause;
        const name = cause?.name ?? (error as Error).name;
        execution.status =
          name === 'States.Timeout' || name === 'ExecutionTimeoutError' ? 'TIMED_OUT' : 'FAILED';
        execution.error = name;
        execution.cause = cause?.message ?? (error as Error).message;
      },
    );
    (execution as { done: Promise<void> }).done = Promise.all([finished, events.catch(() => undefined)]).then(
      () => {
        execution.stopDate = this.clock.now();
        if (execution.status === 'SUCCEEDED') {
          record('ExecutionSucceeded', { executionSucceededEventDetails: { output: execution.output } });
        } else if (execution.status === 'ABORTED') {
          record('ExecutionAborted', {});
        } else if (execution.status === 'TIMED_OUT') {
          record('ExecutionTimedOut', {
            executionTimedOutEventDetails: { error: execution.error, cause: execution.cause },
          });
        } else {
          record('ExecutionFailed', {
            executionFailedEventDetails: { error: execution.error, cause: execution.cause },
          });
        }
        for (const [token, pending] of this.tokens) {
          if (pending.executionArn === executionArn) this.tokens.delete(token);
        }
        this.onExecution?.(execution);
      },
    );
    this.executions.set(executionArn, execution);
    this.onExecution?.(execution);
    return execution;
  }

  stopExecution(executionArn: string, error?: string, cause?: string): Date {
    const execution = this.describe(executionArn);
    if (execution.status === 'RUNNING') {
      execution.status = 'ABORTED';
      if (error) execution.error = error;
      if (cause) execution.cause = cause;
      execution.abort?.();
    }
    return this.clock.now();
  }

  describe(executionArn: string): LocalExecution {
    const execution = this.executions.get(executionArn);
    if (!execution)
      throw new SfnApiError('ExecutionDoesNotExist', `Execution Does Not Exist: '${executionArn}'`);
    return execution;
  }

  list(stateMachineArn: string, status?: ExecutionStatus): LocalExecution[] {
    this.find(stateMachineArn);
    return [...this.executions.values()]
      .filter((e) => e.stateMachineArn === stateMachineArn && (!status || e.status === status))
      .sort((a, b) => b.startDate.getTime() - a.startDate.getTime());
  }

  sendTaskSuccess(token: string, output: string): void {
    const pending = this.takeToken(token);
    let parsed: unknown;
    try {
      parsed = JSON.parse(output);
    } catch {
      throw new SfnApiError('InvalidOutput', 'Invalid Output: not JSON');
    }
    pending.resolve(parsed);
  }

  sendTaskFailure(token: string, error = 'TaskFailed', cause = ''): void {
    const pending = this.takeToken(token);
    const failure = new Error(cause);
    failure.name = error;
    pending.reject(failure);
  }

  /** Tokens a workflow is waiting on (for operators and tests). */
  pendingTokens(): { token: string; executionArn: string; stateName: string }[] {
    return [...this.tokens.entries()].map(([token, p]) => ({
      token,
      executionArn: p.executionArn,
      stateName: p.stateName,
    }));
  }

  private takeToken(token: string): PendingToken {
    const pending = this.tokens.get(token);
    if (!pending)
      throw new SfnApiError('TaskDoesNotExist', 'Task Does Not Exist: the token is unknown, used or expired');
    this.tokens.delete(token);
    return pending;
  }

  private taskHandlers(machine: LocalStateMachine, executionArn: string) {
    const handlers = this.rawTaskHandlers(machine, executionArn);
    for (const [stateName, timeout] of machine.timeouts) {
      const inner = handlers[stateName];
      if (!inner) continue;
      handlers[stateName] = async (received) => {
        let input = received;
        let seconds: number;
        if (typeof timeout === 'number') seconds = timeout;
        else {
          const carried =
            received && typeof received === 'object' && !Array.isArray(received)
              ? (received as Record<string, JSONValue>)
              : undefined;
          if (carried && TIMEOUT_FIELD in carried) {
            const { [TIMEOUT_FIELD]: value, ...rest } = carried;
            seconds = Number(value);
            input = rest;
          } else {
            seconds = Number(
              timeout
                .replace(/^\$\.?/, '')
                .split('.')
                .filter(Boolean)
                .reduce<unknown>(
                  (v, k) => (v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined),
                  received,
                ),
            );
          }
          if (!Number.isInteger(seconds) || seconds < 1) {
            throw Object.assign(
              new Error(`${stateName}: TimeoutSecondsPath ${timeout} is not a positive integer (${seconds})`),
              { name: 'States.Runtime' },
            );
          }
        }
        const expired = new AbortController();
        try {
          return await Promise.race([
            inner(input),
            this.clock.sleep(seconds * 1000, expired.signal).then(() => {
              // A callback that times out can no longer be answered: its token is gone, as on AWS.
              for (const [token, pending] of this.tokens) {
                if (pending.executionArn === executionArn && pending.stateName === stateName)
                  this.tokens.delete(token);
              }
              throw Object.assign(new Error(`${stateName} did not finish within ${seconds} s`), {
                name: 'States.Timeout',
              });
            }),
          ]);
        } finally {
          expired.abort();
        }
      };
    }
    const attempts = new Map<string, number[]>();
    const delays = new Map<string, number>();
    for (const [stateName, retriers] of machine.retriers) {
      const inner = handlers[stateName];
      if (!inner) continue;
      handlers[stateName] = async (input) => {
        const delay = delays.get(stateName);
        if (delay !== undefined) {
          delays.delete(stateName);
          await this.clock.sleep(delay);
        }
        try {
          const output = await inner(input);
          attempts.delete(stateName);
          return output;
        } catch (error) {
          const name = (error as Error).name;
          const index = retriers.findIndex(
            (r) =>
              r.ErrorEquals.includes(name) ||
              (r.ErrorEquals.includes('States.ALL') && name !== 'States.Runtime'),
          );
          const retrier = retriers[index];
          const counts = attempts.get(stateName) ?? retriers.map(() => 0);
          if (retrier && (counts[index] ?? 0) < (retrier.MaxAttempts ?? 3)) {
            counts[index] = (counts[index] ?? 0) + 1;
            attempts.set(stateName, counts);
            const n = counts[index] ?? 1;
            const base = Math.min(
              (retrier.IntervalSeconds ?? 1) * (retrier.BackoffRate ?? 2) ** (n - 1),
              retrier.MaxDelaySeconds ?? Number.POSITIVE_INFINITY,
            );
            const share =
              retrier.JitterStrategy === 'FULL' ? keyedJitter(executionArn, stateName, index, n) : 1;
            delays.set(stateName, share * base * 1000);
          } else {
            attempts.delete(stateName);
          }
          throw error;
        }
      };
    }
    return handlers;
  }

  private rawTaskHandlers(machine: LocalStateMachine, executionArn: string) {
    const handlers: Record<string, (input: JSONValue) => Promise<JSONValue>> = {};
    for (const [stateName, resource] of machine.tasks) {
      const spec = machine.waits.get(stateName);
      if (resource === LOCAL_WAIT_RESOURCE && spec) {
        handlers[stateName] = async (input) => {
          await this.clock.sleep(this.waitMs(spec, input));
          return input;
        };
        continue;
      }
      const waits = resource.endsWith('.waitForTaskToken');
      const base = resource.replace(/\.waitForTaskToken$/, '');
      handlers[stateName] = async (input) => {
        let effective: unknown = input;
        let waiting: Promise<unknown> | undefined;
        if (waits) {
          const token = `${randomUUID()}${randomUUID()}`.replace(/-/g, '');
          effective = JSON.parse(JSON.stringify(input).replaceAll(TASK_TOKEN_PLACEHOLDER, token));
          waiting = new Promise((resolve, reject) => {
            this.tokens.set(token, { executionArn, stateName, resolve, reject });
          });
        }
        const call = this.callResource(base, effective as Record<string, unknown>);
        if (!waiting) return (await call) as JSONValue;
        // The integration's own failure fails the task; otherwise the task waits for its token.
        const result = await Promise.race([waiting, call.then(() => waiting)]);
        return result as JSONValue;
      };
    }
    return handlers;
  }

  /** How long a Wait state waits for this input, on the local clock. */
  private waitMs(spec: WaitSpec, input: unknown): number {
    const at = (path: string) =>
      path
        .replace(/^\$\.?/, '')
        .split('.')
        .filter(Boolean)
        .reduce<unknown>(
          (value, key) =>
            value && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined,
          input,
        );
    if (spec.Seconds !== undefined) return spec.Seconds * 1000;
    if (spec.SecondsPath !== undefined) return Number(at(spec.SecondsPath)) * 1000;
    const timestamp =
      spec.Timestamp ?? (spec.TimestampPath !== undefined ? String(at(spec.TimestampPath)) : undefined);
    if (timestamp === undefined) return 0;
    const ms = Date.parse(timestamp);
    if (Number.isNaN(ms)) {
      throw Object.assign(new Error(`Wait timestamp ${timestamp} is not an ISO-8601 date`), {
        name: 'States.Runtime',
      });
    }
    return Math.max(0, ms - this.clock.now().getTime());
  }

  private async callResource(resource: string, input: Record<string, unknown>): Promise<unknown> {
    try {
      if (resource === 'arn:aws:states:::lambda:invoke') {
        const payload = await this.lambda.invoke(String(input.FunctionName), input.Payload ?? {});
        return { ExecutedVersion: '$LATEST', Payload: payload ?? null, StatusCode: 200 };
      }
      if (resource.startsWith('arn:aws:lambda:')) return await this.lambda.invoke(resource, input);
      if (resource === 'arn:aws:states:::events:putEvents') {
        // The optimized integration serializes an object Detail, and fails the task on any failed entry.
        const entries = ((input.Entries as Record<string, unknown>[]) ?? []).map((entry) => ({
          ...entry,
          Detail: typeof entry.Detail === 'string' ? entry.Detail : JSON.stringify(entry.Detail ?? {}),
        }));
        const result = (await this.integrations.putEvents(entries)) as { FailedEntryCount?: number };
        if ((result.FailedEntryCount ?? 0) > 0) {
          throw Object.assign(new Error(JSON.stringify(result)), { name: 'EventBridge.FailedEntry' });
        }
        return result;
      }
      if (resource === 'arn:aws:states:::sqs:sendMessage') {
        const body =
          typeof input.MessageBody === 'string' ? input.MessageBody : JSON.stringify(input.MessageBody);
        return await this.integrations.sendMessage(String(input.QueueUrl), body);
      }
      const dynamo = resource.match(/^arn:aws:states:::dynamodb:(\w+)$/);
      if (dynamo?.[1]) return await this.integrations.dynamodb(dynamo[1], input);
    } catch (error) {
      if (error instanceof FunctionError) {
        // Step Functions names the failure after the function's errorType; the cause is Lambda's error payload.
        const failure = new Error(
          JSON.stringify({
            errorType: error.errorType,
            errorMessage: error.errorMessage,
            trace: error.trace,
          }),
        );
        failure.name = error.errorType;
        throw failure;
      }
      throw error;
    }
    throw new UnsupportedTemplateFeature(resource, 'Task resource');
  }
}
