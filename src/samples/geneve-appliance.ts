/**
 * A sample GWLB appliance, for trying a GWLB by hand (`openslb geneve appliance`): takes GENEVE
 * on UDP 6081 of its address, logs one line per packet (the inner packet and the GWLB options
 * the balancer added) and returns the datagram unchanged to where it came from — the one-arm
 * hairpin a GWLB appliance performs, options included, so the balancer finds the flow by its
 * cookie. A TCP port answers the group's health checks (accept, then close).
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { GENEVE_ERROR_NAMES, GENEVE_OK, GENEVE_UDP_PORT, GeneveHeader, decodeGeneve } from '../dataplane/gwlb/geneve.js';
import { describeGwlbOptions } from './gwlb-options.js';
import { describeIpPacket } from './ip-packet.js';

export interface SampleApplianceOptions {
  address: string;
  /** GENEVE port (6081, the only one GWLB sends to; another only for tests of this tool). */
  port?: number;
  /** TCP port for health checks; undefined: none. */
  healthPort?: number;
  /** The balancer's GWLB option class (its `dataplane.gwlbOptionClass`). */
  optionClass: number;
  /** One line per event, without the newline. */
  log: (line: string) => void;
}

export interface SampleAppliance {
  /** The GENEVE port bound. */
  port: number;
  /** GENEVE datagrams received and returned. */
  returned: () => number;
  close: () => Promise<void>;
}

export async function startSampleAppliance(opts: SampleApplianceOptions): Promise<SampleAppliance> {
  const socket = dgram.createSocket('udp4');
  const h = new GeneveHeader();
  let returned = 0;
  socket.on('message', (datagram, from) => {
    const code = decodeGeneve(datagram, 0, datagram.length, opts.optionClass, h);
    const sender = `${from.address}:${from.port}`;
    if (code !== GENEVE_OK) {
      opts.log(`dropped a datagram from ${sender}: ${GENEVE_ERROR_NAMES[code]}`);
      return;
    }
    const inner = describeIpPacket(datagram.subarray(h.payloadOffset), h.protocolType);
    // Logged before it is sent: whoever reads the log after the packet came back finds the line.
    opts.log(`vni ${h.vni} ${inner} from ${sender} (${describeGwlbOptions(h)}): returned`);
    returned++;
    socket.send(datagram, from.port, from.address, (err) => {
      if (err) opts.log(`could not return the packet to ${sender}: ${err.message}`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind({ address: opts.address, port: opts.port ?? GENEVE_UDP_PORT, exclusive: true }, () => {
      socket.removeListener('error', reject);
      resolve();
    });
  });
  socket.on('error', (err) => opts.log(`socket error: ${err.message}`));

  let health: net.Server | undefined;
  if (opts.healthPort !== undefined) {
    const server = net.createServer((c) => {
      c.on('error', () => undefined);
      c.end();
    });
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(opts.healthPort, opts.address, () => resolve());
      });
    } catch (err) {
      socket.close();
      throw err;
    }
    health = server;
  }
  const geneve = socket.address();
  opts.log(
    `GENEVE on ${geneve.address}:${geneve.port}` +
      (health ? `, health checks on TCP ${opts.address}:${(health.address() as net.AddressInfo).port}` : ', no health-check port'),
  );
  return {
    port: geneve.port,
    returned: () => returned,
    close: async () => {
      await Promise.all([
        new Promise<void>((r) => socket.close(() => r())),
        health ? new Promise<void>((r) => health.close(() => r())) : undefined,
      ]);
    },
  };
}
