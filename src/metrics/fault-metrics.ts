/** `openslb_faults_injected_total`: every fault a rule injected, API and data plane alike. */
import { Counter, type Registry } from 'prom-client';

export type FaultCounter = Counter<'rule' | 'effect'>;

const counters = new WeakMap<Registry, FaultCounter>();

/** One counter per registry, shared by the gateway's injector and the data plane's faults. */
export function faultCounter(registry: Registry): FaultCounter {
  let counter = counters.get(registry);
  if (!counter) {
    counter = new Counter({
      name: 'openslb_faults_injected_total',
      help: 'Faults injected by fault rules, by rule ID and effect (data-plane effects: per failed probe, per dropped connection).',
      labelNames: ['rule', 'effect'],
      registers: [registry],
    });
    counters.set(registry, counter);
  }
  return counter;
}
