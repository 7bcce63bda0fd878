import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { webcrypto } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { certificatesFromPem, pemDecode, pemDecodeAll, pemEncode, pemEncodeChain, PemError } from '../../src/pkcs12/pem';
import { EncodingError } from '../../src/common/encoding';
import { makeTestCa } from '../helpers/openssl';

const dir = mkdtempSync(join(tmpdir(), 'pem-test-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('PEM (RFC 7468)', () => {
  it('writes a public key that OpenSSL reads back to the same DER', async () => {
    const pair = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
    const spki = new Uint8Array(await webcrypto.subtle.exportKey('spki', pair.publicKey));
    const pem = pemEncode('PUBLIC KEY', spki);
    expect(pem.split('\n').every((line) => line.length <= 64)).toBe(true);
    const file = join(dir, 'pub.pem');
    writeFileSync(file, pem);
    const der = execFileSync('openssl', ['pkey', '-pubin', '-in', file, '-outform', 'DER']);
    expect(new Uint8Array(der)).toEqual(spki);
    expect(pemDecode(pem, 'PUBLIC KEY')).toEqual(spki);
  });

  it('reads every block of a chain, in order, and refuses mismatched labels and bad base64', () => {
    const chain = pemEncode('CERTIFICATE', new Uint8Array([1, 2, 3])) + 'junk between\n' + pemEncode('CERTIFICATE', new Uint8Array([4]));
    expect(pemDecodeAll(chain).map((b) => Array.from(b.der))).toEqual([[1, 2, 3], [4]]);
    expect(() => pemDecode(chain, 'CERTIFICATE')).toThrow(/found 2/);
    expect(() => pemDecodeAll('-----BEGIN A-----\nAQID\n-----END B-----')).toThrow(PemError);
    expect(() => pemDecodeAll('-----BEGIN A-----\nA*ID\n-----END A-----')).toThrow(/base64/);
    // The shared codec's error is kept as the cause of this module's PemError.
    const badBase64 = (() => {
      try {
        pemDecodeAll('-----BEGIN A-----\nA*ID\n-----END A-----');
      } catch (error) {
        return error;
      }
      return undefined;
    })();
    expect(badBase64).toBeInstanceOf(PemError);
    expect((badBase64 as PemError).cause).toBeInstanceOf(EncodingError);
    expect(() => pemEncode('lower case', new Uint8Array([1]))).toThrow(PemError);
  });
});

describe('PEM chains', () => {
  it('writes a chain OpenSSL splits into the same certificates, and reads it back in order', () => {
    mkdirSync(join(dir, 'a'));
    mkdirSync(join(dir, 'b'));
    const a = makeTestCa(join(dir, 'a'), 'Chain A');
    const first = pemDecode(a.certPem, 'CERTIFICATE');
    const b = makeTestCa(join(dir, 'b'), 'Chain B');
    const second = pemDecode(b.certPem, 'CERTIFICATE');
    const chain = pemEncodeChain([first, second]);
    writeFileSync(join(dir, 'chain.pem'), chain);
    const split = execFileSync('openssl', ['crl2pkcs7', '-nocrl', '-certfile', join(dir, 'chain.pem')]);
    const listed = execFileSync('openssl', ['pkcs7', '-print_certs', '-noout'], { input: split, encoding: 'utf8' });
    expect(listed.match(/subject=CN ?= ?Chain [AB]/g)).toEqual(['subject=CN = Chain A', 'subject=CN = Chain B']);
    expect(certificatesFromPem(`junk\n${chain}`)).toEqual([first, second]);
    expect(() => certificatesFromPem(pemEncode('PUBLIC KEY', new Uint8Array([1])))).toThrow(PemError);
  });
});
