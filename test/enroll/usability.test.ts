/**
 * After install: NSS's verdict in words, and the root that issued the chain — found, proven,
 * trusted only by policy or consent, never a look-alike.
 */
import { webcrypto } from 'node:crypto';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { describe, expect, it } from 'vitest';
import type { CertificateVerification, CertStorePort, InstalledCertificate, StoreCertificate, UsageVerification } from '../../src/enroll/ports';
import { assessAfterInstall, declined, findIssuingRoot, normalizeFingerprint, trustRootWithConsent, UsabilityError, verdictOf, type UsabilityDeps } from '../../src/enroll/usability';
import { sha256FingerprintOf } from '../../src/pkcs12/chain';

const crypto = webcrypto as unknown as Crypto;
const EC: EcKeyGenParams = { name: 'ECDSA', namedCurve: 'P-256' };
const SIGN: EcdsaParams = { name: 'ECDSA', hash: 'SHA-256' };
const AIA_URL = 'http://ca.example/root.der';

interface Ca {
  readonly cert: x509.X509Certificate;
  readonly keys: CryptoKeyPair;
}

async function keys(): Promise<CryptoKeyPair> {
  return crypto.subtle.generateKey(EC, true, ['sign', 'verify']);
}

async function root(name: string): Promise<Ca> {
  const k = await keys();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01', name, keys: k, signingAlgorithm: SIGN, notBefore: new Date(Date.now() - 3_600_000), notAfter: new Date(Date.now() + 86_400_000),
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true)],
  }, crypto);
  return { cert, keys: k };
}

async function issue(by: Ca, subject: string, ca: boolean, aia?: string): Promise<Ca> {
  const k = await keys();
  const extensions: x509.Extension[] = [new x509.BasicConstraintsExtension(ca, undefined, true)];
  if (aia !== undefined) extensions.push(new x509.AuthorityInfoAccessExtension({ caIssuers: [new x509.GeneralName('url', aia)] }));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: '02', subject, issuer: by.cert.subject, publicKey: k.publicKey, signingKey: by.keys.privateKey, signingAlgorithm: SIGN,
    notBefore: new Date(Date.now() - 3_600_000), notAfter: new Date(Date.now() + 86_400_000), extensions,
  }, crypto);
  return { cert, keys: k };
}

function der(c: Ca): Uint8Array {
  return new Uint8Array(c.cert.rawData);
}

function ok(): UsageVerification {
  return { ok: true, errorCode: 0, errorName: '', errorMessage: '', chain: [] };
}

function unknownIssuer(): UsageVerification {
  return { ok: false, errorCode: -8179, errorName: 'SEC_ERROR_UNKNOWN_ISSUER', errorMessage: 'Peer’s Certificate issuer is not recognized.', chain: [] };
}

/** A certificate store that verifies like NSS would here: usable once its root is trusted for e-mail. */
class Store implements CertStorePort {
  readonly trusted: { der: Uint8Array; fingerprint: string }[] = [];
  readonly added: Uint8Array[][] = [];
  readonly sendDefaults: [string, boolean, boolean][] = [];
  constructor(private readonly rootFingerprint: string, readonly stored: StoreCertificate[] = []) {}
  importPkcs12(): Promise<InstalledCertificate> {
    return Promise.reject(new Error('not used'));
  }
  setIdentityCertificates(): Promise<void> {
    return Promise.resolve();
  }
  clearIdentityCertificates(): Promise<void> {
    return Promise.resolve();
  }
  verifyCertificate(): Promise<CertificateVerification> {
    const usable = this.trusted.some((t) => normalizeFingerprint(t.fingerprint) === normalizeFingerprint(this.rootFingerprint));
    return Promise.resolve(usable ? { signing: ok(), encryption: ok() } : { signing: unknownIssuer(), encryption: unknownIssuer() });
  }
  findIssuerCandidates(): Promise<StoreCertificate[]> {
    return Promise.resolve(this.stored);
  }
  addIntermediates(ders: readonly Uint8Array[]): Promise<void> {
    this.added.push([...ders]);
    return Promise.resolve();
  }
  trustRootForEmail(d: Uint8Array, fingerprint: string): Promise<void> {
    this.trusted.push({ der: d, fingerprint });
    return Promise.resolve();
  }
  exportPkcs12(): Promise<Uint8Array> {
    return Promise.reject(new Error('not used'));
  }
  setSendDefaults(identityId: string, sign: boolean, encrypt: boolean): Promise<void> {
    this.sendDefaults.push([identityId, sign, encrypt]);
    return Promise.resolve();
  }
}

