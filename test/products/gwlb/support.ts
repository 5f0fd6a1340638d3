/**
 * GWLB test helpers. GWLB answers no JobId, so — as a real client does — these poll the
 * resource's status until it settles. Parameters go in the body, as the generated GWLB client
 * places every one of them (gwlb-api §1.2).
 */
import assert from 'node:assert/strict';
import { GWLB, callApi, callError, type CallOptions, type TestServer } from '../../support/server.js';

type Params = Record<string, unknown>;
type Server = Pick<TestServer, 'host' | 'port'>;

export const TWO_ZONES = [
  { ZoneId: 'cn-hangzhou-a', VSwitchId: 'vsw-local-a' },
  { ZoneId: 'cn-hangzhou-b', VSwitchId: 'vsw-local-b' },
];

export function gwlb(server: Server, action: string, params: Params = {}, opts: CallOptions = {}) {
  return callApi(server, GWLB, action, params, { placement: 'body', ...opts });
}

/** The error code (and HTTP status) a call fails with. */
export async function failure(server: Server, action: string, params: Params = {}, opts: CallOptions = {}) {
  const e = await callError(gwlb(server, action, params, opts));
  return { code: e.code, status: e.statusCode, message: e.data?.Message as string | undefined };
}

/** Polls `read` until it yields `wanted`; bounded by attempts, never by a timing assertion. */
export async function until<T>(read: () => Promise<T>, wanted: T, attempts = 500): Promise<void> {
  let last: T | undefined;
  for (let i = 0; i < attempts; i++) {
    last = await read();
    if (last === wanted) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`still ${String(last)} after ${attempts} polls, expected ${String(wanted)}`);
}

export async function lbStatus(server: Server, id: string): Promise<string | undefined> {
  try {
    return (await gwlb(server, 'GetLoadBalancerAttribute', { LoadBalancerId: id })).LoadBalancerStatus;
  } catch (err) {
    if ((err as { code?: string }).code === 'ResourceNotFound.LoadBalancer') return undefined;
    throw err;
  }
}

export async function listenerStatus(server: Server, id: string): Promise<string | undefined> {
  try {
    return (await gwlb(server, 'GetListenerAttribute', { ListenerId: id })).ListenerStatus;
  } catch (err) {
    if ((err as { code?: string }).code === 'ResourceNotFound.Listener') return undefined;
    throw err;
  }
}

export async function group(server: Server, id: string): Promise<Record<string, any> | undefined> {
  return (await gwlb(server, 'ListServerGroups', { ServerGroupIds: [id] })).ServerGroups[0];
}

export async function groupStatus(server: Server, id: string): Promise<string | undefined> {
  return (await group(server, id))?.ServerGroupStatus;
}

export async function servers(server: Server, groupId: string): Promise<Array<Record<string, any>>> {
  return (await gwlb(server, 'ListServerGroupServers', { ServerGroupId: groupId, MaxResults: 1000 })).Servers;
}

export async function createLoadBalancer(server: Server, params: Params = {}): Promise<string> {
  const { LoadBalancerId } = await gwlb(server, 'CreateLoadBalancer', { VpcId: 'vpc-local', ZoneMappings: TWO_ZONES, ...params });
  await until(() => lbStatus(server, LoadBalancerId), 'Active');
  return LoadBalancerId;
}

export async function createServerGroup(server: Server, params: Params = {}): Promise<string> {
  const { ServerGroupId } = await gwlb(server, 'CreateServerGroup', { VpcId: 'vpc-local', ServerGroupType: 'Ip', ...params });
  await until(() => groupStatus(server, ServerGroupId), 'Available');
  return ServerGroupId;
}

/** Ip appliances on loopback (inside vpc-local's 127.0.0.0/8), each reached on 6081. */
export function appliances(...ips: string[]) {
  return ips.map((ip) => ({ ServerId: ip, ServerType: 'Ip', Port: 6081 }));
}

export async function addServers(server: Server, groupId: string, list: Params[]): Promise<void> {
  await gwlb(server, 'AddServersToServerGroup', { ServerGroupId: groupId, Servers: list });
  await until(() => groupStatus(server, groupId), 'Available');
}

export async function createListener(server: Server, params: Params): Promise<string> {
  const { ListenerId } = await gwlb(server, 'CreateListener', params);
  await until(() => listenerStatus(server, ListenerId), 'Running');
  return ListenerId;
}
