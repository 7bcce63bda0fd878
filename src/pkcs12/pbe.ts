/**
 * Password-based encryption of PKCS#12 bags and PKCS#8 keys.
 * Writes: PBES2 (RFC 8018 §6.2) with PBKDF2-HMAC-SHA256 (§5.2, RFC 8018 Appendix B.1.2) and
 * AES-256-CBC (RFC 3565 / RFC 8018 B.2.5) — what OpenSSL 3 and NSS write by default — and, only
 * when asked for old clients, pbeWithSHAAnd3-KeyTripleDES-CBC (RFC 7292 Appendix C).
 * Reads: PBES2 with PBKDF2 (HMAC-SHA1/256/384/512) and AES-128/192/256-CBC or DES-EDE3-CBC,
 * and the RFC 7292 Appendix C schemes with 3DES (2- and 3-key) and RC2 (40 and 128 bits).
 * Known deviation (shared with OpenSSL and NSS): inside PKCS#12 the PBES2 passphrase is its UTF-8
 * bytes, while the Appendix C schemes and the MAC use the BMPString of RFC 7292 B.1.
 * Iteration counts above MAX_ITERATIONS are refused on reading: a crafted file must not keep
 * the add-on busy for hours.
 */
import { children, octets, oidOf, smallInteger, type Node } from './asn1';
import { nullValue, octetString, oid, sequence, integer, type Der } from './der';
import { Pkcs12FormatError } from './errors';
import { bmpPassword, KdfPurpose, pkcs12KdfAsync } from './kdf';
import { CipherError, rc2CbcDecrypt, tripleDesCbcDecrypt, tripleDesCbcEncrypt } from './legacy-ciphers';
import { OID } from './oids';
import { SHA1 } from './sha';

/** Upper bound on any iteration count read from a file (NSS writes 600 000, OpenSSL 2 048). */
export const MAX_ITERATIONS = 10_000_000;

/** Thrown when decryption fails in a way that, absent other evidence, means the wrong passphrase. */
export class DecryptionFailed extends Error {
  override readonly name = 'DecryptionFailed';
}

export interface Encrypted {
  /** The AlgorithmIdentifier, DER. */
  readonly algorithm: Der;
  readonly ciphertext: Der;
}

const utf8 = (s: string): Uint8Array<ArrayBuffer> => new TextEncoder().encode(s);

function random(crypto: Crypto, n: number): Uint8Array<ArrayBuffer> {
  return crypto.getRandomValues(new Uint8Array(n));
}

async function pbkdf2(crypto: Crypto, password: Uint8Array<ArrayBuffer>, salt: Uint8Array<ArrayBuffer>, iterations: number, hash: string, bytes: number): Promise<Uint8Array<ArrayBuffer>> {
  const base = await crypto.subtle.importKey('raw', password, 'PBKDF2', false, ['deriveBits']);
  return new Uint8Array(await crypto.subtle.deriveBits({ name: 'PBKDF2', salt, iterations, hash }, base, bytes * 8));
}

/** RFC 8018 §6.2.1 with PBKDF2-HMAC-SHA256 and AES-256-CBC, a fresh 16-byte salt and IV. */
export async function encryptPbes2(plaintext: Uint8Array<ArrayBuffer>, passphrase: string, iterations: number, crypto: Crypto): Promise<Encrypted> {
  const salt = random(crypto, 16);
  const iv = random(crypto, 16);
  const keyBytes = await pbkdf2(crypto, utf8(passphrase), salt, iterations, 'SHA-256', 32);
  const key = await crypto.subtle.importKey('raw', keyBytes, 'AES-CBC', false, ['encrypt']);
  keyBytes.fill(0);
  const ciphertext = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-CBC', iv }, key, plaintext));
  const algorithm = sequence(
    oid(OID.pbes2),
    sequence(
      sequence(oid(OID.pbkdf2), sequence(octetString(salt), integer(iterations), sequence(oid(OID.hmacWithSHA256), nullValue()))),
      sequence(oid(OID.aes256Cbc), octetString(iv)),
    ),
  );
  return { algorithm, ciphertext };
}

