/**
 * `openslb nlb <Action> --Param value …` and `openslb gwlb …`: flattened parameter names as the
 * aliyun CLI takes them, checked against the action's declaration before anything is sent,
 * sent through the vendor's client, printed as JSON or a table, and `--wait` to follow the
 * change to its end.
 */
import { ApiClient } from '../client/api-client.js';
import { ENV_ACCESS_KEY_ID, ENV_ACCESS_KEY_SECRET, credentialsPath, readCredentialsFile } from '../accounts/credentials.js';
import type { ActionDef, Product } from '../gateway/action.js';
import { actionHelp, actionList, closest, didYouMean, unknownParams } from './catalog.js';
import { OutputError, parseOutput, render } from './output.js';
import { allPages, isPaged } from './pager.js';
import { followToEnd } from './wait.js';

export interface InvokeOptions {
  endpoint?: string;
  dataDir?: string;
  wait?: boolean;
  waitTimeout?: string;
  /** Send even when the action or a parameter name is unknown to this CLI. */
  force?: boolean;
  pager?: boolean;
  output?: string[];
  list?: boolean;
  help?: boolean;
  /** The product command's own help (options), for `openslb nlb --help`. */
  commandHelp: () => string;
}

/** A mistake on the command line: the message says what to do; exit status 2. */
class UsageError extends Error {}

/** `--Name value`, `--Name=value`; a flag without a value is `true`, as the aliyun CLI treats it. */
export function parseActionArgs(args: string[]): Record<string, string> {
  const params: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (!arg.startsWith('--') || arg.length === 2) throw new UsageError(`unexpected argument "${arg}" (use --Name value)`);
    const eq = arg.indexOf('=');
    if (eq !== -1) {
      params[arg.slice(2, eq)] = arg.slice(eq + 1);
    } else if (i + 1 < args.length && !isFlag(args[i + 1])) {
      params[arg.slice(2)] = args[++i];
    } else {
      params[arg.slice(2)] = 'true';
    }
  }
  return params;
}

/** `--Name`, but not a value such as a PEM block that happens to start with dashes. */
function isFlag(arg: string): boolean {
  return /^--[A-Za-z]/.test(arg);
}

async function credentials(dataDir: string): Promise<{ accessKeyId: string; accessKeySecret: string }> {
  const id = process.env[ENV_ACCESS_KEY_ID];
  const secret = process.env[ENV_ACCESS_KEY_SECRET];
  if (id && secret) return { accessKeyId: id, accessKeySecret: secret };
  try {
    return await readCredentialsFile(credentialsPath(dataDir));
  } catch {
    throw new UsageError(
      `no credentials: set ${ENV_ACCESS_KEY_ID} and ${ENV_ACCESS_KEY_SECRET}, or run from the directory whose ` +
        `${credentialsPath(dataDir)} the server wrote (or pass --data-dir)`,
    );
  }
}

function unknownAction(product: Product, action: string): UsageError {
  return new UsageError(
    `${product.name} has no action ${action}.${didYouMean(closest(action, product.actions.keys()))} ` +
      `(openslb ${product.name} --list shows them all; --force sends it anyway)`,
  );
}

/** The action's declaration, or undefined when --force sends an action this CLI does not know. */
function checkAction(product: Product, action: string, params: Record<string, string>, force: boolean): ActionDef | undefined {
  const def = product.actions.get(action);
  if (!def) {
    if (force) return undefined;
    throw unknownAction(product, action);
  }
  const unknown = unknownParams(def, Object.keys(params));
  if (unknown.length > 0 && !force) {
    const lines = unknown.map((u) => `${action} has no parameter --${u.name}.${didYouMean(u.suggestions.map((s) => `--${s}`))}`);
    // A misspelt filter is silently ignored by the server: a List* would answer everything.
    throw new UsageError(`${lines.join('\n')}\n(openslb ${product.name} ${action} --help lists its parameters; --force sends it anyway)`);
  }
  return def;
}

/** Connection failures as a person reads them, instead of the client's run-together text. */
function unreachable(err: unknown, endpoint: string): string | undefined {
  const code = (err as { code?: unknown }).code;
  if (typeof code !== 'string' || !/^(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ECONNRESET|EHOSTUNREACH|ETIMEDOUT)$/.test(code)) return undefined;
  const what = code === 'ECONNREFUSED' ? 'nothing is listening there' : code === 'ENOTFOUND' ? 'no such host' : code;
  return (
    `openslb: cannot reach the OpenSLB API at ${endpoint} (${what}).\n` +
    `Is \`openslb serve\` running? Point --endpoint or OPENSLB_ENDPOINT at its API address.\n`
  );
}

export async function invokeAction(product: Product, action: string | undefined, rawArgs: string[], opts: InvokeOptions): Promise<number> {
  try {
    return await run(product, action, rawArgs, opts);
  } catch (err) {
    if (err instanceof UsageError || err instanceof OutputError) {
      process.stderr.write(`openslb: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}

async function run(product: Product, action: string | undefined, rawArgs: string[], opts: InvokeOptions): Promise<number> {
  if (opts.list) {
    process.stdout.write(`${actionList(product)}\n`);
    return 0;
  }
  if (action === undefined || action === 'help' || opts.help) {
    const target = action === 'help' ? rawArgs[0] : action;
    if (target === undefined) {
      process.stdout.write(opts.commandHelp());
      return 0;
    }
    const def = product.actions.get(target);
    if (!def) throw unknownAction(product, target);
    process.stdout.write(actionHelp(product, def));
    return 0;
  }

  const params = parseActionArgs(rawArgs);
  const def = checkAction(product, action, params, opts.force === true);
  const output = parseOutput(opts.output ?? []);
  if (opts.pager && !(def && isPaged(def))) {
    throw new UsageError(`--pager walks the pages of an action with NextToken and MaxResults; ${action} has none`);
  }

  const endpoint = opts.endpoint ?? process.env.OPENSLB_ENDPOINT ?? 'http://127.0.0.1:8080';
  const client = new ApiClient({ endpoint, ...(await credentials(opts.dataDir ?? './.openslb')) });
  let body: Record<string, unknown>;
  try {
    body = opts.pager
      ? await allPages(def!, params, async (page) => (await client.call(product.version, action, page)).body)
      : (await client.call(product.version, action, params)).body;
  } catch (err) {
    const message = unreachable(err, endpoint);
    if (message) {
      process.stderr.write(message);
      return 1;
    }
    const e = err as { data?: unknown; message?: string };
    // The vendor client keeps the server's error body in `data`; show that, not a stack.
    process.stderr.write(`${JSON.stringify(e.data ?? { Message: e.message }, null, 2)}\n`);
    return 1;
  }
  process.stdout.write(render(body, output));
  if (opts.wait) {
    const timeoutMs = Number(opts.waitTimeout ?? 600) * 1000;
    const ok = await followToEnd({ client, product: product.name, version: product.version, action, params, reply: body, timeoutMs });
    return ok ? 0 : 1;
  }
  return 0;
}
