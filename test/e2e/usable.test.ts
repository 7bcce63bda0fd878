/**
 * Usable, not just installed: after the one click (and the trust step where it applies),
 * Thunderbird itself signs and encrypts with the new certificate. Mail goes through Thunderbird's
 * own compose window (signing and encryption switched on as its toolbar does, then Send), the
 * sandbox's MTA and Dovecot; the raw mail is read back over IMAP and checked with OpenSSL
 * (`cms -verify` against the mailbox root only, `cms -decrypt` with the key of the downloaded
 * `.p12`), and Thunderbird's message pane must show it as validly signed and decrypted.
 *
 * Worlds: P-256 with two people — alice is asked to trust the mailbox root and accepts, bob's
 * administrator pre-approved it (`trustedMailRoots`) — who exchange signed and encrypted mail;
 * RSA-2048 with the mailbox root already trusted for e-mail in the profile, as for a root in
 * Mozilla's store; and a user who declines the trust question.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, type TempDir } from '../helpers/process';
import { deliveredMail, mailWithSubject } from '../../scripts/harness/mail';
import { certSummary, cmsDecrypt, cmsVerify, contentType, mimeText, openPkcs12 } from '../../scripts/harness/checks';
import { certificatesFor, composeAndSend, displayMessage, identitySendDefaults, sendOrThrow } from '../../scripts/harness/compose';
import { POPUP, answerTrustQuestion, popupVisible, popupVisibleText, startInPopup, waitForDownload, waitForEnrollment, waitForVerdict } from '../../scripts/harness/drive';
import { IDENTITY_KEY, SERVER_KEY, buildXpi, type Thunderbird } from '../../scripts/harness/thunderbird';
import { startWorld, type OtherThunderbird, type World } from '../../scripts/harness/world';

let build: TempDir | undefined;
let xpiPath = '';
/** Every world started, disposed at the end whatever happened. */
const worlds: World[] = [];

async function world(options: Parameters<typeof startWorld>[0] = {}): Promise<World> {
  const started = await startWorld({ ...options, xpiPath });
  worlds.push(started);
  return started;
}

interface TwoPeople {
  readonly world: World;
  readonly bob: OtherThunderbird;
  readonly alice: Enrolled;
  readonly bobCert: Enrolled;
}
interface OnePerson {
  readonly world: World;
  readonly alice: Enrolled;
}

// The worlds start together (their enrollments mostly wait on mail and the CA); each group of
// tests awaits its own. A failed start fails only that group's tests.
let twoPeople: Promise<TwoPeople> | undefined;
let rsaTrusted: Promise<OnePerson> | undefined;
let declining: Promise<OnePerson> | undefined;

beforeAll(() => {
  build = makeTempDir('ocs-e2e-build');
  xpiPath = buildXpi(build.path);
  twoPeople = (async () => {
    const w = await world();
    const bobUser = w.sandbox.users[1];
    if (!bobUser) throw new Error('the sandbox has no second user');
    const bob = await w.addThunderbird(bobUser, { settings: { trustedMailRoots: [w.sandbox.mailboxRootSha256] } });
    const [alice, bobCert] = await Promise.all([
      enroll(w.tb, w.user.email, w.profile.downloadDir, 'P-256'),
      enroll(bob.tb, bobUser.email, bob.profile.downloadDir, 'P-256'),
    ]);
    return { world: w, bob, alice, bobCert };
  })();
  rsaTrusted = (async () => {
    const w = await world({ mailRootTrusted: true });
    return { world: w, alice: await enroll(w.tb, w.user.email, w.profile.downloadDir, 'RSA-2048') };
  })();
  declining = (async () => {
    const w = await world();
    return { world: w, alice: await enroll(w.tb, w.user.email, w.profile.downloadDir, 'P-256') };
  })();
  // Awaited by the groups; these only keep a failed start from being reported as unhandled.
  for (const started of [twoPeople, rsaTrusted, declining]) started.catch(() => undefined);
});

afterAll(async () => {
  await Promise.allSettled([twoPeople, rsaTrusted, declining]);
  const errors: unknown[] = [];
  for (const w of worlds.splice(0)) await w.dispose().catch((error: unknown) => errors.push(error));
  build?.remove();
  if (errors.length > 0) throw errors[0] instanceof Error ? errors[0] : new Error(String(errors[0]));
}, 120_000);

function started<T>(setup: Promise<T> | undefined): Promise<T> {
  if (!setup) throw new Error('the worlds were not started');
  return setup;
}

/** A person's enrolled certificate: the downloaded `.p12` opened with OpenSSL. */
interface Enrolled {
  readonly certificatePem: string;
  readonly privateKeyPem: string;
  readonly sha256: string;
}

