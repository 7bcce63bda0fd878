/**
 * The ACME vocabulary: resources and their fields as RFC 8555 §7.1 names them, plus ARI
 * (RFC 9773 §4.2) and the email-reply-00 challenge fields (RFC 8823 §3).
 *
 * These types describe what this client *accepts* after validation (see ./parse.ts), not raw
 * server JSON. Statuses are string-literal unions; a status the RFC does not define becomes
 * `'unknown'` (with the raw string kept next to it) rather than a crash, so a server that adds
 * a state never breaks a running enrollment.
 */

/** RFC 8555 §7.1.6, the account object's statuses. */
export type AccountStatus = 'valid' | 'deactivated' | 'revoked' | 'unknown';
/** RFC 8555 §7.1.6, the order object's statuses. */
export type OrderStatus = 'pending' | 'ready' | 'processing' | 'valid' | 'invalid' | 'unknown';
/** RFC 8555 §7.1.6, the authorization object's statuses. */
export type AuthorizationStatus = 'pending' | 'valid' | 'invalid' | 'deactivated' | 'expired' | 'revoked' | 'unknown';
/** RFC 8555 §7.1.6, the challenge object's statuses. */
export type ChallengeStatus = 'pending' | 'processing' | 'valid' | 'invalid' | 'unknown';

export const ACCOUNT_STATUSES: readonly AccountStatus[] = ['valid', 'deactivated', 'revoked'];
export const ORDER_STATUSES: readonly OrderStatus[] = ['pending', 'ready', 'processing', 'valid', 'invalid'];
export const AUTHORIZATION_STATUSES: readonly AuthorizationStatus[] = ['pending', 'valid', 'invalid', 'deactivated', 'expired', 'revoked'];
export const CHALLENGE_STATUSES: readonly ChallengeStatus[] = ['pending', 'processing', 'valid', 'invalid'];

/**
 * RFC 8555 §9.7.7 identifier types this client knows; RFC 8823 §2 adds `email`, RFC 8738 `ip`.
 * Other types pass through as plain strings.
 */
export type IdentifierType = 'dns' | 'ip' | 'email' | (string & {});

/** RFC 8555 §7.1.3/§7.1.4: `{type, value}`. */
export interface Identifier {
  readonly type: IdentifierType;
  readonly value: string;
}

/** RFC 8555 §6.7 problem document (RFC 7807), with §6.7.1 subproblems. */
export interface Problem {
  /** Full URN, e.g. `urn:ietf:params:acme:error:badNonce`; `about:blank` when absent (RFC 7807 §4.2). */
  readonly type: string;
  readonly detail?: string;
  readonly title?: string;
  readonly status?: number;
  readonly instance?: string;
  readonly identifier?: Identifier;
  readonly subproblems?: readonly Problem[];
  /** Every member as the server sent it, including extensions (e.g. Boulder's `algorithms`). */
  readonly raw: Readonly<Record<string, unknown>>;
}

/** RFC 8555 §7.1.1 `meta`, plus RFC 9773 and the draft profiles field kept as data. */
export interface DirectoryMeta {
  readonly termsOfService?: string;
  readonly website?: string;
  readonly caaIdentities?: readonly string[];
  readonly externalAccountRequired?: boolean;
}

/** RFC 8555 §7.1.1; `renewalInfo` from RFC 9773 §4. */
export interface Directory {
  readonly newNonce: string;
  readonly newAccount: string;
  readonly newOrder: string;
  readonly revokeCert: string;
  readonly keyChange: string;
  readonly newAuthz?: string;
  readonly renewalInfo?: string;
  readonly meta: DirectoryMeta;
}

/** RFC 8555 §7.1.2. `url` is the resource's identity (the Location of newAccount). */
export interface Account {
  readonly url: string;
  readonly status: AccountStatus;
  readonly rawStatus: string;
  readonly contact: readonly string[];
  readonly termsOfServiceAgreed?: boolean;
  readonly orders?: string;
  readonly raw: Readonly<Record<string, unknown>>;
}

