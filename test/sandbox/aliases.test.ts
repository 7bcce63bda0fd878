/**
 * Aliases, as a mail provider gives them: an address the CA accepts as an identifier, whose mail
 * (the challenge mail included) lands in the owner's mailbox with its To unchanged, and as which
 * the owner — and only the owner — may send. One order for alice and two aliases of hers (one in
 * another domain, with its own DKIM key) is answered address by address from the one mailbox and
 * yields one certificate naming all three. Driven by the independent test client.
 */
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SandboxStartError, startSandbox, type Sandbox, type SandboxUser } from '../../sandbox/index';
import { openssl } from '../helpers/openssl';
import { b64, makeCsr, responseValue, TestAcmeClient } from './acme-test-client';
import { challengeOf, type ChallengeJson } from './flow';
import { armour, challengeMails, readInbox, sendReply, type InboxMessage } from './mailbox';

const ALIAS = 'alice.alias@example.test';
/** In a domain no user lives in: the MTA must sign with that domain's own key. */
const OTHER_DOMAIN_ALIAS = 'alice@alias.test';
const BOB_ALIAS = 'bob.alias@example.test';

let sandbox: Sandbox;
let alice: SandboxUser;
let bob: SandboxUser;

beforeAll(async () => {
  sandbox = await startSandbox({
    users: [
      { email: 'alice@example.test', password: 'alice-secret', aliases: [ALIAS, 'Alice@Alias.test'] },
      { email: 'bob@example.test', password: 'bob-secret', aliases: [BOB_ALIAS] },
    ],
  });
  alice = sandbox.users[0]!;
  bob = sandbox.users[1]!;
});

afterAll(async () => {
  await sandbox.stop();
});

interface Authorization {
  readonly url: string;
  readonly identifier: string;
  readonly challenge: ChallengeJson;
}

/** A fresh account, an order for `emails`, each authorization fetched (which sends its mail). */
async function orderFor(emails: readonly string[]): Promise<{ client: TestAcmeClient; orderUrl: string; finalizeUrl: string; authzs: Authorization[] }> {
  const client = new TestAcmeClient(sandbox);
  expect((await client.newAccount()).status).toBe(201);
  const created = await client.newOrder(emails);
  expect(created.status, created.text).toBe(201);
  const authzs: Authorization[] = [];
  for (const url of created.json!['authorizations'] as string[]) {
    const authz = (await client.get(url)).json!;
    authzs.push({ url, identifier: (authz['identifier'] as { value: string }).value, challenge: challengeOf(authz) });
  }
  return { client, orderUrl: created.headers.get('location')!, finalizeUrl: created.json!['finalize'] as string, authzs };
}

/** The challenge mail of `authzUrl` as found in `user`'s INBOX over IMAP. */
async function challengeMailIn(user: SandboxUser, authzUrl: string): Promise<InboxMessage | undefined> {
  const sent = sandbox.challengesSent().filter((c) => c.authzUrl === authzUrl).at(-1);
  expect(sent, `a challenge mail was sent for ${authzUrl}`).toBeDefined();
  return (await challengeMails(sandbox, user)).find((m) => m.messageId === sent!.messageId);
}

const header = (raw: string, name: string): string =>
  new RegExp(`^${name}:[ \\t]*(.*(?:\\r?\\n[ \\t].*)*)`, 'im').exec(raw)?.[1]?.replace(/\r?\n[ \t]+/g, ' ').trim() ?? '';
/** The address in a From or To field, with or without angle brackets. */
const addressIn = (raw: string, name: 'From' | 'To'): string => header(raw, name).replace(/^.*<([^<>]+)>.*$/, '$1');

/** Sends a plain mail through the MTA; the error (with its SMTP responseCode) when refused. */
async function send(login: SandboxUser, mail: { envelopeFrom: string; from: string; to: string; subject?: string }): Promise<unknown> {
  const transport = nodemailer.createTransport({
    host: sandbox.smtp.host, port: sandbox.smtp.port, secure: false, ignoreTLS: true, auth: { user: login.email, pass: login.password },
  });
  try {
    await transport.sendMail({
      envelope: { from: mail.envelopeFrom, to: mail.to }, from: mail.from, to: mail.to,
      subject: mail.subject ?? 'hello', text: 'hello',
    });
    return undefined;
  } catch (error) {
    return error;
  } finally {
    transport.close();
  }
}

