/**
 * Calls an OpenSLB (or Alibaba Cloud) endpoint through the vendor's own @alicloud/openapi-core,
 * exactly as a generated SDK does: POST, RPC style, form body, ACS3 signature.
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
      }),
    );
  }

  /** `params` are flat wire names (`Tag.1.Key`) with string values, as the aliyun CLI takes them. */
  async call(version: string, action: string, params: Record<string, string>): Promise<ApiCallResult> {
    const result = await this.client.callApi(
      new $OpenApiUtil.Params({
        action,
        version,
        protocol: 'HTTPS',
        pathname: '/',
        method: 'POST',
        authType: 'AK',
        style: 'RPC',
        reqBodyType: 'formData',
        bodyType: 'json',
      }),
      new $OpenApiUtil.OpenApiRequest({ body: params }),
      new $dara.RuntimeOptions({}),
    );
    return { statusCode: result.statusCode as number, body: result.body as Record<string, unknown> };
  }
}
