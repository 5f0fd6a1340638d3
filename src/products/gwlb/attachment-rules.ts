/**
 * What must hold between a GWLB listener and the server group it forwards to, checked wherever
 * either side changes (CreateListener, UpdateListenerAttribute, UpdateServerGroupAttribute,
 * AddServersToServerGroup), with the codes the CreateListener reference documents.
 */
import { ApiError, errors } from '../../gateway/errors.js';
import type { Db } from '../common/resources.js';
import { vipsInUse } from '../common/vips-in-use.js';
import { DEFAULT_TCP_IDLE_TIMEOUT } from './lookups.js';

/** The flow table keys TCP idle timers on the 5-tuple; a coarser hash shares one timer among many flows. */
export function checkIdleTimeoutFits(tcpIdleTimeout: number, scheduler: string): void {
  if (tcpIdleTimeout !== DEFAULT_TCP_IDLE_TIMEOUT && scheduler !== '5TCH') {
    throw errors.operationDenied(
      'TcpIdleTimeoutConflictWithScheduler',
      'The TCP idle timeout of listener must be default value when the scheduling algorithm of server group is not 5TCH.',
    );
  }
}

/** A GWLB and its appliances live in one (security) VPC. */
export function checkSameVpc(loadBalancerVpc: string, serverGroupVpc: string, serverGroupId: string): void {
  if (loadBalancerVpc !== serverGroupVpc) {
    throw new ApiError(
      'Mismatch.VpcId',
      `The VpcId is mismatched for ${serverGroupId} (${serverGroupVpc}) and the load balancer (${loadBalancerVpc}).`,
    );
  }
}

/**
 * An appliance address must not be a load balancer's VIP (NLB or GWLB): GENEVE sent there
 * would come back into a load balancer instead of reaching an appliance.
 */
export async function rejectVipAppliances(db: Db, addresses: Iterable<string>): Promise<void> {
  const vips = await vipsInUse(db);
  for (const address of addresses) {
    if (vips.has(address)) {
      throw new ApiError('ResourceInUse.IP', `The specified resource of IP [${address}] is in use by a load balancer.`);
    }
  }
}
