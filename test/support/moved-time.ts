/**
 * Moving injected time in integration tests. A ManualScheduler runs the server's timers (health
 * probe intervals, drains, sweeps) only when a test moves it; what those timers start — a probe's
 * socket, a verdict written to the store — is still real I/O that needs a moment of real time.
 */
import type { ManualScheduler } from '../../src/util/scheduler.js';

/** Real time given to the I/O a step started before looking again (not a bound on anything). */
const SETTLE_MS = 20;

/**
 * Moves `timers` on by `stepMs` at a time until `check` holds, letting the real I/O of each
 * step settle before checking. Bounded by steps, not by a timing assertion. Returns how much
 * injected time it moved.
 */
export async function moveTimeUntil(
  timers: ManualScheduler,
  stepMs: number,
  what: string,
  check: () => boolean | Promise<boolean>,
  maxSteps = 200,
): Promise<number> {
  const started = timers.now();
  for (let step = 0; step <= maxSteps; step++) {
    if (await check()) return timers.now() - started;
    if (step === maxSteps) break;
    timers.advance(stepMs);
    await new Promise((r) => setTimeout(r, SETTLE_MS));
  }
  throw new Error(`gave up waiting after moving ${(timers.now() - started) / 1000} s of injected time: ${what}`);
}
