/**
 * `alicloud_nlb_server_group`, `alicloud_nlb_server_group_server_attachment`, `alicloud_nlb_listener`,
 * `alicloud_nlb_security_policy` and `alicloud_nlb_listener_additional_certificate_attachment`, and the
 * NLB data sources, replayed as the alicloud provider drives them.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { callApi, type TestServer } from '../support/server.js';
import { NLB_VERSION, planDiff, type TerraformProvider } from '../support/terraform-provider.js';
import { clientToken, startTerraformTarget } from '../support/terraform-target.js';
import { makeTestPki, type TestPki } from '../products/cas/openssl.js';

const CAS = '2020-04-07';
let server: TestServer;
let tf: TerraformProvider;
let lbId: string;
let pki: TestPki;
before(async () => {
  ({ server, tf } = await startTerraformTarget({
    // A vSwitch CIDR that holds the backends below, so their zone is known.
    configure: (c) => {
      c.regions[0].vpcs[0].vSwitches[0].cidr = '127.0.5.0/24';
    },
  }));
  const lb = await tf.nlb('CreateLoadBalancer', {
    ClientToken: token(),
    AddressType: 'Intranet',
    VpcId: 'vpc-local',
    ZoneMappings: [
      { VSwitchId: 'vsw-local-a', ZoneId: 'cn-hangzhou-a', AllocationId: '', PrivateIPv4Address: '', Ipv6Address: '' },
      { VSwitchId: 'vsw-local-b', ZoneId: 'cn-hangzhou-b', AllocationId: '', PrivateIPv4Address: '', Ipv6Address: '' },
    ],
  });
  lbId = lb.LoadbalancerId;
  await tf.waitFor(
    () => tf.nlb('GetLoadBalancerAttribute', {}, { LoadBalancerId: lbId }),
    (o) => o.LoadBalancerStatus,
    ['Active'],
  );
  pki = makeTestPki();
});
after(() => server?.stop());

const token = clientToken;
const job = async (reply: Record<string, any>) => {
  await tf.waitJob(NLB_VERSION, reply);
  return reply;
};

// --- alicloud_nlb_server_group -----------------------------------------------------------------

interface GroupConfig {
  server_group_name: string;
  server_group_type?: string;
  protocol?: string;
  scheduler?: string;
  address_ip_version?: string;
  any_port_enabled?: boolean;
  connection_drain_enabled?: boolean;
  connection_drain_timeout?: number;
  preserve_client_ip_enabled?: boolean;
  vpc_id: string;
  health_check?: Record<string, unknown>;
  tags?: Record<string, string>;
}

const HC_FIELDS: Record<string, string> = {
  health_check_enabled: 'HealthCheckEnabled',
  health_check_type: 'HealthCheckType',
  health_check_connect_port: 'HealthCheckConnectPort',
  healthy_threshold: 'HealthyThreshold',
  unhealthy_threshold: 'UnhealthyThreshold',
  health_check_connect_timeout: 'HealthCheckConnectTimeout',
  health_check_interval: 'HealthCheckInterval',
  health_check_domain: 'HealthCheckDomain',
  health_check_url: 'HealthCheckUrl',
  http_check_method: 'HttpCheckMethod',
  health_check_http_code: 'HealthCheckHttpCode',
};

/** The provider's health_check block → HealthCheckConfig map (zero values included where it includes them). */
function healthCheckConfig(block: Record<string, unknown> | undefined): Record<string, unknown> {
  if (!block) return {};
  const out: Record<string, unknown> = {};
  for (const [attr, field] of Object.entries(HC_FIELDS)) {
    const zeroInt = attr.includes('threshold') || attr.includes('interval') || attr.includes('timeout') ? 0 : undefined;
    const value = block[attr] ?? (attr === 'health_check_connect_port' ? 0 : attr === 'health_check_enabled' ? false : (zeroInt ?? ''));
    // Thresholds, interval and timeout go out only when > 0; the rest as d.Get gives them.
    if (zeroInt === 0 && Number(value) <= 0) continue;
    out[field] = value;
  }
  return out;
}

