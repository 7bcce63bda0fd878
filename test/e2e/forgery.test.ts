/**
 * Scenario 3 of issue 8 — forged challenge mails are never answered, and the popup says why.
 * One order; the sandbox CA (re)sends its challenge mail forged three ways — unsigned, signed
 * by another domain (`d=` not the CA's), From not the challenge's `from` — and finally genuine.
 * The add-on, in a real Thunderbird, refuses each forgery with its reason, shown in the popup,
 * sends nothing, and answers the genuine mail exactly once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Forgery } from '../../sandbox/index';
import type { Enrollment } from '../../src/enroll/state';
import { POPUP, openPopup, repliesFrom, startInPopup, waitForEnrollment } from './drive';
import { startWorld, type World } from './world';

describe('forged challenge mails in a real Thunderbird', () => {
  let world: World | undefined;
  let authzUrl = '';

  function w(): World {
    if (!world) throw new Error('the world did not start');
    return world;
  }

  beforeAll(async () => {
    world = await startWorld({
      sandbox: { forgery: 'unsigned' },
      // Never POST to the challenge first: the CA must see no answer while forgeries arrive.
      settings: { postChallengeAfterSeconds: 3600 },
    });
    await startInPopup(world.tb, { email: world.user.email, passphrase: 'forgery scenario passphrase' });
  }, 120_000);

  afterAll(async () => {
    await world?.dispose();
  });

  async function refusedCount(n: number): Promise<Enrollment> {
    return waitForEnrollment(w().tb, w().user.email, (e) => e.refusals.length >= n || e.step === 'failed', 30_000);
  }

  const forgeries: { forgery: Forgery; reason: string }[] = [
    { forgery: 'unsigned', reason: 'dkim-missing' },
    { forgery: 'wrong-d', reason: 'dkim-unaligned' },
    { forgery: 'wrong-from', reason: 'from-mismatch' },
  ];

  it.each(forgeries.map((f, i) => ({ ...f, i })))('refuses the $forgery challenge mail ($reason) and sends nothing', async ({ forgery, reason, i }) => {
    const { sandbox, user } = w();
    if (i > 0) {
      sandbox.configure({ forgery });
      await sandbox.resendChallenge(authzUrl);
    }
    const e = await refusedCount(i + 1);
    authzUrl = e.authorizationUrl ?? '';
    expect(e.step).toBe('awaiting-mail');
    expect(e.refusals).toHaveLength(i + 1);
    expect(e.refusals[i]!.reasons).toContain(reason);
    expect(sandbox.challengesSent().map((c) => c.forgery)).toEqual(forgeries.slice(0, i + 1).map((f) => f.forgery));
    expect(repliesFrom(sandbox, user.email)).toHaveLength(0);
  });

  it('lists every refused mail in the popup with its reason in words', async () => {
    const { tb } = w();
    await tb.closePopup();
    await openPopup(tb);
    const shown = await tb.waitInPopup<{ reasons: string; text: string }[]>(`
      const items = [...content.document.querySelectorAll(arguments[0] + ' li')];
      return items.length >= 3 ? items.map((li) => ({ reasons: li.dataset.reasons, text: li.textContent })) : null;
    `, 15_000, [POPUP.refusals]);
    expect(shown.map((s) => s.reasons.split(' '))).toEqual(forgeries.map((f) => expect.arrayContaining([f.reason]) as unknown));
    for (const item of shown) {
      expect(item.text).toContain('ACME:');
      // The reason in words, not the bare code.
      for (const code of item.reasons.split(' ')) expect(item.text).not.toContain(code);
    }
    expect(await tb.popup<boolean>('return !content.document.querySelector("#refusals-section").hidden;')).toBe(true);
  });

  it('answers the genuine challenge mail, once', async () => {
    const { sandbox, tb, user } = w();
    sandbox.configure({ forgery: 'none' });
    await sandbox.resendChallenge(authzUrl);
    const e = await waitForEnrollment(tb, user.email, (x) => x.answeredMail !== undefined || x.step === 'failed', 30_000);
    expect(e.error).toBeUndefined();
    const genuine = sandbox.challengesSent().filter((c) => c.forgery === 'none');
    expect(genuine).toHaveLength(1);
    expect(`<${e.answeredMail ?? ''}>`).toBe(genuine[0]!.messageId);
    // Give a duplicate reply the time to show up if the add-on were to send one.
    await new Promise((r) => setTimeout(r, 3000));
    const replies = repliesFrom(sandbox, user.email);
    expect(replies).toHaveLength(1);
    expect(replies[0]!.inReplyTo).toBe(genuine[0]!.messageId);
    expect(replies[0]!.dkim).toBe('pass');
  });
});
