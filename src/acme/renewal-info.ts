/**
 * ACME Renewal Information (ARI), RFC 9773: the CA's suggested renewal window for a
 * certificate, fetched by unauthenticated GET of `<renewalInfo>/<certID>` (§4.1).
 *
 * certID (§4.1) = base64url(AKI keyIdentifier) "." base64url(serial number DER content octets,
 * including a leading zero byte when the high bit is set).
 * The `replaces` field of newOrder (§5) takes this certID: see NewOrderOptions.replaces.
 */
import { base64UrlEncode, hexToBytes } from '../common/encoding';
import type { AcmeContext } from './context';
import { AcmeUsageError } from './errors';
import { parseRenewalInfo } from './parse';
import { responseJson } from './response';
import type { RenewalInfo } from './types';
import { readCertificateNames } from './x509';

/** Hex digits as bytes; an odd count gets its leading zero (a serial written as a number). */
function hexOctets(hex: string): Uint8Array {
  try {
    return hexToBytes(hex.length % 2 === 0 ? hex : `0${hex}`);
  } catch (error) {
    throw new AcmeUsageError(`"${hex.slice(0, 80)}" is not hex`, undefined, { cause: error });
  }
}

/** RFC 9773 §4.1 from the two parts, given as hex (the serial as its DER content octets). */
export function certIdFromParts(authorityKeyIdHex: string, serialHex: string): string {
  return `${base64UrlEncode(hexOctets(authorityKeyIdHex))}.${base64UrlEncode(hexOctets(serialHex))}`;
}

/** RFC 9773 §4.1: the certID of a DER certificate. It must carry an AKI keyIdentifier. */
export function renewalCertId(certificateDer: Uint8Array): string {
  const { authorityKeyId: keyId, serial } = readCertificateNames(certificateDer);
  if (!keyId || keyId.length === 0) throw new AcmeUsageError('the certificate has no Authority Key Identifier keyIdentifier, so ARI cannot name it (RFC 9773 §4.1)');
  return `${base64UrlEncode(keyId)}.${base64UrlEncode(serial)}`;
}

/**
 * The suggested renewal window (RFC 9773 §4.2), or undefined when the directory offers no
 * renewalInfo endpoint. `retryAfterMs` says when to ask again (§4.3).
 */
export async function getRenewalInfo(ctx: AcmeContext, certificateDer: Uint8Array<ArrayBuffer>, signal?: AbortSignal): Promise<RenewalInfo | undefined> {
  const { renewalInfo } = await ctx.http.directory(signal);
  if (renewalInfo === undefined) return undefined;
  const base = renewalInfo.endsWith('/') ? renewalInfo : `${renewalInfo}/`;
  const response = await ctx.http.get(`${base}${renewalCertId(certificateDer)}`, signal);
  return parseRenewalInfo(responseJson(response), response.request, response.retryAfterMs);
}
