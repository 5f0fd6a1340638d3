/** NLB pages: instances, listeners, server groups with backends and health, security policies, jobs. */
/* eslint-disable @typescript-eslint/no-explicit-any */
import { call, engines, recentJobs, region as currentRegion, type RingSeries } from './api.js';
import { type ChartSpec, liveCharts } from './charts.js';
import { badge, field, h, input, kv, link, section, select, table } from './dom.js';
import type { PageContext, Route } from './main.js';
import { actionButton, actionForm, jobReason, perform } from './ops.js';
import { listAction, pagedList, refreshing } from './pager.js';

const PAGE = 50;
/** How often open lists of things with a status redraw themselves. */
const LIST_REFRESH_MS = 5000;

const listenerHref = (id: string) => `#/nlb/listeners/${encodeURIComponent(id)}`;
const lbHref = (id: string) => `#/nlb/instances/${encodeURIComponent(id)}`;
const sgHref = (id: string) => `#/nlb/server-groups/${encodeURIComponent(id)}`;

function ports(l: any): string {
  return l.ListenerPort === 0 || l.ListenerPort === '0' ? `${l.StartPort}–${l.EndPort}` : String(l.ListenerPort);
}

function tags(list: any[] | undefined): string {
  return (list ?? []).map((t) => `${t.Key ?? t.TagKey}=${t.Value ?? t.TagValue ?? ''}`).join(', ') || '—';
}

function regionOf(ctx: PageContext) {
  return ctx.session.regions.find((r) => r.id === currentRegion) ?? ctx.session.regions[0];
}

export function readOnlyNote(product: string): HTMLElement {
  return h('p', { class: 'muted read-only-note' }, `Read-only: this AccessKey may not change ${product.toUpperCase()} resources.`);
}

/** listener → engine as the data plane last reported it (read with each list or listener page). */
let engineOf: Record<string, string> = {};

/** The data-plane engine of a listener (kernel / userspace), when the server reports one. */
function engine(l: any): HTMLElement {
  const value = l.Engine ?? engineOf[l.ListenerId];
  return value
    ? h('span', { class: 'engine' }, String(value))
    : h('span', { class: 'muted', title: 'This server does not report the engine.' }, '—');
}

// ---------------------------------------------------------------- instances

function instancesPage(ctx: PageContext): HTMLElement {
  const region = regionOf(ctx);
  const list = pagedList<any>({
    testId: 'nlb-instances',
    refresh: { everyMs: LIST_REFRESH_MS, signal: ctx.signal },
    filters: [
      input('q', { placeholder: 'ID (nlb-…) or exact name', 'aria-label': 'Filter by ID or name' }),
      select('status', [['', 'any status'], 'Active', 'Provisioning', 'Configuring', 'Inactive', 'Deleting']),
    ],
    load: listAction({
      product: 'nlb',
      action: 'ListLoadBalancers',
      rows: 'LoadBalancers',
      pageSize: PAGE,
      byIdOrName: { idPrefix: 'nlb-', ids: 'LoadBalancerIds', names: 'LoadBalancerNames' },
      more: (f, params) => f.status && (params.LoadBalancerStatus = f.status),
    }),
    render: (rows) =>
      table(
        rows,
        [
          { title: 'ID', cell: (lb) => link(lbHref(lb.LoadBalancerId), lb.LoadBalancerId) },
          { title: 'Name', cell: (lb) => lb.LoadBalancerName || '—' },
          { title: 'Status', cell: (lb) => badge(lb.LoadBalancerStatus) },
          { title: 'Type', cell: (lb) => lb.AddressType },
          {
            title: 'VIPs',
            cell: (lb) =>
              (lb.ZoneMappings ?? [])
                .map(
                  (z: any) =>
                    `${z.ZoneId}: ${(z.LoadBalancerAddresses ?? []).map((a: any) => [a.PrivateIPv4Address, a.PublicIPv4Address].filter(Boolean).join(' / ')).join(', ')}`,
                )
                .join('; '),
          },
          { title: 'Tags', cell: (lb) => tags(lb.Tags) },
        ],
        'No NLB instances in this region.',
      ),
  });
  const vpcs = region.vpcs;
  const create = ctx.writable('nlb')
    ? actionForm({
        title: 'Create an NLB instance',
        product: 'nlb',
        action: 'CreateLoadBalancer',
        testId: 'create-nlb',
        fields: [
          field('Name', input('LoadBalancerName', { placeholder: 'optional' })),
          field('Address type', select('AddressType', ['Intranet', 'Internet'])),
          field(
            'VPC',
            select(
              'VpcId',
              vpcs.map((v) => v.id),
            ),
          ),
          h(
            'fieldset',
            {},
            h('legend', {}, 'Zones (vSwitch)'),
            ...vpcs.flatMap((v) =>
              v.vSwitches.map((s) =>
                h(
                  'label',
                  { class: 'check' },
                  h('input', { type: 'checkbox', name: 'zone', value: `${s.zoneId}|${s.id}`, checked: true }),
                  ` ${s.zoneId} · ${s.id}`,
                ),
              ),
            ),
          ),
        ],
        params: (v) => {
          const form = document.querySelector('[data-testid=create-nlb]') as HTMLFormElement;
          const zones = [...new FormData(form).getAll('zone')].map(String);
          const out: Record<string, string> = { AddressType: v.AddressType, VpcId: v.VpcId };
          if (v.LoadBalancerName) out.LoadBalancerName = v.LoadBalancerName;
          zones.forEach((z, i) => {
            const [zone, vsw] = z.split('|');
            out[`ZoneMappings.${i + 1}.ZoneId`] = zone;
            out[`ZoneMappings.${i + 1}.VSwitchId`] = vsw;
          });
          return out;
        },
        done: ctx.refresh,
      })
    : readOnlyNote('nlb');
  return h('div', {}, h('h1', {}, 'NLB instances'), list, create);
}

