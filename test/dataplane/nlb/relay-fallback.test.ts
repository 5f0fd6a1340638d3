/**
 * The user-space data-plane suite again, with the native splice and TLS relays switched off
 * (OPENSLB_USERSPACE_RELAY=js, what a machine without the addon runs) and every listener in
 * the user-space engine: the JS relay must behave exactly as the splice relay does. The suite
 * runs in a child process, since the relay is chosen once per process.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';

const SUITE = ['relay', 'behaviour', 'forwarding', 'metrics-and-weights', 'tls', 'tls-relay'].map(
  (name) => `test/dataplane/nlb/${name}.test.ts`,
);

test('the data-plane relay suite passes on the JS relay (addon disabled), user-space engine throughout', async () => {
  // Without the parent's test-runner context, or the child would refuse to run files.
  const { NODE_TEST_CONTEXT: _context, ...env } = process.env;
  const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=tap', ...SUITE], {
    env: { ...env, OPENSLB_USERSPACE_RELAY: 'js', OPENSLB_TEST_ENGINE: 'userspace' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  const failures = out.split('\n').filter((l) => /^\s*not ok /.test(l));
  assert.equal(code, 0, `the suite failed on the JS relay:\n${failures.join('\n')}\n${out.slice(-4000)}`);
  assert.match(out, /# pass [1-9]/);
  // The relay tests ran their JS / Node-TLS cases only, so nothing in the child used the addon.
  assert.doesNotMatch(out, /\[splice\]|\[native\]/);
});
