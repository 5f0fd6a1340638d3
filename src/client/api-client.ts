/**
 * Calls an OpenSLB (or Alibaba Cloud) endpoint through the vendor's own @alicloud/openapi-core,
 * exactly as a generated SDK does: RPC style, by default POST with a form body and the ACS3
 * signature. The CLI uses it, and so do the tests and benchmarks (test/support/server.ts).
 */
import openApiCore from '@alicloud/openapi-core';
import * as $dara from '@darabonba/typescript';

// A CommonJS package: under ESM its default export is the whole `exports` object.
const { $OpenApiUtil } = openApiCore;
const OpenApi = openApiCore.default;
type OpenApi = InstanceType<typeof OpenApi>;

export interface ApiClientOptions {
  /** `http://127.0.0.1:8080`, or `host:port` (then http is assumed). */
  endpoint: string;
  accessKeyId: string;
  accessKeySecret: string;
  regionId?: string;
  /** openapi-core's signatureAlgorithm: ACS3-HMAC-SHA256 (its default), ACS3-HMAC-SM3, or v2 (RPC HMAC-SHA1). */
  signatureAlgorithm?: string;
}

export interface ApiCallOptions {
  /** Where the parameters go: the form body (default, as generated SDKs send most actions) or the query string. */
  placement?: 'body' | 'query';
  method?: 'POST' | 'GET';
}

export interface ApiCallResult {
  statusCode: number;
  body: Record<string, unknown>;
}

export class ApiClient {
  private readonly client: OpenApi;

  constructor(opts: ApiClientOptions) {
    const url = /^https?:\/\//.test(opts.endpoint) ? new URL(opts.endpoint) : new URL(`http://${opts.endpoint}`);
    this.client = new OpenApi(
      new $OpenApiUtil.Config({
        accessKeyId: opts.accessKeyId,
        accessKeySecret: opts.accessKeySecret,
        endpoint: url.host,
        protocol: url.protocol.replace(':', ''),
        regionId: opts.regionId ?? 'cn-hangzhou',
        ...(opts.signatureAlgorithm ? { signatureAlgorithm: opts.signatureAlgorithm } : {}),
      }),
    );
  }

  /** `params` are flat wire names (`Tag.1.Key`) with string values, as the aliyun CLI takes them. */
  async call(version: string, action: string, params: Record<string, string>, opts: ApiCallOptions = {}): Promise<ApiCallResult> {
    const result = await this.client.callApi(
      new $OpenApiUtil.Params({
        action,
        version,
        protocol: 'HTTPS',
        pathname: '/',
        method: opts.method ?? 'POST',
        authType: 'AK',
        style: 'RPC',
        reqBodyType: 'formData',
        bodyType: 'json',
      }),
      new $OpenApiUtil.OpenApiRequest(opts.placement === 'query' ? { query: params } : { body: params }),
      new $dara.RuntimeOptions({}),
    );
    return { statusCode: result.statusCode as number, body: result.body as Record<string, unknown> };
  }
}

/**
 * A request as an SDK model holds it (`{ Tag: [{ Key, Value }] }`) flattened to the wire names
 * `call` takes (`Tag.1.Key`), by openapi-core's own rules.
 */
export function flatParams(params: Record<string, unknown>): Record<string, string> {
  return $OpenApiUtil.default.query(params) as Record<string, string>;
}