async function instancePage(ctx: PageContext, id: string): Promise<HTMLElement> {
  const lb = await call('nlb', 'GetLoadBalancerAttribute', { LoadBalancerId: id });
  const zones = table(
    lb.ZoneMappings ?? [],
    [
      { title: 'Zone', cell: (z: any) => z.ZoneId },
      { title: 'vSwitch', cell: (z: any) => z.VSwitchId },
      { title: 'Status', cell: (z: any) => badge(z.Status) },
      { title: 'Private IPv4 (VIP)', cell: (z: any) => (z.LoadBalancerAddresses ?? []).map((a: any) => a.PrivateIPv4Address).join(', ') },
      {
        title: 'Public IPv4',
        cell: (z: any) =>
          (z.LoadBalancerAddresses ?? [])
            .map((a: any) => a.PublicIPv4Address)
            .filter(Boolean)
            .join(', ') || '—',
      },
      {
        title: 'Health',
        cell: (z: any) =>
          (z.LoadBalancerAddresses ?? [])
            .map((a: any) => a.PrivateIPv4HcStatus)
            .filter(Boolean)
            .join(', ') || '—',
      },
    ],
    'No zones.',
    'zones',
  );
  const listeners = listenersList(ctx, { 'LoadBalancerIds.1': id });
  let createListener: HTMLElement = readOnlyNote('nlb');
  if (ctx.writable('nlb')) {
    const groups = await call('nlb', 'ListServerGroups', { MaxResults: '100' });
    createListener = actionForm({
      title: 'Create a listener',
      product: 'nlb',
      action: 'CreateListener',
      testId: 'create-listener',
      fixed: { LoadBalancerId: id },
      fields: [
        field('Protocol', select('ListenerProtocol', ['TCP', 'UDP', 'TCPSSL'])),
        field('Port', input('ListenerPort', { inputmode: 'numeric', placeholder: '0 for a port range' })),
        field('Start port', input('StartPort', { inputmode: 'numeric', placeholder: 'range only' })),
        field('End port', input('EndPort', { inputmode: 'numeric', placeholder: 'range only' })),
        field(
          'Server group',
          select('ServerGroupId', [
            ['', '— choose —'],
            ...(groups.ServerGroups ?? []).map((g: any): [string, string] => [
              g.ServerGroupId,
              `${g.ServerGroupName} (${g.Protocol}, ${g.ServerGroupId})`,
            ]),
          ]),
        ),
        field('Description', input('ListenerDescription', { placeholder: 'optional' })),
        field('Idle timeout (s)', input('IdleTimeout', { inputmode: 'numeric', placeholder: 'default' })),
        field('CPS limit', input('Cps', { inputmode: 'numeric', placeholder: '0 = unlimited' })),
      ],
      done: ctx.refresh,
    });
  }
  const del = ctx.writable('nlb')
    ? actionButton(
        'Delete instance',
        'nlb',
        'DeleteLoadBalancer',
        { LoadBalancerId: id },
        () => (location.hash = '#/nlb/instances'),
        `Delete ${id}?`,
      )
    : null;
  return h(
    'div',
    {},
    h('p', { class: 'crumbs' }, link('#/nlb/instances', 'NLB instances'), ' › ', id),
    h('h1', {}, lb.LoadBalancerName || id, ' ', badge(lb.LoadBalancerStatus)),
    kv([
      ['ID', id],
      ['Business status', lb.LoadBalancerBusinessStatus],
      ['Address type', lb.AddressType],
      ['IP version', lb.AddressIpVersion],
      ['VPC', lb.VpcId],
      ['DNS name', lb.DNSName],
      ['Cross-zone', String(lb.CrossZoneEnabled)],
      ['Created', lb.CreateTime],
      ['Tags', tags(lb.Tags)],
    ]),
    del,
    section('Zones and addresses', zones),
    section('Listeners', listeners, createListener),
  );
}

