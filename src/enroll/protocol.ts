/**
 * The messages between the popup (or options page) and the background, as a discriminated
 * union on `type` (after dkim_verifier). The background answers only these; each
 * answer is `{ok: true, value}` or `{ok: false, error}` with a code the popup translates.
 */
import type { CaInfo, KeyType, ProblemInfo, RevocationReason, Usage } from './ports';
import type { CertificateRecord, Enrollment } from './state';
import type { RevokedByKey } from './certificates/revocation';
import type { AutoRenewPolicy } from './settings';

/** Marks our messages, so the background ignores anything else sent on runtime messaging. */
export const PROTOCOL = 'one-click-smime/1';

export interface IdentityView {
  readonly id: string;
  readonly email: string;
  readonly name: string;
  readonly accountName: string;
  /**
   * What Thunderbird has set on the identity: a signing / encryption certificate, and whether it
   * signs all mail and requires encryption by default; null when the Experiment could not say.
   */
  readonly smime: { readonly signing: boolean; readonly encryption: boolean; readonly signMail: boolean; readonly encrypt: boolean } | null;
}

/** An enrollment as the popup sees it: no key material, not even encrypted. */
export type EnrollmentView = Omit<Enrollment, 'encryptedKey' | 'csr'> & { readonly hasKey: boolean };

export function enrollmentView(e: Enrollment): EnrollmentView {
  const { encryptedKey, csr: _csr, ...rest } = e;
  return { ...rest, hasKey: encryptedKey !== undefined };
}

export interface PopupState {
  readonly identities: readonly IdentityView[];
  readonly directoryUrl: string;
  readonly locked: boolean;
  readonly defaults: { readonly keyType: KeyType; readonly usage: Usage; readonly keepKey: boolean; readonly askBeforeReplying: boolean };
  readonly enrollments: readonly EnrollmentView[];
  readonly certificates: readonly CertificateRecord[];
  /** The administrator's unattended-renewal policy (`user`: each identity's checkbox decides). */
  readonly autoRenew: AutoRenewPolicy;
  /** Enrollments (unattended renewals) whose generated passphrase waits to be shown once. */
  readonly passphrasesToShow: readonly string[];
}

export type Request =
  | { readonly type: 'getState' }
  | { readonly type: 'caInfo' }
  | {
      readonly type: 'start';
      readonly identityId: string;
      readonly keyType: KeyType;
      readonly usage: Usage;
      /** Absent: the background generates one and returns it. */
      readonly passphrase?: string;
      readonly termsAgreed: boolean;
      readonly keepKey: boolean;
      /** Other identities the same certificate is for (one order, one challenge mail each); absent: `identityId` only. */
      readonly alsoFor?: readonly string[];
    }
  | { readonly type: 'approveReply'; readonly enrollmentId: string }
  | { readonly type: 'declineReply'; readonly enrollmentId: string }
  | { readonly type: 'cancel'; readonly enrollmentId: string }
  | { readonly type: 'dismiss'; readonly enrollmentId: string }
  | { readonly type: 'providePassphrase'; readonly enrollmentId: string; readonly passphrase: string }
  | { readonly type: 'manualResponse'; readonly enrollmentId: string; readonly subject: string }
  | { readonly type: 'manualSent'; readonly enrollmentId: string }
  | { readonly type: 'renew'; readonly identityId: string; readonly passphrase?: string; readonly termsAgreed: boolean }
  | { readonly type: 'revoke'; readonly identityId: string; readonly reason: RevocationReason }
  | { readonly type: 'download'; readonly identityId: string; readonly passphrase?: string }
  /** The user's consent to trust the root shown, identified by the fingerprint they saw. */
  | { readonly type: 'trustRoot'; readonly identityId: string; readonly sha256Fingerprint: string }
  | { readonly type: 'declineRoot'; readonly identityId: string }
  | { readonly type: 'recheck'; readonly identityId: string }
  | { readonly type: 'setSendDefaults'; readonly identityId: string; readonly signMail: boolean; readonly encrypt: boolean }
  /** The user's per-identity choice: renew by itself when due. */
  | { readonly type: 'setAutoRenew'; readonly identityId: string; readonly on: boolean }
  /** The passphrase an unattended renewal generated: handed out once, then gone. */
  | { readonly type: 'showPassphrase'; readonly enrollmentId: string }
  /** Revocation signed by the certificate's own key, out of a `.p12` (base64) the user picked. */
  | { readonly type: 'revokeWithKey'; readonly pkcs12: string; readonly passphrase: string; readonly reason: RevocationReason };

export type RequestType = Request['type'];

export interface ResponseValues {
  readonly getState: PopupState;
  readonly caInfo: CaInfo;
  readonly start: { readonly enrollmentId: string; readonly generatedPassphrase?: string };
  readonly approveReply: EnrollmentView;
  readonly declineReply: EnrollmentView;
  readonly cancel: EnrollmentView;
  readonly dismiss: null;
  readonly providePassphrase: EnrollmentView;
  readonly manualResponse: { readonly response: string };
  readonly manualSent: EnrollmentView;
  readonly renew: { readonly enrollmentId: string; readonly generatedPassphrase?: string };
  readonly revoke: CertificateRecord;
  readonly download: { readonly filename: string };
  readonly trustRoot: CertificateRecord;
  readonly declineRoot: CertificateRecord;
  readonly recheck: CertificateRecord;
  readonly setSendDefaults: CertificateRecord;
  readonly setAutoRenew: CertificateRecord;
  readonly showPassphrase: { readonly passphrase: string };
  readonly revokeWithKey: RevokedByKey;
}

export interface ErrorValue {
  /** An EnrollRequestError code, 'ca' for a CA refusal, or 'unexpected'. */
  readonly code: string;
  readonly message: string;
  /** The CA's problem document's detail (kept for old popups; `problem` has all of it). */
  readonly problemDetail?: string;
  /** The CA's whole problem document (RFC 8555 §6.7): type, detail, status and subproblems. */
  readonly problem?: ProblemInfo;
}

export type Response<T extends RequestType> = { readonly ok: true; readonly value: ResponseValues[T] } | { readonly ok: false; readonly error: ErrorValue };

export interface Envelope<T extends Request = Request> {
  readonly protocol: typeof PROTOCOL;
  readonly request: T;
}

const REQUEST_TYPES: readonly RequestType[] = [
  'getState', 'caInfo', 'start', 'approveReply', 'declineReply', 'cancel', 'dismiss', 'providePassphrase',
  'manualResponse', 'manualSent', 'renew', 'revoke', 'download', 'trustRoot', 'declineRoot', 'recheck', 'setSendDefaults',
  'setAutoRenew', 'showPassphrase', 'revokeWithKey',
];

/** True for a message of ours; anything else is left to other listeners (docs/ADDON.md, "Thunderbird facts"). */
export function isEnvelope(message: unknown): message is Envelope {
  if (typeof message !== 'object' || message === null) return false;
  const m = message as { protocol?: unknown; request?: unknown };
  if (m.protocol !== PROTOCOL || typeof m.request !== 'object' || m.request === null) return false;
  const type = (m.request as { type?: unknown }).type;
  return typeof type === 'string' && (REQUEST_TYPES as readonly string[]).includes(type);
}
