/** The API log's destination: lines gathered into few writes, none lost when the process ends. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { BatchedLogStream } from '../../src/gateway/batched-log.js';

/** Records what reaches the real output. */
function recorder() {
  const writes: string[] = [];
  const out = {
    write: (s: string) => writes.push(s) > 0,
    flush: (cb?: (err?: Error) => void) => cb?.(),
    flushSync: () => undefined,
  };
  return { writes, out: out as unknown as ConstructorParameters<typeof BatchedLogStream>[0] };
}

test('lines are handed over together, in order, once the batch is full', () => {
  const { writes, out } = recorder();
  const stream = new BatchedLogStream(out, { maxChars: 30, maxDelayMs: 60_000 });
  stream.write('{"n":1}\n');
  stream.write('{"n":2}\n');
  assert.deepEqual(writes, []);
  stream.write('{"n":3}\n');
  stream.write('{"n":4}\n');
  assert.deepEqual(writes, ['{"n":1}\n{"n":2}\n{"n":3}\n{"n":4}\n']);
  stream.write('{"n":5}\n');
  stream.flush();
  assert.deepEqual(writes, ['{"n":1}\n{"n":2}\n{"n":3}\n{"n":4}\n', '{"n":5}\n']);
  stream.flushSync(); // nothing gathered: nothing written
  assert.equal(writes.length, 2);
});

test('a quiet server still writes its last lines without waiting for more', async () => {
  const { writes, out } = recorder();
  const stream = new BatchedLogStream(out, { maxDelayMs: 0 });
  stream.write('{"n":1}\n');
  assert.deepEqual(writes, []);
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(writes, ['{"n":1}\n']);
});

test('lines gathered when the process dies of an uncaught exception are still written', () => {
  const dir = mkdtempSync(join(tmpdir(), 'openslb-log-'));
  try {
    const script = join(dir, 'crash.ts');
    const module = fileURLToPath(new URL('../../src/gateway/batched-log.ts', import.meta.url));
    writeFileSync(
      script,
      [
        `import pino from ${JSON.stringify(createRequire(import.meta.url).resolve('pino'))};`,
        `import { batchedStdout } from ${JSON.stringify(module)};`,
        // A long window: only the exit flush can get these lines out.
        `const log = pino({ level: 'info' }, batchedStdout({ maxDelayMs: 60_000 }));`,
        `for (let i = 0; i < 3; i++) log.info({ i }, 'api call');`,
        `setImmediate(() => { throw new Error('boom'); });`,
      ].join('\n'),
    );
    const r = spawnSync(process.execPath, ['--import', 'tsx', script], { encoding: 'utf8', cwd: process.cwd() });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /boom/);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { i: number; msg: string });
    assert.deepEqual(
      lines.map((l) => l.i),
      [0, 1, 2],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
