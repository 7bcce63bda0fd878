/**
 * Account keys: generation, JWK export/import for persistence, and the JWS `alg` each key type
 * signs with (RFC 7518 §3.3/§3.4, RFC 8037 §3.1 for EdDSA with Ed25519).
 *
 * RFC 8555 §6.2 requires servers to support ES256 and EdDSA and lets them refuse others; ES256
 * is the default because every CA accepts it. ES384 and RS256 are offered for CAs that ask for them.
 * Keys are WebCrypto `CryptoKey`s from the injected `crypto`, so the same code runs in Node and
 * in Thunderbird.
 */
import { AcmeUsageError } from './errors';
import { jwkThumbprint } from './thumbprint';

export type JwsAlgorithm = 'ES256' | 'ES384' | 'RS256' | 'EdDSA';
export const JWS_ALGORITHMS: readonly JwsAlgorithm[] = ['ES256', 'ES384', 'RS256', 'EdDSA'];

/** A key that signs JWS: the account key, or a certificate key for revocation (RFC 8555 §7.6). */
export interface SigningKey {
  readonly alg: JwsAlgorithm;
  readonly privateKey: CryptoKey;
  /** The public key as a JWK holding only the RFC 7638 members (what goes into `jwk` headers). */
  readonly publicJwk: JsonWebKey;
}

/** The account key. Same shape as every other signing key; kept as its own name for readability. */
export type AccountKey = SigningKey;

interface AlgorithmParams {
  readonly generate: RsaHashedKeyGenParams | EcKeyGenParams | Algorithm;
  readonly importParams: RsaHashedImportParams | EcKeyImportParams | Algorithm;
  /** The parameters for `crypto.subtle.sign`. */
  readonly sign: EcdsaParams | Algorithm;
}

