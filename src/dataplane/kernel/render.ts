/**
 * Two programs → the text of one `nft -f -` transaction taking the kernel from the first to the
 * second (pure). nftables applies a file atomically: packets see the old ruleset or the new one.
 *
 * Only what changed is sent: a changed chain is flushed and refilled, a changed map gets its
 * removed / changed elements deleted and its new / changed ones added, untouched objects are not
 * mentioned. That keeps one listener change cheap with thousands of listeners, and it keeps the
 * stateful objects alive: counters keep counting, and a `ct timeout` object is never deleted
 * while a listener still uses it (deleting one resets its flows to the default timeouts).
 *
 * Order inside the transaction: first drop references (flush chains, delete map elements), then
 * delete what is gone, then declare what is new, then fill it.
 */
import type { NftChain, NftMap, NftProgram } from './program.js';

/** Elements per `add element` / `delete element` statement (keeps lines a sensible length). */
const ELEMENTS_PER_STATEMENT = 256;

export interface TableRef {
  /** `openslb_…`; the family is always `ip`. */
  name: string;
}

/**
 * The whole table from nothing: replaces whatever table of that name exists (in the same
 * transaction, so forwarding never pauses) and deletes `staleTables` with it.
 */
export function renderFull(table: TableRef, comment: string, program: NftProgram, staleTables: readonly string[] = []): string {
  const out: string[] = [];
  out.push(`add table ip ${table.name}`);
  out.push(`delete table ip ${table.name}`);
  out.push(`add table ip ${table.name} { comment ${quote(comment)}; }`);
  renderDeltaInto(out, table, { objects: new Map(), maps: new Map(), chains: new Map() }, program);
  for (const stale of staleTables) out.push(`delete table ip ${stale}`);
  return out.join('\n') + '\n';
}

/** The change from `before` (what the kernel holds) to `after`; '' when there is none. */
export function renderDelta(table: TableRef, before: NftProgram, after: NftProgram): string {
  const out: string[] = [];
  renderDeltaInto(out, table, before, after);
  return out.length === 0 ? '' : out.join('\n') + '\n';
}

function renderDeltaInto(out: string[], table: TableRef, before: NftProgram, after: NftProgram): void {
  const t = `ip ${table.name}`;
  // 1. Drop references: flush chains that change or go.
  const refill: string[] = [];
  for (const [name, chain] of before.chains) {
    const next = after.chains.get(name);
    if (!next || !sameRules(chain, next)) out.push(`flush chain ${t} ${name}`);
    if (next && !sameRules(chain, next)) refill.push(name);
  }
  for (const name of after.chains.keys()) if (!before.chains.has(name)) refill.push(name);

  // 2. Maps: delete the ones that go, and the elements that go or change value.
  const additions: Array<[string, string[]]> = [];
  for (const [name, map] of before.maps) {
    const next = after.maps.get(name);
    if (!next) {
      out.push(`delete ${map.kind} ${t} ${name}`);
      continue;
    }
    const removed: string[] = [];
    for (const [key, value] of map.elements) {
      if (next.elements.get(key) !== value) removed.push(key);
    }
    pushElements(out, `delete element ${t} ${name}`, removed);
    const added: string[] = [];
    for (const [key, value] of next.elements) {
      if (map.elements.get(key) !== value) added.push(element(next, key, value));
    }
    if (added.length > 0) additions.push([name, added]);
  }

  // 3. Chains and objects that are gone (nothing refers to them any more).
  for (const name of before.chains.keys()) if (!after.chains.has(name)) out.push(`delete chain ${t} ${name}`);
  for (const [key, body] of before.objects) {
    if (after.objects.get(key) !== body) out.push(`delete ${objectRef(key, t)}`);
  }

  // 4. Declare what is new: objects, maps (empty), chains (empty).
  for (const [key, body] of after.objects) {
    if (before.objects.get(key) === body) continue;
    const { kind, name } = splitObjectKey(key);
    out.push(body === '' ? `add ${kind} ${t} ${name}` : `add ${kind} ${t} ${name} { ${body} }`);
  }
  for (const [name, map] of after.maps) {
    if (before.maps.has(name)) continue;
    out.push(`add ${map.kind} ${t} ${name} { ${map.spec.join('; ')}; }`);
    const added = [...map.elements].map(([key, value]) => element(map, key, value));
    if (added.length > 0) additions.push([name, added]);
  }
  for (const [name, chain] of after.chains) {
    if (before.chains.has(name)) continue;
    out.push(chain.hook === '' ? `add chain ${t} ${name}` : `add chain ${t} ${name} { ${chain.hook} }`);
  }

  // 5. Fill: elements (verdict maps now find their chains), then rules (they find their maps).
  for (const [name, added] of additions) pushElements(out, `add element ${t} ${name}`, added);
  for (const name of refill) for (const rule of after.chains.get(name)!.rules) out.push(`add rule ${t} ${name} ${rule}`);
}

function sameRules(a: NftChain, b: NftChain): boolean {
  if (a.hook !== b.hook || a.rules.length !== b.rules.length) return false;
  for (let i = 0; i < a.rules.length; i++) if (a.rules[i] !== b.rules[i]) return false;
  return true;
}

function element(map: NftMap, key: string, value: string): string {
  return map.kind === 'set' ? key : `${key} : ${value}`;
}

function pushElements(out: string[], statement: string, elements: string[]): void {
  for (let i = 0; i < elements.length; i += ELEMENTS_PER_STATEMENT) {
    out.push(`${statement} { ${elements.slice(i, i + ELEMENTS_PER_STATEMENT).join(', ')} }`);
  }
}

/** `counter l1_new` → kind `counter`, name `l1_new`; `ct timeout to_tcp_9` → `ct timeout`, `to_tcp_9`. */
function splitObjectKey(key: string): { kind: string; name: string } {
  const i = key.lastIndexOf(' ');
  return { kind: key.slice(0, i), name: key.slice(i + 1) };
}

function objectRef(key: string, t: string): string {
  const { kind, name } = splitObjectKey(key);
  return `${kind} ${t} ${name}`;
}

function quote(text: string): string {
  return `"${text.replace(/["\\]/g, '')}"`;
}
