/**
 * `openslb faults add|list|remove|clear` and `openslb reset`: fault rules and the clean slate,
 * straight in the store (as `openslb ram` does), so they work with or without a running server;
 * a running server sees a rule within a second, and its data plane follows a reset. The same is
 * on the admin listener (/faults, /reset). Output is JSON on stdout; failures are
 * {"Code","Message"} on stderr with exit code 1.
 */
import type { Command } from 'commander';
import { FaultRuleError, faultRuleJson, parseFaultRuleSpec } from '../domain/fault-rules.js';
import { resetStore, waitForDataPlane } from '../faults/reset.js';
import { addFaultRule, clearFaultRules, listFaultRules, removeFaultRule } from '../store/fault-rules.js';
import type { Store } from '../store/types.js';
import type { CommandIo } from './ram-commands.js';

export interface FaultCommandContext {
  store: Store;
  nodeTimeoutMs: number;
}

interface AddFlags {
  product?: string;
  action?: string;
  accessKeyId?: string;
  resourceId?: string;
  regionId?: string;
  probability?: string;
  count?: string;
  until?: string;
  for?: string;
  error?: string;
  httpStatus?: string;
  message?: string;
  afterCommit?: boolean;
  latency?: string;
  failJob?: string | boolean;
  failCode?: string;
  holdJob?: string;
  unhealthy?: string | boolean;
  dropConnections?: string;
  json?: string;
}

class CliError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const processIo: CommandIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  fail: () => {
    process.exitCode = 1;
  },
};

/** The commands get their store from `open`, called with the options of the command that ran. */
export function registerFaultCommands(
  program: Command,
  open: (cmd: Command) => Promise<FaultCommandContext>,
  io: CommandIo = processIo,
): { faults: Command; reset: Command } {
  const run = async (cmd: Command, fn: (ctx: FaultCommandContext) => Promise<unknown>) => {
    let ctx: FaultCommandContext | undefined;
    try {
      ctx = await open(cmd);
      io.stdout(`${JSON.stringify(await fn(ctx), null, 2)}\n`);
    } catch (err) {
      const body =
        err instanceof FaultRuleError
          ? { Code: 'InvalidFaultRule', Message: err.message }
          : err instanceof CliError
            ? { Code: err.code, Message: err.message }
            : { Code: 'InternalError', Message: err instanceof Error ? err.message : String(err) };
      io.stderr(`${JSON.stringify(body, null, 2)}\n`);
      io.fail();
    } finally {
      await ctx?.store.close();
    }
  };

  const faults = program
    .command('faults')
    .description('inject API errors, latency, job failures, unhealthy backends and dropped connections on purpose');
  faults
    .command('add')
    .description('add a fault rule (one effect: --error, --latency, --fail-job, --hold-job, --unhealthy or --drop-connections; or --json)')
    .option('--product <name>', 'nlb, gwlb or cas (default: any)')
    .option('--action <pattern>', 'action name, * as wildcard: CreateLoadBalancer, Create*, *Listener* (default: any)')
    .option('--access-key-id <id>', 'only calls signed with this AccessKey')
    .option(
      '--resource-id <id>',
      'only calls with a parameter of this value (LoadBalancerId, ListenerId, …); the server group for --unhealthy',
    )
    .option('--region-id <id>', 'only calls in this region')
    .option('--probability <p>', 'fire on this share of matching calls, 0 < p ≤ 1 (default 1)')
    .option('--count <n>', 'fire this many times, then stop (the next N matching calls)')
    .option('--until <time>', 'fire until this ISO 8601 time')
    .option('--for <duration>', 'fire for this long from now: 500ms, 30s, 5m, 1h')
    .option('--error <code>', 'answer this error code (SystemBusy, Throttling.User, Conflict.Lock, OperationFailed.X, …)')
    .option('--http-status <status>', 'with --error: the HTTP status (default: the documented one, else 400)')
    .option('--message <text>', 'with --error: the message (default: the documented one)')
    .option('--after-commit', 'with --error: make the change first, then answer the error')
    .option('--latency <duration>', 'hold the reply this long')
    .option('--fail-job [reason]', "the change's job ends Failed, with this reason")
    .option('--fail-code <code>', 'with --fail-job: the job error code (default OperationFailed.FaultInjected)')
    .option('--hold-job <duration>', "the change's job stays Processing this long (its resource stays Configuring/Provisioning)")
    .option('--unhealthy [server]', "the server group's backends (or the one at ip[:port]) fail their health checks")
    .option(
      '--drop-connections <share>',
      'this share (0 < s ≤ 1) of new TCP/TCPSSL connections to the listener (--resource-id lsn-…) is closed on accept',
    )
    .option('--json <rule>', 'the whole rule as JSON, as the admin API takes it')
    .action((flags: AddFlags, cmd: Command) =>
      run(cmd.parent!, async ({ store }) => {
        const spec = parseFaultRuleSpec(flags.json !== undefined ? parseJson(flags.json) : ruleFromFlags(flags), Date.now());
        return { rule: faultRuleJson(await addFaultRule(store, spec, Date.now())) };
      }),
    );
  faults
    .command('list')
    .description('list fault rules, with how often each fired')
    .action((_flags: unknown, cmd: Command) =>
      run(cmd.parent!, async ({ store }) => ({ rules: (await listFaultRules(store.db)).map(faultRuleJson) })),
    );
  faults
    .command('remove <id>')
    .description('remove a fault rule')
    .action((id: string, _flags: unknown, cmd: Command) =>
      run(cmd.parent!, async ({ store }) => {
        if (!(await removeFaultRule(store, id))) throw new CliError('FaultRuleNotFound', `No fault rule ${id}.`);
        return { removed: id };
      }),
    );
  faults
    .command('clear')
    .description('remove every fault rule')
    .action((_flags: unknown, cmd: Command) => run(cmd.parent!, async ({ store }) => ({ removed: await clearFaultRules(store) })));

  const reset = program
    .command('reset')
    .description('delete every resource, job, ClientToken record and fault rule (accounts stay unless --accounts)')
    .option('--accounts', 'also delete RAM users, their AccessKeys and policies (root keys stay)')
    .option('--wait-timeout <seconds>', 'wait this long for running data-plane nodes to close what was removed (default 10)')
    .action((flags: { accounts?: boolean; waitTimeout?: string }, cmd: Command) =>
      run(cmd, async ({ store, nodeTimeoutMs }) => {
        const seconds = flags.waitTimeout === undefined ? 10 : Number(flags.waitTimeout);
        if (!Number.isFinite(seconds) || seconds < 0) throw new CliError('InvalidParameter', '--wait-timeout is a number of seconds');
        const result = await resetStore(store, { accounts: flags.accounts === true });
        const dataPlaneSettled = await waitForDataPlane(store, result.revision, {
          now: () => Date.now(),
          nodeTimeoutMs,
          timeoutMs: seconds * 1000,
        });
        return { ...result, dataPlaneSettled };
      }),
    );
  return { faults, reset };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new FaultRuleError('--json is not valid JSON');
  }
}

