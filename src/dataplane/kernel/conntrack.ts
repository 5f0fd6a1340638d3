/**
 * Reading and cutting the kernel engine's flows in the conntrack table. Flows carry their
 * listener's ct mark (see program.ts), so one dump filtered by the instance bits finds every
 * flow of this node, and the reply direction's source names the backend.
 */
import type { CommandRunner } from './commands.js';
import { CommandError } from './commands.js';

export interface TrackedFlow {
  mark: number;
  protocol: 'tcp' | 'udp';
  /** TCP state (ESTABLISHED, TIME_WAIT, …); '' for UDP. */
  state: string;
  /** The backend: the source of the reply direction. */
  backendHost: string;
  backendPort: number;
}

/** Parses `conntrack -L` text (pure). Lines of other protocols are skipped. */
export function parseConntrack(text: string): TrackedFlow[] {
  const flows: TrackedFlow[] = [];
  for (const line of text.split('\n')) {
    const protocol = line.startsWith('tcp ') ? 'tcp' : line.startsWith('udp ') ? 'udp' : undefined;
    if (!protocol) continue;
    const fields = line.split(/\s+/);
    let state = '';
    if (protocol === 'tcp') state = fields[3] ?? '';
    const src: string[] = [];
    const sport: string[] = [];
    let mark = 0;
    for (const f of fields) {
      if (f.startsWith('src=')) src.push(f.slice(4));
      else if (f.startsWith('sport=')) sport.push(f.slice(6));
      else if (f.startsWith('mark=')) mark = Number(f.slice(5)) >>> 0;
    }
    if (src.length < 2 || sport.length < 2) continue;
    flows.push({ mark, protocol, state, backendHost: src[1], backendPort: Number(sport[1]) });
  }
  return flows;
}

/** True when the flow counts as an open connection (a TCP flow past its FIN does not). */
export function isActive(flow: TrackedFlow): boolean {
  return flow.protocol === 'udp' || flow.state === 'ESTABLISHED' || flow.state === 'SYN_SENT' || flow.state === 'SYN_RECV';
}

/** conntrack exits 1 when a filter matched nothing; that is an empty answer, not a failure. */
async function tolerant(runner: CommandRunner, args: string[]): Promise<string> {
  try {
    return await runner.run('conntrack', args);
  } catch (err) {
    if (err instanceof CommandError && err.exitCode === 1) return err.stdout;
    throw err;
  }
}

/** Every flow whose mark matches `value` under `mask`. */
export async function listFlows(runner: CommandRunner, value: number, mask: number): Promise<TrackedFlow[]> {
  const text = await tolerant(runner, ['-L', '--mark', `${value >>> 0}/${mask >>> 0}`]);
  return parseConntrack(text);
}

/**
 * Forgets every flow whose mark matches `value` under `mask` (all of a node's flows). Their
 * connections are cut: the next TCP packet finds no flow and is refused.
 */
export async function forgetFlows(runner: CommandRunner, value: number, mask: number): Promise<void> {
  await tolerant(runner, ['-D', '--mark', `${value >>> 0}/${mask >>> 0}`]);
}

/**
 * Cuts a listener's flows (to one backend, when given): conntrack forgets them, and with
 * nf_conntrack_tcp_loose=0 the next packet of such a TCP flow is answered with a reset.
 */
export async function deleteFlows(
  runner: CommandRunner,
  mark: number,
  protocol: 'tcp' | 'udp',
  backend?: { host: string; port: number | undefined },
): Promise<void> {
  const args = ['-D', '--mark', `${mark >>> 0}`, '-p', protocol];
  if (backend) args.push('--reply-src', backend.host);
  if (backend?.port !== undefined) args.push('--reply-port-src', String(backend.port));
  await tolerant(runner, args);
}
