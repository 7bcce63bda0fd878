import { describe, expect, it } from 'vitest';
import { PortError } from '../../src/enroll/ports';
import type { Enroller } from '../../src/enroll/enroller';
import { EnrollRequestError } from '../../src/enroll/errors';
import { isTemporaryRefusal } from '../../src/enroll/records';
import { FIRST_POLL_MS, MAX_ATTEMPTS, POST_AFTER_REPLY_MS, dueAt } from '../../src/enroll/schedule';
import { KEYS, type Enrollment } from '../../src/enroll/state';
import { CA_FROM, DAY, World, challengeMail, type FakeMail } from './fakes';

const ALICE = { identityId: 'id1', email: 'alice@example.test' };
const BOB = { identityId: 'id2', email: 'bob@example.test' };
const PASS = 'correct horse battery';

async function started(_world: World, enroller: Enroller, who = ALICE): Promise<Enrollment> {
  const { enrollment } = await enroller.start({ ...who, passphrase: PASS, termsAgreed: true });
  return enroller.advance(enrollment.id);
}

async function stored(world: World, id: string): Promise<Enrollment> {
  return (await world.storage.get([KEYS.enrollment(id)]))[KEYS.enrollment(id)] as Enrollment;
}

describe('enrollment: the happy path', () => {
  it('goes from order to installed certificate, replying once and POSTing after the reply', async () => {
    const world = new World();
    const enroller = world.enroller();
    const e = await started(world, enroller);
    expect(e.step).toBe('awaiting-mail');
    expect(world.acme.calls).toEqual(['ensureAccount', 'newOrder alice@example.test', 'getAuthorization']);

    await world.deliver(enroller, challengeMail(ALICE.email));
    expect(world.reply.sent).toHaveLength(1);
    const reply = world.reply.sent[0]!;
    expect(reply.identityId).toBe('id1');
    expect(reply.expectFrom).toBe(ALICE.email);
    expect(reply.expectTo).toBe(CA_FROM);
    expect(reply.expectSubject).toMatch(/^Re: ACME: /);
    expect(reply.body).toContain('T2-1.THUMB');
    expect((await stored(world, e.id)).step).toBe('replied');
    expect(world.acme.posted).toBe(0);

    await world.elapse(enroller, POST_AFTER_REPLY_MS + 60_000);
    const done = await stored(world, e.id);
    expect(done.step).toBe('installed');
    expect(world.acme.posted).toBe(1);
    expect(world.acme.calls.indexOf('respondToChallenge')).toBeGreaterThan(world.acme.calls.indexOf('thumbprint'));
    expect(world.acme.finalized).toBe(1);
    expect(done.history.map((h) => h.step)).toEqual(['new', 'account', 'ordered', 'awaiting-mail', 'replying', 'replied', 'validating', 'finalizing', 'downloading', 'installing', 'installing', 'installing', 'installed']);
    // Inside the install step, where the time goes: the import, then NSS's verdict.
    expect(done.history.filter((h) => h.step === 'installing').map((h) => h.note)).toEqual([undefined, 'imported into Thunderbird', 'checked by NSS: ready']);
    // Imported under a one-time secret; the .p12 offered is Thunderbird's export under the passphrase.
    expect(world.certStore.imported).toEqual([{ email: ALICE.email, passphrase: 'one-time-secret' }]);
    expect(world.certStore.exports).toEqual([{ dbKey: 'DBKEY-alice@example.test', passphrase: PASS }]);
    expect(world.certStore.identities.get('id1')).toEqual({ dbKey: 'DBKEY-alice@example.test', usage: 'both' });
    expect(world.downloads.map((d) => d.filename)).toEqual(['alice@example.test.p12']);
    expect(new TextDecoder().decode(world.downloads[0]!.bytes)).toBe('P12[exported DBKEY-alice@example.test]');
    expect(world.notices.map((n) => n.kind)).toEqual(['installed']);
    const cert = await enroller.certificate('id1');
    expect(cert?.sha256Fingerprint).toBe('AB:CD');
    expect(cert?.renewalSource).toBe('lifetime');
    expect(cert?.renewAt).toBe(60 * DAY);
  });

  it('removes the pending key and the passphrase after installing, and never stores the passphrase', async () => {
    const world = new World();
    const enroller = world.enroller();
    const e = await started(world, enroller);
    expect(world.session.data[KEYS.passphrase(e.id)]).toBe(PASS);
    expect((await stored(world, e.id)).encryptedKey).toBeDefined();
    await world.deliver(enroller, challengeMail(ALICE.email));
    await world.elapse(enroller, 60_000);
    const done = await stored(world, e.id);
    expect(done.step).toBe('installed');
    expect(done.encryptedKey).toBeUndefined();
    expect(world.session.data).toEqual({});
    for (const snapshot of world.storage.snapshots) expect(JSON.stringify(snapshot)).not.toContain(PASS);
  });

  it('keeps the encrypted key when the user chose to', async () => {
    const world = new World();
    const enroller = world.enroller();
    const { enrollment } = await enroller.start({ ...ALICE, passphrase: PASS, termsAgreed: true, keepKey: true });
    await enroller.advance(enrollment.id);
    await world.deliver(enroller, challengeMail(ALICE.email));
    await world.elapse(enroller, 60_000);
    const done = await stored(world, enrollment.id);
    expect(done.step).toBe('installed');
    expect(done.encryptedKey).toBe(enrollment.encryptedKey);
  });

  it('generates a passphrase when none is given and returns it once', async () => {
    const world = new World();
    const enroller = world.enroller();
    const result = await enroller.start({ ...ALICE, termsAgreed: true });
    expect(result.generatedPassphrase).toBe('generated-passphrase-123');
    expect(world.session.data[KEYS.passphrase(result.enrollment.id)]).toBe('generated-passphrase-123');
    const withOwn = await world.enroller().start({ ...BOB, passphrase: PASS, termsAgreed: true });
    expect(withOwn.generatedPassphrase).toBeUndefined();
  });

  it('uses the key type and usage asked for, else the settings', async () => {
    const world = new World();
    world.settings = { ...world.settings, keyType: 'RSA-3072', usage: 'sign' };
    const enroller = world.enroller();
    await enroller.start({ ...ALICE, passphrase: PASS, termsAgreed: true });
    await enroller.start({ ...BOB, passphrase: PASS, termsAgreed: true, keyType: 'P-384', usage: 'encrypt' });
    expect(world.keys.generated).toEqual([
      { email: ALICE.email, emails: [ALICE.email], keyType: 'RSA-3072', usage: 'sign' },
      { email: BOB.email, emails: [BOB.email], keyType: 'P-384', usage: 'encrypt' },
    ]);
  });
});

