/** `openslb serve --log-format pretty`: log lines a person reads, JSON for everything else. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { prettyLine } from '../../src/server/pretty-log.js';
import { loadConfig } from '../../src/config/load.js';
import { startServe, stopProcess } from '../support/process.js';

test('a JSON entry becomes time, level, message and key=value fields', () => {
  const time = new Date(2026, 11, 2, 9, 5, 7, 42).getTime();
  const line = prettyLine(
    JSON.stringify({
      level: 30,
      time,
      pid: 1,
      hostname: 'h',
      msg: 'backend down',
      server: '127.0.0.1:80',
      reason: 'connection refused',
      err: { message: 'boom', stack: 'x' },
    }),
  );
  assert.equal(line, '09:05:07.042 INFO  backend down server=127.0.0.1:80 reason="connection refused" err="boom"\n');
  assert.equal(prettyLine('not json'), 'not json');
});

test('the format is checked when the config loads', () => {
  assert.equal(loadConfig({ logFormat: 'pretty' }, {}).logFormat, 'pretty');
  assert.throws(() => loadConfig({ logFormat: 'xml' }, {}), /logFormat must be json or pretty/);
});

test('openslb serve --log-format pretty writes readable lines', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), `openslb-pretty-${process.pid}-`));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const serve = await startServe(
    ['--data-dir', dataDir, '--api-listen', '127.0.0.1:0', '--admin-listen', '', '--workers', '0', '--log-format', 'pretty'],
    { ALIBABA_CLOUD_ACCESS_KEY_ID: '', ALIBABA_CLOUD_ACCESS_KEY_SECRET: '' },
  );
  t.after(() => stopProcess(serve.child));
  assert.match(serve.stdout(), /^\d\d:\d\d:\d\d\.\d{3} INFO {2}generated root AccessKey LTAI\w+; its secret is in /m);
  assert.ok(!serve.stdout().includes('{"level"'), 'no JSON lines');
});
