/**
 * Starts the web console on an admin Fastify instance: the routes (routes.ts) and the sampler
 * that feeds the chart ring from the /metrics text every sampleMs.
 */
import type { FastifyInstance } from 'fastify';
import { type Scheduler, TimerScheduler } from '../util/scheduler.js';
import { MetricsRing } from './metrics-ring.js';
import { type ConsoleDeps, mountConsole } from './routes.js';
import type { SessionLimits } from './sessions.js';

export interface ConsoleOptions {
  /** Chart resolution (default 5000 ms); the ring keeps an hour's worth at that pace. */
  sampleMs?: number;
  sessionLimits?: SessionLimits;
}

export interface RunningConsole {
  ring: MetricsRing;
  stop(): Promise<void>;
}

const HOUR_MS = 3_600_000;

export function startConsole(
  app: FastifyInstance,
  deps: Omit<ConsoleDeps, 'ring' | 'sampleMs'> & { metricsText: () => Promise<string>; scheduler?: Scheduler },
  opts: ConsoleOptions = {},
): RunningConsole {
  const sampleMs = Math.max(100, opts.sampleMs ?? 5000);
  const ring = new MetricsRing({ capacity: Math.ceil(HOUR_MS / sampleMs) });
  mountConsole(app, { ...deps, ring, sampleMs, sessionLimits: opts.sessionLimits });

  const scheduler = deps.scheduler ?? new TimerScheduler({ unref: true });
  let timer: object | undefined;
  let stopped = false;
  let warnedDropped = 0;
  const tick = async () => {
    try {
      ring.record(scheduler.now(), await deps.metricsText());
      if (ring.droppedSeries > warnedDropped) {
        deps.log?.warn({ droppedSeries: ring.droppedSeries }, 'console chart ring is full; some series are not charted');
        warnedDropped = ring.droppedSeries;
      }
    } catch (err) {
      deps.log?.warn({ err }, 'console could not sample the metrics');
    }
    if (!stopped) timer = scheduler.setTimeout(() => void tick(), sampleMs);
  };
  // tick catches its own failures (logged above), so nothing is left to await.
  timer = scheduler.setTimeout(() => void tick(), 0);
  return {
    ring,
    stop: async () => {
      stopped = true;
      if (timer) scheduler.clearTimeout(timer);
    },
  };
}
