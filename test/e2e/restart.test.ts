/**
 * Scenario 4 (docs/E2E.md) — Thunderbird killed (SIGKILL, nothing saved on the way out) in the middle
 * of an order, then started again: the order completes, exactly one reply goes out, and the key
 * is not lost (the `.p12` opens with the passphrase the user gave before the crash).
 */
import { describe, expect, it } from 'vitest';
import { certSummary, openPkcs12, publicKeyOfCert, publicKeyOfPrivate } from '../../scripts/harness/checks';
import { enterInstallPassphrase, repliesFrom, startInPopup, waitForDownload, waitForEnrollment } from '../../scripts/harness/drive';
import { worldPerTest } from './per-test';
import type { World } from '../../scripts/harness/world';

const startTestWorld = worldPerTest();

async function finishAfterRestart(w: World, passphrase: string): Promise<void> {
  const ready = await waitForEnrollment(w.tb, w.user.email, (e) => e.needsPassphrase === true || e.step === 'failed' || e.step === 'installed', 120_000);
  expect(ready.error).toBeUndefined();
  if (ready.step !== 'installed') await enterInstallPassphrase(w.tb, passphrase);
  const done = await waitForEnrollment(w.tb, w.user.email, undefined, 120_000);
  expect(done.error).toBeUndefined();
  expect(done.step).toBe('installed');
  // Exactly one reply, accepted; the key made before the crash is the certificate's key.
  const replies = repliesFrom(w.sandbox, w.user.email);
  expect(replies).toHaveLength(1);
  expect(replies[0]!.verdict).toBe('valid');
  const p12 = openPkcs12(await waitForDownload(w.profile.downloadDir), passphrase);
  const leaf = p12.certificatesPem.find((pem) => certSummary(pem).emails.includes(w.user.email));
  expect(leaf).toBeDefined();
  expect(publicKeyOfPrivate(p12.privateKeyPem)).toBe(publicKeyOfCert(leaf!));
}

describe('Thunderbird killed mid-order and started again', () => {
  it('completes an order killed after its creation, the challenge arriving meanwhile', async () => {
    const w = await startTestWorld({ sandbox: { challengeTiming: 'after-post' }, settings: { postChallengeAfterSeconds: 3600 } });
    const passphrase = 'killed after the order';
    await startInPopup(w.tb, { email: w.user.email, passphrase });
    const ordered = await waitForEnrollment(w.tb, w.user.email, (e) => e.step === 'awaiting-mail', 30_000);
    await w.kill();
    await w.sandbox.resendChallenge(ordered.authorizationUrl!);
    await w.restart();
    await finishAfterRestart(w, passphrase);
  }, 240_000);

  it('completes an order killed right after the reply, without replying again', async () => {
    const w = await startTestWorld();
    const passphrase = 'killed after the reply';
    await startInPopup(w.tb, { email: w.user.email, passphrase });
    await waitForEnrollment(w.tb, w.user.email, (e) => e.answeredMail !== undefined || e.step === 'failed', 60_000);
    await w.kill();
    expect(repliesFrom(w.sandbox, w.user.email)).toHaveLength(1);
    await w.restart();
    await finishAfterRestart(w, passphrase);
    // The challenge mail is still in the Inbox after the restart: it must not be answered twice.
    expect(w.sandbox.challengesSent()).toHaveLength(1);
  }, 240_000);
});
