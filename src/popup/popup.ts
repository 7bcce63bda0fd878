/**
 * The toolbar popup: shows every step of the selected identity's enrollment and its certificate,
 * and sends the user's decisions to the background (src/enroll/protocol.ts). It holds no state
 * of its own: it re-reads the background's state whenever storage changes, so closing and
 * reopening it loses nothing. Element ids are stable for the E2E tests (docs/ADDON.md).
 */
import { errorKey, refusalKey, requestErrorKey, stepKey } from '../enroll/i18n-keys';
import { REQUEST_ERROR_CODES } from '../enroll/errors';
import { KEY_TYPES, USAGES, type CaInfo, type KeyType, type RevocationReason, type Usage } from '../enroll/ports';
import { PROTOCOL, type EnrollmentView, type PopupState, type Request, type RequestType, type Response, type ResponseValues } from '../enroll/protocol';
import { isTerminal, type CertificateRecord } from '../enroll/state';
import { localizePage, t } from '../ui/i18n';
import { isAcceptablePassphrase } from '../enroll/passphrase';
import { nonConformantMail } from './nonconformant-view';
import { installedStepKey, usabilityView, type UsabilityView } from './usability-view';
import { renderPassphraseNeeded, renderRenewal, wireRenewal } from './renewal-panel';

const REVOCATION_REASONS: readonly RevocationReason[] = [0, 1, 3, 4, 5, 9];

// The caller names the element type it placed in popup.html; one generic lookup beats a cast per use.
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters
function el<T extends HTMLElement = HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`popup.html has no #${id}`);
  return found as T;
}

function show(id: string, visible: boolean): void {
  el(id).hidden = !visible;
}

function text(id: string, value: string): void {
  el(id).textContent = value;
}

function when(ms: number): string {
  return new Date(ms).toLocaleString();
}

class RequestFailed extends Error {
  override readonly name = 'RequestFailed';
  constructor(
    readonly code: string,
    message: string,
    readonly problemDetail: string | undefined,
  ) {
    super(message);
  }
}

async function send<T extends RequestType>(request: Extract<Request, { type: T }>): Promise<ResponseValues[T]> {
  const response = (await messenger.runtime.sendMessage({ protocol: PROTOCOL, request })) as Response<T>;
  if (!response.ok) throw new RequestFailed(response.error.code, response.error.message, response.error.problemDetail);
  return response.value;
}

/** A form the user must correct: its message is already a translated sentence. */
class InputError extends Error {
  override readonly name = 'InputError';
}

function explain(error: unknown): string {
  if (error instanceof InputError) return error.message;
  if (error instanceof RequestFailed) {
    const code = REQUEST_ERROR_CODES.find((c) => c === error.code);
    const known = code === undefined ? '' : messenger.i18n.getMessage(requestErrorKey(code));
    const base = known !== '' ? known : t('popupUnexpected', error.message);
    return error.problemDetail === undefined ? base : `${base} ${t('popupProblemDetail', error.problemDetail)}`;
  }
  return t('popupUnexpected', error instanceof Error ? error.message : String(error));
}

let state: PopupState | undefined;
let caInfo: CaInfo | undefined;
/**
 * Whether the CA's directory (its terms of service) has been read. Until it has, Start waits:
 * a click before the terms are known must neither agree to terms the user never saw nor leave
 * the agreement out for a CA that asks for it.
 */
let caRead: 'reading' | 'read' | 'failed' = 'reading';
let busy = false;

/** Runs a user action: one at a time, with its outcome in #status. */
async function act(action: () => Promise<void>): Promise<void> {
  if (busy) return;
  busy = true;
  text('status', t('popupWorking'));
  try {
    await action();
    text('status', '');
  } catch (error) {
    text('status', explain(error));
  } finally {
    busy = false;
    await refresh();
  }
}

function selectedIdentityId(): string {
  return el<HTMLSelectElement>('identity-select').value;
}

/** The enrollment to show: the running one, else the latest finished one. */
function currentEnrollment(identityId: string): EnrollmentView | undefined {
  const mine = (state?.enrollments ?? []).filter((e) => e.identityId === identityId);
  return mine.find((e) => !isTerminal(e.step)) ?? mine.at(-1);
}

function certificateOf(identityId: string): CertificateRecord | undefined {
  return state?.certificates.find((c) => c.identityId === identityId);
}

