/**
 * JWS verification for the sandbox CA: RFC 8555 §6.2–§6.4 over RFC 7515 (flattened JSON
 * serialization), RFC 7518 algorithms, RFC 7638 thumbprints, and the external account binding
 * MAC of RFC 8555 §7.3.4.
 *
 * Written independently of src/acme on purpose (only Node's crypto): if the client and the CA
 * shared a JWS or thumbprint bug, the end-to-end tests would pass while every real CA refused.
 * Strict where RFC 8555 says MUST: no unprotected header, no `none`/MAC algorithms on the outer
 * JWS, exactly one of `jwk`/`kid`, `nonce` and `url` present, canonical base64url everywhere.
 */
import { createHash, createHmac, createPublicKey, timingSafeEqual, verify as cryptoVerify, type JsonWebKey, type KeyObject } from 'node:crypto';
import { AcmeProblem } from './problem';

/** RFC 8555 §6.2 requires ES256 and EdDSA support is recommended; RS256 for RSA keys. */
export const ACCEPTED_ALGORITHMS = ['ES256', 'ES384', 'ES512', 'RS256', 'PS256', 'EdDSA'] as const;
type Alg = (typeof ACCEPTED_ALGORITHMS)[number];

export type Jwk = Readonly<Record<string, unknown>>;

export interface VerifiedJws {
  readonly protectedHeader: Readonly<Record<string, unknown>>;
  readonly alg: Alg;
  readonly nonce?: string;
  readonly url: string;
  /** Exactly one of `jwk` and `kid` is set. */
  readonly jwk?: Jwk;
  readonly kid?: string;
  /** `undefined` for POST-as-GET (empty payload, RFC 8555 §6.3). */
  readonly payload: unknown;
  /** The key that verified the signature (from `jwk`, or the account's key for `kid`). */
  readonly key: KeyObject;
}

interface FlattenedJws {
  readonly protected: string;
  readonly payload: string;
  readonly signature: string;
}

const B64URL = /^[A-Za-z0-9_-]*$/;

/** Strict base64url: alphabet, no padding, canonical trailing bits. */
export function decodeB64url(text: string, what: string): Buffer {
  if (!B64URL.test(text) || text.length % 4 === 1) throw new AcmeProblem('malformed', `${what} is not unpadded base64url`);
  const bytes = Buffer.from(text, 'base64url');
  if (bytes.toString('base64url') !== text) throw new AcmeProblem('malformed', `${what} is not canonical base64url`);
  return bytes;
}

export function b64url(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64url');
}

/** Parses a request body as a flattened JWS; RFC 8555 §6.2 forbids the unprotected header. */
export function parseFlattened(body: string): FlattenedJws {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (cause) {
    throw new AcmeProblem('malformed', 'request body is not JSON', { cause });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new AcmeProblem('malformed', 'request body is not a JSON object');
  const record = value as Record<string, unknown>;
  if ('header' in record) throw new AcmeProblem('malformed', 'JWS unprotected header is not allowed (RFC 8555 §6.2)');
  if ('signatures' in record) throw new AcmeProblem('malformed', 'JWS must use the flattened JSON serialization, one signature (RFC 8555 §6.2)');
  const { protected: p, payload, signature } = record;
  if (typeof p !== 'string' || typeof payload !== 'string' || typeof signature !== 'string') {
    throw new AcmeProblem('malformed', 'JWS needs string members protected, payload and signature');
  }
  return { protected: p, payload, signature };
}

function parseJsonObject(bytes: Buffer, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch (cause) {
    throw new AcmeProblem('malformed', `${what} is not JSON`, { cause });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new AcmeProblem('malformed', `${what} is not a JSON object`);
  return value as Record<string, unknown>;
}

/** Imports a public JWK; refuses private members and weak keys (RFC 8555 §6.2 badPublicKey). */
export function importJwk(jwk: Jwk): KeyObject {
  if ('d' in jwk || 'p' in jwk || 'k' in jwk) throw new AcmeProblem('badPublicKey', 'jwk must be a public key (it has private or symmetric members)');
  let key: KeyObject;
  try {
    // Node validates the members itself; a malformed JWK throws here.
    key = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });
  } catch (cause) {
    throw new AcmeProblem('badPublicKey', `jwk is not a usable public key: ${String(cause)}`, { cause });
  }
  const details = key.asymmetricKeyDetails;
  if (key.asymmetricKeyType === 'rsa' && (details?.modulusLength ?? 0) < 2048) {
    throw new AcmeProblem('badPublicKey', `RSA account keys need at least 2048 bits, this one has ${details?.modulusLength ?? 0}`);
  }
  return key;
}

