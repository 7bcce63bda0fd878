/**
 * The enrollment flow with the real core behind its ports — src/acme against the sandbox CA,
 * src/messages checking DKIM through the sandbox's DNS-over-HTTPS, src/pkcs12 making the key,
 * CSR and PKCS#12 — and the user's mailbox played by IMAP and SMTP in place of Thunderbird.
 * Everything but the Thunderbird glue, end to end; the E2E suite adds Thunderbird.
 */
import { usabilityMethods } from '../helpers/cert-store';
import { webcrypto } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox, type SandboxUser } from '../../sandbox/index';
import { fetchTrusting } from '../helpers/openssl';
import { readInbox, sendReply, type InboxMessage } from '../sandbox/mailbox';
import { createAcmeAdapter, type AccountStore, type StoredAccount } from '../../src/enroll/adapters/acme';
import { createKeysAdapter } from '../../src/enroll/adapters/keys';
import { createMailCheckAdapter } from '../../src/enroll/adapters/mail-check';
import { Enroller } from '../../src/enroll/enroller';
import type { InstalledCertificate, MailboxPort, MailRef, ReplyPort, Usage } from '../../src/enroll/ports';
import { DEFAULT_SETTINGS, type Settings } from '../../src/enroll/settings';
import { isTerminal, type Enrollment } from '../../src/enroll/state';
import { parsePkcs12 } from '../../src/pkcs12/index';
import { FakeStorage } from './fakes';

const crypto = webcrypto as unknown as Crypto;
const PASS = 'sandbox passphrase 1';

let sandbox: Sandbox;

beforeAll(async () => {
  sandbox = await startSandbox({ certValidityDays: 3 });
});

afterAll(async () => {
  await sandbox.stop();
});

/** One user's Thunderbird, minus Thunderbird: the inbox over IMAP, replies over SMTP. */
function harness(user: SandboxUser, settings: Settings) {
  const inbox = new Map<number, InboxMessage>();
  const replies: string[] = [];
  const installed: { pkcs12: Uint8Array; passphrase: string; usage: Usage; identityId: string }[] = [];
  const accounts = new Map<string, StoredAccount>();
  const accountStore: AccountStore = {
    load: (url) => Promise.resolve(accounts.get(url)),
    save: (url, account) => {
      accounts.set(url, account);
      return Promise.resolve();
    },
  };
  const fetchSandbox = fetchTrusting(sandbox.tlsRootPem);
  const mailbox: MailboxPort = {
    async recent() {
      const list = await readInbox(sandbox, user);
      for (const m of list) inbox.set(m.uid, m);
      return list.map((m): MailRef => ({ id: m.uid, headerMessageId: m.messageId, subject: m.subject, author: '', date: Date.now() }));
    },
    raw: (mail) => Promise.resolve(new TextEncoder().encode(inbox.get(mail.id)?.raw ?? '')),
  };
  const reply: ReplyPort = {
    async send(request) {
      const challenge = inbox.get(request.mail.id);
      if (!challenge) throw new Error('no such mail');
      replies.push(request.mail.headerMessageId);
      await sendReply(sandbox, user, challenge, request.body, request.expectTo);
      return { sent: true };
    },
  };
  const storage = new FakeStorage();
  let enrollments = 0;
  const pkcs12s: { pkcs12: Uint8Array; passphrase: string }[] = [];
  const offered: Uint8Array[] = [];
  const acme = createAcmeAdapter({ fetch: fetchSandbox, crypto, accounts: accountStore });
  const enroller = new Enroller({
    acme,
    mailCheck: createMailCheckAdapter({ fetch: fetchSandbox, crypto, settings: () => Promise.resolve(settings), now: () => Date.now() }),
    mailbox,
    reply,
    keys: createKeysAdapter({ crypto, iterations: 2_000 }),
    certStore: {
      importPkcs12(pkcs12, passphrase, email): Promise<InstalledCertificate> {
        pkcs12s.push({ pkcs12, passphrase });
        return Promise.resolve({ dbKey: `db-${email}`, name: email });
      },
      setIdentityCertificates(identityId, _cert, usage) {
        installed.push({ ...pkcs12s.at(-1)!, usage, identityId });
        return Promise.resolve();
      },
      clearIdentityCertificates: () => Promise.resolve(),
      ...usabilityMethods(),
    },
    storage,
    session: new FakeStorage(),
    clock: { now: () => Date.now() },
    notifier: { notify: () => Promise.resolve() },
    downloads: {
      offer: (_name, bytes) => {
        offered.push(bytes);
        return Promise.resolve();
      },
    },
    log: { debug: () => undefined },
    settings: () => Promise.resolve(settings),
    randomId: () => `e-${user.email}-${++enrollments}`,
    random: () => 0.5,
  });

  /** Lets mail events and timers happen, as Thunderbird's listeners would, until the flow ends. */
  async function runUntilDone(id: string, timeoutMs = 45_000): Promise<Enrollment> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      await enroller.onNewMail(await mailbox.recent(0));
      await enroller.tick();
      const e = (await enroller.list()).find((x) => x.id === id)!;
      if (isTerminal(e.step) || Date.now() > deadline) return e;
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  return { enroller, replies, installed, offered, runUntilDone, storage, acme };
}

