/**
 * The store's tables, as Kysely sees them. Both engines (SQLite, PostgreSQL) hold the same
 * shape: JSON documents are TEXT, times are epoch milliseconds (BIGINT on PostgreSQL, parsed
 * back to numbers), booleans are 0/1 integers.
 */

export interface MetaTable {
  key: string;
  value: string;
}

/** One row (id = 1): bumped by every committed mutation, in the same transaction. */
export interface RevisionTable {
  id: number;
  revision: number;
}

export interface AccessKeyTable {
  access_key_id: string;
  secret: string;
  /** `root` for the account's own key, otherwise the RAM user name. */
  owner: string;
  status: string; // Active | Inactive
  created_at: number;
}

export interface RamUserTable {
  name: string;
  display_name: string;
  created_at: number;
}

export interface RamPolicyTable {
  name: string;
  document: string; // RAM policy JSON, as given
  description: string;
  created_at: number;
}

export interface RamAttachmentTable {
  user_name: string;
  policy_name: string;
}

/** Control-plane resources of every product, one JSON document each. */
export interface ResourceTable {
  id: string;
  product: string; // nlb | gwlb | cas
  kind: string; // loadbalancer | listener | servergroup | securitypolicy | certificate | ...
  region_id: string;
  parent_id: string | null; // e.g. a listener's load balancer
  status: string;
  body: string; // JSON document: the resource as the API shows it, plus private fields
  created_at: number;
  updated_at: number;
  /** Revision of the last change to this row, so the data plane can diff snapshots cheaply. */
  revision: number;
}

export interface TagTable {
  resource_id: string;
  product: string;
  resource_type: string;
  region_id: string;
  tag_key: string;
  tag_value: string;
}

export interface JobTable {
  id: string;
  product: string;
  action: string;
  region_id: string;
  resource_type: string;
  resource_id: string;
  status: string; // Processing | Succeeded | Failed
  /** The store revision the data plane must have applied before the job can succeed. */
  revision: number;
  /** JSON: what to do to resource documents when the job finishes (see jobs/). */
  on_finish: string;
  error_code: string | null;
  error_message: string | null;
  created_at: number;
  /** Earliest time the job may finish: created_at + the configured extra delay. */
  not_before: number;
  finished_at: number | null;
}

/** Fault rules: `spec` is the rule as JSON (src/domain/fault-rules.ts). */
export interface FaultRuleTable {
  id: string;
  spec: string;
  /** Firings left for a counted rule; null when unlimited. */
  remaining: number | null;
  fired: number;
  created_at: number;
}

/** ClientToken records: the first reply for a (caller, product, action, token). */
export interface IdempotencyTable {
  token_key: string;
  params_hash: string;
  status_code: number;
  response: string;
  created_at: number;
}

/** Data-plane nodes: registration, heartbeat and the revision each has applied. */
export interface NodeTable {
  node_id: string;
  address: string;
  started_at: number;
  heartbeat_at: number;
  applied_revision: number;
}

/** What a data-plane node observed about one object at one revision (bound, failed, health). */
export interface ObservationTable {
  node_id: string;
  object_id: string;
  revision: number;
  state: string;
  reason: string | null;
  detail: string | null; // JSON
  updated_at: number;
}

/** A signature nonce seen within its 15-minute window: sha256 of AccessKeyId and nonce, and the request's timestamp. */
export interface NonceTable {
  nonce_key: string;
  timestamp_ms: number;
}

export interface Schema {
  meta: MetaTable;
  revision: RevisionTable;
  access_keys: AccessKeyTable;
  ram_users: RamUserTable;
  ram_policies: RamPolicyTable;
  ram_attachments: RamAttachmentTable;
  resources: ResourceTable;
  tags: TagTable;
  jobs: JobTable;
  fault_rules: FaultRuleTable;
  idempotency: IdempotencyTable;
  nodes: NodeTable;
  observations: ObservationTable;
  nonces: NonceTable;
}
