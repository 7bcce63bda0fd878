/**
 * Mail intake: which mails are looked at, when, and what happens to one the answer rule
 * (./decision.ts) has decided. New-mail events, the scan of recent mail on entering
 * `awaiting-mail` (and once per background life), and the rescans after a check that could not
 * finish.
 *
 * No candidate mail is lost to a check that could not finish (finding 4 of docs/SECURITY.md): a
 * mail that cannot be read, a transient failure, or a temporary refusal schedules a rescan of
 * recent mail, with back-off, until the validation time-out; only a refusal for good blocks a mail.
 */
import { mayBeChallengeSubject } from '../../messages/prefilter';
import { addressesOf, currentAddress } from '../addresses';
import { messageOf } from '../errors';
import type { Flow } from '../flow';
import { PortError, type MailRef } from '../ports';
import { isSettled, temporaryRefusalOf, withoutRefusal, withRefusal } from '../records';
import { SCAN_MARGIN_MS, nextMailRetry } from '../schedule';
import { isTerminal, type Enrollment, type PendingReply } from '../state';
import { listEnrollments } from '../store';
import { askConsent, sendReply } from '../steps/reply';
import { decideMail, isAddressedTo, type CheckOutcome, type MailFacts } from './decision';

/** Challenge-like mails remembered as already present at start: bounded like the scan itself. */
export const MAX_PREEXISTING = 200;

/** Message-IDs of the challenge-like mails in Thunderbird now; none if the mailbox cannot say. */
export async function challengeLikeMail(flow: Flow, since: number): Promise<string[]> {
  try {
    return (await flow.deps.mailbox.recent(since))
      .filter((m) => mayBeChallengeSubject(m.subject))
      .map((m) => m.headerMessageId)
      .slice(-MAX_PREEXISTING);
  } catch (error) {
    flow.deps.log.debug(`could not list mail at start: ${messageOf(error)}`);
    return [];
  }
}

/**
 * New mail (messages.onNewMailReceived): the subject pre-filter first, then the raw message
 * only for candidates, and only when an unfinished enrollment is addressed by it. `advance`
 * runs an enrollment on after its mail was handled.
 *
 * A candidate is never dropped on a failure: one that cannot be read, or whose check fails for
 * a transient reason, makes the waiting enrollments scan recent mail again later, with back-off,
 * and says so in their history. Whatever happens to one mail or one enrollment, the others are
 * still handled; an unexpected error is thrown only after that, for the caller's log.
 */
export async function newMail(flow: Flow, mails: readonly MailRef[], advance: (e: Enrollment) => Promise<Enrollment>): Promise<void> {
  const candidates = mails.filter((m) => mayBeChallengeSubject(m.subject));
  if (candidates.length === 0) return;
  const active = (await listEnrollments(flow.deps.storage)).filter((e) => !isTerminal(e.step));
  if (active.length === 0) return;
  let firstError: Error | undefined;
  const guarded = async (id: string, work: (e: Enrollment) => Promise<Enrollment>): Promise<void> => {
    try {
      await flow.withEnrollment(id, async () => {
        const e = await flow.load(id);
        // Not yet waiting (the order is being made): the scan on entering `awaiting-mail`
        // finds this mail, so nothing is lost by leaving it now.
        return e.step === 'awaiting-mail' ? work(e) : e;
      });
    } catch (error) {
      flow.deps.log.debug(`new mail for ${id}: ${messageOf(error)}`);
      firstError ??= error instanceof Error ? error : new Error(messageOf(error));
    }
  };
  for (const mail of candidates) {
    let raw: Uint8Array;
    try {
      raw = await flow.deps.mailbox.raw(mail);
    } catch (error) {
      // Unread, it could be the challenge of any waiting enrollment. If it vanished, the rescan
      // finds nothing; if it was moved or could not be read yet, the rescan finds it.
      const why = `could not read new mail ${mail.headerMessageId}: ${messageOf(error)}`;
      flow.deps.log.debug(why);
      for (const target of active) await guarded(target.id, (e) => retryMailLater(flow, e, why));
      continue;
    }
    const to = flow.deps.mailCheck.addressedTo(raw);
    // Any address of the enrollment: the answer rule then looks only at the current one's mail.
    for (const target of active.filter((e) => addressesOf(e).some((a) => isAddressedTo(a.email, to)))) {
      await guarded(target.id, async (e) => {
        let next: Enrollment;
        try {
          const outcome = await considerOrDefer(flow, e, mail, raw, to);
          next = outcome.deferred === undefined ? outcome.enrollment : await retryMailLater(flow, outcome.enrollment, outcome.deferred);
        } catch (error) {
          // Not transient (the account key is gone, storage failed): the enrollment reports it.
          return flow.failure(e, error);
        }
        return advance(next);
      });
    }
  }
  if (firstError !== undefined) throw firstError;
}

