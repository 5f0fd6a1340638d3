/**
 * /metrics of a primary with data-plane workers: one exposition for all processes. Counters
 * and the per-listener gauges add up across workers (prom-client's default), gauges with their
 * own reduction say so (`aggregator`), and the numbers that describe one process (its memory,
 * file descriptors, start time, event loop) keep one series per process, labelled `worker`
 * ("primary" or the worker's slot): summed they would mean nothing, and prom-client would drop
 * `process_start_time_seconds` altogether.
 */
import { AggregatorRegistry, type MetricObjectWithValues, type MetricValue } from 'prom-client';

type MetricJson = MetricObjectWithValues<MetricValue<string>>;

const PER_PROCESS = /^openslb_(process|nodejs)_/;

function labelled(metrics: MetricJson[], worker: string): MetricJson[] {
  return metrics.map((m) =>
    PER_PROCESS.test(m.name) ? { ...m, aggregator: 'sum', values: m.values.map((v) => ({ ...v, labels: { ...v.labels, worker } })) } : m,
  );
}

export async function clusterMetricsText(primary: MetricJson[], workers: Array<{ slot: number; metrics: object[] }>): Promise<string> {
  const all = [labelled(primary, 'primary'), ...workers.map((w) => labelled(w.metrics as MetricJson[], String(w.slot)))];
  return AggregatorRegistry.aggregate(all).metrics();
}