/** RFC 7292 Appendix C pbeWithSHAAnd3-KeyTripleDES-CBC: only for the `legacy` option. */
export async function encryptLegacy3Des(plaintext: Uint8Array, passphrase: string, iterations: number, crypto: Crypto): Promise<Encrypted> {
  const salt = random(crypto, 8);
  const password = bmpPassword(passphrase);
  const key = await pkcs12KdfAsync(SHA1, password, salt, iterations, KdfPurpose.Key, 24);
  const iv = await pkcs12KdfAsync(SHA1, password, salt, iterations, KdfPurpose.Iv, 8);
  const ciphertext = tripleDesCbcEncrypt(key, iv, plaintext);
  key.fill(0);
  return { algorithm: sequence(oid(OID.pbeWithSHAAnd3KeyTripleDesCbc), sequence(octetString(salt), integer(iterations))), ciphertext };
}

function checkIterations(n: number): number {
  if (n < 1 || n > MAX_ITERATIONS) throw new Pkcs12FormatError(`iteration count ${n} is outside 1..${MAX_ITERATIONS}`);
  return n;
}

const PRF_HASH: Record<string, string> = {
  [OID.hmacWithSHA1]: 'SHA-1',
  [OID.hmacWithSHA256]: 'SHA-256',
  [OID.hmacWithSHA384]: 'SHA-384',
  [OID.hmacWithSHA512]: 'SHA-512',
};
const AES_KEY_BYTES: Record<string, number> = { [OID.aes128Cbc]: 16, [OID.aes192Cbc]: 24, [OID.aes256Cbc]: 32 };

/** A short human description of an encryption AlgorithmIdentifier, for the UI and the tests. */
export interface SchemeInfo {
  readonly scheme: string;
  readonly iterations: number;
}

interface Pbes2Params {
  readonly salt: Uint8Array<ArrayBuffer>;
  readonly iterations: number;
  readonly keyLength: number | undefined;
  /** The PBKDF2 PRF's hash, WebCrypto's name. */
  readonly hash: string;
  /** The encryption scheme's OID and its IV. */
  readonly enc: string;
  readonly iv: Uint8Array<ArrayBuffer>;
}

function readPbes2Params(params: Node | undefined): Pbes2Params {
  const [kdf, scheme] = children(params, 'PBES2-params');
  const [kdfOid, kdfParams] = children(kdf, 'PBES2 keyDerivationFunc');
  if (oidOf(kdfOid, 'PBES2 keyDerivationFunc') !== OID.pbkdf2) throw new Pkcs12FormatError('PBES2 with a KDF other than PBKDF2', oidOf(kdfOid, 'kdf'));
  const fields = children(kdfParams, 'PBKDF2-params');
  const salt = octets(fields[0], 'PBKDF2 salt');
  const iterations = checkIterations(smallInteger(fields[1], 'PBKDF2 iterationCount'));
  let rest = fields.slice(2);
  let keyLength: number | undefined;
  if (rest[0] && rest[0].idBlock.tagClass === 1 && rest[0].idBlock.tagNumber === 2) {
    keyLength = smallInteger(rest[0], 'PBKDF2 keyLength');
    rest = rest.slice(1);
  }
  let hash = 'SHA-1'; // RFC 8018 A.2: the default PRF
  if (rest[0]) {
    const prfOid = oidOf(children(rest[0], 'PBKDF2 prf')[0], 'PBKDF2 prf');
    const named = PRF_HASH[prfOid];
    if (!named) throw new Pkcs12FormatError('PBKDF2 with an unsupported PRF', prfOid);
    hash = named;
  }
  const [encOid, encParams] = children(scheme, 'PBES2 encryptionScheme');
  const enc = oidOf(encOid, 'PBES2 encryptionScheme');
  const iv = octets(encParams, 'PBES2 IV');
  return { salt, iterations, keyLength, hash, enc, iv };
}

