/**
 * The NLB resource documents as stored (resources.body). Field names follow the API's own
 * response fields where one exists, so rendering a reply is mostly picking fields. Status
 * lives in the resources.status column, not here. Each resource family's module owns its
 * document; others read it through these types.
 */

export interface ZoneMappingDoc {
  ZoneId: string;
  VSwitchId: string;
  /** The VIP OpenSLB allocated from the vSwitch pool (listeners bind here). */
  PrivateIPv4Address: string;
  AllocationId?: string;
  EipType?: string;
  /** Active | Stopped | Shifted | Starting | Stopping */
  Status: string;
}

export interface LoadBalancerDoc {
  LoadBalancerName?: string;
  LoadBalancerType: string; // Network
  AddressType: string; // Internet | Intranet
  AddressIpVersion: string; // ipv4 | DualStack
  Ipv6AddressType?: string;
  VpcId: string;
  ZoneMappings: ZoneMappingDoc[];
  CrossZoneEnabled: boolean;
  Cps?: number;
  BandwidthPackageId?: string;
  SecurityGroupIds: string[];
  ResourceGroupId: string;
  DeletionProtectionConfig: { Enabled: boolean; Reason?: string; EnabledTime?: string };
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
  ServerIp: string;
  Port: number;
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
  Servers: ServerDoc[];
  CreateTime: string;
}

export interface ListenerDoc {
  LoadBalancerId: string;
  ListenerProtocol: string; // TCP | UDP | TCPSSL
  ListenerPort: number; // 0 for a port range
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
  SecurityPolicyId?: string;
  CertificateIds: string[];
  CaEnabled: boolean;
  CaCertificateIds: string[];
  /** SNI certificates: id → Associating | Associated | Diassociating */
  AdditionalCertificates: Array<{ CertificateId: string; Status: string }>;
  CreateTime: string;
}

export interface SecurityPolicyDoc {
  SecurityPolicyName?: string;
  TlsVersions: string[];
  Ciphers: string[];
  ResourceGroupId: string;
  CreateTime: string;
}

/** Certificates uploaded through the certificate-service subset (product `cas`). */
export interface CertificateDoc {
  Name: string;
  Type: 'Server' | 'CA';
  CertPem: string;
  KeyPem?: string;
  CommonName: string;
  Sans: string[];
  NotBefore: string;
  NotAfter: string;
  Fingerprint: string;
  CreateTime: string;
}
