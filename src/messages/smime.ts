/**
 * S/MIME-signed challenge mails (RFC 8551 §3.5 multipart/signed, §3.4 application/pkcs7-mime
 * signed-data), verified with pkijs (CMS, RFC 5652) over the injected WebCrypto.
 *
 * What "pass" means here: the CMS signature verifies over the signed entity, and the signer's
 * certificate chains to one of the caller's trust anchors at the injected time. The signer's
 * rfc822Name addresses (RFC 5280 §4.2.1.6) and the signed entity's header section are returned
 * for the policy in check.ts, which matches them against From, To and Subject (the outer header
 * of an S/MIME mail is not covered by the signature).
 *
 * pkijs is loaded on first use only (a dynamic import): most CAs sign with DKIM, and the
 * library is large, so a background that never meets an S/MIME-signed challenge never parses it.
 *
 * Deviations: only the first SignerInfo is checked; revocation (CRL/OCSP) is not checked — a
 * challenge signer's certificate is short-lived CA infrastructure, and a network fetch here
 * would leak which CA the user talks to. The legacy `emailAddress` in the subject DN is not
 * used as an address, only the SAN rfc822Name.
 */
import * as Asn1js from 'asn1js';
import type * as Pkijs from 'pkijs';
import { contentTypeOf, splitMultipart, MimeError } from './mime';
import { base64DecodeMime, binaryToBytes, bytesToBinary } from '../common/encoding';
import { MessageParseError, parseMessage, type ParsedMessage } from './rfc5322';

export type SmimeResult =
  | { readonly status: 'none' }
  | {
      readonly status: 'pass';
      /** rfc822Name entries of the signer certificate's subjectAltName. */
      readonly signerAddresses: readonly string[];
      /** The signed entity's header section (or the wrapped message's, for message/rfc822). */
      readonly protectedHeaders: ParsedMessage | null;
    }
  /** The signature does not verify, or the structure cannot be read. */
  | { readonly status: 'invalid'; readonly reason: string }
  /** The signature verifies, but the certificate does not chain to a trust anchor. */
  | { readonly status: 'untrusted'; readonly reason: string };

export interface SmimeOptions {
  readonly crypto: Crypto;
  /** PEM text (one or more certificates) or DER. */
  readonly trustAnchors: readonly (string | Uint8Array)[];
  readonly now: () => Date;
}

const OID_SIGNED_DATA = '1.2.840.113549.1.7.2';
const OID_SUBJECT_ALT_NAME = '2.5.29.17';
const OID_EXT_KEY_USAGE = '2.5.29.37';
const OID_EMAIL_PROTECTION = '1.3.6.1.5.5.7.3.4';
const OID_ANY_EKU = '2.5.29.37.0';

interface Libraries {
  readonly pkijs: typeof Pkijs;
  readonly asn1js: typeof Asn1js;
}
let libraries: Promise<Libraries> | undefined;

function load(): Promise<Libraries> {
  // pkijs is most of the add-on's code by size: load it on the first S/MIME mail only.
  // asn1js is in the main bundle anyway (src/acme, src/pkcs12 read DER with it).
  libraries ??= import('pkijs').then((pkijs) => ({ pkijs, asn1js: Asn1js }));
  return libraries;
}

function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  return copy.buffer;
}

function parseDerCertificate({ pkijs, asn1js }: Libraries, der: Uint8Array): Pkijs.Certificate {
  const asn = asn1js.fromBER(toArrayBuffer(der));
  if (asn.offset === -1) throw new Error('not DER');
  return new pkijs.Certificate({ schema: asn.result });
}

/** Certificates from PEM text (any number of CERTIFICATE blocks) or one DER blob. */
export async function parseTrustAnchors(anchors: readonly (string | Uint8Array)[]): Promise<Pkijs.Certificate[]> {
  const libs = await load();
  const out: Pkijs.Certificate[] = [];
  for (const anchor of anchors) {
    if (typeof anchor === 'string') {
      for (const m of anchor.matchAll(/-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g)) out.push(parseDerCertificate(libs, base64DecodeMime(m[1]!)));
    } else out.push(parseDerCertificate(libs, anchor));
  }
  return out;
}

function rfc822Names(pkijs: typeof Pkijs, cert: Pkijs.Certificate): string[] {
  const ext = cert.extensions?.find((e) => e.extnID === OID_SUBJECT_ALT_NAME);
  const names = ext?.parsedValue instanceof pkijs.AltName ? ext.parsedValue.altNames : [];
  return names.filter((n) => n.type === 1 && typeof n.value === 'string').map((n) => String(n.value));
}

function allowsEmailProtection(pkijs: typeof Pkijs, cert: Pkijs.Certificate): boolean {
  const ext = cert.extensions?.find((e) => e.extnID === OID_EXT_KEY_USAGE);
  if (!ext) return true; // RFC 5280 §4.2.1.12: no EKU extension means no restriction
  const eku = ext.parsedValue instanceof pkijs.ExtKeyUsage ? ext.parsedValue.keyPurposes : [];
  return eku.includes(OID_EMAIL_PROTECTION) || eku.includes(OID_ANY_EKU);
}

