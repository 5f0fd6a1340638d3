/**
 * `openslb geneve appliance|send`: a sample GWLB appliance and a sample GWLB endpoint, so a
 * GWLB can be tried end to end on one machine (the README's GWLB walkthrough).
 */
import { type Command, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_GWLB_OPTION_CLASS } from '../dataplane/gwlb/geneve.js';
import { startSampleAppliance } from '../samples/geneve-appliance.js';
import { sendThroughGwlb } from '../samples/geneve-endpoint.js';
import { buildIpv4Packet } from '../samples/ip-packet.js';

function integer(min: number, max: number) {
  return (text: string): number => {
    const n = Number(text);
    if (!/^(0x[0-9a-f]+|\d+)$/i.test(text) || n < min || n > max) {
      throw new InvalidArgumentError(`must be an integer from ${min} to ${max}`);
    }
    return n;
  };
}

function protocol(text: string): 'tcp' | 'udp' {
  const p = text.toLowerCase();
  if (p !== 'tcp' && p !== 'udp') throw new InvalidArgumentError('must be tcp or udp');
  return p;
}

/** The balancer's GWLB option class: both sides must agree on it to read the options. */
function optionClassOption(): Option {
  return new Option('--option-class <class>', "the server's dataplane.gwlbOptionClass")
    .argParser(integer(0, 0xffff))
    .default(DEFAULT_GWLB_OPTION_CLASS, '0x0108');
}

export function registerGeneveCommands(program: Command): Command {
  const geneve = program.command('geneve').description('a sample GWLB appliance and endpoint, to send traffic through a GWLB by hand');

  geneve
    .command('appliance')
    .description('a GWLB appliance: takes GENEVE on UDP 6081 of --address, logs each packet and returns it to the balancer')
    .requiredOption('--address <ip>', 'IPv4 address to listen on: the ServerIp of the appliance in the server group')
    .option('--health-port <port>', "TCP port that answers the group's health checks (its HealthCheckConnectPort)", integer(1, 65535))
    .addOption(optionClassOption())
    .action(async (o: { address: string; healthPort?: number; optionClass: number }) => {
      const log = (line: string) => void process.stdout.write(`appliance ${o.address}: ${line}\n`);
      const appliance = await startSampleAppliance({ address: o.address, healthPort: o.healthPort, optionClass: o.optionClass, log }).catch(
        (err: NodeJS.ErrnoException) => {
          throw new Error(
            `cannot listen on ${o.address}: ${err.code ?? err.message}${err.code === 'EACCES' ? ' (a port below 1024 needs root or CAP_NET_BIND_SERVICE)' : ''}`,
          );
        },
      );
      const stop = async () => {
        await appliance.close();
        process.exit(0);
      };
      process.once('SIGINT', () => void stop());
      process.once('SIGTERM', () => void stop());
    });

  geneve
    .command('send')
    .description('a GWLB endpoint: sends one inner packet in GENEVE to a GWLB VIP and prints it as it comes back through an appliance')
    .requiredOption('--to <vip>', "the GWLB's VIP (ZoneMappings.N.LoadBalancerAddresses.0.PrivateIpv4Address)")
    .option('--protocol <tcp|udp>', "the inner packet's protocol", protocol, 'udp' as const)
    .option('--src <ip:port>', 'inner source', '10.0.0.1:40000')
    .option('--dst <ip:port>', 'inner destination', '10.0.0.2:53')
    .option('--payload <text>', 'inner payload', 'hello through the appliance')
    .option('--vni <n>', 'GENEVE VNI (24 bits)', integer(0, 0xffffff), 42)
    .addOption(optionClassOption())
    .option('--timeout <seconds>', 'give up when nothing came back after this long', integer(1, 3600), 5)
    .action(
      async (o: {
        to: string;
        protocol: 'tcp' | 'udp';
        src: string;
        dst: string;
        payload: string;
        vni: number;
        optionClass: number;
        timeout: number;
      }) => {
        const [src, srcPort] = splitHostPort(o.src, '--src');
        const [dst, dstPort] = splitHostPort(o.dst, '--dst');
        const inner = buildIpv4Packet({ src, dst, protocol: o.protocol, srcPort, dstPort, payload: Buffer.from(o.payload) });
        const back = await sendThroughGwlb({
          to: o.to,
          inner,
          vni: o.vni,
          optionClass: o.optionClass,
          timeoutMs: o.timeout * 1000,
          resendMs: 1000,
        });
        if (!back) {
          process.stderr.write(
            `openslb: nothing came back from ${o.to}:6081 within ${o.timeout} s. Check that the GWLB listener is Running ` +
              '(gwlb GetListenerAttribute), that an appliance of its server group is up at its ServerIp, and that ' +
              '--option-class matches the server.\n',
          );
          process.exitCode = 1;
          return;
        }
        process.stdout.write(
          `returned by ${o.to} after ${back.attempts} send(s): vni ${back.vni} ${back.inner}` +
            `${back.unchanged ? ', inner packet unchanged' : ', inner packet rewritten by the appliance'} (${back.options})\n`,
        );
      },
    );
  return geneve;
}

function splitHostPort(text: string, flag: string): [string, number] {
  const m = /^(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/.exec(text);
  if (!m || Number(m[2]) > 65535)
    throw new InvalidArgumentError(`${flag} takes an IPv4 address and a port, such as 10.0.0.1:40000 (got "${text}")`);
  return [m[1], Number(m[2])];
}
