/**
 * A pino destination that gathers log lines for a few milliseconds and hands them to the
 * output stream together. The gateway logs one line per API call; written one by one, each
 * line costs a write(2) through libuv's thread pool, which is a measurable part of a cheap
 * call's CPU. Batched, a busy server writes once per ~4 KiB or per 10 ms instead.
 *
 * What can be lost: lines still gathered (at most maxDelayMs' worth) when the process dies
 * without running its exit handlers (SIGKILL, the OOM killer, a native crash). A normal exit,
 * process.exit and an uncaught exception all flush synchronously first.
 */
import pino, { type DestinationStream } from 'pino';

export interface BatchedLogOptions {
  /** Write as soon as this many characters are gathered. */
  maxChars?: number;
  /** ...or this long after the first line of a batch. */
  maxDelayMs?: number;
}

type Output = ReturnType<typeof pino.destination>;

export class BatchedLogStream implements DestinationStream {
  private pending = '';
  private scheduled: NodeJS.Timeout | NodeJS.Immediate | undefined;
  private readonly maxChars: number;
  private readonly maxDelayMs: number;
  private readonly onExit = () => this.flushSync();

  constructor(
    /** Asynchronous, minLength 0: whatever it is given it writes as soon as it can. */
    private readonly out: Output,
    opts: BatchedLogOptions = {},
  ) {
    this.maxChars = opts.maxChars ?? 4096;
    this.maxDelayMs = opts.maxDelayMs ?? 10;
    process.once('exit', this.onExit);
  }

  write(line: string): boolean {
    this.pending += line;
    if (this.pending.length >= this.maxChars) this.handOver();
    else this.scheduled ??= this.schedule();
    return true;
  }

  /** pino's logger.flush(): hand over now and call back once written. */
  flush(cb?: (err?: Error) => void): void {
    this.handOver();
    this.out.flush(cb);
  }

  flushSync(): void {
    this.handOver();
    try {
      this.out.flushSync();
    } catch {
      // Closed or never opened: nothing more can be written anyway.
    }
  }

  private schedule(): NodeJS.Timeout | NodeJS.Immediate {
    const handOver = () => {
      this.scheduled = undefined;
      this.handOver();
    };
    // 0: the end of this event-loop turn, which already gathers every call finished in it.
    return this.maxDelayMs === 0 ? setImmediate(handOver).unref() : setTimeout(handOver, this.maxDelayMs).unref();
  }

  private handOver(): void {
    if (this.scheduled) {
      if (this.maxDelayMs === 0) clearImmediate(this.scheduled as NodeJS.Immediate);
      else clearTimeout(this.scheduled as NodeJS.Timeout);
    }
    this.scheduled = undefined;
    if (this.pending === '') return;
    const batch = this.pending;
    this.pending = '';
    this.out.write(batch);
  }
}

/** Standard output through a BatchedLogStream. */
export function batchedStdout(opts?: BatchedLogOptions): BatchedLogStream {
  return new BatchedLogStream(pino.destination({ dest: 1, sync: false, minLength: 0 }), opts);
}
