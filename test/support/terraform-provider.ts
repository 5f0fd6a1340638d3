/**
 * A client that puts on the wire what Terraform's alicloud provider puts there: its `RpcPost`
 * (the tea-rpc client): HTTP POST to `/`, RPC HMAC-SHA1 signature, the system parameters and
 * the provider's `query` map in the URL, its `request` map flattened (`ZoneMappings.1.ZoneId`)
 * into a form body. Empty strings, zeros and `false` are sent, not dropped — the provider fills
 * its maps from `d.Get`, which yields the zero value of every field the configuration left out.
 * Only nil (undefined here) is left out.
 *
 * It also knows the provider's reading of errors (`NotFoundError`: HTTP 404 or a code naming
 * NotFound) and its waiting style (poll a field until it has a value, bounded by attempts).
 */
import { createHmac, randomUUID } from 'node:crypto';
import { percentEncode } from '../../src/gateway/percent-encode.js';
import { TEST_ACCESS_KEY_ID, TEST_ACCESS_KEY_SECRET } from './server.js';

export const NLB_VERSION = '2022-04-30';
export const GWLB_VERSION = '2024-04-15';

export class ProviderError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    readonly data: Record<string, any>,
  ) {
    super(`${statusCode} ${code}: ${String(data.Message)}`);
  }

  /** The provider's NotFoundError: a 404, or an error code that says NotFound. */
  get notFound(): boolean {
    return this.statusCode === 404 || /NotFound/i.test(this.code);
  }
}

/** Go's flattening of a request map (tea-rpc `Query`): nested maps and lists become `A.1.B`. */
export function flatten(value: Record<string, unknown>, prefix = '', out: Record<string, string> = {}): Record<string, string> {
  for (const [key, v] of Object.entries(value)) {
    const name = prefix ? `${prefix}.${key}` : key;
    if (v === undefined || v === null) continue;
    if (Array.isArray(v)) {
      v.forEach((item, i) => {
        if (item !== null && typeof item === 'object') flatten(item as Record<string, unknown>, `${name}.${i + 1}`, out);
        else if (item !== undefined && item !== null) out[`${name}.${i + 1}`] = String(item);
      });
    } else if (typeof v === 'object') {
      flatten(v as Record<string, unknown>, name, out);
    } else {
      out[name] = String(v);
    }
  }
  return out;
}

function formEncode(params: Record<string, string>): string {
  return Object.keys(params)
    .map((k) => `${percentEncode(k)}=${percentEncode(params[k])}`)
    .join('&');
}

export interface ProviderOptions {
  endpoint: string; // host:port, as in the provider block's `endpoints { nlb = "…" }`
  regionId?: string;
  accessKeyId?: string;
  accessKeySecret?: string;
}

export class TerraformProvider {
  readonly regionId: string;
  private readonly accessKeyId: string;
  private readonly secret: string;

  constructor(private readonly opts: ProviderOptions) {
    this.regionId = opts.regionId ?? 'cn-hangzhou';
    this.accessKeyId = opts.accessKeyId ?? TEST_ACCESS_KEY_ID;
    this.secret = opts.accessKeySecret ?? TEST_ACCESS_KEY_SECRET;
  }

