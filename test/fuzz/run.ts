/**
 * `npm run fuzz`: the gateway property for 100,000 cases (OPENSLB_FUZZ_CASES to change it,
 * OPENSLB_FUZZ_SEED to repeat a run), then a tally of what was sent and answered.
 */
import { formatTally, runFuzz, startFuzzTarget } from './gateway-fuzz.js';

const cases = Number(process.env.OPENSLB_FUZZ_CASES ?? 100_000);
const seed = process.env.OPENSLB_FUZZ_SEED === undefined ? Date.now() % 2 ** 31 : Number(process.env.OPENSLB_FUZZ_SEED);
const target = await startFuzzTarget();
const started = Date.now();
try {
  console.log(`fuzzing the gateway: ${cases} cases, seed ${seed}`);
  const tally = await runFuzz(target, cases, seed);
  console.log(formatTally(tally));
  console.log(`\n${((Date.now() - started) / 1000).toFixed(1)} s`);
} catch (err) {
  console.error(String(err instanceof Error ? err.message : err));
  if (err instanceof Error && err.cause) console.error('caused by:', err.cause);
  process.exitCode = 1;
} finally {
  await target.close();
}
