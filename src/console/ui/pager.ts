/**
 * A paged, filterable list over an API List* action: NextToken pages of `pageSize`, a "Next" and
 * a "Previous" (a stack of the tokens seen), and the total the API reports.
 */
import { ApiFailure, call } from './api.js';
import { h, replace } from './dom.js';
import { describeError } from './ops.js';

export interface Page<T> {
  rows: T[];
  nextToken?: string;
  total?: number;
}

export function pagedList<T>(opts: {
  load: (nextToken: string | undefined, filter: Record<string, string>) => Promise<Page<T>>;
  render: (rows: T[]) => HTMLElement;
  filters?: HTMLElement[];
  testId?: string;
  /** Redraw the current page this often until `signal` aborts (statuses and health move). */
  refresh?: { everyMs: number; signal: AbortSignal };
}): HTMLElement {
  const body = h('div', { class: 'list-body' }, h('p', { class: 'muted' }, 'Loading…'));
  const info = h('span', { class: 'muted page-info' });
  const prev = h('button', { type: 'button', class: 'small', disabled: true }, '‹ Previous');
  const next = h('button', { type: 'button', class: 'small', disabled: true }, 'Next ›');
  const filterForm = h(
    'form',
    { class: 'filters' },
    ...(opts.filters ?? []),
    opts.filters?.length ? h('button', { type: 'submit', class: 'small' }, 'Filter') : null,
  );
  const tokens: Array<string | undefined> = [undefined];
  let filter: Record<string, string> = {};

  const show = async () => {
    const token = tokens[tokens.length - 1];
    try {
      const page = await opts.load(token, filter);
      replace(body, opts.render(page.rows));
      info.textContent = page.total !== undefined ? `${page.total} in all · page ${tokens.length}` : `page ${tokens.length}`;
      prev.disabled = tokens.length <= 1;
      next.disabled = !page.nextToken;
      next.dataset.token = page.nextToken ?? '';
    } catch (err) {
      replace(body, h('p', { class: 'op-status error', role: 'alert' }, describeError(err)));
      if (err instanceof ApiFailure && err.code === 'Console.SessionExpired') return;
    }
  };
  next.addEventListener('click', () => {
    if (!next.dataset.token) return;
    tokens.push(next.dataset.token);
    void show();
  });
  prev.addEventListener('click', () => {
    if (tokens.length > 1) tokens.pop();
    void show();
  });
  filterForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    filter = {};
    for (const [name, value] of new FormData(filterForm)) if (typeof value === 'string' && value.trim() !== '') filter[name] = value.trim();
    tokens.length = 1;
    void show();
  });
  void show();
  if (opts.refresh) {
    const { everyMs, signal } = opts.refresh;
    const timer = setInterval(() => {
      // Never redraw under someone's cursor: a half-typed weight would be lost.
      if (!body.contains(document.activeElement)) void show();
    }, everyMs);
    signal.addEventListener('abort', () => clearInterval(timer), { once: true });
  }
  return h('div', { class: 'paged', 'data-testid': opts.testId }, filterForm, body, h('div', { class: 'pager' }, prev, info, next));
}

/**
 * The `load` of a pagedList over one List* action: page size, NextToken, and the filter form's
 * `q` sent as an ID filter when it starts with `idPrefix`, else as a name filter.
 */
export function listAction<T>(opts: {
  product: 'nlb' | 'gwlb';
  action: string;
  rows: string;
  pageSize: number;
  fixed?: Record<string, string>;
  byIdOrName?: { idPrefix: string; ids: string; names: string };
  /** Turns the other filter fields into parameters. */
  more?: (filter: Record<string, string>, params: Record<string, string>) => void;
}): (token: string | undefined, filter: Record<string, string>) => Promise<Page<T>> {
  return async (token, filter) => {
    const params: Record<string, string> = { ...(opts.fixed ?? {}), MaxResults: String(opts.pageSize) };
    if (token) params.NextToken = token;
    const q = filter.q;
    if (q && opts.byIdOrName)
      params[q.startsWith(opts.byIdOrName.idPrefix) ? `${opts.byIdOrName.ids}.1` : `${opts.byIdOrName.names}.1`] = q;
    opts.more?.(filter, params);
    const reply = await call(opts.product, opts.action, params);
    return { rows: (reply[opts.rows] ?? []) as T[], nextToken: reply.NextToken || undefined, total: reply.TotalCount };
  };
}

/** A block drawn by `build` now and again every `everyMs` until `signal` aborts (health moves). */
export function refreshing(build: () => Promise<HTMLElement>, everyMs: number, signal: AbortSignal): HTMLElement {
  const box = h('div', { class: 'refreshing' });
  const draw = async () => {
    try {
      const el = await build();
      if (!signal.aborted) replace(box, el);
    } catch (err) {
      if (!signal.aborted) replace(box, h('p', { class: 'op-status error', role: 'alert' }, describeError(err)));
    }
  };
  void draw();
  const timer = setInterval(() => void draw(), everyMs);
  signal.addEventListener('abort', () => clearInterval(timer), { once: true });
  return box;
}
