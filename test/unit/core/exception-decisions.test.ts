import { describe, expect, it } from 'vitest';
import {
  closureOf,
  decisionOf,
  EXCEPTION_DECISIONS,
  meaningOf,
} from '../../../lambdas/core/exception-decisions.ts';
import { EXCEPTION_TYPES } from '../../../lambdas/core/vocabulary.ts';

describe('what a decision means per exception type', () => {
  it('a credit hold answers its path in release | reject words, with or without a task waiting', () => {
    for (const waiting of [true, false]) {
      expect(meaningOf('credit-hold', 'approve', waiting)).toEqual({
        closedAs: 'approved',
        auditAction: 'released',
        outcome: 'release',
      });
      expect(meaningOf('credit-hold', 'override', waiting)).toEqual({
        closedAs: 'overridden',
        auditAction: 'overridden',
        outcome: 'release',
      });
      expect(meaningOf('credit-hold', 'reject', waiting)).toEqual({
        closedAs: 'rejected',
        auditAction: 'rejected',
        outcome: 'reject',
      });
    }
  });

  it('a substitute review is approved or rejected even when decided before its task asked', () => {
    for (const waiting of [true, false]) {
      expect(EXCEPTION_DECISIONS.map((d) => meaningOf('substitution', d, waiting).closedAs)).toEqual([
        'approved',
        'rejected',
        'overridden',
      ]);
    }
  });

  it.each(EXCEPTION_TYPES.filter((t) => t !== 'credit-hold' && t !== 'substitution'))(
    '%s: approved/rejected with a waiting task, resolved/cancelled without; override either way',
    (type) => {
      expect(EXCEPTION_DECISIONS.map((d) => meaningOf(type, d, true).closedAs)).toEqual([
        'approved',
        'rejected',
        'overridden',
      ]);
      expect(EXCEPTION_DECISIONS.map((d) => meaningOf(type, d, false).closedAs)).toEqual([
        'resolved',
        'cancelled',
        'overridden',
      ]);
      expect(EXCEPTION_DECISIONS.map((d) => meaningOf(type, d, true).outcome)).toEqual([
        'approve',
        'reject',
        'override',
      ]);
    },
  );

  it('reads the decision and closure back from stored resolutions, old ones included', () => {
    expect(decisionOf({ outcome: 'release', closedAs: 'overridden' })).toBe('override');
    expect(decisionOf({ outcome: 'release' })).toBe('approve');
    expect(decisionOf({ outcome: 'reject' })).toBe('reject');
    expect(decisionOf({ outcome: 'override' })).toBe('override');
    expect(closureOf({ outcome: 'release' })).toBe('approved');
    expect(closureOf({ outcome: 'reject' })).toBe('rejected');
    expect(closureOf({ outcome: 'reject', closedAs: 'cancelled' })).toBe('cancelled');
  });
});
