/**
 * The enrollment flow's view of the world: narrow ports the state machine is given, so that it
 * runs the same in Thunderbird (adapters in src/background/), in Node and in tests (fakes).
 * Each port says what the flow needs, in the flow's words; the adapters translate from
 * src/acme, src/messages, src/pkcs12 and messenger.*.
 */
import type { RefusalReason } from '../messages/reasons';
import type { ErrorCode } from './state';
import type { RefusalCode } from './vocabulary';

/** Key types, usage, token join and revocation reasons: the shared protocol vocabulary, defined once there. */
import type { KeyType, RevocationReason, TokenJoin, Usage } from '../common/vocabulary';
export type { KeyType, RevocationReason, TokenJoin, Usage };
export { KEY_TYPES, REVOCATION_REASON_CODES, USAGES } from '../common/vocabulary';
/** The option: a join, or `auto` — found per CA (string first, the other after a refused reply, remembered). */
export type TokenJoinSetting = TokenJoin | 'auto';

/** Why src/messages refused a mail (src/messages/reasons.ts); the flow adds its own codes (./vocabulary.ts). */
export type { RefusalReason };

/** RFC 8555 §6.7 problem document as the UI needs it: kept whole, never flattened to a string. */
export interface ProblemInfo {
  readonly type: string;
  readonly detail?: string;
  readonly status?: number;
  readonly instance?: string;
  /** A subproblem's identifier (RFC 8555 §6.7.1): which address it is about. */
  readonly identifier?: { readonly type: string; readonly value: string };
  readonly subproblems?: readonly ProblemInfo[];
}

/**
 * How a port failure should be treated by the flow:
 * - `transient`: network loss, 5xx, bad nonce after the client's own retries — try again later;
 * - `rateLimited`: try again after `retryAfterMs`;
 * - `problem`: the CA refused (its problem document says why) — the enrollment fails;
 * - `userAction`: the CA wants the user to do something (terms, EAB) — fails with the link;
 * - `wrongPassphrase`: the passphrase does not open the stored key;
 * - `fatal`: anything else; the enrollment fails with the message.
 */
export type PortErrorKind = 'transient' | 'rateLimited' | 'problem' | 'userAction' | 'wrongPassphrase' | 'fatal';

/** The one error type ports throw; adapters wrap the core's typed errors in it, keeping the cause. */
export class PortError extends Error {
  override readonly name = 'PortError';
  readonly kind: PortErrorKind;
  readonly problem: ProblemInfo | undefined;
  readonly retryAfterMs: number | undefined;
  /** A link the user must follow (terms of service, an instance URL), when the CA gave one. */
  readonly link: string | undefined;

  constructor(
    kind: PortErrorKind,
    message: string,
    options: { cause?: unknown; problem?: ProblemInfo; retryAfterMs?: number; link?: string } = {},
  ) {
    super(message, { cause: options.cause });
    this.kind = kind;
    this.problem = options.problem;
    this.retryAfterMs = options.retryAfterMs;
    this.link = options.link;
  }
}

/** What the flow needs to know about a CA before it starts. */
export interface CaInfo {
  readonly termsOfService?: string;
  readonly website?: string;
  readonly externalAccountRequired: boolean;
  /** RFC 9773: the directory offers `renewalInfo`. */
  readonly renewalInfo: boolean;
}

export interface AccountRequest {
  readonly directoryUrl: string;
  readonly contact: readonly string[];
  /** True only when the user agreed to the terms shown to them (RFC 8555 §7.3). */
  readonly termsAgreed: boolean;
  readonly eab?: { readonly keyId: string; readonly hmacKey: string };
}

export interface OrderInfo {
  readonly url: string;
  readonly status: 'pending' | 'ready' | 'processing' | 'valid' | 'invalid' | 'unknown';
  readonly authorizations: readonly string[];
  readonly finalize: string;
  readonly certificate?: string;
  readonly error?: ProblemInfo;
  readonly retryAfterMs?: number;
}

/** The email-reply-00 challenge of an authorization (RFC 8823 §3). */
export interface EmailChallenge {
  readonly url: string;
  readonly status: 'pending' | 'processing' | 'valid' | 'invalid' | 'unknown';
  /** token-part2. */
  readonly token: string;
  /** The address the challenge mail will come from. */
  readonly from: string;
  readonly error?: ProblemInfo;
}

