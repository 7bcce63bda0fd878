/**
 * Reliability findings 3 and 4 of docs/SECURITY.md (both fixed), as regression tests against the
 * state machine with the real mail check: a genuine challenge mail is never lost to a DNS-over-
 * HTTPS resolver that is down for a while (F-A) or to a transient failure while it is checked (F-B).
 */
import { describe, expect, it } from 'vitest';
import { PortError, type AcmePort } from '../../src/enroll/ports';
import { DEFAULT_SETTINGS } from '../../src/enroll/settings';
import { IDENTITY } from '../fixtures/forgery/mutations';
import { SETUP, genuineChallenge } from './genuine-challenge';
import { FlowWorld, MemoryAcme } from './flow';

const genuine = genuineChallenge();

describe('reliability findings 3 and 4 (fixed)', () => {
  it('F-A: a genuine challenge that arrives while the DoH resolver is unreachable is answered once the resolver is back (after a restart)', async () => {
    const w = new FlowWorld({ challenge: SETUP, zone: genuine.zone, now: genuine.t0, settings: { postChallengeAfterSeconds: DEFAULT_SETTINGS.postChallengeAfterSeconds } });
    const enroller = w.enroller();
    const { enrollment } = await enroller.start({ identityId: 'id1', email: IDENTITY, passphrase: 'repro passphrase', termsAgreed: true });
    await enroller.advance(enrollment.id);
    w.doh.down = true;
    w.now = genuine.t0 + 60_000;
    await w.deliver(enroller, genuine.mail, genuine.mailTime);
    expect(w.storage.enrollments()[0]!.refusals.flatMap((r) => r.reasons)).toContain('dkim-temperror');
    w.doh.down = false;
    w.now = genuine.t0 + 90_000;
    await w.enroller().resumeAll();
    expect(w.reply.sent, 'the challenge is answered once DoH works again').toHaveLength(1);
  });

  it('F-B: a transient ACME failure while a new challenge mail is checked does not lose the mail', async () => {
    const ca = new MemoryAcme(SETUP);
    let failThumbprint = false;
    const acme: AcmePort = Object.assign(Object.create(ca) as AcmePort, {
      thumbprint: (): Promise<string> => {
        if (!failThumbprint) return ca.thumbprint();
        failThumbprint = false;
        return Promise.reject(new PortError('transient', 'connection reset'));
      },
    });
    const w = new FlowWorld({ challenge: SETUP, zone: genuine.zone, now: genuine.t0, acme, settings: { postChallengeAfterSeconds: DEFAULT_SETTINGS.postChallengeAfterSeconds } });
    const enroller = w.enroller();
    const { enrollment } = await enroller.start({ identityId: 'id1', email: IDENTITY, passphrase: 'repro passphrase', termsAgreed: true });
    await enroller.advance(enrollment.id);
    failThumbprint = true;
    w.now = genuine.t0 + 60_000;
    await w.deliver(enroller, genuine.mail, genuine.mailTime).catch(() => undefined);
    // The same background lives on, ticking on its alarm, for ten minutes.
    await w.elapse(enroller, 10 * 60_000);
    expect(w.reply.sent, 'the challenge is answered within ten minutes').toHaveLength(1);
  });
});
