/**
 * What an enrollment remembers, in storage.local. Every ACME resource is kept by its URL
 * (docs/ARCHITECTURE.md, "The state machine") so a stopped background re-fetches state on wake-up; every record carries the
 * schema version it was written with, and old layouts are migrated on start (./migrations.ts).
 *
 * Secrets: the certificate key is stored only as encrypted PKCS#8 (under the user's passphrase);
 * the passphrase itself only in storage.session. Nothing here is a secret in the clear.
 */
import type { JoinChoice } from './joins';
import type { Usability, UsabilityVerdict } from './usability';
import type { KeyType, ProblemInfo, RevocationReason, TokenJoin, Usage } from './ports';
import type { RefusalCode } from './vocabulary';

export const SCHEMA_VERSION = 1;

/**
 * The steps of an enrollment, in order. Waiting steps (`awaiting-mail`, `awaiting-consent`,
 * `validating`, `finalizing`, `installing` without passphrase) end an advance; the others run
 * straight on.
 */
export type Step =
  | 'new' // recorded; nothing asked of the CA yet
  | 'account' // the ACME account exists; next: key, CSR, order
  | 'ordered' // order created, key and CSR stored; next: fetch the authorization
  | 'awaiting-mail' // watching for the challenge mail (POSTs first after the configured wait)
  | 'awaiting-consent' // an authentic challenge mail waits for the user's OK ("ask before replying")
  | 'replying' // the reply is being sent (a restart here never sends a second one)
  | 'replied' // the reply went out; next: POST to the challenge if not done yet
  | 'validating' // polling the authorization
  | 'finalizing' // sending the CSR and polling the order
  | 'downloading' // fetching the certificate chain
  | 'installing' // building the PKCS#12 and installing it (needs the passphrase)
  | 'installed' // done
  | 'failed' // ended with an error; see `error`
  | 'cancelled'; // the user stopped it

export const STEPS: readonly Step[] = [
  'new', 'account', 'ordered', 'awaiting-mail', 'awaiting-consent', 'replying', 'replied',
  'validating', 'finalizing', 'downloading', 'installing', 'installed', 'failed', 'cancelled',
];

export const TERMINAL_STEPS: readonly Step[] = ['installed', 'failed', 'cancelled'];

export function isTerminal(step: Step): boolean {
  return TERMINAL_STEPS.includes(step);
}

/** Machine-readable error codes the popup translates (`error_<code>` in _locales). */
export type ErrorCode =
  | 'caRefused' // the CA's problem document says why
  | 'userActionRequired' // e.g. terms of service changed
  | 'network' // retries exhausted
  | 'noEmailChallenge' // the CA offered no email-reply-00 challenge
  | 'challengeInvalid' // the CA judged the reply wrong
  | 'authorizationFailed' // authorization invalid/expired/revoked
  | 'orderInvalid'
  | 'timeout' // the CA took longer than the configured limit
  | 'install' // the certificate store refused the PKCS#12
  | 'internal';

export const ERROR_CODES: readonly ErrorCode[] = [
  'caRefused', 'userActionRequired', 'network', 'noEmailChallenge', 'challengeInvalid',
  'authorizationFailed', 'orderInvalid', 'timeout', 'install', 'internal',
];

export interface EnrollError {
  readonly code: ErrorCode;
  readonly message: string;
  readonly problem?: ProblemInfo;
  readonly link?: string;
  readonly at: number;
}

export interface HistoryEntry {
  readonly step: Step;
  readonly at: number;
  /** A short English note for the debug log; the popup shows the step's translated name. */
  readonly note?: string;
}

/** A challenge mail that was not answered, and why (codes of src/messages/reasons.ts and the flow's own). */
export interface Refusal {
  readonly headerMessageId: string;
  readonly subject: string;
  readonly author: string;
  readonly at: number;
  readonly reasons: readonly RefusalCode[];
  readonly detail: string;
  /**
   * The check could not finish (every reason temperror-class, e.g. the DNS-over-HTTPS resolver
   * unreachable): the mail is not blocked but looked at again, and this entry gives way to the
   * outcome of that next check.
   */
  readonly temporary?: boolean;
}

/**
 * Mail to look at again: a check that could not finish (temporary refusal) or a transient error
 * while a candidate mail was read or checked. Recent mail is scanned again at `at`, with back-off.
 */
