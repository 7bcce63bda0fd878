/**
 * Sandbox personalities (sandbox/personalities.ts): each one started with
 * `startSandbox({ personality })` behaves as docs/SANDBOX.md says, seen from the independent test
 * client, the mailbox over IMAP and the CA's own records.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ON_POST_INTERVAL_MS, ON_POST_TRIES, PERSONALITIES, PERSONALITY_NAMES, startSandbox, type PersonalityName, type Sandbox, type SandboxUser } from '../../sandbox/index';
import { responseValue } from './acme-test-client';
import { answer, challengeOf, mailFor, order, type Prepared } from './flow';
import { armour, challengeMails, sendReply } from './mailbox';

let sandbox: Sandbox | undefined;

afterEach(async () => {
  await sandbox?.stop();
  sandbox = undefined;
});

async function start(personality: PersonalityName): Promise<{ sandbox: Sandbox; alice: SandboxUser }> {
  sandbox = await startSandbox({ personality });
  return { sandbox, alice: sandbox.users[0]! };
}

const acmeError = (name: string): string => `urn:ietf:params:acme:error:${name}`;

/** Replies with `join` to the challenge mail of `p`, without POSTing. */
async function reply(s: Sandbox, user: SandboxUser, p: Prepared, join: 'string' | 'bytes', tokenPart1?: string): Promise<void> {
  const { mail, tokenPart1: fromSubject } = await mailFor(s, user, p.authzUrl);
  await sendReply(s, user, mail, armour(responseValue(tokenPart1 ?? fromSubject, p.challenge.token, p.client.thumbprint, join)));
}

