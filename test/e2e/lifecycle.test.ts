/**
 * The certificate lives on by itself, in a real Thunderbird against the sandbox CA, one world for
 * every scenario (in this order, each starting from the previous one's state):
 * 1. a short-lived certificate (sandbox `certificateLifetimeSeconds`) renews unattended: no click,
 *    a second challenge mail answered, the identity carries the new certificate before the old
 *    one expires, the popup says so and hands out the generated passphrase once;
 * 2. the renewed certificate is revoked by its own key: the `.p12` the add-on offered, picked in
 *    the popup with that passphrase (the sandbox checks that the JWS key is the certificate's);
 * 3. with "keep the key", a renewal asks for the key's passphrase and yields a certificate with
 *    the same public key.
 */
import { readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CertificateRecord, Enrollment } from '../../src/enroll/state';
import { publicKeyOfCert } from '../../scripts/harness/checks';
import { POPUP, certificates, downloaded, openPopup, popupVisible, repliesFrom, startInPopup, waitForEnrollment } from '../../scripts/harness/drive';
import { IDENTITY_KEY, type Thunderbird } from '../../scripts/harness/thunderbird';
import { startWorld, type World } from '../../scripts/harness/world';

/**
 * notAfter = issuance + 120 s; with notBefore back-dated 60 s the sandbox's ARI window (2/3 to 5/6
 * of the lifetime) is then 60–90 s after issuance: a renewal started at its end still has about
 * 30 s before the old certificate expires, several times what one enrollment takes here.
 */
const LIFETIME_S = 120;

/** The certificate Thunderbird has set on the identity for signing: its SHA-256 fingerprint, or null. */
function identitySigningCert(tb: Thunderbird): Promise<string | null> {
  return tb.chrome<string | null>(`
    const { MailServices } = ChromeUtils.importESModule('resource:///modules/MailServices.sys.mjs');
    const identity = MailServices.accounts.getIdentity(arguments[0]);
    const dbKey = identity.getCharAttribute('signing_cert_dbkey');
    if (!dbKey) return null;
    const certdb = Cc['@mozilla.org/security/x509certdb;1'].getService(Ci.nsIX509CertDB);
    const cert = certdb.findCertByDBKey(dbKey);
    return cert ? cert.sha256Fingerprint : null;
  `, [IDENTITY_KEY]);
}

async function recordOf(tb: Thunderbird, email: string): Promise<CertificateRecord | undefined> {
  return (await certificates(tb)).find((c) => c.email === email);
}

