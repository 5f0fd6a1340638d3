/**
 * The cross-field rules of CreateListener and UpdateListenerAttribute that a parameter
 * declaration cannot state on its own: ports and port ranges, idle timeout per protocol,
 * MSS, which server groups a listener may forward to, and the TLS settings of TCPSSL
 * listeners. Pure functions over plain values; the handlers do the store look-ups.
 */
import { ApiError, errors } from '../../gateway/errors.js';
import { DEFAULT_SYSTEM_POLICY_ID } from '../../domain/tls-policies.js';

export type ListenerProtocol = 'TCP' | 'UDP' | 'TCPSSL';

export const LISTENER_PROTOCOLS = ['TCP', 'UDP', 'TCPSSL'] as const;
export const ALPN_POLICIES = ['HTTP1Only', 'HTTP2Only', 'HTTP2Optional', 'HTTP2Preferred'] as const;

// --- description --------------------------------------------------------------------------

/** 2–256 characters: letters (CJK included), digits and `, . ; / @ _ -`. */
const DESCRIPTION = /^[\p{L}\p{N},.;/@_-]{2,256}$/u;

export function checkDescription(description: string | undefined): void {
  if (description !== undefined && !DESCRIPTION.test(description)) {
    throw new ApiError('IllegalParam.ListenerDescription', 'The parameter ListenerDescription of listener is illegal.');
  }
}

// --- idle timeout, MSS ----------------------------------------------------------------------

const IDLE_TIMEOUT: Record<ListenerProtocol, { min: number; max: number; default: number }> = {
  TCP: { min: 10, max: 900, default: 900 },
  TCPSSL: { min: 10, max: 900, default: 900 },
  UDP: { min: 10, max: 20, default: 20 },
};

/** The idle timeout to store: the requested one when it fits the protocol, else the default. */
export function resolveIdleTimeout(protocol: ListenerProtocol, requested: number | undefined): number {
  const range = IDLE_TIMEOUT[protocol];
  if (requested === undefined) return range.default;
  if (requested < range.min || requested > range.max) {
    throw errors.illegalParam('IdleTimeout', `${protocol} listeners accept ${range.min} to ${range.max} seconds.`);
  }
  return requested;
}

/** MSS clamping only exists for TCP streams; a UDP listener refuses any value, even 0. */
export function checkMss(protocol: ListenerProtocol, mss: number | undefined): void {
  if (mss !== undefined && protocol === 'UDP') {
    throw new ApiError(
      'IllegalParam.MssConflictWithUdpAndGeneve',
      'The param of MssConflictWithUdpAndGeneve is illegal. Mss only applies to TCP and TCPSSL listeners.',
    );
  }
}

// --- ports --------------------------------------------------------------------------------

export interface ListenerPorts {
  ListenerPort: number;
  /** Only for port-range listeners (ListenerPort 0). */
  StartPort?: number;
  EndPort?: number;
}

/**
 * ListenerPort 0 means "forward a port range": StartPort and EndPort are then required and
 * must form a non-empty range of bindable ports. A fixed port takes no range.
 */
export function resolvePorts(listenerPort: number, startPort?: number, endPort?: number): ListenerPorts {
  if (listenerPort !== 0) {
    if ((startPort ?? 0) !== 0 || (endPort ?? 0) !== 0) {
      throw errors.illegalParam('Port', 'StartPort and EndPort are only used when ListenerPort is 0.');
    }
    return { ListenerPort: listenerPort };
  }
  if (startPort === undefined) throw errors.missingParam('StartPort');
  if (endPort === undefined) throw errors.missingParam('EndPort');
  if (startPort < 1 || startPort >= endPort) {
    throw errors.illegalParam('Port', 'StartPort must be at least 1 and smaller than EndPort.');
  }
  return { ListenerPort: 0, StartPort: startPort, EndPort: endPort };
}

export function isPortRange(ports: ListenerPorts): boolean {
  return ports.ListenerPort === 0;
}

