/**
 * The GWLB options of a decoded GENEVE header (`dataplane/gwlb/geneve.ts` reads them) in words
 * for the sample tools: where the flow came from, which listener, which flow and direction.
 */
import type { GeneveHeader } from '../dataplane/gwlb/geneve.js';

const hex32 = (n: number) => (n >>> 0).toString(16).padStart(8, '0');

export function describeGwlbOptions(h: GeneveHeader): string {
  const parts: string[] = [];
  if (h.hasEndpointId) {
    const ip = h.endpointIdLow >>> 0;
    const port = h.endpointIdHigh & 0xffff;
    parts.push(`endpoint ${ip >>> 24}.${(ip >>> 16) & 0xff}.${(ip >>> 8) & 0xff}.${ip & 0xff}:${port}`);
  }
  if (h.hasAttachmentId) parts.push(`attachment 0x${hex32(h.attachmentIdHigh)}${hex32(h.attachmentIdLow)}`);
  if (h.flowCookie >= 0) {
    // Bit 31 is the direction; the rest is the flow's id on the node that sent it.
    parts.push(`flow ${h.flowCookie & 0x7fffffff} ${h.flowCookie >>> 31 === 1 ? 'reverse' : 'forward'}`);
  }
  return parts.length > 0 ? parts.join(', ') : 'no GWLB options';
}
