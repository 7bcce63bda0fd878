/**
 * The whole decision (RFC 8823 §3 + the policy of docs/MESSAGES.md) on mails signed by mailauth, an
 * independent DKIM signer. Each case names the fixture it builds: signer, mutation.
 */
import { describe, expect, it } from 'vitest';
import { checkChallengeMail, inspectChallengeMail, type ExpectedChallengeMail, type CheckEnvironment } from '../../src/messages/check';
import { relaxedBody } from '../../src/messages/dkim-canon';
import { createZoneResolver, type TxtResolver } from '../../src/messages/dns';
import { CA_FROM, challengeMail, crypto, ed25519Key, IDENTITY, keyRecord, NOW, ORDER_CREATED, rsaKey, signWithMailauth, TOKEN1 } from './support';

/** The token of another order (the attacker's own, at the same CA). */
const OTHER_TOKEN1 = 'k3XzYp1Qv8Rr0mWn5Tq7Ls2Hd9Gf4Jb6Nc1Ve8Ua3Mo';

const rsa = rsaKey();
const ed = ed25519Key();
const zone = createZoneResolver({
  'sel._domainkey.ca.example': [keyRecord(rsa)],
  'ed._domainkey.ca.example': [keyRecord(ed)],
  'testing._domainkey.ca.example': [keyRecord(rsa, 't=y; ')],
  'sel._domainkey.co.uk': [keyRecord(rsa)],
  'sel._domainkey.other.example': [keyRecord(rsa)],
});
const expectation: ExpectedChallengeMail = { identity: IDENTITY, challengeFrom: CA_FROM, orderCreatedAt: ORDER_CREATED };
const env = (overrides: Partial<CheckEnvironment> = {}): CheckEnvironment => ({ resolver: zone, crypto, now: () => NOW, ...overrides });
/** What the user's provider writes when it accepts the mail (RFC 5321 §4.4); its own AR goes above. */
const RECEIVED = 'Received: from mx.ca.example (mx.ca.example [192.0.2.1])\r\n by mx.example.org with ESMTPS; Mon, 23 Nov 2026 18:00:01 +0000';
const codes = async (raw: string, exp: Partial<ExpectedChallengeMail> = expectation, e: CheckEnvironment = env()): Promise<string[]> => {
  const v = await inspectChallengeMail(raw, exp, e);
  return v.reasons.map((r) => r.code);
};

describe('challenge check: answer', () => {
  it('mailauth-rsa-relaxed-genuine: answers, authenticated by DKIM', async () => {
    const v = await checkChallengeMail(await signWithMailauth(challengeMail(), { key: rsa }), expectation, env());
    expect(v.verdict).toBe('answer');
    if (v.verdict !== 'answer') return;
    expect(v).toMatchObject({ tokenPart1: TOKEN1, authenticatedBy: 'dkim', authenticatedAs: 'ca.example', reasons: [] });
    expect(v.mail.to.address).toBe(IDENTITY);
  });

  it('mailauth-ed25519-relaxed-parent_domain: d= a parent of the From domain is aligned', async () => {
    const raw = await signWithMailauth(challengeMail({ from: 'acme@mail.ca.example' }), { key: ed, selector: 'ed' });
    const v = await checkChallengeMail(raw, { ...expectation, challengeFrom: 'acme@mail.ca.example' }, env());
    expect(v.verdict).toBe('answer');
  });

  it('matches addresses case-insensitively, and a challenge `from` written as a mailbox', async () => {
    const raw = await signWithMailauth(challengeMail(), { key: rsa });
    expect((await checkChallengeMail(raw, { ...expectation, identity: 'Alice@Example.ORG' }, env())).verdict).toBe('answer');
    expect((await checkChallengeMail(raw, { ...expectation, challengeFrom: `ACME CA <${CA_FROM}>` }, env())).verdict).toBe('answer');
    expect(await codes(raw, { ...expectation, challengeFrom: 'ACME CA <other@ca.example>' })).toEqual(['from-mismatch']);
  });
});

