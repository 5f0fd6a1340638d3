/**
 * Closed-loop request rate: `concurrency` callers issue calls back to back until either the
 * time budget or the call budget is spent, whichever comes first. The server's CPU (its whole
 * process tree) is read before and after, so the report can show CPU per call, which is less
 * sensitive than calls/s to the client sharing the machine's two cores.
 */
import { cpuSeconds, processTree } from './processes.js';

export interface RateResult {
  calls: number;
  errors: number;
  perSecond: number;
  serverCpuUsPerCall: number;
  firstError?: string;
}

export async function measureCallRate(
  call: (i: number) => Promise<unknown>,
  opts: { seconds: number; maxCalls: number; concurrency: number; serverPid: number },
): Promise<RateResult> {
  const pids = processTree(opts.serverPid);
  const cpu0 = cpuSeconds(pids);
  const t0 = performance.now();
  const deadline = t0 + opts.seconds * 1000;
  let issued = 0;
  let done = 0;
  let errors = 0;
  let firstError: string | undefined;
  const worker = async () => {
    while (issued < opts.maxCalls && performance.now() < deadline) {
      const i = issued++;
      try {
        await call(i);
        done++;
      } catch (err) {
        errors++;
        firstError ??= describe(err);
      }
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, worker));
  const seconds = (performance.now() - t0) / 1000;
  const cpu = cpuSeconds(pids) - cpu0;
  const total = done + errors;
  return {
    calls: done,
    errors,
    perSecond: done / seconds,
    serverCpuUsPerCall: total > 0 ? (cpu * 1e6) / total : 0,
    ...(firstError ? { firstError } : {}),
  };
}

function describe(err: unknown): string {
  const e = err as { code?: string; message?: string; data?: { Code?: string; Message?: string } };
  return e.data?.Code ? `${e.data.Code}: ${e.data.Message}` : (e.code ?? e.message ?? String(err));
}
