#!/usr/bin/env node
// Builds the GWLB's tc-BPF program (bpf/gwlb.bpf.c → build/bpf/gwlb.bpf.o) when clang and the
// libbpf headers are there. Optional, like the native addon: without them the install warns
// and goes on, and the GWLB forwards GENEVE in user space (dataplane.gwlbEngine auto).
// Skips the compile when the object is newer than the source.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const source = join(root, 'bpf', 'gwlb.bpf.c');
const object = join(root, 'build', 'bpf', 'gwlb.bpf.o');

function warn(why) {
  console.warn(
    `openslb: the GWLB BPF fast path was not built (${why}); GWLB listeners forward in user space. Install clang and libbpf-dev, then reinstall to enable it.`,
  );
}

if (!existsSync(source)) process.exit(0);
if (existsSync(object) && statSync(object).mtimeMs >= statSync(source).mtimeMs) process.exit(0);
if (!existsSync('/usr/include/bpf/bpf_helpers.h')) {
  warn('no libbpf headers in /usr/include/bpf');
  process.exit(0);
}
// Debian keeps asm/types.h under the multiarch directory, which clang -target bpf does not search.
const multiarch =
  spawnSync('gcc', ['-print-multiarch'], { encoding: 'utf8' }).stdout?.trim() ||
  `${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu`;
mkdirSync(dirname(object), { recursive: true });
const result = spawnSync(
  'clang',
  ['-O2', '-g', '-target', 'bpf', '-mcpu=v3', `-I/usr/include/${multiarch}`, '-Wall', '-c', source, '-o', object],
  { stdio: 'inherit' },
);
if (result.status !== 0) warn(result.error ? result.error.message : `clang exited with ${result.status ?? result.signal}`);
