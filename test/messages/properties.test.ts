/**
 * Property tests (fast-check): the parsers that read attacker-controlled bytes never crash with
 * anything but their own typed error, and never hang. Runs FUZZ_RUNS cases when set (the
 * `npm run fuzz` script), a quick 200 otherwise.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AddressParseError, parseAddressList } from '../../src/messages/address';
import { parseAuthenticationResults } from '../../src/messages/authres';
import { relaxedBody, simpleBody } from '../../src/messages/dkim-canon';
import { parseTagList, TagListError } from '../../src/messages/dkim-tags';
import { verifyDkim } from '../../src/messages/dkim';
import { createZoneResolver } from '../../src/messages/dns';
import { decodeEncodedWords } from '../../src/messages/rfc2047';
import { MessageParseError, parseMessage } from '../../src/messages/rfc5322';
import { recognizeChallenge, tokenFromSubject } from '../../src/messages/challenge';
import { joinToken } from '../../src/messages/response';
import { inspectChallengeMail } from '../../src/messages/check';
import { challengeMail, crypto, ed25519Key, keyRecord, NOW, signWithMailauth } from './support';

const runs = Number(process.env['FUZZ_RUNS'] ?? 200);
const options = { numRuns: runs };

/** Text that looks like mail: header-ish lines, folding, separators, 8-bit bytes. */
const mailish = fc
  .array(
    fc.oneof(
      fc.constantFrom('From: ', 'To: ', 'Subject: ACME: ', 'DKIM-Signature: ', '\r\n', '\n', ' ', '\t', ':', ';', '=', '<', '>', '"', '(', ')', '@', ',', '=?utf-8?B?', '?=', 'X-Mozilla-Status: 1\n'),
      fc.string({ maxLength: 12 }),
      fc.uint8Array({ maxLength: 8 }).map((b) => String.fromCharCode(...b)),
    ),
    { maxLength: 60 },
  )
  .map((parts) => parts.join(''));

describe('parser properties', () => {
  it('parseMessage returns or throws MessageParseError, for any bytes', () => {
    fc.assert(
      fc.property(fc.oneof(mailish, fc.uint8Array({ maxLength: 400 }).map((b) => String.fromCharCode(...b))), (text) => {
        try {
          const m = parseMessage(text);
          // Every field's raw text is in the (CRLF-normalised) input.
          for (const f of m.fields) expect(f.raw.startsWith(f.name)).toBe(true);
          recognizeChallenge(m); // must not throw either
        } catch (error) {
          expect(error).toBeInstanceOf(MessageParseError);
        }
      }),
      options,
    );
  });

  it('parseAddressList returns or throws AddressParseError', () => {
    fc.assert(
      fc.property(mailish, (text) => {
        try {
          for (const m of parseAddressList(text)) expect(m.address).toContain('@');
        } catch (error) {
          expect(error).toBeInstanceOf(AddressParseError);
        }
      }),
      options,
    );
  });

  it('decodeEncodedWords and parseAuthenticationResults never throw', () => {
    fc.assert(
      fc.property(mailish, (text) => {
        decodeEncodedWords(text);
        parseAuthenticationResults(text);
      }),
      options,
    );
  });
});

const tagName = fc.stringMatching(/^[a-z][a-z0-9_]{0,5}$/);
const tagValue = fc.stringMatching(/^[A-Za-z0-9+/=:.@_-]{0,20}$/);
const fws = fc.constantFrom('', ' ', '\t', '\r\n ', '  ');

describe('the whole check', () => {
  it('inspectChallengeMail answers refuse (never throws) for any mail-like input', async () => {
    const zone = createZoneResolver({});
    const prefix = fc.constantFrom('', challengeMail(), 'Content-Type: multipart/signed; protocol="application/pkcs7-signature"; boundary=b\r\n', 'Content-Type: application/pkcs7-mime; smime-type=signed-data\r\n');
    await fc.assert(
      fc.asyncProperty(prefix, mailish, async (head, tail) => {
        const v = await inspectChallengeMail(head + tail, {}, { resolver: zone, crypto, now: () => NOW, trustAnchors: [] });
        expect(v.verdict).toBe('refuse');
        for (const r of v.reasons) expect(r.message.length).toBeGreaterThan(0);
      }),
      { numRuns: Math.min(runs, 2000) },
    );
  });
});

describe('token-part1 properties (RFC 8823 §3.1)', () => {
  const TOKEN2 = 'DGyRejmCefe7v4NfDGDKfA';
  const encodings = (bytes: Uint8Array): string[] => {
    const std = Buffer.from(bytes).toString('base64');
    const url = Buffer.from(bytes).toString('base64url');
    return [std, std.replace(/=+$/, ''), url, `${url}${'='.repeat((4 - (url.length % 4)) % 4)}`];
  };

  it('any ≥ 16 bytes in base64 or base64url, padded or not, is accepted verbatim and joins as Node decodes it', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 64 }), (bytes) => {
        const expected = Buffer.concat([Buffer.from(bytes), Buffer.from(TOKEN2, 'base64url')]).toString('base64url');
        for (const token of encodings(bytes)) {
          expect(tokenFromSubject(`ACME: ${token}`)).toEqual({ ok: true, token });
          expect(joinToken(token, TOKEN2, 'bytes')).toBe(expected);
          expect(joinToken(token, TOKEN2, 'string')).toBe(token + TOKEN2);
        }
      }),
      options,
    );
  });

  it('fewer than 16 bytes is too short, and a token with both alphabets is invalid, in any encoding', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 15 }), (bytes) => {
        for (const token of encodings(bytes)) expect(tokenFromSubject(`ACME: ${token}`)).toMatchObject({ ok: false, refusal: { code: 'token-too-short' } });
      }),
      options,
    );
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 64 }), fc.nat(), fc.constantFrom('-', '_'), fc.constantFrom('+', '/'), (bytes, at, urlChar, stdChar) => {
        const url = Buffer.from(bytes).toString('base64url');
        const i = at % (url.length - 1);
        const mixed = `${url.slice(0, i)}${urlChar}${stdChar}${url.slice(i + 2)}`;
        expect(tokenFromSubject(`ACME: ${mixed}`)).toMatchObject({ ok: false, refusal: { code: 'token-invalid' } });
      }),
      options,
    );
  });
});

