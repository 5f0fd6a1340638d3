/**
 * An API action is data: its parameter declaration, what RAM checks it against, and one
 * handler that receives typed, validated input (DESIGN rule 2).
 */
import type { Kysely, Transaction } from 'kysely';
import type { Config, RegionConfig } from '../config/config.js';
import type { Store } from '../store/store.js';
import type { Schema } from '../store/schema.js';
import type { Clock } from '../util/clock.js';
import type { DecodedFields, Fields } from './params/spec.js';

export type ProductName = 'nlb' | 'gwlb' | 'cas';

export interface Caller {
  accessKeyId: string;
  /** `root` or the RAM user's name. */
  owner: string;
  isRoot: boolean;
}

export interface ActionContext {
  requestId: string;
  product: ProductName;
  action: string;
  region: RegionConfig;
  accountId: string;
  caller: Caller;
  config: Config;
  clock: Clock;
  store: Store;
  /** Reads: the database. Writes: the one transaction the whole mutation runs in. */
  db: Kysely<Schema> | Transaction<Schema>;
  /** For writes: the revision this mutation commits as. */
  revision: number;
  /** The request's ClientToken, or its RequestId when none was sent (as the cloud does). */
  clientToken: string;
  /**
   * Before a read reports statuses: lets the job runner settle the jobs the data plane has
   * applied (the runner's write, in its own transaction; see "Reads settle finished jobs" in
   * the README). Never throws: a read answers from committed rows if that pass fails.
   */
  refreshJobs: () => Promise<unknown>;
}

/** A resource the action is authorised against, as RAM's `<type>/<id>` (id `*` for any). */
export type AuthResource = readonly [type: string, id: string];

export interface ActionDef<F extends Fields = Fields> {
  name: string;
  params: F;
  /** Writes run in one store transaction that bumps the revision; reads run outside one. */
  mode: 'read' | 'write';
  /** Accepts `ClientToken` (idempotent replay for writes). */
  clientToken?: boolean;
  /** Accepts `DryRun`: validate everything, then answer DryRunOperation and change nothing. */
  dryRun?: boolean;
  /** The action is not regional (e.g. DescribeRegions): a RegionId parameter is ignored. */
  global?: boolean;
  /** RAM resources for this call; none means the action has no resource-level permission. */
  authResources?: (input: DecodedFields<F>) => AuthResource[];
  handler: (input: DecodedFields<F>, ctx: ActionContext) => Promise<Record<string, unknown>>;
}

export function defineAction<F extends Fields>(def: ActionDef<F>): ActionDef<F> {
  return def;
}

export interface Product {
  name: ProductName;
  version: string;
  /** Used for HostId and RegionEndpoint: `<hostPrefix>.<region>.aliyuncs.com`. */
  hostPrefix: string;
  /** Name used in troubleshooting links (`product=Nlb`). */
  displayName: string;
  actions: ReadonlyMap<string, ActionDef<any>>;
}

export function makeProduct(name: ProductName, version: string, displayName: string, actions: ReadonlyArray<ActionDef<any>>): Product {
  const map = new Map<string, ActionDef<any>>();
  for (const action of actions) {
    if (map.has(action.name)) throw new Error(`${name}: action ${action.name} declared twice`);
    map.set(action.name, action);
  }
  return { name, version, hostPrefix: name, displayName, actions: map };
}
