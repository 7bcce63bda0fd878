/**
 * Draws the view model's answer (./view-model.ts) into popup.html: shows and hides, sets texts
 * (translated here), data attributes and the enabled state of buttons. Decides nothing.
 */
import { el, fillSelect, say, sayIn, show, text } from './dom';
import { drawRenewal } from './renewal-panel';
import type { CertificatePanel, EnrollmentPanel, PopupView, UsabilityPanel } from './view-model';

export function draw(view: PopupView): void {
  text('ca-url', view.caUrl);
  show('no-ca', view.noCa);
  fillSelect('identity-select', view.identities.options, view.identities.selected);
  if (view.identityState !== undefined) sayIn('identity-state', view.identityState);
  drawStart(view.start);
  drawEnrollment(view.enrollment);
  drawCertificate(view.certificate);
  drawRenewal(view.renewal);
}

function drawStart(view: PopupView['start']): void {
  show('start-form', view.visible);
  show('passphrase-fields', view.passphraseFields);
  show('ca-reading', view.caReading);
  el<HTMLButtonElement>('start').disabled = view.startDisabled;
  show('terms', view.termsLink !== undefined);
  if (view.termsLink !== undefined) el<HTMLAnchorElement>('terms-link').href = view.termsLink;
}

function drawEnrollment(e: EnrollmentPanel | undefined): void {
  show('enrollment', e !== undefined);
  if (!e) return;
  const section = el('enrollment');
  section.dataset['step'] = e.step;
  section.dataset['enrollmentId'] = e.id;
  sayIn('enrollment-title', e.title);
  sayIn('enrollment-step', e.stepLine);
  el('steps').replaceChildren(
    ...e.history.map((h) => {
      const li = document.createElement('li');
      li.dataset['step'] = h.step;
      li.textContent = say(h.line);
      if (h.note !== undefined) li.title = h.note;
      return li;
    }),
  );
  show('join-used', e.joinUsed !== undefined);
  if (e.joinUsed !== undefined) sayIn('join-used', e.joinUsed);
  show('join-retry', e.joinRetry !== undefined);
  if (e.joinRetry !== undefined) sayIn('join-retry', e.joinRetry);

  show('enrollment-error', e.error !== undefined);
  if (e.error) {
    sayIn('error-message', e.error.message);
    show('error-problem', e.error.problem !== undefined);
    if (e.error.problem !== undefined) sayIn('error-problem', e.error.problem);
    show('error-link', e.error.link !== undefined);
    if (e.error.link !== undefined) {
      const link = el<HTMLAnchorElement>('error-link');
      link.href = e.error.link;
      link.textContent = e.error.link;
    }
  }

  show('consent', e.consent !== undefined);
  if (e.consent) {
    sayIn('consent-from', e.consent.from);
    sayIn('consent-subject', e.consent.subject);
    sayIn('consent-authenticity', e.consent.authenticity);
  }
  show('passphrase-needed', e.passphrasePrompt.visible);
  show('passphrase-needed-key', e.passphrasePrompt.forKeptKey);
  show('passphrase-needed-install', !e.passphrasePrompt.forKeptKey);
  show('manual', e.manual);
  show('nonconformant', e.nonconformant !== undefined);
  if (e.nonconformant) {
    sayIn('nonconformant-text', e.nonconformant.text);
    el('nonconformant').dataset['subject'] = e.nonconformant.subject;
    el('nonconformant').dataset['missing'] = e.nonconformant.missing;
  }

  show('refusals-section', e.refusals.length > 0);
  el('refusals').replaceChildren(
    ...e.refusals.map((r) => {
      const li = document.createElement('li');
      li.dataset['reasons'] = r.reasons.join(' ');
      li.textContent = say(r.line);
      return li;
    }),
  );
  show('cancel', e.cancel);
  show('dismiss', e.dismiss);
}

function drawCertificate(c: CertificatePanel | undefined): void {
  show('certificate', c !== undefined);
  if (!c) return;
  sayIn('cert-emails', c.lines.emails);
  sayIn('cert-usage', c.lines.usage);
  sayIn('cert-expiry', c.lines.expiry);
  sayIn('cert-fingerprint', c.lines.fingerprint);
  sayIn('cert-renew-at', c.lines.renewAt);
  show('cert-revoked', c.revoked !== undefined);
  if (c.revoked !== undefined) sayIn('cert-revoked', c.revoked);
  drawUsability(c.usability);
  show('download-passphrase-fields', c.downloadPassphrase);
  el<HTMLButtonElement>('revoke').disabled = c.revokeDisabled;
  el<HTMLButtonElement>('renew').disabled = c.renewDisabled;
}

function drawUsability(u: UsabilityPanel | undefined): void {
  show('usability', u !== undefined);
  el('usability').dataset['verdict'] = u?.verdict ?? '';
  show('trust-question', u?.trustQuestion !== undefined);
  show('trust-ask-again', u?.askAgain === true);
  show('send-defaults', u?.sendDefaults !== undefined);
  if (!u) return;
  sayIn('usability-summary', u.summary);
  show('usability-detail', u.detail !== undefined);
  if (u.detail !== undefined) sayIn('usability-detail', u.detail);
  show('usability-trusted-by', u.trustedBy !== undefined);
  if (u.trustedBy !== undefined) sayIn('usability-trusted-by', u.trustedBy);
  if (u.trustQuestion) {
    sayIn('trust-root-subject', u.trustQuestion.subject);
    sayIn('trust-root-fingerprint', u.trustQuestion.fingerprint);
    el('trust-question').dataset['fingerprint'] = u.trustQuestion.sha256Fingerprint;
  }
  if (u.sendDefaults) {
    show('sign-by-default-label', u.sendDefaults.canSign);
    show('encrypt-by-default-label', u.sendDefaults.canEncrypt);
    el<HTMLInputElement>('sign-by-default').checked = u.sendDefaults.signMail;
    el<HTMLInputElement>('encrypt-by-default').checked = u.sendDefaults.encrypt;
  }
}
