/**
 * The subset of Alibaba Cloud's Certificate Management Service (CAS, API version 2020-04-07)
 * that TCPSSL listeners need: upload server certificates with their keys and CA certificates,
 * read, list and delete them. Served by the same gateway as NLB and GWLB.
 */
import { makeProduct } from '../../gateway/action.js';
import { caCertificateActions } from './ca-certificates.js';
import { certificateActions } from './certificates.js';

export const CAS_VERSION = '2020-04-07';

export const casProduct = makeProduct('cas', CAS_VERSION, 'cas', [...certificateActions, ...caCertificateActions]);