function checkAlgMatchesKey(alg: Alg, key: KeyObject): void {
  const type = key.asymmetricKeyType;
  const curve = key.asymmetricKeyDetails?.namedCurve;
  const ok =
    (alg === 'ES256' && type === 'ec' && curve === 'prime256v1') ||
    (alg === 'ES384' && type === 'ec' && curve === 'secp384r1') ||
    (alg === 'ES512' && type === 'ec' && curve === 'secp521r1') ||
    ((alg === 'RS256' || alg === 'PS256') && type === 'rsa') ||
    (alg === 'EdDSA' && type === 'ed25519');
  if (!ok) throw new AcmeProblem('badSignatureAlgorithm', `alg ${alg} does not fit a ${type ?? '?'} ${curve ?? ''} key`.trim(), { algorithms: ACCEPTED_ALGORITHMS });
}

function verifySignature(alg: Alg, key: KeyObject, signingInput: Buffer, signature: Buffer): boolean {
  switch (alg) {
    case 'ES256': return cryptoVerify('sha256', signingInput, { key, dsaEncoding: 'ieee-p1363' }, signature);
    case 'ES384': return cryptoVerify('sha384', signingInput, { key, dsaEncoding: 'ieee-p1363' }, signature);
    case 'ES512': return cryptoVerify('sha512', signingInput, { key, dsaEncoding: 'ieee-p1363' }, signature);
    case 'RS256': return cryptoVerify('sha256', signingInput, key, signature);
    case 'PS256': return cryptoVerify('sha256', signingInput, { key, padding: 6 /* RSA_PKCS1_PSS_PADDING */, saltLength: 32 }, signature);
    case 'EdDSA': return cryptoVerify(null, signingInput, key, signature);
  }
}

/**
 * Verifies an ACME request JWS. `lookupKid` maps an account URL to its key (or throws
 * accountDoesNotExist). Nonce checking is the caller's (it owns the nonce store).
 */
export function verifyJws(body: string, requestUrl: string, lookupKid: (kid: string) => Jwk): VerifiedJws {
  const jws = parseFlattened(body);
  const header = parseJsonObject(decodeB64url(jws.protected, 'protected header'), 'protected header');
  const alg = header['alg'];
  if (typeof alg !== 'string' || !(ACCEPTED_ALGORITHMS as readonly string[]).includes(alg)) {
    throw new AcmeProblem('badSignatureAlgorithm', `alg ${JSON.stringify(alg)} is not accepted (RFC 8555 §6.2 forbids none and MACs)`, { algorithms: ACCEPTED_ALGORITHMS });
  }
  const hasJwk = 'jwk' in header;
  const hasKid = 'kid' in header;
  if (hasJwk === hasKid) throw new AcmeProblem('malformed', 'the protected header must carry exactly one of jwk and kid (RFC 8555 §6.2)');
  const url = header['url'];
  if (typeof url !== 'string') throw new AcmeProblem('malformed', 'the protected header has no url (RFC 8555 §6.4)');
  if (url !== requestUrl) throw new AcmeProblem('unauthorized', `JWS url ${url} is not the request URL ${requestUrl} (RFC 8555 §6.4)`);
  const nonce = header['nonce'];
  if (nonce !== undefined && typeof nonce !== 'string') throw new AcmeProblem('malformed', 'nonce must be a string');
  let jwk: Jwk;
  let kid: string | undefined;
  if (hasJwk) {
    const value = header['jwk'];
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new AcmeProblem('malformed', 'jwk is not a JSON object');
    jwk = value as Jwk;
  } else {
    const value = header['kid'];
    if (typeof value !== 'string') throw new AcmeProblem('malformed', 'kid is not a string');
    kid = value;
    jwk = lookupKid(value);
  }
  const key = importJwk(jwk);
  checkAlgMatchesKey(alg as Alg, key);
  const signingInput = Buffer.from(`${jws.protected}.${jws.payload}`, 'ascii');
  const signature = decodeB64url(jws.signature, 'signature');
  if (!verifySignature(alg as Alg, key, signingInput, signature)) throw new AcmeProblem('malformed', 'JWS signature does not verify');
  let payload: unknown;
  if (jws.payload !== '') {
    const raw = decodeB64url(jws.payload, 'payload');
    try {
      payload = JSON.parse(raw.toString('utf8'));
    } catch (cause) {
      throw new AcmeProblem('malformed', 'payload is not JSON', { cause });
    }
  }
  return {
    protectedHeader: header, alg: alg as Alg, url, payload, key,
    ...(typeof nonce === 'string' ? { nonce } : {}),
    ...(kid === undefined ? { jwk } : { kid }),
  };
}