/** TCP and TCPSSL listeners of one NLB share the TCP port space; UDP has its own. */
function portSpace(protocol: string): 'tcp' | 'udp' {
  return protocol === 'UDP' ? 'udp' : 'tcp';
}

function interval(ports: ListenerPorts): [number, number] {
  return isPortRange(ports) ? [ports.StartPort!, ports.EndPort!] : [ports.ListenerPort, ports.ListenerPort];
}

export interface PortClaim extends ListenerPorts {
  ListenerProtocol: string;
}

/**
 * A new listener's ports against the listeners its NLB already has: only one port-range
 * listener per NLB (`DuplicatedParam.listener`), and no port of the same space used twice,
 * ranges included (`Conflict.Port`, naming the first port both claim).
 */
export function checkPortClaim(candidate: PortClaim, existing: readonly PortClaim[]): void {
  if (isPortRange(candidate) && existing.some(isPortRange)) {
    throw new ApiError('DuplicatedParam.listener', 'The param of any port listener is duplicated.');
  }
  const [start, end] = interval(candidate);
  for (const other of existing) {
    if (portSpace(other.ListenerProtocol) !== portSpace(candidate.ListenerProtocol)) continue;
    const [otherStart, otherEnd] = interval(other);
    if (start <= otherEnd && otherStart <= end) {
      const port = Math.max(start, otherStart);
      throw new ApiError('Conflict.Port', `The Port [${port}] is conflict.`);
    }
  }
}

// --- server group -------------------------------------------------------------------------

/** Which server-group protocols each listener protocol can forward to. */
const GROUP_PROTOCOLS: Record<ListenerProtocol, readonly string[]> = {
  TCP: ['TCP', 'TCP_UDP'],
  UDP: ['UDP', 'TCP_UDP'],
  // TCPSSL was a group protocol in older API versions; such a group still fits.
  TCPSSL: ['TCP', 'TCPSSL'],
};

export interface GroupFacts {
  id: string;
  Protocol: string;
  VpcId: string;
  AnyPortEnabled: boolean;
  PreserveClientIpEnabled: boolean;
}

export function checkServerGroupFit(listener: { protocol: ListenerProtocol; portRange: boolean; vpcId: string }, group: GroupFacts): void {
  if (group.VpcId !== listener.vpcId) {
    throw new ApiError('Mismatch.VpcId', `The VpcId is mismatched for ${group.VpcId} and ${listener.vpcId}.`);
  }
  if (!GROUP_PROTOCOLS[listener.protocol].includes(group.Protocol)) {
    throw new ApiError('Mismatch.Protocol', `The Protocol is mismatched for ${listener.protocol} and ${group.Protocol}.`);
  }
  // TLS is terminated on the load balancer, so the backend connection cannot carry the client's address.
  if (listener.protocol === 'TCPSSL' && group.PreserveClientIpEnabled) {
    throw new ApiError(
      'IllegalParam.PreserveClientIpSwitch',
      'The server group associated with the tcpssl listener does not support enabling PreserveClientIp.',
    );
  }
  if (listener.portRange && !group.AnyPortEnabled) {
    throw new ApiError(
      'IllegalParam.AnyPortListenerConflictWithNonAnyPortServerGroup',
      'The param of AnyPortListenerConflictWithNonAnyPortServerGroup is illegal.',
    );
  }
  if (!listener.portRange && group.AnyPortEnabled) {
    throw new ApiError(
      'IllegalParam.NonAnyPortListenerConflictWithAnyPortServerGroup',
      'The param of NonAnyPortListenerConflictWithAnyPortServerGroup is illegal.',
    );
  }
}

// --- TLS ----------------------------------------------------------------------------------

export interface TlsRequest {
  CertificateIds?: string[];
  /** Single-ID spelling some documentation versions show; merged with CertificateIds. */
  CertificateId?: string;
  CaCertificateIds?: string[];
  CaCertificateId?: string;
  CaEnabled?: boolean;
  AlpnEnabled?: boolean;
  AlpnPolicy?: string;
  SecurityPolicyId?: string;
}

