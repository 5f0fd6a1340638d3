/**
 * Property-based fuzzing of the API gateway (fast-check). Requests are built from the action
 * declarations themselves — every product, every action, parameters valid, out of range,
 * malformed or hostile — and from requests the official client really sent (recorded live,
 * then mutated), signed correctly, signed wrongly or not at all, sent over loopback sockets to
 * the real HTTP server in front of a real SQLite store.
 *
 * The property: every reply is a success or an Alibaba error envelope, never a 5xx, and a
 * refused request leaves the store's revision (every committed change bumps it) unchanged.
 *
 * Used by test/gateway/fuzz.test.ts (a few thousand cases in `npm test`) and by
 * test/fuzz/run.ts (`npm run fuzz`, 100,000 cases and a tally).
 */
import http from 'node:http';
import fc from 'fast-check';
import pino from 'pino';
import type { FastifyInstance } from 'fastify';
import type { ActionDef, Product } from '../../src/gateway/action.js';
import type { AnySpec, Fields } from '../../src/gateway/params/spec.js';
import { percentEncode } from '../../src/gateway/percent-encode.js';
import { rpcSignature, rpcStringToSign } from '../../src/gateway/signature/rpc.js';
import { casProduct } from '../../src/products/cas/index.js';
import { gwlbProduct } from '../../src/products/gwlb/index.js';
import { nlbProduct } from '../../src/products/nlb/index.js';
import type { Store } from '../../src/store/store.js';
import { isoSeconds } from '../../src/util/clock.js';
import { startBareGateway } from '../support/bare-gateway.js';
import { startRecorder, type RecordedRequest } from '../support/recorder.js';
import { NLB, TEST_ACCESS_KEY_ID, TEST_ACCESS_KEY_SECRET, callApi } from '../support/server.js';

const PRODUCTS: Product[] = [nlbProduct, gwlbProduct, casProduct];

export interface FuzzRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
  /** What the case was, for the tally. */
  kind: string;
}

export interface FuzzTarget {
  app: FastifyInstance;
  port: number;
  store: Store;
  seeds: RecordedRequest[];
  close(): Promise<void>;
}

/** A gateway on a fresh SQLite store, with the root key the signed cases use. */
export async function startFuzzTarget(): Promise<FuzzTarget> {
  const log = pino({ level: process.env.OPENSLB_FUZZ_LOG ?? 'silent' });
  const gateway = await startBareGateway({ products: PRODUCTS, log });
  return {
    app: gateway.app,
    port: gateway.port,
    store: gateway.store,
    seeds: await recordSeeds(),
    async close() {
      agent.destroy();
      await gateway.close();
    },
  };
}

/** Requests exactly as the official client puts them on the wire, to mutate. */
async function recordSeeds(): Promise<RecordedRequest[]> {
  const recorder = await startRecorder();
  try {
    const at = { host: '127.0.0.1', port: recorder.port };
    await callApi(at, NLB, 'DescribeRegions', {});
    await callApi(at, NLB, 'ListLoadBalancers', { MaxResults: 10 }, { placement: 'query' });
    await callApi(at, NLB, 'CreateServerGroup', { ServerGroupName: 'seed', VpcId: 'vpc-local', Protocol: 'TCP' });
    await callApi(at, NLB, 'DescribeZones', {}, { signatureAlgorithm: 'v2' });
    await callApi(at, NLB, 'ListListeners', {}, { signatureAlgorithm: 'ACS3-HMAC-SM3', method: 'GET', placement: 'query' });
    return [...recorder.recorded];
  } finally {
    await recorder.close();
  }
}

// --- values ---------------------------------------------------------------------------------

const hostileStrings = fc.constantFrom(
  '',
  ' ',
  '0',
  '-1',
  '1e309',
  '9007199254740993',
  'true',
  'null',
  '{}',
  '[]',
  '{"a":',
  '__proto__',
  'constructor',
  "'; drop table resources; --",
  '\u0000',
  '😀'.repeat(40),
  'a'.repeat(300),
  '%zz',
  'nlb-doesnotexist',
  'sgp-doesnotexist',
  'lsn-doesnotexist@80',
  '127.0.0.1',
  '::1',
  'vpc-local',
  'vsw-local-a',
  'cn-hangzhou',
  'cn-hangzhou-a',
  'mars-north-1',
);

