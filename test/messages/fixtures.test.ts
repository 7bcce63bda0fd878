/** Fixtures kept whole from their source (test/fixtures/messages/README.md). */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { recognizeChallenge } from '../../src/messages/challenge';
import { inspectChallengeMail } from '../../src/messages/check';
import { verifyDkim } from '../../src/messages/dkim';
import { createZoneResolver, parseZoneFile } from '../../src/messages/dns';
import { parseMessage } from '../../src/messages/rfc5322';
import { crypto, TOKEN1 } from './support';

const fixture = (name: string): Buffer => readFileSync(new URL(`../fixtures/messages/${name}`, import.meta.url));
const rfc8463Zone = createZoneResolver(parseZoneFile(fixture('rfc8463-A.2-zone.json').toString('utf8')));
const after2018 = (): Date => new Date('2018-06-10T13:38:29Z');

describe('RFC 8463 Appendix A test vector', () => {
  it('rfc8463-A.3: both the Ed25519 and the RSA signature verify', async () => {
    const results = await verifyDkim(parseMessage(fixture('rfc8463-A.3.eml')), { resolver: rfc8463Zone, crypto, now: after2018 });
    expect(results.map((r) => [r.algorithm, r.result, r.domain, r.selector])).toEqual([
      ['ed25519-sha256', 'pass', 'football.example.com', 'brisbane'],
      ['rsa-sha256', 'pass', 'football.example.com', 'test'],
    ]);
    expect(results[1]!.keyBits).toBe(1024);
    expect(results[0]!.signedHeaders).toEqual(['from', 'to', 'subject', 'date', 'message-id', 'from', 'subject', 'date']);
  });

  it('rfc8463-A.3-body_modified: both fail', async () => {
    const tampered = fixture('rfc8463-A.3.eml').toString('latin1').replace('We lost the game.', 'We won the game.');
    const results = await verifyDkim(parseMessage(tampered), { resolver: rfc8463Zone, crypto, now: after2018 });
    expect(results.map((r) => r.result)).toEqual(['fail', 'fail']);
  });

  it('rfc8463-A.3-from_modified: the signature, not the body hash, fails', async () => {
    const tampered = fixture('rfc8463-A.3.eml').toString('latin1').replace('From: Joe SixPack', 'From: Joe Sixpack');
    const results = await verifyDkim(parseMessage(tampered), { resolver: rfc8463Zone, crypto, now: after2018 });
    expect(results.map((r) => r.reason)).toEqual([expect.stringMatching(/signature did not verify/), expect.stringMatching(/signature did not verify/)]);
  });

  it('rfc8463-A.3 is not a challenge: refused before any DNS lookup', async () => {
    const v = await inspectChallengeMail(fixture('rfc8463-A.3.eml'), {}, { resolver: rfc8463Zone, crypto, now: after2018 });
    expect(v.reasons.map((r) => r.code)).toEqual(['not-a-challenge', 'not-auto-submitted']);
    expect(v.dkim).toEqual([]);
  });
});

describe("Thunderbird's raw message", () => {
  it('thunderbird-getraw-status_prefix: status lines dropped, LF read, folded token joined', () => {
    const m = parseMessage(fixture('thunderbird-getraw-status_prefix.eml'));
    expect(m.fields[0]!.key).toBe('from');
    const r = recognizeChallenge(m);
    expect(r.ok && r.mail.tokenPart1).toBe(TOKEN1);
  });
});
