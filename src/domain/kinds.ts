/**
 * The products and resource kinds of the `resources` table (its `product` and `kind`
 * columns). The API writes rows under these names and the data plane reads them back, so they
 * are declared once, here.
 */

export const NLB = 'nlb';
export const GWLB = 'gwlb';
/** The certificate-service subset (UploadUserCertificate, UploadPCACert) NLB listeners use. */
export const CAS = 'cas';

export const LOAD_BALANCER = 'loadbalancer';
export const LISTENER = 'listener';
export const SERVER_GROUP = 'servergroup';
export const SECURITY_POLICY = 'securitypolicy';
/** Server and CA certificates share one kind; `body.Type` tells them apart, their IDs never collide. */
export const CERTIFICATE = 'certificate';
