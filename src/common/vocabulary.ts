/**
 * The protocol vocabulary every layer shares, defined once: the key types offered, what a
 * certificate is for, how the RFC 8823 token halves are joined, and the revocation reasons.
 * src/acme, src/messages, src/pkcs12, src/enroll and the command line import these; none keeps a
 * copy of its own.
 */

/** Key types offered: RSA of at least 2048 bits (RFC 8017), ECDSA on P-256 and P-384 (RFC 5480). */
export type KeyType = 'RSA-2048' | 'RSA-3072' | 'RSA-4096' | 'P-256' | 'P-384';
export const KEY_TYPES: readonly KeyType[] = ['RSA-2048', 'RSA-3072', 'RSA-4096', 'P-256', 'P-384'];

/**
 * What the certificate is for; it picks the CSR's keyUsage (RFC 8823 §3.3, RFC 8550 §4.4.2):
 * signing only, encryption only (RSA keyEncipherment, EC keyAgreement), or both.
 */
export type Usage = 'sign' | 'encrypt' | 'both';
export const USAGES: readonly Usage[] = ['sign', 'encrypt', 'both'];

/**
 * How token-part1 (the mail's subject) and token-part2 (the challenge's `token`) are joined
 * before the thumbprint is added: as the base64url strings, or as the decoded bytes. RFC 8823
 * §3.1 does not say, and servers disagree (docs/MESSAGES.md, "Response").
 */
export type TokenJoin = 'string' | 'bytes';
export const TOKEN_JOINS: readonly TokenJoin[] = ['string', 'bytes'];

/**
 * The revocation reasons offered (RFC 8555 §7.6 `reason`, an RFC 5280 §5.3.1 CRLReason code), by
 * name: those that fit an end-entity certificate revoked by its holder. cACompromise (2),
 * certificateHold (6), removeFromCRL (8) and aACompromise (10) are not offered; a CA refuses
 * what it does not accept with `badRevocationReason`.
 */
export const REVOCATION_REASONS = {
  unspecified: 0,
  keyCompromise: 1,
  affiliationChanged: 3,
  superseded: 4,
  cessationOfOperation: 5,
  privilegeWithdrawn: 9,
} as const;

/** One of {@link REVOCATION_REASONS}: 0, 1, 3, 4, 5 or 9. */
export type RevocationReason = (typeof REVOCATION_REASONS)[keyof typeof REVOCATION_REASONS];
export const REVOCATION_REASON_CODES: readonly RevocationReason[] = Object.values(REVOCATION_REASONS);

export function isRevocationReason(value: unknown): value is RevocationReason {
  return typeof value === 'number' && (REVOCATION_REASON_CODES as readonly number[]).includes(value);
}
