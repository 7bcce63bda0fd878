/**
 * The command line's mail ports against the sandbox's Dovecot and submission MTA: new mail is
 * reported through IMAP IDLE — in INBOX and in the Junk folder — read back byte for byte, found
 * again by the start-up scan, and the reply goes out over SMTP threaded to the challenge, DKIM-
 * signed by the user's provider.
 */
import { ImapFlow } from 'imapflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../sandbox/index';
import type { MailRef } from '../../src/enroll/ports';
import { createMailWorld, type MailAccount, type MailWorld } from '../../src/cli/node/mail';

let sandbox: Sandbox;
let world: MailWorld;
const seen: MailRef[] = [];
const errors: string[] = [];

function challengeLike(messageId: string, subject: string): string {
  return [
    'From: acme@ca.test',
    'To: alice@example.test',
    `Subject: ${subject}`,
    `Date: ${new Date().toUTCString()}`,
    `Message-ID: <${messageId}>`,
    'Auto-Submitted: auto-generated; type=acme',
    '',
    'This is an automatically generated ACME challenge.',
    '',
  ].join('\r\n');
}

async function userClient(): Promise<ImapFlow> {
  const alice = sandbox.users[0]!;
  const client = new ImapFlow({ host: sandbox.imap.host, port: sandbox.imap.port, secure: false, auth: { user: alice.email, pass: alice.password }, logger: false });
  await client.connect();
  return client;
}

async function waitForSeen(messageId: string): Promise<MailRef> {
  for (let i = 0; i < 100; i++) {
    const found = seen.find((m) => m.headerMessageId === messageId);
    if (found) return found;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`IDLE never reported ${messageId}; errors: ${errors.join('; ')}`);
}

beforeAll(async () => {
  sandbox = await startSandbox();
  const alice = sandbox.users[0]!;
  // The user's spam filter has a Junk folder (found by its name, RFC 6154 \Junk).
  const client = await userClient();
  await client.mailboxCreate('Junk');
  await client.logout();
  const account: MailAccount = {
    addresses: [alice.email],
    imap: { host: sandbox.imap.host, port: sandbox.imap.port, tls: 'none' },
    smtp: { host: sandbox.smtp.host, port: sandbox.smtp.port, tls: 'none' },
    credentials: { user: alice.email, password: alice.password },
    ca: [],
  };
  world = createMailWorld([account], (mails) => seen.push(...mails), (message) => errors.push(message));
  await world.start();
});

afterAll(async () => {
  await world.stop();
  await sandbox.stop();
});

describe('the IMAP and SMTP mail ports', () => {
  it('reports new mail in INBOX and in Junk through IDLE, reads it back byte for byte, and finds it again in a scan', async () => {
    const since = Date.now() - 60_000;
    const client = await userClient();
    const inboxMail = challengeLike('inbox-1@ca.test', 'ACME: aW5ib3ggdG9rZW4gb25lMTIz');
    const junkMail = challengeLike('junk-1@ca.test', 'ACME: anVuayB0b2tlbiBvbmUxMjM0');
    await client.append('INBOX', inboxMail);
    await client.append('Junk', junkMail);
    await client.logout();
    const inbox = await waitForSeen('inbox-1@ca.test');
    const junk = await waitForSeen('junk-1@ca.test');
    expect(inbox).toMatchObject({ subject: 'ACME: aW5ib3ggdG9rZW4gb25lMTIz', author: 'acme@ca.test', folder: 'INBOX' });
    expect(junk).toMatchObject({ subject: 'ACME: anVuayB0b2tlbiBvbmUxMjM0', folder: 'Junk' });
    expect(new TextDecoder().decode(await world.mailbox.raw(inbox))).toBe(inboxMail);
    expect(new TextDecoder().decode(await world.mailbox.raw(junk))).toBe(junkMail);
    const scanned = await world.mailbox.recent(since);
    expect(scanned.map((m) => [m.headerMessageId, m.id])).toEqual(expect.arrayContaining([['inbox-1@ca.test', inbox.id], ['junk-1@ca.test', junk.id]]));
    // Not an ACME subject: not part of the scan.
    expect(scanned.every((m) => m.subject.startsWith('ACME:'))).toBe(true);
  });

  it('sends the reply from the identity, threaded to the challenge, signed by the provider; refuses another From', async () => {
    const alice = sandbox.users[0]!;
    const mail: MailRef = { id: 1, headerMessageId: 'challenge-7@ca.test', subject: 'ACME: dG9rZW4', author: 'acme@ca.test', date: Date.now() };
    const body = '-----BEGIN ACME RESPONSE-----\nLoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0\n-----END ACME RESPONSE-----\n';
    const request = { mail, identityId: alice.email, body, expectTo: 'acme@ca.test', expectSubject: 'Re: ACME: dG9rZW4', expectFrom: alice.email };
    expect(await world.reply.send(request)).toEqual({ sent: true });
    const reply = sandbox.repliesReceived().find((r) => r.inReplyTo === '<challenge-7@ca.test>');
    expect(reply).toMatchObject({ from: alice.email, dkim: 'pass' });
    expect(reply!.raw).toMatch(/^Subject: Re: ACME: dG9rZW4\r?$/m);
    expect(reply!.raw).toMatch(/^References: <challenge-7@ca.test>\r?$/m);
    expect(reply!.raw).toContain('-----BEGIN ACME RESPONSE-----\r\nLoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0\r\n-----END ACME RESPONSE-----');
    expect(await world.reply.send({ ...request, expectFrom: 'bob@example.test' })).toEqual({ sent: false, mismatch: ['from'] });
  });
});
