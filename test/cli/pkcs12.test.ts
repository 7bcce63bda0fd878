import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { webcrypto } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir } from '../helpers/process';
import { makeTestCa, openssl } from '../helpers/openssl';
import { keyMatchesCertificate, parsePkcs12 } from '../../src/pkcs12';
import { runCliSync, type CliResult } from './run-cli';

const crypto = webcrypto as unknown as Crypto;
const tmp = makeTempDir('cli-pkcs12');
const p = (name: string): string => join(tmp.path, name);

beforeAll(() => {
  const ca = makeTestCa(tmp.path, 'CLI Test Root');
  for (const name of ['leaf', 'other']) {
    openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', p(`${name}.key`)]);
    openssl(['req', '-new', '-key', p(`${name}.key`), '-out', p(`${name}.csr`), '-subj', `/CN=${name}@example.org`]);
    writeFileSync(p('ext'), `subjectAltName=email:${name}@example.org\nextendedKeyUsage=emailProtection\nkeyUsage=critical,digitalSignature,keyEncipherment\n`);
    openssl(['x509', '-req', '-in', p(`${name}.csr`), '-CA', ca.certPath, '-CAkey', ca.keyPath, '-CAcreateserial', '-out', p(`${name}.pem`), '-days', '1', '-extfile', p('ext')]);
  }
  writeFileSync(p('chain.pem'), readFileSync(p('leaf.pem'), 'utf8') + ca.certPem);
  writeFileSync(p('pass'), 'cli pass phrase\n');
  writeFileSync(p('empty-pass'), '\n');
});
afterAll(() => {
  tmp.remove();
});

const acmeEmail = (...args: string[]): CliResult => runCliSync(args);

describe('acme-email pkcs12', () => {
  it('bundles key and chain into a PKCS#12 that OpenSSL reads, readable only by the owner', async () => {
    const out = p('out.p12');
    const r = acmeEmail('pkcs12', '--key', p('leaf.key'), '--cert', p('chain.pem'), '--out', out, '--passphrase-file', p('pass'), '--iterations', '2048');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    const info = spawnSync('openssl', ['pkcs12', '-info', '-noout', '-in', out, '-passin', 'pass:cli pass phrase'], { encoding: 'utf8' });
    expect(info.status).toBe(0);
    expect(info.stderr).toContain('Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC, Iteration 2048, PRF hmacWithSHA256');
    const parsed = await parsePkcs12(readFileSync(out), 'cli pass phrase', crypto);
    expect(parsed.friendlyName).toBe('leaf@example.org');
    expect(parsed.chain).toHaveLength(1);
    expect(await keyMatchesCertificate(parsed.privateKey, parsed.certificate, crypto)).toBe(true);
  });

  it('--legacy writes 3DES and a SHA-1 MAC', () => {
    const out = p('legacy.p12');
    expect(acmeEmail('pkcs12', '--key', p('leaf.key'), '--cert', p('chain.pem'), '--out', out, '--passphrase-file', p('pass'), '--iterations', '2048', '--legacy').status).toBe(0);
    const info = spawnSync('openssl', ['pkcs12', '-info', '-noout', '-legacy', '-in', out, '-passin', 'pass:cli pass phrase'], { encoding: 'utf8' });
    expect(info.stderr).toContain('MAC: sha1, Iteration 2048');
    expect(info.stderr).toContain('Shrouded Keybag: pbeWithSHA1And3-KeyTripleDES-CBC, Iteration 2048');
  });

  it('refuses a key that does not match, an empty passphrase file and a missing certificate file: exit 2, nothing written', () => {
    const out = p('bad.p12');
    const mismatch = acmeEmail('pkcs12', '--key', p('other.key'), '--cert', p('chain.pem'), '--out', out, '--passphrase-file', p('pass'), '--iterations', '2048');
    expect(mismatch.status).toBe(2);
    expect(mismatch.stderr).toContain('the private key does not belong to the first certificate');
    const empty = acmeEmail('pkcs12', '--key', p('leaf.key'), '--cert', p('chain.pem'), '--out', out, '--passphrase-file', p('empty-pass'));
    expect(empty.status).toBe(2);
    expect(empty.stderr).toMatch(/passphrase file ".*empty-pass" is empty/);
    const missing = acmeEmail('pkcs12', '--key', p('leaf.key'), '--cert', p('missing.pem'), '--out', out, '--passphrase-file', p('pass'));
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/cannot read certificate file ".*missing\.pem" \(ENOENT\)/);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(tmp.path).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});
