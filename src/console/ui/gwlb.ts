/** GWLB pages: instances with their one listener, server groups with appliances and health, flows. */
/* eslint-disable @typescript-eslint/no-explicit-any */
import { call, type RingSeries } from './api.js';
import { type ChartSpec, liveCharts } from './charts.js';
import { badge, h, input, kv, link, section, table } from './dom.js';
import type { PageContext, Route } from './main.js';
import { listAction, pagedList, refreshing } from './pager.js';

const PAGE = 50;
const lbHref = (id: string) => `#/gwlb/instances/${encodeURIComponent(id)}`;
const sgHref = (id: string) => `#/gwlb/server-groups/${encodeURIComponent(id)}`;

function byLabel(metric: string, label: string, prefix = '') {
  return (series: RingSeries[]) =>
    [...new Set(series.filter((s) => s.metric === metric).map((s) => s.labels[label]))].sort().map((value) => ({
      label: `${prefix}${value}`,
      match: (s: RingSeries) => s.metric === metric && s.labels[label] === value,
      rate: metric.endsWith('_total'),
    }));
}

const LISTENER_CHARTS: ChartSpec[] = [
  { title: 'Packets', unit: '/s', lines: byLabel('openslb_gwlb_packets_total', 'direction') },
  {
    title: 'Flows',
    lines: (series) => [
      { label: 'active', match: (s: RingSeries) => s.metric === 'openslb_gwlb_active_flows' },
      ...byLabel('openslb_gwlb_flows_total', 'event', 'per s: ')(series),
    ],
  },
  { title: 'Drops by reason', unit: '/s', lines: byLabel('openslb_gwlb_dropped_packets_total', 'reason') },
];

const APPLIANCE_CHARTS: ChartSpec[] = [
  {
    title: 'Packets per appliance',
    unit: '/s',
    lines: (series) =>
      [
        ...new Set(
          series
            .filter((s) => s.metric === 'openslb_gwlb_appliance_packets_total')
            .map((s) => `${s.labels.appliance}|${s.labels.direction}`),
        ),
      ]
        .sort()
        .map((k) => {
          const [appliance, direction] = k.split('|');
          return {
            label: `${appliance} ${direction}`,
            rate: true,
            match: (s: RingSeries) =>
              s.metric === 'openslb_gwlb_appliance_packets_total' && s.labels.appliance === appliance && s.labels.direction === direction,
          };
        }),
  },
  { title: 'Flows per appliance', lines: byLabel('openslb_gwlb_appliance_active_flows', 'appliance') },
  { title: 'Health per appliance (1 = healthy)', lines: byLabel('openslb_gwlb_appliance_healthy', 'appliance') },
];

function instancesPage(): HTMLElement {
  return h(
    'div',
    {},
    h('h1', {}, 'GWLB instances'),
    pagedList<any>({
      testId: 'gwlb-instances',
      filters: [input('q', { placeholder: 'ID (gwlb-…) or exact name', 'aria-label': 'Filter by ID or name' })],
      load: listAction({
        product: 'gwlb',
        action: 'ListLoadBalancers',
        rows: 'LoadBalancers',
        pageSize: PAGE,
        byIdOrName: { idPrefix: 'gwlb-', ids: 'LoadBalancerIds', names: 'LoadBalancerNames' },
      }),
      render: (rows) =>
        table(
          rows,
          [
            { title: 'ID', cell: (lb) => link(lbHref(lb.LoadBalancerId), lb.LoadBalancerId) },
            { title: 'Name', cell: (lb) => lb.LoadBalancerName || '—' },
            { title: 'Status', cell: (lb) => badge(lb.LoadBalancerStatus) },
            { title: 'VPC', cell: (lb) => lb.VpcId },
            {
              title: 'Addresses',
              cell: (lb) =>
                (lb.ZoneMappings ?? [])
                  .map((z: any) => `${z.ZoneId}: ${(z.LoadBalancerAddresses ?? []).map((a: any) => a.PrivateIpv4Address).join(', ')}`)
                  .join('; '),
            },
          ],
          'No GWLB instances in this region.',
        ),
    }),
  );
}

