/**
 * A console action is an ordinary API call: signed here with the session's AccessKey (RPC
 * HMAC-SHA1, form body, as the aliyun CLI signs) and handed to the same ApiGateway the API
 * listener uses. So the signature check, RAM, parameter validation, the API log line and the
 * metrics are exactly those of a call made with that key from anywhere else.
 */
import { randomUUID } from 'node:crypto';
import type { ApiGateway, ApiReply } from '../gateway/pipeline.js';
import { percentEncode } from '../gateway/percent-encode.js';
import { rpcSignature, rpcStringToSign } from '../gateway/signature/rpc.js';
import { type Clock, isoSeconds } from '../util/clock.js';

export interface Credentials {
  accessKeyId: string;
  accessKeySecret: string;
}

export function signedCall(
  gateway: ApiGateway,
  clock: Clock,
  key: Credentials,
  version: string,
  action: string,
  params: Record<string, string>,
): Promise<ApiReply> {
  const all: Record<string, string> = {
    ...params,
    Action: action,
    Version: version,
    Format: 'JSON',
    AccessKeyId: key.accessKeyId,
    SignatureMethod: 'HMAC-SHA1',
    SignatureVersion: '1.0',
    SignatureNonce: randomUUID(),
    Timestamp: isoSeconds(clock.now()),
  };
  all.Signature = rpcSignature(key.accessKeySecret, rpcStringToSign('POST', all));
  const body = Object.entries(all)
    .map(([name, value]) => `${percentEncode(name)}=${percentEncode(value)}`)
    .join('&');
  return gateway.handle({
    method: 'POST',
    path: '/',
    rawQuery: '',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': 'openslb-console' },
    body: Buffer.from(body, 'utf8'),
  });
}