function fillSelect(id: string, options: readonly { value: string; label: string }[], selected?: string): void {
  const select = el<HTMLSelectElement>(id);
  const keep = selected ?? select.value;
  select.replaceChildren(
    ...options.map((o) => {
      const option = document.createElement('option');
      option.value = o.value;
      option.textContent = o.label;
      return option;
    }),
  );
  if (options.some((o) => o.value === keep)) select.value = keep;
}

function renderIdentities(): void {
  const identities = state?.identities ?? [];
  const previous = selectedIdentityId();
  const running = state?.enrollments.find((e) => !isTerminal(e.step))?.identityId;
  fillSelect('identity-select', identities.map((i) => ({ value: i.id, label: i.email })), previous !== '' ? previous : running);
  if (identities.length === 0) text('identity-state', t('popupNoIdentities'));
}

function renderIdentityState(identityId: string): void {
  const identity = state?.identities.find((i) => i.id === identityId);
  if (!identity) return;
  text('identity-state', identity.smime && (identity.smime.signing || identity.smime.encryption) ? t('popupIdentityHasSmime') : t('popupIdentityNoSmime'));
}

function renderStartForm(identityId: string, enrollment: EnrollmentView | undefined): void {
  // With a valid certificate, "Renew" is the way to a new one: the form would invite a duplicate.
  const certificate = certificateOf(identityId);
  const hasValid = certificate !== undefined && certificate.revoked === undefined;
  const canStart = state !== undefined && state.directoryUrl !== '' && identityId !== '' && !hasValid && (!enrollment || isTerminal(enrollment.step));
  show('start-form', canStart);
  show('passphrase-fields', !el<HTMLInputElement>('generate-passphrase').checked);
  const terms = caInfo?.termsOfService;
  show('ca-reading', caRead === 'reading');
  el<HTMLButtonElement>('start').disabled = caRead === 'reading';
  show('terms', terms !== undefined);
  if (terms !== undefined) el<HTMLAnchorElement>('terms-link').href = terms;
}

function renderEnrollment(e: EnrollmentView | undefined): void {
  const section = el('enrollment');
  show('enrollment', e !== undefined);
  if (!e) return;
  section.dataset['step'] = e.step;
  section.dataset['enrollmentId'] = e.id;
  text('enrollment-title', t('popupEnrollmentFor', e.email));
  const installedKey = e.step === 'installed' ? installedStepKey(e.usability) : undefined;
  text('enrollment-step', t(installedKey ?? stepKey(e.step)));
  el('steps').replaceChildren(
    ...e.history.map((h) => {
      const li = document.createElement('li');
      li.dataset['step'] = h.step;
      li.textContent = t('popupStepAt', t(stepKey(h.step)), when(h.at));
      // The English note (retries, what was decided) for the curious; the line itself is translated.
      if (h.note !== undefined) li.title = h.note;
      return li;
    }),
  );
  show('join-used', e.joinUsed !== undefined);
  if (e.joinUsed !== undefined) text('join-used', t(e.joinChoice === 'learned' ? 'popupJoinUsedLearned' : 'popupJoinUsed', t(`tokenJoin_${e.joinUsed}`)));
  // The CA refused the first reply: say that a second order with the other join was made.
  show('join-retry', e.joinRetriedFrom !== undefined);
  if (e.joinRetriedFrom) text('join-retry', t('popupJoinRetry', t(`tokenJoin_${e.joinRetriedFrom.join}`), t(`tokenJoin_${e.tokenJoin}`)));

  show('enrollment-error', e.error !== undefined);
  if (e.error) {
    text('error-message', `${t(errorKey(e.error.code))} (${e.error.message})`);
    const detail = e.error.problem?.detail;
    show('error-problem', detail !== undefined);
    if (detail !== undefined) text('error-problem', t('popupProblemDetail', detail));
    show('error-link', e.error.link !== undefined);
    if (e.error.link !== undefined) {
      const link = el<HTMLAnchorElement>('error-link');
      link.href = e.error.link;
      link.textContent = e.error.link;
    }
  }

  const pending = e.step === 'awaiting-consent' ? e.pendingReply : undefined;
  show('consent', pending !== undefined);
  if (pending) {
    text('consent-from', t('popupConsentFrom', pending.author));
    text('consent-subject', t('popupConsentSubject', pending.subject));
    text('consent-authenticity', t('popupConsentAuthenticity', pending.authenticity));
  }
  // At install after a restart, or before ordering for a renewal with the kept key.
  show('passphrase-needed', (e.step === 'installing' || e.step === 'new') && e.needsPassphrase === true);
  renderPassphraseNeeded(e);
  show('manual', e.step === 'awaiting-mail');
  // A challenge the CA did not mark or sign: not answered; say what is missing, offer the manual path.
  const odd = e.step === 'awaiting-mail' ? nonConformantMail(e.refusals) : undefined;
  show('nonconformant', odd !== undefined);
  if (odd) {
    text('nonconformant-text', t('popupNonConformant', odd.subject, odd.missing.map((m) => t(`popupMissing_${m === 'auto-submitted' ? 'autoSubmitted' : 'signature'}`)).join(' ')));
    el('nonconformant').dataset['subject'] = odd.subject;
    el('nonconformant').dataset['missing'] = odd.missing.join(' ');
  }

  show('refusals-section', e.refusals.length > 0);
  el('refusals').replaceChildren(
    ...e.refusals.map((r) => {
      const li = document.createElement('li');
      li.dataset['reasons'] = r.reasons.join(' ');
      const reasons = r.reasons.map((code) => {
        const sentence = messenger.i18n.getMessage(refusalKey(code));
        return sentence !== '' ? sentence : r.detail;
      });
      li.textContent = t('popupRefusal', r.subject, r.author, reasons.join(' '));
      return li;
    }),
  );
  show('cancel', !isTerminal(e.step));
  show('dismiss', isTerminal(e.step));
}

