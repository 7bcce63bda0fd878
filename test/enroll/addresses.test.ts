/**
 * Several addresses in one certificate: one order with an `email` identifier per address, the
 * challenge mails answered one address at a time, each from its own identity, the certificate set
 * on every identity it covers; renewal and revocation act for all of them; an address that never
 * gets its mail ends the enrollment cleanly, with no order left pending at the CA.
 */
import { describe, expect, it } from 'vitest';
import { addressListProblem, authorizationsToRelease } from '../../src/enroll/addresses';
import type { Enroller } from '../../src/enroll/enroller';
import { EnrollRequestError } from '../../src/enroll/errors';
import { POST_AFTER_REPLY_MS } from '../../src/enroll/schedule';
import { KEYS, type Enrollment } from '../../src/enroll/state';
import { DAY, World, challengeMail } from './fakes';

const ALICE = { identityId: 'id1', email: 'alice@example.test' };
const ALIAS = { identityId: 'id2', email: 'alice.alias@example.test' };
const WORK = { identityId: 'id3', email: 'alice@work.test' };
const PASS = 'correct horse battery';

async function stored(world: World, id: string): Promise<Enrollment> {
  return (await world.storage.get([KEYS.enrollment(id)]))[KEYS.enrollment(id)] as Enrollment;
}

async function startTwo(enroller: Enroller, others = [ALIAS]): Promise<Enrollment> {
  const { enrollment } = await enroller.start({ ...ALICE, alsoFor: others, passphrase: PASS, termsAgreed: true });
  return enroller.advance(enrollment.id);
}

/** Runs a two-address enrollment to `installed`, both mails delivered before anything was answered. */
async function installedTwo(world: World, enroller: Enroller): Promise<Enrollment> {
  const e = await startTwo(enroller);
  await world.deliver(enroller, challengeMail(ALIAS.email));
  await world.deliver(enroller, challengeMail(ALICE.email));
  await world.elapse(enroller, 10 * 60_000);
  return stored(world, e.id);
}

