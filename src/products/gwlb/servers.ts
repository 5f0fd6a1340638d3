/**
 * The appliances of a GWLB server group: AddServersToServerGroup, RemoveServersFromServerGroup,
 * ListServerGroupServers. An appliance is reached at its IPv4 address on UDP 6081 (GENEVE) and
 * identified by ServerId + ServerIp (one ENI may hold several addresses).
 *
 * Each change puts the group in Configuring and the touched servers in Adding / Removing; once
 * the data plane has applied it they become Available, or — removed with connection draining
 * on — Draining until the drain timeout, then gone. Re-adding a Draining server brings it back.
 */
import type { RegionConfig } from '../../config/config.js';
import { defineAction } from '../../gateway/action.js';
import { ApiError, errors } from '../../gateway/errors.js';
import { p } from '../../gateway/params/spec.js';
import { cidrContains, parseCidr, parseIpv4, PRIVATE_RANGES } from '../../util/ipv4.js';
import { listResources } from '../common/resources.js';
import { serverAddress } from '../common/server-address.js';
import { rejectVipAppliances } from './attachment-rules.js';
import { currentServers, PRODUCT, requireServerGroup, requireSettled, SERVER_GROUP_KIND } from './lookups.js';
import type { GwlbServerDoc, GwlbServerGroupDoc } from '../../domain/gwlb-documents.js';
import { pageOf, pagingParams } from './paging.js';
import { changeWithJob } from './transitions.js';
import { GWLB_SERVER_GROUP } from '../../domain/status-machines.js';

const GENEVE_PORT = 6081;
const SERVER_TYPES = ['Ecs', 'Eni', 'Eci', 'Ip'] as const;

/** GWLB's documented private ranges add carrier-grade NAT space to RFC 1918. */
const APPLIANCE_RANGES = [...PRIVATE_RANGES, parseCidr('100.64.0.0/10')!];

const serverFields = {
  ServerId: p.string({ required: true, maxLength: 128 }),
  ServerType: p.string({ required: true, enum: SERVER_TYPES, caseInsensitive: true }),
  ServerIp: p.string({ maxLength: 64 }),
  // Appliances receive GENEVE on UDP 6081 and on no other port.
  Port: p.integer({ min: GENEVE_PORT, max: GENEVE_PORT, default: GENEVE_PORT, errorName: 'Port' }),
};

const serversParam = p.list(p.object(serverFields), { required: true, maxItems: 200, errorName: 'Servers' });
const serverGroupId = p.string({ required: true, maxLength: 128 });

const identity = (s: { ServerId: string; ServerIp: string }) => `${s.ServerId}\u0000${s.ServerIp}`;

function duplicatedServer(detail: string): ApiError {
  return new ApiError('DuplicatedParam.Server', `The param of Server is duplicated. ${detail}`);
}

function illegalIp(detail: string): ApiError {
  return new ApiError('IllegalParam.IP', `The param of IP is illegal. ${detail}`);
}

/** Ip groups hold Ip servers; Instance groups hold Ecs, Eni and Eci servers. */
function checkServerType(serverType: string, group: GwlbServerGroupDoc): void {
  if ((group.ServerGroupType === 'Ip') !== (serverType === 'Ip')) {
    throw new ApiError('Mismatch.ServerType', `The ServerType is mismatched for ${serverType} and ${group.ServerGroupType}.`);
  }
}

/**
 * Where an appliance may live: in the group's VPC; in the documented private ranges; or, for an
 * Ip group (which may reach beyond its VPC), in any configured VPC. An instance whose address
 * lies in another configured VPC belongs to that VPC.
 */
function checkApplianceAddress(address: string, group: GwlbServerGroupDoc, region: RegionConfig): void {
  const ip = parseIpv4(address);
  if (ip === undefined) throw illegalIp(`${address} is not an IPv4 address; GWLB reaches appliances over IPv4.`);
  const owners = region.vpcs.filter((v) => cidrContains(parseCidr(v.cidr)!, ip)).map((v) => v.id);
  if (owners.includes(group.VpcId)) return;
  if (owners.length > 0) {
    if (group.ServerGroupType === 'Ip') return;
    throw new ApiError('Mismatch.VpcId', `The VpcId is mismatched for ${owners[0]} and ${group.VpcId}.`);
  }
  if (APPLIANCE_RANGES.some((r) => cidrContains(r, ip))) return;
  throw illegalIp(
    `${address} is in neither a private range (10.0.0.0/8, 100.64.0.0/10, 172.16.0.0/12, 192.168.0.0/16) nor a configured VPC CIDR.`,
  );
}

