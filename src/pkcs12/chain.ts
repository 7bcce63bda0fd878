/**
 * The issuing chain of a certificate, read for one purpose: finding the root that issued it, so
 * the user (or an administrator's policy) can decide to trust exactly that root for e-mail.
 *
 * RFC 5280 §6.1 (a certificate is issued by the certificate whose subject is its issuer name and
 * whose key verifies its signature), §4.2.2.1 (Authority Information Access, `id-ad-caIssuers`:
 * where the issuer's certificate can be fetched). A root is self-issued and self-signed.
 *
 * pkijs does the signature checks (over the injected WebCrypto); it is loaded on first use, as
 * for S/MIME-signed challenge mails: most installs never need it.
 */
import * as Asn1js from 'asn1js';
import type * as Pkijs from 'pkijs';
import { CertificateError } from './errors';

const ID_PE_AUTHORITY_INFO_ACCESS = '1.3.6.1.5.5.7.1.1';
const ID_AD_CA_ISSUERS = '1.3.6.1.5.5.7.48.2';
/** A GeneralName's uniformResourceIdentifier ([6] IA5String, RFC 5280 §4.2.1.6). */
const GENERAL_NAME_URI = 6;

let pkijsModule: Promise<typeof Pkijs> | undefined;

function loadPkijs(): Promise<typeof Pkijs> {
  pkijsModule ??= import('pkijs');
  return pkijsModule;
}

function parse(pkijs: typeof Pkijs, der: Uint8Array): Pkijs.Certificate {
  const asn = Asn1js.fromBER(der.slice().buffer);
  if (asn.offset === -1) throw new CertificateError('not a DER certificate');
  try {
    return new pkijs.Certificate({ schema: asn.result });
  } catch (error) {
    throw new CertificateError('not an X.509 certificate', { cause: error });
  }
}

function engine(pkijs: typeof Pkijs, crypto: Crypto): Pkijs.CryptoEngine {
  return new pkijs.CryptoEngine({ name: 'injected', crypto });
}

function sameName(a: Pkijs.RelativeDistinguishedNames, b: Pkijs.RelativeDistinguishedNames): boolean {
  return a.isEqual(b);
}

/** Whether `issuer`'s subject is `child`'s issuer name and its key verifies `child`'s signature. */
export async function isIssuedBy(child: Uint8Array, issuer: Uint8Array, crypto: Crypto): Promise<boolean> {
  const pkijs = await loadPkijs();
  const c = parse(pkijs, child);
  const i = parse(pkijs, issuer);
  if (!sameName(c.issuer, i.subject)) return false;
  try {
    return await c.verify(i, engine(pkijs, crypto));
  } catch {
    // An unsupported or malformed signature does not verify; that is the whole answer here.
    return false;
  }
}

/** A root: self-issued (subject = issuer) and self-signed (its own key verifies it). */
export async function isSelfSignedRoot(der: Uint8Array, crypto: Crypto): Promise<boolean> {
  return isIssuedBy(der, der, crypto);
}

/** The `id-ad-caIssuers` URLs of a certificate's Authority Information Access (http and https only). */
export async function caIssuersUrls(der: Uint8Array): Promise<string[]> {
  const pkijs = await loadPkijs();
  const cert = parse(pkijs, der);
  const aia = cert.extensions?.find((e) => e.extnID === ID_PE_AUTHORITY_INFO_ACCESS);
  const parsed: unknown = aia?.parsedValue;
  if (!(parsed instanceof pkijs.InfoAccess)) return [];
  const urls: string[] = [];
  for (const access of parsed.accessDescriptions) {
    if (access.accessMethod !== ID_AD_CA_ISSUERS || access.accessLocation.type !== GENERAL_NAME_URI) continue;
    const value: unknown = access.accessLocation.value;
    if (typeof value === 'string' && /^https?:\/\//i.test(value)) urls.push(value);
  }
  return urls;
}

/** The subject as one line (RFC 4514 order reversed to how people read it: CN first). */
export async function subjectLine(der: Uint8Array): Promise<string> {
  const pkijs = await loadPkijs();
  const cert = parse(pkijs, der);
  const short: Record<string, string> = { '2.5.4.3': 'CN', '2.5.4.10': 'O', '2.5.4.11': 'OU', '2.5.4.6': 'C', '2.5.4.7': 'L', '2.5.4.8': 'ST' };
  return cert.subject.typesAndValues
    .map((tv) => `${short[tv.type] ?? tv.type}=${tv.value.valueBlock.value}`)
    .reverse()
    .join(', ');
}

/** SHA-256 over the DER, upper-case hex with colons: the form Thunderbird's certificate manager shows. */
export async function sha256FingerprintOf(der: Uint8Array, crypto: Crypto): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', der.slice()));
  return [...digest].map((b) => b.toString(16).padStart(2, '0').toUpperCase()).join(':');
}
