/**
 * Downloading the certificate (RFC 8555 §7.4.2): POST-as-GET with
 * `Accept: application/pem-certificate-chain`, the PEM chain split into DER certificates
 * (RFC 7468 §5, "strict" text only), alternate chains from `Link: rel="alternate"`, and choosing a
 * chain by the issuer of its topmost certificate (as certbot's `--preferred-chain` does).
 *
 * Certificates are read only for their names (./x509.ts); nothing here verifies a chain
 * (the CA is trusted for what it issues; the caller checks the end-entity certificate against its key).
 */
import { base64Decode } from '../common/encoding';
import { postAsGet, type AcmeContext } from './context';
import { AcmeProtocolError, type RequestInfo } from './errors';
import { linksWithRel } from './link';
import type { AcmeResponse } from './response';
import type { CertificateChain, CertificateDownload } from './types';
import { readCertificateNames } from './x509';

export const PEM_CHAIN_TYPE = 'application/pem-certificate-chain';

/** A chain is short; more blocks than this is a server out of control. */
const MAX_CHAIN_LENGTH = 20;

/**
 * The DER certificates of a `application/pem-certificate-chain` body (RFC 8555 §9.1): one or more
 * CERTIFICATE blocks, nothing else but whitespace between them.
 */
export function parsePemChain(text: string, request?: RequestInfo): Uint8Array<ArrayBuffer>[] {
  const certificates: Uint8Array<ArrayBuffer>[] = [];
  const re = /-----BEGIN CERTIFICATE-----\r?\n([A-Za-z0-9+/=\r\n]+?)-----END CERTIFICATE-----/g;
  let last = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (text.slice(last, m.index).trim() !== '') throw new AcmeProtocolError('invalid-field', 'the PEM chain holds text between certificates', request);
    try {
      certificates.push(base64Decode((m[1] ?? '').replace(/[\r\n]/g, '')));
    } catch (error) {
      throw new AcmeProtocolError('invalid-field', 'a PEM certificate is not valid base64', request, undefined, { cause: error });
    }
    last = re.lastIndex;
    if (certificates.length > MAX_CHAIN_LENGTH) throw new AcmeProtocolError('invalid-field', `the PEM chain holds more than ${MAX_CHAIN_LENGTH} certificates`, request);
  }
  if (text.slice(last).trim() !== '') throw new AcmeProtocolError('invalid-field', 'the PEM chain holds something other than certificates', request);
  if (certificates.length === 0) throw new AcmeProtocolError('invalid-field', 'the PEM chain holds no certificate', request);
  return certificates;
}

function chainFrom(response: AcmeResponse, url: string): CertificateChain {
  if (response.contentType !== PEM_CHAIN_TYPE) {
    throw new AcmeProtocolError('wrong-content-type', `expected ${PEM_CHAIN_TYPE}, got "${response.contentType || 'no content type'}"`, response.request, response.status);
  }
  let pem: string;
  try {
    pem = new TextDecoder('utf-8', { fatal: true }).decode(response.body);
  } catch (error) {
    throw new AcmeProtocolError('invalid-field', 'the PEM chain is not text', response.request, response.status, { cause: error });
  }
  return { url, pem, certificates: parsePemChain(pem, response.request) };
}

/** RFC 8555 §7.4.2: the default chain at `url`, and the URLs of the alternates the server offers. */
export async function downloadCertificate(ctx: AcmeContext, url: string, signal?: AbortSignal): Promise<CertificateDownload> {
  const response = await postAsGet(ctx, url, signal, PEM_CHAIN_TYPE);
  const chain = chainFrom(response, url);
  const alternates = linksWithRel(response.links, 'alternate').map((u) => ctx.http.checkUrl(u, 'alternate chain', response.request));
  return { ...chain, alternates };
}

/** The common names of the issuer of the chain's topmost certificate (usually the root's name). */
export function topIssuerNames(chain: CertificateChain): string[] {
  const top = chain.certificates[chain.certificates.length - 1];
  if (!top) return [];
  return readCertificateNames(top).issuerCommonNames;
}

/**
 * The chain whose topmost certificate was issued by `issuerCommonName` (exact, case-sensitive
 * CN match): the default chain first, then each alternate in the server's order, each fetched
 * only if needed. Falls back to the default chain with `matched: false` when none matches,
 * so that a renamed root never stops issuance.
 */
export async function downloadPreferredChain(
  ctx: AcmeContext,
  url: string,
  issuerCommonName: string,
  signal?: AbortSignal,
): Promise<{ chain: CertificateDownload; matched: boolean }> {
  const first = await downloadCertificate(ctx, url, signal);
  if (topIssuerNames(first).includes(issuerCommonName)) return { chain: first, matched: true };
  for (const alternate of first.alternates) {
    const response = await postAsGet(ctx, alternate, signal, PEM_CHAIN_TYPE);
    const chain = chainFrom(response, alternate);
    if (topIssuerNames(chain).includes(issuerCommonName)) return { chain: { ...chain, alternates: [url, ...first.alternates.filter((a) => a !== alternate)] }, matched: true };
  }
  return { chain: first, matched: false };
}
