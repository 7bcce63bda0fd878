import { describe, expect, it } from 'vitest';
import { verifyDkim } from '../../src/messages/dkim';
import { createZoneResolver } from '../../src/messages/dns';
import { parseMessage } from '../../src/messages/rfc5322';
import { challengeMail, crypto, ed25519Key, keyRecord, NOW, rsaKey, signWithMailauth } from './support';

const rsa = rsaKey();
const ed = ed25519Key();
const zone = createZoneResolver({ 'sel._domainkey.ca.example': [keyRecord(rsa)], 'ed._domainkey.ca.example': [keyRecord(ed)] });
const verify = (raw: string) => verifyDkim(parseMessage(raw), { resolver: zone, crypto, now: () => NOW });

describe('smoke', () => {
  for (const canonicalization of ['relaxed/relaxed', 'simple/simple', 'relaxed/simple', 'simple/relaxed']) {
    it(`rsa ${canonicalization}`, async () => {
      const signed = await signWithMailauth(challengeMail(), { key: rsa, canonicalization });
      const [r] = await verify(signed);
      expect(r?.reason).toMatch(/verified/);
      expect(r?.result).toBe('pass');
    });
    it(`ed25519 ${canonicalization}`, async () => {
      const signed = await signWithMailauth(challengeMail(), { key: ed, selector: 'ed', canonicalization });
      const [r] = await verify(signed);
      expect(r?.reason).toMatch(/verified/);
      expect(r?.result).toBe('pass');
    });
  }
});
