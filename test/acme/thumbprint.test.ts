import { webcrypto } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { jwkThumbprint, thumbprintInput, UnsupportedJwkError } from '../../src/acme/thumbprint';

const crypto = webcrypto as unknown as Crypto;

// RFC 7638 §3.1, the worked example.
const rfc7638Key = {
  kty: 'RSA',
  n: '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw',
  e: 'AQAB',
  alg: 'RS256',
  kid: '2011-04-29',
} as JsonWebKey;

describe('JWK thumbprint (RFC 7638)', () => {
  it('matches the RFC 7638 §3.1 example, ignoring non-required members', async () => {
    expect(thumbprintInput(rfc7638Key).startsWith('{"e":"AQAB","kty":"RSA","n":"0vx7')).toBe(true);
    expect(await jwkThumbprint(rfc7638Key, crypto)).toBe('NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs');
  });

  it('agrees with Node for a fresh EC key', async () => {
    const pair = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
    const jwk = await crypto.subtle.exportKey('jwk', pair.publicKey);
    const { createPublicKey } = await import('node:crypto');
    const nodeThumb = createPublicKey({ key: jwk as import('node:crypto').JsonWebKey, format: 'jwk' });
    expect(nodeThumb.asymmetricKeyType).toBe('ec');
    expect(await jwkThumbprint(jwk, crypto)).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(thumbprintInput(jwk)).toBe(`{"crv":"P-256","kty":"EC","x":"${jwk.x}","y":"${jwk.y}"}`);
  });

  it('refuses keys it has no rule for or that miss members', () => {
    expect(() => thumbprintInput({ kty: 'oct', k: 'AAAA' })).toThrow(UnsupportedJwkError);
    expect(() => thumbprintInput({ kty: 'EC', crv: 'P-256', x: 'AA' })).toThrow(/"y" is missing/);
  });
});
