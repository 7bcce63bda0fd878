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
