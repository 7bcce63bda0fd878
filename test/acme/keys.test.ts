import { createPublicKey, createVerify, generateKeyPairSync, verify as nodeVerify, webcrypto } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  accountKeyThumbprint,
  AcmeUsageError,
  algorithmOfJwk,
  exportAccountKey,
  generateAccountKey,
  importAccountKey,
  signingKeyFromPair,
  type JwsAlgorithm,
} from '../../src/acme';
import { signJws } from '../../src/acme/jws';
import { importPkcs8 } from '../../src/pkcs12';
import { base64UrlDecode } from '../../src/common/encoding';
import { verifyJws } from './fake-acme';

const crypto = webcrypto as unknown as Crypto;
const ALGS: JwsAlgorithm[] = ['ES256', 'ES384', 'RS256', 'EdDSA'];

function decode(part: string): Record<string, unknown> {
  return JSON.parse(new TextDecoder().decode(base64UrlDecode(part))) as Record<string, unknown>;
}

describe('account keys and JWS (RFC 7515 §7.2.2, RFC 7518, RFC 8037, RFC 8555 §6.2)', () => {
  it.each(ALGS)('%s: signs a flattened JWS that Node verifies independently', async (alg) => {
    const key = await generateAccountKey(crypto, alg);
    const jws = await signJws(crypto, key, { url: 'https://acme.test/x', nonce: 'abc', ref: { kid: 'https://acme.test/acct/1' }, payload: { json: { a: 1 } } });
    expect(Object.keys(jws).sort()).toEqual(['payload', 'protected', 'signature']);
    expect(decode(jws.protected)).toEqual({ alg, kid: 'https://acme.test/acct/1', nonce: 'abc', url: 'https://acme.test/x' });
    expect(decode(jws.payload)).toEqual({ a: 1 });
    // Node's own verifier, not WebCrypto: ECDSA as IEEE P1363 (r||s, RFC 7518 §3.4), RSA PKCS#1 v1.5, Ed25519.
    const publicKey = createPublicKey({ key: key.publicJwk as import('node:crypto').JsonWebKey, format: 'jwk' });
    const data = Buffer.from(`${jws.protected}.${jws.payload}`);
    const signature = Buffer.from(base64UrlDecode(jws.signature));
    let ok: boolean;
    if (alg === 'EdDSA') ok = nodeVerify(null, data, publicKey, signature);
    else if (alg === 'RS256') ok = createVerify('SHA256').update(data).verify(publicKey, signature);
    else ok = createVerify(alg === 'ES256' ? 'SHA256' : 'SHA384').update(data).verify({ key: publicKey, dsaEncoding: 'ieee-p1363' }, signature);
    expect(ok).toBe(true);
  });

  it.each(ALGS)('%s: a POST-as-GET has an empty payload and a jwk header holds only public members', async (alg) => {
    const key = await generateAccountKey(crypto, alg);
    const jws = await signJws(crypto, key, { url: 'https://acme.test/new-account', nonce: 'n', ref: { jwk: true }, payload: { postAsGet: true } });
    expect(jws.payload).toBe('');
    const header = decode(jws.protected);
    expect(header['kid']).toBeUndefined();
    const jwk = header['jwk'] as Record<string, unknown>;
    expect(Object.keys(jwk).sort()).toEqual(alg === 'RS256' ? ['e', 'kty', 'n'] : alg === 'EdDSA' ? ['crv', 'kty', 'x'] : ['crv', 'kty', 'x', 'y']);
    expect(await verifyJws(crypto, jws, key.publicJwk)).toBeUndefined();
  });

  it.each(ALGS)('%s: survives export to JWK and import, keeping its thumbprint and signing ability', async (alg) => {
    const key = await generateAccountKey(crypto, alg);
    const saved = JSON.parse(JSON.stringify(await exportAccountKey(key, crypto))) as JsonWebKey;
    expect(saved.alg).toBe(alg);
    expect(saved.d).toBeTypeOf('string');
    const back = await importAccountKey(saved, crypto);
    expect(back.alg).toBe(alg);
    expect(back.publicJwk).toEqual(key.publicJwk);
    expect(await accountKeyThumbprint(back, crypto)).toBe(await accountKeyThumbprint(key, crypto));
    const jws = await signJws(crypto, back, { url: 'https://acme.test/x', nonce: 'n', ref: { kid: 'k' }, payload: { json: {} } });
    expect(await verifyJws(crypto, jws, key.publicJwk)).toBeUndefined();
  });

  it('refuses a public-only JWK, a mismatched alg, an unknown curve and short RSA keys', async () => {
    const key = await generateAccountKey(crypto, 'ES256');
    await expect(importAccountKey(key.publicJwk, crypto)).rejects.toBeInstanceOf(AcmeUsageError);
    expect(() => algorithmOfJwk({ ...key.publicJwk, alg: 'RS256' })).toThrow(AcmeUsageError);
    expect(() => algorithmOfJwk({ kty: 'EC', crv: 'P-521', x: 'A', y: 'B' })).toThrow(/P-521/);
    await expect(generateAccountKey(crypto, 'RS256', { rsaModulusLength: 1024 })).rejects.toThrow(/2048/);
  });

  it('makes a signing key from a WebCrypto pair with a non-extractable private key (revocation by certificate key)', async () => {
    const pair = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-384' }, false, ['sign', 'verify']));
    const key = await signingKeyFromPair(pair, crypto);
    expect(key.alg).toBe('ES384');
    const oaep = (await crypto.subtle.generateKey({ name: 'RSA-OAEP', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' }, false, ['encrypt', 'decrypt']));
    await expect(signingKeyFromPair(oaep, crypto)).rejects.toThrow(/RSASSA-PKCS1-v1_5/);
    await expect(exportAccountKey(key, crypto)).rejects.toThrow(/not extractable/);
  });

  it.each([
    ['ES256', () => generateKeyPairSync('ec', { namedCurve: 'P-256' })],
    ['ES384', () => generateKeyPairSync('ec', { namedCurve: 'P-384' })],
    ['RS256', () => generateKeyPairSync('rsa', { modulusLength: 2048 })],
  ] as const)('%s: a signing key from a certificate key out of its .p12 (PKCS#8 read by src/pkcs12, not extractable)', async (alg, make) => {
    const { privateKey, publicKey } = make();
    const pair = await importPkcs8(new Uint8Array(privateKey.export({ type: 'pkcs8', format: 'der' })), crypto, { extractable: false });
    const key = await signingKeyFromPair(pair, crypto);
    expect(key.alg).toBe(alg);
    expect(key.privateKey.extractable).toBe(false);
    const { key_ops: _ops, ext: _ext, ...expected } = publicKey.export({ format: 'jwk' }) as JsonWebKey;
    expect(key.publicJwk).toEqual(expected);
    const jws = await signJws(crypto, key, { url: 'https://acme.test/revoke', nonce: 'n', ref: { jwk: true }, payload: { json: {} } });
    expect(await verifyJws(crypto, jws, expected)).toBeUndefined();
  });
});