async function createGroup(c: GroupConfig): Promise<string> {
  const request: Record<string, unknown> = { ClientToken: token(), ServerGroupName: c.server_group_name, VpcId: c.vpc_id };
  if (c.server_group_type) request.ServerGroupType = c.server_group_type;
  if (c.protocol) request.Protocol = c.protocol;
  if (c.any_port_enabled !== undefined) request.AnyPortEnabled = c.any_port_enabled;
  if (c.connection_drain_enabled !== undefined) request.ConnectionDrainEnabled = c.connection_drain_enabled;
  if (c.connection_drain_timeout) request.ConnectionDrainTimeout = c.connection_drain_timeout;
  if (c.scheduler) request.Scheduler = c.scheduler;
  if (c.preserve_client_ip_enabled !== undefined) request.PreserveClientIpEnabled = c.preserve_client_ip_enabled;
  if (c.address_ip_version) request.AddressIPVersion = c.address_ip_version;
  request.HealthCheckConfig = healthCheckConfig(c.health_check);
  if (c.tags) request.Tag = Object.entries(c.tags).map(([Key, Value]) => ({ Key, Value }));
  const reply = await tf.nlb('CreateServerGroup', request);
  const id = reply.ServerGroupId as string;
  await tf.waitFor(
    () => tf.readOrGone(() => describeGroup(id)),
    (o) => o.ServerGroupStatus,
    ['Available'],
  );
  return id;
}

async function describeGroup(id: string): Promise<Record<string, any>> {
  const reply = await tf.nlb('ListServerGroups', { 'ServerGroupIds.1': id });
  if (reply.ServerGroups.length === 0) throw Object.assign(new Error('not found'), { notFound: true, statusCode: 404, code: 'NotFound' });
  return reply.ServerGroups[0];
}

async function readGroup(id: string): Promise<Record<string, any> | undefined> {
  let o: Record<string, any>;
  try {
    o = await describeGroup(id);
  } catch (err) {
    if ((err as { notFound?: boolean }).notFound) return undefined;
    throw err;
  }
  const hc = o.HealthCheck ?? {};
  return {
    address_ip_version: o.AddressIPVersion,
    any_port_enabled: o.AnyPortEnabled,
    connection_drain_enabled: o.ConnectionDrainEnabled,
    connection_drain_timeout: o.ConnectionDrainTimeout,
    preserve_client_ip_enabled: o.PreserveClientIpEnabled,
    protocol: o.Protocol,
    region_id: o.RegionId,
    resource_group_id: o.ResourceGroupId,
    scheduler: o.Scheduler,
    server_group_name: o.ServerGroupName,
    server_group_type: o.ServerGroupType,
    status: o.ServerGroupStatus,
    vpc_id: o.VpcId,
    health_check: Object.fromEntries(Object.entries(HC_FIELDS).map(([attr, field]) => [attr, hc[field]])),
    tags: Object.fromEntries((o.Tags ?? []).map((t: any) => [t.Key, t.Value])),
    ali_uid: o.AliUid,
  };
}

async function deleteGroup(id: string): Promise<void> {
  await job(await tf.nlb('DeleteServerGroup', { ClientToken: token(), ServerGroupId: id }));
  assert.equal(await readGroup(id), undefined);
}

describe('alicloud_nlb_server_group', () => {
  const cases: Array<[string, GroupConfig]> = [
    [
      'Instance, TCP, spelled Rr / Ipv4, a partial health_check block',
      {
        server_group_name: 'tf-instance',
        server_group_type: 'Instance',
        protocol: 'TCP',
        scheduler: 'Rr',
        address_ip_version: 'Ipv4',
        vpc_id: 'vpc-local',
        connection_drain_enabled: true,
        connection_drain_timeout: 60,
        health_check: { health_check_enabled: true, health_check_type: 'TCP', health_check_connect_port: 0, health_check_interval: 10 },
        tags: { Created: 'TF' },
      },
    ],
    [
      'Ip, spelled Sch',
      {
        server_group_name: 'tf-ip',
        server_group_type: 'Ip',
        protocol: 'TCP',
        scheduler: 'Sch',
        vpc_id: 'vpc-local',
        health_check: { health_check_enabled: false },
      },
    ],
    [
      'UDP, spelled Qch',
      {
        server_group_name: 'tf-udp',
        server_group_type: 'Ip',
        protocol: 'UDP',
        scheduler: 'Qch',
        vpc_id: 'vpc-local',
        preserve_client_ip_enabled: false,
      },
    ],
    [
      'any-port (no health check port of its own)',
      {
        server_group_name: 'tf-anyport',
        server_group_type: 'Ip',
        protocol: 'TCP',
        scheduler: 'Tch',
        any_port_enabled: true,
        vpc_id: 'vpc-local',
        health_check: { health_check_enabled: false },
      },
    ],
  ];
  for (const [name, config] of cases) {
    test(`${name}: apply, refresh without diff, update, import, destroy`, async () => {
      const id = await createGroup(config);
      let state = await readGroup(id);
      const { health_check: hc, ...flat } = config;
      const expected: Record<string, unknown> = { ...flat };
      if (hc) {
        // Only what the block sets is compared (the rest is Computed in the provider's schema).
        expected.health_check = Object.fromEntries(Object.entries(hc).filter(([k]) => k !== 'health_check_connect_port'));
      }
      assert.deepEqual(planDiff(expected, state), []);
      assert.ok(Number.isSafeInteger(state!.ali_uid) && String(state!.ali_uid).length === 16, `AliUid ${state!.ali_uid}`);

      // In place: name and drain timeout (UpdateServerGroupAttribute always carries the name).
      const update = await tf.nlb('UpdateServerGroupAttribute', {
        ClientToken: token(),
        ServerGroupId: id,
        ServerGroupName: `${config.server_group_name}-2`,
        ConnectionDrainTimeout: 120,
        HealthCheckConfig: {},
      });
      await tf.waitFor(
        () => describeGroup(id),
        (o) => o.ServerGroupStatus,
        ['Available'],
      );
      assert.ok(update.JobId);
      state = await readGroup(id);
      assert.deepEqual(
        planDiff({ ...expected, server_group_name: `${config.server_group_name}-2`, connection_drain_timeout: 120 }, state),
        [],
      );
      assert.deepEqual(await readGroup(id), state, 'import by ID reads the same state');
      await deleteGroup(id);
    });
  }
});

