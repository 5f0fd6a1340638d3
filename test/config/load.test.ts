import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../src/config/load.js';

function file(text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'openslb-config-')), 'openslb.yaml');
  writeFileSync(path, text);
  return path;
}

test('a newcomer gets the documented defaults', () => {
  const c = loadConfig({}, {});
  assert.equal(c.apiListen, '127.0.0.1:8080');
  assert.equal(c.adminListen, '127.0.0.1:8081');
  assert.equal(c.dataDir, './.openslb');
  assert.equal(c.storeUrl, undefined);
  assert.equal(c.regions[0].id, 'cn-hangzhou');
  assert.deepEqual(
    c.regions[0].zones.map((z) => z.id),
    ['cn-hangzhou-a', 'cn-hangzhou-b'],
  );
  const vpc = c.regions[0].vpcs[0];
  assert.equal(vpc.id, 'vpc-local');
  assert.equal(vpc.cidr, '127.0.0.0/8');
  assert.deepEqual(
    vpc.vSwitches.map((v) => [v.id, v.zoneId, v.vipPool]),
    [
      ['vsw-local-a', 'cn-hangzhou-a', '127.0.1.0/24'],
      ['vsw-local-b', 'cn-hangzhou-b', '127.0.2.0/24'],
    ],
  );
  assert.equal(c.quotas.nlbListenersPerLoadBalancer, 50);
});

test('the file overrides defaults and flags override the file', () => {
  const path = file(`
apiListen: 127.0.0.1:9000
quotas:
  nlbListenersPerLoadBalancer: 5
jobs:
  extraDelayMs: 2000
regions:
  - id: eu-central-1
    localName: { en-US: Germany (Frankfurt) }
    zones:
      - { id: eu-central-1a, localName: { en-US: Frankfurt Zone A } }
    vpcs:
      - id: vpc-lab
        cidr: 10.0.0.0/8
        vSwitches:
          - { id: vsw-lab-a, zoneId: eu-central-1a, vipPool: 127.0.9.0/24 }
`);
  const c = loadConfig({ config: path, apiListen: '127.0.0.1:9100', jobDelay: '10' }, {});
  assert.equal(c.apiListen, '127.0.0.1:9100');
  assert.equal(c.quotas.nlbListenersPerLoadBalancer, 5);
  assert.equal(c.quotas.nlbLoadBalancers, 60);
  assert.equal(c.jobs.extraDelayMs, 10);
  assert.equal(c.regions[0].id, 'eu-central-1');
});

test('mistakes in the config are refused with a message that names them', () => {
  const cases: Array<[string, RegExp]> = [
    ['aplListen: x', /unknown config key "aplListen"/],
    ['quotas: { listeners: 3 }', /unknown quota "listeners"/],
    ['apiListen: nowhere', /apiListen must be host:port/],
    ['role: api', /needs --store/],
    [
      'regions: [{ id: r, localName: { en-US: R }, zones: [{ id: z, localName: { en-US: Z } }], vpcs: [{ id: v, cidr: 10.0.0.0/8, vSwitches: [{ id: s, zoneId: nope, vipPool: 127.0.9.0/24 }] }] }]',
      /zone nope is not a zone of r/,
    ],
  ];
  for (const [text, message] of cases) {
    assert.throws(
      () => loadConfig({ config: file(text) }, {}),
      (e: unknown) => e instanceof ConfigError && message.test(e.message),
    );
  }
});

test('dataplane.gwlbEngine picks the GENEVE path: auto by default, from the file or OPENSLB_GWLB_ENGINE, and nothing else', () => {
  assert.equal(loadConfig({}, {}).dataplane.gwlbEngine, 'auto');
  assert.equal(loadConfig({ config: file('dataplane:\n  gwlbEngine: userspace\n') }, {}).dataplane.gwlbEngine, 'userspace');
  assert.equal(
    loadConfig({ config: file('dataplane:\n  gwlbEngine: userspace\n') }, { OPENSLB_GWLB_ENGINE: 'bpf' }).dataplane.gwlbEngine,
    'bpf',
  );
  assert.throws(
    () => loadConfig({ config: file('dataplane:\n  gwlbEngine: xdp\n') }, {}),
    (e: Error) => e instanceof ConfigError && /gwlbEngine must be auto, bpf or userspace/.test(e.message),
  );
});

test('the user-space relay and the connection log: off and auto by default, set by the file or --connection-log, bad values refused', () => {
  const defaults = loadConfig({}, {});
  assert.equal(defaults.dataplane.userspaceRelay, 'auto');
  assert.equal(defaults.dataplane.connectionLog, false);
  const c = loadConfig({ config: file('dataplane:\n  userspaceRelay: js\n  connectionLog: true\n') }, {});
  assert.equal(c.dataplane.userspaceRelay, 'js');
  assert.equal(c.dataplane.connectionLog, true);
  assert.equal(loadConfig({ connectionLog: true }, {}).dataplane.connectionLog, true);
  assert.throws(() => loadConfig({ config: file('dataplane:\n  userspaceRelay: splice\n') }, {}), /userspaceRelay must be auto or js/);
  assert.throws(() => loadConfig({ config: file('dataplane:\n  connectionLog: yes please\n') }, {}), /connectionLog must be true or false/);
});
