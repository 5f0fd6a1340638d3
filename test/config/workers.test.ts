import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../src/config/load.js';

test('serve runs one data-plane worker per core unless told otherwise', () => {
  assert.equal(loadConfig({}, {}).workers, availableParallelism());
  assert.equal(loadConfig({ workers: '3' }, {}).workers, 3);
  assert.equal(loadConfig({ workers: '0' }, {}).workers, 0);
});

test('workers comes from the config file too, and the flag wins over it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'openslb-config-'));
  try {
    const file = join(dir, 'openslb.yaml');
    writeFileSync(file, 'workers: 4\n');
    assert.equal(loadConfig({ config: file }, {}).workers, 4);
    assert.equal(loadConfig({ config: file, workers: '1' }, {}).workers, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a worker count that is not a whole number in range is refused with a message', () => {
  for (const bad of ['-1', '2.5', 'many', '5000']) {
    assert.throws(
      () => loadConfig({ workers: bad }, {}),
      (err: unknown) => err instanceof ConfigError && /workers must be an integer/.test((err as Error).message),
    );
  }
});
