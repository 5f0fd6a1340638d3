/**
 * A sample GWLB endpoint, for trying a GWLB by hand (`openslb geneve send`): wraps an inner
 * packet in GENEVE, sends it to a GWLB VIP on UDP 6081 and waits for it to come back through an
 * appliance. UDP may lose a datagram, so it sends again every `resendMs` until an answer or
 * the deadline.
 */
import dgram from 'node:dgram';
import { ETHERTYPE_IPV4, GENEVE_OK, GENEVE_UDP_PORT, GeneveHeader, decodeGeneve, encodeGeneve } from '../dataplane/gwlb/geneve.js';
import { describeGwlbOptions } from './gwlb-options.js';
import { describeIpPacket } from './ip-packet.js';

export interface SendOptions {
  /** The GWLB VIP. */
  to: string;
  port?: number;
  inner: Buffer;
  vni: number;
  optionClass: number;
  /** Local address to send from (default: any). */
  from?: string;
  timeoutMs: number;
  resendMs: number;
}

export interface Returned {
  /** Sends it took. */
  attempts: number;
  /** The inner packet as it came back, described. */
  inner: string;
  /** Whether the inner packet came back byte for byte as sent. */
  unchanged: boolean;
  vni: number;
  /** The GWLB options it came back with (the appliance returns those it was given). */
  options: string;
}

/** Sends until the packet comes back (resolves with it) or the deadline passes (undefined). */
export async function sendThroughGwlb(opts: SendOptions): Promise<Returned | undefined> {
  const port = opts.port ?? GENEVE_UDP_PORT;
  const datagram = encodeGeneve({ vni: opts.vni, protocolType: ETHERTYPE_IPV4, payload: opts.inner });
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, opts.from, () => {
      socket.removeListener('error', reject);
      resolve();
    });
  });
  let attempts = 0;
  let resend: NodeJS.Timeout | undefined;
  let deadline: NodeJS.Timeout | undefined;
  try {
    return await new Promise<Returned | undefined>((resolve, reject) => {
      const h = new GeneveHeader();
      socket.on('message', (msg, rinfo) => {
        // Only the VIP returns packets; anything else on this port is not an answer.
        if (rinfo.address !== opts.to || rinfo.port !== port) return;
        if (decodeGeneve(msg, 0, msg.length, opts.optionClass, h) !== GENEVE_OK) return;
        const inner = msg.subarray(h.payloadOffset);
        resolve({
          attempts,
          inner: describeIpPacket(inner, h.protocolType),
          unchanged: Buffer.compare(inner, opts.inner) === 0,
          vni: h.vni,
          options: describeGwlbOptions(h),
        });
      });
      socket.on('error', reject);
      const send = () => {
        attempts++;
        socket.send(datagram, port, opts.to, (err) => {
          if (err) reject(err);
        });
      };
      send();
      resend = setInterval(send, opts.resendMs);
      deadline = setTimeout(() => resolve(undefined), opts.timeoutMs);
    });
  } finally {
    clearInterval(resend);
    clearTimeout(deadline);
    await new Promise<void>((r) => socket.close(() => r()));
  }
}
