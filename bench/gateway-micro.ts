/**
 * The gateway alone, without HTTP: CPU µs per ApiGateway.handle call for pre-signed ACS3
 * requests (signing happens before the clock starts), so pipeline changes can be compared with
 * far less noise than through sockets. Same wiring as startOpenSlb (SQLite store, RamService,
 * nonce registry, metrics, job runner, pino), no data plane.
 *
 *   node --import tsx bench/gateway-micro.ts [--calls 3000] [--rounds 3] [--log sync|async|none] [--user]
 *
 * --user signs as a RAM user with one attached policy instead of the root key; --baseline
 * wires the gateway without the credential cache and with a job pass on every read;
 * --stmt-cache reuses better-sqlite3 statements (a what-if for the store, not the real wiring).
 */
import { randomUUID, createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { defaultConfig } from '../src/config/config.js';
import { openStore } from '../src/store/store.js';
import { ensureRootKey } from '../src/accounts/credentials.js';
import { RamService } from '../src/accounts/ram-service.js';
import { ApiGateway } from '../src/gateway/pipeline.js';
import { CallerCache } from '../src/gateway/caller-cache.js';
import { BatchedLogStream } from '../src/gateway/batched-log.js';
import { MemoryNonceRegistry } from '../src/gateway/signature/nonce-registry.js';
import { acs3Signature, acs3StringToSign, buildAcs3CanonicalRequest } from '../src/gateway/signature/acs3.js';
import { percentEncode } from '../src/gateway/percent-encode.js';
import { parseForm } from '../src/gateway/form.js';
import type { RawRequest } from '../src/gateway/signature/types.js';
import { JobRunner } from '../src/jobs/runner.js';
import { ApiMetrics } from '../src/metrics/api-metrics.js';
import { newRegistry } from '../src/metrics/registry.js';
import { nlbProduct, NLB_VERSION } from '../src/products/nlb/index.js';
import { isoSeconds, systemClock } from '../src/util/clock.js';

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : process.argv[i + 1];
}
const CALLS = Number(option('calls', '3000'));
const ROUNDS = Number(option('rounds', '3'));
const LOG = option('log', 'sync');
/** The wiring before the credential cache and the idle job refresh, for A/B runs. */
const BASELINE = process.argv.includes('--baseline');

if (process.argv.includes('--stmt-cache')) {
  // What-if for the store (not how OpenSLB runs): reuse prepared statements per SQL text, to
  // show how much of a call is better-sqlite3 preparing the same statements again.
  const Database = (await import('better-sqlite3')).default;
  const prepare = Database.prototype.prepare;
  const caches = new WeakMap<object, Map<string, unknown>>();
  Database.prototype.prepare = function (this: object, sql: string) {
    let cache = caches.get(this);
    if (!cache) caches.set(this, (cache = new Map()));
    let stmt = cache.get(sql);
    if (!stmt) cache.set(sql, (stmt = prepare.call(this as never, sql)));
    return stmt as never;
  } as never;
}

const dir = mkdtempSync(join(tmpdir(), 'openslb-gw-micro-'));
const config = defaultConfig();
config.dataDir = dir;
const store = await openStore({ dataDir: dir });
const ROOT = { accessKeyId: 'LTAImicroRootKey000000001', secret: 'microRootSecret00000000000001' };
const root = await ensureRootKey(store, {
  env: { ALIBABA_CLOUD_ACCESS_KEY_ID: ROOT.accessKeyId, ALIBABA_CLOUD_ACCESS_KEY_SECRET: ROOT.secret },
  clock: systemClock,
  log: { info: () => undefined, warn: () => undefined },
});
const ram = new RamService(store);
let signer = ROOT;
if (process.argv.includes('--user')) {
  await ram.createUser('bench');
  await ram.createPolicy('bench', JSON.stringify({ Version: '1', Statement: [{ Effect: 'Allow', Action: 'nlb:*', Resource: '*' }] }));
  await ram.attachPolicy('bench', 'bench');
  const key = await ram.createAccessKey('bench');
  signer = { accessKeyId: key.accessKeyId, secret: key.secret };
}

/** none, sync or async (to /dev/null), file (a real file, pino's default async stream), file-batched (BatchedLogStream). */
const log =
  LOG === 'none'
    ? undefined
    : LOG === 'file'
      ? pino({ level: 'info' }, pino.destination({ dest: join(dir, 'log'), sync: false }))
      : LOG === 'file-batched'
        ? pino({ level: 'info' }, new BatchedLogStream(pino.destination({ dest: join(dir, 'log'), sync: false })))
        : pino({ level: 'info' }, pino.destination({ dest: '/dev/null', sync: LOG === 'sync' }));
const jobs = new JobRunner({ store, clock: systemClock, nodeTimeoutMs: config.jobs.nodeTimeoutMs });
const gateway = new ApiGateway({
  config,
  clock: systemClock,
  store,
  products: [nlbProduct],
  accountId: root.accountId,
  callers: BASELINE ? ram : new CallerCache(ram),
  nonces: new MemoryNonceRegistry(),
  log,
  metrics: new ApiMetrics(newRegistry()),
  refreshJobs: BASELINE ? () => jobs.tick() : () => jobs.refresh(),
});
jobs.start();
// No data plane here: a node row that has applied everything lets jobs finish as they would.
await store.transact((tx) =>
  tx
    .insertInto('nodes')
    .values({
      node_id: 'micro',
      address: '127.0.0.1',
      started_at: Date.now(),
      heartbeat_at: Date.now() + 86_400_000,
      applied_revision: 1e9,
    })
    .execute(),
);