export interface TlsSettings {
  CertificateIds: string[];
  CaEnabled: boolean;
  CaCertificateIds: string[];
  AlpnEnabled: boolean;
  AlpnPolicy?: string;
  SecurityPolicyId?: string;
}

export interface ResolvedTls {
  settings: TlsSettings;
  /** Certificates named by this request, which the caller must look up. */
  requestedServerCertificates: string[];
  requestedCaCertificates: string[];
}

export const NO_TLS: TlsSettings = { CertificateIds: [], CaEnabled: false, CaCertificateIds: [], AlpnEnabled: false };

function certificateSizeError(): ApiError {
  return new ApiError(
    'IllegalParamSize.certificateIds',
    'The param size of certificateIds or caCertificateIds is illegal. A listener takes exactly one of each; check for repeated IDs.',
  );
}

function named(list: string[] | undefined, single: string | undefined): string[] {
  return [...(list ?? []), ...(single !== undefined && single !== '' ? [single] : [])];
}

/**
 * The TLS settings a listener ends up with. `current` is the stored listener on update
 * (omitted parameters keep their value) and undefined on create. Only TCPSSL listeners take
 * TLS parameters; naming one for TCP or UDP is a mistake worth reporting.
 */
export function resolveTls(protocol: ListenerProtocol, req: TlsRequest, current?: TlsSettings): ResolvedTls {
  const serverIds = named(req.CertificateIds, req.CertificateId);
  const caIds = named(req.CaCertificateIds, req.CaCertificateId);

  if (protocol !== 'TCPSSL') {
    const misplaced: Array<[string, boolean]> = [
      ['CertificateIds', serverIds.length > 0],
      ['CaCertificateIds', caIds.length > 0],
      ['CaEnabled', req.CaEnabled === true],
      ['AlpnEnabled', req.AlpnEnabled === true],
      ['AlpnPolicy', req.AlpnPolicy !== undefined],
      ['SecurityPolicyId', req.SecurityPolicyId !== undefined],
    ];
    const hit = misplaced.find(([, present]) => present);
    if (hit) throw errors.illegalParam(hit[0], `Only TCPSSL listeners take ${hit[0]}.`);
    return { settings: { ...NO_TLS }, requestedServerCertificates: [], requestedCaCertificates: [] };
  }

  if (serverIds.length > 1 || caIds.length > 1) throw certificateSizeError();
  const certificateIds = serverIds.length === 1 ? serverIds : (current?.CertificateIds ?? []);
  if (certificateIds.length === 0) {
    throw new ApiError('MissingParam.Certificate', 'The param of certificate is missing. A TCPSSL listener needs one server certificate.');
  }

  // CA certificates are stored whatever CaEnabled says; the flag alone decides whether clients
  // must present a certificate (Terraform sets both, in either order, as the cloud accepts).
  const caEnabled = req.CaEnabled ?? current?.CaEnabled ?? false;
  const caCertificateIds = caIds.length === 1 ? caIds : (current?.CaCertificateIds ?? []);
  if (caEnabled && caCertificateIds.length === 0) throw errors.missingParam('CaCertificateIds');

  const alpnEnabled = req.AlpnEnabled ?? current?.AlpnEnabled ?? false;
  const alpnPolicy = req.AlpnPolicy ?? current?.AlpnPolicy;
  if (alpnEnabled && alpnPolicy === undefined) throw errors.missingParam('AlpnPolicy');

  return {
    settings: {
      CertificateIds: certificateIds,
      CaEnabled: caEnabled,
      CaCertificateIds: caCertificateIds,
      AlpnEnabled: alpnEnabled,
      AlpnPolicy: alpnPolicy,
      SecurityPolicyId: req.SecurityPolicyId ?? current?.SecurityPolicyId ?? DEFAULT_SYSTEM_POLICY_ID,
    },
    requestedServerCertificates: serverIds,
    requestedCaCertificates: caIds,
  };
}
