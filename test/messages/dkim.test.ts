/**
 * DKIM verification against independent signers. Fixture names follow docs/MESSAGES.md ("Tests and benchmark"):
 * `<signer>-<algorithm>-<canonicalization>-<mutation>`; messages and keys are made per run.
 */
import { createPublicKey } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { verifyDkim, type DkimResult } from '../../src/messages/dkim';
import { relaxedBody, simpleBody } from '../../src/messages/dkim-canon';
import { createZoneResolver, type TxtResolver } from '../../src/messages/dns';
import { parseMessage } from '../../src/messages/rfc5322';
import { makeTempDir } from '../helpers/process';
import { challengeMail, crypto, ed25519Key, keyRecord, NOW, rsaKey, signWithMailauth, signWithOpendkim } from './support';

const rsa = rsaKey();
const ed = ed25519Key();
const short = rsaKey(512);
const records: Record<string, string[]> = {
  'sel._domainkey.ca.example': [keyRecord(rsa)],
  'ed._domainkey.ca.example': [keyRecord(ed)],
  'short._domainkey.ca.example': [keyRecord(short)],
  'revoked._domainkey.ca.example': ['v=DKIM1; k=rsa; p='],
  'wrongk._domainkey.ca.example': [keyRecord(rsa).replace('k=rsa', 'k=ed25519')],
  'sha1only._domainkey.ca.example': [keyRecord(rsa, 'h=sha1; ')],
  'notmail._domainkey.ca.example': [keyRecord(rsa, 's=tlsrpt; ')],
  'testing._domainkey.ca.example': [keyRecord(rsa, 't=y; ')],
  'strict._domainkey.ca.example': [keyRecord(rsa, 't=s; ')],
  'multi._domainkey.ca.example': ['google-site-verification=abc', keyRecord(rsa)],
  // The bare RSAPublicKey (PKCS#1) that some DNS providers publish instead of an SPKI.
  'pkcs1._domainkey.ca.example': [`v=DKIM1; p=${createPublicKey(rsa.privateKey).export({ type: 'pkcs1', format: 'der' }).toString('base64')}`],
};
const zone = createZoneResolver(records);
const verify = (raw: string, resolver: TxtResolver = zone, now = NOW): Promise<DkimResult[]> =>
  verifyDkim(parseMessage(raw), { resolver, crypto, now: () => now });
const only = async (raw: string, resolver?: TxtResolver, now?: Date): Promise<DkimResult> => {
  const results = await verify(raw, resolver, now);
  expect(results).toHaveLength(1);
  return results[0]!;
};

describe('DKIM: algorithms and canonicalizations (RFC 6376 §3.4, RFC 8463)', () => {
  for (const canonicalization of ['relaxed/relaxed', 'simple/simple', 'relaxed/simple', 'simple/relaxed']) {
    const c = canonicalization.replace('/', '_');
    it(`mailauth-rsa-${c}: passes`, async () => {
      const r = await only(await signWithMailauth(challengeMail(), { key: rsa, canonicalization }));
      expect(r).toMatchObject({ result: 'pass', domain: 'ca.example', selector: 'sel', algorithm: 'rsa-sha256', keyBits: 2048 });
    });
    it(`mailauth-ed25519-${c}: passes`, async () => {
      const r = await only(await signWithMailauth(challengeMail(), { key: ed, selector: 'ed', canonicalization }));
      expect(r).toMatchObject({ result: 'pass', algorithm: 'ed25519-sha256' });
    });
  }

  it('mailauth-rsa-relaxed-lf_line_ends_thunderbird_prefix: passes after normalisation', async () => {
    const signed = await signWithMailauth(challengeMail(), { key: rsa });
    const asStored = `X-Mozilla-Status: 0001\nX-Mozilla-Status2: 00000000\n${signed.replace(/\r\n/g, '\n')}`;
    expect((await only(asStored)).result).toBe('pass');
  });
});