/**
 * Looks at every recent challenge-like mail not yet settled (answered or refused for good).
 * Ends by scheduling the next rescan when some mail could not be read or checked (with
 * back-off), or by clearing a scheduled one when all could.
 */
export async function scanRecent(flow: Flow, start: Enrollment): Promise<Enrollment> {
  let e = start;
  let unfinished: string | undefined;
  let mails: readonly MailRef[];
  try {
    mails = await flow.deps.mailbox.recent(e.createdAt - SCAN_MARGIN_MS);
  } catch (error) {
    return retryMailLater(flow, e, `could not list recent mail: ${messageOf(error)}`);
  }
  for (const mail of mails.filter((m) => mayBeChallengeSubject(m.subject))) {
    if (e.step !== 'awaiting-mail') break;
    // Settled mail is not even read (the answer rule would ignore it).
    if (isSettled(e, mail.headerMessageId)) continue;
    const raw = await rawOrSkip(flow, mail);
    if (!raw) {
      unfinished ??= `could not read ${mail.headerMessageId}`;
      continue;
    }
    const outcome = await considerOrDefer(flow, e, mail, raw, flow.deps.mailCheck.addressedTo(raw));
    e = outcome.enrollment;
    unfinished ??= outcome.deferred;
  }
  if (e.step !== 'awaiting-mail') return e;
  if (unfinished !== undefined) return retryMailLater(flow, e, unfinished);
  return e.mailRetry === undefined ? e : flow.update(e, { mailRetry: undefined }, 'every waiting mail could be checked');
}

/** Schedules a rescan of recent mail, with the flow's back-off; the history says why. */
export function retryMailLater(flow: Flow, e: Enrollment, reason: string): Promise<Enrollment> {
  const now = flow.now();
  const mailRetry = nextMailRetry(e.mailRetry, now, reason);
  return flow.update(e, { mailRetry }, `${reason}; mail looked at again in ${Math.round((mailRetry.at - now) / 1000)} s`);
}

/**
 * considerMail, except that a check that could not finish — a temporary refusal, or a
 * transient failure (the account key's thumbprint, the CA) — leaves the mail to be looked at
 * again: `deferred` says why. Other errors are thrown.
 */
async function considerOrDefer(flow: Flow, e: Enrollment, mail: MailRef, raw: Uint8Array, to: readonly string[]): Promise<{ enrollment: Enrollment; deferred?: string }> {
  let enrollment: Enrollment;
  try {
    enrollment = await considerMail(flow, e, mail, raw, to);
  } catch (error) {
    if (error instanceof PortError && (error.kind === 'transient' || error.kind === 'rateLimited')) {
      return { enrollment: e, deferred: `could not check ${mail.headerMessageId}: ${messageOf(error)}` };
    }
    throw error;
  }
  const temporary = temporaryRefusalOf(enrollment, mail.headerMessageId);
  return temporary === undefined ? { enrollment } : { enrollment, deferred: `could not check ${mail.headerMessageId} yet: ${temporary.detail}` };
}

/**
 * A mail can vanish between the event and the read (a filter moved it, the user deleted it):
 * that mail is skipped, never the enrollment failed. The scan then schedules another one,
 * which finds it if it was only moved.
 */
