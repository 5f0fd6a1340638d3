/**
 * The HTTP status and message an injected error code answers with. Codes the NLB/GWLB
 * references document are answered as documented (the API metadata gives SystemBusy and
 * Conflict.Lock HTTP 400, not 503/409); a family such as `OperationFailed.X` fills the
 * family's message with X. A code OpenSLB does not know gets 400 and a plain message unless the
 * rule names both. `%s` in a message becomes the call's resource ID.
 */

interface Known {
  status: number;
  message: string;
}

const EXACT: Readonly<Record<string, Known>> = {
  SystemBusy: { status: 400, message: 'System is busy, please try again later.' },
  'Throttling.User': { status: 400, message: 'Request was denied due to api flow control.' },
  Throttling: { status: 400, message: 'Request was denied due to flow control.' },
  'Conflict.Lock': { status: 400, message: 'The Lock [%s] is conflict.' },
  ServiceUnavailable: { status: 503, message: 'The request has failed due to a temporary failure of the server.' },
  InternalError: { status: 500, message: 'The request processing has failed due to some unknown error.' },
  'IncorrectBusinessStatus.LoadBalancer': {
    status: 400,
    message: 'The business status of LoadBalancer [%s] is incorrect.',
  },
};

/** `Family.Suffix` codes: the message uses the suffix (and `%s` the resource). */
const FAMILIES: ReadonlyArray<[prefix: string, status: number, message: (suffix: string) => string]> = [
  ['OperationFailed.', 400, (x) => `The operation failed because of ${x}.`],
  ['OperationDenied.', 400, (x) => `The operation is not allowed because of ${x}.`],
  ['IncorrectStatus.', 400, (x) => `The status of ${x} [%s] is incorrect.`],
  ['IncorrectBusinessStatus.', 400, (x) => `The business status of ${x} [%s] is incorrect.`],
  ['ResourceInConfiguring.', 400, (x) => `The specified resource of ${x} is being configured, please try again later.`],
  ['ResourceNotFound.', 404, (x) => `The specified resource of ${x} is not found.`],
  ['QuotaExceeded.', 400, (x) => `The quota of ${x} is exceeded.`],
  ['Throttling.', 400, () => 'Request was denied due to flow control.'],
];

export interface InjectedError {
  code: string;
  httpStatus: number;
  message: string;
}

export function injectedError(
  effect: { code: string; httpStatus?: number; message?: string },
  resourceId: string | undefined,
): InjectedError {
  let known: Known | undefined = EXACT[effect.code];
  if (!known) {
    const family = FAMILIES.find(([prefix]) => effect.code.startsWith(prefix) && effect.code.length > prefix.length);
    if (family) known = { status: family[1], message: family[2](effect.code.slice(family[0].length)) };
  }
  const template = effect.message ?? known?.message ?? `The request has failed: ${effect.code}.`;
  return {
    code: effect.code,
    httpStatus: effect.httpStatus ?? known?.status ?? 400,
    message: template.replaceAll('%s', resourceId ?? 'unknown'),
  };
}

/** The ID a call is about: the first parameter that names a resource (…Id or ResourceId.N). */
export function callResourceId(params: Readonly<Record<string, string>>): string | undefined {
  for (const [name, value] of Object.entries(params)) {
    if (/(Id|Id\.\d+)$/.test(name) && !/^(RegionId|AccessKeyId|ZoneId|VpcId|ClientToken|SignatureNonce)$/.test(name) && value) {
      return value;
    }
  }
  return undefined;
}
