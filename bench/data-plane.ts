/**
 * The data-plane half of the bench: every test against every path, rounds outermost and paths
 * innermost, so slow drift on the shared machine touches all paths alike. Each sample records
 * the proxy's CPU (its whole process tree) over the run.
 */
import { iperfTcp, iperfUdp, wrk, type WrkMode } from './lib/load-tools.js';
import { cpuSeconds, processTree } from './lib/processes.js';

export interface DataPath {
  name: string;
  host: string;
  httpPort: number;
  iperfPort: number;
  udp: boolean;
  /** Root PID of the proxy's processes; undefined for `direct`. */
  pid?: number;
}

export type TestName = 'tcp1' | 'tcp4' | 'cps' | 'lat1' | 'rps64' | 'udp64-max' | 'udp64-rate' | 'udp1400-max' | 'udp1400-rate';

export interface Sample {
  /** Gbit/s (tcp), requests or connections per second (wrk), relayed datagrams per second (udp). */
  value: number;
  p50Us?: number;
  p99Us?: number;
  errors?: number;
  sentPps?: number;
  lossPct?: number;
  /** Proxy CPU in cores (2.0 = the whole machine) during the run. */
  cpuCores?: number;
}

export type Samples = Map<string, Map<TestName, Sample[]>>;

export interface DataPlaneOptions {
  reps: number;
  iperfSeconds: number;
  wrkSeconds: number;
  udpSeconds: number;
  udpRatePps: number;
  /** Restarts the iperf3 server after a failed run (it can get stuck after an aborted test). */
  restartIperf: () => Promise<void>;
  log: (line: string) => void;
}

async function withCpu(path: DataPath, run: () => Promise<Sample>): Promise<Sample> {
  const pids = path.pid === undefined ? [] : processTree(path.pid);
  const cpu0 = cpuSeconds(pids);
  const t0 = performance.now();
  const sample = await run();
  const wall = (performance.now() - t0) / 1000;
  if (path.pid !== undefined) sample.cpuCores = (cpuSeconds(pids) - cpu0) / wall;
  return sample;
}

export async function runDataPlane(paths: DataPath[], opts: DataPlaneOptions): Promise<Samples> {
  const samples: Samples = new Map(paths.map((p) => [p.name, new Map()]));
  const record = (path: DataPath, test: TestName, sample: Sample) => {
    const byTest = samples.get(path.name)!;
    if (!byTest.has(test)) byTest.set(test, []);
    byTest.get(test)!.push(sample);
  };

  const iperfTry = async (path: DataPath, test: TestName, run: () => Promise<Sample>) => {
    for (let attempt = 1; attempt <= 2; attempt++) {
      try {
        const sample = await withCpu(path, run);
        record(path, test, sample);
        return sample;
      } catch (err) {
        opts.log(`${test} ${path.name}: ${(err as Error).message} (attempt ${attempt})`);
        await opts.restartIperf();
      }
    }
    return undefined;
  };

  for (let rep = 1; rep <= opts.reps; rep++) {
    opts.log(`data plane: round ${rep}/${opts.reps}`);
    for (const streams of [1, 4] as const) {
      for (const path of paths) {
        const s = await iperfTry(path, `tcp${streams}`, async () => ({
          value: (await iperfTcp(path.host, path.iperfPort, opts.iperfSeconds, streams)).gbps,
        }));
        if (s) opts.log(`tcp${streams} ${path.name}: ${s.value.toFixed(2)} Gbit/s, proxy ${cpuText(s)}`);
      }
    }
    for (const mode of ['cps', 'lat1', 'rps64'] as WrkMode[]) {
      for (const path of paths) {
        try {
          const s = await withCpu(path, async () => {
            const r = await wrk(path.host, path.httpPort, opts.wrkSeconds, mode);
            return { value: r.rate, p50Us: r.p50Us, p99Us: r.p99Us, errors: r.errors };
          });
          record(path, mode, s);
          opts.log(
            `${mode} ${path.name}: ${Math.round(s.value)}/s p50 ${s.p50Us} µs p99 ${s.p99Us} µs errors ${s.errors}, proxy ${cpuText(s)}`,
          );
        } catch (err) {
          opts.log(`${mode} ${path.name}: ${(err as Error).message}`);
        }
      }
    }
    for (const size of [64, 1400] as const) {
      for (const rate of ['max', 'rate'] as const) {
        const test = `udp${size}-${rate}` as TestName;
        for (const path of paths.filter((p) => p.udp)) {
          const s = await iperfTry(path, test, async () => {
            const r = await iperfUdp(path.host, path.iperfPort, opts.udpSeconds, size, rate === 'max' ? 0 : opts.udpRatePps);
            return { value: r.relayedPps, sentPps: r.sentPps, lossPct: r.lossPct };
          });
          if (s)
            opts.log(
              `${test} ${path.name}: sent ${Math.round(s.sentPps!)}/s relayed ${Math.round(s.value)}/s loss ${s.lossPct!.toFixed(2)} %, proxy ${cpuText(s)}`,
            );
        }
      }
    }
  }
  return samples;
}

function cpuText(s: Sample): string {
  return s.cpuCores === undefined ? '–' : `${Math.round(s.cpuCores * 100)} % cpu`;
}
