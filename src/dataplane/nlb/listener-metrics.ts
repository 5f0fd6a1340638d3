/**
 * Per-listener counters, plain numbers bumped on the hot path; the Prometheus collector reads
 * them only when scraped, so no label lookups happen per connection or per packet.
 */
export interface ListenerCounters {
  activeConnections: number;
  newConnections: number;
  droppedCps: number;
  droppedNoBackend: number;
  bytesIn: number;
  bytesOut: number;
  udpSessions: number;
  /** Datagrams from new clients dropped because the listener was at its UDP session cap. */
  droppedUdpSessionCap: number;
  udpPacketsIn: number;
  udpPacketsOut: number;
  /** TCPSSL: TLS handshakes that failed (no backend was opened for them). */
  tlsHandshakeFailures: number;
}

export function newListenerCounters(): ListenerCounters {
  return {
    activeConnections: 0,
    newConnections: 0,
    droppedCps: 0,
    droppedNoBackend: 0,
    bytesIn: 0,
    bytesOut: 0,
    udpSessions: 0,
    droppedUdpSessionCap: 0,
    udpPacketsIn: 0,
    udpPacketsOut: 0,
    tlsHandshakeFailures: 0,
  };
}
