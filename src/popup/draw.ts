/**
 * Draws the view model's answer (./view-model.ts) into popup.html: shows and hides, sets texts
 * (translated here), data attributes and the enabled state of buttons. Decides nothing.
 */
import { el, fillSelect, say, sayIn, show, text } from './dom';
import { drawRenewal } from './renewal-panel';
import type { AddressLine, AlsoForOption } from './addresses-view';
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
  drawAlsoFor(view.alsoFor);
}

/**
 * The "Also for these addresses" checkboxes: rebuilt only when the identities offered change, so a
 * redraw (every storage write) neither moves the focus nor loses a tick.
 */
function drawAlsoFor(view: PopupView['start']['alsoFor']): void {
  show('also-for', view.visible);
  const list = el('also-for-list');
  const signature = JSON.stringify(view.options.map((o) => [o.identityId, o.label]));
  if (list.dataset['options'] !== signature) {
    list.dataset['options'] = signature;
    list.replaceChildren(...view.options.map(alsoForBox));
  }
  for (const box of list.querySelectorAll<HTMLInputElement>('input[type="checkbox"]')) box.checked = view.options.some((o) => o.identityId === box.value && o.checked);
}

function alsoForBox(option: AlsoForOption): HTMLLabelElement {
  const label = document.createElement('label');
  label.className = 'check';
  const box = document.createElement('input');
  box.type = 'checkbox';
  box.name = 'also-for';
  box.value = option.identityId;
  const span = document.createElement('span');
  span.textContent = option.label;
  label.append(box, span);
  return label;
}

/** The ticked "Also for" identities, as the DOM holds them (the view model reads them back). */
export function alsoForTicked(): string[] {
  return [...el('also-for-list').querySelectorAll<HTMLInputElement>('input[type="checkbox"]:checked')].map((box) => box.value);
}

function addressItem(a: AddressLine): HTMLLIElement {
  const li = document.createElement('li');
  li.dataset['identityId'] = a.identityId;
  li.dataset['progress'] = a.progress;
  li.textContent = say(a.line);
  return li;
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
  show('enrollment-addresses', e.addresses !== undefined);
  el('enrollment-addresses').replaceChildren(...(e.addresses ?? []).map(addressItem));
  show('join-used', e.joinUsed !== undefined);
  if (e.joinUsed !== undefined) sayIn('join-used', e.joinUsed);
  show('join-retry', e.joinRetry !== undefined);
  if (e.joinRetry !== undefined) sayIn('join-retry', e.joinRetry);

  show('enrollment-error', e.error !== undefined);
  if (e.error) {
    sayIn('error-message', e.error.message);
    show('error-address', e.error.address !== undefined);
    if (e.error.address !== undefined) sayIn('error-address', e.error.address);
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
  show('cert-also-for', c.alsoValidFor !== undefined);
  if (c.alsoValidFor !== undefined) sayIn('cert-also-for', c.alsoValidFor);
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
  show('renew', c.renewRevoke);
  show('revoke', c.renewRevoke);
  if (!c.renewRevoke) show('revoke-controls', false);
  show('cert-acts-for-all', c.actsForAll !== undefined);
  if (c.actsForAll !== undefined) sayIn('cert-acts-for-all', c.actsForAll);
  show('cert-covered-by', c.coveredBy !== undefined);
  if (c.coveredBy) {
    sayIn('cert-covered-by-text', c.coveredBy.text);
    sayIn('cert-show-owner', c.coveredBy.button);
    el('cert-show-owner').dataset['identityId'] = c.coveredBy.identityId;
  }
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
