/** The console page: sign-in, the frame (region, user, navigation) and a hash router. */
import './app.css';
import { ApiFailure, type Session, session as loadSession, setRegion, signIn, signOut, whenSignedOut } from './api.js';
import { h, replace } from './dom.js';
import { gwlbRoutes } from './gwlb.js';
import { localName } from './i18n.js';
import { nlbRoutes } from './nlb.js';
import { describeError, takeFlash } from './ops.js';

export interface PageContext {
  session: Session;
  /** Aborted when the user leaves the page: stops polling. */
  signal: AbortSignal;
  /** Draw the current page again (after a change). */
  refresh: () => void;
  writable: (product: string) => boolean;
}

export type Route = {
  pattern: RegExp;
  title: string;
  render: (ctx: PageContext, ...params: string[]) => HTMLElement | Promise<HTMLElement>;
};

const routes: Route[] = [...nlbRoutes, ...gwlbRoutes];
const app = document.getElementById('app') as HTMLElement;
let current: Session | undefined;
let pageAbort = new AbortController();

whenSignedOut(() => {
  current = undefined;
  showSignIn('Your session has ended. Sign in again.');
});

function showSignIn(notice?: string): void {
  pageAbort.abort();
  const error = h('p', { class: 'op-status error', role: 'alert', hidden: !notice }, notice ?? '');
  const form = h(
    'form',
    { class: 'signin', autocomplete: 'off' },
    h('h1', {}, 'OpenSLB console'),
    h(
      'p',
      { class: 'muted' },
      'Sign in with an AccessKey pair. Everything you do here is an API call made with this key: RAM policies apply and each change is in the API log.',
    ),
    h(
      'label',
      { class: 'field' },
      h('span', {}, 'AccessKey ID'),
      h('input', { name: 'accessKeyId', required: true, autocomplete: 'username' }),
    ),
    h(
      'label',
      { class: 'field' },
      h('span', {}, 'AccessKey secret'),
      h('input', { name: 'accessKeySecret', type: 'password', required: true, autocomplete: 'current-password' }),
    ),
    h('button', { type: 'submit' }, 'Sign in'),
    error,
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const data = new FormData(form);
    try {
      current = await signIn(String(data.get('accessKeyId') ?? ''), String(data.get('accessKeySecret') ?? ''));
      form.reset(); // the secret leaves the page as soon as the server has it
      setRegion(sessionStorage.getItem('openslb-region') ?? current.regions[0]?.id ?? '');
      if (location.hash === '' || location.hash === '#/signin') location.hash = '#/nlb/instances';
      else route();
    } catch (err) {
      error.hidden = false;
      error.textContent = describeError(err);
    }
  });
  replace(app, form);
}

function frame(s: Session, content: HTMLElement): HTMLElement {
  const regionSelect = h(
    'select',
    { name: 'region', 'aria-label': 'Region' },
    ...s.regions.map((r) => h('option', { value: r.id }, `${localName(r.localName)} (${r.id})`)),
  );
  regionSelect.value = sessionStorage.getItem('openslb-region') ?? s.regions[0]?.id ?? '';
  regionSelect.addEventListener('change', () => {
    sessionStorage.setItem('openslb-region', regionSelect.value);
    setRegion(regionSelect.value);
    route();
  });
  const out = h('button', { type: 'button', class: 'small' }, 'Sign out');
  out.addEventListener('click', async () => {
    await signOut().catch(() => undefined);
    current = undefined;
    location.hash = '#/signin';
    showSignIn();
  });
  const readOnly = !s.writable.nlb && !s.writable.gwlb;
  const nav = (href: string, text: string) => h('a', { href, class: location.hash.startsWith(href) ? 'active' : '' }, text);
  return h(
    'div',
    { class: 'frame' },
    h(
      'header',
      {},
      h('a', { href: '#/nlb/instances', class: 'brand' }, 'OpenSLB'),
      regionSelect,
      h('span', { class: 'spacer' }),
      readOnly ? h('span', { class: 'badge busy', 'data-testid': 'read-only' }, 'read-only') : null,
      h('span', { class: 'who', 'data-testid': 'who' }, `${s.user || '?'} · ${s.accessKeyId}`),
      out,
    ),
    h(
      'nav',
      {},
      h('strong', {}, 'NLB'),
      nav('#/nlb/instances', 'Instances'),
      nav('#/nlb/listeners', 'Listeners'),
      nav('#/nlb/server-groups', 'Server groups'),
      nav('#/nlb/security-policies', 'Security policies'),
      nav('#/nlb/jobs', 'Jobs'),
      h('strong', {}, 'GWLB'),
      nav('#/gwlb/instances', 'Instances'),
      nav('#/gwlb/server-groups', 'Server groups'),
    ),
    h('main', {}, flashBanner(), content),
  );
}

function flashBanner(): HTMLElement | null {
  const f = takeFlash();
  if (!f) return null;
  return h('div', { class: `flash op-status ${f.ok ? 'ok' : 'error'}`, role: f.ok ? 'status' : 'alert', 'data-testid': 'flash' }, f.text);
}

async function route(): Promise<void> {
  if (!current) return showSignIn();
  pageAbort.abort();
  pageAbort = new AbortController();
  const signal = pageAbort.signal;
  const hash = location.hash.replace(/^#/, '') || '/nlb/instances';
  const match = routes.map((r) => ({ r, m: r.pattern.exec(hash) })).find((x) => x.m);
  const s = current;
  const ctx: PageContext = {
    session: s,
    signal,
    refresh: () => void route(),
    writable: (product) => s.writable[product] === true,
  };
  if (!match) {
    replace(app, frame(s, h('p', {}, 'No such page. ', h('a', { href: '#/nlb/instances' }, 'NLB instances'))));
    return;
  }
  document.title = `${match.r.title} · OpenSLB`;
  let content: HTMLElement;
  try {
    content = await match.r.render(ctx, ...match.m!.slice(1).map(decodeURIComponent));
  } catch (err) {
    if (err instanceof ApiFailure && err.code === 'Console.SessionExpired') return;
    content = h('p', { class: 'op-status error', role: 'alert' }, describeError(err));
  }
  if (signal.aborted) return;
  replace(app, frame(s, content));
}

window.addEventListener('hashchange', () => void route());

(async () => {
  try {
    current = await loadSession();
    setRegion(sessionStorage.getItem('openslb-region') ?? current.regions[0]?.id ?? '');
    await route();
  } catch {
    showSignIn();
  }
})();
