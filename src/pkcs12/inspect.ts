/**
 * What the UI shows about a certificate (RFC 5280 §4.1): addresses (rfc822Name and RFC 9598
 * SmtpUTF8Mailbox from subjectAltName, plus a legacy PKCS #9 emailAddress in the subject),
 * key usage, extended key usage, issuer, serial, validity and the SHA-256 fingerprint.
 * Reading only; never a trust decision — NSS makes that when the certificate is used.
 */
import * as asn1js from 'asn1js';
import { bytesToHex } from '../common/encoding';
import { bitStringBytes, children, explicitContent, octets, oidOf, parseDer, setChildren, type Node } from './asn1';
import { CertificateError, Pkcs12FormatError } from './errors';
import { KEY_USAGE_BITS, type KeyUsageName } from './csr';
import { describeKeyInfo, type KeyDescription } from './keys';
import { OID } from './oids';
import { pemDecodeAll } from './pem';
import { domainToUnicode } from './punycode';

export interface CertificateAddress {
  /** As carried in the certificate (rfc822Name: A-label domain). */
  readonly address: string;
  /**
   * With the domain in U-labels, for showing only: compare `address` (a look-alike U-label
   * domain can display like another one; its A-label form cannot).
   */
  readonly display: string;
  readonly form: 'rfc822Name' | 'SmtpUTF8Mailbox' | 'subject emailAddress';
}

export interface InspectedCertificate {
  readonly subject: string;
  readonly issuer: string;
  /** Hex, upper case, as Thunderbird's certificate viewer shows it. */
  readonly serialNumber: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly addresses: readonly CertificateAddress[];
  readonly keyUsage: readonly KeyUsageName[];
  /** EKU OIDs; `emailProtection` is true when 1.3.6.1.5.5.7.3.4 (or anyExtendedKeyUsage) is present or EKU is absent. */
  readonly extendedKeyUsage: readonly string[];
  readonly emailProtection: boolean;
  readonly isCa: boolean;
  readonly publicKey: KeyDescription;
  /** SHA-256 of the DER, upper-case hex pairs joined by colons. */
  readonly sha256Fingerprint: string;
  readonly der: Uint8Array<ArrayBuffer>;
}

const ATTRIBUTE_NAMES: Record<string, string> = {
  '2.5.4.3': 'CN', '2.5.4.6': 'C', '2.5.4.7': 'L', '2.5.4.8': 'ST', '2.5.4.10': 'O', '2.5.4.11': 'OU', '2.5.4.5': 'serialNumber',
  '2.5.4.4': 'SN', '2.5.4.42': 'GN', '0.9.2342.19200300.100.1.25': 'DC', '0.9.2342.19200300.100.1.1': 'UID', [OID.emailAddress]: 'emailAddress',
};

function stringValue(node: Node | undefined): string {
  if (node instanceof asn1js.BaseStringBlock) return node.getValue();
  throw new Pkcs12FormatError('a name attribute that is not a string');
}

