/**
 * The web console on the admin listener: the page and its assets under /console, and a small
 * JSON API for the page — sign-in, sign-out, the session, one signed API call, chart data.
 *
 * The browser never holds the AccessKey secret after sign-in: it holds an HttpOnly,
 * SameSite=Strict cookie naming a server-side session (sessions.ts). State-changing requests
 * must also carry the `x-openslb-console` header, which a cross-site form cannot send.
 */
import { readFile } from 'node:fs/promises';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import type { Product } from '../gateway/action.js';
import type { ApiGateway, CallerDirectory } from '../gateway/pipeline.js';
import type { Clock } from '../util/clock.js';
import { mayWrite } from './permissions.js';
import { type ConsoleSession, type SessionLimits, SessionStore } from './sessions.js';
import { signedCall } from './signed-call.js';
import type { MetricsRing } from './metrics-ring.js';

export const COOKIE = 'openslb_console';
export const CSRF_HEADER = 'x-openslb-console';

export interface ConsoleDeps {
  gateway: ApiGateway;
  callers: CallerDirectory;
  products: readonly Product[];
  config: Config;
  clock: Clock;
  ring: MetricsRing;
  /** How often the ring is fed, so the page polls at the same pace. */
  sampleMs: number;
  accountId: string;
  log?: Logger;
  sessionLimits?: SessionLimits;
  /** Where app.js / app.css are (default: the build's dist/console-ui). */
  assetDir?: URL;
}

/** From src/console/ (tsx) and from dist/console/ alike, the bundle is two levels up. */
const DEFAULT_ASSET_DIR = new URL('../../dist/console-ui/', import.meta.url);

const ASSETS: Record<string, string> = {
  'app.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
};

const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