const addServersToServerGroup = defineAction({
  name: 'AddServersToServerGroup',
  mode: 'write',
  clientToken: true,
  dryRun: true,
  params: { ServerGroupId: serverGroupId, Servers: serversParam },
  authResources: (input) => [[SERVER_GROUP_KIND, input.ServerGroupId]],
  handler: async (input, ctx) => {
    const group = await requireServerGroup(ctx, input.ServerGroupId);
    requireSettled(group, 'ServerGroup');
    const doc = group.body;
    const incoming: GwlbServerDoc[] = input.Servers.map((s) => {
      checkServerType(s.ServerType, doc);
      const address = serverAddress(s);
      checkApplianceAddress(address, doc, ctx.region);
      return { ServerId: s.ServerId, ServerType: s.ServerType, ServerIp: address, Port: s.Port, Status: 'Adding' };
    });
    const seenIps = new Map<string, string>();
    for (const s of incoming) {
      const other = seenIps.get(s.ServerIp);
      if (other !== undefined) throw duplicatedServer(`${other} and ${s.ServerId} both name ${s.ServerIp}.`);
      seenIps.set(s.ServerIp, s.ServerId);
    }
    await rejectVipAppliances(ctx.db, seenIps.keys());

    const servers = currentServers(doc, ctx.clock.now()).map((s) => ({ ...s }));
    for (const s of incoming) {
      const same = servers.find((e) => identity(e) === identity(s));
      if (same?.Status === 'Draining') {
        // Re-adding rescues a draining appliance: Draining → Adding → Available.
        same.Status = 'Adding';
        delete same.DrainDeadline;
        continue;
      }
      if (same) throw duplicatedServer(`${s.ServerId} (${s.ServerIp}) is already in server group ${group.id}.`);
      const holder = servers.find((e) => e.ServerIp === s.ServerIp);
      if (holder) {
        throw new ApiError(
          'ResourceInUse.IP',
          `The specified resource of IP [${s.ServerIp}] is in use by server ${holder.ServerId} of server group ${group.id}.`,
        );
      }
      servers.push(s);
    }

    const limit = ctx.config.quotas.gwlbServersPerServerGroup;
    if (servers.length > limit) throw errors.quotaInsufficient('gwlb_quota_servers_num', doc.Servers.length, limit);

    const settled = servers.map((s) => (s.Status === 'Adding' ? { ...s, Status: 'Available' } : s));
    await changeWithJob(ctx, group, {
      transition: GWLB_SERVER_GROUP.transitions.configure,
      body: { ...doc, Servers: servers },
      onSettled: { Servers: settled },
    });
    return {};
  },
});

const removeServersFromServerGroup = defineAction({
  name: 'RemoveServersFromServerGroup',
  mode: 'write',
  clientToken: true,
  dryRun: true,
  params: { ServerGroupId: serverGroupId, Servers: serversParam },
  authResources: (input) => [[SERVER_GROUP_KIND, input.ServerGroupId]],
  handler: async (input, ctx) => {
    const group = await requireServerGroup(ctx, input.ServerGroupId);
    requireSettled(group, 'ServerGroup');
    const now = ctx.clock.now();
    const servers = currentServers(group.body, now).map((s) => ({ ...s }));
    const named = new Set<string>();
    for (const wanted of input.Servers) {
      const key = `${wanted.ServerId}\u0000${wanted.ServerIp ?? ''}`;
      if (named.has(key)) throw duplicatedServer(`${wanted.ServerId} is listed twice.`);
      named.add(key);
      // Without ServerIp the request names every address the server holds in the group.
      const matches = servers.filter(
        (s) =>
          s.ServerId === wanted.ServerId &&
          s.ServerType === wanted.ServerType &&
          (wanted.ServerIp === undefined || s.ServerIp === wanted.ServerIp),
      );
      if (matches.length === 0) {
        throw new ApiError(
          'ResourceNotFound.BackendServer',
          `The specified resource of BackendServer [${wanted.ServerId}] is not found.`,
          404,
        );
      }
      for (const match of matches) {
        if (match.Status !== 'Available') {
          throw new ApiError(
            'IncorrectStatus.BackendServer',
            `The status of BackendServer [${match.ServerId}] is incorrect (${match.Status}).`,
          );
        }
        match.Status = 'Removing';
      }
    }
    const drain = group.body.ConnectionDrainConfig;
    const settled = drain.ConnectionDrainEnabled
      ? servers.map((s) =>
          s.Status === 'Removing' ? { ...s, Status: 'Draining', DrainDeadline: now + drain.ConnectionDrainTimeout * 1000 } : s,
        )
      : servers.filter((s) => s.Status !== 'Removing');
    await changeWithJob(ctx, group, {
      transition: GWLB_SERVER_GROUP.transitions.configure,
      body: { ...group.body, Servers: servers },
      onSettled: { Servers: settled },
    });
    return {};
  },
});

const addressList = p.list(p.string({ maxLength: 128 }), { maxItems: 200 });

const listServerGroupServers = defineAction({
  name: 'ListServerGroupServers',
  mode: 'read',
  params: {
    // Not marked required by the SDK: without it, the appliances of every group in the region.
    ServerGroupId: p.string({ maxLength: 128 }),
    ServerIds: addressList,
    ServerIps: addressList,
    ...pagingParams,
  },
  authResources: (input) => (input.ServerGroupId ? [[SERVER_GROUP_KIND, input.ServerGroupId]] : []),
  handler: async (input, ctx) => {
    await ctx.refreshJobs();
    // ServerGroupId filters like the other filters: a group that does not exist (or no longer
    // does) has no appliances, so the answer is an empty list, not a 404. Terraform's
    // `gwlb_server_group` destroy waits for exactly that.
    const groups = (
      await listResources<GwlbServerGroupDoc>(ctx.db, { product: PRODUCT, kind: SERVER_GROUP_KIND, regionId: ctx.region.id })
    ).filter((g) => input.ServerGroupId === undefined || g.id === input.ServerGroupId);
    const now = ctx.clock.now();
    const rows = groups.flatMap((g) =>
      currentServers(g.body, now)
        .filter(
          (s) =>
            (!input.ServerIds?.length || input.ServerIds.includes(s.ServerId)) &&
            (!input.ServerIps?.length || input.ServerIps.includes(s.ServerIp)),
        )
        .map((s) => ({
          ServerGroupId: g.id,
          ServerId: s.ServerId,
          ServerIp: s.ServerIp,
          ServerType: s.ServerType,
          Port: s.Port,
          Status: s.Status,
        })),
    );
    const { page, ...paging } = pageOf(rows, input);
    return { Servers: page, ...paging };
  },
});

export const serverActions = [addServersToServerGroup, removeServersFromServerGroup, listServerGroupServers];
