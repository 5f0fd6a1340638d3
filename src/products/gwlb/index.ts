/** The GWLB product, API version 2024-04-15. GWLB returns no JobIds: clients poll statuses. */
import { makeProduct } from '../../gateway/action.js';
import { regionActions } from '../common/regions.js';
import { listenerHealthActions } from './listener-health.js';
import { listenerActions } from './listeners.js';
import { loadBalancerZoneActions } from './load-balancer-zones.js';
import { loadBalancerActions } from './load-balancers.js';
import { serverGroupActions } from './server-groups.js';
import { serverActions } from './servers.js';
import { tagActions } from './tags.js';

export const GWLB_VERSION = '2024-04-15';

export const gwlbProduct = makeProduct('gwlb', GWLB_VERSION, 'Gwlb', [
  ...regionActions('gwlb'),
  ...loadBalancerActions,
  ...loadBalancerZoneActions,
  ...listenerActions,
  ...listenerHealthActions,
  ...serverGroupActions,
  ...serverActions,
  ...tagActions,
]);
