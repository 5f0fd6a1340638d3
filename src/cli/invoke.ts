/**
 * `openslb nlb <Action> --Param value …` and `openslb gwlb …`: flattened parameter names as the
 * aliyun CLI takes them, sent through the vendor's client, JSON out, and `--wait` to follow
 * the change to its end.
 */
import { ApiClient } from '../client/api-client.js';
import { ENV_ACCESS_KEY_ID, ENV_ACCESS_KEY_SECRET, credentialsPath, readCredentialsFile } from '../accounts/credentials.js';
import type { ProductName } from '../gateway/action.js';
import { followToEnd } from './wait.js';

export interface InvokeOptions {
  endpoint?: string;
  dataDir?: string;
  wait?: boolean;
  waitTimeout?: string;
}

/** `--Name value`, `--Name=value`; a flag without a value is `true`, as the aliyun CLI treats it. */
export function parseActionArgs(args: string[]): Record<string, string> {
  const params: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (!arg.startsWith('--') || arg.length === 2) throw new Error(`unexpected argument "${arg}" (use --Name value)`);
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
    throw new Error(
      `no credentials: set ${ENV_ACCESS_KEY_ID} and ${ENV_ACCESS_KEY_SECRET}, or run from the directory whose ` +
        `${credentialsPath(dataDir)} the server wrote (or pass --data-dir)`,
    );
  }
}

export async function invokeAction(
  product: ProductName,
  version: string,
  action: string,
  rawArgs: string[],
  opts: InvokeOptions,
): Promise<number> {
  const params = parseActionArgs(rawArgs);
  const endpoint = opts.endpoint ?? process.env.OPENSLB_ENDPOINT ?? 'http://127.0.0.1:8080';
  const client = new ApiClient({ endpoint, ...(await credentials(opts.dataDir ?? './.openslb')) });
  try {
    const { body } = await client.call(version, action, params);
    process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
    if (opts.wait) {
      const timeoutMs = Number(opts.waitTimeout ?? 600) * 1000;
      const ok = await followToEnd({ client, product, version, action, params, reply: body, timeoutMs });
      return ok ? 0 : 1;
    }
    return 0;
  } catch (err) {
    const e = err as { data?: unknown; message?: string };
    // The vendor client keeps the server's error body in `data`; show that, not a stack.
    process.stderr.write(`${JSON.stringify(e.data ?? { Message: e.message }, null, 2)}\n`);
    return 1;
  }
}
