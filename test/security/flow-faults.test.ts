/**
 * Faults at the flow level: the enrollment state machine with the real mail check, its ACME,
 * compose and mailbox ports failing at random — transient errors (network, 5xx), rate limits with
 * Retry-After, compose refusing to open a reply — the way src/enroll/adapters turn src/acme's
 * typed errors into PortErrors. The CA here validates only once it has a reply.
 *
 * Each seeded run must end `installed`, or `failed` with an error code (never stuck with nothing
 * to wake it: a dangling enrollment), send at most one reply, and keep the encrypted key until
 * it ends. Figure: `flow-faults: completed or cleanly failed N of N; keys lost 0; dangling 0;
 * duplicate replies 0`.
 */
import { describe, expect, it } from 'vitest';
import { isTerminal } from '../../src/enroll/state';
import { DEFAULT_SETTINGS } from '../../src/enroll/settings';
import { PortError, type AcmePort, type ReplyPort, type ReplyRequest } from '../../src/enroll/ports';
import { IDENTITY } from '../fixtures/forgery/mutations';
import { SETUP, genuineChallenge } from './genuine-challenge';
import { FlowWorld, MemoryAcme, RecordingReply } from './flow';

const SEEDS = Math.max(1, Number(process.env['FLOW_FAULT_RUNS'] ?? 60));

const genuine = genuineChallenge();

/** mulberry32: a small seeded generator, so a failing seed can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A CA that validates the challenge only after a reply reached it and the challenge was POSTed. */
class StrictAcme extends MemoryAcme {
  replied = false;
  override getAuthorization(d: string, url: string): ReturnType<MemoryAcme['getAuthorization']> {
    return super.getAuthorization(d, url).then((a) => (a.status === 'valid' && !this.replied ? { ...a, status: 'pending' as const, challenge: { ...a.challenge!, status: 'pending' as const } } : a));
  }
}

/** Wraps every AcmePort method: with probability `rate`, it fails the way the adapter would. */
function faulty(inner: AcmePort, random: () => number, rate: number, log: string[]): AcmePort {
  const wrap = <A extends unknown[], R>(name: string, fn: (...args: A) => Promise<R>) => (...args: A): Promise<R> => {
    const r = random();
    if (r < rate * 0.6) {
      log.push(`${name}: transient`);
      return Promise.reject(new PortError('transient', `${name}: connection reset`));
    }
    if (r < rate) {
      const retryAfterMs = Math.floor(random() * 120_000);
      log.push(`${name}: rateLimited ${retryAfterMs} ms`);
      return Promise.reject(new PortError('rateLimited', `${name}: slow down`, { retryAfterMs }));
    }
    return fn(...args);
  };
  return {
    caInfo: wrap('caInfo', (d) => inner.caInfo(d)),
    ensureAccount: wrap('ensureAccount', (r) => inner.ensureAccount(r)),
    thumbprint: wrap('thumbprint', (d) => inner.thumbprint(d)),
    newOrder: wrap('newOrder', (d, e, r?: string) => inner.newOrder(d, e, r)),
    deactivateAuthorization: wrap('deactivateAuthorization', (d, u) => inner.deactivateAuthorization(d, u)),
    getOrder: wrap('getOrder', (d, u) => inner.getOrder(d, u)),
    getAuthorization: wrap('getAuthorization', (d, u) => inner.getAuthorization(d, u)),
    respondToChallenge: wrap('respondToChallenge', (d, u) => inner.respondToChallenge(d, u)),
    finalize: wrap('finalize', (d, u, c) => inner.finalize(d, u, c)),
    downloadCertificate: wrap('downloadCertificate', (d, u) => inner.downloadCertificate(d, u)),
    revoke: wrap('revoke', (d, c, r) => inner.revoke(d, c, r)),
    revokeWithCertificateKey: wrap('revokeWithCertificateKey', (d, c, k, r) => inner.revokeWithCertificateKey(d, c, k, r)),
    renewalInfo: wrap('renewalInfo', (d, p) => inner.renewalInfo(d, p)),
    certificateId: wrap('certificateId', (p) => inner.certificateId(p)),
  };
}

/** Compose that sometimes refuses to open the reply (before anything is sent). */
class FlakyReply implements ReplyPort {
  readonly recorder = new RecordingReply();
  constructor(
    private readonly random: () => number,
    private readonly rate: number,
    private readonly ca: StrictAcme,
    private readonly log: string[],
  ) {}
  send(request: ReplyRequest): Promise<{ sent: true }> {
    if (this.random() < this.rate) {
      this.log.push('compose: refused');
      return Promise.reject(new PortError('transient', 'compose window could not be opened'));
    }
    this.ca.replied = true;
    return this.recorder.send(request);
  }
}

type Outcome = { seed: number; step: string; error?: string; replies: number; keyLostEarly: boolean; dangling: boolean; log: string[] };
const outcomes: Outcome[] = [];

