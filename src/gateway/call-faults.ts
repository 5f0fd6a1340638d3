/**
 * What the pipeline asks of fault injection, as an interface the gateway owns: src/faults
 * implements it (FaultInjector), so the gateway does not depend on the faults module that
 * itself answers with the gateway's errors.
 */
import type { Transaction } from 'kysely';
import type { CallFacts } from '../domain/fault-rules.js';
import type { Schema } from '../store/schema.js';

/** What the fired rules of one call ask for. */
export interface CallFaultPlan {
  /** Throws the error to answer before the call does anything. */
  throwBefore(): void;
  /** Inside the mutation's transaction: fail or hold the jobs this change created. */
  inTransaction(tx: Transaction<Schema>, revision: number, now: number): Promise<void>;
  /** After the commit: the error that hides the committed change from the caller. */
  throwAfter(): void;
  delay(): Promise<void>;
}

export interface CallFaults {
  /** The plan for one call, or undefined when no rule fires. */
  plan(call: CallFacts, requestId: string): Promise<CallFaultPlan | undefined>;
}
