/**
 * Network namespaces a test creates for itself (root only): each has nothing but its own
 * loopback, so processes in different namespaces can bind the same addresses. A unix socket
 * (e.g. PostgreSQL's) is reachable from all of them, since it lives in the file system.
 */
import { execFileSync } from 'node:child_process';

export interface NetNamespace {
  name: string;
  /** Prefix that runs a command inside the namespace (it execs in place, keeping the pid). */
  exec: string[];
  /** Idempotent; kills nothing: stop the processes inside first. */
  remove(): void;
}

const created = new Set<string>();
// Safety net: a test run that crashes must not leave namespaces behind.
process.once('exit', () => {
  for (const name of created) removeNamespace(name);
});

function removeNamespace(name: string): void {
  try {
    execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
  } catch {
    // Already gone.
  }
  created.delete(name);
}

export function createNamespace(name: string): NetNamespace {
  if (process.getuid?.() !== 0) throw new Error('network namespaces need root (ip netns add)');
  removeNamespace(name); // a leftover from a run that was killed
  execFileSync('ip', ['netns', 'add', name]);
  created.add(name);
  execFileSync('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
  return { name, exec: ['ip', 'netns', 'exec', name], remove: () => removeNamespace(name) };
}
