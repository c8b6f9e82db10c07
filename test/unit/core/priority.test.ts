import { describe, expect, it } from 'vitest';
import {
  CUSTOMER_PRIORITY_BONUS,
  MAX_PRIORITY,
  priorityScore,
  SERVICE_LEVEL_PRIORITY_BASE,
} from '../../../lambdas/core/priority.ts';

describe('priorityScore', () => {
  it('uses the service-level base: economy 100, standard 300, expedited 600, next-day 800', () => {
    expect(SERVICE_LEVEL_PRIORITY_BASE).toEqual({
      economy: 100,
      standard: 300,
      expedited: 600,
      'next-day': 800,
    });
  });

  it('adds the customer bonus: standard 0, preferred 50, key-account 150', () => {
    expect(CUSTOMER_PRIORITY_BONUS).toEqual({ standard: 0, preferred: 50, 'key-account': 150 });
    expect(priorityScore('standard', 'preferred')).toBe(350);
  });

  it('adds extra points on top', () => {
    expect(priorityScore('economy', 'standard', 50)).toBe(150);
  });

  it('caps the score at 1000', () => {
    expect(MAX_PRIORITY).toBe(1000);
    expect(priorityScore('next-day', 'key-account', 200)).toBe(1000);
    expect(priorityScore('next-day', 'key-account', 50)).toBe(1000);
    expect(priorityScore('next-day', 'key-account', 49)).toBe(999);
  });

  it('never goes below 0 and always returns an integer', () => {
    expect(priorityScore('economy', 'standard', -500)).toBe(0);
    expect(priorityScore('economy', 'standard', 0.4)).toBe(100);
  });
});
