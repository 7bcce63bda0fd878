/**
 * The token join found automatically (src/enroll/joins.ts): a CA that reads the other join gets
 * exactly one more order, the join that worked is remembered per CA, a join set in the options
 * wins, and the first order's challenge mail is never answered again.
 */
import { describe, expect, it } from 'vitest';
import { Enroller } from '../../src/enroll/enroller';
import { joinKey } from '../../src/enroll/joins';
import type { AuthorizationInfo, MailCheckAnswer, MailCheckPort, TokenJoin } from '../../src/enroll/ports';
import { POST_AFTER_REPLY_MS } from '../../src/enroll/schedule';
import { KEYS, type Enrollment } from '../../src/enroll/state';
import { DIRECTORY, FakeAcme, World, challengeMail } from './fakes';

const ALICE = { identityId: 'id1', email: 'alice@example.test' };
const BOB = { identityId: 'id2', email: 'bob@example.test' };

/** A CA that validates a reply only when it was made with the join it reads. */
class JoinReadingCa extends FakeAcme {
  private readonly postedChallenges = new Set<string>();
  constructor(private readonly world: World, private readonly reads: TokenJoin | 'none') {
    super();
  }
  override respondToChallenge(_d?: string, url?: string): Promise<void> {
    if (url !== undefined) this.postedChallenges.add(url);
    return super.respondToChallenge();
  }
  override async getAuthorization(d: string, url: string): Promise<AuthorizationInfo> {
    const base = await super.getAuthorization(d, url);
    const n = url.split('/').pop()!;
    const challengeUrl = `https://ca.test/chall/${n}`;
    const answered = new Set(this.world.reply.sent.map((r) => r.mail.headerMessageId));
    const reply = this.world.mailCheck.checked.filter((c) => c.expectation.tokenPart2 === `T2-${n}` && answered.has(c.id)).at(-1);
    const status: AuthorizationInfo['status'] = !this.postedChallenges.has(challengeUrl) ? 'pending' : reply?.expectation.tokenJoin === this.reads ? 'valid' : 'invalid';
    const error = status === 'invalid' ? { type: 'urn:ietf:params:acme:error:incorrectResponse', detail: 'the response does not match' } : undefined;
    return { ...base, status, challenge: { url: challengeUrl, status: status === 'invalid' ? 'invalid' : 'pending', token: `T2-${n}`, from: base.challenge!.from, ...(error ? { error } : {}) } };
  }
}

/** The fake check, answering as if both joins gave the same response. */
function agreeing(inner: MailCheckPort): MailCheckPort {
  return {
    addressedTo: (raw) => inner.addressedTo(raw),
    respond: (...args) => inner.respond(...args),
    check: async (raw, expectation) => {
      const outcome = await inner.check(raw, expectation);
      return outcome.verdict === 'answer' ? ({ ...outcome, joinsAgree: true } satisfies MailCheckAnswer) : outcome;
    },
  };
}

async function stored(world: World, id: string): Promise<Enrollment> {
  return (await world.storage.get([KEYS.enrollment(id)]))[KEYS.enrollment(id)] as Enrollment;
}

/** Start, answer every challenge mail that comes, let the CA decide; return the end state. */
async function enroll(world: World, enroller: Enroller, who = ALICE): Promise<Enrollment> {
  const { enrollment } = await enroller.start({ ...who, passphrase: 'correct horse battery', termsAgreed: true });
  await enroller.advance(enrollment.id);
  for (let round = 0; round < 3; round++) {
    const e = await stored(world, enrollment.id);
    if (e.step !== 'awaiting-mail') break;
    await world.deliver(enroller, challengeMail(who.email));
    await world.elapse(enroller, POST_AFTER_REPLY_MS + 30_000);
  }
  return stored(world, enrollment.id);
}

function setup(reads: TokenJoin | 'none', options: { tokenJoin?: 'auto' | TokenJoin; agree?: boolean } = {}) {
  const world = new World();
  if (options.tokenJoin !== undefined) world.settings = { ...world.settings, tokenJoin: options.tokenJoin };
  const ca = new JoinReadingCa(world, reads);
  const deps = { ...world.deps(), acme: ca, ...(options.agree === true ? { mailCheck: agreeing(world.mailCheck) } : {}) };
  return { world, ca, enroller: new Enroller(deps) };
}

