import { describe, expect, it } from 'vitest';
import { recognizeChallenge, tokenFromSubject } from '../../src/messages/challenge';
import { parseMessage } from '../../src/messages/rfc5322';
import { challengeMail, TOKEN1 } from './support';

const recognize = (raw: string) => recognizeChallenge(parseMessage(raw));
const codes = (raw: string): string[] => {
  const r = recognize(raw);
  return r.ok ? [] : r.refusals.map((x) => x.code);
};

describe('RFC 8823 §3.1 challenge recognition', () => {
  it('recognises a plain challenge and reads its addresses, ids and date', () => {
    const r = recognize(challengeMail({ extraHeaders: ['Reply-To: <replies@ca.example>', 'References: <older@ca.example>'] }));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.mail.tokenPart1).toBe(TOKEN1);
    expect(r.mail.from.address).toBe('acme-challenge@ca.example');
    expect(r.mail.to.address).toBe('alice@example.org');
    expect(r.mail.replyTo.map((m) => m.address)).toEqual(['replies@ca.example']);
    expect(r.mail.messageId).toBe('<challenge-1@ca.example>');
    expect(r.mail.references).toEqual(['<older@ca.example>']);
    expect(r.mail.date?.toISOString()).toBe('2026-11-23T18:00:00.000Z');
  });

  it('reads a token folded over several lines (fixture: folded subject)', () => {
    const folded = `ACME: ${TOKEN1.slice(0, 20)}\r\n ${TOKEN1.slice(20)}`;
    const r = recognize(challengeMail({ subject: folded }));
    expect(r.ok && r.mail.tokenPart1).toBe(TOKEN1);
  });

  it('reads a token inside RFC 2047 encoded-words, split across two words', () => {
    const b64 = (s: string): string => Buffer.from(s).toString('base64');
    const subject = `=?UTF-8?B?${b64(`ACME: ${TOKEN1.slice(0, 30)}`)}?=\r\n =?UTF-8?Q?${TOKEN1.slice(30)}?=`;
    const r = recognize(challengeMail({ subject }));
    expect(r.ok && r.mail.tokenPart1).toBe(TOKEN1);
  });

  it('accepts Auto-Submitted with and without "; type=acme", and refuses other values', () => {
    expect(codes(challengeMail({ autoSubmitted: 'auto-generated' }))).toEqual([]);
    expect(codes(challengeMail({ autoSubmitted: 'Auto-Generated (by the CA); type=acme' }))).toEqual([]);
    expect(codes(challengeMail({ autoSubmitted: 'auto-replied' }))).toEqual(['not-auto-submitted']);
    expect(codes(challengeMail({ autoSubmitted: null }))).toEqual(['not-auto-submitted']);
  });

  it('refuses replies, short tokens and tokens that are neither base64url nor base64', () => {
    expect(codes(challengeMail({ subject: `Re: ACME: ${TOKEN1}` }))).toEqual(['not-a-challenge']);
    expect(codes(challengeMail({ subject: 'ACME: abcdefghijklmnop' }))).toEqual(['token-too-short']);
    expect(codes(challengeMail({ subject: `ACME: ${TOKEN1.slice(0, 30)}.!${TOKEN1.slice(32)}` }))).toEqual(['token-invalid']);
    expect(codes(challengeMail({ subject: `ACME: ${TOKEN1.slice(0, 30)}-+${TOKEN1.slice(32)}` }))).toEqual(['token-invalid']);
    expect(codes(challengeMail({ subject: 'ACME:' }))).toEqual(['not-a-challenge']);
  });

  it('recognises the RFC 8823 §3.1 example subject, padding and all (fixture: rfc8823-3.1 subject)', () => {
    const r = recognize(challengeMail({ subject: 'ACME: LgYemJLy3F1LDkiJrdIGbEzyFJyOyf6vBdyZ1TG3sME=' }));
    expect(r.ok && r.mail.tokenPart1).toBe('LgYemJLy3F1LDkiJrdIGbEzyFJyOyf6vBdyZ1TG3sME=');
  });

  it('refuses duplicate From, To, Subject and Auto-Submitted fields (fixture: duplicate From)', () => {
    expect(codes(challengeMail({ extraHeaders: ['From: evil@attacker.example'] }))).toEqual(['duplicate-from']);
    expect(codes(challengeMail({ extraHeaders: ['To: bob@example.org'] }))).toEqual(['duplicate-to']);
    expect(codes(challengeMail({ extraHeaders: [`Subject: ACME: ${TOKEN1}`] }))).toEqual(['duplicate-subject']);
    expect(codes(challengeMail({ extraHeaders: ['Auto-Submitted: auto-generated'] }))).toEqual(['duplicate-auto-submitted']);
  });

  it('refuses a From or To naming more than one address', () => {
    expect(codes(challengeMail({ from: 'a@ca.example>, <b@ca.example' }))).toEqual(['multiple-from-addresses']);
    expect(codes(challengeMail({ to: 'alice@example.org>, <bob@example.org' }))).toEqual(['multiple-to-addresses']);
  });

  it('reports every problem at once', () => {
    expect(codes(challengeMail({ autoSubmitted: null, extraHeaders: ['From: evil@attacker.example'] })).sort()).toEqual(['duplicate-from', 'not-auto-submitted']);
  });
});

