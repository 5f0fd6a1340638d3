/**
 * The load generators, wrapped: iperf3 for bulk TCP and UDP datagrams, wrk for connection
 * rate, latency and keepalive request rate. Each run is bounded by the tool's own duration
 * and by a hard kill a few seconds later; only 127.0.x.y targets are accepted.
 */
import { fileURLToPath } from 'node:url';
import { runBounded } from './processes.js';

const WRK_SCRIPT = fileURLToPath(new URL('./wrk-json.lua', import.meta.url));

function checkLoopback(host: string): void {
  if (!/^127\.\d+\.\d+\.\d+$/.test(host)) throw new Error(`bench targets loopback only, not ${host}`);
}

export interface TcpResult {
  gbps: number;
}

export async function iperfTcp(host: string, port: number, seconds: number, streams: number): Promise<TcpResult> {
  checkLoopback(host);
  const args = ['-c', host, '-p', String(port), '-t', String(seconds), '-P', String(streams), '--connect-timeout', '3000', '-J'];
  const { stdout } = await runBounded('iperf3', args, (seconds + 15) * 1000);
  const report = parseIperf(stdout);
  return { gbps: report.end.sum_received.bits_per_second / 1e9 };
}

export interface UdpResult {
  sentPps: number;
  relayedPps: number;
  /** Percent of the client's datagrams that never reached the server. */
  lossPct: number;
}

/** One UDP flow of `size`-byte datagrams; `pps` 0 means as fast as the client can send. */
export async function iperfUdp(host: string, port: number, seconds: number, size: number, pps: number): Promise<UdpResult> {
  checkLoopback(host);
  const bitrate = pps === 0 ? '0' : String(pps * size * 8);
  const args = [
    '-c',
    host,
    '-p',
    String(port),
    '-u',
    '-b',
    bitrate,
    '-l',
    String(size),
    '-t',
    String(seconds),
    '--connect-timeout',
    '3000',
    '-J',
  ];
  const { stdout } = await runBounded('iperf3', args, (seconds + 15) * 1000);
  const end = parseIperf(stdout).end;
  // Received bytes / size also counts drops at the tail, which iperf3's lost_packets misses.
  const received = end.sum_received.bytes / size;
  const sent = end.sum_sent.packets;
  const secs = end.sum_sent.seconds;
  return { sentPps: sent / secs, relayedPps: received / secs, lossPct: 100 * (1 - received / sent) };
}

interface IperfReport {
  error?: string;
  end: {
    sum_received: { bits_per_second: number; bytes: number };
    sum_sent: { packets: number; seconds: number };
  };
}

function parseIperf(stdout: string): IperfReport {
  let report: IperfReport;
  try {
    report = JSON.parse(stdout) as IperfReport;
  } catch {
    throw new Error(`iperf3 gave no JSON report: ${stdout.slice(0, 200)}`);
  }
  if (report.error) throw new Error(`iperf3: ${report.error}`);
  if (!report.end?.sum_received) throw new Error('iperf3 report has no totals');
  return report;
}

export interface WrkResult {
  rate: number;
  p50Us: number;
  p99Us: number;
  errors: number;
}

export type WrkMode = 'cps' | 'lat1' | 'rps64';

/**
 * cps: 32 connections, each request on a new TCP connection (Connection: close);
 * lat1: one connection, one request in flight (unloaded latency);
 * rps64: 64 keepalive connections at saturation.
 */
export async function wrk(host: string, port: number, seconds: number, mode: WrkMode): Promise<WrkResult> {
  checkLoopback(host);
  const shape: Record<WrkMode, string[]> = {
    cps: ['-t2', '-c32', '-H', 'Connection: close'],
    lat1: ['-t1', '-c1'],
    rps64: ['-t2', '-c64'],
  };
  const args = [...shape[mode], `-d${seconds}s`, '--latency', '-s', WRK_SCRIPT, `http://${host}:${port}/`];
  const { stdout, stderr } = await runBounded('wrk', args, (seconds + 10) * 1000);
  const line = stdout.split('\n').find((l) => l.startsWith('BENCH '));
  if (!line) throw new Error(`wrk gave no report: ${(stdout + stderr).slice(0, 300)}`);
  const r = JSON.parse(line.slice(6)) as { requests: number; durationUs: number; errors: number; p50Us: number; p99Us: number };
  return { rate: r.requests / (r.durationUs / 1e6), p50Us: r.p50Us, p99Us: r.p99Us, errors: r.errors };
}
