/**
 * Renewal with the kept key: the stored encrypted key is reused, so the new certificate has the
 * same public key. Its CSR needs the key's passphrase — from storage.session while this
 * Thunderbird session has it, else asked in the popup; until then the enrollment waits in `new`
 * (nothing is asked of the CA before the CSR exists).
 */
import { base64Decode as base64ToBytes, base64Encode as bytesToBase64 } from '../../common/encoding';
import { EnrollRequestError } from '../errors';
import type { Flow } from '../flow';
import { PortError, type Usage } from '../ports';
import { addressesOf } from '../addresses';
import { KEYS, type Enrollment } from '../state';

/** The CSR (base64 DER) for the kept key; a passphrase that does not open it is the user's to correct. */
export async function csrForKeptKey(flow: Flow, encryptedKey: string, passphrase: string, emails: readonly string[], usage: Usage): Promise<string> {
  try {
    return bytesToBase64(await flow.deps.keys.csrForKey(base64ToBytes(encryptedKey), passphrase, emails, usage));
  } catch (error) {
    if (error instanceof PortError && error.kind === 'wrongPassphrase') throw new EnrollRequestError('wrongPassphrase', 'The passphrase does not open the kept key.', { cause: error });
    throw error;
  }
}

/** Step `new` without a CSR: wait for the kept key's passphrase (told once). */
export async function awaitKeyPassphrase(flow: Flow, e: Enrollment): Promise<Enrollment> {
  if (e.needsPassphrase) return e;
  const waiting = await flow.update(e, { needsPassphrase: true, wakeAt: undefined }, 'renewal with the kept key: its passphrase is needed');
  await flow.deps.notifier.notify({ kind: 'renewalNeedsPassphrase', email: e.email });
  return waiting;
}

/** The user gave the kept key's passphrase: the CSR is made, the passphrase kept in the session for the install. */
export async function provideKeyPassphrase(flow: Flow, e: Enrollment, passphrase: string): Promise<Enrollment> {
  const csr = await csrForKeptKey(flow, e.encryptedKey!, passphrase, addressesOf(e).map((a) => a.email), e.usage);
  await flow.deps.session.set({ [KEYS.passphrase(e.id)]: passphrase });
  return flow.update(e, { csr, needsPassphrase: undefined }, 'CSR made with the kept key');
}
