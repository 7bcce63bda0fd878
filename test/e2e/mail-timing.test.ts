/**
 * Scenario 2 (docs/E2E.md) — when and where the challenge mail arrives:
 *  - a CA that mails only after the client POSTs to the challenge (Akāmu): the add-on waits the
 *    configured time, POSTs, then answers the mail;
 *  - a challenge that arrived while Thunderbird was closed: found at the next start;
 *  - a challenge that a Thunderbird message filter filed outside the Inbox: still seen.
 * Each ends with the certificate installed and exactly one reply.
 */
import { describe, expect, it } from 'vitest';
import type { Enrollment } from '../../src/enroll/state';
import { enterInstallPassphrase, repliesFrom, startInPopup, waitForEnrollment } from '../../scripts/harness/drive';
import { SERVER_KEY } from '../../scripts/harness/thunderbird';
import { worldPerTest } from './per-test';
import type { World } from '../../scripts/harness/world';

const startTestWorld = worldPerTest();

function expectOneValidReply(w: World, done: Enrollment): void {
  expect(done.error).toBeUndefined();
  expect(done.step).toBe('installed');
  const replies = repliesFrom(w.sandbox, w.user.email);
  expect(replies).toHaveLength(1);
  expect(replies[0]!.verdict).toBe('valid');
  expect(replies[0]!.dkim).toBe('pass');
}

describe('when and where the challenge mail arrives', () => {
  it('answers a CA that sends the challenge only after the POST', async () => {
    const w = await startTestWorld({ sandbox: { challengeTiming: 'after-post' }, settings: { postChallengeAfterSeconds: 2 } });
    await startInPopup(w.tb, { email: w.user.email, passphrase: 'after-post passphrase' });
    const done = await waitForEnrollment(w.tb, w.user.email, undefined, 120_000);
    expectOneValidReply(w, done);
    expect(done.challengePosted).toBe(true);
    const sent = w.sandbox.challengesSent();
    expect(sent).toHaveLength(1);
    // The mail came only after the add-on had waited for it and POSTed.
    const waitingSince = done.waitingSince ?? Number.POSITIVE_INFINITY;
    expect(sent[0]!.at.getTime()).toBeGreaterThanOrEqual(waitingSince + 2000);
  }, 180_000);

  it('answers a challenge that arrived while Thunderbird was closed, at the next start', async () => {
    const w = await startTestWorld({ sandbox: { challengeTiming: 'after-post' }, settings: { postChallengeAfterSeconds: 3600 } });
    await startInPopup(w.tb, { email: w.user.email, passphrase: 'closed passphrase' });
    const waiting = await waitForEnrollment(w.tb, w.user.email, (e) => e.step === 'awaiting-mail', 30_000);
    await w.quit();
    expect(waiting.authorizationUrl).toBeDefined();
    await w.sandbox.resendChallenge(waiting.authorizationUrl!);
    expect(w.sandbox.challengesSent()).toHaveLength(1);
    await w.restart();
    // Found at start-up, answered and validated; the passphrase lived only in the closed session.
    const ready = await waitForEnrollment(w.tb, w.user.email, (e) => e.needsPassphrase === true || e.step === 'failed' || e.step === 'installed', 120_000);
    expect(ready.error).toBeUndefined();
    expect(ready.needsPassphrase).toBe(true);
    expect(repliesFrom(w.sandbox, w.user.email)).toHaveLength(1);
    await enterInstallPassphrase(w.tb, 'closed passphrase');
    const done = await waitForEnrollment(w.tb, w.user.email, undefined, 120_000);
    expectOneValidReply(w, done);
  }, 180_000);

  it('answers a challenge that a message filter moved out of the Inbox', async () => {
    const w = await startTestWorld({ sandbox: { challengeTiming: 'after-post' }, settings: { postChallengeAfterSeconds: 3600 } });
    // A user's filter: "Subject contains ACME → move to Notifications".
    await w.tb.chrome(`
      const { MailServices } = ChromeUtils.importESModule('resource:///modules/MailServices.sys.mjs');
      const server = MailServices.accounts.getIncomingServer(arguments[0]);
      const root = server.rootFolder;
      if (!root.containsChildNamed('Notifications')) root.createSubfolder('Notifications', null);
      const deadline = Date.now() + 15000;
      while (!root.containsChildNamed('Notifications')) {
        if (Date.now() > deadline) throw new Error('could not create the folder');
        await new Promise((r) => setTimeout(r, 100));
      }
      const target = root.getChildNamed('Notifications');
      const list = server.getFilterList(null);
      const filter = list.createFilter('ACME mail to Notifications');
      filter.enabled = true;
      filter.filterType = Ci.nsMsgFilterType.InboxRule;
      const term = filter.createTerm();
      term.attrib = Ci.nsMsgSearchAttrib.Subject;
      term.op = Ci.nsMsgSearchOp.Contains;
      const value = term.value;
      value.attrib = Ci.nsMsgSearchAttrib.Subject;
      value.str = 'ACME';
      term.value = value;
      term.booleanAnd = true;
      filter.appendTerm(term);
      const action = filter.createAction();
      action.type = Ci.nsMsgFilterAction.MoveToFolder;
      action.targetFolderUri = target.URI;
      filter.appendAction(action);
      list.insertFilterAt(0, filter);
      list.saveToDefaultFile();
    `, [SERVER_KEY]);
    await startInPopup(w.tb, { email: w.user.email, passphrase: 'filed passphrase' });
    const waiting = await waitForEnrollment(w.tb, w.user.email, (e) => e.step === 'awaiting-mail', 30_000);
    await w.sandbox.resendChallenge(waiting.authorizationUrl!);
    const done = await waitForEnrollment(w.tb, w.user.email, undefined, 120_000);
    expectOneValidReply(w, done);
    const challenge = w.sandbox.challengesSent()[0]!;
    expect(await w.tb.folderSubjects('Notifications')).toContain(challenge.subject);
    expect(await w.tb.folderSubjects()).not.toContain(challenge.subject);
  }, 180_000);
});
