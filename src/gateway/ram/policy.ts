/**
 * RAM policy documents: parsing, validation and evaluation. Pure: no store, no HTTP.
 *
 * The accepted language is the subset of Alibaba RAM's that OpenSLB can honour exactly:
 *
 *   { "Version": "1",
 *     "Statement": [ { "Effect": "Allow" | "Deny",
 *                      "Action": "nlb:Get*" | ["nlb:Get*", ...],
 *                      "Resource": "acs:nlb:*:*:loadbalancer/nlb-x" | [...] } ] }
 *
 * Anything else (Condition, NotAction, Principal, unknown keys) is rejected when the policy
 * is created rather than ignored: a silently ignored Condition would grant more than its
 * author meant.
 */

export class PolicyDocumentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PolicyDocumentError';
  }
}

export type Effect = 'Allow' | 'Deny';

export interface PolicyStatement {
  effect: Effect;
  /** Action patterns, e.g. `nlb:Get*` or `*`; matched case-insensitively. */
  actions: string[];
  /** Resource patterns, e.g. `acs:nlb:*:*:loadbalancer/*` or `*`. */
  resources: string[];
}

export interface ParsedPolicy {
  /** The policy's name when it came from the store; for diagnostics only. */
  name?: string;
  version: '1';
  statements: PolicyStatement[];
}

export interface AuthorizationRequest {
  /** `<product>:<Action>`, e.g. `nlb:CreateListener`. */
  action: string;
  /** ARNs the action touches (see arn.ts); `*` for actions without resource-level authorization. */
  resources: string[];
}

export interface AuthorizationResult {
  allowed: boolean;
  deniedBy?: 'ExplicitDeny' | 'ImplicitDeny';
  /** The resource that was denied. */
  resource?: string;
}

/** RAM's own limit on a policy document's length. */
export const MAX_POLICY_DOCUMENT_LENGTH = 6144;

const TOP_LEVEL_KEYS = new Set(['Version', 'Statement']);
const STATEMENT_KEYS = new Set(['Effect', 'Action', 'Resource', 'Condition']);
// `service:Action`, where either part may carry wildcards; or `*` alone.
const ACTION_PATTERN = /^(\*|[A-Za-z0-9*?-]+:[A-Za-z0-9*?]+)$/;

