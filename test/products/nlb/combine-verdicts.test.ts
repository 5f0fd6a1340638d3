/** How the nodes' health verdicts on one backend become the one the API reports. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { combineVerdicts } from '../../../src/products/common/health-observations.js';

const v = (nodeId: string, state: string, reason: string | null = null) => ({ nodeId, state, reason });

test('a minority of machines seeing a backend unhealthy does not make it Unhealthy', () => {
  assert.equal(
    combineVerdicts([v('a', 'healthy'), v('b', 'unhealthy', 'CONNECT_TIMEOUT')]).state,
    'healthy',
    'one of two is not a majority',
  );
  assert.deepEqual(
    combineVerdicts([v('a', 'unhealthy', 'CONNECT_TIMEOUT'), v('b', 'unhealthy', 'CONNECT_FAILED'), v('c', 'unhealthy', 'CONNECT_FAILED')]),
    {
      state: 'unhealthy',
      reason: 'CONNECT_FAILED',
    },
  );
  assert.deepEqual(combineVerdicts([v('a', 'unhealthy', 'HTTP_CODE_NOT_MATCH')]), { state: 'unhealthy', reason: 'HTTP_CODE_NOT_MATCH' });
});

test("a machine's workers are one machine, and its newest row is its view", () => {
  const rows = [v('m-w1', 'healthy'), v('m-w2', 'unhealthy', 'CONNECT_TIMEOUT'), v('n', 'healthy')];
  // Machine m's newest row says unhealthy; n says healthy: one of two.
  assert.equal(combineVerdicts(rows).state, 'healthy');
  assert.equal(
    combineVerdicts([v('m-w1', 'unhealthy', 'X'), v('m-w2', 'unhealthy', 'X'), v('n', 'healthy'), v('o', 'healthy')]).state,
    'healthy',
  );
});

test('without any verdict the newest row stands (the API shows Initial)', () => {
  assert.equal(combineVerdicts([v('a', 'checking'), v('b', 'pending')]).state, 'pending');
  assert.equal(combineVerdicts([v('a', 'checking'), v('b', 'unhealthy', 'X')]).state, 'unhealthy');
});