describe('token-part1 from a subject', () => {
  const code = (subject: string): string | null => {
    const r = tokenFromSubject(subject);
    return r.ok ? null : r.refusal.code;
  };
  /** 23 bytes whose encodings use every alphabet-specific character: '+' '/' or '-' '_'. */
  const BYTES23 = Buffer.from([...Array<number[]>(7).fill([0xfb, 0xff, 0xbf]).flat(), 0xfe, 0xef]);
  const STD = BYTES23.toString('base64');
  const URL = BYTES23.toString('base64url');

  it('drops whitespace inside the token and ignores the case of "ACME:"', () => {
    expect(tokenFromSubject(`acme:  ${TOKEN1.slice(0, 10)} ${TOKEN1.slice(10)} `)).toEqual({ ok: true, token: TOKEN1 });
  });

  it('keeps the token as written: base64url or base64, padded or not', () => {
    expect(STD).toBe('+/+/+/+/+/+/+/+/+/+/+/+/+/+//u8=');
    for (const token of [TOKEN1, `${TOKEN1}=`, STD, STD.replace(/=$/, ''), URL, `${URL}=`]) {
      expect(tokenFromSubject(`ACME: ${token}`)).toEqual({ ok: true, token });
    }
    // Folded inside the padding's group: whitespace goes, the '=' stays.
    expect(tokenFromSubject(`ACME: ${STD.slice(0, 29)}\r\n ${STD.slice(29)}`)).toEqual({ ok: true, token: STD });
  });

  it('refuses mixed alphabets, wrong or misplaced padding, stray bits and other characters', () => {
    expect(code(`ACME: ${STD.replace('/', '_')}`)).toBe('token-invalid'); // '+' with '_'
    expect(code(`ACME: ${URL.replace('-', '+')}`)).toBe('token-invalid'); // '+' with '-'
    expect(code(`ACME: ${TOKEN1}==`)).toBe('token-invalid'); // 43 characters take one '='
    expect(code(`ACME: ${TOKEN1.slice(0, 20)}=${TOKEN1.slice(20)}`)).toBe('token-invalid');
    expect(code(`ACME: ${TOKEN1.slice(0, 42)}F=`)).toBe('token-invalid'); // 'F' leaves non-zero spare bits
    expect(code(`ACME: ${TOKEN1}%`)).toBe('token-invalid');
    expect(code('ACME: ===')).toBe('token-invalid');
  });

  it('counts the bits once decoded: 128 in either alphabet, padding not counted', () => {
    const b16 = Buffer.alloc(16, 0xfb);
    const b15 = Buffer.alloc(15, 0xfb);
    expect(tokenFromSubject(`ACME: ${b16.toString('base64')}`).ok).toBe(true); // 22 characters + '=='
    expect(tokenFromSubject(`ACME: ${b16.toString('base64url')}`).ok).toBe(true);
    expect(code(`ACME: ${b15.toString('base64')}`)).toBe('token-too-short'); // 20 characters, 120 bits
    expect(code(`ACME: ${b15.toString('base64url')}`)).toBe('token-too-short');
  });
});
