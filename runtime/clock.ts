/**
 * Time as a dependency. Everything in the runtime that waits (visibility timeouts, message
 * delays, long polls, delivery retries, schedules, batching windows, archive retention)
 * asks a Clock, so a test can advance five minutes in one call and a demo can run faster
 * than real time. Function execution (worker threads) stays on real time: a handler's own
 * code cannot be made to run on a virtual clock.
 */

/** An opaque timer handle from {@link Clock.setTimeout}. */
export interface ClockTimer {
  readonly id: number;
}

export interface Clock {
  /** Milliseconds since the epoch, as `Date.now()`. */
  now(): number;
  /** Runs `fn` once after `ms`; never keeps the process alive on its own. */
  setTimeout(fn: () => void, ms: number): ClockTimer;
  clearTimeout(timer: ClockTimer | undefined): void;
  /** Resolves after `ms`, or at once when `signal` aborts (it never rejects). */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

function sleepOn(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clock.clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = clock.setTimeout(done, ms);
    signal?.addEventListener('abort', done);
  });
}

/** Wall-clock time and Node's timers (unref'd, so a pending retry does not hold the process open). */
export class RealClock implements Clock {
  private seq = 0;
  private readonly timers = new Map<number, NodeJS.Timeout>();

  now(): number {
    return Date.now();
  }

  setTimeout(fn: () => void, ms: number): ClockTimer {
    const id = ++this.seq;
    const t = setTimeout(
      () => {
        this.timers.delete(id);
        fn();
      },
      Math.max(0, ms),
    );
    t.unref?.();
    this.timers.set(id, t);
    return { id };
  }

  clearTimeout(timer: ClockTimer | undefined): void {
    if (!timer) return;
    const t = this.timers.get(timer.id);
    if (t) clearTimeout(t);
    this.timers.delete(timer.id);
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return sleepOn(this, ms, signal);
  }
}

interface VirtualTimer {
  id: number;
  at: number;
  fn: () => void;
}

/**
 * A clock that moves only when told. `advance(ms)` runs every timer due within the span in
 * time order (ties in scheduling order), including timers that those timers schedule, and
 * sets `now()` to each timer's due time before running it.
 */
export class VirtualClock implements Clock {
  private current: number;
  private seq = 0;
  private timers: VirtualTimer[] = [];

  /** @param start epoch milliseconds of the clock's first instant. @default Date.now() at construction */
  constructor(start: number = Date.now()) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimeout(fn: () => void, ms: number): ClockTimer {
    const at = this.current + Math.max(0, Number.isFinite(ms) ? ms : 0);
    const t: VirtualTimer = { id: ++this.seq, at, fn };
    // Kept sorted by (at, id): insertion after every timer due at or before `at`.
    let i = this.timers.length;
    while (i > 0 && this.timers[i - 1]!.at > at) i--;
    this.timers.splice(i, 0, t);
    return { id: t.id };
  }

  clearTimeout(timer: ClockTimer | undefined): void {
    if (!timer) return;
    const i = this.timers.findIndex((t) => t.id === timer.id);
    if (i >= 0) this.timers.splice(i, 1);
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return sleepOn(this, ms, signal);
  }

  /** Timers not yet run. */
  get pending(): number {
    return this.timers.length;
  }

  /** Due time of the next timer, if any. */
  nextAt(): number | undefined {
    return this.timers[0]?.at;
  }

  /** Moves time forward by `ms`, running due timers synchronously. */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`advance(ms) needs a non-negative number of milliseconds (given ${ms})`);
    const until = this.current + ms;
    for (;;) {
      const next = this.timers[0];
      if (!next || next.at > until) break;
      this.timers.shift();
      this.current = Math.max(this.current, next.at);
      next.fn();
    }
    this.current = until;
  }

  /**
   * As `advance`, but lets promise continuations and I/O callbacks run after each timer
   * (a long poll that resumes and takes a message, say), so code that awaits between
   * timers sees them in order.
   */
  async advanceAsync(ms: number): Promise<void> {
    if (!(ms >= 0)) throw new RangeError(`advanceAsync(ms) needs a non-negative number of milliseconds (given ${ms})`);
    const until = this.current + ms;
    await settle();
    for (;;) {
      const next = this.timers[0];
      if (!next || next.at > until) break;
      this.timers.shift();
      this.current = Math.max(this.current, next.at);
      next.fn();
      await settle();
    }
    this.current = until;
    await settle();
  }
}

/** Lets pending promise continuations and immediate callbacks run. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** What an idle driver watches to know the runtime is busy. */
export interface Activity {
  /** Increases whenever something happens (the event stream's sequence number). */
  readonly seq: number;
  /** Work in flight that the clock must not overtake (function invocations running in workers). */
  readonly busy: number;
}

/**
 * Moves a VirtualClock to its next timer whenever the runtime has been idle for `quietMs` of
 * real time: nothing happened and no function is running. A demo or an end-to-end test then
 * runs the same flow as on real time, without the waiting, and a visibility timeout can never
 * pass while the handler of its record is still running.
 */
export function driveWhenIdle(clock: VirtualClock, activity: Activity, quietMs = 25): { stop(): void } {
  let stopped = false;
  let lastSeq = activity.seq;
  let timer: NodeJS.Timeout | undefined;
  const loop = async () => {
    if (stopped) return;
    const idle = activity.seq === lastSeq && activity.busy === 0;
    lastSeq = activity.seq;
    const next = clock.nextAt();
    if (idle && next !== undefined) await clock.advanceAsync(Math.max(0, next - clock.now()));
    if (stopped) return;
    timer = setTimeout(() => void loop(), quietMs);
    timer.unref?.();
  };
  timer = setTimeout(() => void loop(), quietMs);
  timer.unref?.();
  return {
    stop: () => {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
