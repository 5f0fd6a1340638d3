/**
 * The backends one listener may send new flows to, as the data plane sees them: addresses,
 * the scheduler's choice, and live connection counts (for Wlc and for reporting).
 */
export type { FlowInfo } from '../balancing/schedulers.js';
import type { FlowInfo } from '../balancing/schedulers.js';

export interface BackendTarget {
  /** Stable identity: `<ip>:<port>` of the server as configured. */
  readonly key: string;
  readonly host: string;
  readonly port: number;
  /** Stable slot for connection counting, valid across pool rebuilds. */
  readonly slot: number;
}

export interface UpstreamPool {
  /** The backend for a new flow; undefined when the group has none to offer. */
  pick(flow: FlowInfo): BackendTarget | undefined;
  /** After a failed connect to `first`: the `attempt`-th alternative (1, 2, …); undefined when exhausted. */
  retry(flow: FlowInfo, first: BackendTarget, attempt: number): BackendTarget | undefined;
  opened(target: BackendTarget): void;
  closed(target: BackendTarget): void;
}