function settingsFor(overrides: Partial<Settings> = {}): Settings {
  return { ...DEFAULT_SETTINGS, directoryUrl: sandbox.directoryUrl, dohUrl: sandbox.dohUrl, postChallengeAfterSeconds: 30, ...overrides };
}

describe('the enrollment flow against the sandbox CA, with the real core', () => {
  it('issues and installs a certificate, answering the challenge mail once (mail on authorization fetch)', async () => {
    sandbox.configure({ challengeTiming: 'on-fetch', tokenJoin: 'string', forgery: 'none' });
    const alice = sandbox.users[0]!;
    const h = harness(alice, settingsFor());
    const { enrollment } = await h.enroller.start({ identityId: 'id1', email: alice.email, keyType: 'P-256', usage: 'both', passphrase: PASS, termsAgreed: true });
    await h.enroller.advance(enrollment.id);
    const done = await h.runUntilDone(enrollment.id);
    expect(done.error, JSON.stringify(done.history)).toBeUndefined();
    expect(done.step).toBe('installed');
    expect(h.replies).toHaveLength(1);
    expect(sandbox.repliesReceived().filter((r) => r.from === alice.email).at(-1)).toMatchObject({ verdict: 'valid', dkim: 'pass' });
    expect(h.installed).toHaveLength(1);
    // Into the store under a one-time secret (never the user's passphrase, never stored) …
    const imported = h.installed[0]!;
    expect(imported.passphrase).not.toBe(PASS);
    expect(imported.passphrase).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(h.storage.snapshots)).not.toContain(imported.passphrase);
    const p12 = await parsePkcs12(imported.pkcs12, imported.passphrase, crypto);
    expect(p12.chain.length).toBeGreaterThanOrEqual(1);
    // … and the user's .p12 under their passphrase (here built by the flow: this store has no export).
    expect(h.offered).toHaveLength(1);
    expect((await parsePkcs12(h.offered[0]!, PASS, crypto)).chain.length).toBeGreaterThanOrEqual(1);
    const record = await h.enroller.certificate('id1');
    expect(record?.emails).toEqual([alice.email]);
    expect(record?.usage).toBe('both');
    expect(done.encryptedKey).toBeUndefined();
    // Secrets at rest: at no moment did storage.local hold the passphrase or a clear key.
    for (const snapshot of h.storage.snapshots) {
      const text = JSON.stringify(snapshot);
      expect(text).not.toContain(PASS);
      expect(text).not.toMatch(/PRIVATE KEY/);
    }
    // …and the key it held before installation was PBES2-encrypted (RFC 8018 OID 1.2.840.113549.1.5.13).
    const withKey = h.storage.snapshots.map((s) => s[`enrollment:${enrollment.id}`] as Enrollment | undefined).find((e) => e?.encryptedKey !== undefined);
    expect(Buffer.from(withKey!.encryptedKey!, 'base64').toString('hex')).toContain('06092a864886f70d01050d');
  });

  it('POSTs first when the CA mails only after the POST, then answers (RSA, bytes join, signing only)', async () => {
    sandbox.configure({ challengeTiming: 'after-post', tokenJoin: 'bytes', forgery: 'none' });
    const bob = sandbox.users[1]!;
    const h = harness(bob, settingsFor({ postChallengeAfterSeconds: 1, tokenJoin: 'bytes' }));
    const { enrollment } = await h.enroller.start({ identityId: 'id2', email: bob.email, keyType: 'RSA-2048', usage: 'sign', passphrase: PASS, termsAgreed: true });
    await h.enroller.advance(enrollment.id);
    const done = await h.runUntilDone(enrollment.id);
    expect(done.error, JSON.stringify(done.history)).toBeUndefined();
    expect(done.step).toBe('installed');
    expect(done.history.some((step) => step.note?.includes('POSTed first'))).toBe(true);
    expect(done.joinUsed).toBe('bytes');
    expect(h.replies).toHaveLength(1);
    expect((await h.enroller.certificate('id2'))?.usage).toBe('sign');
  });

  it('never answers a forged challenge mail, and says why', async () => {
    sandbox.configure({ challengeTiming: 'on-fetch', tokenJoin: 'string', forgery: 'unsigned' });
    const alice = sandbox.users[0]!;
    const h = harness(alice, settingsFor({ validationTimeoutMinutes: 1 }));
    const { enrollment } = await h.enroller.start({ identityId: 'id3', email: alice.email, keyType: 'P-256', usage: 'both', passphrase: PASS, termsAgreed: true });
    await h.enroller.advance(enrollment.id);
    const deadline = Date.now() + 20_000;
    let e = (await h.enroller.list())[0]!;
    while (e.refusals.length === 0 && Date.now() < deadline) {
      await h.enroller.onNewMail(await (async () => (await readInbox(sandbox, alice)).map((m) => ({ id: m.uid, headerMessageId: m.messageId, subject: m.subject, author: '', date: Date.now() })))());
      e = (await h.enroller.list())[0]!;
      if (e.refusals.length === 0) await new Promise((r) => setTimeout(r, 250));
    }
    expect(h.replies).toEqual([]);
    expect(e.step).toBe('awaiting-mail');
    expect(e.refusals.some((r) => r.reasons.includes('dkim-missing') || r.reasons.includes('not-authentic'))).toBe(true);
    await h.enroller.cancel(e.id);
  });

  it('renews with RFC 9773 replaces naming the old certificate, which the CA checks', async () => {
    sandbox.configure({ challengeTiming: 'on-fetch', tokenJoin: 'string', forgery: 'none' });
    const bob = sandbox.users[1]!;
    const h = harness(bob, settingsFor());
    const { enrollment } = await h.enroller.start({ identityId: 'id4', email: bob.email, keyType: 'P-256', usage: 'both', passphrase: PASS, termsAgreed: true });
    await h.enroller.advance(enrollment.id);
    expect((await h.runUntilDone(enrollment.id)).step).toBe('installed');
    const first = await h.enroller.certificate('id4');

    const { enrollment: renewal } = await h.enroller.renew('id4', PASS, true);
    // The sandbox refuses a `replaces` that names no certificate of this account (malformed).
    expect(renewal.replaces).toMatch(/^[\w-]+\.[\w-]+$/);
    await h.enroller.advance(renewal.id);
    const done = await h.runUntilDone(renewal.id);
    expect(done.error, JSON.stringify(done.history)).toBeUndefined();
    expect(done.step).toBe('installed');
    const second = await h.enroller.certificate('id4');
    expect(second?.serialNumber).toBeDefined();
    expect(second?.serialNumber).not.toBe(first?.serialNumber);
    expect(h.replies).toHaveLength(2);
    // The CA recorded the replacement: naming the old certificate again is a conflict (RFC 9773 §5).
    await expect(h.acme.newOrder(sandbox.directoryUrl, [bob.email], renewal.replaces)).rejects.toThrow(/already replaced/);
  });
});
