/**
 * Polling a resource until the server moves it on (RFC 8555 §7.5.1 for authorizations,
 * §7.4 for orders), honouring Retry-After (§6.6, §8.2; seconds or HTTP-date), under a deadline
 * the caller sets and an AbortSignal.
 *
 * Defaults and why ({@link DEFAULT_POLL}):
 * - Without Retry-After: 1 s, then doubling to at most 10 s. Pebble and most CAs finish a
 *   validation within a second; an RFC 8823 CA reading its mailbox may take minutes, and ten
 *   seconds keeps that under six requests a minute.
 * - With Retry-After: waited in full (never less than 0.5 s, so "Retry-After: 0" cannot spin).
 * - Deadline: 10 minutes unless the caller says otherwise. When the next wait would pass the
 *   deadline the wait is not started: AcmeTimeoutError comes at once, with the last state seen.
 */
import { AcmeAbortError, AcmeTimeoutError } from './errors';
import type { AcmeHttp } from './http';

export interface PollSettings {
  /** First wait when the server gives no Retry-After. */
  readonly initialIntervalMs: number;
  /** Longest wait of our own back-off (a server's Retry-After may be longer and is honoured). */
  readonly maxIntervalMs: number;
  /** Shortest wait, even when Retry-After says less. */
  readonly minIntervalMs: number;
  /** Overall time allowed when the caller gives neither `deadline` nor `timeoutMs`. */
  readonly timeoutMs: number;
}

export const DEFAULT_POLL: PollSettings = {
  initialIntervalMs: 1000,
  maxIntervalMs: 10_000,
  minIntervalMs: 500,
  timeoutMs: 10 * 60 * 1000,
};

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
  http: AcmeHttp,
  settings: PollSettings,
  fetchState: (signal: AbortSignal | undefined) => Promise<T>,
  isDone: (state: T) => boolean,
  retryAfterOf: (state: T) => number | undefined,
  options: WaitOptions<T>,
  what: string,
): Promise<T> {
  const { clock } = http;
  const deadline = options.deadline ?? clock.now() + (options.timeoutMs ?? settings.timeoutMs);
  let state = options.initial;
  let polls = 0;
  let backoff = settings.initialIntervalMs;
  if (state !== undefined && isDone(state)) return state;
  for (;;) {
    if (state !== undefined) {
      const retryAfter = retryAfterOf(state);
      const wait = Math.max(settings.minIntervalMs, retryAfter ?? backoff);
      if (retryAfter === undefined) backoff = Math.min(backoff * 2, settings.maxIntervalMs);
      if (clock.now() + wait > deadline) {
        throw new AcmeTimeoutError(`gave up waiting for ${what}: the next poll (in ${Math.round(wait / 1000)} s) would pass the deadline`, state);
      }
      options.onProgress?.({ state, polls, nextPollInMs: wait });
      await http.sleep(wait, options.signal);
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
