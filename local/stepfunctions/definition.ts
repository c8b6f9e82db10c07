import { UnsupportedTemplateFeature } from '../template/model.ts';

export const TASK_TOKEN_PLACEHOLDER = '__handoff_local_task_token__';
/** Wait states run as tasks on this resource, so they wait on the local cloud's clock (real or virtual). */
export const LOCAL_WAIT_RESOURCE = 'arn:aws:states:::handoff-local:wait';

export interface WaitSpec {
  readonly Seconds?: number;
  readonly SecondsPath?: string;
  readonly Timestamp?: string;
  readonly TimestampPath?: string;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
interface State {
  Type?: string;
  Resource?: string;
  Parameters?: Json;
  ResultSelector?: Json;
  ItemSelector?: Json;
  Iterator?: Definition;
  ItemProcessor?: Definition;
  Branches?: Definition[];
  [key: string]: unknown;
}
export interface Definition {
  StartAt: string;
  States: Record<string, State>;
  QueryLanguage?: string;
  [key: string]: unknown;
}

const SUPPORTED_RESOURCE = [
  /^arn:aws:states:::lambda:invoke(\.waitForTaskToken)?$/,
  /^arn:aws:lambda:[^:]+:\d+:function:[^:]+(:[^:]+)?$/,
  /^arn:aws:states:::events:putEvents(\.waitForTaskToken)?$/,
  /^arn:aws:states:::sqs:sendMessage(\.waitForTaskToken)?$/,
  /^arn:aws:states:::dynamodb:(getItem|putItem|updateItem|deleteItem)$/,
];

/**
 * A Wait state as a Task on LOCAL_WAIT_RESOURCE that returns its input unchanged: InputPath, OutputPath and
 * Next/End keep their meaning, and the wait itself uses the clock. The original spec is kept for the task.
 */
/**
 * What the engine is told a task may take, in seconds. The engine times tasks on a real setTimeout and, without
 * TimeoutSeconds, gives them 60 s; task timeouts are enforced on the local clock instead (a virtual week's
 * waits and human decisions take minutes of real time), so the engine's own limit must never fire: this is
 * the longest a setTimeout can hold (24.8 days).
 */
export const ENGINE_TASK_TIMEOUT_SECONDS = 2_147_483;

function waitAsTask(state: State): State {
  const { Seconds: _s, SecondsPath: _sp, Timestamp: _t, TimestampPath: _tp, Type: _type, ...rest } = state;
  return {
    ...rest,
    Type: 'Task',
    Resource: LOCAL_WAIT_RESOURCE,
    TimeoutSeconds: ENGINE_TASK_TIMEOUT_SECONDS,
  };
}

/** Replaces context-object paths that are static per state, and the task token, in a payload template. */
function rewrite(value: Json, stateName: string, allowToken: boolean, where: string): Json {
  if (Array.isArray(value)) return value.map((v) => rewrite(v, stateName, allowToken, where));
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, Json> = {};
  for (const [key, v] of Object.entries(value)) {
    if (key.endsWith('.$') && typeof v === 'string' && v.includes('$$.')) {
      const field = key.slice(0, -2);
      if (v === '$$.State.Name') {
        out[field] = stateName;
        continue;
      }
      if (v === '$$.Task.Token') {
        if (!allowToken)
          throw new UnsupportedTemplateFeature(where, `$$.Task.Token outside a .waitForTaskToken task`);
        out[field] = TASK_TOKEN_PLACEHOLDER;
        continue;
      }
      // Anything else on State or Task, also inside an intrinsic (States.Format('{}', $$.State.EnteredTime)),
      // has no value in the local engine.
      if (/\$\$\.(State|Task)\./.test(v)) {
        throw new UnsupportedTemplateFeature(where, `context path ${v}`);
      }
    }
    out[key] = rewrite(v as Json, stateName, allowToken, where);
  }
  return out;
}

/**
 * Checks a state machine definition against what the local engine runs faithfully, and rewrites the
 * context-object paths it lacks: `$$.State.Name` (static per state) and `$$.Task.Token` (filled in by the
 * task handler). Anything else unsupported stops start-up with the state and the feature named.
 */
export function prepareDefinition(machine: string, definition: Definition): Definition {
  const visit = (def: Definition, path: string): Definition => {
    if (def.QueryLanguage === 'JSONata')
      throw new UnsupportedTemplateFeature(`${machine}${path}`, 'QueryLanguage JSONata');
    const states: Record<string, State> = {};
    for (const [name, state] of Object.entries(def.States)) {
      const where = `${machine}${path}/${name}`;
      for (const field of [
        'Assign',
        'Arguments',
        'Output',
        'QueryLanguage',
        'HeartbeatSeconds',
        'HeartbeatSecondsPath',
      ]) {
        if (field in state) throw new UnsupportedTemplateFeature(where, field);
      }
      const next: State = state.Type === 'Wait' ? waitAsTask(state) : { ...state };
      if (state.Type === 'Wait') {
        states[name] = next;
        continue;
      }
      if (state.Type === 'Task') {
        // Timeouts are enforced by the task handlers on the local clock (see taskTimeouts).
        delete next.TimeoutSecondsPath;
        next.TimeoutSeconds = ENGINE_TASK_TIMEOUT_SECONDS;
        const resource = String(state.Resource ?? '');
        if (!SUPPORTED_RESOURCE.some((pattern) => pattern.test(resource))) {
          throw new UnsupportedTemplateFeature(where, `Task resource ${resource}`);
        }
        const waits = resource.endsWith('.waitForTaskToken');
        if (state.Parameters !== undefined) {
          next.Parameters = rewrite(state.Parameters, name, waits, where);
          // TimeoutSecondsPath reads the state input, which the task handler only sees through Parameters:
          // carry the value in a field the handler takes out again (see SfnService.taskHandlers).
          if (state.TimeoutSecondsPath !== undefined) {
            next.Parameters = {
              ...(next.Parameters as Record<string, unknown>),
              [`${TIMEOUT_FIELD}.$`]: String(state.TimeoutSecondsPath),
            };
          }
        }
      } else if (state.Parameters !== undefined) {
        next.Parameters = rewrite(state.Parameters, name, false, where);
      }
      if (state.ResultSelector !== undefined)
        next.ResultSelector = rewrite(state.ResultSelector, name, false, where);
      if (state.ItemSelector !== undefined)
        next.ItemSelector = rewrite(state.ItemSelector, name, false, where);
      if (state.Iterator) next.Iterator = visit(state.Iterator, `${path}/${name}`);
      if (state.ItemProcessor) next.ItemProcessor = visit(state.ItemProcessor, `${path}/${name}`);
      if (state.Branches) next.Branches = state.Branches.map((b, i) => visit(b, `${path}/${name}[${i}]`));
      states[name] = next;
    }
    return { ...def, States: states };
  };
  // The execution's own TimeoutSeconds is enforced by the service on the local clock: the engine would
  // time it on a real setTimeout, which a virtual week never reaches and which overflows past 24.8 days.
  const { TimeoutSeconds: _timeout, ...rest } = visit(definition, '') as Definition & {
    TimeoutSeconds?: unknown;
  };
  return rest as Definition;
}

/** Every Task state (name → resource), including those inside Map and Parallel states. */
export function taskStates(definition: Definition): Map<string, string> {
  const tasks = new Map<string, string>();
  const visit = (def: Definition) => {
    for (const [name, state] of Object.entries(def.States)) {
      if (state.Type === 'Task') tasks.set(name, String(state.Resource));
      if (state.Iterator) visit(state.Iterator);
      if (state.ItemProcessor) visit(state.ItemProcessor);
      for (const branch of state.Branches ?? []) visit(branch);
    }
  };
  visit(definition);
  return tasks;
}

/** The Wait states of a definition (before it is prepared), by name, with their wait spec. */
export function waitStates(definition: Definition): Map<string, WaitSpec> {
  const waits = new Map<string, WaitSpec>();
  const visit = (def: Definition) => {
    for (const [name, state] of Object.entries(def.States)) {
      if (state.Type === 'Wait') {
        waits.set(name, {
          ...(state.Seconds !== undefined ? { Seconds: Number(state.Seconds) } : {}),
          ...(state.SecondsPath !== undefined ? { SecondsPath: String(state.SecondsPath) } : {}),
          ...(state.Timestamp !== undefined ? { Timestamp: String(state.Timestamp) } : {}),
          ...(state.TimestampPath !== undefined ? { TimestampPath: String(state.TimestampPath) } : {}),
        });
      }
      if (state.Iterator) visit(state.Iterator);
      if (state.ItemProcessor) visit(state.ItemProcessor);
      for (const branch of state.Branches ?? []) visit(branch);
    }
  };
  visit(definition);
  return waits;
}

/** Where a Task with Parameters carries its TimeoutSecondsPath value to the local task handler. */
export const TIMEOUT_FIELD = '__handoffLocalTimeoutSeconds';

/** Each Task state's timeout in seconds (TimeoutSeconds; TimeoutSecondsPath is read per execution). */
export function taskTimeouts(definition: Definition): Map<string, number | string> {
  const timeouts = new Map<string, number | string>();
  const visit = (def: Definition) => {
    for (const [name, state] of Object.entries(def.States)) {
      if (state.Type === 'Task' && state.TimeoutSeconds !== undefined)
        timeouts.set(name, Number(state.TimeoutSeconds));
      if (state.Type === 'Task' && state.TimeoutSecondsPath !== undefined)
        timeouts.set(name, String(state.TimeoutSecondsPath));
      if (state.Iterator) visit(state.Iterator);
      if (state.ItemProcessor) visit(state.ItemProcessor);
      for (const branch of state.Branches ?? []) visit(branch);
    }
  };
  visit(definition);
  return timeouts;
}