const PKCS12_PBE_NAMES: Record<string, string> = {
  [OID.pbeWithSHAAnd3KeyTripleDesCbc]: 'pbeWithSHAAnd3-KeyTripleDES-CBC',
  [OID.pbeWithSHAAnd2KeyTripleDesCbc]: 'pbeWithSHAAnd2-KeyTripleDES-CBC',
  [OID.pbeWithSHAAnd128BitRc2Cbc]: 'pbeWithSHAAnd128BitRC2-CBC',
  [OID.pbeWithSHAAnd40BitRc2Cbc]: 'pbeWithSHAAnd40BitRC2-CBC',
};

/**
 * Names an encryption AlgorithmIdentifier as decryptWith reports it, without the passphrase and
 * without deriving anything: what protects a file, read before (or instead of) opening it.
 */
export function describeEncryption(algorithm: Node | undefined): SchemeInfo {
  const [algOid, params] = children(algorithm, 'encryption AlgorithmIdentifier');
  const name = oidOf(algOid, 'encryption algorithm');
  if (name === OID.pbes2) {
    const { iterations, hash, enc } = readPbes2Params(params);
    if (enc === OID.desEde3Cbc) return { scheme: `PBES2/PBKDF2-HMAC-${hash}/DES-EDE3-CBC`, iterations };
    const bytes = AES_KEY_BYTES[enc];
    if (!bytes) throw new Pkcs12FormatError('PBES2 with an unsupported cipher', enc);
    return { scheme: `PBES2/PBKDF2-HMAC-${hash}/AES-${bytes * 8}-CBC`, iterations };
  }
  const scheme = PKCS12_PBE_NAMES[name];
  if (!scheme) throw new Pkcs12FormatError('unsupported password-based encryption scheme', name);
  const [, iterNode] = children(params, 'pkcs-12PbeParams');
  return { scheme, iterations: checkIterations(smallInteger(iterNode, 'pkcs-12PbeParams iterations')) };
}

async function decryptPbes2(params: Node | undefined, ciphertext: Uint8Array<ArrayBuffer>, passphrase: string, crypto: Crypto): Promise<{ plaintext: Uint8Array<ArrayBuffer>; info: SchemeInfo }> {
  const { salt, iterations, keyLength, hash, enc, iv } = readPbes2Params(params);
  const password = utf8(passphrase);
  if (enc === OID.desEde3Cbc) {
    const key = await pbkdf2(crypto, password, salt, iterations, hash, 24);
    if (keyLength !== undefined && keyLength !== 24) throw new Pkcs12FormatError(`PBKDF2 keyLength ${keyLength} does not fit DES-EDE3`);
    try {
      return { plaintext: tripleDesCbcDecrypt(key, iv, ciphertext), info: { scheme: `PBES2/PBKDF2-HMAC-${hash}/DES-EDE3-CBC`, iterations } };
    } catch (error) {
      throw error instanceof CipherError ? new DecryptionFailed(error.message) : error;
    }
  }
  const bytes = AES_KEY_BYTES[enc];
  if (!bytes) throw new Pkcs12FormatError('PBES2 with an unsupported cipher', enc);
  if (keyLength !== undefined && keyLength !== bytes) throw new Pkcs12FormatError(`PBKDF2 keyLength ${keyLength} does not fit AES-${bytes * 8}`);
  if (iv.length !== 16) throw new Pkcs12FormatError(`AES-CBC IV of ${iv.length} bytes`);
  const keyBytes = await pbkdf2(crypto, password, salt, iterations, hash, bytes);
  const key = await crypto.subtle.importKey('raw', keyBytes, 'AES-CBC', false, ['decrypt']);
  keyBytes.fill(0);
  let plaintext: Uint8Array<ArrayBuffer>;
  try {
    plaintext = new Uint8Array(await crypto.subtle.decrypt({ name: 'AES-CBC', iv }, key, ciphertext));
  } catch {
    // WebCrypto reports bad padding (the usual sign of a wrong key) as a bare OperationError.
    throw new DecryptionFailed('AES-CBC decryption failed (bad padding)');
  }
  return { plaintext, info: { scheme: `PBES2/PBKDF2-HMAC-${hash}/AES-${bytes * 8}-CBC`, iterations } };
}