describe('enrollment: when the challenge mail comes', () => {
  it('finds a mail that arrived before the order state was saved, by scanning recent mail', async () => {
    const world = new World();
    const enroller = world.enroller();
    const { enrollment } = await enroller.start({ ...ALICE, passphrase: PASS, termsAgreed: true });
    world.mailbox.mails.push({ ...challengeMail(ALICE.email), date: world.now }); // no event: Thunderbird was busy
    const e = await enroller.advance(enrollment.id);
    expect(world.reply.sent).toHaveLength(1);
    expect(e.step).toBe('replied');
  });

  it('never answers a challenge mail that was already there when the request started (old or replayed)', async () => {
    const world = new World();
    const enroller = world.enroller();
    const old = { ...challengeMail(ALICE.email), date: world.now - 60_000 };
    world.mailbox.mails.push(old);
    const e = await started(world, enroller);
    expect(world.reply.sent).toHaveLength(0);
    expect(e.refusals.map((r) => r.reasons)).toEqual([['arrived-before-order']]);
    expect(world.mailCheck.checked).toHaveLength(0);
    await world.deliver(enroller, challengeMail(ALICE.email));
    expect(world.reply.sent).toHaveLength(1);
  });

  it('never answers a challenge mail answered for an earlier request', async () => {
    const world = new World();
    const enroller = world.enroller();
    const first = await started(world, enroller);
    const mail = challengeMail(ALICE.email);
    await world.deliver(enroller, mail);
    await enroller.cancel(first.id);
    world.mailbox.mails.length = 0; // gone from the mailbox, then delivered again after the new start
    const second = await started(world, enroller);
    await world.deliver(enroller, mail);
    expect(world.reply.sent).toHaveLength(1);
    expect((await stored(world, second.id)).refusals.map((r) => r.reasons)).toEqual([['already-answered']]);
  });

  it('ignores a mail event that comes while the order is still being made; the scan answers it', async () => {
    const world = new World();
    const enroller = world.enroller();
    const { enrollment } = await enroller.start({ ...ALICE, passphrase: PASS, termsAgreed: true });
    await world.deliver(enroller, challengeMail(ALICE.email)); // step is still "new"
    expect(world.reply.sent).toHaveLength(0);
    await enroller.advance(enrollment.id);
    expect(world.reply.sent).toHaveLength(1);
  });

  it('POSTs first only after the configured wait with no mail, then replies without a second POST', async () => {
    const world = new World();
    const enroller = world.enroller();
    const e = await started(world, enroller);
    await world.elapse(enroller, 59_000);
    expect(world.acme.posted).toBe(0);
    world.acme.authzAfterPost = ['pending', 'pending', 'valid'];
    await world.elapse(enroller, 1_000);
    expect(world.acme.posted).toBe(1);
    expect((await stored(world, e.id)).history.some((h) => h.note?.includes('POSTed first'))).toBe(true);
    await world.deliver(enroller, challengeMail(ALICE.email));
    expect(world.reply.sent).toHaveLength(1);
    await world.elapse(enroller, 60_000);
    expect((await stored(world, e.id)).step).toBe('installed');
    expect(world.acme.posted).toBe(1);
  });

  it('skips a mail that vanished before it could be read, and answers the next one', async () => {
    const world = new World();
    const enroller = world.enroller();
    const e = await started(world, enroller);
    const vanished = { ...challengeMail(ALICE.email), date: world.now };
    await enroller.onNewMail([vanished]); // never put into the mailbox: getRaw fails
    expect((await stored(world, e.id)).step).toBe('awaiting-mail');
    await world.deliver(enroller, challengeMail(ALICE.email));
    expect(world.reply.sent).toHaveLength(1);
  });

  it('does not fetch a mail whose subject cannot be a challenge', async () => {
    const world = new World();
    const enroller = world.enroller();
    await started(world, enroller);
    await world.deliver(enroller, challengeMail(ALICE.email, { subject: 'Lunch?' }));
    expect(world.mailbox.rawFetched).toEqual([]);
    expect(world.reply.sent).toHaveLength(0);
  });

  it('leaves alone a challenge addressed to another address', async () => {
    const world = new World();
    const enroller = world.enroller();
    const e = await started(world, enroller);
    await world.deliver(enroller, challengeMail('mallory@example.test'));
    expect(world.mailCheck.checked).toHaveLength(0);
    expect((await stored(world, e.id)).refusals).toEqual([]);
  });

  it('passes the pending challenge to the mail check', async () => {
    const world = new World();
    world.settings = { ...world.settings, tokenJoin: 'bytes' };
    const enroller = world.enroller();
    const e = await started(world, enroller);
    await world.deliver(enroller, challengeMail(ALICE.email));
    expect(world.mailCheck.checked[0]?.expectation).toEqual({ email: ALICE.email, from: CA_FROM, tokenPart2: 'T2-1', thumbprint: 'THUMB', tokenJoin: 'bytes', notBefore: e.createdAt });
    expect((await stored(world, e.id)).joinUsed).toBe('bytes');
  });
});

