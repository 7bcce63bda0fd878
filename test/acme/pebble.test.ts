/**
 * The client against the real Pebble from Debian (RFC 8555 test CA), on loopback, with its own
 * TLS certificate from a throwaway CA. Pebble refuses email identifiers, so these orders use
 * `dns` identifiers; PEBBLE_VA_ALWAYS_VALID=1 validates every challenge without looking.
 */
import 'reflect-metadata'; // @peculiar/x509 (used here to build CSRs) needs it loaded first
import * as x509 from '@peculiar/x509';
import { webcrypto } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AccountDoesNotExistError,
  AcmeClient,
  AcmeProblemError,
  AcmeUsageError,
  generateAccountKey,
  ProblemTypes,
  signingKeyFromPair,
  topIssuerNames,
  UnauthorizedError,
  type AccountKey,
  type CertificateDownload,
  type JwsAlgorithm,
  type PollProgress,
  type RequestEvent,
} from '../../src/acme';
import { fromBER } from 'asn1js';
import { Certificate } from 'pkijs';

/** pkijs, independent of the client's own reader, to check what the client got. */
function parseCertificate(der: Uint8Array): Certificate {
  return new Certificate({ schema: fromBER(der).result });
}
import { base64UrlEncode } from '../../src/common/encoding';
import { REVOCATION_REASONS } from '../../src/common/vocabulary';
import { startPebble, type Pebble } from '../helpers/pebble';
import { importPkcs8 } from '../../src/pkcs12';

const crypto = webcrypto as unknown as Crypto;

function newClient(pebble: Pebble, accountKey: AccountKey, events?: RequestEvent[]): AcmeClient {
  return new AcmeClient({
    directoryUrl: pebble.directoryUrl,
    fetch: pebble.fetch,
    crypto,
    accountKey,
    // Pebble validates at once (VA_NOSLEEP); poll quickly so the suite stays fast.
    poll: { initialIntervalMs: 100, minIntervalMs: 50 },
    ...(events ? { onRequest: (e: RequestEvent) => events.push(e) } : {}),
  });
}

interface Issued {
  readonly download: CertificateDownload;
  /** Polls beyond the one expected per wait: a busy machine can make Pebble answer "pending" once more. */
  readonly extraPolls: number;
  readonly certKeys: CryptoKeyPair;
  readonly leafDer: Uint8Array<ArrayBuffer>;
}

/** The whole RFC 8555 flow for one dns name (or IP, RFC 8738): order, authz, challenge, finalize, download. */
async function issue(acme: AcmeClient, name: string, type: 'dns' | 'ip' = 'dns'): Promise<Issued> {
  let extraPolls = 0;
  const onProgress = (p: PollProgress<unknown>) => {
    if (p.polls >= 1 && p.nextPollInMs !== undefined) extraPolls++;
  };
  const order = await acme.newOrder([{ type, value: name }]);
  for (const url of order.authorizations) {
    const authz = await acme.getAuthorization(url);
    if (authz.status === 'valid') continue;
    const challenge = authz.challenges.find((c) => c.type === 'http-01');
    if (!challenge) throw new Error('Pebble offered no http-01 challenge');
    await acme.respondToChallenge(challenge.url);
    await acme.waitForAuthorization(url, { initial: authz, timeoutMs: 20_000, onProgress });
  }
  const certKeys = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']));
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: type === 'dns' ? `CN=${name}` : 'CN=ip',
    keys: certKeys,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    extensions: [new x509.SubjectAlternativeNameExtension([{ type, value: name }])],
  }, crypto);
  const finalized = await acme.finalize(order, new Uint8Array(csr.rawData));
  const done = await acme.waitForOrder(order.url, 'valid', { initial: finalized, timeoutMs: 20_000, onProgress });
  const download = await acme.downloadCertificate(done.certificate!);
  return { download, certKeys, leafDer: download.certificates[0]!, extraPolls };
}

