/**
 * The real `openslb` command: first start generates credentials, the CLI calls the API with
 * them, every call leaves one structured log line, and /metrics counts it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, startServe, stopProcess, type ServeProcess } from '../support/process.js';

const dataDir = mkdtempSync(join(tmpdir(), 'openslb-cli-'));
const noCredentials = { ALIBABA_CLOUD_ACCESS_KEY_ID: '', ALIBABA_CLOUD_ACCESS_KEY_SECRET: '', OPENSLB_ENDPOINT: '' };
let serve: ServeProcess;

before(async () => {
  serve = await startServe(['--data-dir', dataDir, '--api-listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0'], noCredentials);
});
after(async () => {
  if (serve) await stopProcess(serve.child);
  rmSync(dataDir, { recursive: true, force: true });
});

function credentials(): Record<string, string> {
  const text = readFileSync(join(dataDir, 'credentials'), 'utf8');
  return Object.fromEntries(
    text
      .split('\n')
      .filter((l) => /^[A-Z_]+=/.test(l))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

test('first start writes a private credentials file and never logs the secret', () => {
  assert.equal(statSync(join(dataDir, 'credentials')).mode & 0o777, 0o600);
  const creds = credentials();
  assert.match(creds.ALIBABA_CLOUD_ACCESS_KEY_ID, /^LTAI/);
  assert.ok(creds.ALIBABA_CLOUD_ACCESS_KEY_SECRET.length >= 20);
  assert.ok(!serve.stdout().includes(creds.ALIBABA_CLOUD_ACCESS_KEY_SECRET));
  assert.ok(!serve.stderr().includes(creds.ALIBABA_CLOUD_ACCESS_KEY_SECRET));
  assert.ok(serve.stdout().includes(join(dataDir, 'credentials')), 'the server says where the credentials are');
});

test('openslb nlb <Action> calls the API with the generated credentials and prints JSON', async () => {
  const r = await runCli(
    ['nlb', 'DescribeZones', '--AcceptLanguage', 'en-US', '--endpoint', serve.apiUrl, '--data-dir', dataDir],
    noCredentials,
  );
  assert.equal(r.code, 0, r.stderr);
  const body = JSON.parse(r.stdout);
  assert.deepEqual(
    body.Zones.map((z: { ZoneId: string }) => z.ZoneId),
    ['cn-hangzhou-a', 'cn-hangzhou-b'],
  );
});

test('the same credentials from the environment work, and API errors come back as the JSON error body', async () => {
  const creds = credentials();
  const r = await runCli(['gwlb', 'DescribeZones', '--RegionId=eu-nowhere-1', '--endpoint', serve.apiUrl], creds);
  assert.equal(r.code, 1);
  const body = JSON.parse(r.stderr);
  assert.equal(body.Code, 'UnauthorizedRegion');
  assert.equal(body.HostId, 'gwlb.cn-hangzhou.aliyuncs.com');
});

test('each API call logs one structured line with action, code, RequestId and AccessKeyId', async () => {
  const creds = credentials();
  const r = await runCli(['nlb', 'DescribeRegions', '--endpoint', serve.apiUrl], creds);
  const { RequestId } = JSON.parse(r.stdout);
  const lines = serve
    .stdout()
    .split('\n')
    .filter((l) => l.includes(RequestId))
    .map((l) => JSON.parse(l));
  assert.equal(lines.length, 1);
  assert.equal(lines[0].action, 'DescribeRegions');
  assert.equal(lines[0].code, 'Success');
  assert.equal(lines[0].accessKeyId, creds.ALIBABA_CLOUD_ACCESS_KEY_ID);
  assert.equal(typeof lines[0].latencyMs, 'number');
});

test('/metrics on the admin listener counts API calls', async () => {
  const admin = /metrics on (http:\/\/[\d.]+:\d+)/.exec(serve.stderr())![1];
  const text = await (await fetch(`${admin}/metrics`)).text();
  assert.match(text, /openslb_api_requests_total\{product="nlb",action="DescribeZones",code="Success"\} \d+/);
  assert.match(text, /openslb_api_request_duration_seconds_bucket\{le="[\d.]+",product="nlb",action="DescribeRegions"\}/);
});
