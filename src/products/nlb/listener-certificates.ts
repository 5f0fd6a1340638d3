/**
 * Certificates of TCPSSL listeners: ListListenerCertificates,
 * AssociateAdditionalCertificatesWithListener, DisassociateAdditionalCertificatesWithListener.
 *
 * A TCPSSL listener has one default server certificate and at most one CA certificate (both
 * set by Create/UpdateListenerAttribute) plus additional server certificates chosen by SNI.
 * Additional certificates go `Associating` → `Associated` and `Diassociating` (the API's
 * spelling) → removed, through a job; the listener is `Configuring` meanwhile, like any other
 * change to it, and returns to the status it had.
 */
import { defineAction, type ActionContext } from '../../gateway/action.js';
import { ApiError, errors } from '../../gateway/errors.js';
import { p } from '../../gateway/params/spec.js';
import type { JobEffect } from '../../jobs/effects.js';
import { paginate } from '../common/resources.js';
import {
  alreadyAssociated,
  certificateKey,
  checkSettled,
  listenersOf,
  requireListener,
  requireServerCertificates,
  transitionListener,
  type ListenerRow,
} from './listeners.js';
import { requireLoadBalancer } from './load-balancers.js';
import type { ListenerDoc } from '../../domain/nlb-documents.js';
import { NLB_LISTENER } from '../../domain/status-machines.js';

const MAX_PER_CALL = 15;

function requireTcpSsl(listener: ListenerRow): void {
  if (listener.body.ListenerProtocol !== 'TCPSSL') {
    throw errors.operationDenied('Protocol', 'The operation is not allowed because of Protocol. Only TCPSSL listeners have certificates.');
  }
}

/** A listener that can take a certificate change: TCPSSL, settled, on an NLB open to changes. */
async function requireCertificateTarget(ctx: ActionContext, listenerId: string): Promise<ListenerRow> {
  const listener = await requireListener(ctx, listenerId);
  requireTcpSsl(listener);
  checkSettled(listener);
  await requireLoadBalancer(ctx, listener.body.LoadBalancerId, { forWrite: true });
  return listener;
}

function patchCertificates(listenerId: string, certificates: ListenerDoc['AdditionalCertificates']): JobEffect {
  return { op: 'patch', id: listenerId, patch: { AdditionalCertificates: certificates } };
}

function certificateIdsParam() {
  return p.list(p.string({ maxLength: 128 }), { required: true, maxItems: MAX_PER_CALL });
}

/** The same certificate twice in one call, in either of its spellings, is a mistake. */
function checkNoRepeats(ids: readonly string[]): void {
  if (new Set(ids.map(certificateKey)).size !== ids.length) throw errors.duplicatedParam('AdditionalCertificateIds');
}

/** Where a listener already uses the certificate, if anywhere. */
function roleOf(d: ListenerDoc, ref: string): 'default' | 'ca' | 'additional' | undefined {
  const key = certificateKey(ref);
  if (d.CertificateIds.some((c) => certificateKey(c) === key)) return 'default';
  if (d.CaCertificateIds.some((c) => certificateKey(c) === key)) return 'ca';
  if (d.AdditionalCertificates.some((c) => certificateKey(c.CertificateId) === key)) return 'additional';
  return undefined;
}

// --- listing ------------------------------------------------------------------------------

interface CertificateEntry {
  CertificateId: string;
  CertificateType: 'Server' | 'Ca';
  IsDefault: boolean;
  Status: string;
}

/** Default certificate first, then the CA certificate, then additional ones in association order. */
function certificateEntries(listener: ListenerRow): CertificateEntry[] {
  const d = listener.body;
  // The certificates the listener was created with are bound with it.
  const ownStatus = listener.status === 'Provisioning' ? 'Associating' : 'Associated';
  return [
    ...d.CertificateIds.map((id) => ({ CertificateId: id, CertificateType: 'Server' as const, IsDefault: true, Status: ownStatus })),
    // A CA certificate belongs to the listener itself, like the default one; only SNI certificates are "additional".
    ...d.CaCertificateIds.map((id) => ({ CertificateId: id, CertificateType: 'Ca' as const, IsDefault: true, Status: ownStatus })),
    ...d.AdditionalCertificates.map((c) => ({
      CertificateId: c.CertificateId,
      CertificateType: 'Server' as const,
      IsDefault: false,
      Status: c.Status,
    })),
  ];
}

const listListenerCertificates = defineAction({
  name: 'ListListenerCertificates',
  mode: 'read',
  params: {
    ListenerId: p.string({ required: true, maxLength: 128 }),
    CertType: p.string({ enum: ['Ca', 'Server'], caseInsensitive: true }),
    CertificateIds: p.list(p.string({ maxLength: 128 }), { maxItems: 20 }),
    MaxResults: p.integer({ min: 1, max: 50, default: 20 }),
    NextToken: p.string({ maxLength: 256 }),
  },
  authResources: (input) => [['listener', input.ListenerId]],
  handler: async (input, ctx) => {
    await ctx.refreshJobs();
    const listener = await requireListener(ctx, input.ListenerId);
    requireTcpSsl(listener);
    const wanted = input.CertificateIds?.length ? new Set(input.CertificateIds.map(certificateKey)) : undefined;
    const entries = certificateEntries(listener).filter(
      (c) =>
        (input.CertType === undefined || c.CertificateType === input.CertType) && (!wanted || wanted.has(certificateKey(c.CertificateId))),
    );
    const { page, nextToken, totalCount } = paginate(entries, input.MaxResults, input.NextToken);
    return {
      CertificateIds: page.filter((c) => c.CertificateType === 'Server').map((c) => c.CertificateId),
      Certificates: page,
      MaxResults: input.MaxResults,
      NextToken: nextToken,
      TotalCount: totalCount,
    };
  },
});