// --- alicloud_nlb_server_group_server_attachment ------------------------------------------------

describe('alicloud_nlb_server_group_server_attachment', () => {
  test('Ip server with ServerIp= sent empty: attach, read with ZoneId, update weight, import, detach', async () => {
    const groupId = await createGroup({ server_group_name: 'tf-attach', server_group_type: 'Ip', vpc_id: 'vpc-local' });
    const id = `${groupId}:127.0.5.10:Ip:8080`;
    const read = async () => {
      const [sg, serverId, serverType, port] = id.split(':');
      const reply = await tf.rpcPost(
        NLB_VERSION,
        'ListServerGroupServers',
        { RegionId: 'cn-hangzhou' },
        { ServerGroupId: sg, 'ServerIds.1': serverId },
      );
      const item = (reply.Servers as any[]).find(
        (s) => String(s.Port) === port && s.ServerGroupId === sg && s.ServerId === serverId && s.ServerType === serverType,
      );
      return item
        ? {
            server_group_id: item.ServerGroupId,
            server_id: item.ServerId,
            server_type: item.ServerType,
            server_ip: item.ServerIp,
            port: item.Port,
            weight: item.Weight,
            description: item.Description,
            zone_id: item.ZoneId,
            status: item.Status,
          }
        : undefined;
    };
    await job(
      await tf.nlb('AddServersToServerGroup', {
        ClientToken: token(),
        ServerGroupId: groupId,
        Servers: [{ ServerId: '127.0.5.10', ServerType: 'Ip', ServerIp: '', Port: 8080, Weight: 100, Description: 'tf-server' }],
      }),
    );
    const config = {
      server_group_id: groupId,
      server_id: '127.0.5.10',
      server_type: 'Ip',
      port: 8080,
      weight: 100,
      description: 'tf-server',
    };
    let state = await read();
    assert.deepEqual(planDiff(config, state), []);
    assert.equal(state!.zone_id, 'cn-hangzhou-a', 'the vSwitch whose CIDR holds the address');
    assert.equal(state!.server_ip, '127.0.5.10');

    await job(
      await tf.nlb('UpdateServerGroupServersAttribute', {
        ClientToken: token(),
        ServerGroupId: groupId,
        Servers: [{ ServerId: '127.0.5.10', ServerType: 'Ip', ServerIp: '', Port: 8080, Weight: 50, Description: 'tf-server' }],
      }),
    );
    state = await read();
    assert.deepEqual(planDiff({ ...config, weight: 50 }, state), []);

    await job(
      await tf.nlb('RemoveServersFromServerGroup', {
        ClientToken: token(),
        ServerGroupId: groupId,
        Servers: [{ ServerId: '127.0.5.10', ServerType: 'Ip', ServerIp: '', Port: 8080 }],
      }),
    );
    assert.equal(await read(), undefined);
    await deleteGroup(groupId);
  });
});

// --- alicloud_nlb_listener ------------------------------------------------------------------------

