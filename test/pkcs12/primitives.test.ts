/**
 * The hand-written primitives checked against independent implementations: SHA-1/SHA-256
 * against Node, 3DES and RC2 against `openssl enc`, Punycode against Node's `url.domainToUnicode`.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes, webcrypto } from 'node:crypto';
import { domainToUnicode as nodeDomainToUnicode } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { DES_SBOXES, rc2CbcDecrypt, tripleDesCbcDecrypt, tripleDesCbcEncrypt } from '../../src/pkcs12/legacy-ciphers';
import { domainToUnicode, punycodeDecode, PunycodeError } from '../../src/pkcs12/punycode';
import { SHA1, SHA256 } from '../../src/pkcs12/sha';
import { KdfPurpose, bmpPassword, pkcs12KdfAsync } from '../../src/pkcs12/kdf';
import { generatePassphrase, parseMailbox } from '../../src/pkcs12';
import { PASSPHRASE_ALPHABET } from '../../src/pkcs12/passphrase';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const crypto = webcrypto as unknown as Crypto;

describe('SHA-1 and SHA-256 (FIPS 180-4)', () => {
  it('match node:crypto on every length around the padding boundaries', () => {
    for (const n of [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 128, 1000]) {
      const data = randomBytes(n);
      expect(hex(SHA1.digest(data))).toBe(createHash('sha1').update(data).digest('hex'));
      expect(hex(SHA256.digest(data))).toBe(createHash('sha256').update(data).digest('hex'));
    }
  });

  it('iterate(data, n) is the n-fold digest', () => {
    const data = randomBytes(100);
    for (const hash of [SHA1, SHA256]) {
      let expected = createHash(hash.name.replace('-', '').toLowerCase()).update(data).digest();
      for (let i = 1; i < 5; i++) expected = createHash(hash.name.replace('-', '').toLowerCase()).update(expected).digest();
      expect(hex(hash.iterate(data, 5))).toBe(expected.toString('hex'));
    }
  });
});

describe('PKCS#12 key derivation (RFC 7292 B.2) in slices', () => {
  it('gives the event loop turns between slices without timers, which a background page clamps to 1 s each', async () => {
    const setTimeoutSpy = vi.spyOn(globalThis, 'setTimeout');
    let turns = 0;
    let running = true;
    // A message-channel ticker: counts how often other tasks got to run during the derivation.
    const { port1, port2 } = new MessageChannel();
    port1.onmessage = () => {
      turns++;
      if (running) port2.postMessage(null);
    };
    port2.postMessage(null);
    try {
      const salt = new Uint8Array(16).fill(7);
      const key = await pkcs12KdfAsync(SHA256, bmpPassword('slices'), salt, 100_000, KdfPurpose.Mac, 32);
      expect(key).toHaveLength(32);
      expect(setTimeoutSpy).not.toHaveBeenCalled();
      expect(turns).toBeGreaterThanOrEqual(3); // 100 000 rounds are four slices of 25 000
    } finally {
      running = false;
      port1.close();
      setTimeoutSpy.mockRestore();
    }
  });
});

describe('legacy ciphers', () => {
  it('every DES S-box row is a permutation of 0..15 (FIPS 46-3)', () => {
    for (const box of DES_SBOXES) for (let row = 0; row < 4; row++) expect([...box.slice(16 * row, 16 * row + 16)].sort((a, b) => a - b)).toEqual([...Array(16).keys()]);
  });

  it('3DES-CBC encrypts as openssl des-ede3-cbc does and decrypts its output', () => {
    for (const n of [0, 7, 8, 100]) {
      const key = randomBytes(24), iv = randomBytes(8), data = randomBytes(n);
      const theirs = execFileSync('openssl', ['enc', '-des-ede3-cbc', '-K', hex(key), '-iv', hex(iv)], { input: data });
      expect(hex(tripleDesCbcEncrypt(key, iv, data))).toBe(theirs.toString('hex'));
      expect(hex(tripleDesCbcDecrypt(key, iv, theirs))).toBe(data.toString('hex'));
    }
  });

  it('RC2-CBC (RFC 2268) decrypts openssl rc2-40-cbc and rc2-cbc output', () => {
    const iv = randomBytes(8), data = randomBytes(45);
    for (const [cipher, key, bits] of [['rc2-40-cbc', randomBytes(5), 40], ['rc2-cbc', randomBytes(16), 128]] as const) {
      const theirs = execFileSync('openssl', ['enc', `-${cipher}`, '-provider', 'legacy', '-provider', 'default', '-K', hex(key), '-iv', hex(iv)], { input: data });
      expect(hex(rc2CbcDecrypt(key, bits, iv, theirs))).toBe(data.toString('hex'));
    }
  });
});

describe('Punycode (RFC 3492) and mailboxes', () => {
  it('decodes A-labels as Node does', () => {
    for (const domain of ['xn--bcher-kva.example', 'xn--mgbh0fb.xn--kgbechtv', 'xn--fsqu00a.xn--4rr70v', 'xn--hxajbheg2az3al.xn--jxalpdlp', 'xn--blbrsyltety-y8ao3x.no', 'plain.example']) {
      expect(domainToUnicode(domain)).toBe(nodeDomainToUnicode(domain));
    }
    // RFC 3492 §7.1 sample (L): Japanese "3<nen>B<gumi><kinpachi><sensei>"
    expect(punycodeDecode('3B-ww4c5e180e575a65lsy2b')).toBe('3年B組金八先生');
    expect(() => punycodeDecode('a!')).toThrow(PunycodeError);
    expect(() => punycodeDecode('99999999999')).toThrow(PunycodeError);
  });

  it('parseMailbox gives A-labels for rfc822Name and U-labels for SmtpUTF8Mailbox and display', () => {
    expect(parseMailbox('Alice@Bücher.Example')).toEqual({
      localPart: 'Alice', asciiDomain: 'xn--bcher-kva.example', unicodeDomain: 'bücher.example', asciiLocalPart: true,
      certificateForm: 'Alice@xn--bcher-kva.example', display: 'Alice@bücher.example',
    });
    const eai = parseMailbox('用户@xn--fsqu00a.xn--4rr70v');
    expect(eai.asciiLocalPart).toBe(false);
    expect(eai.certificateForm).toBe('用户@例子.广告');
    expect(() => parseMailbox('e\u0301@example.org')).toThrow(/normalization form C/);
  });
});

describe('generatePassphrase', () => {
  it('gives six groups of four from the unambiguous alphabet, never twice the same', () => {
    const seen = new Set<string>();
    const counts = new Map<string, number>();
    for (let i = 0; i < 300; i++) {
      const p = generatePassphrase(crypto);
      expect(p).toMatch(/^[a-z2-9]{4}(-[a-z2-9]{4}){5}$/);
      expect(p).not.toMatch(/[01ilo]/);
      seen.add(p);
      for (const ch of p.replace(/-/g, '')) counts.set(ch, (counts.get(ch) ?? 0) + 1);
    }
    expect(seen.size).toBe(300);
    // 7 200 draws over 31 letters: each expected ~232 times; a biased or truncated alphabet would show.
    expect([...counts.keys()].sort().join('')).toBe(Array.from(PASSPHRASE_ALPHABET).sort().join(''));
    for (const n of counts.values()) expect(n).toBeGreaterThan(150);
    expect(() => generatePassphrase(crypto, 3)).toThrow(RangeError);
  });
});