async function decryptPkcs12Pbe(algorithm: string, params: Node | undefined, ciphertext: Uint8Array, passphrase: string): Promise<{ plaintext: Uint8Array<ArrayBuffer>; info: SchemeInfo }> {
  const [saltNode, iterNode] = children(params, 'pkcs-12PbeParams');
  const salt = octets(saltNode, 'pkcs-12PbeParams salt');
  const iterations = checkIterations(smallInteger(iterNode, 'pkcs-12PbeParams iterations'));
  const password = bmpPassword(passphrase);
  const kdf = (purpose: KdfPurpose, n: number): Promise<Uint8Array<ArrayBuffer>> => pkcs12KdfAsync(SHA1, password, salt, iterations, purpose, n);
  const iv = await kdf(KdfPurpose.Iv, 8);
  try {
    switch (algorithm) {
      case OID.pbeWithSHAAnd3KeyTripleDesCbc: {
        const key = await kdf(KdfPurpose.Key, 24);
        return { plaintext: tripleDesCbcDecrypt(key, iv, ciphertext), info: { scheme: 'pbeWithSHAAnd3-KeyTripleDES-CBC', iterations } };
      }
      case OID.pbeWithSHAAnd2KeyTripleDesCbc: {
        const k = await kdf(KdfPurpose.Key, 16);
        const key = new Uint8Array(24);
        key.set(k);
        key.set(k.subarray(0, 8), 16);
        return { plaintext: tripleDesCbcDecrypt(key, iv, ciphertext), info: { scheme: 'pbeWithSHAAnd2-KeyTripleDES-CBC', iterations } };
      }
      case OID.pbeWithSHAAnd128BitRc2Cbc: {
        const key = await kdf(KdfPurpose.Key, 16);
        return { plaintext: rc2CbcDecrypt(key, 128, iv, ciphertext), info: { scheme: 'pbeWithSHAAnd128BitRC2-CBC', iterations } };
      }
      case OID.pbeWithSHAAnd40BitRc2Cbc: {
        const key = await kdf(KdfPurpose.Key, 5);
        return { plaintext: rc2CbcDecrypt(key, 40, iv, ciphertext), info: { scheme: 'pbeWithSHAAnd40BitRC2-CBC', iterations } };
      }
      default:
        throw new Pkcs12FormatError('unsupported password-based encryption scheme', algorithm);
    }
  } catch (error) {
    throw error instanceof CipherError ? new DecryptionFailed(error.message) : error;
  }
}

/**
 * Decrypts `ciphertext` under the AlgorithmIdentifier `algorithm` (a parsed node).
 * Throws DecryptionFailed for what looks like a wrong passphrase, Pkcs12FormatError otherwise.
 */
export async function decryptWith(algorithm: Node | undefined, ciphertext: Uint8Array<ArrayBuffer>, passphrase: string, crypto: Crypto): Promise<{ plaintext: Uint8Array<ArrayBuffer>; info: SchemeInfo }> {
  const [algOid, params] = children(algorithm, 'encryption AlgorithmIdentifier');
  const name = oidOf(algOid, 'encryption algorithm');
  if (name === OID.pbes2) return decryptPbes2(params, ciphertext, passphrase, crypto);
  return decryptPkcs12Pbe(name, params, ciphertext, passphrase);
}
