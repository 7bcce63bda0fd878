/**
 * The project's own core against the sandbox, in Node: src/acme talks to the sandbox CA,
 * src/messages checks the challenge mail (DKIM keys fetched over the sandbox's DNS-over-HTTPS)
 * and builds the answer, src/pkcs12 makes the key and the CSR. The mailbox is read over IMAP and
 * the answer is sent over SMTP, as Thunderbird would. For each send-timing mode and both token
 * joins a certificate is issued and checked with OpenSSL; forged challenges are refused by the
 * client's checks; a wrong answer is refused by the CA.
 */
import { webcrypto } from 'node:crypto';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type ChallengeTiming, type Forgery, type Sandbox, type SandboxUser, type TokenJoin } from '../../sandbox/index';
import {
  AcmeClient, AcmeResourceFailedError, accountKeyThumbprint, generateAccountKey, isEmailReplyChallenge,
  type Authorization, type EmailReplyChallenge, type Order,
} from '../../src/acme/index';
import { buildResponse, checkChallengeMail, createDohResolver, type CheckVerdict } from '../../src/messages/index';
import { createCsr, generateKey } from '../../src/pkcs12/index';
import { fetchTrusting, openssl } from '../helpers/openssl';
import { readInbox, type InboxMessage } from './mailbox';

const crypto = webcrypto as unknown as Crypto;
let sandbox: Sandbox;
let alice: SandboxUser;
let trustingFetch: typeof fetch;

beforeAll(async () => {
  sandbox = await startSandbox({ replyTimeoutSeconds: 60 });
  alice = sandbox.users[0]!;
  trustingFetch = fetchTrusting(sandbox.tlsRootPem);
});

afterAll(async () => {
  await sandbox.stop();
});

interface Enrollment {
  acme: AcmeClient;
  order: Order;
  authz: Authorization;
  challenge: EmailReplyChallenge;
  orderCreatedAt: Date;
  thumbprint: string;
}

async function start(user: SandboxUser): Promise<Enrollment> {
  const accountKey = await generateAccountKey(crypto);
  const acme = new AcmeClient({ directoryUrl: sandbox.directoryUrl, fetch: trustingFetch, crypto, accountKey, poll: { initialIntervalMs: 200, minIntervalMs: 100 } });
  await acme.createAccount({ termsOfServiceAgreed: true, contact: [`mailto:${user.email}`] });
  // Second resolution: the CA's Date header has no milliseconds.
  const orderCreatedAt = new Date(Math.floor(Date.now() / 1000) * 1000);
  const order = await acme.newOrder([{ type: 'email', value: user.email }]);
  const authz = await acme.getAuthorization(order.authorizations[0]!);
  const challenge = authz.challenges.find(isEmailReplyChallenge);
  expect(challenge, 'an email-reply-00 challenge').toBeDefined();
  return { acme, order, authz, challenge: challenge!, orderCreatedAt, thumbprint: await accountKeyThumbprint(acme.accountKey, crypto) };
}

/** Waits for a new ACME mail in the INBOX (uids above `after`), as the add-on's listener would. */
async function waitForChallengeMail(user: SandboxUser, seen: ReadonlySet<number>, attempts = 50): Promise<InboxMessage | undefined> {
  for (let i = 0; i < attempts; i++) {
    const fresh = (await readInbox(sandbox, user)).filter((m) => !seen.has(m.uid) && m.subject.startsWith('ACME: '));
    if (fresh.length > 0) return fresh.at(-1);
    await new Promise((r) => setTimeout(r, 100));
  }
  return undefined;
}

async function seenUids(user: SandboxUser): Promise<Set<number>> {
  return new Set((await readInbox(sandbox, user)).map((m) => m.uid));
}

function check(mail: InboxMessage, e: Enrollment, user: SandboxUser): Promise<CheckVerdict> {
  return checkChallengeMail(mail.raw, { identity: user.email, challengeFrom: e.challenge.from, orderCreatedAt: e.orderCreatedAt }, {
    resolver: createDohResolver({ url: sandbox.dohUrl, fetch: trustingFetch }),
    crypto,
    now: () => new Date(),
  });
}

async function reply(user: SandboxUser, verdict: CheckVerdict, e: Enrollment, join: TokenJoin): Promise<void> {
  if (verdict.verdict !== 'answer') throw new Error(`refused: ${JSON.stringify(verdict.reasons)}`);
  const answer = await buildResponse(verdict.mail, { tokenPart2: e.challenge.token, thumbprint: e.thumbprint, join }, crypto);
  const transport = nodemailer.createTransport({
    host: sandbox.smtp.host, port: sandbox.smtp.port, secure: false, ignoreTLS: true, auth: { user: user.email, pass: user.password, method: 'PLAIN' },
  });
  try {
    await transport.sendMail({
      from: user.email, to: answer.to, subject: answer.subject, text: answer.body,
      ...(answer.inReplyTo === null ? {} : { inReplyTo: answer.inReplyTo }), references: [...answer.references],
    });
  } finally {
    transport.close();
  }
}

