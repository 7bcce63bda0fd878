/**
 * The certificate lives on by itself: unattended renewal (when, what it does, what the user is
 * told, the per-identity and administrator switches, retries with back-off and the expiry
 * warning), renewal with the kept key, and revocation by the certificate's own key.
 */
import { describe, expect, it } from 'vitest';
import type { Enroller } from '../../src/enroll/enroller';
import { EnrollRequestError } from '../../src/enroll/errors';
import { daysLeft, expiryWarningAt, renewalRetryDelay } from '../../src/enroll/certificates/renewal';
import { PortError } from '../../src/enroll/ports';
import { KEYS, type CertificateRecord, type Enrollment } from '../../src/enroll/state';
import { DAY, World, challengeMail } from './fakes';

const ALICE = { identityId: 'id1', email: 'alice@example.test' };
const PASS = 'correct horse battery';

async function installed(world: World, keepKey = false): Promise<Enroller> {
  const enroller = world.enroller();
  const { enrollment } = await enroller.start({ ...ALICE, passphrase: PASS, termsAgreed: true, keepKey });
  await enroller.advance(enrollment.id);
  await world.deliver(enroller, challengeMail(ALICE.email));
  await world.elapse(enroller, 60_000);
  expect((await enroller.certificate('id1'))?.dbKey).toBe('DBKEY-alice@example.test');
  return enroller;
}

async function record(enroller: Enroller): Promise<CertificateRecord> {
  const found = await enroller.certificate('id1');
  if (!found) throw new Error('no certificate record');
  return found;
}

function renewals(enrollments: readonly Enrollment[]): Enrollment[] {
  return enrollments.filter((e) => e.renewal !== undefined);
}

/** Moves the clock to the record's renewal date and runs the check the alarm would run there. */
async function whenDue(world: World, enroller: Enroller): Promise<void> {
  const at = await enroller.nextRenewalCheckAt();
  expect(at).toBeDefined();
  world.now = Math.max(world.now, at!);
  world.keys.notBefore = world.now;
  await enroller.checkRenewals();
}

/** The renewal's challenge mail comes and is answered; the flow runs to the end. */
async function answerRenewal(world: World, enroller: Enroller, ms = 60_000): Promise<void> {
  await world.deliver(enroller, challengeMail(ALICE.email));
  await world.elapse(enroller, ms);
}

