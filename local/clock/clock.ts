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

/** The longest delay one setTimeout holds (about 24.8 days); longer sleeps are chained. */
const MAX_TIMER_MS = 2_147_483_647;

export const realClock: LocalClock = {
  now: () => new Date(),
  sleep: (ms, signal) =>
    new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const until = Date.now() + Math.max(0, ms);
      let timer: NodeJS.Timeout;
      const arm = () => {
        const left = until - Date.now();
        // An execution timeout of 90 days must not overflow into a 1 ms timer.
        timer = setTimeout(left > MAX_TIMER_MS ? arm : resolve, Math.min(Math.max(0, left), MAX_TIMER_MS));
      };
      arm();
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
 * Counts `work` as in flight on a virtual clock until it settles, so the clock's settle waits for it before
 * time moves (what it goes on to do is dated at this instant in every run, however long the emulator took).
 * On the real clock it is `work` itself.
 */
export function whileInFlight<T>(clock: LocalClock, work: () => Promise<T>): Promise<T> {
  if (!(clock instanceof VirtualClock)) return work();
  clock.working += 1;
  let started: Promise<T>;
  try {
    started = work();
  } catch (error) {
    clock.working -= 1;
    throw error;
  }
  return started.finally(() => {
    clock.working -= 1;
  });
}

/**
 * Virtual time: `now()` moves only when `advance()`/`advanceTo()` is called. Due sleepers are woken in time
 * order, each seeing `now()` at its own wake-up time (those due at the same instant, or within
 * `wakeWindowMs`, together at the latest of them, then settled once), and a sleeper that sleeps again within
 * the advanced span is woken again: a `rate()` schedule ticks every period of a long jump. Await the
 * returned promise to know the jump is done. Deterministic for simulation.
 */
export class VirtualClock implements LocalClock {
  private current: number;
  private target: number;
  private sleepers: { at: number; resolve: () => void }[] = [];
  private draining: Promise<void> | undefined;
  /**
   * Awaited before time moves at all and after each wake-up before it moves on (the local cloud waits there
   * for the Lambda invocations in flight): work that takes real time finishes at the virtual instant it
   * started, as it would when an hour passes in an hour, instead of seeing its own timeout go by mid-flight.
   */
  settle: (() => Promise<void>) | undefined;
  /**
   * Sleepers due within this span of the earliest due one wake together before one settle (0: those due at
   * the same instant). A simulation widens it to a second or so, well inside the shortest task timeout, so
   * jittered retries do not queue behind each other's real time; every sleeper of a span wakes at its end,
   * up to this much after its own time.
   */
  wakeWindowMs = 0;

  /**
   * In-flight work asleep on this clock (a partner's slow answer the simulation delays in virtual time):
   * done for this instant, so a settle does not wait for it; it goes on when time reaches its wake-up.
   */
  asleep = 0;
  /** In-flight work held at an instant gate ({@link InstantGate}): released at this instant, so a settle waits. */
  held = 0;
  /**
   * Requests the local cloud's own plumbing has made to an emulator and not yet had answered (a Step
   * Functions integration's DynamoDB call, a message sent to a queue a function consumes): work of this
   * instant that no Lambda invocation counts, so a settle waits for it (see {@link whileInFlight}).
   */
  working = 0;

  constructor(start: Date) {
    this.current = start.getTime();
    this.target = this.current;
  }

  /** Sleeps `ms` on this clock as in-flight work that is done for this instant (see `asleep`). */
  async sleepInFlight(ms: number, signal?: AbortSignal): Promise<void> {
    this.asleep += 1;
    try {
      await this.sleep(ms, signal);
    } finally {
      this.asleep -= 1;
    }
  }

  now(): Date {
    return new Date(this.current);
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const sleeper = { at: this.current + Math.max(0, ms), resolve };
      // Stable: same-time sleepers wake in the order they slept.
      const index = this.sleepers.findIndex((s) => s.at > sleeper.at);
      this.sleepers.splice(index === -1 ? this.sleepers.length : index, 0, sleeper);
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

  /** Moves time forward by `ms`, waking every sleeper whose time comes, in order. */
  advance(ms: number): Promise<void> {
    return this.advanceTo(this.target + Math.max(0, ms));
  }

  advanceTo(at: number): Promise<void> {
    this.target = Math.max(this.target, at);
    this.draining ??= this.drain().finally(() => {
      this.draining = undefined;
    });
    return this.draining;
  }

  private async drain(): Promise<void> {
    // Work started at the current instant (a Lambda invocation that has written its effect but not yet
    // returned) finishes there before time jumps: otherwise its own timeout, due a few seconds on, would
    // wake first and fail an invocation that had in fact succeeded.
    const due = this.sleepers[0];
    if (this.settle && (this.target > this.current || (due && due.at <= this.target))) await this.settle();
    for (;;) {
      const next = this.sleepers[0];
      if (!next || next.at > this.target) break;
      // Every sleeper due at this same instant (or within `wakeWindowMs` of it) wakes before the settle, in
      // time order: work that starts together (a carrier cut-off releasing hundreds of waiting orders, the
      // jittered retries of a partner's bad minute) runs together, as it would on AWS, instead of one
      // invocation's real time after the other's at a frozen instant.
      const last = Math.min(this.target, next.at + this.wakeWindowMs);
      // The span is the sleepers due in it now; all of them see its latest wake-up, and what they start
      // sleeps from there and wakes in a later span. So what each does next is dated the same in every run,
      // however far the others had got in real time.
      const span: { at: number; resolve: () => void }[] = [];
      while (this.sleepers[0] && this.sleepers[0].at <= last)
        span.push(this.sleepers.shift() as (typeof span)[0]);
      this.current = Math.max(this.current, span.at(-1)?.at ?? next.at);
      for (const due of span) {
        due.resolve();
        // Let the woken continuation run (and perhaps sleep again) before the next one wakes.
        await new Promise((resolve) => setImmediate(resolve));
      }
      if (this.settle) await this.settle();
    }
    this.current = Math.max(this.current, this.target);
  }

  /** The earliest pending wake-up, if any. */
  nextWakeUp(): number | undefined {
    return this.sleepers[0]?.at;
  }
}
