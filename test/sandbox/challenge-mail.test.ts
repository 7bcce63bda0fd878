/**
 * The sandbox's challenge mail: each send-timing mode delivers exactly one mail at its moment
 * (counted in the real Dovecot mailbox over IMAP), the forgery modes produce what they claim
 * (checked with mailauth against the sandbox's own zone), resends get a new Message-ID, and the
 * DNS-over-HTTPS endpoint serves the same DKIM records (RFC 8484, GET and POST).
 */
import { ImapFlow } from 'imapflow';
import { dkimVerify } from 'mailauth/lib/dkim/verify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type ChallengeTiming, type Forgery, type Sandbox, type SandboxUser } from '../../sandbox/index';
import { responseValue, TestAcmeClient } from './acme-test-client';
import { challengeOf, mailFor, order } from './flow';
import { armour, challengeMails, readInbox, sendReply } from './mailbox';

let sandbox: Sandbox;
let alice: SandboxUser;
let bob: SandboxUser;

beforeAll(async () => {
  sandbox = await startSandbox();
  alice = sandbox.users[0]!;
  bob = sandbox.users[1]!;
});

afterAll(async () => {
  await sandbox.stop();
});

/** The ACME mails in the mailbox that belong to `authzUrl`, by the Message-IDs the CA recorded. */
async function mailsFor(user: SandboxUser, authzUrl: string): Promise<number> {
  const ids = new Set(sandbox.challengesSent().filter((c) => c.authzUrl === authzUrl).map((c) => c.messageId));
  return (await challengeMails(sandbox, user)).filter((m) => ids.has(m.messageId)).length;
}

async function acmeMailCount(user: SandboxUser): Promise<number> {
  return (await challengeMails(sandbox, user)).length;
}

describe('challenge send timing', () => {
  const expected: Record<ChallengeTiming, [number, number, number]> = {
    // mails after: newOrder, first authorization fetch, POST {} to the challenge
    'on-create': [1, 1, 1],
    'on-fetch': [0, 1, 1],
    'after-post': [0, 0, 1],
  };
  for (const timing of Object.keys(expected) as ChallengeTiming[]) {
    it(`${timing}: exactly one mail, at its moment, and the reply validates`, async () => {
      sandbox.configure({ challengeTiming: timing, forgery: 'none', tokenJoin: 'string' });
      const before = await acmeMailCount(alice);
      const client = new TestAcmeClient(sandbox);
      await client.newAccount();
      const created = await client.newOrder([alice.email]);
      const authzUrl = (created.json!['authorizations'] as string[])[0]!;
      const counts: number[] = [(await acmeMailCount(alice)) - before];
      const authz = await client.get(authzUrl);
      await client.get(authzUrl);
      counts.push((await acmeMailCount(alice)) - before);
      const challenge = challengeOf(authz.json!);
      if (timing === 'after-post') {
        expect((await client.post(challenge.url, {})).json?.['status']).toBe('processing');
        counts.push((await acmeMailCount(alice)) - before);
        const { mail, tokenPart1 } = await mailFor(sandbox, alice, authzUrl);
        await sendReply(sandbox, alice, mail, armour(responseValue(tokenPart1, challenge.token, client.thumbprint, 'string')));
      } else {
        const { mail, tokenPart1 } = await mailFor(sandbox, alice, authzUrl);
        await sendReply(sandbox, alice, mail, armour(responseValue(tokenPart1, challenge.token, client.thumbprint, 'string')));
        await client.post(challenge.url, {});
        counts.push((await acmeMailCount(alice)) - before);
      }
      expect(counts).toEqual(expected[timing]);
      expect(await mailsFor(alice, authzUrl)).toBe(1);
      const decided = await client.pollUntil(authzUrl, (a) => a['status'] !== 'pending');
      expect(decided['status'], JSON.stringify(decided)).toBe('valid');
      // A second POST changes nothing and sends nothing.
      await client.post(challenge.url, {});
      expect(await mailsFor(alice, authzUrl)).toBe(1);
    });
  }
});

