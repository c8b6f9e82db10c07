import { describe, expect, it } from 'vitest';
import { branchesOf } from '../../../scripts/branch-coverage.ts';
import { branchEventsOfHistory } from '../../support/branch-log.ts';

const machine = {
  States: {
    Step: {
      Type: 'Task',
      Retry: [{ ErrorEquals: ['PartnerUnavailable'] }, { ErrorEquals: ['States.ALL'] }],
      Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Tag' }],
      Next: 'Route',
    },
    Route: {
      Type: 'Choice',
      Choices: [
        { Variable: '$.a', StringEquals: 'x', Next: 'Done' },
        { Variable: '$.a', StringEquals: 'y', Next: 'Fan' },
      ],
      Default: 'Unknown',
    },
    Fan: {
      Type: 'Map',
      ItemProcessor: {
        States: {
          Inner: {
            Type: 'Choice',
            Choices: [{ Variable: '$', IsPresent: true, Next: 'InnerDone' }],
            Default: 'InnerDone',
          },
          InnerDone: { Type: 'Succeed' },
        },
      },
      Next: 'Done',
    },
    Unknown: { Type: 'Fail', Error: 'Unknown' },
    Tag: { Type: 'Pass', Next: 'Done' },
    Done: { Type: 'Succeed' },
  },
};

const covered = (runs: Parameters<typeof branchesOf>[1]) =>
  branchesOf(machine, runs)
    .filter((b) => b.covered)
    .map((b) => `${b.kind} ${b.state} → ${b.to}`);

describe('branch coverage of a state machine', () => {
  it('lists every Choice target, Catch and Retry rule, nested states included, none covered without runs', () => {
    expect(
      branchesOf(machine, []).map(
        (b) => `${b.kind} ${b.state} → ${b.to}${b.defensive ? ' (defensive)' : ''}`,
      ),
    ).toEqual([
      'catch Step → Tag',
      'retry Step → PartnerUnavailable',
      'retry Step → States.ALL',
      'choice Route → Done',
      'choice Route → Fan',
      'choice Route → Unknown (default) (defensive)',
      'choice Inner → InnerDone',
    ]);
  });

  it('counts a Choice branch when the next state entered is its target', () => {
    expect(
      covered([
        [
          ['enter', 'Step'],
          ['enter', 'Route'],
          ['enter', 'Done'],
        ],
      ]),
    ).toEqual(['choice Route → Done']);
  });

  it('counts a Retry rule by the first rule naming the error, and a Catch when a failure is not retried', () => {
    const runs = [
      [
        ['enter', 'Step'],
        ['fail', 'Step', 'PartnerUnavailable'],
        ['retry', 'Step'],
        ['fail', 'Step', 'PartnerRejected'],
        ['enter', 'Tag'],
        ['enter', 'Done'],
      ] as const,
    ];
    expect(covered(runs)).toEqual(['catch Step → Tag', 'retry Step → PartnerUnavailable']);
  });

  it('a retry of an error the first rule does not name counts for the rule that does', () => {
    const runs = [
      [
        ['enter', 'Step'],
        ['fail', 'Step', 'Lambda.Unknown'],
        ['retry', 'Step'],
        ['enter', 'Route'],
      ] as const,
    ];
    expect(covered(runs)).toEqual(['retry Step → States.ALL']);
  });

  it('reads branch events from a local-cloud execution history', () => {
    expect(
      branchEventsOfHistory([
        { type: 'TaskStateEntered', stateEnteredEventDetails: { name: 'Step' } },
        { type: 'TaskFailed', taskFailedEventDetails: { resource: 'Step', error: 'PartnerUnavailable' } },
        { type: 'TaskStateRetried', stateRetriedEventDetails: { name: 'Step' } },
        { type: 'ChoiceStateEntered', stateEnteredEventDetails: { name: 'Route' } },
        { type: 'ExecutionSucceeded' },
      ]),
    ).toEqual([
      ['enter', 'Step'],
      ['fail', 'Step', 'PartnerUnavailable'],
      ['retry', 'Step'],
      ['enter', 'Route'],
    ]);
  });
});
