import { describe, expect, it } from 'vitest';
import { keyedJitter } from '../../../local/clock/jitter.ts';

describe('keyedJitter', () => {
  it('gives one key the same share every time, and another key another share', () => {
    const arn = 'arn:aws:states:us-east-1:000000000000:execution:Standard:ERP-1';
    expect(keyedJitter(arn, 'Reserve', 0, 1)).toBe(keyedJitter(arn, 'Reserve', 0, 1));
    expect(keyedJitter(arn, 'Reserve', 0, 1)).not.toBe(keyedJitter(arn, 'Reserve', 0, 2));
    expect(keyedJitter(arn, 'Reserve', 0, 1)).not.toBe(keyedJitter(`${arn}0`, 'Reserve', 0, 1));
    // Parts are kept apart: ('ab', 'c') is not ('a', 'bc').
    expect(keyedJitter('ab', 'c')).not.toBe(keyedJitter('a', 'bc'));
  });

  it('spreads many keys evenly over [0, 1), as random full jitter does', () => {
    const draws = Array.from({ length: 10_000 }, (_, i) => keyedJitter('exec', `ERP-${i}`, 'Reserve', 1));
    expect(Math.min(...draws)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...draws)).toBeLessThan(1);
    const deciles = Array.from({ length: 10 }, () => 0);
    for (const d of draws) deciles[Math.floor(d * 10)] = (deciles[Math.floor(d * 10)] ?? 0) + 1;
    // 1,000 expected per decile; ±150 is over four standard deviations.
    for (const count of deciles) expect(Math.abs(count - 1_000)).toBeLessThan(150);
  });
});