const anyText = fc.oneof(
  hostileStrings,
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.integer().map(String),
);

function valueFor(spec: AnySpec, depth = 0): fc.Arbitrary<unknown> {
  switch (spec.kind) {
    case 'string': {
      const good = spec.enum
        ? fc.constantFrom(...spec.enum)
        : fc.string({ minLength: spec.minLength ?? 0, maxLength: Math.min(spec.maxLength ?? 40, 60) });
      return fc.oneof({ weight: 3, arbitrary: good }, { weight: 1, arbitrary: anyText });
    }
    case 'integer': {
      const good = fc.integer({ min: spec.min ?? -1000, max: Math.min(spec.max ?? 100_000, Number.MAX_SAFE_INTEGER) });
      return fc.oneof({ weight: 3, arbitrary: good.map(String) }, { weight: 1, arbitrary: anyText });
    }
    case 'boolean':
      return fc.oneof(fc.constantFrom('true', 'false', 'True', 'FALSE'), anyText);
    case 'list':
      return depth > 2 ? fc.constant([]) : fc.array(valueFor(spec.item, depth + 1), { maxLength: 4 });
    case 'object':
    case 'json':
      return depth > 2 ? fc.constant({}) : fieldsValue(spec.fields, depth + 1);
  }
}

function fieldsValue(fields: Fields, depth: number): fc.Arbitrary<Record<string, unknown>> {
  const keys = Object.keys(fields);
  const record: Record<string, fc.Arbitrary<unknown>> = {};
  for (const key of keys) record[key] = valueFor(fields[key], depth);
  return fc.record(record, { requiredKeys: [] });
}

/** Flattens a decoded-shape value into wire parameters the way the SDK does (`A.1.B=x`, JSON for json specs). */
function flatten(fields: Fields, value: Record<string, unknown>, prefix: string, out: Record<string, string>): void {
  for (const [name, v] of Object.entries(value)) {
    const spec = fields[name];
    if (!spec || v === undefined) continue;
    flattenValue(spec, v, `${prefix}${name}`, out);
  }
}

function flattenValue(spec: AnySpec, v: unknown, name: string, out: Record<string, string>): void {
  if (spec.kind === 'json') {
    out[name] = typeof v === 'object' ? JSON.stringify(v) : String(v);
  } else if (spec.kind === 'object' && typeof v === 'object' && v !== null) {
    flatten(spec.fields, v as Record<string, unknown>, `${name}.`, out);
  } else if (spec.kind === 'list' && Array.isArray(v)) {
    v.forEach((item, i) => flattenValue(spec.item, item, `${name}.${i + 1}`, out));
  } else {
    out[name] = String(v);
  }
}

const junkNames = fc.oneof(
  fc.constantFrom(
    '__proto__',
    'constructor',
    'Tag.0.Key',
    'Tag.1',
    'Tag..Key',
    '.',
    'A.',
    'Tag.1.Key.Extra',
    'RegionId',
    'DryRun',
    'ClientToken',
    'Action',
    'Version',
    'Signature',
  ),
  fc.string({ minLength: 1, maxLength: 20 }),
);

function actionParams(action: ActionDef): fc.Arbitrary<Record<string, string>> {
  return fc
    .tuple(
      fieldsValue(action.params, 0),
      fc.record(
        {
          RegionId: fc.oneof({ weight: 8, arbitrary: fc.constant('cn-hangzhou') }, { weight: 1, arbitrary: anyText }),
          DryRun: fc.oneof({ weight: 8, arbitrary: fc.constantFrom('true', 'false') }, { weight: 1, arbitrary: anyText }),
          ClientToken: fc.oneof({ weight: 8, arbitrary: fc.uuid() }, { weight: 1, arbitrary: anyText }),
        },
        { requiredKeys: [] },
      ),
      fc.dictionary(junkNames, anyText, { maxKeys: 3 }),
    )
    .map(([value, common, junk]) => {
      const out: Record<string, string> = Object.create(null);
      flatten(action.params, value, '', out);
      Object.assign(out, common, junk);
      return out;
    });
}

// --- requests -------------------------------------------------------------------------------

type Signing = 'rpc' | 'rpc-wrong-secret' | 'rpc-unknown-key' | 'unsigned' | 'acs3-garbage';