export interface MailRetry {
  readonly at: number;
  /** Rescans scheduled in a row without one that finished cleanly. */
  readonly attempts: number;
  /** Why, in English, for the history note and the time-out message. */
  readonly reason: string;
}

/** An authentic challenge mail waiting for the user's OK. */
export interface PendingReply {
  readonly mailId: number;
  readonly headerMessageId: string;
  readonly subject: string;
  readonly author: string;
  readonly date: number;
  readonly replyTo: string;
  readonly replySubject: string;
  readonly body: string;
  readonly joinUsed: TokenJoin;
  /** Both joins give this response: the CA's verdict will not tell which one it reads. */
  readonly joinsAgree?: boolean;
  readonly authenticity: string;
}

/** One address a certificate is for, and the Thunderbird identity that answers its challenge mail. */
export interface OrderAddress {
  readonly identityId: string;
  readonly email: string;
}

/** An address of the order whose authorization is valid, and which mail proved it (none: the CA's earlier proof). */
export interface ConfirmedAddress extends OrderAddress {
  readonly authorizationUrl: string;
  readonly answeredMail?: string;
  readonly answeredAt?: number;
}

/**
 * An enrollment: one order for one or several addresses. The first address is `identityId` /
 * `email` (the record's owner: renewal, notifications, file names); the others are in
 * `addresses`. Their authorizations are taken one at a time, in order: the challenge fields
 * (`authorizationUrl` … `pendingReply`) are about the address `current` names, and an address
 * whose authorization turned valid moves to `confirmed` (./addresses.ts).
 */
export interface Enrollment {
  readonly schema: number;
  readonly id: string;
  readonly identityId: string;
  readonly email: string;
  /** Every address the certificate is for, the first one being `identityId`/`email`; absent: that one only. */
  readonly addresses?: readonly OrderAddress[];
  /** The order's authorizations (RFC 8555 §7.1.3): one per address. */
  readonly authorizationUrls?: readonly string[];
  /** The address whose challenge the flow works on now; absent: the first. */
  readonly current?: OrderAddress;
  /** Addresses of the current order already proven, in the order they were. */
  readonly confirmed?: readonly ConfirmedAddress[];
  readonly directoryUrl: string;
  readonly keyType: KeyType;
  readonly usage: Usage;
  readonly tokenJoin: TokenJoin;
  readonly keepKey: boolean;
  readonly termsAgreed: boolean;
  readonly createdAt: number;
  readonly step: Step;
  readonly history: readonly HistoryEntry[];
  /** When the flow should next act by itself (polling, retry, POST-first wait). */
  readonly wakeAt?: number;
  /** Consecutive transient failures of the current step. */
  readonly attempts: number;
  /** RFC 9773 `replaces`: the certificate this enrollment renews. */
  readonly replaces?: string;
  /** A renewal of the identity's certificate: started by the user, or by itself (unattended). */
  readonly renewal?: 'user' | 'auto';
  /** The renewal reuses the kept key: `encryptedKey` is the old one, and the CSR is made once its passphrase is known. */
  readonly sameKey?: boolean;
  readonly accountUrl?: string;
  readonly orderUrl?: string;
  readonly finalizeUrl?: string;
  readonly authorizationUrl?: string;
  readonly challengeUrl?: string;
  readonly challengeFrom?: string;
  readonly tokenPart2?: string;
  /** When the flow started waiting for the mail (the POST-first wait counts from here). */
  readonly waitingSince?: number;
  readonly challengePosted: boolean;
  /** base64 DER, stored as generated. */
  readonly csr?: string;
  /** base64 DER of the PKCS#8 EncryptedPrivateKeyInfo; removed after install unless keepKey. */
  readonly encryptedKey?: string;
  /** The Message-ID of the one challenge mail answered. */
  readonly answeredMail?: string;
  readonly answeredAt?: number;
  readonly joinUsed?: TokenJoin;
  readonly authenticity?: string;
  readonly pendingReply?: PendingReply;
  readonly refusals: readonly Refusal[];
  /** When recent mail is scanned again, and why: acted on in `awaiting-mail`, dropped once a reply went out or the enrollment ended. */
  readonly mailRetry?: MailRetry;
  /**
   * Message-IDs of challenge-like mails already in Thunderbird when the enrollment started: none
   * can be this order's challenge, so none is ever answered (an old or replayed challenge would
   * otherwise use up the one reply).
   */
  readonly preexistingMail?: readonly string[];
  readonly certificateUrl?: string;
  readonly chainPem?: string;
  readonly needsPassphrase?: boolean;
  readonly error?: EnrollError;
  /** Polls made in the current step without a Retry-After (our back-off grows with them). */
  readonly polls?: number;
  /** At `installed`: whether Thunderbird can use the certificate (the identity's record has the details). */
  readonly usability?: UsabilityVerdict;
  /** Where `tokenJoin` came from: the options, the CA's earlier acceptance, or the default (./joins.ts). */
  readonly joinChoice?: JoinChoice;
  /** Both joins gave the response that was sent (set with `answeredMail`). */
  readonly joinsAgree?: boolean;
  /** The CA refused the reply made with this join; a second order uses the other (once). */
  readonly joinRetriedFrom?: { readonly join: TokenJoin; readonly at: number; readonly problem?: ProblemInfo };
  /** Challenge mails this enrollment answered before the current challenge (an earlier address or order): never answered again. */
  readonly earlierAnswers?: readonly string[];
  /** When the current order was created: a challenge mail must be newer. */
  readonly orderedAt?: number;
}

