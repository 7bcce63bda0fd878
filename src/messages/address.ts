/**
 * Address lists of RFC 5322 §3.4 (From, To, Reply-To): display names, angle addresses, comments
 * (nested, RFC 5322 §3.2.2), quoted strings, groups. Comparison helpers for the challenge check.
 *
 * Deviations: the obsolete route syntax (`<@relay:user@host>`, §4.4) is refused, not parsed;
 * addresses are compared with the domain case-insensitive and, on purpose, the local part
 * case-insensitive too (see `sameAddress`).
 */
import { decodeEncodedWords, binaryToUtf8 } from './rfc2047';

export interface Mailbox {
  /** Display name, decoded (may be empty). */
  readonly name: string;
  /** `local@domain`; the local part unquoted when it is a dot-atom. */
  readonly address: string;
  readonly local: string;
  /** The domain, lower-cased. */
  readonly domain: string;
}

/** Thrown for an address list we cannot read unambiguously. */
export class AddressParseError extends Error {
  override readonly name = 'AddressParseError';
}

type Token = { readonly kind: 'atom' | 'quoted' | 'literal'; readonly text: string } | { readonly kind: 'special'; readonly text: string };

const SPECIALS = '()<>[]:;@\\,."';
/** Depth of nested comments accepted; stops stack and CPU abuse by "((((((…". */
const MAX_COMMENT_DEPTH = 16;
/** Mailboxes per field; stops quadratic work on a To: with thousands of recipients. */
const MAX_MAILBOXES = 256;
/** Tokens per field; keeps every pass over one field linear and small. */
const MAX_TOKENS = 4096;

function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < input.length) {
    const ch = input[i]!;
    if (ch === ' ' || ch === '\t' || ch === '\r' || ch === '\n') {
      i++;
    } else if (ch === '(') {
      let depth = 0;
      do {
        const c = input[i];
        if (c === undefined) throw new AddressParseError('unterminated comment');
        if (c === '\\') i++;
        else if (c === '(') {
          depth++;
          if (depth > MAX_COMMENT_DEPTH) throw new AddressParseError('comments nested too deeply');
        } else if (c === ')') depth--;
        i++;
      } while (depth > 0);
    } else if (ch === '"') {
      let text = '';
      i++;
      for (;;) {
        const c = input[i];
        if (c === undefined) throw new AddressParseError('unterminated quoted string');
        if (c === '"') break;
        if (c === '\\') {
          i++;
          const next = input[i];
          if (next === undefined) throw new AddressParseError('unterminated quoted string');
          text += next;
        } else if (c !== '\r' && c !== '\n') text += c;
        i++;
      }
      i++;
      tokens.push({ kind: 'quoted', text });
    } else if (ch === '[') {
      const end = input.indexOf(']', i);
      if (end < 0) throw new AddressParseError('unterminated domain literal');
      tokens.push({ kind: 'literal', text: input.slice(i, end + 1) });
      i = end + 1;
    } else if (SPECIALS.includes(ch)) {
      tokens.push({ kind: 'special', text: ch });
      i++;
    } else {
      let j = i;
      while (j < input.length && !SPECIALS.includes(input[j]!) && !' \t\r\n'.includes(input[j]!)) j++;
      tokens.push({ kind: 'atom', text: input.slice(i, j) });
      i = j;
    }
  }
  return tokens;
}

const isSpecial = (t: Token | undefined, text: string): boolean => t?.kind === 'special' && t.text === text;

const DOT_ATOM = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~\x80-\uffff-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~\x80-\uffff-]+)*$/;

/** The local part as it must be written: bare when a dot-atom, else quoted (RFC 5322 §3.4.1). */
function quoteLocal(local: string): string {
  return DOT_ATOM.test(local) ? local : `"${local.replace(/(["\\])/g, '\\$1')}"`;
}

function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