async function world(options: { aia?: boolean; inStore?: boolean } = {}) {
  const r = await root('CN=Test Mailbox Root');
  const intermediate = await issue(r, 'CN=Test Mailbox CA', true, options.aia === true ? AIA_URL : undefined);
  const leaf = await issue(intermediate, 'CN=alice@example.org', false);
  const chainPem = [leaf.cert.toString('pem'), intermediate.cert.toString('pem')].join('\n');
  const fingerprint = await sha256FingerprintOf(der(r), crypto);
  const stored: StoreCertificate[] = options.inStore === true ? [{ subject: 'CN=Test Mailbox Root', issuer: 'CN=Test Mailbox Root', sha256Fingerprint: fingerprint, der: der(r), builtInRoot: false }] : [];
  const store = new Store(fingerprint, stored);
  const fetched: string[] = [];
  const deps: UsabilityDeps = {
    certStore: store,
    crypto,
    clock: { now: () => 1_000 },
    fetchIssuer: (url) => {
      fetched.push(url);
      return Promise.resolve(der(r));
    },
    log: { debug: () => undefined },
  };
  return { r, intermediate, leaf, chainPem, fingerprint, store, deps, fetched, chain: { dbKey: 'k', chainPem, usage: 'both' as const } };
}

describe('verdictOf: NSS errors in words', () => {
  const v = (signing: UsageVerification, encryption: UsageVerification): CertificateVerification => ({ signing, encryption });
  const err = (errorName: string, errorCode = -1): UsageVerification => ({ ok: false, errorCode, errorName, errorMessage: '', chain: [] });
  it('is ready only when every use the certificate was issued for verifies', () => {
    expect(verdictOf(v(ok(), ok()), 'both')).toBe('ready');
    expect(verdictOf(v(ok(), unknownIssuer()), 'both')).toBe('untrusted-root');
    expect(verdictOf(v(ok(), unknownIssuer()), 'sign')).toBe('ready');
    expect(verdictOf(v(unknownIssuer(), ok()), 'encrypt')).toBe('ready');
  });
  it('names expired, not yet valid, unfit and revoked certificates', () => {
    expect(verdictOf(v(err('SEC_ERROR_EXPIRED_CERTIFICATE'), ok()), 'both')).toBe('expired');
    expect(verdictOf(v(err('MOZILLA_PKIX_ERROR_NOT_YET_VALID_CERTIFICATE'), ok()), 'both')).toBe('not-yet-valid');
    expect(verdictOf(v(err('SEC_ERROR_INADEQUATE_KEY_USAGE'), ok()), 'both')).toBe('unfit-usage');
    expect(verdictOf(v(err('SEC_ERROR_INADEQUATE_CERT_TYPE'), ok()), 'both')).toBe('unfit-usage');
    expect(verdictOf(v(err('SEC_ERROR_REVOKED_CERTIFICATE'), ok()), 'both')).toBe('revoked');
    expect(verdictOf(v(err('SEC_ERROR_BAD_SIGNATURE'), ok()), 'both')).toBe('unknown');
  });
  it('reads the PR error code when the store gives no name', () => {
    expect(verdictOf(v(err('', -8179), ok()), 'both')).toBe('untrusted-root');
    expect(verdictOf(v(err('', -8181), ok()), 'both')).toBe('expired');
  });
});

