/**
 * The README's walkthrough blocks, run as written against a real `openslb serve`: `npx openslb`
 * is the CLI from source, the server has VIP pools of this test's own.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultConfig } from '../../src/config/config.js';
import { MAIN, startServe, stopProcess } from '../support/process.js';
import { TEST_ACCESS_KEY_ID, TEST_ACCESS_KEY_SECRET, startTestServer } from '../support/server.js';

const README = fileURLToPath(new URL('../../README.md', import.meta.url));
// The block runs in a temp dir: tsx is named by its resolved URL, not looked up from there.
const TSX = import.meta.resolve('tsx');

/** The code block (`sh` unless said) after `<!-- walkthrough:<name> -->`. */
function block(name: string, language = 'sh'): string {
  const m = new RegExp(`<!-- walkthrough:${name} -->\\n\`\`\`${language}\\n([\\s\\S]*?)\`\`\``).exec(readFileSync(README, 'utf8'));
  if (!m) throw new Error(`README has no walkthrough:${name} block`);
  return m[1];
}

/**
 * Starts `openslb serve` in a fresh directory with VIP pools `127.0.<a>.0/24` and
 * `127.0.<b>.0/24`, runs the named blocks one after the other in one bash (as a reader pastes
 * them into one shell) and returns what they printed; fails the test if the script fails.
 */
async function runBlocks(t: TestContext, names: string[], pools: [number, number]): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), `openslb-readme-${process.pid}-`));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const regions = defaultConfig().regions;
  regions[0].vpcs[0].vSwitches[0].vipPool = `127.0.${pools[0]}.0/24`;
  regions[0].vpcs[0].vSwitches[1].vipPool = `127.0.${pools[1]}.0/24`;
  writeFileSync(join(dir, 'openslb.yaml'), JSON.stringify({ regions }));
  const credentials = { ALIBABA_CLOUD_ACCESS_KEY_ID: TEST_ACCESS_KEY_ID, ALIBABA_CLOUD_ACCESS_KEY_SECRET: TEST_ACCESS_KEY_SECRET };
  const serve = await startServe(
    [
      '--config',
      join(dir, 'openslb.yaml'),
      '--data-dir',
      join(dir, 'data'),
      '--api-listen',
      '127.0.0.1:0',
      '--admin-listen',
      '',
      '--workers',
      '0',
    ],
    credentials,
  );
  t.after(() => stopProcess(serve.child));

  const script = [
    'set -euo pipefail',
    // The blocks' background processes end with the script, pass or fail.
    "trap 'kill $(jobs -p) 2>/dev/null || true' EXIT",
    `npx() { if [ "$1" = openslb ]; then shift; "${process.execPath}" --import "${TSX}" "${MAIN}" "$@"; else command npx "$@"; fi; }`,
    ...names.map((name) => block(name)),
  ].join('\n');
  const child = spawn('bash', ['-c', script], {
    cwd: dir,
    env: { ...process.env, ...credentials, OPENSLB_ENDPOINT: serve.apiUrl, NODE_PATH: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
    // A process group of its own: `npx openslb … &` runs node under a subshell the trap's kill
    // does not reach, so the whole group is ended after the test, pass or fail.
    detached: true,
  });
  t.after(() => {
    try {
      process.kill(-child.pid!, 'SIGTERM');
    } catch {
      // the group has already gone
    }
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  assert.equal(code, 0, `the blocks failed:\n${stdout}\n${stderr}`);
  return stdout;
}

test('README: from nothing to traffic through a TCP listener, then a TCPSSL listener', async (t) => {
  const stdout = await runBlocks(t, ['tcp', 'tcpssl'], [95, 96]);
  // Once through the TCP listener, then once through TLS ended at the TCPSSL listener.
  assert.match(stdout, /hello from backend\n[\s\S]*hello from backend\n$/);
});

test('README: a packet through a GWLB and the sample appliance', async (t) => {
  const stdout = await runBlocks(t, ['gwlb'], [83, 84]);
  const inner = 'vni 42 UDP 10.0.0.1:40000 > 10.0.0.2:53 "hello through the appliance"';
  // The endpoint got its packet back from the VIP, as sent...
  assert.match(stdout, new RegExp(`returned by 127\\.0\\.83\\.\\d+ after \\d+ send\\(s\\): ${escape(inner)}, inner packet unchanged`));
  // ...and the appliance saw it on the way, from the VIP, with the balancer's GWLB options.
  assert.match(
    stdout,
    new RegExp(
      `appliance 127\\.0\\.60\\.10: ${escape(inner)} from 127\\.0\\.83\\.\\d+:6081 \\(endpoint 127\\.0\\.0\\.1:\\d+, attachment 0x[0-9a-f]{16}, flow \\d+ forward\\): returned`,
    ),
  );
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

test('README: the official SDK snippet, saved as zones.mjs, calls DescribeZones', async (t) => {
  const server = await startTestServer();
  t.after(() => server.stop());
  const dir = mkdtempSync(join(tmpdir(), `openslb-readme-sdk-${process.pid}-`));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // The two packages the README has the reader install, from this checkout's node_modules.
  symlinkSync(fileURLToPath(new URL('../../node_modules', import.meta.url)), join(dir, 'node_modules'));
  const snippet = block('sdk', 'ts');
  assert.ok(snippet.includes("endpoint: '127.0.0.1:8080'"), 'the snippet names the default endpoint');
  writeFileSync(join(dir, 'zones.mjs'), snippet.replace("'127.0.0.1:8080'", `'${new URL(server.url).host}'`));
  const child = spawn(process.execPath, ['zones.mjs'], {
    cwd: dir,
    env: { ...process.env, ALIBABA_CLOUD_ACCESS_KEY_ID: TEST_ACCESS_KEY_ID, ALIBABA_CLOUD_ACCESS_KEY_SECRET: TEST_ACCESS_KEY_SECRET },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  assert.equal(code, 0, out);
  assert.match(out, /ZoneId: 'cn-hangzhou-a'/);
});
