/**
 * Keys: generation, the encrypted PKCS#8 the enrollment flow stores (read by OpenSSL, and
 * OpenSSL's read by us), import of the PEM forms OpenSSL writes, and the key/certificate match.
 */
import { spawnSync } from 'node:child_process';
import { webcrypto } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeTempDir } from '../helpers/process';
import { openssl } from '../helpers/openssl';
import {
  decryptKeyPair, decryptPrivateKey, describeKey, encryptPrivateKey, generateKey, importPrivateKeyPem, KeyError, PassphrasePolicyError,
  pemEncode, WrongPassphraseError, type KeyType,
} from '../../src/pkcs12';

const crypto = webcrypto as unknown as Crypto;
const tmp = makeTempDir('keys-test');
afterAll(() => {
  tmp.remove();
});

async function spki(key: CryptoKey): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.exportKey('spki', key));
}

async function signsFor(privateKey: CryptoKey, publicKey: CryptoKey): Promise<boolean> {
  const desc = describeKey(privateKey);
  const params = desc.kind === 'RSA' ? { name: 'RSASSA-PKCS1-v1_5' } : { name: 'ECDSA', hash: 'SHA-256' };
  const data = crypto.getRandomValues(new Uint8Array(40));
  return crypto.subtle.verify(params, publicKey, await crypto.subtle.sign(params, privateKey, data), data);
}

describe('generateKey', () => {
  it.each<[KeyType, object]>([
    ['RSA-2048', { kind: 'RSA', bits: 2048 }],
    ['P-256', { kind: 'EC', curve: 'P-256' }],
    ['P-384', { kind: 'EC', curve: 'P-384' }],
  ])('%s gives a signing-only pair of the stated kind, exportable only when asked', async (type, desc) => {
    const pair = await generateKey(type, crypto);
    expect(describeKey(pair.privateKey)).toEqual(desc);
    expect(pair.privateKey.usages).toEqual(['sign']);
    expect(pair.privateKey.extractable).toBe(true);
    const locked = await generateKey(type, crypto, { extractable: false });
    expect(locked.privateKey.extractable).toBe(false);
    await expect(encryptPrivateKey(locked.privateKey, 'pw', crypto, { iterations: 1000 })).rejects.toThrow(/not extractable/);
  });
});