describe('the root that issued the chain', () => {
  it('is found in the certificate store, proven by its signature', async () => {
    const w = await world({ inStore: true });
    const found = await findIssuingRoot(w.deps, w.chainPem);
    expect(found?.sha256Fingerprint).toBe(w.fingerprint);
    expect(found?.subject).toBe('CN=Test Mailbox Root');
  });

  it('is fetched from the Authority Information Access URL when the store lacks it', async () => {
    const w = await world({ aia: true });
    const found = await findIssuingRoot(w.deps, w.chainPem);
    expect(w.fetched).toEqual([AIA_URL]);
    expect(found?.sha256Fingerprint).toBe(w.fingerprint);
  });

  it('is taken from the end of the chain when the CA sent it along', async () => {
    const w = await world();
    const found = await findIssuingRoot(w.deps, `${w.chainPem}\n${w.r.cert.toString('pem')}`);
    expect(found?.sha256Fingerprint).toBe(w.fingerprint);
  });

  it('is never a look-alike: same name, another key', async () => {
    const w = await world();
    const impostor = await root('CN=Test Mailbox Root');
    w.store.stored.push({ subject: 'CN=Test Mailbox Root', issuer: 'CN=Test Mailbox Root', sha256Fingerprint: await sha256FingerprintOf(der(impostor), crypto), der: der(impostor), builtInRoot: false });
    expect(await findIssuingRoot(w.deps, w.chainPem)).toBeUndefined();
    expect(await findIssuingRoot({ ...w.deps, fetchIssuer: () => Promise.resolve(der(impostor)) }, w.chainPem)).toBeUndefined();
    // Nor an impostor appended to the chain.
    expect(await findIssuingRoot(w.deps, `${w.chainPem}\n${impostor.cert.toString('pem')}`)).toBeUndefined();
  });
});

describe('after install', () => {
  it('imports the intermediates, and without a decision trusts nothing: the root is offered', async () => {
    const w = await world({ inStore: true });
    const u = await assessAfterInstall(w.deps, w.chain, { trustedMailRoots: [] });
    expect(u.verdict).toBe('untrusted-root');
    expect(u.signing.errorName).toBe('SEC_ERROR_UNKNOWN_ISSUER');
    expect(u.root?.sha256Fingerprint).toBe(w.fingerprint);
    expect(w.store.trusted).toEqual([]);
    expect(w.store.added).toHaveLength(1);
    expect(w.store.added[0]?.[0]).toEqual(der(w.intermediate));
  });

  it('trusts a root an administrator pre-approved by fingerprint, then is ready', async () => {
    const w = await world({ inStore: true });
    const u = await assessAfterInstall(w.deps, w.chain, { trustedMailRoots: [w.fingerprint.replace(/:/g, '').toLowerCase()] });
    expect(u.verdict).toBe('ready');
    expect(u.trustedBy).toBe('policy');
    expect(w.store.trusted).toHaveLength(1);
    expect(w.store.trusted[0]?.der).toEqual(der(w.r));
  });

  it('does not trust a root whose fingerprint is not the pre-approved one', async () => {
    const w = await world({ inStore: true });
    const u = await assessAfterInstall(w.deps, w.chain, { trustedMailRoots: ['AA'.repeat(32)] });
    expect(u.verdict).toBe('untrusted-root');
    expect(w.store.trusted).toEqual([]);
  });

  it("trusts exactly the offered root with the user's consent, and refuses another fingerprint", async () => {
    const w = await world({ inStore: true });
    const offered = await assessAfterInstall(w.deps, w.chain, { trustedMailRoots: [] });
    await expect(trustRootWithConsent(w.deps, w.chain, offered, 'AB'.repeat(32))).rejects.toBeInstanceOf(UsabilityError);
    expect(w.store.trusted).toEqual([]);
    const after = await trustRootWithConsent(w.deps, w.chain, offered, w.fingerprint);
    expect(after).toMatchObject({ verdict: 'ready', trustedBy: 'user' });
    expect(w.store.trusted[0]?.der).toEqual(der(w.r));
  });

  it('a declined root leaves a clear state and the root still offered', async () => {
    const w = await world({ inStore: true });
    const offered = await assessAfterInstall(w.deps, w.chain, { trustedMailRoots: [] });
    const d = declined(offered, 5);
    expect(d).toMatchObject({ verdict: 'declined', checkedAt: 5 });
    expect(d.root?.sha256Fingerprint).toBe(w.fingerprint);
  });
});
