/**
 * DKIM (RFC 6376) for the sandbox, through mailauth — an implementation independent of the
 * client's src/messages. Keys are RSA-2048 (rsa-sha256, the algorithm every verifier supports),
 * made at start; their TXT records form the zone served over DoH and handed to tests.
 *
 * mailauth quirks this module exists to contain: `headerList` must be a colon-separated string.
 * Its typings say `string[]`, but an array is silently replaced by the default list, which lacks
 * Auto-Submitted — and a challenge signature that does not cover Auto-Submitted must be refused
 * by a careful client (docs/MESSAGES.md, "The policy"), so the sandbox would break every client.
 */
import { generateKeyPair } from 'node:crypto';
import { promisify } from 'node:util';
import { dkimSign } from 'mailauth/lib/dkim/sign';
import { dkimVerify } from 'mailauth/lib/dkim/verify';
import type { DKIMSignOptions, DNSResolver } from 'mailauth';

export interface DkimKey {
  readonly domain: string;
  readonly selector: string;
  readonly privateKeyPem: string;
  /** Owner name of the TXT record, `<selector>._domainkey.<domain>`. */
  readonly recordName: string;
  /** RFC 6376 §3.6.1 key record. */
  readonly record: string;
}

export class DkimSignError extends Error {
  override readonly name = 'DkimSignError';
}

/**
 * Keys already made in this process, by owner name. RSA key generation costs up to a second on a
 * loaded machine; several sandboxes in one test process share keys (they are test-only and never
 * leave memory, except as the public records).
 */
const keyCache = new Map<string, Promise<DkimKey>>();

export function makeDkimKey(domain: string, selector: string): Promise<DkimKey> {
  const name = `${selector}._domainkey.${domain}`;
  let key = keyCache.get(name);
  if (!key) {
    key = generateDkimKey(domain, selector);
    keyCache.set(name, key);
    key.catch(() => keyCache.delete(name));
  }
  return key;
}

async function generateDkimKey(domain: string, selector: string): Promise<DkimKey> {
  const { publicKey, privateKey } = await promisify(generateKeyPair)('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'der' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return {
    domain, selector, privateKeyPem: privateKey,
    recordName: `${selector}._domainkey.${domain}`,
    record: `v=DKIM1; k=rsa; p=${publicKey.toString('base64')}`,
  };
}

/** Signs `raw` (CRLF line endings) and returns it with the DKIM-Signature header prepended. */
export async function signMessage(raw: string, key: DkimKey, headers: readonly string[]): Promise<string> {
  const signature: DKIMSignOptions = {
    signingDomain: key.domain,
    selector: key.selector,
    privateKey: key.privateKeyPem,
    canonicalization: 'relaxed/relaxed',
    algorithm: 'rsa-sha256',
  };
  // Second quirk: mailauth 5 signs only what is in `signatureData`; top-level key options are
  // ignored and the result is silently empty. Hence the guard below as well.
  const options = {
    signatureData: [signature],
    // See the module comment: the string form is the only one mailauth honours.
    headerList: headers.join(':') as unknown as string[],
  } as unknown as DKIMSignOptions;
  const result = await dkimSign(raw, options);
  if (result.errors.length > 0) throw new DkimSignError(`DKIM signing for ${key.domain} failed: ${result.errors.map(String).join('; ')}`, { cause: result.errors });
  if (!result.signatures.startsWith('DKIM-Signature:')) throw new DkimSignError(`mailauth produced no DKIM-Signature for ${key.domain}`);
  return result.signatures + raw;
}

/** A mailauth resolver over a fixed zone: TXT only, ENOTFOUND for everything else. */
export function zoneResolver(zone: () => Readonly<Record<string, readonly string[]>>): DNSResolver {
  return (name: string, rrtype: string) => {
    const records = Object.entries(zone()).find(([owner]) => owner.toLowerCase() === name.toLowerCase())?.[1];
    if (rrtype !== 'TXT' || !records) {
      const error = Object.assign(new Error(`${name} ${rrtype}: not in the sandbox zone`), { code: 'ENOTFOUND' });
      return Promise.reject(error);
    }
    return Promise.resolve(records.map((r) => [r]));
  };
}

export interface DkimCheck {
  readonly domain: string;
  readonly result: 'pass' | 'fail' | 'neutral' | 'policy' | 'temperror' | 'permerror' | 'none';
  readonly comment: string;
  /** Lower-cased names of the signed header fields (`h=`). */
  readonly signedHeaders: readonly string[];
}

/** Every DKIM signature of `raw` with its verdict; an unsigned message gives []. */
export async function verifyMessage(raw: string, resolver: DNSResolver): Promise<DkimCheck[]> {
  const verdict = await dkimVerify(raw, { resolver });
  return verdict.results
    .filter((r) => r.signingDomain)
    .map((r) => {
      const status = r.status.result;
      const result = status === 'temperr' ? 'temperror' : status === 'softfail' || status === 'skipped' ? 'neutral' : status;
      const keys = (r as { signingHeaders?: { keys?: string } }).signingHeaders?.keys ?? '';
      return {
        domain: r.signingDomain.toLowerCase(),
        result,
        comment: typeof r.status.comment === 'string' ? r.status.comment : '',
        signedHeaders: keys.split(':').map((k) => k.trim().toLowerCase()).filter((k) => k !== ''),
      };
    });
}
