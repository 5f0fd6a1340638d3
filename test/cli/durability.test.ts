/** A change acknowledged with 2xx survives `kill -9` of the server. */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NLB, TEST_ACCESS_KEY_ID, TEST_ACCESS_KEY_SECRET, callApi } from '../support/server.js';
import { startServe, stopProcess, type ServeProcess } from '../support/process.js';

const dataDir = mkdtempSync(join(tmpdir(), 'openslb-durable-'));
const env = { ALIBABA_CLOUD_ACCESS_KEY_ID: TEST_ACCESS_KEY_ID, ALIBABA_CLOUD_ACCESS_KEY_SECRET: TEST_ACCESS_KEY_SECRET };
const args = ['--data-dir', dataDir, '--api-listen', '127.0.0.1:0', '--admin-listen', ''];
const running: ServeProcess[] = [];

after(async () => {
  for (const p of running) await stopProcess(p.child, 'SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

function endpoint(p: ServeProcess) {
  const url = new URL(p.apiUrl);
  return { host: url.hostname, port: Number(url.port) };
}

test('an acknowledged CreateServerGroup is still there after SIGKILL and restart', async () => {
  const first = await startServe(args, env);
  running.push(first);
  const created = await callApi(endpoint(first), NLB, 'CreateServerGroup', {
    ServerGroupName: 'survivor',
    VpcId: 'vpc-local',
    ServerGroupType: 'Ip',
  });
  assert.match(created.ServerGroupId, /^sgp-/);
  await stopProcess(first.child, 'SIGKILL');

  const second = await startServe(args, env);
  running.push(second);
  const listed = await callApi(endpoint(second), NLB, 'ListServerGroups', { ServerGroupIds: [created.ServerGroupId] });
  assert.equal(listed.ServerGroups.length, 1);
  assert.equal(listed.ServerGroups[0].ServerGroupName, 'survivor');
});