/** addr-spec (RFC 5322 §3.4.1) from its tokens. */
function addrSpec(tokens: readonly Token[]): { address: string; local: string; domain: string } {
  const at = tokens.findIndex((t) => isSpecial(t, '@'));
  if (at <= 0 || at === tokens.length - 1) throw new AddressParseError('an address needs "local@domain"');
  let local = '';
  for (const t of tokens.slice(0, at)) {
    if (t.kind === 'special' && t.text !== '.') throw new AddressParseError(`unexpected "${t.text}" in a local part`);
    else if (t.kind === 'literal') throw new AddressParseError('a domain literal cannot be a local part');
    local += t.text;
  }
  const domainTokens = tokens.slice(at + 1);
  let domain = '';
  for (const t of domainTokens) {
    if (t.kind === 'quoted' || (t.kind === 'special' && t.text !== '.')) throw new AddressParseError(`unexpected "${t.text}" in a domain`);
    domain += t.text;
  }
  if (domainTokens[0]?.kind !== 'literal' && !/^[^.]+(?:\.[^.]+)*$/.test(domain)) throw new AddressParseError(`"${domain}" is not a domain`);
  if (local === '') throw new AddressParseError('empty local part');
  // Control characters have no place in an address we might write into a reply's header.
  if (hasControlCharacter(local) || hasControlCharacter(domain)) throw new AddressParseError('control characters in an address');
  const utfLocal = binaryToUtf8(local);
  const utfDomain = binaryToUtf8(domain).toLowerCase();
  const shownLocal = quoteLocal(utfLocal);
  return { address: `${shownLocal}@${utfDomain}`, local: utfLocal, domain: utfDomain };
}

function displayName(tokens: readonly Token[]): string {
  // Atoms and quoted strings are joined by one space; encoded-words decode in both (see rfc2047.ts).
  return decodeEncodedWords(tokens.map((t) => t.text).join(' ')).trim();
}

function mailbox(tokens: readonly Token[]): Mailbox {
  const open = tokens.findIndex((t) => isSpecial(t, '<'));
  if (open < 0) return { name: '', ...addrSpec(tokens) };
  const close = tokens.findIndex((t) => isSpecial(t, '>'));
  if (close < open || close !== tokens.length - 1) throw new AddressParseError('"<" without a matching final ">"');
  const inner = tokens.slice(open + 1, close);
  if (isSpecial(inner[0], '@')) throw new AddressParseError('obsolete source routes are not accepted');
  return { name: displayName(tokens.slice(0, open)), ...addrSpec(inner) };
}

/** Splits on top-level commas (outside angle brackets). */
function splitList(tokens: readonly Token[]): Token[][] {
  const parts: Token[][] = [];
  let current: Token[] = [];
  let angle = 0;
  for (const t of tokens) {
    if (isSpecial(t, '<')) angle++;
    else if (isSpecial(t, '>')) angle--;
    if (angle === 0 && isSpecial(t, ',')) {
      parts.push(current);
      current = [];
    } else current.push(t);
  }
  parts.push(current);
  return parts.filter((p) => p.length > 0); // RFC 5322 §4.4 allows empty list elements
}

/**
 * Parses an address-list (RFC 5322 §3.4) from an unfolded field value (binary string). Groups
 * contribute their members. Throws AddressParseError when the list is not readable.
 */
export function parseAddressList(value: string): Mailbox[] {
  const tokens = tokenize(value);
  if (tokens.length > MAX_TOKENS) throw new AddressParseError(`more than ${MAX_TOKENS} tokens in one address field`);
  const out: Mailbox[] = [];
  // Groups ("name: a@b, c@d;") contribute their members; one linear pass drops each group's
  // display name and turns its closing ";" into a list separator.
  const flat: Token[] = [];
  let segmentStart = 0;
  let inGroup = false;
  let angle = 0;
  for (const t of tokens) {
    if (isSpecial(t, '<')) angle++;
    else if (isSpecial(t, '>')) angle--;
    if (angle === 0 && !inGroup && isSpecial(t, ':')) {
      flat.length = segmentStart;
      inGroup = true;
    } else if (angle === 0 && inGroup && isSpecial(t, ';')) {
      inGroup = false;
      flat.push({ kind: 'special', text: ',' });
      segmentStart = flat.length;
    } else {
      flat.push(t);
      if (angle === 0 && isSpecial(t, ',')) segmentStart = flat.length;
    }
  }
  if (inGroup) throw new AddressParseError('a group without its closing ";"');
  for (const part of splitList(flat)) {
    out.push(mailbox(part));
    if (out.length > MAX_MAILBOXES) throw new AddressParseError(`more than ${MAX_MAILBOXES} addresses`);
  }
  return out;
}

/**
 * Address equality for the challenge check. The domain is case-insensitive (RFC 5321 §2.4);
 * the local part is compared case-insensitively too: Thunderbird identities and CA
 * configurations differ in case in practice, and no provider we know of hands two case-variants
 * of one local part to different people.
 */
export function sameAddress(a: string, b: string): boolean {
  return a.trim().toLowerCase() === b.trim().toLowerCase();
}

/** The domain of a bare `local@domain` address, lower-cased (the last "@" separates it). */
export function domainOf(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1).toLowerCase();
}
