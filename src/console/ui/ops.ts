/** Running an API action from a form or a button, and following the job it starts. */
import { ApiFailure, call } from './api.js';
import { h, replace } from './dom.js';

export type Product = 'nlb' | 'gwlb';

export interface JobOutcome {
  Status: string;
  ErrorCode?: string;
  ErrorMessage?: string;
}

/**
 * What the last change came to, shown once at the top of the next page drawn: a change redraws
 * the page, which would otherwise take the form's own status line with it.
 */
let flash: { ok: boolean; text: string } | undefined;
export function takeFlash(): { ok: boolean; text: string } | undefined {
  const f = flash;
  flash = undefined;
  return f;
}

/** The API's own words for a failure: `Code: Message`. */
export function describeError(err: unknown): string {
  if (err instanceof ApiFailure) return `${err.code}: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}

/** Polls ListAsynJobs until the job leaves Processing (at most ~2 minutes). */
export async function followJob(jobId: string): Promise<JobOutcome> {
  for (let i = 0; i < 240; i++) {
    const reply = await call('nlb', 'ListAsynJobs', { 'JobIds.1': jobId });
    const job = (reply.Jobs ?? [])[0] as JobOutcome | undefined;
    if (job && job.Status !== 'Processing') return job;
    await new Promise((r) => setTimeout(r, 500));
  }
  return { Status: 'Processing' };
}

export function jobReason(job: JobOutcome): string {
  if (job.ErrorCode || job.ErrorMessage) return [job.ErrorCode, job.ErrorMessage].filter(Boolean).join(': ');
  return job.Status === 'Failed' ? 'The API reports no reason for this job.' : '';
}

/**
 * Runs `action`; shows the API's error in `status` if it fails, follows its job if it starts
 * one, then calls `done` (usually: re-render the page).
 */
export async function perform(
  status: HTMLElement,
  product: Product,
  action: string,
  params: Record<string, string | number | boolean>,
  done: () => void,
): Promise<boolean> {
  replace(status, h('span', { class: 'muted' }, `${action}…`));
  status.className = 'op-status';
  let reply;
  try {
    reply = await call(product, action, params);
  } catch (err) {
    status.className = 'op-status error';
    status.setAttribute('role', 'alert');
    replace(status, describeError(err));
    return false;
  }
  if (typeof reply.JobId === 'string' && product === 'nlb') {
    replace(status, h('span', { class: 'muted' }, `${action}: job ${reply.JobId} Processing…`));
    const job = await followJob(reply.JobId);
    if (job.Status === 'Failed') {
      status.className = 'op-status error';
      status.setAttribute('role', 'alert');
      replace(status, `${action} failed (job ${reply.JobId}): ${jobReason(job)}`);
      flash = { ok: false, text: status.textContent ?? '' };
      done();
      return false;
    }
  }
  status.className = 'op-status ok';
  replace(status, `${action} done.`);
  flash = { ok: true, text: `${action} done.` };
  done();
  return true;
}

/** A form that runs one action with its values (plus fixed ones); errors show on the form. */
export function actionForm(opts: {
  title: string;
  product: Product;
  action: string;
  fields: HTMLElement[];
  fixed?: Record<string, string>;
  /** Turns the form's values into the action's wire parameters (default: as named). */
  params?: (values: Record<string, string>) => Record<string, string>;
  submit?: string;
  done: () => void;
  testId?: string;
}): HTMLFormElement {
  const status = h('div', { class: 'op-status', 'aria-live': 'polite' });
  const form = h(
    'form',
    { class: 'action-form', 'data-testid': opts.testId },
    h('h3', {}, opts.title),
    h('div', { class: 'fields' }, ...opts.fields),
    h('button', { type: 'submit' }, opts.submit ?? opts.title),
    status,
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const values: Record<string, string> = {};
    for (const [name, value] of new FormData(form)) if (typeof value === 'string' && value.trim() !== '') values[name] = value.trim();
    const params = { ...(opts.fixed ?? {}), ...(opts.params ? opts.params(values) : values) };
    const button = form.querySelector('button[type=submit]') as HTMLButtonElement;
    button.disabled = true;
    void perform(status, opts.product, opts.action, params, opts.done).finally(() => (button.disabled = false));
  });
  return form;
}

/** A button that runs one action after a confirmation; errors show beside it. */
export function actionButton(
  label: string,
  product: Product,
  action: string,
  params: Record<string, string>,
  done: () => void,
  confirmText?: string,
): HTMLElement {
  const status = h('span', { class: 'op-status' });
  const button = h('button', { type: 'button', class: 'small' }, label);
  button.addEventListener('click', () => {
    if (confirmText && !window.confirm(confirmText)) return;
    button.disabled = true;
    void perform(status, product, action, params, done).finally(() => (button.disabled = false));
  });
  return h('span', { class: 'action' }, button, status);
}
