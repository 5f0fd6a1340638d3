/**
 * Starts and drives test/support/gwlb-appliance.ts as a child process (see there for its
 * line protocol).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const PROGRAM = fileURLToPath(new URL('./gwlb-appliance.ts', import.meta.url));

export interface ApplianceStats {
  /** GENEVE datagrams it received (and returned). */
  packets: number;
  /** Flow name (packets.ts flowName) → packets of that flow, both directions. */
  flows: Record<string, number>;
}

export interface ApplianceProcess {
  host: string;
  child: ChildProcess;
  stats(): Promise<ApplianceStats>;
  /** SIGKILL: no goodbye, sockets vanish with the process. */
  crash(): Promise<void>;
  /** Closes its stdin and waits for it to exit. */
  stop(): Promise<void>;
}

export function startApplianceProcess(host: string, healthPort: number, optionClass?: number): Promise<ApplianceProcess> {
  const args = ['--import', 'tsx', PROGRAM, host, String(healthPort), ...(optionClass === undefined ? [] : [String(optionClass)])];
  const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const waiting: Array<(line: string) => void> = [];
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const gone = () => child.exitCode !== null || child.signalCode !== null;

  return new Promise((resolve, reject) => {
    const onEarlyExit = (code: number | null) => reject(new Error(`appliance ${host} exited (${code}) before it was ready: ${stderr}`));
    child.once('exit', onEarlyExit);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line === 'ready') {
        child.removeListener('exit', onEarlyExit);
        resolve({
          host,
          child,
          stats: () => {
            if (gone()) return Promise.reject(new Error(`appliance ${host} is not running`));
            return new Promise<ApplianceStats>((ok) => {
              waiting.push((reply) => ok(JSON.parse(reply) as ApplianceStats));
              child.stdin!.write('stats\n');
            });
          },
          crash: async () => {
            if (!gone()) child.kill('SIGKILL');
            await exited;
          },
          stop: async () => {
            if (gone()) return;
            child.stdin!.end();
            // Bounded: an appliance that does not leave on its own is killed.
            const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
            await exited;
            clearTimeout(timer);
          },
        });
        return;
      }
      waiting.shift()?.(line);
    });
  });
}
