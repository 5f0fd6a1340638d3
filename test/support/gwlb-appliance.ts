/**
 * A GWLB appliance as its own process, for end-to-end tests that kill one (SIGKILL) the way an
 * appliance VM dies: GENEVE on `<host>`:6081, returning every packet to the GWLB it came from
 * (one-arm hairpin), plus a TCP health port. Reuses the loopback appliance of the GWLB test
 * harness.
 *
 *   node --import tsx test/support/gwlb-appliance.ts <host> <healthPort> [optionClass]
 *
 * Talks over its standard streams, one line each way:
 *   stdout `ready`                       once both sockets are bound
 *   stdin  `stats` → stdout `{"packets":n,"flows":{"<flow name>":count,…}}`
 * It exits when its stdin closes, so it never outlives the test that started it.
 */
import { createInterface } from 'node:readline';
import { startAppliance } from '../dataplane/gwlb/harness.js';

const [host, healthPort, optionClass] = process.argv.slice(2);
if (!host || !healthPort) {
  process.stderr.write('usage: gwlb-appliance <host> <healthPort> [optionClass]\n');
  process.exit(2);
}

const appliance = await startAppliance(host, {
  healthPort: Number(healthPort),
  optionClass: optionClass === undefined ? undefined : Number(optionClass),
});

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  if (line.trim() !== 'stats') return;
  const flows = Object.fromEntries(appliance.flows);
  process.stdout.write(`${JSON.stringify({ packets: appliance.received.length, flows })}\n`);
});
lines.on('close', () => {
  void appliance.kill().then(() => process.exit(0));
});
process.stdout.write('ready\n');
