/**
 * The one polling rule (`pollDelay`, RFC 8555 §7.5.1 and §8.2): the client's waiters and the
 * enrollment flow both wait what it says, so its numbers are pinned here once.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_POLL, pollDelay, type PollSettings } from '../../src/acme';

const runs = { numRuns: Number(process.env['FUZZ_RUNS'] ?? 500) };

describe('pollDelay', () => {
  it('without Retry-After backs off 0.5, 1, 2, 4, 8, then 15 s for good', () => {
    expect(Array.from({ length: 8 }, (_, waits) => pollDelay(undefined, waits))).toEqual([500, 1000, 2000, 4000, 8000, 15_000, 15_000, 15_000]);
    expect(pollDelay(undefined)).toBe(500);
  });

  it('waits what Retry-After says, whatever the count, within 0.5 s and 10 minutes', () => {
    expect(pollDelay(3000, 0)).toBe(3000);
    expect(pollDelay(3000, 6)).toBe(3000);
    expect(pollDelay(0, 3)).toBe(500);
    expect(pollDelay(3600_000, 0)).toBe(600_000);
  });

  it('follows the settings given, the floor holding for the back-off too', () => {
    const fast: PollSettings = { ...DEFAULT_POLL, initialIntervalMs: 100, minIntervalMs: 50, maxIntervalMs: 300 };
    expect([0, 1, 2, 3].map((waits) => pollDelay(undefined, waits, fast))).toEqual([100, 200, 300, 300]);
    expect(pollDelay(undefined, 0, { ...DEFAULT_POLL, initialIntervalMs: 100 })).toBe(500);
    expect(pollDelay(60_000, 0, { ...DEFAULT_POLL, maxWaitMs: 30_000 })).toBe(30_000);
  });

  it('always lies within [minIntervalMs, maxWaitMs], and our back-off never shrinks', () => {
    fc.assert(fc.property(fc.option(fc.nat(), { nil: undefined }), fc.nat(1000), (retryAfterMs, waits) => {
      const wait = pollDelay(retryAfterMs, waits);
      expect(wait).toBeGreaterThanOrEqual(DEFAULT_POLL.minIntervalMs);
      expect(wait).toBeLessThanOrEqual(DEFAULT_POLL.maxWaitMs);
      expect(pollDelay(undefined, waits + 1)).toBeGreaterThanOrEqual(pollDelay(undefined, waits));
    }), runs);
  });
});