/** The one click for `email` in `tb`, up to the installed certificate and its downloaded `.p12`. */
async function enroll(tb: Thunderbird, email: string, downloadDir: string, keyType: string): Promise<Enrolled> {
  const passphrase = `usable ${keyType} ${email}`;
  await startInPopup(tb, { email, passphrase, keyType });
  const done = await waitForEnrollment(tb, email, undefined, 180_000);
  if (done.step !== 'installed') throw new Error(`the enrollment of ${email} ended in ${done.step}: ${JSON.stringify(done.error)}`);
  const contents = openPkcs12(await waitForDownload(downloadDir), passphrase);
  const certificatePem = contents.certificatesPem.find((pem) => certSummary(pem).emails.includes(email));
  if (!certificatePem) throw new Error(`the .p12 of ${email} holds no certificate for it`);
  return { certificatePem, privateKeyPem: contents.privateKeyPem, sha256: certSummary(certificatePem).sha256 };
}

/** A SHA-256 fingerprint in a text (hex, colons optional), as bytes in lower-case hex; '' if none. */
function sameFingerprint(text: string): string {
  return /[0-9a-f]{2}(?::?[0-9a-f]{2}){31}/i.exec(text)?.[0].replace(/:/g, '').toLowerCase() ?? '';
}

function commonName(pem: string): string {
  return /CN=([^,]+)/.exec(certSummary(pem).subject)?.[1] ?? '';
}

/** One of the add-on's own English messages (`_locales/en/messages.json`). */
function englishMessage(key: string): string {
  const messages = JSON.parse(readFileSync(join(resolve(import.meta.dirname, '..', '..'), '_locales', 'en', 'messages.json'), 'utf8')) as Record<string, { message: string } | undefined>;
  const message = messages[key]?.message;
  if (message === undefined) throw new Error(`no message ${key} in _locales/en/messages.json`);
  return message;
}

/** The popup's words that would claim plain success (of a message with placeholders, its longest fixed part). */
function successWords(): string[] {
  return ['step_installed', 'notice_installed_body'].map((key) => englishMessage(key).split(/\$\d/).map((part) => part.trim()).sort((a, b) => b.length - a.length)[0] ?? '');
}

