/**
 * Reads a V8 `.cpuprofile` (from `node --cpu-prof`) and sums sampled time per function: self
 * time (the function itself was on top of the stack) and total time (it was anywhere on the
 * stack, counted once per sample even under recursion).
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface FunctionCost {
  name: string;
  /** File name (without directories) and 1-based line. */
  where: string;
  selfMs: number;
  totalMs: number;
}

export interface ProfileSummary {
  wallMs: number;
  /** Sampled time not idle. */
  busyMs: number;
  functions: FunctionCost[];
  byFile: Array<{ file: string; selfMs: number }>;
}

export function summarizeProfile(path: string): ProfileSummary {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

  const keyOf = (n: ProfileNode) =>
    `${n.callFrame.functionName || '(anonymous)'}\u0000${fileOf(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  const fileSelf = new Map<string, number>();
  let busy = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    const leaf = byId.get(profile.samples[i]);
    if (!leaf) continue;
    if (leaf.callFrame.functionName !== '(idle)') busy += ms;
    const leafKey = keyOf(leaf);
    self.set(leafKey, (self.get(leafKey) ?? 0) + ms);
    const file = fileOf(leaf.callFrame.url) || leaf.callFrame.functionName;
    fileSelf.set(file, (fileSelf.get(file) ?? 0) + ms);
    const seen = new Set<string>();
    for (let id: number | undefined = leaf.id; id !== undefined; id = parent.get(id)) {
      const key = keyOf(byId.get(id)!);
      if (seen.has(key)) continue;
      seen.add(key);
      total.set(key, (total.get(key) ?? 0) + ms);
    }
  }
  const functions = [...total.entries()].map(([key, totalMs]) => {
    const [name, where] = key.split('\u0000');
    return { name, where, selfMs: self.get(key) ?? 0, totalMs };
  });
  return {
    wallMs: (profile.endTime - profile.startTime) / 1000,
    busyMs: busy,
    functions,
    byFile: [...fileSelf.entries()].map(([file, selfMs]) => ({ file, selfMs })).sort((a, b) => b.selfMs - a.selfMs),
  };
}

function fileOf(url: string): string {
  if (!url) return '';
  const i = url.lastIndexOf('/');
  return i === -1 ? url : url.slice(i + 1);
}
