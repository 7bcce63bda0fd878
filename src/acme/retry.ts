/**
 * How often, and after how long, the wire tries a request again (internal). Every retry is
 * bounded:
 * - badNonce (RFC 8555 §6.5): at once, with the nonce the error response carried.
 * - 5xx / serverInternal: exponential back-off, or the server's Retry-After if it is within the cap.
 * - network failure or request timeout: exponential back-off.
 * - rateLimited (§6.6) is never retried here: its wait can be hours; the caller decides.
 */

export interface RetryPolicy {
  /** Extra attempts after a badNonce. Each costs one request and no wait. */
  readonly badNonce: number;
  /** Extra attempts after a 5xx answer. */
  readonly serverError: number;
  /** Extra attempts after a network failure or request timeout. */
  readonly network: number;
  /** First back-off; doubled each retry. */
  readonly baseDelayMs: number;
  /** Longest back-off (and longest Retry-After honoured for a retry) before giving up instead. */
  readonly maxDelayMs: number;
  /** A single HTTP exchange taking longer than this counts as a network failure. */
  readonly requestTimeoutMs: number;
}

/**
 * Why these numbers: a badNonce retry is free of waiting, and Pebble rejects up to half of all
 * nonces in tests, so 16 retries leave a 1-in-130 000 chance of a false failure per request
 * while still stopping a server that refuses every nonce. Three 5xx or network retries at
 * 1 s, 2 s, 4 s ride out a restarting CA or a dropped Wi-Fi without hiding a real outage for
 * long. 30 s per exchange is far above any honest ACME response time.
 */
export const DEFAULT_RETRY: RetryPolicy = {
  badNonce: 16,
  serverError: 3,
  network: 3,
  baseDelayMs: 1000,
  maxDelayMs: 30_000,
  requestTimeoutMs: 30_000,
};

/** Our back-off before retry `n` (0-based): the base delay doubled `n` times, at most the cap. */
export function backoffMs(policy: RetryPolicy, n: number): number {
  return Math.min(policy.baseDelayMs * 2 ** n, policy.maxDelayMs);
}

/**
 * The wait before retry `n` (0-based) after a 5xx: the server's Retry-After when it sent one,
 * else our back-off; undefined when Retry-After asks for longer than the cap (the error then
 * goes to the caller instead of parking the request).
 */
export function serverErrorDelayMs(policy: RetryPolicy, n: number, retryAfterMs: number | undefined): number | undefined {
  if (retryAfterMs !== undefined) return retryAfterMs <= policy.maxDelayMs ? retryAfterMs : undefined;
  return backoffMs(policy, n);
}
