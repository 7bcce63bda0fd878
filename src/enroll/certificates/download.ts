/**
 * Getting the certificate out: the `downloading` step fetches the issued chain (RFC 8555
 * §7.4.2), and after installation the PKCS#12 is offered to the user as a file to keep.
 */
import { base64Decode as base64ToBytes } from '../../common/encoding';
import { EnrollRequestError, messageOf } from '../errors';
import { MIN_PASSPHRASE_LENGTH, isAcceptablePassphrase } from '../passphrase';
import { listEnrollments, loadCertificate } from '../store';
import type { Flow } from '../flow';
import type { Enrollment } from '../state';

/** Step `downloading` → `installing`. */
export async function downloadChain(flow: Flow, e: Enrollment): Promise<Enrollment> {
  const chainPem = await flow.deps.acme.downloadCertificate(e.directoryUrl, e.certificateUrl!);
  return flow.transition(e, 'installing', { chainPem });
}

/** Offers the PKCS#12 for saving. The certificate is installed; a refused download must not undo that. */
export async function offerPkcs12(flow: Flow, e: Enrollment, pkcs12: Uint8Array): Promise<void> {
  try {
    await flow.deps.downloads.offer(`${e.email}.p12`, pkcs12, 'application/x-pkcs12');
  } catch (error) {
    // The popup says so.
    flow.deps.log.debug(`download offer failed: ${messageOf(error)}`);
  }
}

/** What the popup's Download gives: the `.p12` when a passphrase for it is given, else the chain. */
export interface Downloaded {
  readonly filename: string;
}

/**
 * The identity's certificate for the user to keep, at any time after installation. With a
 * passphrase: a `.p12` — Thunderbird's own export of the certificate and the key it holds (native,
 * checked to be as strong as ours), or, when that is unavailable or weaker and the encrypted key
 * was kept, ours built from that key (then the passphrase must be the key's). Without one: the
 * certificate chain as PEM, which holds no secret.
 */
export async function downloadForUser(flow: Flow, identityId: string, passphrase: string | undefined): Promise<Downloaded> {
  const { storage, certStore, keys, downloads } = flow.deps;
  const record = await loadCertificate(storage, identityId);
  if (!record) throw new EnrollRequestError('noCertificate', 'This identity has no certificate from this add-on.');
  if (passphrase === undefined) {
    const filename = `${record.email}.pem`;
    await downloads.offer(filename, new TextEncoder().encode(record.chainPem), 'application/x-pem-file');
    return { filename };
  }
  if (!isAcceptablePassphrase(passphrase)) throw new EnrollRequestError('weakPassphrase', `The passphrase must have at least ${MIN_PASSPHRASE_LENGTH} characters.`);
  const filename = `${record.email}.p12`;
  let exported: Uint8Array | undefined;
  try {
    exported = await certStore.exportPkcs12(record.dbKey, passphrase);
  } catch (error) {
    flow.deps.log.debug(`.p12 export failed: ${messageOf(error)}`);
  }
  if (exported !== undefined && keys.isStrongPkcs12(exported)) {
    await downloads.offer(filename, exported, 'application/x-pkcs12');
    return { filename };
  }
  const kept = (await listEnrollments(storage)).find((e) => e.id === record.enrollmentId && e.encryptedKey !== undefined);
  if (kept?.encryptedKey === undefined) throw new EnrollRequestError('noKey', 'Thunderbird could not export the key, and the add-on kept none.');
  await downloads.offer(filename, await keys.buildPkcs12(base64ToBytes(kept.encryptedKey), passphrase, record.chainPem, record.email), 'application/x-pkcs12');
  return { filename };
}
