/**
 * The NLB data plane's one read of the store per revision: its own rows (listeners, load
 * balancers, server groups, custom security policies) and the certificates TCPSSL listeners
 * use. Everything the reconciler applies afterwards comes from this snapshot, so applying does
 * no store I/O.
 */
import { CAS, CERTIFICATE, LISTENER, LOAD_BALANCER, NLB, SECURITY_POLICY, SERVER_GROUP } from '../../domain/kinds.js';
import type { CertificateDoc, ListenerDoc, LoadBalancerDoc, SecurityPolicyDoc, ServerGroupDoc } from '../../domain/nlb-documents.js';
import type { Resource } from '../../domain/resource.js';
import type { Db } from '../../store/resource-rows.js';
import { ResourceCache } from '../resource-cache.js';
import type { NlbRows } from './desired.js';
import { tlsMaterialFromRows, type TlsMaterial } from './tls-material.js';

export interface NlbSnapshot {
  rows: NlbRows;
  tls: TlsMaterial;
}

export class NlbSnapshotReader {
  private readonly nlb = new ResourceCache(NLB, [LISTENER, LOAD_BALANCER, SERVER_GROUP, SECURITY_POLICY]);
  private readonly certificates = new ResourceCache(CAS, [CERTIFICATE]);

  async read(db: Db): Promise<NlbSnapshot> {
    const byKind = await this.nlb.refresh(db);
    const certificates = (await this.certificates.refresh(db)).get(CERTIFICATE) as Array<Resource<CertificateDoc>>;
    const securityPolicies = byKind.get(SECURITY_POLICY) as Array<Resource<SecurityPolicyDoc>>;
    return {
      rows: {
        listeners: byKind.get(LISTENER) as Array<Resource<ListenerDoc>>,
        loadBalancers: byKind.get(LOAD_BALANCER) as Array<Resource<LoadBalancerDoc>>,
        serverGroups: byKind.get(SERVER_GROUP) as Array<Resource<ServerGroupDoc>>,
        securityPolicies,
      },
      tls: tlsMaterialFromRows(securityPolicies, certificates),
    };
  }
}