const declaredCall = fc
  .constantFrom(...PRODUCTS.flatMap((product) => [...product.actions.values()].map((action) => ({ product, action }))))
  .chain(({ product, action }) =>
    fc.record({
      version: fc.oneof(
        { weight: 9, arbitrary: fc.constant(product.version) },
        { weight: 1, arbitrary: fc.constantFrom('1999-01-01', '', 'latest') },
      ),
      action: fc.oneof({ weight: 9, arbitrary: fc.constant(action.name) }, { weight: 1, arbitrary: fc.string({ maxLength: 30 }) }),
      params: actionParams(action),
      signing: fc.oneof(
        { weight: 12, arbitrary: fc.constant<Signing>('rpc') },
        { weight: 1, arbitrary: fc.constantFrom<Signing>('rpc-wrong-secret', 'rpc-unknown-key', 'unsigned', 'acs3-garbage') },
      ),
      method: fc.oneof(
        { weight: 12, arbitrary: fc.constantFrom('POST', 'GET') },
        { weight: 1, arbitrary: fc.constantFrom('PUT', 'DELETE', 'PATCH', 'OPTIONS') },
      ),
      placement: fc.constantFrom('body', 'query'),
      contentType: fc.oneof(
        { weight: 8, arbitrary: fc.constant('application/x-www-form-urlencoded') },
        {
          weight: 1,
          arbitrary: fc.constantFrom('application/json', 'text/plain', '', 'application/x-www-form-urlencoded; charset=latin1'),
        },
      ),
    }),
  );

function encodeForm(params: Record<string, string>): string {
  return Object.keys(params)
    .map((k) => `${percentEncode(k)}=${percentEncode(params[k])}`)
    .join('&');
}

let nonceCounter = 0;

type DeclaredCall = typeof declaredCall extends fc.Arbitrary<infer T> ? T : never;

function buildDeclared(c: DeclaredCall): FuzzRequest {
  const params: Record<string, string> = Object.create(null);
  Object.assign(params, c.params);
  const method = c.method;
  if (c.signing !== 'unsigned' && c.signing !== 'acs3-garbage') {
    Object.assign(params, {
      Action: c.action,
      Version: c.version,
      Format: 'JSON',
      AccessKeyId: c.signing === 'rpc-unknown-key' ? 'LTAInoSuchKey' : TEST_ACCESS_KEY_ID,
      SignatureMethod: 'HMAC-SHA1',
      SignatureVersion: '1.0',
      SignatureNonce: `fuzz-${process.pid}-${++nonceCounter}-${Math.random()}`,
      Timestamp: isoSeconds(Date.now()),
    });
    delete params.Signature;
    const secret = c.signing === 'rpc-wrong-secret' ? 'not-the-secret' : TEST_ACCESS_KEY_SECRET;
    params.Signature = rpcSignature(secret, rpcStringToSign(method, params));
  }
  const headers: Record<string, string> = { host: 'nlb.cn-hangzhou.aliyuncs.com' };
  if (c.signing === 'acs3-garbage') {
    headers.authorization = `ACS3-HMAC-SHA256 Credential=${TEST_ACCESS_KEY_ID},SignedHeaders=host,Signature=00`;
    headers['x-acs-action'] = c.action;
    headers['x-acs-version'] = c.version;
  }
  const form = encodeForm(params);
  if (c.placement === 'query' || method === 'GET') {
    return { method, url: `/?${form}`, headers, body: '', kind: `declared/${c.signing}` };
  }
  if (c.contentType) headers['content-type'] = c.contentType;
  return { method, url: '/', headers, body: form, kind: `declared/${c.signing}` };
}

