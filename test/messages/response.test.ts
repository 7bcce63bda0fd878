import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { recognizeChallenge } from '../../src/messages/challenge';
import { buildResponse, joinsAgree, joinToken, keyAuthorization, responseValue, TokenJoinError } from '../../src/messages/response';
import { parseMessage } from '../../src/messages/rfc5322';
import { challengeMail, crypto, THUMBPRINT, TOKEN1, TOKEN2 } from './support';

/** An independent computation with Node's own hash and base64url. */
const expectedValue = (keyAuth: string): string => createHash('sha256').update(keyAuth).digest('base64url');

describe('RFC 8823 §3.2 response', () => {
  it('joins the token halves as strings by default', async () => {
    const keyAuth = keyAuthorization(TOKEN1, TOKEN2, THUMBPRINT);
    expect(keyAuth).toBe(`${TOKEN1}${TOKEN2}.${THUMBPRINT}`);
    const value = await responseValue(keyAuth, crypto);
    expect(value).toBe(expectedValue(keyAuth));
    expect(value).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('joins the decoded bytes when asked (CASTLE, acmez)', () => {
    const joined = Buffer.concat([Buffer.from(TOKEN1, 'base64url'), Buffer.from(TOKEN2, 'base64url')]).toString('base64url');
    expect(joinToken(TOKEN1, TOKEN2, 'bytes')).toBe(joined);
    // TOKEN1 is 43 characters (32 bytes + 2 padding bits): the readings differ.
    expect(joinToken(TOKEN1, TOKEN2, 'bytes')).not.toBe(TOKEN1 + TOKEN2);
    expect(joinsAgree(TOKEN1, TOKEN2)).toBe(false);
    // A 24-byte token-part1 is 32 characters with no spare bits: both readings agree.
    const aligned = Buffer.alloc(24, 7).toString('base64url');
    expect(joinsAgree(aligned, TOKEN2)).toBe(true);
    expect(() => joinToken('a', TOKEN2, 'bytes')).toThrowError(TokenJoinError);
  });

  it('builds the reply: Reply-To before From, Re: subject, threading, armoured body only', async () => {
    const r = recognizeChallenge(parseMessage(challengeMail({ extraHeaders: ['Reply-To: ACME replies <replies@ca.example>', 'References: <older@ca.example>'] })));
    if (!r.ok) throw new Error('fixture is not a challenge');
    const reply = await buildResponse(r.mail, { tokenPart2: TOKEN2, thumbprint: THUMBPRINT }, crypto);
    expect(reply.to).toBe('replies@ca.example');
    expect(reply.subject).toBe(`Re: ACME: ${TOKEN1}`);
    expect(reply.inReplyTo).toBe('<challenge-1@ca.example>');
    expect(reply.references).toEqual(['<older@ca.example>', '<challenge-1@ca.example>']);
    const value = expectedValue(`${TOKEN1}${TOKEN2}.${THUMBPRINT}`);
    expect(reply.body).toBe(`-----BEGIN ACME RESPONSE-----\n${value}\n-----END ACME RESPONSE-----\n`);
    expect(reply.join).toBe('string');

    const noReplyTo = recognizeChallenge(parseMessage(challengeMail()));
    if (!noReplyTo.ok) throw new Error('fixture is not a challenge');
    const bytesReply = await buildResponse(noReplyTo.mail, { tokenPart2: TOKEN2, thumbprint: THUMBPRINT, join: 'bytes' }, crypto);
    expect(bytesReply.to).toBe('acme-challenge@ca.example');
    expect(bytesReply.value).toBe(expectedValue(`${joinToken(TOKEN1, TOKEN2, 'bytes')}.${THUMBPRINT}`));
  });
});

/**
 * Published vectors, each from an implementation other than ours.
 * RFC 8823 §3.1's example subject carries a padded token-part1; its token-part2 and the account
 * thumbprint are the ones acme4j's email-reply test uses with it.
 */
const RFC_TOKEN1 = 'LgYemJLy3F1LDkiJrdIGbEzyFJyOyf6vBdyZ1TG3sME=';
const RFC_TOKEN2 = 'DGyRejmCefe7v4NfDGDKfA';
const RFC_THUMBPRINT = '1_nKJnlH9boVxdoO63T8zP7O2w42qZL4d6xj35Hy5aI';

describe('RFC 8823 §3.2 response: published vectors', () => {
  it('string join of the RFC 8823 §3.1 example keeps the "=": acme4j\'s published answer', async () => {
    const keyAuth = keyAuthorization(RFC_TOKEN1, RFC_TOKEN2, RFC_THUMBPRINT, 'string');
    expect(keyAuth).toBe(`${RFC_TOKEN1}${RFC_TOKEN2}.${RFC_THUMBPRINT}`);
    // github.com/shred/acme4j, acme4j-smime/src/test/java/org/shredzone/acme4j/smime/SMIMETests.java
    // (commit 636ccc37e0615bc9109769e8d52efccc0a5000ce): TOKEN_PART1, TOKEN_PART2 → KEY_AUTHORIZATION.
    // The thumbprint is that of acme4j's test account key (acme4j-smime/src/test/resources/key.pem).
    expect(await responseValue(keyAuth, crypto)).toBe('AjXW0h9_4YMP6Sv-9tKQNUrapI0us7ayBn0nCGOkUsk');
    // Stripping the padding first gives another answer: the '=' is part of the string joined.
    expect(await responseValue(keyAuthorization(RFC_TOKEN1.slice(0, -1), RFC_TOKEN2, RFC_THUMBPRINT, 'string'), crypto)).not.toBe('AjXW0h9_4YMP6Sv-9tKQNUrapI0us7ayBn0nCGOkUsk');
  });

  it('bytes join of the RFC 8823 §3.1 example, pinned and computed independently', async () => {
    // Derived with Python, independently of this code:
    //   j = urlsafe_b64encode(b64decode(p1) + urlsafe_b64decode(p2 + '==')).rstrip(b'=')
    //   urlsafe_b64encode(sha256(j + b'.' + thumbprint).digest()).rstrip(b'=')
    const joined = 'LgYemJLy3F1LDkiJrdIGbEzyFJyOyf6vBdyZ1TG3sMEMbJF6OYJ597u_g18MYMp8';
    expect(joinToken(RFC_TOKEN1, RFC_TOKEN2, 'bytes')).toBe(joined);
    const keyAuth = keyAuthorization(RFC_TOKEN1, RFC_TOKEN2, RFC_THUMBPRINT, 'bytes');
    expect(keyAuth).toBe(`${joined}.${RFC_THUMBPRINT}`);
    expect(await responseValue(keyAuth, crypto)).toBe('xyC6Z01DHFuV0pZgacdI2xN9nIKkPSARDv1gLbxY8Xk');
    // And again with Node's decoders, which read the padded standard form themselves.
    const node = Buffer.concat([Buffer.from(RFC_TOKEN1, 'base64'), Buffer.from(RFC_TOKEN2, 'base64url')]).toString('base64url');
    expect(expectedValue(`${node}.${RFC_THUMBPRINT}`)).toBe('xyC6Z01DHFuV0pZgacdI2xN9nIKkPSARDv1gLbxY8Xk');
    expect(joinsAgree(RFC_TOKEN1, RFC_TOKEN2)).toBe(false);
  });

  it('bytes join: acmez\'s published vector', async () => {
    // github.com/mholt/acmez, mailreply00_test.go (TestMailReplyChallengeResponse, commit
    // 02868f041e58682937a459e74ef1f45671575497): subject "ACME: V4nE8NhYh6edBpfQTg5qqQ", token
    // "x6I65YvEk6xC4KV0QMvdJw", thumbprint "hC4xyXNn8ZDH4yrcp93Zj3qgQs7LyT_GUL45YD7IVMQ",
    // decoded halves joined, response "Fjt2SD7KoqSt3I6jwgg8ljjkP9Er7h1w0wF0UihvQIU".
    const keyAuth = keyAuthorization('V4nE8NhYh6edBpfQTg5qqQ', 'x6I65YvEk6xC4KV0QMvdJw', 'hC4xyXNn8ZDH4yrcp93Zj3qgQs7LyT_GUL45YD7IVMQ', 'bytes');
    expect(await responseValue(keyAuth, crypto)).toBe('Fjt2SD7KoqSt3I6jwgg8ljjkP9Er7h1w0wF0UihvQIU');
  });

  it('a token-part1 in standard base64 joins as bytes like its base64url twin, as strings verbatim', () => {
    const part1 = Buffer.from([...Array<number[]>(7).fill([0xfb, 0xff, 0xbf]).flat(), 0xfe, 0xef]);
    const std = part1.toString('base64');
    const url = part1.toString('base64url');
    expect(joinToken(std, TOKEN2, 'bytes')).toBe(joinToken(url, TOKEN2, 'bytes'));
    expect(joinToken(std, TOKEN2, 'bytes')).toBe(Buffer.concat([part1, Buffer.from(TOKEN2, 'base64url')]).toString('base64url'));
    expect(joinToken(std, TOKEN2, 'string')).toBe(std + TOKEN2);
    expect(() => joinToken(`${url.slice(0, 5)}+${url.slice(6)}`, TOKEN2, 'bytes')).toThrowError(TokenJoinError);
  });
});
