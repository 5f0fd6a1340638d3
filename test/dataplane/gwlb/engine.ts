/**
 * Which GWLB forwarding path a test file runs against. The end-to-end, drain and tshark suites
 * run twice: as themselves on the user-space forwarder, and through their `*-bpf.test.ts` twins
 * on the tc-BPF fast path (which set OPENSLB_TEST_GWLB_ENGINE=bpf before importing them). The
 * twins use other loopback addresses (third octet + 100), so both can run side by side.
 */
import assert from 'node:assert/strict';
import type { Config } from '../../../src/config/config.js';
import { gwlbReconcilerOf } from '../../../src/server/dataplane.js';
import type { TestServer } from '../../support/server.js';

export type GwlbPath = 'bpf' | 'userspace';

export const GWLB_PATH: GwlbPath = process.env.OPENSLB_TEST_GWLB_ENGINE === 'bpf' ? 'bpf' : 'userspace';

/** `127.0.<octet>.…` moved to this path's own block. */
export function octet(base: number): number {
  return GWLB_PATH === 'bpf' ? base + 100 : base;
}

/** A 127.0.x.y address in this path's block. */
export function address(third: number, fourth: number): string {
  return `127.0.${octet(third)}.${fourth}`;
}

/** Forces the path (no silent fallback: `bpf` fails listeners when BPF cannot be used). */
export function usePath(c: Config): void {
  c.dataplane.gwlbEngine = GWLB_PATH;
}

/** The server forwards on the path this file is about. */
export function assertPath(server: TestServer): void {
  const reconciler = server.running.node ? gwlbReconcilerOf(server.running.node) : undefined;
  assert.equal(reconciler?.engine, GWLB_PATH, `GENEVE is forwarded by the ${GWLB_PATH} path`);
}

/** After a test moved its clock: one sweep, so the BPF maps hold the new time and drains. */
export async function afterClockMove(server: TestServer): Promise<void> {
  const reconciler = server.running.node ? gwlbReconcilerOf(server.running.node) : undefined;
  await reconciler?.sweepNow();
}
