/**
 * Authentication-Results header fields (RFC 8601 §2.2): who checked what, with which result.
 *
 * Anyone can write this field, so it is only ever *trusted* for an authserv-id the user
 * configured for their own provider (RFC 8601 §5, §7.1), and then only a field that the
 * provider itself wrote on delivery: one standing ABOVE the topmost `Received:` field, the
 * topmost such field if there are several. RFC 8601 §5 has the receiving MTA add its field at
 * the top of the header, and every relay that handed the mail on prepended a `Received:`
 * (RFC 5321 §4.4), so anything the sender or a relay wrote lies below the provider's own
 * `Received:`. A matching field below the topmost `Received:` is ignored — even when the
 * provider stamped nothing of its own, and even when it "does not strip forged copies" (§5 says
 * it SHOULD) — and a message without any `Received:` has no trusted field at all (fail closed).
 *
 * Consequence: a provider that adds further `Received:` fields above its own
 * Authentication-Results (an internal hop, a local delivery agent) is not trusted; the mail
 * then waits for our own DKIM check. That is the safe side of the trade.
 *
 * Deviations: the optional version after the authserv-id and after a method are parsed and
 * ignored; a field that does not parse is ignored rather than failing the message.
 */
import { unfold, type ParsedMessage } from './rfc5322';

export interface AuthResult {
  /** Method, lower-cased: `dkim`, `spf`, `dmarc`, … */
  readonly method: string;
  /** Result, lower-cased (RFC 8601 §2.7). */
  readonly result: string;
  readonly reason: string | null;
  /** `ptype.property` (lower-cased) → value, e.g. `header.d` → `ca.example`. */
  readonly properties: Readonly<Record<string, string>>;
}

export interface AuthenticationResults {
  readonly authservId: string;
  readonly results: readonly AuthResult[];
}

/** Removes RFC 5322 comments outside quoted strings (nesting bounded by the input length). */
function stripComments(text: string): string {
  let out = '';
  let depth = 0;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\\' && (quoted || depth > 0)) {
      if (depth === 0) out += c + (text[i + 1] ?? '');
      i++;
    } else if (quoted) {
      out += c;
      if (c === '"') quoted = false;
    } else if (c === '(') depth++;
    else if (c === ')' && depth > 0) depth--;
    else if (depth === 0) {
      if (c === '"') quoted = true;
      out += c;
    }
  }
  return out;
}

/** Splits on a separator outside quoted strings. */
function splitOutsideQuotes(text: string, separator: RegExp): string[] {
  const parts: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\\' && quoted) {
      current += c + (text[i + 1] ?? '');
      i++;
      continue;
    }
    if (c === '"') quoted = !quoted;
    if (!quoted && separator.test(c)) {
      parts.push(current);
      current = '';
    } else current += c;
  }
  parts.push(current);
  return parts.map((p) => p.trim()).filter((p) => p !== '');
}

function unquote(value: string): string {
  return value.startsWith('"') && value.endsWith('"') && value.length >= 2 ? value.slice(1, -1).replace(/\\(.)/g, '$1') : value;
}

/** Parses one Authentication-Results value (RFC 8601 §2.2); null when it is not readable. */
export function parseAuthenticationResults(value: string): AuthenticationResults | null {
  const segments = splitOutsideQuotes(stripComments(unfold(value)), /;/);
  const head = segments[0];
  if (head === undefined) return null;
  const authservId = unquote(head.split(/\s+/)[0]!).toLowerCase();
  if (authservId === '') return null;
  const results: AuthResult[] = [];
  for (const segment of segments.slice(1)) {
    if (segment.toLowerCase() === 'none') continue;
    const words = splitOutsideQuotes(segment, /\s/);
    const first = words[0];
    const eq = first?.indexOf('=') ?? -1;
    if (!first || eq <= 0) continue;
    const method = first.slice(0, eq).split('/')[0]!.toLowerCase();
    const result = first.slice(eq + 1).toLowerCase();
    let reason: string | null = null;
    const properties: Record<string, string> = {};
    for (const word of words.slice(1)) {
      const i = word.indexOf('=');
      if (i <= 0) continue;
      const name = word.slice(0, i).toLowerCase();
      const v = unquote(word.slice(i + 1));
      if (name === 'reason') reason = v;
      else if (name.includes('.')) properties[name] = v;
    }
    results.push({ method, result, reason, properties });
  }
  return { authservId, results };
}

/**
 * The trusted Authentication-Results of a message (RFC 8601 §5): the topmost field above the
 * topmost `Received:` whose authserv-id is one of `trusted` (case-insensitive). Null when there
 * is none — when the list is empty, when the message has no `Received:`, and when every field
 * with a trusted authserv-id stands below a `Received:` (the sender or a relay wrote it).
 */
export function trustedAuthenticationResults(message: ParsedMessage, trusted: readonly string[]): AuthenticationResults | null {
  const ids = new Set(trusted.map((t) => t.toLowerCase()).filter((t) => t !== ''));
  if (ids.size === 0) return null;
  const topmostReceived = message.fields.findIndex((f) => f.key === 'received');
  if (topmostReceived < 0) return null;
  for (const field of message.fields.slice(0, topmostReceived)) {
    if (field.key !== 'authentication-results') continue;
    const parsed = parseAuthenticationResults(field.value);
    if (parsed && ids.has(parsed.authservId)) return parsed;
  }
  return null;
}
