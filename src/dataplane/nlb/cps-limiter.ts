/** New connections per second for one VIP: a fixed one-second window on the injected clock. */
export class CpsLimiter {
  private windowStart = 0;
  private count = 0;

  constructor(private limit: number) {}

  setLimit(limit: number): void {
    this.limit = limit;
  }

  /** True when a new connection may be accepted now; 0 means unlimited. */
  admit(nowMs: number): boolean {
    if (this.limit <= 0) return true;
    if (nowMs - this.windowStart >= 1000) {
      this.windowStart = nowMs - (nowMs % 1000);
      this.count = 0;
    }
    if (this.count >= this.limit) return false;
    this.count++;
    return true;
  }
}