export function mountConsole(app: FastifyInstance, deps: ConsoleDeps): SessionStore {
  const sessions = new SessionStore(deps.clock, deps.sessionLimits);
  const byName = new Map(deps.products.map((p) => [p.name as string, p]));
  const assetDir = deps.assetDir ?? DEFAULT_ASSET_DIR;
  const assetCache = new Map<string, Buffer>();
  const jobs = new RecentJobs();

  const fail = (reply: FastifyReply, status: number, code: string, message: string) =>
    reply.code(status).header('cache-control', 'no-store').send({ Code: code, Message: message });

  const sessionOf = (request: FastifyRequest): ConsoleSession | undefined => sessions.touch(readCookie(request.headers.cookie, COOKIE));

  const setCookie = (reply: FastifyReply, session: ConsoleSession) =>
    reply.header(
      'set-cookie',
      `${COOKIE}=${session.id}; Path=/console; HttpOnly; SameSite=Strict; Max-Age=${sessions.cookieMaxAgeSeconds(session)}`,
    );

  /** Every /console/api/* request but sign-in needs a live session; POSTs also the header. */
  const guard = (request: FastifyRequest, reply: FastifyReply): ConsoleSession | undefined => {
    if (request.method === 'POST' && request.headers[CSRF_HEADER] !== '1') {
      fail(reply, 403, 'Console.MissingHeader', `Console requests must carry the ${CSRF_HEADER} header.`);
      return undefined;
    }
    const session = sessionOf(request);
    if (!session) {
      reply.header('set-cookie', `${COOKIE}=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0`);
      fail(reply, 401, 'Console.SessionExpired', 'Not signed in, or the session has expired. Sign in again.');
      return undefined;
    }
    setCookie(reply, session);
    reply.header('cache-control', 'no-store');
    return session;
  };

  app.get('/', async (_request, reply) => reply.redirect('/console/'));
  app.get('/console', async (_request, reply) => reply.redirect('/console/'));
  app.get('/console/', async (_request, reply) => reply.headers(SECURITY_HEADERS).type('text/html; charset=utf-8').send(PAGE));

  app.get<{ Params: { name: string } }>('/console/assets/:name', async (request, reply) => {
    const type = ASSETS[request.params.name];
    if (!type) return fail(reply, 404, 'Console.NotFound', 'No such asset.');
    let body = assetCache.get(request.params.name);
    if (!body) {
      try {
        body = await readFile(new URL(request.params.name, assetDir));
      } catch {
        return fail(reply, 503, 'Console.NotBuilt', 'The console was not built; run `npm run build`.');
      }
      assetCache.set(request.params.name, body);
    }
    return reply.headers(SECURITY_HEADERS).header('cache-control', 'no-cache').type(type).send(body);
  });

  app.post<{ Body: { accessKeyId?: unknown; accessKeySecret?: unknown } }>('/console/api/signin', async (request, reply) => {
    if (request.headers[CSRF_HEADER] !== '1') {
      return fail(reply, 403, 'Console.MissingHeader', `Console requests must carry the ${CSRF_HEADER} header.`);
    }
    const accessKeyId = typeof request.body?.accessKeyId === 'string' ? request.body.accessKeyId.trim() : '';
    const accessKeySecret = typeof request.body?.accessKeySecret === 'string' ? request.body.accessKeySecret : '';
    if (!accessKeyId || !accessKeySecret || accessKeyId.length > 128 || accessKeySecret.length > 256) {
      return fail(reply, 400, 'Console.MissingCredentials', 'Enter an AccessKey ID and its secret.');
    }
    // The key proves itself the way any caller does: by a signed call the gateway verifies.
    const probe = await signedCall(
      deps.gateway,
      deps.clock,
      { accessKeyId, accessKeySecret },
      versionOf(byName, 'nlb'),
      'DescribeRegions',
      {},
    );
    const code = String(probe.body.Code ?? '');
    if (probe.status !== 200 && (code.startsWith('InvalidAccessKeyId') || code === 'SignatureDoesNotMatch')) {
      deps.log?.info({ accessKeyId, code }, 'console sign-in refused');
      return fail(reply, 401, code, code === 'SignatureDoesNotMatch' ? 'The AccessKey secret is wrong.' : String(probe.body.Message));
    }
    const session = sessions.create(accessKeyId, accessKeySecret);
    deps.log?.info({ accessKeyId }, 'console sign-in');
    setCookie(reply, session);
    return reply.header('cache-control', 'no-store').send(await describeSession(session));
  });

  app.post('/console/api/signout', async (request, reply) => {
    if (request.headers[CSRF_HEADER] !== '1') {
      return fail(reply, 403, 'Console.MissingHeader', `Console requests must carry the ${CSRF_HEADER} header.`);
    }
    sessions.end(readCookie(request.headers.cookie, COOKIE));
    return reply.header('set-cookie', `${COOKIE}=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0`).send({});
  });

  app.get('/console/api/session', async (request, reply) => {
    const session = guard(request, reply);
    if (!session) return reply;
    return describeSession(session);
  });

  app.post<{ Body: { product?: unknown; action?: unknown; params?: unknown } }>('/console/api/call', async (request, reply) => {
    const session = guard(request, reply);
    if (!session) return reply;
    const product = typeof request.body?.product === 'string' ? byName.get(request.body.product) : undefined;
    const action = typeof request.body?.action === 'string' ? request.body.action : '';
    if (!product || !action) return fail(reply, 400, 'Console.BadCall', 'A call needs a known product and an action.');
    const params: Record<string, string> = {};
    const raw = request.body?.params;
    if (raw && typeof raw === 'object') {
      for (const [name, value] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') params[name] = String(value);
      }
    }
    const result = await signedCall(deps.gateway, deps.clock, session, product.version, action, params);
    if (result.status === 200 && typeof result.body.JobId === 'string') {
      const resourceId = Object.entries(result.body).find(
        ([k, v]) => k !== 'JobId' && k.endsWith('Id') && k !== 'RequestId' && typeof v === 'string',
      )?.[1];
      jobs.add(session.accessKeyId, {
        id: result.body.JobId,
        product: product.name,
        action,
        resourceId: (resourceId as string | undefined) ?? firstResourceParam(params),
        at: deps.clock.now(),
      });
    }
    return reply.code(result.status).send(result.body);
  });

  // The API has no "list every job": the console lists the jobs its own calls started with this
  // key, and asks ListAsynJobs (through the gateway, so RAM applies) for their state.
  app.get('/console/api/jobs', async (request, reply) => {
    const session = guard(request, reply);
    if (!session) return reply;
    return { jobs: jobs.list(session.accessKeyId) };
  });

  app.get<{ Querystring: { label?: string; value?: string; prefix?: string } }>('/console/api/metrics', async (request, reply) => {
    const session = guard(request, reply);
    if (!session) return reply;
    const { label, value, prefix } = request.query;
    if (!label || !value) return fail(reply, 400, 'Console.BadQuery', 'Name a label and its value, e.g. label=listener&value=lsn-….');
    return deps.ring.query(label, value, prefix);
  });

  // Which data-plane engine forwards each listener, where the data plane says so in /metrics
  // (openslb_listener_engine); the API itself has no such field.
  app.get('/console/api/engines', async (request, reply) => {
    const session = guard(request, reply);
    if (!session) return reply;
    return { engines: deps.ring.latestLabels('openslb_listener_engine', 'listener', 'engine') };
  });

  async function describeSession(session: ConsoleSession) {
    const caller = await deps.callers.resolveCaller(session.accessKeyId);
    const writable: Record<string, boolean> = {};
    for (const product of deps.products) {
      const writes = [...product.actions.values()].filter((a) => a.mode === 'write').map((a) => a.name);
      writable[product.name] = caller ? mayWrite(caller.isRoot, caller.policies, product.name, writes) : false;
    }
    return {
      accessKeyId: session.accessKeyId,
      user: caller?.owner ?? '',
      isRoot: caller?.isRoot ?? false,
      accountId: deps.accountId,
      writable,
      regions: deps.config.regions.map((r) => ({
        id: r.id,
        localName: r.localName,
        zones: r.zones.map((z) => ({ id: z.id, localName: z.localName })),
        vpcs: r.vpcs.map((v) => ({ id: v.id, vSwitches: v.vSwitches.map((s) => ({ id: s.id, zoneId: s.zoneId })) })),
      })),
      expiresInSeconds: sessions.cookieMaxAgeSeconds(session),
      sampleMs: deps.sampleMs,
    };
  }

  return sessions;
}

