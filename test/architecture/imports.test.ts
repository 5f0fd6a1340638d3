/**
 * The layering rules of src/, checked from the import statements themselves:
 *
 *   - products/ (the API) and dataplane/ (forwarding) never import each other; they meet in
 *     the store and share vocabulary through domain/;
 *   - domain/ imports neither of them;
 *   - the two load balancer products (products/nlb, products/gwlb) never import each other: what
 *     both use lives in products/common/, which imports no product;
 *   - metrics/ (the process registry, API and fault metrics) does not reach into the data
 *     plane; the data plane's own metrics live in dataplane/metrics/;
 *   - no two folders import each other, directly or around a loop. A folder and its own
 *     subfolders count as one here (gateway/params may use gateway/errors.ts while the gateway
 *     uses its parameter decoder): the subfolder is a part of its parent, not a neighbour.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, posix, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src');
/** The browser bundle is its own program (built by esbuild); it imports nothing from the server side. */
const SEPARATE_PROGRAMS = ['console/ui'];

interface ImportEdge {
  /** Paths relative to src/, with forward slashes. */
  from: string;
  to: string;
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path));
    else if (name.endsWith('.ts')) out.push(path);
  }
  return out;
}

/** Every module specifier a file names in an import, export-from or dynamic import. */
export function importSpecifiers(source: string): string[] {
  const withoutComments = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const patterns = [
    /\b(?:import|export)\s+(?:type\s+)?[^'";]*?\bfrom\s*['"]([^'"]+)['"]/g,
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
    /^\s*import\s*['"]([^'"]+)['"]/gm,
  ];
  const out: string[] = [];
  for (const pattern of patterns) for (const m of withoutComments.matchAll(pattern)) out.push(m[1]);
  return out;
}

function srcEdges(): ImportEdge[] {
  const edges: ImportEdge[] = [];
  for (const file of sourceFiles(SRC)) {
    const from = relative(SRC, file).split(sep).join('/');
    for (const spec of importSpecifiers(readFileSync(file, 'utf8'))) {
      if (!spec.startsWith('.')) continue;
      const to = posix.normalize(posix.join(posix.dirname(from), spec));
      edges.push({ from, to });
    }
  }
  return edges;
}

const inside = (path: string, folder: string) => path.startsWith(`${folder}/`);
const folderOf = (path: string) => (path.includes('/') ? posix.dirname(path) : '.');

/** Import arrows that break a "never" rule, as `from -> to` lines. */
export function forbiddenImports(edges: readonly ImportEdge[]): string[] {
  const rules: Array<[string, string]> = [
    ['dataplane', 'products'],
    ['products', 'dataplane'],
    ['domain', 'products'],
    ['domain', 'dataplane'],
    ['products/gwlb', 'products/nlb'],
    ['products/nlb', 'products/gwlb'],
    ['products/common', 'products/nlb'],
    ['products/common', 'products/gwlb'],
    ['products/common', 'products/cas'],
    ['metrics', 'dataplane'],
  ];
  return edges.filter((e) => rules.some(([a, b]) => inside(e.from, a) && inside(e.to, b))).map((e) => `${e.from} -> ${e.to}`);
}

/** Loops in the folder graph (a folder's files importing another folder's), each as `a -> b -> a`. */
export function folderCycles(edges: readonly ImportEdge[]): string[] {
  const graph = new Map<string, Set<string>>();
  for (const e of edges) {
    if (SEPARATE_PROGRAMS.some((p) => e.from.startsWith(`${p}/`))) continue;
    const a = folderOf(e.from);
    const b = folderOf(e.to);
    if (a === b || inside(a, b) || inside(b, a)) continue;
    let targets = graph.get(a);
    if (!targets) graph.set(a, (targets = new Set()));
    targets.add(b);
  }
  // Tarjan's strongly connected components: any with two or more folders is a loop.
  let index = 0;
  const order = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const loops: string[] = [];
  const visit = (v: string): void => {
    order.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!order.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, order.get(w)!));
    }
    if (low.get(v) !== order.get(v)) return;
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1) loops.push(component.sort().join(' <-> '));
  };
  for (const v of graph.keys()) if (!order.has(v)) visit(v);
  return loops;
}

test('the import reader sees static, type-only, re-exported and dynamic imports', () => {
  const source = [
    "import { a } from './a.js';",
    "import type {\n  B,\n  C,\n} from '../b/c.js';",
    "export { d } from './d.js';",
    "export * from './e.js';",
    "const f = await import('./f.js');",
    "import './g.js';",
    "// import { no } from './commented.js';",
    "/* import { no } from './block.js'; */",
  ].join('\n');
  assert.deepEqual(importSpecifiers(source).sort(), ['../b/c.js', './a.js', './d.js', './e.js', './f.js', './g.js']);
});

test('the rules catch a data plane file importing the API layer, and a folder loop', () => {
  const edges = [
    { from: 'dataplane/nlb/x.ts', to: 'products/nlb/y.js' },
    { from: 'products/nlb/y.ts', to: 'products/cas/z.js' },
    { from: 'products/cas/z.ts', to: 'products/nlb/w.js' },
    { from: 'domain/k.ts', to: 'util/clock.js' },
    { from: 'gateway/params/decode.ts', to: 'gateway/errors.js' },
    { from: 'gateway/pipeline.ts', to: 'gateway/params/decode.js' },
    { from: 'products/gwlb/tags.ts', to: 'products/nlb/tags.js' },
    { from: 'products/gwlb/servers.ts', to: 'products/common/server-address.js' },
    { from: 'products/common/tagging.ts', to: 'products/cas/certificates.js' },
  ];
  assert.deepEqual(forbiddenImports(edges), [
    'dataplane/nlb/x.ts -> products/nlb/y.js',
    'products/gwlb/tags.ts -> products/nlb/tags.js',
    'products/common/tagging.ts -> products/cas/certificates.js',
  ]);
  assert.deepEqual(folderCycles(edges), ['products/cas <-> products/nlb']);
});

test('src/: products and dataplane never import each other, domain imports neither, NLB and GWLB share only common/', () => {
  const edges = srcEdges();
  assert.ok(edges.length > 100, `read only ${edges.length} imports: the reader is broken`);
  assert.deepEqual(forbiddenImports(edges), []);
});

test('src/: no folder-level import cycles', () => {
  assert.deepEqual(folderCycles(srcEdges()), []);
});