export interface AuthorizationInfo {
  readonly url: string;
  readonly status: 'pending' | 'valid' | 'invalid' | 'deactivated' | 'expired' | 'revoked' | 'unknown';
  readonly identifier: { readonly type: string; readonly value: string };
  /** Undefined when the CA offered no email-reply-00 challenge. */
  readonly challenge?: EmailChallenge;
  readonly expires?: string;
  readonly retryAfterMs?: number;
}

export interface RenewalWindow {
  readonly start: number;
  readonly end: number;
  readonly retryAfterMs?: number;
}

/**
 * RFC 8555 as the flow uses it. The account key lives behind this port (the adapter keeps it,
 * non-extractable where the platform allows); the flow only ever holds the account URL.
 */
export interface AcmePort {
  caInfo(directoryUrl: string): Promise<CaInfo>;
  /** Creates the account, or finds the existing one for this key (RFC 8555 §7.3, §7.3.1). */
  ensureAccount(request: AccountRequest): Promise<{ readonly accountUrl: string }>;
  /** The RFC 7638 thumbprint of the account key, for the key authorization (RFC 8555 §8.1). */
  thumbprint(directoryUrl: string): Promise<string>;
  /** One order for every address (RFC 8555 §7.4: an `email` identifier each, RFC 8823 §2). */
  newOrder(directoryUrl: string, emails: readonly string[], replaces?: string): Promise<OrderInfo>;
  getOrder(directoryUrl: string, orderUrl: string): Promise<OrderInfo>;
  getAuthorization(directoryUrl: string, authorizationUrl: string): Promise<AuthorizationInfo>;
  /** RFC 8555 §7.5.2: an authorization the flow gave up on, so that its order does not linger. */
  deactivateAuthorization(directoryUrl: string, authorizationUrl: string): Promise<void>;
  /** POST `{}` to the challenge URL (RFC 8555 §7.5.1). */
  respondToChallenge(directoryUrl: string, challengeUrl: string): Promise<void>;
  finalize(directoryUrl: string, finalizeUrl: string, csrDer: Uint8Array): Promise<OrderInfo>;
  /** The PEM chain, end-entity first (RFC 8555 §7.4.2). */
  downloadCertificate(directoryUrl: string, certificateUrl: string): Promise<string>;
  revoke(directoryUrl: string, certificateDer: Uint8Array, reason: RevocationReason): Promise<void>;
  /** RFC 8555 §7.6 signed by the certificate's own key (JWS with `jwk`), `pkcs8` its unencrypted PrivateKeyInfo. */
  revokeWithCertificateKey(directoryUrl: string, certificateDer: Uint8Array, pkcs8: Uint8Array, reason: RevocationReason): Promise<void>;
  /** RFC 9773; undefined when the CA does not offer ARI. */
  renewalInfo(directoryUrl: string, certificatePem: string): Promise<RenewalWindow | undefined>;
  /** RFC 9773 §4.1 certificate identifier, for the `replaces` field of a renewal order. */
  certificateId(certificatePem: string): Promise<string | undefined>;
}

/** A new mail as the flow first sees it: enough for the cheap pre-filter. */
export interface MailRef {
  /** Thunderbird's message id: valid only in this session (it changes when Thunderbird restarts). */
  readonly id: number;
  /** The Message-ID header: stable across restarts, the key that stops a second reply. */
  readonly headerMessageId: string;
  readonly subject: string;
  readonly author: string;
  readonly date: number;
  readonly folder?: string;
}

/** What the pending challenge expects of its mail (RFC 8823 §3; the checklist is in docs/SECURITY.md). */
export interface ChallengeExpectation {
  /** The identity's address: the challenge mail's To. */
  readonly email: string;
  /** The challenge object's `from`. */
  readonly from: string;
  readonly tokenPart2: string;
  readonly thumbprint: string;
  readonly tokenJoin: TokenJoin;
  /** The mail must be newer than the order (a replay of an old challenge is refused). */
  readonly notBefore: number;
}

export interface MailCheckAnswer {
  readonly verdict: 'answer';
  readonly tokenPart1: string;
  /** Reply-To if present, else From. */
  readonly replyTo: string;
  readonly replySubject: string;
  /** The armoured text/plain body. */
  readonly body: string;
  /** How the token halves were joined, shown in the UI (servers disagree on the join). */
  readonly joinUsed: TokenJoin;
  /**
   * Both joins give the same response for this mail (the halves' lengths make the readings
   * agree): the CA's verdict then says nothing about which join it uses.
   */
  readonly joinsAgree?: boolean;
  /** What made the mail authentic, for the popup (e.g. "DKIM d=ca.example"). */
  readonly authenticity: string;
}

