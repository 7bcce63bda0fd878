/**
 * THE answer rule: whether a challenge-like mail is answered, in one pure function.
 *
 * Everything that decides it, in the order it is applied:
 * 1. the mail is addressed (To) to the enrollment's address — else it is none of its business;
 * 2. it is not settled: not the mail already answered, not refused for good before;
 * 3. it was not already in Thunderbird when the request started (`arrived-before-order`: an old
 *    or replayed challenge would use up the one reply);
 * 4. it was not answered for another, earlier enrollment (`already-answered`);
 * 5. src/messages' check passes (RFC 8823 recognition, From/To against the pending challenge,
 *    date, DKIM or S/MIME authenticity: src/messages/check.ts, reached through MailCheckPort).
 *    Its refusal is taken as it is; a check that throws refuses the mail (`malformed-message`:
 *    a crafted mail must not be able to end the enrollment); a refusal whose every reason is
 *    temporary (`dkim-temperror`: the check could not finish) defers the mail instead of
 *    blocking it;
 * 6. "ask before replying": the user is asked first.
 * After this rule says `answer` (or the user said yes), one gate remains: the reply Thunderbird
 * prepares is read back and sent only if it matches (`compose-mismatch`, ../steps/reply.ts).
 *
 * The flow (./intake.ts) gathers the facts, calls `decideMail`, runs the check when the answer
 * is `check`, calls `decideMail` again with its outcome, and applies the decision.
 */
import { isTemporaryRefusal } from '../records';
import type { MailCheckAnswer, MailRefusal } from '../ports';
import type { RefusalCode } from '../vocabulary';

/** What src/messages' check said, or that it threw. */
export type CheckOutcome = MailCheckAnswer | MailRefusal | { readonly verdict: 'failed'; readonly message: string };

export interface MailFacts {
  /** The enrollment's address. */
  readonly email: string;
  /** Every address in the mail's To fields (MailCheckPort.addressedTo). */
  readonly addressedTo: readonly string[];
  /** Answered already, or refused for good (../records.ts isSettled). */
  readonly settled: boolean;
  /** The mail was in Thunderbird before the request started. */
  readonly arrivedBeforeOrder: boolean;
  /** Another enrollment answered this very mail. */
  readonly answeredElsewhere: boolean;
  /** Absent until the check ran; with it, the user's "ask before replying" setting. */
  readonly check?: { readonly outcome: CheckOutcome; readonly askBeforeReplying: boolean };
}

export type IgnoreReason = 'not-addressed' | 'settled';

export type MailDecision =
  /** Nothing to record: the mail is not for this enrollment, or was decided before. */
  | { readonly kind: 'ignore'; readonly why: IgnoreReason }
  /** The rules before the check pass: run src/messages' check, then decide again with its outcome. */
  | { readonly kind: 'check' }
  /** Never answered; recorded with its reasons. `notify`: tell the user (the check refused it). */
  | { readonly kind: 'refuse'; readonly reasons: readonly RefusalCode[]; readonly detail: string; readonly notify: boolean }
  /** The check could not finish: shown as "will retry", and the mail is looked at again later. */
  | { readonly kind: 'defer'; readonly reasons: readonly RefusalCode[]; readonly detail: string }
  /** Authentic: ask the user before replying. */
  | { readonly kind: 'ask'; readonly answer: MailCheckAnswer }
  /** Authentic: reply now. */
  | { readonly kind: 'answer'; readonly answer: MailCheckAnswer };

/** The To rule: the mail names the enrollment's address (compared without case). */
export function isAddressedTo(email: string, addressedTo: readonly string[]): boolean {
  const wanted = email.toLowerCase();
  return addressedTo.some((address) => address.toLowerCase() === wanted);
}

export function decideMail(facts: MailFacts): MailDecision {
  if (!isAddressedTo(facts.email, facts.addressedTo)) return { kind: 'ignore', why: 'not-addressed' };
  if (facts.settled) return { kind: 'ignore', why: 'settled' };
  if (facts.arrivedBeforeOrder) {
    return { kind: 'refuse', reasons: ['arrived-before-order'], detail: 'This mail was already in Thunderbird before the request started, so it cannot be its challenge.', notify: false };
  }
  if (facts.answeredElsewhere) {
    return { kind: 'refuse', reasons: ['already-answered'], detail: 'This challenge mail was already answered for an earlier request.', notify: false };
  }
  if (facts.check === undefined) return { kind: 'check' };
  const { outcome, askBeforeReplying } = facts.check;
  if (outcome.verdict === 'failed') {
    return { kind: 'refuse', reasons: ['malformed-message'], detail: `The mail could not be checked: ${outcome.message}`, notify: true };
  }
  if (outcome.verdict === 'refuse') {
    if (isTemporaryRefusal(outcome)) return { kind: 'defer', reasons: [...outcome.reasons, 'will-retry'], detail: outcome.detail };
    return { kind: 'refuse', reasons: outcome.reasons, detail: outcome.detail, notify: true };
  }
  return askBeforeReplying ? { kind: 'ask', answer: outcome } : { kind: 'answer', answer: outcome };
}
