/**
 * ACME problem documents (RFC 8555 §6.7, RFC 7807) as the sandbox CA sends them. Each error type
 * has the HTTP status real CAs (Boulder, Pebble) use for it, so a client that branches on status
 * codes sees what it would see in production.
 */

export type AcmeErrorType =
  | 'accountDoesNotExist' | 'alreadyRevoked' | 'badCSR' | 'badNonce' | 'badPublicKey'
  | 'badRevocationReason' | 'badSignatureAlgorithm' | 'externalAccountRequired'
  | 'incorrectResponse' | 'invalidContact' | 'malformed' | 'orderNotReady' | 'rateLimited'
  | 'rejectedIdentifier' | 'serverInternal' | 'unauthorized' | 'unsupportedContact'
  | 'unsupportedIdentifier' | 'userActionRequired';

const DEFAULT_STATUS: Record<AcmeErrorType, number> = {
  accountDoesNotExist: 400, alreadyRevoked: 400, badCSR: 400, badNonce: 400, badPublicKey: 400,
  badRevocationReason: 400, badSignatureAlgorithm: 400,
  // Not 401: RFC 9110 §15.5.2 would then require a WWW-Authenticate challenge, which ACME has none of.
  externalAccountRequired: 403,
  incorrectResponse: 403, invalidContact: 400, malformed: 400, orderNotReady: 403, rateLimited: 429,
  rejectedIdentifier: 400, serverInternal: 500, unauthorized: 403, unsupportedContact: 400,
  unsupportedIdentifier: 400, userActionRequired: 403,
};

export interface ProblemDocument {
  readonly type: string;
  readonly detail: string;
  readonly status: number;
  readonly identifier?: { readonly type: string; readonly value: string };
  readonly subproblems?: readonly ProblemDocument[];
  /** RFC 8555 §6.2: badSignatureAlgorithm lists what the server accepts. */
  readonly algorithms?: readonly string[];
}

/** Thrown inside request handlers; the server turns it into an application/problem+json answer. */
export class AcmeProblem extends Error {
  override readonly name = 'AcmeProblem';
  readonly status: number;
  /** Extra response headers (Retry-After, Link rel="terms-of-service", Location…). */
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    readonly type: AcmeErrorType,
    readonly detail: string,
    options: {
      status?: number;
      headers?: Record<string, string>;
      identifier?: { type: string; value: string };
      subproblems?: readonly ProblemDocument[];
      algorithms?: readonly string[];
      cause?: unknown;
    } = {},
  ) {
    super(`${type}: ${detail}`, options.cause === undefined ? undefined : { cause: options.cause });
    this.status = options.status ?? DEFAULT_STATUS[type];
    this.headers = options.headers ?? {};
    this.extra = {
      ...(options.identifier ? { identifier: options.identifier } : {}),
      ...(options.subproblems ? { subproblems: options.subproblems } : {}),
      ...(options.algorithms ? { algorithms: options.algorithms } : {}),
    };
  }

  private readonly extra: Partial<ProblemDocument>;

  toDocument(): ProblemDocument {
    return { type: `urn:ietf:params:acme:error:${this.type}`, detail: this.detail, status: this.status, ...this.extra };
  }
}

/** A problem document for one identifier, as a subproblem (RFC 8555 §6.7.1). */
export function subproblem(type: AcmeErrorType, detail: string, identifier: { type: string; value: string }): ProblemDocument {
  return { type: `urn:ietf:params:acme:error:${type}`, detail, status: DEFAULT_STATUS[type], identifier };
}