describe('P-256: alice trusts the mailbox root when asked, bob\'s administrator pre-approved it; Thunderbird signs and encrypts, and they exchange mail', () => {
  let setup: TwoPeople | undefined;

  beforeAll(async () => {
    setup = await started(twoPeople);
  }, 400_000);

  function w(): TwoPeople {
    if (!setup) throw new Error('the world did not start');
    return setup;
  }

  it('asks alice whether to trust the mailbox root for e-mail, showing its subject and SHA-256 fingerprint; accepting makes the certificate ready', async () => {
    const { world } = w();
    const question = await answerTrustQuestion(world.tb, 'accept');
    expect(sameFingerprint(question.fingerprint)).toBe(sameFingerprint(world.sandbox.mailboxRootSha256));
    expect(question.subject).toContain(commonName(world.sandbox.mailboxRootPem));
    const shown = await waitForVerdict(world.tb, (v) => v !== 'untrusted-root');
    expect(shown.verdict).toBe('ready');
  });

  it('asks bob nothing: the root his administrator pre-approved by fingerprint is trusted for e-mail and his certificate is ready', async () => {
    const { bob } = w();
    const shown = await waitForVerdict(bob.tb);
    expect(shown.verdict).toBe('ready');
    expect(await popupVisible(bob.tb, POPUP.trustQuestion)).toBe(false);
  });

  it('alice\'s Thunderbird sends a signed mail from its compose window; OpenSSL verifies it against the mailbox root', async () => {
    const { world } = w();
    const subject = 'P-256 signed, alice to alice';
    const sent = await sendOrThrow(world.tb, { identityKey: IDENTITY_KEY, to: world.user.email, subject, body: 'Signed by Thunderbird.\n', sign: true, encrypt: false });
    expect(sent).toMatchObject({ signed: true, encrypted: false });
    const raw = await deliveredMail(world.sandbox, world.user, subject);
    expect(contentType(raw)).toBe('multipart/signed');
    expect(mimeText(cmsVerify(raw, world.sandbox.mailboxRootPem))).toContain('Signed by Thunderbird.');
  });

  it('alice\'s Thunderbird sends a signed and encrypted mail; OpenSSL decrypts it with the key from her .p12 and verifies the signature inside', async () => {
    const { world, alice } = w();
    const subject = 'P-256 signed+encrypted, alice to alice';
    const sent = await sendOrThrow(world.tb, { identityKey: IDENTITY_KEY, to: world.user.email, subject, body: 'Sealed by Thunderbird.\n', sign: true, encrypt: true });
    expect(sent).toMatchObject({ signed: true, encrypted: true });
    const raw = await deliveredMail(world.sandbox, world.user, subject);
    expect(contentType(raw)).toBe('application/pkcs7-mime');
    expect(raw).not.toContain('Sealed by Thunderbird.');
    const inner = cmsDecrypt(raw, alice.certificatePem, alice.privateKeyPem);
    expect(mimeText(cmsVerify(inner, world.sandbox.mailboxRootPem))).toContain('Sealed by Thunderbird.');
  });

  it('alice\'s Thunderbird shows her own messages as validly signed by her, and the encrypted one as decrypted', async () => {
    const { world } = w();
    const signed = await displayMessage(world.tb, SERVER_KEY, 'P-256 signed, alice to alice');
    expect(signed).toMatchObject({ signed: 'ok', encrypted: null, signedIcon: 'message-signed-ok.svg', signerEmail: world.user.email });
    expect(signed.body).toContain('Signed by Thunderbird.');
    const sealed = await displayMessage(world.tb, SERVER_KEY, 'P-256 signed+encrypted, alice to alice');
    expect(sealed).toMatchObject({ signed: 'ok', encrypted: 'ok', signedIcon: 'message-signed-ok.svg', encryptedIcon: 'message-encrypted-ok.svg', signerEmail: world.user.email });
    expect(sealed.body).toContain('Sealed by Thunderbird.');
  });

  it('bob\'s Thunderbird shows alice\'s signed mail as validly signed by her and keeps her certificate', async () => {
    const { world, bob, alice } = w();
    const subject = 'P-256 signed, alice to bob';
    await sendOrThrow(world.tb, { identityKey: IDENTITY_KEY, to: bob.user.email, subject, body: 'Hello Bob, this is my certificate.\n', sign: true, encrypt: false });
    expect(await certificatesFor(bob.tb, world.user.email)).toEqual([]);
    const shown = await displayMessage(bob.tb, SERVER_KEY, subject);
    expect(shown).toMatchObject({ signed: 'ok', signerEmail: world.user.email });
    const kept = await certificatesFor(bob.tb, world.user.email);
    expect(kept.map((c) => sameFingerprint(c.sha256))).toEqual([sameFingerprint(alice.sha256)]);
    // A send, a delivery, bob's Thunderbird fetching and checking it: more than the default minute
    // when the machine is busy (seen once while another Thunderbird suite ran beside it).
  }, 180_000);

  it('bob\'s Thunderbird encrypts a mail to alice with her kept certificate; OpenSSL decrypts it with her key and alice\'s Thunderbird decrypts it', async () => {
    const { world, bob, alice } = w();
    const subject = 'P-256 signed+encrypted, bob to alice';
    const sent = await sendOrThrow(bob.tb, { identityKey: IDENTITY_KEY, to: world.user.email, subject, body: 'Only Alice can read this.\n', sign: true, encrypt: true });
    expect(sent).toMatchObject({ encrypted: true });
    const raw = await deliveredMail(world.sandbox, world.user, subject);
    expect(contentType(raw)).toBe('application/pkcs7-mime');
    expect(mimeText(cmsVerify(cmsDecrypt(raw, alice.certificatePem, alice.privateKeyPem), world.sandbox.mailboxRootPem))).toContain('Only Alice can read this.');
    const shown = await displayMessage(world.tb, SERVER_KEY, subject);
    expect(shown).toMatchObject({ encrypted: 'ok', signed: 'ok', signerEmail: bob.user.email });
    expect(shown.body).toContain('Only Alice can read this.');
  }, 180_000);
});