async function rawOrSkip(flow: Flow, mail: MailRef): Promise<Uint8Array | undefined> {
  try {
    return await flow.deps.mailbox.raw(mail);
  } catch (error) {
    flow.deps.log.debug(`could not read ${mail.headerMessageId}: ${messageOf(error)}`);
    return undefined;
  }
}

/** One candidate mail: gathers the facts, asks the answer rule, and does what it decided. */
async function considerMail(flow: Flow, e: Enrollment, mail: MailRef, raw: Uint8Array, to: readonly string[]): Promise<Enrollment> {
  const settled = isSettled(e, mail.headerMessageId);
  const arrivedBeforeOrder = e.preexistingMail?.includes(mail.headerMessageId) === true;
  const email = currentAddress(e).email;
  const answeredElsewhere = isAddressedTo(email, to) && !settled && !arrivedBeforeOrder && (await listEnrollments(flow.deps.storage)).some((other) => other.id !== e.id && other.answeredMail === mail.headerMessageId);
  const facts: MailFacts = { email, addressedTo: to, settled, arrivedBeforeOrder, answeredElsewhere };
  let decision = decideMail(facts);
  if (decision.kind === 'check') {
    const outcome = await check(flow, e, raw);
    decision = decideMail({ ...facts, check: { outcome, askBeforeReplying: (await flow.deps.settings()).askBeforeReplying } });
  }
  const seen = { headerMessageId: mail.headerMessageId, subject: mail.subject, author: mail.author, at: flow.now() };
  switch (decision.kind) {
    case 'ignore':
    case 'check':
      return e;
    case 'refuse': {
      if (decision.notify) flow.deps.log.debug(`refused ${mail.headerMessageId}: ${decision.reasons.join(', ')}`);
      const refused = withRefusal(e, { ...seen, reasons: decision.reasons, detail: decision.detail });
      await flow.save(refused);
      if (decision.notify) await flow.deps.notifier.notify({ kind: 'refused', email, reasons: decision.reasons });
      return refused;
    }
    case 'defer': {
      // The check could not finish (DNS unreachable): shown as such, and the mail is looked at
      // again (the caller schedules it); a later outcome replaces this entry.
      flow.deps.log.debug(`could not check ${mail.headerMessageId} yet: ${decision.reasons.filter((code) => code !== 'will-retry').join(', ')}`);
      const deferred = withRefusal(e, { ...seen, reasons: decision.reasons, detail: decision.detail, temporary: true });
      await flow.save(deferred);
      return deferred;
    }
    case 'ask':
    case 'answer': {
      // Authentic now: a note that it could not be checked before no longer applies.
      const authentic = withoutRefusal(e, mail.headerMessageId);
      const { answer } = decision;
      const pending: PendingReply = {
        mailId: mail.id,
        headerMessageId: mail.headerMessageId,
        subject: mail.subject,
        author: mail.author,
        date: mail.date,
        replyTo: answer.replyTo,
        replySubject: answer.replySubject,
        body: answer.body,
        joinUsed: answer.joinUsed,
        ...(answer.joinsAgree === undefined ? {} : { joinsAgree: answer.joinsAgree }),
        authenticity: answer.authenticity,
      };
      return decision.kind === 'ask' ? askConsent(flow, authentic, pending) : sendReply(flow, authentic, pending, mail);
    }
  }
}

/** src/messages' check against the pending challenge; a check that throws is reported as such. */
async function check(flow: Flow, e: Enrollment, raw: Uint8Array): Promise<CheckOutcome> {
  // Outside the try: a transient failure here defers the mail (considerOrDefer).
  const thumbprint = await flow.deps.acme.thumbprint(e.directoryUrl);
  try {
    return await flow.deps.mailCheck.check(raw, {
      email: currentAddress(e).email,
      from: e.challengeFrom!,
      tokenPart2: e.tokenPart2!,
      thumbprint,
      tokenJoin: e.tokenJoin,
      // The current order's time: after a second order, mail of the first is not its challenge.
      notBefore: e.orderedAt ?? e.createdAt,
    });
  } catch (error) {
    return { verdict: 'failed', message: messageOf(error) };
  }
}
