/**
 * Scenario 3 (docs/E2E.md) — forged challenge mails are never answered, and the popup says why.
 * One order; the sandbox CA (re)sends its challenge mail forged three ways — unsigned, signed
 * by another domain (`d=` not the CA's), From not the challenge's `from` — then an old challenge
 * is replayed (the CA's genuine, DKIM-signed mail of an earlier order, with its old token,
 * delivered again), and finally the genuine mail comes. The add-on, in a real Thunderbird,
 * refuses each forgery and the replay with its reason, shown in the popup, sends nothing, and
 * answers the genuine mail exactly once.
 */
import { webcrypto } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Forgery } from '../../sandbox/index';
import { AcmeClient, generateAccountKey } from '../../src/acme/index';
import type { Enrollment } from '../../src/enroll/state';
import { fetchTrusting } from '../helpers/openssl';
import { readInbox } from '../sandbox/mailbox';
import { POPUP, openPopup, repliesFrom, startInPopup, waitForEnrollment } from '../../scripts/harness/drive';
import { startWorld, type World } from '../../scripts/harness/world';

/** The raw challenge mail of an earlier order for `email`, made by another ACME client, once Thunderbird has it too. */
async function earlierChallenge(world: World): Promise<{ raw: string; messageId: string; tokenPart1: string }> {
  const { sandbox, user, tb } = world;
  const crypto = webcrypto as unknown as Crypto;
  const acme = new AcmeClient({ directoryUrl: sandbox.directoryUrl, fetch: fetchTrusting(sandbox.tlsRootPem), crypto, accountKey: await generateAccountKey(crypto) });
  await acme.createAccount({ termsOfServiceAgreed: true, contact: [`mailto:${user.email}`] });
  const order = await acme.newOrder([{ type: 'email', value: user.email }]);
  await acme.getAuthorization(order.authorizations[0]!); // the sandbox sends its mail on this fetch
  const sent = sandbox.challengesSent();
  expect(sent).toHaveLength(1);
  const deadline = Date.now() + 20_000;
  for (;;) {
    const mail = (await readInbox(sandbox, user)).find((m) => `<${m.messageId.replace(/^<|>$/g, '')}>` === sent[0]!.messageId);
    if (mail && (await tb.folderSubjects()).includes(sent[0]!.subject)) return { raw: mail.raw, messageId: sent[0]!.messageId, tokenPart1: sent[0]!.tokenPart1 };
    if (Date.now() > deadline) throw new Error('the earlier challenge mail did not reach Thunderbird');
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('forged challenge mails in a real Thunderbird', () => {
  let world: World | undefined;
  let authzUrl = '';
  let old: { raw: string; messageId: string; tokenPart1: string } | undefined;

  function w(): World {
    if (!world) throw new Error('the world did not start');
    return world;
  }

  beforeAll(async () => {
    world = await startWorld({
      // Never POST to the challenge first: the CA must see no answer while forgeries arrive.
      settings: { postChallengeAfterSeconds: 3600 },
    });
    // A genuine challenge of an earlier order is in the mailbox before the add-on's order starts.
    old = await earlierChallenge(world);
    world.sandbox.configure({ forgery: 'unsigned' });
    await startInPopup(world.tb, { email: world.user.email, passphrase: 'forgery scenario passphrase' });
  }, 120_000);

  afterAll(async () => {
    await world?.dispose();
  });

  /** The enrollment once it has refused the mail `messageId` (with angle brackets). */
  async function refused(messageId: string): Promise<Enrollment> {
    const id = messageId.replace(/^<|>$/g, '');
    return waitForEnrollment(w().tb, w().user.email, (e) => e.refusals.some((r) => r.headerMessageId === id) || e.step === 'failed', 30_000);
  }

  const forgeries: { forgery: Forgery; reason: string }[] = [
    { forgery: 'unsigned', reason: 'dkim-missing' },
    { forgery: 'wrong-d', reason: 'dkim-unaligned' },
    { forgery: 'wrong-from', reason: 'from-mismatch' },
  ];
  /** Message-IDs of the forged mails, in the order they came, for the popup check. */
  const refusedIds: string[] = [];

  it.each(forgeries.map((f, i) => ({ ...f, i })))('refuses the $forgery challenge mail ($reason) and sends nothing', async ({ forgery, reason, i }) => {
    const { sandbox, user } = w();
    if (i > 0) {
      sandbox.configure({ forgery });
      await sandbox.resendChallenge(authzUrl);
    }
    // The first forgery is the CA's own first mail for the add-on's order (after the earlier order's).
    const deadline = Date.now() + 30_000;
    while (sandbox.challengesSent().length < i + 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(sandbox.challengesSent()).toHaveLength(i + 2);
    const mail = sandbox.challengesSent().at(-1)!;
    expect(mail.forgery).toBe(forgery);
    const e = await refused(mail.messageId);
    authzUrl = e.authorizationUrl ?? '';
    expect(e.step).toBe('awaiting-mail');
    expect(e.refusals.find((r) => `<${r.headerMessageId}>` === mail.messageId)!.reasons).toContain(reason);
    refusedIds.push(mail.messageId);
    expect(repliesFrom(sandbox, user.email)).toHaveLength(0);
  });

  it('refuses a replayed challenge of an earlier order (the CA\'s genuine signature, an old token) and sends nothing', async () => {
    const { sandbox, user, tb } = w();
    expect(old).toBeDefined();
    // The earlier order's mail was already in Thunderbird when the add-on's order began: refused.
    const e = await refused(old!.messageId);
    expect(e.step).toBe('awaiting-mail');
    const reasons = e.refusals.filter((r) => `<${r.headerMessageId}>` === old!.messageId).flatMap((r) => r.reasons);
    expect(reasons).toContain('arrived-before-order');
    refusedIds.push(old!.messageId);
    // Replayed, fresh: genuine DKIM, From and To right, its Message-ID signed — only its order is
    // not this one. Thunderbird gets a second copy; the genuine mail that follows in the next test
    // is the only one ever answered (one reply, in reply to it), so this copy was not.
    await sandbox.deliverRaw(user.email, old!.raw);
    const deadline = Date.now() + 20_000;
    let copies = 0;
    while (Date.now() < deadline) {
      copies = (await tb.folderSubjects()).filter((subject) => subject === sandbox.challengesSent()[0]!.subject).length;
      if (copies >= 2) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(copies).toBe(2);
    expect(repliesFrom(sandbox, user.email)).toHaveLength(0);
  });

  it('lists every refused mail in the popup with its reason in words', async () => {
    const { tb } = w();
    await tb.closePopup();
    await openPopup(tb);
    const shown = await tb.waitInPopup<{ reasons: string; text: string }[]>(`
      const items = [...content.document.querySelectorAll(arguments[0] + ' li')];
      return items.length >= arguments[1] ? items.map((li) => ({ reasons: li.dataset.reasons, text: li.textContent })) : null;
    `, 15_000, [POPUP.refusals, refusedIds.length]);
    for (const f of forgeries) expect(shown.some((s) => s.reasons.split(' ').includes(f.reason)), f.reason).toBe(true);
    expect(shown.some((s) => /(^| )(arrived|date)-before-order( |$)/.test(s.reasons)), 'the replay').toBe(true);
    for (const item of shown) {
      expect(item.text).toContain('ACME:');
      // The reason in words, not the bare code.
      for (const code of item.reasons.split(' ')) expect(item.text).not.toContain(code);
    }
    expect(await tb.popup<boolean>('return !content.document.querySelector("#refusals-section").hidden;')).toBe(true);
  });

  it('names what the unsigned mail lacked and offers the manual path with a warning, never a reply', async () => {
    const { tb, sandbox, user } = w();
    // Of the refused mails only the unsigned one merely lacks something (a signature); the
    // wrong-d and wrong-from forgeries and the replay are real mismatches: no manual path for them.
    const unsigned = sandbox.challengesSent().find((c) => c.forgery === 'unsigned')!;
    const shown = await tb.waitInPopup<{ subject: string; missing: string; text: string; warning: string } | null>(`
      const box = content.document.querySelector('#nonconformant');
      if (!box || box.hidden) return null;
      return { subject: box.dataset.subject, missing: box.dataset.missing, text: content.document.querySelector('#nonconformant-text').textContent, warning: content.document.querySelector('#nonconformant-warning').textContent };
    `, 15_000);
    expect(shown?.subject).toBe(unsigned.subject);
    expect(shown?.missing).toBe('signature');
    expect(shown?.text).toContain(unsigned.subject);
    expect(shown?.warning).toMatch(/could not prove/);
    await tb.popupClick('#nonconformant-manual');
    expect(await tb.popup<string>('return content.document.querySelector("#manual-subject").value;')).toBe(unsigned.subject);
    expect(repliesFrom(sandbox, user.email)).toHaveLength(0);
  });

  it('answers the genuine challenge mail, once', async () => {
    const { sandbox, tb, user } = w();
    sandbox.configure({ forgery: 'none' });
    await sandbox.resendChallenge(authzUrl);
    const e = await waitForEnrollment(tb, user.email, (x) => x.answeredMail !== undefined || x.step === 'failed', 30_000);
    expect(e.error).toBeUndefined();
    const genuine = sandbox.challengesSent().filter((c) => c.forgery === 'none' && c.authzUrl === authzUrl);
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
