/**
 * Runs the netfilter tools (`nft`, `conntrack`, `sysctl`) for the kernel engine. A prefix such
 * as `ip netns exec <ns>` points the engine at another network namespace (tests use that to put
 * a balancer between client and backend namespaces of their own).
 */
import { spawn } from 'node:child_process';

export interface CommandRunner {
  /** Resolves with stdout; rejects with an Error whose message is the tool's stderr. */
  run(command: string, args: readonly string[], input?: string): Promise<string>;
  /** A short description for logs ("this namespace", "netns lb1"). */
  readonly where: string;
}

export class CommandError extends Error {
  constructor(
    message: string,
    readonly exitCode: number | null,
    readonly stdout: string,
  ) {
    super(message);
  }
}

export function localRunner(prefix: readonly string[] = []): CommandRunner {
  return {
    where: prefix.length === 0 ? 'this network namespace' : prefix.join(' '),
    run(command, args, input) {
      const argv = [...prefix, command, ...args];
      return new Promise((resolve, reject) => {
        const child = spawn(argv[0], argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        child.stdout.on('data', (d: Buffer) => out.push(d));
        child.stderr.on('data', (d: Buffer) => err.push(d));
        child.on('error', (e) => reject(new CommandError(`${command}: ${e.message}`, null, '')));
        child.on('close', (code) => {
          const stdout = Buffer.concat(out).toString();
          if (code === 0) resolve(stdout);
          else {
            const stderr = Buffer.concat(err).toString().trim();
            reject(new CommandError(`${command} failed (exit ${code}): ${stderr || stdout.trim()}`, code, stdout));
          }
        });
        child.stdin.on('error', () => undefined); // the tool may exit before reading everything
        child.stdin.end(input ?? '');
      });
    },
  };
}
