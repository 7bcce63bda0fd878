/**
 * The whole decision about one mail (RFC 8823 §3; docs/MESSAGES.md, "The policy"): parse,
 * recognise, match against the pending challenge, and authenticate — DKIM (RFC 6376/8463,
 * RFC 8301), S/MIME (RFC 8551), or the user's own provider's Authentication-Results (RFC 8601).
 * Returns `answer` only when every check passed; otherwise `refuse` with every reason found.
 *
 * The authenticity policy (documented in docs/MESSAGES.md):
 * - DKIM: a `pass` whose `d=` is the From domain or a non-public-suffix parent of it, whose
 *   `h=` covers From, To, Subject, Date, Message-ID and Auto-Submitted (and Reply-To when the
 *   mail has one: it decides where the answer goes), that signs the whole body (an `l=` shorter
 *   than the canonicalized body leaves text anyone may have appended: RFC 6376 §8.2), and whose
 *   key is not in testing mode (`t=y`).
 * - S/MIME: a signature that verifies, by a certificate whose rfc822Name equals From, chaining
 *   to a configured trust anchor, whose signed part repeats From, To and Subject (header
 *   protection, RFC 8551 §3.1): the outer header of an S/MIME mail is not signed.
 * - Authentication-Results: only from a configured authserv-id, only a field standing above
 *   the topmost `Received:` (written by the user's provider on delivery, RFC 8601 §5; none is
 *   trusted in a mail without `Received:`), and only to stand in for our own DKIM check when
 *   that could not run (temperror, e.g. the DNS-over-HTTPS resolver is unreachable); the same
 *   `h=` and whole-body rules apply to the signature it names.
 */
import { domainOf, parseAddressList, sameAddress } from './address';
import { trustedAuthenticationResults, type AuthenticationResults } from './authres';
import { recognizeChallenge, tokenFromSubject, type ChallengeMail } from './challenge';
import { verifyDkim, type DkimResult } from './dkim';
import type { TxtResolver } from './dns';
import { isAlignedSigningDomain } from './public-suffix';
import { refusal, type RefusalFinding, type RefusalReason } from './reasons';
import { decodedValue, MessageParseError, parseMessage, unfold, type HeaderField, type ParsedMessage } from './rfc5322';
import { verifySmime, type SmimeResult } from './smime';

/** RFC 8823 §3.1 and docs/MESSAGES.md, "The policy": the fields a DKIM signature must cover for us to act on the mail. */
export const REQUIRED_SIGNED_HEADERS = ['from', 'to', 'subject', 'date', 'message-id', 'auto-submitted'] as const;

export interface ExpectedChallengeMail {
  /** The address being validated (the ACME identifier); must equal the mail's To. */
  readonly identity: string;
  /** The challenge object's `from` (RFC 8823 §3.1); must equal the mail's From. */
  readonly challengeFrom: string;
  /** When our order was created; a mail dated earlier cannot be its challenge. */
  readonly orderCreatedAt: Date;
  /** When the mail arrived, if the mail client knows it. */
  readonly receivedAt?: Date;
}

export interface CheckEnvironment {
  readonly resolver: TxtResolver;
  readonly crypto: Crypto;
  readonly now: () => Date;
  /** authserv-ids of the user's own provider whose Authentication-Results may be trusted. */
  readonly trustedAuthservIds?: readonly string[];
  /** PEM or DER trust anchors for S/MIME-signed challenges. */
  readonly trustAnchors?: readonly (string | Uint8Array)[];
  /** Tolerated difference between the CA's Date and our order time (default 300 s). */
  readonly clockSkewSeconds?: number;
}

export type AuthenticatedBy = 'dkim' | 'smime' | 'authentication-results';

export type CheckVerdict =
  | {
      readonly verdict: 'answer';
      readonly tokenPart1: string;
      readonly mail: ChallengeMail;
      readonly authenticatedBy: AuthenticatedBy;
      /** What vouched for the mail: the DKIM `d=`, the S/MIME signer address, or the authserv-id. */
      readonly authenticatedAs: string;
      readonly reasons: readonly [];
      readonly dkim: readonly DkimResult[];
      readonly smime: SmimeResult;
    }
  | {
      readonly verdict: 'refuse';
      readonly tokenPart1: string | null;
      readonly mail: ChallengeMail | null;
      readonly reasons: readonly RefusalFinding[];
      readonly dkim: readonly DkimResult[];
      readonly smime: SmimeResult;
    };