export interface MailRefusal {
  readonly verdict: 'refuse';
  /** Codes of src/messages/reasons.ts; each has a translated sentence. */
  readonly reasons: readonly RefusalReason[];
  /** The human sentence of the first reason, in English, for logs. */
  readonly detail: string;
}

/** src/messages: recognition, authenticity (DKIM via DoH, S/MIME), response. */
export interface MailCheckPort {
  /** Every address in the mail's To fields (none when it cannot be parsed): who it is for. */
  addressedTo(raw: Uint8Array): readonly string[];
  check(raw: Uint8Array, expectation: ChallengeExpectation): Promise<MailCheckAnswer | MailRefusal>;
  /** Manual mode: the armoured response for a pasted subject. Throws PortError('fatal') on a bad subject. */
  respond(subject: string, tokenPart2: string, thumbprint: string, join: TokenJoin): Promise<string>;
}

/** Thunderbird's mail store: new and recent mail, raw bytes. */
export interface MailboxPort {
  /** Mail received since `since` (ms), in every folder; used on start-up and resume. */
  recent(since: number): Promise<readonly MailRef[]>;
  raw(mail: MailRef): Promise<Uint8Array>;
}

export interface ReplyRequest {
  readonly mail: MailRef;
  readonly identityId: string;
  readonly body: string;
  /** What the compose window must show before it is sent. */
  readonly expectTo: string;
  readonly expectSubject: string;
  readonly expectFrom: string;
}

/** Thunderbird compose: reply in place, read back, send — or close unsent on a mismatch. */
export interface ReplyPort {
  send(request: ReplyRequest): Promise<{ readonly sent: true } | { readonly sent: false; readonly mismatch: readonly string[] }>;
}

export interface GeneratedKey {
  readonly csrDer: Uint8Array;
  /** PKCS#8 EncryptedPrivateKeyInfo under the user's passphrase: the only form the key is stored in. */
  readonly encryptedKey: Uint8Array;
}

export interface CertificateSummary {
  readonly emails: readonly string[];
  readonly usage: Usage;
  readonly notBefore: number;
  readonly notAfter: number;
  /** Hex SHA-256, colon-separated, upper case (as Thunderbird shows it). */
  readonly sha256Fingerprint: string;
  readonly serialNumber: string;
  readonly issuer: string;
}

/** src/pkcs12: the key never leaves this port unencrypted except into a PKCS#12. */
export interface KeyPort {
  /** A new key, encrypted, and its CSR naming every address (the first as the subject). */
  generate(emails: readonly string[], keyType: KeyType, usage: Usage, passphrase: string): Promise<GeneratedKey>;
  /** A new CSR for a kept key (renewal with the same key). Throws PortError('wrongPassphrase') when the passphrase does not open it. */
  csrForKey(encryptedKey: Uint8Array, passphrase: string, emails: readonly string[], usage: Usage): Promise<Uint8Array>;
  /**
   * A `.p12` the user picked: its certificate and its key as PKCS#8 (for a revocation signed by
   * that key; the caller wipes it). Throws PortError('wrongPassphrase'), or PortError('fatal') for a damaged file.
   */
  openPkcs12(pkcs12: Uint8Array, passphrase: string): Promise<{ readonly certificateDer: Uint8Array; readonly pkcs8: Uint8Array }>;
  /** Throws PortError('wrongPassphrase') when the passphrase does not open the key. */
  buildPkcs12(encryptedKey: Uint8Array, passphrase: string, chainPem: string, friendlyName: string): Promise<Uint8Array>;
  /** For CertStorePort.importPkcs12 only, under a one-time random secret: never store or offer it. Throws like buildPkcs12. */
  buildImportPkcs12(encryptedKey: Uint8Array, passphrase: string, chainPem: string, friendlyName: string): Promise<{ readonly pkcs12: Uint8Array; readonly secret: string }>;
  /** A PKCS#12 made elsewhere (Thunderbird's export) is protected at least as buildPkcs12's is; read without the passphrase. */
  isStrongPkcs12(pkcs12: Uint8Array): boolean;
  inspect(chainPem: string): Promise<CertificateSummary>;
  /** DER of the end-entity certificate. */
  leafDer(chainPem: string): Uint8Array;
  generatePassphrase(): string;
}

export interface InstalledCertificate {
  readonly dbKey: string;
  readonly name: string;
}

