/**
 * Usable, not just installed: after a certificate is installed, ask NSS — what Thunderbird itself
 * asks before it signs or encrypts — whether the certificate verifies for e-mail, and say why not
 * in words a user can act on.
 *
 * The common reason is a root that NSS does not trust for e-mail: a private or community CA, or a
 * root known to the browser store for TLS only. The add-on then finds exactly the root that issued
 * this chain (at the end of the chain the CA sent, in Thunderbird's store, or at the top
 * certificate's Authority Information Access URL, RFC 5280 §4.2.2.1), checks that it is
 * self-signed and really signed the chain, and either trusts it for e-mail because an
 * administrator pre-approved its SHA-256 fingerprint, or leaves the decision to the user. It
 * never trusts a root silently, and never one that did not issue this chain.
 */
import { base64Decode as base64ToBytes, base64Encode as bytesToBase64 } from '../common/encoding';
import { certificatesFromPem } from '../pkcs12/pem';
import { caIssuersUrls, isIssuedBy, isSelfSignedRoot, sha256FingerprintOf, subjectLine } from '../pkcs12/chain';
import type { CertificateVerification, CertStorePort, Usage, UsageVerification } from './ports';

/** What the user is told: one verdict for the identity's certificate. */
export type UsabilityVerdict =
  | 'ready' // NSS verifies it for every use it was issued for
  | 'untrusted-root' // the issuing root is not trusted for e-mail (or could not be found)
  | 'declined' // the user chose not to trust the root: Thunderbird cannot use the certificate
  | 'expired'
  | 'not-yet-valid'
  | 'unfit-usage' // key usage, extended key usage or key size unfit for e-mail
  | 'revoked'
  | 'unknown'; // any other NSS error: its name is in the details

export const USABILITY_VERDICTS: readonly UsabilityVerdict[] = [
  'ready', 'untrusted-root', 'declined', 'expired', 'not-yet-valid', 'unfit-usage', 'revoked', 'unknown',
];

/** NSS's outcome for one use, kept for the details line. */
export interface UsageOutcome {
  readonly ok: boolean;
  readonly errorName: string;
  readonly errorCode: number;
}

/** The root that issued the chain, offered for the user's decision. */
export interface RootCandidate {
  readonly subject: string;
  readonly sha256Fingerprint: string;
  /** Base64 of the DER: what would be trusted, byte for byte. */
  readonly der: string;
}

export interface Usability {
  readonly verdict: UsabilityVerdict;
  readonly checkedAt: number;
  readonly signing: UsageOutcome;
  readonly encryption: UsageOutcome;
  /** Present with `untrusted-root`/`declined` when the issuing root was found and checked. */
  readonly root?: RootCandidate;
  /** Who made the root trusted for e-mail, when this add-on did. */
  readonly trustedBy?: 'user' | 'policy';
}

/** NSS error names, grouped by what the user can do about them. */
const VERDICT_OF_ERROR: Readonly<Record<string, UsabilityVerdict>> = {
  SEC_ERROR_UNKNOWN_ISSUER: 'untrusted-root',
  SEC_ERROR_UNTRUSTED_ISSUER: 'untrusted-root',
  SEC_ERROR_CA_CERT_INVALID: 'untrusted-root',
  MOZILLA_PKIX_ERROR_ISSUER_NO_LONGER_TRUSTED: 'untrusted-root',
  SEC_ERROR_EXPIRED_CERTIFICATE: 'expired',
  SEC_ERROR_EXPIRED_ISSUER_CERTIFICATE: 'expired',
  MOZILLA_PKIX_ERROR_NOT_YET_VALID_CERTIFICATE: 'not-yet-valid',
  MOZILLA_PKIX_ERROR_NOT_YET_VALID_ISSUER_CERTIFICATE: 'not-yet-valid',
  SEC_ERROR_INADEQUATE_KEY_USAGE: 'unfit-usage',
  SEC_ERROR_INADEQUATE_CERT_TYPE: 'unfit-usage',
  SEC_ERROR_CERT_USAGES_INVALID: 'unfit-usage',
  MOZILLA_PKIX_ERROR_INADEQUATE_KEY_SIZE: 'unfit-usage',
  SEC_ERROR_REVOKED_CERTIFICATE: 'revoked',
  SEC_ERROR_REVOKED_KEY: 'revoked',
};

