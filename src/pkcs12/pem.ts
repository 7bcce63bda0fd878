/**
 * PEM (RFC 7468): the textual encoding of keys, CSRs and certificates.
 * Strict on labels and base64, lax on line length and surrounding text, as RFC 7468 §2 allows.
 */

export class PemError extends Error {
  override readonly name = 'PemError';
}

export interface PemBlock {
  readonly label: string;
  readonly der: Uint8Array<ArrayBuffer>;
}

function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) throw new PemError('PEM body is not valid base64');
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

/** Encodes DER as PEM with 64-character lines (RFC 7468 §2, the strict form). */
export function pemEncode(label: string, der: Uint8Array): string {
  if (!/^[A-Z0-9 ]+$/.test(label)) throw new PemError(`invalid PEM label "${label}"`);
  const body = toBase64(der).replace(/.{64}/g, '$&\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${body}\n-----END ${label}-----\n`;
}

/** Decodes every PEM block in `text`, in order (a chain gives several). */
export function pemDecodeAll(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  const re = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END ([A-Z0-9 ]+)-----/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const [, begin = '', body = '', end = ''] = m;
    if (begin !== end) throw new PemError(`PEM block "${begin}" ends with "${end}"`);
    blocks.push({ label: begin, der: fromBase64(body.replace(/\s+/g, '')) });
  }
  return blocks;
}

/** Decodes exactly one block with the expected label. */
export function pemDecode(text: string, label: string): Uint8Array<ArrayBuffer> {
  const blocks = pemDecodeAll(text).filter((b) => b.label === label);
  if (blocks.length !== 1 || !blocks[0]) throw new PemError(`expected one "${label}" PEM block, found ${blocks.length}`);
  return blocks[0].der;
}
