/**
 * The answer to an RFC 8823 challenge (§3.2): key authorization (RFC 8555 §8.1) from the two
 * token halves and the account key's JWK thumbprint (RFC 7638), its SHA-256 as unpadded
 * base64url, the armoured text/plain body, and the reply's addressing.
 *
 * Deviation: RFC 8823 says "token-part1 || token-part2" without saying whether the strings or
 * the decoded bytes are concatenated. Servers disagree, so both are offered; string joining is
 * the default. `joinsAgree` tells the UI whether the choice mattered for this token.
 * - string: token-part1 exactly as the subject carries it (`=` padding included) followed by
 *   token-part2 (acme4j, acme2certifier, rapidmx).
 * - bytes: token-part1 decoded (base64url or base64, see ./challenge.ts) followed by token-part2
 *   decoded (base64url), the result as unpadded base64url (CASTLE, acmez).
 */
import { decodeTokenPart1, type ChallengeMail } from './challenge';
import { base64UrlDecode, base64UrlEncode, concatBytes, utf8 } from '../common/encoding';
import type { TokenJoin } from '../common/vocabulary';

export interface ChallengeReply {
  /** Where the reply goes: Reply-To if present, else From (RFC 8823 §3.2, RFC 5322 §3.6.3). */
  readonly to: string;
  /** `Re: ACME: <token-part1>`. */
  readonly subject: string;
  /** The challenge's Message-ID, or null when it had none. */
  readonly inReplyTo: string | null;
  /** The challenge's references followed by its Message-ID (RFC 5322 §3.6.4). */
  readonly references: readonly string[];
  /** The text/plain body with LF line ends (the mailer turns them into CRLF on the wire). */
  readonly body: string;
  readonly keyAuthorization: string;
  /** base64url(SHA-256(keyAuthorization)), 43 characters. */
  readonly value: string;
  readonly join: TokenJoin;
  /** True when string and byte joining give the same token, so the per-CA choice did not matter. */
  readonly joinsAgree: boolean;
}

/** Thrown when a token half cannot be decoded and so cannot be joined as bytes. */
export class TokenJoinError extends Error {
  override readonly name = 'TokenJoinError';
}

/** The full token: token-part1 || token-part2, as strings or as decoded bytes (see header). */
export function joinToken(tokenPart1: string, tokenPart2: string, join: TokenJoin): string {
  if (join === 'string') return tokenPart1 + tokenPart2;
  try {
    return base64UrlEncode(concatBytes(decodeTokenPart1(tokenPart1), base64UrlDecode(tokenPart2)));
  } catch (error) {
    throw new TokenJoinError(`cannot join the token halves as bytes: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

/** key authorization = token || "." || base64url(JWK thumbprint) (RFC 8555 §8.1, RFC 8823 §3.2). */
export function keyAuthorization(tokenPart1: string, tokenPart2: string, thumbprint: string, join: TokenJoin = 'string'): string {
  return `${joinToken(tokenPart1, tokenPart2, join)}.${thumbprint}`;
}

/** base64url(SHA-256(key authorization)) without padding (RFC 8823 §3.2): 43 characters. */
export async function responseValue(keyAuth: string, crypto: Crypto): Promise<string> {
  return base64UrlEncode(new Uint8Array(await crypto.subtle.digest('SHA-256', utf8(keyAuth))));
}

/** The armoured body of RFC 8823 §3.2: nothing else, so nothing can be mistaken for it. */
export function armouredBody(value: string): string {
  return `-----BEGIN ACME RESPONSE-----\n${value}\n-----END ACME RESPONSE-----\n`;
}

export interface ResponseInput {
  /** The challenge object's `token` (RFC 8823 §3.1). */
  readonly tokenPart2: string;
  /** base64url SHA-256 JWK thumbprint of the ACME account key (RFC 7638). */
  readonly thumbprint: string;
  readonly join?: TokenJoin;
}

/** Everything needed to answer without further decisions: value, body and the reply's headers. */
export async function buildResponse(mail: ChallengeMail, input: ResponseInput, crypto: Crypto): Promise<ChallengeReply> {
  const join = input.join ?? 'string';
  const keyAuth = keyAuthorization(mail.tokenPart1, input.tokenPart2, input.thumbprint, join);
  const value = await responseValue(keyAuth, crypto);
  return {
    to: (mail.replyTo[0] ?? mail.from).address,
    subject: `Re: ACME: ${mail.tokenPart1}`,
    inReplyTo: mail.messageId,
    references: mail.messageId ? [...mail.references.filter((id) => id !== mail.messageId), mail.messageId] : [...mail.references],
    body: armouredBody(value),
    keyAuthorization: keyAuth,
    value,
    join,
    joinsAgree: joinsAgree(mail.tokenPart1, input.tokenPart2),
  };
}

/** Whether string and byte joining produce the same token for these halves. */
export function joinsAgree(tokenPart1: string, tokenPart2: string): boolean {
  try {
    return joinToken(tokenPart1, tokenPart2, 'bytes') === joinToken(tokenPart1, tokenPart2, 'string');
  } catch {
    return false;
  }
}
