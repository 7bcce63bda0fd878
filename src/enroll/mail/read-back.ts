/**
 * The compose read-back: before the reply goes out, what Thunderbird's compose window shows must
 * be exactly the reply the answer rule decided on — the identity, one recipient (the challenge's
 * Reply-To or From), no Cc or Bcc, the `Re:` subject, plain text, and a body that is the armoured
 * response and nothing else (RFC 8823 §3.2). Anything else is closed unsent (`compose-mismatch`).
 * Pure: the Thunderbird glue only translates the compose window into a `ComposeView`.
 */
import type { ReplyRequest } from '../ports';

/** The compose window as plain data; recipients as lower-case addresses (a contact as `contact:<id>`). */
export interface ComposeView {
  readonly identityId: string | undefined;
  /** Absent when the window does not say (older Thunderbird). */
  readonly from?: readonly string[];
  readonly to: readonly string[];
  readonly cc: readonly string[];
  readonly bcc: readonly string[];
  readonly subject: string;
  readonly isPlainText: boolean;
  readonly plainTextBody: string | undefined;
}

export type ComposeField = 'identity' | 'from' | 'to' | 'cc' | 'bcc' | 'subject' | 'format' | 'body';

/** Line ends and the trailing spaces format=flowed may add are not differences. */
function normalizeBody(text: string | undefined): string {
  return (text ?? '').replace(/\r\n?/g, '\n').split('\n').map((line) => line.trimEnd()).join('\n').trim();
}

/**
 * The body must be exactly the armoured response. The one thing allowed after it is the
 * identity's signature, behind the RFC 3676 §4.3 separator ("-- "), which Thunderbird may add:
 * the CA reads only what is between the armour lines, and nothing after the separator can be
 * taken for a second response or a quote.
 */
export function bodyMatches(actual: string | undefined, expected: string): boolean {
  const want = normalizeBody(expected);
  const raw = (actual ?? '').replace(/\r\n?/g, '\n');
  const got = normalizeBody(raw);
  if (got === want) return true;
  const separator = raw.search(/^-- $/m);
  if (separator < 0) return false;
  const signature = raw.slice(separator);
  return normalizeBody(raw.slice(0, separator)) === want && !/ACME RESPONSE|^>/m.test(signature);
}

/** What the compose window shows that differs from what the flow decided to send. */
export function composeMismatches(view: ComposeView, request: ReplyRequest): ComposeField[] {
  const out: ComposeField[] = [];
  if (view.identityId !== request.identityId) out.push('identity');
  if (view.from !== undefined && (view.from.length !== 1 || view.from[0] !== request.expectFrom.toLowerCase())) out.push('from');
  if (view.to.length !== 1 || view.to[0] !== request.expectTo.toLowerCase()) out.push('to');
  if (view.cc.length > 0) out.push('cc');
  if (view.bcc.length > 0) out.push('bcc');
  if (view.subject.trim() !== request.expectSubject) out.push('subject');
  if (!view.isPlainText) out.push('format');
  if (!bodyMatches(view.plainTextBody, request.body)) out.push('body');
  return out;
}
