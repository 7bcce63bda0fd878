/**
 * Bytes as text, the one place for it: base64 and base64url (RFC 4648 §4, §5), PEM (RFC 7468),
 * "binary strings" (one char per byte, as mail parsers and legacy Thunderbird APIs hand them
 * out), UTF-8 and hex. Every layer (ACME, mail checks, PKCS#12, storage, the CLI) uses these.
 *
 * Runs unchanged in Node, Thunderbird's background page and its experiment scopes' callers: no
 * Buffer, no atob/btoa (which do not exist everywhere and are lenient in ways a checker must not be).
 *
 * Each decoder says what it accepts; the strict ones name the RFC rule they enforce:
 * - `base64UrlDecode`: unpadded base64url, canonical (ACME, JWS: RFC 8555 §6.1, RFC 7515 §2).
 * - `base64Decode`: padded base64 by default; the options open it up (unpadded, either alphabet,
 *   canonical only) for the formats that need it (RFC 8823 tokens, RFC 2047 encoded-words).
 * - `base64DecodeMime`: RFC 2045 §6.8 bodies, characters outside the alphabet ignored.
 */

const STANDARD = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const URL_SAFE = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** Character code → 6-bit value, -1 outside the alphabet. */
function table(alphabet: string): Int16Array {
  const t = new Int16Array(128).fill(-1);
  for (let i = 0; i < alphabet.length; i++) t[alphabet.charCodeAt(i)] = i;
  return t;
}
const DECODE_STANDARD = table(STANDARD);
const DECODE_URL = table(URL_SAFE);
const DECODE_EITHER = table(STANDARD);
DECODE_EITHER['-'.charCodeAt(0)] = 62;
DECODE_EITHER['_'.charCodeAt(0)] = 63;

/** Thrown for text that is not what the decoder was asked to read. */
export class EncodingError extends Error {
  override readonly name = 'EncodingError';
}

function encode(bytes: Uint8Array, alphabet: string, pad: boolean): string {
  let out = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += alphabet[n >> 18]! + alphabet[(n >> 12) & 63]! + alphabet[(n >> 6) & 63]! + alphabet[n & 63]!;
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i]! << 16;
    out += alphabet[n >> 18]! + alphabet[(n >> 12) & 63]! + (pad ? '==' : '');
  } else if (rest === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    out += alphabet[n >> 18]! + alphabet[(n >> 12) & 63]! + alphabet[(n >> 6) & 63]! + (pad ? '=' : '');
  }
  return out;
}

/** Decodes `text` (no padding left in it) with a table; `canonical` refuses non-zero leftover bits. */
function decodeWith(text: string, decode: Int16Array, canonical: boolean, name: string): Uint8Array<ArrayBuffer> {
  if (text.length % 4 === 1) throw new EncodingError(`impossible ${name} length ${text.length}`);
  const out = new Uint8Array(Math.floor((text.length * 3) / 4));
  let bits = 0;
  let acc = 0;
  let o = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const v = c < 128 ? decode[c]! : -1;
    if (v < 0) throw new EncodingError(`not a ${name} character at offset ${i}`);
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  // Non-zero leftover bits mean a non-canonical encoding: two texts would decode the same (RFC 4648 §3.5).
  if (canonical && (acc & ((1 << bits) - 1)) !== 0) throw new EncodingError(`non-canonical ${name} (stray low bits)`);
  return out;
}

/** base64url without padding (RFC 4648 §5), as ACME (RFC 8555 §6.1) and JWS (RFC 7515 §2) use it. */
export function base64UrlEncode(bytes: Uint8Array): string {
  return encode(bytes, URL_SAFE, false);
}

/** Decodes unpadded, canonical base64url; refuses padding, the standard alphabet and impossible lengths. */
export function base64UrlDecode(text: string): Uint8Array<ArrayBuffer> {
  return decodeWith(text, DECODE_URL, true, 'base64url');
}

/** base64 with padding (RFC 4648 §4), as PEM, DKIM and JSON storage write it. */
export function base64Encode(bytes: Uint8Array): string {
  return encode(bytes, STANDARD, true);
}

export interface Base64DecodeOptions {
  /**
   * `base64` (RFC 4648 §4, the default), `base64url` (§5), or `either`: one of the two, never both
   * in one text (a text with '+' or '/' and also '-' or '_' was written by no encoder).
   */
  readonly alphabet?: 'base64' | 'base64url' | 'either';
  /** `required` (the default): length a multiple of 4, up to two '='; `optional`: correct '=' or none; `forbidden`. */
  readonly padding?: 'required' | 'optional' | 'forbidden';
  /** Refuse non-zero leftover bits (RFC 4648 §3.5 lets decoders do so). Default false, as atob. */
  readonly canonical?: boolean;
}

