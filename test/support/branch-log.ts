import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * What one execution did, as far as branch coverage needs: the states it entered, the states that failed
 * (with the error name) and the retries, in order.
 */
export type BranchEvent =
  | readonly ['enter', string]
  | readonly ['fail', string, string]
  | readonly ['retry', string];

export interface MachineRuns {
  /** The top-level state names of the definition, to match the runs to their ASL file. */
  readonly states: readonly string[];
  readonly runs: readonly (readonly BranchEvent[])[];
}

let written = 0;

/**
 * Appends executions to the branch log when `HANDOFF_BRANCH_LOG` names a directory (set by
 * `npm run coverage:branches`); does nothing otherwise.
 */
export function logBranches(machines: readonly MachineRuns[]): void {
  const dir = process.env.HANDOFF_BRANCH_LOG;
  if (!dir || machines.every((m) => m.runs.length === 0)) return;
  mkdirSync(dir, { recursive: true });
  written += 1;
  writeFileSync(join(dir, `${process.pid}-${Date.now()}-${written}.json`), JSON.stringify(machines));
}

/** Branch events from a local-cloud execution history (TaskFailed, TaskStateRetried, *StateEntered). */
export function branchEventsOfHistory(
  history: readonly { readonly type: string; readonly [details: string]: unknown }[],
): BranchEvent[] {
  const events: BranchEvent[] = [];
  for (const event of history) {
    if (event.type.endsWith('StateEntered')) {
      const details = event.stateEnteredEventDetails as { name?: string } | undefined;
      events.push(['enter', details?.name ?? '']);
    } else if (event.type === 'TaskFailed' || event.type.endsWith('StateFailed')) {
      const details = event.taskFailedEventDetails as { resource?: string; error?: string } | undefined;
      events.push(['fail', details?.resource ?? '', details?.error ?? '']);
    } else if (event.type === 'TaskStateRetried') {
      const details = event.stateRetriedEventDetails as { name?: string } | undefined;
      events.push(['retry', details?.name ?? '']);
    }
  }
  return events;
}
