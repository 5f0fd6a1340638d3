/**
 * A GWLB server group's `HealthCheckConfig.*` and `ConnectionDrainConfig.*` (gwlb-api §3.0).
 * Appliances are checked outside the tunnel, by TCP SYN or HTTP GET on HealthCheckConnectPort.
 * Fields are declared without defaults so UpdateServerGroupAttribute can tell "not sent" from
 * "sent"; `resolveHealthCheck` lays what was sent over the current (or default) config.
 *
 * A `0` in an integer field is "not set": Terraform's provider sends 0 for every integer of a
 * partial `health_check_config` block, and every range here starts above 0, so a 0 can mean
 * nothing else (the provider's acceptance tests read back the defaults for those fields).
 *
 * Unlike NLB, GWLB names the fields HealthCheckProtocol and HealthCheckPath, allows TCP and
 * HTTP only, and has no "server's own port" fallback (port 1–65535, default 80).
 */
import type { DecodedFields } from '../../gateway/params/spec.js';
import { p } from '../../gateway/params/spec.js';
import type { GwlbHealthCheckDoc, GwlbServerGroupDoc } from '../../domain/gwlb-documents.js';

const HTTP_CODES = ['http_2xx', 'http_3xx', 'http_4xx', 'http_5xx'] as const;

/** `$SERVER_IP` (the appliance's own address) or a 1–80 character domain. */
const DOMAIN = /^(\$SERVER_IP|[A-Za-z0-9.-]{1,80})$/;

/** 1–80 characters from `/`: letters, digits, `- / . % ? # &` and the extended `_ ; ~ ! ( ) * [ ] @ $ ^ : " , + =`. */
const PATH = /^\/[A-Za-z0-9\-/.%?#&_;~!()*[\]@$^:",+=]{0,79}$/;

const healthCheckFields = {
  HealthCheckEnabled: p.boolean(),
  HealthCheckProtocol: p.string({ enum: ['TCP', 'HTTP'], caseInsensitive: true }),
  HealthCheckConnectPort: p.integer({ min: 1, max: 65535, zeroIsUnset: true }),
  HealthCheckConnectTimeout: p.integer({ min: 1, max: 300, zeroIsUnset: true }),
  HealthCheckInterval: p.integer({ min: 1, max: 50, zeroIsUnset: true }),
  HealthyThreshold: p.integer({ min: 2, max: 10, zeroIsUnset: true }),
  UnhealthyThreshold: p.integer({ min: 2, max: 10, zeroIsUnset: true }),
  HealthCheckDomain: p.string({ pattern: DOMAIN }),
  HealthCheckPath: p.string({ pattern: PATH }),
  HealthCheckHttpCode: p.list(p.string({ enum: HTTP_CODES, caseInsensitive: true }), { maxItems: 4 }),
};

export const healthCheckConfigParam = p.object(healthCheckFields);

export const connectionDrainConfigParam = p.object({
  ConnectionDrainEnabled: p.boolean(),
  ConnectionDrainTimeout: p.integer({ min: 1, max: 3600, zeroIsUnset: true }),
});

type HealthCheckInput = DecodedFields<typeof healthCheckFields>;
type DrainInput = { ConnectionDrainEnabled?: boolean; ConnectionDrainTimeout?: number };
type DrainConfig = GwlbServerGroupDoc['ConnectionDrainConfig'];

export const DEFAULT_HEALTH_CHECK: GwlbHealthCheckDoc = {
  HealthCheckEnabled: true,
  HealthCheckProtocol: 'TCP',
  HealthCheckConnectPort: 80,
  HealthCheckConnectTimeout: 5,
  HealthCheckInterval: 10,
  HealthyThreshold: 2,
  UnhealthyThreshold: 2,
  HealthCheckDomain: '$SERVER_IP',
  // Not documented; an HTTP check needs a path, and `/` is what the console offers.
  HealthCheckPath: '/',
  HealthCheckHttpCode: ['http_2xx'],
};

/** Draining is off by default; its timeout defaults to 300 s. */
export const DEFAULT_DRAIN: DrainConfig = { ConnectionDrainEnabled: false, ConnectionDrainTimeout: 300 };

/** `base` with every sent field laid over it. */
export function resolveHealthCheck(base: GwlbHealthCheckDoc, sent: HealthCheckInput | undefined): GwlbHealthCheckDoc {
  const merged: GwlbHealthCheckDoc = { ...base, HealthCheckHttpCode: [...base.HealthCheckHttpCode] };
  for (const [key, value] of Object.entries(sent ?? {})) {
    if (value !== undefined) (merged as unknown as Record<string, unknown>)[key] = value;
  }
  if (sent?.HealthCheckHttpCode?.length) merged.HealthCheckHttpCode = [...new Set(sent.HealthCheckHttpCode)];
  return merged;
}

export function resolveDrain(base: DrainConfig, sent: DrainInput | undefined): DrainConfig {
  return {
    ConnectionDrainEnabled: sent?.ConnectionDrainEnabled ?? base.ConnectionDrainEnabled,
    ConnectionDrainTimeout: sent?.ConnectionDrainTimeout ?? base.ConnectionDrainTimeout,
  };
}

/** ListServerGroups shows the whole config, the HTTP-only fields included. */
export function renderHealthCheck(doc: GwlbHealthCheckDoc) {
  return {
    HealthCheckEnabled: doc.HealthCheckEnabled,
    HealthCheckProtocol: doc.HealthCheckProtocol,
    HealthCheckConnectPort: doc.HealthCheckConnectPort,
    HealthCheckConnectTimeout: doc.HealthCheckConnectTimeout,
    HealthCheckInterval: doc.HealthCheckInterval,
    HealthyThreshold: doc.HealthyThreshold,
    UnhealthyThreshold: doc.UnhealthyThreshold,
    HealthCheckDomain: doc.HealthCheckDomain,
    HealthCheckPath: doc.HealthCheckPath,
    HealthCheckHttpCode: [...doc.HealthCheckHttpCode],
  };
}