describe('RSA-2048, mailbox root already trusted for e-mail by the profile: ready without a question; Thunderbird signs and encrypts, OpenSSL agrees', () => {
  let setup: OnePerson | undefined;

  beforeAll(async () => {
    setup = await started(rsaTrusted);
  }, 400_000);

  function w(): OnePerson {
    if (!setup) throw new Error('the world did not start');
    return setup;
  }

  it('the popup says the certificate is ready to sign and encrypt, and asks nothing', async () => {
    const { world } = w();
    const shown = await waitForVerdict(world.tb);
    expect(shown.verdict).toBe('ready');
    expect(await popupVisible(world.tb, POPUP.trustQuestion)).toBe(false);
  });

  it('Thunderbird sends a signed and a signed+encrypted mail; OpenSSL verifies the one and decrypts and verifies the other', async () => {
    const { world, alice } = w();
    await sendOrThrow(world.tb, { identityKey: IDENTITY_KEY, to: world.user.email, subject: 'RSA signed', body: 'RSA signature.\n', sign: true, encrypt: false });
    await sendOrThrow(world.tb, { identityKey: IDENTITY_KEY, to: world.user.email, subject: 'RSA signed+encrypted', body: 'RSA envelope.\n', sign: true, encrypt: true });
    expect(mimeText(cmsVerify(await deliveredMail(world.sandbox, world.user, 'RSA signed'), world.sandbox.mailboxRootPem))).toContain('RSA signature.');
    const sealed = await deliveredMail(world.sandbox, world.user, 'RSA signed+encrypted');
    expect(contentType(sealed)).toBe('application/pkcs7-mime');
    expect(mimeText(cmsVerify(cmsDecrypt(sealed, alice.certificatePem, alice.privateKeyPem), world.sandbox.mailboxRootPem))).toContain('RSA envelope.');
  });

  it('Thunderbird shows both as validly signed, the second as decrypted', async () => {
    const { world } = w();
    expect(await displayMessage(world.tb, SERVER_KEY, 'RSA signed')).toMatchObject({ signed: 'ok', encrypted: null, signerEmail: world.user.email });
    const sealed = await displayMessage(world.tb, SERVER_KEY, 'RSA signed+encrypted');
    expect(sealed).toMatchObject({ signed: 'ok', encrypted: 'ok', signerEmail: world.user.email });
    expect(sealed.body).toContain('RSA envelope.');
  });

  it('"sign by default" and "encrypt by default" in the popup set the identity, and a new compose window starts signed and encrypted', async () => {
    const { world } = w();
    // One box at a time, as a user ticks them: the popup runs one action at a time and shows
    // "Working…" in #status meanwhile; its outcome (empty, or an error) replaces it.
    const tick = async (selector: string): Promise<string> => {
      await world.tb.popupSetValue(selector, true);
      return world.tb.waitInPopup<string>(`
        const status = content.document.querySelector(arguments[0]).textContent;
        return status === arguments[1] ? null : 'status: ' + status;
      `, 15_000, [POPUP.status, englishMessage('popupWorking')]);
    };
    expect(await tick(POPUP.signByDefault)).toBe('status: ');
    expect(await tick(POPUP.encryptByDefault)).toBe('status: ');
    const defaults = await identitySendDefaults(world.tb, IDENTITY_KEY);
    expect(defaults).toEqual({ signMail: true, encryptionPolicy: 2 });
    const sent = await sendOrThrow(world.tb, { identityKey: IDENTITY_KEY, to: world.user.email, subject: 'RSA by default', body: 'Defaults.\n', sign: true, encrypt: true });
    expect(sent).toMatchObject({ initiallySigned: true, initiallyEncrypted: true });
  });
});

describe('a user who declines to trust the mailbox root: the popup says why signing is impossible and claims no success, and Thunderbird indeed cannot sign', () => {
  let setup: OnePerson | undefined;

  beforeAll(async () => {
    setup = await started(declining);
  }, 400_000);

  function w(): World {
    if (!setup) throw new Error('the world did not start');
    return setup.world;
  }

  it('declining leaves #usability at "declined", with words about signing, and no plain success anywhere in the popup', async () => {
    const world = w();
    await answerTrustQuestion(world.tb, 'decline');
    const shown = await waitForVerdict(world.tb, (v) => v !== 'untrusted-root');
    expect(shown.verdict).toBe('declined');
    expect(shown.text).toMatch(/sign/i);
    // Nothing in the popup claims success: the summary, the verdict, and the step history too (its
    // installed line says that Thunderbird cannot use the certificate yet).
    expect((await world.tb.popupText(POPUP.enrollmentStep))?.trim()).not.toBe(englishMessage('step_installed'));
    const text = (await popupVisibleText(world.tb)).replace(/\s+/g, ' ');
    expect(text).toContain(shown.text);
    for (const words of successWords()) expect(text).not.toContain(words);
  });

  it('the way back: "Ask again" shows the same question about the same root again', async () => {
    const world = w();
    await world.tb.popupClick(POPUP.trustAskAgain);
    await world.tb.waitInPopup('const q = content.document.querySelector(arguments[0]); return !!q && !q.closest("[hidden]");', 10_000, [POPUP.trustQuestion]);
    expect(sameFingerprint(await world.tb.popupText(POPUP.trustRootFingerprint) ?? '')).toBe(sameFingerprint(world.sandbox.mailboxRootSha256));
  });

  it('Thunderbird refuses to sign with the certificate, in its own words: the issuer is not recognized', async () => {
    const world = w();
    const outcome = await composeAndSend(world.tb, { identityKey: IDENTITY_KEY, to: world.user.email, subject: 'declined signed', body: 'Cannot be signed.\n', sign: true, encrypt: false });
    expect(outcome.sent).toBe(false);
    expect(outcome.alerts.join('\n')).toMatch(/cannot be digitally signed[\s\S]*issuer is not recognized/i);
    expect(await mailWithSubject(world.sandbox, world.user, 'declined signed')).toEqual([]);
  });
});
