/**
 * Getting the certificate out: the `downloading` step fetches the issued chain (RFC 8555
 * §7.4.2), and after installation the PKCS#12 is offered to the user as a file to keep.
 */
import { messageOf } from '../errors';
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