const orders = (ca: FakeAcme): number => ca.calls.filter((c) => c.startsWith('newOrder')).length;

describe('token join found automatically', () => {
  it('a bytes-join CA ends installed after exactly one extra order, and the join is remembered for it', async () => {
    const { world, ca, enroller } = setup('bytes');
    const done = await enroll(world, enroller);
    expect(done.step).toBe('installed');
    expect(orders(ca)).toBe(2);
    expect(world.reply.sent).toHaveLength(2);
    expect(done).toMatchObject({ tokenJoin: 'bytes', joinUsed: 'bytes', joinChoice: 'default', joinRetriedFrom: { join: 'string' } });
    expect(done.joinRetriedFrom?.problem?.type).toBe('urn:ietf:params:acme:error:incorrectResponse');
    expect(done.history.map((h) => h.step)).toContain('account');
    expect((await world.storage.get([joinKey(DIRECTORY)]))[joinKey(DIRECTORY)]).toMatchObject({ join: 'bytes' });

    // The next enrollment with this CA starts with the join it reads: one order, one reply.
    const again = await enroll(world, enroller, BOB);
    expect(again).toMatchObject({ step: 'installed', tokenJoin: 'bytes', joinChoice: 'learned' });
    expect(orders(ca)).toBe(3);
    expect(world.reply.sent).toHaveLength(3);
  });

  it('a string-join CA needs no second order, and its join is remembered too', async () => {
    const { world, ca, enroller } = setup('string');
    expect((await enroll(world, enroller)).step).toBe('installed');
    expect(orders(ca)).toBe(1);
    expect((await world.storage.get([joinKey(DIRECTORY)]))[joinKey(DIRECTORY)]).toMatchObject({ join: 'string' });
  });

  it('tries the other join never more than once per enrollment', async () => {
    const { world, ca, enroller } = setup('none');
    const done = await enroll(world, enroller);
    expect(done.step).toBe('failed');
    expect(done.error?.code).toBe('challengeInvalid');
    expect(orders(ca)).toBe(2);
    expect(world.reply.sent).toHaveLength(2);
    expect((await world.storage.get([joinKey(DIRECTORY)]))[joinKey(DIRECTORY)]).toBeUndefined();
  });

  it('a join set in the options (or by policy) wins: no second order, nothing learned', async () => {
    const { world, ca, enroller } = setup('bytes', { tokenJoin: 'string' });
    const done = await enroll(world, enroller);
    expect(done).toMatchObject({ step: 'failed', joinChoice: 'setting' });
    expect(orders(ca)).toBe(1);
    expect((await world.storage.get([joinKey(DIRECTORY)]))[joinKey(DIRECTORY)]).toBeUndefined();
  });

  it('when both joins give the same response, a refusal is not blamed on the join', async () => {
    const { world, ca, enroller } = setup('none', { agree: true });
    expect((await enroll(world, enroller)).step).toBe('failed');
    expect(orders(ca)).toBe(1);
  });

  it("never answers the first order's challenge mail again", async () => {
    const { world, enroller } = setup('bytes');
    const { enrollment } = await enroller.start({ ...ALICE, passphrase: 'correct horse battery', termsAgreed: true });
    await enroller.advance(enrollment.id);
    const first = challengeMail(ALICE.email);
    await world.deliver(enroller, first);
    await world.elapse(enroller, POST_AFTER_REPLY_MS + 30_000);
    expect((await stored(world, enrollment.id)).step).toBe('awaiting-mail');
    expect((await stored(world, enrollment.id)).earlierAnswers).toEqual([first.headerMessageId]);
    // The same mail seen again (a folder rescan, a restart): not an answer for the new order.
    await enroller.onNewMail([first]);
    await world.elapse(enroller, 5_000);
    expect(world.reply.sent).toHaveLength(1);
  });
});