/**
 * Everything the add-on must know before answering a mail (RFC 8823 §3.2). `raw` is the message
 * as `messages.getRaw` returns it; Thunderbird's status lines are removed here.
 */
export function checkChallengeMail(raw: Uint8Array | string, expectation: ExpectedChallengeMail, env: CheckEnvironment): Promise<CheckVerdict> {
  return inspectChallengeMail(raw, expectation, env);
}

/**
 * Like `checkChallengeMail`, but matches only the expectations given. For the command line's
 * inspection of a saved mail; the add-on always uses `checkChallengeMail`.
 */
export async function inspectChallengeMail(raw: Uint8Array | string, expectation: Partial<ExpectedChallengeMail>, env: CheckEnvironment): Promise<CheckVerdict> {
  const none: SmimeResult = { status: 'none' };
  let message: ParsedMessage;
  try {
    message = parseMessage(raw);
  } catch (error) {
    if (error instanceof MessageParseError) return { verdict: 'refuse', tokenPart1: null, mail: null, reasons: [refusal(error.code, error.message)], dkim: [], smime: none };
    throw error;
  }
  const recognition = recognizeChallenge(message);
  const reasons: RefusalFinding[] = recognition.ok ? [] : [...recognition.refusals];
  const mail = recognition.ok ? recognition.mail : null;
  // A mail that is not a challenge at all is not looked into further: no DNS lookups for it.
  if (reasons.some((r) => r.code === 'not-a-challenge')) return { verdict: 'refuse', tokenPart1: null, mail: null, reasons, dkim: [], smime: none };
  if (mail) reasons.push(...matchExpectation(mail, expectation, env.clockSkewSeconds ?? 300));

  const [dkim, smime] = await Promise.all([
    verifyDkim(message, { resolver: env.resolver, crypto: env.crypto, now: env.now }),
    verifySmime(message, { crypto: env.crypto, trustAnchors: env.trustAnchors ?? [], now: env.now }),
  ]);
  const authres = trustedAuthenticationResults(message, env.trustedAuthservIds ?? []);
  const auth = mail ? authenticate(mail, dkim, smime, authres) : null;
  if (auth && !auth.ok) reasons.push(...auth.reasons);
  if (!mail || !auth?.ok || reasons.length > 0) return { verdict: 'refuse', tokenPart1: mail?.tokenPart1 ?? null, mail, reasons, dkim, smime };
  return { verdict: 'answer', tokenPart1: mail.tokenPart1, mail, authenticatedBy: auth.by, authenticatedAs: auth.as, reasons: [], dkim, smime };
}

/**
 * The challenge object's `from` is a bare address in RFC 8823's example, but a CA may write it
 * as a mailbox (`ACME <acme@ca.example>`); either way only the address is compared.
 */
function bareAddress(text: string): string {
  try {
    const list = parseAddressList(text);
    return list.length === 1 ? list[0]!.address : text;
  } catch {
    return text;
  }
}

