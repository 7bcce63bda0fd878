import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { AcmeUsageError } from '../../src/acme/errors';
import { readCertificateNames } from '../../src/acme/x509';
import { makeTempDir } from '../helpers/process';
import { makeTestCa, openssl } from '../helpers/openssl';
import { pemDecode } from '../../src/pkcs12/pem';

const dir = makeTempDir('acme-x509');
afterAll(() => {
  dir.remove();
});

describe('readCertificateNames (RFC 5280 §4.1, the fields ACME needs)', () => {
  it('reads serial, issuer and subject CN, and the AKI keyIdentifier as OpenSSL reports them', () => {
    const ca = makeTestCa(dir.path, 'Names Test Root');
    const der = pemDecode(ca.certPem, 'CERTIFICATE');
    const names = readCertificateNames(der);
    expect(names.issuerCommonNames).toEqual(['Names Test Root']);
    expect(names.subjectCommonNames).toEqual(['Names Test Root']);
    const serialHex = openssl(['x509', '-in', ca.certPath, '-noout', '-serial']).trim().replace('serial=', '');
    expect(BigInt(`0x${Buffer.from(names.serial).toString('hex')}`)).toBe(BigInt(`0x${serialHex}`));
    const text = execFileSync('openssl', ['x509', '-in', ca.certPath, '-noout', '-ext', 'authorityKeyIdentifier'], { encoding: 'utf8' });
    const akiHex = /([0-9A-F]{2}(?::[0-9A-F]{2})+)/.exec(text)?.[1]?.replace(/:/g, '').toLowerCase();
    expect(akiHex).toBeDefined();
    expect(Buffer.from(names.authorityKeyId ?? new Uint8Array()).toString('hex')).toBe(akiHex);
  });

  it('regression: an empty GeneralizedTime (18 00), on which asn1js throws a plain Error, is an AcmeUsageError', () => {
    expect(() => readCertificateNames(new Uint8Array([0x18, 0x00]))).toThrow(AcmeUsageError);
    // The same inside a certificate-shaped SEQUENCE { SEQUENCE { INTEGER 1, GeneralizedTime "" } }.
    expect(() => readCertificateNames(new Uint8Array([0x30, 0x07, 0x30, 0x05, 0x02, 0x01, 0x01, 0x18, 0x00]))).toThrow(AcmeUsageError);
  });

  it('gives a result or AcmeUsageError, nothing else, for arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
        try {
          readCertificateNames(bytes);
        } catch (error) {
          expect(error).toBeInstanceOf(AcmeUsageError);
        }
      }),
      { numRuns: Number(process.env['FUZZ_RUNS'] ?? 500) },
    );
  });
});
