/**
 * The Retry-After header (RFC 9110 §10.2.3), which ACME servers send on rate limits
 * (RFC 8555 §6.6), on resources still being processed (§7.4, §8.2) and on renewalInfo
 * (RFC 9773 §4.3): either delay-seconds or an HTTP-date (RFC 9110 §5.6.7).
 */

/** Past this a value is treated as absurd rather than honoured: a server cannot park a client for a year. */
export const MAX_RETRY_AFTER_MS = 7 * 24 * 3600 * 1000;

/**
 * Milliseconds to wait, from `now` (ms since epoch), or undefined for an absent or unreadable
 * header. A date in the past gives 0. Values beyond {@link MAX_RETRY_AFTER_MS} are capped to it.
 */
export function parseRetryAfter(value: string | null | undefined, now: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (text === '') return undefined;
  if (/^\d+$/.test(text)) {
    // Long digit strings overflow to huge numbers; the cap handles them.
    return Math.min(Number(text) * 1000, MAX_RETRY_AFTER_MS);
  }
  // HTTP-date: IMF-fixdate, or the obsolete RFC 850 and asctime forms RFC 9110 §5.6.7 still
  // requires recipients to accept. Date.parse reads all three; demand a weekday and a time so
  // that loose strings ("5 minutes") are not taken for dates.
  if (!/^[A-Za-z]{3,9},? /.test(text) || !/\d{1,2}:\d{2}:\d{2}/.test(text)) return undefined;
  const at = Date.parse(/GMT$|UTC$|[+-]\d{4}$/.test(text) ? text : `${text} GMT`);
  if (Number.isNaN(at)) return undefined;
  return Math.min(Math.max(0, at - now), MAX_RETRY_AFTER_MS);
}