/** From = challenge `from`, To = identity, dated after the order (RFC 8823 §3.2; docs/MESSAGES.md, "The policy"). */
export function matchExpectation(mail: ChallengeMail, expectation: Partial<ExpectedChallengeMail>, skewSeconds: number): RefusalFinding[] {
  const out: RefusalFinding[] = [];
  if (expectation.challengeFrom !== undefined && !sameAddress(mail.from.address, bareAddress(expectation.challengeFrom))) {
    out.push(refusal('from-mismatch', `The mail comes from ${mail.from.address}, but the CA said its challenge would come from ${expectation.challengeFrom}.`));
  }
  if (expectation.identity !== undefined && !sameAddress(mail.to.address, expectation.identity)) {
    out.push(refusal('to-mismatch', `The mail is addressed to ${mail.to.address}, not to ${expectation.identity}, the address being certified.`));
  }
  if (expectation.orderCreatedAt !== undefined) {
    const earliest = expectation.orderCreatedAt.getTime() - skewSeconds * 1000;
    if (!mail.date) out.push(refusal('date-missing', 'The mail has no readable Date, so it cannot be shown to be newer than the order.'));
    else if (mail.date.getTime() < earliest) {
      out.push(refusal('date-before-order', `The mail is dated ${mail.date.toISOString()}, before the order was created (${expectation.orderCreatedAt.toISOString()}).`));
    }
    if (expectation.receivedAt !== undefined && expectation.receivedAt.getTime() < expectation.orderCreatedAt.getTime()) {
      out.push(refusal('arrived-before-order', `The mail arrived at ${expectation.receivedAt.toISOString()}, before the order was created.`));
    }
  }
  return out;
}

/**
 * RFC 8551 §3.1 header protection: the signed part must repeat From, To and Subject, equal to
 * the outer ones, or the unsigned outer header could redirect or re-title a genuine signed mail.
 */
function headersProtected(mail: ChallengeMail, inner: ParsedMessage | null): boolean {
  if (!inner) return false;
  const one = (name: string): HeaderField | null => {
    const list = inner.all(name);
    return list.length === 1 ? list[0]! : null;
  };
  const from = one('from');
  const to = one('to');
  const subject = one('subject');
  if (!from || !to || !subject) return false;
  try {
    const innerFrom = parseAddressList(unfold(from.value));
    const innerTo = parseAddressList(unfold(to.value));
    const token = tokenFromSubject(decodedValue(subject));
    // Where the answer goes must be signed too: an outer Reply-To needs an equal inner one.
    if (mail.replyTo.length > 0) {
      const replyTo = one('reply-to');
      const inner = replyTo ? parseAddressList(unfold(replyTo.value)) : [];
      if (inner.length !== 1 || !sameAddress(inner[0]!.address, mail.replyTo[0]!.address)) return false;
    }
    return innerFrom.length === 1 && innerTo.length === 1 && sameAddress(innerFrom[0]!.address, mail.from.address) && sameAddress(innerTo[0]!.address, mail.to.address) && token.ok && token.token === mail.tokenPart1;
  } catch {
    return false;
  }
}

type Authentication = { readonly ok: true; readonly by: AuthenticatedBy; readonly as: string } | { readonly ok: false; readonly reasons: RefusalFinding[] };

/**
 * The required fields a signature's h= lacks. Reply-To, when the mail has one, is required too:
 * it decides where our answer goes (RFC 8823 §3.1 asks the CA to sign it).
 */
function missingSignedHeaders(mail: ChallengeMail, signedHeaders: readonly string[]): string[] {
  const required: string[] = [...REQUIRED_SIGNED_HEADERS, ...(mail.message.all('reply-to').length > 0 ? ['reply-to'] : [])];
  return required.filter((h) => !signedHeaders.includes(h));
}

/**
 * RFC 6376 §8.2: content after the first `l=` bytes is not signed, so anyone on the path may
 * have appended it. We never act on the body, but a mail partly written by someone else is not
 * the CA's mail (a "P.S. reply to mallory@…" is exactly the text §8.2 warns of): such a
 * signature does not authenticate a challenge. An `l=` equal to the body's length is fine.
 */
function signsWholeBody(r: DkimResult): boolean {
  return r.bodyLength === null || (r.canonicalBodyLength !== null && r.bodyLength >= r.canonicalBodyLength);
}