async function play(seed: number): Promise<Outcome> {
  const random = prng(seed);
  const rate = 0.1 + random() * 0.3;
  const log: string[] = [];
  const ca = new StrictAcme(SETUP);
  const reply = new FlakyReply(random, rate, ca, log);
  // The add-on's defaults for when to POST first (the forgery suites wait longer on purpose).
  const w = new FlowWorld({ challenge: SETUP, zone: genuine.zone, now: genuine.t0, acme: faulty(ca, random, rate, log), settings: { postChallengeAfterSeconds: DEFAULT_SETTINGS.postChallengeAfterSeconds } });
  const deps = { ...w.deps(), reply };
  const { Enroller } = await import('../../src/enroll/enroller');
  let enroller = new Enroller(deps);
  let keyLostEarly = false;
  const watch = (): void => {
    for (const e of w.storage.enrollments()) if (!isTerminal(e.step) && e.encryptedKey === undefined) keyLostEarly = true;
  };
  let id: string;
  try {
    id = (await enroller.start({ identityId: 'id1', email: IDENTITY, passphrase: 'faults passphrase, test only', termsAgreed: true })).enrollment.id;
  } catch (error) {
    return { seed, step: 'not started', error: String(error), replies: 0, keyLostEarly, dangling: false, log };
  }
  await enroller.advance(id).catch(() => undefined);
  watch();
  // The mail arrives a minute in; the background then lives on, ticking on its alarm, and is
  // restarted now and then (as Thunderbird may stop it at any moment).
  w.now = genuine.t0 + 60_000;
  w.store(genuine.mail, genuine.mailTime);
  await enroller.onNewMail([w.mailbox.mails[0]!.ref]).catch(() => undefined);
  for (let round = 0; round < 400; round++) {
    const e = w.storage.enrollments()[0]!;
    watch();
    if (isTerminal(e.step)) break;
    if (round % 25 === 24) {
      enroller = new Enroller(deps);
      await enroller.resumeAll();
      continue;
    }
    const next = await enroller.nextWakeAt();
    if (next === undefined) break;
    w.now = Math.max(w.now + 1, next);
    await enroller.tick().catch(() => undefined);
  }
  const final = w.storage.enrollments()[0]!;
  if (process.env['FLOW_FAULT_DEBUG'] === String(seed)) console.log(JSON.stringify(final.history.map((h) => [h.step, (h.at - genuine.t0) / 1000, h.note])), w.reply.sent.length);
  const dangling = !isTerminal(final.step) && final.wakeAt === undefined && !(final.step === 'installing' && final.needsPassphrase === true);
  return { seed, step: final.step, ...(final.error ? { error: final.error.code } : {}), replies: reply.recorder.sent.length, keyLostEarly, dangling, log };
}

describe('flow under ACME, compose and rate-limit faults', () => {
  it(`${SEEDS} seeded enrollments end installed or cleanly failed, one reply at most, key kept until the end`, async () => {
    for (let seed = 1; seed <= SEEDS; seed++) {
      const o = await play(seed);
      outcomes.push(o);
      const label = `seed ${seed}: ${o.step} ${o.error ?? ''} after ${o.log.length} faults (${o.log.slice(-4).join('; ')})`;
      expect(['installed', 'failed'], label).toContain(o.step);
      if (o.step === 'failed') expect(o.error, label).toBeDefined();
      expect(o.replies, label).toBeLessThanOrEqual(1);
      expect(o.keyLostEarly, label).toBe(false);
      expect(o.dangling, label).toBe(false);
    }
  }, 120_000);

  it('figure', () => {
    const clean = outcomes.filter((o) => o.step === 'installed' || (o.step === 'failed' && o.error !== undefined)).length;
    const installed = outcomes.filter((o) => o.step === 'installed').length;
    const faults = outcomes.reduce((n, o) => n + o.log.length, 0);
    const failures = [...new Set(outcomes.filter((o) => o.step === 'failed').map((o) => o.error))].join(', ');
    for (const o of outcomes.filter((x) => x.step === 'failed')) console.log(`  seed ${o.seed}: ${o.error ?? ''}; ${o.log.length} faults; last: ${o.log.slice(-6).join('; ')}`);
    console.log(`flow-faults: completed or cleanly failed ${clean} of ${outcomes.length} (installed ${installed}; failed ${outcomes.length - installed}${failures ? `: ${failures}` : ''}); ${faults} faults injected; keys lost ${outcomes.filter((o) => o.keyLostEarly).length}; dangling ${outcomes.filter((o) => o.dangling).length}; duplicate replies ${outcomes.filter((o) => o.replies > 1).length}`);
    expect(outcomes).toHaveLength(SEEDS);
    expect(clean).toBe(SEEDS);
  });
});
