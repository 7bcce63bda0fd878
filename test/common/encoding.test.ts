import { describe, expect, it } from 'vitest';
import {
  base64Decode,
  base64DecodeMime,
  base64Encode,
  base64UrlDecode,
  base64UrlEncode,
  binaryToBytes,
  bytesToBinary,
  bytesToHex,
  concatBytes,
  EncodingError,
  hexToBytes,
  pemDecodeAll,
  pemEncode,
  utf8,
} from '../../src/common/encoding';

/** RFC 4648 §10 test vectors. */
const RFC4648: [string, string][] = [['', ''], ['f', 'Zg=='], ['fo', 'Zm8='], ['foo', 'Zm9v'], ['foob', 'Zm9vYg=='], ['fooba', 'Zm9vYmE='], ['foobar', 'Zm9vYmFy']];
const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);
const sample = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 37 + n) & 0xff);

describe('base64url (RFC 4648 §5, unpadded)', () => {
  it('encodes the RFC 4648 §10 vectors without padding and with the URL alphabet', () => {
    for (const [plain, padded] of RFC4648) {
      const encoded = padded.replace(/=+$/, '');
      expect(base64UrlEncode(utf8(plain))).toBe(encoded);
      expect(text(base64UrlDecode(encoded))).toBe(plain);
    }
    expect(base64UrlEncode(new Uint8Array([0xfb, 0xff]))).toBe('-_8');
  });

  it('round-trips every length up to 64 bytes, and agrees with Node', () => {
    for (let n = 0; n <= 64; n++) {
      const bytes = sample(n);
      expect(base64UrlEncode(bytes)).toBe(Buffer.from(bytes).toString('base64url'));
      expect(base64UrlDecode(base64UrlEncode(bytes))).toEqual(bytes);
    }
  });

  it('refuses padding, standard-alphabet characters, impossible lengths and stray bits', () => {
    expect(() => base64UrlDecode('Zg==')).toThrow(EncodingError);
    expect(() => base64UrlDecode('a+b/')).toThrow(EncodingError);
    expect(() => base64UrlDecode('abcde')).toThrow(EncodingError);
    expect(() => base64UrlDecode('Zh')).toThrow(/non-canonical/);
  });
});

describe('base64 (RFC 4648 §4)', () => {
  it('encodes and decodes the RFC 4648 §10 vectors with padding', () => {
    for (const [plain, encoded] of RFC4648) {
      expect(base64Encode(utf8(plain))).toBe(encoded);
      expect(text(base64Decode(encoded))).toBe(plain);
    }
    for (let n = 0; n <= 64; n++) expect(base64Encode(sample(n))).toBe(Buffer.from(sample(n)).toString('base64'));
  });

  it('by default requires padding and the standard alphabet, tolerates stray bits as atob does', () => {
    expect(() => base64Decode('Zg')).toThrow(/padding missing/);
    expect(() => base64Decode('-_8=')).toThrow(/not a base64 character/);
    expect(() => base64Decode('Zg=a')).toThrow(/misplaced/);
    expect(() => base64Decode('Z===')).toThrow(/misplaced/);
    expect(() => base64Decode('Zg= ')).toThrow(/misplaced/);
    expect(() => base64Decode('Zm9 v')).toThrow(EncodingError);
    expect(base64Decode('Zh==')).toEqual(new Uint8Array([0x66]));
    expect(() => base64Decode('Zh==', { canonical: true })).toThrow(/non-canonical/);
  });

  it('padding optional: right padding or none, never wrong padding', () => {
    const o = { padding: 'optional' } as const;
    expect(text(base64Decode('Zm8', o))).toBe('fo');
    expect(text(base64Decode('Zm8=', o))).toBe('fo');
    expect(() => base64Decode('Zm8==', o)).toThrow(/padding/);
    expect(() => base64Decode('Zg=', o)).toThrow(/padding/);
    expect(() => base64Decode('Zm8=', { padding: 'forbidden' })).toThrow(/not allowed/);
  });

  it('either alphabet: one or the other, never both in one text', () => {
    const o = { alphabet: 'either', padding: 'optional' } as const;
    expect(base64Decode('-_8', o)).toEqual(new Uint8Array([0xfb, 0xff]));
    expect(base64Decode('+/8=', o)).toEqual(new Uint8Array([0xfb, 0xff]));
    expect(() => base64Decode('+_8=', o)).toThrow(/mixes/);
    expect(() => base64Decode('-/8', o)).toThrow(/mixes/);
    expect(() => base64Decode('ab.c', o)).toThrow(/not a base64 character/);
  });

  it('MIME bodies (RFC 2045 §6.8): line breaks and foreign characters ignored', () => {
    const body = Buffer.from(sample(100)).toString('base64').replace(/.{76}/g, '$&\r\n');
    expect(base64DecodeMime(body)).toEqual(sample(100));
    expect(text(base64DecodeMime('Zm9v\r\nY!mFy'))).toBe('foobar');
    expect(text(base64DecodeMime('Zm9vY'))).toBe('foo');
  });
});

describe('PEM (RFC 7468)', () => {
  it('writes 64-character lines and reads every block back, text around them skipped', () => {
    const der = sample(100);
    const pem = pemEncode('CERTIFICATE', der);
    expect(pem.split('\n').slice(1, -2).every((line) => line.length <= 64)).toBe(true);
    expect(pem.split('\n')[1]).toHaveLength(64);
    const blocks = pemDecodeAll(`Subject: test\n${pem}between\n${pemEncode('PUBLIC KEY', sample(3))}`);
    expect(blocks.map((b) => b.label)).toEqual(['CERTIFICATE', 'PUBLIC KEY']);
    expect(blocks[0]!.der).toEqual(der);
    expect(blocks[1]!.der).toEqual(sample(3));
  });

  it('refuses mismatched labels, bad labels and bodies that are not base64', () => {
    expect(() => pemDecodeAll('-----BEGIN A-----\nZm9v\n-----END B-----')).toThrow(/ends with/);
    expect(() => pemDecodeAll('-----BEGIN A-----\nZm9\n-----END A-----')).toThrow(/not valid base64/);
    expect(() => pemEncode('lower', sample(1))).toThrow(EncodingError);
  });
});

describe('bytes', () => {
  it('binary strings, concatenation and hex', () => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    expect(binaryToBytes(bytesToBinary(all))).toEqual(all);
    expect(bytesToBinary(new Uint8Array(0x9000).fill(0x41))).toBe('A'.repeat(0x9000));
    expect(concatBytes(new Uint8Array([1]), new Uint8Array(0), new Uint8Array([2, 3]))).toEqual(new Uint8Array([1, 2, 3]));
    expect(bytesToHex(new Uint8Array([0, 0xab, 0x10]))).toBe('00ab10');
    expect(bytesToHex(new Uint8Array([0, 0xab]), ':')).toBe('00:ab');
    expect(hexToBytes('00aB10')).toEqual(new Uint8Array([0, 0xab, 0x10]));
    expect(() => hexToBytes('abc')).toThrow(EncodingError);
    expect(() => hexToBytes('zz')).toThrow(EncodingError);
  });
});
