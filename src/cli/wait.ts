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
  /** Where progress goes (stderr). On a terminal one line is redrawn; elsewhere (CI logs,
   * files) each change of status is one plain line. */
  progressTo?: { write(text: string): unknown; isTTY?: boolean };
}

type Body = Record<string, unknown>;

/** How to read a resource's status when an action returns no JobId. */
interface StatusProbe {
  getAction: string;
  /** The probe's parameters for one resource. */
  query: (id: string) => Record<string, string>;
  /** Where the id comes from: this reply field, else the request parameter of this name. */
  replyField?: string;
  param: string;
  /** The resource's status in the probe's reply; undefined when the reply does not list it. */
  status: (body: Body) => string | undefined;
  done: string[];
  failed: string[];
  /** For deletions: the error code the probe answers once the resource is gone. */
  goneCode?: string;
}

/** The status reported while following a deletion that has finished. */
const GONE = 'Deleted';

type ProbeBase = Omit<StatusProbe, 'done' | 'failed'>;

function settling(base: ProbeBase, done: string[], failed: string[] = []): StatusProbe {
  return { ...base, done, failed };
}

/** A deletion is done once the resource is gone. */
function deletion(base: ProbeBase): StatusProbe {
  return { ...base, done: [GONE], failed: [] };
}

// NLB and GWLB read an instance alike. GWLB answers no JobId at all: each of its changes is
// followed on the resource it changes (gwlb-api §3.7).
const loadBalancer = {
  getAction: 'GetLoadBalancerAttribute',
  query: (id: string) => ({ LoadBalancerId: id }),
  param: 'LoadBalancerId',
  status: (b: Body) => b.LoadBalancerStatus as string | undefined,
  goneCode: 'ResourceNotFound.LoadBalancer',
};
const gwlbListener = {
  getAction: 'GetListenerAttribute',
  query: (id: string) => ({ ListenerId: id }),
  param: 'ListenerId',
  status: (b: Body) => b.ListenerStatus as string | undefined,
  goneCode: 'ResourceNotFound.Listener',
};
// Server groups have no Get action; ListServerGroups by ID is how the cloud's own tools read one.
const gwlbServerGroup = {
  getAction: 'ListServerGroups',
  query: (id: string) => ({ 'ServerGroupIds.1': id }),
  param: 'ServerGroupId',
  status: (b: Body) => (b.ServerGroups as Array<Body> | undefined)?.[0]?.ServerGroupStatus as string | undefined,
};

const STATUS_PROBES: Record<string, StatusProbe> = {
  'nlb:CreateLoadBalancer': settling({ ...loadBalancer, replyField: 'LoadbalancerId' }, ['Active'], ['CreateFailed']),
  'gwlb:CreateLoadBalancer': settling({ ...loadBalancer, replyField: 'LoadBalancerId' }, ['Active']),
  'gwlb:UpdateLoadBalancerAttribute': settling(loadBalancer, ['Active']),
  'gwlb:UpdateLoadBalancerZones': settling(loadBalancer, ['Active']),
  'gwlb:DeleteLoadBalancer': deletion(loadBalancer),
  'gwlb:CreateListener': settling({ ...gwlbListener, replyField: 'ListenerId' }, ['Running']),
  'gwlb:UpdateListenerAttribute': settling(gwlbListener, ['Running']),
  'gwlb:DeleteListener': deletion(gwlbListener),
  'gwlb:CreateServerGroup': settling({ ...gwlbServerGroup, replyField: 'ServerGroupId' }, ['Available']),
  'gwlb:UpdateServerGroupAttribute': settling(gwlbServerGroup, ['Available']),
  'gwlb:AddServersToServerGroup': settling(gwlbServerGroup, ['Available']),
  'gwlb:RemoveServersFromServerGroup': settling(gwlbServerGroup, ['Available']),
  'gwlb:DeleteServerGroup': deletion(gwlbServerGroup),
};

/** The resource's status now, or GONE once the probe no longer finds it. */
async function readStatus(client: ApiClient, version: string, probe: StatusProbe, id: string): Promise<string> {
  try {
    const { body } = await client.call(version, probe.getAction, probe.query(id));
    return probe.status(body) ?? GONE;
  } catch (err) {
    if (probe.goneCode && (err as { code?: string }).code === probe.goneCode) return GONE;
    throw err;
  }
}

/** ErrorCode and ErrorMessage of a failed job, from its ListAsynJobs entry. */
async function jobFailureReason(client: ApiClient, version: string, jobId: string): Promise<string> {
  try {
    const { body } = await client.call(version, 'ListAsynJobs', { 'JobIds.1': jobId });
    const job = (body.Jobs as Body[] | undefined)?.[0];
    if (job?.ErrorCode) return `${String(job.ErrorCode)}: ${String(job.ErrorMessage ?? '')}`;
  } catch {
    // The reason is a courtesy; the exit status already says the job failed.
  }
  return 'no reason recorded (see the server log)';
}

export async function followToEnd(req: FollowRequest): Promise<boolean> {
  const { client, version, reply, timeoutMs } = req;
  const pollMs = req.pollMs ?? 500;
  const deadline = Date.now() + timeoutMs;
  const started = Date.now();
  const out = req.progressTo ?? process.stderr;
  const tty = out.isTTY === true;
  let lastStatus = '';
  const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)}s`;
  const progress = (status: string) => {
    if (tty) out.write(`\r${req.action}: ${status} (${elapsed()})   `);
    else if (status !== lastStatus) out.write(`${req.action}: ${status} (${elapsed()})\n`);
    lastStatus = status;
  };
  const endLine = () => {
    if (tty) out.write('\n');
  };

  const jobId = typeof reply.JobId === 'string' ? reply.JobId : undefined;
  const probe = STATUS_PROBES[`${req.product}:${req.action}`];
  if (!jobId && !probe) {
    out.write(`${req.action}: nothing to wait for (no JobId and no status to follow)\n`);
    return true;
  }
  for (;;) {
    let status: string;
    if (jobId) {
      status = String((await client.call(version, 'GetJobStatus', { JobId: jobId })).body.Status);
      progress(`job ${jobId} ${status}`);
      if (status === 'Succeeded' || status === 'Failed') {
        endLine();
        if (status === 'Failed') out.write(`${req.action}: job ${jobId} failed: ${await jobFailureReason(client, version, jobId)}\n`);
        return status === 'Succeeded';
      }
    } else {
      const id = String((probe!.replyField ? reply[probe!.replyField] : undefined) ?? req.params[probe!.param] ?? '');
      status = await readStatus(client, version, probe!, id);
      progress(`${id} ${status}`);
      // A resource that vanishes while a change other than its deletion is followed has failed.
      const failed = probe!.failed.includes(status) || (status === GONE && !probe!.done.includes(GONE));
      if (probe!.done.includes(status) || failed) {
        endLine();
        return !failed;
      }
    }
    if (Date.now() > deadline) {
      endLine();
      out.write(`${req.action}: still ${status} after ${timeoutMs / 1000}s; giving up\n`);
      return false;
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