/** The signed entity's headers: the inner message for message/rfc822, else the entity's own. */
function protectedHeadersOf(entity: string): ParsedMessage | null {
  try {
    const parsed = parseMessage(entity);
    if (contentTypeOf(parsed).mediaType === 'message/rfc822') return parseMessage(parsed.body);
    return parsed;
  } catch (error) {
    if (error instanceof MessageParseError) return null;
    throw error;
  }
}

/** Verifies a top-level S/MIME signature (RFC 8551 §3.4, §3.5). Never throws for a bad one. */
export async function verifySmime(message: ParsedMessage, options: SmimeOptions): Promise<SmimeResult> {
  const type = contentTypeOf(message);
  let cmsDer: Uint8Array;
  let detached: string | null = null;
  try {
    if (type.mediaType === 'multipart/signed') {
      const protocol = (type.params['protocol'] ?? '').toLowerCase();
      if (protocol !== 'application/pkcs7-signature' && protocol !== 'application/x-pkcs7-signature') return { status: 'none' };
      const parts = splitMultipart(message.body, type.params['boundary'] ?? '');
      if (parts.length !== 2) return { status: 'invalid', reason: `multipart/signed has ${parts.length} parts, not 2` };
      detached = parts[0]!;
      const signaturePart = parseMessage(parts[1]!);
      cmsDer = base64DecodeMime(signaturePart.body);
    } else if (type.mediaType === 'application/pkcs7-mime' || type.mediaType === 'application/x-pkcs7-mime') {
      const smimeType = (type.params['smime-type'] ?? '').toLowerCase();
      if (smimeType !== 'signed-data') return { status: 'none' };
      cmsDer = base64DecodeMime(message.body);
    } else return { status: 'none' };
  } catch (error) {
    if (error instanceof MimeError || error instanceof MessageParseError) return { status: 'invalid', reason: error.message };
    throw error;
  }

  let libs: Libraries;
  try {
    libs = await load();
  } catch (error) {
    return { status: 'invalid', reason: `the S/MIME library could not be loaded (${error instanceof Error ? error.message : String(error)})` };
  }
  const { pkijs, asn1js } = libs;
  const engine = new pkijs.CryptoEngine({ name: 'injected', crypto: options.crypto });
  let signedData: Pkijs.SignedData;
  let signedEntity: string;
  try {
    const asn = asn1js.fromBER(toArrayBuffer(cmsDer));
    if (asn.offset === -1) return { status: 'invalid', reason: 'the CMS structure is not DER' };
    const info = new pkijs.ContentInfo({ schema: asn.result });
    if (info.contentType !== OID_SIGNED_DATA) return { status: 'invalid', reason: 'the CMS structure is not signed-data' };
    signedData = new pkijs.SignedData({ schema: info.content });
    if (detached !== null) signedEntity = detached;
    else {
      const content = signedData.encapContentInfo.eContent;
      if (!content) return { status: 'invalid', reason: 'the signed-data carries no content' };
      signedEntity = bytesToBinary(new Uint8Array(content.getValue()));
    }
  } catch (error) {
    return { status: 'invalid', reason: `the CMS structure cannot be read (${error instanceof Error ? error.message : String(error)})` };
  }

  const data = detached !== null ? toArrayBuffer(binaryToBytes(detached)) : undefined;
  const base = { signer: 0, checkDate: options.now(), extendedMode: true as const, ...(data ? { data } : {}) };
  let signer: Pkijs.Certificate | null | undefined;
  try {
    const result = await signedData.verify({ ...base, checkChain: false }, engine);
    signer = result.signerCertificate;
  } catch (error) {
    return { status: 'invalid', reason: error instanceof Error ? error.message : 'the signature does not verify' };
  }
  if (!signer) return { status: 'invalid', reason: 'the signer certificate is not in the message' };
  if (!allowsEmailProtection(pkijs, signer)) return { status: 'untrusted', reason: 'the signer certificate is not for e-mail protection' };
  let trusted: Pkijs.Certificate[];
  try {
    trusted = await parseTrustAnchors(options.trustAnchors);
  } catch (error) {
    return { status: 'untrusted', reason: `a configured trust anchor cannot be read (${error instanceof Error ? error.message : String(error)})` };
  }
  if (trusted.length === 0) return { status: 'untrusted', reason: 'no S/MIME trust anchor is configured' };
  try {
    await signedData.verify({ ...base, checkChain: true, trustedCerts: trusted }, engine);
  } catch (error) {
    return { status: 'untrusted', reason: error instanceof Error ? error.message : 'the certificate chain does not verify' };
  }
  return { status: 'pass', signerAddresses: rfc822Names(pkijs, signer), protectedHeaders: protectedHeadersOf(signedEntity) };
}
