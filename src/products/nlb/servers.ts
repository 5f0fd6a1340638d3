/**
 * Backend servers of an NLB server group: AddServersToServerGroup,
 * RemoveServersFromServerGroup, UpdateServerGroupServersAttribute, ListServerGroupServers.
 *
 * A self-hosted OpenSLB has no ECS/ENI/ECI inventory, so every server carries its own address
 * (`ServerIp`) and the data plane connects there. A server is identified by ServerId + Port.
 * Each change puts the group in Configuring and the touched servers in Adding / Removing /
 * Configuring; the job settles them once the data plane has applied the change.
 */
import { NLB_SERVER_GROUP } from '../../domain/status-machines.js';
import { isIPv6 } from 'node:net';
import type { RegionConfig } from '../../config/config.js';
import { defineAction, type ActionContext } from '../../gateway/action.js';
import { ApiError, errors } from '../../gateway/errors.js';
import { p, sameWord } from '../../gateway/params/spec.js';
import { listResources, paginate, updateResource } from '../common/resources.js';
import { cidrContains, parseCidr, parseIpv4, PRIVATE_RANGES } from '../../util/ipv4.js';
import type { ServerDoc, ServerGroupDoc } from '../../domain/nlb-documents.js';
import { requireServerGroup, SERVER_GROUP_KIND, startServerGroupJob, type ServerGroupRow } from './server-groups.js';
import { zoneOfAddress } from './server-zone.js';
import { illegalIp, serverAddress, type ServerIdentity } from '../common/server-address.js';

const SERVER_TYPES = ['Ecs', 'Eni', 'Eci', 'Ip'] as const;

const MAX_SERVERS_PER_CALL = 200;

/** 2–256 characters: letters (any script), digits, `, . ; / @ _ -`. */
const DESCRIPTION = /^[\p{L}\p{N},.;/@_-]{2,256}$/u;

const serverIdentityFields = {
  ServerId: p.string({ required: true, maxLength: 128 }),
  ServerType: p.string({ required: true, enum: SERVER_TYPES, caseInsensitive: true }),
  ServerIp: p.string({ maxLength: 64 }),
};

const serversParam = <F extends Record<string, any>>(fields: F) =>
  p.list(p.object(fields), { required: true, maxItems: MAX_SERVERS_PER_CALL, errorName: 'Servers' });

const keyOf = (serverId: string, port: number) => `${serverId}\u0000${port}`;

// --- errors ---------------------------------------------------------------------------------

function duplicatedServer(detail: string): ApiError {
  return new ApiError('DuplicatedParam.Server', `The param of Server is duplicated. ${detail}`);
}

function backendServerNotFound(server: ServerIdentity, port: number): ApiError {
  return new ApiError(
    'ResourceNotFound.BackendServer',
    `The specified resource of BackendServer [${server.ServerId}:${port}] is not found.`,
    404,
  );
}

function checkDescription(description: string | undefined): void {
  if (description !== undefined && !DESCRIPTION.test(description)) {
    throw new ApiError('IllegalParam.description', 'The parameter description of server is illegal.');
  }
}

// --- what a new server must satisfy ----------------------------------------------------------

/** Ip groups hold Ip servers; Instance groups hold Ecs, Eni and Eci servers. */
function checkServerType(serverType: string, group: ServerGroupDoc): void {
  const fits = group.ServerGroupType === 'Ip' ? serverType === 'Ip' : serverType !== 'Ip';
  if (!fits) {
    throw new ApiError('Mismatch.ServerType', `The ServerType is mismatched for ${serverType} and ${group.ServerGroupType}.`);
  }
}

/**
 * Where a backend may live: in the group's VPC, in the documented private ranges, or (Ip
 * groups, which may reach beyond their VPC) in any configured VPC. An instance whose address
 * lies in a different configured VPC belongs to that VPC.
 */
function checkServerAddress(address: string, group: ServerGroupDoc, region: RegionConfig): void {
  if (isIPv6(address)) {
    if (!sameWord(group.AddressIPVersion, 'DualStack')) {
      throw new ApiError(
        'OperationDenied.ServerGroupNotSupportIpv6',
        `The operation is not allowed because of ServerGroupNotSupportIpv6. ${address} is IPv6 and the server group is ipv4.`,
      );
    }
    return;
  }
  const ip = parseIpv4(address);
  if (ip === undefined) throw illegalIp(`${address} is not an IP address.`);
  const vpcsHolding = region.vpcs.filter((v) => {
    const cidr = parseCidr(v.cidr);
    return cidr !== undefined && cidrContains(cidr, ip);
  });
  if (vpcsHolding.some((v) => v.id === group.VpcId)) return;
  if (group.ServerGroupType === 'Instance' && vpcsHolding.length > 0) {
    throw new ApiError('Mismatch.VpcId', `The VpcId is mismatched for ${vpcsHolding[0].id} and ${group.VpcId}.`);
  }
  if (PRIVATE_RANGES.some((r) => cidrContains(r, ip))) return;
  if (group.ServerGroupType === 'Ip' && vpcsHolding.length > 0) return;
  throw illegalIp(`${address} is neither in a private range (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16) nor in a configured VPC CIDR.`);
}

