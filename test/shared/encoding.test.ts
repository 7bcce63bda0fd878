import { describe, expect, it } from 'vitest';
import { base64UrlDecode, base64UrlEncode, Base64UrlError, utf8 } from '../../src/shared/base64url';

describe('base64url (RFC 4648 §5, unpadded)', () => {
  it('encodes the RFC 4648 §10 vectors without padding and with the URL alphabet', () => {
    const vectors: [string, string][] = [['', ''], ['f', 'Zg'], ['fo', 'Zm8'], ['foo', 'Zm9v'], ['foob', 'Zm9vYg'], ['fooba', 'Zm9vYmE'], ['foobar', 'Zm9vYmFy']];
    for (const [plain, encoded] of vectors) {
      expect(base64UrlEncode(utf8(plain))).toBe(encoded);
      expect(new TextDecoder().decode(base64UrlDecode(encoded))).toBe(plain);
    }
    expect(base64UrlEncode(new Uint8Array([0xfb, 0xff]))).toBe('-_8');
  });

  it('round-trips every length up to 64 bytes', () => {
    for (let n = 0; n <= 64; n++) {
      const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 37 + n) & 0xff);
      expect(base64UrlDecode(base64UrlEncode(bytes))).toEqual(bytes);
    }
  });

  it('refuses padding, standard-alphabet characters, impossible lengths and stray bits', () => {
    expect(() => base64UrlDecode('Zg==')).toThrow(Base64UrlError);
    expect(() => base64UrlDecode('a+b/')).toThrow(Base64UrlError);
    expect(() => base64UrlDecode('abcde')).toThrow(Base64UrlError);
    expect(() => base64UrlDecode('Zh')).toThrow(/non-canonical/);
  });
});
