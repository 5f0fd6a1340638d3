/** The NLB product, API version 2022-04-30. */
import { makeProduct } from '../../gateway/action.js';
import { regionActions } from '../common/regions.js';
import { jobActions } from './jobs.js';

export const NLB_VERSION = '2022-04-30';

export const nlbProduct = makeProduct('nlb', NLB_VERSION, 'Nlb', [...regionActions('nlb'), ...jobActions]);
