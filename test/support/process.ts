/** Runs the real `openslb` command (from source, through tsx) as a child process. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

export interface ServeProcess {
  child: ChildProcess;
  apiUrl: string;
  stdout: () => string;
  stderr: () => string;
}

/**
 * Starts `openslb serve …` and resolves once it prints the address it listens on. `prefix` runs
 * it through a command that execs it in place, e.g. `ip netns exec <ns>` (the child's pid is
 * then still openslb's own).
 */
export function startServe(args: string[], env: NodeJS.ProcessEnv, prefix: string[] = []): Promise<ServeProcess> {
  const argv = [...prefix, process.execPath, '--import', 'tsx', MAIN, 'serve', ...args];
  const child = spawn(argv[0], argv.slice(1), {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  return new Promise((resolve, reject) => {
    child.stderr!.on('data', (c: Buffer) => {
      err += c.toString();
      // A `--role dataplane` node serves no API: its banner names the node instead.
      const m = /API on (http:\/\/[\d.]+:\d+)|data-plane node \S+ \(serves no API\)/.exec(err);
      if (m) resolve({ child, apiUrl: m[1] ?? '', stdout: () => out, stderr: () => err });
    });
    child.on('exit', (code) => reject(new Error(`openslb serve exited with ${code}: ${err}`)));
  });
}

/** Runs `openslb …` to completion; resolves with its exit code and output. */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code: code ?? -1, stdout, stderr })));
}

export function stopProcess(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill(signal);
  });
}

/** Whether a process with this pid still exists (signal 0 checks without sending anything). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