/** Flags → the rule's JSON form, which parseFaultRuleSpec then validates like any other. */
function ruleFromFlags(f: AddFlags): Record<string, unknown> {
  const effects: Array<Record<string, unknown>> = [];
  if (f.error !== undefined) {
    effects.push({
      type: 'error',
      code: f.error,
      when: f.afterCommit ? 'after' : 'before',
      ...(f.httpStatus !== undefined ? { httpStatus: Number(f.httpStatus) } : {}),
      ...(f.message !== undefined ? { message: f.message } : {}),
    });
  } else if (f.httpStatus !== undefined || f.message !== undefined || f.afterCommit) {
    throw new FaultRuleError('--http-status, --message and --after-commit go with --error');
  }
  if (f.latency !== undefined) effects.push({ type: 'latency', ms: f.latency });
  if (f.failJob !== undefined) {
    effects.push({
      type: 'fail-job',
      ...(typeof f.failJob === 'string' ? { reason: f.failJob } : {}),
      ...(f.failCode !== undefined ? { code: f.failCode } : {}),
    });
  } else if (f.failCode !== undefined) {
    throw new FaultRuleError('--fail-code goes with --fail-job');
  }
  if (f.holdJob !== undefined) effects.push({ type: 'hold-job', ms: f.holdJob });
  if (f.unhealthy !== undefined) effects.push({ type: 'unhealthy', ...(typeof f.unhealthy === 'string' ? { server: f.unhealthy } : {}) });
  if (f.dropConnections !== undefined) effects.push({ type: 'drop-connections', share: Number(f.dropConnections) });
  if (effects.length !== 1) {
    throw new FaultRuleError(
      'give exactly one effect: --error, --latency, --fail-job, --hold-job, --unhealthy or --drop-connections (one rule per effect)',
    );
  }
  const rule: Record<string, unknown> = { effect: effects[0] };
  const copy = (key: string, value: string | undefined) => {
    if (value !== undefined) rule[key] = value;
  };
  copy('product', f.product);
  copy('action', f.action);
  copy('accessKeyId', f.accessKeyId);
  copy('resourceId', f.resourceId);
  copy('regionId', f.regionId);
  copy('until', f.until);
  copy('for', f.for);
  if (f.probability !== undefined) rule.probability = Number(f.probability);
  if (f.count !== undefined) rule.count = Number(f.count);
  return rule;
}