/** The certificate installed for an identity: what the popup summarises and renewal watches. */
export interface CertificateRecord {
  readonly schema: number;
  readonly identityId: string;
  readonly email: string;
  readonly directoryUrl: string;
  readonly enrollmentId: string;
  readonly keyType: KeyType;
  readonly usage: Usage;
  readonly chainPem: string;
  readonly emails: readonly string[];
  readonly notBefore: number;
  readonly notAfter: number;
  readonly sha256Fingerprint: string;
  readonly serialNumber: string;
  readonly issuer: string;
  readonly dbKey: string;
  readonly installedAt: number;
  /** When to renew: from ARI when the CA offers it, else two thirds into the lifetime. */
  readonly renewAt: number;
  readonly renewalSource: 'ari' | 'lifetime';
  readonly renewalNotified?: boolean;
  readonly revoked?: { readonly at: number; readonly reason: RevocationReason };
  /** Whether Thunderbird can sign and encrypt with it (NSS's verdict), and the root to decide on. */
  readonly usability?: Usability;
  /** The identity's defaults this add-on set once the certificate verified. */
  readonly sendDefaults?: { readonly signMail: boolean; readonly encrypt: boolean };
  /** The user's choice for this identity: renew by itself when due (absent: on). An administrator may force it (`autoRenew`). */
  readonly autoRenew?: boolean;
  /** Whether the user agreed to the CA's terms when this certificate's account was made: what an unattended renewal sends. */
  readonly termsAgreed?: boolean;
  /** The unattended renewal under way or failing: its enrollment, failures in a row, the next try, the last warning. */
  readonly renewal?: RenewalAttempt;
  /** How this certificate came: the renewal that replaced an earlier one (told in the popup). */
  readonly renewedFrom?: { readonly at: number; readonly auto: boolean; readonly sameKey: boolean; readonly sha256Fingerprint: string };
  /** One certificate for several addresses: every identity it is set on, this one included; absent: this one only. */
  readonly identities?: readonly OrderAddress[];
  /** Set on the records of the other identities: the identity whose record renews and revokes this certificate. */
  readonly coveredBy?: string;
}

/** An unattended renewal of a certificate record, kept on the record until the new certificate replaces it. */
export interface RenewalAttempt {
  /** The enrollment running now, if any. */
  readonly enrollmentId?: string;
  /** Renewals that ended without a certificate, in a row. */
  readonly failures: number;
  /** Not before this time again (back-off after a failure). */
  readonly retryAt?: number;
  /** The last "renewal failing" warning. */
  readonly warnedAt?: number;
  /** Why the last one failed, in English (the enrollment's error). */
  readonly lastError?: string;
}

/** storage.local keys: one entry per enrollment and per certificate, so concurrent flows never overwrite each other. */
export const KEYS = {
  schema: 'schemaVersion',
  settings: 'settings',
  enrollment: (id: string) => `enrollment:${id}`,
  certificate: (identityId: string) => `certificate:${identityId}`,
  /** storage.session */
  passphrase: (enrollmentId: string) => `passphrase:${enrollmentId}`,
  /** storage.session: the passphrase an unattended renewal made, until the popup has shown it once. */
  generatedPassphrase: (enrollmentId: string) => `generated:${enrollmentId}`,
} as const;

export const ENROLLMENT_PREFIX = 'enrollment:';
export const CERTIFICATE_PREFIX = 'certificate:';
