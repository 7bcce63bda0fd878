/**
 * CSR checks at finalize (RFC 8555 §7.4, RFC 2986 PKCS #10), for mailbox certificates as RFC 8823
 * §3.3 and the CA/B Forum S/MIME BR strict profile want them. Every refusal is `badCSR` with the
 * reason, so a client bug shows up as a readable test failure.
 *
 * What passes: a self-signature that verifies (checked with Node's crypto over the original
 * DER of certificationRequestInfo, not a re-encoding); an RSA key of 2048–8192 bits or an EC
 * P-256/P-384 key that is not the account key; a subject that is empty or only CN/emailAddress
 * naming one of the order's mailboxes; one extensionRequest attribute and no other; in it exactly a
 * subjectAltName whose names are the order's mailboxes (rfc822Name, or otherName SmtpUTF8Mailbox
 * per RFC 9598 when the local part is not ASCII) and a keyUsage asking for signing
 * (digitalSignature, optionally nonRepudiation), encryption (RSA keyEncipherment, EC
 * keyAgreement) or both. Any other extension is refused: the CA decides EKU and policies.
 * Deviation: RSASSA-PSS signed CSRs are refused (not needed by this project's clients).
 */
import { createPublicKey, verify as cryptoVerify, type KeyObject } from 'node:crypto';
// @peculiar/x509 resolves its providers through tsyringe, which needs this polyfill loaded first.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { AsnConvert } from '@peculiar/asn1-schema';
import { SubjectAlternativeName } from '@peculiar/asn1-x509';
import { fromBER, Utf8String } from 'asn1js';
import { AcmeProblem } from './problem';
import { needsSmtpUtf8, OID } from '../pki';

export interface CheckedCsr {
  readonly spki: Uint8Array<ArrayBuffer>;
  readonly keyUsage: x509.KeyUsageFlags;
}

const SIGNATURE_HASH: Readonly<Record<string, string>> = {
  '1.2.840.10045.4.3.2': 'sha256', '1.2.840.10045.4.3.3': 'sha384', '1.2.840.10045.4.3.4': 'sha512',
  '1.2.840.113549.1.1.11': 'sha256', '1.2.840.113549.1.1.12': 'sha384', '1.2.840.113549.1.1.13': 'sha512',
};
const EXTENSION_REQUEST = '1.2.840.113549.1.9.14';
const EMAIL_ADDRESS_ATTR = '1.2.840.113549.1.9.1';
const KU = x509.KeyUsageFlags;

function bad(detail: string, cause?: unknown): AcmeProblem {
  return new AcmeProblem('badCSR', detail, cause === undefined ? {} : { cause });
}

/** One DER TLV: its full bytes and its content. Only definite lengths (DER). */
interface Tlv { readonly tag: number; readonly full: Buffer; readonly content: Buffer }

function readTlv(buf: Buffer, offset: number): Tlv {
  const tag = buf[offset];
  let length = buf[offset + 1];
  if (tag === undefined || length === undefined) throw bad('CSR DER is truncated');
  let header = 2;
  if (length & 0x80) {
    const n = length & 0x7f;
    if (n === 0 || n > 3) throw bad('CSR DER uses an indefinite or oversized length');
    length = 0;
    for (let i = 0; i < n; i++) length = (length << 8) | (buf[offset + 2 + i] ?? 0);
    header += n;
  }
  const end = offset + header + length;
  if (end > buf.length) throw bad('CSR DER is truncated');
  return { tag, full: buf.subarray(offset, end), content: buf.subarray(offset + header, end) };
}

function children(tlv: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let offset = 0; offset < tlv.content.length; ) {
    const child = readTlv(tlv.content, offset);
    out.push(child);
    offset += child.full.length;
  }
  return out;
}

function sameMailbox(a: string, b: string): boolean {
  const [la, da] = splitAddress(a);
  const [lb, db] = splitAddress(b);
  // RFC 5321 §2.4: the local part is case-sensitive for the CA's purposes; the domain is not.
  return la === lb && da.toLowerCase() === db.toLowerCase();
}

