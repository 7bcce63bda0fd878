/**
 * The CA side of RFC 8823 `email-reply-00` (§3): the challenge mail and the check of the reply.
 *
 * Challenge mail (§3.1): From the CA, To the mailbox, `Subject: ACME: <token-part1>`,
 * `Auto-Submitted: auto-generated; type=acme` (RFC 3834 §5, §3.1), Date, Message-ID, a text/plain
 * body, DKIM-signed by the CA's domain over From, To, Subject, Date, Message-ID, Auto-Submitted and
 * the MIME fields.
 * Reply (§3.2): from the mailbox, In-Reply-To the challenge's Message-ID, a text/plain body with
 * `-----BEGIN ACME RESPONSE-----` / base64url(SHA-256(key authorization)) /
 * `-----END ACME RESPONSE-----`, where key authorization = token-part1 ⧺ token-part2 "."
 * base64url(JWK thumbprint) (RFC 8555 §8.1). The reply must carry a passing DKIM signature from
 * the mailbox's domain: that is what proves control of the mailbox.
 *
 * Known deviation made on purpose: RFC 8823 does not say how the halves are joined. `tokenJoin`
 * picks the reading: the base64url strings (most CAs) or the decoded bytes re-encoded. Token part 1
 * is 16 bytes (22 characters, not a multiple of 4) or, padded, 32 bytes whose 44 characters end in
 * `=`, so the two readings always differ and a client that joins the wrong way is caught.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Forgery, TokenEncoding, TokenJoin } from '../types';
import { MessageFormatError, mailboxAddress, parseMessage, textPlainBody } from '../mail/message';
import type { DkimCheck } from '../mail/dkim';

/** 16 bytes = 128 bits (RFC 8823 §3: each part carries at least 128 bits of entropy). */
export function newTokenPart(bytes = 16): string {
  return randomBytes(bytes).toString('base64url');
}

/**
 * token-part1 as the CA writes it in the Subject: 16 bytes unpadded base64url (22 characters), or
 * 32 bytes padded standard base64 (44 characters, one `=`), the shape of RFC 8823 §3.1's example.
 */
export function newTokenPart1(encoding: TokenEncoding): string {
  return encoding === 'base64url' ? newTokenPart(16) : randomBytes(32).toString('base64');
}

/**
 * The key authorization, joined per `join` (see the module comment). A string join uses
 * token-part1 exactly as written (padding included); a bytes join decodes it from either base64
 * alphabet (Node's base64 decoder reads both, padded or not).
 */
export function keyAuthorization(tokenPart1: string, tokenPart2: string, thumbprint: string, join: TokenJoin): string {
  const token = join === 'string'
    ? tokenPart1 + tokenPart2
    : Buffer.concat([Buffer.from(tokenPart1, 'base64'), Buffer.from(tokenPart2, 'base64url')]).toString('base64url');
  return `${token}.${thumbprint}`;
}

/** RFC 8823 §3.2: base64url(SHA-256(key authorization)), unpadded: 43 characters. */
export function expectedResponse(keyAuth: string): string {
  return createHash('sha256').update(keyAuth, 'utf8').digest('base64url');
}

export interface ChallengeMailInput {
  readonly caAddress: string;
  /** Domain used for the `wrong-d` and `wrong-from` forgeries. */
  readonly forgerDomain: string;
  readonly to: string;
  readonly tokenPart1: string;
  readonly messageId: string;
  readonly date: Date;
  readonly forgery: Forgery;
}

/** The header fields the CA's DKIM signature covers (RFC 6376 §5.4, plus what docs/MESSAGES.md, "The policy", requires). */
export const CHALLENGE_SIGNED_HEADERS = ['from', 'to', 'subject', 'date', 'message-id', 'auto-submitted', 'mime-version', 'content-type', 'content-transfer-encoding'] as const;

/** The unsigned challenge mail, CRLF line endings, and which domain must sign it ('' = none). */
export function buildChallengeMail(input: ChallengeMailInput): { raw: string; signingDomain: string; from: string } {
  const caDomain = input.caAddress.slice(input.caAddress.lastIndexOf('@') + 1);
  const from = input.forgery === 'wrong-from' ? `acme@${input.forgerDomain}` : input.caAddress;
  const signingDomain = input.forgery === 'unsigned' ? '' : input.forgery === 'none' ? caDomain : input.forgerDomain;
  const lines = [
    `From: Sandbox ACME CA <${from}>`,
    `To: <${input.to}>`,
    `Subject: ACME: ${input.tokenPart1}`,
    `Date: ${input.date.toUTCString().replace('GMT', '+0000')}`,
    `Message-ID: ${input.messageId}`,
    'Auto-Submitted: auto-generated; type=acme',
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=us-ascii',
    'Content-Transfer-Encoding: 7bit',
    '',
    'This is an automatically generated ACME challenge (RFC 8823) from the',
    'One-Click S/MIME sandbox CA for the email address',
    `${input.to}.`,
    '',
    'If you did not ask for an S/MIME certificate, ignore this message.',
    'Your mail program answers it for you when you did.',
    '',
  ];
  return { raw: lines.join('\r\n'), signingDomain, from };
}

