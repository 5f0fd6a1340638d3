/**
 * `HealthCheckConfig.*` as CreateServerGroup and UpdateServerGroupAttribute declare it, and the
 * rules a declaration cannot state: the interval range that depends on the check type, the
 * URL and domain syntax (answered with the reference's own, oddly spelled codes), and the
 * any-port conflict. Fields are declared without defaults so an update can tell "not sent"
 * from "sent"; `resolveHealthCheck` lays what was sent over the current (or default) config.
 */
import { ApiError, errors } from '../../gateway/errors.js';
import type { DecodedFields } from '../../gateway/params/spec.js';
import { p } from '../../gateway/params/spec.js';
import type { HealthCheckDoc } from '../../domain/nlb-documents.js';

export const HEALTH_CHECK_TYPES = ['TCP', 'HTTP', 'UDP'] as const;
export const HEALTH_CHECK_HTTP_CODES = ['http_2xx', 'http_3xx', 'http_4xx', 'http_5xx'] as const;

const healthCheckFields = {
  HealthCheckEnabled: p.boolean(),
  HealthCheckType: p.string({ enum: HEALTH_CHECK_TYPES, caseInsensitive: true }),
  HealthCheckConnectPort: p.integer({ min: 0, max: 65535 }),
  HealthCheckConnectTimeout: p.integer({ min: 1, max: 300 }),
  // 1–300 is the widest (UDP) range; TCP/HTTP checks stop at 50 (checked in resolveHealthCheck).
  HealthCheckInterval: p.integer({ min: 1, max: 300 }),
  HealthyThreshold: p.integer({ min: 2, max: 10 }),
  UnhealthyThreshold: p.integer({ min: 2, max: 10 }),
  HealthCheckUrl: p.string(),
  HealthCheckDomain: p.string(),
  HealthCheckHttpCode: p.list(p.string({ enum: HEALTH_CHECK_HTTP_CODES, caseInsensitive: true }), { maxItems: 4 }),
  HttpCheckMethod: p.string({ enum: ['GET', 'HEAD'], caseInsensitive: true }),
  HealthCheckHttpVersion: p.string({ enum: ['HTTP1.0', 'HTTP1.1'], caseInsensitive: true }),
  HealthCheckReq: p.string({ minLength: 1, maxLength: 512, pattern: /^[A-Za-z0-9]+$/ }),
  HealthCheckExp: p.string({ minLength: 1, maxLength: 512, pattern: /^[A-Za-z0-9]+$/ }),
};

export const healthCheckConfigParam = p.object(healthCheckFields);

export type HealthCheckInput = DecodedFields<typeof healthCheckFields>;

/**
 * What a group gets when HealthCheckConfig leaves a field out. The reference disagrees on the
 * interval (SDK text 5 s, older metadata 10 s); the newer SDK text wins: 5 s.
 */
export const DEFAULT_HEALTH_CHECK: HealthCheckDoc = {
  HealthCheckEnabled: true,
  HealthCheckType: 'TCP',
  HealthCheckConnectPort: 0,
  HealthCheckConnectTimeout: 5,
  HealthCheckInterval: 5,
  HealthyThreshold: 2,
  UnhealthyThreshold: 2,
  HealthCheckHttpCode: [],
};

/** HTTP checks need a target; these fill whatever an HTTP config leaves out. */
const HTTP_DEFAULTS = {
  HealthCheckUrl: '/',
  HealthCheckDomain: '$SERVER_IP',
  HttpCheckMethod: 'GET',
  HealthCheckHttpVersion: 'HTTP1.0',
  HealthCheckHttpCode: ['http_2xx'],
};

/**
 * Which characters a health-check path may carry. CreateServerGroup documents a narrow set,
 * UpdateServerGroupAttribute a wider one (query strings with `=`, and more punctuation).
 */
const URL_PATTERNS = {
  create: /^\/[A-Za-z0-9\-/.%?#&]{0,79}$/,
  update: /^\/[A-Za-z0-9\-/.%?#&=_;~!()*[\]@$^:',+]{0,79}$/,
};

const DOMAIN_PATTERN = /^[A-Za-z0-9.-]{1,80}$/;

export interface HealthCheckContext {
  /** Which operation's URL character set applies. */
  operation: 'create' | 'update';
  /** Backend protocol of the group: a UDP check needs UDP backends. */
  protocol: string;
  anyPortEnabled: boolean;
}

/** `base` with the sent fields laid over it, validated as a whole. Throws the reference's codes. */
export function resolveHealthCheck(base: HealthCheckDoc, input: HealthCheckInput | undefined, context: HealthCheckContext): HealthCheckDoc {
  const sent = input ?? ({} as HealthCheckInput);
  checkHttpFields(sent, context.operation);

  const merged: HealthCheckDoc = { ...base, HealthCheckHttpCode: [...base.HealthCheckHttpCode] };
  for (const [key, value] of Object.entries(sent) as Array<[keyof HealthCheckInput, unknown]>) {
    if (value !== undefined) (merged as unknown as Record<string, unknown>)[key] = value;
  }
  if (sent.HealthCheckHttpCode !== undefined) merged.HealthCheckHttpCode = [...new Set(sent.HealthCheckHttpCode)];

  if (merged.HealthCheckType === 'HTTP') {
    merged.HealthCheckUrl ??= HTTP_DEFAULTS.HealthCheckUrl;
    merged.HealthCheckDomain ??= HTTP_DEFAULTS.HealthCheckDomain;
    merged.HttpCheckMethod ??= HTTP_DEFAULTS.HttpCheckMethod;
    merged.HealthCheckHttpVersion ??= HTTP_DEFAULTS.HealthCheckHttpVersion;
    if (merged.HealthCheckHttpCode.length === 0) merged.HealthCheckHttpCode = [...HTTP_DEFAULTS.HealthCheckHttpCode];
  }

  if (merged.HealthCheckType !== 'UDP' && merged.HealthCheckInterval > 50) {
    throw errors.illegalParam('HealthCheckInterval', 'TCP and HTTP health checks allow an interval of 1 to 50 seconds.');
  }
  if (merged.HealthCheckType === 'UDP' && context.protocol === 'TCP') {
    throw errors.illegalParam('HealthCheckType', 'A UDP health check needs a UDP or TCP_UDP server group.');
  }
  if (context.anyPortEnabled && merged.HealthCheckEnabled && merged.HealthCheckConnectPort === 0) {
    // Any-port servers have port 0, so the check cannot fall back to "the server's port".
    throw new ApiError(
      'IllegalParam.AnyPortServerGroupConflictWithHealthCheckConfig',
      'The param of AnyPortServerGroupConflictWithHealthCheckConfig is illegal. ' +
        'A server group with AnyPortEnabled needs HealthCheckConfig.HealthCheckConnectPort (1-65535) or health checks disabled.',
    );
  }
  return merged;
}

function checkHttpFields(sent: HealthCheckInput, operation: 'create' | 'update'): void {
  if (sent.HealthCheckUrl !== undefined && !URL_PATTERNS[operation].test(sent.HealthCheckUrl)) {
    // The reference spells this code with "Illeagal" (sic); clients match it verbatim.
    throw new ApiError('IlleagalParam.healthCheckUrl', 'The parameter of healthCheckUrl in healthCheckConfig is illegal.');
  }
  const domain = sent.HealthCheckDomain;
  if (domain !== undefined && domain !== '$SERVER_IP' && !DOMAIN_PATTERN.test(domain)) {
    throw new ApiError('IllegalParam.healthCheckDomain', 'The parameter of healthCheckConfig.healthCheckDomain is illegal.');
  }
}
