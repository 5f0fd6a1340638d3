/** API counters and latency, exposed on the admin listener's /metrics. */
import { Counter, Histogram, type Registry } from 'prom-client';

export class ApiMetrics {
  readonly requests: Counter<'product' | 'action' | 'code'>;
  readonly latency: Histogram<'product' | 'action'>;

  constructor(readonly registry: Registry) {
    this.requests = new Counter({
      name: 'openslb_api_requests_total',
      help: 'API calls answered, by product, action and result code (Success for 2xx).',
      labelNames: ['product', 'action', 'code'],
      registers: [registry],
    });
    this.latency = new Histogram({
      name: 'openslb_api_request_duration_seconds',
      help: 'Time from request received to reply sent, by product and action.',
      labelNames: ['product', 'action'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    });
  }

  observe(product: string, action: string, code: string, seconds: number): void {
    this.requests.inc({ product, action, code });
    this.latency.observe({ product, action }, seconds);
  }
}
