/**
 * PKCS#12 against the real peers: files this module builds are read by OpenSSL and imported by
 * NSS (the store Thunderbird uses); files OpenSSL and NSS write are parsed by this module.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { webcrypto } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir } from '../helpers/process';
import { openssl } from '../helpers/openssl';
import { makeSmimeCa, type SmimeCa } from './ca';
import { FAST, PASS, peersIn } from './peers';
import {
  buildPkcs12, CertificateError, createCsr, DEFAULT_ITERATIONS, MAX_BAGS, generateKey, KEY_TYPES, keyMatchesCertificate, parsePkcs12,
  PassphrasePolicyError, pemDecode, pemEncode, Pkcs12FormatError, WrongPassphraseError, type KeyType,
} from '../../src/pkcs12';

const crypto = webcrypto as unknown as Crypto;
const tmp = makeTempDir('pkcs12-test');
const { write, opensslInfo, freshNssDb, pk12Import } = peersIn(tmp.path);
let ca: SmimeCa;
const issued = new Map<KeyType, { keys: CryptoKeyPair; chain: Uint8Array[] }>();

beforeAll(async () => {
  ca = makeSmimeCa(tmp.path);
  for (const type of KEY_TYPES) {
    const keys = await generateKey(type, crypto);
    // P-384 also carries an SmtpUTF8Mailbox (RFC 9598), so NSS imports an internationalized certificate too.
    const emails = [`${type.toLowerCase()}@example.org`, ...(type === 'P-384' ? ['jøran@blåbærsyltetøy.no'] : [])];
    const csr = await createCsr({ keys, emails, usage: 'both' }, crypto);
    issued.set(type, { keys, chain: ca.issue(csr, type).chain });
  }
});
afterAll(() => {
  tmp.remove();
});

async function build(type: KeyType, options: { legacy?: boolean; iterations?: number } = {}): Promise<Uint8Array> {
  const { keys, chain } = issued.get(type)!;
  return buildPkcs12({ privateKey: keys.privateKey, certificates: chain, passphrase: PASS, friendlyName: `Test ${type}`, iterations: FAST, ...options }, crypto);
}

describe('buildPkcs12 (RFC 7292) read by OpenSSL and imported by NSS', () => {
  for (const type of KEY_TYPES) {
    it(`${type}: PBES2/PBKDF2-SHA256/AES-256-CBC bags and a SHA-256 MAC; NSS imports key and chain`, async () => {
      const path = write(`${type}.p12`, await build(type));
      const info = opensslInfo(path, PASS);
      expect(info.ok, info.text).toBe(true);
      expect(info.text).toContain('MAC: sha256, Iteration 2048');
      expect(info.text).toContain('PKCS7 Encrypted data: PBES2, PBKDF2, AES-256-CBC, Iteration 2048, PRF hmacWithSHA256');
      expect(info.text).toContain('Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC, Iteration 2048, PRF hmacWithSHA256');
      expect(info.text.match(/Certificate bag/g)).toHaveLength(3);
      expect(opensslInfo(path, `${PASS}x`).ok).toBe(false);

      const db = freshNssDb(type);
      const wrong = pk12Import(db, path, 'not the passphrase');
      expect(wrong.ok).toBe(false);
      expect(wrong.text).toMatch(/password|PKCS12 decode/i);
      const imported = pk12Import(db, path, PASS);
      expect(imported.ok, imported.text).toBe(true);
      const certs = execFileSync('certutil', ['-L', '-d', `sql:${db}`], { encoding: 'utf8' });
      expect(certs).toMatch(new RegExp(`Test ${type}\\s+u,u,u`)); // the friendlyName became the nickname of a user cert
      expect(certs).toContain('Test SMIME Intermediate');
      expect(certs).toContain('Test SMIME Root');
      const keyList = execFileSync('certutil', ['-K', '-d', `sql:${db}`], { encoding: 'utf8' });
      expect(keyList).toMatch(new RegExp(`<\\s*0>\\s+${type.startsWith('RSA') ? 'rsa' : 'ec'}\\s+[0-9a-f]+\\s+Test ${type}`));
    });
  }

  it('legacy: 3DES bags and a SHA-1 MAC, which OpenSSL 3 reads only with -legacy and NSS imports', async () => {
    const path = write('legacy.p12', await build('RSA-2048', { legacy: true }));
    const info = opensslInfo(path, PASS, true);
    expect(info.ok, info.text).toBe(true);
    expect(info.text).toContain('MAC: sha1, Iteration 2048');
    expect(info.text).toContain('PKCS7 Encrypted data: pbeWithSHA1And3-KeyTripleDES-CBC, Iteration 2048');
    expect(info.text).toContain('Shrouded Keybag: pbeWithSHA1And3-KeyTripleDES-CBC, Iteration 2048');
    const db = freshNssDb('legacy');
    expect(pk12Import(db, path, 'wrong').ok).toBe(false);
    const imported = pk12Import(db, path, PASS);
    expect(imported.ok, imported.text).toBe(true);
    expect(execFileSync('certutil', ['-K', '-d', `sql:${db}`], { encoding: 'utf8' })).toContain('Test RSA-2048');
  });

  it(`uses ${DEFAULT_ITERATIONS} iterations for bags and MAC by default, and the peers read that`, async () => {
    const { keys, chain } = issued.get('P-256')!;
    const p12 = await buildPkcs12({ privateKey: keys.privateKey, certificates: chain.slice(0, 1), passphrase: PASS, friendlyName: 'Default' }, crypto);
    const path = write('default.p12', p12);
    const info = opensslInfo(path, PASS);
    expect(info.ok, info.text).toBe(true);
    expect(info.text).toContain(`MAC: sha256, Iteration ${DEFAULT_ITERATIONS}`);
    expect(info.text).toContain(`Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC, Iteration ${DEFAULT_ITERATIONS}, PRF hmacWithSHA256`);
    expect(pk12Import(freshNssDb('default'), path, PASS).ok).toBe(true);
  });

  it('derives keys right for counts that are not a multiple of the KDF slice (25 000), default and legacy', async () => {
    for (const legacy of [false, true]) {
      const path = write(`odd-${legacy}.p12`, await build('P-256', { legacy, iterations: 30_001 }));
      const info = opensslInfo(path, PASS, legacy);
      expect(info.ok, info.text).toBe(true);
      expect(info.text).toContain(`MAC: ${legacy ? 'sha1' : 'sha256'}, Iteration 30001`);
      // Decrypting both bags proves the key and IV derivations, not only the MAC's.
      const dump = spawnSync('openssl', ['pkcs12', '-in', path, '-passin', `pass:${PASS}`, '-nodes', ...(legacy ? ['-legacy'] : [])], { encoding: 'utf8' });
      expect(dump.status, dump.stderr).toBe(0);
      expect(dump.stdout).toContain('-----BEGIN PRIVATE KEY-----');
      expect(dump.stdout.match(/-----BEGIN CERTIFICATE-----/g)).toHaveLength(3);
    }
  });

  it('refuses an empty passphrase unless allowed, a key that is not the leaf\'s, and no certificate', async () => {
    const { keys, chain } = issued.get('P-256')!;
    const base = { privateKey: keys.privateKey, certificates: chain, friendlyName: 'x', iterations: FAST };
    await expect(buildPkcs12({ ...base, passphrase: '' }, crypto)).rejects.toBeInstanceOf(PassphrasePolicyError);
    const empty = await buildPkcs12({ ...base, passphrase: '', allowEmptyPassphrase: true }, crypto);
    expect((await parsePkcs12(empty, '', crypto)).certificate).toEqual(chain[0]);
    const other = issued.get('P-384')!.chain;
    await expect(buildPkcs12({ ...base, certificates: other, passphrase: PASS }, crypto)).rejects.toBeInstanceOf(CertificateError);
    await expect(buildPkcs12({ ...base, certificates: [], passphrase: PASS }, crypto)).rejects.toBeInstanceOf(CertificateError);
  });
});

describe('parsePkcs12 reads what OpenSSL and NSS write', () => {
  const pass = 'peer pass';
  let keyPath: string;
  let chainPath: string;
  let leaf: Uint8Array;

  beforeAll(() => {
    // The leaf key is made by OpenSSL here, so nothing of ours is involved in the file.
    keyPath = join(tmp.path, 'peer.key');
    openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', keyPath]);
    const csrPath = join(tmp.path, 'peer.csr');
    openssl(['req', '-new', '-key', keyPath, '-out', csrPath, '-outform', 'DER', '-subj', '/CN=peer@example.org', '-addext', 'subjectAltName=email:peer@example.org']);
    const { chain } = ca.issue(readFileSync(csrPath), 'peer');
    leaf = chain[0]!;
    chainPath = join(tmp.path, 'peer-chain.pem');
    writeFileSync(chainPath, chain.map((c) => pemEncode('CERTIFICATE', c)).join(''));
  });

  async function expectPeerFile(path: string, protection: { mac: string; keyEncryption: string; certEncryption: string }): Promise<void> {
    const bytes = readFileSync(path);
    const parsed = await parsePkcs12(bytes, pass, crypto);
    expect(parsed.certificate).toEqual(leaf);
    expect(parsed.chain.map((c) => Buffer.from(c).toString('base64'))).toEqual(
      [ca.intermediate.certPem, ca.root.certPem].map((pem) => Buffer.from(pemDecode(pem, 'CERTIFICATE')).toString('base64')),
    );
    expect(parsed.key).toEqual({ kind: 'RSA', bits: 2048 });
    expect(parsed.protection.mac).toBe(protection.mac);
    expect(parsed.protection.keyEncryption).toBe(protection.keyEncryption);
    expect(parsed.protection.certEncryption).toEqual([protection.certEncryption]);
    // Round trip: the key signs, the certificate's public key verifies.
    expect(await keyMatchesCertificate(parsed.privateKey, leaf, crypto)).toBe(true);
    const data = new TextEncoder().encode('round trip');
    const sig = await crypto.subtle.sign('RSASSA-PKCS1-v1_5', parsed.privateKey, data);
    expect(await crypto.subtle.verify('RSASSA-PKCS1-v1_5', parsed.publicKey, sig, data)).toBe(true);
    await expect(parsePkcs12(bytes, 'wrong', crypto)).rejects.toBeInstanceOf(WrongPassphraseError);
  }

  it('openssl pkcs12 -export (default: PBES2 AES-256, SHA-256 MAC)', async () => {
    const path = join(tmp.path, 'openssl-default.p12');
    openssl(['pkcs12', '-export', '-inkey', keyPath, '-in', chainPath, '-out', path, '-passout', `pass:${pass}`, '-name', 'peer']);
    await expectPeerFile(path, { mac: 'HMAC-SHA-256', keyEncryption: 'PBES2/PBKDF2-HMAC-SHA-256/AES-256-CBC', certEncryption: 'PBES2/PBKDF2-HMAC-SHA-256/AES-256-CBC' });
    expect((await parsePkcs12(readFileSync(path), pass, crypto)).friendlyName).toBe('peer');
  });

  it('openssl pkcs12 -export -legacy (3DES key, RC2-40 certificates, SHA-1 MAC)', async () => {
    const path = join(tmp.path, 'openssl-legacy.p12');
    openssl(['pkcs12', '-export', '-legacy', '-inkey', keyPath, '-in', chainPath, '-out', path, '-passout', `pass:${pass}`]);
    await expectPeerFile(path, { mac: 'HMAC-SHA-1', keyEncryption: 'pbeWithSHAAnd3-KeyTripleDES-CBC', certEncryption: 'pbeWithSHAAnd40BitRC2-CBC' });
  });

  it('openssl pkcs12 -export -keypbe NONE: a plain key bag, reported honestly as unencrypted', async () => {
    const path = join(tmp.path, 'openssl-nokeypbe.p12');
    openssl(['pkcs12', '-export', '-keypbe', 'NONE', '-inkey', keyPath, '-in', chainPath, '-out', path, '-passout', `pass:${pass}`]);
    await expectPeerFile(path, { mac: 'HMAC-SHA-256', keyEncryption: 'none', certEncryption: 'PBES2/PBKDF2-HMAC-SHA-256/AES-256-CBC' });
  });

  it('pk12util -o (NSS: BER indefinite lengths, PBES2, AES-128 certificates)', async () => {
    const db = freshNssDb('export');
    const staged = join(tmp.path, 'stage.p12');
    openssl(['pkcs12', '-export', '-inkey', keyPath, '-in', chainPath, '-out', staged, '-passout', `pass:${pass}`, '-name', 'peer']);
    expect(pk12Import(db, staged, pass).ok).toBe(true);
    const path = join(tmp.path, 'nss.p12');
    execFileSync('pk12util', ['-o', path, '-n', 'peer', '-d', `sql:${db}`, '-W', pass, '-K', ''], { stdio: 'pipe' });
    const info = opensslInfo(path, pass).text;
    const certScheme = /PKCS7 Encrypted data: PBES2, PBKDF2, (AES-\d+)-CBC/.exec(info)?.[1];
    expect(certScheme).toBeDefined();
    await expectPeerFile(path, { mac: 'HMAC-SHA-256', keyEncryption: 'PBES2/PBKDF2-HMAC-SHA-256/AES-256-CBC', certEncryption: `PBES2/PBKDF2-HMAC-SHA-256/${certScheme!}-CBC` });
  });

  it('our own files round-trip for every key type, key matching the certificate', async () => {
    for (const type of KEY_TYPES) {
      const parsed = await parsePkcs12(await build(type), PASS, crypto);
      const { chain } = issued.get(type)!;
      expect(parsed.certificate).toEqual(chain[0]);
      expect(parsed.chain).toEqual(chain.slice(1));
      expect(parsed.friendlyName).toBe(`Test ${type}`);
      expect(await keyMatchesCertificate(parsed.privateKey, chain[0]!, crypto)).toBe(true);
      expect(await keyMatchesCertificate(parsed.privateKey, issued.get(type === 'P-256' ? 'P-384' : 'P-256')!.chain[0]!, crypto)).toBe(false);
    }
  });

  it('refuses a file with more bags than a personal PKCS#12 ever has (MAX_BAGS), before checking keys against them', async () => {
    const { keys, chain } = issued.get('P-256')!;
    const many = [chain[0]!, ...Array.from({ length: MAX_BAGS }, () => chain[2]!)];
    const p12 = await buildPkcs12({ privateKey: keys.privateKey, certificates: many, passphrase: PASS, friendlyName: 'many', iterations: 1 }, crypto);
    await expect(parsePkcs12(p12, PASS, crypto)).rejects.toThrow(new RegExp(`holds \\d+ bags; at most ${MAX_BAGS}`));
    const fine = await buildPkcs12({ privateKey: keys.privateKey, certificates: many.slice(0, MAX_BAGS - 1), passphrase: PASS, friendlyName: 'fine', iterations: 1 }, crypto);
    expect((await parsePkcs12(fine, PASS, crypto)).chain).toHaveLength(MAX_BAGS - 2);
  });

  it('a damaged file is a Pkcs12FormatError, a wrong passphrase a WrongPassphraseError', async () => {
    const good = await build('P-256');
    await expect(parsePkcs12(good, 'nope', crypto)).rejects.toBeInstanceOf(WrongPassphraseError);
    const flipped = good.slice();
    flipped[Math.floor(flipped.length / 2)]! ^= 0x01;
    // A flipped byte inside the MAC-protected content reads as a MAC failure; in framing as damage.
    await expect(parsePkcs12(flipped, PASS, crypto)).rejects.toSatisfy((e) => e instanceof WrongPassphraseError || e instanceof Pkcs12FormatError);
    await expect(parsePkcs12(good.subarray(0, good.length - 5), PASS, crypto)).rejects.toBeInstanceOf(Pkcs12FormatError);
  });
});
