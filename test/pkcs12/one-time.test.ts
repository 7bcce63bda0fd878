/**
 * The install path's PKCS#12 (one-time random secret, iteration count 1) against the real peers
 * — NSS `pk12util` imports it, OpenSSL 3 reads it — and the protection reader that decides
 * whether Thunderbird's own export may be offered to the user instead of a file built here.
 */
import { execFileSync } from 'node:child_process';
import { webcrypto } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeysAdapter } from '../../src/enroll/adapters/keys';
import { PortError } from '../../src/enroll/ports';
import {
  buildOneTimePkcs12, buildPkcs12, createCsr, DEFAULT_ITERATIONS, encryptPrivateKey, generateKey, isAtLeastDefaultProtection, ONE_TIME_ITERATIONS,
  parsePkcs12, pemEncodeChain, Pkcs12FormatError, readPkcs12Protection,
} from '../../src/pkcs12';
import { openssl } from '../helpers/openssl';
import { makeTempDir } from '../helpers/process';
import { makeSmimeCa } from './ca';
import { FAST, PASS, peersIn } from './peers';

const crypto = webcrypto as unknown as Crypto;
const tmp = makeTempDir('pkcs12-one-time');
const { write, opensslInfo, freshNssDb, pk12Import } = peersIn(tmp.path);
let keys: CryptoKeyPair;
let chain: Uint8Array[];
let keyPath: string;
let chainPath: string;

beforeAll(async () => {
  const ca = makeSmimeCa(tmp.path);
  keys = await generateKey('P-256', crypto);
  chain = ca.issue(await createCsr({ keys, emails: ['one-time@example.org'], usage: 'both' }, crypto), 'leaf').chain;
  keyPath = join(tmp.path, 'leaf.key');
  chainPath = join(tmp.path, 'chain.pem');
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey('pkcs8', keys.privateKey));
  writeFileSync(keyPath, `-----BEGIN PRIVATE KEY-----\n${Buffer.from(pkcs8).toString('base64')}\n-----END PRIVATE KEY-----\n`);
  writeFileSync(chainPath, pemEncodeChain(chain));
});
afterAll(() => {
  tmp.remove();
});