describe('sandbox personalities', () => {
  it('are the five documented bundles, and an explicit knob wins over the personality', async () => {
    expect(PERSONALITY_NAMES).toEqual(['default', 'rfc-example', 'bytes-join', 'mail-after-post', 'validate-on-post']);
    const s = await startSandbox({ personality: 'bytes-join', challengeTiming: 'after-post' });
    sandbox = s;
    expect(s.personality).toBe('bytes-join');
    expect(s.knobs()).toEqual({ challengeTiming: 'after-post', tokenJoin: 'bytes', tokenEncoding: 'base64url', validation: 'on-reply' });
  });

  it('default: unpadded base64url token-part1 of 128 bits, string join, mail at the first authorization fetch', async () => {
    const { sandbox: s, alice } = await start('default');
    const { challengeTiming, tokenJoin, tokenEncoding, validation } = PERSONALITIES.default;
    expect(s.knobs()).toEqual({ challengeTiming, tokenJoin, tokenEncoding, validation });
    const p = await order(s, alice);
    const { tokenPart1 } = await mailFor(s, alice, p.authzUrl);
    expect(tokenPart1).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect((await answer(s, alice, p, 'string'))['status']).toBe('valid');
  });

  it('rfc-example: padded standard base64 token-part1 in the Subject, used verbatim in a string join; stripping the "=" is refused', async () => {
    const { sandbox: s, alice } = await start('rfc-example');
    expect(s.knobs()).toMatchObject({ tokenEncoding: 'base64-padded', tokenJoin: 'string' });
    const p = await order(s, alice);
    const { mail, tokenPart1 } = await mailFor(s, alice, p.authzUrl);
    // 32 bytes in standard base64: 44 characters, the last one "=", as in RFC 8823 §3.1's example.
    expect(mail.subject).toMatch(/^ACME: [A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(tokenPart1, 'base64')).toHaveLength(32);
    expect((await answer(s, alice, p, 'string'))['status']).toBe('valid');

    const stripped = await order(s, alice);
    const padded = (await mailFor(s, alice, stripped.authzUrl)).tokenPart1;
    await reply(s, alice, stripped, 'string', padded.replace(/=+$/, ''));
    await stripped.client.post(stripped.challenge.url, {});
    const refused = await stripped.client.pollUntil(stripped.authzUrl, (a) => a['status'] !== 'pending');
    expect(refused['status']).toBe('invalid');
    expect(challengeOf(refused).error?.type).toBe(acmeError('incorrectResponse'));
  });

  it('bytes-join: accepts the answer over the decoded bytes, refuses the string-join answer and names the other reading', async () => {
    const { sandbox: s, alice } = await start('bytes-join');
    const bytes = await order(s, alice);
    expect((await answer(s, alice, bytes, 'bytes'))['status']).toBe('valid');

    const string = await order(s, alice);
    const refused = await answer(s, alice, string, 'string');
    expect(refused['status']).toBe('invalid');
    expect(challengeOf(refused).error).toMatchObject({ type: acmeError('incorrectResponse'), detail: expect.stringMatching(/other reading.*joins them as bytes/) as unknown });
  });

  it('mail-after-post: no challenge mail for a created and fetched authorization until the client POSTs, then the mail and a reply make it valid', async () => {
    const { sandbox: s, alice } = await start('mail-after-post');
    const p = await order(s, alice);
    await p.client.get(p.authzUrl); // fetched twice: still nothing
    expect(s.challengesSent()).toEqual([]);
    expect(await challengeMails(s, alice)).toEqual([]);

    const posted = await p.client.post(p.challenge.url, {});
    expect([posted.status, posted.json?.['status']]).toEqual([200, 'processing']);
    // The mail is in the mailbox before the POST's answer leaves.
    expect(await challengeMails(s, alice)).toHaveLength(1);
    await reply(s, alice, p, 'string');
    const authz = await p.client.pollUntil(p.authzUrl, (a) => a['status'] !== 'pending');
    expect(authz['status']).toBe('valid');
  });

  describe('validate-on-post', () => {
    it(`judges a reply that came before the POST and answers the POST with the verdict`, async () => {
      const { sandbox: s, alice } = await start('validate-on-post');
      expect(s.knobs()).toMatchObject({ validation: 'on-post', challengeTiming: 'on-fetch' });
      const p = await order(s, alice);
      await reply(s, alice, p, 'string');
      expect(s.repliesReceived().at(-1)).toMatchObject({ verdict: 'pending' });
      const posted = await p.client.post(p.challenge.url, {});
      expect([posted.status, posted.json?.['status']]).toEqual([200, 'valid']);
    });

    it(`accepts a reply that arrives while the POST's ${ON_POST_TRIES} checks are running`, async () => {
      const { sandbox: s, alice } = await start('validate-on-post');
      const p = await order(s, alice);
      const posting = p.client.post(p.challenge.url, {});
      // The POST's answer waits for the checks; meanwhile the authorization shows them running.
      await p.client.pollUntil(p.authzUrl, (a) => challengeOf(a).status === 'processing');
      await reply(s, alice, p, 'string');
      const posted = await posting;
      expect([posted.status, posted.json?.['status']], posted.text).toEqual([200, 'valid']);
    });

    it(`gives up after ${ON_POST_TRIES} checks ${ON_POST_INTERVAL_MS / 1000} s apart and loses a reply that arrives later`, async () => {
      const { sandbox: s, alice } = await start('validate-on-post');
      const p = await order(s, alice);
      const posted = await p.client.post(p.challenge.url, {});
      expect([posted.status, posted.json?.['status']]).toEqual([200, 'invalid']);
      expect(posted.json?.['error']).toMatchObject({ type: acmeError('incorrectResponse'), detail: expect.stringMatching(/no reply had arrived after 5 checks 0\.5 s apart/) as unknown });

      await reply(s, alice, p, 'string');
      expect(s.repliesReceived().at(-1)).toMatchObject({ verdict: 'invalid', detail: 'challenge was already invalid' });
      const authz = await p.client.get(p.authzUrl);
      expect(authz.json?.['status']).toBe('invalid');
    });
  });
});
