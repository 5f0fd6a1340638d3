/**
 * A parameter declaration said in words ("an integer from 1 to 65535", "one of TCP, UDP,
 * TCPSSL"): the decoder appends it to IllegalParam messages so a bad value states the rule it
 * broke, and the CLI prints it in per-action help.
 */
import type { AnySpec } from './spec.js';

function range(min: number | undefined, max: number | undefined, unit: string): string {
  if (min !== undefined && max !== undefined) return min === max ? `exactly ${min} ${unit}` : `${min} to ${max} ${unit}`;
  if (min !== undefined) return `at least ${min} ${unit}`;
  if (max !== undefined) return `at most ${max} ${unit}`;
  return '';
}

/** The type of a declaration, short: `string`, `integer`, `list of string`, `object`. */
export function typeName(spec: AnySpec): string {
  switch (spec.kind) {
    case 'list':
      return `list of ${typeName(spec.item)}`;
    case 'json':
      return 'JSON object';
    default:
      return spec.kind;
  }
}

/** What a valid value looks like, as a noun phrase; empty when any value of the type goes. */
export function ruleOf(spec: AnySpec): string {
  switch (spec.kind) {
    case 'string': {
      if (spec.enum) return `one of ${spec.enum.join(', ')}${spec.caseInsensitive ? ' (any case)' : ''}`;
      const length = range(spec.minLength, spec.maxLength, 'characters');
      const pattern = spec.pattern ? `matching ${spec.pattern.source}` : '';
      if (!length && !pattern) return '';
      return `a string${length ? ` of ${length}` : ''}${length && pattern ? ',' : ''}${pattern ? ` ${pattern}` : ''}`;
    }
    case 'integer':
      if (spec.min !== undefined && spec.max !== undefined) return `an integer from ${spec.min} to ${spec.max}`;
      if (spec.min !== undefined) return `an integer of at least ${spec.min}`;
      if (spec.max !== undefined) return `an integer of at most ${spec.max}`;
      return 'an integer';
    case 'boolean':
      return 'true or false';
    case 'list': {
      const items = range(spec.minItems, spec.maxItems, 'items');
      return items ? `a list of ${items}` : '';
    }
    case 'json':
      return 'a JSON object';
    case 'object':
      return '';
  }
}

/** "It must be …." for an error message, or undefined when the declaration has no rule to state. */
export function mustBe(spec: AnySpec): string | undefined {
  const rule = ruleOf(spec);
  return rule ? `It must be ${rule}.` : undefined;
}
