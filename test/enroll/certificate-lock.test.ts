/**
 * Regression: a lost update of the certificate record. The daily renewal check read the record,
 * waited for the CA's renewal window, and wrote back what it had read: a revocation made while it
 * waited was overwritten, and the revoked certificate looked valid again. Every write of a
 * certificate record now happens under that identity's certificate lock.
 */
import { describe, expect, it } from 'vitest';
import type { Enroller } from '../../src/enroll/enroller';
import type { RenewalWindow } from '../../src/enroll/ports';
import { DAY, World, challengeMail } from './fakes';

const ALICE = { identityId: 'id1', email: 'alice@example.test' };
const PASS = 'correct horse battery';

async function installed(world: World): Promise<Enroller> {
  const enroller = world.enroller();
  const { enrollment } = await enroller.start({ ...ALICE, passphrase: PASS, termsAgreed: true });
  await enroller.advance(enrollment.id);
  await world.deliver(enroller, challengeMail(ALICE.email));
  await world.elapse(enroller, 60_000);
  return enroller;
}

/** A promise the test releases by hand, to hold a port call open while another request runs. */
function gate<T>(): { promise: Promise<T>; release: (value: T) => void } {
  let release!: (value: T) => void;
  const promise = new Promise<T>((resolve) => (release = resolve));
  return { promise, release };
}

/** Lets every pending promise callback run (the fakes answer in microtasks). */
async function settle(): Promise<void> {
  for (let i = 0; i < 50; i++) await Promise.resolve();
}

describe('certificates: no lost update of the certificate record', () => {
  it('a revocation made while the renewal check waits for the CA stays revoked', async () => {
    const world = new World();
    const enroller = await installed(world);
    expect((await enroller.certificate('id1'))?.revoked).toBeUndefined();

    const window = gate<RenewalWindow | undefined>();
    world.acme.renewalInfo = () => window.promise;
    const checking = enroller.checkRenewals();
    await settle();
    const revoking = enroller.revoke('id1', 1);
    await settle();
    window.release({ start: 10 * DAY, end: 20 * DAY });
    await Promise.all([checking, revoking]);

    const record = await enroller.certificate('id1');
    expect(record?.revoked).toEqual({ at: world.now, reason: 1 });
    expect(world.acme.revoked).toHaveLength(1);
  });

  it('a revoked certificate is neither refreshed nor announced as due by a check that started before', async () => {
    const world = new World();
    const enroller = await installed(world);
    world.now = 61 * DAY;
    const revokeCall = gate<undefined>();
    const revokeAcme = world.acme.revoke.bind(world.acme);
    world.acme.revoke = async (d, der, reason) => {
      await revokeCall.promise;
      return revokeAcme(d, der, reason);
    };
    const revoking = enroller.revoke('id1', 4);
    await settle();
    const checking = enroller.checkRenewals();
    await settle();
    revokeCall.release(undefined);
    await Promise.all([revoking, checking]);

    const record = await enroller.certificate('id1');
    expect(record?.revoked).toEqual({ at: world.now, reason: 4 });
    expect(record?.renewalNotified).toBeUndefined();
    expect(world.notices.filter((n) => n.kind === 'renewalDue')).toHaveLength(0);
  });

  it('two requests to start for one identity at once: one enrollment, the other is refused as busy', async () => {
    const world = new World();
    const enroller = world.enroller();
    const results = await Promise.allSettled([
      enroller.start({ ...ALICE, passphrase: PASS, termsAgreed: true }),
      enroller.start({ ...ALICE, passphrase: PASS, termsAgreed: true }),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(results.find((r) => r.status === 'rejected')).toMatchObject({ reason: { code: 'busy' } });
    expect(await enroller.list()).toHaveLength(1);
  });
});