/** Parse and validate a policy document given as JSON text. */
export function parsePolicy(documentJson: string, name?: string): ParsedPolicy {
  if (typeof documentJson !== 'string' || documentJson.trim() === '') {
    throw new PolicyDocumentError('The policy document is empty.');
  }
  if (documentJson.length > MAX_POLICY_DOCUMENT_LENGTH) {
    throw new PolicyDocumentError(
      `The policy document is ${documentJson.length} characters long; the limit is ${MAX_POLICY_DOCUMENT_LENGTH}.`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(documentJson);
  } catch (err) {
    throw new PolicyDocumentError(`The policy document is not valid JSON: ${(err as Error).message}`);
  }
  return validatePolicy(value, name);
}

/** Validate an already-decoded policy document. */
export function validatePolicy(value: unknown, name?: string): ParsedPolicy {
  if (!isPlainObject(value)) throw new PolicyDocumentError('The policy document must be a JSON object.');
  for (const key of Object.keys(value)) {
    if (!TOP_LEVEL_KEYS.has(key)) {
      throw new PolicyDocumentError(`Unknown policy element "${key}"; only Version and Statement are allowed.`);
    }
  }
  if (!('Version' in value)) throw new PolicyDocumentError('The policy document is missing "Version".');
  if (value.Version !== '1') {
    throw new PolicyDocumentError(`"Version" must be the string "1", got ${JSON.stringify(value.Version)}.`);
  }
  if (!('Statement' in value)) throw new PolicyDocumentError('The policy document is missing "Statement".');
  if (!Array.isArray(value.Statement)) throw new PolicyDocumentError('"Statement" must be an array of statements.');
  if (value.Statement.length === 0) throw new PolicyDocumentError('"Statement" must contain at least one statement.');
  const statements = value.Statement.map((s, i) => validateStatement(s, i));
  return name === undefined ? { version: '1', statements } : { name, version: '1', statements };
}

function validateStatement(value: unknown, index: number): PolicyStatement {
  const where = `Statement[${index}]`;
  if (!isPlainObject(value)) throw new PolicyDocumentError(`${where} must be a JSON object.`);
  for (const key of Object.keys(value)) {
    if (!STATEMENT_KEYS.has(key)) {
      throw new PolicyDocumentError(`${where} has the unsupported element "${key}"; OpenSLB supports Effect, Action and Resource.`);
    }
  }
  if ('Condition' in value) {
    throw new PolicyDocumentError(
      `${where} has a Condition; OpenSLB does not evaluate condition keys, so statements with a Condition are rejected rather than applied without it.`,
    );
  }
  if (!('Effect' in value)) throw new PolicyDocumentError(`${where} is missing "Effect".`);
  if (value.Effect !== 'Allow' && value.Effect !== 'Deny') {
    throw new PolicyDocumentError(`${where}.Effect must be "Allow" or "Deny", got ${JSON.stringify(value.Effect)}.`);
  }
  const actions = stringList(value, 'Action', where);
  for (const action of actions) {
    if (!ACTION_PATTERN.test(action)) {
      throw new PolicyDocumentError(
        `${where}.Action "${action}" is not of the form "<service>:<action>" (wildcards * and ? allowed) or "*".`,
      );
    }
  }
  const resources = stringList(value, 'Resource', where);
  for (const resource of resources) {
    if (resource !== '*' && !isArnPattern(resource)) {
      throw new PolicyDocumentError(
        `${where}.Resource "${resource}" is neither "*" nor an ARN of the form "acs:<service>:<region>:<account>:<resource>".`,
      );
    }
  }
  return { effect: value.Effect, actions, resources };
}

/** `Action`/`Resource`: one non-empty string or a non-empty array of them. */
function stringList(statement: Record<string, unknown>, key: 'Action' | 'Resource', where: string): string[] {
  if (!(key in statement)) throw new PolicyDocumentError(`${where} is missing "${key}".`);
  const raw = statement[key];
  const list = typeof raw === 'string' ? [raw] : raw;
  if (!Array.isArray(list)) throw new PolicyDocumentError(`${where}.${key} must be a string or an array of strings.`);
  if (list.length === 0) throw new PolicyDocumentError(`${where}.${key} must not be empty.`);
  for (const item of list) {
    if (typeof item !== 'string') throw new PolicyDocumentError(`${where}.${key} must contain only strings.`);
    if (item.trim() === '') throw new PolicyDocumentError(`${where}.${key} must not contain an empty string.`);
  }
  return list as string[];
}

function isArnPattern(resource: string): boolean {
  const parts = resource.split(':');
  return parts.length >= 5 && parts[0].toLowerCase() === 'acs' && parts.slice(1).every((p) => p !== '');
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// ---------------------------------------------------------------------------------------
// Matching

/**
 * Glob match where `*` is any run of characters (including `:` and `/`) and `?` exactly one.
 * Iterative with single-star backtracking: linear-ish and immune to the pathological
 * patterns that make a naive regex translation explode.
 */
export function wildcardMatch(pattern: string, text: string): boolean {
  let p = 0;
  let t = 0;
  let starP = -1;
  let starT = 0;
  while (t < text.length) {
    if (p < pattern.length && (pattern[p] === '?' || pattern[p] === text[t])) {
      p++;
      t++;
    } else if (p < pattern.length && pattern[p] === '*') {
      starP = p++;
      starT = t;
    } else if (starP !== -1) {
      p = starP + 1;
      t = ++starT;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === '*') p++;
  return p === pattern.length;
}

/** Actions are case-insensitive in RAM: `nlb:get*` grants `nlb:GetListenerAttribute`. */
export function actionMatches(pattern: string, action: string): boolean {
  return wildcardMatch(pattern.toLowerCase(), action.toLowerCase());
}

/**
 * Resources are case-sensitive (resource IDs are), except the `acs:<service>:` prefix, which
 * is lower-cased on both sides so `acs:NLB:...` still names the nlb service.
 */
export function resourceMatches(pattern: string, resource: string): boolean {
  return wildcardMatch(normaliseServicePrefix(pattern), normaliseServicePrefix(resource));
}

function normaliseServicePrefix(arn: string): string {
  const first = arn.indexOf(':');
  if (first < 0) return arn;
  const second = arn.indexOf(':', first + 1);
  const end = second < 0 ? arn.length : second;
  return arn.slice(0, end).toLowerCase() + arn.slice(end);
}

function statementMatches(statement: PolicyStatement, action: string, resource: string): boolean {
  return statement.actions.some((p) => actionMatches(p, action)) && statement.resources.some((p) => resourceMatches(p, resource));
}

/**
 * Decide one request against a caller's policies (RAM semantics):
 *  1. an explicit Deny matching the action and any of the resources denies the request;
 *  2. otherwise every resource must be matched by some Allow statement for the action;
 *  3. anything not allowed is an implicit deny.
 * A request that names no resources is evaluated as the all-resources request (`*`), which
 * only a `"Resource": "*"` statement matches, as in RAM for actions without resource-level
 * authorization.
 */
export function evaluate(policies: readonly ParsedPolicy[], request: AuthorizationRequest): AuthorizationResult {
  const resources = request.resources.length > 0 ? request.resources : ['*'];
  const statements = policies.flatMap((p) => p.statements);
  const denies = statements.filter((s) => s.effect === 'Deny');
  const allows = statements.filter((s) => s.effect === 'Allow');

  for (const resource of resources) {
    if (denies.some((s) => statementMatches(s, request.action, resource))) {
      return { allowed: false, deniedBy: 'ExplicitDeny', resource };
    }
  }
  for (const resource of resources) {
    if (!allows.some((s) => statementMatches(s, request.action, resource))) {
      return { allowed: false, deniedBy: 'ImplicitDeny', resource };
    }
  }
  return { allowed: true };
}