describe('DKIM: tampering', () => {
  it('mailauth-rsa-relaxed-body_modified: fails on the body hash', async () => {
    const signed = await signWithMailauth(challengeMail(), { key: rsa });
    const r = await only(signed.replace('automatically generated', 'hand-written'));
    expect(r.result).toBe('fail');
    expect(r.reason).toMatch(/body hash/);
  });

  it('mailauth-ed25519-relaxed-subject_modified: fails on the signature', async () => {
    const signed = await signWithMailauth(challengeMail(), { key: ed, selector: 'ed' });
    const r = await only(signed.replace('ACME: LgYe', 'ACME: XgYe'));
    expect(r.result).toBe('fail');
    expect(r.reason).toMatch(/signature did not verify/);
  });

  it('mailauth-rsa-simple-header_refolded: simple fails, relaxed passes', async () => {
    const refold = (m: string): string => m.replace('Subject: ACME: ', 'Subject:  ACME:\r\n\t');
    expect((await only(refold(await signWithMailauth(challengeMail(), { key: rsa, canonicalization: 'simple/simple' })))).result).toBe('fail');
    expect((await only(refold(await signWithMailauth(challengeMail(), { key: rsa, canonicalization: 'relaxed/relaxed' })))).result).toBe('pass');
  });

  it('mailauth-rsa-simple-body_whitespace_changed: simple fails, relaxed passes', async () => {
    const spaced = (m: string): string => m.replace('Please do not   reply', 'Please do not reply');
    expect((await only(spaced(await signWithMailauth(challengeMail(), { key: rsa, canonicalization: 'simple/simple' })))).result).toBe('fail');
    expect((await only(spaced(await signWithMailauth(challengeMail(), { key: rsa, canonicalization: 'relaxed/relaxed' })))).result).toBe('pass');
  });

  it('mailauth-rsa-relaxed-from_added_below: a second From changes what h= selects', async () => {
    const signed = await signWithMailauth(challengeMail(), { key: rsa });
    // DKIM signs the bottom-most From; one added below the signed one is what h= now picks.
    expect((await only(signed.replace('\r\n\r\n', '\r\nFrom: evil@attacker.example\r\n\r\n'))).result).toBe('fail');
  });
});

describe('DKIM: l=, t=, x=', () => {
  it('mailauth-rsa-relaxed-l_body_appended: passes, reporting the signed length and the whole body\'s', async () => {
    const signed = await signWithMailauth(challengeMail(), { key: rsa, maxBodyLength: 20 });
    const mail = `${signed}Appended by someone else.\r\n`;
    const whole = relaxedBody(parseMessage(mail).body).length;
    const r = await only(mail);
    expect(r.result).toBe('pass');
    expect(r.bodyLength).toBe(20);
    expect(r.canonicalBodyLength).toBe(whole);
    expect(r.reason).toContain(`only the first 20 of ${whole} body bytes are signed`);
  });

  it('mailauth-rsa-simple-l_body_appended: the body length is measured under the signature\'s own c=', async () => {
    const signed = await signWithMailauth(challengeMail(), { key: rsa, maxBodyLength: 20, canonicalization: 'simple/simple' });
    const r = await only(signed);
    expect(r.canonicalBodyLength).toBe(simpleBody(parseMessage(signed).body).length);
    expect(r.canonicalBodyLength).not.toBe(relaxedBody(parseMessage(signed).body).length);
  });

  it('mailauth-rsa-relaxed-l_body_appended-dns_down: the body length is known even when the key lookup fails', async () => {
    const down: TxtResolver = { txt: () => Promise.resolve({ kind: 'error', reason: 'timed out' }) };
    const signed = await signWithMailauth(challengeMail(), { key: rsa, maxBodyLength: 20 });
    const r = await only(signed, down);
    expect([r.result, r.bodyLength, r.canonicalBodyLength]).toEqual(['temperror', 20, relaxedBody(parseMessage(signed).body).length]);
  });

  it('mailauth-rsa-relaxed-l_longer_than_body: fails', async () => {
    const signed = await signWithMailauth(challengeMail(), { key: rsa, maxBodyLength: 20 });
    const r = await only(signed.replace(/\r\n\r\nThis is[\s\S]*$/, '\r\n\r\nshort\r\n'));
    expect(r.result).toBe('fail');
  });

  it('mailauth-rsa-relaxed-x_expired: permerror once the injected clock passes x=', async () => {
    const signed = await signWithMailauth(challengeMail(), { key: rsa, expires: new Date('2026-11-23T18:30:00Z') });
    expect((await only(signed)).result).toBe('pass');
    const r = await only(signed, zone, new Date('2026-11-23T19:00:00Z'));
    expect(r.result).toBe('permerror');
    expect(r.reason).toMatch(/expired/);
  });

  it('mailauth-rsa-relaxed-t_future: permerror beyond the tolerated clock skew', async () => {
    const signed = await signWithMailauth(challengeMail(), { key: rsa, signTime: new Date('2026-11-23T20:00:00Z') });
    const r = await only(signed);
    expect(r.result).toBe('permerror');
    expect(r.reason).toMatch(/future/);
  });
});