describe('DKIM tag-list properties (RFC 6376 §3.2)', () => {
  it('reads back any well-formed tag list, whatever the folding whitespace', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.tuple(tagName, tagValue), { selector: (t) => t[0], maxLength: 10 }), fws, fc.boolean(), (tags, space, trailing) => {
        const text = tags.map(([n, v]) => `${space}${n}${space}=${space}${v}${space}`).join(';') + (trailing && tags.length > 0 ? ';' : '');
        const parsed = parseTagList(text);
        expect([...parsed.keys()]).toEqual(tags.map(([n]) => n));
        for (const [n, v] of tags) expect(parsed.get(n)!.value).toBe(v);
      }),
      options,
    );
  });

  it('returns or throws TagListError for anything else', () => {
    fc.assert(
      fc.property(mailish, (text) => {
        try {
          parseTagList(text);
        } catch (error) {
          expect(error).toBeInstanceOf(TagListError);
        }
      }),
      options,
    );
  });

  it('verifyDkim never throws for an arbitrary signature field', async () => {
    const zone = createZoneResolver({ 'sel._domainkey.ca.example': ['v=DKIM1; p=MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE='] });
    await fc.assert(
      fc.asyncProperty(mailish, async (value) => {
        const raw = `DKIM-Signature: v=1; a=rsa-sha256; d=ca.example; s=sel; h=from; ${value.replace(/\r?\n(?![ \t])/g, '\r\n ')}\r\n${challengeMail()}`;
        let message;
        try {
          message = parseMessage(raw);
        } catch {
          return;
        }
        const results = await verifyDkim(message, { resolver: zone, crypto, now: () => NOW });
        for (const r of results) expect(['pass', 'fail', 'neutral', 'temperror', 'permerror', 'policy', 'none']).toContain(r.result);
      }),
      { numRuns: Math.min(runs, 2000) },
    );
  });
});

describe('canonicalization properties (RFC 6376 §3.4)', () => {
  const body = fc.array(fc.constantFrom('a', ' ', '\t', '\r\n', 'b c', '  \r\n'), { maxLength: 40 }).map((p) => p.join(''));
  it('relaxed and simple body canonicalization are idempotent', () => {
    fc.assert(
      fc.property(body, (b) => {
        expect(relaxedBody(relaxedBody(b))).toBe(relaxedBody(b));
        expect(simpleBody(simpleBody(b))).toBe(simpleBody(b));
      }),
      options,
    );
  });

  it('stays linear on hostile bodies (a megabyte of spaces, of empty lines)', () => {
    // Counted, not timed: the output size proves each byte was visited a bounded number of times.
    expect(relaxedBody(`${' '.repeat(1 << 20)}x`)).toBe(' x\r\n');
    expect(relaxedBody(`x${'\r\n'.repeat(1 << 19)}`)).toBe('x\r\n');
    expect(simpleBody(`x${'\r\n'.repeat(1 << 19)}`)).toBe('x\r\n');
  });
});

describe('differential: whatever mailauth signs, we verify', () => {
  const key = ed25519Key();
  const zone = createZoneResolver({ 'ed._domainkey.ca.example': [keyRecord(key)] });
  const piece = fc.constantFrom('a', 'b c', ' ', '  ', '\t', '\r\n', '\r\n\r\n', ' \r\n', '\t\r\n', 'é', '\xff', '.', '--', 'ACME');
  const text = fc.array(piece, { maxLength: 30 }).map((p) => p.join(''));
  const headerText = fc.array(fc.constantFrom('x', 'y z', ' ', '  ', '\t', '\r\n ', '\r\n\t', ':', ';'), { minLength: 1, maxLength: 12 }).map((p) => `v${p.join('')}`);

  it('bodies and header values with odd whitespace pass in every canonicalization', async () => {
    await fc.assert(
      fc.asyncProperty(text, headerText, fc.constantFrom('relaxed/relaxed', 'simple/simple', 'relaxed/simple', 'simple/relaxed'), async (body, header, canonicalization) => {
        const mail = challengeMail({ body, extraHeaders: [`X-Odd:${header}`] });
        const signed = await signWithMailauth(mail, { key, selector: 'ed', canonicalization, headerList: 'From:To:Subject:Date:Message-ID:Auto-Submitted:X-Odd' });
        // mailauth hashed the UTF-8 bytes of the string; the message is those bytes.
        const results = await verifyDkim(parseMessage(Buffer.from(signed, 'utf8')), { resolver: zone, crypto, now: () => NOW });
        expect(results.map((r) => `${r.result}: ${r.reason}`)).toEqual(['pass: signature by ca.example verified']);
      }),
      { numRuns: Math.min(runs, 2000) },
    );
  });
});