function renderCertificate(record: CertificateRecord | undefined, enrollment: EnrollmentView | undefined): void {
  show('certificate', record !== undefined);
  if (!record) return;
  text('cert-emails', t('popupCertEmails', record.emails.join(', ')));
  text('cert-usage', t('popupCertUsage', t(`usage_${record.usage}`)));
  text('cert-expiry', t('popupCertExpiry', when(record.notAfter)));
  text('cert-fingerprint', t('popupCertFingerprint', record.sha256Fingerprint));
  text('cert-renew-at', t('popupCertRenewAt', when(record.renewAt), t(`renewalSource_${record.renewalSource}`)));
  show('cert-revoked', record.revoked !== undefined);
  if (record.revoked) text('cert-revoked', t('popupCertRevoked', when(record.revoked.at)));
  renderUsability(record);
  // Thunderbird holds the key: a .p12 can be exported under a new passphrase whenever it is still valid.
  show('download-passphrase-fields', record.revoked === undefined);
  el<HTMLButtonElement>('revoke').disabled = record.revoked !== undefined;
  el<HTMLButtonElement>('renew').disabled = enrollment !== undefined && !isTerminal(enrollment.step);
}

/** The identity whose declined root question the user asked to see again. */
let askingAgain: string | undefined;

function withAskAgain(view: UsabilityView | undefined, record: CertificateRecord): UsabilityView | undefined {
  const root = record.usability?.root;
  if (view === undefined || askingAgain !== record.identityId || !view.askAgain || root === undefined) return view;
  return { ...view, askAgain: false, trustQuestion: { subject: root.subject, sha256Fingerprint: root.sha256Fingerprint } };
}

/** Whether Thunderbird can use the certificate, the root question, the send defaults (./usability-view.ts). */
function renderUsability(record: CertificateRecord): void {
  const identity = state?.identities.find((i) => i.id === record.identityId);
  const view = withAskAgain(usabilityView(record, identity), record);
  const section = el('usability');
  show('usability', view !== undefined);
  section.dataset['verdict'] = view?.verdict ?? '';
  show('trust-question', view?.trustQuestion !== undefined);
  show('trust-ask-again', view?.askAgain === true);
  show('send-defaults', view?.sendDefaults !== undefined);
  if (!view) return;
  text('usability-summary', t(view.summaryKey));
  show('usability-detail', view.errorNames.length > 0);
  text('usability-detail', t('popupUsabilityDetail', view.errorNames.join(', ')));
  show('usability-trusted-by', view.trustedByKey !== undefined);
  if (view.trustedByKey !== undefined) text('usability-trusted-by', t(view.trustedByKey));
  if (view.trustQuestion) {
    text('trust-root-subject', t('popupTrustRootSubject', view.trustQuestion.subject));
    text('trust-root-fingerprint', t('popupTrustRootFingerprint', view.trustQuestion.sha256Fingerprint));
    el('trust-question').dataset['fingerprint'] = view.trustQuestion.sha256Fingerprint;
  }
  if (view.sendDefaults) {
    show('sign-by-default-label', view.sendDefaults.canSign);
    show('encrypt-by-default-label', view.sendDefaults.canEncrypt);
    el<HTMLInputElement>('sign-by-default').checked = view.sendDefaults.signMail;
    el<HTMLInputElement>('encrypt-by-default').checked = view.sendDefaults.encrypt;
  }
}

