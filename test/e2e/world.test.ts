/**
 * The end-to-end world itself: Thunderbird, given the sandbox user's account as prefs and the
 * password through the login manager, logs in to the sandbox's Dovecot and sees new mail by
 * IMAP IDLE alone — what every scenario's challenge mail depends on. The add-on's options point
 * at the sandbox and the sandbox root is trusted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorld, type World } from './world';

describe('the sandbox mail world seen by a real Thunderbird', () => {
  let world: World | undefined;

  beforeAll(async () => {
    world = await startWorld();
  });

  afterAll(async () => {
    await world?.dispose();
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
});
