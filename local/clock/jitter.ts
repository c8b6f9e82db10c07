import { createHash } from 'node:crypto';

/**
 * A uniform draw in [0, 1) fixed by what it is for: the local cloud's retry jitter (a Step Functions
 * retrier's FULL jitter, an EventBridge target's backoff) is keyed by execution, state and attempt, or
 * by rule, target, event and attempt. Retries still spread out as AWS's random jitter spreads them, but a
 * seeded simulation replays the same delays, so one seed gives one result even under injected faults.
 */
export function keyedJitter(...key: readonly (string | number)[]): number {
  const digest = createHash('sha1').update(key.join('\u0000')).digest();
  return digest.readUInt32BE(0) / 2 ** 32;
}