/** A recorded official-client request with one thing changed. */
const mutatedSeed = (seeds: RecordedRequest[]) =>
  fc
    .record({
      seed: fc.constantFrom(...seeds),
      mutation: fc.constantFrom('flip-body-byte', 'drop-header', 'change-header', 'truncate-body', 'replay', 'path', 'query-junk'),
      index: fc.nat(),
      text: anyText,
      byte: fc.integer({ min: 0, max: 255 }),
    })
    .map(({ seed, mutation, index, text, byte }): FuzzRequest => {
      const headers: Record<string, string> = {};
      for (const [name, value] of seed.headers) {
        if (!/^(content-length|transfer-encoding|connection)$/i.test(name)) headers[name.toLowerCase()] = value;
      }
      let body = Buffer.from(seed.body);
      let url = seed.url;
      const names = Object.keys(headers);
      switch (mutation) {
        case 'flip-body-byte':
          if (body.length > 0) body[index % body.length] = byte;
          break;
        case 'drop-header':
          delete headers[names[index % names.length]];
          break;
        case 'change-header':
          headers[names[index % names.length]] = text.replace(/[^\x20-\x7e]/g, '');
          break;
        case 'truncate-body':
          body = body.subarray(0, index % (body.length + 1));
          break;
        case 'path':
          url = `/${encodeURIComponent(text)}${url.slice(1)}`;
          break;
        case 'query-junk':
          url = `${url}${url.includes('?') ? '&' : '?'}${encodeURIComponent(text)}=${encodeURIComponent(text)}`;
          break;
        case 'replay':
          break;
      }
      return { method: seed.method, url, headers, body: body.toString('latin1'), kind: `seed/${mutation}` };
    });

export function requestArbitrary(seeds: RecordedRequest[]): fc.Arbitrary<FuzzRequest> {
  return fc.oneof({ weight: 4, arbitrary: declaredCall.map(buildDeclared) }, { weight: 1, arbitrary: mutatedSeed(seeds) });
}

// --- the property ---------------------------------------------------------------------------

export interface Tally {
  cases: number;
  success: number;
  byCode: Map<string, number>;
  byKind: Map<string, number>;
}

export function newTally(): Tally {
  return { cases: 0, success: 0, byCode: new Map(), byKind: new Map() };
}

const bump = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function send(port: number, req: FuzzRequest): Promise<{ statusCode: number; body: string }> {
  const payload = Buffer.from(req.body, 'latin1');
  return new Promise((resolve, reject) => {
    const r = http.request(
      {
        host: '127.0.0.1',
        port,
        agent,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, 'content-length': String(payload.length) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ statusCode: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    r.on('error', reject);
    // Headers and body go out at once: with Nagle, a kept-alive socket waits out a delayed ACK.
    r.setNoDelay(true);
    r.end(payload);
  });
}

/** Sends one request and checks the property; throws (for fast-check to shrink) when it fails. */
export async function checkOne(target: FuzzTarget, req: FuzzRequest, tally: Tally): Promise<void> {
  const before = await target.store.currentRevision();
  const res = await send(target.port, req);
  tally.cases++;
  bump(tally.byKind, req.kind);
  if (res.statusCode >= 500) throw new Error(`HTTP ${res.statusCode}: ${res.body.slice(0, 300)}`);
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(res.body) as Record<string, unknown>;
  } catch {
    throw new Error(`reply is not JSON (HTTP ${res.statusCode}): ${res.body.slice(0, 200)}`);
  }
  if (res.statusCode < 300) {
    if (typeof body.RequestId !== 'string') throw new Error(`success without RequestId: ${res.body.slice(0, 200)}`);
    tally.success++;
    bump(tally.byCode, 'Success');
    return;
  }
  for (const field of ['RequestId', 'HostId', 'Code', 'Message', 'Recommend']) {
    if (typeof body[field] !== 'string') throw new Error(`error reply without ${field}: ${res.body.slice(0, 300)}`);
  }
  bump(tally.byCode, String(body.Code));
  const after = await target.store.currentRevision();
  if (after !== before) throw new Error(`refused request (${String(body.Code)}) changed the store: revision ${before} → ${after}`);
}

export async function runFuzz(target: FuzzTarget, numRuns: number, seed?: number): Promise<Tally> {
  const tally = newTally();
  await fc.assert(
    fc.asyncProperty(requestArbitrary(target.seeds), (req) => checkOne(target, req, tally)),
    { numRuns, seed, endOnFailure: true },
  );
  return tally;
}

export function formatTally(tally: Tally): string {
  const lines = [`${tally.cases} requests, ${tally.success} succeeded, 0 server errors, no refused write changed the store`];
  lines.push('', 'by case kind:');
  for (const [k, n] of [...tally.byKind].sort((a, b) => b[1] - a[1])) lines.push(`  ${String(n).padStart(7)}  ${k}`);
  lines.push('', 'by reply code:');
  for (const [k, n] of [...tally.byCode].sort((a, b) => b[1] - a[1])) lines.push(`  ${String(n).padStart(7)}  ${k}`);
  return lines.join('\n');
}