describe('enrollment: forged or refused mail is never answered', () => {
  it('records the reasons, notifies, and does not reply', async () => {
    const world = new World();
    const enroller = world.enroller();
    const e = await started(world, enroller);
    const forged = challengeMail(ALICE.email, { verdict: ['dkim-missing', 'not-authentic'] });
    await world.deliver(enroller, forged);
    expect(world.reply.sent).toHaveLength(0);
    const after = await stored(world, e.id);
    expect(after.step).toBe('awaiting-mail');
    expect(after.refusals).toHaveLength(1);
    expect(after.refusals[0]).toMatchObject({ headerMessageId: forged.headerMessageId, reasons: ['dkim-missing', 'not-authentic'] });
    expect(world.notices).toEqual([{ kind: 'refused', email: ALICE.email, reasons: ['dkim-missing', 'not-authentic'] }]);
    // The same mail again (a rescan, a second event) is not checked again.
    await enroller.onNewMail([{ ...forged, date: world.now }]);
    expect(world.mailCheck.checked).toHaveLength(1);
    // The real one still gets through.
    await world.deliver(enroller, challengeMail(ALICE.email));
    expect(world.reply.sent).toHaveLength(1);
  });

  it('refuses a mail that makes the check itself fail, and the enrollment carries on', async () => {
    const world = new World();
    const enroller = world.enroller();
    const e = await started(world, enroller);
    const original = world.mailCheck.check.bind(world.mailCheck);
    world.mailCheck.check = () => Promise.reject(new RangeError('nesting too deep'));
    await world.deliver(enroller, challengeMail(ALICE.email));
    const after = await stored(world, e.id);
    expect(after.step).toBe('awaiting-mail');
    expect(after.refusals[0]).toMatchObject({ reasons: ['malformed-message'], detail: 'The mail could not be checked: nesting too deep' });
    world.mailCheck.check = original;
    await world.deliver(enroller, challengeMail(ALICE.email));
    expect(world.reply.sent).toHaveLength(1);
  });

  it('closes the reply unsent when the compose window differs, and says why', async () => {
    const world = new World();
    const enroller = world.enroller();
    const e = await started(world, enroller);
    world.reply.mismatch = ['to'];
    await world.deliver(enroller, challengeMail(ALICE.email));
    expect(world.reply.sent).toHaveLength(0);
    const after = await stored(world, e.id);
    expect(after.step).toBe('awaiting-mail');
    expect(after.refusals[0]?.reasons).toEqual(['compose-mismatch']);
    expect(after.answeredMail).toBeUndefined();
    expect(world.notices).toEqual([{ kind: 'refused', email: ALICE.email, reasons: ['compose-mismatch'] }]);
  });

  it('bounds the refusals kept against a flood of forged mail', async () => {
    const world = new World();
    const enroller = world.enroller();
    const e = await started(world, enroller);
    for (let i = 0; i < 30; i++) await world.deliver(enroller, challengeMail(ALICE.email, { verdict: ['dkim-failed'] }));
    expect((await stored(world, e.id)).refusals).toHaveLength(20);
    expect(world.reply.sent).toHaveLength(0);
  });
});

/** What the fake check says for a mail from now on (the DoH resolver is back, say). */
function rejudge(world: World, mail: FakeMail, verdict: FakeMail['verdict']): void {
  const i = world.mailbox.mails.findIndex((m) => m.headerMessageId === mail.headerMessageId);
  world.mailbox.mails[i] = { ...world.mailbox.mails[i]!, verdict };
}

