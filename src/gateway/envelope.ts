/** The Alibaba error body every failure is answered with. */
import type { ApiError } from './errors.js';

export interface ErrorBody {
  RequestId: string;
  HostId: string;
  Code: string;
  Message: string;
  Recommend: string;
  [extra: string]: unknown;
}

export function errorBody(err: ApiError, requestId: string, hostId: string, productDisplayName: string): ErrorBody {
  const recommend =
    `https://api.aliyun.com/troubleshoot?q=${encodeURIComponent(err.code)}` +
    `&product=${encodeURIComponent(productDisplayName)}&requestId=${requestId}`;
  return { RequestId: requestId, HostId: hostId, Code: err.code, Message: err.message, Recommend: recommend, ...err.extra };
}
