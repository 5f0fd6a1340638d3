/**
 * The fault-rule cache serves its copy for a second of its own time source, then reads again;
 * a change made through another store object (another process) is therefore seen within that
 * second. The data plane gives it the injected timers' time, so moved time sees a rule at once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../src/store/store.js';
import { addFaultRule } from '../../src/store/fault-rules.js';
import { FaultRuleCache } from '../../src/store/fault-rule-cache.js';

test('a copy younger than a second is served; older, or from a clock set back, is read again', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), `openslb-fault-cache-${process.pid}-`));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // Two store objects on one database: a change through `other` leaves `mine`'s generation alone.
  const mine = await openStore({ dataDir: dir });
  const other = await openStore({ dataDir: dir });
  t.after(async () => {
    await mine.close();
    await other.close();
  });
  let now = 1_000_000;
  const cache = new FaultRuleCache(mine, { now: () => now });
  assert.equal((await cache.rules()).length, 0);

  const spec = { match: { resourceId: 'sgp-x' }, effect: { type: 'unhealthy' as const } };
  await addFaultRule(other, spec, 0);
  now += 999;
  assert.equal((await cache.rules()).length, 0, 'a copy 999 ms old is still served');
  now += 1;
  assert.equal((await cache.rules()).length, 1, 'a second old: read again');

  await addFaultRule(other, spec, 0);
  now -= 60_000; // the wall clock set back a minute
  assert.equal((await cache.rules()).length, 2, 'a copy from the future is not trusted');
});