describe('buildOneTimePkcs12: the PKCS#12 only Thunderbird imports', () => {
  it('is protected by a fresh 256-bit hex secret at one iteration; NSS imports key and chain, OpenSSL reads it', async () => {
    const first = await buildOneTimePkcs12({ privateKey: keys.privateKey, certificates: chain, friendlyName: 'one-time@example.org' }, crypto);
    const second = await buildOneTimePkcs12({ privateKey: keys.privateKey, certificates: chain, friendlyName: 'one-time@example.org' }, crypto);
    expect(first.secret).toMatch(/^[0-9a-f]{64}$/);
    expect(second.secret).not.toBe(first.secret);
    expect(ONE_TIME_ITERATIONS).toBe(1);

    const path = write('one-time.p12', first.pkcs12);
    const info = opensslInfo(path, first.secret);
    expect(info.ok, info.text).toBe(true);
    expect(info.text).toContain('MAC: sha256, Iteration 1\n');
    expect(info.text).toContain('PKCS7 Encrypted data: PBES2, PBKDF2, AES-256-CBC, Iteration 1, PRF hmacWithSHA256');
    expect(info.text).toContain('Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC, Iteration 1, PRF hmacWithSHA256');
    expect(info.text.match(/Certificate bag/g)).toHaveLength(3);
    expect(opensslInfo(path, second.secret).ok).toBe(false);

    const db = freshNssDb('one-time');
    expect(pk12Import(db, path, second.secret).ok).toBe(false);
    const imported = pk12Import(db, path, first.secret);
    expect(imported.ok, imported.text).toBe(true);
    const certs = execFileSync('certutil', ['-L', '-d', `sql:${db}`], { encoding: 'utf8' });
    expect(certs).toMatch(/one-time@example\.org\s+u,u,u/);
    expect(certs).toContain('Test SMIME Intermediate');
    expect(execFileSync('certutil', ['-K', '-d', `sql:${db}`], { encoding: 'utf8' })).toMatch(/<\s*0>\s+ec\s+[0-9a-f]+\s+one-time@example\.org/);

    const parsed = await parsePkcs12(first.pkcs12, first.secret, crypto);
    expect(parsed.protection).toEqual({ mac: 'HMAC-SHA-256', macIterations: 1, keyEncryption: 'PBES2/PBKDF2-HMAC-SHA-256/AES-256-CBC', certEncryption: ['PBES2/PBKDF2-HMAC-SHA-256/AES-256-CBC'] });
  });

  it('what NSS exports after importing it (what Thunderbird offers the user) is protected as buildPkcs12 protects', async () => {
    const { pkcs12, secret } = await buildOneTimePkcs12({ privateKey: keys.privateKey, certificates: chain, friendlyName: 'exported@example.org' }, crypto);
    const db = freshNssDb('export');
    expect(pk12Import(db, write('to-export.p12', pkcs12), secret).ok).toBe(true);
    const out = join(tmp.path, 'nss-export.p12');
    execFileSync('pk12util', ['-o', out, '-n', 'exported@example.org', '-d', `sql:${db}`, '-W', PASS, '-K', ''], { stdio: 'pipe' });
    const info = opensslInfo(out, PASS);
    expect(info.ok, info.text).toBe(true);
    expect(info.text).toContain(`MAC: sha256, Iteration ${DEFAULT_ITERATIONS}`);
    expect(info.text.match(/Certificate bag/g)).toHaveLength(3);
    const protection = readPkcs12Protection(readFileSync(out));
    expect(protection).toEqual({
      mac: 'HMAC-SHA-256',
      macIterations: DEFAULT_ITERATIONS,
      keyEncryption: [{ scheme: 'PBES2/PBKDF2-HMAC-SHA-256/AES-256-CBC', iterations: DEFAULT_ITERATIONS }],
      encryptedParts: [{ scheme: 'PBES2/PBKDF2-HMAC-SHA-256/AES-128-CBC', iterations: DEFAULT_ITERATIONS }],
      plainKeys: 0,
    });
    expect(isAtLeastDefaultProtection(protection)).toBe(true);
  });
});