const HOST = 'nlb.cn-hangzhou.aliyuncs.com';
/** An ACS3-HMAC-SHA256 request as openapi-core sends it: POST, form body. */
function signed(action: string, params: Record<string, string>): RawRequest {
  const body = Buffer.from(
    Object.entries(params)
      .map(([k, v]) => `${percentEncode(k)}=${percentEncode(v)}`)
      .join('&'),
  );
  const headers: Record<string, string> = {
    host: HOST,
    'x-acs-action': action,
    'x-acs-version': NLB_VERSION,
    'x-acs-date': isoSeconds(Date.now()),
    'x-acs-signature-nonce': randomUUID(),
    'x-acs-content-sha256': createHash('sha256').update(body).digest('hex'),
    'content-type': 'application/x-www-form-urlencoded',
    'user-agent': 'AlibabaCloud (linux; x64) Node.js/v20 Core/1.0.8 TeaDSL/2',
    accept: 'application/json',
  };
  const signedNames = Object.keys(headers)
    .filter((n) => n === 'host' || n === 'content-type' || n.startsWith('x-acs-'))
    .sort();
  const canonical = buildAcs3CanonicalRequest({
    method: 'POST',
    path: '/',
    queryPairs: parseForm(''),
    signedHeaderValues: new Map(signedNames.map((n) => [n, headers[n]])),
    hashedPayload: headers['x-acs-content-sha256'],
  });
  const signature = acs3Signature('ACS3-HMAC-SHA256', signer.secret, acs3StringToSign('ACS3-HMAC-SHA256', canonical));
  headers.authorization = `ACS3-HMAC-SHA256 Credential=${signer.accessKeyId},SignedHeaders=${signedNames.join(';')},Signature=${signature}`;
  return { method: 'POST', path: '/', rawQuery: '', headers, body };
}

async function run(action: string, params: Record<string, string>): Promise<Record<string, unknown>> {
  const reply = await gateway.handle(signed(action, params));
  if (reply.status !== 200) throw new Error(`${action}: ${JSON.stringify(reply.body)}`);
  return reply.body;
}

try {
  const lbIds: string[] = [];
  for (let i = 0; i < 3; i++) {
    const r = await run('CreateLoadBalancer', {
      AddressType: 'Intranet',
      VpcId: config.regions[0].vpcs[0].id,
      LoadBalancerName: `micro-${i}`,
      'ZoneMappings.1.ZoneId': config.regions[0].vpcs[0].vSwitches[0].zoneId,
      'ZoneMappings.1.VSwitchId': config.regions[0].vpcs[0].vSwitches[0].id,
      'ZoneMappings.2.ZoneId': config.regions[0].vpcs[0].vSwitches[1].zoneId,
      'ZoneMappings.2.VSwitchId': config.regions[0].vpcs[0].vSwitches[1].id,
      'Tag.1.Key': 'team',
      'Tag.1.Value': 'bench',
    });
    lbIds.push(String(r.LoadbalancerId));
  }
  await jobs.tick();
  const cases: Array<[string, (i: number) => [string, Record<string, string>]]> = [
    ['DescribeRegions', () => ['DescribeRegions', {}]],
    ['ListLoadBalancers', () => ['ListLoadBalancers', { MaxResults: '20' }]],
    ['GetLoadBalancerAttribute', (i) => ['GetLoadBalancerAttribute', { LoadBalancerId: lbIds[i % 3] }]],
  ];
  const results = new Map<string, number[]>();
  for (let round = 0; round <= ROUNDS; round++) {
    for (const [name, make] of cases) {
      const requests = Array.from({ length: CALLS }, (_, i) => make(i)).map(([a, p]) => signed(a, p));
      const before = process.cpuUsage();
      for (const req of requests) {
        // Each HTTP request arrives in its own macrotask; let timers (the job loop) run between.
        await new Promise(setImmediate);
        const reply = await gateway.handle(req);
        if (reply.status !== 200) throw new Error(`${name}: ${JSON.stringify(reply.body)}`);
        JSON.stringify(reply.body);
      }
      const used = process.cpuUsage(before);
      // Round 0 warms up (JIT) and is not reported.
      if (round > 0) results.set(name, [...(results.get(name) ?? []), (used.user + used.system) / CALLS]);
    }
  }
  console.log(
    `gateway.handle, ${CALLS} calls per round, log=${LOG}${BASELINE ? ', baseline' : ''}${process.argv.includes('--stmt-cache') ? ', statement cache' : ''}, signer=${signer === ROOT ? 'root' : 'RAM user'}`,
  );
  for (const [name, list] of results) {
    const sorted = [...list].sort((a, b) => a - b);
    console.log(
      `${name.padEnd(26)} median ${sorted[Math.floor(sorted.length / 2)].toFixed(0).padStart(5)} µs  (${list.map((x) => x.toFixed(0)).join(' / ')})`,
    );
  }
} finally {
  await jobs.stop();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}
