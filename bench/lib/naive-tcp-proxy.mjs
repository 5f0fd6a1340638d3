#!/usr/bin/env node
// The reference point of bench/conn-cost.ts: the TCP proxy anyone writes first in Node
// (net.createServer, one upstream socket per client, pipe() both ways, Nagle off), so the
// bench isolates what OpenSLB adds per connection. Loopback only.
//
//   node bench/lib/naive-tcp-proxy.mjs <listenPort> <backendPort>
import net from 'node:net';

const [listenPort, backendPort] = process.argv.slice(2).map(Number);
if (!Number.isInteger(listenPort) || !Number.isInteger(backendPort)) {
  console.error('usage: naive-tcp-proxy.mjs <listenPort> <backendPort>');
  process.exit(2);
}
const HOST = '127.0.0.1';

net
  .createServer((client) => {
    const upstream = net.connect(backendPort, HOST);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    client.pipe(upstream).pipe(client);
    // Either side failing ends both; nothing else to do for a reference proxy.
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  })
  .listen(listenPort, HOST, () => console.log(`naive proxy ${HOST}:${listenPort} -> ${HOST}:${backendPort}`));