/** Pebble's /cert-status-by-serial key: lower-case hex of the serial, without leading zeros. */
function serialHex(der: Uint8Array): string {
  const bytes = parseCertificate(der).serialNumber.valueBlock.valueHexView;
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('').replace(/^0+(?=.)/, '');
}

function commonName(pem: string): string {
  const der = Uint8Array.from(atob(pem.replace(/-----[^-]+-----|\s/g, '')), (c) => c.charCodeAt(0));
  const cn = parseCertificate(der).subject.typesAndValues.find((tv) => tv.type === '2.5.4.3');
  return String(cn?.value.valueBlock.value);
}

describe('against Pebble (one instance, one alternate root)', () => {
  let pebble: Pebble;
  beforeAll(async () => {
    pebble = await startPebble({ alternateRoots: 1 });
  });
  afterAll(async () => {
    await pebble.stop();
  });

  it.each<JwsAlgorithm>(['ES256', 'ES384', 'RS256'])('issues with a %s account key in at most 10 requests (plus any extra poll)', async (alg) => {
    const events: RequestEvent[] = [];
    const acme = newClient(pebble, await generateAccountKey(crypto, alg), events);
    const tos = await acme.termsOfService();
    expect(tos).toMatch(/^data:text\/plain,/);
    await acme.createAccount({ termsOfServiceAgreed: true, contact: ['mailto:admin@example.test'] });
    const name = `${alg.toLowerCase()}.example.test`;
    const { download, extraPolls } = await issue(acme, name);
    expect(download.certificates.length).toBeGreaterThanOrEqual(2);
    expect(download.alternates).toHaveLength(1);
    expect(topIssuerNames(download)).toEqual([commonName(await pebble.root(0))]);
    const leaf = new x509.X509Certificate(download.certificates[0]!);
    expect(leaf.getExtension(x509.SubjectAlternativeNameExtension)?.names.items.map((n) => n.value)).toEqual([name]);
    expect(events.filter((e) => e.method === 'GET')).toHaveLength(1);
    expect(events.filter((e) => e.method === 'HEAD')).toHaveLength(1);
    expect(acme.requestCount - extraPolls).toBeLessThanOrEqual(10);
  });

  it('EdDSA: issues, or — as Debian Pebble 2.4 does — is refused with a typed badPublicKey problem', async () => {
    const acme = newClient(pebble, await generateAccountKey(crypto, 'EdDSA'));
    const created = await acme.createAccount({ termsOfServiceAgreed: true }).catch((e: unknown) => e);
    if (created instanceof AcmeProblemError) {
      expect(created.problem.type).toBe(ProblemTypes.badPublicKey);
      expect(created.problem.detail).toMatch(/ed25519/i); // Pebble parsed our OKP JWK; it just has no EdDSA verifier
    } else {
      const { download } = await issue(acme, 'eddsa.example.test');
      expect(download.certificates.length).toBeGreaterThanOrEqual(2);
    }
  });

  it('issues for an ip identifier (RFC 8738)', async () => {
    const acme = newClient(pebble, await generateAccountKey(crypto));
    await acme.createAccount({ termsOfServiceAgreed: true });
    const { download } = await issue(acme, '127.0.0.1', 'ip');
    const leaf = new x509.X509Certificate(download.certificates[0]!);
    expect(leaf.getExtension(x509.SubjectAlternativeNameExtension)?.names.items.map((n) => [n.type, n.value])).toEqual([['ip', '127.0.0.1']]);
  });

  it('picks the alternate chain by its root name (Link rel="alternate")', async () => {
    const acme = newClient(pebble, await generateAccountKey(crypto));
    await acme.createAccount({ termsOfServiceAgreed: true });
    const { download } = await issue(acme, 'chains.example.test');
    const altRoot = commonName(await pebble.root(1));
    expect(topIssuerNames(download)).not.toEqual([altRoot]);
    const { chain, matched } = await acme.downloadPreferredChain(download.url, altRoot);
    expect(matched).toBe(true);
    expect(topIssuerNames(chain)).toEqual([altRoot]);
    expect(chain.certificates[0]).toEqual(download.certificates[0]);
  });

  it('finds the account by key, updates its contact, rolls its key over and keeps issuing with the new key', async () => {
    const oldKey = await generateAccountKey(crypto, 'ES256');
    const acme = newClient(pebble, oldKey);
    await expect(acme.findAccount()).rejects.toBeInstanceOf(AccountDoesNotExistError);
    const account = await acme.createAccount({ termsOfServiceAgreed: true });
    expect((await newClient(pebble, oldKey).findAccount()).url).toBe(account.url);
    const updated = await acme.updateContact(['mailto:new@example.test']);
    expect(updated.contact).toEqual(['mailto:new@example.test']);

    const newKey = await generateAccountKey(crypto, 'ES384');
    await acme.changeAccountKey(newKey);
    const { download } = await issue(acme, 'rollover.example.test');
    expect(download.certificates.length).toBeGreaterThanOrEqual(2);
    // The account now answers to the new key only.
    expect((await newClient(pebble, newKey).findAccount()).url).toBe(account.url);
    await expect(newClient(pebble, oldKey).findAccount()).rejects.toBeInstanceOf(AccountDoesNotExistError);
  });

  it('revokes by account key and by certificate key, with reasons Pebble records', async () => {
    const acme = newClient(pebble, await generateAccountKey(crypto));
    await acme.createAccount({ termsOfServiceAgreed: true });
    const first = await issue(acme, 'revoke-account.example.test');
    const second = await issue(acme, 'revoke-certkey.example.test');
    expect((await pebble.certStatus(serialHex(first.leafDer))).Status).toBe('Valid');

    await acme.revoke(first.leafDer, REVOCATION_REASONS.superseded);
    expect(await pebble.certStatus(serialHex(first.leafDer))).toMatchObject({ Status: 'Revoked', Reason: 4 });

    // Signed with the certificate's own key (jwk header), not the account's.
    const certKey = await signingKeyFromPair(second.certKeys, crypto);
    const stranger = newClient(pebble, await generateAccountKey(crypto));
    await stranger.revoke(second.leafDer, REVOCATION_REASONS.keyCompromise, { by: 'certificateKey', key: certKey });
    expect(await pebble.certStatus(serialHex(second.leafDer))).toMatchObject({ Status: 'Revoked', Reason: 1 });

    const again = (await acme.revoke(first.leafDer, REVOCATION_REASONS.superseded).catch((e: unknown) => e)) as AcmeProblemError;
    expect(again).toBeInstanceOf(AcmeProblemError);
    expect(again.problem.type).toBe(ProblemTypes.alreadyRevoked);
  });

  it('certificate key: a revocation signed with the key out of the certificate\'s PKCS#8 is accepted, one signed with another key is refused', async () => {
    const acme = newClient(pebble, await generateAccountKey(crypto));
    await acme.createAccount({ termsOfServiceAgreed: true });
    const issued = await issue(acme, 'revoke-pkcs8.example.test');
    const stranger = newClient(pebble, await generateAccountKey(crypto));

    // A key that is not the certificate's (of the same type, and the account's own key): refused
    // (RFC 8555 §7.6: the jwk must be the certificate's public key), the certificate still valid.
    const otherPair = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
    for (const wrongKey of [await signingKeyFromPair(otherPair, crypto), await generateAccountKey(crypto)]) {
      const refused = await stranger.revoke(issued.leafDer, REVOCATION_REASONS.keyCompromise, { by: 'certificateKey', key: wrongKey }).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(AcmeProblemError);
      expect((refused as AcmeProblemError).problem.type).toBe(ProblemTypes.unauthorized);
    }
    expect((await pebble.certStatus(serialHex(issued.leafDer))).Status).toBe('Valid');

    // The certificate's own key as a .p12 holds it: unencrypted PKCS#8 once the passphrase opened it.
    const pkcs8 = new Uint8Array(await crypto.subtle.exportKey('pkcs8', issued.certKeys.privateKey));
    const certKey = await signingKeyFromPair(await importPkcs8(pkcs8, crypto, { extractable: false }), crypto);
    await stranger.revoke(issued.leafDer, REVOCATION_REASONS.keyCompromise, { by: 'certificateKey', key: certKey });
    expect(await pebble.certStatus(serialHex(issued.leafDer))).toMatchObject({ Status: 'Revoked', Reason: 1 });
  });

  it('deactivates the account, after which Pebble refuses it', async () => {
    const acme = newClient(pebble, await generateAccountKey(crypto));
    await acme.createAccount({ termsOfServiceAgreed: true });
    expect((await acme.deactivateAccount()).status).toBe('deactivated');
    const error = await acme.newOrder([{ type: 'dns', value: 'after.example.test' }]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnauthorizedError);
  });
});

