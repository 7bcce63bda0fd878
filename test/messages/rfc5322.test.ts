import { describe, expect, it } from 'vitest';
import { AddressParseError, parseAddressList } from '../../src/messages/address';
import { decodeEncodedWords } from '../../src/messages/rfc2047';
import { decodedValue, LIMITS, MessageParseError, parseMessage } from '../../src/messages/rfc5322';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

describe('RFC 5322 message parsing', () => {
  it('splits CRLF messages into fields and body, keeping each field byte-exact', () => {
    const m = parseMessage(bytes('From: a@b.example\r\nSubject: hello\r\n world\r\n\r\nbody line\r\n'));
    expect(m.fields.map((f) => f.name)).toEqual(['From', 'Subject']);
    expect(m.all('subject')[0]!.raw).toBe('Subject: hello\r\n world');
    expect(decodedValue(m.all('SUBJECT')[0]!)).toBe('hello world');
    expect(m.body).toBe('body line\r\n');
  });

  it('turns LF line endings into CRLF (local folders, messages.getRaw)', () => {
    const m = parseMessage('From: a@b.example\nSubject: x\n\nline1\nline2\n');
    expect(m.body).toBe('line1\r\nline2\r\n');
    expect(m.all('from')[0]!.raw).toBe('From: a@b.example');
  });

  it("strips Thunderbird's X-Mozilla-Status lines and an mbox separator from the top only", () => {
    const raw = 'From - Mon Nov 23 18:00:00 2026\nX-Mozilla-Status: 0001\nX-Mozilla-Status2: 00000000\nX-Mozilla-Keys:                  \nFrom: a@b.example\nX-Mozilla-Status: 0009\n\nbody\n';
    const m = parseMessage(raw);
    expect(m.fields.map((f) => f.key)).toEqual(['from', 'x-mozilla-status']);
  });

  it('keeps every duplicate field, top first', () => {
    const m = parseMessage('From: a@b.example\r\nFrom: evil@c.example\r\n\r\n');
    expect(m.all('from').map((f) => f.value.trim())).toEqual(['a@b.example', 'evil@c.example']);
  });

  it('refuses a header line without a colon instead of skipping it', () => {
    expect(() => parseMessage('From: a@b.example\r\nnot a header\r\n\r\nx')).toThrowError(MessageParseError);
    expect(() => parseMessage(' folded: at start\r\n\r\n')).toThrowError(/not a "Name: value" field/);
  });

  it('refuses messages past each hard limit, with the refusal code', () => {
    const tooBig = new Uint8Array(LIMITS.maxMessageBytes + 1).fill(0x61);
    expect(() => parseMessage(tooBig)).toThrowError(expect.objectContaining({ code: 'message-too-large' }) as Error);
    const hugeHeader = `X-Big: ${'a'.repeat(LIMITS.maxHeaderBytes)}\r\n\r\nbody`;
    expect(() => parseMessage(hugeHeader)).toThrowError(expect.objectContaining({ code: 'header-too-large' }) as Error);
    const many = `${'X-A: 1\r\n'.repeat(LIMITS.maxFields + 1)}\r\n`;
    expect(() => parseMessage(many)).toThrowError(expect.objectContaining({ code: 'too-many-fields' }) as Error);
  });

  it('accepts a header-only message with no empty line', () => {
    const m = parseMessage('From: a@b.example\r\nSubject: x');
    expect(m.body).toBe('');
    expect(m.hasBody).toBe(false);
  });

  it('keeps 8-bit bytes intact for hashing and decodes them as UTF-8 for display', () => {
    const m = parseMessage(bytes('Subject: Grüße\r\n\r\n'));
    expect(m.all('subject')[0]!.raw).toBe('Subject: Gr\xc3\xbc\xc3\x9fe');
    expect(decodedValue(m.all('subject')[0]!)).toBe('Grüße');
  });
});

describe('RFC 2047 encoded-words', () => {
  it('decodes B and Q words in any case, joining adjacent words without the space between', () => {
    expect(decodeEncodedWords('=?utf-8?B?QUNNRTog?= =?UTF-8?q?abc_def?=')).toBe('ACME: abc def');
    expect(decodeEncodedWords('=?iso-8859-1?Q?Gr=FC=DFe?= from')).toBe('Grüße from');
  });

  it('leaves words with an unknown charset or broken base64 as written', () => {
    expect(decodeEncodedWords('=?x-unknown?B?QUJD?=')).toBe('=?x-unknown?B?QUJD?=');
    expect(decodeEncodedWords('=?utf-8?B?@@@?=')).toBe('=?utf-8?B?@@@?=');
  });
});

describe('RFC 5322 address lists', () => {
  it('reads display names, comments, quoted local parts and groups', () => {
    expect(parseAddressList('"ACME, CA" <Acme@CA.Example> (challenge sender)')).toEqual([
      { name: 'ACME, CA', address: 'Acme@ca.example', local: 'Acme', domain: 'ca.example' },
    ]);
    expect(parseAddressList('(comment (nested)) plain@example.org').map((m) => m.address)).toEqual(['plain@example.org']);
    expect(parseAddressList('"john smith"@example.org').map((m) => m.address)).toEqual(['"john smith"@example.org']);
    expect(parseAddressList('team: a@x.example, b@y.example;, c@z.example').map((m) => m.address)).toEqual(['a@x.example', 'b@y.example', 'c@z.example']);
    expect(parseAddressList('=?utf-8?q?J=C3=BCrgen?= <j@x.example>')[0]!.name).toBe('Jürgen');
  });

  it('does not take a decoy address in the display name for the real one', () => {
    const [m] = parseAddressList('"acme-challenge@ca.example" <evil@attacker.example>');
    expect(m!.address).toBe('evil@attacker.example');
  });

  it('refuses source routes, unbalanced brackets and runaway comment nesting', () => {
    expect(() => parseAddressList('<@relay.example:a@b.example>')).toThrowError(AddressParseError);
    expect(() => parseAddressList('A <a@b.example')).toThrowError(AddressParseError);
    expect(() => parseAddressList(`${'('.repeat(100)}x${')'.repeat(100)} a@b.example`)).toThrowError(/nested too deeply/);
    expect(() => parseAddressList('no-at-sign')).toThrowError(AddressParseError);
  });
});

describe('addresses we might write into a reply', () => {
  it('refuses control characters in an address', () => {
    expect(() => parseAddressList('<a\x01b@example.org>')).toThrowError(/control characters/);
  });
});

describe('strings given instead of bytes', () => {
  it('reads a string with characters above U+00FF as its UTF-8 bytes (regression: differential test, "é" body)', () => {
    const m = parseMessage('Subject: Grüße ✓\r\n\r\n');
    expect(m.all('subject')[0]!.raw).toBe('Subject: Gr\xc3\xbc\xc3\x9fe \xe2\x9c\x93');
  });
});
