/**
 * What happens to resources when a job finishes. Handlers record these with the job, in the
 * same transaction as the change itself, so a crash can never leave a job without its outcome.
 */
export type JobEffect =
  | { op: 'setStatus'; id: string; status: string }
  | { op: 'patch'; id: string; patch: Record<string, unknown> }
  | { op: 'delete'; id: string };

export interface JobOutcome {
  onSuccess: JobEffect[];
  onFailure: JobEffect[];
  /** Set by a fault rule: the job fails with this code and message whatever the data plane says. */
  forcedFailure?: { code: string; message: string };
}
