/**
 * What every Terraform test drives: a real OpenSLB (startTestServer) and the alicloud provider's
 * wire client pointed at it, as a provider block's `endpoints { nlb = "host:port" }` would.
 */
import { randomUUID } from 'node:crypto';
import { startTestServer, type TestServer } from './server.js';
import { TerraformProvider } from './terraform-provider.js';

export interface TerraformTarget {
  server: TestServer;
  tf: TerraformProvider;
}

export async function startTerraformTarget(opts: Parameters<typeof startTestServer>[0] = {}): Promise<TerraformTarget> {
  const server = await startTestServer(opts);
  return { server, tf: new TerraformProvider({ endpoint: `${server.host}:${server.port}` }) };
}

/** A fresh ClientToken, as the provider sends one with every create, update and delete. */
export const clientToken = (): string => randomUUID();
