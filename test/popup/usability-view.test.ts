/** The popup's words about a certificate Thunderbird can or cannot use (src/popup/usability-view.ts). */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { IdentityView } from '../../src/enroll/protocol';
import type { CertificateRecord } from '../../src/enroll/state';
import { USABILITY_VERDICTS, type Usability } from '../../src/enroll/usability';
import { installedStepKey, summaryKey, usabilityView } from '../../src/popup/usability-view';

const ROOT = { subject: 'CN=Example S/MIME Root', sha256Fingerprint: 'AB:CD', der: 'MA==' };
const FAIL = { ok: false, errorName: 'SEC_ERROR_UNKNOWN_ISSUER', errorCode: -8179 };
const OK = { ok: true, errorName: '', errorCode: 0 };

function record(usability: Usability | undefined, extra: Partial<CertificateRecord> = {}): CertificateRecord {
  return {
    schema: 1, identityId: 'id1', email: 'alice@example.org', directoryUrl: 'https://ca.example/dir', enrollmentId: 'e1', keyType: 'P-256', usage: 'both',
    chainPem: '', emails: ['alice@example.org'], notBefore: 0, notAfter: 1, sha256Fingerprint: '00', serialNumber: '01', issuer: 'CN=CA', dbKey: 'k',
    installedAt: 0, renewAt: 1, renewalSource: 'lifetime', ...(usability === undefined ? {} : { usability }), ...extra,
  };
}

const identity = (signMail: boolean, encrypt: boolean): IdentityView => ({ id: 'id1', email: 'alice@example.org', name: '', accountName: 'a', smime: { signing: true, encryption: true, signMail, encrypt } });

describe('usabilityView', () => {
  it('asks about the root, with its name and fingerprint, when it is not trusted for e-mail', () => {
    const view = usabilityView(record({ verdict: 'untrusted-root', checkedAt: 1, signing: FAIL, encryption: FAIL, root: ROOT }), undefined);
    expect(view).toMatchObject({ verdict: 'untrusted-root', summaryKey: 'usability_untrusted_root', errorNames: ['SEC_ERROR_UNKNOWN_ISSUER'], askAgain: false });
    expect(view?.trustQuestion).toEqual({ subject: ROOT.subject, sha256Fingerprint: ROOT.sha256Fingerprint });
    expect(view?.sendDefaults).toBeUndefined();
  });

  it('says the root could not be found, and asks nothing, when there is none to offer', () => {
    const view = usabilityView(record({ verdict: 'untrusted-root', checkedAt: 1, signing: FAIL, encryption: FAIL }), undefined);
    expect(view?.summaryKey).toBe('usability_untrusted_root_missing');
    expect(view?.trustQuestion).toBeUndefined();
  });

  it('after a decline says why signing is impossible and offers the way back', () => {
    const view = usabilityView(record({ verdict: 'declined', checkedAt: 1, signing: FAIL, encryption: FAIL, root: ROOT }), undefined);
    expect(view).toMatchObject({ verdict: 'declined', summaryKey: 'usability_declined', askAgain: true });
    expect(view?.trustQuestion).toBeUndefined();
  });

  it('when ready offers the send defaults as Thunderbird has them, only for what the certificate can do', () => {
    const both = usabilityView(record({ verdict: 'ready', checkedAt: 1, signing: OK, encryption: OK, trustedBy: 'user' }, { sendDefaults: { signMail: true, encrypt: false } }), identity(false, true));
    expect(both).toMatchObject({ summaryKey: 'usability_ready_both', errorNames: [], trustedByKey: 'usability_trustedBy_user' });
    expect(both?.sendDefaults).toEqual({ canSign: true, canEncrypt: true, signMail: false, encrypt: true });
    const signOnly = usabilityView(record({ verdict: 'ready', checkedAt: 1, signing: OK, encryption: FAIL }, { usage: 'sign', sendDefaults: { signMail: true, encrypt: false } }), undefined);
    expect(signOnly?.summaryKey).toBe('usability_ready_sign');
    expect(signOnly?.sendDefaults).toEqual({ canSign: true, canEncrypt: false, signMail: true, encrypt: false });
  });

  it('says nothing for a revoked or never checked certificate', () => {
    expect(usabilityView(record(undefined), undefined)).toBeUndefined();
    expect(usabilityView(record({ verdict: 'ready', checkedAt: 1, signing: OK, encryption: OK }, { revoked: { at: 1, reason: 0 } }), undefined)).toBeUndefined();
  });

  it('never ends an enrollment with plain success for a certificate Thunderbird cannot use', () => {
    expect(installedStepKey('ready')).toBe('popupInstalledReady');
    for (const v of USABILITY_VERDICTS.filter((x) => x !== 'ready')) expect(installedStepKey(v)).toBe('popupInstalledUnusable');
    expect(installedStepKey(undefined)).toBeUndefined();
  });

  it('has an English sentence for every verdict and usage', () => {
    const en = JSON.parse(readFileSync('_locales/en/messages.json', 'utf8')) as Record<string, unknown>;
    const keys = [
      ...USABILITY_VERDICTS.flatMap((v) => (['sign', 'encrypt', 'both'] as const).flatMap((u) => [summaryKey(v, u, true), summaryKey(v, u, false)])),
      'popupInstalledReady', 'popupInstalledUnusable', 'usability_trustedBy_user', 'usability_trustedBy_policy',
    ];
    expect(keys.filter((k) => !(k in en))).toEqual([]);
  });
});