/** The authenticity policy (see the module comment). */
export function authenticate(mail: ChallengeMail, dkim: readonly DkimResult[], smime: SmimeResult, authres: AuthenticationResults | null): Authentication {
  const fromDomain = domainOf(mail.from.address);
  for (const r of dkim) {
    if (r.result === 'pass' && r.domain !== null && isAlignedSigningDomain(r.domain, fromDomain) && missingSignedHeaders(mail, r.signedHeaders).length === 0 && signsWholeBody(r) && !r.testing) {
      return { ok: true, by: 'dkim', as: r.domain };
    }
  }
  if (smime.status === 'pass' && smime.signerAddresses.some((a) => sameAddress(a, mail.from.address)) && headersProtected(mail, smime.protectedHeaders)) {
    return { ok: true, by: 'smime', as: mail.from.address };
  }
  // Authentication-Results from the user's own provider, for signatures we could not check.
  if (authres) {
    for (const ar of authres.results) {
      if (ar.method !== 'dkim' || ar.result !== 'pass') continue;
      const d = (ar.properties['header.d'] ?? domainOf(ar.properties['header.i'] ?? '')).toLowerCase();
      const b = ar.properties['header.b'];
      const s = ar.properties['header.s']?.toLowerCase();
      const ours = dkim.find((r) => r.domain === d && (s === undefined || r.selector === s) && (b === undefined || (b.length >= 8 && (r.signature ?? '').startsWith(b))));
      if (ours && ours.result === 'temperror' && isAlignedSigningDomain(d, fromDomain) && missingSignedHeaders(mail, ours.signedHeaders).length === 0 && signsWholeBody(ours)) {
        return { ok: true, by: 'authentication-results', as: authres.authservId };
      }
    }
  }

  const reasons: RefusalFinding[] = [];
  const add = (code: RefusalReason, message: string): void => {
    if (!reasons.some((r) => r.code === code)) reasons.push(refusal(code, message));
  };
  if (smime.status === 'invalid') add('smime-invalid', `The S/MIME signature is not valid: ${smime.reason}.`);
  if (smime.status === 'untrusted') add('smime-untrusted', `The S/MIME signature does not chain to a trusted certificate authority: ${smime.reason}.`);
  if (smime.status === 'pass' && !smime.signerAddresses.some((a) => sameAddress(a, mail.from.address))) {
    add('smime-signer-mismatch', `The S/MIME signature was made for ${smime.signerAddresses.join(', ') || 'no mail address'}, not for the sender ${mail.from.address}.`);
  }
  if (smime.status === 'pass' && !headersProtected(mail, smime.protectedHeaders)) {
    add('smime-headers-unprotected', 'The S/MIME signature does not cover From, To and Subject, so they could have been changed.');
  }
  if (dkim.length === 0 && smime.status === 'none') add('dkim-missing', 'The mail carries no DKIM signature and no S/MIME signature, so its origin cannot be checked.');
  for (const r of dkim) {
    if (r.result === 'pass' && r.domain !== null) {
      if (!isAlignedSigningDomain(r.domain, fromDomain)) add('dkim-unaligned', `The DKIM signature is by ${r.domain}, which is not the sender's domain ${fromDomain}.`);
      else if (missingSignedHeaders(mail, r.signedHeaders).length > 0) add('dkim-headers-unsigned', `The DKIM signature by ${r.domain} does not cover ${missingSignedHeaders(mail, r.signedHeaders).join(', ')}.`);
      else if (!signsWholeBody(r)) {
        add('dkim-body-extended', `The DKIM signature by ${r.domain} covers only the first ${r.bodyLength ?? 0} of the body's ${r.canonicalBodyLength ?? 0} bytes (l=); the rest could have been added by anyone.`);
      } else if (r.testing) add('dkim-testing-key', `The DKIM key of ${r.domain} is marked as testing only (t=y), which counts as unsigned.`);
    } else if (r.result === 'temperror') add('dkim-temperror', `The DKIM key could not be fetched for now (${r.reason}); try again later.`);
    else add('dkim-failed', `The DKIM signature${r.domain ? ` by ${r.domain}` : ''} is not valid: ${r.reason}.`);
  }
  if (authres) {
    const conflict = authres.results.some((ar) => ar.method === 'dkim' && ar.result === 'pass') && dkim.some((r) => r.result === 'fail');
    if (conflict) add('authres-conflict', `Your provider (${authres.authservId}) reports a DKIM pass, but the signature does not verify here; the mail may have been altered.`);
  }
  if (reasons.length === 0) add('not-authentic', 'Nothing shows that this mail really comes from the CA.');
  return { ok: false, reasons };
}
