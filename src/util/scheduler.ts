/**
 * Injected timers (DESIGN rule 4). Anything that acts "every N seconds" or "after N seconds"
 * takes a `Scheduler` instead of calling `setTimeout` itself, so tests drive it with
 * `ManualScheduler.advance()` and never sleep.
 *
 * A `Scheduler` is also a `Clock`: `now()` is the time the scheduler's callbacks see.
 */
import type { Clock } from './clock.js';

/** Opaque handle returned by `setTimeout`; only ever passed back to `clearTimeout`. */
export type TimerHandle = object;

export interface Scheduler extends Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Runs `fn` once, `ms` milliseconds from now (negative / NaN count as 0). */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  /** Cancels a pending callback; unknown or already-run handles are ignored. */
  clearTimeout(handle: TimerHandle): void;
}

/** setTimeout's own ceiling (2^31 − 1 ms); longer delays would fire immediately. */
const MAX_TIMER_MS = 2_147_483_647;

function clampDelay(ms: number): number {
  if (Number.isNaN(ms) || ms <= 0) return 0;
  return Math.min(ms, MAX_TIMER_MS);
}

export interface TimerSchedulerOptions {
  /**
   * Unreference timers so they alone do not keep the process alive (listening sockets do).
   * Default false: behaves like the global `setTimeout`.
   */
  unref?: boolean;
}

/** The real thing: wall-clock time and Node's timers. */
export class TimerScheduler implements Scheduler {
  private readonly unref: boolean;

  constructor(opts: TimerSchedulerOptions = {}) {
    this.unref = opts.unref ?? false;
  }

  now(): number {
    return Date.now();
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer = globalThis.setTimeout(fn, clampDelay(ms));
    if (this.unref) timer.unref();
    return timer;
  }

  clearTimeout(handle: TimerHandle): void {
    globalThis.clearTimeout(handle as NodeJS.Timeout);
  }
}

export const systemScheduler: Scheduler = new TimerScheduler();

/**
 * Lets a real timer not keep the process alive on its own (a listener's sweep or drain must not
 * hold up an exit its sockets no longer do); a ManualScheduler's timers have nothing to unref.
 */
export function unrefTimer(handle: TimerHandle): TimerHandle {
  (handle as { unref?: () => unknown }).unref?.();
  return handle;
}

interface ManualTimer {
  readonly due: number;
  readonly seq: number;
  readonly fn: () => void;
  cancelled: boolean;
}

function before(a: ManualTimer, b: ManualTimer): boolean {
  return a.due < b.due || (a.due === b.due && a.seq < b.seq);
}

/**
 * A scheduler whose time only moves when told to. `advance(ms)` runs every callback that
 * falls due within the step, in due-time order (ties in the order they were scheduled),
 * with `now()` set to each callback's due time while it runs; callbacks scheduled by those
 * callbacks run too if they fall due within the same step. Everything is synchronous: a
 * callback that starts async work (a socket, a promise) has only *started* it when
 * `advance` returns.
 */
export class ManualScheduler implements Scheduler {
  private ms: number;
  private seq = 0;
  private live = 0;
  /** Binary min-heap on (due, seq); cancelled entries are dropped lazily. */
  private readonly heap: ManualTimer[] = [];

  constructor(startMs: number = Date.parse('2026-01-01T00:00:00Z')) {
    this.ms = startMs;
  }

  now(): number {
    return this.ms;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const delay = Number.isNaN(ms) || ms <= 0 ? 0 : ms;
    const timer: ManualTimer = { due: this.ms + delay, seq: this.seq++, fn, cancelled: false };
    this.push(timer);
    this.live++;
    return timer;
  }

  clearTimeout(handle: TimerHandle): void {
    const timer = handle as Partial<ManualTimer>;
    if (typeof timer.fn !== 'function' || timer.cancelled) return;
    timer.cancelled = true;
    this.live--;
  }

  /** How many callbacks are waiting. */
  get pending(): number {
    return this.live;
  }

  /** When the earliest pending callback is due, or undefined when none is. */
  nextDue(): number | undefined {
    return this.peek()?.due;
  }

  /** Moves time forward by `ms`, running what falls due (see the class comment). */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`ManualScheduler.advance: ms must be >= 0, got ${ms}`);
    this.advanceTo(this.ms + ms);
  }

  /** Moves time forward to `target` (never backwards), running what falls due. */
  advanceTo(target: number): void {
    if (!(target >= this.ms)) throw new RangeError('ManualScheduler.advanceTo: time cannot move backwards');
    for (;;) {
      const next = this.peek();
      if (!next || next.due > target) break;
      this.pop();
      next.cancelled = true; // ran: a later clearTimeout on it is a no-op
      this.live--;
      this.ms = next.due;
      next.fn();
    }
    this.ms = target;
  }

  /** Runs only the callbacks due at the current time (e.g. ones scheduled with delay 0). */
  runDue(): void {
    this.advanceTo(this.ms);
  }

  private peek(): ManualTimer | undefined {
    while (this.heap.length > 0 && this.heap[0].cancelled) this.pop();
    return this.heap[0];
  }

  private push(timer: ManualTimer): void {
    const h = this.heap;
    h.push(timer);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(h[i], h[parent])) break;
      [h[i], h[parent]] = [h[parent], h[i]];
      i = parent;
    }
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop();
    if (h.length === 0 || !last) return;
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && before(h[l], h[m])) m = l;
      if (r < h.length && before(h[r], h[m])) m = r;
      if (m === i) break;
      [h[i], h[m]] = [h[m], h[i]];
      i = m;
    }
  }
}