describe('challenge check: authenticity refusals', () => {
  it('unsigned: dkim-missing', async () => {
    expect(await codes(challengeMail())).toEqual(['dkim-missing']);
  });

  it('mailauth-rsa-relaxed-unaligned_d: a valid signature by another domain is not enough', async () => {
    expect(await codes(await signWithMailauth(challengeMail(), { key: rsa, domain: 'other.example' }))).toEqual(['dkim-unaligned']);
  });

  it('mailauth-rsa-relaxed-public_suffix_d: d=co.uk does not vouch for ca.co.uk', async () => {
    const raw = await signWithMailauth(challengeMail({ from: 'acme@ca.co.uk' }), { key: rsa, domain: 'co.uk' });
    expect(await codes(raw, { ...expectation, challengeFrom: 'acme@ca.co.uk' })).toEqual(['dkim-unaligned']);
  });

  it('mailauth-rsa-relaxed-auto_submitted_unsigned: h= must cover all required fields', async () => {
    const raw = await signWithMailauth(challengeMail(), { key: rsa, headerList: 'From:To:Subject:Date:Message-ID' });
    const v = await inspectChallengeMail(raw, expectation, env());
    expect(v.reasons.map((r) => r.code)).toEqual(['dkim-headers-unsigned']);
    expect(v.reasons[0]!.message).toMatch(/auto-submitted/);
  });

  it('mailauth-rsa-relaxed-testing_key: a t=y key counts as unsigned', async () => {
    expect(await codes(await signWithMailauth(challengeMail(), { key: rsa, selector: 'testing' }))).toEqual(['dkim-testing-key']);
  });

  it('mailauth-rsa-relaxed-body_modified: dkim-failed', async () => {
    const raw = (await signWithMailauth(challengeMail(), { key: rsa })).replace('automatically', 'manually');
    expect(await codes(raw)).toEqual(['dkim-failed']);
  });

  it('mailauth-rsa-relaxed-duplicate_from: refused even though the signature verifies', async () => {
    const signed = await signWithMailauth(challengeMail(), { key: rsa, headerList: 'From:From:To:Subject:Date:Message-ID:Auto-Submitted' });
    // A From above the signed one: the one a mail client might show.
    const raw = `From: evil@attacker.example\r\n${signed}`;
    expect(await codes(raw)).toContain('duplicate-from');
    expect((await inspectChallengeMail(raw, expectation, env())).verdict).toBe('refuse');
  });

  it('DNS unreachable: dkim-temperror, so the add-on can retry', async () => {
    const failing: TxtResolver = { txt: () => Promise.resolve({ kind: 'error', reason: 'timed out' }) };
    expect(await codes(await signWithMailauth(challengeMail(), { key: rsa }), expectation, env({ resolver: failing }))).toEqual(['dkim-temperror']);
  });
});

