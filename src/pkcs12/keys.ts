/**
 * Key pairs for S/MIME certificates: generation with WebCrypto, import of PKCS#8 (RFC 5208,
 * RFC 5958), and the check that a key belongs to a certificate.
 * Algorithms: RSA (RFC 8017) signing with RSASSA-PKCS1-v1_5/SHA-256 — the key NSS later also uses
 * for keyEncipherment — and ECDSA (FIPS 186-5) on P-256 with SHA-256 or P-384 with SHA-384.
 * Accepted: RSA ≥ 2048 bits, ECDSA P-256/P-384 only (docs/PKCS12.md); anything else is refused
 * with KeyError.
 * The private key is generated extractable because the flow must wrap it (encrypted PKCS#8,
 * PKCS#12); its usages are limited to `sign`. Nothing here ever returns unencrypted key bytes.
 */
import { bitStringBytes, children, integerBitLength, octets, oidOf, parseDer } from './asn1';
import { KeyError, Pkcs12FormatError } from './errors';
import { OID } from './oids';
import type { KeyType } from '../common/vocabulary';

export type KeyDescription = { readonly kind: 'RSA'; readonly bits: number } | { readonly kind: 'EC'; readonly curve: 'P-256' | 'P-384' };

export interface KeyOptions {
  /**
   * Whether the private key can be exported (wrapped into encrypted PKCS#8 or PKCS#12). Default
   * true: every caller in the enrollment flow has to store or bundle the key. Pass false for a
   * key that only ever signs (a self-check).
   */
  readonly extractable?: boolean;
}

/** The WebCrypto algorithm used to sign with a key of this description. */
export function signingAlgorithm(desc: KeyDescription): RsaHashedImportParams | EcKeyImportParams {
  return desc.kind === 'RSA' ? { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } : { name: 'ECDSA', namedCurve: desc.curve };
}

/** The signature parameters (hash) that go with a key: SHA-384 for P-384 (RFC 5480 §4), SHA-256 otherwise. */
export function signatureParams(desc: KeyDescription): AlgorithmIdentifier | EcdsaParams {
  return desc.kind === 'RSA' ? { name: 'RSASSA-PKCS1-v1_5' } : { name: 'ECDSA', hash: desc.curve === 'P-384' ? 'SHA-384' : 'SHA-256' };
}

/** Generates a fresh key pair of one of the allowed types. */
export async function generateKey(type: KeyType, crypto: Crypto, options: KeyOptions = {}): Promise<CryptoKeyPair> {
  const extractable = options.extractable ?? true;
  if (type.startsWith('RSA-')) {
    const modulusLength = Number(type.slice(4));
    return crypto.subtle.generateKey(
      { name: 'RSASSA-PKCS1-v1_5', modulusLength, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
      extractable,
      ['sign', 'verify'],
    );
  }
  if (type !== 'P-256' && type !== 'P-384') throw new KeyError(`unknown key type "${type as string}"`);
  return crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: type }, extractable, ['sign', 'verify']);
}

/** What kind of key this is, from WebCrypto's own description. */
export function describeKey(key: CryptoKey): KeyDescription {
  const alg = key.algorithm as Partial<RsaHashedKeyAlgorithm & EcKeyAlgorithm>;
  if (alg.name === 'RSASSA-PKCS1-v1_5' || alg.name === 'RSA-PSS' || alg.name === 'RSA-OAEP') {
    const bits = alg.modulusLength ?? 0;
    if (bits < 2048) throw new KeyError(`RSA keys need at least 2048 bits; this one has ${bits}`);
    return { kind: 'RSA', bits };
  }
  if ((alg.name === 'ECDSA' || alg.name === 'ECDH') && (alg.namedCurve === 'P-256' || alg.namedCurve === 'P-384')) return { kind: 'EC', curve: alg.namedCurve };
  throw new KeyError(`unsupported key algorithm ${alg.name ?? '?'}${alg.namedCurve ? ` ${alg.namedCurve}` : ''}`);
}

