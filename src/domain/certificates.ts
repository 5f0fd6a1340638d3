/**
 * How a listener refers to a certificate of the certificate service: `123157`,
 * `123157-cn-hangzhou` (the service's CertIdentifier), or a CA certificate's UUID with or
 * without the region suffix. The API checks references with this; the data plane resolves them.
 */

const SERVER_REF = /^(\d{1,19})(?:-([a-z]+(?:-[a-z0-9]+)+))?$/;
const CA_REF = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(?:-([a-z]+(?:-[a-z0-9]+)+))?$/;

/** The stored ID and the optional region of a reference; undefined when it is neither form. */
export function parseCertificateRef(ref: string): { id: string; regionId?: string } | undefined {
  const m = SERVER_REF.exec(ref) ?? CA_REF.exec(ref);
  return m ? { id: m[1], regionId: m[2] } : undefined;
}

/** `<id>-<region>`: the form NLB documents for CertificateIds.N. */
export function certificateIdentifier(row: { id: string; regionId: string }): string {
  return `${row.id}-${row.regionId}`;
}
