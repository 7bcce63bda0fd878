/**
 * Step `installing` → `installed`: the PKCS#12 is built from the stored encrypted key and the
 * issued chain (it needs the passphrase, asked again after a restart), imported into
 * Thunderbird's certificate store, set on the identity, and remembered as the identity's
 * certificate record. The pending key is then removed unless the user chose to keep it.
 */
import { addressesOf } from '../addresses';
import { offerPkcs12 } from '../certificates/download';
import { assessInstalled } from '../certificates/usability';
import { carriedOver, initialRenewal } from '../certificates/renewal';
import { base64Decode as base64ToBytes } from '../../common/encoding';
import { EnrollRequestError, messageOf } from '../errors';
import type { Flow } from '../flow';
import { LOCK } from '../lock';
import { PortError, type InstalledCertificate } from '../ports';
import { certificateRecord, coveredRecord } from '../records';
import { KEYS, type CertificateRecord, type Enrollment, type OrderAddress } from '../state';
import { loadCertificate, saveCertificate } from '../store';

export async function install(flow: Flow, e: Enrollment): Promise<Enrollment> {
  const { keys, certStore, session, notifier, storage } = flow.deps;
  const passphrase = await flow.passphrase(e.id);
  if (passphrase === undefined) return askPassphrase(flow, e);
  const chainPem = e.chainPem!;
  const encryptedKey = base64ToBytes(e.encryptedKey!);
  // Into Thunderbird through a one-time PKCS#12 under a random secret: no 600 000-round hash loop
  // in JavaScript on this path (docs/PKCS12.md, "Installing in Thunderbird").
  let importFile: { readonly pkcs12: Uint8Array; readonly secret: string };
  try {
    importFile = await keys.buildImportPkcs12(encryptedKey, passphrase, chainPem, e.email);
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
    installed = await certStore.importPkcs12(importFile.pkcs12, importFile.secret, e.email, summary.sha256Fingerprint);
    // Set on every identity the certificate is for (several addresses in one certificate).
    for (const address of addressesOf(e)) await certStore.setIdentityCertificates(address.identityId, installed, e.usage);
  } catch (error) {
    return flow.fail(e, 'install', messageOf(error));
  }
  // Notes inside the step, so the time each part takes shows in the history (npm run bench:e2e).
  let current = await flow.update(e, {}, 'imported into Thunderbird');
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
  for (const address of addressesOf(e).slice(1)) await installCovered(flow, record, address);
  const verdict = record.usability?.verdict ?? 'unknown';
  current = await flow.update(current, {}, `checked by NSS: ${verdict}`);
  const keyNote = e.keepKey ? 'key kept (encrypted) for renewal' : 'pending key removed';
  const done = await flow.transition(current, 'installed', { needsPassphrase: undefined, wakeAt: undefined, encryptedKey: e.keepKey ? e.encryptedKey : undefined, usability: verdict }, `${keyNote}; ${verdict === 'ready' ? 'ready to sign and encrypt' : `not usable yet: ${verdict}`}`);
  // The user's .p12, once the certificate is in place (it never delays "installed"): Thunderbird's
  // own export under their passphrase (native, checked to be as strong as ours), else ours.
  const exported = await userPkcs12FromStore(flow, installed.dbKey, passphrase);
  if (exported !== undefined) await offerPkcs12(flow, done, exported);
  else await offerBuiltPkcs12(flow, done, encryptedKey, passphrase, chainPem);
  await session.remove([KEYS.passphrase(e.id)]);
  // Never a plain "installed" for a certificate Thunderbird cannot use; a renewal is told as one.
  if (verdict !== 'ready') await notifier.notify({ kind: 'installedUnusable', email: e.email });
  else if (e.renewal !== undefined) await notifier.notify({ kind: 'renewed', email: e.email, notAfter: record.notAfter });
  else await notifier.notify({ kind: 'installed', email: e.email });
  return done;
}

/** Another identity of the certificate: its record, and the send defaults the owner's got (NSS's verdict is one for both). */
async function installCovered(flow: Flow, owner: CertificateRecord, address: OrderAddress): Promise<void> {
  await flow.locks.run(LOCK.certificate(address.identityId), async () => {
    const record = coveredRecord(owner, address);
    if (record.sendDefaults) await flow.deps.certStore.setSendDefaults(address.identityId, record.sendDefaults.signMail, record.sendDefaults.encrypt);
    await saveCertificate(flow.deps.storage, record);
  });
}

/** Waits for the passphrase (the popup asks for it); `wrong`: the one given did not open the key. */
async function askPassphrase(flow: Flow, e: Enrollment, wrong = false): Promise<Enrollment> {
  if (e.needsPassphrase && !wrong) return e;
  const waiting = await flow.update(e, { needsPassphrase: true, wakeAt: undefined }, wrong ? 'the passphrase did not open the key' : 'certificate ready; passphrase needed');
  await flow.deps.notifier.notify({ kind: 'needsPassphrase', email: e.email });
  if (wrong) throw new EnrollRequestError('wrongPassphrase', 'The passphrase does not open the key.');
  return waiting;
}

/** Thunderbird's export of the installed certificate and key, if it is at least as strong as buildPkcs12's. */
async function userPkcs12FromStore(flow: Flow, dbKey: string, passphrase: string): Promise<Uint8Array | undefined> {
  try {
    const exported = await flow.deps.certStore.exportPkcs12(dbKey, passphrase);
    if (flow.deps.keys.isStrongPkcs12(exported)) return exported;
    flow.deps.log.debug("Thunderbird's .p12 export is weaker than ours; building ours");
  } catch (error) {
    flow.deps.log.debug(`.p12 export failed (${messageOf(error)}); building ours`);
  }
  return undefined;
}

/** The fallback: our own .p12 (600 000 rounds in JavaScript, slow without a JIT), after "installed", with a note. */
async function offerBuiltPkcs12(flow: Flow, e: Enrollment, encryptedKey: Uint8Array, passphrase: string, chainPem: string): Promise<void> {
  const noted = await flow.update(e, {}, 'building the .p12 file for download');
  try {
    await offerPkcs12(flow, noted, await flow.deps.keys.buildPkcs12(encryptedKey, passphrase, chainPem, e.email));
    await flow.update(noted, {}, '.p12 file offered for download');
  } catch (error) {
    await flow.update(noted, {}, `the .p12 file could not be built: ${messageOf(error)}`);
  }
}