async function instancePage(ctx: PageContext, id: string): Promise<HTMLElement> {
  const lb = await call('gwlb', 'GetLoadBalancerAttribute', { LoadBalancerId: id });
  const listeners = (await call('gwlb', 'ListListeners', { 'LoadBalancerIds.1': id })).Listeners ?? [];
  const listener = listeners[0];
  return h(
    'div',
    {},
    h('p', { class: 'crumbs' }, link('#/gwlb/instances', 'GWLB instances'), ' › ', id),
    h('h1', {}, lb.LoadBalancerName || id, ' ', badge(lb.LoadBalancerStatus)),
    kv([
      ['ID', id],
      ['Business status', lb.LoadBalancerBusinessStatus],
      ['Traffic mode', lb.TrafficMode],
      ['VPC', lb.VpcId],
      ['Created', lb.CreateTime],
      [
        'Addresses',
        (lb.ZoneMappings ?? [])
          .map((z: any) => `${z.ZoneId}: ${(z.LoadBalancerAddresses ?? []).map((a: any) => a.PrivateIpv4Address).join(', ')}`)
          .join('; '),
      ],
    ]),
    section(
      'Listener',
      listener
        ? h(
            'div',
            { 'data-testid': 'gwlb-listener' },
            kv([
              ['ID', listener.ListenerId],
              ['Status', badge(listener.ListenerStatus)],
              ['Server group', link(sgHref(listener.ServerGroupId), listener.ServerGroupId)],
              ['TCP idle timeout', `${listener.TcpIdleTimeout} s`],
              ['Description', listener.ListenerDescription],
            ]),
            liveCharts('listener', listener.ListenerId, LISTENER_CHARTS, ctx.session.sampleMs, ctx.signal),
          )
        : h('p', { class: 'muted' }, 'No listener yet.'),
    ),
    section(
      'Appliance health',
      listener
        ? refreshing(() => applianceHealth(listener.ListenerId), Math.max(ctx.session.sampleMs, 1000), ctx.signal)
        : applianceHealthTable([]),
    ),
  );
}

async function applianceHealth(listenerId: string): Promise<HTMLElement> {
  const r = await call('gwlb', 'GetListenerHealthStatus', { ListenerId: listenerId, MaxResults: '100' });
  return applianceHealthTable(
    (r.ListenerHealthStatus ?? []).flatMap((x: any) =>
      (x.ServerGroupInfos ?? []).flatMap((g: any) => (g.Servers ?? []).map((s: any) => ({ ...s, ServerGroupId: g.ServerGroupId }))),
    ),
  );
}

function applianceHealthTable(rows: any[]): HTMLElement {
  return table(
    rows,
    [
      { title: 'Appliance', cell: (s) => s.ServerId },
      { title: 'Address', cell: (s) => `${s.ServerIp}:${s.Port}` },
      { title: 'Health', cell: (s) => badge(s.Status) },
      { title: 'Reason', cell: (s) => s.Reason?.ReasonCode ?? '—' },
      { title: 'Server group', cell: (s) => link(sgHref(s.ServerGroupId), s.ServerGroupId) },
    ],
    'No appliances behind the listener.',
    'appliance-health',
  );
}

function serverGroupsPage(): HTMLElement {
  return h(
    'div',
    {},
    h('h1', {}, 'GWLB server groups'),
    pagedList<any>({
      testId: 'gwlb-server-groups',
      filters: [input('q', { placeholder: 'ID (sgp-…) or exact name', 'aria-label': 'Filter by ID or name' })],
      load: listAction({
        product: 'gwlb',
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
            { title: 'Scheduler', cell: (g) => g.Scheduler },
            { title: 'Failover', cell: (g) => g.ServerFailoverMode },
            { title: 'Appliances', cell: (g) => String(g.ServerCount ?? 0) },
            {
              title: 'Instances',
              cell: (g) => h('span', {}, ...(g.RelatedLoadBalancerIds ?? []).flatMap((id: string) => [link(lbHref(id), id), ' '])),
            },
          ],
          'No GWLB server groups in this region.',
        ),
    }),
  );
}