function splitAddress(address: string): [string, string] {
  const at = address.lastIndexOf('@');
  return [address.slice(0, at), address.slice(at + 1)];
}

/**
 * RFC 8555 §7.4 finalize: checks `csrDer` against the order's mailbox identifiers and the account
 * key; throws AcmeProblem(badCSR) with the reason on the first failure.
 */
export function checkCsr(csrDer: Buffer, emails: readonly string[], accountKey: KeyObject): CheckedCsr {
  // --- structure and self-signature, on the original bytes
  const outer = readTlv(csrDer, 0);
  if (outer.tag !== 0x30 || outer.full.length !== csrDer.length) throw bad('CSR is not one DER SEQUENCE');
  const [info, sigAlg, sigBits] = children(outer);
  if (!info || !sigAlg || !sigBits || sigBits.tag !== 0x03) throw bad('CSR is not certificationRequestInfo, signatureAlgorithm, signature');
  const infoParts = children(info);
  const spkiTlv = infoParts[2];
  if (!spkiTlv) throw bad('certificationRequestInfo has no subjectPKInfo');
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(new Uint8Array(csrDer));
  } catch (cause) {
    throw bad(`CSR does not parse: ${String(cause)}`, cause);
  }
  const hashOid = oidOfSignature(sigAlg);
  const hash = SIGNATURE_HASH[hashOid];
  if (!hash) throw bad(`CSR signature algorithm ${hashOid} is not accepted (ECDSA or RSA PKCS#1 v1.5 with SHA-2)`);
  let key: KeyObject;
  try {
    key = createPublicKey({ key: spkiTlv.full, format: 'der', type: 'spki' });
  } catch (cause) {
    throw bad(`CSR public key does not parse: ${String(cause)}`, cause);
  }
  const signature = sigBits.content.subarray(1); // skip the unused-bits byte
  if (!cryptoVerify(hash, info.full, key, signature)) throw bad('CSR self-signature does not verify');

  // --- key
  const details = key.asymmetricKeyDetails;
  if (key.asymmetricKeyType === 'rsa') {
    const bits = details?.modulusLength ?? 0;
    if (bits < 2048 || bits > 8192 || bits % 8 !== 0) throw bad(`RSA key of ${bits} bits; this CA needs 2048–8192 bits, a multiple of 8`);
  } else if (key.asymmetricKeyType === 'ec') {
    if (details?.namedCurve !== 'prime256v1' && details?.namedCurve !== 'secp384r1') throw bad(`EC curve ${details?.namedCurve ?? '?'} is not accepted (P-256 or P-384)`);
  } else {
    throw bad(`key type ${key.asymmetricKeyType ?? '?'} is not accepted (RSA or EC P-256/P-384)`);
  }
  if (key.equals(accountKey)) throw bad('the CSR key is the account key; use a separate key for the certificate');

  // --- subject: empty, or only CN / emailAddress naming an ordered mailbox
  for (const rdn of csr.subjectName.toJSON()) {
    for (const [type, values] of Object.entries(rdn)) {
      const isCn = type === 'CN' || type === '2.5.4.3';
      const isEmail = type === 'E' || type === 'emailAddress' || type === EMAIL_ADDRESS_ATTR;
      if (!isCn && !isEmail) throw bad(`subject attribute ${type} is not allowed in a mailbox-validated certificate`);
      for (const value of values) {
        if (!emails.some((email) => sameMailbox(email, value))) throw bad(`subject ${type}=${value} is not one of the order's mailboxes`);
      }
    }
  }

  // --- attributes and extensions
  for (const attribute of csr.attributes) {
    if (attribute.type !== EXTENSION_REQUEST) throw bad(`CSR attribute ${attribute.type} is not allowed (only extensionRequest)`);
  }
  if (csr.attributes.length > 1) throw bad('CSR has more than one extensionRequest attribute');
  let san: SubjectAlternativeName | undefined;
  let keyUsage: x509.KeyUsageFlags | undefined;
  const seen = new Set<string>();
  for (const extension of csr.extensions) {
    if (seen.has(extension.type)) throw bad(`extension ${extension.type} appears twice`);
    seen.add(extension.type);
    if (extension.type === OID.subjectAltName) {
      try {
        san = AsnConvert.parse(extension.value, SubjectAlternativeName);
      } catch (cause) {
        throw bad('subjectAltName does not parse', cause);
      }
    } else if (extension.type === OID.keyUsage) {
      keyUsage = new x509.KeyUsagesExtension(extension.rawData).usages;
    } else {
      throw bad(`extension ${extension.type} is not allowed; the CA sets everything but subjectAltName and keyUsage`);
    }
  }
  if (!san) throw bad('CSR has no subjectAltName; it must list the order\'s mailboxes');
  checkSan(san, emails);
  if (keyUsage === undefined) throw bad('CSR has no keyUsage; RFC 8823 §3.3 uses it to choose signing, encryption or both');
  checkKeyUsage(keyUsage, key.asymmetricKeyType === 'rsa');
  return { spki: new Uint8Array(spkiTlv.full), keyUsage };
}

