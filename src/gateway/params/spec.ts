/**
 * Parameter declarations: each action states its parameters once, as data, and the decoder
 * (decode.ts) turns the flat wire map (`Tag.1.Key=env`) into a typed, validated object.
 * The builders below also carry the TypeScript type each declaration decodes to, so handlers
 * receive typed input without restating it.
 */

interface SpecBase<T, R extends boolean> {
  readonly required: R;
  /** Suffix for error codes (`IllegalParam.<errorName>`); defaults to the parameter's own name. */
  readonly errorName?: string;
  /** Phantom field: the decoded TypeScript type. Never set at run time. */
  readonly __type?: T;
}

export interface StringSpec<T extends string = string, R extends boolean = boolean> extends SpecBase<T, R> {
  readonly kind: 'string';
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly pattern?: RegExp;
  readonly enum?: readonly string[];
  /** Enum values compared without case, answered in the declared spelling. */
  readonly caseInsensitive?: boolean;
  /**
   * With `caseInsensitive`: decode to the client's own spelling instead, for values the cloud
   * echoes back as sent (a client that reads back `Rr` after sending `Rr` sees no drift).
   * Compare such values with `sameWord`.
   */
  readonly keepSpelling?: boolean;
  readonly default?: T;
}

export interface IntegerSpec<R extends boolean = boolean> extends SpecBase<number, R> {
  readonly kind: 'integer';
  readonly min?: number;
  readonly max?: number;
  readonly default?: number;
  /**
   * `0` means "not set" (for a field whose range starts above 0): clients built on Go structs
   * send the zero value of every integer a configuration left out.
   */
  readonly zeroIsUnset?: boolean;
}

export interface BooleanSpec<R extends boolean = boolean> extends SpecBase<boolean, R> {
  readonly kind: 'boolean';
  readonly default?: boolean;
}

export interface ListSpec<I extends AnySpec = AnySpec, R extends boolean = boolean> extends SpecBase<Array<ItemOf<I>>, R> {
  readonly kind: 'list';
  readonly item: I;
  readonly minItems?: number;
  readonly maxItems?: number;
}

export interface ObjectSpec<F extends Fields = Fields, R extends boolean = boolean> extends SpecBase<DecodedFields<F>, R> {
  readonly kind: 'object';
  readonly fields: F;
}

/** A parameter sent as one JSON-encoded string (the SDK's "shrink" fields); decoded by `shape`. */
export interface JsonSpec<F extends Fields = Fields, R extends boolean = boolean> extends SpecBase<DecodedFields<F>, R> {
  readonly kind: 'json';
  readonly fields: F;
}

export type AnySpec =
  | StringSpec<string, boolean>
  | IntegerSpec<boolean>
  | BooleanSpec<boolean>
  | ListSpec<any, boolean>
  | ObjectSpec<any, boolean>
  | JsonSpec<any, boolean>;

export type Fields = Record<string, AnySpec>;

/** List items are always present once decoded (absent indexes are skipped, not undefined). */
type ItemOf<S> = S extends SpecBase<infer T, boolean> ? T : never;

type HasDefault<S> = S extends { default: infer D } ? (undefined extends D ? false : true) : false;

export type Decoded<S> =
  S extends SpecBase<infer T, infer R> ? (R extends true ? T : HasDefault<S> extends true ? T : T | undefined) : never;

export type DecodedFields<F extends Fields> = { -readonly [K in keyof F]: Decoded<F[K]> };

type Opts<S> = Omit<S, 'kind' | 'required' | '__type' | 'item' | 'fields'>;

/** Builders. `p.string({ required: true, maxLength: 10 })` and so on. */
export const p = {
  string<const O extends Opts<StringSpec> & { required?: boolean; enum?: readonly string[] }>(
    opts: O = {} as O,
  ): StringSpec<
    O['keepSpelling'] extends true ? string : O['enum'] extends readonly (infer E extends string)[] ? E : string,
    O['required'] extends true ? true : false
  > & { default: O['default'] } {
    return { kind: 'string', required: false, ...opts } as never;
  },
  integer<const O extends Opts<IntegerSpec> & { required?: boolean }>(
    opts: O = {} as O,
  ): IntegerSpec<O['required'] extends true ? true : false> & { default: O['default'] } {
    return { kind: 'integer', required: false, ...opts } as never;
  },
  boolean<const O extends Opts<BooleanSpec> & { required?: boolean }>(
    opts: O = {} as O,
  ): BooleanSpec<O['required'] extends true ? true : false> & { default: O['default'] } {
    return { kind: 'boolean', required: false, ...opts } as never;
  },
  list<I extends AnySpec, const O extends Opts<ListSpec> & { required?: boolean }>(
    item: I,
    opts: O = {} as O,
  ): ListSpec<I, O['required'] extends true ? true : false> {
    return { kind: 'list', item, required: false, ...opts } as never;
  },
  object<F extends Fields, const O extends Opts<ObjectSpec> & { required?: boolean }>(
    fields: F,
    opts: O = {} as O,
  ): ObjectSpec<F, O['required'] extends true ? true : false> {
    return { kind: 'object', fields, required: false, ...opts } as never;
  },
  json<F extends Fields, const O extends Opts<JsonSpec> & { required?: boolean }>(
    fields: F,
    opts: O = {} as O,
  ): JsonSpec<F, O['required'] extends true ? true : false> {
    return { kind: 'json', fields, required: false, ...opts } as never;
  },
};

/** Equality of enum values that are accepted in any letter case. */
export function sameWord(a: string | undefined, b: string): boolean {
  return a !== undefined && a.toLowerCase() === b.toLowerCase();
}