// ---------------------------------------------------------------- listeners

function listenersList(ctx: PageContext, base: Record<string, string>): HTMLElement {
  const listeners = listAction<any>({
    product: 'nlb',
    action: 'ListListeners',
    rows: 'Listeners',
    pageSize: PAGE,
    fixed: base,
    more: (f, params) => {
      if (f.protocol) params.ListenerProtocol = f.protocol;
      if (f.lb) params['LoadBalancerIds.1'] = f.lb;
    },
  });
  return pagedList<any>({
    testId: 'listeners',
    refresh: { everyMs: LIST_REFRESH_MS, signal: ctx.signal },
    filters: [
      select('protocol', [['', 'any protocol'], 'TCP', 'UDP', 'TCPSSL']),
      ...(base['LoadBalancerIds.1'] ? [] : [input('lb', { placeholder: 'nlb-… (instance)', 'aria-label': 'Instance' })]),
    ],
    load: async (token, filter) => {
      const [page, known] = await Promise.all([listeners(token, filter), engines().catch(() => engineOf)]);
      engineOf = known;
      return page;
    },
    render: (rows) =>
      table(
        rows,
        [
          { title: 'ID', cell: (l) => link(listenerHref(l.ListenerId), l.ListenerId) },
          { title: 'Protocol', cell: (l) => l.ListenerProtocol },
          { title: 'Port', cell: (l) => ports(l) },
          { title: 'Status', cell: (l) => badge(l.ListenerStatus) },
          { title: 'Engine', cell: (l) => engine(l) },
          { title: 'Server group', cell: (l) => (l.ServerGroupId ? link(sgHref(l.ServerGroupId), l.ServerGroupId) : '—') },
          { title: 'Instance', cell: (l) => link(lbHref(l.LoadBalancerId), l.LoadBalancerId) },
          { title: 'Description', cell: (l) => l.ListenerDescription || '—' },
          {
            title: '',
            cell: (l) =>
              ctx.writable('nlb')
                ? h(
                    'span',
                    { class: 'row-actions' },
                    l.ListenerStatus === 'Stopped'
                      ? actionButton('Start', 'nlb', 'StartListener', { ListenerId: l.ListenerId }, ctx.refresh)
                      : actionButton('Stop', 'nlb', 'StopListener', { ListenerId: l.ListenerId }, ctx.refresh),
                    actionButton(
                      'Delete',
                      'nlb',
                      'DeleteListener',
                      { ListenerId: l.ListenerId },
                      ctx.refresh,
                      `Delete listener ${l.ListenerId}?`,
                    ),
                  )
                : null,
          },
        ],
        'No listeners.',
      ),
  });
}

function listenersPage(ctx: PageContext): HTMLElement {
  return h('div', {}, h('h1', {}, 'NLB listeners'), listenersList(ctx, {}));
}

export const LISTENER_CHARTS: ChartSpec[] = [
  {
    title: 'Connections',
    lines: [
      { label: 'new /s', match: (s) => s.metric === 'openslb_listener_connections_total', rate: true },
      { label: 'active', match: (s) => s.metric === 'openslb_listener_active_connections' },
    ],
  },
  {
    title: 'Traffic',
    unit: 'bytes/s',
    lines: [
      { label: 'in', match: (s) => s.metric === 'openslb_listener_bytes_in_total', rate: true },
      { label: 'out', match: (s) => s.metric === 'openslb_listener_bytes_out_total', rate: true },
    ],
  },
  {
    title: 'Drops',
    unit: '/s',
    lines: [
      { label: 'CPS limit', match: (s) => s.metric === 'openslb_listener_dropped_cps_total', rate: true },
      { label: 'no backend', match: (s) => s.metric === 'openslb_listener_dropped_no_backend_total', rate: true },
    ],
  },
];