interface RecentJob {
  id: string;
  product: string;
  action: string;
  resourceId?: string;
  at: number;
}

/** The last jobs started from the console, per AccessKey, newest first; bounded in both directions. */
class RecentJobs {
  private readonly byKey = new Map<string, RecentJob[]>();
  constructor(
    private readonly perKey = 200,
    private readonly keys = 1000,
  ) {}

  add(accessKeyId: string, job: RecentJob): void {
    let list = this.byKey.get(accessKeyId);
    if (!list) {
      if (this.byKey.size >= this.keys) this.byKey.delete(this.byKey.keys().next().value as string);
      list = [];
      this.byKey.set(accessKeyId, list);
    }
    list.unshift(job);
    if (list.length > this.perKey) list.length = this.perKey;
  }

  list(accessKeyId: string): RecentJob[] {
    return this.byKey.get(accessKeyId) ?? [];
  }
}

function firstResourceParam(params: Record<string, string>): string | undefined {
  for (const name of ['ListenerId', 'ServerGroupId', 'LoadBalancerId']) if (params[name]) return params[name];
  return undefined;
}

function versionOf(byName: Map<string, Product>, name: string): string {
  const product = byName.get(name);
  if (!product) throw new Error(`console: product ${name} is not served`);
  return product.version;
}

export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq !== -1 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>OpenSLB console</title>
<link rel="stylesheet" href="/console/assets/app.css">
</head>
<body>
<div id="app"><p class="muted">Loading…</p></div>
<script type="module" src="/console/assets/app.js"></script>
</body>
</html>
`;
