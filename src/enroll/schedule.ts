/**
 * When the flow acts by itself, and what it does after a failure: poll delays (RFC 8555 §7.5.1
 * Retry-After), back-off, time-outs, the renewal point in an ARI window, and the failure policy.
 * Pure functions: the flow applies their answers. The poll delay is the ACME client's own rule
 * (`pollDelay` of src/acme), so the flow and the client's waiters poll alike.
 */
import { DEFAULT_POLL, pollDelay } from '../acme/index';
import { messageOf, problemOf } from './errors';
import { PortError, type ProblemInfo } from './ports';
import type { Settings } from './settings';
import { isTerminal, type Enrollment, type ErrorCode, type MailRetry } from './state';

/** Transient failures in a row before the enrollment is reported as failed. */
export const MAX_ATTEMPTS = 6;
/**
 * The first poll after the challenge POST or the finalize when the CA sends no Retry-After
 * (`pollDelay(undefined, 0)`, 0.5 s): most CAs answer within a second.
 */
export const FIRST_POLL_MS = DEFAULT_POLL.initialIntervalMs;
/**
 * Longest wait between polls, whatever Retry-After says (the user is watching the popup); the
 * failure back-off stops there too.
 */
export const MAX_POLL_MS = DEFAULT_POLL.maxWaitMs;
/**
 * When to poll next: the CA's Retry-After when it gave one (within [0.5 s, MAX_POLL_MS]), else
 * the back-off for the `polls`-th wait of this step (0-based): 0.5, 1, 2, 4, 8, 15, 15… s.
 */
export { pollDelay };
/**
 * Between our reply leaving Thunderbird (the provider's SMTP server accepted it) and the POST to
 * the challenge. One CA validates only on the POST and gives up about 2.5 s later (5 tries, 0.5 s
 * apart), so the POST must not come before the reply can have reached the CA's mailbox; a CA that
 * validates when the reply arrives loses nothing by the wait, since polling starts with the POST.
 * One second covers a provider that relays at once; docs/ACME.md, "Timing", says why not longer.
 */
export const POST_AFTER_REPLY_MS = 1_000;

/** Mail older than the enrollment by more than this is not scanned (clock skew margin). */
export const SCAN_MARGIN_MS = 5 * 60_000;

/** Back-off after the n-th transient failure in a row: 2, 4, 8… s, at most MAX_POLL_MS. */
export function backoffMs(attempts: number): number {
  return Math.min(2_000 * 2 ** Math.max(attempts - 1, 0), MAX_POLL_MS);
}

/** The CA (or the mail) took longer than the user's validation time-out. */
export function timedOut(e: Enrollment, settings: Settings, now: number): boolean {
  const since = e.waitingSince ?? e.createdAt;
  return now - since > settings.validationTimeoutMinutes * 60_000;
}

/** A point in an ARI window, `random` in [0, 1) (RFC 9773 §4.2). */
export function pickInWindow(start: number, end: number, random: number): number {
  return end > start ? start + Math.floor((end - start) * random) : start;
}

/** Without ARI: renew two thirds into the certificate's lifetime. */
export function lifetimeRenewAt(notBefore: number, notAfter: number): number {
  return notBefore + ((notAfter - notBefore) * 2) / 3;
}

/**
 * When an enrollment next wants to act by itself: its step's wake-up, or in `awaiting-mail` the
 * rescan of mail to look at again — unless the step is backing off after a failure: the
 * await-mail step scans nothing before the back-off ends, so the rescan waits for it.
 */
export function dueAt(e: Enrollment): number | undefined {
  if (isTerminal(e.step)) return undefined;
  const retry = e.step === 'awaiting-mail' ? e.mailRetry?.at : undefined;
  if (retry === undefined) return e.wakeAt;
  if (e.wakeAt === undefined) return retry;
  return e.attempts > 0 ? e.wakeAt : Math.min(e.wakeAt, retry);
}

/**
 * The next rescan of recent mail, with the flow's back-off. An earlier rescan already planned
 * stays: a burst of failures does not push it back.
 */
export function nextMailRetry(current: MailRetry | undefined, now: number, reason: string): MailRetry {
  const attempts = (current?.attempts ?? 0) + 1;
  const delay = backoffMs(attempts);
  const at = current !== undefined && current.at > now ? Math.min(current.at, now + delay) : now + delay;
  return { at, attempts, reason };
}

/** What to do after a step failed. */
export type FailureAction =
  | { readonly kind: 'retry'; readonly attempts: number; readonly delayMs: number; readonly note: string }
  | { readonly kind: 'fail'; readonly code: ErrorCode; readonly message: string; readonly problem?: ProblemInfo; readonly link?: string };

/**
 * The failure policy: transient errors and rate limits wait and retry in the same step (at most
 * MAX_ATTEMPTS transient ones in a row); the rest end the enrollment with the CA's problem
 * document kept whole. `attempts` counts the failures before this one.
 */
export function failurePolicy(error: unknown, attempts: number): FailureAction {
  if (error instanceof PortError && (error.kind === 'transient' || error.kind === 'rateLimited')) {
    const n = attempts + 1;
    if (error.kind === 'transient' && n >= MAX_ATTEMPTS) {
      return withProblem({ kind: 'fail', code: 'network', message: `${messageOf(error)} (after ${n} attempts)` }, error.problem);
    }
    // The CA's Retry-After when it gave one (rate limit, or a 5xx saying when it is back), else our back-off.
    const delayMs = error.kind === 'rateLimited'
      ? Math.max(error.retryAfterMs ?? 60_000, 1_000)
      : Math.min(Math.max(error.retryAfterMs ?? backoffMs(n), 1_000), MAX_POLL_MS);
    return { kind: 'retry', attempts: n, delayMs, note: `${error.kind}: ${messageOf(error)}; retry in ${Math.round(delayMs / 1000)} s` };
  }
  if (error instanceof PortError && error.kind === 'userAction') {
    const action = { kind: 'fail', code: 'userActionRequired', message: messageOf(error) } as const;
    return withProblem(error.link === undefined ? action : { ...action, link: error.link }, error.problem);
  }
  if (error instanceof PortError && error.kind === 'problem') return withProblem({ kind: 'fail', code: 'caRefused', message: messageOf(error) }, error.problem);
  return withProblem({ kind: 'fail', code: 'internal', message: messageOf(error) }, problemOf(error));
}

function withProblem(action: Extract<FailureAction, { kind: 'fail' }>, problem: ProblemInfo | undefined): FailureAction {
  return problem === undefined ? action : { ...action, problem };
}
