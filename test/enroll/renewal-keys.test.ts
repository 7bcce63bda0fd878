/**
 * Renewal with the kept key, with the real keys adapter (src/pkcs12): the CSR made for a renewal
 * from the stored encrypted key carries the same public key as the first one, and a wrong
 * passphrase is told as such.
 */
import { webcrypto } from 'node:crypto';
import * as asn1js from 'asn1js';
import { describe, expect, it } from 'vitest';
import { createKeysAdapter } from '../../src/enroll/adapters/keys';
import { PortError } from '../../src/enroll/ports';

const crypto = webcrypto as unknown as Crypto;
const keys = createKeysAdapter({ crypto, iterations: 1_000 });

/** The SubjectPublicKeyInfo of a PKCS#10 request (RFC 2986 §4.1), as DER. */
function publicKeyOfCsr(csr: Uint8Array): string {
  const parsed = asn1js.fromBER(Uint8Array.from(csr).buffer);
  const request = parsed.result;
  if (!(request instanceof asn1js.Sequence)) throw new Error('not a CertificationRequest');
  const info = request.valueBlock.value[0];
  if (!(info instanceof asn1js.Sequence)) throw new Error('no CertificationRequestInfo');
  const spki = info.valueBlock.value[2];
  if (!spki) throw new Error('no SubjectPublicKeyInfo');
  return Buffer.from(spki.toBER()).toString('hex');
}

describe('the kept key renews with the same public key', () => {
  for (const keyType of ['P-256', 'RSA-2048'] as const) {
    it(`same key (${keyType}): the renewal CSR carries the first CSR's public key`, async () => {
      const first = await keys.generate(['alice@example.test'], keyType, 'both', 'kept key passphrase');
      const renewal = await keys.csrForKey(first.encryptedKey, 'kept key passphrase', ['alice@example.test'], 'both');
      expect(publicKeyOfCsr(renewal)).toBe(publicKeyOfCsr(first.csrDer));
      const other = await keys.generate(['alice@example.test'], keyType, 'both', 'kept key passphrase');
      expect(publicKeyOfCsr(other.csrDer)).not.toBe(publicKeyOfCsr(first.csrDer));
    }, 60_000);
  }

  it('a wrong passphrase is a wrongPassphrase PortError', async () => {
    const first = await keys.generate(['alice@example.test'], 'P-256', 'sign', 'kept key passphrase');
    await expect(keys.csrForKey(first.encryptedKey, 'not it at all', ['alice@example.test'], 'sign')).rejects.toMatchObject({ kind: 'wrongPassphrase' });
    await expect(keys.csrForKey(first.encryptedKey, 'not it at all', ['alice@example.test'], 'sign')).rejects.toBeInstanceOf(PortError);
  });

  it('a file that is not a PKCS#12 is refused as damaged, not as a wrong passphrase', async () => {
    await expect(keys.openPkcs12(new TextEncoder().encode('not a pkcs12 file'), 'whatever')).rejects.toMatchObject({ kind: 'fatal' });
  });
});
