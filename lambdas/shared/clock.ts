import type { Clock } from '../ports/index.ts';

/**
 * The handlers' clock. On AWS it is the system time; the local cloud points `now` at its own clock (real
 * or virtual) so simulated days pass for the domain rules as well.
 */
export const systemClock: Clock = { now: () => new Date() };
