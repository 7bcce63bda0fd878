/**
 * What the popup says about renewing the identity's certificate, as data: whether it renews by
 * itself (and whether the user may change that), which key a renewal uses, how the certificate
 * came (renewed by itself or by the user, same key or new), a renewal that keeps failing, and a
 * generated passphrase waiting to be shown once. Pure, so it is tested in Node
 * (test/popup/renewal-view.test.ts); ./renewal-panel.ts draws it.
 */
import type { CertificateRecord } from '../enroll/state';
import type { AutoRenewPolicy } from '../enroll/settings';

const DAY_MS = 86_400_000;

export interface RenewalView {
  /** The per-identity checkbox: its state, and whether an administrator decided instead. */
  readonly autoRenew: { readonly checked: boolean; readonly disabled: boolean; readonly forcedKey?: string };
  /** The sentence that says which key the next renewal uses. */
  readonly keyKey: string;
  /** How this certificate came, when it replaced an earlier one. */
  readonly renewedFrom?: { readonly at: number; readonly howKey: string };
  /** A renewal that ended without a certificate, and what happens next. */
  readonly failing?: { readonly failures: number; readonly lastError: string; readonly retryAt?: number; readonly daysLeft: number };
  /** The renewal whose generated passphrase waits to be shown (once). */
  readonly passphraseToShow?: string;
}

/**
 * `keptKey`: the certificate's enrollment kept its encrypted key, so a renewal reuses it.
 * `passphrasesToShow`: enrollments whose generated passphrase is still in the session.
 * Undefined for a revoked certificate: it is not renewed.
 */
export function renewalView(record: CertificateRecord, policy: AutoRenewPolicy, keptKey: boolean, passphrasesToShow: readonly string[], now: number): RenewalView | undefined {
  if (record.revoked) return undefined;
  const forcedKey = policy === 'on' ? 'popupAutoRenewForcedOn' : policy === 'off' ? 'popupAutoRenewForcedOff' : undefined;
  const checked = policy === 'on' || (policy === 'user' && record.autoRenew !== false);
  const from = record.renewedFrom;
  const attempt = record.renewal;
  return {
    autoRenew: { checked, disabled: policy !== 'user', ...(forcedKey === undefined ? {} : { forcedKey }) },
    keyKey: keptKey ? 'popupRenewalKeySame' : 'popupRenewalKeyNew',
    ...(from === undefined ? {} : { renewedFrom: { at: from.at, howKey: `renewedHow_${from.auto ? 'auto' : 'user'}_${from.sameKey ? 'same' : 'new'}` } }),
    ...(attempt !== undefined && attempt.failures > 0
      ? { failing: { failures: attempt.failures, lastError: attempt.lastError ?? '', daysLeft: Math.max(0, Math.ceil((record.notAfter - now) / DAY_MS)), ...(attempt.retryAt === undefined ? {} : { retryAt: attempt.retryAt }) } }
      : {}),
    ...(passphrasesToShow.includes(record.enrollmentId) ? { passphraseToShow: record.enrollmentId } : {}),
  };
}