async function describeListener(id: string) {
  return tf.nlb('GetListenerAttribute', { ClientToken: token() }, { ListenerId: id });
}

async function readListener(id: string): Promise<Record<string, any> | undefined> {
  const o = await tf.readOrGone(() => describeListener(id));
  if (o === 'gone') return undefined;
  return {
    alpn_enabled: o.AlpnEnabled,
    alpn_policy: o.AlpnPolicy,
    ca_certificate_ids: o.CaCertificateIds ?? [],
    ca_enabled: o.CaEnabled,
    certificate_ids: o.CertificateIds ?? [],
    cps: o.Cps,
    end_port: o.EndPort,
    idle_timeout: o.IdleTimeout,
    listener_description: o.ListenerDescription,
    listener_port: o.ListenerPort,
    listener_protocol: o.ListenerProtocol,
    load_balancer_id: o.LoadBalancerId,
    mss: o.Mss,
    proxy_protocol_enabled: o.ProxyProtocolEnabled,
    sec_sensor_enabled: o.SecSensorEnabled,
    security_policy_id: o.SecurityPolicyId,
    server_group_id: o.ServerGroupId,
    start_port: o.StartPort,
    status: o.ListenerStatus,
    tags: Object.fromEntries((o.Tags ?? []).map((t: any) => [t.Key ?? t.TagKey, t.Value ?? t.TagValue])),
  };
}

async function createListener(config: Record<string, unknown>): Promise<string> {
  const request: Record<string, unknown> = { ClientToken: token(), LoadBalancerId: lbId };
  const map: Record<string, string> = {
    listener_protocol: 'ListenerProtocol',
    listener_port: 'ListenerPort',
    listener_description: 'ListenerDescription',
    server_group_id: 'ServerGroupId',
    idle_timeout: 'IdleTimeout',
    start_port: 'StartPort',
    end_port: 'EndPort',
    security_policy_id: 'SecurityPolicyId',
    ca_enabled: 'CaEnabled',
    alpn_enabled: 'AlpnEnabled',
    alpn_policy: 'AlpnPolicy',
    cps: 'Cps',
    mss: 'Mss',
  };
  for (const [attr, field] of Object.entries(map)) if (config[attr] !== undefined) request[field] = config[attr];
  // listener_port is sent even when 0 (a port range).
  request.ListenerPort = config.listener_port ?? 0;
  if (config.certificate_ids) request.CertificateIds = config.certificate_ids;
  if (config.ca_certificate_ids) request.CaCertificateIds = config.ca_certificate_ids;
  const reply = await tf.nlb('CreateListener', request);
  await tf.waitJob(NLB_VERSION, reply);
  const id = reply.ListenerId as string;
  await tf.waitFor(
    () => describeListener(id),
    (o) => o.ListenerStatus,
    ['Running'],
  );
  return id;
}

async function uploadCert(cert: string, key: string, name: string): Promise<string> {
  const { CertId } = await callApi(server, CAS, 'UploadUserCertificate', { Name: name, Cert: cert, Key: key });
  return `${CertId}-cn-hangzhou`;
}

