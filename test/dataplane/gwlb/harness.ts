/**
 * Loopback stand-ins for the two other parties of a GWLB: appliances that count what they
 * receive and return it unchanged (the AWS-style one-arm hairpin), and a GWLB endpoint that
 * encapsulates inner packets in GENEVE, sends them to the VIP and collects what comes back.
 * Everything binds to 127.x.y.z addresses only.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import {
  DEFAULT_GWLB_OPTION_CLASS,
  ETHERTYPE_IPV4,
  ETHERTYPE_IPV6,
  GENEVE_OK,
  GENEVE_UDP_PORT,
  GeneveHeader,
  decodeGeneve,
  encodeGeneve,
  readGeneveOptions,
  type GeneveOption,
} from '../../../src/dataplane/gwlb/geneve.js';
import { describeInner, flowName, ipPacket, type PacketSpec } from './packets.js';

export interface ReceivedAtAppliance {
  flow: string;
  inner: Buffer;
  vni: number;
  options: GeneveOption[];
  cookie: number;
  from: { address: string; port: number };
}

export interface ApplianceSim {
  host: string;
  /** Datagrams received, decoded. */
  received: ReceivedAtAppliance[];
  /** Flow name → packets seen (both directions). */
  flows: Map<string, number>;
  /** When set, returns a rewritten datagram instead of the one received (or null: drop). */
  transform?: (datagram: Buffer) => Buffer | null;
  /** Stops answering GENEVE and health checks (a crashed appliance). */
  kill(): Promise<void>;
}

/** An appliance on `host`: GENEVE on UDP 6081 and, when `healthPort` is given, a TCP health port. */
export async function startAppliance(host: string, opts: { healthPort?: number; optionClass?: number } = {}): Promise<ApplianceSim> {
  const optionClass = opts.optionClass ?? DEFAULT_GWLB_OPTION_CLASS;
  const socket = dgram.createSocket('udp4');
  const sim: ApplianceSim = {
    host,
    received: [],
    flows: new Map(),
    kill: async () => undefined,
  };
  const h = new GeneveHeader();
  socket.on('message', (msg, rinfo) => {
    if (decodeGeneve(msg, 0, msg.length, optionClass, h) !== GENEVE_OK) return;
    const inner = Buffer.from(msg.subarray(h.payloadOffset));
    const d = describeInner(inner);
    const flow = flowName(d);
    sim.flows.set(flow, (sim.flows.get(flow) ?? 0) + 1);
    sim.received.push({
      flow,
      inner,
      vni: h.vni,
      options: readGeneveOptions(msg, h),
      cookie: h.flowCookie,
      from: { address: rinfo.address, port: rinfo.port },
    });
    const reply = sim.transform ? sim.transform(msg) : msg;
    if (reply) socket.send(reply, rinfo.port, rinfo.address);
  });
  socket.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind({ address: host, port: GENEVE_UDP_PORT, exclusive: true }, () => {
      socket.removeListener('error', reject);
      resolve();
    });
  });
  let health: net.Server | undefined;
  const conns = new Set<net.Socket>();
  if (opts.healthPort !== undefined) {
    health = net.createServer((c) => {
      conns.add(c);
      c.on('close', () => conns.delete(c));
      c.on('error', () => undefined);
      c.end();
    });
    await new Promise<void>((resolve) => health!.listen(opts.healthPort, host, resolve));
  }
  let dead = false;
  sim.kill = async () => {
    if (dead) return;
    dead = true;
    for (const c of conns) c.destroy();
    await Promise.all([
      new Promise<void>((r) => socket.close(() => r())),
      health ? new Promise<void>((r) => health!.close(() => r())) : Promise.resolve(),
    ]);
  };
  return sim;
}

export interface ReturnedPacket {
  inner: Buffer;
  vni: number;
  options: GeneveOption[];
}

export interface EndpointSim {
  host: string;
  port: number;
  returned: ReturnedPacket[];
  /** Encapsulates `spec` (or raw inner bytes) and sends it to `vip`:6081. */
  send(vip: string, packet: PacketSpec | Buffer, extra?: { vni?: number; options?: GeneveOption[] }): Promise<void>;
  /** Sends a datagram as is. */
  sendRaw(vip: string, datagram: Buffer): Promise<void>;
  /** Waits (bounded by polls, not by a timing assertion) until `n` packets have come back. */
  waitForReturned(n: number, polls?: number): Promise<boolean>;
  close(): Promise<void>;
}

export async function startEndpoint(host: string, opts: { optionClass?: number } = {}): Promise<EndpointSim> {
  const optionClass = opts.optionClass ?? DEFAULT_GWLB_OPTION_CLASS;
  const socket = dgram.createSocket('udp4');
  const h = new GeneveHeader();
  const sim: EndpointSim = {
    host,
    port: 0,
    returned: [],
    send: (vip, packet, extra = {}) => {
      const payload = Buffer.isBuffer(packet) ? packet : ipPacket(packet);
      const protocolType = payload[0] >>> 4 === 6 ? ETHERTYPE_IPV6 : ETHERTYPE_IPV4;
      return sim.sendRaw(vip, encodeGeneve({ vni: extra.vni ?? 0x000abc, protocolType, options: extra.options, payload }));
    },
    sendRaw: (vip, datagram) =>
      new Promise<void>((resolve, reject) => socket.send(datagram, GENEVE_UDP_PORT, vip, (err) => (err ? reject(err) : resolve()))),
    waitForReturned: async (n, polls = 500) => {
      for (let i = 0; i < polls && sim.returned.length < n; i++) await new Promise((r) => setTimeout(r, 10));
      return sim.returned.length >= n;
    },
    close: () => new Promise<void>((r) => socket.close(() => r())),
  };
  socket.on('message', (msg) => {
    if (decodeGeneve(msg, 0, msg.length, optionClass, h) !== GENEVE_OK) return;
    sim.returned.push({ inner: Buffer.from(msg.subarray(h.payloadOffset)), vni: h.vni, options: readGeneveOptions(msg, h) });
  });
  await new Promise<void>((resolve) => socket.bind(0, host, resolve));
  sim.port = socket.address().port;
  return sim;
}

/** Polls `check` (bounded) until it holds. */
export async function eventually(check: () => boolean | Promise<boolean>, polls = 1000, everyMs = 10): Promise<boolean> {
  for (let i = 0; i < polls; i++) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return false;
}
