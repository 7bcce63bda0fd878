/**
 * A minimal DER writer (ITU-T X.690 §10): enough to assemble PKCS#12 and PKCS#8 structures
 * byte for byte, embedding certificates and keys verbatim. Reading goes through asn1js.
 */

import { concatBytes } from '../common/encoding';

export type Der = Uint8Array<ArrayBuffer>;

function length(n: number): Uint8Array {
  if (n < 0x80) return Uint8Array.of(n);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Uint8Array.of(0x80 | bytes.length, ...bytes);
}

export function tlv(tag: number, ...content: readonly Uint8Array[]): Der {
  const body = concatBytes(...content);
  return concatBytes(Uint8Array.of(tag), length(body.length), body);
}

export const sequence = (...items: readonly Uint8Array[]): Der => tlv(0x30, ...items);
/** SET OF, sorted as DER requires (X.690 §11.6). */
export const setOf = (...items: readonly Uint8Array[]): Der => tlv(0x31, ...[...items].sort(compareBytes));
export const octetString = (bytes: Uint8Array): Der => tlv(0x04, bytes);
export const nullValue = (): Der => Uint8Array.of(0x05, 0x00);
export const explicit = (n: number, ...items: readonly Uint8Array[]): Der => tlv(0xa0 | n, ...items);
export const utf8String = (text: string): Der => tlv(0x0c, new TextEncoder().encode(text));
/** The bytes of an ASCII text (callers have checked it is ASCII). */
export const asciiBytes = (text: string): Der => Uint8Array.from(text, (c) => c.charCodeAt(0));

/** BMPString: UTF-16BE (X.680 §41); characters outside the BMP become surrogate pairs, as OpenSSL writes them. */
export function bmpString(text: string): Der {
  const out = new Uint8Array(text.length * 2);
  for (let i = 0; i < text.length; i++) {
    out[2 * i] = text.charCodeAt(i) >> 8;
    out[2 * i + 1] = text.charCodeAt(i) & 0xff;
  }
  return tlv(0x1e, out);
}

/** A non-negative INTEGER. */
export function integer(n: number): Der {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`cannot encode ${n} as a non-negative INTEGER`);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  if (bytes.length === 0 || (bytes[0]! & 0x80) !== 0) bytes.unshift(0);
  return tlv(0x02, Uint8Array.from(bytes));
}

export function oid(dotted: string): Der {
  const arcs = dotted.split('.').map(Number);
  const [a = 0, b = 0, ...rest] = arcs;
  const out: number[] = [];
  for (const arc of [a * 40 + b, ...rest]) {
    const chunk: number[] = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift(0x80 | (v & 0x7f));
    out.push(...chunk);
  }
  return tlv(0x06, Uint8Array.from(out));
}

export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && compareBytes(a, b) === 0;
}

/** BIT STRING with `unused` trailing bits in the last byte (X.690 §8.6). */
export const bitString = (bytes: Uint8Array, unused = 0): Der => tlv(0x03, Uint8Array.of(unused), bytes);
export const booleanTrue = (): Der => Uint8Array.of(0x01, 0x01, 0xff);

/** INTEGER from an unsigned big-endian magnitude, minimally encoded (X.690 §8.3.2). */
export function unsignedInteger(magnitude: Uint8Array): Der {
  let i = 0;
  while (i < magnitude.length - 1 && magnitude[i] === 0) i++;
  const body = magnitude.subarray(i);
  return (body[0] ?? 0) & 0x80 ? tlv(0x02, Uint8Array.of(0), body) : tlv(0x02, body.length ? body : Uint8Array.of(0));
}