/** RFC 4514-style text of a Name, most significant RDN last, as OpenSSL's `-nameopt RFC2253` prints it. */
function nameText(name: Node | undefined): { text: string; emails: string[] } {
  const emails: string[] = [];
  const rdns = children(name, 'Name').map((rdn) =>
    setChildren(rdn, 'RelativeDistinguishedName')
      .map((atv) => {
        const [typeNode, valueNode] = children(atv, 'AttributeTypeAndValue');
        const type = oidOf(typeNode, 'attribute type');
        const value = stringValue(valueNode);
        if (type === OID.emailAddress) emails.push(value);
        const escaped = value.replace(/([,+"\\<>;])/g, '\\$1').replace(/^([ #])/, '\\$1').replace(/ $/, '\\ ');
        return `${ATTRIBUTE_NAMES[type] ?? type}=${escaped}`;
      })
      .join('+'),
  );
  return { text: rdns.reverse().join(', '), emails };
}

/** Upper-case hex, as Thunderbird's certificate viewer shows serials and fingerprints. */
function hex(bytes: Uint8Array, separator: string): string {
  return bytesToHex(bytes, separator).toUpperCase();
}

function timeOf(node: Node | undefined, what: string): Date {
  if (node instanceof asn1js.UTCTime || node instanceof asn1js.GeneralizedTime) return node.toDate();
  throw new Pkcs12FormatError(`${what}: expected a time`);
}

function sanAddresses(value: Uint8Array): CertificateAddress[] {
  const out: CertificateAddress[] = [];
  for (const gn of children(parseDer(value, 'subjectAltName'), 'GeneralNames')) {
    if (gn.idBlock.tagClass !== 3) continue;
    if (gn.idBlock.tagNumber === 1 && gn instanceof asn1js.Primitive) {
      const address = String.fromCharCode(...gn.valueBlock.valueHexView);
      const at = address.lastIndexOf('@');
      let display = address;
      try {
        display = at < 0 ? address : `${address.slice(0, at)}@${domainToUnicode(address.slice(at + 1))}`;
      } catch {
        // an invalid A-label is shown as it is
      }
      out.push({ address, display, form: 'rfc822Name' });
    } else if (gn.idBlock.tagNumber === 0 && gn instanceof asn1js.Constructed) {
      const [typeNode, valueNode] = gn.valueBlock.value;
      if (oidOf(typeNode, 'otherName type-id') !== OID.smtpUtf8Mailbox) continue;
      const [inner] = explicitContent(valueNode, 0, 'otherName value');
      if (!(inner instanceof asn1js.Utf8String)) throw new Pkcs12FormatError('SmtpUTF8Mailbox is not a UTF8String');
      const address = inner.valueBlock.value;
      out.push({ address, display: address, form: 'SmtpUTF8Mailbox' });
    }
  }
  return out;
}

function keyUsageNames(value: Uint8Array): KeyUsageName[] {
  const node = parseDer(value, 'keyUsage');
  if (!(node instanceof asn1js.BitString)) throw new Pkcs12FormatError('keyUsage is not a BIT STRING');
  const bytes = node.valueBlock.valueHexView;
  return KEY_USAGE_BITS.filter((_, i) => ((bytes[i >> 3] ?? 0) & (0x80 >> (i & 7))) !== 0);
}

/** Accepts DER or PEM (the first CERTIFICATE block). */
export function certificateDer(input: Uint8Array | string): Uint8Array<ArrayBuffer> {
  if (typeof input !== 'string') return new Uint8Array(input);
  const block = pemDecodeAll(input).find((b) => b.label === 'CERTIFICATE');
  if (!block) throw new CertificateError('no CERTIFICATE PEM block');
  return block.der;
}

/** Summarizes a certificate for display (RFC 5280 §4.1.2, §4.2.1.3, §4.2.1.6, §4.2.1.12). */
export async function inspectCertificate(input: Uint8Array | string, crypto: Crypto): Promise<InspectedCertificate> {
  const der = certificateDer(input);
  try {
    const [tbsNode] = children(parseDer(der, 'certificate'), 'Certificate');
    const tbs = children(tbsNode, 'TBSCertificate');
    const o = tbs[0] && tbs[0].idBlock.tagClass === 3 && tbs[0].idBlock.tagNumber === 0 ? 1 : 0;
    const serialNode = tbs[o];
    if (!(serialNode instanceof asn1js.Integer)) throw new Pkcs12FormatError('serialNumber is not an INTEGER');
    const issuer = nameText(tbs[o + 2]);
    const [notBefore, notAfter] = children(tbs[o + 3], 'Validity');
    const subject = nameText(tbs[o + 4]);
    const spki = tbs[o + 5];
    if (!spki) throw new Pkcs12FormatError('certificate without subjectPublicKeyInfo');
    bitStringBytes(children(spki, 'SubjectPublicKeyInfo')[1], 'subjectPublicKey');
    const addresses: CertificateAddress[] = [];
    let keyUsage: KeyUsageName[] = [];
    let eku: string[] | undefined;
    let isCa = false;
    const extNode = tbs.slice(o + 6).find((n) => n.idBlock.tagClass === 3 && n.idBlock.tagNumber === 3);
    for (const ext of extNode ? children(explicitContent(extNode, 3, 'extensions')[0], 'Extensions') : []) {
      const fields = children(ext, 'Extension');
      const id = oidOf(fields[0], 'extnID');
      const value = octets(fields[fields.length - 1], 'extnValue');
      if (id === OID.subjectAltName) addresses.push(...sanAddresses(value));
      else if (id === OID.keyUsage) keyUsage = keyUsageNames(value);
      else if (id === OID.extKeyUsage) eku = children(parseDer(value, 'extKeyUsage'), 'ExtKeyUsageSyntax').map((n) => oidOf(n, 'KeyPurposeId'));
      else if (id === OID.basicConstraints) {
        const first = children(parseDer(value, 'basicConstraints'), 'BasicConstraints')[0];
        isCa = first instanceof asn1js.Boolean && first.getValue();
      }
    }
    for (const email of subject.emails) {
      if (!addresses.some((a) => a.address.toLowerCase() === email.toLowerCase())) addresses.push({ address: email, display: email, form: 'subject emailAddress' });
    }
    const fingerprint = new Uint8Array(await crypto.subtle.digest('SHA-256', der));
    return {
      subject: subject.text,
      issuer: issuer.text,
      serialNumber: hex(serialNode.valueBlock.valueHexView, ''),
      notBefore: timeOf(notBefore, 'notBefore'),
      notAfter: timeOf(notAfter, 'notAfter'),
      addresses,
      keyUsage,
      extendedKeyUsage: eku ?? [],
      emailProtection: eku === undefined || eku.includes(OID.emailProtection) || eku.includes('2.5.29.37.0'),
      isCa,
      publicKey: describeKeyInfo(spki.valueBeforeDecodeView, 'public'),
      sha256Fingerprint: hex(fingerprint, ':'),
      der,
    };
  } catch (error) {
    if (error instanceof CertificateError) throw error;
    throw new CertificateError(`cannot read the certificate: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}