describe('enrollment: a check that could not finish (finding 3, dkim-temperror)', () => {
  it('does not block the mail: shows "will retry", checks it again with back-off, and answers it once DNS works', async () => {
    const world = new World();
    const enroller = world.enroller();
    const e = await started(world, enroller);
    const mail = challengeMail(ALICE.email, { verdict: ['dkim-temperror'] });
    await world.deliver(enroller, mail);
    let after = await stored(world, e.id);
    expect(after.step).toBe('awaiting-mail');
    expect(after.refusals).toHaveLength(1);
    expect(after.refusals[0]).toMatchObject({ headerMessageId: mail.headerMessageId, reasons: ['dkim-temperror', 'will-retry'], temporary: true });
    expect(after.mailRetry).toMatchObject({ at: world.now + 2_000, attempts: 1 });
    expect(after.history.at(-1)?.note).toMatch(/could not check .* yet.*looked at again in 2 s/);
    // Not a refusal: no "mail refused" notification.
    expect(world.notices).toEqual([]);

    await world.elapse(enroller, 2_000);
    expect(world.mailCheck.checked.map((c) => c.id)).toEqual([mail.headerMessageId, mail.headerMessageId]);
    after = await stored(world, e.id);
    expect(after.mailRetry).toMatchObject({ attempts: 2, at: world.now + 4_000 });
    expect(after.refusals).toHaveLength(1); // replaced, not piled up

    rejudge(world, mail, 'answer');
    await world.elapse(enroller, 4_000);
    expect(world.reply.sent).toHaveLength(1);
    expect(world.reply.sent[0]?.mail.headerMessageId).toBe(mail.headerMessageId);
    after = await stored(world, e.id);
    expect(after.refusals).toEqual([]); // answered: no longer among the mails not answered
    expect(after.mailRetry).toBeUndefined();
    expect(world.acme.posted).toBe(0); // the POST-first wait (60 s) was not cut short by the retries
  });

  it('checks the mail again when a declined reply brings the flow back to waiting', async () => {
    const world = new World();
    world.settings = { ...world.settings, askBeforeReplying: true };
    const enroller = world.enroller();
    const e = await started(world, enroller);
    const unchecked = challengeMail(ALICE.email, { verdict: ['dkim-temperror'] });
    await world.deliver(enroller, unchecked);
    await world.deliver(enroller, challengeMail(ALICE.email)); // another one, authentic: the user is asked
    expect((await stored(world, e.id)).step).toBe('awaiting-consent');
    rejudge(world, unchecked, 'answer');
    world.now += 5_000;
    expect((await enroller.declineReply(e.id)).step).toBe('awaiting-mail');
    expect(await enroller.nextWakeAt()).toBeLessThanOrEqual(world.now); // the planned rescan is due
    await world.elapse(enroller, 1);
    const waiting = await stored(world, e.id);
    expect(waiting.step).toBe('awaiting-consent'); // the unchecked mail, checked again
    expect(waiting.pendingReply?.headerMessageId).toBe(unchecked.headerMessageId);
  });

  it('checks the mail again after a restart', async () => {
    const world = new World();
    const first = world.enroller();
    const e = await started(world, first);
    const mail = challengeMail(ALICE.email, { verdict: ['dkim-temperror'] });
    await world.deliver(first, mail);
    rejudge(world, mail, 'answer');
    await world.enroller().resumeAll();
    expect(world.reply.sent).toHaveLength(1);
    expect((await stored(world, e.id)).answeredMail).toBe(mail.headerMessageId);
  });

  it('treats a temporary refusal stored before this fix (no flag) as temporary too', async () => {
    const world = new World();
    const enroller = world.enroller();
    const e = await started(world, enroller);
    const mail = { ...challengeMail(ALICE.email), date: world.now };
    world.mailbox.mails.push(mail);
    const record = await stored(world, e.id);
    const old = { headerMessageId: mail.headerMessageId, subject: mail.subject, author: mail.author, at: world.now, reasons: ['dkim-temperror' as const], detail: 'try again later' };
    await world.storage.set({ [KEYS.enrollment(e.id)]: { ...record, refusals: [old] } });
    expect(isTemporaryRefusal(old)).toBe(true);
    await world.enroller().resumeAll();
    expect(world.reply.sent).toHaveLength(1);
  });

  it('still blocks a mail for good when any reason is not temporary', async () => {
    const world = new World();
    const enroller = world.enroller();
    const e = await started(world, enroller);
    const mail = challengeMail(ALICE.email, { verdict: ['dkim-failed', 'dkim-temperror'] });
    await world.deliver(enroller, mail);
    const after = await stored(world, e.id);
    expect(after.refusals[0]).toMatchObject({ reasons: ['dkim-failed', 'dkim-temperror'] });
    expect(after.refusals[0]?.temporary).toBeUndefined();
    expect(after.mailRetry).toBeUndefined();
    expect(world.notices).toEqual([{ kind: 'refused', email: ALICE.email, reasons: ['dkim-failed', 'dkim-temperror'] }]);
    rejudge(world, mail, 'answer');
    await world.elapse(enroller, 30_000);
    await world.enroller().resumeAll();
    expect(world.mailCheck.checked).toHaveLength(1);
    expect(world.reply.sent).toHaveLength(0);
  });

  it('gives up at the validation time-out, saying which mail could not be checked', async () => {
    const world = new World();
    world.acme.authzAfterPost = ['pending'];
    world.settings = { ...world.settings, validationTimeoutMinutes: 10 };
    const enroller = world.enroller();
    const e = await started(world, enroller);
    const mail = challengeMail(ALICE.email, { verdict: ['dkim-temperror'] });
    await world.deliver(enroller, mail);
    await world.elapse(enroller, 11 * 60_000);
    const failed = await stored(world, e.id);
    expect(failed.step).toBe('failed');
    expect(failed.error?.code).toBe('timeout');
    expect(failed.error?.message).toContain(`could not check ${mail.headerMessageId} yet`);
    expect(failed.mailRetry).toBeUndefined();
    // Nothing will look at it again: the popup no longer says it will.
    expect(failed.refusals).toEqual([expect.objectContaining({ reasons: ['dkim-temperror'], temporary: false })]);
    // Back-off 2, 4, 8… s: a handful of checks in ten minutes, not one per poll.
    expect(world.mailCheck.checked.length).toBeGreaterThan(3);
    expect(world.mailCheck.checked.length).toBeLessThan(12);
    expect(await enroller.nextWakeAt()).toBeUndefined();
  });
});