describe('alicloud_nlb_listener', () => {
  let tcpGroup: string;
  let udpGroup: string;
  let anyPortGroup: string;
  before(async () => {
    tcpGroup = await createGroup({
      server_group_name: 'tf-lsn-tcp',
      server_group_type: 'Ip',
      protocol: 'TCP',
      vpc_id: 'vpc-local',
      preserve_client_ip_enabled: false,
    });
    udpGroup = await createGroup({ server_group_name: 'tf-lsn-udp', server_group_type: 'Ip', protocol: 'UDP', vpc_id: 'vpc-local' });
    anyPortGroup = await createGroup({
      server_group_name: 'tf-lsn-any',
      server_group_type: 'Ip',
      protocol: 'TCP',
      any_port_enabled: true,
      vpc_id: 'vpc-local',
      health_check: { health_check_enabled: false },
    });
  });

  const lifecycle = async (config: Record<string, unknown>, update: Record<string, unknown>) => {
    const id = await createListener(config);
    let state = await readListener(id);
    assert.deepEqual(planDiff(config, state), []);
    const request: Record<string, unknown> = { ClientToken: token(), ListenerId: id };
    for (const [k, v] of Object.entries(update)) request[k.replace(/(^|_)(\w)/g, (_m, _u, c: string) => c.toUpperCase())] = v;
    await tf.waitJob(NLB_VERSION, await tf.nlb('UpdateListenerAttribute', request));
    await tf.waitFor(
      () => describeListener(id),
      (o) => o.ListenerStatus,
      ['Running'],
    );
    state = await readListener(id);
    assert.deepEqual(planDiff({ ...config, ...update }, state), []);
    assert.deepEqual(await readListener(id), state, 'import by ID');
    // Stop and start (the provider's `status` attribute).
    await tf.waitJob(NLB_VERSION, await tf.nlb('StopListener', { ClientToken: token(), ListenerId: id }));
    assert.equal((await readListener(id))!.status, 'Stopped');
    await tf.waitJob(NLB_VERSION, await tf.nlb('StartListener', { ClientToken: token(), ListenerId: id }));
    assert.equal((await readListener(id))!.status, 'Running');
    await tf.waitJob(NLB_VERSION, await tf.nlb('DeleteListener', { ClientToken: token(), ListenerId: id }));
    assert.equal(await readListener(id), undefined);
  };

  test('TCP', () =>
    lifecycle(
      { listener_protocol: 'TCP', listener_port: 18101, server_group_id: tcpGroup, listener_description: 'tf-tcp', idle_timeout: 900 },
      { listener_description: 'tf-tcp-2', idle_timeout: 60 },
    ));
  test('UDP', () =>
    lifecycle(
      { listener_protocol: 'UDP', listener_port: 18102, server_group_id: udpGroup, listener_description: 'tf-udp' },
      { listener_description: 'tf-udp-2' },
    ));
  test('port range', () =>
    lifecycle(
      {
        listener_protocol: 'TCP',
        listener_port: 0,
        start_port: 18110,
        end_port: 18112,
        server_group_id: anyPortGroup,
        listener_description: 'tf-range',
      },
      { listener_description: 'tf-range-2' },
    ));
  test('TCPSSL with a CA certificate stored while CaEnabled=false, then enabled', async () => {
    const certId = await uploadCert(pki.serverCert, pki.serverKey, 'tf-server');
    const ca = await callApi(server, CAS, 'UploadPCACert', { Cert: pki.caCert, WarehouseId: 1, Name: 'tf-ca' });
    await lifecycle(
      {
        listener_protocol: 'TCPSSL',
        listener_port: 18443,
        server_group_id: tcpGroup,
        certificate_ids: [certId],
        ca_certificate_ids: [ca.Identifier],
        ca_enabled: false,
        security_policy_id: 'tls_cipher_policy_1_2',
      },
      { ca_enabled: true },
    );
  });
});

// --- alicloud_nlb_security_policy -----------------------------------------------------------------

describe('alicloud_nlb_security_policy', () => {
  test('apply, refresh without diff, update, import, destroy', async () => {
    const read = async (id: string) => {
      const reply = await tf.nlb('ListSecurityPolicy', { 'SecurityPolicyIds.1': id });
      const o = reply.SecurityPolicies[0];
      return o
        ? {
            security_policy_name: o.SecurityPolicyName,
            ciphers: String(o.Ciphers).split(','),
            tls_versions: String(o.TlsVersion).split(','),
            resource_group_id: o.ResourceGroupId,
            status: o.SecurityPolicyStatus,
            tags: Object.fromEntries((o.Tags ?? []).map((t: any) => [t.Key, t.Value])),
          }
        : undefined;
    };
    const config = {
      security_policy_name: 'tf-policy',
      ciphers: ['ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-AES128-GCM-SHA256'],
      tls_versions: ['TLSv1.2'],
      tags: { Created: 'TF' },
    };
    const created = await tf.nlb('CreateSecurityPolicy', {
      ClientToken: token(),
      SecurityPolicyName: config.security_policy_name,
      Ciphers: config.ciphers,
      TlsVersions: config.tls_versions,
      Tag: [{ Key: 'Created', Value: 'TF' }],
    });
    const id = created.SecurityPolicyId as string;
    await tf.waitFor(
      async () => (await tf.nlb('ListSecurityPolicy', { 'SecurityPolicyIds.1': id })).SecurityPolicies[0] ?? 'gone',
      (o) => o.SecurityPolicyStatus,
      ['Available'],
    );
    assert.deepEqual(planDiff(config, await read(id)), []);
    const ciphers2 = [...config.ciphers, 'TLS_AES_128_GCM_SHA256'];
    await tf.waitJob(
      NLB_VERSION,
      await tf.nlb('UpdateSecurityPolicyAttribute', {
        ClientToken: token(),
        SecurityPolicyId: id,
        SecurityPolicyName: 'tf-policy-2',
        TlsVersions: ['TLSv1.2', 'TLSv1.3'],
        Ciphers: ciphers2,
      }),
    );
    await tf.waitFor(
      async () => (await tf.nlb('ListSecurityPolicy', { 'SecurityPolicyIds.1': id })).SecurityPolicies[0],
      (o) => o.SecurityPolicyStatus,
      ['Available'],
    );
    assert.deepEqual(
      planDiff({ ...config, security_policy_name: 'tf-policy-2', tls_versions: ['TLSv1.2', 'TLSv1.3'], ciphers: ciphers2 }, await read(id)),
      [],
    );
    // DeleteSecurityPolicy answers no JobId: the provider re-reads until the policy is gone.
    await tf.nlb('DeleteSecurityPolicy', { ClientToken: token(), SecurityPolicyId: id });
    await tf.waitFor(
      async () => (await tf.nlb('ListSecurityPolicy', { 'SecurityPolicyIds.1': id })).SecurityPolicies[0] ?? 'gone',
      (o) => o.SecurityPolicyStatus,
      [''],
    );
    assert.equal(await read(id), undefined);
  });
});

