/**
 * The console's chart data: the data-plane counters of /metrics (the very text Prometheus
 * scrapes), sampled every few seconds into a fixed ring — by default one hour at 5 s.
 *
 * Memory stays small with thousands of idle listeners: a series gets its ring only once it
 * has shown a non-zero value (before that it reads as zero), and at most maxSeries get one.
 */

export interface RingOptions {
  /** Samples kept per series (default 720: an hour at 5 s). */
  capacity?: number;
  /** Series with a ring at most; further ones are counted in `droppedSeries`. */
  maxSeries?: number;
  /** Metric name prefixes worth keeping. */
  prefixes?: string[];
  /**
   * Metrics whose zero means something (health: 0 is "down", not "idle"): their series get a
   * ring from the first sample, and read as missing, not zero, before they existed.
   */
  meaningfulZero?: (metric: string) => boolean;
}

export interface SeriesReply {
  metric: string;
  labels: Record<string, string>;
  /** Oldest first, aligned with `timestamps`; null where the series did not exist yet. */
  values: Array<number | null>;
}

export interface RingReply {
  /** Seconds since the epoch (with milliseconds, as uPlot takes them), oldest first. */
  timestamps: number[];
  series: SeriesReply[];
}

interface Series {
  metric: string;
  labels: Record<string, string>;
  values: Float64Array;
}

const DEFAULT_PREFIXES = ['openslb_listener_', 'openslb_server_', 'openslb_gwlb_'];

export class MetricsRing {
  readonly capacity: number;
  private readonly maxSeries: number;
  private readonly prefixes: string[];
  private readonly meaningfulZero: (metric: string) => boolean;
  private readonly times: Float64Array;
  private readonly series = new Map<string, Series>();
  /** Samples written so far; the next one goes to slot `written % capacity`. */
  private written = 0;
  droppedSeries = 0;

  constructor(opts: RingOptions = {}) {
    this.capacity = opts.capacity ?? 720;
    this.maxSeries = opts.maxSeries ?? 20_000;
    this.prefixes = opts.prefixes ?? DEFAULT_PREFIXES;
    this.meaningfulZero = opts.meaningfulZero ?? ((metric) => metric.endsWith('_healthy'));
    this.times = new Float64Array(this.capacity);
  }

  /** Adds one sample taken at `nowMs` from a Prometheus text exposition. */
  record(nowMs: number, exposition: string): void {
    const slot = this.written % this.capacity;
    this.times[slot] = nowMs;
    const seen = new Set<Series>();
    for (const line of exposition.split('\n')) {
      if (line === '' || line.charCodeAt(0) === 35 /* # */) continue;
      if (!this.prefixes.some((p) => line.startsWith(p))) continue;
      const sample = parseSample(line);
      if (!sample) continue;
      let series = this.series.get(sample.key);
      if (!series) {
        const zeroMatters = this.meaningfulZero(sample.metric);
        if (sample.value === 0 && !zeroMatters) continue;
        if (this.series.size >= this.maxSeries) {
          this.droppedSeries++;
          continue;
        }
        series = { metric: sample.metric, labels: sample.labels, values: new Float64Array(this.capacity).fill(Number.NaN) };
        // Before its first non-zero sample, a series that was simply idle reads as zero.
        const known = zeroMatters ? 0 : Math.min(this.written, this.capacity);
        for (let i = 1; i <= known; i++) series.values[(slot - i + this.capacity) % this.capacity] = 0;
        this.series.set(sample.key, series);
      }
      series.values[slot] = sample.value;
      seen.add(series);
    }
    // A series that vanished from /metrics (listener deleted) has no value at this time.
    for (const series of this.series.values()) if (!seen.has(series)) series.values[slot] = Number.NaN;
    this.written++;
  }

  /** Every series whose label `label` equals `value` (e.g. listener=lsn-…), oldest sample first. */
  query(label: string, value: string, metricPrefix?: string): RingReply {
    const count = Math.min(this.written, this.capacity);
    const first = this.written - count;
    const timestamps: number[] = [];
    for (let i = 0; i < count; i++) timestamps.push(this.times[(first + i) % this.capacity] / 1000);
    const series: SeriesReply[] = [];
    for (const s of this.series.values()) {
      if (s.labels[label] !== value) continue;
      if (metricPrefix && !s.metric.startsWith(metricPrefix)) continue;
      const values: Array<number | null> = [];
      for (let i = 0; i < count; i++) {
        const v = s.values[(first + i) % this.capacity];
        values.push(Number.isNaN(v) ? null : v);
      }
      series.push({ metric: s.metric, labels: s.labels, values });
    }
    return { timestamps, series };
  }

  /**
   * From the newest sample, `keyLabel` → `valueLabel` of every series of `metric` whose value is
   * non-zero: e.g. openslb_listener_engine{listener,engine} 1 gives listener → engine.
   */
  latestLabels(metric: string, keyLabel: string, valueLabel: string): Record<string, string> {
    const out: Record<string, string> = {};
    if (this.written === 0) return out;
    const slot = (this.written - 1) % this.capacity;
    for (const s of this.series.values()) {
      if (s.metric !== metric) continue;
      const v = s.values[slot];
      if (!Number.isNaN(v) && v !== 0 && s.labels[keyLabel] !== undefined) out[s.labels[keyLabel]] = s.labels[valueLabel] ?? '';
    }
    return out;
  }

  get seriesCount(): number {
    return this.series.size;
  }
}

interface Sample {
  key: string;
  metric: string;
  labels: Record<string, string>;
  value: number;
}

/** One `name{a="x",b="y"} value` line; undefined for anything else. */
export function parseSample(line: string): Sample | undefined {
  const brace = line.indexOf('{');
  const space = line.lastIndexOf(' ');
  if (space <= 0) return undefined;
  const value = Number(line.slice(space + 1));
  if (!Number.isFinite(value)) return undefined;
  if (brace === -1 || brace > space) {
    const metric = line.slice(0, space);
    return { key: metric, metric, labels: {}, value };
  }
  const close = line.lastIndexOf('}', space);
  if (close < brace) return undefined;
  const metric = line.slice(0, brace);
  const labels: Record<string, string> = {};
  const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
  const body = line.slice(brace + 1, close);
  for (let m = re.exec(body); m; m = re.exec(body)) labels[m[1]] = m[2].replace(/\\(.)/g, (_all, c: string) => (c === 'n' ? '\n' : c));
  return { key: line.slice(0, close + 1), metric, labels, value };
}
