import { spawnSync } from 'node:child_process';
import { webcrypto } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeTempDir } from '../helpers/process';
import { openssl } from '../helpers/openssl';
import { createCsr, generateKey, InvalidMailboxError, KEY_TYPES, pemEncode, type KeyType, type Usage } from '../../src/pkcs12';

const crypto = webcrypto as unknown as Crypto;
const tmp = makeTempDir('csr-test');
afterAll(() => {
  tmp.remove();
});

/** Runs `openssl req -verify` and `-text` on a DER CSR; throws unless OpenSSL says the signature verifies. */
function opensslText(der: Uint8Array, name: string): string {
  const path = join(tmp.path, `${name}.pem`);
  writeFileSync(path, pemEncode('CERTIFICATE REQUEST', der));
  // OpenSSL 3.0 exits 0 even when the self-signature fails; only its message tells.
  const verify = spawnSync('openssl', ['req', '-in', path, '-verify', '-noout'], { encoding: 'utf8' });
  if (!verify.stderr.includes('self-signature verify OK')) throw new Error(`openssl req -verify: ${verify.stderr}`);
  return openssl(['req', '-in', path, '-noout', '-text', '-nameopt', 'utf8']);
}

const keys = new Map<KeyType, CryptoKeyPair>();
async function keyOf(type: KeyType): Promise<CryptoKeyPair> {
  let pair = keys.get(type);
  if (!pair) keys.set(type, (pair = await generateKey(type, crypto)));
  return pair;
}

const USAGE_TEXT: Record<Usage, { rsa: string; ec: string }> = {
  sign: { rsa: 'Digital Signature', ec: 'Digital Signature' },
  encrypt: { rsa: 'Key Encipherment', ec: 'Key Agreement' },
  both: { rsa: 'Digital Signature, Key Encipherment', ec: 'Digital Signature, Key Agreement' },
};

describe('createCsr (RFC 2986) read back by OpenSSL', () => {
  for (const type of KEY_TYPES) {
    for (const usage of ['sign', 'encrypt', 'both'] as const) {
      it(`${type}, usage ${usage}: signature verifies, SAN and critical keyUsage as intended`, async () => {
        const csr = await createCsr({ keys: await keyOf(type), emails: ['alice@example.org'], usage }, crypto);
        const text = opensslText(csr, `${type}-${usage}`);
        expect(text).toMatch(/Subject: CN\s?=\s?alice@example.org/);
        expect(text).toMatch(/X509v3 Subject Alternative Name: \n\s+email:alice@example.org\n/);
        expect(text).toMatch(new RegExp(`X509v3 Key Usage: critical\\n\\s+${USAGE_TEXT[usage][type.startsWith('RSA') ? 'rsa' : 'ec']}\\n`));
        expect(text).toContain(type.startsWith('RSA') ? `Public-Key: (${type.slice(4)} bit)` : `NIST CURVE: ${type}`);
        expect(text).toContain(type === 'P-384' ? 'ecdsa-with-SHA384' : type === 'P-256' ? 'ecdsa-with-SHA256' : 'sha256WithRSAEncryption');
        // "no other extensions": exactly SAN and keyUsage are requested.
        expect(text.match(/X509v3 [A-Za-z ]+:/g)).toEqual(['X509v3 Subject Alternative Name:', 'X509v3 Key Usage:']);
      });
    }
  }

  it('adds nonRepudiation when asked, only to signing usages', async () => {
    const pair = await keyOf('P-256');
    expect(opensslText(await createCsr({ keys: pair, emails: ['a@example.org'], usage: 'sign', nonRepudiation: true }, crypto), 'nr-sign'))
      .toMatch(/Key Usage: critical\n\s+Digital Signature, Non Repudiation\n/);
    expect(opensslText(await createCsr({ keys: pair, emails: ['a@example.org'], usage: 'encrypt', nonRepudiation: true }, crypto), 'nr-enc'))
      .toMatch(/Key Usage: critical\n\s+Key Agreement\n/);
  });

  it('writes IDN domains as A-labels in rfc822Name and non-ASCII local parts as SmtpUTF8Mailbox (RFC 9598) with U-labels', async () => {
    const csr = await createCsr({ keys: await keyOf('P-256'), emails: ['Alice@Bücher.example', 'jøran@blåbærsyltetøy.no', '用户@例子.广告'], usage: 'both' }, crypto);
    const text = opensslText(csr, 'idn');
    expect(text).toMatch(/Subject: CN\s?=\s?Alice@xn--bcher-kva.example/);
    expect(text).toContain('email:Alice@xn--bcher-kva.example, othername: SmtpUTF8Mailbox::jøran@blåbærsyltetøy.no, othername: SmtpUTF8Mailbox::用户@例子.广告');
  });

  it('puts a non-ASCII first address in the CN as UTF-8', async () => {
    const text = opensslText(await createCsr({ keys: await keyOf('P-256'), emails: ['jøran@blåbærsyltetøy.no'], usage: 'sign' }, crypto), 'utf8cn');
    expect(text).toMatch(/Subject: CN\s?=\s?jøran@blåbærsyltetøy.no/);
  });

  it('leaves the subject empty and marks the SAN critical when the first address exceeds ub-common-name (64)', async () => {
    const long = `${'a'.repeat(60)}@example.org`;
    const text = opensslText(await createCsr({ keys: await keyOf('P-256'), emails: [long], usage: 'sign' }, crypto), 'long');
    expect(text).toMatch(/Subject:\s*\n/);
    expect(text).toContain(`X509v3 Subject Alternative Name: critical\n                    email:${long}`);
  });

  it('encodes addresses of 128 bytes and more with a long-form length (regression: the length byte leaked into the name)', async () => {
    const long = `${'b'.repeat(64)}@${'c'.repeat(60)}.example.org`; // 137 bytes
    const text = opensslText(await createCsr({ keys: await keyOf('P-256'), emails: ['short@example.org', long], usage: 'sign' }, crypto), 'long128');
    expect(text).toContain(`email:short@example.org, email:${long}\n`);
  });

  it('is really checked by OpenSSL: a request with one flipped signature byte fails -verify', async () => {
    const csr = await createCsr({ keys: await keyOf('RSA-2048'), emails: ['alice@example.org'], usage: 'sign' }, crypto);
    csr[csr.length - 10]! ^= 0x01;
    expect(() => opensslText(csr, 'tampered')).toThrow(/verify|signature/i);
  });

  it('refuses addresses that are not mailboxes, naming the address and the reason', async () => {
    const pair = await keyOf('P-256');
    for (const [address, reason] of [
      ['alice', /no @/], ['alice@localhost', /single label/], ['a b@example.org', /" "/], ['"a"@example.org', /quoted/],
      ['a@[192.0.2.1]', /literal/], ['a@192.0.2.1', /IP address/], ['.a@example.org', /dot/], ['a@exa mple.org', /character/],
      ['a\u202e@example.org', /U\+202E/], ['a@xn--zz.example', /domain/], [`${'a'.repeat(65)}@example.org`, /64 bytes/],
    ] as const) {
      const attempt = createCsr({ keys: pair, emails: [address], usage: 'sign' }, crypto);
      await expect(attempt).rejects.toBeInstanceOf(InvalidMailboxError);
      await expect(attempt).rejects.toThrow(reason);
    }
    await expect(createCsr({ keys: pair, emails: [], usage: 'sign' }, crypto)).rejects.toBeInstanceOf(InvalidMailboxError);
    await expect(createCsr({ keys: pair, emails: ['a@example.org', 'a@EXAMPLE.org'], usage: 'sign' }, crypto)).rejects.toThrow(/twice/);
  });
});