describe('enrollment: a transient failure while a mail is handled (finding 4)', () => {
  it('a failed thumbprint fetch leaves the mail to be checked again, with a note, and it is answered', async () => {
    const world = new World();
    const enroller = world.enroller();
    const e = await started(world, enroller);
    world.acme.failNext('thumbprint', new PortError('transient', 'connection reset'));
    await world.deliver(enroller, challengeMail(ALICE.email)); // does not throw
    const after = await stored(world, e.id);
    expect(after.step).toBe('awaiting-mail');
    expect(after.refusals).toEqual([]);
    expect(after.mailRetry?.reason).toContain('connection reset');
    expect(after.history.at(-1)?.note).toMatch(/connection reset; mail looked at again in 2 s/);
    expect(await enroller.nextWakeAt()).toBe(world.now + 2_000);
    await world.elapse(enroller, 2_000);
    expect(world.reply.sent).toHaveLength(1);
    expect((await stored(world, e.id)).step).not.toBe('awaiting-mail');
  });

  it('a mail that could not be read on the new-mail event is read again by a rescan', async () => {
    const world = new World();
    const enroller = world.enroller();
    const e = await started(world, enroller);
    const original = world.mailbox.raw.bind(world.mailbox);
    let failures = 1;
    world.mailbox.raw = (mail) => (failures-- > 0 ? Promise.reject(new Error('getRaw: message not downloaded yet')) : original(mail));
    await world.deliver(enroller, challengeMail(ALICE.email));
    expect((await stored(world, e.id)).mailRetry?.reason).toContain('message not downloaded yet');
    await world.elapse(enroller, 2_000);
    expect(world.reply.sent).toHaveLength(1);
  });

  it('a scan cut short by a transient failure is done again', async () => {
    const world = new World();
    const enroller = world.enroller();
    const { enrollment } = await enroller.start({ ...ALICE, passphrase: PASS, termsAgreed: true });
    world.mailbox.mails.push({ ...challengeMail(ALICE.email), date: world.now }); // came while the order was made
    world.acme.failNext('thumbprint', new PortError('transient', 'offline'));
    const e = await enroller.advance(enrollment.id);
    expect(e.step).toBe('awaiting-mail');
    expect(e.mailRetry?.attempts).toBe(1);
    await world.elapse(enroller, 2_000);
    expect(world.reply.sent).toHaveLength(1);
  });

  it('one failing mail does not keep the others of the same event from being answered', async () => {
    const world = new World();
    const enroller = world.enroller();
    const [a, b] = await Promise.all([started(world, enroller, ALICE), started(world, enroller, BOB)]);
    const forAlice = { ...challengeMail(ALICE.email), date: world.now };
    const forBob = { ...challengeMail(BOB.email), date: world.now };
    world.mailbox.mails.push(forAlice, forBob);
    world.acme.failNext('thumbprint', new PortError('transient', 'connection reset'));
    await enroller.onNewMail([forAlice, forBob]);
    expect(world.reply.sent.map((r) => r.identityId)).toEqual(['id2']);
    expect((await stored(world, a.id)).mailRetry).toBeDefined();
    await world.elapse(enroller, 2_000);
    expect(world.reply.sent.map((r) => r.identityId).sort()).toEqual(['id1', 'id2']);
    expect((await stored(world, b.id)).refusals).toEqual([]);
  });

  it('a failure that is not transient is reported on the enrollment, not swallowed', async () => {
    const world = new World();
    const enroller = world.enroller();
    const e = await started(world, enroller);
    world.acme.failNext('thumbprint', new PortError('fatal', 'the account key is gone'));
    await world.deliver(enroller, challengeMail(ALICE.email));
    const failed = await stored(world, e.id);
    expect(failed.step).toBe('failed');
    expect(failed.error).toMatchObject({ code: 'internal', message: 'the account key is gone' });
    expect(world.notices.map((n) => n.kind)).toEqual(['failed']);
  });

  it('a planned rescan waits for a step that is backing off (no busy wake-ups)', () => {
    const base = { step: 'awaiting-mail', attempts: 0, wakeAt: 10_000, mailRetry: { at: 5_000, attempts: 1, reason: 'x' } } as const;
    const e = base as unknown as Enrollment;
    expect(dueAt(e)).toBe(5_000);
    expect(dueAt({ ...e, attempts: 2 })).toBe(10_000);
    expect(dueAt({ ...e, step: 'validating' })).toBe(10_000);
    expect(dueAt({ ...e, step: 'failed' })).toBeUndefined();
  });
});

describe('enrollment: exactly one reply', () => {
  it('answers one challenge once, whatever the number of events for it', async () => {
    const world = new World();
    const enroller = world.enroller();
    await started(world, enroller);
    const mail = { ...challengeMail(ALICE.email), date: world.now };
    world.mailbox.mails.push(mail);
    await Promise.all([enroller.onNewMail([mail]), enroller.onNewMail([mail]), enroller.onNewMail([mail, mail])]);
    await enroller.resumeAll();
    expect(world.reply.sent).toHaveLength(1);
  });

  it('does not answer a second, different challenge mail once replied', async () => {
    const world = new World();
    const enroller = world.enroller();
    await started(world, enroller);
    await world.deliver(enroller, challengeMail(ALICE.email));
    await world.deliver(enroller, challengeMail(ALICE.email));
    expect(world.reply.sent).toHaveLength(1);
  });

  it('after a failed compose, tries again later and still replies only once', async () => {
    const world = new World();
    const enroller = world.enroller();
    const e = await started(world, enroller);
    world.reply.failures.push(new PortError('transient', 'compose window did not open'));
    await world.deliver(enroller, challengeMail(ALICE.email));
    expect(world.reply.sent).toHaveLength(0);
    expect((await stored(world, e.id)).step).toBe('awaiting-mail');
    await world.elapse(enroller, 5_000);
    expect(world.reply.sent).toHaveLength(1);
  });
});

describe('enrollment: ask before replying', () => {
  it('waits for the user, then replies on approval', async () => {
    const world = new World();
    world.settings = { ...world.settings, askBeforeReplying: true };
    const enroller = world.enroller();
    const e = await started(world, enroller);
    await world.deliver(enroller, challengeMail(ALICE.email));
    const waiting = await stored(world, e.id);
    expect(waiting.step).toBe('awaiting-consent');
    expect(waiting.pendingReply?.authenticity).toBe('DKIM d=ca.test');
    expect(world.reply.sent).toHaveLength(0);
    expect(world.notices.map((n) => n.kind)).toEqual(['needsConsent']);
    await world.elapse(enroller, 10 * 60_000);
    expect(world.acme.posted).toBe(0);
    const approved = await enroller.approveReply(e.id);
    expect(approved.step).toBe('replied');
    expect(world.reply.sent).toHaveLength(1);
  });

  it('never replies when the user declines, and keeps the mail as refused', async () => {
    const world = new World();
    world.settings = { ...world.settings, askBeforeReplying: true };
    const enroller = world.enroller();
    const e = await started(world, enroller);
    const mail = challengeMail(ALICE.email);
    await world.deliver(enroller, mail);
    const declined = await enroller.declineReply(e.id);
    expect(declined.step).toBe('awaiting-mail');
    expect(declined.refusals[0]?.reasons).toEqual(['user-declined']);
    await enroller.onNewMail([{ ...mail, date: world.now }]);
    expect(world.reply.sent).toHaveLength(0);
    await expect(enroller.approveReply(e.id)).rejects.toBeInstanceOf(EnrollRequestError);
  });

  it('finds the mail again by Message-ID when approved after a restart', async () => {
    const world = new World();
    world.settings = { ...world.settings, askBeforeReplying: true };
    const first = world.enroller();
    const e = await started(world, first);
    await world.deliver(first, challengeMail(ALICE.email));
    const restarted = world.enroller();
    await restarted.resumeAll();
    await restarted.approveReply(e.id);
    expect(world.reply.sent).toHaveLength(1);
    expect(world.reply.sent[0]?.mail.headerMessageId).toBe((await stored(world, e.id)).answeredMail);
  });
});