describe('DKIM: keys (RFC 6376 §3.6.1, RFC 8301)', () => {
  const sign = (selector: string, key = rsa): Promise<string> => signWithMailauth(challengeMail(), { key, selector });

  it('mailauth-rsa512-relaxed-short_key: refused under RFC 8301', async () => {
    const r = await only(await sign('short', short));
    expect(r).toMatchObject({ result: 'permerror', keyBits: 512 });
    expect(r.reason).toMatch(/RFC 8301/);
  });

  it('opendkim-rsa_sha1-relaxed_simple: refused under RFC 8301, never verified', async () => {
    const dir = makeTempDir('opendkim');
    try {
      const lf = challengeMail().replace(/\r\n/g, '\n');
      const signed = signWithOpendkim(lf, rsa, dir.path);
      expect(signed).toMatch(/a=rsa-sha1/);
      const r = await only(signed);
      expect(r.result).toBe('permerror');
      expect(r.reason).toMatch(/rsa-sha1 is refused/);
    } finally {
      dir.remove();
    }
  });

  it('revoked key (empty p=): permerror', async () => {
    const r = await only(await sign('revoked'));
    expect(r.result).toBe('permerror');
    expect(r.reason).toMatch(/revoked/);
  });

  it('missing key (NXDOMAIN): permerror; resolver failure: temperror', async () => {
    const r = await only(await sign('absent'));
    expect(r.result).toBe('permerror');
    expect(r.reason).toMatch(/no key published/);
    const failing: TxtResolver = { txt: () => Promise.resolve({ kind: 'error', reason: 'SERVFAIL' }) };
    const t = await only(await sign('sel'), failing);
    expect(t.result).toBe('temperror');
    expect(t.reason).toMatch(/SERVFAIL/);
  });

  it('key record flags: k= mismatch, h= without sha256, s= not email are permerrors', async () => {
    expect((await only(await sign('wrongk'))).reason).toMatch(/k=ed25519/);
    expect((await only(await sign('sha1only'))).reason).toMatch(/h=sha1/);
    expect((await only(await sign('notmail'))).reason).toMatch(/not for email/);
  });

  it('t=y (testing) still verifies but is flagged; t=s refuses an i= in a subdomain', async () => {
    const testing = await only(await sign('testing'));
    expect(testing).toMatchObject({ result: 'pass', testing: true });
    const strict = await sign('strict');
    expect((await only(strict)).result).toBe('pass');
    const withSubdomainAuid = strict.replace('s=strict;', 's=strict; i=@mail.ca.example;');
    const r = await only(withSubdomainAuid);
    expect(r.result).toBe('permerror');
    expect(r.reason).toMatch(/t=s/);
    expect((await only(strict.replace('s=strict;', 's=strict; i=@other.example;'))).reason).toMatch(/not within d=/);
  });

  it('skips TXT records that are not DKIM keys at the same name', async () => {
    expect((await only(await sign('multi'))).result).toBe('pass');
  });

  it('accepts a key published as a bare PKCS#1 RSAPublicKey', async () => {
    expect((await only(await sign('pkcs1'))).result).toBe('pass');
  });
});

describe('DKIM: several signatures and malformed ones', () => {
  it('mailauth-rsa+ed25519: both verified, top first', async () => {
    const once = await signWithMailauth(challengeMail(), { key: rsa });
    const twice = await signWithMailauth(once, { key: ed, selector: 'ed' });
    const results = await verify(twice);
    expect(results.map((r) => [r.algorithm, r.result])).toEqual([
      ['ed25519-sha256', 'pass'],
      ['rsa-sha256', 'pass'],
    ]);
  });

  it('an unsigned mail gives no results (dkim=none)', async () => {
    expect(await verify(challengeMail())).toEqual([]);
  });

  it('a duplicated tag, a missing tag or a broken b= is a permerror, never a throw', async () => {
    const signed = await signWithMailauth(challengeMail(), { key: rsa });
    expect((await only(signed.replace('s=sel;', 's=sel; s=sel;'))).reason).toMatch(/appears twice/);
    expect((await only(signed.replace(/bh=[^;]+;/, ''))).reason).toMatch(/required bh=/);
    expect((await only(signed.replace('v=1', 'v=2'))).result).toBe('permerror');
    expect((await only(signed.replace('a=rsa-sha256', 'a=rsa-md5'))).reason).toMatch(/unknown signing algorithm/);
    expect((await only(signed.replace(/h=[^;]+;/, 'h=To:Subject;'))).reason).toMatch(/does not include From/);
  });

  it('evaluates at most 8 signatures and says so for the rest', async () => {
    let m = challengeMail();
    for (let i = 0; i < 9; i++) m = await signWithMailauth(m, { key: ed, selector: 'ed' });
    const results = await verify(m);
    expect(results).toHaveLength(9);
    expect(results.slice(0, 8).every((r) => r.result !== 'policy')).toBe(true);
    expect(results[8]!.result).toBe('policy');
  });
});
