/**
 * The end-to-end world itself: Thunderbird, given the sandbox user's account as prefs and the
 * password through the login manager, logs in to the sandbox's Dovecot and sees new mail by
 * IMAP IDLE alone — what every scenario's challenge mail depends on. The add-on's options point
 * at the sandbox and the sandbox root is trusted. This world runs on a private Xvfb display (no
 * window manager), as the screenshots and `npm start` with a DISPLAY do; the popup opens there.
 * The user has an alias in the sandbox, and `addAliasIdentity` gives the account an identity for
 * it that receives in the same Inbox and sends through the same SMTP login.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addAliasIdentity, ALICE_ALIAS } from '../../scripts/harness/accounts';
import { sendOrThrow } from '../../scripts/harness/compose';
import { openPopup } from '../../scripts/harness/drive';
import { deliveredMail } from '../../scripts/harness/mail';
import { IDENTITY_KEY } from '../../scripts/harness/thunderbird';
import { startWorld, type World } from '../../scripts/harness/world';
import { startXvfb, type Xvfb } from '../../scripts/harness/xvfb';

describe('the sandbox mail world seen by a real Thunderbird', () => {
  let world: World | undefined;
  let xvfb: Xvfb | undefined;

  beforeAll(async () => {
    xvfb = await startXvfb();
    world = await startWorld({ start: { display: xvfb.display }, userAliases: [ALICE_ALIAS] });
  });

  afterAll(async () => {
    try {
      await world?.dispose();
    } finally {
      await xvfb?.stop();
    }
  });

  function w(): World {
    if (!world) throw new Error('the world did not start');
    return world;
  }

  it('presets the add-on options with the sandbox CA and resolver', async () => {
    const settings = (await w().tb.getAddonStorage())['settings'] as Record<string, unknown>;
    expect(settings['directoryUrl']).toBe(w().sandbox.directoryUrl);
    expect(settings['dohUrl']).toBe(w().sandbox.dohUrl);
  });

  it('trusts the sandbox root for the ACME server', async () => {
    const directory = await w().tb.chrome<Record<string, unknown>>('return (await fetch(arguments[0])).json();', [w().sandbox.directoryUrl]);
    expect(typeof directory['newOrder']).toBe('string');
  });

  it('gets a mail delivered to the mailbox through IDLE, without being asked to check', async () => {
    const { sandbox, user, tb } = w();
    const subject = `IDLE probe ${Date.now()}`;
    await sandbox.deliverRaw(user.email, [
      'From: bob@example.test', `To: ${user.email}`, `Subject: ${subject}`,
      `Message-ID: <probe-${Date.now()}@example.test>`, `Date: ${new Date().toUTCString()}`, 'Content-Type: text/plain', '', 'probe', '',
    ].join('\r\n'));
    const deadline = Date.now() + 20_000;
    let subjects: string[] = [];
    while (Date.now() < deadline) {
      subjects = await tb.folderSubjects();
      if (subjects.includes(subject)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(subjects).toContain(subject);
  });

  it('opens the popup on a display without a window manager, and it stays open to be drawn', async () => {
    const { tb } = w();
    await openPopup(tb);
    // Without a window manager the panel used to close right after opening (docs/E2E.md).
    await new Promise((r) => setTimeout(r, 1000));
    expect(await tb.popupOpen()).toBe(true);
    const png = await tb.popupScreenshot();
    expect(png.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
    expect(png.readUInt32BE(16)).toBeGreaterThan(300);
    await tb.closePopup();
  });

  it('gives the account an identity for the user\'s alias: same Inbox, same SMTP login, mail sent as the alias', async () => {
    const { sandbox, user, tb } = w();
    const aliasId = await addAliasIdentity(tb, user, ALICE_ALIAS);
    const seen = await tb.chrome<{ email: string; account: string | undefined; smtp: string; mainSmtp: string; mainAccount: string | undefined }>(`
      const [aliasId, mainId] = arguments;
      const { MailServices } = ChromeUtils.importESModule('resource:///modules/MailServices.sys.mjs');
      const alias = MailServices.accounts.getIdentity(aliasId);
      const main = MailServices.accounts.getIdentity(mainId);
      return {
        email: alias.email, account: MailServices.accounts.getServersForIdentity(alias)[0]?.key, smtp: alias.smtpServerKey,
        mainSmtp: main.smtpServerKey, mainAccount: MailServices.accounts.getServersForIdentity(main)[0]?.key,
      };
    `, [aliasId, IDENTITY_KEY]);
    expect(aliasId).not.toBe(IDENTITY_KEY);
    expect(seen).toMatchObject({ email: ALICE_ALIAS, account: seen.mainAccount, smtp: seen.mainSmtp });
    expect(seen.account).toBeDefined();

    // Mail to the alias arrives in the user's Inbox, seen by IDLE.
    const subject = `to the alias ${Date.now()}`;
    await sandbox.deliverRaw(ALICE_ALIAS, [
      'From: bob@example.test', `To: ${ALICE_ALIAS}`, `Subject: ${subject}`,
      `Message-ID: <alias-${Date.now()}@example.test>`, `Date: ${new Date().toUTCString()}`, 'Content-Type: text/plain', '', 'probe', '',
    ].join('\r\n'));
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline && !(await tb.folderSubjects()).includes(subject)) await new Promise((r) => setTimeout(r, 100));
    expect(await tb.folderSubjects()).toContain(subject);

    // Thunderbird sends as the alias through the account's SMTP login; the sandbox MTA takes it.
    const bob = sandbox.users[1]!;
    const sentSubject = `from the alias ${Date.now()}`;
    await sendOrThrow(tb, { identityKey: aliasId, to: bob.email, subject: sentSubject, body: 'hello from the alias', sign: false, encrypt: false });
    const raw = await deliveredMail(sandbox, bob, sentSubject);
    expect(raw).toMatch(new RegExp(`^From: .*${ALICE_ALIAS.replace(/\./g, '\\.')}`, 'im'));
    expect(raw).toMatch(/^DKIM-Signature:[^]*?\bd=example\.test;/im);
  });
});