/** Decodes base64 as the options say (default: padded standard base64, as PEM bodies and DKIM tags). */
export function base64Decode(text: string, options: Base64DecodeOptions = {}): Uint8Array<ArrayBuffer> {
  const alphabet = options.alphabet ?? 'base64';
  const padding = options.padding ?? 'required';
  const name = alphabet === 'either' ? 'base64' : alphabet;
  const firstPad = text.indexOf('=');
  const data = firstPad < 0 ? text : text.slice(0, firstPad);
  const pads = text.length - data.length;
  if (pads > 0) {
    if (padding === 'forbidden') throw new EncodingError(`${name} padding is not allowed here`);
    if (pads > 2 || text.slice(firstPad) !== '='.repeat(pads)) throw new EncodingError(`misplaced ${name} padding`);
    if (text.length % 4 !== 0) throw new EncodingError(`wrong ${name} padding for length ${data.length}`);
  } else if (padding === 'required' && text.length % 4 !== 0) {
    throw new EncodingError(`${name} length ${text.length} is not a multiple of 4 (padding missing)`);
  }
  if (alphabet === 'base64url') return decodeWith(data, DECODE_URL, options.canonical ?? false, name);
  if (alphabet === 'base64') return decodeWith(data, DECODE_STANDARD, options.canonical ?? false, name);
  if (/[+/]/.test(data) && /[-_]/.test(data)) throw new EncodingError('mixes the base64 and base64url alphabets');
  return decodeWith(data, DECODE_EITHER, options.canonical ?? false, name);
}

/**
 * A base64 body (RFC 2045 §6.8): line breaks and any other characters outside the alphabet are
 * ignored, as are '=' and a final incomplete 6-bit group. Never throws: a mail body is decoded
 * for what it holds, and the signature check decides whether that is right.
 */
export function base64DecodeMime(text: string): Uint8Array<ArrayBuffer> {
  let clean = text.replace(/[^A-Za-z0-9+/]/g, '');
  if (clean.length % 4 === 1) clean = clean.slice(0, -1);
  return decodeWith(clean, DECODE_STANDARD, false, 'base64');
}

/** A PEM block (RFC 7468 §2): its label and the DER it carries. */
export interface PemBlock {
  readonly label: string;
  readonly der: Uint8Array<ArrayBuffer>;
}

/** DER as PEM with 64-character lines (RFC 7468 §2, the strict form), LF line ends. */
export function pemEncode(label: string, der: Uint8Array): string {
  if (!/^[A-Z0-9 ]+$/.test(label)) throw new EncodingError(`invalid PEM label "${label}"`);
  const body = base64Encode(der).replace(/.{64}/g, '$&\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${body}\n-----END ${label}-----\n`;
}

/**
 * Every PEM block of `text`, in order; text around and between blocks is skipped (RFC 7468 §2
 * allows explanatory text), whitespace inside a body ignored, the base64 itself strict.
 */
export function pemDecodeAll(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  const re = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END ([A-Z0-9 ]+)-----/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const [, begin = '', body = '', end = ''] = m;
    if (begin !== end) throw new EncodingError(`PEM block "${begin}" ends with "${end}"`);
    let der: Uint8Array<ArrayBuffer>;
    try {
      der = base64Decode(body.replace(/\s+/g, ''));
    } catch (error) {
      throw new EncodingError(`the PEM block "${begin}" is not valid base64`, { cause: error });
    }
    blocks.push({ label: begin, der });
  }
  return blocks;
}

/** UTF-8 bytes of a string. */
export function utf8(text: string): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(text);
}

/** Maps a "binary string" (one char per byte) to bytes; chars above U+00FF keep their low byte. */
export function binaryToBytes(text: string): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i) & 0xff;
  return out;
}

/** Maps bytes to a "binary string" (one char per byte), chunked to stay under the argument limit. */
export function bytesToBinary(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    // fromCharCode takes a typed array as its argument list: no intermediate array.
    out += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000) as unknown as number[]);
  }
  return out;
}

/** The bytes of `parts`, one after the other. */
export function concatBytes(...parts: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** Bytes from hex digits (either case); an odd count or a non-hex digit is an EncodingError. */
export function hexToBytes(hex: string): Uint8Array<ArrayBuffer> {
  if (hex.length % 2 !== 0 || !/^[0-9A-Fa-f]*$/.test(hex)) throw new EncodingError('not an even number of hex digits');
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** Lower-case hex digits of `bytes`, `separator` between bytes. */
export function bytesToHex(bytes: Uint8Array, separator = ''): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(separator);
}
