/**
 * The one-click flow in a real Thunderbird against every sandbox personality — each a bundle of
 * the ways RFC 8823 CAs in the field differ (token-part1's encoding, the token join, when the
 * challenge mail goes out, what makes the CA validate; sandbox/personalities.ts) — unattended,
 * each ending with a certificate installed.
 *
 * One world for all: one sandbox whose knobs are switched to the personality before each
 * enrollment, and one Thunderbird with an account per personality (`<personality>@example.test`),
 * so every enrollment is a fresh address. The add-on remembers the join a CA accepted per
 * directory URL; since every personality is served at the same URL here, that memory is cleared
 * before each enrollment: each personality is a CA the add-on meets for the first time.
 *
 * Prints `personality <name>: <step> orders=<n> ms=<click to installed>` per personality
 * (docs/ACME.md, "CAs in the field: sandbox personalities").
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PERSONALITIES, PERSONALITY_NAMES, type CreatedOrder, type PersonalityName, type ReceivedReply, type SentChallenge } from '../../sandbox/index';
import { addMailAccount } from '../../scripts/harness/accounts';
import { certificates, repliesFrom, startInPopup, waitForEnrollment } from '../../scripts/harness/drive';
import { IDENTITY_KEY } from '../../scripts/harness/thunderbird';
import { sandboxSettings, startWorld, type World } from '../../scripts/harness/world';
import { joinKey } from '../../src/enroll/joins';
import type { Enrollment } from '../../src/enroll/state';

const addressOf = (name: PersonalityName): string => `${name}@example.test`;

let world: World | undefined;
/** Identity id per address (the world's own account, then the added ones). */
const identities = new Map<string, string>();

beforeAll(async () => {
  const users = PERSONALITY_NAMES.map((name) => ({ email: addressOf(name), password: randomBytes(9).toString('base64url') }));
  world = await startWorld({ sandbox: { users } });
  identities.set(world.user.email, IDENTITY_KEY);
  for (const user of world.sandbox.users.slice(1)) {
    const added = await addMailAccount(world.tb, world.sandbox, user);
    identities.set(user.email, added.identityId);
  }
}, 240_000);

afterAll(async () => {
  await world?.dispose();
});

function w(): World {
  if (!world) throw new Error('the world did not start');
  return world;
}

interface Outcome {
  readonly email: string;
  readonly done: Enrollment;
  /** The orders the CA created for this address, oldest first. */
  readonly orders: readonly CreatedOrder[];
  readonly challenges: readonly SentChallenge[];
  readonly replies: readonly ReceivedReply[];
  /** From the enrollment's first history entry (the click on Start) to `installed`. */
  readonly ms: number;
}

/** Switches the sandbox to `name`, clicks through the popup for its address and waits for the end. */
async function enrollAgainst(name: PersonalityName): Promise<Outcome> {
  const { sandbox, tb } = w();
  const email = addressOf(name);
  const { challengeTiming, tokenJoin, tokenEncoding, validation } = PERSONALITIES[name];
  sandbox.configure({ challengeTiming, tokenJoin, tokenEncoding, validation });
  expect(sandbox.knobs()).toEqual({ challengeTiming, tokenJoin, tokenEncoding, validation });
  await tb.removeAddonStorage([joinKey(sandbox.directoryUrl)]);
  await tb.closePopup();
  await startInPopup(tb, { email, passphrase: `${name} passphrase` });
  const done = await waitForEnrollment(tb, email, undefined, 150_000);
  const installed = done.history.find((h) => h.step === 'installed');
  const ms = installed ? installed.at - done.history[0]!.at : Number.NaN;
  const orders = sandbox.orders().filter((o) => o.identifiers.includes(email));
  console.log(`personality ${name}: ${done.step} orders=${orders.length} ms=${ms}`);
  return {
    email, done, orders, ms,
    challenges: sandbox.challengesSent().filter((c) => c.identifier === email),
    replies: repliesFrom(sandbox, email),
  };
}

/** Ended installed, without an error, and the add-on holds the certificate for the address's identity. */
async function expectInstalled(o: Outcome): Promise<void> {
  expect(o.done.error).toBeUndefined();
  expect(o.done.step).toBe('installed');
  expect(o.done.identityId).toBe(identities.get(o.email));
  const record = (await certificates(w().tb)).find((c) => c.identityId === o.done.identityId);
  expect(record?.emails).toEqual([o.email]);
  expect(record?.enrollmentId).toBe(o.done.id);
  expect(o.ms).toBeGreaterThan(0);
}

