/**
 * A raw Internet Message (RFC 5322 §2) split into header fields and body, kept byte-exact for
 * DKIM (RFC 6376 §3.4 canonicalizes the fields as they were written).
 *
 * Text is held as "binary strings" (one UTF-16 unit per byte) so that no byte is ever changed
 * by a charset guess before hashing; `decodedValue` turns a field into display text.
 *
 * Deviations, on purpose:
 * - Bare LF line endings (how Thunderbird's local folders store mail, and what
 *   `messages.getRaw` may return) are turned into CRLF before anything else, as every DKIM
 *   verifier does (RFC 6376 §5.3 expects CRLF).
 * - Thunderbird's own `X-Mozilla-Status:`, `X-Mozilla-Status2:` and `X-Mozilla-Keys:` lines and
 *   an mbox `From ` separator at the very top are not part of the message and are removed.
 * - A header line without a colon makes the whole message malformed (RFC 5322 §2.2) instead of
 *   being skipped: silently skipping it is how parser differentials hide a second `From`.
 */
import { decodeEncodedWords } from './rfc2047';
import { bytesToBinary } from '../common/encoding';
import type { RefusalReason } from './reasons';

/**
 * Hard limits. A challenge mail is a few kilobytes; anything far larger is not one, and
 * refusing it early keeps every later step cheap.
 */
export const LIMITS = {
  /** Whole message. Stops memory and hashing exhaustion (a DKIM body hash over hundreds of MB). */
  maxMessageBytes: 4 * 1024 * 1024,
  /** Header section. Stops quadratic work in unfolding and the per-signature header lookups. */
  maxHeaderBytes: 256 * 1024,
  /** Number of fields. Stops CPU exhaustion by signatures whose h= names thousands of fields. */
  maxFields: 1000,
} as const;

export type ParseFailure = Extract<RefusalReason, 'malformed-message' | 'message-too-large' | 'header-too-large' | 'too-many-fields'>;

/** Thrown when the bytes cannot be a message we would ever answer. Carries the refusal code. */
export class MessageParseError extends Error {
  override readonly name = 'MessageParseError';
  constructor(
    readonly code: ParseFailure,
    message: string,
  ) {
    super(message);
  }
}

export interface HeaderField {
  /** The name as written (case kept). */
  readonly name: string;
  /** Lower-cased name, for lookups (field names are case-insensitive, RFC 5322 §1.2.2). */
  readonly key: string;
  /** The whole field, name to last byte, folding kept, without the final CRLF (binary string). */
  readonly raw: string;
  /** Everything after the colon, folding kept (binary string). */
  readonly value: string;
}

export interface ParsedMessage {
  /** Fields in message order (top first). */
  readonly fields: readonly HeaderField[];
  /** The body after the empty line, CRLF line endings (binary string). */
  readonly body: string;
  /** Whether the header was followed by an empty line (RFC 6376 §3.4.3 treats "no body" alike). */
  readonly hasBody: boolean;
  /** Every field with this name, top first. */
  all(name: string): HeaderField[];
}

const MOZILLA_LINE = /^(?:X-Mozilla-Status2?|X-Mozilla-Keys):[^\n]*\n/i;
const FIELD_NAME = /^[\x21-\x39\x3b-\x7e]+$/;

/**
 * A string is taken as a "binary string" (one char per byte, as the legacy `messages.getRaw`
 * returns). One with characters above U+00FF cannot be that: it was decoded already, so it is
 * encoded back as UTF-8, the only reading under which DKIM can still verify it.
 */
function asBinary(text: string): string {
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) > 0xff) return bytesToBinary(new TextEncoder().encode(text));
  }
  return text;
}

/** Turns lone LF into CRLF, leaving existing CRLF alone. */
function toCrlf(text: string): string {
  // Most mail already uses CRLF: look for one lone LF before copying the whole text.
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) {
    if (i === 0 || text.charCodeAt(i - 1) !== 0x0d) return text.replace(/\r?\n/g, '\r\n');
  }
  return text;
}