describe('sandbox users with aliases', () => {
  it('keeps each user\'s aliases (lower-cased), and refuses an address given twice before starting anything', async () => {
    expect(alice.aliases).toEqual([ALIAS, OTHER_DOMAIN_ALIAS]);
    expect(bob.aliases).toEqual([BOB_ALIAS]);
    // Every alias domain has the provider's DKIM key in the zone the DoH endpoint serves.
    expect(Object.keys(sandbox.zone)).toContain('mail._domainkey.alias.test');
    await expect(startSandbox({
      users: [{ email: 'alice@example.test', password: 'a', aliases: ['BOB@example.test'] }, { email: 'bob@example.test', password: 'b' }],
    })).rejects.toThrow(SandboxStartError);
  });

  it('accepts an alias as an identifier but still refuses an address that is neither a user nor an alias', async () => {
    const client = new TestAcmeClient(sandbox);
    await client.newAccount();
    expect((await client.newOrder([ALIAS])).status).toBe(201);
    const refused = await client.newOrder(['carol@example.test']);
    expect(refused.status).toBe(400);
    expect(refused.json?.['type']).toBe('urn:ietf:params:acme:error:rejectedIdentifier');
  });

  it('one order for alice and two aliases: each challenge mail in alice\'s mailbox To its address, each answered from it, one certificate for all three', async () => {
    const identifiers = [alice.email, ALIAS, OTHER_DOMAIN_ALIAS];
    const bobBefore = (await challengeMails(sandbox, bob)).length;
    const o = await orderFor(identifiers);
    expect(o.authzs.map((a) => a.identifier)).toEqual(identifiers);

    for (const authz of o.authzs) {
      const sent = sandbox.challengesSent().filter((c) => c.authzUrl === authz.url);
      expect(sent.map((c) => [c.identifier, c.mailbox])).toEqual([[authz.identifier, alice.email]]);
      const mail = await challengeMailIn(alice, authz.url);
      expect(mail, `the challenge mail for ${authz.identifier} in alice's INBOX`).toBeDefined();
      expect(addressIn(mail!.raw, 'To')).toBe(authz.identifier);
      const tokenPart1 = mail!.subject.slice('ACME: '.length).replace(/\s+/g, '');
      // Logged in as alice, From (and MAIL FROM) the address being validated.
      await sendReply(sandbox, alice, mail!, armour(responseValue(tokenPart1, authz.challenge.token, o.client.thumbprint, 'string')), sandbox.caAddress, authz.identifier);
      expect((await o.client.post(authz.challenge.url, {})).status).toBe(200);
      const decided = await o.client.pollUntil(authz.url, (a) => a['status'] !== 'pending');
      expect(decided['status'], JSON.stringify(decided)).toBe('valid');
      const reply = sandbox.repliesReceived().find((r) => r.challengeUrl === authz.challenge.url);
      expect(reply).toMatchObject({ from: authz.identifier, dkim: 'pass', verdict: 'valid' });
      // Signed for the alias's own domain.
      expect(header(reply!.raw, 'DKIM-Signature')).toContain(`d=${authz.identifier.slice(authz.identifier.indexOf('@') + 1)};`);
    }
    // Nothing of this reached bob.
    expect((await challengeMails(sandbox, bob)).length).toBe(bobBefore);

    const ready = await o.client.pollUntil(o.orderUrl, (x) => x['status'] !== 'pending');
    expect(ready['status']).toBe('ready');
    const csr = await makeCsr({ emails: identifiers });
    const finalized = await o.client.post(o.finalizeUrl, { csr: b64(csr.der) });
    expect(finalized.status, finalized.text).toBe(200);
    const valid = await o.client.pollUntil(o.orderUrl, (x) => x['status'] === 'valid');
    const chain = (await o.client.get(valid['certificate'] as string)).text;
    const leaf = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n/.exec(chain)![0];
    const text = openssl(['x509', '-noout', '-ext', 'subjectAltName'], leaf);
    expect(text).toMatch(/email:alice@example\.test, email:alice\.alias@example\.test, email:alice@alias\.test\s*$/);
  });

  it('an address\'s challenge is not answered by another address of the same user', async () => {
    const o = await orderFor([ALIAS, alice.email]);
    const [forAlias, forLogin] = o.authzs as [Authorization, Authorization];
    for (const [authz, wrongFrom] of [[forAlias, alice.email], [forLogin, ALIAS]] as const) {
      const mail = (await challengeMailIn(alice, authz.url))!;
      const tokenPart1 = mail.subject.slice('ACME: '.length).replace(/\s+/g, '');
      await sendReply(sandbox, alice, mail, armour(responseValue(tokenPart1, authz.challenge.token, o.client.thumbprint, 'string')), sandbox.caAddress, wrongFrom);
      await o.client.post(authz.challenge.url, {});
      const decided = await o.client.pollUntil(authz.url, (a) => a['status'] !== 'pending');
      expect(decided['status']).toBe('invalid');
      expect(challengeOf(decided).error).toMatchObject({ type: 'urn:ietf:params:acme:error:unauthorized' });
      expect(challengeOf(decided).error?.detail).toContain(`not from the mailbox being validated, ${authz.identifier}`);
    }
  });

  it('the MTA lets alice send as her aliases, and refuses any address that is not hers, whoever asks', async () => {
    // MAIL FROM / From pairs: 553 at MAIL FROM, 550 at the From check after DATA.
    expect(await send(alice, { envelopeFrom: ALIAS, from: BOB_ALIAS, to: bob.email })).toMatchObject({ responseCode: 550 });
    expect(await send(alice, { envelopeFrom: BOB_ALIAS, from: BOB_ALIAS, to: bob.email })).toMatchObject({ responseCode: 553 });
    expect(await send(alice, { envelopeFrom: alice.email, from: bob.email, to: bob.email })).toMatchObject({ responseCode: 550 });
    expect(await send(bob, { envelopeFrom: ALIAS, from: ALIAS, to: alice.email })).toMatchObject({ responseCode: 553 });
    expect(await send(bob, { envelopeFrom: bob.email, from: OTHER_DOMAIN_ALIAS, to: alice.email })).toMatchObject({ responseCode: 550 });
    expect(await send(alice, { envelopeFrom: ALIAS, from: ALIAS, to: 'someone@elsewhere.test' })).toMatchObject({ responseCode: 550 });

    const subject = `from the alias ${Date.now()}`;
    expect(await send(alice, { envelopeFrom: ALIAS, from: ALIAS, to: bob.email, subject })).toBeUndefined();
    const atBob = (await readInbox(sandbox, bob)).find((m) => m.subject === subject);
    expect(atBob, 'alice\'s mail from her alias in bob\'s INBOX').toBeDefined();
    expect(addressIn(atBob!.raw, 'From')).toBe(ALIAS);
    expect(header(atBob!.raw, 'DKIM-Signature')).toContain('d=example.test;');
  });

  it('mail to an alias, through the MTA or deliverRaw, lands in the owner\'s mailbox with its To unchanged', async () => {
    const viaMta = `to the alias ${Date.now()}`;
    expect(await send(bob, { envelopeFrom: bob.email, from: bob.email, to: OTHER_DOMAIN_ALIAS, subject: viaMta })).toBeUndefined();
    const raw = `raw to the alias ${Date.now()}`;
    await sandbox.deliverRaw(ALIAS, [
      `From: ${bob.email}`, `To: ${ALIAS}`, `Subject: ${raw}`, `Message-ID: <${Date.now()}@example.test>`,
      `Date: ${new Date().toUTCString()}`, 'Content-Type: text/plain', '', 'hello', '',
    ].join('\r\n'));
    const inbox = await readInbox(sandbox, alice);
    expect(addressIn(inbox.find((m) => m.subject === viaMta)?.raw ?? '', 'To')).toBe(OTHER_DOMAIN_ALIAS);
    expect(addressIn(inbox.find((m) => m.subject === raw)?.raw ?? '', 'To')).toBe(ALIAS);
    expect((await readInbox(sandbox, bob)).some((m) => m.subject === viaMta || m.subject === raw)).toBe(false);
  });
});
