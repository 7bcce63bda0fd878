/**
 * Scenario 5 (docs/E2E.md) — a faulty CA: bad nonces, HTTP 500s and rate limiting with Retry-After
 * (the sandbox applies its rates deterministically, so every run meets the same faults). The
 * add-on completes in spite of them; a CA that only fails ends in a clear error in the popup.
 */
import { describe, expect, it } from 'vitest';
import { POPUP, openPopup, repliesFrom, startInPopup, waitForEnrollment } from '../../scripts/harness/drive';
import { worldPerTest } from './per-test';

const startTestWorld = worldPerTest();

describe('a faulty CA', () => {
  it('completes through bad nonces, 500s and rate limits with Retry-After', async () => {
    const w = await startTestWorld({ sandbox: { faults: { badNonceRate: 0.5, serverErrorRate: 0.2, rateLimitRate: 0.2, retryAfterSeconds: 1 } } });
    await startInPopup(w.tb, { email: w.user.email, passphrase: 'faulty CA passphrase' });
    const done = await waitForEnrollment(w.tb, w.user.email, undefined, 180_000);
    expect(done.error).toBeUndefined();
    expect(done.step).toBe('installed');
    const replies = repliesFrom(w.sandbox, w.user.email);
    expect(replies).toHaveLength(1);
    expect(replies[0]!.verdict).toBe('valid');
  }, 240_000);

  it('reports a CA that only answers 500 as a clear error in the popup', async () => {
    // A CA that says when to come back (Retry-After 1 s on its 500s) still gets given up on after
    // the bounded attempts; without Retry-After the same ends after about 100 s of back-off.
    const w = await startTestWorld({ sandbox: { faults: { serverErrorRate: 1, serverErrorRetryAfter: true, retryAfterSeconds: 1 } } });
    await startInPopup(w.tb, { email: w.user.email, passphrase: 'broken CA passphrase' });
    const done = await waitForEnrollment(w.tb, w.user.email, undefined, 180_000);
    expect(done.step).toBe('failed');
    expect(done.error?.code).toBe('network');
    expect(done.error?.message).toContain('after 6 attempts');
    expect(repliesFrom(w.sandbox, w.user.email)).toHaveLength(0);
    await w.tb.closePopup();
    await openPopup(w.tb);
    const message = await w.tb.waitInPopup<string>(`
      const box = content.document.querySelector(arguments[0]);
      const text = content.document.querySelector(arguments[1]).textContent.trim();
      return box && !box.closest('[hidden]') && text !== '' ? text : null;
    `, 15_000, [POPUP.error, POPUP.errorMessage]);
    expect(message.length).toBeGreaterThan(10);
  }, 240_000);
});
