/**
 * `npm run coverage:branches`: which Choice, Catch and Retry branches of each state machine in
 * `statemachines/` the end-to-end and integration tests drive. It runs those tests with HANDOFF_BRANCH_LOG
 * set (every test cloud then logs what its executions did), and matches each run to its ASL file.
 *
 *   npm run coverage:branches                 # run the tests, then report
 *   npm run coverage:branches -- --from DIR   # report on an earlier log
 *   npm run coverage:branches -- --json       # machine output
 *
 * A branch is covered when a run took it: a Choice rule or Default led to its target; a task failed and
 * its Catch led to the handler; a task failed with an error a Retry rule names and was retried. A Choice
 * Default into a Fail state is listed apart: the steps return validated values, so no test can reach it.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../lib/paths.ts';
import type { BranchEvent, MachineRuns } from '../test/support/branch-log.ts';

interface AslState {
  readonly Type: string;
  readonly Next?: string;
  readonly Default?: string;
  readonly Choices?: readonly { readonly Next: string }[];
  readonly Catch?: readonly { readonly ErrorEquals: readonly string[]; readonly Next: string }[];
  readonly Retry?: readonly { readonly ErrorEquals: readonly string[] }[];
  readonly Iterator?: AslMachine;
  readonly ItemProcessor?: AslMachine;
  readonly Branches?: readonly AslMachine[];
  readonly Error?: string;
}
interface AslMachine {
  readonly States: Readonly<Record<string, AslState>>;
}

export interface Branch {
  readonly kind: 'choice' | 'catch' | 'retry';
  readonly state: string;
  /** The target state (choice, catch) or the errors the rule names (retry). */
  readonly to: string;
  readonly covered: boolean;
  /** A Choice Default into a Fail state: unreachable while the steps honour their contracts. */
  readonly defensive: boolean;
}

/** Every state of a machine, nested Map and Parallel states included. */
function allStates(machine: AslMachine): [string, AslState][] {
  return Object.entries(machine.States).flatMap(([name, state]) => [
    [name, state] as [string, AslState],
    ...[state.Iterator, state.ItemProcessor, ...(state.Branches ?? [])]
      .filter((m): m is AslMachine => m !== undefined)
      .flatMap(allStates),
  ]);
}

function matches(errorEquals: readonly string[], error: string): boolean {
  return errorEquals.some(
    (e) => e === error || e === 'States.ALL' || (e === 'States.TaskFailed' && error !== 'States.Timeout'),
  );
}

/** The branches of one machine, each marked covered or not by the runs. */
export function branchesOf(machine: AslMachine, runs: readonly (readonly BranchEvent[])[]): Branch[] {
  const states = allStates(machine);
  const byName = new Map(states);
  const taken = new Set<string>();
  const caught = new Set<string>();
  const retried = new Set<string>();
  for (const run of runs) {
    const enters = run.flatMap((e, i) => (e[0] === 'enter' ? [[i, e[1]] as const] : []));
    const nextEnterAfter = (index: number) => enters.find(([i]) => i > index)?.[1];
    run.forEach((event, index) => {
      if (event[0] === 'enter') {
        const next = nextEnterAfter(index);
        if (next !== undefined) taken.add(`${event[1]}→${next}`);
      } else if (event[0] === 'fail') {
        const [, state, error] = event;
        const following = run[index + 1];
        const rules = byName.get(state)?.Retry ?? [];
        const rule = rules.findIndex((r) => matches(r.ErrorEquals, error));
        if (following?.[0] === 'retry' && following[1] === state && rule >= 0) {
          retried.add(`${state}#${rule}`);
        } else {
          const next = nextEnterAfter(index);
          if (next !== undefined) caught.add(`${state}→${next}`);
        }
      }
    });
  }
  const branches: Branch[] = [];
  for (const [name, state] of states) {
    if (state.Type === 'Choice') {
      const targets = [...(state.Choices ?? []).map((c) => c.Next)];
      for (const to of new Set(targets)) {
        branches.push({
          kind: 'choice',
          state: name,
          to,
          covered: taken.has(`${name}→${to}`),
          defensive: false,
        });
      }
      if (state.Default && !targets.includes(state.Default)) {
        branches.push({
          kind: 'choice',
          state: name,
          to: `${state.Default} (default)`,
          covered: taken.has(`${name}→${state.Default}`),
          defensive: byName.get(state.Default)?.Type === 'Fail',
        });
      }
    }
    for (const c of state.Catch ?? []) {
      branches.push({
        kind: 'catch',
        state: name,
        to: c.Next,
        covered: caught.has(`${name}→${c.Next}`),
        defensive: false,
      });
    }
    (state.Retry ?? []).forEach((r, i) => {
      branches.push({
        kind: 'retry',
        state: name,
        to: r.ErrorEquals.join(', '),
        covered: retried.has(`${name}#${i}`),
        defensive: false,
      });
    });
  }
  return branches;
}

