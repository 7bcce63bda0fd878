/**
 * Encrypted private keys: PKCS#8 EncryptedPrivateKeyInfo (RFC 5958 §3) under PBES2 (RFC 8018),
 * the only form in which the enrollment flow may keep a pending key (storage.local).
 * Writes PBKDF2-HMAC-SHA256 + AES-256-CBC; reads everything pbe.ts reads, so a key exported by
 * `openssl pkcs8 -topk8` or by older tools can be imported for a renewal with the same key.
 */
import { children, octets, parseDer } from './asn1';
import { octetString, sequence } from './der';
import { Pkcs12FormatError, WrongPassphraseError } from './errors';
import { importPkcs8, type KeyOptions } from './keys';
import { DecryptionFailed, decryptWith, encryptPbes2, type SchemeInfo } from './pbe';
import { checkIterations, checkPassphrase, DEFAULT_ITERATIONS } from './policy';

export interface EncryptKeyOptions {
  /** PBKDF2 iterations; DEFAULT_ITERATIONS (600 000) unless given. */
  readonly iterations?: number;
  readonly allowEmptyPassphrase?: boolean;
}

/** The PKCS#8 PrivateKeyInfo of an extractable key; stays inside this module, always wiped after use. */
export async function exportPkcs8(key: CryptoKey, crypto: Crypto): Promise<Uint8Array<ArrayBuffer>> {
  if (!key.extractable) throw new Pkcs12FormatError('the private key is not extractable, so it cannot be encrypted or bundled');
  return new Uint8Array(await crypto.subtle.exportKey('pkcs8', key));
}

/** Encrypts a private key as EncryptedPrivateKeyInfo DER (RFC 5958 §3; PEM label "ENCRYPTED PRIVATE KEY"). */
export async function encryptPrivateKey(key: CryptoKey, passphrase: string, crypto: Crypto, options: EncryptKeyOptions = {}): Promise<Uint8Array<ArrayBuffer>> {
  checkPassphrase(passphrase, options.allowEmptyPassphrase);
  const iterations = checkIterations(options.iterations ?? DEFAULT_ITERATIONS);
  const pkcs8 = await exportPkcs8(key, crypto);
  try {
    const { algorithm, ciphertext } = await encryptPbes2(pkcs8, passphrase, iterations, crypto);
    return sequence(algorithm, octetString(ciphertext));
  } finally {
    pkcs8.fill(0);
  }
}

/** Decrypts EncryptedPrivateKeyInfo to the PKCS#8 bytes; the caller must wipe them. */
export async function decryptPkcs8(der: Uint8Array, passphrase: string, crypto: Crypto): Promise<{ pkcs8: Uint8Array<ArrayBuffer>; info: SchemeInfo }> {
  const [algorithm, data] = children(parseDer(der, 'EncryptedPrivateKeyInfo'), 'EncryptedPrivateKeyInfo');
  let result: { plaintext: Uint8Array<ArrayBuffer>; info: SchemeInfo };
  try {
    result = await decryptWith(algorithm, octets(data, 'encryptedData'), passphrase, crypto);
  } catch (error) {
    if (error instanceof DecryptionFailed) throw new WrongPassphraseError('encrypted private key');
    throw error;
  }
  try {
    // A wrong key that happens to leave valid padding (1 in 256) yields bytes that are not a PrivateKeyInfo.
    children(parseDer(result.plaintext, 'PrivateKeyInfo'), 'PrivateKeyInfo');
  } catch {
    result.plaintext.fill(0);
    throw new WrongPassphraseError('encrypted private key');
  }
  return { pkcs8: result.plaintext, info: result.info };
}

/** Decrypts an EncryptedPrivateKeyInfo and imports it with its public half. */
export async function decryptKeyPair(der: Uint8Array, passphrase: string, crypto: Crypto, options: KeyOptions = {}): Promise<CryptoKeyPair> {
  const { pkcs8 } = await decryptPkcs8(der, passphrase, crypto);
  return importPkcs8(pkcs8, crypto, options); // importPkcs8 wipes pkcs8
}

/** Decrypts an EncryptedPrivateKeyInfo to the private key (wrong passphrase → WrongPassphraseError). */
export async function decryptPrivateKey(der: Uint8Array, passphrase: string, crypto: Crypto, options: KeyOptions = {}): Promise<CryptoKey> {
  return (await decryptKeyPair(der, passphrase, crypto, options)).privateKey;
}
