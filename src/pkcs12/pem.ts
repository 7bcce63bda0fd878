/**
 * PEM (RFC 7468): the textual encoding of keys, CSRs and certificates.
 * Strict on labels and base64, lax on line length and surrounding text, as RFC 7468 §2 allows.
 * The codec is the shared one (src/common/encoding.ts); this module adds the labels the project
 * uses, one-block and chain helpers, and its own error type, PemError.
 */
import { EncodingError, pemDecodeAll as decodeBlocks, pemEncode as encodeBlock, type PemBlock } from '../common/encoding';

export type { PemBlock };

export class PemError extends Error {
  override readonly name = 'PemError';
}

/** Runs the shared PEM codec, its EncodingError turned into this module's PemError (cause kept). */
function asPemError<T>(run: () => T): T {
  try {
    return run();
  } catch (error) {
    if (error instanceof EncodingError) throw new PemError(error.message, { cause: error });
    throw error;
  }
}

/** Encodes DER as PEM with 64-character lines (RFC 7468 §2, the strict form). */
export function pemEncode(label: string, der: Uint8Array): string {
  return asPemError(() => encodeBlock(label, der));
}

/** Decodes every PEM block in `text`, in order (a chain gives several). */
export function pemDecodeAll(text: string): PemBlock[] {
  return asPemError(() => decodeBlocks(text));
}

/** Decodes exactly one block with the expected label. */
export function pemDecode(text: string, label: string): Uint8Array<ArrayBuffer> {
  const blocks = pemDecodeAll(text).filter((b) => b.label === label);
  if (blocks.length !== 1 || !blocks[0]) throw new PemError(`expected one "${label}" PEM block, found ${blocks.length}`);
  return blocks[0].der;
}

/** The RFC 7468 labels this project reads and writes. */
export const PEM_LABEL = {
  certificate: 'CERTIFICATE', // RFC 7468 §5
  certificateRequest: 'CERTIFICATE REQUEST', // §7
  encryptedPrivateKey: 'ENCRYPTED PRIVATE KEY', // §11
  privateKey: 'PRIVATE KEY', // §10 — read only: this module never writes a key in the clear
  publicKey: 'PUBLIC KEY', // §13
} as const;

/** A chain as PEM, in the order given (leaf first for an ACME chain, RFC 8555 §7.4.2). */
export function pemEncodeChain(certificates: readonly Uint8Array[]): string {
  return certificates.map((der) => pemEncode(PEM_LABEL.certificate, der)).join('');
}

/** Every CERTIFICATE block of a PEM text, in order; other blocks are skipped; none at all is an error. */
export function certificatesFromPem(text: string): Uint8Array<ArrayBuffer>[] {
  const certificates = pemDecodeAll(text).filter((b) => b.label === PEM_LABEL.certificate).map((b) => b.der);
  if (certificates.length === 0) throw new PemError('no CERTIFICATE PEM block');
  return certificates;
}
