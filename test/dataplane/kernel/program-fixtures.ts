/** Snapshot pieces for the pure nftables-program tests (no kernel involved). */
import { TagBook } from '../../../src/dataplane/kernel/program.js';
import type { KernelListener } from '../../../src/dataplane/kernel/snapshot.js';

export const backend = (host: string, weight = 100) => ({ key: `${host}:8080`, host, port: 8080, weight });

/** A plain TCP listener on 10.0.0.10:80 of group `sg`; `over` changes any field. */
export function kernelListener(id: string, over: Partial<KernelListener> = {}): KernelListener {
  return {
    id,
    protocol: 'tcp',
    vips: ['10.0.0.10'],
    portFrom: 80,
    portTo: 80,
    keepPort: false,
    groupId: 'sg',
    fullNat: false,
    idleTimeoutS: 900,
    cps: 0,
    mss: 0,
    ...over,
  };
}

/** Fresh listener and group tag books, as the engine keeps one of each. */
export function tagsOf() {
  const l = new TagBook();
  const g = new TagBook();
  return { listener: (id: string) => l.get(id), group: (id: string) => g.get(id) };
}
