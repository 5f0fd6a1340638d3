/**
 * Reconnecting to a kernel listener never meets the ghost of an earlier flow. In a namespace of
 * its own (where the engine's table is the only conntrack user, as on a balancer host), a node
 * stops cleanly with connections open; a new node serves the same VIP and port with another
 * backend; clients reconnect from the same source ports, then open many short connections one
 * after another. Every one must reach the new backend.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createNamespace } from '../../support/netns.js';

const SCENARIO = fileURLToPath(new URL('../../support/kernel-reconnect-scenario.ts', import.meta.url));
const SHORT_CONNECTIONS = 300;

test('after a clean stop, reconnects from the same source ports and many short connections all reach the new node', async (t) => {
  const ns = createNamespace(`krc${process.pid}`);
  t.after(() => ns.remove());
  const out = await new Promise<string>((resolve, reject) => {
    const argv = [...ns.exec.slice(1), process.execPath, '--import', 'tsx', SCENARIO, String(SHORT_CONNECTIONS)];
    execFile(ns.exec[0], argv, { timeout: 120_000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout),
    );
  });
  const { reused, short } = JSON.parse(out) as { reused: string[]; short: string[] };
  assert.deepEqual(
    reused,
    reused.map(() => 'new:again'),
    'a reconnect from a source port the old node used',
  );
  const failed = short.filter((reply, i) => reply !== `new:s${i}`);
  assert.deepEqual(failed, [], `all ${SHORT_CONNECTIONS} short connections answered by the new backend`);
});