describe('readPkcs12Protection and isAtLeastDefaultProtection, read without the passphrase', () => {
  it('reads our default build and refuses a lower count, the one-time file and OpenSSL -legacy', async () => {
    const ours = readPkcs12Protection(await buildPkcs12({ privateKey: keys.privateKey, certificates: chain, passphrase: PASS, friendlyName: 'x', iterations: FAST }, crypto));
    expect(ours).toEqual({
      mac: 'HMAC-SHA-256',
      macIterations: FAST,
      keyEncryption: [{ scheme: 'PBES2/PBKDF2-HMAC-SHA-256/AES-256-CBC', iterations: FAST }],
      encryptedParts: [{ scheme: 'PBES2/PBKDF2-HMAC-SHA-256/AES-256-CBC', iterations: FAST }],
      plainKeys: 0,
    });
    expect(isAtLeastDefaultProtection(ours, FAST)).toBe(true);
    expect(isAtLeastDefaultProtection(ours)).toBe(false); // 2048 < 600 000
    expect(isAtLeastDefaultProtection({ ...ours, macIterations: FAST - 1 }, FAST)).toBe(false);
    expect(isAtLeastDefaultProtection({ ...ours, mac: 'HMAC-SHA-1' }, FAST)).toBe(false);
    expect(isAtLeastDefaultProtection({ ...ours, plainKeys: 1 }, FAST)).toBe(false);
    expect(isAtLeastDefaultProtection({ ...ours, keyEncryption: [] }, FAST)).toBe(false);

    const oneTime = await buildOneTimePkcs12({ privateKey: keys.privateKey, certificates: chain, friendlyName: 'x' }, crypto);
    expect(isAtLeastDefaultProtection(readPkcs12Protection(oneTime.pkcs12), 2)).toBe(false);

    const legacy = join(tmp.path, 'legacy.p12');
    openssl(['pkcs12', '-export', '-legacy', '-inkey', keyPath, '-in', chainPath, '-out', legacy, '-passout', `pass:${PASS}`, '-iter', String(FAST)]);
    const legacyProtection = readPkcs12Protection(readFileSync(legacy));
    expect(legacyProtection.mac).toBe('HMAC-SHA-1');
    expect(legacyProtection.keyEncryption).toEqual([{ scheme: 'pbeWithSHAAnd3-KeyTripleDES-CBC', iterations: FAST }]);
    expect(legacyProtection.encryptedParts).toEqual([{ scheme: 'pbeWithSHAAnd40BitRC2-CBC', iterations: FAST }]);
    expect(isAtLeastDefaultProtection(legacyProtection, FAST)).toBe(false);

    const plain = join(tmp.path, 'plain-key.p12');
    openssl(['pkcs12', '-export', '-keypbe', 'NONE', '-inkey', keyPath, '-in', chainPath, '-out', plain, '-passout', `pass:${PASS}`, '-iter', String(FAST)]);
    const plainProtection = readPkcs12Protection(readFileSync(plain));
    expect(plainProtection.plainKeys).toBe(1);
    expect(isAtLeastDefaultProtection(plainProtection, FAST)).toBe(false);
  });

  it('refuses what is not a PKCS#12 with Pkcs12FormatError', () => {
    expect(() => readPkcs12Protection(new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x03]))).toThrow(Pkcs12FormatError);
    expect(() => readPkcs12Protection(new Uint8Array([1, 2, 3]))).toThrow(Pkcs12FormatError);
  });
});

describe('the keys adapter on the install path', () => {
  const adapter = createKeysAdapter({ crypto, iterations: FAST });

  it('buildImportPkcs12 opens the stored key and makes a one-time file NSS imports; a wrong passphrase is PortError(wrongPassphrase)', async () => {
    const encryptedKey = await encryptPrivateKey(keys.privateKey, PASS, crypto, { iterations: FAST });
    const { pkcs12, secret } = await adapter.buildImportPkcs12(encryptedKey, PASS, pemEncodeChain(chain), 'adapter@example.org');
    expect(readPkcs12Protection(pkcs12).macIterations).toBe(1);
    const imported = pk12Import(freshNssDb('adapter'), write('adapter.p12', pkcs12), secret);
    expect(imported.ok, imported.text).toBe(true);
    const wrong = adapter.buildImportPkcs12(encryptedKey, `${PASS}!`, pemEncodeChain(chain), 'adapter@example.org');
    await expect(wrong).rejects.toBeInstanceOf(PortError);
    await expect(wrong).rejects.toMatchObject({ kind: 'wrongPassphrase' });
  });

  it('isStrongPkcs12 accepts buildPkcs12 at the configured count, refuses the one-time file and unreadable bytes', async () => {
    const encryptedKey = await encryptPrivateKey(keys.privateKey, PASS, crypto, { iterations: FAST });
    expect(adapter.isStrongPkcs12(await adapter.buildPkcs12(encryptedKey, PASS, pemEncodeChain(chain), 'x'))).toBe(true);
    expect(adapter.isStrongPkcs12((await adapter.buildImportPkcs12(encryptedKey, PASS, pemEncodeChain(chain), 'x')).pkcs12)).toBe(false);
    expect(adapter.isStrongPkcs12(new Uint8Array([0x30, 0x00]))).toBe(false);
    expect(createKeysAdapter({ crypto }).isStrongPkcs12(await adapter.buildPkcs12(encryptedKey, PASS, pemEncodeChain(chain), 'x'))).toBe(false);
  });
});
