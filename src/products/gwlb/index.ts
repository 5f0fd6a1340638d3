/** The GWLB product, API version 2024-04-15. GWLB returns no JobIds: clients poll statuses. */
import { makeProduct } from '../../gateway/action.js';
import { regionActions } from '../common/regions.js';

export const GWLB_VERSION = '2024-04-15';

export const gwlbProduct = makeProduct('gwlb', GWLB_VERSION, 'Gwlb', [...regionActions('gwlb')]);