describe('enrollment: CA behaviour', () => {
  it('honours Retry-After while polling the authorization', async () => {
    const world = new World();
    world.acme.authzAfterPost = ['pending', 'valid'];
    world.acme.authzRetryAfterMs = 20_000;
    const enroller = world.enroller();
    const e = await started(world, enroller);
    await world.deliver(enroller, challengeMail(ALICE.email));
    await world.elapse(enroller, POST_AFTER_REPLY_MS + FIRST_POLL_MS + 100); // POST, then the first poll says pending
    expect(world.acme.calls.filter((c) => c === 'getAuthorization').length).toBeGreaterThan(1);
    const polls = world.acme.calls.filter((c) => c === 'getAuthorization').length;
    await world.elapse(enroller, 19_000);
    expect(world.acme.calls.filter((c) => c === 'getAuthorization').length).toBe(polls);
    await world.elapse(enroller, 2_000);
    expect((await stored(world, e.id)).step).toBe('installed');
  });

  it('polls a processing order with its Retry-After until valid', async () => {
    const world = new World();
    world.acme.orderStatusAfterFinalize = ['processing', 'processing', 'valid'];
    world.acme.orderRetryAfterMs = 5_000;
    const enroller = world.enroller();
    const e = await started(world, enroller);
    await world.deliver(enroller, challengeMail(ALICE.email));
    await world.elapse(enroller, 8_000);
    expect((await stored(world, e.id)).step).toBe('finalizing');
    await world.elapse(enroller, 10_000);
    expect((await stored(world, e.id)).step).toBe('installed');
    expect(world.acme.finalized).toBe(1);
  });

  it('fails with the CA problem document when the challenge is judged invalid', async () => {
    const world = new World();
    // A join set in the options: no second order with the other join (test/enroll/joins.test.ts).
    world.settings = { ...world.settings, tokenJoin: 'string' };
    world.acme.authzAfterPost = ['invalid'];
    world.acme.challengeError = { type: 'urn:ietf:params:acme:error:incorrectResponse', detail: 'The response value is wrong' };
    const enroller = world.enroller();
    const e = await started(world, enroller);
    await world.deliver(enroller, challengeMail(ALICE.email));
    await world.elapse(enroller, 60_000);
    const failed = await stored(world, e.id);
    expect(failed.step).toBe('failed');
    expect(failed.error).toMatchObject({ code: 'challengeInvalid', message: 'The response value is wrong', problem: world.acme.challengeError });
    expect(failed.encryptedKey).toBeUndefined();
    expect(world.session.data).toEqual({});
    expect(world.notices.at(-1)).toEqual({ kind: 'failed', email: ALICE.email, code: 'challengeInvalid', problem: world.acme.challengeError });
  });

  it('fails with the order error when the order turns invalid', async () => {
    const world = new World();
    world.acme.orderStatusAfterFinalize = ['invalid'];
    const enroller = world.enroller();
    const e = await started(world, enroller);
    await world.deliver(enroller, challengeMail(ALICE.email));
    await world.elapse(enroller, 60_000);
    expect((await stored(world, e.id)).error).toMatchObject({ code: 'orderInvalid', problem: { detail: 'CSR refused' } });
  });

  it('fails clearly when no email-reply-00 challenge is offered', async () => {
    const world = new World();
    world.acme.offerChallenge = false;
    const e = await started(world, world.enroller());
    expect(e.step).toBe('failed');
    expect(e.error?.code).toBe('noEmailChallenge');
  });

  it('skips the mail when the authorization is already valid', async () => {
    const world = new World();
    world.acme.authzInitial = 'valid';
    const enroller = world.enroller();
    const e = await started(world, enroller);
    await world.elapse(enroller, 1_000);
    expect((await stored(world, e.id)).step).toBe('installed');
    expect(world.reply.sent).toHaveLength(0);
  });

  it('gives up after the validation timeout', async () => {
    const world = new World();
    world.acme.authzAfterPost = ['pending'];
    world.settings = { ...world.settings, validationTimeoutMinutes: 10 };
    const enroller = world.enroller();
    const e = await started(world, enroller);
    await world.elapse(enroller, 11 * 60_000);
    const failed = await stored(world, e.id);
    expect(failed.step).toBe('failed');
    expect(failed.error?.code).toBe('timeout');
  });

  it('sends the EAB credentials and the terms consent to the account port', async () => {
    const world = new World();
    world.settings = { ...world.settings, eabKeyId: 'kid-1', eabHmacKey: 'c2VjcmV0' };
    const calls: unknown[] = [];
    const original = world.acme.ensureAccount.bind(world.acme);
    world.acme.ensureAccount = (request) => {
      calls.push(request);
      return original(request);
    };
    await started(world, world.enroller());
    expect(calls).toEqual([{ directoryUrl: 'https://ca.test/directory', contact: ['mailto:alice@example.test'], termsAgreed: true, eab: { keyId: 'kid-1', hmacKey: 'c2VjcmV0' } }]);
  });

  it('fails with the terms link when the CA requires user action', async () => {
    const world = new World();
    world.acme.failNext('ensureAccount', new PortError('userAction', 'Agree to the new terms', { link: 'https://ca.test/terms/v2', problem: { type: 'urn:ietf:params:acme:error:userActionRequired', detail: 'Agree to the new terms' } }));
    const e = await started(world, world.enroller());
    expect(e.error).toMatchObject({ code: 'userActionRequired', link: 'https://ca.test/terms/v2' });
  });

  it('fails with the problem when the CA refuses the order', async () => {
    const world = new World();
    world.acme.failNext('newOrder', new PortError('problem', 'rejected', { problem: { type: 'urn:ietf:params:acme:error:rejectedIdentifier', detail: 'email identifiers for this domain are not allowed' } }));
    const e = await started(world, world.enroller());
    expect(e.step).toBe('failed');
    expect(e.error?.problem?.detail).toBe('email identifiers for this domain are not allowed');
  });
});

