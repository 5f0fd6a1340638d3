/**
 * NLB data-plane metrics (listeners and backend servers of both engines), read from the runtime's plain counters when Prometheus scrapes: the hot
 * path only bumps numbers, never a labelled metric.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { NlbReconciler } from '../nlb/reconciler.js';

type ListenerField =
  | 'activeConnections'
  | 'newConnections'
  | 'droppedCps'
  | 'droppedNoBackend'
  | 'bytesIn'
  | 'bytesOut'
  | 'udpSessions'
  | 'droppedUdpSessionCap'
  | 'tlsHandshakeFailures';

/** Monotonic per-listener numbers: Prometheus counters (rate() needs the type). */
const LISTENER_COUNTERS: Array<[string, ListenerField, string]> = [
  ['openslb_listener_connections_total', 'newConnections', 'Connections accepted, per listener.'],
  ['openslb_listener_dropped_cps_total', 'droppedCps', 'Connections refused by the listener Cps limit.'],
  ['openslb_listener_dropped_no_backend_total', 'droppedNoBackend', 'Connections or datagrams dropped for want of a reachable backend.'],
  ['openslb_listener_bytes_in_total', 'bytesIn', 'Bytes received from clients.'],
  ['openslb_listener_bytes_out_total', 'bytesOut', 'Bytes sent back to clients.'],
  [
    'openslb_listener_dropped_udp_session_cap_total',
    'droppedUdpSessionCap',
    'Datagrams from new UDP clients dropped at the listener session cap.',
  ],
  ['openslb_listener_tls_handshake_failures_total', 'tlsHandshakeFailures', 'TLS handshakes that failed on a TCPSSL listener.'],
];

/**
 * Gauges summed across worker processes (each worker holds its own share of the connections);
 * `only` limits a gauge to the listeners it means something for.
 */
const LISTENER_GAUGES: Array<[string, ListenerField, string, string?]> = [
  ['openslb_listener_active_connections', 'activeConnections', 'Connections open now, per listener.'],
  ['openslb_listener_udp_sessions', 'udpSessions', 'UDP sessions open now, per UDP listener.', 'UDP'],
];

export function registerDataPlaneMetrics(registry: Registry, nlb: NlbReconciler): void {
  new Gauge({
    name: 'openslb_listener_engine',
    help: 'Which engine forwards the listener on this node: kernel (nftables + conntrack) or userspace (Node).',
    labelNames: ['listener', 'engine'],
    registers: [registry],
    collect() {
      this.reset();
      for (const l of nlb.listenerEngines()) this.set({ listener: l.listenerId, engine: l.engine }, 1);
    },
  });
  for (const [name, field, help] of LISTENER_COUNTERS) {
    new Counter({
      name,
      help,
      labelNames: ['listener', 'protocol'],
      registers: [registry],
      async collect() {
        // The runtimes keep the running totals (the kernel engine reads its nft counters here).
        await nlb.refreshMetrics();
        this.reset();
        for (const l of nlb.listenerCounters()) this.inc({ listener: l.listenerId, protocol: l.protocol }, l.counters[field]);
      },
    });
  }
  for (const [name, field, help, only] of LISTENER_GAUGES) {
    new Gauge({
      name,
      help,
      labelNames: ['listener', 'protocol'],
      registers: [registry],
      async collect() {
        await nlb.refreshMetrics();
        this.reset();
        for (const l of nlb.listenerCounters()) {
          if (only === undefined || l.protocol === only) this.set({ listener: l.listenerId, protocol: l.protocol }, l.counters[field]);
        }
      },
    });
  }
  new Gauge({
    name: 'openslb_server_active_connections',
    help: 'Connections (or UDP sessions) open to each backend server now.',
    labelNames: ['server_group', 'server'],
    registers: [registry],
    async collect() {
      await nlb.refreshMetrics();
      this.reset();
      for (const s of nlb.serverConnections()) this.set({ server_group: s.serverGroupId, server: s.server }, s.active);
    },
  });
  new Gauge({
    name: 'openslb_server_healthy',
    help: '1 when a backend server may receive new flows (healthy, or health check off), else 0; across workers, 0 if any worker sees it down.',
    labelNames: ['server_group', 'server'],
    registers: [registry],
    // Each worker health-checks on its own: a sum would say 2 for "healthy".
    aggregator: 'min',
    collect() {
      this.reset();
      for (const s of nlb.serverConnections()) this.set({ server_group: s.serverGroupId, server: s.server }, s.healthy ? 1 : 0);
    },
  });
}
