/**
 * Every failure a caller can see is an ApiError: an Alibaba error code, a message and an HTTP
 * status. Anything else thrown inside a handler becomes 500 InternalError at the gateway.
 */
export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly httpStatus: number = 400,
    /** Extra fields merged into the error body, e.g. AccessDeniedDetail. */
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

// Constructors for the codes the reference names, with its message wording.
export const errors = {
  missingParam: (name: string) => new ApiError(`MissingParam.${name}`, `The parameter of ${name} is missing.`),
  illegalParam: (name: string, detail?: string) =>
    new ApiError(`IllegalParam.${name}`, `The param of ${name} is illegal.${detail ? ` ${detail}` : ''}`),
  illegalParamGeneric: (name: string) => new ApiError('IllegalParam', `The param of ${name} is illegal.`),
  illegalParamSize: (name: string, detail?: string) =>
    new ApiError(`IllegalParamSize.${name}`, `The size of param ${name} is illegal.${detail ? ` ${detail}` : ''}`),
  duplicatedParam: (name: string) => new ApiError(`DuplicatedParam.${name}`, `The param of ${name} is duplicated.`),
  notFound: (kind: string, id?: string) =>
    new ApiError(
      `ResourceNotFound.${kind}`,
      id ? `The specified resource ${kind} [${id}] is not found.` : `The specified resource of ${kind} is not found.`,
      404,
    ),
  incorrectStatus: (kind: string, id: string) => new ApiError(`IncorrectStatus.${kind}`, `The status of ${kind} [${id}] is incorrect.`),
  quotaExceeded: (name: string, usage: number, limit: number) =>
    new ApiError(`QuotaExceeded.${name}`, `The quota of ${name} is exceeded, usage ${usage}/${limit}.`),
  /** One code for every quota the cloud names only in the message. */
  quotaInsufficient: (quota: string, usage: number, limit: number) =>
    new ApiError('QuotaExceeded.QuotaInsufficient', `The quota of ${quota} is exceeded, usage ${usage}/${limit}.`),
  operationDenied: (reason: string, message?: string) =>
    new ApiError(`OperationDenied.${reason}`, message ?? `The operation is not allowed because of ${reason}.`),
  dryRun: () => new ApiError('DryRunOperation', 'Request validation has been passed with DryRun flag set.'),
  idempotenceMismatch: () =>
    new ApiError(
      'IdempotenceSignatureMismatch',
      'The idempotence token of request is same with the prev one, but the signature is different.',
    ),
  noPermission: (action: string, resource: string) =>
    new ApiError('Forbidden.NoPermission', 'Authentication is failed for NoPermission.', 403, {
      AccessDeniedDetail: { AuthAction: action, AuthResource: resource, NoPermissionType: 'ImplicitDeny' },
    }),
  // The cloud's wording for a temporary failure; clients and Terraform retry on 503.
  serviceUnavailable: () => new ApiError('ServiceUnavailable', 'The request has failed due to a temporary failure of the server.', 503),
  internal: () => new ApiError('InternalError', 'The request processing has failed due to some unknown error.', 500),
};
