/**
 * What the CLI knows about a product's actions without asking the server: the flat wire names
 * each action's declaration accepts (`Tag.N.Key`, `HealthCheckConfig.HealthCheckType`), checks
 * of action and parameter names with "did you mean", and per-action help text. Everything is
 * derived from the same declarations the gateway decodes with, so it cannot drift from them.
 */
import type { ActionDef, Product } from '../gateway/action.js';
import { ruleOf, typeName } from '../gateway/params/describe.js';
import type { AnySpec, Fields } from '../gateway/params/spec.js';

/** One accepted wire name; list indexes are written `N` (`Servers.N.Port`). */
export interface FlatParam {
  pattern: string;
  spec: AnySpec;
  /** Required, and so are all the objects it is nested in. */
  required: boolean;
}

/** Accepted by every action of the gateway besides its declared parameters. */
const COMMON: Fields = {
  RegionId: { kind: 'string', required: false, maxLength: 64 },
  ClientToken: { kind: 'string', required: false, maxLength: 64 },
};
const DRY_RUN: AnySpec = { kind: 'boolean', required: false };

function flatten(fields: Fields, prefix: string, requiredParent: boolean, out: FlatParam[]): void {
  for (const [name, spec] of Object.entries(fields)) {
    const pattern = `${prefix}${name}`;
    const required = requiredParent && spec.required;
    switch (spec.kind) {
      case 'list':
        if (spec.item.kind === 'object') flatten(spec.item.fields, `${pattern}.N.`, required, out);
        else out.push({ pattern: `${pattern}.N`, spec: spec.item, required });
        break;
      case 'object':
        flatten(spec.fields, `${pattern}.`, required, out);
        break;
      case 'json':
        // Sent as one JSON string; the decoder takes the flattened fields as well.
        out.push({ pattern, spec, required });
        flatten(spec.fields, `${pattern}.`, false, out);
        break;
      default:
        out.push({ pattern, spec, required });
    }
  }
}

export function flatParams(action: ActionDef): FlatParam[] {
  const out: FlatParam[] = [];
  flatten(action.params, '', true, out);
  const declared = new Set(out.map((p) => p.pattern));
  for (const [name, spec] of Object.entries(COMMON)) {
    if (!declared.has(name)) out.push({ pattern: name, spec, required: false });
  }
  if (action.dryRun && !declared.has('DryRun')) out.push({ pattern: 'DryRun', spec: DRY_RUN, required: false });
  return out;
}

/** `Tag.3.Key` → `Tag.N.Key`. */
export function patternOf(name: string): string {
  return name
    .split('.')
    .map((part) => (/^\d+$/.test(part) ? 'N' : part))
    .join('.');
}

/** Writes the indexes of `name` back into a suggested pattern, so the suggestion can be pasted. */
function withIndexes(pattern: string, name: string): string {
  const indexes = name.split('.').filter((part) => /^\d+$/.test(part));
  return pattern
    .split('.')
    .map((part) => (part === 'N' ? (indexes.shift() ?? '1') : part))
    .join('.');
}

/** Edit distance, case-insensitive: a wrong case is the commonest typo and costs nothing. */
function distance(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  let prev = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const row = [i];
    for (let j = 1; j <= y.length; j++) {
      row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (x[i - 1] === y[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[y.length];
}

/** The closest candidates to `word`, close enough to be a typo of it (best first, at most 3). */
export function closest(word: string, candidates: Iterable<string>): string[] {
  const limit = Math.max(2, Math.floor(word.length / 3));
  const ranked = [...candidates]
    .map((c) => ({ c, d: distance(word, c) }))
    .filter((x) => x.d <= limit || x.c.toLowerCase().startsWith(word.toLowerCase()))
    .sort((a, b) => a.d - b.d || a.c.localeCompare(b.c))
    .slice(0, 3);
  // Only the case differs: that is surely what was meant.
  if (ranked.length > 0 && ranked[0].d === 0) return [ranked[0].c];
  return ranked.map((x) => x.c);
}

export interface UnknownParam {
  name: string;
  suggestions: string[];
}

/** Parameters the action does not declare, each with what was probably meant. */
export function unknownParams(action: ActionDef, names: string[]): UnknownParam[] {
  const known = flatParams(action).map((p) => p.pattern);
  const knownSet = new Set(known);
  return names
    .filter((name) => !knownSet.has(patternOf(name)))
    .map((name) => ({ name, suggestions: closest(patternOf(name), known).map((p) => withIndexes(p, name)) }));
}

export function didYouMean(suggestions: string[]): string {
  if (suggestions.length === 0) return '';
  return ` Did you mean ${suggestions.join(' or ')}?`;
}

/** `openslb nlb --list`: every action, one per line, with whether it reads or changes. */
export function actionList(product: Product): string {
  const names = [...product.actions.keys()].sort();
  const width = Math.max(...names.map((n) => n.length));
  return names.map((name) => `${name.padEnd(width)}  ${product.actions.get(name)!.mode === 'read' ? 'read' : 'change'}`).join('\n');
}

function exampleValue(param: FlatParam): string {
  const { spec } = param;
  if (spec.kind === 'string' && spec.enum) return spec.enum[0];
  if (spec.kind === 'string' && 'default' in spec && spec.default !== undefined) return String(spec.default);
  if (spec.kind === 'integer')
    return String(spec.min !== undefined && spec.min > 0 ? spec.min : spec.max !== undefined && spec.max < 80 ? spec.max : 80);
  if (spec.kind === 'boolean') return 'true';
  if (spec.kind === 'json') return `'{}'`;
  return `<${param.pattern.split('.').pop()}>`;
}

function shellWord(word: string): string {
  return /^[\w.,:/@+=-]+$/.test(word) || word.startsWith("'") ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** `openslb nlb CreateListener --help`: parameters with type, rule, default and an example call. */
export function actionHelp(product: Product, action: ActionDef): string {
  const params = flatParams(action);
  const lines = [
    `openslb ${product.name} ${action.name} [--Param value …]`,
    '',
    `${product.displayName} ${product.version} action; ${action.mode === 'read' ? 'reads only' : 'changes resources'}.`,
    '',
    'Parameters (N is a list index from 1):',
  ];
  const width = Math.max(...params.map((p) => p.pattern.length));
  for (const param of params) {
    const { spec } = param;
    const notes = param.required ? ['required'] : [];
    notes.push(ruleOf(spec) || typeName(spec));
    if ('default' in spec && spec.default !== undefined) notes.push(`default ${String(spec.default)}`);
    lines.push(`  --${param.pattern.padEnd(width)}  ${notes.join('; ')}`);
  }
  const example = params.filter((p) => p.required).map((p) => `--${p.pattern.replace(/\.N\b/g, '.1')} ${shellWord(exampleValue(p))}`);
  lines.push('', 'Example:', `  openslb ${product.name} ${action.name}${example.length ? ` ${example.join(' ')}` : ''}`);
  return `${lines.join('\n')}\n`;
}