/** The algorithm OID of an AlgorithmIdentifier, decoded from DER (X.690 §8.19). */
function oidOfSignature(sigAlg: Tlv): string {
  const oid = children(sigAlg)[0];
  if (oid?.tag !== 0x06 || oid.content.length === 0) return '?';
  const arcs: number[] = [];
  let value = 0;
  for (const byte of oid.content) {
    value = value * 128 + (byte & 0x7f);
    if ((byte & 0x80) === 0) {
      if (arcs.length === 0) arcs.push(value < 80 ? Math.floor(value / 40) : 2, value < 80 ? value % 40 : value - 80);
      else arcs.push(value);
      value = 0;
    }
  }
  return arcs.join('.');
}

function checkSan(san: SubjectAlternativeName, emails: readonly string[]): void {
  const found: string[] = [];
  for (const name of san) {
    if (name.rfc822Name !== undefined) {
      if (needsSmtpUtf8(name.rfc822Name)) throw bad(`rfc822Name ${name.rfc822Name} is not ASCII; use SmtpUTF8Mailbox (RFC 9598)`);
      found.push(name.rfc822Name);
    } else if (name.otherName?.typeId === OID.smtpUtf8Mailbox) {
      const parsed = fromBER(name.otherName.value);
      if (!(parsed.result instanceof Utf8String)) throw bad('SmtpUTF8Mailbox value is not a UTF8String');
      const value = parsed.result.getValue();
      if (!needsSmtpUtf8(value.slice(0, value.lastIndexOf('@')))) throw bad(`SmtpUTF8Mailbox ${value} has an ASCII local part; use rfc822Name (RFC 9598 §3)`);
      found.push(value);
    } else {
      throw bad('subjectAltName may only hold rfc822Name or SmtpUTF8Mailbox names');
    }
  }
  for (const email of emails) {
    const count = found.filter((f) => sameMailbox(f, email)).length;
    if (count !== 1) throw bad(count === 0 ? `subjectAltName lacks the ordered mailbox ${email}` : `subjectAltName lists ${email} twice`);
  }
  const extra = found.filter((f) => !emails.some((email) => sameMailbox(f, email)));
  if (extra.length > 0) throw bad(`subjectAltName names ${extra.join(', ')}, which the order does not hold`);
}

function checkKeyUsage(usage: number, rsa: boolean): void {
  const encryptBit = rsa ? KU.keyEncipherment : KU.keyAgreement;
  const allowed = KU.digitalSignature | KU.nonRepudiation | encryptBit;
  if ((usage & ~allowed) !== 0) {
    throw bad(`keyUsage ${usage} has bits a ${rsa ? 'RSA' : 'EC'} mailbox certificate cannot carry (allowed: digitalSignature, nonRepudiation, ${rsa ? 'keyEncipherment' : 'keyAgreement'})`);
  }
  if ((usage & (KU.digitalSignature | encryptBit)) === 0) throw bad('keyUsage asks for neither signing (digitalSignature) nor encryption');
}