describe('encryptPrivateKey / decryptPrivateKey (RFC 5958 §3, PBES2)', () => {
  it('round-trips every key type; the wrong passphrase is a WrongPassphraseError', async () => {
    for (const type of ['RSA-2048', 'P-256', 'P-384'] as const) {
      const pair = await generateKey(type, crypto);
      const der = await encryptPrivateKey(pair.privateKey, 'stored pässphrase', crypto, { iterations: 1000 });
      const back = await decryptKeyPair(der, 'stored pässphrase', crypto);
      expect(await spki(back.publicKey)).toEqual(await spki(pair.publicKey));
      expect(await signsFor(back.privateKey, pair.publicKey)).toBe(true);
      await expect(decryptPrivateKey(der, 'stored passphrase', crypto)).rejects.toBeInstanceOf(WrongPassphraseError);
    }
  });

  it('writes what OpenSSL decrypts to the same public key, with PBES2/PBKDF2-SHA256/AES-256-CBC', async () => {
    const pair = await generateKey('P-256', crypto);
    const path = join(tmp.path, 'enc.pem');
    writeFileSync(path, pemEncode('ENCRYPTED PRIVATE KEY', await encryptPrivateKey(pair.privateKey, 'ossl', crypto)));
    const asn1 = openssl(['asn1parse', '-in', path]);
    expect(asn1).toContain('PBES2');
    expect(asn1).toContain('PBKDF2');
    expect(asn1).toContain('hmacWithSHA256');
    expect(asn1).toContain('aes-256-cbc');
    expect(asn1).toMatch(/INTEGER\s+:0927C0/); // 600 000 iterations by default
    const pub = openssl(['pkey', '-in', path, '-passin', 'pass:ossl', '-pubout']);
    expect(pub).toBe(pemEncode('PUBLIC KEY', await spki(pair.publicKey)));
    expect(spawnSync('openssl', ['pkey', '-in', path, '-passin', 'pass:wrong', '-noout']).status).not.toBe(0);
  });

  it('reads keys encrypted by openssl pkcs8 -topk8 (PBES2 AES-256 and the legacy 3DES scheme)', async () => {
    const plain = join(tmp.path, 'plain.key');
    openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384', '-out', plain]);
    const expected = openssl(['pkey', '-in', plain, '-pubout']);
    for (const [name, args] of [['aes', ['-v2', 'aes-256-cbc']], ['3des', ['-v1', 'PBE-SHA1-3DES']]] as const) {
      const out = join(tmp.path, `${name}.pem`);
      openssl(['pkcs8', '-topk8', '-in', plain, '-out', out, '-passout', 'pass:peer', ...args]);
      const pair = await importPrivateKeyPem(readFileSync(out, 'utf8'), crypto, { passphrase: 'peer' });
      expect(pemEncode('PUBLIC KEY', await spki(pair.publicKey))).toBe(expected);
      await expect(importPrivateKeyPem(readFileSync(out, 'utf8'), crypto, { passphrase: 'nope' })).rejects.toBeInstanceOf(WrongPassphraseError);
    }
  });

  it('refuses an empty passphrase unless allowed', async () => {
    const pair = await generateKey('P-256', crypto);
    await expect(encryptPrivateKey(pair.privateKey, '', crypto)).rejects.toBeInstanceOf(PassphrasePolicyError);
    const der = await encryptPrivateKey(pair.privateKey, '', crypto, { iterations: 1000, allowEmptyPassphrase: true });
    expect(await signsFor(await decryptPrivateKey(der, '', crypto), pair.publicKey)).toBe(true);
  });
});

describe('importPrivateKeyPem', () => {
  it('reads OpenSSL PKCS#8, PKCS#1 "RSA PRIVATE KEY" and SEC 1 "EC PRIVATE KEY"', async () => {
    const rsa = join(tmp.path, 'rsa.key');
    openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', rsa]);
    const ec = join(tmp.path, 'ec.key');
    openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', ec]);
    const forms = [
      [rsa, readFileSync(rsa, 'utf8')],
      [rsa, openssl(['rsa', '-in', rsa, '-traditional'])],
      [ec, readFileSync(ec, 'utf8')],
      [ec, openssl(['ec', '-in', ec])],
    ] as const;
    for (const [source, text] of forms) {
      const pair = await importPrivateKeyPem(text, crypto);
      expect(pemEncode('PUBLIC KEY', await spki(pair.publicKey))).toBe(openssl(['pkey', '-in', source, '-pubout']));
      expect(await signsFor(pair.privateKey, pair.publicKey)).toBe(true);
    }
    expect(forms[1][1]).toContain('BEGIN RSA PRIVATE KEY');
    expect(forms[3][1]).toContain('BEGIN EC PRIVATE KEY');
  });

  it('refuses weak and unsupported keys with a KeyError', async () => {
    const small = join(tmp.path, 'small.key');
    openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:1024', '-out', small]);
    await expect(importPrivateKeyPem(readFileSync(small, 'utf8'), crypto)).rejects.toThrow(/at least 2048 bits; this one has 1024/);
    const p521 = join(tmp.path, 'p521.key');
    openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-521', '-out', p521]);
    await expect(importPrivateKeyPem(readFileSync(p521, 'utf8'), crypto)).rejects.toBeInstanceOf(KeyError);
    const ed = join(tmp.path, 'ed.key');
    openssl(['genpkey', '-algorithm', 'ED25519', '-out', ed]);
    await expect(importPrivateKeyPem(readFileSync(ed, 'utf8'), crypto)).rejects.toThrow(/unsupported key algorithm/);
    await expect(importPrivateKeyPem('no pem here', crypto)).rejects.toThrow(/found 0/);
  });
});
