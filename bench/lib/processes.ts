/**
 * Child processes of the bench: started with their output in a log file, stopped by PID (never
 * by name), and CPU-accounted through /proc so "proxy CPU" covers a whole process tree
 * (nginx workers, HAProxy threads, OpenSLB workers).
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { openSync, readFileSync, readdirSync } from 'node:fs';
import net from 'node:net';

export interface Managed {
  name: string;
  child: ChildProcess;
  logFile: string;
}

const running = new Set<Managed>();

export function startProcess(name: string, command: string, args: string[], logFile: string, env?: NodeJS.ProcessEnv): Managed {
  const fd = openSync(logFile, 'a');
  const child = spawn(command, args, { stdio: ['ignore', fd, fd], env: env ?? process.env });
  const managed = { name, child, logFile };
  running.add(managed);
  child.once('exit', () => running.delete(managed));
  return managed;
}

/** SIGTERM to the process and its descendants, SIGKILL after `graceMs` if it is still there. */
export async function stopProcess(p: Managed, graceMs = 5000): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => p.child.once('exit', () => resolve()));
  const pids = processTree(p.child.pid!);
  for (const pid of pids.reverse()) signal(pid, 'SIGTERM');
  const timer = setTimeout(() => {
    for (const pid of processTree(p.child.pid!)) signal(pid, 'SIGKILL');
  }, graceMs);
  await exited;
  clearTimeout(timer);
}

export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((p) => stopProcess(p)));
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** The PID and all its descendants, from /proc (children are found through their ppid). */
export function processTree(root: number): number[] {
  const parentOf = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (stat) parentOf.set(Number(entry), Number(stat[1]));
  }
  const out = [root];
  for (let i = 0; i < out.length; i++) {
    for (const [pid, ppid] of parentOf) if (ppid === out[i]) out.push(pid);
  }
  return out;
}

/** Fields of /proc/PID/stat after the command name: [state, ppid, …]; undefined when gone. */
function readStat(pid: number): string[] | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

/** CPU seconds (user + system, all threads) used so far by the given processes. */
export function cpuSeconds(pids: readonly number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    const f = readStat(pid);
    // utime and stime are fields 14 and 15 of stat, i.e. 11 and 12 after the name.
    if (f) ticks += Number(f[11]) + Number(f[12]);
  }
  return ticks / CLOCK_TICKS;
}

/** Resolves once something accepts TCP connections on host:port (bounded by attempts). */
export async function waitForPort(host: string, port: number, attempts = 300): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host, port });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`nothing listens on ${host}:${port}`);
}

/** True when nothing is bound to the port on 127.0.0.1 yet (TCP). */
export function portIsFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Runs a command to completion with a hard time limit; resolves with its stdout and exit code. */
export function runBounded(
  command: string,
  args: string[],
  timeoutMs: number,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
