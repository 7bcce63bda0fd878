/**
 * ACME faults: the project's ACME client (src/acme) through whole issuances against the sandbox
 * CA (sandbox/index.ts) with each of its fault knobs turned up: bad nonces, HTTP 500, rate
 * limits with Retry-After in seconds and as a date, slow answers, dropped connections, and an
 * order that stays `processing` (briefly, and longer than the client will wait).
 *
 * Around the client, a caller that behaves as the enrollment flow does (src/enroll/schedule.ts
 * `failurePolicy`): a step that fails with a transient typed error (network, 5xx, bad nonce after the
 * client's own retries) or rateLimited is tried again after a pause, a bounded number of times;
 * anything else ends the issuance. Each issuance must complete, or fail with an AcmeError
 * subclass — never another exception, never a hang (an overall deadline per issuance).
 *
 * Figure: `acme-faults: completed or cleanly failed N of N (…), hangs 0`.
 */
import 'reflect-metadata';
import { createHash, webcrypto } from 'node:crypto';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AcmeClient,
  AcmeError,
  AcmeNetworkError,
  AcmeTimeoutError,
  BadNonceError,
  RateLimitedError,
  ServerInternalError,
  accountKeyThumbprint,
  generateAccountKey,
  isEmailReplyChallenge,
} from '../../src/acme/index';
import { createCsr, generateKey } from '../../src/pkcs12/index';
import { NO_FAULTS, startSandbox, type Sandbox, type SandboxFaults, type SandboxUser } from '../../sandbox/index';
import { fetchTrusting } from '../helpers/openssl';

const crypto = webcrypto as unknown as Crypto;
/** Issuances per fault (FAULT_RUNS to raise it). */
const RUNS = Math.max(1, Number(process.env['FAULT_RUNS'] ?? 1));
/** An issuance still running after this long is a hang. */
const DEADLINE_MS = 90_000;
/** Attempts per step for transient failures, as the flow's MAX_ATTEMPTS. */
const STEP_ATTEMPTS = 6;

let sandbox: Sandbox;
let alice: SandboxUser;
let tlsFetch: typeof fetch;

beforeAll(async () => {
  sandbox = await startSandbox({ challengeTiming: 'on-fetch' });
  alice = sandbox.users[0]!;
  tlsFetch = fetchTrusting(sandbox.tlsRootPem);
}, 120_000);

afterAll(async () => {
  await sandbox.stop();
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The flow's policy for one step: transient and rateLimited failures wait and try again. */
async function step<T>(what: string, attempt: () => Promise<T>, log: string[]): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await attempt();
    } catch (error) {
      const transient = error instanceof AcmeNetworkError || error instanceof ServerInternalError || error instanceof BadNonceError || (error instanceof AcmeTimeoutError && what !== 'order valid' && what !== 'authorization valid');
      const limited = error instanceof RateLimitedError;
      if (!(transient || limited) || i >= STEP_ATTEMPTS) throw error;
      const wait = limited ? Math.min(error.retryAfterMs ?? 1_000, 3_000) : 200 * 2 ** (i - 1);
      log.push(`${what}: ${error instanceof Error ? error.name : 'error'}, again in ${wait} ms`);
      await sleep(wait);
    }
  }
}

/** One whole issuance for `user`: account, order, challenge mail answered over SMTP, finalize, download. */
async function issue(user: SandboxUser, waitMs: number, log: string[]): Promise<string> {
  const key = await generateAccountKey(crypto);
  // The default retry policy, with a shorter first back-off (1 s → 200 ms) to keep the suite short.
  const acme = new AcmeClient({ directoryUrl: sandbox.directoryUrl, fetch: tlsFetch, crypto, accountKey: key, retry: { baseDelayMs: 200 } });
  await step('account', () => acme.createAccount({ termsOfServiceAgreed: true, contact: [`mailto:${user.email}`] }), log);
  const order = await step('new order', () => acme.newOrder([{ type: 'email', value: user.email }]), log);
  const authzUrl = order.authorizations[0]!;
  const authz = await step('authorization', () => acme.getAuthorization(authzUrl), log);
  const challenge = authz.challenges.find(isEmailReplyChallenge);
  if (!challenge) throw new Error('no email-reply-00 challenge');
  // The CA's challenge mail, as the sandbox recorded sending it (this suite is about ACME, not mail).
  let sent = sandbox.challengesSent().find((c) => c.authzUrl === authzUrl);
  for (let i = 0; !sent && i < 50; i++) {
    await sleep(100);
    sent = sandbox.challengesSent().find((c) => c.authzUrl === authzUrl);
  }
  if (!sent) throw new Error('the CA sent no challenge mail');
  const thumbprint = await accountKeyThumbprint(key, crypto);
  const value = createHash('sha256').update(`${sent.tokenPart1}${challenge.token}.${thumbprint}`).digest('base64url');
  const transport = nodemailer.createTransport({ host: sandbox.smtp.host, port: sandbox.smtp.port, secure: false, ignoreTLS: true, auth: { user: user.email, pass: user.password, method: 'PLAIN' } });
  try {
    await transport.sendMail({ from: user.email, to: sandbox.caAddress, subject: `Re: ${sent.subject}`, inReplyTo: sent.messageId, references: [sent.messageId], text: `-----BEGIN ACME RESPONSE-----\r\n${value}\r\n-----END ACME RESPONSE-----\r\n` });
  } finally {
    transport.close();
  }
  await step('challenge', () => acme.respondToChallenge(challenge.url), log);
  await step('authorization valid', () => acme.waitForAuthorization(authzUrl, { timeoutMs: waitMs }), log);
  const keys = await generateKey('P-256', crypto);
  const csr = await createCsr({ keys, emails: [user.email], usage: 'both' }, crypto);
  const finalized = await step('finalize', async () => {
    const current = await acme.getOrder(order.url);
    // After a lost answer the CSR may already be in: finalize only a `ready` order (RFC 8555 §7.4).
    return current.status === 'ready' ? acme.finalize(order, csr) : current;
  }, log);
  const done = await step('order valid', () => acme.waitForOrder(order.url, 'valid', { initial: finalized, timeoutMs: waitMs }), log);
  const chain = await step('download', () => acme.downloadCertificate(done.certificate!), log);
  return chain.pem;
}