const PARAMS: Readonly<Record<JwsAlgorithm, AlgorithmParams>> = {
  ES256: {
    generate: { name: 'ECDSA', namedCurve: 'P-256' },
    importParams: { name: 'ECDSA', namedCurve: 'P-256' },
    sign: { name: 'ECDSA', hash: 'SHA-256' },
  },
  ES384: {
    generate: { name: 'ECDSA', namedCurve: 'P-384' },
    importParams: { name: 'ECDSA', namedCurve: 'P-384' },
    sign: { name: 'ECDSA', hash: 'SHA-384' },
  },
  RS256: {
    generate: { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
    importParams: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
    sign: { name: 'RSASSA-PKCS1-v1_5' },
  },
  EdDSA: {
    generate: { name: 'Ed25519' },
    importParams: { name: 'Ed25519' },
    sign: { name: 'Ed25519' },
  },
};

/** The WebCrypto parameters `crypto.subtle.sign` needs for `alg`. */
export function signParams(alg: JwsAlgorithm): EcdsaParams | Algorithm {
  return PARAMS[alg].sign;
}

/** Only the public members RFC 7638 names, so no private or decorative member ever leaks into a header. */
export function publicJwkOf(jwk: JsonWebKey): JsonWebKey {
  switch (jwk.kty) {
    case 'EC':
      return { kty: 'EC', crv: jwk.crv ?? '', x: jwk.x ?? '', y: jwk.y ?? '' };
    case 'RSA':
      return { kty: 'RSA', n: jwk.n ?? '', e: jwk.e ?? '' };
    case 'OKP':
      return { kty: 'OKP', crv: jwk.crv ?? '', x: jwk.x ?? '' };
    default:
      throw new AcmeUsageError(`unsupported key type "${jwk.kty ?? ''}"`);
  }
}

/** The JWS algorithm for a JWK: from `alg` when present, else from its type and curve. */
export function algorithmOfJwk(jwk: JsonWebKey): JwsAlgorithm {
  const byShape: JwsAlgorithm | undefined =
    jwk.kty === 'EC' && jwk.crv === 'P-256' ? 'ES256'
    : jwk.kty === 'EC' && jwk.crv === 'P-384' ? 'ES384'
    : jwk.kty === 'RSA' ? 'RS256'
    : jwk.kty === 'OKP' && jwk.crv === 'Ed25519' ? 'EdDSA'
    : undefined;
  if (byShape === undefined) throw new AcmeUsageError(`no supported JWS algorithm for key type "${jwk.kty ?? ''}" curve "${jwk.crv ?? ''}"`);
  if (jwk.alg !== undefined && jwk.alg !== byShape) throw new AcmeUsageError(`JWK says alg "${jwk.alg}" but its shape means ${byShape}`);
  return byShape;
}

/**
 * A new account key (RFC 8555 §6.2). The private key is extractable so the caller can persist
 * it with {@link exportAccountKey}; RSA keys are 2048-bit unless `rsaModulusLength` says more.
 */
export async function generateAccountKey(crypto: Crypto, alg: JwsAlgorithm = 'ES256', options: { rsaModulusLength?: number } = {}): Promise<AccountKey> {
  let generate = PARAMS[alg].generate;
  if (alg === 'RS256' && options.rsaModulusLength !== undefined) {
    if (options.rsaModulusLength < 2048) throw new AcmeUsageError('RSA account keys must have at least 2048 bits');
    generate = { ...(generate as RsaHashedKeyGenParams), modulusLength: options.rsaModulusLength };
  }
  const pair = (await crypto.subtle.generateKey(generate, true, ['sign', 'verify'])) as CryptoKeyPair;
  const publicJwk = publicJwkOf(await crypto.subtle.exportKey('jwk', pair.publicKey));
  return { alg, privateKey: pair.privateKey, publicJwk };
}

/** The private JWK (with `alg`) to persist; {@link importAccountKey} reads it back. */
export async function exportAccountKey(key: SigningKey, crypto: Crypto): Promise<JsonWebKey> {
  if (!key.privateKey.extractable) {
    throw new AcmeUsageError('this account key is not extractable: keep the CryptoKey itself (IndexedDB can store it), not a JWK');
  }
  const jwk = await crypto.subtle.exportKey('jwk', key.privateKey);
  // WebCrypto adds key_ops/ext; keep them out so the stored JWK is portable.
  const { key_ops: _ops, ext: _ext, ...rest } = jwk;
  return { ...rest, alg: key.alg };
}

/** An account key from a private JWK written by {@link exportAccountKey} (or any EC/RSA/Ed25519 private JWK). */
export async function importAccountKey(jwk: JsonWebKey, crypto: Crypto, options: { extractable?: boolean } = {}): Promise<AccountKey> {
  const alg = algorithmOfJwk(jwk);
  if (jwk.d === undefined) throw new AcmeUsageError('the JWK holds no private key (member "d")');
  const { alg: _alg, key_ops: _ops, ext: _ext, use: _use, ...material } = jwk;
  const privateKey = await crypto.subtle.importKey('jwk', material, PARAMS[alg].importParams, options.extractable ?? true, ['sign']);
  return { alg, privateKey, publicJwk: publicJwkOf(material) };
}

/**
 * A signing key from a WebCrypto key pair (for example a certificate's key, to revoke with it,
 * RFC 8555 §7.6). The public key must be extractable; the private key need not be.
 */
export async function signingKeyFromPair(pair: CryptoKeyPair, crypto: Crypto): Promise<SigningKey> {
  const publicJwk = publicJwkOf(await crypto.subtle.exportKey('jwk', pair.publicKey));
  const alg = algorithmOfJwk(publicJwk);
  const algorithm = pair.privateKey.algorithm as Partial<RsaHashedKeyAlgorithm>;
  if (alg === 'RS256' && (algorithm.name !== 'RSASSA-PKCS1-v1_5' || algorithm.hash?.name !== 'SHA-256')) {
    throw new AcmeUsageError(`an RSA key for RS256 must be RSASSA-PKCS1-v1_5 with SHA-256, not ${algorithm.name ?? '?'}`);
  }
  return { alg, privateKey: pair.privateKey, publicJwk };
}

/** base64url SHA-256 thumbprint of the key's public JWK (RFC 7638), as key authorizations use it (RFC 8555 §8.1). */
export function accountKeyThumbprint(key: SigningKey, crypto: Crypto): Promise<string> {
  return jwkThumbprint(key.publicJwk, crypto);
}
