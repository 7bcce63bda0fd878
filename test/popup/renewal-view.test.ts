/** The popup's words about renewal (src/popup/renewal-view.ts), and that popup.html has what it draws into. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { CertificateRecord } from '../../src/enroll/state';
import { renewalView } from '../../src/popup/renewal-view';

const DAY = 86_400_000;

function record(extra: Partial<CertificateRecord> = {}): CertificateRecord {
  return {
    schema: 1, identityId: 'id1', email: 'alice@example.org', directoryUrl: 'https://ca.example/dir', enrollmentId: 'e1', keyType: 'P-256', usage: 'both',
    chainPem: '', emails: ['alice@example.org'], notBefore: 0, notAfter: 90 * DAY, sha256Fingerprint: '00', serialNumber: '01', issuer: 'CN=CA', dbKey: 'k',
    installedAt: 0, renewAt: 60 * DAY, renewalSource: 'lifetime', ...extra,
  };
}

describe('renewalView', () => {
  it('renews by itself unless the user turned it off; an administrator decides instead when forced', () => {
    expect(renewalView(record(), 'user', false, [], 0)?.autoRenew).toEqual({ checked: true, disabled: false });
    expect(renewalView(record({ autoRenew: false }), 'user', false, [], 0)?.autoRenew).toEqual({ checked: false, disabled: false });
    expect(renewalView(record({ autoRenew: false }), 'on', false, [], 0)?.autoRenew).toEqual({ checked: true, disabled: true, forcedKey: 'popupAutoRenewForcedOn' });
    expect(renewalView(record(), 'off', false, [], 0)?.autoRenew).toEqual({ checked: false, disabled: true, forcedKey: 'popupAutoRenewForcedOff' });
  });

  it('says which key the next renewal uses: the kept one, or a new key at each renewal', () => {
    expect(renewalView(record(), 'user', true, [], 0)?.keyKey).toBe('popupRenewalKeySame');
    expect(renewalView(record(), 'user', false, [], 0)?.keyKey).toBe('popupRenewalKeyNew');
  });

  it('tells how the certificate came, a renewal that keeps failing with the days left, and a passphrase to show once', () => {
    const view = renewalView(
      record({ renewedFrom: { at: 5, auto: true, sameKey: false, sha256Fingerprint: 'FF' }, renewal: { failures: 2, retryAt: 70 * DAY, lastError: 'timeout: no mail' } }),
      'user', false, ['e1'], 61 * DAY + 1,
    );
    expect(view?.renewedFrom).toEqual({ at: 5, howKey: 'renewedHow_auto_new' });
    expect(view?.failing).toEqual({ failures: 2, lastError: 'timeout: no mail', retryAt: 70 * DAY, daysLeft: 29 });
    expect(view?.passphraseToShow).toBe('e1');
    expect(renewalView(record(), 'user', false, ['e9'], 0)?.passphraseToShow).toBeUndefined();
  });

  it('says nothing of renewal for a revoked certificate', () => {
    expect(renewalView(record({ revoked: { at: 1, reason: 1 } }), 'user', true, [], 0)).toBeUndefined();
  });

  it('every message it names exists, and popup.html has every element it draws into', () => {
    const en = JSON.parse(readFileSync('_locales/en/messages.json', 'utf8')) as Record<string, unknown>;
    const keys = ['popupAutoRenewForcedOn', 'popupAutoRenewForcedOff', 'popupRenewalKeySame', 'popupRenewalKeyNew', 'popupRenewedFrom', 'popupRenewalFailing', 'popupShowPassphrase',
      ...['auto', 'user'].flatMap((who) => ['same', 'new'].map((key) => `renewedHow_${who}_${key}`))];
    for (const key of keys) expect(en, key).toHaveProperty(key);
    const html = readFileSync('src/popup/popup.html', 'utf8');
    for (const id of ['renewal', 'auto-renew', 'auto-renew-forced', 'renewal-key', 'renewed-from', 'renewal-failing', 'show-passphrase', 'passphrase-needed-key', 'passphrase-needed-install',
      'revoke-by-key', 'revoke-key-file', 'revoke-key-passphrase', 'revoke-key-reason', 'revoke-key-confirm', 'revoke-key-result']) expect(html, id).toContain(`id="${id}"`);
  });
});