/** Reads the algorithm out of a PKCS#8 PrivateKeyInfo (RFC 5208 §5) or a SubjectPublicKeyInfo (RFC 5280 §4.1). */
export function describeKeyInfo(der: Uint8Array, kind: 'private' | 'public'): KeyDescription {
  const fields = children(parseDer(der, kind === 'private' ? 'PKCS#8 PrivateKeyInfo' : 'SubjectPublicKeyInfo'), 'key info');
  const algorithm = kind === 'private' ? fields[1] : fields[0];
  const [algOid, params] = children(algorithm, 'key AlgorithmIdentifier');
  const name = oidOf(algOid, 'key algorithm');
  if (name === OID.rsaEncryption) {
    let bits: number;
    try {
      const rsa = kind === 'private'
        ? children(parseDer(octets(fields[2], 'privateKey'), 'RSAPrivateKey'), 'RSAPrivateKey')[1]
        : children(parseDer(bitStringBytes(fields[1], 'subjectPublicKey'), 'RSAPublicKey'), 'RSAPublicKey')[0];
      bits = integerBitLength(rsa, 'RSA modulus');
    } catch (cause) {
      throw new KeyError('malformed RSA key', { cause });
    }
    if (bits < 2048) throw new KeyError(`RSA keys need at least 2048 bits; this one has ${bits}`);
    return { kind: 'RSA', bits };
  }
  if (name === OID.ecPublicKey) {
    const curve = oidOf(params, 'EC named curve');
    if (curve === OID.secp256r1) return { kind: 'EC', curve: 'P-256' };
    if (curve === OID.secp384r1) return { kind: 'EC', curve: 'P-384' };
    throw new KeyError(`unsupported elliptic curve ${curve} (P-256 and P-384 only)`);
  }
  throw new KeyError(`unsupported key algorithm ${name} (RSA and ECDSA only)`);
}

/**
 * Imports a PKCS#8 PrivateKeyInfo and recovers its public half (needed for a CSR).
 * The public key comes from the private key's JWK with the private members removed, which needs
 * an extractable import; when the caller wants a non-extractable key, it is imported once more.
 * `der` is key material: it is wiped (zero-filled) once imported, so pass a copy to keep it.
 */
export async function importPkcs8(der: Uint8Array<ArrayBuffer>, crypto: Crypto, options: KeyOptions = {}): Promise<CryptoKeyPair> {
  let desc: KeyDescription;
  try {
    desc = describeKeyInfo(der, 'private');
  } catch (error) {
    if (error instanceof KeyError) throw error;
    throw new KeyError('not a PKCS#8 private key', { cause: error });
  }
  const algorithm = signingAlgorithm(desc);
  let exportable: CryptoKey;
  try {
    exportable = await crypto.subtle.importKey('pkcs8', der, algorithm, true, ['sign']);
  } catch (cause) {
    throw new KeyError('WebCrypto refused the PKCS#8 private key', { cause });
  }
  const jwk = await crypto.subtle.exportKey('jwk', exportable);
  // Keep only the public members (RFC 7518 §6.2.1, §6.3.1).
  const publicJwk: JsonWebKey = {};
  for (const member of desc.kind === 'RSA' ? (['kty', 'n', 'e'] as const) : (['kty', 'crv', 'x', 'y'] as const)) {
    const value = jwk[member];
    if (value !== undefined) publicJwk[member] = value;
  }
  const publicKey = await crypto.subtle.importKey('jwk', publicJwk, algorithm, true, ['verify']);
  const extractable = options.extractable ?? true;
  const privateKey = extractable ? exportable : await crypto.subtle.importKey('pkcs8', der, algorithm, false, ['sign']);
  der.fill(0);
  return { privateKey, publicKey };
}

/** The SubjectPublicKeyInfo of a certificate (RFC 5280 §4.1.2.7), as DER. */
export function certificateSpki(certDer: Uint8Array): Uint8Array<ArrayBuffer> {
  const cert = children(parseDer(certDer, 'certificate'), 'Certificate');
  const tbs = children(cert[0], 'TBSCertificate');
  // version [0] is optional; the SPKI is the 6th field after it.
  const offset = tbs[0] && tbs[0].idBlock.tagClass === 3 ? 1 : 0;
  const spki = tbs[offset + 5];
  if (!spki) throw new Pkcs12FormatError('certificate without subjectPublicKeyInfo');
  return spki.valueBeforeDecodeView.slice();
}

/**
 * Whether `privateKey` is the private half of the certificate's public key: signs a random
 * challenge and verifies it with the certificate's key. Works for non-extractable keys too.
 */
export async function keyMatchesCertificate(privateKey: CryptoKey, certDer: Uint8Array, crypto: Crypto): Promise<boolean> {
  const spki = certificateSpki(certDer);
  let certDesc: KeyDescription;
  try {
    certDesc = describeKeyInfo(spki, 'public');
  } catch {
    return false;
  }
  const keyDesc = describeKey(privateKey);
  if (keyDesc.kind !== certDesc.kind || (keyDesc.kind === 'EC' && certDesc.kind === 'EC' && keyDesc.curve !== certDesc.curve)) return false;
  const publicKey = await crypto.subtle.importKey('spki', spki, signingAlgorithm(certDesc), false, ['verify']);
  const challenge = crypto.getRandomValues(new Uint8Array(32));
  const params = signatureParams(keyDesc);
  const signature = await crypto.subtle.sign(params, privateKey, challenge);
  return crypto.subtle.verify(params, publicKey, signature, challenge);
}
