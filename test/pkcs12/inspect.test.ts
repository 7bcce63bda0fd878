/** Certificate inspection compared with what OpenSSL says about the same certificate. */
import { webcrypto } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir } from '../helpers/process';
import { openssl } from '../helpers/openssl';
import { makeSmimeCa } from './ca';
import { CertificateError, createCsr, generateKey, inspectCertificate, pemEncode, type InspectedCertificate } from '../../src/pkcs12';

const crypto = webcrypto as unknown as Crypto;
const tmp = makeTempDir('inspect-test');
let summary: InspectedCertificate;
let leafPath: string;
let pem: string;

beforeAll(async () => {
  const ca = makeSmimeCa(tmp.path);
  const keys = await generateKey('P-384', crypto);
  const csr = await createCsr({ keys, emails: ['Alice@Bücher.example', 'jøran@blåbærsyltetøy.no'], usage: 'both', nonRepudiation: true }, crypto);
  const issued = ca.issue(csr, 'leaf');
  leafPath = issued.leafPath;
  pem = pemEncode('CERTIFICATE', issued.leaf);
  summary = await inspectCertificate(pem, crypto);
});
afterAll(() => {
  tmp.remove();
});

describe('inspectCertificate', () => {
  it('lists rfc822Name and SmtpUTF8Mailbox addresses, with U-labels for display', () => {
    expect(summary.addresses).toEqual([
      { address: 'Alice@xn--bcher-kva.example', display: 'Alice@bücher.example', form: 'rfc822Name' },
      { address: 'jøran@blåbærsyltetøy.no', display: 'jøran@blåbærsyltetøy.no', form: 'SmtpUTF8Mailbox' },
    ]);
  });

  it('reports key usage, EKU, CA flag and key as issued', () => {
    expect(summary.keyUsage).toEqual(['digitalSignature', 'nonRepudiation', 'keyAgreement']);
    expect(summary.extendedKeyUsage).toEqual(['1.3.6.1.5.5.7.3.4']);
    expect(summary.emailProtection).toBe(true);
    expect(summary.isCa).toBe(false);
    expect(summary.publicKey).toEqual({ kind: 'EC', curve: 'P-384' });
  });

  it('agrees with OpenSSL on issuer, subject, serial, validity and SHA-256 fingerprint', () => {
    const out = openssl(['x509', '-in', leafPath, '-noout', '-serial', '-fingerprint', '-sha256', '-startdate', '-enddate', '-issuer', '-subject', '-nameopt', 'RFC2253']);
    expect(out).toContain(`serial=${summary.serialNumber}\n`);
    expect(out).toContain(`sha256 Fingerprint=${summary.sha256Fingerprint}\n`);
    expect(out).toContain(`issuer=${summary.issuer}\n`);
    expect(out).toContain(`subject=${summary.subject}\n`);
    expect(summary.subject).toBe('CN=Alice@xn--bcher-kva.example');
    expect(summary.issuer).toBe('CN=Test SMIME Intermediate');
    const date = (label: string): number => Date.parse(new RegExp(`${label}=(.*)\\n`).exec(out)![1]!);
    expect(summary.notBefore.getTime()).toBe(date('notBefore'));
    expect(summary.notAfter.getTime()).toBe(date('notAfter'));
  });

  it('refuses what is not a certificate with a CertificateError', async () => {
    await expect(inspectCertificate('no pem', crypto)).rejects.toBeInstanceOf(CertificateError);
    await expect(inspectCertificate(new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x01]), crypto)).rejects.toBeInstanceOf(CertificateError);
  });
});