describe('forgery modes', () => {
  const resolver = (name: string, type: string): Promise<string[][]> => {
    const records = sandbox.zone[name];
    if (type !== 'TXT' || !records) return Promise.reject(Object.assign(new Error(`${name}: NXDOMAIN`), { code: 'ENOTFOUND' }));
    return Promise.resolve(records.map((r) => [r]));
  };

  const expectations: Record<Forgery, { from: string; dkim: { domain: string; result: string } | undefined }> = {
    none: { from: 'acme@ca.test', dkim: { domain: 'ca.test', result: 'pass' } },
    unsigned: { from: 'acme@ca.test', dkim: undefined },
    'wrong-d': { from: 'acme@ca.test', dkim: { domain: 'evil.test', result: 'pass' } },
    'wrong-from': { from: 'acme@evil.test', dkim: { domain: 'evil.test', result: 'pass' } },
  };
  for (const forgery of Object.keys(expectations) as Forgery[]) {
    it(`${forgery}: the mail in the mailbox is what the mode claims`, async () => {
      sandbox.configure({ challengeTiming: 'on-create', forgery });
      try {
        const p = await order(sandbox, bob);
        const { mail } = await mailFor(sandbox, bob, p.authzUrl);
        const verdict = await dkimVerify(mail.raw, { resolver });
        const want = expectations[forgery];
        expect(verdict.headerFrom).toEqual([want.from]);
        expect(p.challenge.from).toBe('acme@ca.test');
        if (want.dkim === undefined) {
          expect(mail.raw).not.toMatch(/^DKIM-Signature:/im);
        } else {
          expect(verdict.results.map((r) => ({ domain: r.signingDomain, result: r.status.result }))).toEqual([want.dkim]);
          const keys = (verdict.results[0] as { signingHeaders?: { keys?: string } }).signingHeaders?.keys ?? '';
          const signed = keys.toLowerCase().split(':').map((k) => k.trim());
          for (const field of ['from', 'to', 'subject', 'date', 'message-id', 'auto-submitted']) expect(signed).toContain(field);
        }
        expect(mail.raw).toMatch(/^Auto-Submitted: auto-generated; type=acme\r$/m);
        expect(mail.raw).toMatch(/^Content-Type: text\/plain/m);
      } finally {
        sandbox.configure({ forgery: 'none', challengeTiming: 'on-fetch' });
      }
    });
  }

  it('resendChallenge sends the genuine mail again with a new Message-ID', async () => {
    sandbox.configure({ challengeTiming: 'on-create', forgery: 'unsigned' });
    const p = await order(sandbox, bob);
    sandbox.configure({ forgery: 'none', challengeTiming: 'on-fetch' });
    await sandbox.resendChallenge(p.authzUrl);
    const sent = sandbox.challengesSent().filter((c) => c.authzUrl === p.authzUrl);
    expect(sent.map((s) => s.forgery)).toEqual(['unsigned', 'none']);
    expect(sent[0]!.messageId).not.toBe(sent[1]!.messageId);
    expect(sent[0]!.tokenPart1).toBe(sent[1]!.tokenPart1);
    expect(await mailsFor(bob, p.authzUrl)).toBe(2);
    // Delivered (LMTP acknowledged) after the mail was dated, and only then recorded.
    for (const s of sent) expect(s.deliveredAt.getTime()).toBeGreaterThanOrEqual(s.at.getTime());
  });

  it('imapSessions shows who is connected and which session waits in IDLE', async () => {
    const client = new ImapFlow({ host: sandbox.imap.host, port: sandbox.imap.port, secure: false, auth: { user: bob.email, pass: bob.password }, logger: false });
    await client.connect();
    try {
      await expect.poll(() => sandbox.imapSessions()).toContainEqual({ user: bob.email, command: '' });
      expect(sandbox.imapSessions().some((s) => s.command === 'IDLE')).toBe(false);
      const lock = await client.getMailboxLock('INBOX');
      try {
        void client.idle();
        await expect.poll(() => sandbox.imapSessions()).toContainEqual({ user: bob.email, command: 'IDLE' });
      } finally {
        lock.release();
      }
    } finally {
      await client.logout();
    }
    await expect.poll(() => sandbox.imapSessions().filter((s) => s.user === bob.email)).toEqual([]);
  });

  it('deliverRaw puts any mail into a mailbox as is', async () => {
    const before = (await readInbox(sandbox, bob)).length;
    await sandbox.deliverRaw(bob.email, 'From: <x@evil.test>\r\nTo: <bob@example.test>\r\nSubject: ACME: raw\r\nMessage-ID: <raw-1@evil.test>\r\n\r\nhello\r\n');
    const after = await readInbox(sandbox, bob);
    expect(after).toHaveLength(before + 1);
    expect(after.at(-1)?.messageId).toBe('<raw-1@evil.test>');
  });
});