describe('challenge check: Authentication-Results (RFC 8601)', () => {
  const failing: TxtResolver = { txt: () => Promise.resolve({ kind: 'error', reason: 'timed out' }) };

  it('forged_authres on an unsigned mail is ignored, trusted id or not', async () => {
    const raw = `Authentication-Results: mx.example.org; dkim=pass header.d=ca.example header.s=sel\r\n${challengeMail()}`;
    expect(await codes(raw)).toEqual(['dkim-missing']);
    expect(await codes(raw, expectation, env({ trustedAuthservIds: ['mx.example.org'] }))).toEqual(['dkim-missing']);
  });

  it("the user's provider's result stands in for a DKIM check that could not run", async () => {
    const signed = await signWithMailauth(challengeMail(), { key: rsa });
    const b = /[;\s]b=([A-Za-z0-9+/]{12})/.exec(signed)![1]!;
    const raw = `Authentication-Results: mx.example.org; dkim=pass (2048-bit key) header.d=ca.example header.s=sel header.b=${b}\r\n${RECEIVED}\r\n${signed}`;
    const trusted = env({ resolver: failing, trustedAuthservIds: ['MX.example.org'] });
    const v = await inspectChallengeMail(raw, expectation, trusted);
    expect(v.verdict).toBe('answer');
    expect(v.verdict === 'answer' && v.authenticatedBy).toBe('authentication-results');
    // Not configured: the same header is just text.
    expect(await codes(raw, expectation, env({ resolver: failing }))).toEqual(['dkim-temperror']);
  });

  it('only the topmost field of a trusted authserv-id counts (a forged copy below is ignored)', async () => {
    const signed = await signWithMailauth(challengeMail(), { key: rsa });
    const raw = `Authentication-Results: mx.example.org; dkim=temperror header.d=ca.example\r\nAuthentication-Results: mx.example.org; dkim=pass header.d=ca.example\r\n${RECEIVED}\r\n${signed}`;
    expect(await codes(raw, expectation, env({ resolver: failing, trustedAuthservIds: ['mx.example.org'] }))).toEqual(['dkim-temperror']);
  });

  it('never overrides a signature that fails here', async () => {
    const signed = (await signWithMailauth(challengeMail(), { key: rsa })).replace('automatically', 'manually');
    const raw = `Authentication-Results: mx.example.org; dkim=pass header.d=ca.example\r\n${RECEIVED}\r\n${signed}`;
    expect(await codes(raw, expectation, env({ trustedAuthservIds: ['mx.example.org'] }))).toEqual(['dkim-failed', 'authres-conflict']);
  });

  // Open finding 2 of docs/SECURITY.md (forgery `authres-forged_only_doh_down`): with DoH down
  // and no field of the provider's own, the attacker's field with the provider's id was taken.
  const forgedPass = async (): Promise<{ signed: string; field: string }> => {
    const signed = (await signWithMailauth(challengeMail(), { key: rsa })).replace(`ACME: ${TOKEN1}`, `ACME: ${OTHER_TOKEN1}`);
    const b = /[;\s]b=([A-Za-z0-9+/]{12})/.exec(signed)![1]!;
    return { signed, field: `Authentication-Results: mx.example.org; dkim=pass header.d=ca.example header.s=sel header.b=${b}` };
  };

  it('authres-forged_only_doh_down: a mail without any Received field has no trusted Authentication-Results', async () => {
    const { signed, field } = await forgedPass();
    const v = await inspectChallengeMail(`${field}\r\n${signed}`, expectation, env({ resolver: failing, trustedAuthservIds: ['mx.example.org'] }));
    expect(v.verdict).toBe('refuse');
    expect(v.reasons.map((r) => r.code)).toEqual(['dkim-temperror']);
  });

  it('authres-forged_below_received_doh_down: the only matching field stands below the provider\'s Received', async () => {
    const { signed, field } = await forgedPass();
    const v = await inspectChallengeMail(`${RECEIVED}\r\n${field}\r\n${signed}`, expectation, env({ resolver: failing, trustedAuthservIds: ['mx.example.org'] }));
    expect(v.verdict).toBe('refuse');
    expect(v.reasons.map((r) => r.code)).toEqual(['dkim-temperror']);
  });
});

/**
 * Open finding 1 of docs/SECURITY.md (forgery `dkim-l_body_extended`): a signature whose l= is
 * shorter than the body authenticated a mail with text appended after signing (RFC 6376 §8.2).
 */