function stripThunderbirdPrefix(text: string): string {
  let rest = text;
  // An mbox separator ("From sender date") has no colon after "From": never a header field.
  if (rest.startsWith('From ')) {
    const end = rest.indexOf('\n');
    rest = end < 0 ? '' : rest.slice(end + 1);
  }
  for (let i = 0; i < 8; i++) {
    const match = MOZILLA_LINE.exec(rest);
    if (!match) break;
    rest = rest.slice(match[0].length);
  }
  return rest;
}

/**
 * Splits a raw message (RFC 5322 §2.1, §2.2). Throws MessageParseError with a refusal code
 * when a hard limit is crossed or the header is not a header.
 */
export function parseMessage(raw: Uint8Array | string): ParsedMessage {
  const size = raw.length;
  if (size > LIMITS.maxMessageBytes) {
    throw new MessageParseError('message-too-large', `The message is ${size} bytes; no challenge mail is larger than ${LIMITS.maxMessageBytes}.`);
  }
  const text = toCrlf(stripThunderbirdPrefix(typeof raw === 'string' ? asBinary(raw) : bytesToBinary(raw)));

  let headerEnd: number;
  let bodyStart: number;
  if (text.startsWith('\r\n')) {
    headerEnd = 0;
    bodyStart = 2;
  } else {
    const blank = text.indexOf('\r\n\r\n');
    headerEnd = blank < 0 ? text.length : blank + 2;
    bodyStart = blank < 0 ? text.length : blank + 4;
  }
  if (headerEnd > LIMITS.maxHeaderBytes) {
    throw new MessageParseError('header-too-large', `The header section is ${headerEnd} bytes; the limit is ${LIMITS.maxHeaderBytes}.`);
  }
  const header = text.slice(0, headerEnd);
  const fields: HeaderField[] = [];
  let start = 0;
  while (start < header.length) {
    // A field runs until a CRLF not followed by whitespace (RFC 5322 §2.2.3 folding).
    let end = header.indexOf('\r\n', start);
    while (end >= 0 && (header[end + 2] === ' ' || header[end + 2] === '\t')) end = header.indexOf('\r\n', end + 2);
    if (end < 0) end = header.length;
    const rawField = header.slice(start, end);
    const colon = rawField.indexOf(':');
    const name = colon < 0 ? '' : rawField.slice(0, colon);
    // RFC 5322 allows no whitespace before the colon; obsolete syntax (§4.5) allows it, and we
    // accept it so as not to refuse old mailers, trimming it from the name.
    const trimmedName = name.replace(/[ \t]+$/, '');
    if (colon < 0 || !FIELD_NAME.test(trimmedName)) {
      throw new MessageParseError('malformed-message', `Header line ${fields.length + 1} is not a "Name: value" field.`);
    }
    fields.push({ name: trimmedName, key: trimmedName.toLowerCase(), raw: rawField, value: rawField.slice(colon + 1) });
    if (fields.length > LIMITS.maxFields) {
      throw new MessageParseError('too-many-fields', `The message has more than ${LIMITS.maxFields} header fields.`);
    }
    start = end + 2;
  }
  if (fields.length === 0) throw new MessageParseError('malformed-message', 'The message has no header fields.');

  const index = new Map<string, HeaderField[]>();
  for (const field of fields) {
    const list = index.get(field.key);
    if (list) list.push(field);
    else index.set(field.key, [field]);
  }
  return {
    fields,
    body: text.slice(bodyStart),
    hasBody: bodyStart <= text.length && headerEnd < text.length,
    all: (name) => index.get(name.toLowerCase()) ?? [],
  };
}

/** Removes folding (RFC 5322 §2.2.3): CRLF followed by whitespace becomes that whitespace. */
export function unfold(value: string): string {
  return value.replace(/\r\n(?=[ \t])/g, '');
}

/** A field value as display text: unfolded, trimmed, encoded-words and UTF-8 decoded. */
export function decodedValue(field: HeaderField): string {
  return decodeEncodedWords(unfold(field.value).trim());
}
