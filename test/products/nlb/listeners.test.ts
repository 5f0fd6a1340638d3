/**
 * NLB listeners through the vendor's client: creation rules and codes, the status machine,
 * reads, lists, updates, start/stop, deletion, idempotency, DryRun and RAM.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { RamService } from '../../../src/accounts/ram-service.js';
import { NLB, callApi, callError, startTestServer, waitForJob, type TestServer } from '../../support/server.js';
import { createActiveLoadBalancer } from '../../support/nlb-setup.js';

let server: TestServer;

before(async () => {
  server = await startTestServer({
    configure: (c) => {
      c.quotas.nlbListenersPerLoadBalancer = 4;
      // A second VPC, so that a server group can live outside the NLB's VPC.
      c.regions[0].vpcs.push({
        id: 'vpc-other',
        cidr: '10.9.0.0/16',
        vSwitches: [
          { id: 'vsw-other-a', zoneId: 'cn-hangzhou-a', vipPool: '10.9.1.0/24' },
          { id: 'vsw-other-b', zoneId: 'cn-hangzhou-b', vipPool: '10.9.2.0/24' },
        ],
      });
    },
  });
  nlb = await createNlb();
  tcpGroup = await createGroup({ Protocol: 'TCP' });
  udpGroup = await createGroup({ Protocol: 'UDP' });
  tcpUdpGroup = await createGroup({ Protocol: 'TCP_UDP' });
  anyPortGroup = await createGroup({ Protocol: 'TCP_UDP', AnyPortEnabled: true, HealthCheckConfig: { HealthCheckConnectPort: 80 } });
  tlsGroup = await createGroup({ Protocol: 'TCP', PreserveClientIpEnabled: false });
});
after(async () => {
  await server?.stop();
});

// --- fixtures -------------------------------------------------------------------------------

const call = (action: string, params: Record<string, unknown> = {}) => callApi(server, NLB, action, params);
const read = (action: string, params: Record<string, unknown>) => callApi(server, NLB, action, params, { placement: 'query' });

async function createNlb(vpcId = 'vpc-local'): Promise<string> {
  const suffix = vpcId === 'vpc-local' ? 'local' : 'other';
  return (await createActiveLoadBalancer(server, { vpcId, vSwitchIds: [`vsw-${suffix}-a`, `vsw-${suffix}-b`] })).id;
}

let groupCounter = 0;
async function createGroup(params: Record<string, unknown> = {}): Promise<string> {
  const { ServerGroupId, JobId } = await call('CreateServerGroup', {
    ServerGroupName: `grp-${++groupCounter}`,
    VpcId: 'vpc-local',
    ...params,
  });
  await waitForJob(server, JobId);
  return ServerGroupId;
}

async function createListener(params: Record<string, unknown>): Promise<string> {
  const { ListenerId, JobId } = await call('CreateListener', params);
  assert.equal(await waitForJob(server, JobId), 'Succeeded');
  return ListenerId;
}

const attributes = (ListenerId: string) => read('GetListenerAttribute', { ListenerId });

async function listenerCount(LoadBalancerId: string): Promise<number> {
  const body = await read('ListListeners', { LoadBalancerIds: [LoadBalancerId] });
  return body.TotalCount;
}

let nlb: string;
let tcpGroup: string;
let udpGroup: string;
let tcpUdpGroup: string;
let anyPortGroup: string;
let tlsGroup: string;

// --- creating -------------------------------------------------------------------------------

describe('CreateListener', () => {
  test('a TCP listener is Provisioning, then Running, and reads back with the documented defaults', async () => {
    const lb = await createNlb();
    const created = await call('CreateListener', {
      LoadBalancerId: lb,
      ListenerProtocol: 'TCP',
      ListenerPort: 80,
      ServerGroupId: tcpGroup,
      ListenerDescription: 'tcp_80',
      Tag: [{ Key: 'env', Value: 'test' }],
    });
    assert.match(created.ListenerId, /^lsn-[a-z0-9]{20}@80$/);
    assert.match(created.JobId, /^[0-9a-f-]{36}$/);
    assert.equal(await waitForJob(server, created.JobId), 'Succeeded');

    const l = await attributes(created.ListenerId);
    assert.equal(l.ListenerStatus, 'Running');
    assert.equal(l.ListenerId, created.ListenerId);
    assert.equal(l.LoadBalancerId, lb);
    assert.equal(l.ServerGroupId, tcpGroup);
    assert.equal(l.ListenerProtocol, 'TCP');
    assert.equal(l.ListenerPort, 80);
    assert.equal(l.ListenerDescription, 'tcp_80');
    assert.equal(l.IdleTimeout, 900);
    assert.equal(l.Cps, 0);
    assert.equal(l.Mss, 0);
    assert.equal(l.ProxyProtocolEnabled, false);
    assert.deepEqual(l.ProxyProtocolV2Config, {
      Ppv2VpcIdEnabled: false,
      Ppv2PrivateLinkEpIdEnabled: false,
      Ppv2PrivateLinkEpsIdEnabled: false,
    });
    assert.equal(l.SecSensorEnabled, false);
    assert.equal(l.AlpnEnabled, false);
    assert.equal(l.CaEnabled, false);
    assert.deepEqual(l.CertificateIds, []);
    assert.deepEqual(l.CaCertificateIds, []);
    assert.equal(l.RegionId, 'cn-hangzhou');
    assert.equal(l.StartPort, undefined, 'a fixed-port listener shows no range');
    assert.deepEqual(l.Tags, [{ TagKey: 'env', TagValue: 'test' }]);
    // The NLB is not reconfigured by its listeners.
    assert.equal((await read('GetLoadBalancerAttribute', { LoadBalancerId: lb })).LoadBalancerStatus, 'Active');
  });

  test('UDP listeners default to a 20 s idle timeout and may share a port number with TCP', async () => {
    const lb = await createNlb();
    await createListener({ LoadBalancerId: lb, ListenerProtocol: 'TCP', ListenerPort: 53, ServerGroupId: tcpUdpGroup });
    const udp = await createListener({ LoadBalancerId: lb, ListenerProtocol: 'UDP', ListenerPort: 53, ServerGroupId: tcpUdpGroup });
    const l = await attributes(udp);
    assert.equal(l.IdleTimeout, 20);
    assert.equal(l.ListenerProtocol, 'UDP');
  });

  test('Conflict.Port: the same port of the same space twice on one NLB, but another NLB may use it', async () => {
    const lb = await createNlb();
    await createListener({ LoadBalancerId: lb, ListenerProtocol: 'TCP', ListenerPort: 443, ServerGroupId: tcpGroup });
    const e = await callError(
      call('CreateListener', { LoadBalancerId: lb, ListenerProtocol: 'TCP', ListenerPort: 443, ServerGroupId: tcpGroup }),
    );
    assert.equal(e.code, 'Conflict.Port');
    assert.equal(e.statusCode, 400);
    assert.match(e.data.Message, /\[443\]/);
    await createListener({ LoadBalancerId: lb, ListenerProtocol: 'UDP', ListenerPort: 443, ServerGroupId: udpGroup });
    const u = await callError(
      call('CreateListener', { LoadBalancerId: lb, ListenerProtocol: 'UDP', ListenerPort: 443, ServerGroupId: udpGroup }),
    );
    assert.equal(u.code, 'Conflict.Port');
    const other = await createNlb();
    await createListener({ LoadBalancerId: other, ListenerProtocol: 'TCP', ListenerPort: 443, ServerGroupId: tcpGroup });
    assert.equal(await listenerCount(lb), 2);
  });

  test('port ranges: StartPort/EndPort as strings, ID ends in @0, one per NLB, ranges collide with ports', async () => {
    const lb = await createNlb();
    const range = await createListener({
      LoadBalancerId: lb,
      ListenerProtocol: 'TCP',
      ListenerPort: 0,
      StartPort: 1000,
      EndPort: 2000,
      ServerGroupId: anyPortGroup,
    });
    assert.match(range, /@0$/);
    const l = await attributes(range);
    assert.equal(l.ListenerPort, 0);
    assert.equal(l.StartPort, '1000');
    assert.equal(l.EndPort, '2000');

    const fixedInside = await callError(
      call('CreateListener', { LoadBalancerId: lb, ListenerProtocol: 'TCP', ListenerPort: 1500, ServerGroupId: tcpGroup }),
    );
    assert.equal(fixedInside.code, 'Conflict.Port');
    const second = await callError(
      call('CreateListener', {
        LoadBalancerId: lb,
        ListenerProtocol: 'UDP',
        ListenerPort: 0,
        StartPort: 3000,
        EndPort: 4000,
        ServerGroupId: anyPortGroup,
      }),
    );
    assert.equal(second.code, 'DuplicatedParam.listener');
    // A fixed port outside the range is fine.
    await createListener({ LoadBalancerId: lb, ListenerProtocol: 'TCP', ListenerPort: 999, ServerGroupId: tcpGroup });
  });

  test('port-range rules: missing ends, empty range, range with a fixed port', async () => {
    const base = { LoadBalancerId: nlb, ListenerProtocol: 'TCP', ServerGroupId: anyPortGroup };
    assert.equal((await callError(call('CreateListener', { ...base, ListenerPort: 0, EndPort: 10 }))).code, 'MissingParam.StartPort');
    assert.equal((await callError(call('CreateListener', { ...base, ListenerPort: 0, StartPort: 10 }))).code, 'MissingParam.EndPort');
    assert.equal(
      (await callError(call('CreateListener', { ...base, ListenerPort: 0, StartPort: 20, EndPort: 10 }))).code,
      'IllegalParam.Port',
    );
    assert.equal(
      (await callError(call('CreateListener', { ...base, ListenerPort: 80, StartPort: 20, EndPort: 30, ServerGroupId: tcpGroup }))).code,
      'IllegalParam.Port',
    );
    assert.equal((await callError(call('CreateListener', { ...base, ListenerPort: 65536 }))).code, 'IllegalParam.ListenerPort');
  });

  test('any-port listeners need any-port groups and fixed ports refuse them', async () => {
    const e1 = await callError(
      call('CreateListener', {
        LoadBalancerId: nlb,
        ListenerProtocol: 'TCP',
        ListenerPort: 0,
        StartPort: 1,
        EndPort: 9,
        ServerGroupId: tcpGroup,
      }),
    );
    assert.equal(e1.code, 'IllegalParam.AnyPortListenerConflictWithNonAnyPortServerGroup');
    const e2 = await callError(
      call('CreateListener', { LoadBalancerId: nlb, ListenerProtocol: 'TCP', ListenerPort: 81, ServerGroupId: anyPortGroup }),
    );
    assert.equal(e2.code, 'IllegalParam.NonAnyPortListenerConflictWithAnyPortServerGroup');
  });

  test('listener and server group protocols must pair up', async () => {
    const tcpToUdp = await callError(
      call('CreateListener', { LoadBalancerId: nlb, ListenerProtocol: 'TCP', ListenerPort: 82, ServerGroupId: udpGroup }),
    );
    assert.equal(tcpToUdp.code, 'Mismatch.Protocol');
    const udpToTcp = await callError(
      call('CreateListener', { LoadBalancerId: nlb, ListenerProtocol: 'UDP', ListenerPort: 82, ServerGroupId: tcpGroup }),
    );
    assert.equal(udpToTcp.code, 'Mismatch.Protocol');
    const sslToTcpUdp = await callError(
      call('CreateListener', {
        LoadBalancerId: nlb,
        ListenerProtocol: 'TCPSSL',
        ListenerPort: 82,
        ServerGroupId: tcpUdpGroup,
        CertificateIds: ['123'],
      }),
    );
    assert.equal(sslToTcpUdp.code, 'Mismatch.Protocol');
    // Client IP preservation is on by default for TCP groups; TLS termination cannot keep it.
    const preserving = await callError(
      call('CreateListener', {
        LoadBalancerId: nlb,
        ListenerProtocol: 'TCPSSL',
        ListenerPort: 82,
        ServerGroupId: tcpGroup,
        CertificateIds: ['123'],
      }),
    );
    assert.equal(preserving.code, 'IllegalParam.PreserveClientIpSwitch');
  });

  test("the server group must be in the NLB's VPC", async () => {
    const foreign = await createGroup({ VpcId: 'vpc-other' });
    const e = await callError(
      call('CreateListener', { LoadBalancerId: nlb, ListenerProtocol: 'TCP', ListenerPort: 83, ServerGroupId: foreign }),
    );
    assert.equal(e.code, 'Mismatch.VpcId');
    assert.match(e.data.Message, /vpc-other/);
  });

  test('missing and unknown references', async () => {
    const noGroup = await callError(call('CreateListener', { LoadBalancerId: nlb, ListenerProtocol: 'TCP', ListenerPort: 84 }));
    assert.equal(noGroup.code, 'MissingParam.ServerGroupId');
    const badGroup = await callError(
      call('CreateListener', { LoadBalancerId: nlb, ListenerProtocol: 'TCP', ListenerPort: 84, ServerGroupId: 'not-a-group' }),
    );
    assert.equal(badGroup.code, 'IllegalParam.ServerGroupId');
    const unknownGroup = await callError(
      call('CreateListener', { LoadBalancerId: nlb, ListenerProtocol: 'TCP', ListenerPort: 84, ServerGroupId: 'sgp-doesnotexist0000000' }),
    );
    assert.equal(unknownGroup.code, 'ResourceNotFound.serverGroup');
    assert.equal(unknownGroup.statusCode, 404);
    const unknownLb = await callError(
      call('CreateListener', {
        LoadBalancerId: 'nlb-doesnotexist00000000',
        ListenerProtocol: 'TCP',
        ListenerPort: 84,
        ServerGroupId: tcpGroup,
      }),
    );
    assert.equal(unknownLb.code, 'ResourceNotFound.loadBalancer');
    assert.equal(unknownLb.statusCode, 404);
    const noProtocol = await callError(call('CreateListener', { LoadBalancerId: nlb, ListenerPort: 84, ServerGroupId: tcpGroup }));
    assert.equal(noProtocol.code, 'MissingParam.ListenerProtocol');
    const badProtocol = await callError(
      call('CreateListener', { LoadBalancerId: nlb, ListenerProtocol: 'HTTP', ListenerPort: 84, ServerGroupId: tcpGroup }),
    );
    assert.equal(badProtocol.code, 'IllegalParam.ListenerProtocol');
  });

  test('idle timeout, CPS and MSS ranges', async () => {
    const tcp = { LoadBalancerId: nlb, ListenerProtocol: 'TCP', ListenerPort: 85, ServerGroupId: tcpGroup };
    const udp = { LoadBalancerId: nlb, ListenerProtocol: 'UDP', ListenerPort: 85, ServerGroupId: udpGroup };
    assert.equal((await callError(call('CreateListener', { ...tcp, IdleTimeout: 9 }))).code, 'IllegalParam.IdleTimeout');
    assert.equal((await callError(call('CreateListener', { ...tcp, IdleTimeout: 901 }))).code, 'IllegalParam.IdleTimeout');
    assert.equal((await callError(call('CreateListener', { ...udp, IdleTimeout: 21 }))).code, 'IllegalParam.IdleTimeout');
    assert.equal((await callError(call('CreateListener', { ...tcp, Cps: 1_000_001 }))).code, 'IllegalParam.Cps');
    assert.equal((await callError(call('CreateListener', { ...tcp, Mss: 1501 }))).code, 'IllegalParam.Mss');
    assert.equal((await callError(call('CreateListener', { ...udp, Mss: 1400 }))).code, 'IllegalParam.MssConflictWithUdpAndGeneve');
    assert.equal(await listenerCount(nlb), 0, 'refused calls leave nothing behind');
  });

  test('ListenerDescription must follow its pattern', async () => {
    const e = await callError(
      call('CreateListener', {
        LoadBalancerId: nlb,
        ListenerProtocol: 'TCP',
        ListenerPort: 86,
        ServerGroupId: tcpGroup,
        ListenerDescription: 'no spaces!',
      }),
    );
    assert.equal(e.code, 'IllegalParam.ListenerDescription');
  });

  test('tag rules', async () => {
    const base = { LoadBalancerId: nlb, ListenerProtocol: 'TCP', ListenerPort: 87, ServerGroupId: tcpGroup };
    const codeFor = async (Tag: unknown) => (await callError(call('CreateListener', { ...base, Tag }))).code;
    assert.equal(await codeFor([{ Value: 'v' }]), 'MissingParam.TagKey');
    assert.equal(await codeFor([{ Key: 'aliyun-x', Value: 'v' }]), 'IllegalParam.TagKey');
    assert.equal(await codeFor([{ Key: 'k'.repeat(65), Value: 'v' }]), 'IllegalParam.TagKey');
    assert.equal(await codeFor([{ Key: 'k', Value: 'https://x' }]), 'IllegalParam.TagValue');
    assert.equal(await codeFor([{ Key: 'k', Value: 'v'.repeat(129) }]), 'IllegalParam.TagValue');
    assert.equal(
      await codeFor([
        { Key: 'k', Value: 'a' },
        { Key: 'k', Value: 'b' },
      ]),
      'DuplicatedParam.TagKey',
    );
    assert.equal(await codeFor(Array.from({ length: 21 }, (_, i) => ({ Key: `k${i}`, Value: 'v' }))), 'IllegalParamSize.Tag');
  });

  test('TLS parameters belong to TCPSSL listeners, which need exactly one known certificate and policy', async () => {
    const tcp = { LoadBalancerId: nlb, ListenerProtocol: 'TCP', ListenerPort: 88, ServerGroupId: tcpGroup };
    assert.equal((await callError(call('CreateListener', { ...tcp, CertificateIds: ['123'] }))).code, 'IllegalParam.CertificateIds');
    assert.equal(
      (await callError(call('CreateListener', { ...tcp, AlpnEnabled: true, AlpnPolicy: 'HTTP2Only' }))).code,
      'IllegalParam.AlpnEnabled',
    );

    const ssl = { LoadBalancerId: nlb, ListenerProtocol: 'TCPSSL', ListenerPort: 88, ServerGroupId: tlsGroup };
    assert.equal((await callError(call('CreateListener', ssl))).code, 'MissingParam.Certificate');
    assert.equal(
      (await callError(call('CreateListener', { ...ssl, CertificateIds: ['123', '456'] }))).code,
      'IllegalParamSize.certificateIds',
    );
    assert.equal(
      (await callError(call('CreateListener', { ...ssl, CertificateIds: ['123'], AlpnEnabled: true }))).code,
      'MissingParam.AlpnPolicy',
    );
    assert.equal(
      (await callError(call('CreateListener', { ...ssl, CertificateIds: ['123'], AlpnEnabled: true, AlpnPolicy: 'HTTP3' }))).code,
      'IllegalParam.AlpnPolicy',
    );
    const policy = await callError(call('CreateListener', { ...ssl, CertificateIds: ['123'], SecurityPolicyId: 'tls-doesnotexist' }));
    assert.equal(policy.code, 'ResourceNotFound.securitypolicy');
    assert.equal(policy.statusCode, 404);
    const cert = await callError(call('CreateListener', { ...ssl, CertificateIds: ['123'], SecurityPolicyId: 'tls_cipher_policy_1_2' }));
    assert.equal(cert.code, 'ResourceNotFound.Certificate');
    assert.equal(cert.statusCode, 400);
  });

  test("fine-grained monitoring needs the region's HdMonitor target first", async () => {
    const lb = await createNlb();
    const params = { LoadBalancerId: lb, ListenerProtocol: 'TCP', ListenerPort: 89, ServerGroupId: tcpGroup, SecSensorEnabled: true };
    const e = await callError(call('CreateListener', params));
    assert.equal(e.code, 'ResourceNotFound.HdMonitorConfigNotExist');
    assert.equal(e.statusCode, 404);
    await callApi(server, NLB, 'SetHdMonitorRegionConfig', { LogProject: 'my-project', MetricStore: 'my-store' }, { placement: 'query' });
    const id = await createListener(params);
    assert.equal((await attributes(id)).SecSensorEnabled, true);
    const listed = await read('ListListeners', { LoadBalancerIds: [lb], SecSensorEnabled: 'true' });
    assert.deepEqual(
      listed.Listeners.map((l: any) => l.ListenerId),
      [id],
    );
    const none = await read('ListListeners', { LoadBalancerIds: [lb], SecSensorEnabled: 'false' });
    assert.equal(none.TotalCount, 0);
  });

  test('ProxyProtocolV2Config travels as one JSON string and reads back as an object', async () => {
    const lb = await createNlb();
    const id = await createListener({
      LoadBalancerId: lb,
      ListenerProtocol: 'TCP',
      ListenerPort: 90,
      ServerGroupId: tcpGroup,
      ProxyProtocolEnabled: true,
      ProxyProtocolV2Config: JSON.stringify({ Ppv2VpcIdEnabled: true, Ppv2PrivateLinkEpIdEnabled: false }),
      Cps: 5000,
      Mss: 1400,
      IdleTimeout: 60,
    });
    const l = await attributes(id);
    assert.equal(l.ProxyProtocolEnabled, true);
    assert.deepEqual(l.ProxyProtocolV2Config, {
      Ppv2VpcIdEnabled: true,
      Ppv2PrivateLinkEpIdEnabled: false,
      Ppv2PrivateLinkEpsIdEnabled: false,
    });
    assert.equal(l.Cps, 5000);
    assert.equal(l.Mss, 1400);
    assert.equal(l.IdleTimeout, 60);
    const bad = await callError(
      call('CreateListener', {
        LoadBalancerId: lb,
        ListenerProtocol: 'TCP',
        ListenerPort: 91,
        ServerGroupId: tcpGroup,
        ProxyProtocolV2Config: '{not json',
      }),
    );
    assert.equal(bad.code, 'IllegalParam.ProxyProtocolV2Config');
  });

  test('the listener quota per NLB', async () => {
    const lb = await createNlb();
    for (const port of [1, 2, 3, 4]) {
      await createListener({ LoadBalancerId: lb, ListenerProtocol: 'TCP', ListenerPort: port, ServerGroupId: tcpGroup });
    }
    const e = await callError(
      call('CreateListener', { LoadBalancerId: lb, ListenerProtocol: 'TCP', ListenerPort: 5, ServerGroupId: tcpGroup }),
    );
    assert.equal(e.code, 'QuotaExceeded.QuotaInsufficient');
    assert.match(e.data.Message, /usage 4\/4/);
  });

  test('DryRun validates everything and creates nothing', async () => {
    const lb = await createNlb();
    const params = { LoadBalancerId: lb, ListenerProtocol: 'TCP', ListenerPort: 92, ServerGroupId: tcpGroup };
    const e = await callError(call('CreateListener', { ...params, DryRun: true }));
    assert.equal(e.code, 'DryRunOperation');
    assert.equal(await listenerCount(lb), 0);
    const invalid = await callError(call('CreateListener', { ...params, ServerGroupId: udpGroup, DryRun: true }));
    assert.equal(invalid.code, 'Mismatch.Protocol');
  });

  test('a repeated ClientToken answers with the first listener instead of creating another', async () => {
    const lb = await createNlb();
    const params = { LoadBalancerId: lb, ListenerProtocol: 'TCP', ListenerPort: 93, ServerGroupId: tcpGroup, ClientToken: 'token-93' };
    const first = await call('CreateListener', params);
    const again = await call('CreateListener', params);
    assert.equal(again.ListenerId, first.ListenerId);
    assert.equal(again.JobId, first.JobId);
    assert.equal(await listenerCount(lb), 1);
    const changed = await callError(call('CreateListener', { ...params, ListenerPort: 94 }));
    assert.equal(changed.code, 'IdempotenceSignatureMismatch');
  });
});

// --- reading --------------------------------------------------------------------------------

describe('GetListenerAttribute and ListListeners', () => {
  test('unknown listeners are ResourceNotFound.listener for every listener action', async () => {
    const ListenerId = 'lsn-doesnotexist0000000@80';
    for (const [action, placement] of [
      ['GetListenerAttribute', 'query'],
      ['UpdateListenerAttribute', 'body'],
      ['DeleteListener', 'body'],
      ['StartListener', 'body'],
      ['StopListener', 'body'],
    ] as const) {
      const e = await callError(callApi(server, NLB, action, { ListenerId }, { placement }));
      assert.equal(e.code, 'ResourceNotFound.listener', action);
      assert.equal(e.statusCode, 404, action);
    }
    const missing = await callError(read('GetListenerAttribute', {}));
    assert.equal(missing.code, 'MissingParam.ListenerId');
  });

  test('filters, tags as Key/Value, and NextToken paging', async () => {
    const lb = await createNlb();
    const a = await createListener({
      LoadBalancerId: lb,
      ListenerProtocol: 'TCP',
      ListenerPort: 100,
      ServerGroupId: tcpGroup,
      Tag: [{ Key: 'team', Value: 'a' }],
    });
    const b = await createListener({ LoadBalancerId: lb, ListenerProtocol: 'UDP', ListenerPort: 100, ServerGroupId: udpGroup });
    const c = await createListener({
      LoadBalancerId: lb,
      ListenerProtocol: 'TCP',
      ListenerPort: 101,
      ServerGroupId: tcpGroup,
      Tag: [{ Key: 'team', Value: 'b' }],
    });

    const all = await read('ListListeners', { LoadBalancerIds: [lb] });
    assert.equal(all.TotalCount, 3);
    assert.equal(all.MaxResults, 20);
    assert.deepEqual(
      all.Listeners.map((l: any) => l.ListenerId),
      [a, b, c],
    );
    const first = all.Listeners[0];
    assert.deepEqual(first.Tags, [{ Key: 'team', Value: 'a' }]);
    assert.equal(first.ListenerStatus, 'Running');
    assert.deepEqual(all.Listeners[1].Tags, []);

    const udp = await read('ListListeners', { LoadBalancerIds: [lb], ListenerProtocol: 'UDP' });
    assert.deepEqual(
      udp.Listeners.map((l: any) => l.ListenerId),
      [b],
    );
    const byId = await read('ListListeners', { ListenerIds: [c, a] });
    assert.deepEqual(byId.Listeners.map((l: any) => l.ListenerId).sort(), [a, c].sort());
    const byTag = await read('ListListeners', { LoadBalancerIds: [lb], Tag: [{ Key: 'team', Value: 'b' }] });
    assert.deepEqual(
      byTag.Listeners.map((l: any) => l.ListenerId),
      [c],
    );

    const page1 = await read('ListListeners', { LoadBalancerIds: [lb], MaxResults: 2 });
    assert.equal(page1.Listeners.length, 2);
    assert.ok(page1.NextToken);
    const page2 = await read('ListListeners', { LoadBalancerIds: [lb], MaxResults: 2, NextToken: page1.NextToken });
    assert.deepEqual(
      page2.Listeners.map((l: any) => l.ListenerId),
      [c],
    );
    assert.equal(page2.NextToken, '');

    assert.equal((await callError(read('ListListeners', { MaxResults: 101 }))).code, 'IllegalParam.MaxResults');
    assert.equal((await callError(read('ListListeners', { ListenerProtocol: 'HTTP' }))).code, 'IllegalParam.ListenerProtocol');
    assert.equal((await callError(read('ListListeners', { NextToken: 'garbage' }))).code, 'IllegalParam.NextToken');
  });

  test('GetListenerAttribute honours DryRun', async () => {
    const lb = await createNlb();
    const id = await createListener({ LoadBalancerId: lb, ListenerProtocol: 'TCP', ListenerPort: 102, ServerGroupId: tcpGroup });
    const e = await callError(read('GetListenerAttribute', { ListenerId: id, DryRun: true }));
    assert.equal(e.code, 'DryRunOperation');
  });
});

// --- changing -------------------------------------------------------------------------------

describe('UpdateListenerAttribute, StopListener, StartListener, DeleteListener', () => {
  test('an update reconfigures the listener and keeps what it does not name', async () => {
    const lb = await createNlb();
    const id = await createListener({
      LoadBalancerId: lb,
      ListenerProtocol: 'TCP',
      ListenerPort: 110,
      ServerGroupId: tcpGroup,
      ListenerDescription: 'before',
      Cps: 100,
    });
    const { JobId } = await call('UpdateListenerAttribute', {
      ListenerId: id,
      ListenerDescription: 'after',
      IdleTimeout: 30,
      ProxyProtocolEnabled: true,
      ProxyProtocolV2Config: JSON.stringify({ Ppv2PrivateLinkEpsIdEnabled: true }),
      ServerGroupId: tcpUdpGroup,
    });
    assert.equal(await waitForJob(server, JobId), 'Succeeded');
    const l = await attributes(id);
    assert.equal(l.ListenerStatus, 'Running');
    assert.equal(l.ListenerDescription, 'after');
    assert.equal(l.IdleTimeout, 30);
    assert.equal(l.Cps, 100);
    assert.equal(l.ServerGroupId, tcpUdpGroup);
    assert.equal(l.ProxyProtocolEnabled, true);
    assert.equal(l.ProxyProtocolV2Config.Ppv2PrivateLinkEpsIdEnabled, true);
    assert.equal(l.ListenerPort, 110);
  });

  test('updates follow the same rules as creation', async () => {
    const lb = await createNlb();
    const udp = await createListener({ LoadBalancerId: lb, ListenerProtocol: 'UDP', ListenerPort: 111, ServerGroupId: udpGroup });
    const tcp = await createListener({ LoadBalancerId: lb, ListenerProtocol: 'TCP', ListenerPort: 111, ServerGroupId: tcpGroup });
    const codeFor = async (params: Record<string, unknown>) => (await callError(call('UpdateListenerAttribute', params))).code;
    assert.equal(await codeFor({ ListenerId: udp, IdleTimeout: 900 }), 'IllegalParam.IdleTimeout');
    assert.equal(await codeFor({ ListenerId: udp, Mss: 1200 }), 'IllegalParam.MssConflictWithUdpAndGeneve');
    assert.equal(await codeFor({ ListenerId: udp, ServerGroupId: tcpGroup }), 'Mismatch.Protocol');
    assert.equal(
      await codeFor({ ListenerId: tcp, ServerGroupId: anyPortGroup }),
      'IllegalParam.NonAnyPortListenerConflictWithAnyPortServerGroup',
    );
    assert.equal(await codeFor({ ListenerId: tcp, ServerGroupId: 'sgp-doesnotexist0000000' }), 'ResourceNotFound.serverGroup');
    assert.equal(await codeFor({ ListenerId: tcp, ListenerDescription: '?' }), 'IllegalParam.ListenerDescription');
    assert.equal(await codeFor({ ListenerId: tcp, SecurityPolicyId: 'tls_cipher_policy_1_2' }), 'IllegalParam.SecurityPolicyId');
    const foreign = await createGroup({ VpcId: 'vpc-other' });
    assert.equal(await codeFor({ ListenerId: tcp, ServerGroupId: foreign }), 'Mismatch.VpcId');
    assert.equal((await attributes(tcp)).ListenerStatus, 'Running', 'refused updates change nothing');
    assert.equal((await attributes(tcp)).ServerGroupId, tcpGroup);
  });

  test('stop, start and their wrong-state refusals; a stopped listener stays stopped when updated', async () => {
    const lb = await createNlb();
    const id = await createListener({ LoadBalancerId: lb, ListenerProtocol: 'TCP', ListenerPort: 120, ServerGroupId: tcpGroup });

    const started = await callError(call('StartListener', { ListenerId: id }));
    assert.equal(started.code, 'IncorrectStatus.listener');
    assert.match(started.data.Message, new RegExp(id.replace(/[@]/g, '.')));

    assert.equal(await waitForJob(server, (await call('StopListener', { ListenerId: id })).JobId), 'Succeeded');
    assert.equal((await attributes(id)).ListenerStatus, 'Stopped');
    assert.equal((await callError(call('StopListener', { ListenerId: id }))).code, 'IncorrectStatus.listener');

    assert.equal(await waitForJob(server, (await call('UpdateListenerAttribute', { ListenerId: id, Cps: 7 })).JobId), 'Succeeded');
    const stopped = await attributes(id);
    assert.equal(stopped.ListenerStatus, 'Stopped');
    assert.equal(stopped.Cps, 7);

    assert.equal(await waitForJob(server, (await call('StartListener', { ListenerId: id })).JobId), 'Succeeded');
    assert.equal((await attributes(id)).ListenerStatus, 'Running');

    const dry = await callError(call('StopListener', { ListenerId: id, DryRun: true }));
    assert.equal(dry.code, 'DryRunOperation');
    assert.equal((await attributes(id)).ListenerStatus, 'Running');
  });

  test('deleting removes the listener and frees its port', async () => {
    const lb = await createNlb();
    const id = await createListener({
      LoadBalancerId: lb,
      ListenerProtocol: 'TCP',
      ListenerPort: 130,
      ServerGroupId: tcpGroup,
      Tag: [{ Key: 'k', Value: 'v' }],
    });
    const dry = await callError(call('DeleteListener', { ListenerId: id, DryRun: true }));
    assert.equal(dry.code, 'DryRunOperation');
    assert.equal((await attributes(id)).ListenerStatus, 'Running');

    assert.equal(await waitForJob(server, (await call('DeleteListener', { ListenerId: id })).JobId), 'Succeeded');
    const gone = await callError(attributes(id));
    assert.equal(gone.code, 'ResourceNotFound.listener');
    assert.equal(await listenerCount(lb), 0);
    await createListener({ LoadBalancerId: lb, ListenerProtocol: 'TCP', ListenerPort: 130, ServerGroupId: tcpGroup });
  });
});

// --- RAM ------------------------------------------------------------------------------------

describe('RAM', () => {
  test('CreateListener is authorised against the NLB and the server group; the rest against the listener', async () => {
    const lb = await createNlb();
    const ram = new RamService(server.running.store);
    await ram.createUser('lsn-operator');
    await ram.createPolicy(
      'lsn-operator-policy',
      JSON.stringify({
        Version: '1',
        Statement: [
          {
            Effect: 'Allow',
            Action: 'nlb:*Listener*',
            Resource: [`acs:nlb:*:*:loadbalancer/${lb}`, `acs:nlb:*:*:servergroup/${tcpGroup}`],
          },
          { Effect: 'Allow', Action: 'nlb:GetJobStatus', Resource: '*' },
        ],
      }),
    );
    await ram.attachPolicy('lsn-operator-policy', 'lsn-operator');
    const key = await ram.createAccessKey('lsn-operator');
    const asUser = { accessKeyId: key.accessKeyId, accessKeySecret: key.secret };

    const created = await callApi(
      server,
      NLB,
      'CreateListener',
      { LoadBalancerId: lb, ListenerProtocol: 'TCP', ListenerPort: 140, ServerGroupId: tcpGroup },
      asUser,
    );
    assert.match(created.ListenerId, /^lsn-/);
    const otherGroup = await callError(
      callApi(
        server,
        NLB,
        'CreateListener',
        { LoadBalancerId: lb, ListenerProtocol: 'TCP', ListenerPort: 141, ServerGroupId: tcpUdpGroup },
        asUser,
      ),
    );
    assert.equal(otherGroup.code, 'Forbidden.NoPermission');
    assert.equal(otherGroup.statusCode, 403);
    // The policy names no listener, so reading the new listener by ID is refused.
    const get = await callError(
      callApi(server, NLB, 'GetListenerAttribute', { ListenerId: created.ListenerId }, { ...asUser, placement: 'query' }),
    );
    assert.equal(get.code, 'Forbidden.NoPermission');
    assert.match(get.data.AccessDeniedDetail.AuthResource, new RegExp(`listener/${created.ListenerId}`));
  });
});
