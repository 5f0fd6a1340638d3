/**
 * Just enough HCL to read the README's example configuration: blocks with labels, attributes
 * (strings, numbers, booleans, references such as `alicloud_nlb_server_group.web.id`, maps),
 * repeated nested blocks, `#` comments. Anything else is an error, not a guess.
 */

export type HclValue = string | number | boolean | { ref: string } | HclBody;
export interface HclBody {
  [name: string]: HclValue | HclBody[];
}
export interface HclBlock {
  type: string;
  labels: string[];
  body: HclBody;
}

type Token = { kind: 'string' | 'word' | 'number' | 'punct'; text: string };

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const c = source[i];
    if (c === '#') {
      while (i < source.length && source[i] !== '\n') i++;
    } else if (/\s/.test(c)) {
      i++;
    } else if (c === '"') {
      let j = i + 1;
      while (j < source.length && source[j] !== '"') j++;
      if (j >= source.length) throw new Error('unterminated string');
      tokens.push({ kind: 'string', text: source.slice(i + 1, j) });
      i = j + 1;
    } else if ('{}=[],'.includes(c)) {
      tokens.push({ kind: 'punct', text: c });
      i++;
    } else {
      const m = /^[A-Za-z0-9_.-]+/.exec(source.slice(i));
      if (!m) throw new Error(`unexpected ${JSON.stringify(c)} in HCL`);
      tokens.push({ kind: /^-?\d+$/.test(m[0]) ? 'number' : 'word', text: m[0] });
      i += m[0].length;
    }
  }
  return tokens;
}

export function parseHcl(source: string): HclBlock[] {
  const tokens = tokenize(source);
  let pos = 0;
  const next = () => {
    const t = tokens[pos++];
    if (!t) throw new Error('unexpected end of HCL');
    return t;
  };
  const value = (): HclValue => {
    const t = next();
    if (t.kind === 'string') return t.text;
    if (t.kind === 'number') return Number(t.text);
    if (t.text === 'true' || t.text === 'false') return t.text === 'true';
    if (t.text === '{') return body();
    if (t.kind === 'word') return { ref: t.text };
    throw new Error(`unexpected ${t.text} as a value`);
  };
  const body = (): HclBody => {
    const out: HclBody = {};
    for (;;) {
      const t = next();
      if (t.text === '}') return out;
      if (t.kind !== 'word') throw new Error(`expected a name, got ${t.text}`);
      const after = next();
      if (after.text === '=') {
        out[t.text] = value();
      } else if (after.text === '{') {
        const list = (out[t.text] as HclBody[] | undefined) ?? [];
        list.push(body());
        out[t.text] = list;
      } else {
        throw new Error(`expected = or { after ${t.text}`);
      }
    }
  };
  const blocks: HclBlock[] = [];
  while (pos < tokens.length) {
    const type = next();
    const labels: string[] = [];
    let t = next();
    while (t.kind === 'string') {
      labels.push(t.text);
      t = next();
    }
    if (t.text !== '{') throw new Error(`expected { after ${type.text}`);
    blocks.push({ type: type.text, labels, body: body() });
  }
  return blocks;
}

/** The fenced blocks of a language in a Markdown section (`## <heading>` up to the next `## `). */
export function fencedBlocks(markdown: string, heading: string, language: string): string[] {
  const start = markdown.indexOf(`\n## ${heading}\n`);
  if (start === -1) throw new Error(`no section ${heading}`);
  const end = markdown.indexOf('\n## ', start + 1);
  const section = markdown.slice(start, end === -1 ? undefined : end);
  const out: string[] = [];
  const fence = new RegExp('```' + language + '\\n([\\s\\S]*?)```', 'g');
  for (const m of section.matchAll(fence)) out.push(m[1]);
  return out;
}
