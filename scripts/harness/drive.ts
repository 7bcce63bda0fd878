/**
 * Driving the add-on's flow in a real Thunderbird and watching it: the enrollment records the
 * add-on keeps in storage.local (src/enroll/state.ts), the download folder, and the sandbox's
 * record of challenge mails and replies. Shared by the E2E scenarios, the bench and the demo.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Sandbox, ReceivedReply } from '../../sandbox/index';
import type { CertificateRecord, Enrollment, Step } from '../../src/enroll/state';
import type { Thunderbird } from './thunderbird';

const ENROLLMENT_PREFIX = 'enrollment:';
const CERTIFICATE_PREFIX = 'certificate:';

export async function enrollments(tb: Thunderbird): Promise<Enrollment[]> {
  const all = await tb.getAddonStorage();
  return Object.entries(all).filter(([k]) => k.startsWith(ENROLLMENT_PREFIX)).map(([, v]) => v as Enrollment);
}

export async function certificates(tb: Thunderbird): Promise<CertificateRecord[]> {
  const all = await tb.getAddonStorage();
  return Object.entries(all).filter(([k]) => k.startsWith(CERTIFICATE_PREFIX)).map(([, v]) => v as CertificateRecord);
}

/** Something to show when a wait fails: the steps of every enrollment and the add-on's console. */
function describe(list: readonly Enrollment[], tb: Thunderbird): string {
  const steps = list.map((e) => `${e.email}: ${e.history.map((h) => h.step + (h.note ? ` (${h.note})` : '')).join(' → ')}${e.error ? ` [${e.error.code}: ${e.error.message}]` : ''}`
    + (e.needsPassphrase ? ' needs passphrase' : '')
    + (e.refusals.length ? ` refusals: ${e.refusals.map((r) => r.reasons.join('+')).join(', ')}` : ''));
  const console = tb.output().split('\n').filter((l) => /^console\.|JavaScript error|One-Click/.test(l)).slice(-30);
  return `enrollments:\n  ${steps.join('\n  ') || '(none)'}\nconsole:\n  ${console.join('\n  ')}`;
}

/**
 * Polls storage until the enrollment for `email` satisfies `done` (default: reached a terminal
 * step) and returns it. Rejects after `timeoutMs` with the history seen so far.
 */
export async function waitForEnrollment(
  tb: Thunderbird,
  email: string,
  done: (e: Enrollment) => boolean = (e) => ['installed', 'failed', 'cancelled'].includes(e.step),
  timeoutMs = 90_000,
  since = 0,
): Promise<Enrollment> {
  const deadline = Date.now() + timeoutMs;
  let list: Enrollment[] = [];
  for (;;) {
    try {
      list = await enrollments(tb);
    } catch (error) {
      // A read racing the add-on's own write can fail (IndexedDB transaction); read again.
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 250));
      continue;
    }
    const mine = list.filter((e) => e.email === email && e.createdAt >= since).sort((a, b) => b.createdAt - a.createdAt)[0];
    if (mine && done(mine)) return mine;
    if (Date.now() > deadline) throw new Error(`enrollment of ${email} not done after ${timeoutMs} ms\n${describe(list, tb)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Waits until the enrollment reached `step` (or any later one in its history). */
export function waitForStep(tb: Thunderbird, email: string, step: Step, timeoutMs = 60_000): Promise<Enrollment> {
  return waitForEnrollment(tb, email, (e) => e.history.some((h) => h.step === step) || e.step === 'failed', timeoutMs);
}

/** The completed files with `extension` in `dir` (Thunderbird writes `.part` files while downloading). */
export function downloaded(dir: string, extension = '.p12'): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => f.endsWith(extension) && statSync(join(dir, f)).size > 0).map((f) => join(dir, f));
}

export async function waitForDownload(dir: string, extension = '.p12', timeoutMs = 20_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const files = downloaded(dir, extension);
    if (files.length > 0 && !readdirSync(dir).some((f) => f.endsWith('.part'))) return files[0]!;
    if (Date.now() > deadline) throw new Error(`no ${extension} in ${dir} after ${timeoutMs} ms (found: ${readdirSync(dir).join(', ') || 'nothing'})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The replies the CA received from `email`. */
export function repliesFrom(sandbox: Sandbox, email: string): ReceivedReply[] {
  return sandbox.repliesReceived().filter((r) => r.from === email.toLowerCase());
}

/** A passphrase the way the demo makes one: 24 base64url characters from the OS's CSPRNG. */
export function makePassphrase(): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(18))).toString('base64url');
}

/**
 * The popup's element ids the drivers rely on (src/popup/popup.html; docs/ADDON.md).
 * Kept in one place so a renamed id is one edit.
 */
