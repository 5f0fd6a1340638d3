/**
 * The scheduler enum: what a server group's `Scheduler` may say, as the API accepts it and as
 * the data plane runs it. Declared once so the API cannot accept a name the engines do not run,
 * and the kernel engine cannot claim a name it cannot express.
 */

/** Every scheduler the data plane runs, in its canonical spelling. */
export type SchedulerName = 'Wrr' | 'Rr' | 'Wlc' | 'Sch' | 'Tch' | 'Qch' | '5TCH' | '3TCH' | '2TCH';

export const SCHEDULER_NAMES: readonly SchedulerName[] = ['Wrr', 'Rr', 'Wlc', 'Sch', 'Tch', 'Qch', '5TCH', '3TCH', '2TCH'];

/** The canonical spelling of a scheduler name (any casing), or undefined when it is not one. */
export function normalizeSchedulerName(name: string): SchedulerName | undefined {
  const lower = name.toLowerCase();
  for (const n of SCHEDULER_NAMES) if (n.toLowerCase() === lower) return n;
  return undefined;
}

/**
 * NLB server groups, spelled as the reference spells them (`Wrr`, but `rr`, `sch` …); the API
 * accepts any casing and keeps the one sent.
 */
export const NLB_SCHEDULERS = ['Wrr', 'Wlc', 'rr', 'sch', 'tch', 'qch'] as const;
export const NLB_DEFAULT_SCHEDULER = 'Wrr';

/** GWLB server groups: symmetric 5-, 3- or 2-tuple hashing. */
export const GWLB_SCHEDULERS = ['5TCH', '3TCH', '2TCH'] as const;
export type GwlbSchedulerName = (typeof GWLB_SCHEDULERS)[number];
export const GWLB_DEFAULT_SCHEDULER: GwlbSchedulerName = '5TCH';

/** The GWLB scheduler a stored name means (any casing); the default when it names none. */
export function gwlbScheduler(name: string | undefined): GwlbSchedulerName {
  const upper = (name ?? '').toUpperCase();
  return GWLB_SCHEDULERS.find((n) => n === upper) ?? GWLB_DEFAULT_SCHEDULER;
}

/** Schedulers nftables can express (numgen / jhash maps). `Qch` needs the QUIC payload: user space. */
export type KernelScheduler = Extract<SchedulerName, 'Wrr' | 'Rr' | 'Wlc' | 'Sch' | 'Tch'>;
const KERNEL_SCHEDULERS: ReadonlySet<SchedulerName> = new Set<KernelScheduler>(['Wrr', 'Rr', 'Wlc', 'Sch', 'Tch']);

/** The kernel spelling of a scheduler name, or undefined when only user space can run it. */
export function kernelScheduler(name: string): KernelScheduler | undefined {
  const canonical = normalizeSchedulerName(name);
  return canonical && KERNEL_SCHEDULERS.has(canonical) ? (canonical as KernelScheduler) : undefined;
}
