/**
 * One API call, framework-free: signature → product/action → parameters → RAM → DryRun and
 * ClientToken → handler (in one transaction for writes) → reply. Every failure becomes an
 * Alibaba error body; anything unexpected becomes 500 InternalError with the detail only in
 * the server log.
 */
import type { Logger } from 'pino';
import type { Config, RegionConfig } from '../config/config.js';
import type { ParsedPolicy } from './ram/policy.js';
import { evaluate } from './ram/policy.js';
import { ALL_RESOURCES, arn } from './ram/arn.js';
import { isStoreUnavailable, type Store } from '../store/store.js';
import type { Clock } from '../util/clock.js';
import { newRequestId } from '../util/ids.js';
import type { ApiMetrics } from '../metrics/api-metrics.js';
import type { ActionContext, ActionDef, Caller, Product } from './action.js';
import { claimedVersion } from './claimed-version.js';
import { errorBody } from './envelope.js';
import { ApiError, errors } from './errors.js';
import { ReplayedReply, checkToken, paramsHash, recordToken, tokenKey } from './idempotency.js';
import { decodeFolded, foldParams } from './params/decode.js';
import { p } from './params/spec.js';
import { hostIdFor, resolveRegion } from './region.js';
import type { NonceRegistry, RawRequest, VerifiedRequest } from './signature/types.js';
import { verifyRequest } from './signature/verify.js';
import type { CallFaultPlan, CallFaults } from './call-faults.js';

export interface CallerDirectory {
  lookupSecret(accessKeyId: string): Promise<string | undefined>;
  resolveCaller(
    accessKeyId: string,
  ): Promise<{ accessKeyId: string; owner: string; isRoot: boolean; policies: ParsedPolicy[] } | undefined>;
}

export interface GatewayDeps {
  config: Config;
  clock: Clock;
  store: Store;
  products: Product[];
  accountId: string;
  callers: CallerDirectory;
  nonces: NonceRegistry;
  log?: Logger;
  metrics?: ApiMetrics;
  refreshJobs?: () => Promise<unknown>;
  /** Fault rules (src/faults): errors, latency and job faults on purpose. */
  faults?: CallFaults;
}

export interface ApiReply {
  status: number;
  body: Record<string, unknown>;
  headers?: Record<string, string>;
}

/** A caller-chosen action name is cut to this many characters in the log line. */
const MAX_LOGGED_ACTION = 128;

const COMMON = {
  RegionId: p.string({ maxLength: 64 }),
  ClientToken: p.string({ maxLength: 64, pattern: /^[\x20-\x7e]*$/ }),
  DryRun: p.boolean({ default: false }),
};

export class ApiGateway {
  private readonly byVersion = new Map<string, Product>();

  constructor(private readonly deps: GatewayDeps) {
    for (const product of deps.products) this.byVersion.set(product.version, product);
  }

  async handle(req: RawRequest): Promise<ApiReply> {
    const started = process.hrtime.bigint();
    const requestId = newRequestId();
    const host = headerValue(req.headers.host);
    let product: Product | undefined;
    let actionName = 'unknown';
    // Metric labels come only from the declared action table: a caller choosing label values
    // could otherwise grow /metrics without bound.
    let actionLabel = 'unknown';
    let accessKeyId: string | undefined;
    let regionId = this.deps.config.regions[0].id;
    let reply: ApiReply;
    let faults: CallFaultPlan | undefined;
    try {
      const verified = await this.verify(req);
      accessKeyId = verified.accessKeyId;
      actionName = verified.action || 'unknown';
      product = this.byVersion.get(verified.version);
      // A request for a version we don't serve at all: answer as the NLB endpoint would.
      if (!product) {
        throw new ApiError('InvalidVersion', `Specified parameter Version is not valid.`, 400);
      }
      const action = product.actions.get(verified.action);
      if (!action) {
        throw new ApiError('InvalidAction.NotFound', 'Specified api is not found, please check your url and method.', 404);
      }
      actionLabel = action.name;
      const regionParam = action.global ? undefined : verified.params.RegionId;
      const region = resolveRegion(this.deps.config, product.hostPrefix, regionParam, host);
      regionId = region.id;
      faults = await this.deps.faults?.plan(
        {
          product: product.name,
          action: action.name,
          accessKeyId: verified.accessKeyId,
          regionId,
          params: verified.params,
          write: action.mode === 'write',
        },
        requestId,
      );
      faults?.throwBefore();
      const body = await this.run(product, action, verified, requestId, region, faults);
      faults?.throwAfter();
      reply = { status: 200, body: { RequestId: requestId, ...body } };
    } catch (err) {
      // A request refused before its product was known (bad key, bad signature) is still
      // answered in the name of the product it was for.
      const named = product ?? this.byVersion.get(claimedVersion(req) ?? '');
      reply = this.errorReply(err, requestId, named, regionId, actionName);
    }
    await faults?.delay();
    const code = reply.status < 300 ? 'Success' : String(reply.body.Code);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    this.deps.metrics?.observe(product?.name ?? 'none', actionLabel, code, seconds);
    this.deps.log?.info(
      {
        requestId,
        product: product?.name,
        action: actionName.length > MAX_LOGGED_ACTION ? `${actionName.slice(0, MAX_LOGGED_ACTION)}…` : actionName,
        code,
        status: reply.status,
        latencyMs: Math.round(seconds * 1e6) / 1e3,
        accessKeyId,
      },
      'api call',
    );
    return reply;
  }