/** The PR error codes of the same errors, for a store that gives no name (NSS's secerr.h). */
const NAME_OF_CODE: Readonly<Record<number, string>> = {
  [-8179]: 'SEC_ERROR_UNKNOWN_ISSUER',
  [-8172]: 'SEC_ERROR_UNTRUSTED_ISSUER',
  [-8181]: 'SEC_ERROR_EXPIRED_CERTIFICATE',
  [-8162]: 'SEC_ERROR_EXPIRED_ISSUER_CERTIFICATE',
  [-8180]: 'SEC_ERROR_REVOKED_CERTIFICATE',
  [-8102]: 'SEC_ERROR_INADEQUATE_KEY_USAGE',
  [-8101]: 'SEC_ERROR_INADEQUATE_CERT_TYPE',
  [-16380]: 'MOZILLA_PKIX_ERROR_NOT_YET_VALID_CERTIFICATE',
  [-16379]: 'MOZILLA_PKIX_ERROR_NOT_YET_VALID_ISSUER_CERTIFICATE',
};

function outcome(v: UsageVerification): UsageOutcome {
  const errorName = v.ok ? '' : v.errorName !== '' ? v.errorName : (NAME_OF_CODE[v.errorCode] ?? `PR error ${v.errorCode}`);
  return { ok: v.ok, errorName, errorCode: v.errorCode };
}

/** The uses a certificate was issued for, each of which must verify. */
function requiredUses(usage: Usage): readonly ('signing' | 'encryption')[] {
  return usage === 'sign' ? ['signing'] : usage === 'encrypt' ? ['encryption'] : ['signing', 'encryption'];
}

/** The verdict from NSS's two answers: the first use that fails decides. Pure. */
export function verdictOf(verification: CertificateVerification, usage: Usage): UsabilityVerdict {
  for (const use of requiredUses(usage)) {
    const o = outcome(verification[use]);
    if (!o.ok) return VERDICT_OF_ERROR[o.errorName] ?? 'unknown';
  }
  return 'ready';
}

/** Fingerprints compare without colons, spaces or case. */
export function normalizeFingerprint(text: string): string {
  return text.replace(/[\s:]/g, '').toUpperCase();
}

export interface UsabilityDeps {
  readonly certStore: CertStorePort;
  readonly crypto: Crypto;
  readonly clock: { now(): number };
  /** Fetches an issuer certificate from an Authority Information Access URL (DER or PEM). */
  readonly fetchIssuer: (url: string) => Promise<Uint8Array>;
  readonly log: { debug(message: string): void };
}

export interface InstalledChain {
  readonly dbKey: string;
  readonly chainPem: string;
  readonly usage: Usage;
}

export interface UsabilityPolicy {
  /** SHA-256 fingerprints an administrator (or the user's saved options) pre-approved. */
  readonly trustedMailRoots: readonly string[];
}

/** DER, or the first certificate of a PEM text (some CAs serve the AIA issuer as PEM). */
function certificateBytes(bytes: Uint8Array): Uint8Array | undefined {
  if (bytes[0] === 0x30) return bytes;
  const pem = certificatesFromPem(new TextDecoder().decode(bytes));
  return pem[0];
}

/** Verifies with NSS and turns the answer into a verdict. */
export async function checkUsability(deps: UsabilityDeps, chain: InstalledChain, extra: Partial<Pick<Usability, 'root' | 'trustedBy'>> = {}): Promise<Usability> {
  const verification = await deps.certStore.verifyCertificate(chain.dbKey);
  return {
    verdict: verdictOf(verification, chain.usage),
    checkedAt: deps.clock.now(),
    signing: outcome(verification.signing),
    encryption: outcome(verification.encryption),
    ...extra,
  };
}

/**
 * The self-signed root that issued this chain, from the chain itself, Thunderbird's store, or the
 * top certificate's caIssuers URL (up to three hops of intermediates). Undefined when none proves
 * itself: a candidate must be self-signed and must have signed the certificate below it.
 */