// --- association --------------------------------------------------------------------------

const associateAdditionalCertificates = defineAction({
  name: 'AssociateAdditionalCertificatesWithListener',
  mode: 'write',
  clientToken: true,
  dryRun: true,
  params: {
    ListenerId: p.string({ required: true, maxLength: 128 }),
    AdditionalCertificateIds: certificateIdsParam(),
  },
  authResources: (input) => [['listener', input.ListenerId]],
  handler: async (input, ctx) => {
    const ids = input.AdditionalCertificateIds;
    checkNoRepeats(ids);
    const listener = await requireCertificateTarget(ctx, input.ListenerId);
    const d = listener.body;
    for (const id of ids) {
      const role = roleOf(d, id);
      if (role === 'default' || role === 'additional') throw alreadyAssociated(id);
    }
    await requireServerCertificates(ctx, ids);

    // The quota counts additional certificates across all listeners of the NLB.
    const siblings = await listenersOf(ctx, d.LoadBalancerId);
    const inUse = siblings.reduce((n, l) => n + l.body.AdditionalCertificates.length, 0);
    const quota = ctx.config.quotas.nlbAdditionalCertificatesPerLoadBalancer;
    if (inUse + ids.length > quota) throw errors.quotaInsufficient('nlb_quota_loadbalancer_certificates_num', inUse, quota);

    const body: ListenerDoc = {
      ...d,
      AdditionalCertificates: [...d.AdditionalCertificates, ...ids.map((id) => ({ CertificateId: id, Status: 'Associating' }))],
    };
    const associated = body.AdditionalCertificates.map((c) => ({ ...c, Status: 'Associated' }));
    // Only one job per listener runs at a time (the listener is Configuring), so a whole-list patch is safe.
    const jobId = await transitionListener(ctx, listener, {
      transition: NLB_LISTENER.transitions.configure,
      body,
      also: {
        onSuccess: [patchCertificates(listener.id, associated)],
        onFailure: [patchCertificates(listener.id, d.AdditionalCertificates)],
      },
    });
    return { JobId: jobId };
  },
});

const disassociateAdditionalCertificates = defineAction({
  name: 'DisassociateAdditionalCertificatesWithListener',
  mode: 'write',
  clientToken: true,
  dryRun: true,
  params: {
    ListenerId: p.string({ required: true, maxLength: 128 }),
    AdditionalCertificateIds: certificateIdsParam(),
  },
  authResources: (input) => [['listener', input.ListenerId]],
  handler: async (input, ctx) => {
    const ids = input.AdditionalCertificateIds;
    checkNoRepeats(ids);
    const listener = await requireCertificateTarget(ctx, input.ListenerId);
    const d = listener.body;
    for (const id of ids) {
      const role = roleOf(d, id);
      if (role === 'default') {
        throw errors.operationDenied(
          'DefaultCertificateUsed',
          `The operation is not allowed because of DefaultCertificateUsed. ${id} is the listener's default certificate; replace it with UpdateListenerAttribute.`,
        );
      }
      if (role === 'ca') {
        throw errors.operationDenied(
          'CaCertificateUsed',
          `The operation is not allowed because of CaCertificateUsed. ${id} is the listener's CA certificate.`,
        );
      }
      const entry = d.AdditionalCertificates.find((c) => certificateKey(c.CertificateId) === certificateKey(id));
      if (!entry) throw new ApiError('ResourceNotAssociated.Certificate', `The specified resource ${id} is not associated.`);
      if (entry.Status !== 'Associated') throw errors.incorrectStatus('certificate', id);
    }

    const removing = new Set(ids.map(certificateKey));
    const leaving = (c: { CertificateId: string }) => removing.has(certificateKey(c.CertificateId));
    const body: ListenerDoc = {
      ...d,
      AdditionalCertificates: d.AdditionalCertificates.map((c) => (leaving(c) ? { ...c, Status: 'Diassociating' } : c)),
    };
    const remaining = d.AdditionalCertificates.filter((c) => !leaving(c));
    const jobId = await transitionListener(ctx, listener, {
      transition: NLB_LISTENER.transitions.configure,
      body,
      also: {
        onSuccess: [patchCertificates(listener.id, remaining)],
        onFailure: [patchCertificates(listener.id, d.AdditionalCertificates)],
      },
    });
    return { JobId: jobId };
  },
});

export const listenerCertificateActions = [listListenerCertificates, associateAdditionalCertificates, disassociateAdditionalCertificates];
