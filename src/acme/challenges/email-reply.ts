/**
 * The `email-reply-00` challenge object of RFC 8823 §3: the one place in src/acme that knows
 * about email. It only reads the challenge's fields; recognising the CA's mail and building the
 * reply belong to src/messages.
 *
 * Fields: `token` is token-part2 (base64url; RFC 8823 §3 asks for at least 128 bits across
 * both parts, so part 2 alone may be short), `from` is the address the challenge mail comes from.
 */
import { AcmeProtocolError } from '../errors';
import { str } from '../parse';
import type { ChallengeBase, ChallengePlugin } from '../types';

export const EMAIL_REPLY_00 = 'email-reply-00';

/** RFC 8823 §3. */
export interface EmailReplyChallenge extends ChallengeBase {
  readonly type: 'email-reply-00';
  /** token-part2, base64url. */
  readonly token: string;
  /** The address the CA's challenge mail is sent from; the reply's From must be checked against it. */
  readonly from: string;
}

export const emailReply00: ChallengePlugin<EmailReplyChallenge> = {
  type: EMAIL_REPLY_00,
  parse(base, raw, request) {
    const token = str(raw, 'token', request);
    if (!/^[A-Za-z0-9_-]+$/.test(token)) throw new AcmeProtocolError('invalid-field', '"token" of email-reply-00 is not base64url', request);
    const from = str(raw, 'from', request).trim();
    // A bare addr-spec (RFC 5322 §3.4.1); a display name or a list here would make the From check ambiguous.
    if (!/^[^\s@<>,;]+@[^\s@<>,;]+$/.test(from)) throw new AcmeProtocolError('invalid-field', `"from" of email-reply-00 is not a bare address: "${from.slice(0, 100)}"`, request);
    return { ...base, type: EMAIL_REPLY_00, known: true, token, from };
  },
};

export function isEmailReplyChallenge(challenge: ChallengeBase): challenge is EmailReplyChallenge {
  return challenge.known && challenge.type === EMAIL_REPLY_00;
}
