/**
 * Every knob of the benchmark, read once from the environment. BENCH_QUICK=1 shrinks all of
 * them so the whole harness can be smoke-tested in about two minutes; any single knob can
 * still be overridden on top of either mode.
 */
export interface BenchSettings {
  quick: boolean;
  /** Rounds over all data-plane tests; each round visits every path, so drift hits all alike. */
  reps: number;
  iperfSeconds: number;
  wrkSeconds: number;
  udpSeconds: number;
  /** Offered datagrams per second in the fixed-rate UDP tests. */
  udpRatePps: number;
  /** Seconds per API rate measurement, and its hard cap on calls. */
  apiSeconds: number;
  apiMaxCalls: number;
  apiConcurrency: number;
  /** CreateListener calls in the write-rate test (each makes a real listener). */
  createCalls: number;
  /** CreateListener → first forwarded connection tries. */
  firstConnTries: number;
  /** CreateListener → job Succeeded tries at each store size. */
  jobTries: number;
  /** Listener count of the "large store" job-latency measurement. */
  bigListeners: number;
  /** Listeners per filler NLB when growing the store (the quota is raised to fit). */
  listenersPerFillerLb: number;
  /** Run a separate `node --cpu-prof` pass over the TCP tests and summarise it. */
  profile: boolean;
  /** Base of the loopback ports the bench binds (kept below the ephemeral range 32768+). */
  portBase: number;
  outFile: string;
}

function num(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a non-negative number, got "${raw}"`);
  return value;
}

export function readSettings(env: NodeJS.ProcessEnv = process.env): BenchSettings {
  const quick = env.BENCH_QUICK === '1';
  return {
    quick,
    reps: num(env, 'BENCH_REPS', quick ? 1 : 2),
    iperfSeconds: num(env, 'BENCH_IPERF_T', quick ? 1 : 5),
    wrkSeconds: num(env, 'BENCH_WRK_D', quick ? 1 : 3),
    udpSeconds: num(env, 'BENCH_UDP_T', quick ? 1 : 2),
    udpRatePps: num(env, 'BENCH_UDP_RATE_PPS', 50_000),
    apiSeconds: num(env, 'BENCH_API_T', quick ? 1 : 4),
    apiMaxCalls: num(env, 'BENCH_API_MAX_CALLS', 50_000),
    apiConcurrency: num(env, 'BENCH_API_CONCURRENCY', 16),
    createCalls: num(env, 'BENCH_CREATE_CALLS', quick ? 40 : 300),
    firstConnTries: num(env, 'BENCH_FIRST_CONN_TRIES', quick ? 3 : 20),
    jobTries: num(env, 'BENCH_JOB_TRIES', quick ? 3 : 10),
    bigListeners: num(env, 'BENCH_BIG_LISTENERS', quick ? 300 : 3000),
    listenersPerFillerLb: num(env, 'BENCH_LISTENERS_PER_LB', 1000),
    profile: env.BENCH_PROFILE !== '0',
    portBase: num(env, 'BENCH_PORT_BASE', 21000),
    outFile: env.BENCH_OUT ?? (quick ? '/tmp/openslb-bench-quick.md' : 'bench/results/latest.md'),
  };
}
