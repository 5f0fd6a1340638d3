/**
 * Stable small integers for names: the BPF maps are arrays indexed by listener, group and
 * appliance slot, so each keeps its slot while it exists and a freed slot is reused only by a
 * later newcomer. Pure.
 */
export class SlotPool {
  private readonly byName = new Map<string, number>();
  private readonly free: number[] = [];
  private next = 0;

  constructor(readonly capacity: number) {}

  get(name: string): number | undefined {
    return this.byName.get(name);
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  /** The slot of `name`, taking a free one (fresh: true) when it has none; throws `full` when none is left. */
  obtain(name: string, full: string): { slot: number; fresh: boolean } {
    const slot = this.byName.get(name);
    if (slot !== undefined) return { slot, fresh: false };
    let s = this.free.pop();
    if (s === undefined) {
      if (this.next >= this.capacity) throw new Error(full);
      s = this.next++;
    }
    this.byName.set(name, s);
    return { slot: s, fresh: true };
  }

  /** Frees the slots of every name not in `keep`. */
  retain(keep: ReadonlySet<string>): void {
    for (const [name, slot] of this.byName) {
      if (keep.has(name)) continue;
      this.byName.delete(name);
      // Lowest slots first on reuse keeps the maps' used range compact.
      this.free.push(slot);
      this.free.sort((a, b) => b - a);
    }
  }

  get size(): number {
    return this.byName.size;
  }
}