describe('against Pebble requiring External Account Binding (RFC 8555 §7.3.4)', () => {
  const macKey = base64UrlEncode(new Uint8Array(32).map((_, i) => (i * 37 + 11) & 0xff));
  let pebble: Pebble;
  beforeAll(async () => {
    pebble = await startPebble({ eabRequired: true, eabKeys: { 'kid-test': macKey } });
  });
  afterAll(async () => {
    await pebble.stop();
  });

  it('needs a binding, refuses a wrong MAC key with a typed problem, accepts the right one and issues', async () => {
    const acme = newClient(pebble, await generateAccountKey(crypto));
    await expect(acme.createAccount({ termsOfServiceAgreed: true })).rejects.toBeInstanceOf(AcmeUsageError);
    const wrong = base64UrlEncode(new Uint8Array(32).fill(7));
    const refused = await acme.createAccount({ termsOfServiceAgreed: true, externalAccountBinding: { kid: 'kid-test', hmacKey: wrong } }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(AcmeProblemError);
    expect((refused as AcmeProblemError).problem.type).toBe(ProblemTypes.unauthorized);
    expect(acme.accountUrl).toBeUndefined();
    const account = await acme.createAccount({ termsOfServiceAgreed: true, externalAccountBinding: { kid: 'kid-test', hmacKey: macKey } });
    expect(account.status).toBe('valid');
    const { download } = await issue(acme, 'eab.example.test');
    expect(download.certificates.length).toBeGreaterThanOrEqual(2);
  });

  it.each(['HS384', 'HS512'] as const)('binds with %s as well', async (alg) => {
    const acme = newClient(pebble, await generateAccountKey(crypto));
    const account = await acme.createAccount({ termsOfServiceAgreed: true, externalAccountBinding: { kid: 'kid-test', hmacKey: macKey, alg } });
    expect(account.status).toBe('valid');
    expect(acme.accountUrl).toBe(account.url);
  });
});

describe('against Pebble rejecting half of all good nonces (PEBBLE_WFE_NONCEREJECT=50)', () => {
  let pebble: Pebble;
  beforeAll(async () => {
    pebble = await startPebble({ nonceRejectPercent: 50 });
  });
  afterAll(async () => {
    await pebble.stop();
  });

  it('still issues; each badNonce costs exactly one extra request', async () => {
    const events: RequestEvent[] = [];
    const acme = newClient(pebble, await generateAccountKey(crypto), events);
    await acme.createAccount({ termsOfServiceAgreed: true });
    const first = await issue(acme, 'nonces.example.test');
    const second = await issue(acme, 'nonces2.example.test');
    expect(first.download.certificates.length).toBeGreaterThanOrEqual(2);
    expect(second.download.certificates.length).toBeGreaterThanOrEqual(2);
    const rejected = events.filter((e) => e.status === 400).length;
    // Two issuances make ~18 signed POSTs: the chance Pebble rejected none of them is 2^-18.
    expect(rejected).toBeGreaterThan(0);
    expect(acme.requestCount).toBe(events.length);
    // 10 requests for the first flow and 7 for the second (no directory, nonce or account)
    // when every poll succeeds at once; each rejection adds exactly one.
    expect(acme.requestCount - rejected - first.extraPolls - second.extraPolls).toBeLessThanOrEqual(17);
    expect(events.filter((e) => e.method === 'HEAD')).toHaveLength(1);
  });
});