export const POPUP = {
  alsoFor: '#also-for-list',
  main: '#popup',
  identitySelect: '#identity-select',
  startForm: '#start-form',
  keyType: '#key-type',
  usage: '#usage',
  generatePassphrase: '#generate-passphrase',
  passphrase: '#passphrase',
  passphraseConfirm: '#passphrase-confirm',
  generatedPassphrase: '#generated-passphrase-value',
  terms: '#terms',
  termsAgree: '#terms-agree',
  start: '#start',
  enrollment: '#enrollment',
  enrollmentStep: '#enrollment-step',
  steps: '#steps',
  error: '#enrollment-error',
  errorMessage: '#error-message',
  refusals: '#refusals',
  certificate: '#certificate',
  certEmails: '#cert-emails',
  download: '#download',
  downloadPassphrase: '#download-passphrase',
  renew: '#renew',
  revoke: '#revoke',
  revokeReason: '#revoke-reason',
  revokeConfirm: '#revoke-confirm',
  status: '#status',
  usability: '#usability',
  trustQuestion: '#trust-question',
  trustRootSubject: '#trust-root-subject',
  trustRootFingerprint: '#trust-root-fingerprint',
  trustAccept: '#trust-accept',
  trustDecline: '#trust-decline',
  trustAskAgain: '#trust-ask-again',
  signByDefault: '#sign-by-default',
  encryptByDefault: '#encrypt-by-default',
} as const;

/** What the popup says Thunderbird can do with the installed certificate (`#usability[data-verdict]`). */
export type Verdict = 'ready' | 'untrusted-root' | 'declined' | 'expired' | 'not-yet-valid' | 'unfit-usage' | 'revoked' | 'unknown';

export interface ShownVerdict {
  readonly verdict: Verdict;
  /** The visible text of `#usability`. */
  readonly text: string;
}