  /** `client.RpcPost(product, version, action, query, request, true)`. */
  async rpcPost(
    version: string,
    action: string,
    query: Record<string, unknown>,
    request: Record<string, unknown>,
  ): Promise<Record<string, any>> {
    const system: Record<string, string> = {
      Action: action,
      Format: 'json',
      Version: version,
      Timestamp: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
      SignatureNonce: randomUUID(),
      SignatureMethod: 'HMAC-SHA1',
      SignatureVersion: '1.0',
      AccessKeyId: this.accessKeyId,
    };
    const urlParams = { ...system, ...flatten(query) };
    const body = flatten(request);
    const signed = { ...urlParams, ...body };
    const canonical = Object.keys(signed)
      .sort()
      .map((k) => `${percentEncode(k)}=${percentEncode(signed[k])}`)
      .join('&');
    const stringToSign = `POST&${percentEncode('/')}&${percentEncode(canonical)}`;
    urlParams.Signature = createHmac('sha1', `${this.secret}&`).update(stringToSign).digest('base64');

    const res = await fetch(`http://${this.opts.endpoint}/?${formEncode(urlParams)}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-acs-action': action,
        'x-acs-version': version,
        'user-agent':
          'AlibabaCloud (linux; amd64) Go/1.22 Core/0.01 TeaDSL/1 Terraform/1.9.0 (+https://www.terraform.io) terraform-provider-alicloud/1.240.0',
      },
      body: formEncode(body),
    });
    const text = await res.text();
    const data = JSON.parse(text) as Record<string, any>;
    if (res.status >= 400) throw new ProviderError(res.status, String(data.Code), data);
    return data;
  }

  nlb(action: string, request: Record<string, unknown>, query: Record<string, unknown> = {}) {
    return this.rpcPost(NLB_VERSION, action, query, { RegionId: this.regionId, ...request });
  }

  gwlb(action: string, request: Record<string, unknown>, query: Record<string, unknown> = {}) {
    return this.rpcPost(GWLB_VERSION, action, query, { RegionId: this.regionId, ...request });
  }

  /** A read the provider treats as "not found" (its Read then drops the resource from state). */
  async readOrGone<T>(read: () => Promise<T>): Promise<T | 'gone'> {
    try {
      return await read();
    } catch (err) {
      if (err instanceof ProviderError && err.notFound) return 'gone';
      throw err;
    }
  }

  /**
   * The provider's StateRefreshFunc loop: poll `read` until `field(object)` is one of `targets`
   * ('' stands for "not found"), failing on a fail state. Bounded by attempts, not time.
   */
  async waitFor(
    read: () => Promise<Record<string, any> | 'gone'>,
    field: (o: Record<string, any>) => unknown,
    targets: string[],
    failStates: string[] = [],
    attempts = 1000,
  ): Promise<Record<string, any> | 'gone'> {
    let last = '';
    for (let i = 0; i < attempts; i++) {
      const object = await read();
      last = object === 'gone' ? '' : String(field(object));
      if (failStates.includes(last)) throw new Error(`reached fail state ${last}`);
      if (targets.includes(last)) return object;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`still "${last}" after ${attempts} polls; waited for ${JSON.stringify(targets)}`);
  }

  /** The provider's DescribeAsyncGetJobStatus wait: `$.Status` until Succeeded (Failed is fatal). */
  async waitJob(version: string, reply: Record<string, any>): Promise<void> {
    const jobId = reply.JobId as string;
    if (!jobId) throw new Error(`reply has no JobId: ${JSON.stringify(reply)}`);
    await this.waitFor(
      () => this.rpcPost(version, 'GetJobStatus', {}, { ClientToken: randomUUID(), JobId: jobId }),
      (o) => o.Status,
      ['Succeeded'],
      ['Failed'],
    );
  }
}

/**
 * What `terraform plan` would show after a refresh: every attribute the configuration sets,
 * compared with what the provider's Read put in state. Values compare as Terraform compares
 * them (`Rr` ≠ `rr`, `80` = 80); lists of scalars as sets; nested blocks field by field.
 * Returns the differing paths (empty: no diff).
 */
export function planDiff(configured: Record<string, unknown>, state: Record<string, unknown> | undefined, path = ''): string[] {
  if (state === undefined) return [`${path || '<resource>'}: gone from state`];
  const diffs: string[] = [];
  for (const [key, want] of Object.entries(configured)) {
    const at = path ? `${path}.${key}` : key;
    const have = state[key];
    if (want !== null && typeof want === 'object' && !Array.isArray(want)) {
      if (have === null || typeof have !== 'object') diffs.push(`${at}: ${JSON.stringify(have)} → block`);
      else diffs.push(...planDiff(want as Record<string, unknown>, have as Record<string, unknown>, at));
    } else if (Array.isArray(want)) {
      const a = want.map(String).sort();
      const b = Array.isArray(have) ? have.map(String).sort() : [];
      if (JSON.stringify(a) !== JSON.stringify(b)) diffs.push(`${at}: ${JSON.stringify(have)} → ${JSON.stringify(want)}`);
    } else if (String(have) !== String(want)) {
      diffs.push(`${at}: ${JSON.stringify(have)} → ${JSON.stringify(want)}`);
    }
  }
  return diffs;
}
