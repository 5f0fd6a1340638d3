/** The page's only way to the server: the console JSON API on the same origin, cookie-authenticated. */

export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly requestId?: string,
  ) {
    super(message);
  }
}

export interface Session {
  accessKeyId: string;
  user: string;
  isRoot: boolean;
  accountId: string;
  writable: Record<string, boolean>;
  sampleMs: number;
  regions: Array<{
    id: string;
    localName: Record<string, string>;
    zones: Array<{ id: string; localName: Record<string, string> }>;
    vpcs: Array<{ id: string; vSwitches: Array<{ id: string; zoneId: string }> }>;
  }>;
}

const HEADERS = { 'content-type': 'application/json', 'x-openslb-console': '1' };

/** Called when the server says the session is gone, so the page can go back to sign-in. */
let onSignedOut: () => void = () => undefined;
export function whenSignedOut(fn: () => void): void {
  onSignedOut = fn;
}

async function request<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const res = await fetch(path, {
    method,
    headers: method === 'POST' ? HEADERS : { 'x-openslb-console': '1' },
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin',
  });
  const data = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  if (!res.ok) {
    if (res.status === 401 && data.Code === 'Console.SessionExpired') onSignedOut();
    throw new ApiFailure(
      res.status,
      String(data.Code ?? 'Error'),
      String(data.Message ?? res.statusText),
      data.RequestId as string | undefined,
    );
  }
  return data as T;
}

export const signIn = (accessKeyId: string, accessKeySecret: string) =>
  request<Session>('POST', '/console/api/signin', { accessKeyId, accessKeySecret });
export const signOut = () => request<unknown>('POST', '/console/api/signout', {});
export const session = () => request<Session>('GET', '/console/api/session');

export let region = '';
export function setRegion(id: string): void {
  region = id;
}

/** One API action, signed on the server with this session's key; rejects with the API's own error. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function call(
  product: 'nlb' | 'gwlb' | 'cas',
  action: string,
  params: Record<string, string | number | boolean> = {},
): Promise<any> {
  return request('POST', '/console/api/call', { product, action, params: { RegionId: region, ...params } });
}

export interface RingSeries {
  metric: string;
  labels: Record<string, string>;
  values: Array<number | null>;
}

export function metrics(label: string, value: string): Promise<{ timestamps: number[]; series: RingSeries[] }> {
  return request('GET', `/console/api/metrics?label=${encodeURIComponent(label)}&value=${encodeURIComponent(value)}`);
}

export function recentJobs(): Promise<{ jobs: Array<{ id: string; product: string; action: string; resourceId?: string; at: number }> }> {
  return request('GET', '/console/api/jobs');
}

/** listener → data-plane engine, where the data plane reports it in /metrics. */
export async function engines(): Promise<Record<string, string>> {
  return (await request<{ engines: Record<string, string> }>('GET', '/console/api/engines')).engines;
}