/** The certificate-store Experiment (experiments/smimeStore). */
export interface CertStorePort {
  importPkcs12(pkcs12: Uint8Array, passphrase: string, email: string, sha256Fingerprint: string): Promise<InstalledCertificate>;
  setIdentityCertificates(identityId: string, cert: InstalledCertificate, usage: Usage): Promise<void>;
  clearIdentityCertificates(identityId: string, dbKey: string): Promise<void>;
  /** NSS's verdicts for e-mail signing and e-mail recipient, now, local only (no network). */
  verifyCertificate(dbKey: string): Promise<CertificateVerification>;
  /** Certificates in the store whose subject is `der`'s issuer name (candidates for its issuer). */
  findIssuerCandidates(der: Uint8Array): Promise<StoreCertificate[]>;
  /** Adds intermediates without trust of their own; those already present stay as they are. */
  addIntermediates(ders: readonly Uint8Array[]): Promise<void>;
  /** Trusts exactly this root (checked against the approved fingerprint) to issue e-mail certificates. */
  trustRootForEmail(der: Uint8Array, sha256Fingerprint: string): Promise<void>;
  /** Whether the identity signs all mail by default and requires encryption by default. */
  setSendDefaults(identityId: string, signMail: boolean, encrypt: boolean): Promise<void>;
  /** Thunderbird's own PKCS#12 export of an installed certificate and its key, under `passphrase` (NSS, native). */
  exportPkcs12(dbKey: string, passphrase: string): Promise<Uint8Array>;
}

/** A certificate as the store holds it. */
export interface StoreCertificate {
  readonly subject: string;
  readonly issuer: string;
  readonly sha256Fingerprint: string;
  readonly der: Uint8Array;
  readonly builtInRoot: boolean;
}

/** NSS's verdict for one usage: success and the chain it built, or the NSS error. */
export interface UsageVerification {
  readonly ok: boolean;
  /** The PR error code (0 on success), e.g. -8179. */
  readonly errorCode: number;
  /** The NSS error name, e.g. `SEC_ERROR_UNKNOWN_ISSUER`; empty on success or when unknown. */
  readonly errorName: string;
  /** NSS's own message for the error, in Thunderbird's language; empty on success. */
  readonly errorMessage: string;
  readonly chain: readonly StoreCertificate[];
}

export interface CertificateVerification {
  readonly signing: UsageVerification;
  readonly encryption: UsageVerification;
}

/** storage.local: a flat key-value store of JSON values. */
export interface StoragePort {
  get(keys: readonly string[]): Promise<Record<string, unknown>>;
  getAll(): Promise<Record<string, unknown>>;
  set(items: Record<string, unknown>): Promise<void>;
  remove(keys: readonly string[]): Promise<void>;
}

/** storage.session: lost when Thunderbird quits — the only place a passphrase is kept. */
export type SessionPort = StoragePort;

export interface Clock {
  now(): number;
}

export const NOTICE_KINDS = ['installed', 'installedUnusable', 'needsPassphrase', 'needsConsent', 'refused', 'failed', 'renewalDue', 'renewed', 'renewalFailing', 'renewalNeedsPassphrase', 'renewalStalled'] as const;
export type NoticeKind = (typeof NOTICE_KINDS)[number];

/**
 * What the user is told, as values rather than sentences: each notifier words it in its own
 * language (the add-on translates codes and formats dates in the UI locale; the CLI in English).
 */
export type Notice =
  | { readonly kind: 'installed' | 'installedUnusable' | 'needsPassphrase' | 'needsConsent' | 'renewalNeedsPassphrase'; readonly email: string }
  /** A challenge-like mail not answered: why, as refusal codes (each has a sentence). */
  | { readonly kind: 'refused'; readonly email: string; readonly reasons: readonly RefusalCode[] }
  /** The enrollment failed: the flow's code, and the CA's problem document whole when it gave one. */
  | { readonly kind: 'failed'; readonly email: string; readonly code: ErrorCode; readonly problem?: ProblemInfo }
  /** `notAfter`: when the certificate (the new one, for `renewed`) stops being valid, in ms. */
  | { readonly kind: 'renewalDue' | 'renewed'; readonly email: string; readonly notAfter: number }
  /** `daysLeft`: whole days until the current certificate expires. */
  | { readonly kind: 'renewalFailing' | 'renewalStalled'; readonly email: string; readonly daysLeft: number };

export interface Notifier {
  notify(notice: Notice): Promise<void>;
}

/** Offers a file to the user (downloads API). */
export interface DownloadPort {
  offer(filename: string, bytes: Uint8Array, mimeType: string): Promise<void>;
}

/** Debug log; silent unless the user turned it on. Never given secrets. */
export interface Logger {
  debug(message: string): void;
}