/** Waits until the popup shows a usability verdict (`accept` picks which; default any) and returns it. */
export async function waitForVerdict(tb: Thunderbird, accept: (v: Verdict) => boolean = () => true, timeoutMs = 30_000): Promise<ShownVerdict> {
  const deadline = Date.now() + timeoutMs;
  let last: ShownVerdict | null = null;
  for (;;) {
    last = await tb.popup<ShownVerdict | null>(`
      const el = content.document.querySelector(arguments[0]);
      if (!el || el.closest('[hidden]')) return null;
      const verdict = el.getAttribute('data-verdict');
      return verdict ? { verdict, text: el.textContent.replace(/\\s+/g, ' ').trim() } : null;
    `, [POPUP.usability]).catch(() => null);
    if (last && accept(last.verdict)) return last;
    if (Date.now() > deadline) {
      throw new Error(`no fitting verdict in the popup after ${timeoutMs} ms (last: ${JSON.stringify(last)}); popup says: ${(await popupVisibleText(tb).catch(() => '?')).slice(0, 800)}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The popup's text as drawn (hidden parts left out), without the elements matching `leaveOut`. */
export async function popupVisibleText(tb: Thunderbird, leaveOut: readonly string[] = []): Promise<string> {
  return tb.popup<string>(`
    let text = content.document.body.innerText;
    for (const selector of arguments[0]) for (const el of content.document.querySelectorAll(selector)) text = text.replace(el.innerText, '');
    return text;
  `, [leaveOut]);
}

/**
 * Waits until the popup has settled what Thunderbird can do with the installed certificate:
 * either it asks whether to trust the mailbox root (`'question'`), or it shows a verdict other
 * than `untrusted-root` (which comes with the question). Returns the last verdict seen if neither
 * comes within `timeoutMs`, or null if the popup shows none.
 */
export async function usabilitySettled(tb: Thunderbird, timeoutMs = 30_000): Promise<'question' | ShownVerdict | null> {
  const deadline = Date.now() + timeoutMs;
  let last: ShownVerdict | null = null;
  for (;;) {
    if (await popupVisible(tb, POPUP.trustQuestion).catch(() => false)) return 'question';
    last = await waitForVerdict(tb, () => true, 0).catch(() => last);
    if (last && last.verdict !== 'untrusted-root') return last;
    if (Date.now() > deadline) return last;
    await new Promise((r) => setTimeout(r, 250));
  }
}

export interface TrustQuestion {
  /** The root's subject line, as the popup shows it. */
  readonly subject: string;
  /** The root's fingerprint line, as the popup shows it (label and SHA-256 in hex with colons). */
  readonly fingerprint: string;
  /** The SHA-256 in that line, upper-case hex pairs with colons; '' if there is none. */
  readonly sha256: string;
}

/**
 * Waits for the popup's question whether to trust the mailbox root for e-mail, reads the root's
 * subject and fingerprint it shows, and answers it (`#trust-accept` / `#trust-decline`).
 */
export async function answerTrustQuestion(tb: Thunderbird, answer: 'accept' | 'decline', timeoutMs = 30_000): Promise<TrustQuestion> {
  try {
    await tb.waitInPopup('const q = content.document.querySelector(arguments[0]); return !!q && !q.closest("[hidden]");', timeoutMs, [POPUP.trustQuestion]);
  } catch (error) {
    throw new Error(`the popup never asked whether to trust the mailbox root; it says: ${(await popupVisibleText(tb).catch(() => '?')).slice(0, 800)}`, { cause: error });
  }
  const shown = await tb.popup<{ subject: string; fingerprint: string }>(`
    const text = (s) => (content.document.querySelector(s)?.textContent ?? '').replace(/\\s+/g, ' ').trim();
    return { subject: text(arguments[0]), fingerprint: text(arguments[1]) };
  `, [POPUP.trustRootSubject, POPUP.trustRootFingerprint]);
  await tb.popupClick(answer === 'accept' ? POPUP.trustAccept : POPUP.trustDecline);
  const hex = /[0-9a-f]{2}(?::?[0-9a-f]{2}){31}/i.exec(shown.fingerprint)?.[0].replace(/:/g, '').toUpperCase() ?? '';
  return { ...shown, sha256: hex.match(/../g)?.join(':') ?? '' };
}

export interface PopupStart {
  readonly email: string;
  /** The `.p12` passphrase to type; without one the popup's generated passphrase is used and returned. */
  readonly passphrase?: string;
  readonly keyType?: string;
  readonly usage?: string;
  /** Other identities (by id) ticked under "Also for these addresses": one certificate for all. */
  readonly alsoFor?: readonly string[];
}

/** Opens the popup and waits until it has rendered its state (`#popup[data-ready="true"]`). */
export async function openPopup(tb: Thunderbird): Promise<void> {
  await tb.openPopup(`${POPUP.main}[data-ready="true"]`);
}

/** Whether `selector` exists and is not hidden (itself or an ancestor). */
export async function popupVisible(tb: Thunderbird, selector: string): Promise<boolean> {
  return tb.popup<boolean>(`
    const el = content.document.querySelector(arguments[0]);
    return !!el && !el.closest('[hidden]');
  `, [selector]);
}

/**
 * The one click, as a user does it: toolbar button → pick the identity (and key type/usage when
 * given) → passphrase (typed, or the generated one) → agree to the CA's terms if asked → Start.
 * Returns the passphrase in use.
 */
export async function startInPopup(tb: Thunderbird, o: PopupStart): Promise<string> {
  await openPopup(tb);
  const value = await tb.waitInPopup<string>(`
    const option = [...content.document.querySelectorAll(arguments[0] + ' option')].find((x) => x.textContent.includes(arguments[1]));
    return option ? option.value : null;
  `, 15_000, [POPUP.identitySelect, o.email]);
  await tb.popupSetValue(POPUP.identitySelect, value);
  await tb.waitInPopup(`const f = content.document.querySelector(arguments[0]); return !!f && !f.hidden;`, 10_000, [POPUP.startForm]);
  for (const identityId of o.alsoFor ?? []) {
    const box = `${POPUP.alsoFor} input[type=checkbox][value="${identityId}"]`;
    await tb.waitInPopup('const b = content.document.querySelector(arguments[0]); return !!b && !b.closest("[hidden]");', 10_000, [box]);
    await tb.popupSetValue(box, true);
  }
  if (o.keyType !== undefined) await tb.popupSetValue(POPUP.keyType, o.keyType);
  if (o.usage !== undefined) await tb.popupSetValue(POPUP.usage, o.usage);
  if (o.passphrase !== undefined) {
    await tb.popupSetValue(POPUP.generatePassphrase, false);
    await tb.popupSetValue(POPUP.passphrase, o.passphrase);
    await tb.popupSetValue(POPUP.passphraseConfirm, o.passphrase);
  } else {
    await tb.popupSetValue(POPUP.generatePassphrase, true);
  }
  if (await popupVisible(tb, POPUP.terms)) await tb.popupSetValue(POPUP.termsAgree, true);
  await tb.popupClick(POPUP.start);
  if (o.passphrase !== undefined) return o.passphrase;
  return tb.waitInPopup<string>(`
    const el = content.document.querySelector(arguments[0]);
    return el && !el.closest('[hidden]') && el.textContent.trim() !== '' ? el.textContent.trim() : null;
  `, 20_000, [POPUP.generatedPassphrase]);
}

/** The step names the popup lists (`#steps li`), as shown. */
export async function popupSteps(tb: Thunderbird): Promise<string[]> {
  return tb.popup<string[]>('return [...content.document.querySelectorAll(arguments[0] + " li")].map((li) => li.textContent.trim());', [POPUP.steps]);
}

/**
 * After a restart the passphrase (kept only in storage.session) is gone: the popup asks for it
 * to install the ready certificate (`#passphrase-needed`). Types it and clicks Install.
 */
export async function enterInstallPassphrase(tb: Thunderbird, passphrase: string): Promise<void> {
  await tb.closePopup();
  await openPopup(tb);
  await tb.waitInPopup('const f = content.document.querySelector("#passphrase-needed"); return !!f && !f.closest("[hidden]");', 15_000);
  await tb.popupSetValue('#install-passphrase', passphrase);
  await tb.popupClick('#install');
}
