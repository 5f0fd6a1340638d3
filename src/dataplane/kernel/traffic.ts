/**
 * Reading the dynamic counting sets (`nft -j list set …`, see program.ts): packets and payload
 * bytes per flow mark and direction, or events per flow mark and kind (pure).
 */
import { EVENTS_SET, INSTANCE_MARK_SHIFT } from './program.js';

type Key = Array<number | string>;

interface SetListing {
  nftables: Array<{
    set?: { name: string; elem?: Array<{ elem?: { val?: { concat?: Key }; counter?: { packets: number; bytes: number } } }> };
  }>;
}

export class TrafficByMark {
  private readonly totals = new Map<string, { packets: number; bytes: number }>();
  private readonly elements: Array<{ set: string; mark: number; key: string }> = [];

  /** Adds one set's listing; `headerBytes` gives the header size per packet of an element. */
  add(listing: string, headerBytes: (key: Key) => number): void {
    for (const entry of (JSON.parse(listing) as SetListing).nftables) {
      const set = entry.set;
      if (!set) continue;
      for (const e of set.elem ?? []) {
        const key = e.elem?.val?.concat;
        const counter = e.elem?.counter;
        if (!key || !counter) continue;
        const mark = Number(key[0]) >>> 0;
        const id = `${mark}/${key[1]}`;
        const total = this.totals.get(id) ?? { packets: 0, bytes: 0 };
        total.packets += counter.packets;
        total.bytes += counter.bytes - counter.packets * headerBytes(key); // payload, as the ends see it
        this.totals.set(id, total);
        const hex = (n: number) => `0x${(n >>> 0).toString(16).padStart(8, '0')}`;
        this.elements.push({
          set: set.name,
          mark,
          key: key.map((k, i) => (i === 0 || (typeof k === 'number' && set.name === EVENTS_SET) ? hex(Number(k)) : String(k))).join(' . '),
        });
      }
    }
  }

  /** Totals of the elements whose key is (mark, `second`, …): a direction, or an event kind. */
  get(mark: number, second: string | number): { packets: number; bytes: number } {
    return this.totals.get(`${mark >>> 0}/${second}`) ?? { packets: 0, bytes: 0 };
  }

  /** Elements of `instance`'s marks whose listener tag is not in `tags`. */
  elementsNotOf(instance: number, tags: ReadonlySet<number>): Array<{ set: string; key: string }> {
    const tagMask = (1 << INSTANCE_MARK_SHIFT) - 1;
    return this.elements.filter((e) => e.mark >>> INSTANCE_MARK_SHIFT === (instance & 0xfff) && !tags.has(e.mark & tagMask));
  }
}
