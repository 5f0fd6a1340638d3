import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GWLB_SCHEDULERS, NLB_SCHEDULERS, gwlbScheduler, kernelScheduler, normalizeSchedulerName } from '../../src/domain/schedulers.js';

test('scheduler names are case-insensitive and unknown names are not schedulers', () => {
  assert.equal(normalizeSchedulerName('wrr'), 'Wrr');
  assert.equal(normalizeSchedulerName('RR'), 'Rr');
  assert.equal(normalizeSchedulerName('qch'), 'Qch');
  assert.equal(normalizeSchedulerName('5tch'), '5TCH');
  assert.equal(normalizeSchedulerName('lc'), undefined);
});

test('every scheduler the NLB and GWLB APIs accept is one the data plane runs', () => {
  for (const name of [...NLB_SCHEDULERS, ...GWLB_SCHEDULERS]) assert.ok(normalizeSchedulerName(name), name);
});

test('the kernel engine takes the schedulers nftables can express, in any casing, and leaves Qch and GWLB to user space', () => {
  assert.equal(kernelScheduler('wrr'), 'Wrr');
  assert.equal(kernelScheduler('SCH'), 'Sch');
  assert.equal(kernelScheduler('tch'), 'Tch');
  assert.equal(kernelScheduler('qch'), undefined);
  assert.equal(kernelScheduler('5TCH'), undefined);
  assert.equal(kernelScheduler('Random'), undefined);
});

test('a GWLB group runs its stored scheduler in any casing, 5TCH when it names none', () => {
  assert.equal(gwlbScheduler('3tch'), '3TCH');
  assert.equal(gwlbScheduler(undefined), '5TCH');
  assert.equal(gwlbScheduler('Wrr'), '5TCH');
});
