/** Step `new` → `account`: the ACME account exists (RFC 8555 §7.3; EAB §7.3.4 when configured). */
import type { Flow } from '../flow';
import type { Enrollment } from '../state';

export async function ensureAccount(flow: Flow, e: Enrollment): Promise<Enrollment> {
  const settings = await flow.deps.settings();
  const { accountUrl } = await flow.deps.acme.ensureAccount({
    directoryUrl: e.directoryUrl,
    contact: [`mailto:${e.email}`],
    termsAgreed: e.termsAgreed,
    ...(settings.eabKeyId !== '' && settings.eabHmacKey !== '' ? { eab: { keyId: settings.eabKeyId, hmacKey: settings.eabHmacKey } } : {}),
  });
  return flow.transition(e, 'account', { accountUrl });
}