type Outcome = 'completed' | 'typed failure' | 'crash' | 'hang';
const outcomes: { fault: string; outcome: Outcome; detail: string }[] = [];

async function play(fault: string, waitMs: number): Promise<{ outcome: Outcome; detail: string }> {
  const log: string[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const result = await Promise.race([
      issue(alice, waitMs, log).then((pem) => ({ outcome: 'completed' as const, detail: `${pem.split('BEGIN CERTIFICATE').length - 1} certificates; ${log.length} step retries` })),
      new Promise<{ outcome: 'hang'; detail: string }>((resolve) => {
        timer = setTimeout(() => {
          resolve({ outcome: 'hang', detail: log.join('; ') });
        }, DEADLINE_MS);
      }),
    ]);
    outcomes.push({ fault, ...result });
    return result;
  } catch (error) {
    const result = error instanceof AcmeError
      ? { outcome: 'typed failure' as const, detail: `${error.name}: ${error.message}` }
      : { outcome: 'crash' as const, detail: error instanceof Error ? `${error.name}: ${error.message}\n${error.stack ?? ''}` : String(error) };
    outcomes.push({ fault, ...result });
    return result;
  } finally {
    clearTimeout(timer);
  }
}

const FAULTS: readonly { name: string; faults: Partial<SandboxFaults>; waitMs?: number; mustComplete: boolean }[] = [
  { name: 'none (control)', faults: {}, mustComplete: true },
  { name: 'bad nonce 50%', faults: { badNonceRate: 0.5 }, mustComplete: true },
  { name: 'HTTP 500 at 30%', faults: { serverErrorRate: 0.3 }, mustComplete: false },
  { name: 'rateLimited 30%, Retry-After 1 s', faults: { rateLimitRate: 0.3, retryAfterSeconds: 1, retryAfterFormat: 'seconds' }, mustComplete: false },
  { name: 'rateLimited 30%, Retry-After as an HTTP date', faults: { rateLimitRate: 0.3, retryAfterSeconds: 1, retryAfterFormat: 'http-date' }, mustComplete: false },
  { name: 'slow answers (150 ms each)', faults: { delayMs: 150 }, mustComplete: true },
  { name: 'dropped connections 20%', faults: { dropRate: 0.2 }, mustComplete: false },
  { name: 'order processing 2 s', faults: { processingSeconds: 2 }, mustComplete: true },
  { name: 'order processing longer than the client waits', faults: { processingSeconds: 600 }, waitMs: 2_000, mustComplete: false },
  { name: 'everything at once', faults: { badNonceRate: 0.3, serverErrorRate: 0.1, rateLimitRate: 0.1, retryAfterSeconds: 1, dropRate: 0.1, delayMs: 20 }, mustComplete: false },
];

describe('ACME faults against the sandbox CA', () => {
  for (const f of FAULTS) {
    it(`${f.name}: completes, or fails with a typed error, never crashes or hangs`, async () => {
      sandbox.configure({ faults: { ...NO_FAULTS, ...f.faults } });
      for (let i = 0; i < RUNS; i++) {
        const { outcome, detail } = await play(f.name, f.waitMs ?? 30_000);
        expect(['completed', 'typed failure'], `${f.name}: ${outcome}: ${detail}`).toContain(outcome);
        if (f.mustComplete) expect(outcome, detail).toBe('completed');
        if (f.name === 'order processing longer than the client waits') expect(detail).toMatch(/AcmeTimeoutError/);
      }
      sandbox.configure({ faults: NO_FAULTS });
    }, DEADLINE_MS * RUNS + 30_000);
  }

  it('figure', () => {
    const clean = outcomes.filter((o) => o.outcome === 'completed' || o.outcome === 'typed failure').length;
    const completed = outcomes.filter((o) => o.outcome === 'completed').length;
    const hangs = outcomes.filter((o) => o.outcome === 'hang').length;
    console.log(`acme-faults: completed or cleanly failed ${clean} of ${outcomes.length} (completed ${completed}, typed failures ${clean - completed}, crashes ${outcomes.filter((o) => o.outcome === 'crash').length}), hangs ${hangs}`);
    for (const o of outcomes) console.log(`  ${o.fault}: ${o.outcome} — ${o.detail.split('\n')[0]!.slice(0, 160)}`);
    expect(outcomes).toHaveLength(FAULTS.length * RUNS);
    expect(clean).toBe(outcomes.length);
    expect(hangs).toBe(0);
  });
});
