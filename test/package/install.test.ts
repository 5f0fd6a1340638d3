/**
 * The package as a user gets it: `npm pack` the checkout, `npm install -g` the tarball into a
 * temporary prefix, then run the installed `openslb --version`, `openslb serve` and one call,
 * and import the package's exports from another project.
 *
 * Packs the current `dist/` (run `npm run build` after changing src/). Dependencies come from
 * npm's cache when it has them. better-sqlite3 would otherwise compile SQLite for minutes, so
 * its install is handed the binary this checkout already built, as a local prebuild.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stopProcess } from '../support/process.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string };
const work = mkdtempSync(join(tmpdir(), `openslb-pack-${process.pid}-`));
const prefix = join(work, 'prefix');
const installed = join(prefix, 'lib', 'node_modules', pkg.name);
const bin = join(prefix, 'bin', 'openslb');
let packedFiles: string[] = [];

function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}) {
  const r = spawnSync(cmd, args, {
    cwd: opts.cwd ?? work,
    env: { ...process.env, ...opts.env },
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 120_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')} failed (${r.error?.message ?? r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** A prebuild-install "local prebuild" of the better-sqlite3 binary this checkout has. */
function localSqlitePrebuild(): NodeJS.ProcessEnv {
  const sqliteDir = join(ROOT, 'node_modules', 'better-sqlite3');
  const binary = join(sqliteDir, 'build', 'Release', 'better_sqlite3.node');
  if (!existsSync(binary)) return {};
  const version = (JSON.parse(readFileSync(join(sqliteDir, 'package.json'), 'utf8')) as { version: string }).version;
  const dir = join(work, 'prebuilds');
  mkdirSync(join(dir, 'build', 'Release'), { recursive: true });
  writeFileSync(join(dir, 'build', 'Release', 'better_sqlite3.node'), readFileSync(binary));
  const name = `better-sqlite3-v${version}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`;
  run('tar', ['czf', name, 'build'], { cwd: dir });
  return { npm_config_better_sqlite3_local_prebuilds: dir };
}

before(() => {
  assert.ok(existsSync(join(ROOT, 'dist', 'index.js')), 'dist/ is missing: run npm run build first');
  const packed = JSON.parse(run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: ROOT })) as Array<{
    filename: string;
    files: Array<{ path: string }>;
  }>;
  packedFiles = packed[0].files.map((f) => f.path);
  run(
    'npm',
    [
      'install',
      '-g',
      '--prefix',
      prefix,
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      '--loglevel=error',
      join(work, packed[0].filename),
    ],
    { env: localSqlitePrebuild(), timeoutMs: 15 * 60_000 },
  );
});
after(() => rmSync(work, { recursive: true, force: true }));

test('the tarball ships the addon sources, the license and the typed entry point, not the sources maps', () => {
  for (const file of [
    'binding.gyp',
    'native/tcp_sockopt.c',
    'native/splice_relay.c',
    'scripts/build-addon.mjs',
    'LICENSE',
    'README.md',
    'dist/index.js',
    'dist/index.d.ts',
    'dist/cli/main.js',
  ]) {
    assert.ok(packedFiles.includes(file), `${file} is in the tarball`);
  }
  assert.ok(!packedFiles.some((f) => f.startsWith('src/') || f.startsWith('test/') || f.endsWith('.map')));
});

test('the installed openslb prints its version', () => {
  assert.equal(run(bin, ['--version']).trim(), pkg.version);
});

test('the installed openslb serves, and the installed CLI calls it with the generated credentials', async (t) => {
  const dataDir = join(work, 'data');
  const child = spawn(bin, ['serve', '--api-listen', '127.0.0.1:0', '--admin-listen', '', '--workers', '0', '--data-dir', dataDir], {
    env: { ...process.env, ALIBABA_CLOUD_ACCESS_KEY_ID: '', ALIBABA_CLOUD_ACCESS_KEY_SECRET: '' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  t.after(() => stopProcess(child));
  const apiUrl = await new Promise<string>((resolve, reject) => {
    let err = '';
    child.stderr!.on('data', (c: Buffer) => {
      err += c.toString();
      const m = /API on (http:\/\/[\d.]+:\d+)/.exec(err);
      if (m) resolve(m[1]);
    });
    child.on('exit', (code) => reject(new Error(`openslb serve exited with ${code}: ${err}`)));
  });
  const out = run(bin, ['nlb', 'DescribeRegions', '--endpoint', apiUrl, '--data-dir', dataDir, '--output', 'json'], {
    env: { ALIBABA_CLOUD_ACCESS_KEY_ID: '', ALIBABA_CLOUD_ACCESS_KEY_SECRET: '' },
  });
  assert.ok((JSON.parse(out) as { Regions: Array<{ RegionId: string }> }).Regions.some((r) => r.RegionId === 'cn-hangzhou'));
});

test('another project imports the package by name and embeds a server', () => {
  const project = join(work, 'consumer');
  mkdirSync(join(project, 'node_modules'), { recursive: true });
  symlinkSync(installed, join(project, 'node_modules', pkg.name), 'dir');
  writeFileSync(
    join(project, 'check.mjs'),
    `import { startEmbedded, ApiClient, NLB_VERSION } from 'openslb';
const slb = await startEmbedded();
try {
  const client = new ApiClient({ endpoint: slb.endpoint, accessKeyId: slb.accessKeyId, accessKeySecret: slb.accessKeySecret });
  const { body } = await client.call(NLB_VERSION, 'DescribeZones', {});
  console.log(JSON.stringify(body.Zones.map((z) => z.ZoneId)));
} finally {
  await slb.stop();
}
`,
  );
  const out = run(process.execPath, ['check.mjs'], { cwd: project });
  assert.deepEqual(JSON.parse(out.trim().split('\n').pop()!), ['cn-hangzhou-a', 'cn-hangzhou-b']);
});

test('the installed openslb carries the sample GWLB appliance and endpoint of the README', async (t) => {
  // The endpoint sends straight to the appliance here: the appliance returns what it gets to its
  // sender, from its port 6081, which is what `send` waits for. (test/readme goes through a GWLB.)
  const appliance = spawn(bin, ['geneve', 'appliance', '--address', '127.0.61.20'], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => stopProcess(appliance));
  let log = '';
  appliance.stdout.on('data', (c: Buffer) => (log += c.toString()));
  await new Promise<void>((resolve, reject) => {
    appliance.stdout.on('data', () => log.includes('GENEVE on') && resolve());
    appliance.on('exit', (code) => reject(new Error(`the appliance exited with ${code}`)));
  });
  const sent = run(bin, ['geneve', 'send', '--to', '127.0.61.20', '--payload', 'from the package'], { timeoutMs: 60_000 });
  assert.match(
    sent,
    /^returned by 127\.0\.61\.20 after \d+ send\(s\): vni 42 UDP 10\.0\.0\.1:40000 > 10\.0\.0\.2:53 "from the package", inner packet unchanged/,
  );
});
