/**
 * One stored resource as both the API and the data plane see it: a row of the `resources`
 * table with its document (`body`) parsed. Every write stamps the row with the revision it
 * commits as, which is what lets the data plane refresh only what moved.
 */

export interface Resource<B> {
  id: string;
  product: string;
  kind: string;
  regionId: string;
  parentId: string | null;
  status: string;
  body: B;
  createdAt: number;
  updatedAt: number;
  revision: number;
}

export interface NewResource<B> {
  id: string;
  product: string;
  kind: string;
  regionId: string;
  parentId?: string | null;
  status: string;
  body: B;
}

/** The time and revision a write happens at: `ctx.clock.now()` and `ctx.revision`. */
export interface WriteStamp {
  now: number;
  revision: number;
}
