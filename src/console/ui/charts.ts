/**
 * Live charts: the server's in-memory ring (same counters as /metrics) drawn with uPlot and
 * re-polled at the ring's pace. Counters (`*_total`) are drawn as per-second rates.
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { metrics, type RingSeries } from './api.js';
import { h } from './dom.js';

export interface ChartLine {
  label: string;
  /** Picks the ring series this line is drawn from. */
  match: (s: RingSeries) => boolean;
  /** Draw per-second differences of a counter. */
  rate?: boolean;
}

export interface ChartSpec {
  title: string;
  unit?: string;
  lines: ChartLine[] | ((series: RingSeries[]) => ChartLine[]);
}

const COLOURS = ['#2563eb', '#16a34a', '#dc2626', '#d97706', '#7c3aed', '#0891b2', '#db2777', '#4b5563'];

/** Values for one line: the sum of the matching series, as a rate when asked. */
export function lineValues(times: number[], series: RingSeries[], line: ChartLine): Array<number | null> {
  const picked = series.filter(line.match);
  const sums: Array<number | null> = times.map((_t, i) => {
    let any = false;
    let sum = 0;
    for (const s of picked) {
      const v = s.values[i];
      if (v !== null && v !== undefined) {
        any = true;
        sum += v;
      }
    }
    return any ? sum : picked.length === 0 ? 0 : null;
  });
  if (!line.rate) return sums;
  return sums.map((v, i) => {
    const prev = i > 0 ? sums[i - 1] : null;
    if (v === null || prev === null || i === 0) return null;
    const dt = times[i] - times[i - 1];
    // A counter that went down was reset (a restarted worker): no rate for that step.
    return dt > 0 && v >= prev ? (v - prev) / dt : null;
  });
}

/**
 * A block of charts for one label (listener=…, server_group=…) that polls until `signal` aborts.
 * Returns the element at once; charts appear with the first data.
 */
export function liveCharts(label: string, value: string, specs: ChartSpec[], everyMs: number, signal: AbortSignal): HTMLElement {
  const root = h('div', { class: 'charts', 'data-testid': `charts-${label}` });
  const plots = new Map<string, { plot: uPlot; key: string; box: HTMLElement }>();

  const draw = async () => {
    let data;
    try {
      data = await metrics(label, value);
    } catch {
      return;
    }
    if (signal.aborted) return;
    for (const spec of specs) {
      const lines = typeof spec.lines === 'function' ? spec.lines(data.series) : spec.lines;
      const aligned: uPlot.AlignedData = [data.timestamps, ...lines.map((l) => lineValues(data.timestamps, data.series, l))];
      const key = lines.map((l) => l.label).join('|');
      let entry = plots.get(spec.title);
      // New lines (a backend added, a drop reason seen): draw the chart afresh in its own box.
      if (entry && entry.key !== key) entry.plot.destroy();
      if (!entry || entry.key !== key) {
        const box = entry?.box ?? root.appendChild(h('figure', { class: 'chart', 'data-chart': spec.title }));
        box.textContent = '';
        const plot = new uPlot(
          {
            title: spec.title,
            width: 440,
            height: 180,
            series: [{}, ...lines.map((l, i) => ({ label: l.label, stroke: COLOURS[i % COLOURS.length], width: 2, spanGaps: false }))],
            axes: [{}, { label: spec.unit, size: 60 }],
            scales: { y: { range: (_u, min, max) => [Math.min(0, min ?? 0), Math.max(1, (max ?? 1) * 1.1)] } },
            legend: { live: false },
          },
          aligned,
          box,
        );
        entry = { plot, key, box };
        plots.set(spec.title, entry);
      } else {
        entry.plot.setData(aligned);
      }
      // The latest value of each line, for people and for tests that read the page.
      const last = aligned.slice(1).map((col) => {
        const vals = col as Array<number | null>;
        for (let i = vals.length - 1; i >= 0; i--) if (vals[i] !== null) return vals[i] as number;
        return 0;
      });
      entry.box.setAttribute('data-latest', last.map((v) => String(Math.round(v * 100) / 100)).join(','));
    }
  };

  const loop = async () => {
    while (!signal.aborted) {
      await draw();
      await new Promise((r) => setTimeout(r, everyMs));
    }
    for (const { plot } of plots.values()) plot.destroy();
  };
  void loop();
  return root;
}