/** GetListenerHealthStatus lists only the backends that are not healthy, with their reason. */
async function nonNormalTable(listenerId: string): Promise<HTMLElement> {
  const health = await call('nlb', 'GetListenerHealthStatus', { ListenerId: listenerId });
  const nonNormal = (health.ListenerHealthStatus ?? []).flatMap((x: any) =>
    (x.ServerGroupInfos ?? []).flatMap((g: any) => (g.NonNormalServers ?? []).map((s: any) => ({ ...s, ServerGroupId: g.ServerGroupId }))),
  );
  return table(
    nonNormal,
    [
      { title: 'Server', cell: (s: any) => s.ServerId },
      { title: 'Address', cell: (s: any) => `${s.ServerIp}:${s.Port}` },
      { title: 'Health', cell: (s: any) => badge(s.Status) },
      { title: 'Reason', cell: (s: any) => s.Reason?.ReasonCode ?? '—' },
    ],
    'Every backend is healthy (or no health check runs).',
    'non-normal',
  );
}

async function listenerPage(ctx: PageContext, id: string): Promise<HTMLElement> {
  const l = await call('nlb', 'GetListenerAttribute', { ListenerId: id });
  engineOf = await engines().catch(() => engineOf);
  let update: HTMLElement = readOnlyNote('nlb');
  if (ctx.writable('nlb')) {
    const groups = await call('nlb', 'ListServerGroups', { MaxResults: '100' });
    update = actionForm({
      title: 'Update the listener',
      product: 'nlb',
      action: 'UpdateListenerAttribute',
      testId: 'update-listener',
      fixed: { ListenerId: id },
      submit: 'Save',
      fields: [
        field('Description', input('ListenerDescription', { value: l.ListenerDescription ?? '' })),
        field(
          'Server group',
          select(
            'ServerGroupId',
            (groups.ServerGroups ?? []).map((g: any): [string, string] => [g.ServerGroupId, `${g.ServerGroupName} (${g.ServerGroupId})`]),
            l.ServerGroupId,
          ),
        ),
        field('Idle timeout (s)', input('IdleTimeout', { value: l.IdleTimeout ?? '' })),
        field('CPS limit', input('Cps', { value: l.Cps ?? '' })),
      ],
      done: ctx.refresh,
    });
  }
  return h(
    'div',
    {},
    h(
      'p',
      { class: 'crumbs' },
      link('#/nlb/instances', 'NLB instances'),
      ' › ',
      link(lbHref(l.LoadBalancerId), l.LoadBalancerId),
      ' › ',
      id,
    ),
    h('h1', {}, `${l.ListenerProtocol}:${ports(l)} `, badge(l.ListenerStatus)),
    kv([
      ['ID', id],
      ['Engine', engine(l)],
      ['Server group', l.ServerGroupId ? link(sgHref(l.ServerGroupId), l.ServerGroupId) : '—'],
      ['Description', l.ListenerDescription],
      ['Idle timeout', `${l.IdleTimeout} s`],
      ['CPS limit', l.Cps ? String(l.Cps) : 'unlimited'],
      ['Proxy Protocol', String(l.ProxyProtocolEnabled)],
      ['Security policy', l.SecurityPolicyId],
      ['Certificates', (l.CertificateIds ?? []).join(', ')],
      ['Tags', tags(l.Tags)],
    ]),
    ctx.writable('nlb')
      ? h(
          'p',
          { class: 'row-actions' },
          l.ListenerStatus === 'Stopped'
            ? actionButton('Start', 'nlb', 'StartListener', { ListenerId: id }, ctx.refresh)
            : actionButton('Stop', 'nlb', 'StopListener', { ListenerId: id }, ctx.refresh),
          actionButton(
            'Delete',
            'nlb',
            'DeleteListener',
            { ListenerId: id },
            () => (location.hash = lbHref(l.LoadBalancerId)),
            `Delete listener ${id}?`,
          ),
        )
      : null,
    section('Live', liveCharts('listener', id, LISTENER_CHARTS, ctx.session.sampleMs, ctx.signal)),
    section(
      'Backends not healthy',
      refreshing(() => nonNormalTable(id), Math.max(ctx.session.sampleMs, 1000), ctx.signal),
    ),
    update,
  );
}

// ---------------------------------------------------------------- server groups

