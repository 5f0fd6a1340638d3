/**
 * The Prometheus registry of one process, with the process and Node.js runtime metrics every
 * process exposes (API primary and data-plane workers alike); API metrics (api-metrics.ts) and
 * data-plane metrics (src/dataplane/metrics) register into it.
 */
import { Registry, collectDefaultMetrics } from 'prom-client';

export function newRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'openslb_' });
  // prom-client names three gauges `*_total`, which Prometheus reserves for counters (promtool
  // rejects them); its openslb_nodejs_active_resources{type} says the same, correctly named.
  for (const name of ['active_handles', 'active_requests', 'active_resources']) registry.removeSingleMetric(`openslb_nodejs_${name}_total`);
  return registry;
}
