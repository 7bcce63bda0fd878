/**
 * Certificate requests (PKCS #10, RFC 2986) for S/MIME mailbox certificates.
 * Subject: CN = the first address (RFC 8550 §3 leaves the subject to the CA; CN is what
 * Thunderbird shows), UTF8String. Extensions requested (RFC 2985 §5.4.2 extensionRequest):
 * subjectAltName with one entry per address — rfc822Name (RFC 5280 §4.2.1.6) for ASCII local
 * parts, otherName SmtpUTF8Mailbox (RFC 9598 §3) otherwise — and a critical keyUsage
 * (RFC 8550 §4.4.2) chosen from sign / encrypt / both: digitalSignature (+ nonRepudiation when
 * asked), keyEncipherment for RSA, keyAgreement for EC (RFC 8551 §2.3 / RFC 5753). Nothing else:
 * the CA decides EKU, validity and policies.
 * Known deviation: when the first address is longer than 64 characters (ub-common-name,
 * RFC 5280 Appendix A) the subject is left empty and subjectAltName is marked critical, as
 * RFC 5280 §4.2.1.6 requires for an empty subject.
 * Signatures: sha256WithRSAEncryption (RFC 4055), ecdsa-with-SHA256 / -SHA384 (RFC 5758 §3.2).
 */
import { asciiBytes, bitString, booleanTrue, explicit, nullValue, octetString, oid, sequence, setOf, tlv, unsignedInteger, utf8String, integer, type Der } from './der';
import { InvalidMailboxError } from './errors';
import { describeKey, signatureParams, type KeyDescription } from './keys';
import { parseMailbox, type CertificateMailbox } from './mailbox';
import { OID } from './oids';
import type { Usage } from '../common/vocabulary';

export interface CsrOptions {
  readonly keys: CryptoKeyPair;
  /** One or more mailbox addresses; the first becomes the subject CN. */
  readonly emails: readonly string[];
  readonly usage: Usage;
  /** Adds nonRepudiation (contentCommitment) to a signing certificate. */
  readonly nonRepudiation?: boolean;
}

const EXTENSION_REQUEST = '1.2.840.113549.1.9.14';
const UB_COMMON_NAME = 64;

/** Key usage names in the order of their bit in RFC 5280 §4.2.1.3. */
export const KEY_USAGE_BITS = ['digitalSignature', 'nonRepudiation', 'keyEncipherment', 'dataEncipherment', 'keyAgreement', 'keyCertSign', 'cRLSign', 'encipherOnly', 'decipherOnly'] as const;
export type KeyUsageName = (typeof KEY_USAGE_BITS)[number];

/** The key usages a certificate of this kind needs (RFC 8550 §4.4.2, RFC 8551 §2.3). */
export function keyUsagesFor(key: KeyDescription, usage: Usage, nonRepudiation = false): KeyUsageName[] {
  const names: KeyUsageName[] = [];
  if (usage !== 'encrypt') names.push('digitalSignature', ...(nonRepudiation ? (['nonRepudiation'] as const) : []));
  if (usage !== 'sign') names.push(key.kind === 'RSA' ? 'keyEncipherment' : 'keyAgreement');
  return names;
}

/** KeyUsage as a DER named-bit BIT STRING: trailing zero bits dropped (X.690 §11.2.2). */
function keyUsageValue(names: readonly KeyUsageName[]): Der {
  const bits = names.map((n) => KEY_USAGE_BITS.indexOf(n));
  const highest = Math.max(...bits);
  const bytes = new Uint8Array(Math.ceil((highest + 1) / 8));
  for (const b of bits) bytes[b >> 3]! |= 0x80 >> (b & 7);
  return bitString(bytes, bytes.length * 8 - (highest + 1));
}

function generalName(m: CertificateMailbox): Der {
  // otherName is [0] IMPLICIT SEQUENCE { type-id, [0] EXPLICIT value }; rfc822Name is [1] IMPLICIT IA5String.
  if (m.asciiLocalPart) return tlv(0x81, asciiBytes(m.certificateForm));
  return tlv(0xa0, oid(OID.smtpUtf8Mailbox), explicit(0, utf8String(m.certificateForm)));
}

/** WebCrypto ECDSA signatures are r‖s (IEEE P1363); X.509 wants Ecdsa-Sig-Value (RFC 5480 §2.2 / RFC 3279 §2.2.3). */
function ecdsaToDer(raw: Uint8Array): Der {
  const half = raw.length / 2;
  return sequence(unsignedInteger(raw.subarray(0, half)), unsignedInteger(raw.subarray(half)));
}

/** Validates every address first; duplicates are refused so a typo cannot hide. */
export function parseMailboxes(emails: readonly string[]): CertificateMailbox[] {
  if (emails.length === 0) throw new InvalidMailboxError('', 'at least one address is needed');
  const mailboxes = emails.map(parseMailbox);
  const seen = new Set<string>();
  mailboxes.forEach((m, i) => {
    const key = `${m.localPart}@${m.asciiDomain}`;
    if (seen.has(key)) throw new InvalidMailboxError(emails[i]!, 'the address is given twice');
    seen.add(key);
  });
  return mailboxes;
}

/** Builds and signs a PKCS #10 request (RFC 2986 §4) for the given addresses; returns DER. */
export async function createCsr(options: CsrOptions, crypto: Crypto): Promise<Uint8Array<ArrayBuffer>> {
  const mailboxes = parseMailboxes(options.emails);
  const key = describeKey(options.keys.privateKey);
  const first = mailboxes[0]!;
  const cn = first.asciiLocalPart ? first.certificateForm : first.display;
  // ub-common-name counts characters; code points are what a UTF8String's characters are.
  const withCn = Array.from(cn).length <= UB_COMMON_NAME;
  const subject = withCn ? sequence(setOf(sequence(oid(OID.commonName), utf8String(cn)))) : sequence();
  const san = sequence(...mailboxes.map(generalName));
  const extensions = sequence(
    sequence(oid(OID.subjectAltName), ...(withCn ? [] : [booleanTrue()]), octetString(san)),
    sequence(oid(OID.keyUsage), booleanTrue(), octetString(keyUsageValue(keyUsagesFor(key, options.usage, options.nonRepudiation)))),
  );
  const spki = new Uint8Array(await crypto.subtle.exportKey('spki', options.keys.publicKey));
  const info = sequence(integer(0), subject, spki, tlv(0xa0, sequence(oid(EXTENSION_REQUEST), setOf(extensions))));
  const params = signatureParams(key);
  const signature = new Uint8Array(await crypto.subtle.sign(params, options.keys.privateKey, info));
  const sigAlg =
    key.kind === 'RSA'
      ? sequence(oid('1.2.840.113549.1.1.11'), nullValue())
      : sequence(oid(key.curve === 'P-384' ? '1.2.840.10045.4.3.3' : '1.2.840.10045.4.3.2'));
  return sequence(info, sigAlg, bitString(key.kind === 'RSA' ? signature : ecdsaToDer(signature)));
}
