/**
 * Mailbox addresses as they go into an S/MIME certificate request.
 * Grammar: the dot-atom form of RFC 5322 §3.4.1 / RFC 5321 §4.1.2, extended to UTF-8 local parts
 * by RFC 6531 §3.3 (SMTPUTF8); length limits of RFC 5321 §4.5.3.1. The domain is converted to
 * A-labels with the WHATWG URL parser (UTS #46 ToASCII) — `new URL('http://' + domain).hostname`,
 * which Node and Thunderbird both have — and must then be an LDH host name (RFC 1123 §2.1).
 * Certificate forms (RFC 9598 §3, RFC 5280 §4.2.1.6): an ASCII local part gives an rfc822Name with
 * the domain in A-labels; a non-ASCII local part gives an SmtpUTF8Mailbox with the domain in
 * U-labels.
 * Deliberately refused although some RFC allows them: quoted-string local parts, domain literals
 * (`[192.0.2.1]`), single-label domains, local parts not in Unicode NFC, and control, format
 * (bidi overrides, zero-width joiners), private-use, unassigned and space characters — each can
 * make two different-looking addresses the same or the same-looking ones different.
 */
import { InvalidMailboxError } from './errors';
import { domainToUnicode, PunycodeError } from './punycode';

export interface CertificateMailbox {
  /** The local part, unchanged. */
  readonly localPart: string;
  /** The domain in lower-case A-labels ("xn--bcher-kva.example"). */
  readonly asciiDomain: string;
  /** The domain in U-labels ("bücher.example"). */
  readonly unicodeDomain: string;
  /** True when the local part is ASCII: the certificate carries an rfc822Name. */
  readonly asciiLocalPart: boolean;
  /** The address as the certificate carries it: local@A-labels for rfc822Name, local@U-labels for SmtpUTF8Mailbox. */
  readonly certificateForm: string;
  /** local@U-labels, for showing to the user. */
  readonly display: string;
}

const ATEXT_ASCII = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+$/;
// Control, format, surrogate, private-use, unassigned, and every kind of space or separator.
const FORBIDDEN_UNICODE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Z}]/u;
const LDH_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const utf8Length = (s: string): number => new TextEncoder().encode(s).length;

function checkLocalPart(address: string, local: string): boolean {
  const fail = (reason: string): never => {
    throw new InvalidMailboxError(address, reason);
  };
  if (local === '') fail('the local part (before the @) is empty');
  if (local.startsWith('"')) fail('quoted local parts are not supported');
  if (utf8Length(local) > 64) fail('the local part is longer than 64 bytes (RFC 5321 §4.5.3.1.1)');
  const ascii = Array.from(local).every((ch) => ch.charCodeAt(0) < 0x80);
  for (const atom of local.split('.')) {
    if (atom === '') fail('the local part has an empty dot-separated part (leading, trailing or double dot)');
    for (const ch of atom) {
      if (ch.charCodeAt(0) < 0x80) {
        if (!ATEXT_ASCII.test(ch)) fail(`the character "${ch}" is not allowed in a local part`);
      } else if (FORBIDDEN_UNICODE.test(ch)) {
        fail(`the character U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')} is not allowed in a local part`);
      }
    }
  }
  if (!ascii && local.normalize('NFC') !== local) fail('the local part is not in Unicode normalization form C');
  return ascii;
}

function toAsciiDomain(address: string, domain: string): string {
  const fail = (reason: string): never => {
    throw new InvalidMailboxError(address, reason);
  };
  if (domain === '') fail('the domain (after the @) is empty');
  if (domain.startsWith('[')) fail('address literals such as [192.0.2.1] are not supported');
  // Characters the URL parser would treat as syntax or silently percent-decode or drop.
  if (/[\s%/\\?#@:[\]<>^|"`{}]/.test(domain) || FORBIDDEN_UNICODE.test(domain)) fail('the domain contains a character that no domain name has');
  let host: string;
  try {
    host = new URL(`http://${domain}/`).hostname;
  } catch {
    return fail('the domain is not a valid internationalized domain name');
  }
  if (host.endsWith('.')) fail('the domain ends with a dot');
  const labels = host.split('.');
  if (labels.length < 2) fail('the domain has a single label; a mailbox needs a full domain name');
  if (host.length > 253) fail('the domain is longer than 253 characters');
  for (const label of labels) {
    if (!LDH_LABEL.test(label)) fail(`the domain label "${label}" is not a valid host name label`);
    // RFC 5891 §4.2.3.1: "--" in positions 3 and 4 is reserved for A-labels.
    if (label.slice(2, 4) === '--' && !label.startsWith('xn--')) fail(`the domain label "${label}" uses the reserved "--" form`);
  }
  if (/^[0-9]+$/.test(labels[labels.length - 1]!)) fail('the domain looks like an IP address');
  return host;
}

/** Parses and validates one mailbox address (RFC 5321 §4.1.2, RFC 6531 §3.3); throws InvalidMailboxError. */
export function parseMailbox(address: string): CertificateMailbox {
  const at = address.lastIndexOf('@');
  if (at < 0) throw new InvalidMailboxError(address, 'there is no @');
  const localPart = address.slice(0, at);
  const asciiLocalPart = checkLocalPart(address, localPart);
  const asciiDomain = toAsciiDomain(address, address.slice(at + 1));
  let unicodeDomain: string;
  try {
    unicodeDomain = domainToUnicode(asciiDomain);
  } catch (error) {
    if (error instanceof PunycodeError) throw new InvalidMailboxError(address, `the domain has an invalid A-label (${error.message})`);
    throw error;
  }
  const certificateForm = `${localPart}@${asciiLocalPart ? asciiDomain : unicodeDomain}`;
  if (utf8Length(`${localPart}@${asciiDomain}`) > 254) throw new InvalidMailboxError(address, 'the address is longer than 254 bytes (RFC 5321 §4.5.3.1.3)');
  return { localPart, asciiDomain, unicodeDomain, asciiLocalPart, certificateForm, display: `${localPart}@${unicodeDomain}` };
}
