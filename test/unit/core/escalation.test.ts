import { describe, expect, it } from 'vitest';
import {
  CREDIT_FAST_REVIEW_LADDER,
  CREDIT_HOLD_LADDER,
  InvalidEscalationInput,
  ladderFor,
  slaSeconds,
  tierOf,
  tierPriority,
} from '../../../lambdas/core/escalation.ts';

describe('escalation ladders', () => {
  it('sends a credit hold to the credit controller, then the credit manager, then declines by policy', () => {
    const ladder = ladderFor('credit-hold');
    expect(ladder).toBe(CREDIT_HOLD_LADDER);
    expect(ladder.tiers.map((t) => [t.tier, t.ownerTeam, t.role])).toEqual([
      [1, 'finance', 'credit-controller'],
      [2, 'finance', 'credit-manager'],
    ]);
    expect(ladder.fallback).toMatchObject({ outcome: 'reject', reasonCode: 'CREDIT_REVIEW_UNANSWERED' });
  });

  it('gives key accounts an hour, then half an hour, in seconds for TimeoutSecondsPath', () => {
    const [controller, manager] = CREDIT_HOLD_LADDER.tiers;
    if (!controller || !manager) throw new Error('ladder has two tiers');
    expect(slaSeconds(controller, 'standard')).toBe(4 * 3600);
    expect(slaSeconds(controller, 'preferred')).toBe(4 * 3600);
    expect(slaSeconds(controller, 'key-account')).toBe(3600);
    expect(slaSeconds(manager, 'standard')).toBe(2 * 3600);
    expect(slaSeconds(manager, 'key-account')).toBe(1800);
  });

  it('raises a key account one priority step at each tier, and never past critical', () => {
    const [controller, manager] = CREDIT_HOLD_LADDER.tiers;
    if (!controller || !manager) throw new Error('ladder has two tiers');
    expect(tierPriority(controller, 'standard')).toBe('normal');
    expect(tierPriority(controller, 'key-account')).toBe('high');
    expect(tierPriority(manager, 'key-account')).toBe('critical');
    expect(tierPriority({ ...manager, priority: 'critical' }, 'key-account')).toBe('critical');
  });

  it('names the tier field when a tier is past the top of the ladder', () => {
    expect(() => tierOf(CREDIT_HOLD_LADDER, 3)).toThrow(InvalidEscalationInput);
    expect(() => tierOf(CREDIT_HOLD_LADDER, 1.5)).toThrow(/tier must be one of 1, 2/);
  });

  it('finds the fast credit lane by the name the exception records, with 30 then 15 minutes', () => {
    const ladder = ladderFor('credit-hold', 'credit-fast-review');
    expect(ladder).toBe(CREDIT_FAST_REVIEW_LADDER);
    expect(ladder.tiers.map((t) => slaSeconds(t, 'standard'))).toEqual([1800, 900]);
    expect(ladderFor('credit-hold', undefined)).toBe(CREDIT_HOLD_LADDER);
  });

  it('refuses a ladder named for another type of exception', () => {
    expect(() => ladderFor('shortage', 'credit-hold')).toThrow(
      /context.ladder credit-hold is not a ladder for shortage/,
    );
  });

  it('refuses an exception type nobody decides through a ladder', () => {
    let error: unknown;
    try {
      ladderFor('integration-failure');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidEscalationInput);
    expect(error).toMatchObject({ field: 'exceptionType', retryable: false });
  });
});
