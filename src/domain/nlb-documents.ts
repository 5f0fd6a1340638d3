/**
 * The NLB resource documents as stored (resources.body). Field names follow the API's own
 * response fields where one exists, so rendering a reply is mostly picking fields. Status
 * lives in the resources.status column, not here. The API (products/nlb, products/cas) writes
 * these documents and the data plane reads them, so they live in the domain layer both share.
 */

export interface ZoneMappingDoc {
  ZoneId: string;
  VSwitchId: string;
  /** The VIP OpenSLB allocated from the vSwitch pool (listeners bind here). */
  PrivateIPv4Address: string;
  /** Stands in for the cloud's per-zone ENI; generated once, never reused. */
  EniId: string;
  /** Internet NLBs: the EIP's ID (the one the client named, or an `eip-…` OpenSLB allocated). */
  AllocationId?: string;
  EipType?: string;
  /** Internet NLBs: the EIP's address, from the region's public pool; listeners bind here too. */
  PublicIPv4Address?: string;
  /** DualStack only: recorded and shown, not bound by the local data plane. */
  Ipv6Address?: string;
  Ipv4LocalAddresses?: string[];
  Ipv6LocalAddresses?: string[];
  /** Active | Stopped | Shifted | Starting | Stopping */
  Status: string;
}

export interface LoadBalancerDoc {
  LoadBalancerName?: string;
  /** As the client spelled it (`network` in any case); unset when not sent. */
  LoadBalancerType?: string;
  AddressType: string; // Internet | Intranet
  /** ipv4 | DualStack, as the client spelled it. */
  AddressIpVersion: string;
  /** DualStack only: Intranet until EnableLoadBalancerIpv6Internet. */
  Ipv6AddressType?: string;
  VpcId: string;
  ZoneMappings: ZoneMappingDoc[];
  CrossZoneEnabled: boolean;
  /** Unset means unlimited (shown as 0). */
  Cps?: number;
  BandwidthPackageId?: string;
  SecurityGroupIds: string[];
  ResourceGroupId: string;
  DeletionProtectionConfig: { Enabled: boolean; Reason?: string; EnabledTime?: string };
  /** ConsoleProtection only makes the console read-only; API calls still change the NLB. */
  ModificationProtectionConfig: { Status: string; Reason?: string; EnabledTime?: string };
  LoadBalancerBillingConfig: { PayType: string };
  CreateTime: string;
  DNSName: string;
}

export interface HealthCheckDoc {
  HealthCheckEnabled: boolean;
  HealthCheckType: string; // TCP | HTTP | UDP
  HealthCheckConnectPort: number;
  HealthCheckConnectTimeout: number;
  HealthCheckInterval: number;
  HealthyThreshold: number;
  UnhealthyThreshold: number;
  HealthCheckUrl?: string;
  HealthCheckDomain?: string;
  HealthCheckHttpCode: string[];
  HttpCheckMethod?: string;
  HealthCheckHttpVersion?: string;
  HealthCheckReq?: string;
  HealthCheckExp?: string;
}

export interface ServerDoc {
  ServerId: string;
  ServerType: string; // Ecs | Eni | Eci | Ip
  /** The address the data plane connects to (for Ip servers the same as ServerId). */
  ServerIp: string;
  /** 0 in AnyPort groups: traffic keeps the client's destination port. */
  Port: number;
  /** 0–100; 0 takes no new connections. */
  Weight: number;
  Description?: string;
  ZoneId?: string;
  /** Adding | Available | Configuring | Removing */
  Status: string;
}