describe('DNS-over-HTTPS (RFC 8484)', () => {
  /** A minimal query (RFC 1035 §4.1), written here, not shared with the sandbox. */
  const query = (name: string, type = 16): Buffer => Buffer.concat([
    Buffer.from([0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]),
    ...name.split('.').map((label) => Buffer.concat([Buffer.from([label.length]), Buffer.from(label)])),
    Buffer.from([0, 0, type, 0, 1]),
  ]);
  /** rcode and the TXT strings of all answers (joined per record). */
  const parse = (message: Buffer): { id: number; rcode: number; txt: string[] } => {
    const answers = message.readUInt16BE(6);
    let offset = 12;
    while (message[offset] !== 0) offset += message[offset]! + 1;
    offset += 5;
    const txt: string[] = [];
    for (let i = 0; i < answers; i++) {
      offset += (message[offset]! & 0xc0) === 0xc0 ? 2 : 0;
      const rdlength = message.readUInt16BE(offset + 8);
      let p = offset + 10;
      let text = '';
      while (p < offset + 10 + rdlength) {
        text += message.subarray(p + 1, p + 1 + message[p]!).toString();
        p += message[p]! + 1;
      }
      txt.push(text);
      offset += 10 + rdlength;
    }
    return { id: message.readUInt16BE(0), rcode: message[3]! & 0x0f, txt };
  };

  it('answers GET and POST with the zone\'s DKIM records, and NXDOMAIN for other names', async () => {
    const fetchDoh = new TestAcmeClient(sandbox).fetch;
    const name = Object.keys(sandbox.zone).find((n) => n.endsWith('._domainkey.ca.test'))!;
    const get = await fetchDoh(`${sandbox.dohUrl}?dns=${query(name).toString('base64url')}`, { headers: { accept: 'application/dns-message' } });
    expect(get.headers.get('content-type')).toBe('application/dns-message');
    const got = parse(Buffer.from(await get.arrayBuffer()));
    expect(got).toEqual({ id: 0x1234, rcode: 0, txt: sandbox.zone[name] });
    expect(got.txt[0]!.length).toBeGreaterThan(255);

    const post = await fetchDoh(sandbox.dohUrl, { method: 'POST', headers: { 'content-type': 'application/dns-message' }, body: new Uint8Array(query('mail._domainkey.example.test')) });
    expect(parse(Buffer.from(await post.arrayBuffer())).txt).toEqual(sandbox.zone['mail._domainkey.example.test']);

    const missing = await fetchDoh(`${sandbox.dohUrl}?dns=${query('nope._domainkey.ca.test').toString('base64url')}`);
    expect(parse(Buffer.from(await missing.arrayBuffer()))).toMatchObject({ rcode: 3, txt: [] });
    expect(Object.keys(sandbox.zone).sort()).toEqual(['forged._domainkey.evil.test', 'mail._domainkey.example.test', 'sandbox._domainkey.ca.test']);
  });

  it('answers garbage with FORMERR and refuses the wrong media type (RFC 8484 §4.1)', async () => {
    const fetchDoh = new TestAcmeClient(sandbox).fetch;
    const garbage = await fetchDoh(sandbox.dohUrl, { method: 'POST', headers: { 'content-type': 'application/dns-message' }, body: new Uint8Array([0xab, 0xcd, 1]) });
    const body = Buffer.from(await garbage.arrayBuffer());
    expect([body.readUInt16BE(0), body[3]! & 0x0f]).toEqual([0xabcd, 1]);
    const json = await fetchDoh(sandbox.dohUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(json.status).toBe(415);
  });
});