function render(): void {
  if (!state) return;
  text('ca-url', state.directoryUrl);
  show('no-ca', state.directoryUrl === '');
  renderIdentities();
  const identityId = selectedIdentityId();
  renderIdentityState(identityId);
  const enrollment = currentEnrollment(identityId);
  renderStartForm(identityId, enrollment);
  renderEnrollment(enrollment);
  renderCertificate(certificateOf(identityId), enrollment);
  renderRenewal(state, certificateOf(identityId));
}

async function refresh(): Promise<void> {
  try {
    state = await send({ type: 'getState' });
  } catch (error) {
    text('status', explain(error));
  }
  render();
}

function showGeneratedPassphrase(passphrase: string | undefined): void {
  show('generated-passphrase', passphrase !== undefined);
  if (passphrase !== undefined) text('generated-passphrase-value', passphrase);
}

/** The passphrase the user typed (checked) or undefined to have one generated. */
function chosenPassphrase(): string | undefined {
  if (el<HTMLInputElement>('generate-passphrase').checked) return undefined;
  const passphrase = el<HTMLInputElement>('passphrase').value;
  if (!isAcceptablePassphrase(passphrase)) throw new InputError(t('popupPassphraseShort'));
  if (passphrase !== el<HTMLInputElement>('passphrase-confirm').value) throw new InputError(t('popupPassphraseMismatch'));
  return passphrase;
}

function termsAgreed(): boolean {
  // Terms that could not be read were not shown, so they were not agreed to; a CA that wants
  // them then says so, and the popup shows its answer.
  if (caRead !== 'read') return false;
  if (caInfo?.termsOfService === undefined) return true;
  if (!el<HTMLInputElement>('terms-agree').checked) throw new InputError(t('popupTermsRequired'));
  return true;
}

function enrollmentId(): string {
  return el('enrollment').dataset['enrollmentId'] ?? '';
}

