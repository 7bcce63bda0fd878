/**
 * Fuzzing the challenge-mail core (src/messages): the RFC 5322 header parser, the RFC 2047
 * encoded-word decoder, addresses, DKIM tag lists and key records, Authentication-Results, DNS
 * answers, and the whole decision. Each may return or throw its own typed error; anything else
 * is a crash, and an input unanswered for HANG_MS is a hang (./guard.ts).
 */
import { webcrypto } from 'node:crypto';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  AddressParseError,
  checkChallengeMail,
  createZoneResolver,
  decodeEncodedWords,
  decodeTxtResponse,
  decodeWordsInText,
  DnsFormatError,
  MessageParseError,
  parseAddressList,
  parseAuthenticationResults,
  parseMessage,
  parseTagList,
  TagListError,
  verifyDkim,
} from '../../src/messages/index';
import { challengeMail, makeContext, signAsCa, CA_FROM, IDENTITY, type ForgeryContext } from '../fixtures/forgery/mutations';
import { txtResponse } from '../security/flow';
import { TEST_TIMEOUT_MS, fuzz, mailBytes, mutated, mutatedBytes, RUNS, type Tally } from './guard';

const crypto = webcrypto as unknown as Crypto;
const nothing = (): boolean => false;
const results: Tally[] = [];
let ctx: ForgeryContext;
let genuine: string;
let t0: number;

beforeAll(async () => {
  t0 = Date.now();
  ctx = makeContext(t0);
  genuine = await signAsCa(ctx, challengeMail(ctx));
  return () => {
    ctx.remove();
  };
}, 60_000);

function clean(t: Tally): void {
  results.push(t);
  expect(t.examples, t.target).toEqual([]);
  expect(t.crashes).toBe(0);
  expect(t.hangs).toBe(0);
}

/** Encoded-words built from their grammar (RFC 2047 §2), with the pieces that go wrong. */
const encodedWord = fc
  .tuple(
    fc.constantFrom('utf-8', 'UTF-8', 'iso-8859-1', 'us-ascii', 'utf-16', 'utf-16le', 'windows-1252', 'iso-2022-jp', 'x-unknown', '', 'utf-8*en', 'gb18030'),
    fc.constantFrom('B', 'b', 'Q', 'q', 'X', ''),
    fc.oneof(mailBytes(60), fc.base64String({ maxLength: 80 }), fc.stringMatching(/^(=[0-9A-Fa-f]{2}|[A-Za-z_=?])*$/)),
  )
  .map(([charset, encoding, text]) => `=?${charset}?${encoding}?${text}?=`);
const headerValue = fc.array(fc.oneof(encodedWord, mailBytes(40), fc.constantFrom(' ', '\r\n ', '\t', '=?', '?=')), { maxLength: 8 }).map((parts) => parts.join(''));

