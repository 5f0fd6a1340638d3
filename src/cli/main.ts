#!/usr/bin/env node
/** The `openslb` command. */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { ConfigError, type ConfigFlags, loadConfig } from '../config/load.js';
import { CAS_VERSION } from '../products/cas/index.js';
import { GWLB_VERSION } from '../products/gwlb/index.js';
import { NLB_VERSION } from '../products/nlb/index.js';
import { startOpenSlb } from '../server/openslb.js';
import { startCluster } from '../server/cluster.js';
import { openStore } from '../store/store.js';
import { invokeAction } from './invoke.js';
import { registerRamCommands } from './ram-commands.js';

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
  .option('--workers <n>', 'data-plane worker processes sharing the listening sockets (default: one per core; 0 or 1: the data plane runs in this process)')
  .option('--log-level <level>', 'pino log level: fatal, error, warn, info, debug, trace (default info)')
  .option('--job-delay <ms>', 'extra time every async job stays Processing, to mimic the cloud (default 0)')
  .action(async (flags: ConfigFlags) => {
    const config = loadConfig(flags);
    // Worker processes only make sense where there is a data plane to run.
    const running = config.workers > 1 && config.role !== 'api' ? await startCluster(config) : await startOpenSlb(config);
    const consoleUrl = running.adminUrl && config.role !== 'dataplane' ? `, console on ${running.adminUrl}/console/` : '';
    process.stderr.write(`openslb: API on ${running.apiUrl}${running.adminUrl ? `, metrics on ${running.adminUrl}/metrics` : ''}${consoleUrl}\n`);
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

for (const [product, version] of [
  ['nlb', NLB_VERSION],
  ['gwlb', GWLB_VERSION],
  ['cas', CAS_VERSION],
] as const) {
  program
    .command(product)
    .description(`call an ${product.toUpperCase()} ${version} action: openslb ${product} <Action> --Param value …`)
    .argument('<action>', `API action, e.g. ${{ nlb: 'CreateListener', gwlb: 'CreateLoadBalancer', cas: 'UploadUserCertificate' }[product]}`)
    .argument('[params...]', 'parameters as --Name value (flattened: --Tag.1.Key env)')
    .option('--endpoint <url>', 'API endpoint (default $OPENSLB_ENDPOINT or http://127.0.0.1:8080)')
    .option('--data-dir <dir>', 'where to find generated credentials when the environment has none (default ./.openslb)')
    .option('--wait', 'follow the JobId (or the resource status) until the change has finished')
    .option('--wait-timeout <seconds>', 'give up waiting after this long (default 600)')
    .allowUnknownOption()
    .action(async (action: string, params: string[], opts) => {
      process.exitCode = await invokeAction(product, version, action, params, opts);
    });
}

registerRamCommands(program, async () => {
  const opts = program.commands.find((c) => c.name() === 'ram')!.opts() as ConfigFlags;
  const config = loadConfig(opts);
  return openStore({ url: config.storeUrl, dataDir: config.dataDir });
});
storeOptions(program.commands.find((c) => c.name() === 'ram')!);

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`openslb: config: ${err.message}\n`);
  } else {
    process.stderr.write(`openslb: ${(err as Error).message}\n`);
  }
  process.exit(1);
});
