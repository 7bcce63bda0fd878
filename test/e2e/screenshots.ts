/**
 * Screenshots of the popup at its main states, taken in a real Thunderbird against the sandbox
 * on a private Xvfb display (`--headless` runs it headless instead), into docs/screenshots/:
 *   popup-start.png      identity, key type, usage, passphrase, Start
 *   popup-progress.png   the steps while the flow waits for the CA
 *   popup-installed.png  every step done
 *   popup-certificate.png the certificate summary with Download, Renew, Revoke
 *   popup-trust.png      the question: trust the CA's root (subject, SHA-256) for e-mail?
 *   popup-ready.png      after yes: ready to sign and encrypt, signing by default
 *   popup-refused.png    a forged challenge mail refused, with the reason
 * Run: `npx tsx test/e2e/screenshots.ts [--headless] [outDir]`. The popup is drawn by Thunderbird
 * itself (WindowGlobalParent.drawSnapshot), so headless gives the same picture (without focus rings).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { POPUP, answerTrustQuestion, openPopup, startInPopup, waitForEnrollment, waitForVerdict } from '../../scripts/harness/drive';
import { startWorld, type World } from '../../scripts/harness/world';
import { startXvfb, type Xvfb } from '../../scripts/harness/xvfb';

const args = process.argv.slice(2);
const useXvfb = !args.includes('--headless');
const outDir = resolve(args.find((a) => !a.startsWith('--')) ?? join(import.meta.dirname, '..', '..', 'docs', 'screenshots'));

async function shoot(world: World, name: string, top = 0): Promise<void> {
  // Let layout and fonts settle.
  await new Promise((r) => setTimeout(r, 400));
  const png = await world.tb.popupScreenshot(top);
  writeFileSync(join(outDir, name), png);
  console.log(`screenshots: ${join(outDir, name)} (${png.length} bytes)`);
}

async function main(): Promise<void> {
  mkdirSync(outDir, { recursive: true });
  let xvfb: Xvfb | undefined;
  let world: World | undefined;
  try {
    if (useXvfb) xvfb = await startXvfb();
    const start = xvfb ? { display: xvfb.display } : {};

    // The happy path: the start form, a step in progress, the installed certificate.
    world = await startWorld({ start, settings: { postChallengeAfterSeconds: 3600 }, sandbox: { challengeTiming: 'after-post' } });
    const { tb, user, sandbox } = world;
    await openPopup(tb);
    const value = await tb.waitInPopup<string>(`
      const o = [...content.document.querySelectorAll(arguments[0] + ' option')].find((x) => x.textContent.includes(arguments[1]));
      return o ? o.value : null;`, 15_000, [POPUP.identitySelect, user.email]);
    await tb.popupSetValue(POPUP.identitySelect, value);
    await tb.waitInPopup('return !content.document.querySelector(arguments[0]).hidden;', 10_000, [POPUP.startForm]);
    await shoot(world, 'popup-start.png');
    await tb.closePopup();

    await startInPopup(tb, { email: user.email, passphrase: 'screenshot passphrase' });
    const waiting = await waitForEnrollment(tb, user.email, (e) => e.step === 'awaiting-mail', 30_000);
    await shoot(world, 'popup-progress.png');
    // The CA of this world mails only after the POST; resending lets the flow go on at once.
    if (waiting.authorizationUrl !== undefined) await sandbox.resendChallenge(waiting.authorizationUrl);
    const done = await waitForEnrollment(tb, user.email, undefined, 120_000);
    if (done.step !== 'installed') throw new Error(`enrollment ended in ${done.step}: ${done.error?.message ?? ''}`);
    await tb.waitInPopup('const c = content.document.querySelector(arguments[0]); return !!c && !c.hidden;', 15_000, [POPUP.certificate]);
    await shoot(world, 'popup-installed.png');
    const top = await tb.popup<number>('return content.document.querySelector(arguments[0]).getBoundingClientRect().top + content.scrollY;', [POPUP.certificate]);
    await shoot(world, 'popup-certificate.png', Math.max(0, Math.floor(top) - 8));
    // The mailbox root is not trusted for e-mail in this profile: the question, then the answer.
    await tb.waitInPopup('const q = content.document.querySelector(arguments[0]); return !!q && !q.hidden;', 30_000, [POPUP.trustQuestion]);
    const usabilityTop = await tb.popup<number>('return content.document.querySelector(arguments[0]).getBoundingClientRect().top + content.scrollY;', [POPUP.usability]);
    await shoot(world, 'popup-trust.png', Math.max(0, Math.floor(usabilityTop) - 8));
    await answerTrustQuestion(tb, 'accept');
    await waitForVerdict(tb, (v) => v === 'ready');
    await shoot(world, 'popup-ready.png', Math.max(0, Math.floor(usabilityTop) - 8));
    await world.dispose();
    world = undefined;

    // A forged challenge mail, refused.
    world = await startWorld({ start, sandbox: { forgery: 'wrong-d' }, settings: { postChallengeAfterSeconds: 3600 } });
    await startInPopup(world.tb, { email: world.user.email, passphrase: 'screenshot passphrase' });
    await waitForEnrollment(world.tb, world.user.email, (e) => e.refusals.length > 0, 30_000);
    await world.tb.waitInPopup('return content.document.querySelectorAll(arguments[0] + " li").length > 0;', 15_000, [POPUP.refusals]);
    await shoot(world, 'popup-refused.png');
  } finally {
    await world?.dispose();
    await xvfb?.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
