/**
 * Errors of the ACME client, as classes a caller can branch on. RFC 8555 §6.7 problem documents
 * (RFC 7807) are kept whole — type, detail, status, instance, subproblems (§6.7.1) and every
 * extension member — together with the request that earned them. Nothing is flattened to a
 * string before the UI.
 */
import type { Problem, RequestInfo } from './types';

/** The ACME error URNs of RFC 8555 §6.7 (and RFC 8555 §7.3.3 for userActionRequired). */
export const ProblemTypes = {
  /** §6.7: the server will not accept this account's request (account deactivated, for example). */
  accountDoesNotExist: 'urn:ietf:params:acme:error:accountDoesNotExist',
  alreadyRevoked: 'urn:ietf:params:acme:error:alreadyRevoked',
  badCSR: 'urn:ietf:params:acme:error:badCSR',
  /** §6.5: retry with a fresh nonce. */
  badNonce: 'urn:ietf:params:acme:error:badNonce',
  badPublicKey: 'urn:ietf:params:acme:error:badPublicKey',
  badRevocationReason: 'urn:ietf:params:acme:error:badRevocationReason',
  badSignatureAlgorithm: 'urn:ietf:params:acme:error:badSignatureAlgorithm',
  caa: 'urn:ietf:params:acme:error:caa',
  compound: 'urn:ietf:params:acme:error:compound',
  connection: 'urn:ietf:params:acme:error:connection',
  dns: 'urn:ietf:params:acme:error:dns',
  /** §7.3.4: the CA wants an External Account Binding. */
  externalAccountRequired: 'urn:ietf:params:acme:error:externalAccountRequired',
  incorrectResponse: 'urn:ietf:params:acme:error:incorrectResponse',
  invalidContact: 'urn:ietf:params:acme:error:invalidContact',
  malformed: 'urn:ietf:params:acme:error:malformed',
  /** §7.4: finalize before every authorization is valid. */
  orderNotReady: 'urn:ietf:params:acme:error:orderNotReady',
  /** §6.6: come back after Retry-After. */
  rateLimited: 'urn:ietf:params:acme:error:rateLimited',
  rejectedIdentifier: 'urn:ietf:params:acme:error:rejectedIdentifier',
  serverInternal: 'urn:ietf:params:acme:error:serverInternal',
  tls: 'urn:ietf:params:acme:error:tls',
  unauthorized: 'urn:ietf:params:acme:error:unauthorized',
  unsupportedContact: 'urn:ietf:params:acme:error:unsupportedContact',
  unsupportedIdentifier: 'urn:ietf:params:acme:error:unsupportedIdentifier',
  /** §7.3.3: a human must visit `instance` (new terms of service, for example). */
  userActionRequired: 'urn:ietf:params:acme:error:userActionRequired',
} as const;

/** Where an error happened: the request that was being made. */
export type { RequestInfo };

/** Base class of every error this module throws. */
export class AcmeError extends Error {
  override readonly name: string = 'AcmeError';
  readonly request: RequestInfo | undefined;
  constructor(message: string, request?: RequestInfo, options?: ErrorOptions) {
    super(message, options);
    this.request = request;
  }
}

/** The server answered with an RFC 8555 §6.7 problem document. */
export class AcmeProblemError extends AcmeError {
  override readonly name: string = 'AcmeProblemError';
  /** HTTP status of the response. */
  readonly httpStatus: number;
  /** Retry-After of the response in milliseconds, when it had one. */
  readonly retryAfterMs: number | undefined;
  /** Link rel="terms-of-service" of the response, when it had one (§7.3.3). */
  readonly termsOfService: string | undefined;
  constructor(
    readonly problem: Problem,
    request: RequestInfo,
    details: { httpStatus: number; retryAfterMs?: number | undefined; termsOfService?: string | undefined },
  ) {
    super(`${problem.type}${problem.detail === undefined ? '' : `: ${problem.detail}`} (${request.method} ${request.url})`, request);
    this.httpStatus = details.httpStatus;
    this.retryAfterMs = details.retryAfterMs;
    this.termsOfService = details.termsOfService;
  }
}

/** §6.5: the nonce was refused. Retried automatically (bounded); seen only when retries ran out. */
export class BadNonceError extends AcmeProblemError {
  override readonly name = 'BadNonceError';
}

