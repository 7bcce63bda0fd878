/**
 * Restarts: the background killed after every write the flow makes to storage (each state it
 * can leave behind, every transition included), then a new background started over that
 * storage — with the passphrase kept in storage.session or lost (Thunderbird quit). The real
 * mail check decides on the CA's genuine, DKIM-signed challenge mail, which is still in the
 * mailbox under a new Thunderbird id. test/enroll/restart.test.ts proves the same at the state-
 * machine level with a fake checker; this suite computes the figure with the real one.
 *
 * Figure: `restarts: completed N of N; duplicate replies 0`.
 */
import { describe, expect, it } from 'vitest';
import { KEYS, isTerminal, type Enrollment, type Step } from '../../src/enroll/state';
import { IDENTITY } from '../fixtures/forgery/mutations';
import { SETUP, genuineChallenge } from './genuine-challenge';
import { FlowWorld, MemoryAcme } from './flow';

const IDENTITY_ID = 'account1/identity1';
const PASSPHRASE = 'restart passphrase, test only';
/** Steps after which a reply has (or may have) left: a restart must never send another. */
const REPLIED: readonly Step[] = ['replying', 'replied', 'validating', 'finalizing', 'downloading', 'installing', 'installed'];

const genuine = genuineChallenge();
const outcomes: { label: string; completed: boolean; duplicates: number }[] = [];


function world(storage?: Record<string, unknown>, session?: Record<string, unknown>, acme = new MemoryAcme(SETUP)): FlowWorld {
  return new FlowWorld({ challenge: SETUP, zone: genuine.zone, now: genuine.t0, acme, ...(storage ? { storage } : {}), ...(session ? { session } : {}) });
}

function enrollmentIn(snapshot: Record<string, unknown>): Enrollment | undefined {
  return Object.entries(snapshot).find(([k]) => k.startsWith('enrollment:'))?.[1] as Enrollment | undefined;
}

/** The happy path once, every storage state it passed through kept. */
async function happyPath(ask: boolean): Promise<{ snapshots: Record<string, unknown>[]; id: string }> {
  const w = world();
  w.settings = { ...w.settings, askBeforeReplying: ask };
  const enroller = w.enroller();
  const { enrollment } = await enroller.start({ identityId: IDENTITY_ID, email: IDENTITY, passphrase: PASSPHRASE, termsAgreed: true });
  await enroller.advance(enrollment.id);
  w.now = genuine.t0 + 120_000;
  await w.deliver(enroller, genuine.mail, genuine.mailTime);
  if (ask) await enroller.approveReply(enrollment.id);
  await w.elapse(enroller, 120_000);
  expect(enrollmentIn(w.storage.data)?.step).toBe('installed');
  expect(w.reply.sent).toHaveLength(1);
  return { snapshots: w.storage.snapshots, id: enrollment.id };
}

describe.each([false, true])('restart after every write (ask before replying: %s)', (ask) => {
  it('completes from every stored state with the real mail check, never replying twice', async () => {
    const { snapshots, id } = await happyPath(ask);
    const seen = new Set<Step>();
    for (const [i, snapshot] of snapshots.entries()) {
      const before = enrollmentIn(snapshot);
      if (!before) continue;
      seen.add(before.step);
      for (const sessionKept of [true, false]) {
        const label = `ask ${ask}, write ${i} (${before.step}), session ${sessionKept ? 'kept' : 'lost'}`;
        const acme = new MemoryAcme(SETUP);
        const w = world(snapshot, sessionKept ? { [KEYS.passphrase(id)]: PASSPHRASE } : {}, acme);
        w.settings = { ...w.settings, askBeforeReplying: ask };
        w.now = genuine.t0 + 130_000;
        // The CA remembers what it was told before the stop.
        acme.posted = before.challengePosted ? 1 : 0;
        acme.finalized = ['downloading', 'installing', 'installed'].includes(before.step) ? 1 : 0;
        // The challenge mail is still in Thunderbird, under the id of this new session.
        w.store(genuine.mail, genuine.mailTime);
        const enroller = w.enroller();
        await enroller.resumeAll();
        if (ask && enrollmentIn(w.storage.data)?.step === 'awaiting-consent') await enroller.approveReply(id);
        await w.elapse(enroller, 120_000);
        const after = enrollmentIn(w.storage.data)!;
        if (after.step === 'installing' && after.needsPassphrase === true) {
          await enroller.providePassphrase(id, PASSPHRASE);
          await w.elapse(enroller, 60_000);
        }
        const final = enrollmentIn(w.storage.data)!;
        const repliedBefore = before.answeredMail !== undefined || REPLIED.includes(before.step);
        const duplicates = Math.max(0, w.reply.sent.length + (repliedBefore ? 1 : 0) - 1);
        outcomes.push({ label, completed: final.step === 'installed', duplicates });
        expect(final.step, `${label}: ${JSON.stringify(final.error)}`).toBe('installed');
        expect(isTerminal(final.step)).toBe(true);
        expect(w.reply.sent.length, label).toBe(repliedBefore ? 0 : 1);
        expect(final.encryptedKey, label).toBeUndefined();
        if (before.step !== 'installed') expect(w.certStore.identities.get(IDENTITY_ID)?.dbKey, label).toBe(`dbkey-${IDENTITY}`);
      }
    }
    const transitions: Step[] = ['new', 'account', 'ordered', 'awaiting-mail', 'replying', 'replied', 'validating', 'finalizing', 'downloading', 'installing', 'installed'];
    for (const step of ask ? [...transitions, 'awaiting-consent' as const] : transitions) expect(seen, step).toContain(step);
  }, 120_000);
});

describe('restarts: figure', () => {
  it('prints completed and duplicate replies over every restart above', () => {
    const completed = outcomes.filter((o) => o.completed).length;
    const duplicates = outcomes.reduce((n, o) => n + o.duplicates, 0);
    console.log(`restarts: completed ${completed} of ${outcomes.length}; duplicate replies ${duplicates} (killed after every storage write of the happy path, both reply modes, passphrase kept or lost)`);
    expect(outcomes.length).toBeGreaterThan(20);
    expect(completed).toBe(outcomes.length);
    expect(duplicates).toBe(0);
  });
});