describe('unattended renewal', () => {
  it('renews unattended once due: an order with `replaces`, the mail answered, the new certificate set on the identity, the old one until then', async () => {
    const world = new World();
    world.acme.ari = { start: 50 * DAY, end: 52 * DAY };
    const enroller = await installed(world);
    const old = await record(enroller);
    expect(old.renewalSource).toBe('ari');

    // Not due yet: nothing starts.
    world.now = 49 * DAY;
    await enroller.checkRenewals();
    expect(renewals(await enroller.list())).toHaveLength(0);

    await whenDue(world, enroller);
    const [renewal] = renewals(await enroller.list());
    expect(renewal).toMatchObject({ renewal: 'auto', step: 'awaiting-mail', replaces: 'AKI.SERIAL' });
    expect(world.acme.calls).toContain('newOrder alice@example.test replaces=AKI.SERIAL');
    // Until the new certificate is in place, the identity keeps the old one.
    expect(world.certStore.identities.get('id1')?.dbKey).toBe('DBKEY-alice@example.test');
    expect((await record(enroller)).renewal?.enrollmentId).toBe(renewal!.id);

    await answerRenewal(world, enroller);
    expect(world.reply.sent).toHaveLength(2);
    const renewed = await record(enroller);
    expect(renewed.enrollmentId).toBe(renewal!.id);
    expect(renewed.sha256Fingerprint).not.toBe(old.sha256Fingerprint);
    expect(renewed.renewedFrom).toEqual({ at: renewed.installedAt, auto: true, sameKey: false, sha256Fingerprint: old.sha256Fingerprint });
    expect(renewed.renewal).toBeUndefined();
    expect(world.certStore.identities.get('id1')?.dbKey).toBe('DBKEY-alice@example.test#2');
    // NSS was asked about the new certificate too, and the user is told after the fact.
    expect(renewed.usability?.verdict).toBe('ready');
    expect(world.notices.map((n) => n.kind)).toEqual(['installed', 'renewed']);
    expect(world.notices.at(-1)).toEqual({ kind: 'renewed', email: ALICE.email, notAfter: renewed.notAfter });
    // The next renewal is planned from the new certificate.
    expect(await enroller.nextRenewalCheckAt()).toBe(renewed.renewAt);
  });

  it('answers the renewal challenge only with consent when "ask before replying" is on', async () => {
    const world = new World();
    const enroller = await installed(world);
    world.settings = { ...world.settings, askBeforeReplying: true };
    await whenDue(world, enroller);
    await world.deliver(enroller, challengeMail(ALICE.email));
    const [renewal] = renewals(await enroller.list());
    expect(renewal!.step).toBe('awaiting-consent');
    expect(world.reply.sent).toHaveLength(1);
    expect(world.notices.map((n) => n.kind)).toContain('needsConsent');
  });

  it('a new key at each renewal without a kept key: the passphrase is generated and handed out once', async () => {
    const world = new World();
    const enroller = await installed(world);
    await whenDue(world, enroller);
    await answerRenewal(world, enroller);
    const [renewal] = renewals(await enroller.list());
    expect(renewal!.step).toBe('installed');
    expect(world.keys.generated).toHaveLength(2);
    expect(world.acme.finalizedCsrs[1]).not.toBe(world.acme.finalizedCsrs[0]);
    // The backup .p12 is offered, protected by the generated passphrase, which waits in the session only.
    expect(world.downloads.map((d) => d.filename)).toEqual(['alice@example.test.p12', 'alice@example.test.p12']);
    expect(await enroller.generatedPassphrasesWaiting()).toEqual([renewal!.id]);
    for (const snapshot of world.storage.snapshots) expect(JSON.stringify(snapshot)).not.toContain('generated-passphrase-123');
    expect(await enroller.revealGeneratedPassphrase(renewal!.id)).toBe('generated-passphrase-123');
    await expect(enroller.revealGeneratedPassphrase(renewal!.id)).rejects.toBeInstanceOf(EnrollRequestError);
    expect(await enroller.generatedPassphrasesWaiting()).toEqual([]);
    expect(JSON.stringify(world.session.data)).not.toContain('generated-passphrase-123');
  });

  it('the user can turn it off per identity: then only a notice, and the choice survives a renewal', async () => {
    const world = new World();
    const enroller = await installed(world);
    const off = await enroller.setAutoRenew('id1', false);
    expect(off.autoRenew).toBe(false);
    await whenDue(world, enroller);
    expect(renewals(await enroller.list())).toHaveLength(0);
    expect(world.notices.filter((n) => n.kind === 'renewalDue')).toEqual([{ kind: 'renewalDue', email: ALICE.email, notAfter: (await record(enroller)).notAfter }]);
    // Told once: no check is planned for it any more.
    expect(await enroller.nextRenewalCheckAt()).toBeUndefined();

    // Renewed by hand, the new record keeps the user's choice.
    const { enrollment } = await enroller.renew('id1', undefined, true);
    await enroller.advance(enrollment.id);
    await answerRenewal(world, enroller);
    const renewed = await record(enroller);
    expect(renewed.enrollmentId).toBe(enrollment.id);
    expect(renewed.autoRenew).toBe(false);
    expect(renewed.renewedFrom?.auto).toBe(false);
  });

  it('an administrator forces it on over the user\'s choice, or off', async () => {
    const forcedOn = new World();
    forcedOn.settings = { ...forcedOn.settings, autoRenew: 'on' };
    const on = await installed(forcedOn);
    await on.setAutoRenew('id1', false);
    await whenDue(forcedOn, on);
    expect(renewals(await on.list())).toHaveLength(1);

    const forcedOff = new World();
    forcedOff.settings = { ...forcedOff.settings, autoRenew: 'off' };
    const off = await installed(forcedOff);
    await whenDue(forcedOff, off);
    expect(renewals(await off.list())).toHaveLength(0);
    expect(forcedOff.notices.filter((n) => n.kind === 'renewalDue')).toHaveLength(1);
  });

  it('plans the check at the earliest due time, so a short-lived certificate renews before it expires', async () => {
    const world = new World();
    world.keys.notBefore = world.now;
    world.keys.lifetime = 120_000;
    const enroller = await installed(world);
    const first = await record(enroller);
    expect(await enroller.nextRenewalCheckAt()).toBe(first.notBefore + 80_000);
    await whenDue(world, enroller);
    await answerRenewal(world, enroller, 5_000);
    const renewed = await record(enroller);
    expect(renewed.sha256Fingerprint).not.toBe(first.sha256Fingerprint);
    expect(renewed.installedAt).toBeLessThan(first.notAfter);
    expect(world.certStore.identities.get('id1')?.dbKey).toBe('DBKEY-alice@example.test#2');
  });

  it('a failing renewal is tried again with back-off, and the user is warned how many days are left', async () => {
    const world = new World();
    const enroller = await installed(world);
    const old = await record(enroller);
    world.acme.failNext('newOrder', new PortError('problem', 'the CA is closed for renewals', { problem: { type: 'urn:ietf:params:acme:error:rejectedIdentifier' } }));
    await whenDue(world, enroller);
    const [failed] = renewals(await enroller.list());
    expect(failed!.step).toBe('failed');
    // The ended renewal is recorded at once (the check is due now), with the back-off.
    expect(await enroller.nextRenewalCheckAt()).toBe(world.now);
    await enroller.checkRenewals();
    const after = await record(enroller);
    const lifetime = old.notAfter - old.notBefore;
    expect(after.renewal).toMatchObject({ failures: 1, retryAt: world.now + renewalRetryDelay(1, lifetime), warnedAt: world.now });
    expect(after.renewal?.enrollmentId).toBeUndefined();
    expect(world.notices.at(-1)).toEqual({ kind: 'renewalFailing', email: ALICE.email, daysLeft: daysLeft(old.notAfter, world.now) });
    expect(daysLeft(old.notAfter, world.now)).toBe(30);
    // The old certificate stays on the identity meanwhile.
    expect(world.certStore.identities.get('id1')?.dbKey).toBe(old.dbKey);

    // Nothing before the back-off ends; then a new try, which succeeds.
    expect(await enroller.nextRenewalCheckAt()).toBe(after.renewal!.retryAt);
    world.now = after.renewal!.retryAt! - 1;
    await enroller.checkRenewals();
    expect(renewals(await enroller.list())).toHaveLength(1);
    await whenDue(world, enroller);
    expect(renewals(await enroller.list())).toHaveLength(2);
    await answerRenewal(world, enroller);
    expect((await record(enroller)).sha256Fingerprint).not.toBe(old.sha256Fingerprint);
  });

  it('the back-off doubles, is bounded by a day, and shrinks with a short lifetime', () => {
    const long = 90 * DAY;
    expect([1, 2, 3].map((n) => renewalRetryDelay(n, long))).toEqual([15 * 60_000, 30 * 60_000, 60 * 60_000]);
    expect(renewalRetryDelay(20, long)).toBe(DAY);
    // 120 s: tries 4 s apart at first, at most 20 s: several fit before expiry.
    expect(renewalRetryDelay(1, 120_000)).toBe(4_000);
    expect(renewalRetryDelay(10, 120_000)).toBe(20_000);
  });

  it('warns before expiry, saying the days left, when a renewal waits (here for the kept key\'s passphrase) too long', async () => {
    const world = new World();
    const enroller = await installed(world, true);
    const old = await record(enroller);
    await whenDue(world, enroller);
    const [waiting] = renewals(await enroller.list());
    expect(waiting).toMatchObject({ step: 'new', needsPassphrase: true });
    // While it waits, the check comes back only for the warning: the last week before expiry.
    const warnAt = expiryWarningAt(old);
    expect(warnAt).toBe(old.notAfter - 7 * DAY);
    expect(await enroller.nextRenewalCheckAt()).toBe(warnAt);
    world.now = warnAt - 1;
    await enroller.checkRenewals();
    expect(world.notices.filter((n) => n.kind === 'renewalStalled')).toHaveLength(0);
    world.now = warnAt;
    await enroller.checkRenewals();
    await enroller.checkRenewals();
    expect(world.notices.filter((n) => n.kind === 'renewalStalled')).toEqual([{ kind: 'renewalStalled', email: ALICE.email, daysLeft: 7 }]);
    // Then once a day at most.
    expect(await enroller.nextRenewalCheckAt()).toBe(warnAt + DAY);
    world.now = warnAt + DAY;
    await enroller.checkRenewals();
    expect(world.notices.filter((n) => n.kind === 'renewalStalled').map((n) => ('daysLeft' in n ? n.daysLeft : undefined))).toEqual([7, 6]);
  });

  it('a revoked certificate is not renewed', async () => {
    const world = new World();
    const enroller = await installed(world);
    await enroller.revoke('id1', 4);
    expect(await enroller.nextRenewalCheckAt()).toBeUndefined();
    world.now = 80 * DAY;
    await enroller.checkRenewals();
    expect(renewals(await enroller.list())).toHaveLength(0);
  });
});