  /**
   * Before a read reports statuses: the job runner's own pass (in its own transaction), so a
   * change the data plane has applied shows settled. The read does not depend on it: if the
   * pass fails (the runner logs and retries it), the read answers from the committed rows.
   */
  private async settleReadyJobs(requestId: string): Promise<void> {
    try {
      await this.deps.refreshJobs?.();
    } catch (err) {
      this.deps.log?.debug({ err, requestId }, 'settling ready jobs before a read failed; the read shows the rows as committed');
    }
  }

  private async verify(req: RawRequest): Promise<VerifiedRequest> {
    const verified = await verifyRequest(req, {
      now: this.deps.clock.now(),
      lookupSecret: (id) => this.deps.callers.lookupSecret(id),
      nonces: this.deps.nonces,
      paramLimits: this.deps.config.api,
    });
    if (verified.securityToken !== undefined && verified.securityToken !== '') {
      throw new ApiError('InvalidSecurityToken.Malformed', 'OpenSLB does not issue STS tokens; sign requests with an AccessKey pair.', 400);
    }
    return verified;
  }

  private async run(
    product: Product,
    action: ActionDef,
    verified: VerifiedRequest,
    requestId: string,
    region: RegionConfig,
    faults?: CallFaultPlan,
  ): Promise<Record<string, unknown>> {
    const { config, store, clock } = this.deps;
    // One tree for both declarations: folding is the costly step on a large request.
    const tree = foldParams(verified.params);
    const common = decodeFolded(COMMON, tree);
    const input = decodeFolded(action.params, tree);

    const identity = await this.deps.callers.resolveCaller(verified.accessKeyId);
    if (!identity) throw new ApiError('InvalidAccessKeyId.NotFound', 'Specified access key is not found.', 404);
    const caller: Caller = { accessKeyId: identity.accessKeyId, owner: identity.owner, isRoot: identity.isRoot };
    if (!identity.isRoot) this.authorize(product, action, input, region.id, identity.policies);

    const dryRun = action.dryRun === true && common.DryRun === true;
    const token = action.clientToken && common.ClientToken ? common.ClientToken : undefined;
    const ctx: ActionContext = {
      requestId,
      product: product.name,
      action: action.name,
      region,
      accountId: this.deps.accountId,
      caller,
      config,
      clock,
      store,
      db: store.db,
      revision: 0,
      clientToken: token ?? requestId,
      refreshJobs: () => this.settleReadyJobs(requestId),
    };

    if (action.mode === 'read') {
      const body = await action.handler(input, ctx);
      if (dryRun) throw errors.dryRun();
      return body;
    }

    // A dry run always validates and answers DryRunOperation: it neither replays a reply
    // cached under its token nor records one.
    const key = token && !dryRun ? tokenKey(caller.owner, product.name, action.name, token) : undefined;
    const hash = key ? paramsHash({ region: region.id, input }) : '';
    try {
      const { result } = await store.mutate(async (tx, revision) => {
        if (key) await checkToken(tx, key, hash);
        const body = await action.handler(input, { ...ctx, db: tx, revision });
        // Everything was validated and done inside the transaction; throwing rolls it all back.
        if (dryRun) throw errors.dryRun();
        await faults?.inTransaction(tx, revision, clock.now());
        if (key) await recordToken(tx, key, hash, body, clock.now());
        return body;
      });
      return result;
    } catch (err) {
      if (err instanceof ReplayedReply) return err.body;
      throw err;
    }
  }

  private authorize(product: Product, action: ActionDef, input: unknown, regionId: string, policies: ParsedPolicy[]): void {
    const account = this.deps.accountId;
    const declared = action.authResources?.(input as never) ?? [];
    const resources =
      declared.length === 0 ? [ALL_RESOURCES] : declared.map(([type, id]) => arn(product.name, regionId, account, type, id));
    const ramAction = `${product.name}:${action.name}`;
    const decision = evaluate(policies, { action: ramAction, resources });
    if (!decision.allowed) {
      const err = errors.noPermission(ramAction, decision.resource ?? resources[0]);
      (err.extra.AccessDeniedDetail as Record<string, unknown>).NoPermissionType = decision.deniedBy ?? 'ImplicitDeny';
      throw err;
    }
  }

  /** Also used by the HTTP adapter for failures before an API call starts (404, 405, bad body). */
  errorReply(err: unknown, requestId: string, product: Product | undefined, regionId: string, action = 'unknown'): ApiReply {
    let apiError: ApiError;
    if (err instanceof ApiError) {
      apiError = err;
    } else if (isStoreUnavailable(err)) {
      // The store logs the outage once; each call's own line carries the code.
      apiError = errors.serviceUnavailable();
    } else {
      this.deps.log?.error({ err, requestId, action }, 'internal error');
      apiError = errors.internal();
    }
    const prefix = product?.hostPrefix ?? 'nlb';
    const body = errorBody(apiError, requestId, hostIdFor(prefix, regionId), product?.displayName ?? 'Nlb');
    const headers: Record<string, string> = {};
    if (apiError.code.includes('Throttling')) headers['x-acs-retry-after'] = '1000';
    return { status: apiError.httpStatus, body, headers };
  }

  get defaultRegionId(): string {
    return this.deps.config.regions[0].id;
  }
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
