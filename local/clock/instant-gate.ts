import type { VirtualClock } from './clock.ts';

/** What a gate reads to know that the rest of an instant's work is done. */
export interface InstantActivity {
  /** Whether work is still running at this instant (an invocation neither held nor asleep, a queued message). */
  busy(): boolean;
  /** A figure that changes whenever anything happens (an invocation, a state entered, an event archived). */
  activity(): number;
}

export interface InstantGateOptions {
  /** Consecutive quiet turns of the event loop before a batch is decided. @default 2 */
  readonly quietLooks?: number;
  /** Real milliseconds between looks while the instant is busy. @default 1 */
  readonly lookMs?: number;
  /**
   * Real milliseconds with the instant busy and nothing new happening, not paused, after which a batch is
   * decided anyway (a stall: something in flight that will not finish at this instant). An instant whose
   * work goes on (a carrier cut-off's thousand ship confirmations worked through at the emulator's pace)
   * is waited for, however long that takes. @default 60000
   */
  readonly limitMs?: number;
  /**
   * Real milliseconds from the oldest held request after which its batch is decided whatever the instant
   * does: the valve for a pause that never ends or an instant that never stops moving. @default 600000
   */
  readonly ceilingMs?: number;
}

interface Held {
  readonly key: string;
  readonly run: () => unknown;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Requests that must be decided in one fixed order when they come at the same virtual instant: stock
 * reservations at the WMS, where which of two orders of one minute gets the last units decides a split or a
 * backorder. Each request is held until nothing else is running at the instant; then the whole batch is
 * decided in key order, so the outcome does not depend on which request the event loop happened to deliver
 * first (a simulation's seed repeats its week). A held request is in-flight work the clock waits for
 * (`VirtualClock.held`): time never moves past an undecided batch.
 */
export class InstantGate {
  /** While true (the simulation is still putting this instant's work in) no batch is decided. */
  paused = false;
  /** Batches decided so far, and the requests in them. */
  batches = 0;
  decided = 0;
  /** Batches decided by a real-time valve (a stall, or the ceiling) rather than a quiet instant (order not guaranteed). */
  forced = 0;
  /** Told when a batch is decided by a real-time valve (what was still busy is worth a look). */
  onForced: (() => void) | undefined;
  private pending: Held[] = [];
  private pumping = false;
  /** When the oldest request now held was held (real time). */
  private oldestHeldAt = 0;

  constructor(
    private readonly clock: VirtualClock,
    private readonly instant: InstantActivity,
    private readonly options: InstantGateOptions = {},
  ) {}

  /** Requests held now. */
  get waiting(): number {
    return this.pending.length;
  }

  /** Runs `run` once this instant is otherwise quiet, after every held request with a smaller key. */
  hold<T>(key: string, run: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.pending.length === 0) this.oldestHeldAt = performance.now();
      this.pending.push({ key, run, resolve: resolve as (value: unknown) => void, reject });
      this.clock.held += 1;
      if (!this.pumping) void this.pump();
    });
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    const looks = this.options.quietLooks ?? 2;
    const lookMs = this.options.lookMs ?? 1;
    const stallMs = this.options.limitMs ?? 60_000;
    const ceilingMs = this.options.ceilingMs ?? 600_000;
    let quiet = 0;
    let last = Number.NaN;
    let movedAt = performance.now();
    try {
      while (this.pending.length > 0) {
        // What is in flight is counted (invocations, the plumbing's requests to the emulators, messages on
        // their way to a function), so quiet needs no real-time margin: only turns of the event loop with
        // nothing new, for a workflow moving between states (promise continuations) to start its next task.
        const activity = this.instant.activity();
        const calm = !this.paused && !this.instant.busy() && activity === last;
        const now = performance.now();
        // A paused step is still putting work in, and new work is progress: neither is a stall.
        if (this.paused || activity !== last) movedAt = now;
        last = activity;
        quiet = calm ? quiet + 1 : 0;
        const stalled = now - movedAt >= stallMs;
        const overdue = now - this.oldestHeldAt >= ceilingMs;
        if (quiet >= looks || stalled || overdue) {
          if (quiet < looks) {
            this.forced += 1;
            this.onForced?.();
          }
          this.flush();
          quiet = 0;
          movedAt = performance.now();
          continue;
        }
        await new Promise((resolve) => (calm ? setImmediate(resolve) : setTimeout(resolve, lookMs)));
      }
    } finally {
      this.pumping = false;
    }
  }

  private flush(): void {
    const batch = this.pending.splice(0).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    this.clock.held -= batch.length;
    this.batches += 1;
    this.decided += batch.length;
    for (const entry of batch) {
      try {
        entry.resolve(entry.run());
      } catch (error) {
        entry.reject(error);
      }
    }
  }
}