describe('enrollment: network loss and rate limits', () => {
  it('retries transient failures with back-off and completes', async () => {
    const world = new World();
    world.acme.failNext('newOrder', new PortError('transient', 'offline'), new PortError('transient', 'offline'));
    const enroller = world.enroller();
    const e = await started(world, enroller);
    expect(e.step).toBe('account');
    expect(e.attempts).toBe(1);
    expect(e.wakeAt).toBe(world.now + 2_000);
    await world.elapse(enroller, 10_000);
    expect((await stored(world, e.id)).step).toBe('awaiting-mail');
  });

  it('reports a clear error once the retries are spent, and drops the key', async () => {
    const world = new World();
    for (let i = 0; i < MAX_ATTEMPTS; i++) world.acme.failNext('ensureAccount', new PortError('transient', 'connection refused'));
    const enroller = world.enroller();
    const e = await started(world, enroller);
    await world.elapse(enroller, 3_600_000);
    const failed = await stored(world, e.id);
    expect(failed.step).toBe('failed');
    expect(failed.error?.code).toBe('network');
    expect(failed.error?.message).toContain('connection refused');
    expect(failed.encryptedKey).toBeUndefined();
  });

  it('waits as long as the rate limit says', async () => {
    const world = new World();
    world.acme.failNext('newOrder', new PortError('rateLimited', 'too many orders', { retryAfterMs: 3_600_000 }));
    const enroller = world.enroller();
    const e = await started(world, enroller);
    expect(e.wakeAt).toBe(world.now + 3_600_000);
    await world.elapse(enroller, 3_599_000);
    expect((await stored(world, e.id)).step).toBe('account');
    await world.elapse(enroller, 1_000);
    expect((await stored(world, e.id)).step).toBe('awaiting-mail');
  });

  it('waits as long as a CA that is down says (Retry-After with a 5xx), within the bounds', async () => {
    const world = new World();
    world.acme.failNext('newOrder', new PortError('transient', '503 maintenance', { retryAfterMs: 45_000 }), new PortError('transient', '503', { retryAfterMs: 10 }));
    const enroller = world.enroller();
    const e = await started(world, enroller);
    expect(e.wakeAt).toBe(world.now + 45_000);
    await world.elapse(enroller, 45_000);
    const again = await stored(world, e.id);
    expect(again.attempts).toBe(2);
    // Never sooner than a second, whatever the CA says.
    expect(again.wakeAt).toBe(world.now + 1_000);
    await world.elapse(enroller, 1_000);
    expect((await stored(world, e.id)).step).toBe('awaiting-mail');
  });

  it('retries a failed POST to the challenge in the same step', async () => {
    const world = new World();
    world.acme.failNext('respondToChallenge', new PortError('transient', '502'));
    const enroller = world.enroller();
    const e = await started(world, enroller);
    await world.deliver(enroller, challengeMail(ALICE.email));
    await world.elapse(enroller, 60_000);
    expect((await stored(world, e.id)).step).toBe('installed');
    expect(world.acme.posted).toBe(1);
    expect(world.reply.sent).toHaveLength(1);
  });
});

describe('enrollment: passphrase at install time', () => {
  it('asks for it after a restart, refuses a wrong one, installs with the right one', async () => {
    const world = new World();
    const enroller = world.enroller();
    const e = await started(world, enroller);
    await world.deliver(enroller, challengeMail(ALICE.email));
    world.session.data = {}; // Thunderbird quit: storage.session is gone
    const restarted = world.enroller();
    await restarted.resumeAll();
    await world.elapse(restarted, 60_000);
    const waiting = await stored(world, e.id);
    expect(waiting.step).toBe('installing');
    expect(waiting.needsPassphrase).toBe(true);
    expect(world.notices.map((n) => n.kind)).toEqual(['needsPassphrase']);
    await expect(restarted.providePassphrase(e.id, 'wrong passphrase')).rejects.toMatchObject({ code: 'wrongPassphrase' });
    expect(world.certStore.imported).toHaveLength(0);
    expect((await stored(world, e.id)).encryptedKey).toBeDefined();
    const done = await restarted.providePassphrase(e.id, PASS);
    expect(done.step).toBe('installed');
    expect(done.needsPassphrase).toBeUndefined();
  });

  it('reports a certificate-store failure with its message', async () => {
    const world = new World();
    world.certStore.failImport = new PortError('fatal', 'PKCS#12 import failed with status 3');
    const enroller = world.enroller();
    const e = await started(world, enroller);
    await world.deliver(enroller, challengeMail(ALICE.email));
    await world.elapse(enroller, 60_000);
    expect((await stored(world, e.id)).error).toMatchObject({ code: 'install', message: 'PKCS#12 import failed with status 3' });
  });
});

