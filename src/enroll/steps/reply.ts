/**
 * Replying to an authentic challenge mail (RFC 8823 §3.1): in place, from the identity, read
 * back before it is sent. Exactly one reply per challenge: the record goes to `replying`
 * *before* the reply is handed to Thunderbird, and a record found in `replying` after a restart
 * is treated as sent.
 */
import { currentAddress } from '../addresses';
import { EnrollRequestError, messageOf } from '../errors';
import type { Flow } from '../flow';
import type { MailRef } from '../ports';
import { withRefusal } from '../records';
import { POST_AFTER_REPLY_MS, SCAN_MARGIN_MS } from '../schedule';
import type { Enrollment, PendingReply } from '../state';

/** "Ask before replying": the reply waits for the user's OK. */
export async function askConsent(flow: Flow, e: Enrollment, pending: PendingReply): Promise<Enrollment> {
  const waiting = await flow.transition(e, 'awaiting-consent', { pendingReply: pending }, `authentic (${pending.authenticity}); waiting for the user's OK`);
  await flow.deps.notifier.notify({ kind: 'needsConsent', email: currentAddress(e).email });
  return waiting;
}

/** The user said no: the mail is kept as refused and never answered. */
export function declineReply(flow: Flow, e: Enrollment, pending: PendingReply): Promise<Enrollment> {
  const refused = withRefusal(e, { headerMessageId: pending.headerMessageId, subject: pending.subject, author: pending.author, at: flow.now(), reasons: ['user-declined'], detail: 'You chose not to answer this mail.' });
  return flow.transition(refused, 'awaiting-mail', { pendingReply: undefined }, 'reply declined by the user');
}

/** `seen` is given when the mail was seen in this session; otherwise it is found again by Message-ID. */
export async function sendReply(flow: Flow, start: Enrollment, pending: PendingReply, seen?: MailRef): Promise<Enrollment> {
  const mail = seen ?? (await resolveMail(flow, start, pending));
  // Recorded before sending: whatever happens next, this challenge is never answered twice.
  let e = await flow.transition(start, 'replying', { pendingReply: pending }, `replying (${pending.authenticity}, token halves joined as ${pending.joinUsed})`);
  let result;
  try {
    result = await flow.deps.reply.send({
      mail,
      // Each address answers from its own identity (several addresses in one certificate).
      identityId: currentAddress(e).identityId,
      body: pending.body,
      expectTo: pending.replyTo,
      expectSubject: pending.replySubject,
      expectFrom: currentAddress(e).email,
    });
  } catch (error) {
    // The compose API refused before sending: back to waiting, and look at the mail again later.
    flow.scanned.delete(e.id);
    e = await flow.transition(e, 'awaiting-mail', { pendingReply: undefined }, `reply failed: ${messageOf(error)}`);
    return flow.failure(e, error);
  }
  if (!result.sent) {
    // The compose read-back: the reply Thunderbird prepared is not the one asked for.
    e = withRefusal(e, { headerMessageId: pending.headerMessageId, subject: pending.subject, author: pending.author, at: flow.now(), reasons: ['compose-mismatch'], detail: `The reply Thunderbird prepared differed in: ${result.mismatch.join(', ')}; it was closed unsent.` });
    e = await flow.transition(e, 'awaiting-mail', { pendingReply: undefined }, 'compose mismatch; closed unsent');
    await flow.deps.notifier.notify({ kind: 'refused', email: currentAddress(e).email, reasons: ['compose-mismatch'] });
    return e;
  }
  const now = flow.now();
  return flow.transition(e, 'replied', {
    pendingReply: undefined,
    answeredMail: pending.headerMessageId,
    answeredAt: now,
    joinUsed: pending.joinUsed,
    ...(pending.joinsAgree === undefined ? {} : { joinsAgree: pending.joinsAgree }),
    authenticity: pending.authenticity,
    wakeAt: now + POST_AFTER_REPLY_MS,
  });
}

/**
 * Stopped between handing the reply to Thunderbird and recording it: it may have gone out.
 * Never send a second one; if it did not, the CA will say so.
 */
export function replyingAfterRestart(flow: Flow, e: Enrollment): Promise<Enrollment> {
  const now = flow.now();
  const pending = e.pendingReply;
  return flow.transition(e, 'replied', {
    answeredMail: pending?.headerMessageId,
    answeredAt: now,
    pendingReply: undefined,
    wakeAt: now,
    ...(pending === undefined ? {} : { joinUsed: pending.joinUsed, ...(pending.joinsAgree === undefined ? {} : { joinsAgree: pending.joinsAgree }) }),
  }, 'restarted while replying; the reply is not sent again');
}

/** Manual mode: the user sent the response from another mail client; continue as after our own reply. */
export function sentElsewhere(flow: Flow, e: Enrollment): Promise<Enrollment> {
  const now = flow.now();
  return flow.transition(e, 'replied', { answeredAt: now, wakeAt: now }, 'response sent by the user from another mail client');
}

/** Thunderbird's message ids do not survive a restart: find the mail again by its Message-ID. */
async function resolveMail(flow: Flow, e: Enrollment, pending: PendingReply): Promise<MailRef> {
  const found = (await flow.deps.mailbox.recent(e.createdAt - SCAN_MARGIN_MS)).find((m) => m.headerMessageId === pending.headerMessageId);
  if (!found) throw new EnrollRequestError('mailGone', 'The challenge mail is no longer in Thunderbird.');
  return found;
}
