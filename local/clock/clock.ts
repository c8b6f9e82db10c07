/**
 * The one source of time in the local cloud. Every timer (Wait states, task timeouts, SQS polling,
 * schedules, alarm evaluation) and every timestamp goes through it, so a virtual clock can run days in
 * seconds for simulation while the real clock serves `handoff serve`.
 */
export interface LocalClock {
  now(): Date;
  /** Resolves after `ms` of this clock's time. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const realClock: LocalClock = {
  now: () => new Date(),
  sleep: (ms, signal) =>
    new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const timer = setTimeout(resolve, Math.max(0, ms));
      signal?.addEventListener(
        'abort',
        () => {
          clearTimeout(timer);
          reject(signal.reason);
        },
        { once: true },
      );
    }),
};

/**
 * Virtual time: `now()` only moves when `advance()` is called or when every pending sleeper is waiting,
 * in which case `runUntilIdle` jumps straight to the earliest wake-up. Deterministic for simulation.
 */
export class VirtualClock implements LocalClock {
  private current: number;
  private sleepers: { at: number; resolve: () => void }[] = [];

  constructor(start: Date) {
    this.current = start.getTime();
  }

  now(): Date {
    return new Date(this.current);
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const sleeper = { at: this.current + Math.max(0, ms), resolve };
      this.sleepers.push(sleeper);
      this.sleepers.sort((a, b) => a.at - b.at);
      signal?.addEventListener(
        'abort',
        () => {
          this.sleepers = this.sleepers.filter((s) => s !== sleeper);
          reject(signal.reason);
        },
        { once: true },
      );
    });
  }

  /** Moves time forward by `ms`, waking every sleeper whose time has come, in order. */
  advance(ms: number): void {
    this.advanceTo(this.current + ms);
  }

  advanceTo(at: number): void {
    while (this.sleepers.length > 0 && (this.sleepers[0]?.at ?? Number.POSITIVE_INFINITY) <= at) {
      const next = this.sleepers.shift();
      if (!next) break;
      this.current = Math.max(this.current, next.at);
      next.resolve();
    }
    this.current = Math.max(this.current, at);
  }

  /** The earliest pending wake-up, if any. */
  nextWakeUp(): number | undefined {
    return this.sleepers[0]?.at;
  }
}