describe('renewal with the kept key', () => {
  it('same key: the kept key signs the renewal CSR, once its passphrase is given (it is not kept after installation)', async () => {
    const world = new World();
    const enroller = await installed(world, true);
    const first = (await enroller.list())[0]!;
    expect(world.session.data).toEqual({});
    await whenDue(world, enroller);
    const [renewal] = renewals(await enroller.list());
    expect(renewal).toMatchObject({ sameKey: true, keepKey: true, encryptedKey: first.encryptedKey, step: 'new', needsPassphrase: true });
    await enroller.providePassphrase(renewal!.id, PASS);
    await answerRenewal(world, enroller);
    expect((await enroller.list()).find((e) => e.id === renewal!.id)?.step).toBe('installed');
    // One key made in all; both CSRs carry it.
    expect(world.keys.generated).toHaveLength(1);
    expect(world.acme.finalizedCsrs).toHaveLength(2);
    expect(world.acme.finalizedCsrs[1]).toBe(world.acme.finalizedCsrs[0]);
    expect((await record(enroller)).renewedFrom?.sameKey).toBe(true);
    // No passphrase was generated, and the kept key's own is gone from the session again.
    expect(await enroller.generatedPassphrasesWaiting()).toEqual([]);
    expect(world.session.data).toEqual({});
  });

  it('renews unattended with the kept key when the session still has its passphrase', async () => {
    const world = new World();
    const enroller = await installed(world, true);
    const first = (await enroller.list())[0]!;
    await world.session.set({ [KEYS.passphrase(first.id)]: PASS });
    await whenDue(world, enroller);
    await answerRenewal(world, enroller);
    expect(world.acme.finalizedCsrs[1]).toBe(world.acme.finalizedCsrs[0]);
    expect(world.notices.map((n) => n.kind)).toEqual(['installed', 'renewed']);
  });

  it('after a restart (no passphrase in the session) the renewal waits for it before ordering, then goes on', async () => {
    const world = new World();
    const enroller = await installed(world, true);
    world.session.data = {}; // Thunderbird was restarted
    await whenDue(world, enroller);
    const [waiting] = renewals(await enroller.list());
    expect(waiting).toMatchObject({ step: 'new', needsPassphrase: true });
    expect(world.acme.calls.filter((c) => c.startsWith('newOrder'))).toHaveLength(1);
    expect(world.notices.map((n) => n.kind)).toContain('renewalNeedsPassphrase');

    await expect(enroller.providePassphrase(waiting!.id, 'not the passphrase')).rejects.toMatchObject({ code: 'wrongPassphrase' });
    const going = await enroller.providePassphrase(waiting!.id, PASS);
    expect(going.step).toBe('awaiting-mail');
    expect(going.needsPassphrase).toBeUndefined();
    await answerRenewal(world, enroller);
    expect(world.acme.finalizedCsrs[1]).toBe(world.acme.finalizedCsrs[0]);
    expect((await record(enroller)).enrollmentId).toBe(waiting!.id);
  });

  it('renewing by hand with the kept key reuses it too', async () => {
    const world = new World();
    const enroller = await installed(world, true);
    // Without the passphrase it waits for it (the popup asks); with it, the CSR is made at once.
    const waiting = await enroller.renew('id1', undefined, true);
    expect(waiting.enrollment).toMatchObject({ sameKey: true });
    await enroller.cancel(waiting.enrollment.id);
    const { enrollment, generatedPassphrase } = await enroller.renew('id1', PASS, true);
    expect(generatedPassphrase).toBeUndefined();
    expect(enrollment.sameKey).toBe(true);
    await enroller.advance(enrollment.id);
    await answerRenewal(world, enroller);
    expect(world.acme.finalizedCsrs[1]).toBe(world.acme.finalizedCsrs[0]);
  });
});