/** One order, one challenge mail, one reply — DKIM-signed, answering that mail, accepted — joined as strings. */
function expectOneOrderStringJoin(o: Outcome): void {
  expect(o.orders.map((order) => order.status)).toEqual(['valid']);
  expect(o.challenges).toHaveLength(1);
  expect(o.replies).toHaveLength(1);
  expect(o.replies[0]!.dkim).toBe('pass');
  expect(o.replies[0]!.inReplyTo).toBe(o.challenges[0]!.messageId);
  expect(o.replies[0]!.verdict, o.replies[0]!.detail).toBe('valid');
  expect(o.done.tokenJoin).toBe('string');
  expect(o.done.joinRetriedFrom).toBeUndefined();
}

describe('the one-click flow against every sandbox personality, in one Thunderbird', () => {
  it('covers every personality the sandbox has', () => {
    expect([...PERSONALITY_NAMES].sort()).toEqual(['bytes-join', 'default', 'mail-after-post', 'rfc-example', 'validate-on-post']);
  });

  it('installs against the default CA (string join, mail at the first authorization read) with one order', async () => {
    const o = await enrollAgainst('default');
    await expectInstalled(o);
    expectOneOrderStringJoin(o);
  }, 180_000);

  it('installs against a CA whose token-part1 is padded standard base64 as in RFC 8823\'s example, with one order', async () => {
    const o = await enrollAgainst('rfc-example');
    await expectInstalled(o);
    expectOneOrderStringJoin(o);
    // The CA really wrote it with padding (and accepted the string join of it as written).
    expect(o.challenges[0]!.tokenPart1).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    expect(o.challenges[0]!.subject).toBe(`ACME: ${o.challenges[0]!.tokenPart1}`);
  }, 180_000);

  it('installs against a CA that sends the challenge mail only after the challenge POST, with one order', async () => {
    const o = await enrollAgainst('mail-after-post');
    await expectInstalled(o);
    expectOneOrderStringJoin(o);
    // No mail came until the add-on had waited its configured time and POSTed.
    expect(o.done.challengePosted).toBe(true);
    const waitSeconds = sandboxSettings(w().sandbox)['postChallengeAfterSeconds'] as number;
    expect(o.challenges[0]!.at.getTime()).toBeGreaterThanOrEqual((o.done.waitingSince ?? Number.POSITIVE_INFINITY) + waitSeconds * 1000);
  }, 180_000);

  it('installs against a CA that validates only when the challenge is POSTed (5 checks 0.5 s apart), with one order', async () => {
    const o = await enrollAgainst('validate-on-post');
    await expectInstalled(o);
    expectOneOrderStringJoin(o);
    // The reply was at the CA when the POST's checks ran: it went out before the POST.
    const replied = o.done.history.find((h) => h.step === 'replied');
    const validating = o.done.history.find((h) => h.step === 'validating');
    expect(replied).toBeDefined();
    expect(validating).toBeDefined();
    expect(replied!.at).toBeLessThan(validating!.at);
    expect(o.replies[0]!.at.getTime()).toBeLessThanOrEqual(validating!.at);
  }, 180_000);

  it('installs against a CA that joins the token halves as bytes after exactly one extra order, and remembers the join for that CA', async () => {
    const o = await enrollAgainst('bytes-join');
    await expectInstalled(o);
    // Two orders: the first lost on the string join, the second won with the bytes join.
    expect(o.orders.map((order) => order.status)).toEqual(['invalid', 'valid']);
    expect(o.challenges).toHaveLength(2);
    expect(o.challenges[0]!.authzUrl).not.toBe(o.challenges[1]!.authzUrl);
    expect(o.replies).toHaveLength(2);
    expect(o.replies[0]!.inReplyTo).toBe(o.challenges[0]!.messageId);
    expect(o.replies[0]!.verdict).toBe('invalid');
    expect(o.replies[0]!.detail).toMatch(/other reading/);
    expect(o.replies[1]!.inReplyTo).toBe(o.challenges[1]!.messageId);
    expect(o.replies[1]!.verdict, o.replies[1]!.detail).toBe('valid');
    expect(o.replies.every((r) => r.dkim === 'pass')).toBe(true);
    // The enrollment says what it did, and the add-on keeps the join for this directory URL.
    expect(o.done.joinRetriedFrom?.join).toBe('string');
    expect(o.done.tokenJoin).toBe('bytes');
    expect(o.done.joinUsed).toBe('bytes');
    expect(o.done.history.filter((h) => h.step === 'ordered')).toHaveLength(2);
    const storage = await w().tb.getAddonStorage();
    expect(storage[joinKey(w().sandbox.directoryUrl)]).toMatchObject({ join: 'bytes' });
  }, 240_000);
});
