/**
 * The status machine of each resource, as data. A change moves a resource into a transitional
 * status at once (in the API call's transaction) and starts a job; when every live data-plane
 * node has applied the change the job settles it in the success status, and if a node could not
 * the failure status. `bound` lists the statuses in which the data plane runs the resource —
 * the transitional ones included, since a job only settles once the data plane runs the change.
 *
 * The API (products/) writes statuses by these tables and the data plane (dataplane/) reads
 * `bound` from them, so the two can never disagree about what a status means.
 */

/** Where a job leaves a resource: a status, the status it had before the change, or deleted. */
export type Outcome = { status: string } | 'previous' | 'gone';

export interface Transition {
  /** The status while the data plane takes the change on. */
  via: string;
  onSuccess: Outcome;
  onFailure: Outcome;
}

export interface StatusMachine<T extends string> {
  transitions: Readonly<Record<T, Transition>>;
  /** Statuses in which the resource rests between changes and accepts the next one (no job is settling it). */
  settled: ReadonlySet<string>;
  /** Statuses whose resource the data plane runs (for the kinds the data plane filters by status). */
  bound?: ReadonlySet<string>;
}

const to = (status: string): Outcome => ({ status });

/** The status a transition settles in, given the status before it; null: the resource is deleted. */
export function settle(outcome: Outcome, previous: string): string | null {
  if (outcome === 'gone') return null;
  if (outcome === 'previous') return previous;
  return outcome.status;
}

// --- NLB (2022-04-30) ------------------------------------------------------------------------

export const NLB_LOAD_BALANCER = {
  transitions: {
    // A load balancer the data plane could not take on stays, as CreateFailed, until deleted.
    create: { via: 'Provisioning', onSuccess: to('Active'), onFailure: to('CreateFailed') },
    configure: { via: 'Configuring', onSuccess: to('Active'), onFailure: to('Active') },
    // Its listeners are deleted with it (each through NLB_LISTENER's delete).
    delete: { via: 'Deleting', onSuccess: 'gone', onFailure: 'previous' },
  },
  // Changes to an NLB and to what hangs off it wait for Active; deleting also takes Inactive
  // and CreateFailed (see DeleteLoadBalancer).
  settled: new Set(['Active']),
  // Inactive: listeners do not forward.
  bound: new Set(['Active', 'Configuring']),
} as const satisfies StatusMachine<string>;

export const NLB_LISTENER = {
  transitions: {
    // A listener whose port the data plane could not bind exists but forwards nothing: Stopped.
    create: { via: 'Provisioning', onSuccess: to('Running'), onFailure: to('Stopped') },
    // A stopped listener stays stopped: reconfiguring it does not start it.
    configure: { via: 'Configuring', onSuccess: 'previous', onFailure: 'previous' },
    start: { via: 'Starting', onSuccess: to('Running'), onFailure: to('Stopped') },
    stop: { via: 'Stopping', onSuccess: to('Stopped'), onFailure: to('Running') },
    delete: { via: 'Deleting', onSuccess: 'gone', onFailure: 'previous' },
  },
  settled: new Set(['Running', 'Stopped']),
  bound: new Set(['Running', 'Provisioning', 'Configuring', 'Starting']),
} as const satisfies StatusMachine<string>;

export const NLB_SERVER_GROUP = {
  transitions: {
    // A group the data plane could not take on is not left behind half-made.
    create: { via: 'Creating', onSuccess: to('Available'), onFailure: 'gone' },
    configure: { via: 'Configuring', onSuccess: to('Available'), onFailure: to('Available') },
  },
  settled: new Set(['Available']),
} as const satisfies StatusMachine<string>;

export const NLB_SECURITY_POLICY = {
  transitions: {
    // The policy itself is valid either way; a node that failed to apply it shows in the job.
    create: { via: 'Configuring', onSuccess: to('Available'), onFailure: to('Available') },
    configure: { via: 'Configuring', onSuccess: to('Available'), onFailure: to('Available') },
  },
  settled: new Set(['Available']),
} as const satisfies StatusMachine<string>;

// --- GWLB (2024-04-15) -----------------------------------------------------------------------
// GWLB answers no JobId, but every change still settles through a job (see products/gwlb/transitions.ts).
// Load balancers and server groups are deleted at once (nothing of theirs is bound by then).

export const GWLB_LOAD_BALANCER = {
  transitions: {
    create: { via: 'Provisioning', onSuccess: to('Active'), onFailure: 'gone' },
    configure: { via: 'Configuring', onSuccess: 'previous', onFailure: 'previous' },
  },
  settled: new Set(['Active']),
  // Inactive: listeners do not forward.
  bound: new Set(['Active', 'Configuring']),
} as const satisfies StatusMachine<string>;

export const GWLB_LISTENER = {
  transitions: {
    create: { via: 'Provisioning', onSuccess: to('Running'), onFailure: 'gone' },
    configure: { via: 'Configuring', onSuccess: 'previous', onFailure: 'previous' },
    delete: { via: 'Deleting', onSuccess: 'gone', onFailure: 'previous' },
  },
  settled: new Set(['Running']),
  bound: new Set(['Running', 'Provisioning', 'Configuring']),
} as const satisfies StatusMachine<string>;

export const GWLB_SERVER_GROUP = {
  transitions: {
    create: { via: 'Creating', onSuccess: to('Available'), onFailure: 'gone' },
    configure: { via: 'Configuring', onSuccess: 'previous', onFailure: 'previous' },
  },
  settled: new Set(['Available']),
} as const satisfies StatusMachine<string>;

/**
 * A GWLB server (an appliance in a server group's document, not a resource row of its own):
 * the statuses in which it may take new flows, health permitting. Draining and Removing
 * servers keep their existing flows only.
 */
export const GWLB_SERVER_SERVING_STATUSES: ReadonlySet<string> = new Set(['Adding', 'Available', 'Replacing', 'Configuring']);