/** Any-port groups forward to the client's destination port, so their servers have port 0. */
function serverPort(port: number | undefined, group: ServerGroupDoc): number {
  if (group.AnyPortEnabled) {
    if (port !== undefined && port !== 0) {
      throw new ApiError(
        'IllegalParam.RSPortConflictWithServerGroup',
        'The param of RSPortConflictWithServerGroup is illegal. Servers of a server group with AnyPortEnabled use port 0.',
      );
    }
    return 0;
  }
  if (port === undefined || port === 0) {
    throw new ApiError(
      'IllegalParam.RSPortConflictWithServerGroup',
      'The param of RSPortConflictWithServerGroup is illegal. Servers.N.Port must be 1-65535 unless the server group has AnyPortEnabled.',
    );
  }
  return port;
}

// --- finding servers already in the group ---------------------------------------------------

/** Index of the group's server the request names; 404 `ResourceNotFound.BackendServer` otherwise. */
function findServer(servers: ServerDoc[], wanted: ServerIdentity, port: number): number {
  const index = servers.findIndex(
    (s) =>
      s.ServerId === wanted.ServerId &&
      s.Port === port &&
      s.ServerType === wanted.ServerType &&
      (wanted.ServerIp === undefined || wanted.ServerIp === s.ServerIp),
  );
  if (index < 0) throw backendServerNotFound(wanted, port);
  return index;
}

/** Rejects a request naming the same server twice. */
function uniqueByIdAndPort<T extends ServerIdentity>(items: Array<{ server: T; port: number }>): void {
  const seen = new Set<string>();
  for (const { server, port } of items) {
    const key = keyOf(server.ServerId, port);
    if (seen.has(key)) throw duplicatedServer(`${server.ServerId}:${port} is listed twice.`);
    seen.add(key);
  }
}

async function applyServerChange(
  ctx: ActionContext,
  group: ServerGroupRow,
  pending: ServerDoc[],
  settled: ServerDoc[],
): Promise<{ JobId: string; ServerGroupId: string }> {
  await updateResource(
    ctx.db,
    group,
    { status: NLB_SERVER_GROUP.transitions.configure.via, body: { ...group.body, Servers: pending } },
    { now: ctx.clock.now(), revision: ctx.revision },
  );
  const jobId = await startServerGroupJob(ctx, group, { onSuccess: { Servers: settled }, undo: { Servers: group.body.Servers } });
  return { JobId: jobId, ServerGroupId: group.id };
}

// --- actions --------------------------------------------------------------------------------

const addServersToServerGroup = defineAction({
  name: 'AddServersToServerGroup',
  mode: 'write',
  clientToken: true,
  dryRun: true,
  params: {
    ServerGroupId: p.string({ required: true, maxLength: 128 }),
    Servers: serversParam({
      ...serverIdentityFields,
      Port: p.integer({ min: 0, max: 65535 }),
      Weight: p.integer({ min: 0, max: 100, default: 100 }),
      Description: p.string(),
    }),
  },
  authResources: (input) => [['servergroup', input.ServerGroupId]],
  handler: async (input, ctx) => {
    const group = await requireServerGroup(ctx, input.ServerGroupId, { forWrite: true });
    const doc = group.body;
    const added: ServerDoc[] = input.Servers.map((s) => {
      checkServerType(s.ServerType, doc);
      const address = serverAddress(s);
      checkServerAddress(address, doc, ctx.region);
      checkDescription(s.Description);
      return {
        ServerId: s.ServerId,
        ServerType: s.ServerType,
        ServerIp: address,
        Port: serverPort(s.Port, doc),
        Weight: s.Weight,
        ...(s.Description !== undefined ? { Description: s.Description } : {}),
        Status: 'Adding',
      };
    });

    uniqueByIdAndPort(added.map((s) => ({ server: s, port: s.Port })));
    const byAddress = new Map<string, ServerDoc>();
    for (const s of added) {
      const key = keyOf(s.ServerIp, s.Port);
      const other = byAddress.get(key);
      if (other) throw duplicatedServer(`${other.ServerId} and ${s.ServerId} both name ${s.ServerIp}:${s.Port}.`);
      byAddress.set(key, s);
    }
    for (const s of added) {
      const existing = doc.Servers.find((e) => e.Port === s.Port && (e.ServerId === s.ServerId || e.ServerIp === s.ServerIp));
      if (existing?.ServerId === s.ServerId) {
        throw duplicatedServer(`${s.ServerId}:${s.Port} is already in server group ${group.id}.`);
      }
      if (existing) {
        throw new ApiError(
          'ResourceInUse.IP',
          `The specified resource of IP [${s.ServerIp}:${s.Port}] is in use by server ${existing.ServerId} of server group ${group.id}.`,
        );
      }
    }

    const limit = ctx.config.quotas.nlbServersPerServerGroup;
    const usage = doc.Servers.length;
    if (usage + added.length > limit) throw errors.quotaInsufficient('servers per server group', usage, limit);

    const pending = [...doc.Servers, ...added];
    const settled = pending.map((s) => ({ ...s, Status: 'Available' }));
    return applyServerChange(ctx, group, pending, settled);
  },
});

