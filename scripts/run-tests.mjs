#!/usr/bin/env node
// Node 20's test runner does not expand globs, so collect test/**/*.test.ts here.
// Extra arguments filter by substring of the path: `npm test -- signature`.
//
// The whole suite (no filter, as CI runs it) first type-checks, lints and format-checks the
// tree; the tests run either way, and the run fails if any step did. `CHECKS=0` skips the
// checks, `CHECKS=1` runs them before a filtered run too.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function collect(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...collect(path));
    else if (name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

const filters = process.argv.slice(2);
const files = collect('test')
  .sort()
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)));
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}

const runChecks = process.env.CHECKS === '1' || (process.env.CHECKS !== '0' && filters.length === 0);
const failedChecks = [];
if (runChecks) {
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  for (const script of ['typecheck', 'lint', 'format:check']) {
    console.log(`# npm run ${script}`);
    const check = spawnSync(npm, ['run', '--silent', script], { stdio: 'inherit' });
    if (check.status !== 0) failedChecks.push(script);
  }
}

const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', ...files], {
  stdio: 'inherit',
});
if (failedChecks.length > 0) console.error(`# failed checks: ${failedChecks.join(', ')}`);
process.exit(failedChecks.length > 0 ? 1 : (result.status ?? 1));
