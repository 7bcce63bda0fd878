/**
 * Why a mail was not answered: one machine-readable code per refusal, with an English sentence.
 * The add-on translates each code for the popup (a test checks every code has a string), so a
 * code once published keeps its meaning; add new codes, do not repurpose old ones.
 *
 * Codes name what was wrong with the mail, never how we found out, so the UI can explain them
 * to a non-expert ("the mail did not come from your CA's address").
 */

export const REFUSAL_REASONS = [
  // The message itself (RFC 5322 parsing and its hard limits).
  'malformed-message',
  'message-too-large',
  'header-too-large',
  'too-many-fields',
  // RFC 8823 §3.1 recognition.
  'not-a-challenge',
  'token-invalid',
  'token-too-short',
  'not-auto-submitted',
  'missing-from',
  'missing-to',
  'duplicate-from',
  'duplicate-to',
  'duplicate-subject',
  'duplicate-auto-submitted',
  'multiple-from-addresses',
  'multiple-to-addresses',
  // Matching against the pending challenge (RFC 8823 §3.2; docs/MESSAGES.md, "The policy").
  'from-mismatch',
  'to-mismatch',
  'date-missing',
  'date-before-order',
  'arrived-before-order',
  // Authenticity (DKIM RFC 6376/8463/8301, S/MIME RFC 8551, Authentication-Results RFC 8601).
  'dkim-missing',
  'dkim-failed',
  'dkim-temperror',
  'dkim-unaligned',
  'dkim-headers-unsigned',
  'dkim-body-extended',
  'dkim-testing-key',
  'authres-conflict',
  'smime-invalid',
  'smime-untrusted',
  'smime-signer-mismatch',
  'smime-headers-unprotected',
  'not-authentic',
] as const;

export type RefusalReason = (typeof REFUSAL_REASONS)[number];

/** One reason a mail is not answered, as a check found it: the code and its sentence. */
export interface RefusalFinding {
  readonly code: RefusalReason;
  /** One English sentence for logs, the command line and the popup's fallback text. */
  readonly message: string;
}

export function refusal(code: RefusalReason, message: string): RefusalFinding {
  return { code, message };
}

export function isRefusalReason(value: string): value is RefusalReason {
  return (REFUSAL_REASONS as readonly string[]).includes(value);
}
