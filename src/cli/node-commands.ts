/**
 * `openslb nodes list|forget`: the fleet's data-plane nodes as the store knows them. Works on
 * the store directly (same --store/--config as serve), so it also works with no API node up.
 */
import type { Command } from 'commander';
import type { Store } from '../store/types.js';
import { forgetNode, listNodes } from '../server/node-watch.js';

export interface NodeCommandsOptions {
  openStore: () => Promise<Store>;
  /** Nodes silent for longer than this are reported not live (the config's jobs.nodeTimeoutMs). */
  nodeTimeoutMs: () => number;
  now?: () => number;
  stdout?: (text: string) => void;
  stderr?: (text: string) => void;
}

export function registerNodeCommands(program: Command, opts: NodeCommandsOptions): Command {
  const out = opts.stdout ?? ((t: string) => void process.stdout.write(t));
  const err = opts.stderr ?? ((t: string) => void process.stderr.write(t));
  const now = opts.now ?? Date.now;

  const run = async (fn: (store: Store) => Promise<unknown>): Promise<void> => {
    let store: Store | undefined;
    try {
      store = await opts.openStore();
      out(`${JSON.stringify(await fn(store), null, 2)}\n`);
    } catch (e) {
      err(`${JSON.stringify({ Code: (e as { code?: string }).code ?? 'Error', Message: (e as Error).message }, null, 2)}\n`);
      process.exitCode = 1;
    } finally {
      await store?.close();
    }
  };

  const nodes = program.command('nodes').description('list or forget the data-plane nodes registered in the store');
  nodes
    .command('list')
    .description('every registered node: address, heartbeat age, applied revision, live or not')
    .action(() => run(async (store) => ({ Nodes: await listNodes(store, now(), opts.nodeTimeoutMs()) })));
  nodes
    .command('forget <nodeId>')
    .description('remove a node and its observations (a machine retired for good; a live node registers again at its next heartbeat)')
    .action((nodeId: string) =>
      run(async (store) => {
        if (!(await forgetNode(store, nodeId))) {
          throw Object.assign(new Error(`no data-plane node ${nodeId} in the store`), { code: 'NodeNotFound' });
        }
        return { Forgotten: { NodeId: nodeId } };
      }),
    );
  return nodes;
}
