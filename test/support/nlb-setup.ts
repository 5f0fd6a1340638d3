/** Builds NLB resources through the official client, the way a user would, and waits for them. */
import { NLB, callApi, waitForJob, type TestServer } from './server.js';

/** An intranet NLB in both zones of the VPC (default `vpc-local`, vSwitches `vsw-local-a/b`), once it is Active. */
export async function createActiveLoadBalancer(
  server: TestServer,
  opts: { vpcId?: string; vSwitchIds?: [string, string] } = {},
): Promise<{ id: string; vips: string[] }> {
  const [a, b] = opts.vSwitchIds ?? ['vsw-local-a', 'vsw-local-b'];
  const { LoadbalancerId } = await callApi(server, NLB, 'CreateLoadBalancer', {
    AddressType: 'Intranet',
    VpcId: opts.vpcId ?? 'vpc-local',
    ZoneMappings: [
      { ZoneId: 'cn-hangzhou-a', VSwitchId: a },
      { ZoneId: 'cn-hangzhou-b', VSwitchId: b },
    ],
  });
  for (let i = 0; i < 500; i++) {
    const lb = await callApi(server, NLB, 'GetLoadBalancerAttribute', { LoadBalancerId: LoadbalancerId }, { placement: 'query' });
    if (lb.LoadBalancerStatus === 'Active') {
      return { id: LoadbalancerId, vips: lb.ZoneMappings.map((z: any) => z.LoadBalancerAddresses[0].PrivateIPv4Address) };
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('load balancer never became Active');
}

export async function createServerGroup(
  server: TestServer,
  params: Record<string, unknown>,
  servers: Array<{ ip: string; port: number; weight?: number }>,
): Promise<string> {
  const { ServerGroupId, JobId } = await callApi(server, NLB, 'CreateServerGroup', {
    ServerGroupName: `grp-${Math.random().toString(36).slice(2, 8)}`,
    VpcId: 'vpc-local',
    ServerGroupType: 'Ip',
    ...params,
  });
  await waitForJob(server, JobId);
  if (servers.length > 0) {
    const added = await callApi(server, NLB, 'AddServersToServerGroup', {
      ServerGroupId,
      Servers: servers.map((s) => ({ ServerId: s.ip, ServerType: 'Ip', ServerIp: s.ip, Port: s.port, Weight: s.weight ?? 100 })),
    });
    await waitForJob(server, added.JobId);
  }
  return ServerGroupId;
}

export async function createRunningListener(server: TestServer, params: Record<string, unknown>): Promise<string> {
  const { ListenerId, JobId } = await callApi(server, NLB, 'CreateListener', params);
  const status = await waitForJob(server, JobId);
  if (status !== 'Succeeded') throw new Error(`CreateListener job ${status}`);
  return ListenerId;
}