const removeServersFromServerGroup = defineAction({
  name: 'RemoveServersFromServerGroup',
  mode: 'write',
  clientToken: true,
  dryRun: true,
  params: {
    ServerGroupId: p.string({ required: true, maxLength: 128 }),
    Servers: serversParam({ ...serverIdentityFields, Port: p.integer({ min: 0, max: 65535, default: 0 }) }),
  },
  authResources: (input) => [['servergroup', input.ServerGroupId]],
  handler: async (input, ctx) => {
    const group = await requireServerGroup(ctx, input.ServerGroupId, { forWrite: true });
    uniqueByIdAndPort(input.Servers.map((s) => ({ server: s, port: s.Port })));
    const pending = group.body.Servers.map((s) => ({ ...s }));
    for (const wanted of input.Servers) pending[findServer(pending, wanted, wanted.Port)].Status = 'Removing';
    const settled = pending.filter((s) => s.Status !== 'Removing');
    return applyServerChange(ctx, group, pending, settled);
  },
});

const updateServerGroupServersAttribute = defineAction({
  name: 'UpdateServerGroupServersAttribute',
  mode: 'write',
  clientToken: true,
  dryRun: true,
  params: {
    ServerGroupId: p.string({ required: true, maxLength: 128 }),
    Servers: serversParam({
      ...serverIdentityFields,
      // Required and immutable: it identifies the server. 0 names a server of an any-port group.
      Port: p.integer({ required: true, min: 0, max: 65535 }),
      Weight: p.integer({ min: 0, max: 100 }),
      Description: p.string(),
    }),
  },
  authResources: (input) => [['servergroup', input.ServerGroupId]],
  handler: async (input, ctx) => {
    const group = await requireServerGroup(ctx, input.ServerGroupId, { forWrite: true });
    uniqueByIdAndPort(input.Servers.map((s) => ({ server: s, port: s.Port })));
    const pending = group.body.Servers.map((s) => ({ ...s }));
    for (const wanted of input.Servers) {
      checkDescription(wanted.Description);
      const server = pending[findServer(pending, wanted, wanted.Port)];
      // Only what was sent changes; an omitted weight keeps the current one.
      if (wanted.Weight !== undefined) server.Weight = wanted.Weight;
      if (wanted.Description !== undefined) server.Description = wanted.Description;
      server.Status = 'Configuring';
    }
    const settled = pending.map((s) => ({ ...s, Status: 'Available' }));
    return applyServerChange(ctx, group, pending, settled);
  },
});

const listServerGroupServers = defineAction({
  name: 'ListServerGroupServers',
  mode: 'read',
  params: {
    ServerGroupId: p.string({ maxLength: 128 }),
    ServerIds: p.list(p.string({ maxLength: 128 }), { maxItems: 40, errorName: 'ServerIds' }),
    ServerIps: p.list(p.string({ maxLength: 64 }), { maxItems: 40, errorName: 'ServerIps' }),
    MaxResults: p.integer({ min: 1, max: 100, default: 20 }),
    NextToken: p.string({ maxLength: 512 }),
  },
  authResources: (input) => (input.ServerGroupId ? [['servergroup', input.ServerGroupId]] : []),
  handler: async (input, ctx) => {
    await ctx.refreshJobs();
    // Without ServerGroupId the call lists the backends of every group in the region.
    const groups = input.ServerGroupId
      ? [await requireServerGroup(ctx, input.ServerGroupId, { forWrite: false })]
      : await listResources<ServerGroupDoc>(ctx.db, { product: 'nlb', kind: SERVER_GROUP_KIND, regionId: ctx.region.id });
    const ids = input.ServerIds && input.ServerIds.length > 0 ? new Set(input.ServerIds) : undefined;
    const ips = input.ServerIps && input.ServerIps.length > 0 ? new Set(input.ServerIps) : undefined;
    const servers = groups.flatMap((g) =>
      g.body.Servers.filter((s) => (!ids || ids.has(s.ServerId)) && (!ips || ips.has(s.ServerIp))).map((s) => ({
        ServerGroupId: g.id,
        ServerId: s.ServerId,
        ServerType: s.ServerType,
        ServerIp: s.ServerIp,
        Port: s.Port,
        Weight: s.Weight,
        Description: s.Description,
        ZoneId: s.ZoneId ?? zoneOfAddress(ctx.region, g.body.VpcId, s.ServerIp),
        Status: s.Status,
      })),
    );
    const { page, nextToken, totalCount } = paginate(servers, input.MaxResults, input.NextToken);
    return { Servers: page, NextToken: nextToken, MaxResults: input.MaxResults, TotalCount: totalCount };
  },
});

export const serverActions = [
  addServersToServerGroup,
  removeServersFromServerGroup,
  updateServerGroupServersAttribute,
  listServerGroupServers,
];
