/** The `api` limits and the UDP session cap are read from the config file and checked. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import { DEFAULT_API_LIMITS } from '../../src/config/config.js';

function withFile(text: string, fn: (path: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), `openslb-limits-${process.pid}-`));
  try {
    const path = join(dir, 'openslb.yaml');
    writeFileSync(path, text);
    fn(path);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('defaults are the documented limits', () => {
  const c = loadConfig({}, {});
  assert.deepEqual(c.api, DEFAULT_API_LIMITS);
  assert.equal(c.api.requestTimeoutMs, 30_000);
  assert.equal(c.dataplane.maxUdpSessionsPerListener, 10_000);
});

test('the file sets them; unknown names and impossible values are errors', () => {
  withFile(
    'api:\n  requestTimeoutMs: 5000\n  headersTimeoutMs: 2000\n  maxParams: 100\ndataplane:\n  maxUdpSessionsPerListener: 50000\n',
    (path) => {
      const c = loadConfig({ config: path }, {});
      assert.equal(c.api.requestTimeoutMs, 5000);
      assert.equal(c.api.headersTimeoutMs, 2000);
      assert.equal(c.api.maxParams, 100);
      assert.equal(c.api.maxBodyBytes, DEFAULT_API_LIMITS.maxBodyBytes);
      assert.equal(c.dataplane.maxUdpSessionsPerListener, 50_000);
    },
  );
  withFile('api:\n  maxBody: 10\n', (path) => assert.throws(() => loadConfig({ config: path }, {}), ConfigError));
  withFile('api:\n  maxParams: 0\n', (path) => assert.throws(() => loadConfig({ config: path }, {}), ConfigError));
  withFile('api:\n  requestTimeoutMs: 1000\n  headersTimeoutMs: 2000\n', (path) =>
    assert.throws(() => loadConfig({ config: path }, {}), /headersTimeoutMs must not exceed/),
  );
  withFile('dataplane:\n  maxUdpSessionsPerListener: 0\n', (path) => assert.throws(() => loadConfig({ config: path }, {}), ConfigError));
});
