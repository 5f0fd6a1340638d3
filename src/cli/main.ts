#!/usr/bin/env node
/** The `openslb` command. */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command } from 'commander';
import { ConfigError, type ConfigFlags, loadConfig } from '../config/load.js';
import { casProduct } from '../products/cas/index.js';
import { gwlbProduct } from '../products/gwlb/index.js';
import { nlbProduct } from '../products/nlb/index.js';
import { startOpenSlb } from '../server/openslb.js';
import { startCluster } from '../server/cluster.js';
import { SQLITE_FILE_NAME, openStore } from '../store/store.js';
import { RamError } from '../accounts/ram-service.js';
import { invokeAction } from './invoke.js';
import { registerRamCommands } from './ram-commands.js';
import { registerNodeCommands } from './node-commands.js';
import { registerFaultCommands } from './fault-commands.js';
import { registerGeneveCommands } from './geneve-commands.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

const program = new Command('openslb')
  .description('A self-hosted Alibaba Cloud NLB and GWLB: the real OpenAPI in front of a real L4 data plane.')
  .version(pkg.version, '-v, --version');

function storeOptions(cmd: Command): Command {
  return cmd
    .option('--config <file>', 'YAML config file (regions, zones, VPCs, vSwitches, quotas, listen addresses)')
    .option('--data-dir <dir>', 'directory for the SQLite store and generated credentials (default ./.openslb)')
    .option('--store <url>', 'postgres://… to share one control plane between nodes (default: SQLite in --data-dir)');
}

storeOptions(program.command('serve'))
  .description('run the API gateway and the data plane')
  .option('--api-listen <host:port>', 'address of the OpenAPI endpoint (default 127.0.0.1:8080)')
  .option('--admin-listen <host:port>', 'address of /metrics and /healthz; "" to disable (default 127.0.0.1:8081)')
  .option('--role <role>', 'all | api | dataplane (api and dataplane need --store postgres://…)')
  .option(
    '--workers <n>',
    'data-plane worker processes sharing the listening sockets (default: one per core; 0 or 1: the data plane runs in this process)',
  )
  .option('--log-level <level>', 'pino log level: fatal, error, warn, info, debug, trace (default info)')
  .option('--log-format <format>', 'json (default, for log collectors) or pretty (time, level, message, key=value)')
  .option('--job-delay <ms>', 'extra time every async job stays Processing, to mimic the cloud (default 0)')
  .option('--node-id <id>', "this machine's data-plane node identity (default: kept in <data-dir>/node-id)")
  .option('--node-address <address>', 'the address /nodes shows for this machine (default: its first non-loopback IPv4)')
  .option(
    '--connection-log',
    'log one line per ended connection of a user-space listener (client, backend, bytes each way, duration, reason)',
  )
  .action(async (flags: ConfigFlags) => {
    const config = loadConfig(flags);
    // Worker processes only make sense where there is a data plane to run.
    const running = config.workers > 1 && config.role !== 'api' ? await startCluster(config) : await startOpenSlb(config);
    const admin = running.adminUrl ? `, metrics on ${running.adminUrl}/metrics, health on ${running.adminUrl}/healthz` : '';
    const consoleUrl = running.adminUrl ? `, console on ${running.adminUrl}/console/` : '';
    process.stderr.write(
      config.role === 'dataplane'
        ? `openslb: data-plane node ${running.nodeId} (serves no API)${admin}
`
        : `openslb: API on ${running.apiUrl}${admin}${consoleUrl}
`,
    );
    let stopping = false;
    const shutdown = async () => {
      if (stopping) return;
      stopping = true;
      await running.stop();
      process.exit(0);
    };
    process.on('SIGINT', () => void shutdown());
    process.on('SIGTERM', () => void shutdown());
  });

for (const product of [nlbProduct, gwlbProduct, casProduct]) {
  const example = { nlb: 'CreateListener', gwlb: 'CreateLoadBalancer', cas: 'UploadUserCertificate' }[product.name];
  const cmd = program
    .command(product.name)
    .description(
      `call ${product.name === 'nlb' ? 'an' : 'a'} ${product.name.toUpperCase()} ${product.version} action: openslb ${product.name} <Action> --Param value …`,
    )
    .argument('[action]', `API action, e.g. ${example}; "help <Action>" or "<Action> --help" describes one`)
    .argument('[params...]', 'parameters as --Name value (flattened: --Tag.1.Key env)')
    .option('--endpoint <url>', 'API endpoint (default $OPENSLB_ENDPOINT or http://127.0.0.1:8080)')
    .option('--data-dir <dir>', 'where to find generated credentials when the environment has none (default ./.openslb)')
    .option('--list', `list the ${product.name.toUpperCase()} actions`)
    .option('--output <format...>', 'json (default) or table; table columns and rows as the aliyun CLI takes them: cols=A,B rows=List')
    .option('--pager', 'List* actions: fetch every page (NextToken) and print one merged reply')
    .option('--force', 'send even if the action or a parameter name is unknown to this CLI')
    .option('--wait', 'follow the JobId (or the resource status) until the change has finished')
    .option('--wait-timeout <seconds>', 'give up waiting after this long (default 600)')
    .helpOption(false)
    .option('-h, --help', `this help; with an action, that action's parameters`)
    .allowUnknownOption()
    .action(async (action: string | undefined, params: string[], opts) => {
      process.exitCode = await invokeAction(product, action, params, { ...opts, commandHelp: () => cmd.helpInformation() });
    });
}

registerRamCommands(program, async () => {
  const opts = program.commands.find((c) => c.name() === 'ram')!.opts() as ConfigFlags;
  const config = loadConfig(opts);
  // A SQLite store is created on open; here that would be a new, empty one the running server
  // never reads (the usual cause: running `openslb ram` from another directory).
  const sqliteFile = resolve(config.dataDir, SQLITE_FILE_NAME);
  if (!config.storeUrl && !existsSync(sqliteFile)) {
    throw new RamError(
      'StoreNotFound',
      `No OpenSLB store at ${sqliteFile}. Run openslb ram from the directory openslb serve runs in, ` +
        'or pass the same --data-dir (or --store postgres://…) the server uses.',
    );
  }
  return openStore({ url: config.storeUrl, dataDir: config.dataDir });
});
storeOptions(program.commands.find((c) => c.name() === 'ram')!);

const nodesCommand = registerNodeCommands(program, {
  openStore: () => {
    const config = loadConfig(nodesCommand.opts() as ConfigFlags);
    return openStore({ url: config.storeUrl, dataDir: config.dataDir, migrate: false });
  },
  nodeTimeoutMs: () => loadConfig(nodesCommand.opts() as ConfigFlags).jobs.nodeTimeoutMs,
});
storeOptions(nodesCommand);
const faultCommands = registerFaultCommands(program, async (cmd) => {
  const config = loadConfig(cmd.opts() as ConfigFlags);
  return { store: await openStore({ url: config.storeUrl, dataDir: config.dataDir }), nodeTimeoutMs: config.jobs.nodeTimeoutMs };
});
storeOptions(faultCommands.faults);
storeOptions(faultCommands.reset);
registerGeneveCommands(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`openslb: config: ${err.message}\n`);
  } else {
    process.stderr.write(`openslb: ${(err as Error).message}\n`);
  }
  process.exit(1);
});
