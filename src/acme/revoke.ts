/**
 * Certificate revocation, RFC 8555 §7.6: signed either by the account that holds the
 * certificate (`kid`) or by the certificate's own key (`jwk`), with an optional RFC 5280
 * §5.3.1 reason code. The answer is 200 with no body worth reading.
 */
import { base64UrlEncode } from '../common/encoding';
import { requireAccount, type AcmeContext } from './context';
import type { SigningKey } from './keys';
import type { RevocationReason } from './types';

/** Who signs the revocation request. */
export type RevokeBy = { readonly by: 'account' } | { readonly by: 'certificateKey'; readonly key: SigningKey };

/** RFC 8555 §7.6. */
export async function revokeCertificate(
  ctx: AcmeContext,
  certificateDer: Uint8Array,
  reason: RevocationReason | undefined,
  signer: RevokeBy,
  signal?: AbortSignal,
): Promise<void> {
  const kid = signer.by === 'account' ? requireAccount(ctx) : undefined;
  const { revokeCert } = await ctx.http.directory(signal);
  const payload: Record<string, unknown> = { certificate: base64UrlEncode(certificateDer) };
  if (reason !== undefined) payload['reason'] = reason;
  if (kid !== undefined) {
    await ctx.http.post(revokeCert, { json: payload }, { key: ctx.accountKey, ref: { kid }, signal });
  } else if (signer.by === 'certificateKey') {
    await ctx.http.post(revokeCert, { json: payload }, { key: signer.key, ref: { jwk: true }, signal });
  }
}
