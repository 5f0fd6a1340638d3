/**
 * `openslb serve` itself: the start-up line names the console, and a change made from the
 * console is an `api call` line in the server's log with the signed-in AccessKey, like any call.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServe, stopProcess, type ServeProcess } from '../support/process.js';

const dataDir = mkdtempSync(join(tmpdir(), `openslb-console-serve-${process.pid}-`));
const KEY_ID = 'LTAIconsoleServeTest0001';
const SECRET = 'consoleServeTestSecret00000001';
let serve: ServeProcess;

before(async () => {
  serve = await startServe(['--data-dir', dataDir, '--api-listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0', '--workers', '0'], {
    ALIBABA_CLOUD_ACCESS_KEY_ID: KEY_ID,
    ALIBABA_CLOUD_ACCESS_KEY_SECRET: SECRET,
  });
});
after(async () => {
  if (serve) await stopProcess(serve.child);
  rmSync(dataDir, { recursive: true, force: true });
});

test('the start-up line names the console, and a change made there is in the API log', async () => {
  const m = /console on (http:\/\/[\d.]+:\d+)\/console\//.exec(serve.stderr());
  assert.ok(m, serve.stderr());
  const admin = m[1];
  const headers = { 'content-type': 'application/json', 'x-openslb-console': '1' };
  const signin = await fetch(`${admin}/console/api/signin`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ accessKeyId: KEY_ID, accessKeySecret: SECRET }),
  });
  assert.equal(signin.status, 200);
  const cookie = /^(openslb_console=[^;]+)/.exec(signin.headers.get('set-cookie') ?? '')![1];
  const made = await fetch(`${admin}/console/api/call`, {
    method: 'POST',
    headers: { ...headers, cookie },
    body: JSON.stringify({
      product: 'nlb',
      action: 'CreateServerGroup',
      params: { ServerGroupName: 'from-console', VpcId: 'vpc-local', ServerGroupType: 'Ip' },
    }),
  });
  assert.equal(made.status, 200);
  const { RequestId } = (await made.json()) as { RequestId: string };

  let line: Record<string, unknown> | undefined;
  for (let i = 0; i < 200 && !line; i++) {
    line = serve
      .stdout()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.requestId === RequestId);
    if (!line) await new Promise((r) => setTimeout(r, 25));
  }
  assert.ok(line, 'an api call line for the console’s request');
  assert.equal(line.msg, 'api call');
  assert.equal(line.action, 'CreateServerGroup');
  assert.equal(line.accessKeyId, KEY_ID);
  assert.equal(line.code, 'Success');
  assert.equal(serve.stdout().includes(SECRET) || serve.stderr().includes(SECRET), false, 'the secret is never logged');

  // The page and its bundle come from the build.
  assert.equal((await fetch(`${admin}/console/assets/app.js`)).status, 200);
});
