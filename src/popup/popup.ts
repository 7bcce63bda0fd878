/**
 * The toolbar popup: shows every step of the selected identity's enrollment and its certificate,
 * and sends the user's decisions to the background (src/enroll/protocol.ts). It holds no state
 * of its own: it re-reads the background's state whenever storage changes, so closing and
 * reopening it loses nothing. What it shows is decided by ./view-model.ts (pure, tested in
 * Node); this file only draws that answer and wires the events. Element ids are stable for the
 * E2E tests (docs/ADDON.md).
 */
import { KEY_TYPES, REVOCATION_REASON_CODES, USAGES, type CaInfo, type KeyType, type RevocationReason, type Usage } from '../enroll/ports';
import { PROTOCOL, type PopupState, type Request, type RequestType, type Response, type ResponseValues } from '../enroll/protocol';
import type { ProblemInfo } from '../enroll/ports';
import { localizePage, t } from '../ui/i18n';
import { el, fillSelect, say, show, text } from './dom';
import { alsoForTicked, draw } from './draw';
import { wireRenewal } from './renewal-panel';
import { alsoForField } from './addresses-view';
import { passphraseChoice, popupView, recheckOnOpen, requestFailure, termsAgreement, type CaRead, type PopupView } from './view-model';

class RequestFailed extends Error {
  override readonly name = 'RequestFailed';
  constructor(
    readonly code: string,
    message: string,
    readonly problemDetail: string | undefined,
    readonly problem: ProblemInfo | undefined,
  ) {
    super(message);
  }
}

async function send<T extends RequestType>(request: Extract<Request, { type: T }>): Promise<ResponseValues[T]> {
  const response = (await messenger.runtime.sendMessage({ protocol: PROTOCOL, request })) as Response<T>;
  if (!response.ok) throw new RequestFailed(response.error.code, response.error.message, response.error.problemDetail, response.error.problem);
  return response.value;
}

/** A form the user must correct: its message is already a translated sentence. */
class InputError extends Error {
  override readonly name = 'InputError';
}

function explain(error: unknown): string {
  if (error instanceof InputError) return error.message;
  if (error instanceof RequestFailed) return say(requestFailure(error.code, error.message, error.problemDetail, error.problem));
  return t('popupUnexpected', error instanceof Error ? error.message : String(error));
}

let state: PopupState | undefined;
let caInfo: CaInfo | undefined;
let caRead: CaRead = 'reading';
let busy = false;
/** The identity whose declined root question the user asked to see again. */
let askingAgain: string | undefined;

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

/** The last view drawn: Start sends the "Also for" identities it offered. */
let drawn: PopupView | undefined;

function render(): void {
  if (!state) return;
  drawn = popupView({
    state,
    shownIdentityId: selectedIdentityId(),
    caRead,
    termsOfService: caInfo?.termsOfService,
    generatePassphrase: el<HTMLInputElement>('generate-passphrase').checked,
    askingAgain,
    alsoForChecked: alsoForTicked(),
    now: Date.now(),
  });
  draw(drawn);
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
  const choice = passphraseChoice(el<HTMLInputElement>('generate-passphrase').checked, el<HTMLInputElement>('passphrase').value, el<HTMLInputElement>('passphrase-confirm').value);
  if ('problem' in choice) throw new InputError(say(choice.problem));
  return choice.passphrase;
}

function termsAgreed(): boolean {
  const agreed = termsAgreement(caRead, caInfo?.termsOfService, el<HTMLInputElement>('terms-agree').checked);
  if (agreed === 'required') throw new InputError(t('popupTermsRequired'));
  return agreed;
}
function enrollmentId(): string {
  return el('enrollment').dataset['enrollmentId'] ?? '';
}

function wire(): void {
  wireRenewal({ send, act, selectedIdentityId, showGeneratedPassphrase, inputError: (message) => new InputError(message) }, REVOCATION_REASON_CODES);
  el('identity-select').addEventListener('change', render);
  el('also-for-list').addEventListener('change', render);
  el('cert-show-owner').addEventListener('click', () => {
    // The owner's entry: where the shared certificate is renewed and revoked.
    el<HTMLSelectElement>('identity-select').value = el('cert-show-owner').dataset['identityId'] ?? '';
    render();
  });
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
        ...alsoForField(drawn?.start.alsoFor.options ?? [], alsoForTicked()),
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
  fillSelect('revoke-reason', REVOCATION_REASON_CODES.map((r) => ({ value: String(r), label: t(`revoke_${r}`) })));
  wire();
  await refresh();
  // Thunderbird's verdict may have changed since the last look (expiry, a root trusted or
  // distrusted in its certificate manager): ask NSS again; the answer redraws through storage.
  const recheck = state === undefined ? undefined : recheckOnOpen(state, selectedIdentityId());
  if (recheck !== undefined) void send({ type: 'recheck', identityId: recheck }).catch(() => undefined);
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
