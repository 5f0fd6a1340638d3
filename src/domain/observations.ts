/**
 * What data-plane nodes write back to the store (`observations` rows: node, object, state,
 * reason) and the API reads: whether a listener is bound, and each backend's health verdict.
 */

/** A listener (or GWLB listener) a node runs as asked. */
export const BOUND = 'bound' as const;
/** A listener a node could not run; the row's reason says why (e.g. the port is taken). */
export const FAILED = 'failed' as const;

/** A backend's health verdict, as one node's checker saw it. */
export const HEALTHY = 'healthy' as const;
export const UNHEALTHY = 'unhealthy' as const;

export type ObservationState = typeof BOUND | typeof FAILED | typeof HEALTHY | typeof UNHEALTHY;

/**
 * The object a backend's health verdict is recorded under:
 * `health:<serverGroupId>/<serverIp>:<port>` (port as configured; 0 for any-port groups).
 */
export function healthObservationKey(serverGroupId: string, serverIp: string, port: number): string {
  return `health:${serverGroupId}/${serverIp}:${port}`;
}
