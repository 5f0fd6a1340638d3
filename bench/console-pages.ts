/**
 * How fast the console's pages draw with many listeners: fills an in-process OpenSLB with
 * LISTENERS listeners through the API (each really bound by the in-process data plane, on the
 * VIPs of 127.0.170.0/24 and 127.0.171.0/24), signs in with headless Chromium and times, per
 * page, from navigation to the drawn table. Prints one line per page.
 *
 *   node --import tsx bench/console-pages.ts [listeners=3000]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { chromium } from 'playwright-core';
import { buildConsoleUi } from '../scripts/build-console-ui.js';
import { ApiClient } from '../src/client/api-client.js';
import { defaultConfig } from '../src/config/config.js';
import { startOpenSlb } from '../src/server/openslb.js';

const LISTENERS = Number(process.argv[2] ?? 3000);
const PER_LB = 50;
const NLB = '2022-04-30';

await buildConsoleUi();
const dataDir = mkdtempSync(join(tmpdir(), `openslb-console-bench-${process.pid}-`));
const config = defaultConfig();
config.apiListen = '127.0.0.1:0';
config.adminListen = '127.0.0.1:0';
config.dataDir = dataDir;
config.quotas.nlbLoadBalancers = Math.ceil(LISTENERS / PER_LB) + 1;
config.workers = 1;
const [zoneA, zoneB] = config.regions[0].vpcs[0].vSwitches;
zoneA.vipPool = '127.0.170.0/24';
zoneB.vipPool = '127.0.171.0/24';
const keyId = 'LTAIconsoleBench00000001';
const secret = 'consoleBenchSecret000000000001';
const running = await startOpenSlb(config, {
  log: pino({ level: 'silent' }),
  env: { ALIBABA_CLOUD_ACCESS_KEY_ID: keyId, ALIBABA_CLOUD_ACCESS_KEY_SECRET: secret },
});
const api = new ApiClient({ endpoint: running.apiUrl, accessKeyId: keyId, accessKeySecret: secret });
const profile = mkdtempSync(join(tmpdir(), `openslb-console-bench-chromium-${process.pid}-`));
try {
  const group = await api.call(NLB, 'CreateServerGroup', {
    ServerGroupName: 'bench',
    VpcId: 'vpc-local',
    ServerGroupType: 'Ip',
    Protocol: 'TCP_UDP',
  });
  const serverGroupId = group.body.ServerGroupId as string;
  let firstLb = '';
  for (let made = 0; made < LISTENERS;) {
    const lb = await api.call(NLB, 'CreateLoadBalancer', {
      AddressType: 'Intranet',
      VpcId: 'vpc-local',
      'ZoneMappings.1.ZoneId': 'cn-hangzhou-a',
      'ZoneMappings.1.VSwitchId': 'vsw-local-a',
      'ZoneMappings.2.ZoneId': 'cn-hangzhou-b',
      'ZoneMappings.2.VSwitchId': 'vsw-local-b',
    });
    const lbId = lb.body.LoadbalancerId as string;
    firstLb ||= lbId;
    for (let polls = 0, status = ''; status !== 'Active'; polls++) {
      if (polls > 3000) throw new Error(`${lbId} never became Active`);
      status = (await api.call(NLB, 'GetLoadBalancerAttribute', { LoadBalancerId: lbId })).body.LoadBalancerStatus as string;
      if (status !== 'Active') await new Promise((r) => setTimeout(r, 20));
    }
    const batch = Math.min(PER_LB, LISTENERS - made);
    // Five calls in flight: the SDK gives up on a reply after 3 s, and the machine may be busy.
    for (let i = 0; i < batch; i += 5) {
      await Promise.all(
        Array.from({ length: Math.min(5, batch - i) }, (_, k) =>
          api.call(NLB, 'CreateListener', {
            LoadBalancerId: lbId,
            ListenerProtocol: (i + k) % 2 ? 'UDP' : 'TCP',
            ListenerPort: String(20000 + i + k),
            ServerGroupId: serverGroupId,
          }),
        ),
      );
    }
    made += batch;
    if (made % 500 === 0) process.stderr.write(`console bench: ${made} listeners\n`);
  }
  process.stderr.write(`console bench: ${LISTENERS} listeners on ${Math.ceil(LISTENERS / PER_LB)} instances\n`);

  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const admin = running.adminUrl!;
  await page.goto(`${admin}/console/`);
  await page.getByLabel('AccessKey ID').fill(keyId);
  await page.getByLabel('AccessKey secret').fill(secret);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByTestId('nlb-instances').locator('tbody tr').first().waitFor();

  const pages: Array<[string, string, string]> = [
    ['instances (60 per page → 50)', '#/nlb/instances', '[data-testid=nlb-instances] tbody tr'],
    [`all ${LISTENERS} listeners, first page`, '#/nlb/listeners', '[data-testid=listeners] tbody tr'],
    ['one instance with its 50 listeners', `#/nlb/instances/${firstLb}`, '[data-testid=listeners] tbody tr'],
    ['server group used by every instance', `#/nlb/server-groups/${serverGroupId}`, '[data-testid=backends]'],
  ];
  for (const [name, hash, selector] of pages) {
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      await page.goto(`${admin}/console/#/about-blank`);
      await page.waitForSelector('main');
      const t0 = performance.now();
      await page.goto(`${admin}/console/${hash}`);
      await page.locator(selector).first().waitFor({ timeout: 60_000 });
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    process.stdout.write(
      `${name}: median ${times[2].toFixed(0)} ms (min ${times[0].toFixed(0)}, max ${times[4].toFixed(0)}), full page load incl. sign-in check\n`,
    );
  }
  await context.close();
} finally {
  await running.stop();
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(profile, { recursive: true, force: true });
}
