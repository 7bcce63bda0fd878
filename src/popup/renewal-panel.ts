/**
 * The popup's renewal and revocation-by-key controls: draws the view model's renewal panel
 * (./view-model.ts, from ./renewal-view.ts) into the certificate section and sends the requests
 * (the per-identity switch, the generated passphrase shown once, a revocation signed by the key of
 * a `.p12` the user picks). popup.ts calls `drawRenewal` when it draws and `wireRenewal` once.
 */
import { base64Encode as bytesToBase64 } from '../common/encoding';
import type { Request, RequestType, ResponseValues } from '../enroll/protocol';
import type { RevocationReason } from '../enroll/ports';
import { t } from '../ui/i18n';
import { el, fillSelect, sayIn, show } from './dom';
import type { RenewalPanel } from './view-model';

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

/** The renewal part of the certificate section; undefined hides it. */
export function drawRenewal(view: RenewalPanel | undefined): void {
  show('renewal', view !== undefined);
  if (!view) return;
  const box = el<HTMLInputElement>('auto-renew');
  box.checked = view.autoRenew.checked;
  box.disabled = view.autoRenew.disabled;
  show('auto-renew-forced', view.forced !== undefined);
  if (view.forced !== undefined) sayIn('auto-renew-forced', view.forced);
  sayIn('renewal-key', view.key);
  show('renewed-from', view.renewedFrom !== undefined);
  if (view.renewedFrom !== undefined) sayIn('renewed-from', view.renewedFrom);
  show('renewal-failing', view.failing !== undefined);
  if (view.failing !== undefined) sayIn('renewal-failing', view.failing);
  show('show-passphrase', view.passphraseToShow !== undefined);
  el('show-passphrase').dataset['enrollmentId'] = view.passphraseToShow ?? '';
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
  fillSelect('revoke-key-reason', reasons.map((r) => ({ value: String(r), label: t(`revoke_${r}`) })));
  const reason = el<HTMLSelectElement>('revoke-key-reason');
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
