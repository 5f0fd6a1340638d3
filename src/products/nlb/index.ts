/** The NLB product, API version 2022-04-30. */
import { makeProduct } from '../../gateway/action.js';
import { regionActions } from '../common/regions.js';
import { hdMonitorActions } from './hd-monitor.js';
import { jobActions } from './jobs.js';
import { listenerCertificateActions } from './listener-certificates.js';
import { listenerHealthActions } from './listener-health.js';
import { listenerActions } from './listeners.js';
import { loadBalancerNetworkActions } from './load-balancer-network.js';
import { loadBalancerZoneActions } from './load-balancer-zones.js';
import { loadBalancerActions } from './load-balancers.js';
import { securityPolicyActions } from './security-policies.js';
import { serverGroupActions } from './server-groups.js';
import { serverActions } from './servers.js';
import { tagActions } from './tags.js';

export const NLB_VERSION = '2022-04-30';

export const nlbProduct = makeProduct('nlb', NLB_VERSION, 'Nlb', [
  ...regionActions('nlb'),
  ...jobActions,
  ...loadBalancerActions,
  ...loadBalancerZoneActions,
  ...loadBalancerNetworkActions,
  ...tagActions,
  ...hdMonitorActions,
  ...securityPolicyActions,
  ...serverGroupActions,
  ...serverActions,
  ...listenerActions,
  ...listenerHealthActions,
  ...listenerCertificateActions,
]);
