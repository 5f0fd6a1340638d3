/**
 * A test server whose jobs stay Processing until the test moves its clock on: the cloud's pace,
 * held still, so a test can look at transitional statuses and then settle them on purpose.
 */
import type { Config } from '../../src/config/config.js';
import { ManualClock } from '../../src/util/clock.js';
import { startTestServer, type TestServer } from './server.js';

/** How long a job waits by default: advance the clock by this much to let it finish. */
export const JOB_DELAY_MS = 60_000;

export interface SlowServer extends TestServer {
  clock: ManualClock;
  /** Moves the clock past the job delay, so every pending job may finish. */
  releaseJobs(): void;
}

export async function startSlowServer(
  opts: { clock?: ManualClock; delayMs?: number; configure?: (c: Config) => void } & Pick<
    Parameters<typeof startTestServer>[0] & object,
    'extraProducts'
  > = {},
): Promise<SlowServer> {
  const clock = opts.clock ?? new ManualClock(Date.now());
  const delayMs = opts.delayMs ?? JOB_DELAY_MS;
  const server = await startTestServer({
    clock,
    extraProducts: opts.extraProducts,
    configure: (c) => {
      c.jobs.extraDelayMs = delayMs;
      // The clock only moves when a test says so; keep the in-process node counted as live.
      c.jobs.nodeTimeoutMs = 365 * 24 * 3_600_000;
      opts.configure?.(c);
    },
  });
  return { ...server, clock, releaseJobs: () => clock.advance(delayMs) };
}
