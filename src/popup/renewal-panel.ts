/**
 * The popup's renewal and revocation-by-key controls: draws ./renewal-view.ts's answer into the
 * certificate section and sends the requests (the per-identity switch, the generated passphrase
 * shown once, a revocation signed by the key of a `.p12` the user picks). popup.ts calls
 * `renderRenewal` when it draws and `wireRenewal` once.
 */
import { bytesToBase64 } from '../enroll/encoding';
import type { EnrollmentView, PopupState, Request, RequestType, ResponseValues } from '../enroll/protocol';
import type { RevocationReason } from '../enroll/ports';
import type { CertificateRecord } from '../enroll/state';
import { t } from '../ui/i18n';
import { renewalView } from './renewal-view';

/** What the panel borrows from popup.ts. */
export interface PanelContext {
  send<T extends RequestType>(request: Extract<Request, { type: T }>): Promise<ResponseValues[T]>;
  /** Runs a user action: errors shown in the status line, the state redrawn after. */
  act(action: () => Promise<void>): Promise<void>;
  selectedIdentityId(): string;
  showGeneratedPassphrase(passphrase: string | undefined): void;
  /** A sentence the user must correct (shown as the action's error). */
  inputError(message: string): Error;
}

// The caller names the element type it placed in popup.html (as popup.ts does).
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters
function el<T extends HTMLElement = HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`popup.html has no #${id}`);
  return found as T;
}

function show(id: string, visible: boolean): void {
  el(id).hidden = !visible;
}

const when = (ms: number): string => new Date(ms).toLocaleString();

/** The renewal part of the certificate section. */
export function renderRenewal(state: PopupState, record: CertificateRecord | undefined): void {
  const origin = state.enrollments.find((e) => e.id === record?.enrollmentId);
  const view = record === undefined ? undefined : renewalView(record, state.autoRenew, origin?.keepKey === true && origin.hasKey, state.passphrasesToShow, Date.now());
  show('renewal', view !== undefined);
  if (!view) return;
  const box = el<HTMLInputElement>('auto-renew');
  box.checked = view.autoRenew.checked;
  box.disabled = view.autoRenew.disabled;
  show('auto-renew-forced', view.autoRenew.forcedKey !== undefined);
  if (view.autoRenew.forcedKey !== undefined) el('auto-renew-forced').textContent = t(view.autoRenew.forcedKey);
  el('renewal-key').textContent = t(view.keyKey);
  show('renewed-from', view.renewedFrom !== undefined);
  if (view.renewedFrom) el('renewed-from').textContent = t('popupRenewedFrom', when(view.renewedFrom.at), t(view.renewedFrom.howKey));
  show('renewal-failing', view.failing !== undefined);
  if (view.failing) {
    const next = view.failing.retryAt === undefined ? '—' : when(view.failing.retryAt);
    el('renewal-failing').textContent = t('popupRenewalFailing', String(view.failing.failures), view.failing.lastError, next, String(view.failing.daysLeft));
  }
  const button = el('show-passphrase');
  show('show-passphrase', view.passphraseToShow !== undefined);
  button.dataset['enrollmentId'] = view.passphraseToShow ?? '';
}

/** Which sentence goes with the passphrase form: the kept key for a renewal, or the install. */
export function renderPassphraseNeeded(e: EnrollmentView): void {
  show('passphrase-needed-key', e.step === 'new');
  show('passphrase-needed-install', e.step !== 'new');
}

export function wireRenewal(ctx: PanelContext, reasons: readonly RevocationReason[]): void {
  el('auto-renew').addEventListener('change', () =>
    void ctx.act(async () => {
      await ctx.send({ type: 'setAutoRenew', identityId: ctx.selectedIdentityId(), on: el<HTMLInputElement>('auto-renew').checked });
    }),
  );
  el('show-passphrase').addEventListener('click', () =>
    void ctx.act(async () => {
      const { passphrase } = await ctx.send({ type: 'showPassphrase', enrollmentId: el('show-passphrase').dataset['enrollmentId'] ?? '' });
      ctx.showGeneratedPassphrase(passphrase);
    }),
  );
  const reason = el<HTMLSelectElement>('revoke-key-reason');
  reason.replaceChildren(
    ...reasons.map((r) => {
      const option = document.createElement('option');
      option.value = String(r);
      option.textContent = t(`revoke_${r}`);
      return option;
    }),
  );
  el('revoke-key-confirm').addEventListener('click', () =>
    void ctx.act(async () => {
      const file = el<HTMLInputElement>('revoke-key-file').files?.[0];
      if (!file) throw ctx.inputError(t('popupRevokeByKeyNoFile'));
      const passphrase = el<HTMLInputElement>('revoke-key-passphrase');
      const pkcs12 = bytesToBase64(new Uint8Array(await file.arrayBuffer()));
      const result = await ctx.send({ type: 'revokeWithKey', pkcs12, passphrase: passphrase.value, reason: Number(reason.value) as RevocationReason });
      passphrase.value = '';
      el('revoke-key-result').textContent = t('popupRevokedByKeyDone', result.emails.join(', '));
    }),
  );
}
