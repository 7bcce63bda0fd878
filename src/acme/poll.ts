/**
 * Polling a resource until the server moves it on (RFC 8555 §7.5.1 for authorizations,
 * §7.4 for orders), honouring Retry-After (§6.6, §8.2; seconds or HTTP-date), under a deadline
 * the caller sets and an AbortSignal.
 *
 * The one polling policy of the project: {@link pollDelay} decides every wait between two polls,
 * for the client's waiters here and for the enrollment flow (src/enroll/schedule.ts), which
 * polls step by step across restarts and so keeps its own count of polls.
 *
 * Defaults and why ({@link DEFAULT_POLL}):
 * - Without Retry-After: 0.5 s, then doubling to at most 15 s (0.5, 1, 2, 4, 8, 15, 15… s).
 *   Most CAs finish a validation within a second, so the first look comes early; an RFC 8823 CA
 *   reading its mailbox may take minutes, and 15 s keeps that at four requests a minute.
 * - With Retry-After: waited as asked, but never less than 0.5 s (so "Retry-After: 0" cannot
 *   spin) and never more than 10 minutes (the user is watching the popup).
 * - Deadline: 10 minutes unless the caller says otherwise. When the next wait would pass the
 *   deadline the wait is not started: AcmeTimeoutError comes at once, with the last state seen.
 */
import { sleepOrAbort, type AcmeClock } from './clock';
import { AcmeAbortError, AcmeTimeoutError } from './errors';

export interface PollSettings {
  /** First wait when the server gives no Retry-After; doubled for each wait after it. */
  readonly initialIntervalMs: number;
  /** Longest wait of our own back-off (a server's Retry-After may be longer and is honoured). */
  readonly maxIntervalMs: number;
  /** Shortest wait, even when Retry-After says less. */
  readonly minIntervalMs: number;
  /** Longest wait, even when Retry-After says more. */
  readonly maxWaitMs: number;
  /** Overall time allowed when the caller gives neither `deadline` nor `timeoutMs`. */
  readonly timeoutMs: number;
}

export const DEFAULT_POLL: PollSettings = {
  initialIntervalMs: 500,
  maxIntervalMs: 15_000,
  minIntervalMs: 500,
  maxWaitMs: 10 * 60_000,
  timeoutMs: 10 * 60_000,
};

/**
 * The wait before the next poll, after `waits` waits already made while waiting for this
 * resource (0 for the first): the server's Retry-After when it sent one (RFC 8555 §8.2), else our
 * back-off, `initialIntervalMs` doubled `waits` times, at most `maxIntervalMs`; either kept
 * within [minIntervalMs, maxWaitMs]. A wait on Retry-After counts too: our back-off then
 * resumes where it would have been.
 */
export function pollDelay(retryAfterMs: number | undefined, waits = 0, settings: PollSettings = DEFAULT_POLL): number {
  const wanted = retryAfterMs ?? Math.min(settings.initialIntervalMs * 2 ** Math.max(waits, 0), settings.maxIntervalMs);
  return Math.min(Math.max(wanted, settings.minIntervalMs), settings.maxWaitMs);
}

/** What a progress callback learns after each poll. */
export interface PollProgress<T> {
  readonly state: T;
  /** Polls made so far (1 after the first). */
  readonly polls: number;
  /** How long until the next poll, or undefined when this state ends the wait. */
  readonly nextPollInMs: number | undefined;
}

export interface WaitOptions<T> {
  /** Absolute deadline, ms since the epoch (by the client's clock). Wins over `timeoutMs`. */
  readonly deadline?: number;
  /** Time allowed from now; default {@link DEFAULT_POLL}.timeoutMs. */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: PollProgress<T>) => void;
  /**
   * A state already in hand (for example the answer to the challenge POST): the first poll then
   * waits one interval instead of fetching at once, saving a request.
   */
  readonly initial?: T;
}

/**
 * Polls `fetchState` until `isDone(state)`; returns that state. `retryAfterOf` reads the
 * Retry-After that came with a state.
 */
export async function pollUntil<T>(
  clock: AcmeClock,
  settings: PollSettings,
  fetchState: (signal: AbortSignal | undefined) => Promise<T>,
  isDone: (state: T) => boolean,
  retryAfterOf: (state: T) => number | undefined,
  options: WaitOptions<T>,
  what: string,
): Promise<T> {
  const deadline = options.deadline ?? clock.now() + (options.timeoutMs ?? settings.timeoutMs);
  let state = options.initial;
  let polls = 0;
  let waits = 0;
  if (state !== undefined && isDone(state)) return state;
  for (;;) {
    if (state !== undefined) {
      const wait = pollDelay(retryAfterOf(state), waits++, settings);
      if (clock.now() + wait > deadline) {
        throw new AcmeTimeoutError(`gave up waiting for ${what}: the next poll (in ${Math.round(wait / 1000)} s) would pass the deadline`, state);
      }
      options.onProgress?.({ state, polls, nextPollInMs: wait });
      await sleepOrAbort(clock, wait, options.signal);
    }
    if (options.signal?.aborted) throw new AcmeAbortError(`cancelled while waiting for ${what}`, undefined, { cause: options.signal.reason });
    state = await fetchState(options.signal);
    polls++;
    if (isDone(state)) {
      options.onProgress?.({ state, polls, nextPollInMs: undefined });
      return state;
    }
  }
}
