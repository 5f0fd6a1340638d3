/** Tiny DOM helpers: elements are built with textContent, never from HTML strings. */

type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | undefined | ((ev: Event) => void)>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    if (typeof value === 'function') el.addEventListener(name.replace(/^on/, ''), value);
    else if (name === 'class') el.className = String(value);
    else if (name === 'value' && 'value' in el) (el as HTMLInputElement).value = String(value);
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

export function append(el: Node, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    el.appendChild(typeof child === 'string' || typeof child === 'number' ? document.createTextNode(String(child)) : child);
  }
}

export function replace(el: Element, ...children: Child[]): void {
  el.textContent = '';
  append(el, children);
}

export function link(href: string, text: string): HTMLAnchorElement {
  return h('a', { href }, text);
}

const GOOD = new Set(['Active', 'Running', 'Available', 'Healthy', 'Succeeded', 'Normal']);
const BAD = new Set(['Unhealthy', 'Failed', 'Inactive', 'Stopped', 'Abnormal', 'FinancialLocked', 'Unavailable']);

/** A status word in a coloured pill: green settled, red broken, amber anything in between. */
export function badge(status: string | undefined): HTMLSpanElement {
  const s = status ?? '—';
  const tone = GOOD.has(s) ? 'good' : BAD.has(s) ? 'bad' : s === '—' ? 'none' : 'busy';
  return h('span', { class: `badge ${tone}`, 'data-status': s }, s);
}

export interface Column<T> {
  title: string;
  cell: (row: T) => Child;
}

export function table<T>(rows: readonly T[], columns: Column<T>[], empty = 'Nothing here yet.', testId?: string): HTMLElement {
  if (rows.length === 0) return h('p', { class: 'muted', 'data-testid': testId }, empty);
  return h(
    'table',
    { 'data-testid': testId },
    h('thead', {}, h('tr', {}, ...columns.map((c) => h('th', {}, c.title)))),
    h('tbody', {}, ...rows.map((row) => h('tr', {}, ...columns.map((c) => h('td', {}, c.cell(row)))))),
  );
}

export function field(label: string, input: HTMLElement, hint?: string): HTMLLabelElement {
  return h('label', { class: 'field' }, h('span', {}, label), input, hint ? h('small', { class: 'muted' }, hint) : null);
}

export function input(name: string, attrs: Attrs = {}): HTMLInputElement {
  return h('input', { name, ...attrs });
}

export function select(name: string, options: Array<string | [value: string, text: string]>, selected?: string): HTMLSelectElement {
  return h(
    'select',
    { name },
    ...options.map((o) => {
      const [value, text] = Array.isArray(o) ? o : [o, o];
      return h('option', { value, selected: value === selected }, text);
    }),
  );
}

export function section(title: string, ...children: Child[]): HTMLElement {
  return h('section', {}, h('h2', {}, title), ...children);
}

export function kv(pairs: Array<[string, Child]>): HTMLElement {
  return h('dl', { class: 'kv' }, ...pairs.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v ?? '—')]));
}

export function formValues(form: HTMLFormElement): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of new FormData(form)) {
    if (typeof value === 'string' && value.trim() !== '') out[name] = value.trim();
  }
  return out;
}