/** RFC 8555 §7.1.3. */
export interface Order {
  readonly url: string;
  readonly status: OrderStatus;
  readonly rawStatus: string;
  readonly expires?: string;
  readonly identifiers: readonly Identifier[];
  readonly notBefore?: string;
  readonly notAfter?: string;
  readonly error?: Problem;
  readonly authorizations: readonly string[];
  readonly finalize: string;
  readonly certificate?: string;
  /** Retry-After of the response this state came from, in milliseconds (RFC 8555 §7.4). */
  readonly retryAfterMs?: number;
  readonly raw: Readonly<Record<string, unknown>>;
}

/** The request a response or an error belongs to. */
export interface RequestInfo {
  readonly method: string;
  readonly url: string;
}

/** Checks and resolves a URL the server sent (https, absolute); `what` names it in the error. */
export type UrlCheck = (value: string, what: string) => string;

/**
 * Fields every challenge carries (RFC 8555 §8). Type-specific fields (a token, the RFC 8823
 * `from`) come from a `ChallengePlugin`; a type no plug-in knows stays a `ChallengeBase` with
 * `known: false` and its members in `raw` — data, never an error.
 */
export interface ChallengeBase {
  readonly type: string;
  readonly url: string;
  readonly status: ChallengeStatus;
  readonly rawStatus: string;
  readonly validated?: string;
  readonly error?: Problem;
  /** True when a registered plug-in parsed the type-specific fields. */
  readonly known: boolean;
  readonly raw: Readonly<Record<string, unknown>>;
}

/**
 * A challenge plug-in: reads the type-specific members of one challenge type. The core knows
 * none of them; ./challenges.ts has the token types, ./challenges/email-reply.ts RFC 8823's.
 */
export interface ChallengePlugin<T extends ChallengeBase = ChallengeBase> {
  readonly type: string;
  /** Adds the type's fields to `base`; throws AcmeProtocolError when a required one is wrong. */
  parse(base: ChallengeBase, raw: Readonly<Record<string, unknown>>, request: RequestInfo): T;
}

/** What reading an authorization needs: one challenge object in, parsed (or kept as data) out. */
export interface ChallengeParser {
  parse(raw: Readonly<Record<string, unknown>>, request: RequestInfo, checkUrl: UrlCheck): ChallengeBase;
}

/** RFC 8555 §7.1.4. */
export interface Authorization {
  readonly url: string;
  readonly identifier: Identifier;
  readonly status: AuthorizationStatus;
  readonly rawStatus: string;
  readonly expires?: string;
  readonly challenges: readonly ChallengeBase[];
  readonly wildcard?: boolean;
  readonly retryAfterMs?: number;
  readonly raw: Readonly<Record<string, unknown>>;
}

/** RFC 8555 §7.4.2: one certificate chain as PEM, the first block being the end-entity cert. */
export interface CertificateChain {
  readonly url: string;
  readonly pem: string;
  /** DER of each certificate in order: end-entity first. */
  readonly certificates: readonly Uint8Array<ArrayBuffer>[];
}

/** RFC 8555 §7.4.2 download result: the default chain and the URLs of alternates (Link rel="alternate"). */
export interface CertificateDownload extends CertificateChain {
  readonly alternates: readonly string[];
}

/** RFC 8555 §7.6 `reason`: the shared vocabulary's (its codes by name: REVOCATION_REASONS there). */
export type { RevocationReason } from '../common/vocabulary';

/** RFC 9773 §4.2 renewalInfo response. */
export interface RenewalInfo {
  readonly suggestedWindow: { readonly start: Date; readonly end: Date };
  readonly explanationURL?: string;
  /** Retry-After of the response, in milliseconds: when to ask again (RFC 9773 §4.3). */
  readonly retryAfterMs?: number;
}