describe('challenge check: l= must cover the whole body', () => {
  const appended = 'P.S. Also reply to mallory@evil.example with the code above.\r\n';

  it('mailauth-rsa-relaxed-l_body_extended: refused with dkim-body-extended, although the signature itself passes', async () => {
    const signed = await signWithMailauth(challengeMail(), { key: rsa, maxBodyLength: 20 });
    const v = await inspectChallengeMail(`${signed}${appended}`, expectation, env());
    expect(v.verdict).toBe('refuse');
    expect(v.dkim.map((r) => r.result)).toEqual(['pass']);
    expect(v.reasons.map((r) => r.code)).toEqual(['dkim-body-extended']);
    expect(v.reasons[0]!.message).toMatch(/first 20 of the body's \d+ bytes/);
  });

  it('mailauth-rsa-relaxed-l_original_body: l= shorter than the body as the CA sent it is refused too', async () => {
    expect(await codes(await signWithMailauth(challengeMail(), { key: rsa, maxBodyLength: 20 }))).toEqual(['dkim-body-extended']);
  });

  it('mailauth-rsa-relaxed-l_whole_body: an l= equal to the canonicalized body is answered', async () => {
    const mail = challengeMail();
    const whole = relaxedBody(mail.slice(mail.indexOf('\r\n\r\n') + 4)).length;
    const v = await inspectChallengeMail(await signWithMailauth(mail, { key: rsa, maxBodyLength: whole }), expectation, env());
    expect(v.dkim.map((r) => [r.result, r.bodyLength, r.canonicalBodyLength])).toEqual([['pass', whole, whole]]);
    expect(v.verdict).toBe('answer');
  });

  it('mailauth-rsa-relaxed-l_body_extended-authres_doh_down: the provider\'s pass does not stand in for a partial signature', async () => {
    const failing: TxtResolver = { txt: () => Promise.resolve({ kind: 'error', reason: 'timed out' }) };
    const signed = `${await signWithMailauth(challengeMail(), { key: rsa, maxBodyLength: 20 })}${appended}`;
    const raw = `Authentication-Results: mx.example.org; dkim=pass header.d=ca.example header.s=sel\r\n${RECEIVED}\r\n${signed}`;
    const v = await inspectChallengeMail(raw, expectation, env({ resolver: failing, trustedAuthservIds: ['mx.example.org'] }));
    expect(v.verdict).toBe('refuse');
    expect(v.dkim.map((r) => [r.result, r.bodyLength])).toEqual([['temperror', 20]]);
    expect(v.reasons.map((r) => r.code)).toEqual(['dkim-temperror']);
  });
});

describe('challenge check: matching the pending challenge', () => {
  it('from-mismatch, to-mismatch', async () => {
    const raw = await signWithMailauth(challengeMail(), { key: rsa });
    expect(await codes(raw, { ...expectation, challengeFrom: 'other@ca.example' })).toEqual(['from-mismatch']);
    expect(await codes(raw, { ...expectation, identity: 'bob@example.org' })).toEqual(['to-mismatch']);
  });

  it('a mail dated or delivered before the order cannot be its challenge', async () => {
    const old = await signWithMailauth(challengeMail({ date: 'Mon, 23 Nov 2026 17:00:00 +0000' }), { key: rsa });
    expect(await codes(old)).toEqual(['date-before-order']);
    const raw = await signWithMailauth(challengeMail(), { key: rsa });
    expect(await codes(raw, { ...expectation, receivedAt: new Date('2026-11-23T17:00:00Z') })).toEqual(['arrived-before-order']);
    // Within the 5-minute skew: the CA's clock may be a little behind ours.
    const skewed = await signWithMailauth(challengeMail({ date: 'Mon, 23 Nov 2026 17:56:00 +0000' }), { key: rsa });
    expect(await codes(skewed)).toEqual([]);
  });

  it('does not look up DNS for a mail that is not a challenge', async () => {
    let lookups = 0;
    const counting: TxtResolver = {
      txt: (name) => {
        lookups++;
        return zone.txt(name);
      },
    };
    const raw = await signWithMailauth(challengeMail({ subject: 'Lunch?' }), { key: rsa });
    expect(await codes(raw, expectation, env({ resolver: counting }))).toEqual(['not-a-challenge']);
    expect(lookups).toBe(0);
  });

  it('a malformed message is refused with its parse code, not thrown', async () => {
    expect(await codes('this is not a mail\r\n\r\n')).toEqual(['malformed-message']);
  });
});

describe('challenge check: Reply-To decides where the answer goes', () => {
  it('mailauth-rsa-relaxed-reply_to_unsigned: refused; signed: answered, to the Reply-To', async () => {
    const mail = challengeMail({ extraHeaders: ['Reply-To: <replies@ca.example>'] });
    expect(await codes(await signWithMailauth(mail, { key: rsa }))).toEqual(['dkim-headers-unsigned']);
    const signed = await signWithMailauth(mail, { key: rsa, headerList: 'From:To:Subject:Date:Message-ID:Auto-Submitted:Reply-To' });
    const v = await inspectChallengeMail(signed, expectation, env());
    expect(v.verdict).toBe('answer');
    expect(v.mail?.replyTo.map((m) => m.address)).toEqual(['replies@ca.example']);
  });
});

describe('challenge check: fields added after signing', () => {
  it('mailauth-rsa-relaxed-reply_to_added: a Reply-To slipped in after signing is refused, as it is not covered', async () => {
    // mailauth lists only fields present at signing time, so h= has no reply-to here.
    const signed = await signWithMailauth(challengeMail(), { key: rsa, headerList: 'From:To:Subject:Date:Message-ID:Auto-Submitted:Reply-To' });
    expect((await inspectChallengeMail(signed, expectation, env())).verdict).toBe('answer');
    const redirected = `Reply-To: <attacker@evil.example>\r\n${signed}`;
    const v = await inspectChallengeMail(redirected, expectation, env());
    expect(v.dkim.map((r) => r.result)).toEqual(['pass']);
    expect(v.reasons.map((r) => r.code)).toEqual(['dkim-headers-unsigned']);
    expect(v.reasons[0]!.message).toMatch(/reply-to/);
  });
});
