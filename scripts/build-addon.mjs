#!/usr/bin/env node
// npm's install step: builds the small native addon (native/tcp_sockopt.c, TCP_MAXSEG for
// listeners with an MSS). It is optional: without a C toolchain OpenSLB installs and runs
// anyway, and only listeners that ask for an MSS report that clamping is unavailable.
import { spawnSync } from 'node:child_process';

// npm puts its own node-gyp on PATH for install scripts.
const result = spawnSync('node-gyp', ['rebuild'], { stdio: 'inherit', shell: process.platform === 'win32' });
if (result.status !== 0) {
  const why = result.error ? result.error.message : `node-gyp exited with ${result.status ?? result.signal}`;
  console.warn(
    `openslb: the optional native addon was not built (${why}). OpenSLB works without it; ` +
      'listeners with Mss set cannot clamp the MSS. Install python3, make and a C compiler, then reinstall to enable it.',
  );
}
