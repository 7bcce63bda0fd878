/**
 * JWK thumbprint, RFC 7638, as ACME uses it in key authorizations (RFC 8555 §8.1).
 * Only the required members of each key type enter the hash, in lexicographic order.
 */
import { base64UrlEncode, utf8 } from '../common/encoding';

/** The public JWK members RFC 7638 §3.2 requires, per key type. */
const REQUIRED_MEMBERS: Readonly<Record<string, readonly string[]>> = {
  EC: ['crv', 'kty', 'x', 'y'],
  RSA: ['e', 'kty', 'n'],
  OKP: ['crv', 'kty', 'x'],
};

export class UnsupportedJwkError extends Error {
  override readonly name = 'UnsupportedJwkError';
}

/** The canonical JSON of RFC 7638 §3.3: required members only, sorted, no whitespace. */
export function thumbprintInput(jwk: JsonWebKey): string {
  const kty = jwk.kty ?? '';
  const members = REQUIRED_MEMBERS[kty];
  if (!members) throw new UnsupportedJwkError(`no thumbprint rule for key type "${kty}"`);
  const record = jwk as Record<string, unknown>;
  const parts = members.map((name) => {
    const value = record[name];
    if (typeof value !== 'string' || value === '') throw new UnsupportedJwkError(`JWK member "${name}" is missing`);
    return `${JSON.stringify(name)}:${JSON.stringify(value)}`;
  });
  return `{${parts.join(',')}}`;
}

/** base64url(SHA-256(canonical JWK)), RFC 7638 §3. */
export async function jwkThumbprint(jwk: JsonWebKey, crypto: Crypto): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', utf8(thumbprintInput(jwk)));
  return base64UrlEncode(new Uint8Array(digest));
}