export interface ReplyFacts {
  readonly from: string;
  readonly inReplyTo: string;
}

/** Reads From and In-Reply-To of a reply; never throws (a broken mail is refused later). */
export function replyFacts(raw: string): ReplyFacts {
  try {
    const message = parseMessage(raw);
    const inReplyTo = /<[^<>\s]+>/.exec(message.get('in-reply-to') ?? '')?.[0] ?? '';
    return { from: mailboxAddress(message.get('from')), inReplyTo };
  } catch {
    return { from: '', inReplyTo: '' };
  }
}

export interface ReplyExpectation {
  readonly mailbox: string;
  readonly tokenPart1: string;
  readonly tokenPart2: string;
  readonly thumbprint: string;
  readonly join: TokenJoin;
}

export type ReplyVerdict =
  | { readonly ok: true; readonly detail: string }
  | { readonly ok: false; readonly problem: 'unauthorized' | 'incorrectResponse'; readonly detail: string };

/** The best DKIM verdict for `domain`, in RFC 8601 words, for the ReceivedReply record. */
export function dkimSummary(checks: readonly DkimCheck[], domain: string): DkimCheck['result'] {
  const mine = checks.filter((c) => c.domain === domain);
  if (mine.some((c) => c.result === 'pass')) return 'pass';
  return mine[0]?.result ?? (checks.length > 0 ? checks[0]!.result : 'none');
}

const ARMOUR = /^-----BEGIN ACME RESPONSE-----\r?\n([\s\S]*?)\r?\n-----END ACME RESPONSE-----$/m;

/**
 * Decides one reply. `dkim` is mailauth's verdict on the reply as received. The order of checks
 * puts authenticity first: nothing in an unauthenticated mail is worth reading.
 */
export function judgeReply(raw: string, dkim: readonly DkimCheck[], expect: ReplyExpectation): ReplyVerdict {
  let message;
  try {
    message = parseMessage(raw);
  } catch (error) {
    return { ok: false, problem: 'incorrectResponse', detail: `reply is not a mail message: ${String(error)}` };
  }
  const from = mailboxAddress(message.get('from'));
  const mailboxDomain = expect.mailbox.slice(expect.mailbox.lastIndexOf('@') + 1).toLowerCase();
  if (from !== expect.mailbox.toLowerCase()) {
    return { ok: false, problem: 'unauthorized', detail: `reply is From ${from || '(none)'}, not from the mailbox being validated, ${expect.mailbox}` };
  }
  const passing = dkim.filter((c) => c.result === 'pass' && (c.domain === mailboxDomain || mailboxDomain.endsWith(`.${c.domain}`)) && c.domain.includes('.'));
  if (passing.length === 0) {
    const seen = dkim.length === 0 ? 'no DKIM-Signature at all' : dkim.map((c) => `d=${c.domain} ${c.result}${c.comment ? ` (${c.comment})` : ''}`).join(', ');
    return { ok: false, problem: 'unauthorized', detail: `reply has no passing DKIM signature from ${mailboxDomain}: ${seen}` };
  }
  if (!passing.some((c) => c.signedHeaders.includes('from'))) {
    return { ok: false, problem: 'unauthorized', detail: 'the DKIM signature does not cover From' };
  }
  const subject = (message.get('subject') ?? '').replace(/\s+/g, '');
  if (!subject.includes(`ACME:${expect.tokenPart1}`)) {
    return { ok: false, problem: 'incorrectResponse', detail: `reply Subject ${JSON.stringify(message.get('subject') ?? '')} does not carry "ACME: ${expect.tokenPart1}" (RFC 8823 §3.2)` };
  }
  let body: string;
  try {
    body = textPlainBody(message);
  } catch (error) {
    if (!(error instanceof MessageFormatError)) throw error;
    return { ok: false, problem: 'incorrectResponse', detail: `reply body: ${error.message} (RFC 8823 §3.2 wants text/plain)` };
  }
  const armour = ARMOUR.exec(body);
  if (!armour) {
    return { ok: false, problem: 'incorrectResponse', detail: 'reply body has no -----BEGIN ACME RESPONSE----- … -----END ACME RESPONSE----- block at the start of lines' };
  }
  const given = armour[1]!.replace(/\s+/g, '');
  const want = expectedResponse(keyAuthorization(expect.tokenPart1, expect.tokenPart2, expect.thumbprint, expect.join));
  if (given === want) return { ok: true, detail: `response matches (token halves joined as ${expect.join === 'string' ? 'strings' : 'bytes'})` };
  const other: TokenJoin = expect.join === 'string' ? 'bytes' : 'string';
  const otherWant = expectedResponse(keyAuthorization(expect.tokenPart1, expect.tokenPart2, expect.thumbprint, other));
  const hint = given === otherWant
    ? ` It matches the other reading (halves joined as ${other === 'string' ? 'strings' : 'bytes'}); this CA joins them as ${expect.join === 'string' ? 'strings' : 'bytes'}.`
    : '';
  return { ok: false, problem: 'incorrectResponse', detail: `ACME response ${JSON.stringify(given)} is not the expected value.${hint}` };
}