describe('several addresses in one certificate', () => {
  it('one order names every address; the CSR too; the first address is worked on first', async () => {
    const world = new World();
    const enroller = world.enroller();
    const e = await startTwo(enroller);
    expect(world.acme.calls.filter((c) => c.startsWith('newOrder'))).toEqual(['newOrder alice@example.test,alice.alias@example.test']);
    expect(world.keys.generated.map((g) => g.emails)).toEqual([[ALICE.email, ALIAS.email]]);
    expect(e.step).toBe('awaiting-mail');
    expect(e.addresses).toEqual([ALICE, ALIAS]);
    expect(e.authorizationUrls).toEqual(['https://ca.test/authz/1', 'https://ca.test/authz/1-2']);
    expect(e.current).toEqual(ALICE);
    expect(e.confirmed).toEqual([]);
    expect(e.tokenPart2).toBe('T2-1');
  });

  it('answers each address from its own identity, one after the other, and installs on both identities', async () => {
    const world = new World();
    const enroller = world.enroller();
    const done = await installedTwo(world, enroller);
    expect(done.step).toBe('installed');
    // The alias's mail came first but was answered only once its address was the current one.
    expect(world.reply.sent.map((r) => [r.identityId, r.expectFrom, r.body.includes('.T2-1.') || r.body.includes('T2-1.THUMB') ? 'T2-1' : r.body.includes('T2-1-2') ? 'T2-1-2' : '?'])).toEqual([
      ['id1', ALICE.email, 'T2-1'],
      ['id2', ALIAS.email, 'T2-1-2'],
    ]);
    // Reply first, then POST, for each authorization; one finalize for the order.
    expect(world.acme.posted).toBe(2);
    expect(world.acme.finalized).toBe(1);
    expect(world.acme.finalizedCsrs).toEqual([`CSR:${ALICE.email},${ALIAS.email}:KEY1-${ALICE.email}`]);
    expect(done.confirmed?.map((c) => [c.email, c.authorizationUrl, c.answeredMail !== undefined])).toEqual([
      [ALICE.email, 'https://ca.test/authz/1', true],
      [ALIAS.email, 'https://ca.test/authz/1-2', true],
    ]);
    // One import, set on both identities.
    expect(world.certStore.imported).toHaveLength(1);
    expect(world.certStore.identities.get('id1')?.dbKey).toBe(`DBKEY-${ALICE.email}`);
    expect(world.certStore.identities.get('id2')?.dbKey).toBe(`DBKEY-${ALICE.email}`);
    const owner = await enroller.certificate('id1');
    const covered = await enroller.certificate('id2');
    expect(owner?.identities).toEqual([ALICE, ALIAS]);
    expect(owner?.coveredBy).toBeUndefined();
    expect(covered?.coveredBy).toBe('id1');
    expect(covered?.email).toBe(ALIAS.email);
    expect(covered?.sha256Fingerprint).toBe(owner?.sha256Fingerprint);
    // NSS's verdict is one for the certificate: the alias gets the same send defaults.
    expect(covered?.sendDefaults).toEqual(owner?.sendDefaults);
    const defaultsOf = (id: string): [boolean, boolean][] => world.certStore.sendDefaults.filter(([who]) => who === id).map(([, sign, encrypt]) => [sign, encrypt]);
    expect(defaultsOf('id1')).toHaveLength(1);
    expect(defaultsOf('id2')).toEqual(defaultsOf('id1'));
    expect(world.notices.map((n) => n.kind)).toEqual(['installed']);
  });

  it('never answers the first address\'s mail again when the flow moves on to the second', async () => {
    const world = new World();
    const enroller = world.enroller();
    const e = await startTwo(enroller);
    const first = challengeMail(ALICE.email);
    await world.deliver(enroller, first);
    await world.elapse(enroller, POST_AFTER_REPLY_MS + 5_000);
    const moved = await stored(world, e.id);
    expect(moved.current).toEqual(ALIAS);
    expect(moved.earlierAnswers).toEqual([first.headerMessageId]);
    // The same mail seen again (a rescan, a copy): not answered a second time.
    await enroller.onNewMail([{ ...first, date: world.now }]);
    expect(world.reply.sent).toHaveLength(1);
  });

  it('a mail for another address of the order is not refused: it waits for its turn', async () => {
    const world = new World();
    const enroller = world.enroller();
    const e = await startTwo(enroller);
    await world.deliver(enroller, challengeMail(ALIAS.email));
    const waiting = await stored(world, e.id);
    expect(world.reply.sent).toHaveLength(0);
    expect(waiting.refusals).toEqual([]);
    expect(waiting.current).toEqual(ALICE);
  });

  it('an address whose mail never comes: failed, naming it, and the pending authorization deactivated', async () => {
    const world = new World();
    const enroller = world.enroller();
    const e = await startTwo(enroller);
    await world.deliver(enroller, challengeMail(ALICE.email));
    // The CA reports pending until a reply came for the alias.
    world.acme.authzAfterPost = ['valid', 'pending'];
    await world.elapse(enroller, (world.settings.validationTimeoutMinutes + 5) * 60_000);
    const failed = await stored(world, e.id);
    expect(failed.step).toBe('failed');
    expect(failed.error?.code).toBe('timeout');
    expect(failed.current).toEqual(ALIAS);
    expect(failed.error?.message).toContain(ALIAS.email);
    // Alice's authorization is valid and kept; the alias's is deactivated, so the order cannot linger.
    expect(world.acme.deactivated).toEqual(['https://ca.test/authz/1-2']);
    expect(failed.encryptedKey).toBeUndefined();
    expect(world.certStore.identities.size).toBe(0);
  });

  it('a cancelled enrollment deactivates every authorization not yet proven', async () => {
    const world = new World();
    const enroller = world.enroller();
    const e = await startTwo(enroller, [ALIAS, WORK]);
    await enroller.cancel(e.id);
    expect(world.acme.deactivated).toEqual(['https://ca.test/authz/1', 'https://ca.test/authz/1-2', 'https://ca.test/authz/1-3']);
    expect((await stored(world, e.id)).step).toBe('cancelled');
  });

  it('no identity can be in two running enrollments, and an address cannot be listed twice', async () => {
    const world = new World();
    const enroller = world.enroller();
    await startTwo(enroller);
    // The alias is covered by the running enrollment, even though it is not its owner.
    await expect(enroller.start({ ...ALIAS, passphrase: PASS, termsAgreed: true })).rejects.toMatchObject({ code: 'busy' });
    const other = new World().enroller();
    const twice = other.start({ ...ALICE, alsoFor: [{ identityId: 'id9', email: 'ALICE@example.test' }], passphrase: PASS, termsAgreed: true });
    await expect(twice).rejects.toBeInstanceOf(EnrollRequestError);
    await expect(twice).rejects.toMatchObject({ code: 'badAddresses' });
    expect(addressListProblem([ALICE, { identityId: 'id1', email: 'other@example.test' }])).toMatch(/identity/);
    expect(addressListProblem([ALICE, { identityId: 'id2', email: 'not an address' }])).toMatch(/not a mail address/);
    expect(addressListProblem([ALICE, ALIAS, WORK])).toBeUndefined();
  });

  it('two requests at once that share an identity: exactly one starts, the other is busy', async () => {
    const world = new World();
    const enroller = world.enroller();
    const outcomes = await Promise.allSettled([
      enroller.start({ ...ALICE, alsoFor: [ALIAS], passphrase: PASS, termsAgreed: true }),
      enroller.start({ ...ALIAS, alsoFor: [WORK], passphrase: PASS, termsAgreed: true }),
    ]);
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    const refused: unknown[] = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason as unknown] : []));
    expect(refused).toMatchObject([{ code: 'busy' }]);
    expect(await enroller.list()).toHaveLength(1);
  });

  it('renewal, asked on either identity, is one order for every address, with replaces; only the owner\'s record is watched', async () => {
    const world = new World();
    world.acme.ari = { start: 0, end: 0 };
    const enroller = world.enroller();
    await installedTwo(world, enroller);
    const started = await enroller.renew('id2', PASS, true);
    expect(started.enrollment.identityId).toBe('id1');
    expect(started.enrollment.addresses).toEqual([ALICE, ALIAS]);
    expect(started.enrollment.replaces).toBe('AKI.SERIAL');
    // Unattended: the covered record never starts a renewal of its own.
    const world2 = new World();
    const enroller2 = world2.enroller();
    await installedTwo(world2, enroller2);
    world2.now += 80 * DAY;
    await enroller2.checkRenewals();
    const renewals = (await enroller2.list()).filter((e) => e.renewal === 'auto');
    expect(renewals.map((e) => [e.identityId, e.addresses?.map((a) => a.email)])).toEqual([['id1', [ALICE.email, ALIAS.email]]]);
  });

  it('revocation from either identity revokes the one certificate and unsets it on both', async () => {
    const world = new World();
    const enroller = world.enroller();
    await installedTwo(world, enroller);
    await enroller.revoke('id2', 1);
    expect(world.acme.revoked).toHaveLength(1);
    expect((await enroller.certificate('id1'))?.revoked?.reason).toBe(1);
    expect((await enroller.certificate('id2'))?.revoked?.reason).toBe(1);
    expect(world.certStore.identities.size).toBe(0);
  });

  it('releases nothing once the order is past its authorizations', () => {
    const base = { step: 'finalizing', orderUrl: 'o', authorizationUrl: 'a' } as unknown as Enrollment;
    expect(authorizationsToRelease(base)).toEqual([]);
    expect(authorizationsToRelease({ ...base, step: 'awaiting-mail' })).toEqual(['a']);
  });
});