function serverGroupsPage(ctx: PageContext): HTMLElement {
  const region = regionOf(ctx);
  const list = pagedList<any>({
    testId: 'server-groups',
    filters: [input('q', { placeholder: 'ID (sgp-…) or exact name', 'aria-label': 'Filter by ID or name' })],
    load: listAction({
      product: 'nlb',
      action: 'ListServerGroups',
      rows: 'ServerGroups',
      pageSize: PAGE,
      byIdOrName: { idPrefix: 'sgp-', ids: 'ServerGroupIds', names: 'ServerGroupNames' },
    }),
    render: (rows) =>
      table(
        rows,
        [
          { title: 'ID', cell: (g) => link(sgHref(g.ServerGroupId), g.ServerGroupId) },
          { title: 'Name', cell: (g) => g.ServerGroupName },
          { title: 'Status', cell: (g) => badge(g.ServerGroupStatus) },
          { title: 'Type', cell: (g) => g.ServerGroupType },
          { title: 'Protocol', cell: (g) => g.Protocol },
          { title: 'Scheduler', cell: (g) => g.Scheduler },
          { title: 'Backends', cell: (g) => String(g.ServerCount ?? 0) },
          {
            title: 'Health check',
            cell: (g) =>
              g.HealthCheck?.HealthCheckEnabled ? `${g.HealthCheck.HealthCheckType} every ${g.HealthCheck.HealthCheckInterval}s` : 'off',
          },
          {
            title: 'Instances',
            cell: (g) => h('span', {}, ...(g.RelatedLoadBalancerIds ?? []).flatMap((id: string) => [link(lbHref(id), id), ' '])),
          },
        ],
        'No server groups in this region.',
      ),
  });
  const create = ctx.writable('nlb')
    ? actionForm({
        title: 'Create a server group',
        product: 'nlb',
        action: 'CreateServerGroup',
        testId: 'create-server-group',
        fields: [
          field('Name', input('ServerGroupName', { required: true })),
          field('Type', select('ServerGroupType', ['Ip', 'Instance'])),
          field('Protocol', select('Protocol', ['TCP', 'UDP', 'TCP_UDP'])),
          field('Scheduler', select('Scheduler', ['Wrr', 'rr', 'Wlc', 'sch', 'tch', 'qch'])),
          field(
            'VPC',
            select(
              'VpcId',
              region.vpcs.map((v) => v.id),
            ),
          ),
          field(
            'Preserve client IP',
            select('PreserveClientIpEnabled', [
              ['true', 'on'],
              ['false', 'off'],
            ]),
          ),
          field(
            'Health check',
            select('HealthCheckConfig.HealthCheckEnabled', [
              ['true', 'on'],
              ['false', 'off'],
            ]),
          ),
          field('Check type', select('HealthCheckConfig.HealthCheckType', ['TCP', 'HTTP', 'UDP'])),
          field('Interval (s)', input('HealthCheckConfig.HealthCheckInterval', { inputmode: 'numeric', placeholder: 'default' })),
          field('Unhealthy after', input('HealthCheckConfig.UnhealthyThreshold', { inputmode: 'numeric', placeholder: 'default' })),
          field('Healthy after', input('HealthCheckConfig.HealthyThreshold', { inputmode: 'numeric', placeholder: 'default' })),
          field(
            'Connection draining',
            select('ConnectionDrainEnabled', [
              ['false', 'off'],
              ['true', 'on'],
            ]),
          ),
          field('Drain timeout (s)', input('ConnectionDrainTimeout', { inputmode: 'numeric', placeholder: 'default' })),
        ],
        done: ctx.refresh,
      })
    : readOnlyNote('nlb');
  return h('div', {}, h('h1', {}, 'NLB server groups'), list, create);
}

/**
 * Health of every backend, as GetListenerHealthStatus gives it for a listener using the group
 * (only the backends that are not healthy are listed there). Health checks belong to the server
 * group (its HealthCheckConfig), so one listener's view is the group's: asking every listener
 * of a group used by thousands would cost thousands of calls for the same answer.
 */
