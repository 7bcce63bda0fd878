/**
 * RFC 2047 encoded-words ("=?charset?B|Q?text?=") in unstructured header fields and in display
 * names, and RFC 6532 raw UTF-8 in header values.
 *
 * Deviations: encoded-words are also decoded inside quoted strings (RFC 2047 §5 forbids it, but
 * real mailers emit them and we only ever *display* such text); the RFC 2231 language suffix
 * ("charset*lang") is accepted and dropped. An unknown charset leaves the word undecoded.
 */

const ENCODED_WORD = /=\?([^?\s]+)\?([BbQq])\?([^?\s]*)\?=/g;
// Whitespace between two adjacent encoded-words is not part of the text (RFC 2047 §6.2).
const BETWEEN_WORDS = /(\?=)[ \t\r\n]+(?==\?[^?\s]+\?[BbQq]\?)/g;

/** Maps a "binary string" (one char per byte) to bytes. */
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

/** Interprets raw 8-bit header bytes as UTF-8 (RFC 6532), replacing invalid sequences. */
export function binaryToUtf8(text: string): string {
  // Fast path: pure ASCII needs no decoding (the usual case, and the pre-filter's hot path).
  let ascii = true;
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) > 0x7f) {
      ascii = false;
      break;
    }
  }
  return ascii ? text : new TextDecoder('utf-8').decode(binaryToBytes(text));
}

function decodeBase64(text: string): Uint8Array<ArrayBuffer> | null {
  const clean = text.replace(/=+$/, '');
  if (!/^[A-Za-z0-9+/]*$/.test(clean) || clean.length % 4 === 1) return null;
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const out = new Uint8Array(Math.floor((clean.length * 3) / 4));
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (const ch of clean) {
    acc = ((acc << 6) | alphabet.indexOf(ch)) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  return out;
}

function decodeQ(text: string): Uint8Array<ArrayBuffer> {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '_') bytes.push(0x20);
    else if (ch === '=' && /^[0-9A-Fa-f]{2}$/.test(text.slice(i + 1, i + 3))) {
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(ch.charCodeAt(0) & 0xff);
  }
  return new Uint8Array(bytes);
}

function decodeCharset(bytes: Uint8Array<ArrayBuffer>, charset: string): string | null {
  try {
    return new TextDecoder(charset.split('*')[0]!.toLowerCase()).decode(bytes);
  } catch {
    return null; // unknown charset label: the caller keeps the word as written
  }
}

/**
 * Decodes the encoded-words of an unfolded header value (RFC 2047 §6) and any raw UTF-8
 * (RFC 6532). Input is a binary string; output is a JavaScript (UTF-16) string.
 */
export function decodeEncodedWords(value: string): string {
  return decodeWordsInText(binaryToUtf8(value));
}

/** Decodes encoded-words in text that is already a JavaScript string (e.g. typed by a user). */
export function decodeWordsInText(text: string): string {
  if (!text.includes('=?')) return text;
  return text.replace(BETWEEN_WORDS, '$1').replace(ENCODED_WORD, (word, charset: string, encoding: string, encoded: string) => {
    const bytes = encoding.toUpperCase() === 'B' ? decodeBase64(encoded) : decodeQ(encoded);
    if (!bytes) return word;
    return decodeCharset(bytes, charset) ?? word;
  });
}
