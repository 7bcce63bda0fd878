/**
 * The sandbox CA's CSR checks and issuance, without servers: mailbox name forms (RFC 5280
 * rfc822Name vs RFC 9598 SmtpUTF8Mailbox), key types and sizes, key usage per key type, the
 * account key, a broken self-signature. Issued certificates are read back with OpenSSL.
 */
import 'reflect-metadata';
import { createPublicKey, generateKeyPairSync, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { AsnConvert } from '@peculiar/asn1-schema';
import { GeneralName, OtherName, SubjectAlternativeName } from '@peculiar/asn1-x509';
import { Utf8String } from 'asn1js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkCsr } from '../../sandbox/acme/csr';
import { AcmeProblem } from '../../sandbox/acme/problem';
import { SandboxPki } from '../../sandbox/pki';
import { openssl } from '../helpers/openssl';
import { makeTempDir, type TempDir } from '../helpers/process';

const crypto = webcrypto as unknown as Crypto;
const KU = x509.KeyUsageFlags;
const accountKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
let dir: TempDir;
let pki: SandboxPki;

beforeAll(async () => {
  dir = makeTempDir('sandbox-csr');
  pki = await SandboxPki.create(dir.path);
});

afterAll(() => {
  dir.remove();
});

type Name = { rfc822: string } | { smtpUtf8: string };

function san(names: readonly Name[]): x509.Extension {
  const general = names.map((n) => 'rfc822' in n
    ? new GeneralName({ rfc822Name: n.rfc822 })
    : new GeneralName({ otherName: new OtherName({ typeId: '1.3.6.1.5.5.7.8.9', value: new Uint8Array(new Utf8String({ value: n.smtpUtf8 }).toBER()).buffer }) }));
  return new x509.Extension('2.5.29.17', false, AsnConvert.serialize(new SubjectAlternativeName(general)));
}

async function csr(names: readonly Name[], usage: number, algorithm: 'P-256' | 'RSA-2048' | 'RSA-1024' = 'P-256'): Promise<{ der: Buffer; keys: CryptoKeyPair }> {
  const rsa = algorithm.startsWith('RSA');
  const keys = rsa
    ? await crypto.subtle.generateKey({ name: 'RSASSA-PKCS1-v1_5', modulusLength: Number(algorithm.slice(4)), publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' }, true, ['sign', 'verify'])
    : await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
  const request = await x509.Pkcs10CertificateRequestGenerator.create({
    keys,
    signingAlgorithm: rsa ? { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } : { name: 'ECDSA', hash: 'SHA-256' },
    // KeyUsageFlags is a bit set: OR-ing its members is how it is meant to be used.
    // eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment
    extensions: [san(names), new x509.KeyUsagesExtension(usage, true)],
  }, crypto);
  return { der: Buffer.from(request.rawData), keys };
}

function refusal(der: Buffer, emails: readonly string[], key = accountKey): string {
  try {
    checkCsr(der, emails, key);
  } catch (error) {
    if (error instanceof AcmeProblem && error.type === 'badCSR') return error.detail;
    throw error;
  }
  return 'accepted';
}

describe('sandbox CSR checks and issuance', () => {
  it('issues for a non-ASCII mailbox with SmtpUTF8Mailbox, and OpenSSL reads it back', async () => {
    const email = 'jörg@example.test';
    const request = await csr([{ smtpUtf8: email }], KU.digitalSignature | KU.keyAgreement);
    const checked = checkCsr(request.der, [email], accountKey);
    const issued = await pki.issue({ spki: checked.spki, emails: [email], keyUsage: checked.keyUsage, lifetimeSeconds: 7 * 86_400 });
    const text = openssl(['x509', '-noout', '-text', '-nameopt', 'utf8'], issued.cert.toString('pem'));
    expect(text).toMatch(/othername: (SmtpUTF8Mailbox|1\.3\.6\.1\.5\.5\.7\.8\.9)[:;]/);
    expect(text).toContain(email);
    expect(text).not.toMatch(/email:/);
  });

  it('refuses each mailbox form where the other is due (RFC 9598 §3)', async () => {
    expect(refusal((await csr([{ rfc822: 'jörg@example.test' }], KU.digitalSignature)).der, ['jörg@example.test'])).toMatch(/use SmtpUTF8Mailbox/);
    expect(refusal((await csr([{ smtpUtf8: 'alice@example.test' }], KU.digitalSignature)).der, ['alice@example.test'])).toMatch(/ASCII local part; use rfc822Name/);
  });

  it('takes the domain case-insensitively but the local part exactly', async () => {
    expect(refusal((await csr([{ rfc822: 'alice@EXAMPLE.test' }], KU.digitalSignature)).der, ['alice@example.test'])).toBe('accepted');
    expect(refusal((await csr([{ rfc822: 'Alice@example.test' }], KU.digitalSignature)).der, ['alice@example.test'])).toMatch(/lacks the ordered mailbox/);
  });

  it('checks key usage against the key type: RSA keyEncipherment, EC keyAgreement', async () => {
    const rsa = await csr([{ rfc822: 'alice@example.test' }], KU.digitalSignature | KU.keyEncipherment, 'RSA-2048');
    expect(refusal(rsa.der, ['alice@example.test'])).toBe('accepted');
    expect(refusal((await csr([{ rfc822: 'alice@example.test' }], KU.keyEncipherment)).der, ['alice@example.test'])).toMatch(/cannot carry/);
    expect(refusal((await csr([{ rfc822: 'alice@example.test' }], KU.nonRepudiation)).der, ['alice@example.test'])).toMatch(/neither signing/);
    expect(refusal((await csr([{ rfc822: 'alice@example.test' }], KU.digitalSignature | KU.dataEncipherment)).der, ['alice@example.test'])).toMatch(/cannot carry/);
  });

  it('refuses a weak RSA key, the account key, and a broken self-signature', async () => {
    expect(refusal((await csr([{ rfc822: 'alice@example.test' }], KU.digitalSignature, 'RSA-1024')).der, ['alice@example.test'])).toMatch(/1024 bits/);
    const request = await csr([{ rfc822: 'alice@example.test' }], KU.digitalSignature);
    const spki = Buffer.from(await crypto.subtle.exportKey('spki', request.keys.publicKey));
    expect(refusal(request.der, ['alice@example.test'], createPublicKey({ key: spki, format: 'der', type: 'spki' }))).toMatch(/is the account key/);
    const broken = Buffer.from(request.der);
    broken[broken.length - 3] = broken[broken.length - 3]! ^ 0x01;
    expect(refusal(broken, ['alice@example.test'])).toMatch(/self-signature does not verify/);
  });
});
