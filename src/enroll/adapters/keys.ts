/**
 * KeyPort over src/pkcs12: the key is generated, put in a CSR and encrypted in one go, so the
 * flow only ever holds the CSR and the EncryptedPrivateKeyInfo (RFC 5958) — the clear key
 * exists only in memory: here, and when a PKCS#12 is built.
 * Install: buildImportPkcs12 (one-time secret, no hash loop in JavaScript) goes to Thunderbird;
 * the user's `.p12` is Thunderbird's own export when isStrongPkcs12 accepts it, else buildPkcs12
 * after the certificate is installed (docs/PKCS12.md).
 */
import {
  WrongPassphraseError,
  Pkcs12FormatError,
  buildOneTimePkcs12,
  buildPkcs12,
  certificateDer,
  createCsr,
  decryptKeyPair,
  decryptPrivateKey,
  encryptPrivateKey,
  generateKey,
  generatePassphrase,
  inspectCertificate,
  isAtLeastDefaultProtection,
  parsePkcs12,
  pemDecodeAll,
  readPkcs12Protection,
} from '../../pkcs12/index';
import { PortError, type CertificateSummary, type KeyPort, type Usage } from '../ports';

export interface KeysAdapterOptions {
  readonly crypto: Crypto;
  /** PBKDF2 iterations for the stored key and the PKCS#12; src/pkcs12's default when absent. */
  readonly iterations?: number;
}

export function usageOf(keyUsage: readonly string[]): Usage {
  const signs = keyUsage.includes('digitalSignature') || keyUsage.includes('nonRepudiation');
  const encrypts = keyUsage.includes('keyEncipherment') || keyUsage.includes('keyAgreement');
  return signs && !encrypts ? 'sign' : encrypts && !signs ? 'encrypt' : 'both';
}

export function createKeysAdapter(options: KeysAdapterOptions): KeyPort {
  const { crypto } = options;
  const iterations = options.iterations === undefined ? {} : { iterations: options.iterations };
  const openKey = async (encryptedKey: Uint8Array, passphrase: string): Promise<CryptoKey> => {
    try {
      // PBKDF2 in WebCrypto: native, also where the JavaScript JIT is off.
      return await decryptPrivateKey(encryptedKey, passphrase, crypto);
    } catch (error) {
      if (error instanceof WrongPassphraseError) throw new PortError('wrongPassphrase', error.message, { cause: error });
      throw error;
    }
  };
  const certificatesOf = (chainPem: string): Uint8Array[] =>
    pemDecodeAll(chainPem).filter((block) => block.label === 'CERTIFICATE').map((block) => block.der);
  return {
    async generate(emails, keyType, usage, passphrase) {
      const keys = await generateKey(keyType, crypto);
      const csrDer = await createCsr({ keys, emails, usage }, crypto);
      const encryptedKey = await encryptPrivateKey(keys.privateKey, passphrase, crypto, iterations);
      return { csrDer, encryptedKey };
    },

    async csrForKey(encryptedKey, passphrase, emails, usage) {
      let keys: CryptoKeyPair;
      try {
        keys = await decryptKeyPair(encryptedKey, passphrase, crypto);
      } catch (error) {
        if (error instanceof WrongPassphraseError) throw new PortError('wrongPassphrase', error.message, { cause: error });
        throw error;
      }
      return createCsr({ keys, emails, usage }, crypto);
    },

    async openPkcs12(pkcs12, passphrase) {
      try {
        const parsed = await parsePkcs12(pkcs12, passphrase, crypto);
        // parsePkcs12 has matched the key to its certificate; the caller wipes the PKCS#8.
        const pkcs8 = new Uint8Array(await crypto.subtle.exportKey('pkcs8', parsed.privateKey));
        return { certificateDer: parsed.certificate, pkcs8 };
      } catch (error) {
        if (error instanceof WrongPassphraseError) throw new PortError('wrongPassphrase', error.message, { cause: error });
        throw new PortError('fatal', error instanceof Error ? error.message : String(error), { cause: error });
      }
    },

    async buildPkcs12(encryptedKey, passphrase, chainPem, friendlyName) {
      const privateKey = await openKey(encryptedKey, passphrase);
      return buildPkcs12({ privateKey, certificates: certificatesOf(chainPem), passphrase, friendlyName, ...iterations }, crypto);
    },

    async buildImportPkcs12(encryptedKey, passphrase, chainPem, friendlyName) {
      const privateKey = await openKey(encryptedKey, passphrase);
      return buildOneTimePkcs12({ privateKey, certificates: certificatesOf(chainPem), friendlyName }, crypto);
    },

    isStrongPkcs12(pkcs12) {
      try {
        return isAtLeastDefaultProtection(readPkcs12Protection(pkcs12), options.iterations);
      } catch (error) {
        if (error instanceof Pkcs12FormatError) return false; // what cannot be read is not offered
        throw error;
      }
    },

    async inspect(chainPem): Promise<CertificateSummary> {
      const summary = await inspectCertificate(chainPem, crypto);
      return {
        emails: summary.addresses.map((a) => a.display),
        usage: usageOf(summary.keyUsage),
        notBefore: summary.notBefore.getTime(),
        notAfter: summary.notAfter.getTime(),
        sha256Fingerprint: summary.sha256Fingerprint,
        serialNumber: summary.serialNumber,
        issuer: summary.issuer,
      };
    },

    leafDer: (chainPem) => certificateDer(chainPem),
    generatePassphrase: () => generatePassphrase(crypto),
  };
}