async function backendHealth(group: any): Promise<{ listeners: any[]; byServer: Map<string, { status: string; reason?: string }> }> {
  const byServer = new Map<string, { status: string; reason?: string }>();
  const lbs: string[] = group.RelatedLoadBalancerIds ?? [];
  if (lbs.length === 0) return { listeners: [], byServer };
  const params: Record<string, string> = { MaxResults: '100' };
  lbs.slice(0, 20).forEach((id, i) => (params[`LoadBalancerIds.${i + 1}`] = id));
  const listeners = ((await call('nlb', 'ListListeners', params)).Listeners ?? []).filter(
    (l: any) => l.ServerGroupId === group.ServerGroupId,
  );
  if (listeners.length === 0) return { listeners, byServer };
  const r = await call('nlb', 'GetListenerHealthStatus', { ListenerId: listeners[0].ListenerId });
  for (const entry of r.ListenerHealthStatus ?? []) {
    for (const info of entry.ServerGroupInfos ?? []) {
      if (info.ServerGroupId !== group.ServerGroupId) continue;
      for (const s of info.NonNormalServers ?? [])
        byServer.set(`${s.ServerId}|${s.ServerIp}|${s.Port}`, { status: s.Status, reason: s.Reason?.ReasonCode });
    }
  }
  return { listeners, byServer };
}

function backendCharts(): ChartSpec[] {
  const perServer = (metric: string) => (series: RingSeries[]) =>
    [...new Set(series.filter((s) => s.metric === metric).map((s) => s.labels.server))].sort().map((server) => ({
      label: server,
      match: (s: RingSeries) => s.metric === metric && s.labels.server === server,
    }));
  return [
    { title: 'Active connections per backend', lines: perServer('openslb_server_active_connections') },
    { title: 'Health per backend (1 = healthy)', lines: perServer('openslb_server_healthy') },
  ];
}

