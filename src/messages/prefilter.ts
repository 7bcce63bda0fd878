/**
 * The cheap first look at a new mail (RFC 8823 §3): only a subject that can be an
 * `ACME: <token-part1>` challenge makes the add-on fetch the raw message. It must be fast
 * (it runs for every new mail) and permissive where the full check is strict: encoded-words
 * and folding are decided later by the real parser.
 */

/** True when `subject` (as the mail client shows it, decoded) may be an RFC 8823 challenge. */
export function mayBeChallengeSubject(subject: string): boolean {
  const trimmed = subject.trimStart();
  // Encoded-word subjects ("=?utf-8?...") are decoded by Thunderbird before they reach us,
  // but a raw one still gets the benefit of the doubt.
  if (trimmed.startsWith('=?')) return true;
  if (trimmed.length < 6 || trimmed.length > 1000) return false;
  return trimmed.slice(0, 5).toUpperCase() === 'ACME:';
}
