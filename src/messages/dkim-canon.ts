/**
 * DKIM canonicalization (RFC 6376 §3.4): "simple" and "relaxed" for header fields and body.
 * Works on binary strings (one char per byte), written as loops rather than regexes so that a
 * hostile body (a megabyte of spaces, of empty lines) costs linear time, not quadratic.
 */
import type { HeaderField } from './rfc5322';

export type Canonicalization = 'simple' | 'relaxed';

const isWsp = (c: number): boolean => c === 0x20 || c === 0x09;

/** §3.4.2 relaxed header: lower-case name, unfolded, WSP runs → one SP, trimmed; ends in CRLF. */
export function relaxedHeader(field: HeaderField, value: string = field.value): string {
  let out = '';
  let pendingSpace = false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x0d || c === 0x0a) continue;
    if (isWsp(c)) {
      pendingSpace = true;
      continue;
    }
    if (pendingSpace && out.length > 0) out += ' ';
    pendingSpace = false;
    out += value[i]!;
  }
  return `${field.key}:${out}\r\n`;
}

/** §3.4.1 simple header: the field exactly as written, plus CRLF. */
export function simpleHeader(field: HeaderField, raw: string = field.raw): string {
  return `${raw}\r\n`;
}

/** Index just after the last non-empty line (trailing CRLFs removed). */
function endWithoutTrailingEmptyLines(body: string, end: number): number {
  let e = end;
  while (e >= 2 && body.charCodeAt(e - 1) === 0x0a && body.charCodeAt(e - 2) === 0x0d) e -= 2;
  return e;
}

/** §3.4.3 simple body: trailing empty lines removed; an empty body becomes one CRLF. */
export function simpleBody(body: string): string {
  let text = body;
  if (text.length > 0 && !text.endsWith('\r\n')) text += '\r\n';
  const end = endWithoutTrailingEmptyLines(text, text.length);
  return end === 0 ? '\r\n' : `${text.slice(0, end)}\r\n`;
}

/** §3.4.4 relaxed body: WSP runs → one SP, WSP at line ends removed, trailing empty lines removed. */
export function relaxedBody(body: string): string {
  const parts: string[] = [];
  let lineStart = 0;
  const n = body.length;
  while (lineStart < n) {
    let lineEnd = body.indexOf('\r\n', lineStart);
    const hasCrlf = lineEnd >= 0;
    if (!hasCrlf) lineEnd = n;
    // Trim WSP at the line's end, then collapse runs inside.
    let e = lineEnd;
    while (e > lineStart && isWsp(body.charCodeAt(e - 1))) e--;
    let chunkStart = lineStart;
    let i = lineStart;
    while (i < e) {
      if (isWsp(body.charCodeAt(i))) {
        let j = i + 1;
        while (j < e && isWsp(body.charCodeAt(j))) j++;
        if (j - i > 1 || body.charCodeAt(i) !== 0x20) {
          parts.push(body.slice(chunkStart, i), ' ');
          chunkStart = j;
        }
        i = j;
      } else i++;
    }
    parts.push(body.slice(chunkStart, e), '\r\n');
    lineStart = hasCrlf ? lineEnd + 2 : n;
  }
  const text = parts.join('');
  const end = endWithoutTrailingEmptyLines(text, text.length);
  return end === 0 ? '' : `${text.slice(0, end)}\r\n`;
}