async function serverGroupPage(ctx: PageContext, id: string): Promise<HTMLElement> {
  const g = ((await call('nlb', 'ListServerGroups', { 'ServerGroupIds.1': id })).ServerGroups ?? [])[0];
  if (!g) return h('p', { class: 'op-status error', role: 'alert' }, `Server group ${id} not found.`);
  let { listeners, byServer } = await backendHealth(g);
  const hc = g.HealthCheck ?? {};
  const writable = ctx.writable('nlb');
  let first = true;
  const servers = listAction<any>({
    product: 'nlb',
    action: 'ListServerGroupServers',
    rows: 'Servers',
    pageSize: PAGE,
    fixed: { ServerGroupId: id },
  });
  const backends = pagedList<any>({
    testId: 'backends',
    refresh: { everyMs: Math.max(ctx.session.sampleMs, 1000), signal: ctx.signal },
    load: async (token, filter) => {
      // Health moves: read it again with every redraw but the first (read just above).
      if (!first) ({ listeners, byServer } = await backendHealth(g));
      first = false;
      return servers(token, filter);
    },
    render: (rows) =>
      table(
        rows,
        [
          { title: 'Server', cell: (s) => s.ServerId },
          { title: 'Type', cell: (s) => s.ServerType },
          { title: 'Address', cell: (s) => `${s.ServerIp}:${s.Port}` },
          {
            title: 'Weight',
            cell: (s) => {
              if (!writable) return String(s.Weight);
              const w = h('input', { name: 'Weight', value: s.Weight, size: 4, 'aria-label': `Weight of ${s.ServerIp}:${s.Port}` });
              const status = h('span', { class: 'op-status' });
              const save = h('button', { type: 'button', class: 'small' }, 'Set');
              save.addEventListener('click', () => {
                const params = {
                  ServerGroupId: id,
                  'Servers.1.ServerId': s.ServerId,
                  'Servers.1.ServerType': s.ServerType,
                  'Servers.1.ServerIp': s.ServerIp,
                  'Servers.1.Port': String(s.Port),
                  'Servers.1.Weight': w.value,
                };
                void perform(status, 'nlb', 'UpdateServerGroupServersAttribute', params, ctx.refresh);
              });
              return h('span', { class: 'row-actions' }, w, save, status);
            },
          },
          { title: 'State', cell: (s) => badge(s.Status === 'Removing' && g.ConnectionDrainEnabled ? 'Draining' : s.Status) },
          {
            title: 'Health',
            cell: (s) => {
              if (listeners.length === 0)
                return h('span', { class: 'muted', title: 'No listener uses this group, so nothing checks it.' }, 'not in use');
              if (!hc.HealthCheckEnabled) return badge('Unavailable');
              const found = byServer.get(`${s.ServerId}|${s.ServerIp}|${s.Port}`);
              return badge(found?.status ?? 'Healthy');
            },
          },
          { title: 'Reason', cell: (s) => byServer.get(`${s.ServerId}|${s.ServerIp}|${s.Port}`)?.reason ?? '—' },
          { title: 'Description', cell: (s) => s.Description || '—' },
          {
            title: '',
            cell: (s) =>
              writable
                ? actionButton(
                    'Remove',
                    'nlb',
                    'RemoveServersFromServerGroup',
                    {
                      ServerGroupId: id,
                      'Servers.1.ServerId': s.ServerId,
                      'Servers.1.ServerType': s.ServerType,
                      'Servers.1.ServerIp': s.ServerIp,
                      'Servers.1.Port': String(s.Port),
                    },
                    ctx.refresh,
                    `Remove ${s.ServerIp}:${s.Port}?`,
                  )
                : null,
          },
        ],
        'No backends yet.',
      ),
  });
  const add = writable
    ? actionForm({
        title: 'Add a backend',
        product: 'nlb',
        action: 'AddServersToServerGroup',
        testId: 'add-backend',
        fixed: { ServerGroupId: id },
        fields: [
          field('Type', select('ServerType', ['Ip', 'Ecs', 'Eni', 'Eci'], g.ServerGroupType === 'Ip' ? 'Ip' : 'Ecs')),
          field('Server ID', input('ServerId', { placeholder: 'the IP for Ip type' })),
          field('IP', input('ServerIp', { required: true })),
          field('Port', input('Port', { inputmode: 'numeric' })),
          field('Weight', input('Weight', { inputmode: 'numeric', placeholder: '100' })),
          field('Description', input('Description', { placeholder: 'optional' })),
        ],
        params: (v) => {
          const out: Record<string, string> = {};
          out['Servers.1.ServerType'] = v.ServerType;
          out['Servers.1.ServerId'] = v.ServerId ?? v.ServerIp ?? '';
          for (const k of ['ServerIp', 'Port', 'Weight', 'Description']) if (v[k] !== undefined) out[`Servers.1.${k}`] = v[k];
          return out;
        },
        done: ctx.refresh,
      })
    : readOnlyNote('nlb');
  const update = writable
    ? actionForm({
        title: 'Update the server group',
        product: 'nlb',
        action: 'UpdateServerGroupAttribute',
        testId: 'update-server-group',
        fixed: { ServerGroupId: id },
        submit: 'Save',
        fields: [
          field('Name', input('ServerGroupName', { value: g.ServerGroupName })),
          field('Scheduler', select('Scheduler', ['Wrr', 'rr', 'Wlc', 'sch', 'tch', 'qch'], g.Scheduler)),
          field(
            'Health check',
            select(
              'HealthCheckConfig.HealthCheckEnabled',
              [
                ['true', 'on'],
                ['false', 'off'],
              ],
              String(!!hc.HealthCheckEnabled),
            ),
          ),
          field('Interval (s)', input('HealthCheckConfig.HealthCheckInterval', { value: hc.HealthCheckInterval ?? '' })),
          field(
            'Connection draining',
            select(
              'ConnectionDrainEnabled',
              [
                ['false', 'off'],
                ['true', 'on'],
              ],
              String(!!g.ConnectionDrainEnabled),
            ),
          ),
        ],
        done: ctx.refresh,
      })
    : null;
  return h(
    'div',
    {},
    h('p', { class: 'crumbs' }, link('#/nlb/server-groups', 'Server groups'), ' › ', id),
    h('h1', {}, g.ServerGroupName, ' ', badge(g.ServerGroupStatus)),
    kv([
      ['ID', id],
      ['Type / protocol', `${g.ServerGroupType} / ${g.Protocol}`],
      ['Scheduler', g.Scheduler],
      ['VPC', g.VpcId],
      [
        'Health check',
        hc.HealthCheckEnabled
          ? `${hc.HealthCheckType}, every ${hc.HealthCheckInterval}s, unhealthy after ${hc.UnhealthyThreshold}, healthy after ${hc.HealthyThreshold}`
          : 'off',
      ],
      ['Draining', g.ConnectionDrainEnabled ? `on, ${g.ConnectionDrainTimeout}s` : 'off'],
      ['Preserve client IP', String(g.PreserveClientIpEnabled)],
      [
        'Used by',
        listeners.length
          ? h('span', {}, ...listeners.flatMap((l: any) => [link(listenerHref(l.ListenerId), l.ListenerId), ' ']))
          : 'no listener',
      ],
      ['Tags', tags(g.Tags)],
    ]),
    writable
      ? actionButton(
          'Delete server group',
          'nlb',
          'DeleteServerGroup',
          { ServerGroupId: id },
          () => (location.hash = '#/nlb/server-groups'),
          `Delete ${id}?`,
        )
      : null,
    section('Backends', backends, add),
    section('Live', liveCharts('server_group', id, backendCharts(), ctx.session.sampleMs, ctx.signal)),
    update,
  );
}

