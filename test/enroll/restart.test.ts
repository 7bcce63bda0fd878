/**
 * Kill the background at every write the flow makes, then start a new one over what storage
 * held at that moment: every enrollment must complete, with at most one reply in all, and the
 * key must be in storage at every moment until installation.
 */
import { describe, expect, it } from 'vitest';
import { KEYS, isTerminal, type Enrollment } from '../../src/enroll/state';
import { ENROLLMENT_PREFIX } from '../../src/enroll/state';
import { World, challengeMail, type FakeMail } from './fakes';

const ALICE = { identityId: 'id1', email: 'alice@example.test' };
const PASS = 'correct horse battery';

function enrollmentIn(snapshot: Record<string, unknown>): Enrollment | undefined {
  const entry = Object.entries(snapshot).find(([key]) => key.startsWith(ENROLLMENT_PREFIX));
  return entry?.[1] as Enrollment | undefined;
}

/** The happy path once, keeping every storage state it went through and the mail it answered. */
async function recordHappyPath(askBeforeReplying: boolean): Promise<{ snapshots: Record<string, unknown>[]; mail: FakeMail; sessionAt: Record<string, unknown> }> {
  const world = new World();
  world.settings = { ...world.settings, askBeforeReplying };
  const enroller = world.enroller();
  const { enrollment } = await enroller.start({ ...ALICE, passphrase: PASS, termsAgreed: true });
  await enroller.advance(enrollment.id);
  const mail = { ...challengeMail(ALICE.email), date: world.now };
  await world.deliver(enroller, mail);
  if (askBeforeReplying) await enroller.approveReply(enrollment.id);
  await world.elapse(enroller, 60_000);
  expect(enrollmentIn(world.storage.data)?.step).toBe('installed');
  return { snapshots: world.storage.snapshots, mail, sessionAt: { [KEYS.passphrase(enrollment.id)]: PASS } };
}

describe.each([false, true])('restart at every transition (ask before replying: %s)', (ask) => {
  it('completes from every stored state, never replies twice, never loses the key', async () => {
    const { snapshots, mail, sessionAt } = await recordHappyPath(ask);
    const steps = new Set<string>();
    for (const [i, snapshot] of snapshots.entries()) {
      const before = enrollmentIn(snapshot);
      if (!before) continue;
      steps.add(before.step);
      if (!isTerminal(before.step)) expect(before.encryptedKey, `snapshot ${i} (${before.step})`).toBeDefined();
      for (const sessionSurvived of [true, false]) {
        const world = new World(snapshot, sessionSurvived ? sessionAt : {});
        world.settings = { ...world.settings, askBeforeReplying: ask };
        world.now += 1_000;
        // The CA remembers what it was told before the stop.
        world.acme.posted = before.challengePosted ? 1 : 0;
        world.acme.finalized = ['downloading', 'installing', 'installed'].includes(before.step) ? 1 : 0;
        // The challenge mail is still in Thunderbird (a new session gives it a new id).
        world.mailbox.mails.push({ ...mail, id: mail.id + 1000 });
        const enroller = world.enroller();
        await enroller.resumeAll();
        if (ask && enrollmentIn(world.storage.data)?.step === 'awaiting-consent') await enroller.approveReply(before.id);
        await world.elapse(enroller, 60_000);
        const after = enrollmentIn(world.storage.data)!;
        if (after.step === 'installing' && after.needsPassphrase) await enroller.providePassphrase(after.id, PASS);
        const final = enrollmentIn(world.storage.data)!;
        const label = `snapshot ${i} (${before.step}), session ${sessionSurvived ? 'kept' : 'lost'}`;
        expect(final.step, label).toBe('installed');
        const repliedBefore = before.answeredMail !== undefined || ['replying', 'replied', 'validating', 'finalizing', 'downloading', 'installing', 'installed'].includes(before.step);
        // A stop while in `replying` may or may not have sent: the flow never risks a second one.
        expect(world.reply.sent.length, label).toBe(repliedBefore ? 0 : 1);
        // Installed before the stop: that Thunderbird's store has it; otherwise this one must.
        if (before.step !== 'installed') expect(world.certStore.identities.get('id1')?.dbKey, label).toBe('DBKEY-alice@example.test');
        expect(final.encryptedKey, label).toBeUndefined();
      }
    }
    for (const step of ['new', 'account', 'ordered', 'awaiting-mail', 'replying', 'replied', 'validating', 'finalizing', 'downloading', 'installing', 'installed']) expect(steps).toContain(step);
    if (ask) expect(steps).toContain('awaiting-consent');
  });
});
