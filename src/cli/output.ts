/**
 * `--output`: JSON (the default, the reply as the server sent it) or a table, in the aliyun
 * CLI's words: `--output table`, `--output cols=LoadBalancerId,LoadBalancerStatus
 * rows=LoadBalancers`. Columns may be dotted paths into each row (`ZoneMappings.0.ZoneId`).
 */
export interface OutputSpec {
  format: 'json' | 'table';
  cols?: string[];
  rows?: string;
}

export class OutputError extends Error {}

export function parseOutput(words: string[]): OutputSpec {
  const spec: OutputSpec = { format: 'json' };
  for (const word of words) {
    if (word === 'json' || word === 'table') {
      spec.format = word;
    } else if (word.startsWith('cols=')) {
      spec.cols = word.slice(5).split(',').filter(Boolean);
      spec.format = 'table';
    } else if (word.startsWith('rows=')) {
      // The aliyun CLI writes rows as a JMESPath such as `LoadBalancers[]`.
      spec.rows = word.slice(5).replace(/\[\]$/, '');
      spec.format = 'table';
    } else {
      throw new OutputError(`--output takes json, table, cols=A,B and rows=Field (got "${word}")`);
    }
  }
  if (spec.cols?.length === 0) throw new OutputError('--output cols= needs at least one column name');
  return spec;
}

type Json = Record<string, unknown>;

function isRecord(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function at(value: unknown, path: string): unknown {
  let node = value;
  for (const part of path.split('.')) {
    if (Array.isArray(node)) node = node[Number(part)];
    else if (isRecord(node)) node = node[part];
    else return undefined;
  }
  return node;
}

/**
 * The rows of a reply: the named list; else the reply itself when the first column is one of
 * its fields (a Get*); else its first list of objects (a List*); else the reply as one row.
 */
function rowsOf(body: Json, spec: OutputSpec): Json[] {
  if (spec.rows) {
    const named = at(body, spec.rows);
    if (!Array.isArray(named)) throw new OutputError(`rows=${spec.rows}: the reply has no list there`);
    return named.map((r) => (isRecord(r) ? r : { value: r }));
  }
  if (spec.cols && at(body, spec.cols[0]) !== undefined) return [body];
  const lists = Object.values(body).filter((v): v is unknown[] => Array.isArray(v));
  const objects = lists.find((l) => l.length > 0 && isRecord(l[0]));
  if (objects) return objects as Json[];
  // An empty page of a List* has no rows; anything else is shown as one row.
  if (lists.length > 0 && 'TotalCount' in body) return [];
  return [body];
}

function cell(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

export function renderTable(body: Json, spec: OutputSpec): string {
  const rows = rowsOf(body, spec);
  const cols = spec.cols ?? [...new Set(rows.flatMap((r) => Object.keys(r).filter((k) => r[k] === null || typeof r[k] !== 'object')))];
  if (cols.length === 0) return rows.length === 0 ? '(no rows)\n' : '';
  const table = [cols, ...rows.map((r) => cols.map((c) => cell(at(r, c))))];
  const widths = cols.map((_, i) => Math.max(...table.map((line) => line[i].length)));
  const format = (line: string[]) =>
    line
      .map((v, i) => v.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  const out = [format(cols), widths.map((w) => '-'.repeat(w)).join('  '), ...table.slice(1).map(format)];
  if (rows.length === 0) out.push('(no rows)');
  return `${out.join('\n')}\n`;
}

export function render(body: Json, spec: OutputSpec): string {
  return spec.format === 'table' ? renderTable(body, spec) : `${JSON.stringify(body, null, 2)}\n`;
}