/** Runs from the log, grouped by the ASL file whose top-level states they share. */
function runsByFile(logDir: string, files: Readonly<Record<string, AslMachine>>) {
  const result = new Map<string, (readonly BranchEvent[])[]>(Object.keys(files).map((f) => [f, []]));
  const keyOf = (states: readonly string[]) => [...states].sort().join('|');
  const fileByKey = new Map(Object.entries(files).map(([f, m]) => [keyOf(Object.keys(m.States)), f]));
  for (const entry of readdirSync(logDir).filter((f) => f.endsWith('.json'))) {
    const machines = JSON.parse(readFileSync(join(logDir, entry), 'utf8')) as MachineRuns[];
    for (const machine of machines) {
      const file = fileByKey.get(keyOf(machine.states));
      if (file) result.get(file)?.push(...machine.runs);
    }
  }
  return result;
}

function main(): void {
  const args = process.argv.slice(2);
  const json = args.includes('--json');
  const fromIndex = args.indexOf('--from');
  let logDir = fromIndex >= 0 ? args[fromIndex + 1] : undefined;
  if (!logDir) {
    logDir = mkdtempSync(join(tmpdir(), 'handoff-branches-'));
    const run = spawnSync('npx', ['vitest', 'run', 'test/e2e', 'test/integration'], {
      cwd: repoRoot,
      stdio: json ? 'ignore' : ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, HANDOFF_BRANCH_LOG: logDir },
    });
    if (run.status !== 0) {
      console.error(`the tests failed (exit ${run.status}): coverage below counts only what ran`);
    }
  }
  const dir = join(repoRoot, 'statemachines');
  const files = Object.fromEntries(
    readdirSync(dir)
      .filter((f) => f.endsWith('.asl.json'))
      .map((f) => [f.replace('.asl.json', ''), JSON.parse(readFileSync(join(dir, f), 'utf8')) as AslMachine]),
  );
  const runs = runsByFile(logDir, files);
  const report = Object.entries(files).map(([file, machine]) => {
    const branches = branchesOf(machine, runs.get(file) ?? []);
    return { machine: file, runs: runs.get(file)?.length ?? 0, branches };
  });
  if (json) {
    console.log(JSON.stringify(report, null, 2));
    return;
  }
  let missing = 0;
  for (const { machine, runs: count, branches } of report) {
    const live = branches.filter((b) => !b.defensive);
    const covered = (kind: Branch['kind']) =>
      `${live.filter((b) => b.kind === kind && b.covered).length}/${live.filter((b) => b.kind === kind).length}`;
    console.log(
      `${machine.padEnd(28)} ${String(count).padStart(4)} runs   choice ${covered('choice').padEnd(6)} catch ${covered('catch').padEnd(6)} retry ${covered('retry')}`,
    );
    for (const b of live.filter((x) => !x.covered)) {
      missing += 1;
      console.log(`    not driven: ${b.kind} ${b.state} → ${b.to}`);
    }
    const defensive = branches.filter((b) => b.defensive);
    if (defensive.length > 0) {
      console.log(
        `    defensive defaults (Fail states, unreachable by contract): ${defensive.map((b) => b.state).join(', ')}`,
      );
    }
  }
  console.log(missing === 0 ? '\nEvery branch is driven.' : `\n${missing} branches not driven.`);
}

if (import.meta.url === `file://${process.argv[1]}`) main();
