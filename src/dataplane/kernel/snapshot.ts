/**
 * What the kernel engine is asked to run: plain data, no I/O. The reconciler builds it from the
 * desired listeners and the health-filtered backend sets; `program.ts` turns it into nftables
 * objects.
 */

import type { KernelScheduler } from '../../domain/schedulers.js';

export interface KernelBackend {
  /** `ip:port`, the same key the user-space engine's Maglev table is built from. */
  key: string;
  host: string;
  port: number;
  weight: number;
}

export interface KernelGroup {
  id: string;
  scheduler: KernelScheduler;
  /** Backends that may take new flows now (healthy with weight > 0, or all with weight > 0: fail open). */
  backends: KernelBackend[];
}

export interface KernelListener {
  id: string;
  protocol: 'tcp' | 'udp';
  /** Every address the listener serves (one per zone, possibly more). IPv4. */
  vips: string[];
  portFrom: number;
  portTo: number;
  /** Port-range and any-port listeners: the backend is reached on the port the client used. */
  keepPort: boolean;
  groupId: string;
  /** PreserveClientIpEnabled=false: the backend sees the VIP as the source (full NAT). */
  fullNat: boolean;
  idleTimeoutS: number;
  /** New connections per second; 0 = unlimited. */
  cps: number;
  /** TCP MSS clamp on SYNs; 0 = off. */
  mss: number;
  /** Fault injection: the share (0–1) of new TCP connections refused with a reset; absent = none. */
  dropShare?: number;
}

export interface KernelSnapshot {
  listeners: KernelListener[];
  groups: KernelGroup[];
}
