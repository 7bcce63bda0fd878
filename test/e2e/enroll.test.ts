/**
 * Scenario 1 (docs/E2E.md) — the happy path, RSA and EC: in a real Thunderbird, the toolbar click
 * and Start in the popup lead to a certificate installed in Thunderbird's store and set on the
 * identity, and a `.p12` downloaded; the popup shows each step. Checked from outside with
 * certutil (NSS database), prefs.js, `openssl pkcs12` with the passphrase, and the sandbox's
 * record of the one reply it received (DKIM-signed by the user's provider, text/plain).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, type TempDir } from '../helpers/process';
import { certSummary, nssCertificatePem, nssCertificates, nssKeys, openPkcs12, publicKeyOfCert, publicKeyOfPrivate, readPrefs } from '../../scripts/harness/checks';
import { POPUP, popupSteps, popupVisible, repliesFrom, startInPopup, waitForDownload, waitForEnrollment } from '../../scripts/harness/drive';
import { IDENTITY_KEY, buildXpi } from '../../scripts/harness/thunderbird';
import { startWorld, type World } from '../../scripts/harness/world';
import type { Enrollment } from '../../src/enroll/state';

let build: TempDir | undefined;
let xpiPath = '';

beforeAll(() => {
  build = makeTempDir('ocs-e2e-build');
  xpiPath = buildXpi(build.path);
});

afterAll(() => {
  build?.remove();
});

const cases = [
  { keyType: 'P-256', publicKey: 'id-ecPublicKey', nssKeyType: 'ec' },
  { keyType: 'RSA-2048', publicKey: 'rsaEncryption', nssKeyType: 'rsa' },
] as const;

describe.each(cases)('one click to an installed $keyType certificate', ({ keyType, publicKey, nssKeyType }) => {
  let world: World | undefined;
  let done: Enrollment | undefined;
  let p12Path = '';
  let shownSteps: string[] = [];
  let certificateShown = false;
  const passphrase = `e2e ${keyType} passphrase`;

  beforeAll(async () => {
    world = await startWorld({ xpiPath });
    const { tb, user } = world;
    await startInPopup(tb, { email: user.email, passphrase, keyType });
    done = await waitForEnrollment(tb, user.email, undefined, 120_000);
    p12Path = done.step === 'installed' ? await waitForDownload(world.profile.downloadDir) : '';
    // The popup, still open, follows the flow to its end.
    shownSteps = await popupSteps(tb);
    // The popup redraws on the background's storage writes: give the last one a moment to land.
    certificateShown = await tb.waitInPopup<boolean>('const el = content.document.querySelector(arguments[0]); return !!el && !el.closest("[hidden]") ? true : null;', 15_000, [POPUP.certificate]).catch(() => popupVisible(tb, POPUP.certificate));
    // Quit gracefully so prefs.js and the certificate database are flushed for the outside checks.
    await world.quit();
  }, 240_000);

  afterAll(async () => {
    await world?.dispose();
  });

  function w(): World {
    if (!world) throw new Error('the world did not start');
    return world;
  }

  it('completes every step of the flow', () => {
    expect(done?.error).toBeUndefined();
    expect(done?.step).toBe('installed');
    const steps = done?.history.map((h) => h.step) ?? [];
    const expected = ['ordered', 'awaiting-mail', 'replying', 'replied', 'validating', 'finalizing', 'installed'];
    expect(steps.filter((s) => expected.includes(s))).toEqual(expected);
  });

  it('shows each step in the popup, then the certificate', () => {
    expect(shownSteps.length).toBeGreaterThanOrEqual(7);
    expect(certificateShown).toBe(true);
  });

  it('sent exactly one reply, DKIM-signed by the provider, text/plain, accepted by the CA', () => {
    const { sandbox, user } = w();
    const challenges = sandbox.challengesSent().filter((c) => c.identifier === user.email);
    expect(challenges).toHaveLength(1);
    const replies = repliesFrom(sandbox, user.email);
    expect(replies).toHaveLength(1);
    const reply = replies[0]!;
    expect(reply.dkim).toBe('pass');
    expect(reply.verdict).toBe('valid');
    expect(reply.inReplyTo).toBe(challenges[0]!.messageId);
    expect(reply.raw).toMatch(/^Content-Type: text\/plain/im);
    expect(reply.raw).toMatch(/^Subject: Re: ACME: /im);
    expect(reply.raw).not.toMatch(/^>/m);
  });

  it('installed the certificate and its key in the profile\'s NSS database', () => {
    const { profile, user } = w();
    const userCerts = nssCertificates(profile.path).filter((c) => c.trust === 'u,u,u');
    expect(userCerts).toHaveLength(1);
    const pem = nssCertificatePem(profile.path, userCerts[0]!.nickname);
    const summary = certSummary(pem);
    expect(summary.emails).toEqual([user.email]);
    expect(summary.publicKey).toBe(publicKey);
    expect(summary.extendedKeyUsage).toBe('E-mail Protection');
    const keys = nssKeys(profile.path);
    expect(keys.map((k) => k.type)).toContain(nssKeyType);
  });

  it('set the certificate on the identity for signing and encryption (prefs.js)', () => {
    const { profile } = w();
    const prefs = readPrefs(profile.path);
    const nickname = nssCertificates(profile.path).find((c) => c.trust === 'u,u,u')?.nickname;
    expect(nickname).toBeDefined();
    expect(prefs.get(`mail.identity.${IDENTITY_KEY}.signing_cert_name`)).toBe(nickname);
    expect(prefs.get(`mail.identity.${IDENTITY_KEY}.encryption_cert_name`)).toBe(nickname);
    expect(prefs.get(`mail.identity.${IDENTITY_KEY}.signing_cert_dbkey`)).toBeTruthy();
    expect(prefs.get(`mail.identity.${IDENTITY_KEY}.encryption_cert_dbkey`)).toBeTruthy();
  });

  it('downloaded a .p12 that opens with the passphrase and holds the same certificate and its key', () => {
    const { profile, user } = w();
    expect(p12Path).not.toBe('');
    const contents = openPkcs12(p12Path, passphrase);
    const leaf = contents.certificatesPem.find((pem) => certSummary(pem).emails.includes(user.email));
    expect(leaf).toBeDefined();
    expect(publicKeyOfPrivate(contents.privateKeyPem)).toBe(publicKeyOfCert(leaf!));
    const nickname = nssCertificates(profile.path).find((c) => c.trust === 'u,u,u')!.nickname;
    expect(certSummary(leaf!).sha256).toBe(certSummary(nssCertificatePem(profile.path, nickname)).sha256);
    expect(() => openPkcs12(p12Path, 'not the passphrase')).toThrow();
  });
});
