/**
 * `--wait`: follow a change to its end. A reply with a JobId is followed through GetJobStatus;
 * actions that return no JobId (CreateLoadBalancer, every GWLB change) are followed through
 * the resource's own status, as Terraform does.
 */
import type { ApiClient } from '../client/api-client.js';
import type { ProductName } from '../gateway/action.js';

export interface FollowRequest {
  client: ApiClient;
  product: ProductName;
  version: string;
  action: string;
  params: Record<string, string>;
  reply: Record<string, unknown>;
  timeoutMs: number;
  pollMs?: number;
}

/** How to read a resource's status when an action returns no JobId. */
interface StatusProbe {
  getAction: string;
  idParam: string;
  /** Where the id comes from: the reply field, else the request parameter of the same name. */
  idFrom: string;
  statusField: string;
  done: string[];
  failed: string[];
}

const STATUS_PROBES: Record<string, StatusProbe> = {
  'nlb:CreateLoadBalancer': {
    getAction: 'GetLoadBalancerAttribute',
    idParam: 'LoadBalancerId',
    idFrom: 'LoadbalancerId',
    statusField: 'LoadBalancerStatus',
    done: ['Active'],
    failed: ['CreateFailed'],
  },
};

export async function followToEnd(req: FollowRequest): Promise<boolean> {
  const { client, version, reply, timeoutMs } = req;
  const pollMs = req.pollMs ?? 500;
  const deadline = Date.now() + timeoutMs;
  const started = Date.now();
  const progress = (status: string) =>
    process.stderr.write(`\r${req.action}: ${status} (${((Date.now() - started) / 1000).toFixed(1)}s)   `);

  const jobId = typeof reply.JobId === 'string' ? reply.JobId : undefined;
  const probe = STATUS_PROBES[`${req.product}:${req.action}`];
  if (!jobId && !probe) {
    process.stderr.write(`${req.action}: nothing to wait for (no JobId and no status to follow)\n`);
    return true;
  }
  for (;;) {
    let status: string;
    if (jobId) {
      status = String((await client.call(version, 'GetJobStatus', { JobId: jobId })).body.Status);
      progress(`job ${jobId} ${status}`);
      if (status === 'Succeeded' || status === 'Failed') {
        process.stderr.write('\n');
        return status === 'Succeeded';
      }
    } else {
      const id = String(reply[probe!.idFrom] ?? req.params[probe!.idParam] ?? '');
      const got = await client.call(version, probe!.getAction, { [probe!.idParam]: id });
      status = String(got.body[probe!.statusField]);
      progress(`${id} ${status}`);
      if (probe!.done.includes(status) || probe!.failed.includes(status)) {
        process.stderr.write('\n');
        return probe!.done.includes(status);
      }
    }
    if (Date.now() > deadline) {
      process.stderr.write(`\n${req.action}: still ${status} after ${timeoutMs / 1000}s; giving up\n`);
      return false;
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
