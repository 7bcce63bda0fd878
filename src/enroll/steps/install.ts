/**
 * Step `installing` → `installed`: the PKCS#12 is built from the stored encrypted key and the
 * issued chain (it needs the passphrase, asked again after a restart), imported into
 * Thunderbird's certificate store, set on the identity, and remembered as the identity's
 * certificate record. The pending key is then removed unless the user chose to keep it.
 */
import { offerPkcs12 } from '../certificates/download';
import { assessInstalled } from '../certificates/usability';
import { carriedOver, initialRenewal } from '../certificates/renewal';
import { base64ToBytes } from '../encoding';
import { EnrollRequestError, messageOf } from '../errors';
import type { Flow } from '../flow';
import { LOCK } from '../lock';
import { PortError, type InstalledCertificate } from '../ports';
import { certificateRecord } from '../records';
import { KEYS, type Enrollment } from '../state';
import { loadCertificate, saveCertificate } from '../store';

export async function install(flow: Flow, e: Enrollment): Promise<Enrollment> {
  const { keys, certStore, session, notifier, storage } = flow.deps;
  const passphrase = await flow.passphrase(e.id);
  if (passphrase === undefined) return askPassphrase(flow, e);
  const chainPem = e.chainPem!;
  let pkcs12: Uint8Array;
  try {
    pkcs12 = await keys.buildPkcs12(base64ToBytes(e.encryptedKey!), passphrase, chainPem, e.email);
  } catch (error) {
    if (error instanceof PortError && error.kind === 'wrongPassphrase') {
      await session.remove([KEYS.passphrase(e.id)]);
      return askPassphrase(flow, e, true);
    }
    throw error;
  }
  const summary = await keys.inspect(chainPem);
  let installed: InstalledCertificate;
  try {
    installed = await certStore.importPkcs12(pkcs12, passphrase, e.email, summary.sha256Fingerprint);
    await certStore.setIdentityCertificates(e.identityId, installed, e.usage);
  } catch (error) {
    return flow.fail(e, 'install', messageOf(error));
  }
  const now = flow.now();
  const installedRecord = certificateRecord(e, chainPem, summary, installed, now, await initialRenewal(flow, e.directoryUrl, chainPem, summary));
  // Installed is not usable: NSS decides whether Thunderbird will sign and encrypt with it.
  const record = await flow.locks.run(LOCK.certificate(e.identityId), async () => {
    // A renewal replaces the old record only now, with the new certificate in place; the user's choices carry over.
    const previous = await loadCertificate(storage, e.identityId);
    const checked = await assessInstalled(flow, carriedOver(previous, installedRecord, e, now));
    await saveCertificate(storage, checked);
    return checked;
  });
  const verdict = record.usability?.verdict ?? 'unknown';
  await offerPkcs12(flow, e, pkcs12);
  const keyNote = e.keepKey ? 'key kept (encrypted) for renewal' : 'pending key removed';
  const done = await flow.transition(e, 'installed', { needsPassphrase: undefined, wakeAt: undefined, encryptedKey: e.keepKey ? e.encryptedKey : undefined, usability: verdict }, `${keyNote}; ${verdict === 'ready' ? 'ready to sign and encrypt' : `not usable yet: ${verdict}`}`);
  await session.remove([KEYS.passphrase(e.id)]);
  // Never a plain "installed" for a certificate Thunderbird cannot use; a renewal is told as one.
  if (verdict !== 'ready') await notifier.notify('installedUnusable', e.email);
  else if (e.renewal !== undefined) await notifier.notify('renewed', e.email, new Date(record.notAfter).toISOString().slice(0, 10));
  else await notifier.notify('installed', e.email);
  return done;
}

/** Waits for the passphrase (the popup asks for it); `wrong`: the one given did not open the key. */
async function askPassphrase(flow: Flow, e: Enrollment, wrong = false): Promise<Enrollment> {
  if (e.needsPassphrase && !wrong) return e;
  const waiting = await flow.update(e, { needsPassphrase: true, wakeAt: undefined }, wrong ? 'the passphrase did not open the key' : 'certificate ready; passphrase needed');
  await flow.deps.notifier.notify('needsPassphrase', e.email);
  if (wrong) throw new EnrollRequestError('wrongPassphrase', 'The passphrase does not open the key.');
  return waiting;
}
