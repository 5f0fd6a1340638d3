/**
 * The gateway fuzz property (test/fuzz/gateway-fuzz.ts) for a few thousand cases on every
 * `npm test`: every reply a success or an Alibaba error envelope, never a 5xx, and no refused
 * request changes the store. `npm run fuzz` runs the same property 100,000 times.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { formatTally, runFuzz, startFuzzTarget, type FuzzTarget } from '../fuzz/gateway-fuzz.js';

const CASES = Number(process.env.OPENSLB_FUZZ_CASES ?? 3000);

let target: FuzzTarget;
before(async () => {
  target = await startFuzzTarget();
});
after(async () => {
  await target?.close();
});

test(`${CASES} random and mutated requests: no 5xx, Alibaba envelopes, refused writes change nothing`, async () => {
  const tally = await runFuzz(target, CASES);
  assert.equal(tally.cases, CASES);
  // The generators reach past the signature check: some calls succeed and many are refused
  // by parameter validation, not only by authentication.
  assert.ok(tally.success > 0, formatTally(tally));
  assert.ok(
    [...tally.byCode.keys()].some((c) => c.startsWith('IllegalParam') || c.startsWith('MissingParam')),
    formatTally(tally),
  );
});