describe('revocation by certificate key', () => {
  const P12 = new TextEncoder().encode('P12FILE:alice');

  it('revokes with the key out of the .p12 (certificate key), unsets it on the identity and records it', async () => {
    const world = new World();
    const enroller = await installed(world);
    // The .p12 holds the installed certificate (DER, here the text LEAF) and its key.
    world.keys.p12Files.set('alice', { passphrase: 'p12 secret', certificate: 'LEAF', key: 'PKCS8(LEAF)' });
    const result = await enroller.revokeWithCertificateKey(P12, 'p12 secret', 1);
    expect(world.acme.revokedByKey).toHaveLength(1);
    expect(world.acme.revokedByKey[0]!.reason).toBe(1);
    expect(world.acme.revoked).toHaveLength(0); // not by the account
    expect(result.record?.revoked).toEqual({ at: world.now, reason: 1 });
    expect(world.certStore.identities.has('id1')).toBe(false);
    expect((await record(enroller)).revoked?.reason).toBe(1);
  });

  it('a wrong passphrase is the user\'s to correct; a key that is not the certificate\'s is refused by the CA and nothing is marked', async () => {
    const world = new World();
    const enroller = await installed(world);
    world.keys.p12Files.set('alice', { passphrase: 'p12 secret', certificate: 'LEAF', key: 'PKCS8(another key)' });
    await expect(enroller.revokeWithCertificateKey(P12, 'wrong', 0)).rejects.toMatchObject({ code: 'wrongPassphrase' });
    await expect(enroller.revokeWithCertificateKey(P12, 'p12 secret', 0)).rejects.toMatchObject({ kind: 'problem' });
    expect((await record(enroller)).revoked).toBeUndefined();
    expect(world.certStore.identities.get('id1')?.dbKey).toBe('DBKEY-alice@example.test');
  });

  it('a certificate this add-on did not install is revoked at the configured CA', async () => {
    const world = new World();
    const enroller = world.enroller();
    world.keys.p12Files.set('alice', { passphrase: 'p12 secret', certificate: 'LEAF7', key: 'PKCS8(LEAF7)' });
    const result = await enroller.revokeWithCertificateKey(P12, 'p12 secret', 5);
    expect(result.record).toBeUndefined();
    expect(result.sha256Fingerprint).toBe('AB:CD:7');
    expect(world.acme.revokedByKey.map((r) => r.directoryUrl)).toEqual([world.settings.directoryUrl]);
  });
});

describe('the session keeps no more than it must', () => {
  it('the passphrase is removed at install, key kept or not; the kept key only encrypted', async () => {
    for (const keep of [true, false]) {
      const world = new World();
      const enroller = await installed(world, keep);
      expect(world.session.data).toEqual({});
      expect((await enroller.list())[0]!.encryptedKey !== undefined).toBe(keep);
      for (const snapshot of world.storage.snapshots) expect(JSON.stringify(snapshot)).not.toContain(PASS);
    }
  });
});
