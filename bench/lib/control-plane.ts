/**
 * Control-plane timings against a running OpenSLB: how soon a new listener forwards its first
 * connection, how long a CreateListener job takes to succeed, and growing the store to
 * thousands of listeners through the API (filler NLBs with the listener quota raised).
 */
import net from 'node:net';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import type { OpenSlbInstance } from './openslb-instance.js';
import { sleep } from './processes.js';

/** One HTTP request through host:port; resolves true when a response byte came back. */
function forwardsOnce(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const finish = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(2000, () => finish(false));
    socket.once('error', () => finish(false));
    socket.once('connect', () => socket.write('GET / HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n'));
    socket.once('data', () => finish(true));
    socket.once('end', () => finish(false));
  });
}

export interface FirstConnectionSample {
  /** CreateListener sent → first response through the new listener. */
  totalMs: number;
  /** CreateListener sent → its reply (the rest is the data plane picking the change up). */
  apiMs: number;
}

/** For each port: CreateListener, then connect every millisecond until a request is forwarded. */
export async function firstConnectionTimes(
  slb: OpenSlbInstance,
  lbId: string,
  vip: string,
  serverGroupId: string,
  ports: number[],
): Promise<FirstConnectionSample[]> {
  const samples: FirstConnectionSample[] = [];
  for (const port of ports) {
    const t0 = performance.now();
    await slb.createListener(lbId, 'TCP', port, serverGroupId);
    const apiMs = performance.now() - t0;
    let ok = false;
    for (let attempt = 0; attempt < 5000 && !ok; attempt++) {
      ok = await forwardsOnce(vip, port);
      if (!ok) await sleep(1);
    }
    if (!ok) throw new Error(`listener on ${vip}:${port} never forwarded a connection`);
    samples.push({ totalMs: performance.now() - t0, apiMs });
  }
  return samples;
}

export interface JobSample {
  /** CreateListener sent → GetJobStatus first answering Succeeded (polled every 5 ms). */
  clientMs: number;
  /** The job's own record: created_at → finished_at in the store. */
  storeMs: number;
}

/**
 * CreateListener → job Succeeded, `ports.length` times. Each listener is deleted again (and
 * that job awaited) so the store keeps the size under test.
 */
export async function jobLatencies(slb: OpenSlbInstance, lbId: string, serverGroupId: string, ports: number[]): Promise<JobSample[]> {
  const db = new Database(join(slb.dataDir, 'openslb.db'), { readonly: true, fileMustExist: true });
  const jobTimes = db.prepare('SELECT created_at, finished_at FROM jobs WHERE id = ?');
  const samples: JobSample[] = [];
  try {
    for (const port of ports) {
      const t0 = performance.now();
      const { listenerId, jobId } = await slb.createListener(lbId, 'TCP', port, serverGroupId);
      const status = await slb.waitForJob(jobId);
      const clientMs = performance.now() - t0;
      if (status !== 'Succeeded') throw new Error(`CreateListener job ${jobId} ${status}`);
      const row = jobTimes.get(jobId) as { created_at: number; finished_at: number } | undefined;
      samples.push({ clientMs, storeMs: row ? row.finished_at - row.created_at : NaN });
      const { JobId } = await slb.call('DeleteListener', { ListenerId: listenerId });
      await slb.waitForJob(JobId);
    }
  } finally {
    db.close();
  }
  return samples;
}

export interface FillResult {
  created: number;
  loadBalancers: number;
  seconds: number;
  /** Time from the last CreateListener reply until its job (and so all before it) succeeded. */
  settleSeconds: number;
  stoppedEarly?: string;
}

/**
 * Adds `count` TCP listeners through the API: filler NLBs with `perLb` listeners each, ports
 * from `firstPort`, `concurrency` calls in flight. Bounded by `maxSeconds`.
 */
export async function fillListeners(
  slb: OpenSlbInstance,
  count: number,
  opts: { perLb: number; firstPort: number; serverGroupId: string; concurrency: number; maxSeconds: number },
): Promise<FillResult> {
  const t0 = performance.now();
  const deadline = t0 + opts.maxSeconds * 1000;
  let created = 0;
  let lbs = 0;
  let lastJob: string | undefined;
  let stoppedEarly: string | undefined;
  while (created < count && !stoppedEarly) {
    const lb = await slb.createLoadBalancer();
    lbs++;
    const batch = Math.min(opts.perLb, count - created);
    let next = 0;
    const worker = async () => {
      while (next < batch && !stoppedEarly) {
        if (performance.now() > deadline) {
          stoppedEarly = `time budget of ${opts.maxSeconds} s spent`;
          return;
        }
        const port = opts.firstPort + next++;
        try {
          const r = await slb.createListener(lb.id, 'TCP', port, opts.serverGroupId);
          lastJob = r.jobId;
          created++;
        } catch (err) {
          stoppedEarly = `CreateListener failed: ${(err as { data?: { Code?: string } }).data?.Code ?? (err as Error).message}`;
        }
      }
    };
    await Promise.all(Array.from({ length: opts.concurrency }, worker));
  }
  const t1 = performance.now();
  if (lastJob) await slb.waitForJob(lastJob, 20, 30_000);
  const t2 = performance.now();
  return {
    created,
    loadBalancers: lbs,
    seconds: (t1 - t0) / 1000,
    settleSeconds: (t2 - t1) / 1000,
    ...(stoppedEarly ? { stoppedEarly } : {}),
  };
}