describe('the project\'s core obtains a certificate from the sandbox', () => {
  for (const timing of ['on-create', 'on-fetch', 'after-post'] as ChallengeTiming[]) {
    for (const join of ['string', 'bytes'] as TokenJoin[]) {
      it(`timing ${timing}, token join ${join}`, async () => {
        sandbox.configure({ challengeTiming: timing, tokenJoin: join, forgery: 'none' });
        const seen = await seenUids(alice);
        const e = await start(alice);
        // Prefer reply-then-POST; POST first only when no mail came (docs/ARCHITECTURE.md).
        let mail = await waitForChallengeMail(alice, seen, timing === 'after-post' ? 3 : 50);
        let posted = false;
        if (!mail) {
          await e.acme.respondToChallenge(e.challenge.url);
          posted = true;
          mail = await waitForChallengeMail(alice, seen);
        }
        expect(mail, 'challenge mail').toBeDefined();
        expect(posted).toBe(timing === 'after-post');
        const verdict = await check(mail!, e, alice);
        expect(verdict.verdict, JSON.stringify(verdict.reasons)).toBe('answer');
        await reply(alice, verdict, e, join);
        if (!posted) await e.acme.respondToChallenge(e.challenge.url);
        const authz = await e.acme.waitForAuthorization(e.authz.url, { timeoutMs: 20_000 });
        expect(authz.status).toBe('valid');

        const keys = await generateKey('P-256', crypto);
        const csr = await createCsr({ keys, emails: [alice.email], usage: 'both' }, crypto);
        const finalized = await e.acme.finalize(e.order, csr);
        const done = await e.acme.waitForOrder(e.order.url, 'valid', { initial: finalized, timeoutMs: 20_000 });
        const download = await e.acme.downloadCertificate(done.certificate!);
        const text = openssl(['x509', '-noout', '-text'], download.pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/)![0]);
        expect(text).toMatch(/X509v3 Subject Alternative Name:\s*\n\s*email:alice@example\.test\s*\n/);
        expect(text).toMatch(/X509v3 Extended Key Usage:\s*\n\s*E-mail Protection\s*\n/);
        expect(text).toMatch(/X509v3 Key Usage: critical\s*\n\s*Digital Signature, Key Agreement\s*\n/);
      });
    }
  }
});

describe('certificate life cycle through the core', () => {
  it('alternate chain, ARI (certID computed by the client), revocation, ARI after revocation', async () => {
    sandbox.configure({ challengeTiming: 'on-fetch', tokenJoin: 'string', forgery: 'none' });
    const seen = await seenUids(alice);
    const e = await start(alice);
    const mail = await waitForChallengeMail(alice, seen);
    await reply(alice, await check(mail!, e, alice), e, 'string');
    await e.acme.respondToChallenge(e.challenge.url);
    await e.acme.waitForAuthorization(e.authz.url, { timeoutMs: 20_000 });
    const keys = await generateKey('P-256', crypto);
    const finalized = await e.acme.finalize(e.order, await createCsr({ keys, emails: [alice.email], usage: 'sign' }, crypto));
    const done = await e.acme.waitForOrder(e.order.url, 'valid', { initial: finalized, timeoutMs: 20_000 });
    const download = await e.acme.downloadCertificate(done.certificate!);
    expect(download.alternates).toHaveLength(1);
    const leaf = download.certificates[0]!;

    const before = await e.acme.renewalInfo(leaf);
    expect(before, 'the sandbox knows the certID the client computed').toBeDefined();
    expect(before!.suggestedWindow.start.getTime()).toBeGreaterThan(Date.now());
    await e.acme.revoke(leaf, 4);
    const after = await e.acme.renewalInfo(leaf);
    expect(after!.suggestedWindow.end.getTime()).toBeLessThan(Date.now());
  });
});

describe('what must not work', () => {
  const expectedReason: Record<Exclude<Forgery, 'none'>, string> = {
    unsigned: 'dkim-missing',
    'wrong-d': 'dkim-unaligned',
    'wrong-from': 'from-mismatch',
  };
  for (const forgery of Object.keys(expectedReason) as Exclude<Forgery, 'none'>[]) {
    it(`the client's checks refuse a ${forgery} challenge, then accept the genuine resend`, async () => {
      sandbox.configure({ challengeTiming: 'on-fetch', tokenJoin: 'string', forgery });
      try {
        const seen = await seenUids(alice);
        const e = await start(alice);
        const forged = await waitForChallengeMail(alice, seen);
        expect(forged).toBeDefined();
        const verdict = await check(forged!, e, alice);
        expect(verdict.verdict).toBe('refuse');
        expect(verdict.reasons.map((r) => r.code)).toContain(expectedReason[forgery]);

        sandbox.configure({ forgery: 'none' });
        seen.add(forged!.uid);
        await sandbox.resendChallenge(e.authz.url);
        const genuine = await waitForChallengeMail(alice, seen);
        expect((await check(genuine!, e, alice)).verdict).toBe('answer');
      } finally {
        sandbox.configure({ forgery: 'none' });
      }
    });
  }

  it('the CA refuses an answer computed with the other token join', async () => {
    sandbox.configure({ challengeTiming: 'on-fetch', tokenJoin: 'bytes', forgery: 'none' });
    try {
      const seen = await seenUids(alice);
      const e = await start(alice);
      const mail = await waitForChallengeMail(alice, seen);
      const verdict = await check(mail!, e, alice);
      await reply(alice, verdict, e, 'string');
      await e.acme.respondToChallenge(e.challenge.url);
      const failure = await e.acme.waitForAuthorization(e.authz.url, { timeoutMs: 20_000 }).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(failure).toBeInstanceOf(AcmeResourceFailedError);
      expect((failure as AcmeResourceFailedError).problem?.type).toBe('urn:ietf:params:acme:error:incorrectResponse');
    } finally {
      sandbox.configure({ tokenJoin: 'string' });
    }
  });
});