export interface ServerGroupDoc {
  ServerGroupName: string;
  ServerGroupType: string; // Instance | Ip
  Protocol: string; // TCP | UDP | TCP_UDP | TCPSSL
  Scheduler: string; // Wrr | Wlc | rr | sch | tch | qch (as the reference spells them)
  VpcId: string;
  AddressIPVersion: string;
  AnyPortEnabled: boolean;
  PreserveClientIpEnabled: boolean;
  ConnectionDrainEnabled: boolean;
  ConnectionDrainTimeout: number;
  HealthCheck: HealthCheckDoc;
  ResourceGroupId: string;
  IpVersionAffinityMode?: string;
  /**
   * Every backend with its Status. The data plane serves Adding, Available and Configuring
   * servers (a job completes only once the data plane runs the change) and sends no new
   * connections to Removing ones.
   */
  Servers: ServerDoc[];
  CreateTime: string;
}

export interface ListenerDoc {
  LoadBalancerId: string;
  ListenerProtocol: string; // TCP | UDP | TCPSSL
  ListenerPort: number; // 0 for a port range
  /** Only for ListenerPort 0: the forwarded range, inclusive (shown as strings by the API). */
  StartPort?: number;
  EndPort?: number;
  ServerGroupId: string;
  ListenerDescription?: string;
  IdleTimeout: number;
  Cps: number;
  Mss: number;
  ProxyProtocolEnabled: boolean;
  ProxyProtocolV2Config: { Ppv2VpcIdEnabled: boolean; Ppv2PrivateLinkEpIdEnabled: boolean; Ppv2PrivateLinkEpsIdEnabled: boolean };
  SecSensorEnabled: boolean;
  AlpnEnabled: boolean;
  AlpnPolicy?: string;
  /** TCPSSL only: a system policy name (`tls_cipher_policy_1_0` by default) or a custom policy ID. */
  SecurityPolicyId?: string;
  /**
   * Certificate references exactly as the caller gave them (`123157` or `123157-cn-hangzhou`;
   * CA identifiers likewise); compare them through the certificate service's parseCertificateRef.
   * TCPSSL only: exactly one default server certificate, at most one CA certificate.
   */
  CertificateIds: string[];
  CaEnabled: boolean;
  CaCertificateIds: string[];
  /** SNI certificates: id → Associating | Associated | Diassociating */
  AdditionalCertificates: Array<{ CertificateId: string; Status: string }>;
  /** Private: set while a Stopped listener is Configuring, so the data plane keeps it unbound. */
  StoppedWhileConfiguring?: boolean;
  CreateTime: string;
}

export interface SecurityPolicyDoc {
  SecurityPolicyName?: string;
  TlsVersions: string[];
  Ciphers: string[];
  ResourceGroupId: string;
  CreateTime: string;
}

/**
 * Certificates uploaded through the certificate-service subset (product `cas`): server
 * certificates (UploadUserCertificate, row kind `certificate`, numeric ID) and CA certificates
 * (UploadPCACert, row kind `cacertificate`, UUID identifier). The facts below are read from
 * the PEM once, at upload.
 */
export interface CertificateDoc {
  Name: string;
  Type: 'Server' | 'CA';
  /** Leaf first, then any chain certificates that were uploaded with it; canonical PEM. */
  CertPem: string;
  /** Always present for Server; optional for CA. Never logged. */
  KeyPem?: string;
  /** The service's resource ID for the upload, e.g. `cas-upload-j2ofdb`. */
  InstanceId: string;
  ResourceGroupId: string;
  Algorithm: string; // RSA | ECC
  CommonName: string;
  /** DNS names and IP addresses from subjectAltName. */
  Sans: string[];
  Subject: { OrgName?: string; Country?: string; Province?: string; City?: string };
  Issuer: string;
  IssuerCommonName: string;
  SerialNo: string;
  NotBefore: string;
  NotAfter: string;
  /** SHA-1 of the DER, upper-case hex. */
  Fingerprint: string;
  /** SHA-256 of the DER, upper-case hex. */
  Sha2: string;
  /** Every certificate of CertPem, leaf first. */
  Chain: Array<{ CommonName: string; IssuerCommonName: string; NotBefore: string; NotAfter: string }>;
  CreateTime: string;
}
