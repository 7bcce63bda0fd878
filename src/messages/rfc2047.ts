/**
 * RFC 2047 encoded-words ("=?charset?B|Q?text?=") in unstructured header fields and in display
 * names, and RFC 6532 raw UTF-8 in header values.
 *
 * Deviations: encoded-words are also decoded inside quoted strings (RFC 2047 §5 forbids it, but
 * real mailers emit them and we only ever *display* such text); the RFC 2231 language suffix
 * ("charset*lang") is accepted and dropped. An unknown charset leaves the word undecoded.
 */

import { base64Decode, binaryToBytes } from '../common/encoding';

const ENCODED_WORD = /=\?([^?\s]+)\?([BbQq])\?([^?\s]*)\?=/g;
// Whitespace between two adjacent encoded-words is not part of the text (RFC 2047 §6.2).
const BETWEEN_WORDS = /(\?=)[ \t\r\n]+(?==\?[^?\s]+\?[BbQq]\?)/g;


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

/** The "B" encoding (RFC 2047 §4.1): base64, lenient about padding as mailers are; null when unreadable. */
function decodeBase64(text: string): Uint8Array<ArrayBuffer> | null {
  try {
    return base64Decode(text.replace(/=+$/, ''), { padding: 'forbidden' });
  } catch {
    return null;
  }
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
