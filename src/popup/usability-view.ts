/**
 * What the popup says about whether Thunderbird can use the identity's certificate, as data:
 * which sentence, which details, whether to ask about the root, which switches to offer. Pure,
 * so it is tested in Node (test/popup/usability-view.test.ts); popup.ts only draws it.
 */
import type { IdentityView } from '../enroll/protocol';
import type { CertificateRecord } from '../enroll/state';
import type { UsabilityVerdict } from '../enroll/usability';

export interface UsabilityView {
  readonly verdict: UsabilityVerdict;
  /** The _locales key of the one sentence that says it. */
  readonly summaryKey: string;
  /** NSS's error names, for the details line (empty when ready). */
  readonly errorNames: readonly string[];
  /** The root to decide on: shown with the question when it is not trusted yet. */
  readonly trustQuestion?: { readonly subject: string; readonly sha256Fingerprint: string };
  /** Declined before: the way back to the question. */
  readonly askAgain: boolean;
  /** Who trusted the root, when this add-on did it: the key of the sentence. */
  readonly trustedByKey?: string;
  /** The send defaults, offered only once the certificate verifies. */
  readonly sendDefaults?: {
    readonly canSign: boolean;
    readonly canEncrypt: boolean;
    readonly signMail: boolean;
    readonly encrypt: boolean;
  };
}

const safe = (code: string): string => code.replace(/[^A-Za-z0-9_]/g, '_');

/** The sentence for a verdict; `ready` depends on what the certificate was made for. */
export function summaryKey(verdict: UsabilityVerdict, usage: CertificateRecord['usage'], rootFound: boolean): string {
  if (verdict === 'ready') return `usability_ready_${usage}`;
  if (verdict === 'untrusted-root' && !rootFound) return 'usability_untrusted_root_missing';
  return `usability_${safe(verdict)}`;
}

/** Undefined when there is nothing to say: no certificate, a revoked one, or one never checked. */
export function usabilityView(record: CertificateRecord | undefined, identity: IdentityView | undefined): UsabilityView | undefined {
  if (record === undefined || record.revoked !== undefined || record.usability === undefined) return undefined;
  const u = record.usability;
  const root = u.root;
  const errorNames = [...new Set([u.signing, u.encryption].filter((o) => !o.ok).map((o) => o.errorName))].filter((n) => n !== '');
  const canSign = record.usage !== 'encrypt';
  const canEncrypt = record.usage !== 'sign';
  return {
    verdict: u.verdict,
    summaryKey: summaryKey(u.verdict, record.usage, root !== undefined),
    errorNames: u.verdict === 'ready' ? [] : errorNames,
    ...(u.verdict === 'untrusted-root' && root !== undefined ? { trustQuestion: { subject: root.subject, sha256Fingerprint: root.sha256Fingerprint } } : {}),
    askAgain: u.verdict === 'declined' && root !== undefined,
    ...(u.verdict === 'ready' && u.trustedBy !== undefined ? { trustedByKey: `usability_trustedBy_${u.trustedBy}` } : {}),
    ...(u.verdict === 'ready'
      ? {
          sendDefaults: {
            canSign,
            canEncrypt,
            // What Thunderbird has now (the user may have changed it in Account Settings); else what was set.
            signMail: identity?.smime?.signMail ?? record.sendDefaults?.signMail ?? false,
            encrypt: identity?.smime?.encrypt ?? record.sendDefaults?.encrypt ?? false,
          },
        }
      : {}),
  };
}

/** The enrollment's last line at `installed`: never a plain success for a certificate Thunderbird cannot use. */
export function installedStepKey(verdict: UsabilityVerdict | undefined): string | undefined {
  if (verdict === undefined) return undefined;
  return verdict === 'ready' ? 'popupInstalledReady' : 'popupInstalledUnusable';
}
