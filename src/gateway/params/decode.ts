/**
 * The one decoder: flat wire parameters (query ∪ body, all strings) → typed input, validated
 * against an action's declaration. Unknown names are ignored, as the cloud ignores them.
 *
 * Flattened names (`Tag.1.Key`, `HealthCheckConfig.HealthCheckType`) are first folded into a
 * tree; JSON-encoded parameters are parsed into the same kind of tree, so one walk validates
 * both (a JSON `true` and a wire `"true"` decode alike).
 */
import { errors } from '../errors.js';
import { mustBe } from './describe.js';
import type { AnySpec, DecodedFields, Fields, ListSpec, StringSpec } from './spec.js';

export type Tree = { [name: string]: Raw };
type Raw = string | number | boolean | null | Raw[] | Tree;

/** Folds `A.1.B=x` into `{A: {1: {B: 'x'}}}`. A scalar never overwrites a branch or vice versa. */
export function foldParams(flat: Record<string, string>): Tree {
  const root: Tree = Object.create(null);
  for (const name of Object.keys(flat)) {
    const parts = name.split('.');
    let node: Tree = root;
    let ok = true;
    for (let i = 0; i < parts.length - 1; i++) {
      const existing = node[parts[i]];
      if (existing === undefined) {
        const child: Tree = Object.create(null);
        node[parts[i]] = child;
        node = child;
      } else if (isTree(existing)) {
        node = existing;
      } else {
        ok = false;
        break;
      }
    }
    const leaf = parts[parts.length - 1];
    if (ok && node[leaf] === undefined) node[leaf] = flat[name];
  }
  return root;
}

function isTree(v: Raw | undefined): v is Tree {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function decodeParams<F extends Fields>(fields: F, flat: Record<string, string>): DecodedFields<F> {
  return decodeFolded(fields, foldParams(flat));
}

/** The same, from a tree foldParams already built (one fold serves several declarations). */
export function decodeFolded<F extends Fields>(fields: F, tree: Tree): DecodedFields<F> {
  return decodeFields(fields, tree, undefined) as DecodedFields<F>;
}

/** Validates already-structured input (e.g. a parsed JSON document) against the same declarations. */
export function decodeStructured<F extends Fields>(fields: F, value: Record<string, unknown>): DecodedFields<F> {
  return decodeFields(fields, value as Tree, undefined) as DecodedFields<F>;
}

function decodeFields(fields: Fields, tree: Tree, listName: string | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of Object.keys(fields)) {
    const spec = fields[name];
    const errorName = spec.errorName ?? (listName ? `${listName}.${name}` : name);
    out[name] = decodeValue(spec, tree[name], errorName);
  }
  return out;
}

function isAbsent(raw: Raw | undefined): boolean {
  return raw === undefined || raw === null;
}

/**
 * An empty value is "not set", for every parameter: clients that always send each field they
 * know (Terraform's provider sends `ZoneMappings.1.Ipv6Address=` and zeros alike) mean nothing
 * by it, and the cloud treats it so. A required parameter sent empty is therefore missing.
 */
function isUnset(raw: Raw | undefined): boolean {
  return isAbsent(raw) || raw === '';
}

function decodeValue(spec: AnySpec, raw: Raw | undefined, name: string): unknown {
  if (isUnset(raw)) {
    if (spec.required) throw errors.missingParam(name);
    return 'default' in spec ? spec.default : undefined;
  }
  switch (spec.kind) {
    case 'string':
      return decodeString(spec, raw!, name);
    case 'integer': {
      const text = scalarText(raw!, name);
      if (!/^[+-]?\d{1,15}$/.test(text)) throw errors.illegalParam(name, mustBe(spec));
      const n = Number(text);
      if (n === 0 && spec.zeroIsUnset) return spec.default;
      if ((spec.min !== undefined && n < spec.min) || (spec.max !== undefined && n > spec.max)) {
        throw errors.illegalParam(name, mustBe(spec));
      }
      return n;
    }
    case 'boolean': {
      const text = scalarText(raw!, name).toLowerCase();
      if (text === 'true') return true;
      if (text === 'false') return false;
      throw errors.illegalParam(name, mustBe(spec));
    }
    case 'list':
      return decodeList(spec, raw!, name);
    case 'object':
      if (!isTree(raw!)) throw errors.illegalParam(name);
      return decodeFields(spec.fields, raw, undefined);
    case 'json': {
      // The SDK sends these as one JSON string; a flattened form is accepted as well.
      let value: Raw = raw!;
      if (typeof value === 'string') {
        try {
          value = JSON.parse(value) as Raw;
        } catch {
          throw errors.illegalParam(name, 'It must be a JSON object.');
        }
      }
      if (!isTree(value)) throw errors.illegalParam(name, 'It must be a JSON object.');
      return decodeFields(spec.fields, value, undefined);
    }
  }
}

function scalarText(raw: Raw, name: string): string {
  if (typeof raw === 'string') return raw;
  if (typeof raw === 'number' || typeof raw === 'boolean') return String(raw);
  throw errors.illegalParam(name);
}

function decodeString(spec: StringSpec, raw: Raw, name: string): string {
  let text = scalarText(raw, name);
  if (spec.enum) {
    const match = spec.caseInsensitive ? spec.enum.find((e) => e.toLowerCase() === text.toLowerCase()) : spec.enum.find((e) => e === text);
    if (match === undefined) throw errors.illegalParam(name, mustBe(spec));
    if (!spec.keepSpelling) text = match;
  }
  const length = [...text].length; // characters, not UTF-16 units
  if (spec.minLength !== undefined && length < spec.minLength) throw errors.illegalParam(name, mustBe(spec));
  if (spec.maxLength !== undefined && length > spec.maxLength) throw errors.illegalParam(name, mustBe(spec));
  if (spec.pattern && !spec.pattern.test(text)) throw errors.illegalParam(name, mustBe(spec));
  return text;
}

function decodeList(spec: ListSpec, raw: Raw, name: string): unknown[] {
  let entries: Raw[];
  if (Array.isArray(raw)) {
    entries = raw.filter((v) => !isAbsent(v));
  } else if (isTree(raw)) {
    // Wire indexes are 1-based and may have gaps (the SDK skips null elements but uses up their index).
    const indexes = Object.keys(raw);
    for (const index of indexes) {
      if (!/^[1-9]\d{0,5}$/.test(index)) throw errors.illegalParam(name);
    }
    entries = indexes
      .map(Number)
      .sort((a, b) => a - b)
      .map((i) => raw[String(i)]);
  } else {
    throw errors.illegalParam(name);
  }
  if (spec.required && entries.length === 0) throw errors.missingParam(name);
  if ((spec.minItems !== undefined && entries.length < spec.minItems) || (spec.maxItems !== undefined && entries.length > spec.maxItems)) {
    throw errors.illegalParamSize(name);
  }
  const item = spec.item;
  return entries.map((entry) => {
    if (item.kind === 'object') {
      if (!isTree(entry)) throw errors.illegalParam(name);
      return decodeFields(item.fields, entry, item.errorName ?? name);
    }
    return decodeValue({ ...item, required: true } as AnySpec, entry, item.errorName ?? name);
  });
}
