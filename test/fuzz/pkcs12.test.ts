/**
 * Fuzzing the key-material readers (src/pkcs12): PEM, PKCS#12 (RFC 7292), encrypted PKCS#8
 * (RFC 5958) and certificate inspection, on random bytes and on byte-level mutations of valid
 * files made here (low iteration counts, so each input is cheap). Each must return or throw one
 * of src/pkcs12's typed errors; anything else is a crash (./guard.ts).
 */
import { webcrypto } from 'node:crypto';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  buildPkcs12,
  CertificateError,
  certificateDer,
  decryptPrivateKey,
  encryptPrivateKey,
  generateKey,
  inspectCertificate,
  KeyError,
  parsePkcs12,
  PassphrasePolicyError,
  pemDecodeAll,
  pemEncode,
  PemError,
  Pkcs12FormatError,
  WrongPassphraseError,
} from '../../src/pkcs12/index';
import 'reflect-metadata'; // @peculiar/x509 needs it loaded first
import * as x509 from '@peculiar/x509';
import { TEST_TIMEOUT_MS, fuzz, mailBytes, mutated, mutatedBytes, RUNS, type Tally } from './guard';

const crypto = webcrypto as unknown as Crypto;
const PASSPHRASE = 'fuzzing passphrase, test only';
const results: Tally[] = [];
const typed = (e: unknown): boolean =>
  e instanceof Pkcs12FormatError || e instanceof WrongPassphraseError || e instanceof CertificateError || e instanceof KeyError || e instanceof PemError || e instanceof PassphrasePolicyError;

let certPem: string;
let pfx: Uint8Array;
let legacyPfx: Uint8Array;
let encryptedKey: Uint8Array;

beforeAll(async () => {
  // The certificate is made by @peculiar/x509 over the key made by src/pkcs12.
  const keys = await generateKey('P-256', crypto);
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    { serialNumber: '01', name: 'CN=Fuzz Leaf', notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 86_400_000), keys, signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
      extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'email', value: 'fuzz@example.test' }])] },
    crypto,
  );
  certPem = cert.toString('pem');
  const der = certificateDer(certPem);
  pfx = await buildPkcs12({ privateKey: keys.privateKey, certificates: [der], passphrase: PASSPHRASE, friendlyName: 'fuzz', iterations: 16 }, crypto);
  legacyPfx = await buildPkcs12({ privateKey: keys.privateKey, certificates: [der], passphrase: PASSPHRASE, friendlyName: 'fuzz', iterations: 16, legacy: true }, crypto);
  encryptedKey = await encryptPrivateKey(keys.privateKey, PASSPHRASE, crypto, { iterations: 16 });
}, 60_000);

function clean(t: Tally): void {
  results.push(t);
  expect(t.examples, t.target).toEqual([]);
  expect(t.crashes).toBe(0);
  expect(t.hangs).toBe(0);
}

const runs = Math.max(1, Math.floor(RUNS / 2));

describe('fuzz: src/pkcs12 readers', () => {
  it('pemDecodeAll: any text → blocks or PemError', async () => {
    const text = fc.oneof(mutated(certPem + certPem, 8), mailBytes(600), fc.constantFrom('-----BEGIN X-----\n-----END Y-----', '-----BEGIN CERTIFICATE-----'));
    clean(await fuzz('pem decode', text, (t) => pemDecodeAll(t), typed));
  }, TEST_TIMEOUT_MS);

  it('parsePkcs12: mutated PBES2 and legacy files, random bytes → contents or a typed error', async () => {
    const input = fc.tuple(fc.oneof(fc.constantFrom(pfx, legacyPfx), mutatedBytes(pfx, 4), mutatedBytes(legacyPfx, 4), fc.uint8Array({ maxLength: 400 })), fc.constantFrom(PASSPHRASE, PASSPHRASE, 'wrong', ''));
    clean(await fuzz('pkcs12 parse', input, ([bytes, passphrase]) => parsePkcs12(bytes, passphrase, crypto), typed, runs));
  }, TEST_TIMEOUT_MS);

  it('decryptPrivateKey: mutated EncryptedPrivateKeyInfo → a key or a typed error', async () => {
    clean(await fuzz('encrypted pkcs8', fc.oneof(fc.constant(encryptedKey), mutatedBytes(encryptedKey, 4), fc.uint8Array({ maxLength: 300 })), (bytes) => decryptPrivateKey(bytes, PASSPHRASE, crypto), typed, runs));
  }, TEST_TIMEOUT_MS);

  it('inspectCertificate: mutated DER and PEM → a summary or CertificateError', async () => {
    const der = certificateDer(certPem);
    const input = fc.oneof(mutatedBytes(der, 4), fc.uint8Array({ maxLength: 400 }), mutatedBytes(der, 3).map((d) => pemEncode('CERTIFICATE', d)));
    clean(await fuzz('certificate inspect', input, (i) => inspectCertificate(i, crypto), typed, runs));
  }, TEST_TIMEOUT_MS);

  it('figure', () => {
    const inputs = results.reduce((a, t) => a + t.inputs, 0);
    console.log(`fuzz: inputs=${inputs} crashes=${results.reduce((a, t) => a + t.crashes, 0)} hangs=${results.reduce((a, t) => a + t.hangs, 0)} (src/pkcs12, ${results.length} targets)`);
    expect(results.length).toBe(4);
  });
});
