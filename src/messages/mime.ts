/**
 * The little of MIME (RFC 2045, RFC 2046) that S/MIME checking needs: Content-Type with its
 * parameters, multipart splitting that keeps each part byte-exact (base64 bodies: ../common/encoding.ts).
 *
 * Deviations: RFC 2231 parameter continuations are not joined (S/MIME parameters are short);
 * nested multiparts are not descended (the signature must be on the top-level entity).
 */
import { unfold, type ParsedMessage } from './rfc5322';

export interface ContentType {
  /** `type/subtype`, lower-cased. */
  readonly mediaType: string;
  /** Parameter names lower-cased; values unquoted. */
  readonly params: Readonly<Record<string, string>>;
}

/** Parses a Content-Type value (RFC 2045 §5.1). Missing or unreadable → text/plain (§5.2). */
export function parseContentType(value: string | undefined): ContentType {
  const fallback: ContentType = { mediaType: 'text/plain', params: {} };
  if (value === undefined) return fallback;
  const text = unfold(value).replace(/\([^()]*\)/g, '');
  const match = /^\s*([A-Za-z0-9!#$&^_.+-]+\/[A-Za-z0-9!#$&^_.+-]+)\s*(.*)$/s.exec(text);
  if (!match) return fallback;
  const params: Record<string, string> = {};
  const re = /;\s*([A-Za-z0-9!#$&^_.+*-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]*))/g;
  for (let m = re.exec(match[2]!); m; m = re.exec(match[2]!)) {
    params[m[1]!.toLowerCase()] = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : (m[3] ?? '');
  }
  return { mediaType: match[1]!.toLowerCase(), params };
}

export function contentTypeOf(message: ParsedMessage): ContentType {
  return parseContentType(message.all('content-type')[0]?.value);
}

/** Thrown for a multipart body that does not follow RFC 2046 §5.1.1. */
export class MimeError extends Error {
  override readonly name = 'MimeError';
}

/**
 * The parts of a multipart body, each byte-exact (binary strings, CRLF), without the CRLF that
 * RFC 2046 §5.1.1 assigns to the following delimiter. Preamble and epilogue are dropped.
 */
export function splitMultipart(body: string, boundary: string): string[] {
  if (boundary === '' || boundary.length > 70) throw new MimeError('missing or overlong boundary');
  const delimiter = `--${boundary}`;
  const parts: string[] = [];
  let pos: number;
  if (body.startsWith(delimiter)) pos = 0;
  else {
    pos = body.indexOf(`\r\n${delimiter}`);
    if (pos < 0) throw new MimeError('no boundary line in the body');
    pos += 2;
  }
  for (;;) {
    // pos is at the start of a delimiter line.
    const afterDelimiter = pos + delimiter.length;
    if (body.startsWith('--', afterDelimiter)) return parts; // close-delimiter
    const lineEnd = body.indexOf('\r\n', afterDelimiter);
    if (lineEnd < 0) throw new MimeError('the boundary line does not end');
    if (body.slice(afterDelimiter, lineEnd).trim() !== '') throw new MimeError('text after a boundary');
    const partStart = lineEnd + 2;
    const next = body.indexOf(`\r\n${delimiter}`, partStart - 2);
    if (next < 0) throw new MimeError('the last part has no closing boundary');
    parts.push(body.slice(partStart, Math.max(partStart, next)));
    pos = next + 2;
    if (parts.length > 100) throw new MimeError('too many parts');
  }
}