// --- alicloud_nlb_listener_additional_certificate_attachment -------------------------------------

describe('alicloud_nlb_listener_additional_certificate_attachment', () => {
  test('associate, read, import, disassociate, not found', async () => {
    const group = await createGroup({
      server_group_name: 'tf-addcert',
      server_group_type: 'Ip',
      vpc_id: 'vpc-local',
      preserve_client_ip_enabled: false,
    });
    const main = await uploadCert(pki.serverCert, pki.serverKey, 'tf-main');
    const extra = await uploadCert(pki.ecCert, pki.ecKey, 'tf-extra');
    const listenerId = await createListener({
      listener_protocol: 'TCPSSL',
      listener_port: 18444,
      server_group_id: group,
      certificate_ids: [main],
    });
    const read = async () => {
      const reply = await tf.nlb('ListListenerCertificates', { ListenerId: listenerId });
      const item = (reply.Certificates as any[]).find((c) => c.CertificateId === extra);
      return item ? { certificate_id: item.CertificateId, listener_id: listenerId, status: item.Status } : undefined;
    };
    await tf.waitJob(
      NLB_VERSION,
      await tf.nlb('AssociateAdditionalCertificatesWithListener', {
        ClientToken: token(),
        ListenerId: listenerId,
        'AdditionalCertificateIds.1': extra,
      }),
    );
    assert.deepEqual(planDiff({ certificate_id: extra, listener_id: listenerId }, await read()), []);
    await tf.waitJob(
      NLB_VERSION,
      await tf.nlb('DisassociateAdditionalCertificatesWithListener', {
        ClientToken: token(),
        ListenerId: listenerId,
        'AdditionalCertificateIds.1': extra,
      }),
    );
    assert.equal(await read(), undefined);
  });
});

// --- data sources ---------------------------------------------------------------------------------

describe('NLB data sources', () => {
  test('nlb_load_balancers, nlb_server_groups, nlb_listeners, nlb_security_policies, nlb_zones find by ID and name', async () => {
    const lbs = await tf.nlb('ListLoadBalancers', { 'LoadBalancerIds.1': lbId, MaxResults: 100 });
    assert.deepEqual(
      lbs.LoadBalancers.map((l: any) => l.LoadBalancerId),
      [lbId],
    );
    assert.equal(lbs.LoadBalancers[0].LoadBalancerType, 'Network');
    const group = await createGroup({ server_group_name: 'tf-datasource', vpc_id: 'vpc-local' });
    const groups = await tf.nlb('ListServerGroups', { 'ServerGroupNames.1': 'tf-datasource', MaxResults: 100 });
    assert.deepEqual(
      groups.ServerGroups.map((g: any) => g.ServerGroupId),
      [group],
    );
    const listeners = await tf.nlb('ListListeners', { 'LoadBalancerIds.1': lbId, MaxResults: 100 });
    assert.ok(Array.isArray(listeners.Listeners));
    const policies = await tf.nlb('ListSystemSecurityPolicy', {});
    assert.ok(policies.SecurityPolicies.some((p: any) => p.SecurityPolicyId === 'tls_cipher_policy_1_2'));
    const zones = await tf.nlb('DescribeZones', {});
    assert.deepEqual(zones.Zones.map((z: any) => z.ZoneId).sort(), ['cn-hangzhou-a', 'cn-hangzhou-b']);
  });
});
