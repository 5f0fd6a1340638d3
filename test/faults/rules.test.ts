/** Fault rules: validation, matching, the error catalogue, probability and counts. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { FaultRuleError, matchesCall, parseFaultRuleSpec, wildcardMatch, type CallFacts } from '../../src/domain/fault-rules.js';
import { callResourceId, injectedError } from '../../src/domain/fault-errors.js';
import { FaultInjector } from '../../src/faults/injector.js';
import { registerFaultCommands } from '../../src/cli/fault-commands.js';
import { addFaultRule, listFaultRules } from '../../src/store/fault-rules.js';
import { openStore } from '../../src/store/store.js';
import { ManualClock } from '../../src/util/clock.js';

const NOW = Date.parse('2026-06-01T00:00:00Z');
const call = (over: Partial<CallFacts> = {}): CallFacts => ({
  product: 'nlb',
  action: 'CreateListener',
  accessKeyId: 'LTAIa',
  regionId: 'cn-hangzhou',
  params: { LoadBalancerId: 'nlb-1', ListenerPort: '80' },
  write: true,
  ...over,
});

test('wildcards match action names', () => {
  assert.ok(wildcardMatch('Create*', 'CreateListener'));
  assert.ok(wildcardMatch('*Listener*', 'UpdateListenerAttribute'));
  assert.ok(wildcardMatch('*', 'Anything'));
  assert.ok(!wildcardMatch('Create*', 'DeleteListener'));
  assert.ok(!wildcardMatch('*Listener', 'ListenerX'));
  assert.ok(wildcardMatch('Get*Status', 'GetJobStatus'));
});

test('a rule matches on product, action, AccessKey, region and resource ID', () => {
  const rule = parseFaultRuleSpec(
    {
      product: 'nlb',
      action: 'Create*',
      accessKeyId: 'LTAIa',
      regionId: 'cn-hangzhou',
      resourceId: 'nlb-1',
      effect: { type: 'error', code: 'SystemBusy' },
    },
    NOW,
  );
  assert.ok(matchesCall(rule, call()));
  assert.ok(!matchesCall(rule, call({ product: 'gwlb' })));
  assert.ok(!matchesCall(rule, call({ action: 'DeleteListener' })));
  assert.ok(!matchesCall(rule, call({ accessKeyId: 'LTAIb' })));
  assert.ok(!matchesCall(rule, call({ regionId: 'cn-beijing' })));
  assert.ok(!matchesCall(rule, call({ params: { LoadBalancerId: 'nlb-2' } })));
});

test('job faults and errors after the commit only match calls that change something', () => {
  for (const effect of [{ type: 'fail-job' }, { type: 'hold-job', ms: '1s' }, { type: 'error', code: 'SystemBusy', when: 'after' }]) {
    const rule = parseFaultRuleSpec({ action: '*Listener*', effect }, NOW);
    assert.ok(matchesCall(rule, call()));
    assert.ok(!matchesCall(rule, call({ action: 'GetListenerAttribute', write: false })));
  }
});

test('bad rules are refused with the reason', () => {
  const bad: Array<[unknown, RegExp]> = [
    [{ effect: { type: 'error' } }, /needs code/],
    [{ effect: { type: 'latency' } }, /effect\.ms is required/],
    [{ effect: { type: 'latency', ms: '3 days' } }, /duration/],
    [{ product: 'slb', effect: { type: 'latency', ms: 1 } }, /product/],
    [{ probability: 0, effect: { type: 'latency', ms: 1 } }, /probability/],
    [{ count: 1.5, effect: { type: 'latency', ms: 1 } }, /count/],
    [{ until: 'tomorrow', effect: { type: 'latency', ms: 1 } }, /until/],
    [{ until: NOW, for: '1s', effect: { type: 'latency', ms: 1 } }, /either/],
    [{ until: '2020-01-01T00:00:00Z', effect: { type: 'latency', ms: 1 } }, /future/],
    [{ colour: 'red', effect: { type: 'latency', ms: 1 } }, /unknown field/],
    [{ effect: { type: 'error', code: 'SystemBusy', httpStatus: 200 } }, /httpStatus/],
    [{ effect: { type: 'error', code: 'SystemBusy', when: 'after' } }, /product or action/],
    [[], /JSON object/],
  ];
  for (const [input, reason] of bad)
    assert.throws(
      () => parseFaultRuleSpec(input, NOW),
      (e: unknown) => e instanceof FaultRuleError && reason.test(e.message),
      JSON.stringify(input),
    );
  assert.equal(parseFaultRuleSpec({ for: '30s', effect: { type: 'latency', ms: 1 } }, NOW).until, NOW + 30_000);
});

test('injected errors answer with the documented status and message; the rule may override them', () => {
  assert.deepEqual(injectedError({ code: 'SystemBusy' }, 'nlb-1'), {
    code: 'SystemBusy',
    httpStatus: 400,
    message: 'System is busy, please try again later.',
  });
  assert.equal(injectedError({ code: 'Conflict.Lock' }, 'lsn-9').message, 'The Lock [lsn-9] is conflict.');
  assert.equal(injectedError({ code: 'OperationFailed.OrderTimeout' }, undefined).message, 'The operation failed because of OrderTimeout.');
  assert.equal(
    injectedError({ code: 'IncorrectBusinessStatus.LoadBalancer' }, 'nlb-1').message,
    'The business status of LoadBalancer [nlb-1] is incorrect.',
  );
  assert.equal(injectedError({ code: 'ServiceUnavailable' }, undefined).httpStatus, 503);
  assert.deepEqual(injectedError({ code: 'SystemBusy', httpStatus: 503, message: 'busy' }, undefined), {
    code: 'SystemBusy',
    httpStatus: 503,
    message: 'busy',
  });
  assert.equal(callResourceId({ RegionId: 'cn-hangzhou', ListenerId: 'lsn-1' }), 'lsn-1');
  assert.equal(callResourceId({ 'ResourceId.1': 'nlb-7' }), 'nlb-7');
});

test('probability draws from the injected random source; a count caps the firings', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), `openslb-faults-${process.pid}-`));
  const store = await openStore({ dataDir: dir });
  t.after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const clock = new ManualClock(NOW);
  const draws = [0.1, 0.9, 0.49, 0.5, 0.2, 0.0];
  const injector = new FaultInjector({ store, clock, random: () => draws.shift()! });
  await addFaultRule(
    store,
    parseFaultRuleSpec({ action: 'CreateListener', probability: 0.5, count: 3, effect: { type: 'error', code: 'SystemBusy' } }, NOW),
    NOW,
  );

  const fired = [];
  for (let i = 0; i < 6; i++) fired.push((await injector.plan(call(), `r${i}`))?.before?.code ?? 'none');
  // 0.1 fires, 0.9 not, 0.49 fires, 0.5 not, 0.2 fires (the third and last), then used up.
  assert.deepEqual(fired, ['SystemBusy', 'none', 'SystemBusy', 'none', 'SystemBusy', 'none']);
  const [rule] = await listFaultRules(store.db);
  assert.equal(rule.fired, 3);
  assert.equal(rule.remaining, 0);
});

test('an expired rule no longer fires; an error before the call does not use up rules that need the call', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), `openslb-faults-${process.pid}-`));
  const store = await openStore({ dataDir: dir });
  t.after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const clock = new ManualClock(NOW);
  const injector = new FaultInjector({ store, clock });
  await addFaultRule(store, parseFaultRuleSpec({ action: 'CreateListener', count: 1, effect: { type: 'fail-job' } }, NOW), NOW);
  await addFaultRule(
    store,
    parseFaultRuleSpec({ action: 'CreateListener', for: '1m', effect: { type: 'error', code: 'Throttling.User' } }, NOW),
    NOW,
  );

  const first = await injector.plan(call(), 'r1');
  assert.equal(first?.before?.code, 'Throttling.User');
  assert.equal(first?.job.fail, undefined);
  clock.advance(60_000);
  const second = await injector.plan(call(), 'r2');
  assert.equal(second?.before, undefined);
  assert.equal(second?.job.fail?.code, 'OperationFailed.FaultInjected');
});

test('openslb faults builds rules from flags and refuses two effects in one rule', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), `openslb-faults-cli-${process.pid}-`));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const run = async (...args: string[]) => {
    const out = { stdout: '', stderr: '', code: 0 };
    const program = new Command().exitOverride();
    registerFaultCommands(program, async () => ({ store: await openStore({ dataDir: dir }), nodeTimeoutMs: 10_000 }), {
      stdout: (s) => (out.stdout += s),
      stderr: (s) => (out.stderr += s),
      fail: () => (out.code = 1),
    });
    await program.parseAsync(args, { from: 'user' });
    return out;
  };
  const added = await run(
    'faults',
    'add',
    '--product',
    'nlb',
    '--action',
    'Create*',
    '--error',
    'SystemBusy',
    '--after-commit',
    '--count',
    '2',
    '--for',
    '10m',
  );
  assert.equal(added.code, 0, added.stderr);
  const rule = JSON.parse(added.stdout).rule;
  assert.deepEqual(
    { product: rule.product, action: rule.action, effect: rule.effect, count: rule.count, remaining: rule.remaining },
    { product: 'nlb', action: 'Create*', effect: { type: 'error', code: 'SystemBusy', when: 'after' }, count: 2, remaining: 2 },
  );
  assert.match(rule.until, /^\d{4}-\d\d-\d\dT/);
  const both = await run('faults', 'add', '--error', 'SystemBusy', '--latency', '1s');
  assert.equal(both.code, 1);
  assert.equal(JSON.parse(both.stderr).Code, 'InvalidFaultRule');
  const unhealthy = await run('faults', 'add', '--resource-id', 'sgp-abc', '--unhealthy', '127.0.3.9:80');
  assert.deepEqual(JSON.parse(unhealthy.stdout).rule.effect, { type: 'unhealthy', server: '127.0.3.9:80' });
  const drop = await run('faults', 'add', '--resource-id', 'lsn-abc@80', '--drop-connections', '0.5', '--for', '1m');
  assert.deepEqual(JSON.parse(drop.stdout).rule.effect, { type: 'drop-connections', share: 0.5 });
  assert.equal(
    JSON.parse((await run('faults', 'add', '--resource-id', 'nlb-abc', '--drop-connections', '0.5')).stderr).Code,
    'InvalidFaultRule',
  );
  assert.equal(JSON.parse((await run('faults', 'list')).stdout).rules.length, 3);
  assert.equal((await run('faults', 'remove', rule.id)).code, 0);
  assert.equal(JSON.parse((await run('faults', 'remove', rule.id)).stderr).Code, 'FaultRuleNotFound');
  assert.equal(JSON.parse((await run('faults', 'clear')).stdout).removed, 2);
});
