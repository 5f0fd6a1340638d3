/**
 * GWLB data-plane metrics, read from the forwarders' plain counters when Prometheus scrapes
 * (the hot path only bumps numbers, never a labelled metric).
 *
 *   openslb_gwlb_packets_total{listener,direction}        direction: from_endpoint, to_appliance,
 *   openslb_gwlb_bytes_total{listener,direction}                     from_appliance, to_endpoint
 *   openslb_gwlb_active_flows{listener}
 *   openslb_gwlb_flows_total{listener,event}              event: created, expired, evicted, rescheduled
 *   openslb_gwlb_dropped_packets_total{listener,source,reason}   source: endpoint, appliance
 *   openslb_gwlb_appliance_packets_total{server_group,appliance,direction}   to_appliance, from_appliance
 *   openslb_gwlb_appliance_bytes_total{server_group,appliance,direction}
 *   openslb_gwlb_appliance_active_flows{server_group,appliance}
 *   openslb_gwlb_appliance_healthy{server_group,appliance}   1: may take new flows
 *
 * Bytes are UDP payload bytes (the whole GENEVE datagram).
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import { DROP_REASONS } from '../gwlb/forwarder.js';
import type { GwlbReconciler } from '../gwlb/reconciler.js';

export function registerGwlbMetrics(registry: Registry, gwlb: GwlbReconciler): void {
  new Counter({
    name: 'openslb_gwlb_packets_total',
    help: 'GENEVE datagrams per GWLB listener and direction.',
    labelNames: ['listener', 'direction'],
    registers: [registry],
    async collect() {
      await gwlb.refreshStats();
      this.reset();
      for (const l of gwlb.listenerStats()) {
        const c = l.counters;
        this.inc({ listener: l.listenerId, direction: 'from_endpoint' }, c.packetsFromEndpoints);
        this.inc({ listener: l.listenerId, direction: 'to_appliance' }, c.packetsToAppliances);
        this.inc({ listener: l.listenerId, direction: 'from_appliance' }, c.packetsFromAppliances);
        this.inc({ listener: l.listenerId, direction: 'to_endpoint' }, c.packetsToEndpoints);
      }
    },
  });
  new Counter({
    name: 'openslb_gwlb_bytes_total',
    help: 'GENEVE bytes (UDP payload) per GWLB listener and direction.',
    labelNames: ['listener', 'direction'],
    registers: [registry],
    async collect() {
      await gwlb.refreshStats();
      this.reset();
      for (const l of gwlb.listenerStats()) {
        const c = l.counters;
        this.inc({ listener: l.listenerId, direction: 'from_endpoint' }, c.bytesFromEndpoints);
        this.inc({ listener: l.listenerId, direction: 'to_appliance' }, c.bytesToAppliances);
        this.inc({ listener: l.listenerId, direction: 'from_appliance' }, c.bytesFromAppliances);
        this.inc({ listener: l.listenerId, direction: 'to_endpoint' }, c.bytesToEndpoints);
      }
    },
  });
  new Gauge({
    name: 'openslb_gwlb_active_flows',
    help: 'Flows in the GWLB listener flow table now.',
    labelNames: ['listener'],
    registers: [registry],
    async collect() {
      await gwlb.refreshStats();
      this.reset();
      for (const l of gwlb.listenerStats()) this.set({ listener: l.listenerId }, l.activeFlows);
    },
  });
  new Counter({
    name: 'openslb_gwlb_flows_total',
    help: 'GWLB flow-table events per listener: created, expired (idle), evicted (table full), rescheduled (moved off their appliance).',
    labelNames: ['listener', 'event'],
    registers: [registry],
    async collect() {
      await gwlb.refreshStats();
      this.reset();
      for (const l of gwlb.listenerStats()) {
        this.inc({ listener: l.listenerId, event: 'created' }, l.flowsCreated);
        this.inc({ listener: l.listenerId, event: 'expired' }, l.flowsExpired);
        this.inc({ listener: l.listenerId, event: 'evicted' }, l.flowsEvicted);
        this.inc({ listener: l.listenerId, event: 'rescheduled' }, l.counters.flowsRescheduled);
      }
    },
  });
  new Counter({
    name: 'openslb_gwlb_dropped_packets_total',
    help: 'GENEVE datagrams the GWLB dropped, per listener, where they came from and why.',
    labelNames: ['listener', 'source', 'reason'],
    registers: [registry],
    async collect() {
      await gwlb.refreshStats();
      this.reset();
      for (const l of gwlb.listenerStats()) {
        for (let i = 0; i < DROP_REASONS.length; i++) {
          this.inc({ listener: l.listenerId, source: 'endpoint', reason: DROP_REASONS[i] }, l.counters.endpointDrops[i]);
          this.inc({ listener: l.listenerId, source: 'appliance', reason: DROP_REASONS[i] }, l.counters.applianceDrops[i]);
        }
      }
    },
  });
  new Counter({
    name: 'openslb_gwlb_appliance_packets_total',
    help: 'GENEVE datagrams sent to and received from each appliance.',
    labelNames: ['server_group', 'appliance', 'direction'],
    registers: [registry],
    async collect() {
      await gwlb.refreshStats();
      this.reset();
      for (const a of gwlb.applianceStats()) {
        this.inc({ server_group: a.serverGroupId, appliance: a.appliance, direction: 'to_appliance' }, a.counters.packetsTo);
        this.inc({ server_group: a.serverGroupId, appliance: a.appliance, direction: 'from_appliance' }, a.counters.packetsFrom);
      }
    },
  });
  new Counter({
    name: 'openslb_gwlb_appliance_bytes_total',
    help: 'GENEVE bytes (UDP payload) sent to and received from each appliance.',
    labelNames: ['server_group', 'appliance', 'direction'],
    registers: [registry],
    async collect() {
      await gwlb.refreshStats();
      this.reset();
      for (const a of gwlb.applianceStats()) {
        this.inc({ server_group: a.serverGroupId, appliance: a.appliance, direction: 'to_appliance' }, a.counters.bytesTo);
        this.inc({ server_group: a.serverGroupId, appliance: a.appliance, direction: 'from_appliance' }, a.counters.bytesFrom);
      }
    },
  });
  new Gauge({
    name: 'openslb_gwlb_appliance_active_flows',
    help: 'Flows pinned to each appliance now (over every listener using its server group).',
    labelNames: ['server_group', 'appliance'],
    registers: [registry],
    async collect() {
      await gwlb.refreshStats();
      this.reset();
      for (const a of gwlb.applianceStats()) this.set({ server_group: a.serverGroupId, appliance: a.appliance }, a.counters.activeFlows);
    },
  });
  new Gauge({
    name: 'openslb_gwlb_appliance_healthy',
    help: '1 when an appliance may take new flows (healthy, or health check off, and not being removed), else 0.',
    labelNames: ['server_group', 'appliance'],
    registers: [registry],
    // A state, not an amount: never added up across worker processes.
    aggregator: 'min',
    async collect() {
      await gwlb.refreshStats();
      this.reset();
      for (const a of gwlb.applianceStats()) this.set({ server_group: a.serverGroupId, appliance: a.appliance }, a.healthy ? 1 : 0);
    },
  });
}