/** §6.6: too many requests; `retryAfterMs` says when to come back (undefined if the server did not). */
export class RateLimitedError extends AcmeProblemError {
  override readonly name = 'RateLimitedError';
}

/** §7.3.3: a person must act, usually agree to new terms at `problem.instance`. */
export class UserActionRequiredError extends AcmeProblemError {
  override readonly name = 'UserActionRequiredError';
  /** The page the person must visit: `instance`, else the terms-of-service link. */
  get actionUrl(): string | undefined {
    return this.problem.instance ?? this.termsOfService;
  }
}

export class UnauthorizedError extends AcmeProblemError {
  override readonly name = 'UnauthorizedError';
}

export class MalformedError extends AcmeProblemError {
  override readonly name = 'MalformedError';
}

/** §7.3.1 with onlyReturnExisting: no account exists for this key. */
export class AccountDoesNotExistError extends AcmeProblemError {
  override readonly name = 'AccountDoesNotExistError';
}

/** §7.3.4: the CA requires External Account Binding and none (or a wrong one) was sent. */
export class ExternalAccountRequiredError extends AcmeProblemError {
  override readonly name = 'ExternalAccountRequiredError';
}

/** A 5xx answer (serverInternal or a bare 5xx). Retried with back-off (bounded) before it is thrown. */
export class ServerInternalError extends AcmeProblemError {
  override readonly name = 'ServerInternalError';
}

/** `fetch` itself failed (DNS, TCP, TLS). Retried (bounded) before it is thrown; `cause` holds the original. */
export class AcmeNetworkError extends AcmeError {
  override readonly name = 'AcmeNetworkError';
}

/** What the server did wrong, for AcmeProtocolError. */
export type ProtocolViolation =
  | 'not-json'
  | 'wrong-content-type'
  | 'body-too-large'
  | 'missing-location'
  | 'missing-nonce'
  | 'invalid-field'
  | 'unexpected-status';

/** The server broke the protocol: its answer cannot be trusted or used. Never retried. */
export class AcmeProtocolError extends AcmeError {
  override readonly name = 'AcmeProtocolError';
  constructor(
    readonly violation: ProtocolViolation,
    message: string,
    request?: RequestInfo,
    readonly httpStatus?: number,
    options?: ErrorOptions,
  ) {
    super(`server broke the ACME protocol (${violation}): ${message}${request ? ` (${request.method} ${request.url})` : ''}`, request, options);
  }
}

/** The caller's deadline passed while waiting for a resource; `lastState` is what was seen last. */
export class AcmeTimeoutError<T = unknown> extends AcmeError {
  override readonly name = 'AcmeTimeoutError';
  constructor(
    message: string,
    readonly lastState: T | undefined,
    request?: RequestInfo,
  ) {
    super(message, request);
  }
}

/** The caller's AbortSignal fired; `cause` is the signal's reason. */
export class AcmeAbortError extends AcmeError {
  override readonly name = 'AcmeAbortError';
}

/** An order or authorization reached a final state other than the one wanted (usually `invalid`). */
export class AcmeResourceFailedError<T = unknown> extends AcmeError {
  override readonly name = 'AcmeResourceFailedError';
  constructor(
    message: string,
    readonly resource: T,
    /** The problem the server attached to the resource or to its failed challenge. */
    readonly problem: Problem | undefined,
    request?: RequestInfo,
  ) {
    super(message, request);
  }
}

/** A key, JWK or option given by the caller cannot be used. */
export class AcmeUsageError extends AcmeError {
  override readonly name = 'AcmeUsageError';
}

/** The class for a problem document: the specific one for the types a caller branches on. */
export function problemErrorClass(type: string, httpStatus: number): typeof AcmeProblemError {
  switch (type) {
    case ProblemTypes.badNonce:
      return BadNonceError;
    case ProblemTypes.rateLimited:
      return RateLimitedError;
    case ProblemTypes.userActionRequired:
      return UserActionRequiredError;
    case ProblemTypes.unauthorized:
      return UnauthorizedError;
    case ProblemTypes.malformed:
      return MalformedError;
    case ProblemTypes.accountDoesNotExist:
      return AccountDoesNotExistError;
    case ProblemTypes.externalAccountRequired:
      return ExternalAccountRequiredError;
    case ProblemTypes.serverInternal:
      return ServerInternalError;
    default:
      return httpStatus >= 500 ? ServerInternalError : AcmeProblemError;
  }
}
