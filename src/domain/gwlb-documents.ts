/**
 * The GWLB resource documents as stored (resources.body, product 'gwlb'); status lives in
 * the row's status column. Field names follow the GWLB 2024-04-15 responses. The API
 * (products/gwlb) writes these shapes; the GENEVE data plane reads them.
 */

export interface GwlbZoneMappingDoc {
  ZoneId: string;
  VSwitchId: string;
  /** The VIP OpenSLB allocated from the vSwitch pool: GENEVE (UDP 6081) is received here. */
  PrivateIpv4Address: string;
  EniId: string;
}

export interface GwlbLoadBalancerDoc {
  LoadBalancerName?: string;
  AddressIpVersion: string; // ipv4
  VpcId: string;
  ZoneMappings: GwlbZoneMappingDoc[];
  CrossZoneEnabled: boolean;
  /** LoadBalance (default when absent): through the appliances; ByPass: straight back to the endpoint. */
  TrafficMode?: string;
  ResourceGroupId: string;
  DeletionProtectionEnabled?: boolean;
  CreateTime: string;
}

export interface GwlbListenerDoc {
  LoadBalancerId: string;
  ServerGroupId: string;
  ListenerDescription?: string;
  /** Seconds; default 350; a non-default value needs the 5TCH scheduler. */
  TcpIdleTimeout: number;
  CreateTime: string;
}

export interface GwlbHealthCheckDoc {
  HealthCheckEnabled: boolean;
  HealthCheckProtocol: string; // TCP | HTTP
  HealthCheckConnectPort: number;
  HealthCheckConnectTimeout: number;
  HealthCheckInterval: number;
  HealthyThreshold: number;
  UnhealthyThreshold: number;
  HealthCheckDomain?: string;
  HealthCheckPath?: string;
  HealthCheckHttpCode: string[];
}

export interface GwlbServerDoc {
  ServerId: string;
  ServerType: string; // Ecs | Eni | Eci | Ip
  ServerIp: string;
  Port: number; // always 6081
  ZoneId?: string;
  /** Adding | Available | Draining | Removing | Replacing */
  Status: string;
  /**
   * While Draining: epoch ms after which the server is gone (removed with connection draining
   * on; existing flows may continue until then, new flows never reach it). A Draining server
   * past its deadline counts as removed everywhere, even before a later write drops it.
   */
  DrainDeadline?: number;
}

export interface GwlbServerGroupDoc {
  ServerGroupName: string;
  ServerGroupType: string; // Instance | Ip
  Protocol: string; // GENEVE
  Scheduler: string; // 5TCH | 3TCH | 2TCH
  /** NoRebalance (default when absent): existing flows stay on a failed appliance; Rebalance: they move. */
  ServerFailoverMode?: string;
  VpcId: string;
  HealthCheckConfig: GwlbHealthCheckDoc;
  ConnectionDrainConfig: { ConnectionDrainEnabled: boolean; ConnectionDrainTimeout: number };
  ResourceGroupId: string;
  Servers: GwlbServerDoc[];
  CreateTime: string;
}
