/**
 * Several reconcilers as one (a node runs NLB and GWLB side by side). Each applies every
 * revision; their observations are concatenated. When one fails, the others still apply, and
 * the first error is thrown afterwards so the node retries the revision (reconcilers are
 * idempotent). `close()` closes them all, in reverse order.
 */
import type { Observation, Reconciler } from './node.js';

export class CompositeReconciler implements Reconciler {
  private readonly parts: readonly Reconciler[];

  constructor(parts: readonly Reconciler[]) {
    this.parts = [...parts];
  }

  async apply(revision: number): Promise<Observation[]> {
    const observations: Observation[] = [];
    let failure: unknown;
    let failed = false;
    for (const part of this.parts) {
      try {
        observations.push(...(await part.apply(revision)));
      } catch (err) {
        if (!failed) failure = err;
        failed = true;
      }
    }
    if (failed) throw failure;
    return observations;
  }

  async close(): Promise<void> {
    let failure: unknown;
    let failed = false;
    for (const part of [...this.parts].reverse()) {
      try {
        await part.close();
      } catch (err) {
        if (!failed) failure = err;
        failed = true;
      }
    }
    if (failed) throw failure;
  }
}

export function compositeReconciler(...parts: Reconciler[]): CompositeReconciler {
  return new CompositeReconciler(parts);
}