export async function findIssuingRoot(deps: UsabilityDeps, chainPem: string): Promise<RootCandidate | undefined> {
  const chain = certificatesFromPem(chainPem);
  const last = chain[chain.length - 1];
  if (last === undefined) return undefined;
  let top: Uint8Array = last;
  const candidate = async (der: Uint8Array): Promise<RootCandidate> => ({
    subject: await subjectLine(der),
    sha256Fingerprint: await sha256FingerprintOf(der, deps.crypto),
    der: bytesToBase64(der),
  });
  if (chain.length > 1 && (await isSelfSignedRoot(top, deps.crypto))) {
    const below = chain[chain.length - 2];
    return below !== undefined && (await isIssuedBy(below, top, deps.crypto)) ? candidate(top) : undefined;
  }
  for (let hop = 0; hop < 3; hop += 1) {
    const child: Uint8Array = top;
    for (const stored of await deps.certStore.findIssuerCandidates(child)) {
      if ((await isSelfSignedRoot(stored.der, deps.crypto)) && (await isIssuedBy(child, stored.der, deps.crypto))) return candidate(stored.der);
    }
    let next: Uint8Array | undefined;
    for (const url of await caIssuersUrls(child)) {
      try {
        const fetched = certificateBytes(await deps.fetchIssuer(url));
        if (fetched !== undefined && (await isIssuedBy(child, fetched, deps.crypto))) {
          next = fetched;
          break;
        }
      } catch (error) {
        deps.log.debug(`issuer at ${url} not usable: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    if (next === undefined) return undefined;
    if (await isSelfSignedRoot(next, deps.crypto)) return candidate(next);
    top = next;
  }
  return undefined;
}

/**
 * After an install: intermediates into the store, then NSS's verdict; a root that is not trusted
 * for e-mail is looked for and, when an administrator pre-approved its fingerprint, trusted and
 * checked again. Never asks anyone: a root that needs the user's decision comes back in `root`.
 */
export async function assessAfterInstall(deps: UsabilityDeps, chain: InstalledChain, policy: UsabilityPolicy): Promise<Usability> {
  try {
    const intermediates = certificatesFromPem(chain.chainPem).slice(1);
    const nonRoots: Uint8Array[] = [];
    for (const der of intermediates) if (!(await isSelfSignedRoot(der, deps.crypto))) nonRoots.push(der);
    if (nonRoots.length > 0) await deps.certStore.addIntermediates(nonRoots);
  } catch (error) {
    // NSS's verdict below says whether the chain is complete without them.
    deps.log.debug(`intermediates not imported: ${error instanceof Error ? error.message : String(error)}`);
  }
  const first = await checkUsability(deps, chain);
  if (first.verdict !== 'untrusted-root') return first;
  let root: RootCandidate | undefined;
  try {
    root = await findIssuingRoot(deps, chain.chainPem);
  } catch (error) {
    // The verdict stands; the popup then says the root could not be found.
    deps.log.debug(`issuing root not found: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (root === undefined) return first;
  const approved = policy.trustedMailRoots.map(normalizeFingerprint).includes(normalizeFingerprint(root.sha256Fingerprint));
  if (!approved) return { ...first, root };
  await deps.certStore.trustRootForEmail(base64ToBytes(root.der), root.sha256Fingerprint);
  return checkUsability(deps, chain, { root, trustedBy: 'policy' });
}

/**
 * The user's consent: trusts exactly the root found before, if it is still the one that issued
 * this chain and has the fingerprint the user saw, then checks again.
 */
export async function trustRootWithConsent(deps: UsabilityDeps, chain: InstalledChain, current: Usability, approvedFingerprint: string): Promise<Usability> {
  const root = current.root;
  if (root === undefined || normalizeFingerprint(root.sha256Fingerprint) !== normalizeFingerprint(approvedFingerprint)) {
    throw new UsabilityError('rootMismatch', 'This is not the root that issued the certificate.');
  }
  const found = await findIssuingRoot(deps, chain.chainPem);
  if (found === undefined || normalizeFingerprint(found.sha256Fingerprint) !== normalizeFingerprint(approvedFingerprint)) {
    throw new UsabilityError('rootMismatch', 'The root that issued the certificate is no longer the one shown.');
  }
  await deps.certStore.trustRootForEmail(base64ToBytes(found.der), found.sha256Fingerprint);
  return checkUsability(deps, chain, { root: found, trustedBy: 'user' });
}

/** The user said no: Thunderbird cannot use the certificate; the root stays offered for later. */
export function declined(current: Usability, now: number): Usability {
  return { ...current, verdict: 'declined', checkedAt: now };
}

export class UsabilityError extends Error {
  constructor(readonly code: 'rootMismatch', message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'UsabilityError';
  }
}
