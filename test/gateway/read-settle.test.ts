/**
 * A read first lets the job runner settle what the data plane applied; when that pass fails,
 * the read still answers from the committed rows (it never fails because of the runner's write).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { PROBE, probe } from '../support/probe-product.js';
import { startBareGateway, type BareGateway } from '../support/bare-gateway.js';
import { callApi } from '../support/server.js';

let server: BareGateway;
let settlePasses = 0;

before(async () => {
  server = await startBareGateway({
    products: [probe],
    refreshJobs: async () => {
      settlePasses++;
      throw new Error('the runner could not write');
    },
  });
});

after(() => server?.close());

test('GetJobStatus answers from the committed job row when the settle pass before it fails', async () => {
  const created = await callApi(server, PROBE, 'CreateWidget', { Name: 'w1' });
  const before = settlePasses;
  const reply = await callApi(server, PROBE, 'GetJobStatus', { JobId: created.JobId });
  assert.equal(reply.Status, 'Processing');
  assert.equal(settlePasses, before + 1, 'the read asked the runner to settle first');
});
