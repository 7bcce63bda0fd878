/**
 * Reading BER/DER (X.690) through asn1js with the checks this module needs on untrusted input:
 * every accessor names what it expected, and every failure is a Pkcs12FormatError, so a damaged
 * or hostile file yields a typed error and never a TypeError deep in a library.
 * asn1js's own limits (nesting depth 100, 10 000 nodes, 16 MiB per value) stop stack exhaustion
 * and memory blow-up from crafted lengths.
 */
import * as asn1js from 'asn1js';
import { concatBytes } from '../common/encoding';
import { Pkcs12FormatError } from './errors';

export type Node = asn1js.AsnType;

/** Parses exactly one element filling `bytes` (trailing garbage is refused: it is how files get spliced). */
export function parseDer(bytes: Uint8Array, what: string): Node {
  let parsed: asn1js.FromBerResult;
  try {
    parsed = asn1js.fromBER(bytes);
  } catch (cause) {
    throw new Pkcs12FormatError(`${what}: not valid BER`, undefined, { cause });
  }
  if (parsed.offset === -1) throw new Pkcs12FormatError(`${what}: not valid BER (${parsed.result.error})`);
  if (parsed.offset !== bytes.length) throw new Pkcs12FormatError(`${what}: ${bytes.length - parsed.offset} bytes of trailing data`);
  return parsed.result;
}

export function children(node: Node | undefined, what: string): Node[] {
  if (!(node instanceof asn1js.Sequence)) throw new Pkcs12FormatError(`${what}: expected a SEQUENCE`);
  return node.valueBlock.value;
}

export function setChildren(node: Node | undefined, what: string): Node[] {
  if (!(node instanceof asn1js.Set)) throw new Pkcs12FormatError(`${what}: expected a SET`);
  return node.valueBlock.value;
}

export function oidOf(node: Node | undefined, what: string): string {
  if (!(node instanceof asn1js.ObjectIdentifier)) throw new Pkcs12FormatError(`${what}: expected an OBJECT IDENTIFIER`);
  return node.valueBlock.toString();
}

/** The content octets of an OCTET STRING, joining the pieces of a constructed (BER) one, as NSS writes them. */
export function octets(node: Node | undefined, what: string): Uint8Array<ArrayBuffer> {
  if (!(node instanceof asn1js.OctetString)) throw new Pkcs12FormatError(`${what}: expected an OCTET STRING`);
  if (!node.idBlock.isConstructed) return node.valueBlock.valueHexView.slice();
  return joinedPieces(node.valueBlock.value, what);
}

/** A constructed string's content: its pieces, each an OCTET STRING (itself maybe constructed), joined. */
function joinedPieces(pieces: readonly Node[], what: string): Uint8Array<ArrayBuffer> {
  return concatBytes(...pieces.map((piece) => octets(piece, what)));
}

/** A non-negative INTEGER small enough to be a count (iteration counts, versions). */
export function smallInteger(node: Node | undefined, what: string): number {
  if (!(node instanceof asn1js.Integer)) throw new Pkcs12FormatError(`${what}: expected an INTEGER`);
  const bytes = node.valueBlock.valueHexView;
  if (bytes.length === 0 || bytes.length > 6 || (bytes[0]! & 0x80) !== 0) throw new Pkcs12FormatError(`${what}: INTEGER out of range`);
  let n = 0;
  for (const b of bytes) n = n * 256 + b;
  return n;
}

/** The elements inside an EXPLICIT context-specific tag [n]. */
export function explicitContent(node: Node | undefined, n: number, what: string): Node[] {
  if (!(node instanceof asn1js.Constructed) || node.idBlock.tagClass !== 3 || node.idBlock.tagNumber !== n) {
    throw new Pkcs12FormatError(`${what}: expected [${n}]`);
  }
  return node.valueBlock.value;
}

/** The content octets of an IMPLICIT [n] OCTET STRING, primitive or constructed. */
export function implicitOctets(node: Node | undefined, n: number, what: string): Uint8Array<ArrayBuffer> {
  if (!node || node.idBlock.tagClass !== 3 || node.idBlock.tagNumber !== n) throw new Pkcs12FormatError(`${what}: expected [${n}]`);
  if (node instanceof asn1js.Constructed) return joinedPieces(node.valueBlock.value, what);
  if (node instanceof asn1js.Primitive) return node.valueBlock.valueHexView.slice();
  throw new Pkcs12FormatError(`${what}: expected [${n}] octets`);
}

export function bmpText(node: Node | undefined, what: string): string {
  if (!(node instanceof asn1js.BmpString)) throw new Pkcs12FormatError(`${what}: expected a BMPString`);
  return node.valueBlock.value;
}

/** The bytes of a BIT STRING with no unused bits (keys and signatures). */
export function bitStringBytes(node: Node | undefined, what: string): Uint8Array<ArrayBuffer> {
  if (!(node instanceof asn1js.BitString) || node.idBlock.isConstructed) throw new Pkcs12FormatError(`${what}: expected a BIT STRING`);
  if (node.valueBlock.unusedBits !== 0) throw new Pkcs12FormatError(`${what}: BIT STRING with unused bits`);
  return node.valueBlock.valueHexView.slice();
}

/** The magnitude of a non-negative INTEGER in bits (RSA modulus length). */
export function integerBitLength(node: Node | undefined, what: string): number {
  if (!(node instanceof asn1js.Integer)) throw new Pkcs12FormatError(`${what}: expected an INTEGER`);
  const view = node.valueBlock.valueHexView;
  let i = 0;
  while (i < view.length && view[i] === 0) i++;
  if (i === view.length) return 0;
  return (view.length - i - 1) * 8 + (32 - Math.clz32(view[i]!));
}