function wire(): void {
  wireRenewal({ send, act, selectedIdentityId, showGeneratedPassphrase, inputError: (message) => new InputError(message) }, REVOCATION_REASONS);
  el('identity-select').addEventListener('change', render);
  el('generate-passphrase').addEventListener('change', render);
  el('open-options').addEventListener('click', () => {
    void messenger.runtime.openOptionsPage();
  });

  el('start-form').addEventListener('submit', (event) => {
    event.preventDefault();
    void act(async () => {
      const passphrase = chosenPassphrase();
      const result = await send({
        type: 'start',
        identityId: selectedIdentityId(),
        keyType: el<HTMLSelectElement>('key-type').value as KeyType,
        usage: el<HTMLSelectElement>('usage').value as Usage,
        termsAgreed: termsAgreed(),
        keepKey: el<HTMLInputElement>('keep-key').checked,
        ...(passphrase === undefined ? {} : { passphrase }),
      });
      showGeneratedPassphrase(result.generatedPassphrase);
    });
  });

  el('approve-reply').addEventListener('click', () => {
    void act(async () => {
      await send({ type: 'approveReply', enrollmentId: enrollmentId() });
    });
  });
  el('decline-reply').addEventListener('click', () => {
    void act(async () => {
      await send({ type: 'declineReply', enrollmentId: enrollmentId() });
    });
  });
  el('cancel').addEventListener('click', () => {
    void act(async () => {
      await send({ type: 'cancel', enrollmentId: enrollmentId() });
    });
  });
  el('dismiss').addEventListener('click', () => {
    void act(async () => {
      await send({ type: 'dismiss', enrollmentId: enrollmentId() });
    });
  });

  el('passphrase-needed').addEventListener('submit', (event) => {
    event.preventDefault();
    const input = el<HTMLInputElement>('install-passphrase');
    void act(async () => {
      await send({ type: 'providePassphrase', enrollmentId: enrollmentId(), passphrase: input.value });
      input.value = '';
    });
  });

  el('nonconformant-manual').addEventListener('click', () => {
    // The manual path, with the subject of the mail the add-on would not answer: the user decides.
    el<HTMLInputElement>('manual-subject').value = el('nonconformant').dataset['subject'] ?? '';
    el<HTMLDetailsElement>('manual').open = true;
    el('manual-compute').focus();
  });
  el('manual-compute').addEventListener('click', () =>
    void act(async () => {
      const { response } = await send({ type: 'manualResponse', enrollmentId: enrollmentId(), subject: el<HTMLInputElement>('manual-subject').value });
      el<HTMLTextAreaElement>('manual-response').value = response;
      show('manual-result', true);
    }),
  );
  el('manual-copy').addEventListener('click', () =>
    void act(async () => {
      await navigator.clipboard.writeText(el<HTMLTextAreaElement>('manual-response').value);
      text('status', t('popupCopied'));
    }),
  );
  el('manual-sent').addEventListener('click', () => {
    void act(async () => {
      await send({ type: 'manualSent', enrollmentId: enrollmentId() });
    });
  });

  el('download').addEventListener('click', () =>
    void act(async () => {
      const passphrase = el<HTMLInputElement>('download-passphrase').value;
      await send({ type: 'download', identityId: selectedIdentityId(), ...(passphrase === '' ? {} : { passphrase }) });
    }),
  );
  el('renew').addEventListener('click', () =>
    void act(async () => {
      const passphrase = chosenPassphrase();
      // The account was made with the user's consent to the terms; if the CA changed them, it
      // answers userActionRequired and the popup shows the new terms' link.
      const result = await send({ type: 'renew', identityId: selectedIdentityId(), termsAgreed: true, ...(passphrase === undefined ? {} : { passphrase }) });
      showGeneratedPassphrase(result.generatedPassphrase);
    }),
  );
  el('revoke').addEventListener('click', () => {
    show('revoke-controls', true);
    el('revoke-reason').focus();
  });
  el('revoke-confirm').addEventListener('click', () =>
    void act(async () => {
      await send({ type: 'revoke', identityId: selectedIdentityId(), reason: Number(el<HTMLSelectElement>('revoke-reason').value) as RevocationReason });
      show('revoke-controls', false);
      text('status', t('popupRevokedDone'));
    }),
  );

  el('trust-accept').addEventListener('click', () =>
    void act(async () => {
      // The fingerprint the user was shown: the background trusts that root and no other.
      const sha256Fingerprint = el('trust-question').dataset['fingerprint'] ?? '';
      askingAgain = undefined;
      await send({ type: 'trustRoot', identityId: selectedIdentityId(), sha256Fingerprint });
    }),
  );
  el('trust-decline').addEventListener('click', () =>
    void act(async () => {
      askingAgain = undefined;
      await send({ type: 'declineRoot', identityId: selectedIdentityId() });
    }),
  );
  el('trust-ask-again').addEventListener('click', () => {
    askingAgain = selectedIdentityId();
    render();
  });
  for (const id of ['sign-by-default', 'encrypt-by-default']) {
    el(id).addEventListener('change', () =>
      void act(async () => {
        await send({ type: 'setSendDefaults', identityId: selectedIdentityId(), signMail: el<HTMLInputElement>('sign-by-default').checked, encrypt: el<HTMLInputElement>('encrypt-by-default').checked });
      }),
    );
  }

  // The background writes every step to storage: that is the popup's cue to redraw.
  messenger.storage.onChanged.addListener((_changes, area) => {
    if (area === 'local' && !busy) void refresh();
  });
}

async function main(): Promise<void> {
  localizePage();
  fillSelect('key-type', KEY_TYPES.map((k) => ({ value: k, label: k })));
  fillSelect('usage', USAGES.map((u) => ({ value: u, label: t(`usage_${u}`) })));
  fillSelect('revoke-reason', REVOCATION_REASONS.map((r) => ({ value: String(r), label: t(`revoke_${r}`) })));
  wire();
  await refresh();
  // Thunderbird's verdict may have changed since the last look (expiry, a root trusted or
  // distrusted in its certificate manager): ask NSS again; the answer redraws through storage.
  const record = certificateOf(selectedIdentityId());
  if (record?.usability !== undefined && record.revoked === undefined) void send({ type: 'recheck', identityId: record.identityId }).catch(() => undefined);
  if (state) {
    fillSelect('key-type', KEY_TYPES.map((k) => ({ value: k, label: k })), state.defaults.keyType);
    fillSelect('usage', USAGES.map((u) => ({ value: u, label: t(`usage_${u}`) })), state.defaults.usage);
    el<HTMLInputElement>('keep-key').checked = state.defaults.keepKey;
  }
  if (state?.directoryUrl) {
    try {
      caInfo = await send({ type: 'caInfo' });
      caRead = 'read';
    } catch (error) {
      caRead = 'failed';
      text('status', explain(error));
    }
  } else {
    caRead = 'failed';
  }
  render();
  // Drivers (the E2E harness, the demo) wait for this: state and the CA's terms are shown.
  el('popup').dataset['ready'] = 'true';
}

void main();