// ---------------------------------------------------------------- security policies, jobs

async function securityPoliciesPage(): Promise<HTMLElement> {
  const [custom, system] = await Promise.all([
    call('nlb', 'ListSecurityPolicy', { MaxResults: '100' }),
    call('nlb', 'ListSystemSecurityPolicy', {}),
  ]);
  const cols = [
    { title: 'ID', cell: (p: any) => p.SecurityPolicyId },
    { title: 'Name', cell: (p: any) => p.SecurityPolicyName || '—' },
    { title: 'TLS versions', cell: (p: any) => p.TlsVersion ?? (p.TlsVersions ?? []).join(',') },
    { title: 'Ciphers', cell: (p: any) => h('small', {}, typeof p.Ciphers === 'string' ? p.Ciphers : (p.Ciphers ?? []).join(',')) },
    { title: 'Listeners', cell: (p: any) => (p.RelatedListeners ?? []).map((l: any) => l.ListenerId).join(', ') || '—' },
  ];
  const certs = await call('cas', 'ListUserCertificateOrder', { OrderType: 'UPLOAD', ShowSize: '100' }).catch(() => undefined);
  return h(
    'div',
    {},
    h('h1', {}, 'Security policies and certificates'),
    section('Custom policies', table(custom.SecurityPolicies ?? [], cols, 'No custom policies.')),
    section('System policies', table(system.SecurityPolicies ?? [], cols)),
    section(
      'Certificates (uploaded)',
      certs
        ? table(
            certs.CertificateOrderList ?? [],
            [
              { title: 'ID', cell: (c: any) => String(c.CertificateId) },
              { title: 'Name', cell: (c: any) => c.Name },
              { title: 'Common name', cell: (c: any) => c.CommonName },
              { title: 'SANs', cell: (c: any) => c.Sans },
              { title: 'Expires', cell: (c: any) => c.EndDate },
            ],
            'No certificates uploaded.',
          )
        : h('p', { class: 'muted' }, 'This AccessKey may not list certificates.'),
    ),
  );
}

async function jobsPage(): Promise<HTMLElement> {
  const { jobs } = await recentJobs();
  const nlbJobs = jobs.filter((j) => j.product === 'nlb').slice(0, 100);
  const state = new Map<string, any>();
  if (nlbJobs.length) {
    const params: Record<string, string> = {};
    nlbJobs.forEach((j, i) => (params[`JobIds.${i + 1}`] = j.id));
    for (const j of (await call('nlb', 'ListAsynJobs', params)).Jobs ?? []) state.set(j.Id, j);
  }
  return h(
    'div',
    {},
    h('h1', {}, 'NLB jobs'),
    h(
      'p',
      { class: 'muted' },
      'The jobs started from this console with your AccessKey since the server started, newest first. The API has no call that lists every job.',
    ),
    table(
      nlbJobs,
      [
        { title: 'Job', cell: (j) => j.id },
        { title: 'Action', cell: (j) => j.action },
        { title: 'Resource', cell: (j) => j.resourceId ?? '—' },
        { title: 'Started', cell: (j) => new Date(j.at).toLocaleTimeString() },
        { title: 'Status', cell: (j) => badge(state.get(j.id)?.Status ?? 'Unknown') },
        { title: 'Reason', cell: (j) => (state.get(j.id) ? jobReason(state.get(j.id)) || '—' : '—') },
      ],
      'No jobs started from the console yet.',
      'jobs',
    ),
  );
}

export const nlbRoutes: Route[] = [
  { pattern: /^\/nlb\/instances\/?$/, title: 'NLB instances', render: instancesPage },
  { pattern: /^\/nlb\/instances\/([^/]+)$/, title: 'NLB instance', render: instancePage },
  { pattern: /^\/nlb\/listeners\/?$/, title: 'NLB listeners', render: listenersPage },
  { pattern: /^\/nlb\/listeners\/([^/]+)$/, title: 'NLB listener', render: listenerPage },
  { pattern: /^\/nlb\/server-groups\/?$/, title: 'NLB server groups', render: serverGroupsPage },
  { pattern: /^\/nlb\/server-groups\/([^/]+)$/, title: 'NLB server group', render: serverGroupPage },
  { pattern: /^\/nlb\/security-policies\/?$/, title: 'Security policies', render: securityPoliciesPage },
  { pattern: /^\/nlb\/jobs\/?$/, title: 'NLB jobs', render: jobsPage },
];