describe('fuzz: src/messages', () => {
  it('parseMessage: random bytes and mutated challenge mails → a message or MessageParseError', async () => {
    clean(await fuzz('rfc5322 parseMessage', fc.oneof(mailBytes(4000), mutated(genuine, 10)), (raw) => {
      const m = parseMessage(raw);
      for (const name of ['from', 'to', 'subject', 'dkim-signature']) m.all(name);
    }, (e) => e instanceof MessageParseError));
  }, TEST_TIMEOUT_MS);

  it('parseMessage: binary input (Uint8Array) with NUL and high bytes', async () => {
    clean(await fuzz('rfc5322 parseMessage bytes', fc.uint8Array({ maxLength: 3000 }), (raw) => parseMessage(raw), (e) => e instanceof MessageParseError));
  }, TEST_TIMEOUT_MS);

  it('decodeEncodedWords / decodeWordsInText: never throw', async () => {
    clean(await fuzz('rfc2047 decoder', headerValue, (value) => {
      const a = decodeEncodedWords(value);
      const b = decodeWordsInText(value);
      if (typeof a !== 'string' || typeof b !== 'string') throw new TypeError('not a string');
    }, nothing));
  }, TEST_TIMEOUT_MS);

  it('parseAddressList: mailboxes, groups, comments, encoded-words → a list or AddressParseError', async () => {
    const address = fc.array(fc.oneof(headerValue, fc.constantFrom('"', '\\', '<', '>', '@', ',', ';', ':', '(', ')', '[', ']', ' ', 'a', 'b.c', CA_FROM, IDENTITY)), { maxLength: 20 }).map((p) => p.join(''));
    clean(await fuzz('address list', address, (value) => parseAddressList(value), (e) => e instanceof AddressParseError));
  }, TEST_TIMEOUT_MS);

  it('parseTagList: DKIM signature and key-record tag lists → a map or TagListError', async () => {
    const sig = /^DKIM-Signature:([^]*?)\r\n(?=\S)/.exec(genuine)?.[1] ?? '';
    const tagList = fc.oneof(
      mutated(sig, 8),
      mutated(ctx.zone['sel._domainkey.ca.example']![0]!, 8),
      fc.array(fc.tuple(fc.oneof(fc.constantFrom('v', 'a', 'b', 'bh', 'd', 'h', 's', 'l', 't', 'x', 'p', 'k', 'i', '1x', ''), mailBytes(5)), mailBytes(30)), { maxLength: 80 })
        .map((tags) => tags.map(([k, v]) => `${k}=${v}`).join(';')),
    );
    clean(await fuzz('dkim tag list', tagList, (text) => parseTagList(text), (e) => e instanceof TagListError));
  }, TEST_TIMEOUT_MS);

  it('verifyDkim: mutated signatures against mutated key records → results, never an exception', async () => {
    const record = ctx.zone['sel._domainkey.ca.example']![0]!;
    const input = fc.tuple(mutated(genuine.slice(0, genuine.indexOf('\r\nFrom:')), 6), fc.oneof(fc.constant(record), mutated(record, 6)));
    clean(await fuzz('dkim verify + key record', input, async ([signature, keyRecord]) => {
      let message;
      try {
        message = parseMessage(`${signature}${genuine.slice(genuine.indexOf('\r\nFrom:'))}`);
      } catch (error) {
        if (error instanceof MessageParseError) return;
        throw error;
      }
      const found = await verifyDkim(message, { resolver: createZoneResolver({ 'sel._domainkey.ca.example': [keyRecord] }), crypto, now: () => new Date(t0 + 60_000) });
      if (!Array.isArray(found)) throw new TypeError('not a result list');
    }, nothing, Math.max(1, Math.floor(RUNS / 2))));
  }, TEST_TIMEOUT_MS);

  it('parseAuthenticationResults: null or a result, never an exception', async () => {
    const value = fc.oneof(mutated('mx.example.org; dkim=pass (good) header.d=ca.example header.s=sel header.b="abc"; spf=none smtp.mailfrom=x@y', 8), headerValue);
    clean(await fuzz('authentication-results', value, (v) => parseAuthenticationResults(v), nothing));
  }, TEST_TIMEOUT_MS);

  it('decodeTxtResponse: DNS answers → TXT records or DnsFormatError', async () => {
    const query = Uint8Array.from([0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 3, 115, 101, 108, 10, 95, 100, 111, 109, 97, 105, 110, 107, 101, 121, 2, 99, 97, 7, 101, 120, 97, 109, 112, 108, 101, 0, 0, 16, 0, 1]);
    const answer = txtResponse(query, ['v=DKIM1; k=rsa; p=' + 'A'.repeat(400)]);
    clean(await fuzz('dns txt response', fc.oneof(fc.uint8Array({ maxLength: 600 }), mutatedBytes(answer, 6)), (bytes) => decodeTxtResponse(bytes), (e) => e instanceof DnsFormatError));
  }, TEST_TIMEOUT_MS);

  it('checkChallengeMail: the whole decision on mutated genuine mails → a verdict, never an exception', async () => {
    clean(await fuzz('challenge check', mutated(genuine, 6), async (raw) => {
      const verdict = await checkChallengeMail(raw, { identity: IDENTITY, challengeFrom: CA_FROM, orderCreatedAt: new Date(t0) }, { resolver: createZoneResolver(ctx.zone), crypto, now: () => new Date(t0 + 120_000) });
      if (!['answer', 'refuse'].includes(verdict.verdict)) throw new TypeError('no verdict');
    }, nothing, Math.max(1, Math.floor(RUNS / 2))));
  }, TEST_TIMEOUT_MS);

  it('figure', () => {
    const inputs = results.reduce((a, t) => a + t.inputs, 0);
    console.log(`fuzz: inputs=${inputs} crashes=${results.reduce((a, t) => a + t.crashes, 0)} hangs=${results.reduce((a, t) => a + t.hangs, 0)} (src/messages, ${results.length} targets)`);
    expect(results.length).toBe(9);
  });
});
