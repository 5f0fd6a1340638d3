/**
 * The backends one listener may send new flows to, as the data plane sees them: addresses,
 * the scheduler's choice, and live connection counts (for Wlc and for reporting).
 */
export interface FlowInfo {
  srcIp: string;
  srcPort: number;
  dstIp: string;
  dstPort: number;
  /** The first datagram of a UDP session (QUIC connection IDs are read from it). */
  firstPacket?: Buffer;
}

export interface BackendTarget {
  /** Stable identity: `<ip>:<port>` of the server as configured. */
  key: string;
  host: string;
  port: number;
}

export interface UpstreamPool {
  /** How many backends a connection may try in turn. */
  readonly size: number;
  /** The backend for a new flow; `attempt` > 0 asks for another one after a failed connect. -1: none. */
  pick(flow: FlowInfo, attempt: number): number;
  target(index: number): BackendTarget;
  opened(index: number): void;
  closed(index: number): void;
}
