#!/usr/bin/env node
// npm's install step: builds the small native addons (native/tcp_sockopt.c, TCP_MAXSEG for
// listeners with an MSS; native/splice_relay.c, the kernel-to-kernel relay of the user-space
// engine; native/tls_relay.c, TLS termination for TCPSSL with the OpenSSL inside Node). They are optional: without a C toolchain OpenSLB installs and runs anyway; listeners
// that ask for an MSS report that clamping is unavailable, and connections relay in JS.
import { spawnSync } from 'node:child_process';

// npm puts its own node-gyp on PATH for install scripts.
const result = spawnSync('node-gyp', ['rebuild'], { stdio: 'inherit', shell: process.platform === 'win32' });
if (result.status !== 0) {
  const missing = result.error && result.error.code === 'ENOENT';
  const why = missing
    ? 'node-gyp is not on PATH; npm provides it during `npm install`, or run `npx node-gyp rebuild` by hand'
    : result.error
      ? result.error.message
      : `node-gyp exited with ${result.status ?? result.signal}`;
  console.warn(
    `openslb: the optional native addon was not built (${why}). OpenSLB works without it; ` +
      "listeners with Mss set cannot clamp the MSS, user-space TCP relays in JS and TCPSSL uses Node's TLS (slower). " +
      (missing ? '' : 'Install python3, make and a C compiler, then reinstall to enable it.'),
  );
}