describe('enrollment: requests', () => {
  it('refuses a second enrollment for the same identity while one runs', async () => {
    const world = new World();
    const enroller = world.enroller();
    await started(world, enroller);
    await expect(enroller.start({ ...ALICE, passphrase: PASS, termsAgreed: true })).rejects.toMatchObject({ code: 'busy' });
  });

  it('refuses to start without a CA or with a short passphrase', async () => {
    const world = new World();
    await expect(world.enroller().start({ ...ALICE, passphrase: 'short', termsAgreed: true })).rejects.toMatchObject({ code: 'weakPassphrase' });
    world.settings = { ...world.settings, directoryUrl: '' };
    await expect(world.enroller().start({ ...ALICE, passphrase: PASS, termsAgreed: true })).rejects.toMatchObject({ code: 'noDirectory' });
  });

  it('cancels: the key and the passphrase go, nothing more happens', async () => {
    const world = new World();
    const enroller = world.enroller();
    const e = await started(world, enroller);
    const cancelled = await enroller.cancel(e.id);
    expect(cancelled.step).toBe('cancelled');
    expect(cancelled.encryptedKey).toBeUndefined();
    expect(world.session.data).toEqual({});
    await world.deliver(enroller, challengeMail(ALICE.email));
    await world.elapse(enroller, 3_600_000);
    expect(world.reply.sent).toHaveLength(0);
    expect(world.acme.posted).toBe(0);
    await enroller.dismiss(e.id);
    expect(await enroller.list()).toEqual([]);
  });

  it('manual mode: gives the response for a pasted subject, then continues as after a reply', async () => {
    const world = new World();
    const enroller = world.enroller();
    const e = await started(world, enroller);
    expect(await enroller.manualResponse(e.id, 'ACME: abc')).toBe('RESPONSE abc T2-1 THUMB string');
    await expect(enroller.manualResponse(e.id, 'Lunch')).rejects.toBeInstanceOf(PortError);
    const sent = await enroller.manualSent(e.id);
    expect(['replied', 'validating', 'installed']).toContain(sent.step);
    await world.elapse(enroller, 60_000);
    expect((await stored(world, e.id)).step).toBe('installed');
    expect(world.reply.sent).toHaveLength(0);
    expect(world.acme.posted).toBe(1);
  });

  it('runs two identities at once, each answering its own challenge', async () => {
    const world = new World();
    const enroller = world.enroller();
    const [a, b] = await Promise.all([started(world, enroller, ALICE), started(world, enroller, BOB)]);
    await Promise.all([world.deliver(enroller, challengeMail(BOB.email)), world.deliver(enroller, challengeMail(ALICE.email))]);
    await world.elapse(enroller, 60_000);
    expect((await stored(world, a.id)).step).toBe('installed');
    expect((await stored(world, b.id)).step).toBe('installed');
    expect(world.reply.sent.map((r) => r.identityId).sort()).toEqual(['id1', 'id2']);
    for (const r of world.reply.sent) expect(r.body).toContain(r.identityId === 'id1' ? 'T2-1' : 'T2-2');
    expect([...world.certStore.identities.keys()].sort()).toEqual(['id1', 'id2']);
  });
});

describe('certificates: renew and revoke', () => {
  async function installed(world: World): Promise<Enroller> {
    const enroller = world.enroller();
    await started(world, enroller);
    await world.deliver(enroller, challengeMail(ALICE.email));
    await world.elapse(enroller, 60_000);
    return enroller;
  }

  it('revokes with the reason and unsets the certificate on the identity', async () => {
    const world = new World();
    const enroller = await installed(world);
    const revoked = await enroller.revoke('id1', 1);
    expect(world.acme.revoked).toEqual([{ der: new TextEncoder().encode('LEAF-DER'), reason: 1 }]);
    expect(world.certStore.identities.has('id1')).toBe(false);
    expect(revoked.revoked).toEqual({ at: world.now, reason: 1 });
    await expect(enroller.revoke('id9', 0)).rejects.toMatchObject({ code: 'noCertificate' });
  });

  it('notifies once when two thirds of the lifetime have passed (unattended renewal off)', async () => {
    const world = new World();
    world.settings = { ...world.settings, autoRenew: 'off' };
    const enroller = await installed(world);
    world.now = 59 * DAY;
    await enroller.checkRenewals();
    expect(world.notices.filter((n) => n.kind === 'renewalDue')).toHaveLength(0);
    world.now = 61 * DAY;
    await enroller.checkRenewals();
    await enroller.checkRenewals();
    expect(world.notices.filter((n) => n.kind === 'renewalDue')).toHaveLength(1);
  });

  it('follows the ARI window when the CA offers one, and renews with `replaces`', async () => {
    const world = new World();
    world.settings = { ...world.settings, autoRenew: 'off' };
    const enroller = await installed(world);
    world.acme.ari = { start: 10 * DAY, end: 20 * DAY };
    await enroller.checkRenewals();
    const record = await enroller.certificate('id1');
    expect(record?.renewalSource).toBe('ari');
    expect(record?.renewAt).toBe(15 * DAY);
    world.now = 16 * DAY;
    await enroller.checkRenewals();
    expect(world.notices.filter((n) => n.kind === 'renewalDue')).toHaveLength(1);
    const { enrollment } = await enroller.renew('id1', PASS, true);
    await enroller.advance(enrollment.id);
    expect(world.acme.calls).toContain('newOrder alice@example.test replaces=AKI.SERIAL');
  });
});

describe('enrollment: timing without Retry-After', () => {
  it('POSTs a second after the reply and polls with a back-off that starts under a second', async () => {
    const world = new World();
    world.acme.authzAfterPost = ['pending', 'pending', 'pending', 'valid'];
    const enroller = world.enroller();
    const e = await started(world, enroller);
    await world.deliver(enroller, challengeMail(ALICE.email));
    const replied = world.now;
    const pollTimes: number[] = [];
    let postAt: number | undefined;
    for (let t = 0; t < 10_000 && (await stored(world, e.id)).step !== 'installed'; t += 50) {
      const before = world.acme.calls.length;
      await world.elapse(enroller, 50);
      for (const call of world.acme.calls.slice(before)) {
        if (call === 'respondToChallenge') postAt = world.now - replied;
        if (call === 'getAuthorization' && postAt !== undefined) pollTimes.push(world.now - replied);
      }
    }
    expect(postAt).toBe(POST_AFTER_REPLY_MS);
    // 0.5 s after the POST, then 1, 2, 4 s apart: each gap doubles, the first is under a second.
    const gaps = pollTimes.map((at, i) => at - (i === 0 ? postAt! : pollTimes[i - 1]!));
    expect(gaps[0]).toBeLessThan(1_000);
    expect(gaps.slice(0, 4)).toEqual([FIRST_POLL_MS, 2 * FIRST_POLL_MS, 4 * FIRST_POLL_MS, 8 * FIRST_POLL_MS]);
    expect((await stored(world, e.id)).step).toBe('installed');
  });
});
