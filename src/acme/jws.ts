/**
 * JWS in the flattened JSON serialization (RFC 7515 §7.2.2), as RFC 8555 §6.2 requires for every
 * POST, and the two nested JWS forms ACME defines: External Account Binding (RFC 8555 §7.3.4,
 * HMAC, RFC 7518 §3.2) and the key-change inner JWS (RFC 8555 §7.3.5).
 *
 * Internal wire module: callers go through the client, never build JWS themselves.
 */
import { base64UrlDecode, base64UrlEncode, utf8 } from '../common/encoding';
import { AcmeUsageError } from './errors';
import { signParams, type SigningKey } from './keys';

/** RFC 7515 §7.2.2. */
export interface FlattenedJws {
  readonly protected: string;
  readonly payload: string;
  readonly signature: string;
}

/**
 * RFC 8555 §6.2: exactly one of `kid` (an existing account's URL) or `jwk` (newAccount,
 * revocation by certificate key, the inner key-change JWS). `nonce` is absent only in the
 * inner key-change JWS (§7.3.5).
 */
export type KeyReference = { readonly kid: string } | { readonly jwk: true };

export interface ProtectedHeader {
  readonly alg: string;
  readonly url: string;
  readonly nonce?: string;
  readonly kid?: string;
  readonly jwk?: JsonWebKey;
}

/** The payload of a POST: a JSON value, or POST-as-GET (§6.3) whose payload is the empty string. */
export type JwsPayload = { readonly json: unknown } | { readonly postAsGet: true };

function encodePayload(payload: JwsPayload): string {
  return 'json' in payload ? base64UrlEncode(utf8(JSON.stringify(payload.json))) : '';
}

/** Signs `payload` for `url` (RFC 8555 §6.2). */
export async function signJws(
  crypto: Crypto,
  key: SigningKey,
  options: { url: string; nonce?: string; ref: KeyReference; payload: JwsPayload },
): Promise<FlattenedJws> {
  const header: ProtectedHeader = {
    alg: key.alg,
    ...('kid' in options.ref ? { kid: options.ref.kid } : { jwk: key.publicJwk }),
    ...(options.nonce === undefined ? {} : { nonce: options.nonce }),
    url: options.url,
  };
  const protectedB64 = base64UrlEncode(utf8(JSON.stringify(header)));
  const payloadB64 = encodePayload(options.payload);
  const signature = await crypto.subtle.sign(signParams(key.alg), key.privateKey, utf8(`${protectedB64}.${payloadB64}`));
  return { protected: protectedB64, payload: payloadB64, signature: base64UrlEncode(new Uint8Array(signature)) };
}

/** MAC algorithms RFC 8555 §7.3.4 lets an EAB use (RFC 7518 §3.2). */
export type EabAlgorithm = 'HS256' | 'HS384' | 'HS512';

/** The binding a CA hands out: a key id and a base64url MAC key (RFC 8555 §7.3.4). */
export interface ExternalAccountBinding {
  readonly kid: string;
  /** base64url (no padding) MAC key, as CAs print it. */
  readonly hmacKey: string;
  /** Default HS256, the one every CA accepts. */
  readonly alg?: EabAlgorithm;
}

const EAB_HASH: Readonly<Record<EabAlgorithm, string>> = { HS256: 'SHA-256', HS384: 'SHA-384', HS512: 'SHA-512' };

/**
 * The `externalAccountBinding` member of a newAccount payload (RFC 8555 §7.3.4): a JWS over the
 * account's public JWK, MACed with the CA-issued key, whose protected header holds the EAB kid
 * and the newAccount URL — no nonce, no jwk.
 */
export async function signExternalAccountBinding(
  crypto: Crypto,
  eab: ExternalAccountBinding,
  accountJwk: JsonWebKey,
  newAccountUrl: string,
): Promise<FlattenedJws> {
  const alg = eab.alg ?? 'HS256';
  let keyBytes: Uint8Array<ArrayBuffer>;
  try {
    // Some CAs print the key with padding or in standard base64; normalise before decoding.
    keyBytes = base64UrlDecode(eab.hmacKey.trim().replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_'));
  } catch (error) {
    throw new AcmeUsageError('the EAB HMAC key is not base64url', undefined, { cause: error });
  }
  if (keyBytes.length === 0) throw new AcmeUsageError('the EAB HMAC key is empty');
  const macKey = await crypto.subtle.importKey('raw', keyBytes, { name: 'HMAC', hash: EAB_HASH[alg] }, false, ['sign']);
  const protectedB64 = base64UrlEncode(utf8(JSON.stringify({ alg, kid: eab.kid, url: newAccountUrl })));
  const payloadB64 = base64UrlEncode(utf8(JSON.stringify(accountJwk)));
  const mac = await crypto.subtle.sign('HMAC', macKey, utf8(`${protectedB64}.${payloadB64}`));
  return { protected: protectedB64, payload: payloadB64, signature: base64UrlEncode(new Uint8Array(mac)) };
}

/**
 * The inner JWS of a key change (RFC 8555 §7.3.5): signed by the *new* key, `jwk` = new key,
 * `url` = keyChange URL, no nonce; payload `{account, oldKey}`.
 */
export function signKeyChangeInner(
  crypto: Crypto,
  newKey: SigningKey,
  options: { keyChangeUrl: string; accountUrl: string; oldKey: SigningKey },
): Promise<FlattenedJws> {
  return signJws(crypto, newKey, {
    url: options.keyChangeUrl,
    ref: { jwk: true },
    payload: { json: { account: options.accountUrl, oldKey: options.oldKey.publicJwk } },
  });
}