/** RFC 7638 §3: the required members in lexicographic order, no whitespace, SHA-256. */
export function jwkThumbprint(jwk: Jwk): string {
  const members: Record<string, readonly string[]> = { EC: ['crv', 'kty', 'x', 'y'], RSA: ['e', 'kty', 'n'], OKP: ['crv', 'kty', 'x'] };
  const kty = jwk['kty'];
  const required = typeof kty === 'string' ? members[kty] : undefined;
  if (!required) throw new AcmeProblem('badPublicKey', `unsupported kty ${JSON.stringify(kty)}`);
  const parts = required.map((name) => {
    const value = jwk[name];
    if (typeof value !== 'string') throw new AcmeProblem('badPublicKey', `jwk lacks ${name}`);
    return `${JSON.stringify(name)}:${JSON.stringify(value)}`;
  });
  return b64url(createHash('sha256').update(`{${parts.join(',')}}`, 'utf8').digest());
}

/**
 * RFC 8555 §7.3.4: the inner JWS is MAC'd with the EAB key, `kid` is the EAB key id, `url` the
 * newAccount URL, and the payload is the outer JWS's `jwk`. Returns the EAB key id.
 */
export function verifyExternalAccountBinding(value: unknown, outerJwk: Jwk, newAccountUrl: string, keys: ReadonlyMap<string, Buffer>): string {
  if (typeof value !== 'object' || value === null) throw new AcmeProblem('malformed', 'externalAccountBinding is not a JWS object');
  const jws = parseFlattened(JSON.stringify(value));
  const header = parseJsonObject(decodeB64url(jws.protected, 'EAB protected header'), 'EAB protected header');
  if (header['alg'] !== 'HS256') throw new AcmeProblem('badSignatureAlgorithm', 'EAB must use HS256', { algorithms: ['HS256'] });
  if ('nonce' in header) throw new AcmeProblem('malformed', 'EAB must not carry a nonce (RFC 8555 §7.3.4)');
  if (header['url'] !== newAccountUrl) throw new AcmeProblem('unauthorized', 'EAB url must be the newAccount URL');
  const kid = header['kid'];
  if (typeof kid !== 'string') throw new AcmeProblem('malformed', 'EAB needs a kid');
  const hmacKey = keys.get(kid);
  if (!hmacKey) throw new AcmeProblem('unauthorized', `unknown EAB key id ${kid}`);
  const mac = createHmac('sha256', hmacKey).update(`${jws.protected}.${jws.payload}`, 'ascii').digest();
  const given = decodeB64url(jws.signature, 'EAB signature');
  if (given.length !== mac.length || !timingSafeEqual(given, mac)) throw new AcmeProblem('unauthorized', 'EAB MAC does not verify');
  const inner = parseJsonObject(decodeB64url(jws.payload, 'EAB payload'), 'EAB payload');
  if (jwkThumbprint(inner) !== jwkThumbprint(outerJwk)) throw new AcmeProblem('unauthorized', 'EAB payload is not the account key');
  return kid;
}