async function serverGroupPage(ctx: PageContext, id: string): Promise<HTMLElement> {
  const g = ((await call('gwlb', 'ListServerGroups', { 'ServerGroupIds.1': id })).ServerGroups ?? [])[0];
  if (!g) return h('p', { class: 'op-status error', role: 'alert' }, `Server group ${id} not found.`);
  const servers = (await call('gwlb', 'ListServerGroupServers', { ServerGroupId: id, MaxResults: '200' })).Servers ?? [];
  // Health comes from the listeners of the instances using the group.
  const health = new Map<string, any>();
  for (const lbId of (g.RelatedLoadBalancerIds ?? []).slice(0, 20)) {
    for (const l of (await call('gwlb', 'ListListeners', { 'LoadBalancerIds.1': lbId })).Listeners ?? []) {
      if (l.ServerGroupId !== id) continue;
      const r = await call('gwlb', 'GetListenerHealthStatus', { ListenerId: l.ListenerId, MaxResults: '100' }).catch(() => undefined);
      for (const x of r?.ListenerHealthStatus ?? [])
        for (const info of x.ServerGroupInfos ?? []) for (const s of info.Servers ?? []) health.set(`${s.ServerId}|${s.ServerIp}`, s);
    }
  }
  const hc = g.HealthCheckConfig ?? {};
  return h(
    'div',
    {},
    h('p', { class: 'crumbs' }, link('#/gwlb/server-groups', 'GWLB server groups'), ' › ', id),
    h('h1', {}, g.ServerGroupName, ' ', badge(g.ServerGroupStatus)),
    kv([
      ['ID', id],
      ['Protocol', g.Protocol],
      ['Scheduler', g.Scheduler],
      ['Failover', g.ServerFailoverMode],
      [
        'Health check',
        hc.HealthCheckEnabled ? `${hc.HealthCheckProtocol} :${hc.HealthCheckConnectPort}, every ${hc.HealthCheckInterval}s` : 'off',
      ],
      ['Draining', g.ConnectionDrainConfig?.ConnectionDrainEnabled ? `on, ${g.ConnectionDrainConfig.ConnectionDrainTimeout}s` : 'off'],
    ]),
    section(
      'Appliances',
      table(
        servers,
        [
          { title: 'Appliance', cell: (s: any) => s.ServerId },
          { title: 'Type', cell: (s: any) => s.ServerType },
          { title: 'Address', cell: (s: any) => `${s.ServerIp}:${s.Port}` },
          { title: 'State', cell: (s: any) => badge(s.Status) },
          {
            title: 'Health',
            cell: (s: any) =>
              badge(health.get(`${s.ServerId}|${s.ServerIp}`)?.Status ?? (g.RelatedLoadBalancerIds?.length ? 'Initial' : '—')),
          },
          { title: 'Reason', cell: (s: any) => health.get(`${s.ServerId}|${s.ServerIp}`)?.Reason?.ReasonCode ?? '—' },
        ],
        'No appliances.',
        'appliances',
      ),
    ),
    section('Live', liveCharts('server_group', id, APPLIANCE_CHARTS, ctx.session.sampleMs, ctx.signal)),
  );
}

export const gwlbRoutes: Route[] = [
  { pattern: /^\/gwlb\/instances\/?$/, title: 'GWLB instances', render: instancesPage },
  { pattern: /^\/gwlb\/instances\/([^/]+)$/, title: 'GWLB instance', render: instancePage },
  { pattern: /^\/gwlb\/server-groups\/?$/, title: 'GWLB server groups', render: serverGroupsPage },
  { pattern: /^\/gwlb\/server-groups\/([^/]+)$/, title: 'GWLB server group', render: serverGroupPage },
];
