import type { VirtualClock } from '../../local/clock/clock.ts';
import type { LocalCloud } from '../../local/cloud.ts';
import type { LocalExecution } from '../../local/stepfunctions/sfn-service.ts';

/** Lambda's throttle, as Step Functions names it: every path's Retry rules name it; Catch-all handles it. */
export const THROTTLE = 'Lambda.TooManyRequestsException';

/**
 * Drives an execution to its end on a virtual clock: waits (in real time) until no event delivery and no
 * Lambda invocation is in flight, then moves the clock to the next timer (a Retry interval, a Wait state,
 * a callback timeout, a schedule), and again, until the execution ends. Returns its final status.
 */
export async function runToEnd(
  cloud: LocalCloud,
  clock: VirtualClock,
  execution: LocalExecution,
  options: { readonly maxSteps?: number } = {},
): Promise<LocalExecution['status']> {
  const maxSteps = options.maxSteps ?? 2_000;
  for (let step = 0; step < maxSteps; step++) {
    await quiet(cloud);
    if (execution.status !== 'RUNNING') return execution.status;
    const next = clock.nextWakeUp();
    if (next === undefined) throw new Error(`${execution.name} is RUNNING with no timer pending`);
    await clock.advanceTo(next);
  }
  throw new Error(`${execution.name} still RUNNING after ${maxSteps} clock steps`);
}

/** No event delivery and no Lambda invocation in flight, twice in a row a few milliseconds apart. */
export async function quiet(cloud: LocalCloud): Promise<void> {
  let calm = 0;
  while (calm < 2) {
    await cloud.events.idle();
    await new Promise((resolve) => setTimeout(resolve, 5));
    calm = cloud.lambda.inFlight === 0 ? calm + 1 : 0;
  }
}

/** How often the execution retried a state (TaskStateRetried events in its history). */
export function retriesOf(execution: LocalExecution, state: string): number {
  return execution.history.filter(
    (e) =>
      e.type === 'TaskStateRetried' &&
      (e.stateRetriedEventDetails as { name?: string } | undefined)?.name === state,
  ).length;
}

/** The errors a state's tasks failed with, in order. */
export function failuresOf(execution: LocalExecution, state: string): string[] {
  const failures: string[] = [];
  let current = '';
  for (const e of execution.history) {
    if (e.type.endsWith('StateEntered')) {
      current = (e.stateEnteredEventDetails as { name?: string } | undefined)?.name ?? '';
    } else if (e.type === 'TaskFailed' && current === state) {
      failures.push((e.taskFailedEventDetails as { error?: string } | undefined)?.error ?? '');
    }
  }
  return failures;
}

/** `when` for an injected fault: the invocations whose payload names this order (and matches `also`). */
export const forOrder =
  (orderId: string, also: Readonly<Record<string, unknown>> = {}) =>
  (event: unknown): boolean => {
    const payload = (event ?? {}) as Record<string, unknown>;
    return payload.orderId === orderId && Object.entries(also).every(([k, v]) => payload[k] === v);
  };
