/**
 * Where the data plane connects for a backend server, taken from the request. A self-hosted
 * OpenSLB keeps no ECS/ENI/ECI inventory, so an instance server carries its address in
 * `ServerIp`; an Ip server is its own address. NLB and GWLB servers follow the same rules.
 */
import { ApiError } from '../../gateway/errors.js';

/** The ID prefix each instance type's IDs carry in the cloud (`i-…`, `eni-…`, `eci-…`). */
const INSTANCE_ID_PREFIX: Record<string, string> = { Ecs: 'i-', Eni: 'eni-', Eci: 'eci-' };

export type ServerIdentity = { ServerId: string; ServerType: string; ServerIp?: string };

export function illegalIp(detail: string): ApiError {
  return new ApiError('IllegalParam.IP', `The param of IP is illegal. ${detail}`);
}

/** The address the data plane will connect to, taken from the request. */
export function serverAddress(server: ServerIdentity): string {
  if (server.ServerType === 'Ip') {
    if (server.ServerIp !== undefined && server.ServerIp !== server.ServerId) {
      throw illegalIp(`For an Ip server, ServerIp must be absent or equal to ServerId (${server.ServerId}).`);
    }
    return server.ServerId;
  }
  const prefix = INSTANCE_ID_PREFIX[server.ServerType];
  if (!server.ServerId.startsWith(prefix)) {
    throw new ApiError(
      `ResourceNotFound.${server.ServerType}`,
      `The specified resource of ${server.ServerType} [${server.ServerId}] is not found.`,
      404,
    );
  }
  if (server.ServerIp === undefined || server.ServerIp === '') {
    throw new ApiError(
      'MissingParam.IP',
      `The param of IP is missing. OpenSLB keeps no ${server.ServerType} inventory: give the address of ` +
        `${server.ServerId} in Servers.N.ServerIp.`,
    );
  }
  return server.ServerIp;
}