async function waitForRecord(tb: Thunderbird, email: string, done: (r: CertificateRecord) => boolean, timeoutMs: number): Promise<CertificateRecord> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const record = await recordOf(tb, email).catch(() => undefined);
    if (record && done(record)) return record;
    if (Date.now() > deadline) throw new Error(`certificate record of ${email} not as expected after ${timeoutMs} ms: ${JSON.stringify(record && { enrollmentId: record.enrollmentId, revoked: record.revoked, renewal: record.renewal })}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

const leafPem = (chainPem: string): string => /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(chainPem)![0];

describe('the certificate lives on by itself', () => {
  let world: World | undefined;
  let first: Enrollment | undefined;
  let firstCert: CertificateRecord | undefined;
  let renewedCert: CertificateRecord | undefined;
  let renewedPassphrase: string | undefined;

  function w(): World {
    if (!world) throw new Error('the world did not start');
    return world;
  }

  beforeAll(async () => {
    world = await startWorld({ sandbox: { certificateLifetimeSeconds: LIFETIME_S } });
    await startInPopup(world.tb, { email: world.user.email });
    first = await waitForEnrollment(world.tb, world.user.email, undefined, 120_000);
    firstCert = await recordOf(world.tb, world.user.email);
  }, 180_000);

  afterAll(async () => {
    await world?.dispose();
  });

  it('renews unattended: before the old certificate expires the identity carries a new one, with no click', async () => {
    const { tb, user, sandbox } = w();
    expect(first?.step).toBe('installed');
    expect(firstCert).toBeDefined();
    await tb.closePopup();
    expect(await identitySigningCert(tb)).toBe(firstCert!.sha256Fingerprint);
    expect(firstCert!.notAfter - Date.now()).toBeGreaterThan(0);

    // No popup, no click: the renewal check fires at the renewal date by itself.
    const renewed = await waitForEnrollment(tb, user.email, (e) => e.renewal === 'auto' && ['installed', 'failed', 'cancelled'].includes(e.step), firstCert!.notAfter - Date.now() + 5_000, first!.createdAt + 1);
    expect(renewed.error).toBeUndefined();
    expect(renewed.step).toBe('installed');
    expect(renewed.replaces).toBeDefined();
    renewedCert = await recordOf(tb, user.email);
    expect(renewedCert?.enrollmentId).toBe(renewed.id);
    expect(renewedCert?.sha256Fingerprint).not.toBe(firstCert!.sha256Fingerprint);
    expect(renewedCert?.renewedFrom).toMatchObject({ auto: true, sameKey: false, sha256Fingerprint: firstCert!.sha256Fingerprint });
    // Set on the identity, checked by NSS, before the first one expired.
    expect(await identitySigningCert(tb)).toBe(renewedCert!.sha256Fingerprint);
    // Installed (and set on the identity, in the same step) while the first one was still valid.
    expect(renewedCert!.installedAt).toBeLessThan(firstCert!.notAfter);
    expect(renewedCert!.usability?.verdict).toBeDefined();
    expect(sandbox.challengesSent().filter((c) => c.identifier === user.email)).toHaveLength(2);
    expect(repliesFrom(sandbox, user.email).map((r) => r.verdict)).toEqual(['valid', 'valid']);

    // The popup tells it after the fact, and shows the new key's passphrase once.
    await openPopup(tb);
    expect(await popupVisible(tb, '#renewed-from')).toBe(true);
    await tb.popupClick('#show-passphrase');
    renewedPassphrase = await tb.waitInPopup<string>(`
      const el = content.document.querySelector(arguments[0]);
      return el && !el.closest('[hidden]') && el.textContent.trim() !== '' ? el.textContent.trim() : null;
    `, 15_000, [POPUP.generatedPassphrase]);
    await tb.waitInPopup('const b = content.document.querySelector("#show-passphrase"); return !!b && b.hidden;', 15_000);
  }, 300_000);

  it('revokes by the certificate key: the .p12 and its passphrase picked in the popup', async () => {
    const { tb, user, profile } = w();
    expect(renewedPassphrase).toBeDefined();
    // The renewal offered its .p12 (the second file for this address).
    const deadline = Date.now() + 30_000;
    while (downloaded(profile.downloadDir).length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
    const files = downloaded(profile.downloadDir);
    expect(files.length).toBeGreaterThanOrEqual(2);
    const p12 = files.sort((a, b) => statSync(a).mtimeMs - statSync(b).mtimeMs).at(-1)!;
    expect(readFileSync(p12).length).toBeGreaterThan(0);

    await tb.closePopup();
    await openPopup(tb);
    // As a user picking the file: the input's files set to that .p12 (its bytes, its name).
    await tb.popup(`
      const [base64, name] = arguments;
      // Everything made in the page's own compartment, as its own script would.
      const page = content.wrappedJSObject;
      const binary = page.atob(base64);
      const bytes = new page.Uint8Array(binary.length);
      for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
      const transfer = new page.DataTransfer();
      // Arrays and option objects of this script's own would be refused by the page's File: none given.
      transfer.items.add(new page.File(page.Array.of(bytes), name));
      page.document.querySelector('#revoke-by-key').open = true;
      const input = page.document.querySelector('#revoke-key-file');
      input.files = transfer.files;
      input.dispatchEvent(new page.Event('change', { bubbles: true }));
      if (input.files.length !== 1) throw new Error('the file was not picked');
    `, [readFileSync(p12).toString('base64'), basename(p12)]);
    await tb.popupSetValue('#revoke-key-passphrase', renewedPassphrase!);
    await tb.popupSetValue('#revoke-key-reason', '1');
    await tb.popupClick('#revoke-key-confirm');
    const revoked = await waitForRecord(tb, user.email, (r) => r.revoked !== undefined, 60_000);
    expect(revoked.sha256Fingerprint).toBe(renewedCert!.sha256Fingerprint);
    expect(revoked.revoked?.reason).toBe(1);
    // The record is written before the popup draws the answer: wait for the popup's words.
    const result = await tb.waitInPopup<string>(`
      const el = content.document.querySelector('#revoke-key-result');
      return el && !el.closest('[hidden]') && el.textContent.trim() !== '' ? el.textContent.trim() : null;
    `, 15_000);
    expect(result).toContain(user.email);
    // Unset on the identity.
    expect(await identitySigningCert(tb)).toBeNull();
  }, 120_000);

  it('renews with the same key when the key was kept: the passphrase asked, the public key unchanged', async () => {
    const { tb, user } = w();
    const passphrase = 'lifecycle same key passphrase';
    // "Keep the encrypted key" as the option's default, so the popup's box is ticked.
    const stored = await tb.getAddonStorage();
    await tb.setAddonStorage({ settings: { ...(stored['settings'] as Record<string, unknown>), keepKey: true } });
    await tb.closePopup();
    const before = Date.now();
    await startInPopup(tb, { email: user.email, passphrase });
    const kept = await waitForEnrollment(tb, user.email, undefined, 120_000, before);
    expect(kept.step).toBe('installed');
    const keptCert = await recordOf(tb, user.email);
    expect(keptCert?.enrollmentId).toBe(kept.id);

    await tb.closePopup();
    await openPopup(tb);
    // The popup says which key a renewal uses (the kept one): drawn once the state is read.
    expect(await tb.waitInPopup<string>(`
      const el = content.document.querySelector('#renewal-key');
      return el && el.textContent.trim() !== '' ? el.textContent.trim() : null;
    `, 15_000)).toBeTruthy();
    await tb.popupClick(POPUP.renew);
    await tb.waitInPopup('const f = content.document.querySelector("#passphrase-needed"); return !!f && !f.closest("[hidden]") && !content.document.querySelector("#passphrase-needed-key").hidden;', 30_000);
    await tb.popupSetValue('#install-passphrase', passphrase);
    await tb.popupClick('#install');
    const renewal = await waitForEnrollment(tb, user.email, (e) => e.sameKey === true && ['installed', 'failed', 'cancelled'].includes(e.step), 120_000, kept.createdAt + 1);
    expect(renewal.error).toBeUndefined();
    expect(renewal.step).toBe('installed');
    const sameKeyCert = await recordOf(tb, user.email);
    expect(sameKeyCert?.enrollmentId).toBe(renewal.id);
    expect(sameKeyCert?.sha256Fingerprint).not.toBe(keptCert!.sha256Fingerprint);
    expect(publicKeyOfCert(leafPem(sameKeyCert!.chainPem))).toBe(publicKeyOfCert(leafPem(keptCert!.chainPem)));
    expect(publicKeyOfCert(leafPem(sameKeyCert!.chainPem))).not.toBe(publicKeyOfCert(leafPem(renewedCert!.chainPem)));
    expect(await identitySigningCert(tb)).toBe(sameKeyCert!.sha256Fingerprint);
  }, 300_000);
});
